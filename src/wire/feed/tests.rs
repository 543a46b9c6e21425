use super::*;
use crate::core::feed::Status;
use crate::wire::definitions::sample_registry;

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

const ONESTOP: &str = include_str!("../../../config/feeds/onestop.toml");
const DVCQG: &str = include_str!("../../../config/feeds/dvcqg.toml");

#[test]
fn local_dates_in_every_shape_the_sources_write() {
    let want = t("2025-09-03T08:15:00+07:00");
    assert_eq!(compact_local("20250903081500"), Some(want));
    assert_eq!(compact_local("20250931081500"), None);
    assert_eq!(text_time("2025-09-03 08:15:00"), Some(want));
    assert_eq!(
        text_time("2025-09-03T08:15:00.5").map(|x| x.as_nanos()),
        Some(want.as_nanos() + 500_000_000)
    );
    assert_eq!(text_time("2025-09-03T01:15:00Z"), Some(want));
    assert_eq!(text_time("03/09/2025 08:15"), None);
    // Debezium's naive timestamp: the wall clock's digits read as if UTC.
    assert_eq!(epoch_local(1_756_887_300_000_000 * 1_000), Some(want));
    assert_eq!(epoch_local(i64::MIN), None);
    assert_eq!(epoch_local(i64::MAX), None);
}

#[test]
fn an_envelope_with_its_schema_wrapper_a_delete_and_a_tombstone() {
    let registry = sample_registry();
    let m = Mapping::parse(ONESTOP, &registry).unwrap();
    let row = r#"{"ma_ho_so":"STP-1","ma_don_vi":"STP","trang_thai":2,"kenh":2,"ngay_tiep_nhan":1756887300000000,"ngay_hen_tra":1757523600000000,"cap_nhat_luc":1756887300000000}"#;
    let wrapped = format!(
        r#"{{"schema":{{"type":"struct"}},"payload":{{"before":null,"after":{row},"source":{{"lsn":42,"ts_ms":1}},"op":"r"}}}}"#
    );
    let snaps = decode(wrapped.as_bytes(), &m, &registry, 1 << 20).unwrap();
    let s = snaps[0].as_ref().unwrap();
    assert_eq!(
        (s.dossier.as_ref(), s.position, s.deleted),
        ("STP-1", 42, false)
    );
    assert_eq!(s.status, Status::Received);
    assert_eq!(s.received_at, Some(t("2025-09-03T08:15:00+07:00")));
    let deleted = format!(r#"{{"before":{row},"after":null,"source":{{"lsn":43}},"op":"d"}}"#);
    let snaps = decode(deleted.as_bytes(), &m, &registry, 1 << 20).unwrap();
    assert!(snaps[0].as_ref().unwrap().deleted);
    assert!(decode(b"null", &m, &registry, 1 << 20).unwrap().is_empty());
    let truncate = br#"{"before":null,"after":null,"source":{"lsn":44},"op":"t"}"#;
    assert!(decode(truncate, &m, &registry, 1 << 20).unwrap().is_empty());
    let too_big = decode(wrapped.as_bytes(), &m, &registry, 16).unwrap_err();
    assert_eq!(too_big.code, "too_large");
}

#[test]
fn a_sync_record_reads_each_entry_alone() {
    let registry = sample_registry();
    let m = Mapping::parse(DVCQG, &registry).unwrap();
    let record = r#"{"service":"DongBoHoSoMC","ThoiDiemDongBo":"20250903081600","data":[
        {"MaHoSo":"000.00.12.H56-250903-0001","TrangThaiHoSo":2,"NgayTiepNhan":"20250903081500","NgayHenTra":"20250910170000","KenhThucHien":"2","TaiLieuNop":[{"DuocSoHoa":"1"}],"DanhSachLePhi":[{}]},
        {"MaHoSo":"000.00.12.H56-250903-0002","TrangThaiHoSo":"12"},
        "not an entry"]}"#;
    let out = decode(record.as_bytes(), &m, &registry, 1 << 20).unwrap();
    let s = out[0].as_ref().unwrap();
    assert_eq!(registry.get(s.agency.unwrap()).id, "TQ.STP");
    assert!(s.synced && s.intake.digitized && s.intake.fee_required);
    assert_eq!(s.changed_at, t("2025-09-03T08:16:00+07:00"));
    assert_eq!(out[1].as_ref().unwrap_err().code, "unknown_status");
    assert_eq!(out[2].as_ref().unwrap_err().code, "not_object");
}
