package org.approvalhub.udf;

import org.apache.spark.sql.api.java.UDF2;

/**
 * valid_resident_id(value, today): today is the session's current date as the number yyyyMMdd,
 * passed in so that "not in the future" follows the session time zone, not the JVM's.
 */
public final class ValidResidentId implements UDF2<String, Integer, Boolean> {
    private static final long serialVersionUID = 1L;

    @Override
    public Boolean call(String value, Integer today) {
        if (value == null || today == null) {
            return null;
        }
        return SubjectIds.isResidentId(value, today);
    }
}
