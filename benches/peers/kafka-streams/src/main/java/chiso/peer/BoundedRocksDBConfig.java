package chiso.peer;

import java.util.Map;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

/**
 * RocksDB memory bounded for the whole process ({@code --rocksdb-memory-mb}): every store of
 * every task shares one LRU block cache of {@link #MEMORY_CONFIG} bytes, which also holds the
 * index and filter blocks (in its high-priority pool) and is charged for the memtables through
 * one {@link WriteBufferManager}. Kafka Streams makes one instance per store; the cache and the
 * manager are shared, made by the first store opened and closed with the last one (RocksDB
 * keeps its own references while a database still uses them).
 */
public final class BoundedRocksDBConfig implements RocksDBConfigSetter {
    /** The Kafka Streams property that carries the bound, in bytes. */
    public static final String MEMORY_CONFIG = "chiso.peer.rocksdb.memory.bytes";
    /** Share of the cache the memtables may take. */
    static final double WRITE_BUFFER_SHARE = 0.5;
    /** Share of the cache kept for index and filter blocks. */
    static final double HIGH_PRIORITY_SHARE = 0.1;

    private static Shared shared;
    private static int stores;

    /** The cache and the write buffer manager of the open stores. */
    private record Shared(long bytes, LRUCache cache, WriteBufferManager writeBuffers) {}

    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        Object bytes = configs.get(MEMORY_CONFIG);
        if (bytes == null) {
            throw new IllegalArgumentException(MEMORY_CONFIG + " is not set");
        }
        Shared s = acquire(Long.parseLong(bytes.toString()));
        BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
        table.setBlockCache(s.cache);
        table.setCacheIndexAndFilterBlocks(true);
        table.setCacheIndexAndFilterBlocksWithHighPriority(true);
        // Level-0 files are read most: their index and filter stay in the cache.
        table.setPinL0FilterAndIndexBlocksInCache(true);
        options.setTableFormatConfig(table);
        options.setWriteBufferManager(s.writeBuffers);
    }

    @Override
    public void close(String storeName, Options options) {
        release();
    }

    private static synchronized Shared acquire(long bytes) {
        if (shared == null) {
            LRUCache cache = new LRUCache(bytes, -1, false, HIGH_PRIORITY_SHARE);
            shared = new Shared(bytes, cache, new WriteBufferManager((long) (bytes * WRITE_BUFFER_SHARE), cache));
        } else if (shared.bytes != bytes) {
            throw new IllegalStateException(MEMORY_CONFIG + " differs between stores: " + shared.bytes + ", " + bytes);
        }
        stores++;
        return shared;
    }

    private static synchronized void release() {
        if (--stores == 0) {
            shared.writeBuffers.close();
            shared.cache.close();
            shared = null;
        }
    }

    /** The stores open with the shared cache. */
    static synchronized int openStores() {
        return stores;
    }

    /** Bytes held in the shared cache (memtable reservations included); -1 when no store is open. */
    static synchronized long cacheUsage() {
        return shared == null ? -1 : shared.cache.getUsage();
    }
}
