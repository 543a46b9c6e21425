use super::*;

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn base(position: i64) -> Snapshot<'static> {
    Snapshot {
        dossier: Cow::Borrowed("H1"),
        agency: Some(AgencyIdx(0)),
        position,
        changed_at: Timestamp::from_nanos(position),
        status: Status::Received,
        received_at: Some(t("2025-09-01T08:00:00+07:00")),
        intake: Intake {
            due_at: Some(t("2025-09-05T17:00:00+07:00")),
            ..Intake::default()
        },
        ..Snapshot::default()
    }
}

fn kinds(events: &[Event<'static>]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{:?}@{}", e.kind, e.occurred_at.to_local_rfc3339()))
        .collect()
}

#[test]
fn a_snapshot_sent_again_or_older_derives_nothing() {
    let mut m = None;
    let mut out = Vec::new();
    assert_eq!(derive(&mut m, &base(10), &mut out), Ok(Derived::Applied(1)));
    assert_eq!(derive(&mut m, &base(10), &mut out), Ok(Derived::Applied(0)));
    assert_eq!(derive(&mut m, &base(11), &mut out), Ok(Derived::Applied(0)));
    let mut older = base(5);
    older.status = Status::Withdrawn;
    assert_eq!(derive(&mut m, &older, &mut out), Ok(Derived::Stale));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].id, "H1~r00001");
}

#[test]
fn a_changed_due_time_is_a_correction_that_sorts_after() {
    let mut m = None;
    let mut out = Vec::new();
    derive(&mut m, &base(1), &mut out).unwrap();
    let mut s = base(2);
    s.intake.due_at = Some(t("2025-09-06T17:00:00+07:00"));
    derive(&mut m, &s, &mut out).unwrap();
    assert_eq!(out.len(), 2);
    assert!(out[1].id > out[0].id, "{} after {}", out[1].id, out[0].id);
}

#[test]
fn a_squashed_processed_ends_nothing_and_the_pause_stands() {
    let mut m = None;
    let mut out = Vec::new();
    let mut s = base(1);
    s.status = Status::SupplementRequested;
    s.rounds = vec![Round {
        number: 1,
        requested_at: Some(t("2025-09-02T08:00:00+07:00")),
        received_at: None,
        new_due_at: None,
    }];
    derive(&mut m, &s, &mut out).unwrap();
    let mut squashed = s.clone();
    squashed.position = 2;
    squashed.status = Status::Processed;
    assert_eq!(derive(&mut m, &squashed, &mut out), Ok(Derived::Applied(0)));
    assert_eq!(m.unwrap().status, Status::SupplementRequested);
    let mut done = squashed.clone();
    done.position = 3;
    done.processed_at = Some(t("2025-09-04T08:00:00+07:00"));
    done.rounds[0].received_at = Some(t("2025-09-03T08:00:00+07:00"));
    done.rounds[0].new_due_at = Some(t("2025-09-08T08:00:00+07:00"));
    derive(&mut m, &done, &mut out).unwrap();
    assert_eq!(
        kinds(&out[2..]),
        [
            "SupplementReceived { due_at: Some(2025-09-08T08:00:00+07:00) }@2025-09-03T08:00:00+07:00",
            "Processed { outcome: Completed, electronic_result: false }@2025-09-04T08:00:00+07:00",
        ]
    );
}

#[test]
fn ends_converge_to_the_earliest_date_whatever_the_order() {
    let mut m = None;
    let mut out = Vec::new();
    let mut late = base(1);
    late.status = Status::Withdrawn;
    late.changed_at = t("2025-09-04T08:00:00+07:00");
    derive(&mut m, &late, &mut out).unwrap();
    let mut dated = late.clone();
    dated.position = 2;
    dated.withdrawn_at = Some(t("2025-09-03T08:00:00+07:00"));
    derive(&mut m, &dated, &mut out).unwrap();
    let mut again = late.clone();
    again.position = 3;
    derive(&mut m, &again, &mut out).unwrap();
    let withdrawn: Vec<_> = out
        .iter()
        .filter(|e| e.kind == EventKind::Withdrawn)
        .map(|e| e.occurred_at)
        .collect();
    assert_eq!(
        withdrawn,
        [
            t("2025-09-04T08:00:00+07:00"),
            t("2025-09-03T08:00:00+07:00")
        ]
    );
}

#[test]
fn an_electronic_result_that_comes_later_derives_the_same_end_again() {
    let mut m = None;
    let mut out = Vec::new();
    let mut s = base(1);
    s.status = Status::Processed;
    s.processed_at = Some(t("2025-09-04T08:00:00+07:00"));
    derive(&mut m, &s, &mut out).unwrap();
    s.position = 2;
    s.electronic_result = true;
    derive(&mut m, &s, &mut out).unwrap();
    s.position = 3;
    derive(&mut m, &s, &mut out).unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(out[2].occurred_at, out[1].occurred_at);
}

#[test]
fn a_delete_keeps_the_memory_and_a_received_needs_its_due_time() {
    let mut m = None;
    let mut out = Vec::new();
    derive(&mut m, &base(1), &mut out).unwrap();
    let mut d = base(2);
    d.deleted = true;
    assert_eq!(derive(&mut m, &d, &mut out), Ok(Derived::Deleted));
    assert_eq!(out.len(), 2, "an open dossier deleted is removed: {out:?}");
    assert!(matches!(out[1].kind, EventKind::Rejected));
    assert_eq!(derive(&mut m, &base(3), &mut out), Ok(Derived::Applied(0)));
    // An ended dossier deleted (archived) keeps what it counted.
    let (mut m, mut out) = (None, Vec::new());
    let mut done = base(1);
    done.status = Status::Processed;
    done.processed_at = Some(t("2025-09-02T08:00:00+07:00"));
    derive(&mut m, &done, &mut out).unwrap();
    let mut d = done.clone();
    d.position = 2;
    d.deleted = true;
    derive(&mut m, &d, &mut out).unwrap();
    assert_eq!(out.len(), 2, "{out:?}");
    let mut no_due = base(1);
    no_due.intake.due_at = None;
    assert_eq!(
        derive(&mut None, &no_due, &mut out),
        Err(SnapshotError::NoDueTime)
    );
}
