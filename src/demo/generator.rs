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

use std::io::{self, Write};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::encode::{push_base32, push_str_lit, push_u64, TimeFormat};
use super::plan::{self, Intake, Rates, Step};
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

impl Default for GeneratorConfig {
    fn default() -> Self {
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
            calendar: Arc::new(
                crate::config::load_holidays(None).expect("built-in holidays are valid"),
            ),
        }
    }
}

/// The reported indicators of the default model and typical (denominator, ratio) ranges.
const REPORTED: [(&str, (u32, u32), (f64, f64)); 10] = [
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
    month.end().saturating_add(2 * 24 * NANOS_PER_HOUR + 8 * NANOS_PER_HOUR)
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
        plan::plan(&self.rates, &self.cfg.calendar, &mut self.rng, &intake, &mut buf);

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
            let scale = if self.profiles[agency].catalogue == 0 { 1.0 } else { 0.6 };
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
        out.push_str("{\"event_id\":\"");
        out.push_str(&self.id_prefix);
        push_base32(out, self.emitted);
        out.push_str("\",\"type\":\"");
        out.push_str(match p.step {
            Step::Received { .. } => "received",
            Step::SupplementRequested => "supplement_requested",
            Step::SupplementReceived { .. } => "supplement_received",
            Step::Processed { .. } => "processed",
            Step::Returned => "returned",
            Step::Withdrawn => "withdrawn",
            Step::Overdue => "overdue",
            Step::Rejected { .. } => "rejected",
            Step::Payment { .. } => "payment",
            Step::Rated { .. } => "rated",
            Step::Synced => "synced",
            Step::Apology { .. } => "apology",
            Step::Report { .. } => "indicator_reported",
        });
        out.push_str("\",\"occurred_at\":\"");
        self.time_format.push(out, at);
        out.push_str("\",\"agency_id\":");
        out.push_str(&self.agency_lits[p.agency as usize]);
        if p.slot != u32::MAX {
            let s = &self.slots[p.slot as usize];
            // Dossier ids are built from digits and the prefix, escaped once at start.
            out.push_str(",\"dossier_id\":\"");
            out.push_str(&s.id);
            out.push('"');
            let proc_ = &self.catalogues[(s.procedure >> 16) as usize][(s.procedure & 0xffff) as usize];
            out.push_str(",\"procedure_id\":\"");
            out.push_str(&proc_.code);
            out.push('"');
        }
        let flag = |out: &mut String, name: &str, on: bool| {
            if on {
                out.push_str(",\"");
                out.push_str(name);
                out.push_str("\":true");
            }
        };
        match p.step {
            Step::Received { due_at, limit_tenths, flags } => {
                match due_at {
                    Some(due) => {
                        out.push_str(",\"due_at\":\"");
                        self.time_format.push(out, due);
                        out.push('"');
                    }
                    None => {
                        out.push_str(",\"time_limit_hours\":");
                        push_u64(out, (limit_tenths / 10) as u64);
                        if limit_tenths % 10 != 0 {
                            out.push('.');
                            push_u64(out, (limit_tenths % 10) as u64);
                        }
                    }
                }
                out.push_str(",\"channel\":\"");
                out.push_str(if flags & plan::ONLINE != 0 {
                    "online"
                } else if flags & plan::POSTAL != 0 {
                    "postal"
                } else {
                    "direct"
                });
                out.push('"');
                flag(out, "via_national_portal", flags & plan::PORTAL != 0);
                flag(out, "fee_required", flags & plan::FEE != 0);
                flag(out, "digitized", flags & plan::DIGITIZED != 0);
                flag(out, "reused_data", flags & plan::REUSED != 0);
                flag(out, "citizen_storage", flags & plan::STORAGE != 0);
            }
            Step::SupplementReceived { due_at: Some(due) } => {
                out.push_str(",\"due_at\":\"");
                self.time_format.push(out, due);
                out.push('"');
            }
            Step::Processed { stopped, electronic } => {
                out.push_str(if stopped {
                    ",\"outcome\":\"stopped\""
                } else {
                    ",\"outcome\":\"completed\""
                });
                out.push_str(if electronic {
                    ",\"electronic_result\":true"
                } else {
                    ",\"electronic_result\":false"
                });
            }
            Step::Rejected { reason } => {
                out.push_str(",\"reason\":");
                push_str_lit(out, plan::REJECT_REASONS[reason as usize]);
            }
            Step::Payment { method } => {
                out.push_str(",\"method\":\"");
                out.push_str(plan::PAYMENT_METHODS[method as usize]);
                out.push('"');
            }
            Step::Rated { rating } => {
                out.push_str(",\"rating\":\"");
                out.push_str(plan::RATINGS[rating as usize]);
                out.push('"');
            }
            Step::Apology { new_due_at } => {
                out.push_str(",\"new_due_at\":\"");
                self.time_format.push(out, new_due_at);
                out.push('"');
            }
            Step::Report { indicator, period, numerator, denominator } => {
                out.push_str(",\"indicator\":\"");
                out.push_str(REPORTED[indicator as usize].0);
                out.push_str("\",\"period\":\"");
                out.push_str(&period.label());
                out.push_str("\",\"numerator\":");
                push_u64(out, numerator as u64);
                out.push_str(",\"denominator\":");
                push_u64(out, denominator as u64);
            }
            _ => {}
        }
        out.push('}');
    }
}

/// The configuration of the checked-in sample `config/samples/tuyen-quang-events.jsonl`:
/// the third quarter of 2025 in the sample province, about 20,000 events.
pub fn sample_config() -> GeneratorConfig {
    GeneratorConfig {
        seed: 20250701,
        start: Timestamp::parse_rfc3339("2025-07-01T00:00:00+07:00").expect("valid literal"),
        until: Some(Timestamp::parse_rfc3339("2025-10-01T00:00:00+07:00").expect("valid literal")),
        dossiers_per_working_day: 45.0,
        ..GeneratorConfig::default()
    }
}

/// Writes every event of a generator, one JSON line each; returns how many.
pub fn write_events(generator: &mut Generator, out: &mut impl Write) -> io::Result<u64> {
    let mut line = String::with_capacity(512);
    let mut n = 0;
    loop {
        line.clear();
        if !generator.next_event_into(&mut line) {
            return Ok(n);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        n += 1;
    }
}

/// Writes the sample file for a registry (see [`sample_config`]).
pub fn sample_file(registry: Arc<Registry>, out: &mut impl Write) -> io::Result<u64> {
    write_events(&mut Generator::new(registry, sample_config()), out)
}
