//! Wire formats at the edge: input events (schema 1) and results (schema 1), both JSON.

pub mod event_bin;
pub mod event_json;
pub mod result_json;
