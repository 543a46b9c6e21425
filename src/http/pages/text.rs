//! The texts of the pages in Vietnamese and English, and their style sheet.

use std::collections::HashMap;

use crate::http::ApiError;
use crate::read_model::Unavailable;

/// The texts of one language.
pub(in crate::http) struct Lang {
    pub(in crate::http) code: &'static str,
    pub(in crate::http) title: &'static str,
    pub(in crate::http) agency_title: &'static str,
    pub(in crate::http) period: [&'static str; 3],
    pub(in crate::http) all_levels: &'static str,
    pub(in crate::http) rank: &'static str,
    pub(in crate::http) agency: &'static str,
    pub(in crate::http) level: &'static str,
    pub(in crate::http) score: &'static str,
    pub(in crate::http) band: &'static str,
    pub(in crate::http) change: &'static str,
    pub(in crate::http) on_time: &'static str,
    pub(in crate::http) overdue: &'static str,
    pub(in crate::http) national_portal: &'static str,
    pub(in crate::http) due_soon: &'static str,
    pub(in crate::http) no_score: &'static str,
    pub(in crate::http) evaluated: &'static str,
    pub(in crate::http) groups: &'static str,
    pub(in crate::http) indicators: &'static str,
    pub(in crate::http) indicator: &'static str,
    pub(in crate::http) numerator: &'static str,
    pub(in crate::http) denominator: &'static str,
    pub(in crate::http) points: &'static str,
    pub(in crate::http) max: &'static str,
    pub(in crate::http) lost: &'static str,
    pub(in crate::http) children: &'static str,
    pub(in crate::http) projection: &'static str,
    pub(in crate::http) best: &'static str,
    pub(in crate::http) worst: &'static str,
    pub(in crate::http) due_in_period: &'static str,
    pub(in crate::http) late_forever: &'static str,
    pub(in crate::http) trend: &'static str,
    pub(in crate::http) current: &'static str,
    pub(in crate::http) previous: &'static str,
    pub(in crate::http) no_previous: &'static str,
    pub(in crate::http) summary: &'static str,
    pub(in crate::http) scored: &'static str,
    pub(in crate::http) best_five: &'static str,
    pub(in crate::http) worst_five: &'static str,
    pub(in crate::http) other_lang: (&'static str, &'static str),
    pub(in crate::http) bands: [(&'static str, &'static str); 5],
}

pub(in crate::http) const VI: Lang = Lang {
    code: "vi",
    title: "Bảng xếp hạng chỉ số phục vụ người dân, doanh nghiệp",
    agency_title: "Chỉ số phục vụ",
    period: ["Tháng", "Quý", "Năm"],
    all_levels: "Tất cả",
    rank: "Hạng",
    agency: "Cơ quan, đơn vị",
    level: "Cấp",
    score: "Điểm",
    band: "Xếp loại",
    change: "Thay đổi",
    on_time: "Đúng hạn",
    overdue: "Quá hạn đang xử lý",
    national_portal: "từ Cổng DVC quốc gia",
    due_soon: "Sắp đến hạn",
    no_score: "chưa có điểm",
    evaluated: "Tính đến",
    groups: "Nhóm chỉ số",
    indicators: "Chỉ số thành phần",
    indicator: "Chỉ số",
    numerator: "Tử số",
    denominator: "Mẫu số",
    points: "Điểm",
    max: "Tối đa",
    lost: "Điểm bị mất",
    children: "Đơn vị trực thuộc",
    projection: "Dự báo cuối kỳ",
    best: "Tốt nhất (mọi hồ sơ đang xử lý được giải quyết đúng hạn)",
    worst: "Xấu nhất (mọi hồ sơ đến hạn trong kỳ bị quá hạn)",
    due_in_period: "hồ sơ đúng hạn đến hạn trong kỳ",
    late_forever: "Hồ sơ đã quá hạn thì không thể lấy lại điểm: hãy ưu tiên hồ sơ sắp đến hạn.",
    trend: "Diễn biến theo tháng",
    current: "Kỳ hiện tại",
    previous: "Kỳ trước (đã chốt)",
    no_previous: "Không còn lưu kết quả của kỳ trước.",
    summary: "Tổng quan",
    scored: "đơn vị có điểm",
    best_five: "Năm đơn vị điểm cao nhất",
    worst_five: "Năm đơn vị điểm thấp nhất",
    other_lang: ("en", "English"),
    bands: [
        ("excellent", "Xuất sắc"),
        ("good", "Tốt"),
        ("fair", "Khá"),
        ("average", "Trung bình"),
        ("weak", "Yếu"),
    ],
};

pub(in crate::http) const EN: Lang = Lang {
    code: "en",
    title: "Service-quality index ranking",
    agency_title: "Service-quality index",
    period: ["Month", "Quarter", "Year"],
    all_levels: "All",
    rank: "Rank",
    agency: "Agency",
    level: "Level",
    score: "Score",
    band: "Band",
    change: "Change",
    on_time: "On time",
    overdue: "Open overdue",
    national_portal: "from the national portal",
    due_soon: "Due soon",
    no_score: "no score yet",
    evaluated: "As of",
    groups: "Groups",
    indicators: "Indicators",
    indicator: "Indicator",
    numerator: "Numerator",
    denominator: "Denominator",
    points: "Points",
    max: "Max",
    lost: "Points lost",
    children: "Agencies under it",
    projection: "Period-end projection",
    best: "Best case (every open dossier processed on time)",
    worst: "Worst case (every dossier due in the period turns late)",
    due_in_period: "on-time dossiers due in the period",
    late_forever: "A late dossier cannot win its points back: process the ones due soon first.",
    trend: "Month by month",
    current: "Current period",
    previous: "Previous period (final)",
    no_previous: "No results of the previous period are held.",
    summary: "Summary",
    scored: "agencies with a score",
    best_five: "Best five",
    worst_five: "Weakest five",
    other_lang: ("vi", "Tiếng Việt"),
    bands: [
        ("excellent", "Excellent"),
        ("good", "Good"),
        ("fair", "Fair"),
        ("average", "Average"),
        ("weak", "Weak"),
    ],
};

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
