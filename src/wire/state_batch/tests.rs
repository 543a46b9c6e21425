use std::sync::Arc;

use super::*;
use crate::sim::{Generator, GeneratorConfig};
use crate::wire::event_json::{decode, DEFAULT_MAX_BYTES};

fn registry() -> Arc<Registry> {
    Arc::new(crate::wire::definitions::sample_registry())
}

/// Every event the JSON decoder accepts comes back identical from the binary encoding.
#[test]
fn round_trips_what_json_decode_accepts() {
    let registry = registry();
    let mut lines: Vec<String> = Vec::new();
    let mut g = Generator::new(
        registry.clone(),
        GeneratorConfig {
            max_dossiers: Some(3000),
            ..GeneratorConfig::new(Arc::new(crate::wire::definitions::builtin_holidays()))
        },
    );
    while let Some(l) = g.next_event() {
        lines.push(l);
    }
    let agency = &registry.get(crate::core::AgencyIdx(3)).id;
    // Hand-written lines for fields the generator may not exercise.
    let extra = [
        r#"{"event_id":"x1","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"AG","dossier_id":"d","time_limit_hours":12.5,"channel":"postal","via_national_portal":true,"citizen_storage":true,"reused_data":true}"#,
        r#"{"event_id":"x2","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":"AG","dossier_id":"d","time_limit_hours":1e400}"#,
        r#"{"event_id":"x3","type":"supplement_received","occurred_at":"2024-08-01T08:00:00Z","agency_id":"AG","dossier_id":"d","due_at":"1969-01-01T00:00:00Z"}"#,
        r#"{"event_id":"x4","type":"supplement_received","occurred_at":"2024-08-01T08:00:00Z","agency_id":"AG","dossier_id":"d"}"#,
        r#"{"event_id":"x5","type":"processed","occurred_at":"0001-01-01T00:00:00Z","agency_id":"AG","dossier_id":"d","outcome":"stopped"}"#,
        r#"{"event_id":"x6","type":"apology","occurred_at":"9999-12-31T23:59:59Z","agency_id":"AG","dossier_id":"đ hồ sơ","new_due_at":"2024-08-09T00:00:00Z"}"#,
        r#"{"event_id":"x7","type":"indicator_reported","occurred_at":"2024-08-03T08:00:00Z","agency_id":"AG","indicator":"9.9","period":"2024-Q3","numerator":100000000000,"denominator":0}"#,
        r#"{"event_id":"x8","type":"payment","occurred_at":"2024-08-03T08:00:00Z","agency_id":"AG","dossier_id":"d","method":"provincial_gateway","procedure_id":"1.2"}"#,
        r#"{"event_id":"x9","type":"rated","occurred_at":"2024-08-03T08:00:00Z","agency_id":"AG","dossier_id":"d","rating":"very_satisfied"}"#,
        r#"{"event_id":"x10","type":"withdrawn","occurred_at":"2024-08-03T08:00:00.123456789Z","agency_id":"AG","dossier_id":"d"}"#,
    ];
    lines.extend(
        extra
            .iter()
            .map(|l| l.replace("\"AG\"", &format!("{agency:?}"))),
    );
    let events: Vec<Event<'_>> = lines
        .iter()
        .map(|l| decode(l.as_bytes(), &registry, DEFAULT_MAX_BYTES).expect(l))
        .collect();
    let mut kinds = std::collections::BTreeSet::new();
    for chunk in events.chunks(997) {
        let mut w = BatchWriter::new();
        for ev in chunk {
            w.push(&registry, ev);
            kinds.insert(kind_tag(&ev.kind));
        }
        assert_eq!(w.len(), chunk.len());
        let record = w.finish();
        assert!(w.is_empty());
        let mut r = BatchReader::new(&record).unwrap();
        for ev in chunk {
            assert_eq!(&r.next_event(&registry).unwrap().unwrap(), ev);
        }
        assert!(r.next_event(&registry).is_none());
    }
    assert_eq!(kinds.len(), 13, "every event type is exercised");
}

#[test]
fn damaged_records_are_errors_not_panics() {
    let registry = registry();
    let line = format!(
        r#"{{"event_id":"e","type":"received","occurred_at":"2024-08-01T08:00:00+07:00","agency_id":{:?},"dossier_id":"d","due_at":"2024-08-08T08:00:00+07:00","procedure_id":"p"}}"#,
        registry.get(crate::core::AgencyIdx(0)).id
    );
    let ev = decode(line.as_bytes(), &registry, DEFAULT_MAX_BYTES).unwrap();
    let mut w = BatchWriter::new();
    w.push(&registry, &ev);
    w.push(&registry, &ev);
    let record = w.finish();
    for cut in 0..record.len() {
        let Ok(mut r) = BatchReader::new(&record[..cut]) else {
            continue;
        };
        let mut errors = 0;
        while let Some(e) = r.next_event(&registry) {
            errors += e.is_err() as usize;
        }
        assert_eq!(errors, 1, "cut at {cut}");
    }
    let mut bad = record.clone();
    bad[0] = 0;
    assert_eq!(BatchReader::new(&bad).err(), Some(BinError::BadMagic));
    let other = Registry::new(vec![crate::core::AgencyDef {
        id: "Z".into(),
        name: "Z".into(),
        level: "province".into(),
        parent: None,
    }])
    .unwrap();
    let mut r = BatchReader::new(&record).unwrap();
    assert!(matches!(
        r.next_event(&other),
        Some(Err(BinError::UnknownAgency(_)))
    ));
}
