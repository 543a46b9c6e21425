package chiso.peer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Command-line options. Each takes "--name value" or "--name=value". */
public final class Options {
    public static final String USAGE = """
            usage: java -jar chiso-peer-kafka-streams.jar [options]
              --bootstrap HOST:PORT[,...]   bootstrap.servers (default localhost:9092)
              --input TOPIC                 input events topic, key = agency_id (default events)
              --output TOPIC                output results topic, meant to be compacted (default peer-results)
              --app-id ID                   application.id (default chiso-peer-kafka-streams)
              --state-dir DIR               state.dir (default <java.io.tmpdir>/chiso-peer-kafka-streams)
              --threads N                   num.stream.threads (default 2)
              --commit-interval-ms MS       commit.interval.ms (default 1000)
              --punctuate-ms MS             wall-clock punctuation interval (default 1000)
              --rocksdb-memory-mb MB        bound RocksDB to MB for all stores: one shared block cache,
                                            charged for index, filter blocks and memtables (default:
                                            RocksDB's own cache and write buffers per store)
              --due-soon-hours H            due-soon horizon in hours, may be fractional (default 24)
              --clock wall|RFC3339          evaluation instant: the wall clock (default) or a fixed
                                            instant such as 2025-12-31T17:00:00+07:00
              --config KEY=VALUE            any Kafka Streams / client property (repeatable)
              --verbose                     log state changes, rebalances and restores at INFO
              --help                        this text
            """;

    private static final Set<String> VALUED = Set.of("--bootstrap", "--input", "--output", "--app-id",
            "--state-dir", "--threads", "--commit-interval-ms", "--punctuate-ms", "--rocksdb-memory-mb",
            "--due-soon-hours", "--clock", "--config");

    String bootstrap = "localhost:9092";
    String input = "events";
    String output = "peer-results";
    String appId = "chiso-peer-kafka-streams";
    String stateDir = Path.of(System.getProperty("java.io.tmpdir"), "chiso-peer-kafka-streams").toString();
    int threads = 2;
    long commitIntervalMs = 1000;
    long punctuateMs = 1000;
    /** 0: RocksDB's defaults, per store. */
    long rocksdbMemoryMb;
    long dueSoonMs = PeerSettings.DEFAULT_HORIZON_MS;
    /** {@link Times#NONE} for the wall clock. */
    long fixedClock = Times.NONE;
    final Map<String, String> config = new LinkedHashMap<>();
    boolean verbose;
    boolean help;

    /** @throws IllegalArgumentException on a bad option */
    public static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            switch (name) {
                case "--help", "-h" -> o.help = true;
                case "--verbose", "-v" -> o.verbose = true;
                default -> {
                    if (!VALUED.contains(name)) {
                        throw new IllegalArgumentException("unknown option: " + name);
                    }
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException(name + " needs a value");
                        }
                        value = args[++i];
                    }
                    o.set(name, value);
                }
            }
        }
        return o;
    }

    private void set(String name, String v) {
        switch (name) {
            case "--bootstrap" -> bootstrap = v;
            case "--input" -> input = v;
            case "--output" -> output = v;
            case "--app-id" -> appId = v;
            case "--state-dir" -> stateDir = v;
            case "--threads" -> threads = (int) positive(name, v);
            case "--commit-interval-ms" -> commitIntervalMs = positive(name, v);
            case "--punctuate-ms" -> punctuateMs = positive(name, v);
            case "--rocksdb-memory-mb" -> rocksdbMemoryMb = positive(name, v);
            case "--due-soon-hours" -> {
                double h;
                try {
                    h = Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(name + ": not a number: " + v);
                }
                if (!(h >= 0) || Double.isInfinite(h)) {
                    throw new IllegalArgumentException(name + ": must be >= 0: " + v);
                }
                dueSoonMs = Math.round(h * 3_600_000d);
            }
            case "--clock" -> fixedClock = v.equals("wall") ? Times.NONE : Times.parse(v);
            case "--config" -> {
                int eq = v.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("--config wants KEY=VALUE, got: " + v);
                }
                config.put(v.substring(0, eq), v.substring(eq + 1));
            }
            default -> throw new IllegalArgumentException("unknown option: " + name);
        }
    }

    private static long positive(String name, String v) {
        try {
            long n = Long.parseLong(v);
            if (n <= 0 || n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException(name + ": must be a positive integer: " + v);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + ": not an integer: " + v);
        }
    }

    public PeerSettings settings() {
        return new PeerSettings(fixedClock, dueSoonMs, Duration.ofMillis(punctuateMs));
    }
}
