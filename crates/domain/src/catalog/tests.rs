//! Catalog rules: GTIN check digits, and the buyer organisation set once then versioned.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::testing::*;

#[test]
fn gtin_is_valid_table() {
    let cases = [
        ("GTIN-13", "4006381333931", true),
        ("GTIN-13 Swedish prefix", "7350000000002", false),
        ("GTIN-13 Swedish prefix, right check digit", "7350000000009", true),
        ("GTIN-8", "73513537", true),
        ("GTIN-12 (UPC-A)", "036000291452", true),
        ("GTIN-14", "00012345600012", true),
        ("all zeros", "0000000000000", true),
        ("wrong check digit", "4006381333932", false),
        ("wrong check digit GTIN-8", "73513538", false),
        ("swapped digits", "4006383133931", false),
        ("11 digits", "03600029145", false),
        ("9 digits", "735135370", false),
        ("15 digits", "400638133393100", false),
        ("empty", "", false),
        ("letter", "40063813339a1", false),
        ("space", "4006381 333931", false),
        ("leading space", " 4006381333931", false),
        ("non-ASCII digits", "٤٠٠٦٣٨١٣٣٣٩٣١", false),
    ];
    for (case, s, valid) in cases {
        assert_eq!(gtin::is_valid(s), valid, "{case}: {s}");
    }
}

#[test]
fn gtin_with_check_digit_table() {
    let cases = [
        ("GTIN-13", "400638133393", "4006381333931"),
        ("GTIN-8", "7351353", "73513537"),
        ("GTIN-12", "03600029145", "036000291452"),
        ("GTIN-14", "0001234560001", "00012345600012"),
        ("Swedish prefix", "735000000000", "7350000000009"),
        ("check digit 0", "735000000003", "7350000000030"),
    ];
    for (case, body, full) in cases {
        assert_eq!(gtin::with_check_digit(body), full, "{case}");
        assert!(gtin::is_valid(full), "{case}");
    }
    // Every body completed by with_check_digit is valid, and no other last digit is.
    for n in 0..1000u64 {
        let body = format!("735{:09}", n * 7919);
        let full = gtin::with_check_digit(&body);
        assert!(gtin::is_valid(&full), "{full}");
        let last = full.as_bytes()[12] - b'0';
        for d in (0..10).filter(|d| *d != last) {
            assert!(!gtin::is_valid(&format!("{body}{d}")), "{body}{d}");
        }
    }
}

#[test]
fn the_organisation_is_set_once_then_updated_at_its_version() {
    let mut db = seeded();
    let set = |v| Command::SetOrganisation { expected_version: v, fields: organisation() };
    assert_eq!(db.ok(set(None)), 1);
    assert_eq!(describe(&db.cmd(set(None))), "organisation.already_exists");
    assert_eq!(db.ok(set(Some(1))), 2);
    assert_eq!(describe(&db.cmd(set(Some(1)))), "organisation.version_conflict");
    let org = db.state.organisation().unwrap().unwrap();
    assert_eq!((org.name.as_str(), org.version), ("Region Testlanda", 2));
    let as_purchaser = Envelope { actor: Some("anna.lind".into()), ..env("t-p", set(Some(2))) };
    assert_eq!(describe(&db.run(&as_purchaser)), "organisation.forbidden");
}
