//! The web pages for people, as HTML: the ranking, one agency's page and the operator's
//! worklist, from typed results the HTTP adapter fetched. Server-rendered with the styles inline
//! (nothing to build, nothing to load), working without JavaScript and refreshing themselves
//! live: every 15 s a little script fetches the page again and swaps the body in place (keeping
//! the scroll position; paused while the tab is hidden), and without JavaScript a page reloads
//! itself every 30 s.

use std::fmt::Write;

use super::esc;
use super::text::Lang;
use crate::core::{AgencyResult, Count, PeriodKind, ScoringModel};

pub mod agency;
pub mod ranking;
pub mod worklist;

pub const STYLE: &str =
    "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}\
header,main{max-width:1200px;margin:0 auto;padding:0 12px}\
header{padding-top:12px}h1{font-size:1.4rem;margin:.4rem 0}h2{font-size:1.1rem;margin-top:1.4rem}\
nav a{margin-right:.8rem}nav{margin:.3rem 0;font-size:.95rem}a{color:#0b5cad}\
.cur{font-weight:bold;text-decoration:none;color:#1b1b1b}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}\
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:right;white-space:nowrap}\
th{background:#eef2f6;position:sticky;top:0}td.l,th.l{text-align:left;white-space:normal;min-width:11rem}\
.band{display:inline-block;padding:.1rem .45rem;border-radius:.6rem;color:#fff;font-size:.8rem}\
.excellent{background:#1a7f37}.good{background:#2a8c8c}.fair{background:#9a7b00}\
.average{background:#c45d00}.weak{background:#b3261e}.none{background:#888}\
.big{font-size:2rem;font-weight:bold}.note{color:#555;font-size:.85rem}\
.up{color:#1a7f37}.down{color:#b3261e}.summary{display:flex;flex-wrap:wrap;gap:.5rem 2rem;margin:.6rem 0}.summary ol{margin:.2rem 0;padding-left:1.4rem}.summary h2{font-size:1rem;margin:.2rem 0}.bands span{margin-right:.4rem}";

/// The live refresh: fetch the same address every 15 s and swap the body in place, keeping the
/// scroll position; skipped while the tab is hidden; on a failed fetch the page stays as it was
/// and says so in `data-stale`. `data-refreshed` counts the swaps (the browser test reads it).
pub const LIVE_SCRIPT: &str = "(function(){var n=0;\
setInterval(function(){if(document.hidden)return;\
fetch(location.href,{cache:'no-store',credentials:'same-origin'}).then(function(r){\
if(!r.ok)throw r.status;return r.text()}).then(function(t){\
var d=new DOMParser().parseFromString(t,'text/html'),x=scrollX,y=scrollY;\
document.body.replaceWith(document.adoptNode(d.body));scrollTo(x,y);\
document.documentElement.dataset.refreshed=++n;delete document.documentElement.dataset.stale})\
.catch(function(){document.documentElement.dataset.stale='1'})},15000)})();";

/// A query value for a link (agency ids are plain, but say so once).
pub fn url(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub fn page(lang: &Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <noscript><meta http-equiv=\"refresh\" content=\"30\"></noscript><title>{title}</title>\
         <style>{STYLE}</style></head><body>{body}<script>{LIVE_SCRIPT}</script></body></html>",
        code = lang.code,
        title = esc(title),
    )
}

fn hundredths(h: i64) -> String {
    format!("{:.2}", h as f64 / 100.0)
}

fn score_text(r: &AgencyResult, lang: &Lang) -> String {
    r.card.score_tenths.map_or_else(
        || lang.no_score.to_owned(),
        |t| format!("{:.1}", t as f64 / 10.0),
    )
}

fn band_badge(r: &AgencyResult, model: &ScoringModel, lang: &Lang) -> String {
    match r.card.band.map(|b| model.bands[b].id.as_str()) {
        Some(id) => band_span(id, lang),
        None => format!("<span class=\"band none\">{}</span>", lang.no_score),
    }
}

/// A band's badge: its colour by id, its name in the page's language (the id if unnamed).
fn band_span(id: &str, lang: &Lang) -> String {
    let text = lang.band_name(id);
    format!("<span class=\"band {}\">{}</span>", esc(id), esc(text))
}

fn on_time_ratio(r: &AgencyResult) -> String {
    let (n, d) = (r.counts[Count::OnTime], r.counts[Count::InScope]);
    if d == 0 {
        "–".to_owned()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / d as f64)
    }
}

fn nav(lang: &Lang, base: &str, kind: PeriodKind, extra: &str) -> String {
    let mut s = String::from("<nav>");
    for (k, name) in PeriodKind::ALL.iter().zip(lang.period) {
        if *k == kind {
            let _ = write!(s, "<a class=\"cur\" aria-current=\"page\">{name}</a>");
        } else {
            let _ = write!(
                s,
                "<a href=\"{base}?period={}&amp;lang={}{extra}\">{name}</a>",
                k.as_str(),
                lang.code
            );
        }
    }
    let _ = write!(
        s,
        " | <a href=\"{base}?period={}&amp;lang={lang}{extra}\" hreflang=\"{lang}\">{}</a></nav>",
        kind.as_str(),
        lang.other_lang.1,
        lang = lang.other_lang.0,
    );
    s
}
