package chiso.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BoundedRocksDBConfigTest {
    @TempDir
    Path stateDir;

    @Test
    void defaultsLeaveRocksDBAlone() {
        Properties p = PeerApp.properties(Options.parse(new String[0]));
        assertNull(p.get(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG));
        assertNull(p.get(BoundedRocksDBConfig.MEMORY_CONFIG));
    }

    @Test
    void storesShareOneCacheClosedWithTheLast() throws Exception {
        Options o = Options.parse(new String[] {"--rocksdb-memory-mb=8", "--app-id=peer-bounded-test",
                "--bootstrap=dummy:9092", "--state-dir=" + stateDir, "--clock=2025-12-31T17:00:00+07:00"});
        Properties p = PeerApp.properties(o);
        assertEquals(8L << 20, p.get(BoundedRocksDBConfig.MEMORY_CONFIG));
        try (TopologyTestDriver d = new TopologyTestDriver(PeerTopology.build(o.input, o.output, o.settings(), p), p,
                Instant.parse("2026-03-01T00:00:00Z"))) {
            TestInputTopic<byte[], byte[]> in = d.createInputTopic(o.input, new ByteArraySerializer(),
                    new ByteArraySerializer());
            TestOutputTopic<String, String> out = d.createOutputTopic(o.output, new StringDeserializer(),
                    new StringDeserializer());
            for (int i = 0; i < 100; i++) {
                String json = "{\"event_id\":\"e" + i + "\",\"type\":\"received\",\"occurred_at\":"
                        + "\"2025-12-01T08:00:00+07:00\",\"agency_id\":\"A\",\"dossier_id\":\"d" + i + "\","
                        + "\"due_at\":\"2025-12-10T17:00:00+07:00\"}";
                in.pipeInput("A".getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8));
            }
            d.advanceWallClockTime(Duration.ofSeconds(1));
            JsonNode v = PeerTopologyTest.MAPPER.readTree(out.readValue());
            assertEquals(100, v.get("counts").get("in_scope").asInt(), v.toString());
            assertEquals(5, BoundedRocksDBConfig.openStores(), "the five stores of the one task");
            assertTrue(BoundedRocksDBConfig.cacheUsage() > 0, "memtables charged to the cache");
        }
        assertEquals(0, BoundedRocksDBConfig.openStores());
        assertEquals(-1, BoundedRocksDBConfig.cacheUsage(), "the cache closed with the last store");
    }
}
