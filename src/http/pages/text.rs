//! The pages' style sheet, live-refresh script and language parameter; their texts are the
//! shared table of [`crate::render::text`].

use std::collections::HashMap;

use crate::http::ApiError;
use crate::read_model::Unavailable;

pub(in crate::http) use crate::render::text::{Lang, EN, VI};

pub(in crate::http) const STYLE: &str =
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
pub(in crate::http) const LIVE_SCRIPT: &str = "(function(){var n=0;\
setInterval(function(){if(document.hidden)return;\
fetch(location.href,{cache:'no-store',credentials:'same-origin'}).then(function(r){\
if(!r.ok)throw r.status;return r.text()}).then(function(t){\
var d=new DOMParser().parseFromString(t,'text/html'),x=scrollX,y=scrollY;\
document.body.replaceWith(document.adoptNode(d.body));scrollTo(x,y);\
document.documentElement.dataset.refreshed=++n;delete document.documentElement.dataset.stale})\
.catch(function(){document.documentElement.dataset.stale='1'})},15000)})();";

pub(in crate::http) fn lang_of(q: &HashMap<String, String>) -> Result<&'static Lang, ApiError> {
    match q.get("lang").map(String::as_str) {
        None | Some("vi") => Ok(&VI),
        Some("en") => Ok(&EN),
        Some(other) => Err(ApiError::bad_request(
            "bad_lang",
            format!("lang must be vi or en, got `{other}`"),
        )),
    }
}

impl Lang {
    /// Why a page (or a part of it) cannot be shown by this instance now, for people.
    pub(in crate::http) fn unavailable(&self, why: Unavailable) -> &'static str {
        let vi = self.code == "vi";
        match why {
            Unavailable::Joining | Unavailable::Restoring if vi => {
                "Dữ liệu đang được khôi phục, vui lòng thử lại sau ít giây."
            }
            Unavailable::Joining | Unavailable::Restoring => {
                "The data is being restored; please retry in a few seconds."
            }
            Unavailable::KafkaUnreachable if vi => {
                "Mất kết nối tới Kafka: số liệu có thể chưa cập nhật, vui lòng thử lại sau."
            }
            Unavailable::KafkaUnreachable => {
                "Kafka is unreachable: the figures may be out of date; please retry later."
            }
            Unavailable::ShuttingDown if vi => "Máy chủ đang dừng, vui lòng thử lại sau.",
            Unavailable::ShuttingDown => "This server is shutting down; please retry later.",
            Unavailable::ResultsElsewhere if vi => {
                "Kết quả do một máy chủ khác trong cụm cung cấp, không phải máy chủ này."
            }
            Unavailable::ResultsElsewhere => {
                "The results are served by another server of the group, not by this one."
            }
            Unavailable::ListsIncomplete { .. } if vi => {
                "Máy chủ này chỉ giữ một phần hồ sơ đang xử lý nên không thể lập danh sách \
                 hay dự báo đầy đủ."
            }
            Unavailable::ListsIncomplete { .. } => {
                "This server holds only part of the open dossiers, so it cannot give complete \
                 lists or projections."
            }
        }
    }
}
