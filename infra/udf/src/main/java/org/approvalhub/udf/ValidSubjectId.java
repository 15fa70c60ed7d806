package org.approvalhub.udf;

import org.apache.spark.sql.api.java.UDF2;

/**
 * valid_subject_id(value, today): a valid resident ID or a valid credit code. One call instead
 * of two, since each call converts the value to a Java string.
 */
public final class ValidSubjectId implements UDF2<String, Integer, Boolean> {
    private static final long serialVersionUID = 1L;

    @Override
    public Boolean call(String value, Integer today) {
        if (value == null || today == null) {
            return null;
        }
        return SubjectIds.isResidentId(value, today) || SubjectIds.isCreditCode(value);
    }
}
