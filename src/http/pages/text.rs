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
        let t = &self.unavailable;
        match why {
            Unavailable::Joining | Unavailable::Restoring => t.restoring,
            Unavailable::KafkaUnreachable => t.kafka_unreachable,
            Unavailable::ShuttingDown => t.shutting_down,
            Unavailable::ResultsElsewhere => t.results_elsewhere,
            Unavailable::ListsIncomplete { .. } => t.lists_incomplete,
        }
    }
}
