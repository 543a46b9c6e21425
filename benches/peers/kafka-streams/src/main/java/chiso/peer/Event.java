package chiso.peer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * One input event, reduced to the fields the peer uses. Instants are epoch milliseconds,
 * {@link Times#NONE} when absent.
 */
public record Event(String eventId, Type type, long occurredAt, String agencyId, String dossierId, long dueAt) {

    /** The event types the peer handles; anything else is {@link #OTHER} (ignored). */
    public enum Type {
        RECEIVED, PROCESSED, RETURNED, WITHDRAWN, SUPPLEMENT_REQUESTED, SUPPLEMENT_RECEIVED, OVERDUE, OTHER;

        static Type of(String s) {
            return switch (s) {
                case "received" -> RECEIVED;
                case "processed" -> PROCESSED;
                case "returned" -> RETURNED;
                case "withdrawn" -> WITHDRAWN;
                case "supplement_requested" -> SUPPLEMENT_REQUESTED;
                case "supplement_received" -> SUPPLEMENT_RECEIVED;
                case "overdue" -> OVERDUE;
                default -> OTHER;
            };
        }

        /** Whether the event ends the dossier. */
        public boolean ends() {
            return this == PROCESSED || this == RETURNED || this == WITHDRAWN;
        }
    }

    private static final JsonFactory JSON = JsonFactory.builder().build();

    /**
     * Parses one message value with a streaming parser (only top-level fields are read; nested
     * values are skipped).
     *
     * @return the event, or null if the value is not a JSON object with non-empty string
     *     event_id, type, agency_id, dossier_id and a valid RFC 3339 occurred_at (an invalid
     *     due_at on an event that may carry one also rejects the message)
     */
    public static Event parse(byte[] value) {
        if (value == null || value.length == 0) {
            return null;
        }
        String eventId = null, type = null, occurredAt = null, agencyId = null, dossierId = null, dueAt = null;
        try (JsonParser p = JSON.createParser(value)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (v == JsonToken.START_OBJECT || v == JsonToken.START_ARRAY) {
                    p.skipChildren();
                    continue;
                }
                if (v != JsonToken.VALUE_STRING) {
                    continue;
                }
                switch (name) {
                    case "event_id" -> eventId = p.getText();
                    case "type" -> type = p.getText();
                    case "occurred_at" -> occurredAt = p.getText();
                    case "agency_id" -> agencyId = p.getText();
                    case "dossier_id" -> dossierId = p.getText();
                    case "due_at" -> dueAt = p.getText();
                    default -> { }
                }
            }
            if (t != JsonToken.END_OBJECT) {
                return null;
            }
        } catch (IOException e) {
            return null;
        }
        if (empty(eventId) || empty(type) || empty(occurredAt) || empty(agencyId) || empty(dossierId)) {
            return null;
        }
        try {
            long at = Times.parse(occurredAt);
            Type kind = Type.of(type);
            long due = Times.NONE;
            if (dueAt != null && (kind == Type.RECEIVED || kind == Type.SUPPLEMENT_RECEIVED)) {
                due = Times.parse(dueAt);
            }
            return new Event(eventId, kind, at, agencyId, dossierId, due);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean empty(String s) {
        return s == null || s.isEmpty();
    }
}
