//! The life of one generated dossier, decided at intake: which events it will have and when.
//!
//! Times follow the working calendar where people act (processing, supplements, hand-back) and
//! wall-clock time where applicants or systems act (papers coming back, payments, ratings, sync).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::core::time::{NANOS_PER_HOUR, NANOS_PER_SEC};
use crate::core::{Period, Timestamp, WorkCalendar};

pub(crate) const ONLINE: u8 = 1;
pub(crate) const POSTAL: u8 = 2;
pub(crate) const PORTAL: u8 = 4;
pub(crate) const FEE: u8 = 8;
pub(crate) const DIGITIZED: u8 = 16;
pub(crate) const REUSED: u8 = 32;
pub(crate) const STORAGE: u8 = 64;

/// One event to emit, without the dossier it belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    Received {
        /// `Some`: written as `due_at`; `None`: written as `time_limit_hours`.
        due_at: Option<Timestamp>,
        limit_tenths: u32,
        flags: u8,
    },
    SupplementRequested,
    SupplementReceived {
        due_at: Option<Timestamp>,
    },
    Processed {
        stopped: bool,
        electronic: bool,
    },
    Returned,
    Withdrawn,
    Overdue,
    Rejected {
        reason: u8,
    },
    Payment {
        method: u8,
    },
    Rated {
        rating: u8,
    },
    Synced,
    Apology {
        new_due_at: Timestamp,
    },
    Report {
        indicator: u8,
        period: Period,
        numerator: u32,
        denominator: u32,
    },
}

/// A reported indicator: (id, denominator range, ratio range).
pub(crate) type ReportShape = (&'static str, (u32, u32), (f64, f64));

/// The reported indicators of the default model and typical (denominator, ratio) ranges.
pub(crate) const REPORTED: [ReportShape; 10] = [
    ("1.1", (40, 180), (0.85, 1.0)),
    ("1.2", (40, 180), (0.85, 1.0)),
    ("1.3", (40, 180), (0.8, 1.0)),
    ("3.1", (40, 180), (0.6, 0.95)),
    ("3.2", (20, 120), (0.4, 0.95)),
    ("3.5", (10, 60), (0.5, 0.9)),
    ("4.5", (10, 60), (0.7, 1.0)),
    ("4.6", (5, 40), (0.5, 1.0)),
    ("5.2", (0, 8), (0.7, 1.0)),
    ("5.3", (0, 8), (0.6, 1.0)),
];

pub(crate) const PAYMENT_METHODS: [&str; 3] = ["national_portal", "provincial_gateway", "offline"];
pub(crate) const RATINGS: [&str; 3] = ["very_satisfied", "satisfied", "dissatisfied"];
pub(crate) const REJECT_REASONS: [&str; 4] = [
    "Hồ sơ không thuộc thẩm quyền giải quyết",
    "Thành phần hồ sơ không đúng quy định",
    "Trùng hồ sơ đã nộp",
    "Không đủ điều kiện tiếp nhận",
];

/// The rates that shape lifecycles (copied from the generator configuration).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rates {
    pub national_portal_share: f64,
    pub supplement_rate: f64,
    pub second_supplement_rate: f64,
    pub late_rate: f64,
    pub never_processed_rate: f64,
    pub withdraw_rate: f64,
    pub reject_rate: f64,
    pub dissatisfied_rate: f64,
    pub due_at_share: f64,
}

/// What is known about a dossier at intake.
pub(crate) struct Intake {
    pub at: Timestamp,
    pub limit_tenths: u32,
    pub online: bool,
    pub fee: bool,
    pub late_factor: f64,
}

fn secs(rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> i64 {
    rng.random_range(lo..=hi) * NANOS_PER_SEC
}

fn whole_second(t: Timestamp) -> Timestamp {
    Timestamp::from_nanos(t.as_nanos() - t.as_nanos().rem_euclid(NANOS_PER_SEC))
}

fn work(cal: &WorkCalendar, from: Timestamp, hours: f64) -> Timestamp {
    let nanos = (hours.max(0.0) * NANOS_PER_HOUR as f64) as u128;
    whole_second(cal.add_working_time(from, nanos))
}

/// Pushes every event of one dossier (in any order) into `out`.
///
/// Long because one dossier's life is decided in order (intake, processing, supplements,
/// pauses, end, payment, rating), each step depending on the ones before.
pub(crate) fn plan(
    rates: &Rates,
    cal: &WorkCalendar,
    rng: &mut ChaCha8Rng,
    d: &Intake,
    out: &mut Vec<(Timestamp, Step)>,
) {
    let t0 = d.at;
    let limit_h = d.limit_tenths as f64 / 10.0;
    let due0 = {
        let nanos = d.limit_tenths as u128 * (NANOS_PER_HOUR as u128 / 10);
        cal.add_working_time(t0, nanos)
    };
    let mut flags = 0u8;
    if d.online {
        flags |= ONLINE;
        if rng.random_bool(rates.national_portal_share) {
            flags |= PORTAL;
        }
        if rng.random_bool(0.5) {
            flags |= STORAGE;
        }
    } else if rng.random_bool(0.04) {
        flags |= POSTAL;
    } else if rng.random_bool(0.1) {
        flags |= STORAGE;
    }
    if d.fee {
        flags |= FEE;
    }
    if rng.random_bool(0.72) {
        flags |= DIGITIZED;
    }
    if rng.random_bool(0.35) {
        flags |= REUSED;
    }
    let due_at = rng.random_bool(rates.due_at_share).then_some(due0);
    let received = Step::Received {
        due_at,
        limit_tenths: d.limit_tenths,
        flags,
    };
    out.push((t0, received));
    // Now and then the one-stop-shop re-sends a corrected intake record.
    if rng.random_bool(0.02) {
        out.push((t0.saturating_add(secs(rng, 60, 1800)), received));
    }
    if rng.random_bool(rates.reject_rate) {
        let reason = rng.random_range(0..REJECT_REASONS.len()) as u8;
        out.push((
            t0.saturating_add(secs(rng, 300, 4 * 3600)),
            Step::Rejected { reason },
        ));
        return;
    }
    if rng.random_bool(0.9) {
        out.push((t0.saturating_add(secs(rng, 30, 2 * 3600)), Step::Synced));
    }
    if d.fee && rng.random_bool(0.9) {
        let method = if d.online {
            [0u8, 0, 0, 0, 0, 1, 1, 1, 2, 2][rng.random_range(0..10)]
        } else {
            [0u8, 1, 2, 2, 2, 2, 2, 2, 2, 2][rng.random_range(0..10)]
        };
        out.push((
            t0.saturating_add(secs(rng, 60, 86_400)),
            Step::Payment { method },
        ));
    }

    // Supplements: the clock stops at the request and restarts when the papers come back.
    let mut due = due0;
    let mut restart = t0;
    let mut requests = 0;
    if rng.random_bool(rates.supplement_rate) {
        let r = work(cal, t0, limit_h * rng.random_range(0.1..0.6));
        out.push((r, Step::SupplementRequested));
        requests += 1;
        if rng.random_bool(0.1) {
            // The applicant never comes back: the dossier waits, or is withdrawn at last.
            if rng.random_bool(0.5) {
                out.push((
                    r.saturating_add(secs(rng, 10 * 86_400, 30 * 86_400)),
                    Step::Withdrawn,
                ));
            }
            return;
        }
        let s = r.saturating_add(secs(rng, 3600, 7 * 86_400));
        let pause = s.nanos_since(r);
        let new_due = rng.random_bool(0.3).then(|| {
            let left = due0.nanos_since(r).max(0) as f64 / NANOS_PER_HOUR as f64;
            work(cal, s, left.min(limit_h).max(1.0))
        });
        out.push((s, Step::SupplementReceived { due_at: new_due }));
        if rng.random_bool(0.8) {
            out.push((s.saturating_add(secs(rng, 30, 3600)), Step::Synced));
        }
        due = new_due.unwrap_or_else(|| due0.saturating_add(pause));
        restart = s;
        if rng.random_bool(rates.second_supplement_rate) {
            // A second request for papers: late by rule 1 whatever happens next.
            let r2 = work(cal, s, rng.random_range(1.0..8.0));
            let s2 = r2.saturating_add(secs(rng, 3600, 4 * 86_400));
            out.push((r2, Step::SupplementRequested));
            out.push((s2, Step::SupplementReceived { due_at: None }));
            due = due.saturating_add(s2.nanos_since(r2));
            restart = s2;
            requests += 1;
        }
    }

    let overdue_notice = |rng: &mut ChaCha8Rng, out: &mut Vec<(Timestamp, Step)>, end| {
        let at = whole_second(due).saturating_add(secs(rng, 60, 3600));
        if at < end && rng.random_bool(0.6) {
            out.push((at, Step::Overdue));
        }
    };
    if rng.random_bool(rates.never_processed_rate) {
        overdue_notice(rng, out, Timestamp::MAX);
        return;
    }
    if rng.random_bool(rates.withdraw_rate) {
        let span = due.nanos_since(restart).max(NANOS_PER_SEC);
        let at = restart.saturating_add(rng.random_range(0..span));
        out.push((whole_second(at).max(restart), Step::Withdrawn));
        return;
    }
    let late = requests > 1 || rng.random_bool((rates.late_rate * d.late_factor).min(0.95));
    let end = if late && requests <= 1 {
        // Late by up to a few working days, a long tail for the chronic cases.
        let extra = -rng.random::<f64>().max(1e-9).ln() * 12.0 + 0.5;
        work(cal, due, extra)
    } else {
        let span = due.nanos_since(restart).max(60 * NANOS_PER_SEC);
        let f = rng.random_range(0.15..0.97);
        whole_second(restart.saturating_add((span as f64 * f) as i64))
    };
    if late {
        overdue_notice(rng, out, end);
        if end > due && rng.random_bool(0.4) {
            let at = whole_second(due).saturating_add(secs(rng, -4 * 3600, 3600));
            out.push((
                at.max(t0),
                Step::Apology {
                    new_due_at: work(cal, due, 16.0),
                },
            ));
        }
    }
    let stopped = rng.random_bool(0.03);
    let electronic = !stopped && rng.random_bool(if d.online { 0.85 } else { 0.55 });
    out.push((
        end,
        Step::Processed {
            stopped,
            electronic,
        },
    ));
    if rng.random_bool(0.8) {
        out.push((end.saturating_add(secs(rng, 60, 3600)), Step::Synced));
    }
    let mut last = end;
    if !stopped && rng.random_bool(0.9) {
        last = work(cal, end, rng.random_range(0.0..16.0)).max(end);
        out.push((last, Step::Returned));
    }
    if rng.random_bool(0.55) {
        let p_bad = if late {
            (rates.dissatisfied_rate * 5.0).min(0.6)
        } else {
            rates.dissatisfied_rate
        };
        let rating = if rng.random_bool(p_bad) {
            2
        } else if rng.random_bool(0.5) {
            0
        } else {
            1
        };
        let at = last.saturating_add(secs(rng, 300, 3 * 86_400));
        out.push((at, Step::Rated { rating }));
    }
    debug_assert!(out.iter().all(|(t, _)| *t >= t0));
}
