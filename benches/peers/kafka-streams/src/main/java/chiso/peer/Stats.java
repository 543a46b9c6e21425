package chiso.peer;

import java.util.concurrent.atomic.LongAdder;

/** Process-wide counters of what the processors did with the input (all stream threads). */
public final class Stats {
    public static final LongAdder APPLIED = new LongAdder();
    public static final LongAdder IGNORED = new LongAdder();
    public static final LongAdder DUPLICATES = new LongAdder();
    public static final LongAdder MALFORMED = new LongAdder();
    public static final LongAdder EMITTED = new LongAdder();

    private Stats() {}

    public static String summary() {
        return "applied=" + APPLIED.sum() + " ignored=" + IGNORED.sum() + " duplicates=" + DUPLICATES.sum()
                + " malformed=" + MALFORMED.sum() + " emitted=" + EMITTED.sum();
    }
}
