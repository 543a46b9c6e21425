package chiso.peer;

import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** Instants as epoch milliseconds, RFC 3339 parsing and formatting, and calendar months. */
public final class Times {
    /** Absent instant. */
    public static final long NONE = Long.MIN_VALUE;

    /** The time zone of the periods (UTC+07:00, no DST). */
    public static final ZoneId ZONE = ZoneId.of("Asia/Ho_Chi_Minh");

    private Times() {}

    /**
     * Parses an RFC 3339 timestamp with an offset ("2025-01-06T17:00:00+07:00",
     * "2025-01-06T10:00:00.250Z") to epoch milliseconds (sub-millisecond digits truncated).
     * The common shape is parsed by hand; anything else goes through java.time.
     *
     * @throws IllegalArgumentException if it is not a timestamp with an offset
     */
    public static long parse(String s) {
        long fast = parseFast(s);
        if (fast != NONE) {
            return fast;
        }
        try {
            return OffsetDateTime.parse(s, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant().toEpochMilli();
        } catch (DateTimeParseException | ArithmeticException e) {
            throw new IllegalArgumentException("not an RFC 3339 timestamp: " + s, e);
        }
    }

    /** YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM), or NONE when the shape differs. */
    private static long parseFast(String s) {
        int n = s.length();
        if (n < 20 || s.charAt(4) != '-' || s.charAt(7) != '-' || (s.charAt(10) != 'T' && s.charAt(10) != 't')
                || s.charAt(13) != ':' || s.charAt(16) != ':') {
            return NONE;
        }
        int year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2);
        int hour = digits(s, 11, 2), minute = digits(s, 14, 2), second = digits(s, 17, 2);
        if ((year | month | day | hour | minute | second) < 0 || month < 1 || month > 12 || day < 1
                || day > 31 || hour > 23 || minute > 59 || second > 59) {
            return NONE;
        }
        int i = 19;
        int millis = 0;
        if (i < n && s.charAt(i) == '.') {
            i++;
            int start = i;
            while (i < n && Character.isDigit(s.charAt(i))) {
                if (i - start < 3) {
                    millis = millis * 10 + (s.charAt(i) - '0');
                }
                i++;
            }
            int count = i - start;
            if (count == 0 || count > 9) {
                return NONE;
            }
            for (int k = count; k < 3; k++) {
                millis *= 10;
            }
        }
        int offsetSeconds;
        if (i == n - 1 && (s.charAt(i) == 'Z' || s.charAt(i) == 'z')) {
            offsetSeconds = 0;
        } else if (i == n - 6 && (s.charAt(i) == '+' || s.charAt(i) == '-') && s.charAt(i + 3) == ':') {
            int oh = digits(s, i + 1, 2), om = digits(s, i + 4, 2);
            if ((oh | om) < 0 || oh > 23 || om > 59) {
                return NONE;
            }
            offsetSeconds = (oh * 3600 + om * 60) * (s.charAt(i) == '-' ? -1 : 1);
        } else {
            return NONE;
        }
        if (day > LocalDate.of(year, month, 1).lengthOfMonth()) {
            return NONE;
        }
        long epochDay = LocalDate.of(year, month, day).toEpochDay();
        long secs = epochDay * 86_400L + hour * 3600L + minute * 60L + second - offsetSeconds;
        return secs * 1000L + millis;
    }

    private static int digits(String s, int from, int len) {
        int v = 0;
        for (int i = from; i < from + len; i++) {
            char ch = s.charAt(i);
            if (ch < '0' || ch > '9') {
                return -1;
            }
            v = v * 10 + (ch - '0');
        }
        return v;
    }

    /** RFC 3339 in the period zone, e.g. "2025-12-31T17:00:00+07:00". */
    public static String format(long millis) {
        return DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(Instant.ofEpochMilli(millis).atZone(ZONE).toOffsetDateTime());
    }

    /** The calendar month (in {@link #ZONE}) containing an instant. */
    public static Month monthOf(long millis) {
        ZonedDateTime t = Instant.ofEpochMilli(millis).atZone(ZONE);
        LocalDate first = t.toLocalDate().withDayOfMonth(1);
        long start = first.atStartOfDay(ZONE).toInstant().toEpochMilli();
        long end = first.plusMonths(1).atStartOfDay(ZONE).toInstant().toEpochMilli();
        return new Month(first.getYear(), first.getMonthValue(), start, end);
    }

    /** A calendar month: [start, end) in epoch milliseconds. */
    public record Month(int year, int month, long start, long end) {
        public boolean contains(long millis) {
            return millis >= start && millis < end;
        }

        /** "YYYY-MM". */
        public String label() {
            return String.format("%04d-%02d", year, month);
        }
    }
}
