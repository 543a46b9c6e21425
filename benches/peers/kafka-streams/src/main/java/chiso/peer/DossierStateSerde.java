package chiso.peer;

import java.nio.ByteBuffer;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/** Compact fixed-layout binary encoding of {@link DossierState} (big-endian, versioned). */
public final class DossierStateSerde implements Serde<DossierState>, Serializer<DossierState>, Deserializer<DossierState> {
    private static final byte VERSION = 1;
    private static final int FIXED = 1 + 8 * 5 + 4 + 8 * 2 + 1 + 8 + 4;

    @Override
    public byte[] serialize(String topic, DossierState d) {
        if (d == null) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(FIXED + 8 * d.receipts.length);
        b.put(VERSION)
                .putLong(d.receivedAt).putLong(d.dueBase).putLong(d.endAt).putLong(d.overdueAt).putLong(d.requestAt)
                .putInt(d.requests)
                .putLong(d.receiptDueAt).putLong(d.receiptDue)
                .put(d.contribution).putLong(d.wakeAt)
                .putInt(d.receipts.length);
        for (long t : d.receipts) {
            b.putLong(t);
        }
        return b.array();
    }

    @Override
    public DossierState deserialize(String topic, byte[] data) {
        if (data == null) {
            return null;
        }
        if (data.length < FIXED || data[0] != VERSION) {
            throw new SerializationException("bad dossier state record (" + data.length + " bytes)");
        }
        ByteBuffer b = ByteBuffer.wrap(data, 1, data.length - 1);
        DossierState d = new DossierState();
        d.receivedAt = b.getLong();
        d.dueBase = b.getLong();
        d.endAt = b.getLong();
        d.overdueAt = b.getLong();
        d.requestAt = b.getLong();
        d.requests = b.getInt();
        d.receiptDueAt = b.getLong();
        d.receiptDue = b.getLong();
        d.contribution = b.get();
        d.wakeAt = b.getLong();
        int n = b.getInt();
        if (n < 0 || b.remaining() != 8 * n) {
            throw new SerializationException("bad dossier state record (" + n + " receipts, " + data.length + " bytes)");
        }
        d.receipts = new long[n];
        for (int i = 0; i < n; i++) {
            d.receipts[i] = b.getLong();
        }
        return d;
    }

    @Override
    public Serializer<DossierState> serializer() {
        return this;
    }

    @Override
    public Deserializer<DossierState> deserializer() {
        return this;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {}

    @Override
    public void close() {}
}
