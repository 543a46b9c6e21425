package chiso.peer;

import java.util.Properties;
import java.util.Set;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorSupplier;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * input topic (key agency_id, JSON value) → {@link DossierProcessor} → output topic (key
 * "agency_id|YYYY-MM", JSON value). The processor's stores are partitioned like the input, so
 * there is no repartition topic.
 */
public final class PeerTopology {
    private PeerTopology() {}

    /** @param streamsConfig the application's Kafka Streams properties (topology-level ones apply) */
    public static Topology build(String input, String output, PeerSettings settings, Properties streamsConfig) {
        StreamsBuilder builder = new StreamsBuilder(new TopologyConfig(new StreamsConfig(streamsConfig)));
        builder.stream(input, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("events"))
                .process(new Supplier(settings), Named.as("dossiers"))
                .to(output, Produced.with(Serdes.String(), Serdes.String()).withName("results"));
        return builder.build();
    }

    private record Supplier(PeerSettings settings) implements ProcessorSupplier<byte[], byte[], String, String> {
        @Override
        public Processor<byte[], byte[], String, String> get() {
            return new DossierProcessor(settings);
        }

        @Override
        public Set<StoreBuilder<?>> stores() {
            return Set.of(
                    store(DossierProcessor.DEDUPE, Serdes.String(), Serdes.ByteArray()),
                    store(DossierProcessor.DOSSIERS, Serdes.String(), new DossierStateSerde()),
                    store(DossierProcessor.TIMERS, Serdes.Bytes(), Serdes.ByteArray()),
                    store(DossierProcessor.COUNTS, Serdes.String(), new LongArraySerde()),
                    store(DossierProcessor.DIRTY, Serdes.String(), Serdes.ByteArray()));
        }
    }

    private static <K, V> StoreBuilder<KeyValueStore<K, V>> store(String name,
            Serde<K> keys, Serde<V> values) {
        // Persistent RocksDB, changelogged (logging is on by default), behind the record cache.
        return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), keys, values).withCachingEnabled();
    }
}
