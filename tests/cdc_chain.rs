//! The change-data-capture chain for real: PostgreSQL → Debezium's PostgreSQL connector on Kafka
//! Connect → Kafka, as `scripts/postgres` and `scripts/connect` start it, with the connector
//! configuration shipped in deploy/debezium/. The sample scenario's statements come out as one
//! change record each, in order, with the op each statement implies.

mod support_cdc;
mod support_kafka;
mod support_tools;

use std::time::{Duration, Instant};

use serde_json::Value;
use support_cdc::{Connect, Postgres};
use support_kafka::{read_all, Cluster};

/// What config/samples/onestop/scenario.sql does, statement by statement: the dossier's id and
/// the op of its record (`None`: the tombstone Debezium sends after a delete).
const EXPECTED: [(u64, Option<&str>); 21] = [
    (1, Some("c")),
    (1, Some("u")),
    (1, Some("u")),
    (1, Some("u")),
    (2, Some("c")),
    (2, Some("u")),
    (2, Some("u")),
    (2, Some("u")),
    (3, Some("c")),
    (3, Some("u")),
    (3, Some("u")),
    (4, Some("c")),
    (4, Some("u")),
    (4, Some("u")),
    (5, Some("c")),
    (5, Some("u")),
    (6, Some("c")),
    (6, Some("u")),
    (7, Some("c")),
    (7, Some("d")),
    (7, None),
];

#[test]
fn scenario_statements_arrive_as_one_change_record_each() {
    let t0 = Instant::now();
    let Some(pg) = Postgres::start("cdc") else {
        return;
    };
    let cluster = Cluster::shared();
    let Some(connect) = Connect::start(cluster, "cdc") else {
        return;
    };
    pg.psql_file("config/samples/onestop/schema.sql");
    let name = connect.register("deploy/debezium/onestop-postgres.json", &pg, "cdcchain");
    assert_eq!(name, "onestop-postgres");
    pg.wait_slot("chiso_onestop");
    let started = t0.elapsed();
    pg.psql_file("config/samples/onestop/scenario.sql");

    let topic = "cdcchain.public.ho_so";
    let deadline = Instant::now() + Duration::from_secs(60);
    let records = loop {
        let r = read_all(&cluster.bootstrap, topic);
        if r.len() >= EXPECTED.len() || Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(300));
    };

    let got: Vec<(u64, Option<String>)> = records
        .iter()
        .map(|r| {
            let key: Value =
                serde_json::from_slice(r.key.as_deref().expect("keyed records")).expect("JSON key");
            let id = key["id"].as_u64().expect("key {\"id\": N}");
            let op = r.value.as_deref().map(|v| {
                let v: Value = serde_json::from_slice(v).expect("JSON value");
                v["op"].as_str().expect("an envelope with op").to_owned()
            });
            (id, op)
        })
        .collect();
    let want: Vec<(u64, Option<String>)> = EXPECTED
        .iter()
        .map(|(id, op)| (*id, op.map(str::to_owned)))
        .collect();
    assert_eq!(got, want, "records of {topic} (id, op)");

    // The envelope's shape, on the first record and the delete: no schema wrapper, the row in
    // after (insert) or before (delete, REPLICA IDENTITY FULL), naive timestamps as epoch
    // microseconds of the local time read as UTC.
    let first: Value = serde_json::from_slice(records[0].value.as_deref().unwrap()).unwrap();
    assert!(first["before"].is_null(), "{first}");
    assert_eq!(first["after"]["ma_ho_so"], "STP-2025-000101");
    assert_eq!(first["after"]["ma_don_vi"], "STP");
    // '2025-09-03 08:15:00' (Asia/Ho_Chi_Minh, stored naive)
    assert_eq!(first["after"]["ngay_tiep_nhan"], 1_756_887_300_000_000_i64);
    assert_eq!(first["source"]["table"], "ho_so");
    let delete: Value = serde_json::from_slice(records[19].value.as_deref().unwrap()).unwrap();
    assert!(delete["after"].is_null(), "{delete}");
    assert_eq!(delete["before"]["ma_ho_so"], "SYT-2025-000299");

    eprintln!(
        "cdc chain: PostgreSQL, Connect and the RUNNING connector in {:.1}s, all in {:.1}s",
        started.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    drop(connect);
    drop(pg);
}
