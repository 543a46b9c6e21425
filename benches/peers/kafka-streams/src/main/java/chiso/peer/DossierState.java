package chiso.peer;

import static chiso.peer.Times.NONE;

import java.util.Arrays;

/**
 * What the peer keeps per dossier (agency_id + dossier_id): the facts the rules need, folded
 * from the events as they arrive, plus the bookkeeping of the processor (the dossier's current
 * contribution to its agency's counts and the instant of its entry in the timer index).
 *
 * <p>Instants are epoch milliseconds, {@link Times#NONE} when absent. "First" and "earliest"
 * are by occurred_at, so the fold does not depend on the order in which events arrive.
 */
public final class DossierState {
    /** occurred_at of the first received event. */
    long receivedAt = NONE;
    /** due_at of that received event. */
    long dueBase = NONE;
    /** The earliest occurred_at among processed / returned / withdrawn. */
    long endAt = NONE;
    /** The earliest overdue event's occurred_at. */
    long overdueAt = NONE;
    /** r: the first supplement_requested's occurred_at. */
    long requestAt = NONE;
    /** How many supplement_requested events. */
    int requests;
    /** occurred_at of every supplement_received (ascending, distinct): s is the first one >= r. */
    long[] receipts = EMPTY;
    /** occurred_at of the latest supplement_received carrying a due_at, and that due_at. */
    long receiptDueAt = NONE;
    long receiptDue = NONE;

    /** Processor bookkeeping: contribution flags ({@link Rules#IN_SCOPE}…) at the last evaluation. */
    byte contribution;
    /** Processor bookkeeping: the instant of this dossier's timer index entry, NONE if it has none. */
    long wakeAt = NONE;

    private static final long[] EMPTY = new long[0];

    public DossierState() {}

    /**
     * Folds one (de-duplicated) event into the state.
     *
     * @return whether any rule fact changed
     */
    public boolean apply(Event e) {
        long at = e.occurredAt();
        switch (e.type()) {
            case RECEIVED -> {
                if (receivedAt == NONE || at < receivedAt) {
                    receivedAt = at;
                    dueBase = e.dueAt();
                    return true;
                }
                return false;
            }
            case PROCESSED, RETURNED, WITHDRAWN -> {
                if (endAt == NONE || at < endAt) {
                    endAt = at;
                    return true;
                }
                return false;
            }
            case OVERDUE -> {
                if (overdueAt == NONE || at < overdueAt) {
                    overdueAt = at;
                    return true;
                }
                return false;
            }
            case SUPPLEMENT_REQUESTED -> {
                requests++;
                if (requestAt == NONE || at < requestAt) {
                    requestAt = at;
                }
                return true;
            }
            case SUPPLEMENT_RECEIVED -> {
                boolean changed = addReceipt(at);
                if (e.dueAt() != NONE && (receiptDueAt == NONE || at >= receiptDueAt)) {
                    changed |= receiptDueAt != at || receiptDue != e.dueAt();
                    receiptDueAt = at;
                    receiptDue = e.dueAt();
                }
                return changed;
            }
            default -> {
                return false;
            }
        }
    }

    private boolean addReceipt(long at) {
        int i = Arrays.binarySearch(receipts, at);
        if (i >= 0) {
            return false;
        }
        int pos = -i - 1;
        long[] next = new long[receipts.length + 1];
        System.arraycopy(receipts, 0, next, 0, pos);
        next[pos] = at;
        System.arraycopy(receipts, pos, next, pos + 1, receipts.length - pos);
        receipts = next;
        return true;
    }

    /** s: the first supplement_received with s >= r, NONE if no request or no such receipt. */
    public long pauseEnd() {
        if (requestAt == NONE) {
            return NONE;
        }
        int i = Arrays.binarySearch(receipts, requestAt);
        int pos = i >= 0 ? i : -i - 1;
        return pos < receipts.length ? receipts[pos] : NONE;
    }

    public long receivedAt() {
        return receivedAt;
    }

    public long endAt() {
        return endAt;
    }

    public byte contribution() {
        return contribution;
    }

    public long wakeAt() {
        return wakeAt;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof DossierState d)) {
            return false;
        }
        return receivedAt == d.receivedAt && dueBase == d.dueBase && endAt == d.endAt && overdueAt == d.overdueAt
                && requestAt == d.requestAt && requests == d.requests && Arrays.equals(receipts, d.receipts)
                && receiptDueAt == d.receiptDueAt && receiptDue == d.receiptDue && contribution == d.contribution
                && wakeAt == d.wakeAt;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(receivedAt) * 31 + Long.hashCode(endAt) * 17 + requests;
    }

    @Override
    public String toString() {
        return "DossierState{received=" + receivedAt + ", dueBase=" + dueBase + ", end=" + endAt + ", overdue="
                + overdueAt + ", r=" + requestAt + ", requests=" + requests + ", receipts=" + Arrays.toString(receipts)
                + ", receiptDue=" + receiptDue + "@" + receiptDueAt + ", contribution=" + contribution + ", wake="
                + wakeAt + "}";
    }
}
