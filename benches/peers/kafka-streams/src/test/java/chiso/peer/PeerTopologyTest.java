package chiso.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerTopologyTest {
    static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path stateDir;

    private TopologyTestDriver driver(long fixedClock, Instant wallClock) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "peer-test");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
        PeerSettings settings = new PeerSettings(fixedClock, PeerSettings.DEFAULT_HORIZON_MS, Duration.ofSeconds(1));
        return new TopologyTestDriver(PeerTopology.build("events", "results", settings, p), p, wallClock);
    }

    private static TestInputTopic<byte[], byte[]> input(TopologyTestDriver d) {
        return d.createInputTopic("events", new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static TestOutputTopic<String, String> output(TopologyTestDriver d) {
        return d.createOutputTopic("results", new StringDeserializer(), new StringDeserializer());
    }

    private static void send(TestInputTopic<byte[], byte[]> in, String agency, String eventId, String type,
            String dossier, String at, String due) {
        String json = "{\"event_id\":\"" + eventId + "\",\"type\":\"" + type + "\",\"occurred_at\":\"" + at
                + "\",\"agency_id\":\"" + agency + "\",\"dossier_id\":\"" + dossier + "\""
                + (due == null ? "" : ",\"due_at\":\"" + due + "\"") + "}";
        in.pipeInput(agency.getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8));
    }

    /** The output records by key; asserts each key appears once. */
    private static Map<String, JsonNode> drain(TestOutputTopic<String, String> out) throws Exception {
        Map<String, JsonNode> byKey = new HashMap<>();
        for (KeyValue<String, String> kv : out.readKeyValuesToList()) {
            assertTrue(byKey.put(kv.key, MAPPER.readTree(kv.value)) == null, "emitted twice: " + kv.key);
        }
        return byKey;
    }

    private static void assertCounts(JsonNode v, int inScope, int onTime, int late, int openOverdue, int dueSoon) {
        JsonNode c = v.get("counts");
        assertEquals(List.of(inScope, onTime, late, openOverdue, dueSoon),
                List.of(c.get("in_scope").asInt(), c.get("on_time").asInt(), c.get("late").asInt(),
                        c.get("open_overdue").asInt(), c.get("due_soon").asInt()), v.toString());
    }

    @Test
    void fixedClockCountsDedupeAndEmitOncePerPunctuation() throws Exception {
        Instant wall = Instant.parse("2026-03-01T00:00:00Z");
        try (TopologyTestDriver d = driver(Times.parse("2025-12-31T17:00:00+07:00"), wall)) {
            TestInputTopic<byte[], byte[]> in = input(d);
            TestOutputTopic<String, String> out = output(d);
            // Agency A.
            send(in, "A", "a1", "received", "d1", "2025-12-01T08:00:00+07:00", "2025-12-10T17:00:00+07:00");
            send(in, "A", "a2", "processed", "d1", "2025-12-09T08:00:00+07:00", null); // on time
            send(in, "A", "a3", "received", "d2", "2025-12-01T08:00:00+07:00", "2025-12-20T17:00:00+07:00"); // open, late
            send(in, "A", "a4", "received", "d3", "2025-12-20T08:00:00+07:00", "2026-01-01T10:00:00+07:00"); // due soon
            send(in, "A", "a5", "received", "d4", "2025-12-01T08:00:00+07:00", "2025-12-28T17:00:00+07:00");
            send(in, "A", "e7", "supplement_requested", "d4", "2025-12-10T08:00:00+07:00", null); // paused, on time
            send(in, "A", "e7", "supplement_requested", "d4", "2025-12-10T08:00:00+07:00", null); // duplicate
            send(in, "A", "a6", "received", "d5", "2025-11-01T08:00:00+07:00", "2025-11-10T17:00:00+07:00");
            send(in, "A", "a7", "withdrawn", "d5", "2025-11-05T08:00:00+07:00", null); // ended before December
            send(in, "A", "a8", "rated", "d1", "2025-12-11T08:00:00+07:00", null); // ignored type
            in.pipeInput("A".getBytes(StandardCharsets.UTF_8), "{not json".getBytes(StandardCharsets.UTF_8));
            // Agency B: the same event_id as A's "e7" is a different event.
            send(in, "B", "b1", "received", "d1", "2025-12-01T08:00:00+07:00", "2025-12-10T17:00:00+07:00");
            send(in, "B", "e7", "processed", "d1", "2025-12-05T08:00:00+07:00", null);

            assertTrue(out.isEmpty(), "nothing before the punctuation");
            d.advanceWallClockTime(Duration.ofSeconds(1));
            Map<String, JsonNode> first = drain(out);
            assertEquals(2, first.size(), first.toString());
            JsonNode a = first.get("A|2025-12");
            assertEquals("A", a.get("agency_id").asText());
            assertEquals("2025-12", a.get("period").asText());
            assertEquals("2025-12-31T17:00:00+07:00", a.get("as_of").asText());
            assertCounts(a, 4, 3, 1, 1, 1);
            assertCounts(first.get("B|2025-12"), 1, 1, 0, 0, 0);

            // No change: nothing emitted.
            d.advanceWallClockTime(Duration.ofSeconds(1));
            assertTrue(out.isEmpty());

            // Only the agency that changed is emitted, once for several events.
            send(in, "B", "b2", "received", "d2", "2025-12-01T08:00:00+07:00", "2025-12-02T17:00:00+07:00");
            send(in, "B", "b3", "received", "d3", "2025-12-01T08:00:00+07:00", "2025-12-30T17:00:00+07:00");
            send(in, "B", "b3", "received", "d3", "2025-12-01T08:00:00+07:00", "2025-12-30T17:00:00+07:00");
            d.advanceWallClockTime(Duration.ofSeconds(1));
            Map<String, JsonNode> second = drain(out);
            assertEquals(List.of("B|2025-12"), List.copyOf(second.keySet()));
            assertCounts(second.get("B|2025-12"), 3, 1, 2, 2, 0);
        }
    }

    @Test
    void wallClockTimersFlipDueSoonLateAndMonth() throws Exception {
        Instant start = Instant.ofEpochMilli(Times.parse("2025-12-31T08:00:00+07:00"));
        try (TopologyTestDriver d = driver(Times.NONE, start)) {
            TestInputTopic<byte[], byte[]> in = input(d);
            TestOutputTopic<String, String> out = output(d);
            send(in, "A", "a1", "received", "d1", "2025-12-30T08:00:00+07:00", "2025-12-31T10:00:00+07:00");
            send(in, "A", "a2", "received", "d2", "2025-12-30T08:00:00+07:00", "2026-01-01T12:00:00+07:00");
            d.advanceWallClockTime(Duration.ofSeconds(1));
            assertCounts(drain(out).get("A|2025-12"), 2, 2, 0, 0, 1);

            // 10:00:01: d1 passes its due time, with no new event.
            d.advanceWallClockTime(Duration.ofHours(2));
            JsonNode v = drain(out).get("A|2025-12");
            assertCounts(v, 2, 1, 1, 1, 0);
            assertEquals("2025-12-31T10:00:01+07:00", v.get("as_of").asText());

            // 12:00:02: d2 is within 24 h of its due time.
            d.advanceWallClockTime(Duration.ofHours(2));
            assertCounts(drain(out).get("A|2025-12"), 2, 1, 1, 1, 1);

            // Midnight: a new month; both open dossiers carry over.
            d.advanceWallClockTime(Duration.ofHours(12));
            Map<String, JsonNode> jan = drain(out);
            assertEquals(List.of("A|2026-01"), List.copyOf(jan.keySet()));
            assertCounts(jan.get("A|2026-01"), 2, 1, 1, 1, 1);
        }
    }
}
