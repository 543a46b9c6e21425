//! The sample province (`config/agencies/tuyen-quang.toml`, `config/samples/…-events.jsonl`)
//! as the HTTP server sees it at a fixed instant: every test that reads pages or API bodies of
//! a realistic province starts from here.

use std::sync::Arc;

use chiso::core::{Engine, EngineSettings, PeriodPolicy, Timestamp};
use chiso::http::AppState;
use chiso::metrics::Metrics;
use chiso::read_model::ReadModel;
use chiso::wire::event_json::decode;

/// The server's state with the sample's events applied and evaluated at `at`, ready, no token;
/// the period before the current one is kept, as `chiso run` keeps it by default.
pub fn sample_province(at: &str) -> AppState {
    let root = env!("CARGO_MANIFEST_DIR");
    let registry = Arc::new(
        chiso::app::files::load_registry(std::path::Path::new(&format!(
            "{root}/config/agencies/tuyen-quang.toml"
        )))
        .unwrap(),
    );
    let model = Arc::new(chiso::app::files::load_scoring(None).unwrap());
    let mut engine = Engine::new(
        registry.clone(),
        model.clone(),
        Arc::new(chiso::app::files::load_holidays(None).unwrap()),
        EngineSettings {
            periods: PeriodPolicy::Rolling {
                finals_kept: [1, 1, 1],
            },
            ..EngineSettings::default()
        },
        Timestamp::parse_rfc3339(at).unwrap(),
    );
    let events =
        std::fs::read_to_string(format!("{root}/config/samples/tuyen-quang-events.jsonl")).unwrap();
    for line in events.lines() {
        if let Ok(e) = decode(line.as_bytes(), &registry, 1 << 16) {
            engine.ingest(&e);
        }
    }
    let live = ReadModel::new(registry, model);
    chiso::read_model::publish_engine(&live, 0, &mut engine);
    live.set_ready(true);
    let metrics = Arc::new(Metrics::new(live.clone()).unwrap());
    AppState::new(live, metrics.scrape(), None)
}
