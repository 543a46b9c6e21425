//! The pages, the worklist and the API bodies of the sample province, byte for byte, against
//! the files in `tests/golden/pages/`, and its monthly notice against `tests/golden/notice/`: a
//! restructure of the rendering must not change what people and clients get. Where a change is a fix, regenerate the files with
//! `CHISO_BLESS=1 cargo test --profile ci --test pages_golden` and say which fix in the commit.

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

/// The notice's line saying when it was made, which is the one thing that changes run to run.
fn without_generation_time(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = ["Lập lúc ", "Generated "]
        .iter()
        .filter_map(|m| rest.find(m).map(|i| (i, m.len())))
        .min()
        .map(|(i, len)| i + len)
    {
        out.push_str(&rest[..i]);
        // The instant: `dd/mm/yyyy hh:mm:ss` or `yyyy-mm-dd hh:mm:ss`, 19 characters.
        rest = rest.get(i + 19..).unwrap_or("");
        out.push('…');
    }
    out.push_str(rest);
    out
}

/// The monthly notice of the sample province (August 2025, known at the end of September) in
/// HTML, CSV and Markdown and both languages, against `tests/golden/notice/`, its generation
/// time left out.
#[test]
fn the_notice_is_unchanged() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/golden/notice");
    let bless = std::env::var_os("CHISO_BLESS").is_some();
    let out = tempfile::tempdir().unwrap();
    let mut changed = Vec::new();
    for lang in ["vi", "en"] {
        for format in ["html", "csv", "md"] {
            let done = std::process::Command::new(env!("CARGO_BIN_EXE_chiso"))
                .current_dir(root)
                .args([
                    "report", "--period", "2025-08", "--format", format, "--lang", lang,
                ])
                .args(["--events", "config/samples/tuyen-quang-events.jsonl"])
                .args(["--agencies", "config/agencies/tuyen-quang.toml"])
                .args(["--at", "2025-09-30T17:00:00+07:00", "--out"])
                .arg(out.path())
                .output()
                .unwrap();
            assert!(
                done.status.success(),
                "{}",
                String::from_utf8_lossy(&done.stderr)
            );
            let made = out.path().join(format!("report-2025-08.{format}"));
            let text = without_generation_time(&std::fs::read_to_string(&made).unwrap());
            let path = dir.join(format!("report-2025-08-{lang}.{format}"));
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                changed.push(format!("{lang} {format}: differs from {}", path.display()));
            }
        }
    }
    assert!(changed.is_empty(), "{}", changed.join("\n"));
}
