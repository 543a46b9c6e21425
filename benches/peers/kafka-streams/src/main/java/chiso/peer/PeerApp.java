package chiso.peer;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Entry point: parses the options, starts Kafka Streams, closes it cleanly on SIGTERM. */
public final class PeerApp {
    private PeerApp() {}

    public static void main(String[] args) throws InterruptedException {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("peer: " + e.getMessage());
            System.err.print(Options.USAGE);
            System.exit(2);
            return;
        }
        if (o.help) {
            System.out.print(Options.USAGE);
            return;
        }
        if (o.verbose) {
            // Before the first logger is created: slf4j-simple reads its levels then.
            System.setProperty("org.slf4j.simpleLogger.log.chiso.peer", "info");
        }
        Logger log = LoggerFactory.getLogger(PeerApp.class);

        Properties props = properties(o);
        KafkaStreams streams = new KafkaStreams(PeerTopology.build(o.input, o.output, o.settings(), props), props);
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicBoolean announced = new AtomicBoolean();
        AtomicBoolean closing = new AtomicBoolean();
        AtomicBoolean failed = new AtomicBoolean();

        streams.setStateListener((now, before) -> {
            log.info("state {} -> {}", before, now);
            if (now == KafkaStreams.State.RUNNING && announced.compareAndSet(false, true)) {
                System.out.println("peer: running");
                System.out.flush();
            }
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING
                    || now == KafkaStreams.State.PENDING_ERROR) {
                stopped.countDown();
            }
        });
        if (o.verbose) {
            streams.setGlobalStateRestoreListener(new RestoreLog(log));
        }
        streams.setUncaughtExceptionHandler(e -> {
            log.error("stream thread failed, shutting down", e);
            failed.set(true);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            closing.set(true);
            streams.close(Duration.ofSeconds(60));
            log.info("closed; {}", Stats.summary());
            stopped.countDown();
        }, "peer-shutdown"));

        streams.start();
        stopped.await();
        if (!closing.get()) {
            // Failed on its own (not SIGTERM): close and report.
            streams.close(Duration.ofSeconds(60));
            System.err.println("peer: stopped in state " + streams.state() + "; " + Stats.summary());
            System.exit(failed.get() || streams.state() == KafkaStreams.State.ERROR ? 1 : 0);
        }
    }

    static Properties properties(Options o) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, o.appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, o.bootstrap);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, o.threads);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, o.commitIntervalMs);
        p.put(StreamsConfig.STATE_DIR_CONFIG, o.stateDir);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
        if (o.rocksdbMemoryMb > 0) {
            p.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDBConfig.class);
            p.put(BoundedRocksDBConfig.MEMORY_CONFIG, o.rocksdbMemoryMb << 20);
        }
        p.putAll(o.config);
        return p;
    }

    /** Logs state restoration (only with --verbose). */
    private record RestoreLog(Logger log) implements StateRestoreListener {
        @Override
        public void onRestoreStart(TopicPartition tp, String store, long start, long end) {
            log.info("restoring {} from {} offsets {}..{}", store, tp, start, end);
        }

        @Override
        public void onBatchRestored(TopicPartition tp, String store, long batchEnd, long restored) {}

        @Override
        public void onRestoreEnd(TopicPartition tp, String store, long total) {
            log.info("restored {} from {}: {} records", store, tp, total);
        }
    }
}
