//! The pages, the worklist and the API bodies of the sample province, byte for byte, against
//! the files in `tests/golden/pages/`: a restructure of the rendering must not change what
//! people and clients get. Where a change is a fix, regenerate the files with
//! `CHISO_BLESS=1 cargo test --test pages_golden` and say which fix in the commit.

mod support_sample;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use chiso::http::router;
use support_sample::sample_province;

/// (file name, address) of every answer kept.
const ANSWERS: [(&str, &str); 23] = [
    ("ranking.html", "/"),
    ("ranking-en.html", "/?lang=en"),
    ("ranking-quarter.html", "/?period=quarter"),
    (
        "ranking-year-overdue.html",
        "/?period=year&sort=overdue&lang=en",
    ),
    ("ranking-commune.html", "/?level=commune"),
    ("ranking-name.html", "/?sort=name&level=department"),
    ("ranking-on-time-en.html", "/?sort=on_time&lang=en"),
    ("ranking-previous.html", "/?view=previous"),
    (
        "ranking-previous-en.html",
        "/?view=previous&lang=en&level=commune",
    ),
    ("agency-province.html", "/agency/TQ"),
    ("agency-province-en.html", "/agency/TQ?lang=en"),
    (
        "agency-department-quarter.html",
        "/agency/TQ.SNV?period=quarter",
    ),
    ("agency-commune-en.html", "/agency/TQ.X.MINHXUAN?lang=en"),
    ("worklist-province.html", "/agency/TQ/worklist"),
    ("worklist-province-en.html", "/agency/TQ/worklist?lang=en"),
    ("worklist-province.csv", "/agency/TQ/worklist?format=csv"),
    ("worklist-commune.html", "/agency/TQ.X.MINHXUAN/worklist"),
    ("api-results.json", "/api/v1/results"),
    ("api-agency.json", "/api/v1/agencies/TQ.SNV"),
    ("api-overdue.json", "/api/v1/agencies/TQ/overdue?limit=20"),
    ("api-due-soon.json", "/api/v1/agencies/TQ/due-soon?limit=20"),
    ("api-at-stake.json", "/api/v1/agencies/TQ/at-stake?limit=20"),
    ("page-bad-level.json", "/?level=nowhere"),
];

#[tokio::test]
async fn pages_and_api_bodies_are_unchanged() {
    let state = sample_province("2025-09-15T10:00:00+07:00");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/pages");
    let bless = std::env::var_os("CHISO_BLESS").is_some();
    let mut changed = Vec::new();
    for (name, uri) in ANSWERS {
        let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
        let resp = router(state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        assert!(
            status == StatusCode::OK || name.starts_with("page-bad"),
            "{uri}: {status}"
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &body).unwrap();
            continue;
        }
        let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if want != body {
            let at = want
                .iter()
                .zip(body.iter())
                .position(|(a, b)| a != b)
                .unwrap_or(want.len().min(body.len()));
            let around = |b: &[u8]| {
                String::from_utf8_lossy(&b[at.saturating_sub(80)..(at + 80).min(b.len())])
                    .into_owned()
            };
            changed.push(format!(
                "{uri} ({name}) differs at byte {at}:\n  kept: {}\n  now:  {}",
                around(&want),
                around(&body)
            ));
        }
    }
    assert!(changed.is_empty(), "{}", changed.join("\n"));
}
