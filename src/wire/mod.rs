//! Every byte format at the edge: input events (JSON, schema 1), results (JSON, schema 1), the
//! own figures of one partition (JSON), the binary batches of accepted events kept in the
//! state topic, the dead-letter headers, and the definition files (registry, scoring model,
//! holidays).

pub mod dead_letter;
pub mod definitions;
pub mod event_encode;
pub mod event_json;
pub mod feed;
pub mod partials;
pub mod result_json;
pub mod state_batch;
