//! Property tests of the core: random small event streams (2–3 agencies in a two-level tree, up
//! to 6 dossiers, up to 40 events of every type spread over three months, some at identical
//! instants) must give the same results whatever the arrival order, duplication or batching, and
//! the counts must equal a plain reading of the on-time rules and counts of docs/results.md (a naive model in this file).

use std::borrow::Cow;
use std::sync::Arc;

use proptest::prelude::*;

use chiso::read_model::{OpenItem, OpenSet};

use chiso::core::event::{Channel, DueSpec, Ending, PaymentMethod, Rating, Received, Reported};
use chiso::core::time::NANOS_PER_HOUR;
use chiso::core::{
    AgencyDef, AgencyIdx, AgencyResult, Count, Engine, EngineSettings, Event, EventKind, Ingested,
    Period, PeriodPolicy, Registry, RestoreError, ScoringModel, Timestamp, WorkCalendar,
};

const MINUTE: i64 = 60 * 1_000_000_000;
const HOUR: i64 = NANOS_PER_HOUR;
const DAY: i64 = 24 * HOUR;
const OFFSET: i64 = 7 * HOUR;
const HORIZON: i64 = 24 * HOUR;

/// An instant given as a local (+07:00) date and time.
fn local(y: i64, m: i64, d: i64, hh: i64, mm: i64) -> i64 {
    let days = chiso::core::time::days_from_civil(y, m, d);
    days * DAY + hh * HOUR + mm * MINUTE - OFFSET
}

/// Events and evaluation times fall on a 90-minute grid from 2024-06-20 00:00 over 82 days,
/// or on a few "hot" instants (period boundaries, typical due times) shared by many events.
fn span_start() -> i64 {
    local(2024, 6, 20, 0, 0)
}
const SLOTS: i64 = 82 * 16;
fn hot() -> Vec<i64> {
    vec![
        local(2024, 7, 1, 0, 0),
        local(2024, 8, 1, 0, 0),
        local(2024, 9, 1, 0, 0),
        local(2024, 7, 15, 8, 0),
        local(2024, 8, 5, 17, 0),
        local(2024, 8, 20, 12, 0),
    ]
}
/// The one holiday of the test calendar.
fn holidays() -> Vec<i64> {
    vec![chiso::core::time::days_from_civil(2024, 9, 2)]
}

fn periods() -> Vec<Period> {
    let mut v: Vec<Period> = (6..=9).map(|m| Period::month(2024, m).unwrap()).collect();
    v.push(Period::quarter(2024, 2).unwrap());
    v.push(Period::quarter(2024, 3).unwrap());
    v.push(Period::year(2024).unwrap());
    v
}

const REPORTED_IDS: [&str; 3] = ["1.1", "5.2", "9.9"];

#[derive(Clone, Debug, PartialEq)]
enum Due {
    At(i64),
    /// Working time in half hours.
    HalfHours(u32),
}

#[derive(Clone, Debug, PartialEq)]
enum K {
    Received {
        due: Due,
        online: bool,
        portal: bool,
        fee: bool,
        digitized: bool,
        reused: bool,
        storage: bool,
    },
    SupReq,
    SupRecv(Option<i64>),
    Processed {
        completed: bool,
        electronic: bool,
    },
    Returned,
    Withdrawn,
    Overdue,
    Rejected,
    /// 0 national portal, 1 provincial gateway, 2 offline.
    Payment(u8),
    /// 0 very satisfied, 1 satisfied, 2 dissatisfied.
    Rated(u8),
    Synced,
    Apology(i64),
    Report {
        indicator: usize,
        period: usize,
        numerator: u64,
        denominator: u64,
    },
}

/// A test-side event: `dossier` is the dossier code, the dossier is (agency, code).
#[derive(Clone, Debug, PartialEq)]
struct Ev {
    id: String,
    at: i64,
    agency: u32,
    dossier: u8,
    kind: K,
}

fn to_event(e: &Ev) -> Event<'static> {
    let kind = match &e.kind {
        K::Received {
            due,
            online,
            portal,
            fee,
            digitized,
            reused,
            storage,
        } => EventKind::Received(Received {
            due: match due {
                Due::At(t) => DueSpec::At(Timestamp::from_nanos(*t)),
                Due::HalfHours(h) => DueSpec::WorkingNanos(Some(*h as u128 * 30 * MINUTE as u128)),
            },
            channel: if *online {
                Channel::Online
            } else {
                Channel::Direct
            },
            via_national_portal: *portal,
            fee_required: *fee,
            digitized: *digitized,
            reused_data: *reused,
            citizen_storage: *storage,
        }),
        K::SupReq => EventKind::SupplementRequested,
        K::SupRecv(d) => EventKind::SupplementReceived {
            due_at: d.map(Timestamp::from_nanos),
        },
        K::Processed {
            completed,
            electronic,
        } => EventKind::Processed {
            outcome: if *completed {
                Ending::Completed
            } else {
                Ending::Stopped
            },
            electronic_result: *electronic,
        },
        K::Returned => EventKind::Returned,
        K::Withdrawn => EventKind::Withdrawn,
        K::Overdue => EventKind::Overdue,
        K::Rejected => EventKind::Rejected,
        K::Payment(m) => EventKind::Payment {
            method: [
                PaymentMethod::NationalPortal,
                PaymentMethod::ProvincialGateway,
                PaymentMethod::Offline,
            ][*m as usize],
        },
        K::Rated(r) => EventKind::Rated {
            rating: [
                Rating::VerySatisfied,
                Rating::Satisfied,
                Rating::Dissatisfied,
            ][*r as usize],
        },
        K::Synced => EventKind::Synced,
        K::Apology(t) => EventKind::Apology {
            new_due_at: Timestamp::from_nanos(*t),
        },
        K::Report {
            indicator,
            period,
            numerator,
            denominator,
        } => EventKind::IndicatorReported(Reported {
            indicator: Cow::Borrowed(REPORTED_IDS[*indicator]),
            period: periods()[*period],
            numerator: *numerator,
            denominator: *denominator,
        }),
    };
    let is_report = matches!(e.kind, K::Report { .. });
    Event {
        id: Cow::Owned(e.id.clone()),
        occurred_at: Timestamp::from_nanos(e.at),
        agency: AgencyIdx(e.agency),
        dossier: Cow::Owned(if is_report {
            String::new()
        } else {
            format!("d{}", e.dossier)
        }),
        procedure: None,
        kind,
    }
}

// ---------------------------------------------------------------------------------------------
// Generators

fn arb_time() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => (0..SLOTS).prop_map(|k| span_start() + k * 90 * MINUTE),
        2 => prop::sample::select(hot()),
    ]
}

fn arb_kind() -> impl Strategy<Value = K> {
    let due = prop_oneof![
        arb_time().prop_map(Due::At),
        prop::sample::select(vec![0u32, 1, 9, 16, 40, 200]).prop_map(Due::HalfHours),
        (0u32..=120).prop_map(Due::HalfHours),
    ];
    let received = (due, any::<[bool; 6]>()).prop_map(|(due, b)| K::Received {
        due,
        online: b[0],
        portal: b[1],
        fee: b[2],
        digitized: b[3],
        reused: b[4],
        storage: b[5],
    });
    prop_oneof![
        6 => received,
        2 => Just(K::SupReq),
        2 => prop::option::of(arb_time()).prop_map(K::SupRecv),
        2 => (any::<bool>(), any::<bool>())
            .prop_map(|(completed, electronic)| K::Processed { completed, electronic }),
        1 => Just(K::Returned),
        1 => Just(K::Withdrawn),
        1 => Just(K::Overdue),
        1 => Just(K::Rejected),
        1 => (0u8..3).prop_map(K::Payment),
        2 => (0u8..3).prop_map(K::Rated),
        1 => Just(K::Synced),
        1 => arb_time().prop_map(K::Apology),
        2 => (0..REPORTED_IDS.len(), 0..periods().len(), 0u64..4, 0u64..4).prop_map(
            |(indicator, period, numerator, extra)| K::Report {
                indicator,
                period,
                numerator,
                denominator: numerator + extra,
            }
        ),
    ]
}

#[derive(Clone, Debug)]
struct Scenario {
    agencies: usize,
    events: Vec<Ev>,
    /// The final evaluation time.
    at: i64,
}

fn arb_scenario() -> impl Strategy<Value = Scenario> {
    (2usize..=3)
        .prop_flat_map(|n| {
            let agency_of = prop::collection::vec(0..n as u32, 6);
            let raw = prop::collection::vec(
                (arb_time(), 0u8..6, arb_kind(), 0..n as u32, 0u8..4),
                0..=40,
            );
            (Just(n), agency_of, raw, arb_time())
        })
        .prop_map(|(agencies, agency_of, raw, at)| {
            let mut last_at = [None::<i64>; 6];
            let events = raw
                .into_iter()
                .enumerate()
                .map(|(i, (t, d, kind, report_agency, same))| {
                    let agency = if matches!(kind, K::Report { .. }) {
                        report_agency
                    } else {
                        agency_of[d as usize]
                    };
                    // One event in four takes the instant of its dossier's previous event:
                    // ties within a dossier (a receipt at its request, an overdue at the end…).
                    let t = match last_at[d as usize] {
                        Some(prev) if same == 0 => prev,
                        _ => t,
                    };
                    last_at[d as usize] = Some(t);
                    // Codes d0–d3: dossiers 4 and 5 share codes with 0 and 1, which makes
                    // another dossier when their agency differs, and the same one otherwise.
                    Ev {
                        id: format!("e{i}"),
                        at: t,
                        agency,
                        dossier: d % 4,
                        kind,
                    }
                })
                .collect();
            Scenario {
                agencies,
                events,
                at,
            }
        })
}

// ---------------------------------------------------------------------------------------------
// Engines

struct World {
    registry: Arc<Registry>,
    model: Arc<ScoringModel>,
    calendar: Arc<WorkCalendar>,
}

fn world(agencies: usize) -> World {
    let mut defs = vec![AgencyDef {
        id: "P".into(),
        name: "Tỉnh P".into(),
        level: "province".into(),
        parent: None,
    }];
    for (id, level) in [("A", "department"), ("B", "commune")]
        .into_iter()
        .take(agencies - 1)
    {
        defs.push(AgencyDef {
            id: id.into(),
            name: format!("Đơn vị {id}"),
            level: level.into(),
            parent: Some("P".into()),
        });
    }
    World {
        registry: Arc::new(Registry::new(defs).unwrap()),
        model: Arc::new(chiso::app::files::load_scoring(None).unwrap()),
        calendar: Arc::new(WorkCalendar::new(holidays())),
    }
}

fn settings(periods: PeriodPolicy) -> EngineSettings {
    EngineSettings {
        due_soon_horizon: chiso::core::DueSoonHorizon::from_nanos(HORIZON).unwrap(),
        periods,
    }
}

fn engine_at(w: &World, at: i64, policy: PeriodPolicy) -> Engine {
    Engine::new(
        w.registry.clone(),
        w.model.clone(),
        w.calendar.clone(),
        settings(policy),
        Timestamp::from_nanos(at),
    )
}

fn fixed() -> PeriodPolicy {
    PeriodPolicy::Fixed(periods())
}

/// An engine created at `at`, fed `events` in order.
fn from_scratch(w: &World, at: i64, events: &[Ev], policy: PeriodPolicy) -> Engine {
    let mut e = engine_at(w, at, policy);
    for ev in events {
        e.ingest(&to_event(ev));
    }
    e
}

/// A cheap deterministic shuffle (the seed comes from proptest).
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

// ---------------------------------------------------------------------------------------------
// The naive model of docs/results.md (counts) and docs/indicators.md (reported values), for
// comparison.

const WINDOWS: [(i64, i64); 2] = [
    (7 * HOUR, 11 * HOUR + 30 * MINUTE),
    (13 * HOUR + 30 * MINUTE, 17 * HOUR),
];

/// The due instant `work` after `start`, counting working time day by day.
fn add_working(start: i64, work: i64) -> i64 {
    if work == 0 {
        return start;
    }
    let hol = holidays();
    let (mut day, mut tod) = (
        (start + OFFSET).div_euclid(DAY),
        (start + OFFSET).rem_euclid(DAY),
    );
    let mut remaining = work;
    loop {
        let weekday = (day + 3).rem_euclid(7); // 0 = Monday
        if weekday < 5 && !hol.contains(&day) {
            for (from, to) in WINDOWS {
                let begin = from.max(tod);
                if begin < to {
                    if remaining <= to - begin {
                        return day * DAY + begin + remaining - OFFSET;
                    }
                    remaining -= to - begin;
                }
            }
        }
        day += 1;
        tod = 0;
    }
}

/// Published counts in `Count::ALL` order.
type Row = Vec<u64>;

fn idx(c: Count) -> usize {
    Count::ALL.iter().position(|&x| x == c).unwrap()
}

/// First arrival of every event id.
fn dedup(events: &[Ev]) -> Vec<Ev> {
    let mut seen = std::collections::HashSet::new();
    events
        .iter()
        .filter(|e| seen.insert((e.agency, e.id.clone())))
        .cloned()
        .collect()
}

fn latest<'a>(evs: impl Iterator<Item = &'a Ev>) -> Option<&'a Ev> {
    evs.max_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)))
}

/// One dossier's contribution to a period `[start, …)` evaluated at `c`, by the contract's words.
fn contribution(evs: &[&Ev], start: i64, c: i64) -> Option<Row> {
    use Count::*;
    let evs: Vec<&Ev> = evs.iter().copied().filter(|e| e.at < c).collect();
    let gov = latest(
        evs.iter()
            .copied()
            .filter(|e| matches!(e.kind, K::Received { .. })),
    )?;
    let K::Received {
        due: due0,
        online,
        portal,
        fee,
        digitized,
        reused,
        storage,
    } = &gov.kind
    else {
        unreachable!()
    };
    let received_at = gov.at;
    let ends: Vec<&Ev> = evs
        .iter()
        .copied()
        .filter(|e| matches!(e.kind, K::Processed { .. } | K::Returned | K::Withdrawn))
        .collect();
    let end = ends.iter().map(|e| e.at).min();
    let at_end = |f: &dyn Fn(&K) -> bool| ends.iter().any(|e| Some(e.at) == end && f(&e.kind));
    let completed = at_end(&|k| {
        matches!(
            k,
            K::Processed {
                completed: true,
                ..
            }
        )
    });
    let electronic = at_end(&|k| {
        matches!(
            k,
            K::Processed {
                completed: true,
                electronic: true
            }
        )
    });
    let requests: Vec<i64> = evs
        .iter()
        .filter(|e| e.kind == K::SupReq)
        .map(|e| e.at)
        .collect();
    let receipts: Vec<&Ev> = evs
        .iter()
        .copied()
        .filter(|e| matches!(e.kind, K::SupRecv(_)))
        .collect();
    let mut paused_since: Option<i64> = None;
    let mut pauses: i128 = 0;
    for &r in &requests {
        match receipts.iter().map(|s| s.at).filter(|&s| s >= r).min() {
            Some(s) => pauses += (s - r) as i128,
            None => paused_since = Some(paused_since.map_or(r, |p| p.min(r))),
        }
    }
    let new_due = latest(
        receipts
            .iter()
            .copied()
            .filter(|e| matches!(e.kind, K::SupRecv(Some(_)))),
    );
    let due: i128 = match new_due.map(|e| &e.kind) {
        Some(K::SupRecv(Some(d))) => *d as i128,
        _ => {
            (match due0 {
                Due::At(t) => *t,
                Due::HalfHours(h) => add_working(received_at, *h as i64 * 30 * MINUTE),
            }) as i128
                + pauses
        }
    };
    let overdue = evs
        .iter()
        .any(|e| e.kind == K::Overdue && end.is_none_or(|end| e.at < end));
    let late = requests.len() > 1
        || overdue
        || match (end, paused_since) {
            (Some(e), _) => e as i128 > due,
            (None, Some(r)) => r as i128 > due,
            (None, None) => c as i128 > due,
        };
    let open = end.is_none();
    let due_soon = open && paused_since.is_none() && !late && due <= (c + HORIZON) as i128;
    let rejected = evs.iter().any(|e| e.kind == K::Rejected);
    if rejected || end.is_some_and(|e| e < start) {
        return None;
    }
    let any = |f: &dyn Fn(&K) -> bool| evs.iter().any(|e| f(&e.kind));
    let dissatisfied = latest(
        evs.iter()
            .copied()
            .filter(|e| matches!(e.kind, K::Rated(_))),
    )
    .is_some_and(|e| e.kind == K::Rated(2));
    let mut row = vec![0u64; Count::ALL.len()];
    let mut set = |c: Count, on: bool| row[idx(c)] = on as u64;
    set(InScope, true);
    set(OnTime, !late);
    set(Late, late);
    set(OpenOnTime, open && !late);
    set(OpenOverdue, open && late);
    set(OpenOverdueNationalPortal, open && late && *portal);
    set(AwaitingSupplement, open && paused_since.is_some());
    set(DueSoon, due_soon);
    set(Dissatisfied, dissatisfied);
    set(DissatisfiedOnTime, dissatisfied && !late);
    set(
        LateWithApology,
        late && any(&|k| matches!(k, K::Apology(_))),
    );
    set(EndedOnTime, !open && !late);
    set(EndedLate, !open && late);
    set(Completed, completed);
    set(ElectronicResult, electronic);
    let fresh = received_at >= start;
    set(Received, fresh);
    set(Online, fresh && *online);
    set(FeeRequired, fresh && *fee);
    set(
        PaidOnline,
        fresh && *fee && any(&|k| matches!(k, K::Payment(0) | K::Payment(1))),
    );
    set(Digitized, fresh && *digitized);
    set(ReusedData, fresh && *reused);
    set(CitizenStorage, fresh && *storage);
    set(Synced, fresh && any(&|k| *k == K::Synced));
    Some(row)
}

/// Pooled counts of every agency (registry order: P first, P is the parent of all) for a period.
fn model_counts(agencies: usize, events: &[Ev], period: Period, t: i64) -> Vec<Row> {
    let events = dedup(events);
    let (start, end) = (period.start().as_nanos(), period.end().as_nanos());
    let c = t.min(end);
    let mut own = vec![vec![0u64; Count::ALL.len()]; agencies];
    let mut keys: Vec<(u32, u8)> = events
        .iter()
        .filter(|e| !matches!(e.kind, K::Report { .. }))
        .map(|e| (e.agency, e.dossier))
        .collect();
    keys.sort();
    keys.dedup();
    for (agency, dossier) in keys {
        let evs: Vec<&Ev> = events
            .iter()
            .filter(|e| {
                e.agency == agency && e.dossier == dossier && !matches!(e.kind, K::Report { .. })
            })
            .collect();
        if let Some(row) = contribution(&evs, start, c) {
            for (a, b) in own[agency as usize].iter_mut().zip(row) {
                *a += b;
            }
        }
    }
    pool(own)
}

fn pool(own: Vec<Row>) -> Vec<Row> {
    let mut pooled = own.clone();
    for child in &own[1..] {
        for (a, b) in pooled[0].iter_mut().zip(child) {
            *a += b;
        }
    }
    pooled
}

/// Pooled (numerator, denominator) of a reported indicator for every agency, by §6.
fn model_reported(
    agencies: usize,
    events: &[Ev],
    indicator: usize,
    period: Period,
    t: i64,
) -> Vec<(u64, u64)> {
    let events = dedup(events);
    let own_label = |agency: u32, p: Period| -> Option<(u64, u64)> {
        latest(events.iter().filter(|e| {
            e.agency == agency
                && e.at < t
                && matches!(&e.kind, K::Report { indicator: i, period: q, .. }
                    if *i == indicator && periods()[*q] == p)
        }))
        .map(|e| match e.kind {
            K::Report {
                numerator,
                denominator,
                ..
            } => (numerator, denominator),
            _ => unreachable!(),
        })
    };
    let own: Vec<Row> = (0..agencies as u32)
        .map(|a| {
            let v = own_label(a, period).or_else(|| {
                if period.kind() == chiso::core::PeriodKind::Month {
                    return None;
                }
                period
                    .months()
                    .filter_map(|m| own_label(a, m))
                    .reduce(|x, y| (x.0 + y.0, x.1 + y.1))
            });
            let (n, d) = v.unwrap_or((0, 0));
            vec![n, d]
        })
        .collect();
    pool(own).into_iter().map(|r| (r[0], r[1])).collect()
}

// ---------------------------------------------------------------------------------------------
// Checks

/// The count identities and point bounds of every result.
fn check_identities(results: &[AgencyResult]) -> Result<(), TestCaseError> {
    use Count::*;
    for r in results {
        let c = &r.counts;
        let what = format!("agency #{} {}", r.agency.0, r.period);
        prop_assert_eq!(c[OnTime] + c[Late], c[InScope], "{}", what);
        prop_assert_eq!(c[OnTime], c[EndedOnTime] + c[OpenOnTime], "{}", what);
        prop_assert_eq!(c[Late], c[EndedLate] + c[OpenOverdue], "{}", what);
        for v in r.card.indicators.iter().flatten() {
            prop_assert!(
                0 <= v.points_h && v.points_h <= v.max_h,
                "{}: {:?}",
                what,
                v
            );
        }
        for &(p, m) in &r.card.groups {
            prop_assert!(0 <= p && p <= m, "{}: group {} of {}", what, p, m);
        }
        prop_assert!(r.card.total_points_h <= r.card.measured_max_h, "{}", what);
    }
    Ok(())
}

/// The engine's results agree with the naive model at its evaluation time.
fn check_model(agencies: usize, events: &[Ev], engine: &Engine) -> Result<(), TestCaseError> {
    let t = engine.now().as_nanos();
    let model = engine.model().clone();
    let reported: Vec<(usize, usize)> = REPORTED_IDS
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            model
                .indicators
                .iter()
                .position(|d| d.id == *id)
                .map(|m| (i, m))
        })
        .collect();
    for period in engine.periods() {
        let want = model_counts(agencies, events, period, t);
        let got = engine.results_for(period).unwrap();
        for (a, r) in got.iter().enumerate() {
            let row: Row = r.counts.iter().map(|(_, v)| v).collect();
            if row != want[a] {
                let diff: Vec<String> = Count::ALL
                    .iter()
                    .zip(row.iter().zip(&want[a]))
                    .filter(|(_, (g, w))| g != w)
                    .map(|(c, (g, w))| format!("{}: engine {g}, model {w}", c.name()))
                    .collect();
                prop_assert!(
                    false,
                    "agency #{} {} at {:?}: {}",
                    a,
                    period,
                    engine.now(),
                    diff.join(", ")
                );
            }
            for &(i, m) in &reported {
                let (n, d) = model_reported(agencies, events, i, period, t)[a];
                let got = r.card.indicators[m]
                    .as_ref()
                    .map(|v| (v.numerator, v.denominator));
                let full = model.indicators[m].if_empty == chiso::core::scoring::IfEmpty::Full;
                let want = (d > 0 || full).then_some((n as i64, d));
                prop_assert_eq!(
                    got,
                    want,
                    "indicator {} agency #{} {}",
                    REPORTED_IDS[i],
                    a,
                    period
                );
            }
        }
    }
    Ok(())
}

fn config() -> ProptestConfig {
    // PROPTEST_CASES overrides the default of 256 for a longer run.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// (a) Any arrival order gives identical results; (d) identities; the naive model agrees.
    #[test]
    fn any_permutation_gives_the_same_results(s in arb_scenario(), seed in any::<u64>()) {
        let w = world(s.agencies);
        let base = from_scratch(&w, s.at, &s.events, fixed());
        let results = base.results();
        check_identities(&results)?;
        check_model(s.agencies, &s.events, &base)?;
        let mut shuffled = s.events.clone();
        shuffle(&mut shuffled, seed | 1);
        let other = from_scratch(&w, s.at, &shuffled, fixed());
        prop_assert_eq!(other.results(), results);
    }

    /// (b) Copies of events (same id, possibly other content), placed after the original, change
    /// nothing.
    #[test]
    fn duplicates_change_nothing(
        s in arb_scenario(),
        copies in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<bool>()), 0..12),
    ) {
        prop_assume!(!s.events.is_empty());
        let w = world(s.agencies);
        let base = from_scratch(&w, s.at, &s.events, fixed()).results();
        let mut stream: Vec<Ev> = s.events.clone();
        for (orig, content, place, exact) in copies {
            let o = orig.get(&s.events).clone();
            let mut copy = if exact { o.clone() } else { content.get(&s.events).clone() };
            // Duplicates are per agency: a copy carries its original's id and agency.
            copy.id = o.id.clone();
            copy.agency = o.agency;
            let pos = stream.iter().position(|e| *e == o).unwrap();
            let at = pos + 1 + place.index(stream.len() - pos);
            stream.insert(at, copy);
        }
        let mut engine = engine_at(&w, s.at, fixed());
        let mut duplicates = 0;
        for ev in &stream {
            if engine.ingest(&to_event(ev)) == chiso::core::Ingested::Duplicate {
                duplicates += 1;
            }
        }
        prop_assert_eq!(duplicates, stream.len() - s.events.len());
        prop_assert_eq!(engine.results(), base);
    }

    /// (b2) Duplicates are per agency: ids reused across agencies (each agency's events renumbered
    /// from 0, in the same order, so ties still break alike) change nothing, and none of them is
    /// a duplicate.
    #[test]
    fn ids_reused_across_agencies_are_different_events(s in arb_scenario()) {
        let w = world(s.agencies);
        let base = from_scratch(&w, s.at, &s.events, fixed()).results();
        let mut renamed = s.events.clone();
        let mut agencies: Vec<u32> = renamed.iter().map(|e| e.agency).collect();
        agencies.sort_unstable();
        agencies.dedup();
        for a in agencies {
            let mut mine: Vec<usize> = (0..renamed.len()).filter(|&i| renamed[i].agency == a).collect();
            mine.sort_by(|&i, &j| renamed[i].id.cmp(&renamed[j].id));
            for (rank, i) in mine.into_iter().enumerate() {
                renamed[i].id = format!("{rank:06}");
            }
        }
        let mut engine = engine_at(&w, s.at, fixed());
        for ev in &renamed {
            prop_assert_eq!(engine.ingest(&to_event(ev)), chiso::core::Ingested::Applied);
        }
        prop_assert_eq!(engine.results(), base);
    }

    /// (c) Ingesting interleaved with `advance_to` at random times ≤ T, then `advance_to(T)`,
    /// equals an engine created at T fed everything, with fixed or rolling periods.
    #[test]
    fn advancing_time_equals_starting_late(
        s in arb_scenario(),
        steps in prop::collection::vec(prop::option::of(arb_time()), 41),
        rolling in any::<bool>(),
    ) {
        let policy = if rolling {
            PeriodPolicy::Rolling { finals_kept: [3, 1, 0] }
        } else {
            fixed()
        };
        let w = world(s.agencies);
        let mut times: Vec<i64> = steps.iter().flatten().copied().filter(|&t| t <= s.at).collect();
        times.sort();
        let mut times = times.into_iter();
        let mut engine = engine_at(&w, span_start(), policy.clone());
        for (ev, step) in s.events.iter().zip(&steps) {
            if step.is_some() {
                if let Some(t) = times.next() {
                    engine.advance_to(Timestamp::from_nanos(t));
                }
            }
            engine.ingest(&to_event(ev));
        }
        engine.advance_to(Timestamp::from_nanos(s.at));
        let scratch = from_scratch(&w, s.at, &s.events, policy);
        prop_assert_eq!(engine.periods().collect::<Vec<_>>(), scratch.periods().collect::<Vec<_>>());
        prop_assert_eq!(engine.results(), scratch.results());
    }

    /// (g) The open dossiers kept from the engine's changes — followed at random steps while
    /// events and `advance_to` interleave, from the start of time or from a clock — equal those
    /// of an engine created at the end time from the same events, at every step.
    #[test]
    fn open_set_follows_the_engine_exactly(
        s in arb_scenario(),
        steps in prop::collection::vec((prop::option::of(arb_time()), any::<bool>()), 41),
        from_start_of_time in any::<bool>(),
    ) {
        let w = world(s.agencies);
        let mut times: Vec<i64> = steps.iter().filter_map(|s| s.0).filter(|&t| t <= s.at).collect();
        times.sort();
        let mut times = times.into_iter();
        let start = if from_start_of_time { Timestamp::MIN.as_nanos() } else { span_start() };
        let mut engine = engine_at(&w, start, fixed());
        let mut set = OpenSet::default();
        let open_of = |set: &OpenSet| {
            let mut v: Vec<OpenItem> = set.items().cloned().collect();
            v.sort_by(|a, b| (a.agency, &a.dossier_id).cmp(&(b.agency, &b.dossier_id)));
            v
        };
        for (n, (ev, (step, follow))) in s.events.iter().zip(&steps).enumerate() {
            if step.is_some() {
                if let Some(t) = times.next() {
                    engine.advance_to(Timestamp::from_nanos(t));
                }
            }
            engine.ingest(&to_event(ev));
            if *follow {
                set.follow(&mut engine);
                if engine.now() == Timestamp::MIN {
                    prop_assert!(set.is_empty(), "nothing is open at the start of time");
                    continue;
                }
                let mut fresh = from_scratch(&w, engine.now().as_nanos(), &s.events[..=n], fixed());
                let mut want = OpenSet::default();
                want.follow(&mut fresh);
                prop_assert_eq!(open_of(&set), open_of(&want));
            }
        }
        engine.advance_to(Timestamp::from_nanos(s.at));
        set.follow(&mut engine);
        let mut fresh = from_scratch(&w, s.at, &s.events, fixed());
        let mut want = OpenSet::default();
        want.follow(&mut fresh);
        prop_assert_eq!(open_of(&set), open_of(&want));
    }

    /// (h) Points at stake are exact: turning one open on-time dossier late (an `overdue` event
    /// just before the evaluation time) costs every agency above it exactly its points at
    /// stake, and turning all of those due in the period late gives the worst-case projection;
    /// a late, paused or ended dossier is never at stake.
    #[test]
    fn points_at_stake_equal_rescoring_with_the_flip(s in arb_scenario(), pick in any::<prop::sample::Index>()) {
        use chiso::core::stake::{at_stake, AtRisk};
        let w = world(s.agencies);
        let engine = from_scratch(&w, s.at, &s.events, PeriodPolicy::Rolling { finals_kept: [0, 0, 0] });
        let mut engine = engine;
        let mut set = OpenSet::default();
        set.follow(&mut engine);
        let items: Vec<OpenItem> = set.items().cloned().collect();
        for i in &items {
            prop_assert_eq!(i.at_risk().is_some(), !i.late && !i.paused);
        }
        let month = engine.periods().find(|p| p.kind() == chiso::core::PeriodKind::Month).unwrap();
        let results = engine.results_for(month).unwrap();
        let candidates: Vec<(&OpenItem, AtRisk)> = items.iter().filter_map(|i| i.at_risk().map(|r| (i, r))).collect();
        let ev_of = |item: &OpenItem, n: usize| Ev {
            id: format!("flip{n}"),
            at: s.at - 1,
            agency: item.agency.0,
            dossier: item.dossier_id[1..].parse().unwrap(),
            kind: K::Overdue,
        };
        let reported_of = |r: &AgencyResult| {
            let card = r.card.clone();
            move |i: usize| card.indicators[i].as_ref().map_or((0, 0), |v| (v.numerator.max(0) as u64, v.denominator))
        };
        if !candidates.is_empty() {
            let k = pick.index(candidates.len());
            let (item, _) = candidates[k];
            let mut events = s.events.clone();
            events.push(ev_of(item, 0));
            let flipped = from_scratch(&w, s.at, &events, PeriodPolicy::Rolling { finals_kept: [0, 0, 0] });
            let after = flipped.results_for(month).unwrap();
            // Every agency whose subtree holds the dossier.
            for a in 0..s.agencies as u32 {
                let a = AgencyIdx(a);
                if !w.registry.in_subtree(item.agency, a) {
                    continue;
                }
                let mine: Vec<AtRisk> = candidates.iter().filter(|(i, _)| w.registry.in_subtree(i.agency, a)).map(|c| c.1).collect();
                let at = candidates.iter().filter(|(i, _)| w.registry.in_subtree(i.agency, a)).position(|(i, _)| *i == item).unwrap();
                let base = &results[a.index()];
                // Far end: every candidate counts as due in the period, to price this one.
                let stake = at_stake(&w.model, &base.counts, reported_of(base), &mine, Timestamp::MAX);
                prop_assert_eq!(
                    after[a.index()].card.total_points_h,
                    base.card.total_points_h - stake.points_h[at],
                    "agency {}", a.0
                );
            }
        }
        // The worst case: every candidate due before the month's end turned late.
        let root = AgencyIdx(0);
        let base = &results[root.index()];
        let risks: Vec<AtRisk> = candidates.iter().map(|c| c.1).collect();
        let stake = at_stake(&w.model, &base.counts, reported_of(base), &risks, month.end());
        let mut events = s.events.clone();
        for (n, (item, r)) in candidates.iter().enumerate() {
            if r.due < month.end() {
                events.push(ev_of(item, n));
            }
        }
        let worst = from_scratch(&w, s.at, &events, PeriodPolicy::Rolling { finals_kept: [0, 0, 0] });
        prop_assert_eq!(&worst.results_for(month).unwrap()[0].card, &stake.worst);
    }

    /// (e) An engine fed in batches, its clock advancing between them, agrees at every step with
    /// an engine created at that time from everything so far, and with the naive model.
    #[test]
    fn incremental_agrees_with_from_scratch_at_every_step(
        s in arb_scenario(),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), arb_time()), 1..5),
    ) {
        let w = world(s.agencies);
        let mut cuts: Vec<(usize, i64)> = cuts
            .into_iter()
            .map(|(i, t)| (i.index(s.events.len() + 1), t))
            .collect();
        cuts.sort();
        // Times move forward only: each checkpoint is at least the previous one.
        for i in 1..cuts.len() {
            cuts[i].1 = cuts[i].1.max(cuts[i - 1].1);
        }
        let mut engine = engine_at(&w, span_start(), fixed());
        let mut fed = 0;
        for (upto, t) in cuts {
            for ev in &s.events[fed..upto] {
                engine.ingest(&to_event(ev));
            }
            fed = upto;
            engine.advance_to(Timestamp::from_nanos(t));
            let now = engine.now().as_nanos();
            let scratch = from_scratch(&w, now, &s.events[..fed], fixed());
            let results = engine.results();
            check_identities(&results)?;
            prop_assert_eq!(&results, &scratch.results());
            check_model(s.agencies, &s.events[..fed], &engine)?;
        }
    }

    /// (f) Restoring from a changelog of accepted events (ids checked once, at the end; counts and
    /// deadline index rebuilt in one pass) gives the engine checked ingestion gives: same
    /// results, now and as deadlines pass later, same answers to the events that follow (copies
    /// are still duplicates), and a changelog that repeats an id is refused rather than counted
    /// twice.
    #[test]
    fn restore_equals_checked_ingestion(
        s in arb_scenario(),
        later in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 0..10),
        repeat in any::<prop::sample::Index>(),
        rolling in any::<bool>(),
        clock_days in prop::option::of(0i64..60),
    ) {
        let policy = if rolling {
            PeriodPolicy::Rolling { finals_kept: [3, 1, 0] }
        } else {
            fixed()
        };
        let w = world(s.agencies);
        // At the start of time (how the pipeline restores: settled by the first advance), or
        // with a clock up to 60 days before the evaluation time (settled by `finish`).
        let day = 86_400_000_000_000i64;
        let start = clock_days.map_or(Timestamp::MIN.as_nanos(), |d| s.at - d * day);
        let accepted = dedup(&s.events);
        let mut checked = from_scratch(&w, start, &accepted, policy.clone());
        let mut restore = engine_at(&w, start, policy.clone()).restore();
        for ev in &accepted {
            restore.ingest(&to_event(ev));
        }
        let mut restored = restore.finish().expect("a changelog without repeats");
        checked.advance_to(Timestamp::from_nanos(s.at));
        restored.advance_to(Timestamp::from_nanos(s.at));
        prop_assert_eq!(restored.results(), checked.results());
        prop_assert_eq!(restored.stats(), checked.stats());
        prop_assert_eq!(restored.seen_count(), checked.seen_count());
        for (n, (i, fresh)) in later.into_iter().enumerate() {
            let Some(ev) = (!s.events.is_empty()).then(|| i.get(&s.events)) else { break };
            let mut ev = ev.clone();
            if fresh {
                ev.id.push_str(&format!("-later{n}"));
            }
            let answer = checked.ingest(&to_event(&ev));
            prop_assert_eq!(restored.ingest(&to_event(&ev)), answer);
            prop_assert_eq!(answer == Ingested::Applied, fresh);
        }
        prop_assert_eq!(restored.results(), checked.results());
        // The rebuilt deadline index turns the same dossiers late later on.
        for days in [3, 40, 400] {
            checked.advance_to(Timestamp::from_nanos(s.at + days * day));
            restored.advance_to(Timestamp::from_nanos(s.at + days * day));
            prop_assert_eq!(restored.results(), checked.results());
        }

        if !accepted.is_empty() {
            let mut restore = engine_at(&w, start, policy).restore();
            for ev in &accepted {
                restore.ingest(&to_event(ev));
            }
            restore.ingest(&to_event(repeat.get(&accepted)));
            prop_assert_eq!(restore.finish().err(), Some(RestoreError { repeats: 1 }));
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// (i) Dropping the dossiers that can no longer count (received and ended or rejected before
    /// the oldest tracked period) changes no result: an engine that drops at every chance — as
    /// events arrive and its clock moves, or during a catch-up from the start of time with a
    /// clock floor — equals an engine created at the end time that drops nothing, with the naive
    /// model agreeing; so do the open dossiers it reports, late events for dropped dossiers
    /// (ignored by one engine, counted by the other), and a clock moved into the next year,
    /// where the year rolls and most dossiers go.
    #[test]
    fn dropping_settled_dossiers_changes_no_result(
        s in arb_scenario(),
        steps in prop::collection::vec(prop::option::of(arb_time()), 41),
        policy in 0..4usize,
        catch_up in prop::option::of(arb_time()),
        late in prop::collection::vec((any::<prop::sample::Index>(), arb_time(), arb_kind()), 0..8),
    ) {
        let policy = match policy {
            0 => PeriodPolicy::Fixed(vec![Period::month(2024, 8).unwrap()]),
            1 => PeriodPolicy::Fixed(vec![Period::month(2024, 9).unwrap()]),
            2 => PeriodPolicy::Fixed(vec![
                Period::month(2024, 8).unwrap(),
                Period::month(2024, 9).unwrap(),
                Period::quarter(2024, 3).unwrap(),
            ]),
            _ => PeriodPolicy::Rolling { finals_kept: [1, 0, 0] },
        };
        let w = world(s.agencies);
        let mut engine = match catch_up {
            // A catch-up: nothing is evaluated until the clock moves, at least to the floor.
            Some(floor) => {
                let mut e = engine_at(&w, Timestamp::MIN.as_nanos(), policy.clone());
                e.set_clock_floor(Timestamp::from_nanos(floor.min(s.at)));
                e
            }
            None => engine_at(&w, span_start(), policy.clone()),
        };
        engine.set_expiry_pass(1);
        engine.track_open_dossiers();
        let mut set = OpenSet::default();
        let mut times: Vec<i64> = steps.iter().flatten().copied().filter(|&t| t <= s.at).collect();
        times.sort();
        let mut times = times.into_iter();
        for (ev, step) in s.events.iter().zip(&steps) {
            if step.is_some() && catch_up.is_none() {
                if let Some(t) = times.next() {
                    engine.advance_to(Timestamp::from_nanos(t));
                    set.follow(&mut engine);
                }
            }
            engine.ingest(&to_event(ev));
        }
        engine.advance_to(Timestamp::from_nanos(s.at));
        set.follow(&mut engine);
        let mut kept = engine_at(&w, s.at, policy);
        kept.set_expiry_pass(usize::MAX);
        for ev in &s.events {
            kept.ingest(&to_event(ev));
        }
        prop_assert_eq!(kept.expired_count(), 0, "the reference drops nothing");
        prop_assert_eq!(engine.periods().collect::<Vec<_>>(), kept.periods().collect::<Vec<_>>());
        prop_assert_eq!(engine.results(), kept.results());
        prop_assert_eq!(engine.stats(), kept.stats());
        prop_assert_eq!(engine.pending(), kept.pending());
        prop_assert_eq!(engine.dossier_count() + engine.expired_count(), kept.dossier_count());
        check_model(s.agencies, &s.events, &engine)?;
        let mut want = OpenSet::default();
        want.follow(&mut kept);
        let open_of = |set: &OpenSet| {
            let mut v: Vec<OpenItem> = set.items().cloned().collect();
            v.sort_by(|a, b| (a.agency, &a.dossier_id).cmp(&(b.agency, &b.dossier_id)));
            v
        };
        prop_assert_eq!(open_of(&set), open_of(&want));

        // Late events for any dossier, dropped or not, at any instant.
        let mut all = s.events.clone();
        for (n, (pick, at, kind)) in late.into_iter().enumerate() {
            let Some(base) = (!s.events.is_empty()).then(|| pick.get(&s.events)) else { break };
            if matches!(kind, K::Report { .. }) || matches!(base.kind, K::Report { .. }) {
                continue;
            }
            let ev = Ev { id: format!("late{n}"), at, agency: base.agency, dossier: base.dossier, kind };
            prop_assert_eq!(engine.ingest(&to_event(&ev)), kept.ingest(&to_event(&ev)));
            all.push(ev);
        }
        prop_assert_eq!(engine.results(), kept.results());
        check_model(s.agencies, &all, &engine)?;

        // The next year: the year rolls, and with it the oldest tracked period.
        let day = 86_400_000_000_000i64;
        for days in [40, 400] {
            engine.advance_to(Timestamp::from_nanos(s.at + days * day));
            kept.advance_to(Timestamp::from_nanos(s.at + days * day));
            prop_assert_eq!(engine.results(), kept.results());
            prop_assert_eq!(engine.pending(), kept.pending());
        }
        set.follow(&mut engine);
        want.follow(&mut kept);
        prop_assert_eq!(open_of(&set), open_of(&want));
    }
}

/// 30,000 dossiers whose logs grow in lockstep (every dossier received, then every one asked for
/// papers, then every one handing them in, then every one rated) leave the log blocks they
/// outgrow idle, which makes the engine compact its log store mid-stream; the results are those
/// of the same events grouped by dossier, where blocks are reused as they are freed.
#[test]
fn lockstep_log_growth_changes_no_result() {
    let w = world(3);
    let n = 30_000;
    let t0 = local(2024, 7, 1, 8, 0);
    let kinds = [
        to_event(&Ev {
            id: String::new(),
            at: 0,
            agency: 0,
            dossier: 0,
            kind: K::Received {
                due: Due::HalfHours(40),
                online: true,
                portal: false,
                fee: true,
                digitized: false,
                reused: false,
                storage: false,
            },
        })
        .kind,
        EventKind::SupplementRequested,
        EventKind::SupplementReceived { due_at: None },
        EventKind::Rated {
            rating: Rating::Dissatisfied,
        },
    ];
    let event = |round: usize, d: u32| Event {
        id: format!("e{round}-{d}").into(),
        occurred_at: Timestamp::from_nanos(t0 + round as i64 * 7 * DAY + d as i64 * MINUTE),
        agency: AgencyIdx(d % 3),
        dossier: format!("D{d}").into(),
        procedure: None,
        kind: kinds[round].clone(),
    };
    let at = t0 + 60 * DAY;
    let mut lockstep = engine_at(&w, at, fixed());
    for round in 0..kinds.len() {
        for d in 0..n {
            lockstep.ingest(&event(round, d));
        }
    }
    let mut grouped = engine_at(&w, at, fixed());
    for d in 0..n {
        for round in 0..kinds.len() {
            grouped.ingest(&event(round, d));
        }
    }
    assert_eq!(lockstep.results(), grouped.results());
    let late = lockstep
        .results()
        .iter()
        .map(|r| r.counts[Count::Late])
        .max();
    assert_eq!(
        late,
        Some(n as u64),
        "every dossier waited for papers past its due time"
    );
}

/// Short ids reused under several agencies never pass for one another: with xxh3's seed as the
/// agency, `("e16", agency 0)` and `("e10", agency 2)` once shared a hash.
#[test]
fn short_ids_under_many_agencies_are_all_distinct() {
    let agencies = 3;
    let w = world(agencies);
    let mut engine = engine_at(&w, local(2024, 8, 1, 0, 0), fixed());
    for a in 0..agencies as u32 {
        for i in 0..20_000 {
            let ev = Ev {
                id: format!("e{i}"),
                at: local(2024, 7, 2, 8, 0),
                agency: a,
                dossier: (i % 4) as u8,
                kind: K::Synced,
            };
            assert_eq!(
                engine.ingest(&to_event(&ev)),
                Ingested::Applied,
                "e{i} of agency {a}"
            );
        }
    }
    assert_eq!(engine.seen_count(), agencies * 20_000);
}

/// A year of intake under rolling periods: once the clock enters the next year, the dossiers
/// received and ended (or rejected) in the year before are dropped, as they settle during a
/// catch-up or when the year rolls; the engine then holds only the open ones and the new year's,
/// and its results, and its answers to late events for the dropped dossiers, are those of an
/// engine that dropped nothing.
#[test]
fn a_year_roll_drops_the_year_before() {
    let w = world(3);
    let n = 24_000u32;
    let t0 = local(2024, 1, 2, 8, 0);
    let received = |d: u32, at: i64| Event {
        id: format!("r{d}").into(),
        occurred_at: Timestamp::from_nanos(at),
        agency: AgencyIdx(d % 3),
        dossier: format!("D{d}").into(),
        procedure: None,
        kind: EventKind::Received(Received {
            due: DueSpec::WorkingNanos(Some(16 * NANOS_PER_HOUR as u128)),
            channel: Channel::Online,
            via_national_portal: d % 7 == 0,
            fee_required: false,
            digitized: true,
            reused_data: false,
            citizen_storage: false,
        }),
    };
    let mut events = Vec::new();
    // 2024: one dossier every 21 minutes; one in 20 stays open, one in 20 is rejected, the
    // rest are processed three days after intake.
    for d in 0..n {
        let at = t0 + d as i64 * 21 * MINUTE;
        events.push(received(d, at));
        let end = |kind| Event {
            id: format!("x{d}").into(),
            occurred_at: Timestamp::from_nanos(at + 3 * DAY),
            agency: AgencyIdx(d % 3),
            dossier: format!("D{d}").into(),
            procedure: None,
            kind,
        };
        match d % 20 {
            0 => {}
            1 => events.push(end(EventKind::Rejected)),
            _ => events.push(end(EventKind::Processed {
                outcome: Ending::Completed,
                electronic_result: true,
            })),
        }
    }
    // January 2025.
    let t1 = local(2025, 1, 2, 8, 0);
    for d in n..n + 2_000 {
        events.push(received(d, t1 + (d - n) as i64 * 10 * MINUTE));
    }
    events.sort_by_key(|e| e.occurred_at);
    let at = local(2025, 1, 31, 12, 0);
    let rolling = PeriodPolicy::Rolling {
        finals_kept: [0, 0, 0],
    };
    let mut kept = engine_at(&w, at, rolling.clone());
    kept.set_expiry_pass(usize::MAX);
    // Live: the clock follows the events, a day at a time.
    let mut live = engine_at(&w, t0, rolling.clone());
    // A catch-up: the clock at the start of time, its floor at the end.
    let mut catch_up = engine_at(&w, Timestamp::MIN.as_nanos(), rolling);
    catch_up.set_clock_floor(Timestamp::from_nanos(at));
    let mut day = t0;
    for ev in &events {
        if ev.occurred_at.as_nanos() > day + DAY {
            day = ev.occurred_at.as_nanos();
            live.advance_to(Timestamp::from_nanos(day));
        }
        assert_eq!(kept.ingest(ev), Ingested::Applied);
        assert_eq!(live.ingest(ev), Ingested::Applied);
        assert_eq!(catch_up.ingest(ev), Ingested::Applied);
    }
    // The catch-up dropped as it went, before its clock moved.
    assert!(
        catch_up.expired_count() > 20_000,
        "{}",
        catch_up.expired_count()
    );
    live.advance_to(Timestamp::from_nanos(at));
    catch_up.advance_to(Timestamp::from_nanos(at));
    // Every 2024 dossier processed or rejected before 2025; not the open ones.
    let settled_2024 = (0..n)
        .filter(|d| d % 20 != 0 && t0 + *d as i64 * 21 * MINUTE + 3 * DAY < local(2025, 1, 1, 0, 0))
        .count();
    for e in [&live, &catch_up] {
        assert_eq!(e.results(), kept.results());
        assert_eq!(e.pending(), kept.pending());
        assert_eq!(e.stats(), kept.stats());
        assert_eq!(e.expired_count(), settled_2024);
        assert_eq!(e.dossier_count() + e.expired_count(), kept.dossier_count());
    }
    // Late events for dropped dossiers: a correction, an end, a rating; a fresh id each, so
    // they are applied (and ignored by the engines that dropped the dossier), and again, as
    // duplicates.
    let late = [
        received(5, local(2025, 1, 20, 9, 0)),
        Event {
            id: "late-end".into(),
            occurred_at: Timestamp::from_nanos(local(2024, 3, 1, 9, 0)),
            kind: EventKind::Withdrawn,
            ..received(6, 0)
        },
        Event {
            id: "late-rating".into(),
            occurred_at: Timestamp::from_nanos(local(2025, 1, 21, 9, 0)),
            kind: EventKind::Rated {
                rating: Rating::Dissatisfied,
            },
            ..received(7, 0)
        },
    ];
    for ev in late.iter().chain(&late) {
        let want = kept.ingest(ev);
        assert_eq!(live.ingest(ev), want);
        assert_eq!(catch_up.ingest(ev), want);
    }
    for e in [&live, &catch_up] {
        assert_eq!(e.results(), kept.results());
        assert_eq!(e.pending(), kept.pending());
        assert_eq!(e.dossier_count() + e.expired_count(), kept.dossier_count());
    }
}
