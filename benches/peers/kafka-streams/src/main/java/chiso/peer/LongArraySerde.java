package chiso.peer;

import java.nio.ByteBuffer;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/** long[] as consecutive big-endian longs (the per-agency counts). */
public final class LongArraySerde implements Serde<long[]>, Serializer<long[]>, Deserializer<long[]> {
    @Override
    public byte[] serialize(String topic, long[] v) {
        if (v == null) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(8 * v.length);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }

    @Override
    public long[] deserialize(String topic, byte[] data) {
        if (data == null) {
            return null;
        }
        if (data.length % 8 != 0) {
            throw new SerializationException("bad long[] record (" + data.length + " bytes)");
        }
        ByteBuffer b = ByteBuffer.wrap(data);
        long[] v = new long[data.length / 8];
        for (int i = 0; i < v.length; i++) {
            v[i] = b.getLong();
        }
        return v;
    }

    @Override
    public Serializer<long[]> serializer() {
        return this;
    }

    @Override
    public Deserializer<long[]> deserializer() {
        return this;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {}

    @Override
    public void close() {}
}
