package org.approvalhub.udf;

/**
 * Resident ID numbers (GB 11643) and unified social credit codes (GB 32100), checked the way
 * hub/identifiers.py checks them; the constants are copied from there and a test in
 * tests/spark/test_row_rules.py runs both over the same corpus so that they cannot drift.
 *
 * <p>Values are taken exactly as given: callers normalise (trim, upper-case) before checking.
 */
final class SubjectIds {
    private static final String PROVINCE_CODES =
            "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
                    + "50 51 52 53 54 61 62 63 64 65 71 81 82 83";
    private static final int[] RESIDENT_ID_WEIGHTS = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    private static final String RESIDENT_ID_CHECK_CHARS = "10X98765432";

    private static final String CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    private static final int[] CREDIT_CODE_WEIGHTS = {
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
    };
    /** Registration authority codes and, at the same index, the organisation types each issues. */
    private static final String CREDIT_CODE_AUTHORITIES = "123456789ANY";
    private static final String[] CREDIT_CODE_TYPES = {
        "1239", "19", "1234589", "19", "1239", "129", "129", "19", "123", "19", "1239", "1"
    };

    private static final boolean[] PROVINCE = new boolean[100];
    /** Character code (below 128) to its value in the credit code charset, or -1. */
    private static final int[] CREDIT_CODE_VALUE = new int[128];

    static {
        for (String code : PROVINCE_CODES.split(" ")) {
            PROVINCE[Integer.parseInt(code)] = true;
        }
        java.util.Arrays.fill(CREDIT_CODE_VALUE, -1);
        for (int i = 0; i < CREDIT_CODE_CHARSET.length(); i++) {
            CREDIT_CODE_VALUE[CREDIT_CODE_CHARSET.charAt(i)] = i;
        }
    }

    private SubjectIds() {}

    /**
     * Shape (17 ASCII digits and a digit or X), province, a real birth date yyyyMMdd from 1800
     * to {@code today} (also yyyyMMdd), and the ISO 7064 MOD 11-2 check character.
     */
    static boolean isResidentId(String value, int today) {
        if (value.length() != 18) {
            return false;
        }
        int sum = 0;
        for (int i = 0; i < 17; i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
            sum += (c - '0') * RESIDENT_ID_WEIGHTS[i];
        }
        char check = value.charAt(17);
        if ((check < '0' || check > '9') && check != 'X') {
            return false;
        }
        if (!PROVINCE[number(value, 0, 2)]) {
            return false;
        }
        int year = number(value, 6, 4);
        int month = number(value, 10, 2);
        int day = number(value, 12, 2);
        if (year < 1800 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
            return false;
        }
        if (number(value, 6, 8) > today) {
            return false;
        }
        return check == RESIDENT_ID_CHECK_CHARS.charAt(sum % 11);
    }

    /**
     * Charset, registration authority and the type codes it issues, a six-digit region code of a
     * province, and the MOD 31 check character.
     */
    static boolean isCreditCode(String value) {
        if (value.length() != 18) {
            return false;
        }
        int sum = 0;
        for (int i = 0; i < 18; i++) {
            char c = value.charAt(i);
            int code = c < 128 ? CREDIT_CODE_VALUE[c] : -1;
            if (code < 0) {
                return false;
            }
            if (i < 17) {
                sum += code * CREDIT_CODE_WEIGHTS[i];
            }
        }
        int authority = CREDIT_CODE_AUTHORITIES.indexOf(value.charAt(0));
        if (authority < 0 || CREDIT_CODE_TYPES[authority].indexOf(value.charAt(1)) < 0) {
            return false;
        }
        for (int i = 2; i < 8; i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        if (!PROVINCE[number(value, 2, 2)]) {
            return false;
        }
        return value.charAt(17) == CREDIT_CODE_CHARSET.charAt((31 - sum % 31) % 31);
    }

    /** The decimal number at [start, start + length) of a value already known to be digits there. */
    private static int number(String value, int start, int length) {
        int n = 0;
        for (int i = start; i < start + length; i++) {
            n = n * 10 + (value.charAt(i) - '0');
        }
        return n;
    }

    private static int daysInMonth(int year, int month) {
        switch (month) {
            case 2:
                boolean leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
                return leap ? 29 : 28;
            case 4:
            case 6:
            case 9:
            case 11:
                return 30;
            default:
                return 31;
        }
    }
}
