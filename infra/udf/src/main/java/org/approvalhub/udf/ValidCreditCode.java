package org.approvalhub.udf;

import org.apache.spark.sql.api.java.UDF1;

/** valid_credit_code(value): a unified social credit code (GB 32100). */
public final class ValidCreditCode implements UDF1<String, Boolean> {
    private static final long serialVersionUID = 1L;

    @Override
    public Boolean call(String value) {
        if (value == null) {
            return null;
        }
        return SubjectIds.isCreditCode(value);
    }
}
