package chiso.peer;

import static chiso.peer.Rules.DUE_SOON;
import static chiso.peer.Rules.IN_SCOPE;
import static chiso.peer.Rules.LATE;
import static chiso.peer.Rules.ON_TIME;
import static chiso.peer.Rules.OPEN_OVERDUE;
import static chiso.peer.Times.NONE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.OffsetDateTime;
import org.junit.jupiter.api.Test;

class RulesTest {
    static final long H = 3_600_000L;
    static final long HORIZON = 24 * H;
    static final String C = "2025-12-31T17:00:00+07:00";

    static long t(String s) {
        return Times.parse(s);
    }

    /** A dossier built from (type, occurred_at[, due_at]) triples. */
    static DossierState dossier(String... spec) {
        DossierState d = new DossierState();
        int n = 0;
        for (String line : spec) {
            String[] f = line.split(" ");
            long due = f.length > 2 ? t(f[2]) : NONE;
            Event e = new Event("e" + n++, Event.Type.valueOf(f[0].toUpperCase()), t(f[1]), "A", "D", due);
            d.apply(e);
        }
        return d;
    }

    static int at(DossierState d, String c) {
        long clock = t(c);
        return Rules.contribution(d, clock, Times.monthOf(clock), HORIZON);
    }

    static final String RECEIVED = "received 2025-12-01T08:00:00+07:00 2025-12-05T17:00:00+07:00";
    static final String DUE = "2025-12-05T17:00:00+07:00";

    @Test
    void onTime() {
        DossierState d = dossier(RECEIVED, "processed 2025-12-04T10:00:00+07:00");
        assertEquals(IN_SCOPE | ON_TIME, at(d, C));
        assertEquals(NONE, Rules.nextChange(d, t(C), HORIZON));
    }

    @Test
    void endedLate() {
        DossierState d = dossier(RECEIVED, "returned 2025-12-06T10:00:00+07:00");
        assertEquals(IN_SCOPE | LATE, at(d, C));
        // The earliest end counts.
        d.apply(new Event("x", Event.Type.PROCESSED, t("2025-12-05T16:00:00+07:00"), "A", "D", NONE));
        assertEquals(IN_SCOPE | ON_TIME, at(d, C));
    }

    @Test
    void openPastDueFlipsLateAndExactlyAtDueIsOnTime() {
        DossierState d = dossier(RECEIVED);
        long due = t(DUE);
        assertEquals(IN_SCOPE | ON_TIME | DUE_SOON, Rules.contribution(d, due - 1, Times.monthOf(due), HORIZON));
        assertEquals(IN_SCOPE | ON_TIME | DUE_SOON, Rules.contribution(d, due, Times.monthOf(due), HORIZON));
        assertEquals(IN_SCOPE | LATE | OPEN_OVERDUE, Rules.contribution(d, due + 1, Times.monthOf(due), HORIZON));
        assertEquals(IN_SCOPE | LATE | OPEN_OVERDUE, at(d, C));
        // The timer: the flip to late is at due + 1 ms.
        assertEquals(due + 1, Rules.nextChange(d, due - 1, HORIZON));
        assertEquals(NONE, Rules.nextChange(d, due + 1, HORIZON));
    }

    @Test
    void overdueBeforeEndIsLateAfterEndIsNot() {
        DossierState before = dossier(RECEIVED, "overdue 2025-12-03T00:00:00+07:00", "processed 2025-12-04T00:00:00+07:00");
        assertEquals(IN_SCOPE | LATE, at(before, C));
        DossierState after = dossier(RECEIVED, "processed 2025-12-04T00:00:00+07:00", "overdue 2025-12-04T01:00:00+07:00");
        assertEquals(IN_SCOPE | ON_TIME, at(after, C));
        // Open: an overdue event before c makes it late even before the due time.
        DossierState open = dossier(RECEIVED, "overdue 2025-12-02T00:00:00+07:00");
        assertEquals(IN_SCOPE | LATE | OPEN_OVERDUE, at(open, "2025-12-03T00:00:00+07:00"));
        assertEquals(IN_SCOPE | ON_TIME, at(open, "2025-12-02T00:00:00+07:00"));
    }

    @Test
    void pausedWithRequestAfterDueIsLate() {
        DossierState d = dossier(RECEIVED, "supplement_requested 2025-12-06T08:00:00+07:00");
        Rules.Status s = Rules.evaluate(d, t(C), HORIZON);
        assertTrue(s.paused());
        assertTrue(s.late());
        assertEquals(IN_SCOPE | LATE | OPEN_OVERDUE, at(d, C));
    }

    @Test
    void pausedBeforeDueStaysOnTimePastDue() {
        DossierState d = dossier(RECEIVED, "supplement_requested 2025-12-03T08:00:00+07:00");
        assertEquals(IN_SCOPE | ON_TIME, at(d, C));
        assertEquals(IN_SCOPE | ON_TIME, at(d, "2025-12-05T17:00:00.001+07:00"));
        // Paused dossiers are not due soon and have no timer.
        assertEquals(NONE, Rules.nextChange(d, t(C), HORIZON));
    }

    @Test
    void closedPauseExtendsDue() {
        DossierState d = dossier(RECEIVED, "supplement_requested 2025-12-03T08:00:00+07:00",
                "supplement_received 2025-12-04T08:00:00+07:00", "processed 2025-12-06T10:00:00+07:00");
        assertEquals(t("2025-12-06T17:00:00+07:00"), Rules.evaluate(d, t(C), HORIZON).due());
        assertEquals(IN_SCOPE | ON_TIME, at(d, C));
        // A receipt at the same instant as the request closes it (zero-length pause).
        DossierState z = dossier(RECEIVED, "supplement_requested 2025-12-03T08:00:00+07:00",
                "supplement_received 2025-12-03T08:00:00+07:00");
        Rules.Status s = Rules.evaluate(z, t("2025-12-04T00:00:00+07:00"), HORIZON);
        assertFalse(s.paused());
        assertEquals(t(DUE), s.due());
        // A receipt before the request does not close it, whatever the arrival order.
        DossierState early = dossier(RECEIVED, "supplement_received 2025-12-02T08:00:00+07:00",
                "supplement_requested 2025-12-03T08:00:00+07:00");
        assertTrue(Rules.evaluate(early, t(C), HORIZON).paused());
    }

    @Test
    void receiptDueOverrides() {
        DossierState d = dossier(RECEIVED, "supplement_requested 2025-12-03T08:00:00+07:00",
                "supplement_received 2025-12-04T08:00:00+07:00 2025-12-10T17:00:00+07:00",
                "processed 2025-12-09T10:00:00+07:00");
        assertEquals(t("2025-12-10T17:00:00+07:00"), Rules.evaluate(d, t(C), HORIZON).due());
        assertEquals(IN_SCOPE | ON_TIME, at(d, C));
        // The latest receipt carrying a due_at wins, whatever the arrival order.
        d.apply(new Event("x", Event.Type.SUPPLEMENT_RECEIVED, t("2025-12-03T09:00:00+07:00"), "A", "D",
                t("2025-12-07T17:00:00+07:00")));
        assertEquals(t("2025-12-10T17:00:00+07:00"), Rules.evaluate(d, t(C), HORIZON).due());
    }

    @Test
    void twoRequestsAreLate() {
        DossierState d = dossier(RECEIVED, "supplement_requested 2025-12-02T08:00:00+07:00",
                "supplement_received 2025-12-02T09:00:00+07:00", "supplement_requested 2025-12-02T10:00:00+07:00",
                "supplement_received 2025-12-02T11:00:00+07:00", "processed 2025-12-03T00:00:00+07:00");
        assertEquals(IN_SCOPE | LATE, at(d, C));
    }

    @Test
    void dueSoonBoundaries() {
        long c = t("2025-12-10T12:00:00+07:00");
        Times.Month m = Times.monthOf(c);
        DossierState at = dossier("received 2025-12-01T08:00:00+07:00 2025-12-11T12:00:00+07:00");
        assertEquals(IN_SCOPE | ON_TIME | DUE_SOON, Rules.contribution(at, c, m, HORIZON));
        DossierState beyond = dossier("received 2025-12-01T08:00:00+07:00 2025-12-11T12:00:00.001+07:00");
        assertEquals(IN_SCOPE | ON_TIME, Rules.contribution(beyond, c, m, HORIZON));
        // Its timer is the instant it becomes due soon.
        assertEquals(c + 1, Rules.nextChange(beyond, c, HORIZON));
        assertEquals(IN_SCOPE | ON_TIME | DUE_SOON, Rules.contribution(beyond, c + 1, m, HORIZON));
        // Late is not due soon; ended is not due soon.
        DossierState late = dossier("received 2025-12-01T08:00:00+07:00 2025-12-10T11:00:00+07:00");
        assertEquals(IN_SCOPE | LATE | OPEN_OVERDUE, Rules.contribution(late, c, m, HORIZON));
        DossierState ended = dossier("received 2025-12-01T08:00:00+07:00 2025-12-11T00:00:00+07:00",
                "processed 2025-12-09T00:00:00+07:00");
        assertEquals(IN_SCOPE | ON_TIME, Rules.contribution(ended, c, m, HORIZON));
        // A configurable horizon.
        assertEquals(IN_SCOPE | ON_TIME, Rules.contribution(at, c, m, H));
    }

    @Test
    void scopeCarriesOverAndExcludesEndedBeforeTheMonth() {
        String nov = "received 2025-11-20T08:00:00+07:00 2025-11-25T17:00:00+07:00";
        assertEquals(IN_SCOPE | LATE | OPEN_OVERDUE, at(dossier(nov), C));
        assertEquals(0, at(dossier(nov, "processed 2025-11-30T23:59:59+07:00"), C));
        // Ended exactly at the month start (in Asia/Ho_Chi_Minh) is in scope: 2025-11-30T17:00Z.
        assertEquals(IN_SCOPE | LATE, at(dossier(nov, "processed 2025-11-30T17:00:00Z"), C));
        // An end after c is not in effect: open.
        assertEquals(IN_SCOPE | LATE | OPEN_OVERDUE, at(dossier(nov, "processed 2026-01-02T00:00:00+07:00"), C));
        // Received at or after c: not in scope; without a received: not in scope.
        assertEquals(0, at(dossier("received 2025-12-31T17:00:00+07:00 2026-01-05T17:00:00+07:00"), C));
        assertEquals(0, at(dossier("processed 2025-12-04T10:00:00+07:00"), C));
        // The first received event governs.
        DossierState twice = dossier(RECEIVED, "received 2025-12-02T08:00:00+07:00 2025-12-30T17:00:00+07:00");
        assertEquals(t(DUE), Rules.evaluate(twice, t(C), HORIZON).due());
    }

    @Test
    void timestampsAndMonths() {
        for (String s : new String[] {"2025-01-06T17:00:00+07:00", "2025-01-06T10:00:00Z", "2024-02-29T23:59:59.5-03:30",
                "2025-12-31T23:59:59.123456789+07:00"}) {
            assertEquals(OffsetDateTime.parse(s).toInstant().toEpochMilli(), Times.parse(s), s);
        }
        Times.Month m = Times.monthOf(t("2025-11-30T17:00:00Z"));
        assertEquals("2025-12", m.label());
        assertEquals(t("2025-12-01T00:00:00+07:00"), m.start());
        assertEquals(t("2026-01-01T00:00:00+07:00"), m.end());
        assertEquals("2025-12-31T17:00:00+07:00", Times.format(t(C)));
    }

    @Test
    void eventParsing() {
        Event e = Event.parse(("{\"event_id\":\"1\",\"type\":\"received\",\"occurred_at\":\"2025-12-01T08:00:00+07:00\","
                + "\"agency_id\":\"A\",\"dossier_id\":\"D\",\"due_at\":\"2025-12-05T17:00:00+07:00\","
                + "\"extra\":{\"x\":[1,2]},\"time_limit_hours\":40}").getBytes());
        assertEquals(new Event("1", Event.Type.RECEIVED, t("2025-12-01T08:00:00+07:00"), "A", "D", t(DUE)), e);
        assertEquals(Event.Type.OTHER, Event.parse(("{\"event_id\":\"1\",\"type\":\"rated\",\"occurred_at\":"
                + "\"2025-12-01T08:00:00+07:00\",\"agency_id\":\"A\",\"dossier_id\":\"D\"}").getBytes()).type());
        assertNull(Event.parse("not json".getBytes()));
        assertNull(Event.parse("{\"event_id\":\"1\",\"type\":\"received\"}".getBytes()));
        assertNull(Event.parse(("{\"event_id\":\"1\",\"type\":\"processed\",\"occurred_at\":\"yesterday\","
                + "\"agency_id\":\"A\",\"dossier_id\":\"D\"}").getBytes()));
    }

    @Test
    void serdeRoundTrip() {
        DossierState d = dossier(RECEIVED, "supplement_requested 2025-12-03T08:00:00+07:00",
                "supplement_received 2025-12-04T08:00:00+07:00 2025-12-10T17:00:00+07:00", "overdue 2025-12-09T00:00:00+07:00");
        d.contribution = (byte) (IN_SCOPE | LATE);
        d.wakeAt = 42;
        DossierStateSerde serde = new DossierStateSerde();
        assertEquals(d, serde.deserialize("t", serde.serialize("t", d)));
    }
}
