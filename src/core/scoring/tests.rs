use super::file::{bounded, parse_expr};
use super::*;

#[test]
fn numerators_stay_within_their_denominators() {
    let c = |n: &str| Count::parse(n).unwrap();
    let expr = |e: &str| parse_expr(e, &|n| Ok(c(n))).unwrap();
    let ok = [
        ("on_time", "in_scope"),
        ("on_time - dissatisfied_on_time", "in_scope"),
        ("paid_online", "fee_required"),
        ("electronic_result", "completed"),
        ("synced", "received"),
        ("due_soon", "on_time"),
    ];
    for (n, d) in ok {
        assert_eq!(bounded(&expr(n), c(d)), Ok(()), "{n} / {d}");
    }
    let bad = [
        ("online - received - received", "received"),
        ("received - online", "online"),
        ("in_scope", "received"),
        ("online - on_time", "received"),
        ("online + digitized", "received"),
        ("late", "on_time"),
    ];
    for (n, d) in bad {
        assert!(bounded(&expr(n), c(d)).is_err(), "{n} / {d}");
    }
}

#[test]
fn points_round_half_away_and_cap() {
    // 5.4 for commune B of the worked example: 1/2 with full_at 0.9 and max 6 → 3.33.
    assert_eq!(points_hundredths(600, 1, 2, 900_000), 333);
    assert_eq!(points_hundredths(2000, 3, 4, 1_000_000), 1500);
    assert_eq!(points_hundredths(600, 1, 2, 500_000), 600);
    assert_eq!(points_hundredths(600, 3, 4, 800_000), 563); // 5.625 → 5.63
    assert_eq!(points_hundredths(100, 1, 8, 1_000_000), 13); // 0.125 → 0.13
    assert_eq!(points_hundredths(600, 0, 2, 1_000_000), 0);
    assert_eq!(points_hundredths(600, 5, 2, 1_000_000), 600);
    assert_eq!(div_round(25, 10), 3);
    assert_eq!(div_round(-25, 10), -3);
}
