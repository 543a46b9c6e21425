//! The one rendering layer: what people read, from typed results — the texts of each language
//! ([`text`]), the one HTML escaper ([`esc`]) and CSV field writer ([`csv_field`]), the web pages
//! ([`pages`]) and the monthly public notice in its four formats ([`notice`]). Pure: no I/O, no clock (the instants it writes are handed in).

pub mod notice;
mod notice_xlsx;
pub mod pages;
pub mod text;

/// A CSV field (RFC 4180): quoted, inner quotes doubled, when it holds a separator, a quote or
/// a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Text for HTML (element content and attribute values).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
