package chiso.peer;

import static chiso.peer.Times.NONE;

/**
 * The on-time rules, evaluated for one dossier at an instant c (the clock). Pure functions:
 * no Kafka here. Only facts with occurred_at &lt; c are in effect.
 */
public final class Rules {
    /** Contribution flags: which of the five counts a dossier adds one to. */
    public static final int IN_SCOPE = 1, ON_TIME = 2, LATE = 4, OPEN_OVERDUE = 8, DUE_SOON = 16;

    /** The five counts, in output order. */
    public static final String[] COUNT_NAMES = {"in_scope", "on_time", "late", "open_overdue", "due_soon"};

    private Rules() {}

    /**
     * A dossier at c.
     *
     * @param received whether a received event took effect (received_at &lt; c)
     * @param due the due time, Long.MAX_VALUE when the received event carried none
     */
    public record Status(boolean received, boolean open, boolean paused, boolean late, boolean dueSoon, long due,
            long endAt, long requestAt) {}

    private static final Status UNRECEIVED = new Status(false, true, false, false, false, Long.MAX_VALUE, NONE, NONE);

    private static boolean before(long t, long c) {
        return t != NONE && t < c;
    }

    /** Evaluates the rules at c; horizonMs is the due-soon horizon. */
    public static Status evaluate(DossierState d, long c, long horizonMs) {
        if (!before(d.receivedAt, c)) {
            return UNRECEIVED;
        }
        boolean ended = before(d.endAt, c);
        boolean open = !ended;
        long r = before(d.requestAt, c) ? d.requestAt : NONE;
        long s = r == NONE ? NONE : d.pauseEnd();
        boolean closed = r != NONE && before(s, c);
        boolean paused = open && r != NONE && !closed;

        long due;
        if (before(d.receiptDueAt, c)) {
            due = d.receiptDue;
        } else if (d.dueBase == NONE) {
            due = Long.MAX_VALUE;
        } else if (closed) {
            due = satAdd(d.dueBase, s - r);
        } else {
            due = d.dueBase;
        }

        int requests = requestsBefore(d, c);
        boolean late = requests > 1
                || (before(d.overdueAt, c) && (ended ? d.overdueAt < d.endAt : true))
                || (ended && d.endAt > due)
                || (paused && r > due)
                || (open && !paused && c > due);
        boolean dueSoon = open && !paused && !late && due <= satAdd(c, horizonMs);
        return new Status(true, open, paused, late, dueSoon, due, ended ? d.endAt : NONE, r);
    }

    /**
     * The number of requests in effect at c. Only the count is stored, so when the first
     * request is still in the future every request is; otherwise all of them are counted
     * (exact whenever c is after every event, as in the benchmark).
     */
    private static int requestsBefore(DossierState d, long c) {
        return before(d.requestAt, c) ? d.requests : 0;
    }

    /** The dossier's contribution flags to its agency's counts for the month containing c. */
    public static int contribution(DossierState d, long c, Times.Month month, long horizonMs) {
        return contribution(evaluate(d, c, horizonMs), month);
    }

    public static int contribution(Status st, Times.Month month) {
        if (!st.received() || !(st.open() || st.endAt() >= month.start())) {
            return 0;
        }
        int f = IN_SCOPE | (st.late() ? LATE : ON_TIME);
        if (st.open() && st.late()) {
            f |= OPEN_OVERDUE;
        }
        if (st.dueSoon()) {
            f |= DUE_SOON;
        }
        return f;
    }

    /**
     * The first instant after c at which {@link #evaluate} may answer differently with no new
     * event: a stored fact's instant being passed (t &lt; c' for c' = t + 1), the due time being
     * passed by an open, unpaused, on-time dossier, or the due-soon horizon reaching its due
     * time. NONE if the dossier can no longer change by time alone.
     */
    public static long nextChange(DossierState d, long c, long horizonMs) {
        return nextChange(d, evaluate(d, c, horizonMs), c, horizonMs);
    }

    public static long nextChange(DossierState d, Status st, long c, long horizonMs) {
        long next = Long.MAX_VALUE;
        next = pending(next, d.receivedAt, c);
        next = pending(next, d.endAt, c);
        next = pending(next, d.overdueAt, c);
        next = pending(next, d.requestAt, c);
        next = pending(next, d.pauseEnd(), c);
        next = pending(next, d.receiptDueAt, c);
        if (st.received() && st.open() && !st.paused() && !st.late() && st.due() != Long.MAX_VALUE) {
            next = Math.min(next, satAdd(st.due(), 1));
            long soon = st.due() - horizonMs;
            if (soon > c) {
                next = Math.min(next, soon);
            }
        }
        return next == Long.MAX_VALUE ? NONE : next;
    }

    private static long pending(long next, long t, long c) {
        return t != NONE && t >= c ? Math.min(next, satAdd(t, 1)) : next;
    }

    static long satAdd(long a, long b) {
        long r = a + b;
        if (((a ^ r) & (b ^ r)) < 0) {
            return a < 0 ? Long.MIN_VALUE + 1 : Long.MAX_VALUE;
        }
        return r;
    }
}
