//! Writing generated events as schema-1 JSON lines, fast: no serde, no allocation beyond the
//! output string, local (+07:00) timestamps formatted by hand with a one-day cache.

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
pub(crate) fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).expect("ASCII digits"));
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
