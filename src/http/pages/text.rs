//! The pages' language parameter, and why a page cannot be shown now in people's words; every
//! other text is in the shared table of [`crate::render::text`].

use std::collections::HashMap;

use crate::http::ApiError;
use crate::read_model::Unavailable;

pub(in crate::http) use crate::render::text::{Lang, EN, VI};

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
