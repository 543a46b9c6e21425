package chiso.peer;

import java.time.Duration;

/**
 * Settings of the processor.
 *
 * @param fixedClock the evaluation instant c in epoch ms, or {@link Times#NONE} for the wall clock
 * @param dueSoonHorizonMs the due-soon horizon
 * @param punctuateInterval the wall-clock punctuation interval
 */
public record PeerSettings(long fixedClock, long dueSoonHorizonMs, Duration punctuateInterval) {
    public static final long DEFAULT_HORIZON_MS = Duration.ofHours(24).toMillis();
}
