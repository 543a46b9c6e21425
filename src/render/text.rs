//! The texts a person reads, in Vietnamese and English: one table per language, used by the
//! web pages and the monthly notice alike, and the one way instants are written for people
//! (local time, +07:00). Ids (band, group, level ids) never reach a reader through here: each
//! has its name in the table or in the scoring model, and an unknown id is shown as it is.

use crate::core::scoring::{GroupDef, IndicatorDef};
use crate::core::time::{civil_from_days, NANOS_PER_SEC};
use crate::core::{LateRule, Timestamp};

/// The texts of one language.
pub struct Lang {
    pub code: &'static str,
    pub title: &'static str,
    pub agency_title: &'static str,
    pub period: [&'static str; 3],
    pub all_levels: &'static str,
    pub rank: &'static str,
    pub agency: &'static str,
    pub level: &'static str,
    pub score: &'static str,
    pub band: &'static str,
    pub change: &'static str,
    pub on_time: &'static str,
    pub overdue: &'static str,
    pub national_portal: &'static str,
    pub due_soon: &'static str,
    pub no_score: &'static str,
    pub evaluated: &'static str,
    pub groups: &'static str,
    pub indicators: &'static str,
    pub indicator: &'static str,
    pub numerator: &'static str,
    pub denominator: &'static str,
    pub points: &'static str,
    pub max: &'static str,
    pub lost: &'static str,
    pub children: &'static str,
    pub projection: &'static str,
    pub best: &'static str,
    pub worst: &'static str,
    pub due_in_period: &'static str,
    pub late_forever: &'static str,
    pub trend: &'static str,
    pub current: &'static str,
    pub previous: &'static str,
    pub no_previous: &'static str,
    pub summary: &'static str,
    pub scored: &'static str,
    pub best_five: &'static str,
    pub worst_five: &'static str,
    pub other_lang: (&'static str, &'static str),
    pub bands: [(&'static str, &'static str); 5],
    /// The conventional agency levels of the registry, by id.
    pub levels: [(&'static str, &'static str); 4],
    pub notice_title: &'static str,
    pub agency_id: &'static str,
    pub evaluated_at: &'static str,
    pub generated: &'static str,
    pub final_figures: &'static str,
    pub provisional: &'static str,
    pub mixed_final: &'static str,
    pub of_them_portal: &'static str,
    pub portal_overdue_agencies: &'static str,
    /// Why a dossier is late, by on-time rule (see [`LateRule`]).
    pub late_reasons: [&'static str; 5],
    pub worklist: &'static str,
    /// The agency page's link to the worklist.
    pub worklist_link: &'static str,
    pub worklist_due_heading: &'static str,
    pub worklist_overdue_heading: &'static str,
    /// The first columns of both lists: dossier, agency, procedure, received, due.
    pub worklist_item_columns: [&'static str; 5],
    pub worklist_points_column: &'static str,
    /// The overdue list's own columns: late since, reason, days.
    pub worklist_overdue_columns: [&'static str; 3],
    pub worklist_portal_column: &'static str,
    /// Why a page (or a part of it) cannot be shown by this instance now.
    pub unavailable: Unavailability,
}

/// Why a server cannot answer now, for people (the read model's reasons, in words).
pub struct Unavailability {
    pub restoring: &'static str,
    pub kafka_unreachable: &'static str,
    pub shutting_down: &'static str,
    pub results_elsewhere: &'static str,
    pub lists_incomplete: &'static str,
}

pub const VI: Lang = Lang {
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
    levels: [
        ("province", "Cấp tỉnh"),
        ("department", "Cấp sở, ban, ngành"),
        ("district", "Cấp huyện"),
        ("commune", "Cấp xã"),
    ],
    notice_title: "Kết quả chỉ số phục vụ người dân, doanh nghiệp",
    agency_id: "Mã đơn vị",
    evaluated_at: "Đánh giá tại",
    generated: "Lập lúc",
    final_figures: "số liệu chính thức (kỳ đã kết thúc)",
    provisional: "số liệu tạm tính (kỳ chưa kết thúc)",
    mixed_final: "số liệu tạm tính (có đơn vị chưa chốt kỳ)",
    of_them_portal: "Trong đó từ Cổng DVC QG",
    portal_overdue_agencies: "Đơn vị còn hồ sơ từ Cổng DVC quốc gia quá hạn đang xử lý",
    late_reasons: [
        "yêu cầu bổ sung lần 2",
        "hệ thống báo quá hạn",
        "kết thúc sau hạn",
        "chờ bổ sung sau hạn",
        "quá hạn xử lý",
    ],
    worklist: "Danh sách hồ sơ cần xử lý",
    worklist_link: "Danh sách hồ sơ cần xử lý (dành cho cán bộ, cần mã truy cập)",
    worklist_due_heading:
        "Đúng hạn, đến hạn trong tháng: ưu tiên theo điểm có thể mất, rồi hạn trả sớm nhất",
    worklist_overdue_heading: "Quá hạn đang xử lý: hồ sơ từ Cổng DVC quốc gia trước",
    worklist_item_columns: ["Mã hồ sơ", "Cơ quan", "Thủ tục", "Tiếp nhận", "Hẹn trả"],
    worklist_points_column: "Điểm có thể mất (chưa làm tròn)",
    worklist_overdue_columns: ["Quá hạn từ", "Lý do", "Số ngày"],
    worklist_portal_column: "Cổng DVC QG",
    unavailable: Unavailability {
        restoring: "Dữ liệu đang được khôi phục, vui lòng thử lại sau ít giây.",
        kafka_unreachable:
            "Mất kết nối tới Kafka: số liệu có thể chưa cập nhật, vui lòng thử lại sau.",
        shutting_down: "Máy chủ đang dừng, vui lòng thử lại sau.",
        results_elsewhere:
            "Kết quả do một máy chủ khác trong cụm cung cấp, không phải máy chủ này.",
        lists_incomplete: "Máy chủ này chỉ giữ một phần hồ sơ đang xử lý nên không thể lập danh \
                           sách hay dự báo đầy đủ.",
    },
};

pub const EN: Lang = Lang {
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
    levels: [
        ("province", "Province"),
        ("department", "Departments"),
        ("district", "Districts"),
        ("commune", "Communes"),
    ],
    notice_title: "Service-quality index",
    agency_id: "Agency id",
    evaluated_at: "Evaluated at",
    generated: "Generated",
    final_figures: "final figures (the period has ended)",
    provisional: "provisional figures (the period has not ended)",
    mixed_final: "provisional figures (not every agency's period is final)",
    of_them_portal: "Of them, national portal",
    portal_overdue_agencies: "Agencies with open overdue national-portal dossiers",
    late_reasons: [
        "second request for papers",
        "declared overdue",
        "ended after due",
        "paused after due",
        "past due",
    ],
    worklist: "Worklist",
    worklist_link: "Worklist (for operators, needs the access token)",
    worklist_due_heading:
        "On time, due this month: most points at stake first, then the soonest due",
    worklist_overdue_heading: "Overdue, still open: national-portal dossiers first",
    worklist_item_columns: ["Dossier", "Agency", "Procedure", "Received", "Due"],
    worklist_points_column: "Points at stake (unrounded)",
    worklist_overdue_columns: ["Late since", "Reason", "Days"],
    worklist_portal_column: "National portal",
    unavailable: Unavailability {
        restoring: "The data is being restored; please retry in a few seconds.",
        kafka_unreachable:
            "Kafka is unreachable: the figures may be out of date; please retry later.",
        shutting_down: "This server is shutting down; please retry later.",
        results_elsewhere:
            "The results are served by another server of the group, not by this one.",
        lists_incomplete: "This server holds only part of the open dossiers, so it cannot give \
                           complete lists or projections.",
    },
};

impl Lang {
    /// The table of `code` (`vi` or `en`); Vietnamese for anything else.
    pub fn of(code: &str) -> &'static Lang {
        if code == "en" {
            &EN
        } else {
            &VI
        }
    }

    /// Why a dossier is late, for people.
    pub fn late_reason(&self, rule: LateRule) -> &'static str {
        self.late_reasons[rule.number() as usize - 1]
    }

    /// A band's name (the id if the table does not know it).
    pub fn band_name<'a>(&self, id: &'a str) -> &'a str {
        name_in(&self.bands, id)
    }

    /// A level's name (the registry's text as it is if it is not a conventional level).
    pub fn level_name<'a>(&self, id: &'a str) -> &'a str {
        name_in(&self.levels, id)
    }

    /// A group's name from the scoring model, in this language.
    pub fn group_name<'a>(&self, g: &'a GroupDef) -> &'a str {
        if self.code == "en" {
            &g.name_en
        } else {
            &g.name_vi
        }
    }

    /// An indicator's name from the scoring model, in this language.
    pub fn indicator_name<'a>(&self, i: &'a IndicatorDef) -> &'a str {
        if self.code == "en" {
            &i.name_en
        } else {
            &i.name_vi
        }
    }

    /// An instant for people, to the second, in Vietnam time: `30/09/2025 23:33:16 (giờ Việt
    /// Nam)`, `2025-09-30 23:33:16 +07:00`.
    pub fn instant(&self, t: Timestamp) -> String {
        let (day, nanos) = t.local_day_and_time();
        let (y, m, d) = civil_from_days(day);
        let s = nanos / NANOS_PER_SEC;
        let (hh, mm, ss) = (s / 3600, s / 60 % 60, s % 60);
        if self.code == "en" {
            format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} +07:00")
        } else {
            format!("{d:02}/{m:02}/{y:04} {hh:02}:{mm:02}:{ss:02} (giờ Việt Nam)")
        }
    }
}

fn name_in<'a>(table: &[(&'static str, &'static str)], id: &'a str) -> &'a str {
    table
        .iter()
        .find(|(k, _)| *k == id)
        .map_or(id, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_in_vietnam_time() {
        let t = Timestamp::parse_rfc3339("2025-09-30T16:33:16.9Z").unwrap();
        assert_eq!(VI.instant(t), "30/09/2025 23:33:16 (giờ Việt Nam)");
        assert_eq!(EN.instant(t), "2025-09-30 23:33:16 +07:00");
        assert_eq!(VI.band_name("good"), "Tốt");
        assert_eq!(VI.level_name("commune"), "Cấp xã");
        assert_eq!(VI.level_name("ward"), "ward");
    }
}
