package chiso.peer;

import static chiso.peer.Times.NONE;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Folds events into per-dossier state, keeps per-agency counts of the current month up to date
 * incrementally, and emits the agencies whose counts changed once per wall-clock punctuation.
 *
 * <p>Stores (all persistent RocksDB, changelogged, local to the task: the input is partitioned
 * by agency_id, and every key below starts with it):
 * <ul>
 *   <li>{@link #DEDUPE}: agency_id + event_id of every applied event;
 *   <li>{@link #DOSSIERS}: agency_id + dossier_id → {@link DossierState};
 *   <li>{@link #TIMERS}: (instant, dossier key) for each dossier that will change by time alone
 *       (its due time passing, its due-soon horizon being reached): a punctuation range-scans
 *       only the entries at or before now;
 *   <li>{@link #COUNTS}: agency_id → the five counts of the current month (key "" holds the
 *       month they are for);
 *   <li>{@link #DIRTY}: agencies whose counts changed since the last emission (persistent, so
 *       that a change committed with the state is emitted even after a crash).
 * </ul>
 */
public final class DossierProcessor implements Processor<byte[], byte[], String, String> {
    public static final String DEDUPE = "peer-dedupe";
    public static final String DOSSIERS = "peer-dossiers";
    public static final String TIMERS = "peer-timers";
    public static final String COUNTS = "peer-counts";
    public static final String DIRTY = "peer-dirty";

    /** Separates agency_id from dossier_id / event_id in store keys. */
    static final char SEP = '\u001f';
    private static final String PERIOD_KEY = "";
    private static final byte[] MARK = {1};
    private static final Logger LOG = LoggerFactory.getLogger(DossierProcessor.class);
    private static final JsonFactory JSON = JsonFactory.builder().build();

    private final PeerSettings settings;
    private ProcessorContext<String, String> context;
    private KeyValueStore<String, byte[]> dedupe;
    private KeyValueStore<String, DossierState> dossiers;
    private KeyValueStore<Bytes, byte[]> timers;
    private KeyValueStore<String, long[]> counts;
    private KeyValueStore<String, byte[]> dirty;
    private Times.Month month;

    public DossierProcessor(PeerSettings settings) {
        this.settings = settings;
    }

    @Override
    public void init(ProcessorContext<String, String> context) {
        this.context = context;
        this.dedupe = context.getStateStore(DEDUPE);
        this.dossiers = context.getStateStore(DOSSIERS);
        this.timers = context.getStateStore(TIMERS);
        this.counts = context.getStateStore(COUNTS);
        this.dirty = context.getStateStore(DIRTY);
        long c = now();
        month = Times.monthOf(c);
        long[] stored = counts.get(PERIOD_KEY);
        if (stored == null || stored.length != 1 || stored[0] != periodId(month)) {
            // First start, or restarted in another month than the counts are for.
            recompute(c);
        }
        context.schedule(settings.punctuateInterval(), PunctuationType.WALL_CLOCK_TIME, this::punctuate);
    }

    /** The evaluation instant c. */
    private long now() {
        return settings.fixedClock() != NONE ? settings.fixedClock() : context.currentSystemTimeMs();
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        Event e = Event.parse(record.value());
        if (e == null) {
            Stats.MALFORMED.increment();
            long n = Stats.MALFORMED.sum();
            if (n % 10_000 == 1) {
                LOG.warn("skipped a malformed message ({} so far; logged once per 10000)", n);
            }
            return;
        }
        if (e.type() == Event.Type.OTHER) {
            Stats.IGNORED.increment();
            return;
        }
        String eventKey = e.agencyId() + SEP + e.eventId();
        if (dedupe.get(eventKey) != null) {
            Stats.DUPLICATES.increment();
            return;
        }
        dedupe.put(eventKey, MARK);
        Stats.APPLIED.increment();

        long c = now();
        rollMonth(c);
        String key = e.agencyId() + SEP + e.dossierId();
        DossierState d = dossiers.get(key);
        if (d == null) {
            d = new DossierState();
        }
        if (!d.apply(e)) {
            return;
        }
        reevaluate(key, e.agencyId(), d, c);
        dossiers.put(key, d);
    }

    /**
     * Evaluates a dossier at c and brings the counts and the timer index in line: subtracts its
     * previous contribution, adds the new one. Updates d's bookkeeping; the caller stores d.
     */
    private void reevaluate(String key, String agency, DossierState d, long c) {
        Rules.Status st = Rules.evaluate(d, c, settings.dueSoonHorizonMs());
        int contribution = Rules.contribution(st, month);
        long wake = Rules.nextChange(d, st, c, settings.dueSoonHorizonMs());
        if (contribution != d.contribution) {
            addToCounts(agency, d.contribution, contribution);
            d.contribution = (byte) contribution;
        }
        if (wake != d.wakeAt) {
            if (d.wakeAt != NONE) {
                timers.delete(timerKey(d.wakeAt, key));
            }
            if (wake != NONE) {
                timers.put(timerKey(wake, key), MARK);
            }
            d.wakeAt = wake;
        }
    }

    private void addToCounts(String agency, int before, int after) {
        long[] v = counts.get(agency);
        if (v == null) {
            v = new long[Rules.COUNT_NAMES.length];
        }
        for (int i = 0; i < v.length; i++) {
            int bit = 1 << i;
            v[i] += ((after & bit) != 0 ? 1 : 0) - ((before & bit) != 0 ? 1 : 0);
        }
        counts.put(agency, v);
        dirty.put(agency, MARK);
    }

    /** Wall-clock punctuation: fire due timers, then emit every dirty agency once. */
    void punctuate(long wallClock) {
        long c = now();
        rollMonth(c);
        fireTimers(c);
        emitDirty(c, wallClock);
    }

    private void fireTimers(long c) {
        if (c == Long.MAX_VALUE) {
            return;
        }
        List<Bytes> due = new ArrayList<>();
        // Keys are (instant, dossier key): every key with instant <= c sorts before the bare
        // 8-byte prefix of c + 1.
        try (KeyValueIterator<Bytes, byte[]> it = timers.range(timePrefix(Long.MIN_VALUE), timePrefix(c + 1))) {
            while (it.hasNext()) {
                due.add(it.next().key);
            }
        }
        for (Bytes k : due) {
            timers.delete(k);
            ByteBuffer b = ByteBuffer.wrap(k.get());
            long at = b.getLong() ^ Long.MIN_VALUE;
            String key = new String(k.get(), 8, k.get().length - 8, StandardCharsets.UTF_8);
            DossierState d = dossiers.get(key);
            if (d == null || d.wakeAt != at) {
                continue; // stale entry
            }
            d.wakeAt = NONE;
            reevaluate(key, agencyOf(key), d, c);
            dossiers.put(key, d);
        }
    }

    private void emitDirty(long c, long wallClock) {
        List<String> agencies = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = dirty.all()) {
            while (it.hasNext()) {
                agencies.add(it.next().key);
            }
        }
        String period = month.label();
        String asOf = Times.format(c);
        for (String agency : agencies) {
            dirty.delete(agency);
            long[] v = counts.get(agency);
            if (v == null) {
                v = new long[Rules.COUNT_NAMES.length];
            }
            context.forward(new Record<>(agency + "|" + period, render(agency, period, v, asOf), wallClock));
            Stats.EMITTED.increment();
        }
    }

    /** The output value: {"agency_id":…,"period":…,"counts":{…},"as_of":…}. */
    static String render(String agency, String period, long[] v, String asOf) {
        StringWriter w = new StringWriter(160);
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("agency_id", agency);
            g.writeStringField("period", period);
            g.writeObjectFieldStart("counts");
            for (int i = 0; i < Rules.COUNT_NAMES.length; i++) {
                g.writeNumberField(Rules.COUNT_NAMES[i], v[i]);
            }
            g.writeEndObject();
            g.writeStringField("as_of", asOf);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return w.toString();
    }

    /** If c is in another month than the counts are for, recomputes them for c's month. */
    private void rollMonth(long c) {
        if (!month.contains(c)) {
            month = Times.monthOf(c);
            recompute(c);
        }
    }

    /**
     * Full scan of this task's dossiers: every contribution and timer evaluated again at c, the
     * counts rebuilt for c's month and every agency marked for emission. Only at start-up in a
     * new month and when the clock passes a month boundary.
     */
    private void recompute(long c) {
        LOG.info("recomputing counts for {} at {}", month.label(), Times.format(c));
        Map<String, long[]> totals = new HashMap<>();
        List<KeyValue<String, DossierState>> changed = new ArrayList<>();
        try (KeyValueIterator<String, DossierState> it = dossiers.all()) {
            while (it.hasNext()) {
                KeyValue<String, DossierState> kv = it.next();
                DossierState d = kv.value;
                Rules.Status st = Rules.evaluate(d, c, settings.dueSoonHorizonMs());
                int contribution = Rules.contribution(st, month);
                long wake = Rules.nextChange(d, st, c, settings.dueSoonHorizonMs());
                long[] v = totals.computeIfAbsent(agencyOf(kv.key), a -> new long[Rules.COUNT_NAMES.length]);
                for (int i = 0; i < v.length; i++) {
                    v[i] += (contribution >> i) & 1;
                }
                if (contribution != d.contribution || wake != d.wakeAt) {
                    if (wake != d.wakeAt) {
                        if (d.wakeAt != NONE) {
                            timers.delete(timerKey(d.wakeAt, kv.key));
                        }
                        if (wake != NONE) {
                            timers.put(timerKey(wake, kv.key), MARK);
                        }
                    }
                    d.contribution = (byte) contribution;
                    d.wakeAt = wake;
                    changed.add(KeyValue.pair(kv.key, d));
                    if (changed.size() >= 10_000) {
                        dossiers.putAll(changed);
                        changed.clear();
                    }
                }
            }
        }
        dossiers.putAll(changed);
        List<String> previous = new ArrayList<>();
        try (KeyValueIterator<String, long[]> it = counts.all()) {
            while (it.hasNext()) {
                String k = it.next().key;
                if (!k.equals(PERIOD_KEY)) {
                    previous.add(k);
                }
            }
        }
        for (String agency : previous) {
            if (!totals.containsKey(agency)) {
                counts.delete(agency);
                dirty.delete(agency);
            }
        }
        for (Map.Entry<String, long[]> t : totals.entrySet()) {
            counts.put(t.getKey(), t.getValue());
            dirty.put(t.getKey(), MARK);
        }
        counts.put(PERIOD_KEY, new long[] {periodId(month)});
    }

    private static long periodId(Times.Month m) {
        return m.year() * 100L + m.month();
    }

    static String agencyOf(String dossierKey) {
        return dossierKey.substring(0, dossierKey.indexOf(SEP));
    }

    /** 8-byte big-endian instant with the sign bit flipped (so byte order is time order). */
    private static Bytes timePrefix(long t) {
        return Bytes.wrap(ByteBuffer.allocate(8).putLong(t ^ Long.MIN_VALUE).array());
    }

    static Bytes timerKey(long t, String dossierKey) {
        byte[] k = dossierKey.getBytes(StandardCharsets.UTF_8);
        return Bytes.wrap(ByteBuffer.allocate(8 + k.length).putLong(t ^ Long.MIN_VALUE).put(k).array());
    }
}
