//! Writing generated events as schema-1 JSON lines, fast: no serde, no allocation beyond the
//! output string, local (+07:00) timestamps formatted by hand with a one-day cache.

use super::plan::{
    Step, DIGITIZED, FEE, ONLINE, PAYMENT_METHODS, PORTAL, POSTAL, RATINGS, REJECT_REASONS,
    REPORTED, REUSED, STORAGE,
};
use crate::core::time::{civil_from_days, NANOS_PER_SEC};
use crate::core::Timestamp;

/// Formats instants as `YYYY-MM-DDTHH:MM:SS+07:00` (whole seconds), caching the date part.
#[derive(Default)]
pub(crate) struct TimeFormat {
    day: i64,
    date: [u8; 10],
    valid: bool,
}

fn two(out: &mut String, v: i64) {
    out.push((b'0' + (v / 10) as u8) as char);
    out.push((b'0' + (v % 10) as u8) as char);
}

impl TimeFormat {
    pub(crate) fn push(&mut self, out: &mut String, t: Timestamp) {
        let (day, nanos) = t.local_day_and_time();
        if !self.valid || day != self.day {
            let (y, m, d) = civil_from_days(day);
            let s = format!("{:04}-{:02}-{:02}", y.clamp(1, 9999), m, d);
            self.date.copy_from_slice(s.as_bytes());
            self.day = day;
            self.valid = true;
        }
        // The cached date is ASCII digits and dashes.
        out.push_str(std::str::from_utf8(&self.date).expect("ASCII date"));
        let secs = nanos / NANOS_PER_SEC;
        out.push('T');
        two(out, secs / 3600);
        out.push(':');
        two(out, secs / 60 % 60);
        out.push(':');
        two(out, secs % 60);
        out.push_str("+07:00");
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_str_lit(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// Appends an unsigned integer in decimal.
pub(crate) fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Appends `v` in lowercase base32 (RFC 4648 alphabet, no padding, most significant first).
pub(crate) fn push_base32(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 13];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = BASE32[(v & 31) as usize];
        v >>= 5;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).expect("ASCII base32"));
}

/// What identifies one event line besides its step.
pub(crate) struct Line<'a> {
    pub id_prefix: &'a str,
    pub counter: u64,
    pub at: Timestamp,
    /// The agency id as a JSON string literal.
    pub agency: &'a str,
    /// (dossier id, procedure code); `None` for reports.
    pub dossier: Option<(&'a str, &'a str)>,
}

/// Writes one event as a JSON object (no newline).
///
/// Long because it is the generator's hot path: one match over the event kinds writing bytes,
/// no allocation.
pub(crate) fn write_event(out: &mut String, tf: &mut TimeFormat, line: &Line<'_>, step: &Step) {
    out.push_str("{\"event_id\":\"");
    out.push_str(line.id_prefix);
    push_base32(out, line.counter);
    out.push_str("\",\"type\":\"");
    out.push_str(match *step {
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
    tf.push(out, line.at);
    out.push_str("\",\"agency_id\":");
    out.push_str(line.agency);
    if let Some((id, procedure)) = line.dossier {
        // Dossier ids are built from digits and the prefix, cleaned of JSON specials at start.
        out.push_str(",\"dossier_id\":\"");
        out.push_str(id);
        out.push_str("\",\"procedure_id\":\"");
        out.push_str(procedure);
        out.push('"');
    }
    let flag = |out: &mut String, name: &str, on: bool| {
        if on {
            out.push_str(",\"");
            out.push_str(name);
            out.push_str("\":true");
        }
    };
    match *step {
        Step::Received {
            due_at,
            limit_tenths,
            flags,
        } => {
            match due_at {
                Some(due) => {
                    out.push_str(",\"due_at\":\"");
                    tf.push(out, due);
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
            out.push_str(if flags & ONLINE != 0 {
                "online"
            } else if flags & POSTAL != 0 {
                "postal"
            } else {
                "direct"
            });
            out.push('"');
            flag(out, "via_national_portal", flags & PORTAL != 0);
            flag(out, "fee_required", flags & FEE != 0);
            flag(out, "digitized", flags & DIGITIZED != 0);
            flag(out, "reused_data", flags & REUSED != 0);
            flag(out, "citizen_storage", flags & STORAGE != 0);
        }
        Step::SupplementReceived { due_at: Some(due) } => {
            out.push_str(",\"due_at\":\"");
            tf.push(out, due);
            out.push('"');
        }
        Step::Processed {
            stopped,
            electronic,
        } => {
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
            push_str_lit(out, REJECT_REASONS[reason as usize]);
        }
        Step::Payment { method } => {
            out.push_str(",\"method\":\"");
            out.push_str(PAYMENT_METHODS[method as usize]);
            out.push('"');
        }
        Step::Rated { rating } => {
            out.push_str(",\"rating\":\"");
            out.push_str(RATINGS[rating as usize]);
            out.push('"');
        }
        Step::Apology { new_due_at } => {
            out.push_str(",\"new_due_at\":\"");
            tf.push(out, new_due_at);
            out.push('"');
        }
        Step::Report {
            indicator,
            period,
            numerator,
            denominator,
        } => {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_core() {
        let mut f = TimeFormat::default();
        for s in [
            "2024-08-01T07:30:05+07:00",
            "2024-12-31T23:59:59+07:00",
            "2025-01-01T00:00:00+07:00",
        ] {
            let t = Timestamp::parse_rfc3339(s).unwrap();
            let mut out = String::new();
            f.push(&mut out, t);
            assert_eq!(out, s);
            assert_eq!(out, t.to_local_rfc3339());
        }
        let mut out = String::new();
        push_str_lit(&mut out, "a\"b\\c\n");
        assert_eq!(out, r#""a\"b\\c\u000a""#);
        out.clear();
        push_u64(&mut out, 9_007_199_254_740_992);
        push_base32(&mut out, 0);
        push_base32(&mut out, 33);
        assert_eq!(out, "9007199254740992abb");
    }
}
