use super::*;
use crate::core::agency::AgencyIdx;
use crate::core::event::{Rating, Received};
use crate::core::time::NANOS_PER_HOUR;

fn at(hours: i64) -> Timestamp {
    Timestamp::from_nanos(1_750_000_000_000_000_000 + hours * NANOS_PER_HOUR)
}

fn received(due: Timestamp) -> EventKind<'static> {
    EventKind::Received(Received {
        due: DueSpec::At(due),
        channel: Channel::Online,
        via_national_portal: false,
        fee_required: false,
        digitized: false,
        reused_data: false,
        citizen_storage: false,
    })
}

fn status(d: &Dossier, c: Timestamp, logs: &Logs) -> Status {
    match d.view(c, 0, logs) {
        View::Known(s) => s,
        other => panic!("expected a known dossier, got {other:?}"),
    }
}

/// A daily `overdue` notice, in any order, keeps one log entry: the earliest.
#[test]
fn repeated_overdue_keeps_the_earliest_only() {
    let (cal, mut logs) = (WorkCalendar::default(), Logs::default());
    let mut d = Dossier::new(AgencyIdx(0), "D1");
    d.apply(at(0), "r", &received(at(1000)), &cal, &mut logs);
    for (n, h) in [50, 40, 70, 30, 90, 30].into_iter().enumerate() {
        d.apply(
            at(h),
            &format!("o{n}"),
            &EventKind::Overdue,
            &cal,
            &mut logs,
        );
    }
    assert_eq!(d.log.len(), 2);
    assert!(!status(&d, at(30), &logs).late);
    assert!(status(&d, at(31), &logs).late);
}

/// `views` answers as `view` at each time, for any horizon (a view reused from the previous
/// time must still be right; a negative horizon means no due-soon at all).
#[test]
fn views_agree_with_view_whatever_the_horizon() {
    let (cal, mut logs) = (WorkCalendar::default(), Logs::default());
    let mut d = Dossier::new(AgencyIdx(0), "D1");
    d.apply(at(0), "r", &received(at(100)), &cal, &mut logs);
    let times = [at(50), at(80), at(99), at(101), at(200)];
    for h in [-1000, -1, 0, 1, 24, 1000] {
        let horizon = h * NANOS_PER_HOUR;
        let mut got = Vec::new();
        d.views(&times, horizon, &logs, |_, v, _| got.push(*v));
        let want: Vec<View> = times.iter().map(|&c| d.view(c, horizon, &logs)).collect();
        assert_eq!(got, want, "horizon {h} h");
    }
}

/// A dossier flooded with ratings outgrows the exact, the power-of-two and the chunked block
/// sizes; the latest rating still wins at every evaluation time.
#[test]
fn long_logs_stay_exact() {
    let (cal, mut logs) = (WorkCalendar::default(), Logs::default());
    let mut d = Dossier::new(AgencyIdx(0), "D1");
    d.apply(at(0), "r", &received(at(1_000_000)), &cal, &mut logs);
    let n = 5000;
    // Odd hours dissatisfied, even hours satisfied; inserted from both ends towards the middle.
    let hours: Vec<i64> = (1..=n).collect();
    let order = hours
        .iter()
        .step_by(2)
        .chain(hours.iter().skip(1).step_by(2).rev());
    for &h in order {
        let rating = if h % 2 == 1 {
            Rating::Dissatisfied
        } else {
            Rating::Satisfied
        };
        let kind = EventKind::Rated { rating };
        d.apply(at(h), &format!("x{h}"), &kind, &cal, &mut logs);
    }
    assert_eq!(d.log.len(), n as usize + 1);
    for h in [1, 2, 9, 10, 4095, 4096, 4097, n] {
        assert_eq!(
            status(&d, at(h).saturating_add(1), &logs).dissatisfied,
            h % 2 == 1,
            "at hour {h}"
        );
    }
    let mut seen = Vec::new();
    d.views(
        &[
            at(7).saturating_add(1),
            at(8).saturating_add(1),
            at(n).saturating_add(1),
        ],
        0,
        &logs,
        |_, v, _| seen.push(matches!(v, View::Known(s) if s.dissatisfied)),
    );
    assert_eq!(seen, [true, false, false]);
}
