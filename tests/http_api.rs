//! The HTTP API through the router (no socket): shapes, sorting, pagination, auth and errors.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use chiso::core::{AgencyDef, Engine, EngineSettings, Registry, Timestamp};
use chiso::http::{router, AppState};
use chiso::metrics::Metrics;
use chiso::read_model::{snapshot_of, OpenItem, ReadModel, Snapshot};
use chiso::wire::event_json::decode;

mod support_sample;

use support_sample::sample_province;

const TOKEN: &str = "s3cret-token";

fn ts(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn registry() -> Arc<Registry> {
    let def = |id: &str, level: &str, parent: Option<&str>| AgencyDef {
        id: id.into(),
        name: format!("Cơ quan {id}"),
        level: level.into(),
        parent: parent.map(Into::into),
    };
    Arc::new(
        Registry::new(vec![
            def("P", "province", None),
            def("A", "department", Some("P")),
            def("A1", "unit", Some("A")),
            def("B", "commune", Some("P")),
        ])
        .unwrap(),
    )
}

const NOW: &str = "2024-08-13T17:00:00+07:00";

/// A live state built from a real engine (results), with hand-made operator lists.
fn live(ready: bool) -> ReadModel {
    let registry = registry();
    let model = Arc::new(chiso::app::files::load_scoring(None).unwrap());
    let mut engine = Engine::new(
        registry.clone(),
        model.clone(),
        Arc::new(chiso::app::files::load_holidays(None).unwrap()),
        EngineSettings::default(),
        ts(NOW),
    );
    let events = [
        r#"{"event_id":"e1","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"A","dossier_id":"d1","due_at":"2024-08-08T12:00:00+07:00","channel":"online"}"#,
        r#"{"event_id":"e2","type":"processed","occurred_at":"2024-08-07T08:00:00+07:00","agency_id":"A","dossier_id":"d1","electronic_result":true}"#,
        r#"{"event_id":"e3","type":"received","occurred_at":"2024-08-02T08:00:00+07:00","agency_id":"B","dossier_id":"d4","due_at":"2024-08-12T17:00:00+07:00"}"#,
    ];
    for e in events {
        engine.ingest(&decode(e.as_bytes(), &registry, 1 << 16).unwrap());
    }
    let snap: Snapshot = snapshot_of(&engine);
    let item = |id: &str, agency: &str, due: &str, late: bool, due_soon: bool| OpenItem {
        dossier_id: id.into(),
        agency: registry.lookup(agency).unwrap(),
        procedure: Some("1.000001".into()),
        received_at: ts("2024-08-01T08:00:00+07:00"),
        due: ts(due),
        late,
        // Past due (rule 5), late since the due time.
        late_rule: late.then_some(chiso::core::LateRule::PastDue),
        late_since: if late { ts(due) } else { Timestamp::MAX },
        paused: false,
        due_soon,
        via_national_portal: false,
        dissatisfied: false,
        apology: false,
    };
    let open = vec![
        item("x-late-1d", "A", "2024-08-12T17:00:00+07:00", true, false),
        item("b-late-3d", "A1", "2024-08-10T17:00:00+07:00", true, false),
        item("a-late-3d", "B", "2024-08-10T17:00:00+07:00", true, false),
        item("c-late-2d", "B", "2024-08-11T17:00:00+07:00", true, false),
        item("soon-5h", "A", "2024-08-13T22:00:00+07:00", false, true),
        item("soon-1h", "A1", "2024-08-13T18:00:00+07:00", false, true),
        item("later", "A", "2024-08-20T17:00:00+07:00", false, false),
    ];
    let live = ReadModel::new(registry, model);
    live.publish(0, snap);
    live.open_set(0).write().unwrap().replace(ts(NOW), open);
    live.set_ready(ready);
    live
}

fn state(token: Option<&str>) -> AppState {
    let live = live(true);
    let metrics = Arc::new(Metrics::new(live.clone()).unwrap());
    AppState::new(live, metrics.scrape(), token.map(Into::into))
}

async fn call(
    state: &AppState,
    method: Method,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, String, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, t);
    }
    let resp = router(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let json = if ctype.starts_with("application/json") {
        serde_json::from_str(&text).unwrap()
    } else {
        Value::Null
    };
    (status, ctype, json)
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    let (s, _, v) = call(state, Method::GET, uri, Some(&format!("Bearer {TOKEN}"))).await;
    (s, v)
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let s = state(None);
    let (status, v) = get(&s, "/healthz").await;
    assert_eq!((status, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, v) = get(&s, "/readyz").await;
    assert_eq!((status, v["ready"].as_bool()), (StatusCode::OK, Some(true)));
    s.live.set_ready(false);
    let (status, v) = get(&s, "/readyz").await;
    assert_eq!(
        (status, v["ready"].as_bool()),
        (StatusCode::SERVICE_UNAVAILABLE, Some(false))
    );
}

#[tokio::test]
async fn results_have_the_results_schema_sorted_by_agency() {
    let s = state(None);
    let (status, v) = get(&s, "/api/v1/results").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["period"], "month");
    let ids: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["agency_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["A", "A1", "B", "P"]);
    let p = &v["results"][3];
    assert_eq!(p["schema"], 1);
    assert_eq!(p["period"]["kind"], "month");
    assert_eq!(p["period"]["label"], "2024-08");
    assert_eq!(p["evaluated_at"], NOW);
    assert_eq!(p["parent_id"], Value::Null);
    assert_eq!(p["counts"]["in_scope"], 2);
    // d4 is open past its due time at 08-13: late by rule 5.
    assert_eq!(p["counts"]["open_overdue"], 1);
    assert_eq!(p["indicators"]["2.1"]["numerator"], 1);
    assert_eq!(p["indicators"]["2.1"]["points"], 10.0);
    assert!(p["indicators"]["1.1"].is_null());
    assert_eq!(p["groups"]["progress"]["max"], 20.0);
    assert!(p["score"].is_number() && p["band"].is_string(), "{p}");
    for kind in ["quarter", "year"] {
        let (status, v) = get(&s, &format!("/api/v1/results?period={kind}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["results"][0]["period"]["kind"], kind);
    }
    let (status, v) = get(&s, "/api/v1/results?period=week").await;
    assert_error(status, &v, StatusCode::BAD_REQUEST, "bad_period");
}

#[tokio::test]
async fn agency_page_has_registry_info_children_and_every_period() {
    let s = state(None);
    let (status, v) = get(&s, "/api/v1/agencies/A").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["agency"]["id"], "A");
    assert_eq!(v["agency"]["name"], "Cơ quan A");
    assert_eq!(v["agency"]["level"], "department");
    assert_eq!(v["agency"]["parent_id"], "P");
    assert_eq!(v["agency"]["children"][0]["id"], "A1");
    let kinds: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["period"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["month", "quarter", "year"]);
    let (status, v) = get(&s, "/api/v1/agencies/P").await;
    assert_eq!(status, StatusCode::OK);
    let children: Vec<&str> = v["agency"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["A", "B"]);
    let (status, v) = get(&s, "/api/v1/agencies/NOPE").await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "unknown_agency");
}

fn ids(v: &Value) -> Vec<&str> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["dossier_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn overdue_list_is_most_overdue_first_over_the_subtree() {
    let s = state(None);
    let (status, v) = get(&s, "/api/v1/agencies/P/overdue").await;
    assert_eq!(status, StatusCode::OK);
    // Ties (3 days) by dossier id.
    assert_eq!(
        ids(&v),
        ["a-late-3d", "b-late-3d", "c-late-2d", "x-late-1d"]
    );
    assert_eq!(
        (
            v["total"].as_u64(),
            v["limit"].as_u64(),
            v["offset"].as_u64()
        ),
        (Some(4), Some(50), Some(0))
    );
    assert_eq!(v["evaluated_at"], NOW);
    let first = &v["items"][0];
    assert_eq!(first["agency_id"], "B");
    assert_eq!(first["procedure_id"], "1.000001");
    assert_eq!(first["due_at"], "2024-08-10T17:00:00+07:00");
    assert_eq!(first["received_at"], "2024-08-01T08:00:00+07:00");
    assert_eq!(first["overdue_seconds"], 3 * 86_400);
    assert_eq!(first["paused"], false);
    assert!(first.get("due_in_seconds").is_none());
    // A's subtree holds A and A1, not B.
    let (_, v) = get(&s, "/api/v1/agencies/A/overdue").await;
    assert_eq!(ids(&v), ["b-late-3d", "x-late-1d"]);
    let (_, v) = get(&s, "/api/v1/agencies/B/overdue").await;
    assert_eq!(ids(&v), ["a-late-3d", "c-late-2d"]);
}

#[tokio::test]
async fn lists_paginate_with_the_total() {
    let s = state(None);
    let (_, v) = get(&s, "/api/v1/agencies/P/overdue?limit=2&offset=1").await;
    assert_eq!(ids(&v), ["b-late-3d", "c-late-2d"]);
    assert_eq!(v["total"], 4);
    assert_eq!(
        (v["limit"].as_u64(), v["offset"].as_u64()),
        (Some(2), Some(1))
    );
    let (_, v) = get(&s, "/api/v1/agencies/P/overdue?limit=2&offset=3").await;
    assert_eq!(ids(&v), ["x-late-1d"]);
    let (_, v) = get(&s, "/api/v1/agencies/P/overdue?offset=10").await;
    assert_eq!((ids(&v).len(), v["total"].as_u64()), (0, Some(4)));
    let (_, v) = get(&s, "/api/v1/agencies/P/overdue?limit=1000").await;
    assert_eq!(ids(&v).len(), 4);
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=abc",
        "offset=-1",
        "limit=1.5",
    ] {
        let (status, v) = get(&s, &format!("/api/v1/agencies/P/overdue?{bad}")).await;
        assert_error(status, &v, StatusCode::BAD_REQUEST, "bad_parameter");
    }
    let (status, v) = get(&s, "/api/v1/agencies/NOPE/overdue").await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "unknown_agency");
}

#[tokio::test]
async fn due_soon_list_is_soonest_first() {
    let s = state(None);
    let (status, v) = get(&s, "/api/v1/agencies/P/due-soon").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&v), ["soon-1h", "soon-5h"]);
    assert_eq!(v["items"][0]["due_in_seconds"], 3600);
    assert_eq!(v["items"][1]["due_in_seconds"], 5 * 3600);
    assert!(v["items"][0].get("overdue_seconds").is_none());
    assert_eq!(v["list"], "due_soon");
    let (_, v) = get(&s, "/api/v1/agencies/B/due-soon").await;
    assert_eq!(v["total"], 0);
}

#[tokio::test]
async fn operator_lists_need_the_token_when_one_is_configured() {
    let s = state(Some(TOKEN));
    for uri in ["/api/v1/agencies/P/overdue", "/api/v1/agencies/P/due-soon"] {
        let (status, _, v) = call(&s, Method::GET, uri, None).await;
        assert_error(status, &v, StatusCode::UNAUTHORIZED, "unauthorized");
        let (status, _, v) = call(&s, Method::GET, uri, Some("Bearer wrong-token!")).await;
        assert_error(status, &v, StatusCode::UNAUTHORIZED, "unauthorized");
        let (status, _, v) = call(&s, Method::GET, uri, Some(TOKEN)).await;
        assert_error(status, &v, StatusCode::UNAUTHORIZED, "unauthorized");
        let (status, _, v) = call(&s, Method::GET, uri, Some(&format!("Bearer {TOKEN}x"))).await;
        assert_error(status, &v, StatusCode::UNAUTHORIZED, "unauthorized");
        let (status, _, _) = call(&s, Method::GET, uri, Some(&format!("Bearer {TOKEN}"))).await;
        assert_eq!(status, StatusCode::OK);
        // The scheme is case-insensitive; the token is not.
        for scheme in ["bearer", "BEARER", "bEaReR"] {
            let (status, _, _) =
                call(&s, Method::GET, uri, Some(&format!("{scheme} {TOKEN}"))).await;
            assert_eq!(status, StatusCode::OK, "{scheme}");
        }
        let upper = TOKEN.to_uppercase();
        if upper != TOKEN {
            let (status, _, v) = call(&s, Method::GET, uri, Some(&format!("Bearer {upper}"))).await;
            assert_error(status, &v, StatusCode::UNAUTHORIZED, "unauthorized");
        }
        let (status, _, v) = call(&s, Method::GET, uri, Some("Bearer ")).await;
        assert_error(status, &v, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // The 401 names the scheme.
    let resp = router(s.clone())
        .oneshot(
            Request::get("/api/v1/agencies/P/overdue")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(resp.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    // Health, metrics and results stay open.
    for uri in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/results",
        "/api/v1/agencies/P",
    ] {
        let (status, _, _) = call(&s, Method::GET, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn only_get_and_unknown_paths_are_json_errors() {
    let s = state(None);
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        for uri in ["/metrics", "/api/v1/results", "/api/v1/agencies/P/overdue"] {
            let (status, _, v) = call(&s, method.clone(), uri, None).await;
            assert_error(
                status,
                &v,
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            );
        }
    }
    let (status, v) = get(&s, "/api/v2/nothing").await;
    assert_error(status, &v, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn metrics_are_text_with_indicator_series_and_no_dossier_ids() {
    let s = state(None);
    let resp = router(s.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains(
        "chiso_dossiers{agency=\"P\",name=\"Cơ quan P\",level=\"province\",parent=\"\",period=\"month\",count=\"open_overdue\"} 1\n"
    ), "{text}");
    assert!(text.contains("chiso_indicator_value_ratio{agency=\"P\",name=\"Cơ quan P\",level=\"province\",parent=\"\",period=\"month\",indicator=\"2.1\",group=\"progress\"} 0.5\n"));
    // The operator lists' age feeds one bounded series per agency.
    assert!(text.contains("chiso_open_overdue_max_age_seconds{agency=\"P\",name=\"Cơ quan P\",level=\"province\",parent=\"\"} 259200\n"), "{text}");
    assert!(text.contains("chiso_ready 1\n"));
    for id in ["d1", "d4", "late-3d", "soon-1h"] {
        assert!(!text.contains(id), "dossier id {id} in /metrics");
    }
}

/// While the state is being restored or caught up, the API says so (503, JSON, `Retry-After`)
/// instead of answering from empty data ("nothing is overdue"); probes and metrics stay open.
#[tokio::test]
async fn the_api_answers_503_until_ready() {
    let s = state(Some(TOKEN));
    s.live.set_ready(false);
    for uri in [
        "/api/v1/results",
        "/api/v1/results?period=month",
        "/api/v1/agencies/P",
        "/api/v1/agencies/P/overdue",
        "/api/v1/agencies/P/due-soon",
    ] {
        let resp = router(s.clone())
            .oneshot(
                Request::get(uri)
                    .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert_eq!(resp.headers()[header::RETRY_AFTER], "5", "{uri}");
        let (status, v) = get(&s, uri).await;
        assert_error(status, &v, StatusCode::SERVICE_UNAVAILABLE, "not_ready");
    }
    for uri in ["/healthz", "/metrics"] {
        let (status, _, _) = call(&s, Method::GET, uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
    }
    let (status, _) = get(&s, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    s.live.set_ready(true);
    let (status, _) = get(&s, "/api/v1/agencies/P/overdue").await;
    assert_eq!(status, StatusCode::OK);
}

/// An empty or blank token is refused where it is read, never taken as "no authentication".
#[test]
fn empty_or_blank_tokens_are_refused() {
    for bad in ["", " ", "\t", " secret", "secret\n"] {
        assert!(chiso::http::check_token(bad).is_err(), "{bad:?}");
    }
    assert!(chiso::http::check_token("s3cret-token").is_ok());
}

/// Bad paths and unknown query parameters are JSON 400s naming what is allowed.
#[tokio::test]
async fn bad_paths_and_unknown_parameters_are_json_errors() {
    let s = state(None);
    let (status, _, v) = call(&s, Method::GET, "/api/v1/agencies/%FF%FE", None).await;
    assert_error(status, &v, StatusCode::BAD_REQUEST, "bad_path");
    let (status, _, v) = call(&s, Method::GET, "/api/v1/agencies/%FF%FE/overdue", None).await;
    assert_error(status, &v, StatusCode::BAD_REQUEST, "bad_path");
    for (uri, allowed) in [
        ("/api/v1/results?perod=month", "period"),
        ("/api/v1/agencies/P?x=1", "none"),
        ("/api/v1/agencies/P/overdue?limt=5", "limit, offset"),
        (
            "/api/v1/agencies/P/due-soon?limit=5&sort=due",
            "limit, offset",
        ),
    ] {
        let (status, _, v) = call(&s, Method::GET, uri, None).await;
        assert_error(status, &v, StatusCode::BAD_REQUEST, "unknown_parameter");
        assert!(v["error"].as_str().unwrap().contains(allowed), "{uri}: {v}");
    }
    let (status, _, _) = call(
        &s,
        Method::GET,
        "/api/v1/agencies/P/overdue?limit=5&offset=1",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// Dossiers late before their due time (a second request for papers, a declared overdue) are
/// listed with the rule and a non-negative age counted from when they turned late.
#[tokio::test]
async fn overdue_items_say_why_and_since_when() {
    let registry = registry();
    let model = Arc::new(chiso::app::files::load_scoring(None).unwrap());
    let mut engine = Engine::new(
        registry.clone(),
        model.clone(),
        Arc::new(chiso::app::files::load_holidays(None).unwrap()),
        EngineSettings::default(),
        ts(NOW),
    );
    let events = [
        // Rule 2: declared overdue on 08-05, due only on 08-20.
        r#"{"event_id":"a1","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"A","dossier_id":"r2","due_at":"2024-08-20T17:00:00+07:00"}"#,
        r#"{"event_id":"a2","type":"overdue","occurred_at":"2024-08-05T08:00:00+07:00","agency_id":"A","dossier_id":"r2"}"#,
        // Rule 1: a second request for papers on 08-06, due only on 08-30.
        r#"{"event_id":"b1","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"A","dossier_id":"r1","due_at":"2024-08-30T17:00:00+07:00"}"#,
        r#"{"event_id":"b2","type":"supplement_requested","occurred_at":"2024-08-02T08:00:00+07:00","agency_id":"A","dossier_id":"r1"}"#,
        r#"{"event_id":"b3","type":"supplement_received","occurred_at":"2024-08-03T08:00:00+07:00","agency_id":"A","dossier_id":"r1"}"#,
        r#"{"event_id":"b4","type":"supplement_requested","occurred_at":"2024-08-06T08:00:00+07:00","agency_id":"A","dossier_id":"r1"}"#,
        // Rule 5: past its due time on 08-12 17:00.
        r#"{"event_id":"c1","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"B","dossier_id":"r5","due_at":"2024-08-12T17:00:00+07:00"}"#,
    ];
    for e in events {
        engine.ingest(&decode(e.as_bytes(), &registry, 1 << 16).unwrap());
    }
    let live = ReadModel::new(registry, model);
    chiso::read_model::publish_engine(&live, 0, &mut engine);
    live.set_ready(true);
    let metrics = Arc::new(Metrics::new(live.clone()).unwrap());
    let s = AppState::new(live, metrics.scrape(), None);
    let (status, v) = get(&s, "/api/v1/agencies/P/overdue").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let items = v["items"].as_array().unwrap();
    let by_id = |id: &str| {
        items
            .iter()
            .find(|i| i["dossier_id"] == id)
            .unwrap()
            .clone()
    };
    let day = 86_400;
    let r2 = by_id("r2");
    assert_eq!(
        (r2["late_rule"].as_u64(), r2["late_reason"].as_str()),
        (Some(2), Some("declared_overdue"))
    );
    assert_eq!(r2["late_since"], "2024-08-05T08:00:00+07:00");
    assert_eq!(r2["overdue_seconds"], 8 * day + 9 * 3600);
    let r1 = by_id("r1");
    assert_eq!(
        (r1["late_rule"].as_u64(), r1["late_reason"].as_str()),
        (Some(1), Some("second_supplement_request"))
    );
    assert_eq!(r1["overdue_seconds"], 7 * day + 9 * 3600);
    let r5 = by_id("r5");
    assert_eq!(
        (r5["late_rule"].as_u64(), r5["late_reason"].as_str()),
        (Some(5), Some("past_due"))
    );
    assert_eq!(r5["overdue_seconds"], day);
    for i in items {
        assert!(i["overdue_seconds"].as_i64().unwrap() >= 0, "{i}");
    }
    // Late the longest first.
    let order: Vec<&str> = items
        .iter()
        .map(|i| i["dossier_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["r2", "r1", "r5"]);
}

/// Points at stake, worked by hand: A has three dossiers in August, all on time (2.1 = 3/3 →
/// 20.00; 5.4 = 3/3 ≥ 0.9 → 6.00). If d1 (due 08-20) turns late: 2.1 = 2/3 → 13.33 (−6.67) and
/// 5.4 = 2/3 / 0.9 × 6 = 4.44 (−1.56): 8.23 points at stake; d2 (due 08-30) the same. Both late
/// (the worst case at the month's end): 2.1 = 1/3 → 6.67, 5.4 = 1/3 / 0.9 × 6 = 2.22: −17.11.
/// The ended dossier d3 and B's late dossier are not at stake.
#[tokio::test]
async fn points_at_stake_worked_by_hand() {
    let registry = registry();
    let model = Arc::new(chiso::app::files::load_scoring(None).unwrap());
    let mut engine = Engine::new(
        registry.clone(),
        model.clone(),
        Arc::new(chiso::app::files::load_holidays(None).unwrap()),
        EngineSettings::default(),
        ts(NOW),
    );
    let events = [
        r#"{"event_id":"a1","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"A","dossier_id":"d1","due_at":"2024-08-20T17:00:00+07:00"}"#,
        r#"{"event_id":"a2","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"A","dossier_id":"d2","due_at":"2024-08-30T17:00:00+07:00"}"#,
        r#"{"event_id":"a3","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"A","dossier_id":"d3","due_at":"2024-08-05T17:00:00+07:00"}"#,
        r#"{"event_id":"a4","type":"processed","occurred_at":"2024-08-04T08:00:00+07:00","agency_id":"A","dossier_id":"d3"}"#,
        r#"{"event_id":"b1","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"B","dossier_id":"d9","due_at":"2024-08-12T17:00:00+07:00"}"#,
    ];
    for e in events {
        engine.ingest(&decode(e.as_bytes(), &registry, 1 << 16).unwrap());
    }
    let live = ReadModel::new(registry, model);
    chiso::read_model::publish_engine(&live, 0, &mut engine);
    live.set_ready(true);
    let metrics = Arc::new(Metrics::new(live.clone()).unwrap());
    let s = AppState::new(live, metrics.scrape(), Some(TOKEN.into()));
    let (status, _, v) = call(&s, Method::GET, "/api/v1/agencies/A/at-stake", None).await;
    assert_error(status, &v, StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, v) = get(&s, "/api/v1/agencies/A/at-stake?period=month").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["period"], "2024-08");
    assert_eq!(v["due_in_period"], 2);
    let items = v["items"].as_array().unwrap();
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["dossier_id"].as_str().unwrap())
        .collect();
    // Equal stakes: the sooner due first.
    assert_eq!(ids, ["d1", "d2"]);
    for i in items {
        assert_eq!(i["points_at_stake"], 8.23, "{i}");
    }
    let now = v["now"]["total_points"].as_f64().unwrap();
    let worst = v["worst"]["total_points"].as_f64().unwrap();
    assert!(
        (now - worst - 17.11).abs() < 1e-9,
        "now {now}, worst {worst}"
    );
    // Saving the most valuable one: only d2 turns late → −8.23.
    let saved = &v["saved"][0];
    assert_eq!(saved["n"], 1);
    assert!(
        (now - saved["total_points"].as_f64().unwrap() - 8.23).abs() < 1e-9,
        "{v}"
    );
    // B's only dossier is late already: nothing at stake there.
    let (_, v) = get(&s, "/api/v1/agencies/B/at-stake").await;
    assert_eq!(v["due_in_period"], 0);
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
}

/// The web pages: server-rendered HTML whose numbers are the JSON API's, in Vietnamese by
/// default and in English on request; not ready is an HTML 503.
#[tokio::test]
async fn pages_show_the_api_numbers() {
    let s = state(None);
    let page = |uri: &str| {
        let s = s.clone();
        let uri = uri.to_owned();
        async move {
            let resp = router(s)
                .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = resp.status();
            let ctype = resp.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
        }
    };
    let (status, ctype, html) = page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(html.starts_with("<!doctype html><html lang=\"vi\">"));
    assert!(html.contains("Bảng xếp hạng"));
    // Every agency's score as the API gives it.
    let (_, v) = get(&s, "/api/v1/results?period=month").await;
    for r in v["results"].as_array().unwrap() {
        let id = r["agency_id"].as_str().unwrap();
        let row = html
            .split(&format!("<tr data-agency=\"{id}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("a row for {id}"));
        let score = row
            .split("<td data-score>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        match r["score"].as_f64() {
            Some(x) => assert_eq!(score, format!("{x:.1}"), "{id}"),
            None => assert!(score.contains("chưa có điểm"), "{id}: {score}"),
        }
    }
    let (status, _, html) = page("/?lang=en&period=quarter&sort=name").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<html lang=\"en\">") && html.contains("Service-quality index ranking"));
    let (_, v) = get(&s, "/api/v1/agencies/P").await;
    let month = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["period"]["kind"] == "month")
        .unwrap()
        .clone();
    let (status, _, html) = page("/agency/P").await;
    assert_eq!(status, StatusCode::OK);
    let big = html
        .split("data-score>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    match month["score"].as_f64() {
        Some(x) => assert_eq!(big, format!("{x:.1}")),
        None => assert!(big.contains("chưa có điểm")),
    }
    assert!(html.contains("data-indicator=\"2.1\""));
    assert!(
        html.contains("/agency/A?"),
        "links to the agencies under it"
    );
    for bad in ["/?lang=fr", "/?level=planet", "/?sort=up"] {
        let (status, _, _) = page(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // A shared link's tracking tags do not break a page.
    for tagged in ["/?utm_source=mail", "/?x=1&lang=en", "/agency/P?fbclid=abc"] {
        let (status, _, _) = page(tagged).await;
        assert_eq!(status, StatusCode::OK, "{tagged}");
    }
    s.live.set_ready(false);
    let (status, ctype, html) = page("/agency/P").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ctype.starts_with("text/html") && html.contains("khôi phục"));
}

/// The worklist page: refused without the token (with a Basic challenge a browser answers),
/// served with it as a Basic password or a bearer token, and exported as CSV that spreadsheet
/// programs read (UTF-8 with a byte order mark).
#[tokio::test]
async fn the_worklist_is_behind_the_token_and_exports_csv() {
    use base64::Engine as _;
    let s = state(Some(TOKEN));
    let fetch = |uri: &str, auth: Option<String>| {
        let s = s.clone();
        let uri = uri.to_owned();
        async move {
            let mut req = Request::get(&uri);
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let resp = router(s)
                .oneshot(req.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
        }
    };
    let (status, headers, _) = fetch("/agency/P/worklist", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("Basic")));
    let basic = |pass: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("operator:{pass}"))
        )
    };
    let (status, _, _) = fetch("/agency/P/worklist", Some(basic("wrong"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, headers, html) = fetch("/agency/P/worklist", Some(basic(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // The overdue ones, late the longest first.
    let order: Vec<&str> = html
        .split("<tr data-dossier=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
        .collect();
    let late: Vec<&str> = order
        .iter()
        .copied()
        .filter(|d| d.contains("-late-"))
        .collect();
    assert_eq!(late, ["a-late-3d", "b-late-3d", "c-late-2d", "x-late-1d"]);
    let (status, headers, csv) = fetch(
        "/agency/P/worklist?format=csv",
        Some(format!("Bearer {TOKEN}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.starts_with("\u{feff}list,dossier_id,agency_id"));
    assert_eq!(csv.lines().filter(|l| l.starts_with("overdue,")).count(), 4);
    assert!(csv.contains("overdue,x-late-1d,A,1.000001,"));
}

/// Every error code the server can answer is in the error table of docs/api.md.
#[test]
fn every_error_code_is_documented() {
    use chiso::read_model::Unavailable;
    let root = env!("CARGO_MANIFEST_DIR");
    let doc = std::fs::read_to_string(format!("{root}/docs/api.md")).unwrap();
    let documented: std::collections::BTreeSet<String> = doc
        .lines()
        .filter(|l| l.starts_with("| 4") || l.starts_with("| 5"))
        .filter_map(|l| l.split('`').nth(1).map(str::to_owned))
        .collect();
    // The first string literal after each `bad_request(` and `code: ` of the HTTP adapter.
    let mut answered = std::collections::BTreeSet::new();
    for dir in ["src/http", "src/http/pages", "src/http/server"] {
        for e in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let code = std::fs::read_to_string(&p).unwrap();
            for marker in ["bad_request(", "code: \""] {
                for part in code.split(marker).skip(1) {
                    let part = part.trim_start();
                    if marker == "bad_request(" && !part.starts_with('"') {
                        continue;
                    }
                    let literal = part.trim_start_matches('"');
                    let word: String = literal
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if !word.is_empty() {
                        answered.insert(word);
                    }
                }
            }
        }
    }
    for why in [
        Unavailable::Joining,
        Unavailable::ResultsElsewhere,
        Unavailable::ListsIncomplete { owned: 1, total: 2 },
    ] {
        answered.insert(why.code().to_owned());
    }
    for c in ["unknown_parameter", "bad_lang", "busy", "unknown_agency"] {
        assert!(answered.contains(c), "the scan misses `{c}`: {answered:?}");
    }
    let missing: Vec<_> = answered.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "not in docs/api.md's error table: {missing:?}"
    );
}

/// The province's worklist on the sample: at a province one dossier rarely moves the rounded
/// total (every row showed 0.00 and the list was really ordered by due time); the page shows
/// the unrounded cost, rows differ, and they are ordered by exactly what is shown.
#[tokio::test]
async fn the_province_worklist_is_ordered_by_the_points_it_shows() {
    let s = sample_province("2025-09-15T10:00:00+07:00");
    let req = Request::builder()
        .uri("/agency/TQ/worklist?format=csv")
        .body(Body::empty())
        .unwrap();
    let resp = router(s).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let head: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let col = head
        .iter()
        .position(|h| *h == "points_at_stake_unrounded")
        .expect("the unrounded column");
    let shown: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("at_stake,"))
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect();
    assert!(shown.len() > 10, "{} rows at stake", shown.len());
    assert!(
        shown.windows(2).all(|w| w[0] >= w[1]),
        "ordered by the points shown: {shown:?}"
    );
    let rounded: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("at_stake,"))
        .map(|l| l.split(',').nth(col - 1).unwrap())
        .collect();
    eprintln!("unrounded {:?}, rounded {:?}", &shown[..3], &rounded[..3]);
    assert!(shown.iter().all(|&x| x > 0.0), "{shown:?}");
    // Equal costs (the same indicators move alike for every such dossier) go soonest due first.
    let due: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("at_stake,"))
        .map(|l| l.split(',').nth(5).unwrap())
        .collect();
    for (w, d) in shown.windows(2).zip(due.windows(2)) {
        assert!(
            w[0] > w[1] || d[0] <= d[1],
            "ties by the soonest due: {d:?}"
        );
    }
}
