//! A deterministic, realistic stream of dossier events (schema 1) for a whole agency registry.
//!
//! Dossiers arrive as a Poisson process whose intensity follows the working week (peaks in
//! counter hours, a trickle of online dossiers at night, on weekends and holidays). Each dossier's
//! whole life is planned at intake ([`super::plan`]) and its events wait in a min-heap; monthly
//! `indicator_reported` batches are scheduled the same way. [`Generator::next_event`] pops the
//! earliest pending event, so output is in non-decreasing `occurred_at` order.
//!
//! Determinism: one seeded ChaCha8 stream drives every choice; the same registry and
//! configuration give the same bytes on every machine.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::encode::{push_base32, push_str_lit, TimeFormat};
use super::encode::{write_event, Line};
use super::plan::{self, Intake, Rates, Step, REPORTED};
use super::profile::{self, AgencyProfile, Procedure};
use super::queue::RadixQueue;
use crate::core::time::{civil_from_days, NANOS_PER_HOUR, NANOS_PER_SEC};
use crate::core::{Period, PeriodKind, Registry, Timestamp, WorkCalendar};

/// How the generated stream looks. Rates are probabilities per dossier.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    pub seed: u64,
    /// The first instant of intake.
    pub start: Timestamp,
    /// No event at or after this instant is produced.
    pub until: Option<Timestamp>,
    /// Intake stops after this many dossiers; their remaining events still come.
    pub max_dossiers: Option<u64>,
    /// Intake of the whole registry on a working day.
    pub dossiers_per_working_day: f64,
    /// Share of dossiers submitted online during counter hours (outside them, all are online).
    pub online_share: f64,
    /// Share of online dossiers that come through the national portal.
    pub national_portal_share: f64,
    pub supplement_rate: f64,
    /// Of dossiers with a supplement, the share that gets a second request (a fault).
    pub second_supplement_rate: f64,
    /// Processed after the due time (scaled per agency: some agencies are chronically late).
    pub late_rate: f64,
    /// Never processed: stays open and goes overdue.
    pub never_processed_rate: f64,
    pub withdraw_rate: f64,
    pub reject_rate: f64,
    /// Dissatisfied ratings among on-time dossiers (five times as many among late ones).
    pub dissatisfied_rate: f64,
    /// Share of `received` events giving `due_at` rather than `time_limit_hours`.
    pub due_at_share: f64,
    /// Emit monthly `indicator_reported` batches for every agency.
    pub reports: bool,
    /// Province code at the head of dossier ids (`H56.31-240801-0001`).
    pub code_prefix: String,
    pub calendar: Arc<WorkCalendar>,
}

impl GeneratorConfig {
    /// The realistic defaults, on the given working calendar (due times from working hours).
    pub fn new(calendar: Arc<WorkCalendar>) -> Self {
        GeneratorConfig {
            seed: 766,
            start: Timestamp::parse_rfc3339("2025-07-01T00:00:00+07:00").expect("valid literal"),
            until: None,
            max_dossiers: None,
            dossiers_per_working_day: 3000.0,
            online_share: 0.5,
            national_portal_share: 0.4,
            supplement_rate: 0.12,
            second_supplement_rate: 0.1,
            late_rate: 0.05,
            never_processed_rate: 0.01,
            withdraw_rate: 0.01,
            reject_rate: 0.01,
            dissatisfied_rate: 0.04,
            due_at_share: 0.5,
            reports: true,
            code_prefix: "H56".into(),
            calendar,
        }
    }
}

fn queue_key(at: Timestamp, seq: u64) -> u128 {
    ((at.as_nanos() as i128 - i64::MIN as i128) as u128) << 64 | seq as u128
}

fn key_time(key: u128) -> Timestamp {
    Timestamp::from_nanos(((key >> 64) as i128 + i64::MIN as i128) as i64)
}

/// What a waiting event is.
#[derive(Clone, Copy)]
struct Payload {
    /// Slot in the dossier slab, or `u32::MAX` for a report.
    slot: u32,
    agency: u32,
    step: Step,
}

struct Slot {
    id: String,
    procedure: u32,
    remaining: u32,
}

/// The event generator. See the module docs.
pub struct Generator {
    registry: Arc<Registry>,
    cfg: GeneratorConfig,
    rates: Rates,
    rng: ChaCha8Rng,
    profiles: Vec<AgencyProfile>,
    cumulative: Vec<f64>,
    catalogues: Vec<Vec<Procedure>>,
    /// Waiting events: key (instant, push order) → payload index.
    heap: RadixQueue,
    payloads: Vec<Payload>,
    free_payloads: Vec<u32>,
    /// Agency ids as JSON string literals.
    agency_lits: Vec<String>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// The next arrival (exact, sub-second) and whether it falls in counter hours.
    next_arrival: Option<(f64, bool)>,
    arrivals: u64,
    /// The next report batch: its first event's instant and the month it reports.
    next_report: Option<(Timestamp, Period)>,
    seq: u64,
    emitted: u64,
    /// Per agency: (local day, dossiers numbered that day).
    daily: Vec<(i64, u32)>,
    plan_buf: Vec<(Timestamp, Step)>,
    id_prefix: String,
    time_format: TimeFormat,
    done: bool,
}

fn whole_second(nanos: f64) -> Timestamp {
    let n = nanos as i64;
    Timestamp::from_nanos(n - n.rem_euclid(NANOS_PER_SEC))
}

fn report_time(month: Period) -> Timestamp {
    // Monthly reports are published on the 3rd of the next month, from 08:00.
    month
        .end()
        .saturating_add(2 * 24 * NANOS_PER_HOUR + 8 * NANOS_PER_HOUR)
}

impl Generator {
    pub fn new(registry: Arc<Registry>, mut config: GeneratorConfig) -> Self {
        // Dossier ids are written unescaped: keep the prefix free of JSON specials.
        config
            .code_prefix
            .retain(|c| c != '"' && c != '\\' && !c.is_control());
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let catalogues = profile::catalogues(&mut rng);
        let profiles = profile::profiles(&registry, &mut rng);
        let mut total = 0.0;
        let cumulative = profiles
            .iter()
            .map(|p| {
                total += p.weight;
                total
            })
            .collect();
        let mut id_prefix = String::from("g");
        push_base32(&mut id_prefix, config.seed);
        id_prefix.push('-');
        let next_report = config.reports.then(|| {
            let first = Period::containing(PeriodKind::Month, config.start)
                .previous()
                .expect("start after year 1");
            (report_time(first).max(config.start), first)
        });
        let rates = Rates {
            national_portal_share: config.national_portal_share.clamp(0.0, 1.0),
            supplement_rate: config.supplement_rate.clamp(0.0, 1.0),
            second_supplement_rate: config.second_supplement_rate.clamp(0.0, 1.0),
            late_rate: config.late_rate.clamp(0.0, 1.0),
            never_processed_rate: config.never_processed_rate.clamp(0.0, 1.0),
            withdraw_rate: config.withdraw_rate.clamp(0.0, 1.0),
            reject_rate: config.reject_rate.clamp(0.0, 1.0),
            dissatisfied_rate: config.dissatisfied_rate.clamp(0.0, 1.0),
            due_at_share: config.due_at_share.clamp(0.0, 1.0),
        };
        let n = registry.len();
        let mut g = Generator {
            registry,
            rates,
            rng,
            profiles,
            cumulative,
            catalogues,
            heap: RadixQueue::new(),
            payloads: Vec::new(),
            free_payloads: Vec::new(),
            agency_lits: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            next_arrival: None,
            arrivals: 0,
            next_report,
            seq: 0,
            emitted: 0,
            daily: vec![(i64::MIN, 0); n],
            plan_buf: Vec::with_capacity(16),
            id_prefix,
            time_format: TimeFormat::default(),
            done: false,
            cfg: config,
        };
        g.agency_lits = g
            .registry
            .defs()
            .iter()
            .map(|a| {
                let mut lit = String::new();
                push_str_lit(&mut lit, &a.id);
                lit
            })
            .collect();
        if g.cfg.dossiers_per_working_day > 0.0 && g.cfg.max_dossiers != Some(0) {
            g.next_arrival = Some(g.draw_arrival(g.cfg.start.as_nanos() as f64));
        }
        g
    }

    /// Dossiers whose intake has been generated so far.
    pub fn dossiers_started(&self) -> u64 {
        self.arrivals
    }

    /// Events returned so far.
    pub fn events_emitted(&self) -> u64 {
        self.emitted
    }

    /// The `occurred_at` of the event [`Generator::next_event`] would return, if any.
    pub fn next_event_time(&self) -> Option<Timestamp> {
        if self.done {
            return None;
        }
        let t = [
            self.heap.peek().map(|(k, _)| key_time(k)),
            self.next_arrival.map(|(t, _)| whole_second(t)),
            self.next_report.map(|(t, _)| t),
        ]
        .into_iter()
        .flatten()
        .min()?;
        match self.cfg.until {
            Some(u) if t >= u => None,
            _ => Some(t),
        }
    }

    /// The next event as one line of JSON (no newline), or `None` when the stream has ended.
    pub fn next_event(&mut self) -> Option<String> {
        let mut out = String::with_capacity(320);
        self.next_event_into(&mut out).then_some(out)
    }

    /// Like [`Generator::next_event`], appending to `out`; `false` when the stream has ended.
    pub fn next_event_into(&mut self, out: &mut String) -> bool {
        loop {
            if self.done {
                return false;
            }
            let heap_at = self.heap.peek().map(|(k, _)| key_time(k));
            let arrival = self.next_arrival.map(|(t, _)| whole_second(t));
            let report = self.next_report.map(|(t, _)| t);
            let first = [heap_at, arrival, report].into_iter().flatten().min();
            let Some(first) = first else {
                self.done = true;
                return false;
            };
            if self.cfg.until.is_some_and(|u| first >= u) {
                self.done = true;
                return false;
            }
            if arrival == Some(first) {
                self.arrive();
                continue;
            }
            if report == Some(first) {
                self.schedule_reports();
                continue;
            }
            let (key, index) = self.heap.pop().expect("peeked");
            let p = self.payloads[index as usize];
            self.free_payloads.push(index);
            self.write(out, key_time(key), &p);
            if p.slot != u32::MAX {
                let s = &mut self.slots[p.slot as usize];
                s.remaining -= 1;
                if s.remaining == 0 {
                    self.free.push(p.slot);
                }
            }
            self.emitted += 1;
            return true;
        }
    }

    /// The next arrival after `from` (nanoseconds), by walking the intake segments.
    fn draw_arrival(&mut self, from: f64) -> (f64, bool) {
        let mut t = from;
        let mut e = -(1.0 - self.rng.random::<f64>()).ln();
        loop {
            let seg = profile::segment(
                Timestamp::from_nanos(t as i64),
                self.cfg.dossiers_per_working_day,
                &self.cfg.calendar,
            );
            let end = seg.end.as_nanos() as f64;
            let span_s = (end - t) / NANOS_PER_SEC as f64;
            if e < span_s * seg.rate {
                return (t + e / seg.rate * NANOS_PER_SEC as f64, seg.working);
            }
            e -= span_s * seg.rate;
            t = end;
        }
    }

    fn arrive(&mut self) {
        let (exact, working) = self.next_arrival.expect("an arrival is due");
        let at = whole_second(exact);
        self.arrivals += 1;
        self.next_arrival = if self.cfg.max_dossiers.is_some_and(|m| self.arrivals >= m) {
            None
        } else {
            Some(self.draw_arrival(exact))
        };
        let total = *self.cumulative.last().expect("registry is not empty");
        let pick = self.rng.random::<f64>() * total;
        let agency = self
            .cumulative
            .partition_point(|&c| c <= pick)
            .min(self.cumulative.len() - 1);
        let prof = &self.profiles[agency];
        let catalogue = &self.catalogues[prof.catalogue];
        let pi = self.rng.random_range(0..catalogue.len());
        let proc_ = &catalogue[pi];
        let online = !working
            || self
                .rng
                .random_bool((self.cfg.online_share * prof.online_factor).clamp(0.0, 1.0));
        let intake = Intake {
            at,
            limit_tenths: proc_.limit_tenths,
            online,
            fee: proc_.fee,
            late_factor: prof.late_factor,
        };
        let mut buf = std::mem::take(&mut self.plan_buf);
        buf.clear();
        plan::plan(
            &self.rates,
            &self.cfg.calendar,
            &mut self.rng,
            &intake,
            &mut buf,
        );

        let (day, _) = at.local_day_and_time();
        let counter = &mut self.daily[agency];
        if counter.0 != day {
            *counter = (day, 0);
        }
        counter.1 += 1;
        let number = counter.1;
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Slot {
                    id: String::new(),
                    procedure: 0,
                    remaining: 0,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[slot as usize];
        s.id.clear();
        let (y, m, d) = civil_from_days(day);
        use std::fmt::Write as _;
        let _ = write!(
            s.id,
            "{}.{:02}-{:02}{:02}{:02}-{:04}",
            self.cfg.code_prefix,
            agency + 1,
            y.rem_euclid(100),
            m,
            d,
            number
        );
        s.procedure = (prof.catalogue as u32) << 16 | pi as u32;
        s.remaining = buf.len() as u32;
        for &(t, step) in &buf {
            self.push(t, slot, agency as u32, step);
        }
        self.plan_buf = buf;
    }

    fn schedule_reports(&mut self) {
        let (at, month) = self.next_report.expect("a report batch is due");
        let n = self.registry.len();
        let mut t = at;
        for agency in 0..n {
            // Communes report less of the catalogue than departments.
            let scale = if self.profiles[agency].catalogue == 0 {
                1.0
            } else {
                0.6
            };
            for (i, &(_, (lo, hi), (rlo, rhi))) in REPORTED.iter().enumerate() {
                let den = ((self.rng.random_range(lo..=hi) as f64) * scale).round() as u32;
                let ratio = self.rng.random_range(rlo..=rhi);
                let num = ((den as f64) * ratio).round() as u32;
                let step = Step::Report {
                    indicator: i as u8,
                    period: month,
                    numerator: num.min(den),
                    denominator: den,
                };
                self.push(t, u32::MAX, agency as u32, step);
            }
            t = t.saturating_add(NANOS_PER_SEC);
        }
        // Reports continue while dossiers do.
        let next = Period::containing(PeriodKind::Month, month.end());
        let live_dossiers = self.slots.len() > self.free.len();
        self.next_report =
            (self.next_arrival.is_some() || live_dossiers).then(|| (report_time(next), next));
    }

    fn push(&mut self, at: Timestamp, slot: u32, agency: u32, step: Step) {
        let payload = Payload { slot, agency, step };
        let index = match self.free_payloads.pop() {
            Some(i) => {
                self.payloads[i as usize] = payload;
                i
            }
            None => {
                self.payloads.push(payload);
                (self.payloads.len() - 1) as u32
            }
        };
        self.seq += 1;
        self.heap.push(queue_key(at, self.seq), index);
    }

    fn write(&mut self, out: &mut String, at: Timestamp, p: &Payload) {
        let dossier = (p.slot != u32::MAX).then(|| {
            let s = &self.slots[p.slot as usize];
            let proc_ =
                &self.catalogues[(s.procedure >> 16) as usize][(s.procedure & 0xffff) as usize];
            (s.id.as_str(), proc_.code.as_str())
        });
        let line = Line {
            id_prefix: &self.id_prefix,
            counter: self.emitted,
            at,
            agency: &self.agency_lits[p.agency as usize],
            dossier,
        };
        write_event(out, &mut self.time_format, &line, &p.step);
    }
}
