//! Where the indicator walk writes: the text exposition format of `/metrics` (the tests add a
//! second sink, the `prometheus` plain model). Values stay exact integers until written.

use crate::core::{AgencyIdx, PeriodKind};

/// A sample value, kept exact so that the text writer formats decimals from integers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    Int(u64),
    /// Hundredths (points).
    Hundredths(i64),
    /// Tenths (score).
    Tenths(i64),
    /// Millionths (ratios, rounded half away from zero; timestamps in microseconds).
    Millionths(i64),
}

impl Num {
    /// The value as the `prometheus` plain model holds it (the tests' second sink).
    #[cfg(test)]
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(v) => v as f64,
            Num::Hundredths(v) => v as f64 / 100.0,
            Num::Tenths(v) => v as f64 / 10.0,
            Num::Millionths(v) => v as f64 / 1e6,
        }
    }

    /// `n / d` in millionths, rounded half away from zero (`d > 0`).
    pub(crate) fn ratio(n: i64, d: u64) -> Num {
        let (n, d) = (n as i128 * 1_000_000, d as i128);
        let q = (2 * n.abs() + d) / (2 * d);
        Num::Millionths((if n < 0 { -q } else { q }) as i64)
    }
}

fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Writes `v / 10^scale` as a decimal, trailing zeros of the fraction trimmed.
fn push_fixed(out: &mut String, v: i64, scale: u32) {
    if v < 0 {
        out.push('-');
    }
    let v = v.unsigned_abs();
    let unit = 10u64.pow(scale);
    push_u64(out, v / unit);
    let mut frac = v % unit;
    if frac != 0 {
        let mut digits = scale;
        while frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        out.push('.');
        let mut buf = [b'0'; 20];
        let mut i = digits as usize;
        while frac != 0 {
            i -= 1;
            buf[i] = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        out.push_str(std::str::from_utf8(&buf[..digits as usize]).expect("ASCII digits"));
    }
}

impl Num {
    #[cfg(test)]
    pub(crate) fn write_for_test(self, out: &mut String) {
        self.write(out)
    }

    fn write(self, out: &mut String) {
        match self {
            Num::Int(v) => push_u64(out, v),
            Num::Hundredths(v) => push_fixed(out, v, 2),
            Num::Tenths(v) => push_fixed(out, v, 1),
            Num::Millionths(v) => push_fixed(out, v, 6),
        }
    }
}

/// Labels beyond the agency and period ones: as pairs, and pre-rendered for the text format
/// (`,indicator="1.1",group="transparency"`).
#[derive(Clone, Copy)]
pub(crate) struct Extra<'a> {
    /// Read by the tests' plain-model sink; the text writer uses `rendered`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub labels: &'a [(&'static str, &'a str)],
    pub rendered: &'a str,
}

pub(crate) const NO_EXTRA: Extra<'static> = Extra {
    labels: &[],
    rendered: "",
};

/// Where the walk writes.
pub(crate) trait Sink {
    fn family(&mut self, name: &'static str, help: &'static str);
    fn sample(
        &mut self,
        agency: Option<AgencyIdx>,
        period: Option<PeriodKind>,
        extra: Extra<'_>,
        value: Num,
    );
}

/// Escapes a label value for the text exposition format.
pub(crate) fn escape_label(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

pub(crate) struct TextSink<'a> {
    prefixes: &'a [(String, [String; 3])],
    out: &'a mut String,
    family: &'static str,
    help: &'static str,
    header_written: bool,
}

impl<'a> TextSink<'a> {
    /// `prefixes`: per agency, its label text alone and followed by each period label.
    pub(crate) fn new(prefixes: &'a [(String, [String; 3])], out: &'a mut String) -> Self {
        TextSink {
            prefixes,
            out,
            family: "",
            help: "",
            header_written: true,
        }
    }
}

impl Sink for TextSink<'_> {
    fn family(&mut self, name: &'static str, help: &'static str) {
        self.family = name;
        self.help = help;
        self.header_written = false;
    }

    fn sample(
        &mut self,
        agency: Option<AgencyIdx>,
        period: Option<PeriodKind>,
        extra: Extra<'_>,
        value: Num,
    ) {
        let out = &mut *self.out;
        if !self.header_written {
            // Empty families are left out, as Registry::gather does.
            out.push_str("# HELP ");
            out.push_str(self.family);
            out.push(' ');
            out.push_str(self.help);
            out.push_str("\n# TYPE ");
            out.push_str(self.family);
            out.push_str(" gauge\n");
            self.header_written = true;
        }
        out.push_str(self.family);
        match (agency, period) {
            (Some(a), Some(k)) => {
                out.push('{');
                out.push_str(&self.prefixes[a.index()].1[k as usize]);
                out.push_str(extra.rendered);
                out.push('}');
            }
            (Some(a), None) => {
                out.push('{');
                out.push_str(&self.prefixes[a.index()].0);
                out.push_str(extra.rendered);
                out.push('}');
            }
            // Extra labels are rendered with a leading comma.
            (None, _) if !extra.rendered.is_empty() => {
                out.push('{');
                out.push_str(&extra.rendered[1..]);
                out.push('}');
            }
            (None, _) => {}
        }
        out.push(' ');
        value.write(out);
        out.push('\n');
    }
}
