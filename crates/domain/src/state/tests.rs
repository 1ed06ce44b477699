//! The overlay a batch applies on, and the versioned codec of records and log entries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::testing::*;

fn sup_record(id: &str, version: u64) -> (Key, Record) {
    let f = supplier(id);
    let rec = crate::model::Supplier {
        id: f.id.clone(),
        name: f.name,
        org_number: None,
        gln: None,
        email: None,
        phone: None,
        country: None,
        address: vec![],
        withdrawn: false,
        version,
    };
    (Key::Supplier(f.id), Record::Supplier(rec))
}

fn ids(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| match r {
            Record::Supplier(s) => format!("{}@{}", s.id, s.version),
            Record::Counter(c) => format!("counter={c}"),
            other => format!("{other:?}"),
        })
        .collect()
}

fn base_with(sups: &[&str]) -> MemState {
    let mut base = MemState::default();
    let mut ch = Changes::default();
    for id in sups {
        let (k, r) = sup_record(id, 1);
        ch.put(k, r);
    }
    base.write(ch);
    base
}

#[test]
fn overlay_get_sees_pending_over_base() {
    let base = base_with(&["b", "d"]);
    let mut ov = Overlay::new(&base);
    let mut ch = Changes::default();
    let (k, r) = sup_record("d", 2);
    ch.put(k, r);
    let (k, r) = sup_record("c", 1);
    ch.put(k, r);
    ch.0.push((Key::Supplier(SupplierId::new("b")), None));
    ov.add(ch);
    let version = |id: &str| ov.supplier(SupplierId::new(id)).unwrap().map(|s| s.version);
    assert_eq!(version("b"), None, "deleted in the overlay");
    assert_eq!(version("c"), Some(1), "added in the overlay");
    assert_eq!(version("d"), Some(2), "updated in the overlay");
    assert_eq!(version("e"), None);
    // The base is untouched until the changes are written.
    assert_eq!(base.supplier(SupplierId::new("b")).unwrap().map(|s| s.version), Some(1));
    assert_eq!(base.supplier(SupplierId::new("d")).unwrap().map(|s| s.version), Some(1));
}

#[test]
fn overlay_scan_merges_in_id_order() {
    let base = base_with(&["a", "c", "e", "g", "i"]);
    let mut ov = Overlay::new(&base);
    let mut ch = Changes::default();
    for (id, v) in [("b", 1), ("e", 2), ("h", 1)] {
        let (k, r) = sup_record(id, v);
        ch.put(k, r);
    }
    ch.0.push((Key::Supplier(SupplierId::new("a")), None));
    ch.0.push((Key::Supplier(SupplierId::new("g")), None));
    // A record in another table is not part of the scan.
    ch.put(Key::Counter("order".into()), Record::Counter(7));
    ov.add(ch);

    let cases: &[(&str, Option<&str>, usize, &[&str])] = &[
        ("everything", None, 100, &["b@1", "c@1", "e@2", "h@1", "i@1"]),
        ("first two", None, 2, &["b@1", "c@1"]),
        ("after a deleted id", Some("a"), 100, &["b@1", "c@1", "e@2", "h@1", "i@1"]),
        ("after b", Some("b"), 2, &["c@1", "e@2"]),
        ("after an absent id", Some("d"), 3, &["e@2", "h@1", "i@1"]),
        ("after g", Some("g"), 100, &["h@1", "i@1"]),
        ("after the last", Some("i"), 100, &[]),
        ("limit 0", None, 0, &[]),
    ];
    for (case, after, limit, expected) in cases {
        let got = ids(&ov.scan(Table::Supplier, *after, *limit).unwrap());
        assert_eq!(got, *expected, "{case}");
    }
    // Paging through with the cursor visits every record once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = ov.scan(Table::Supplier, cursor.as_deref(), 2).unwrap();
        let Some(Record::Supplier(last)) = page.last() else {
            break;
        };
        cursor = Some(last.id.to_string());
        seen.extend(ids(&page));
    }
    assert_eq!(seen, ["b@1", "c@1", "e@2", "h@1", "i@1"]);
}

#[test]
fn overlay_deletes_hide_base_records_within_limit() {
    // Deleting the first records of the base must not shorten a limited scan.
    let base = base_with(&["a", "b", "c", "d", "e"]);
    let mut ov = Overlay::new(&base);
    let mut ch = Changes::default();
    for id in ["a", "b", "c"] {
        ch.0.push((Key::Supplier(SupplierId::new(id)), None));
    }
    ov.add(ch);
    assert_eq!(ids(&ov.scan(Table::Supplier, None, 2).unwrap()), ["d@1", "e@1"]);
    assert_eq!(ov.get(&Key::Supplier(SupplierId::new("a"))).unwrap(), None);
}

#[test]
fn overlay_into_changes_keeps_last_write_per_key_in_key_order() {
    let base = MemState::default();
    let mut ov = Overlay::new(&base);
    let mut first = Changes::default();
    let (k, r) = sup_record("z", 1);
    first.put(k, r);
    let (k, r) = sup_record("a", 1);
    first.put(k, r);
    ov.add(first);
    let mut second = Changes::default();
    let (k, r) = sup_record("z", 2);
    second.put(k, r);
    second.0.push((Key::Supplier(SupplierId::new("a")), None));
    ov.add(second);
    let out = ov.into_changes();
    let got: Vec<_> =
        out.0.iter().map(|(k, v)| (k.clone(), v.as_ref().map(|r| ids(std::slice::from_ref(r))))).collect();
    assert_eq!(
        got,
        [
            (Key::Supplier(SupplierId::new("a")), None),
            (Key::Supplier(SupplierId::new("z")), Some(vec!["z@2".to_owned()])),
        ]
    );
}

#[test]
fn overlay_scan_keeps_base_records_without_own_key() {
    // Counter and command records do not carry their id. A scan of their table through an
    // overlay must still return the base's records, as the base's own scan does.
    let mut base = MemState::default();
    let mut ch = Changes::default();
    ch.put(Key::Counter("a".into()), Record::Counter(1));
    ch.put(Key::Counter("c".into()), Record::Counter(3));
    base.write(ch);
    assert_eq!(ids(&base.scan(Table::Counter, None, 10).unwrap()), ["counter=1", "counter=3"]);
    let mut ov = Overlay::new(&base);
    let mut ch = Changes::default();
    ch.put(Key::Counter("b".into()), Record::Counter(2));
    ov.add(ch);
    assert_eq!(ids(&ov.scan(Table::Counter, None, 10).unwrap()), ["counter=1", "counter=2", "counter=3"]);
}

#[test]
fn batch_through_overlay_sees_earlier_commands() {
    // One batch: every command is applied to the overlay, then the batch is written at once.
    let mut base = MemState::default();
    let batch = [
        env("b1", Command::CreateSupplier(supplier("s1"))),
        env("b2", Command::CreateUnit(unit("u1"))),
        env("b3", Command::CreateArticle(article("a1", "s1"))),
        env("b4", Command::CreateOrder(OrderFields { submit: true, ..order("o1", &[("a1", 2)]) })),
        env("b5", transition("o1", OrderAction::Approve)),
        env("b1", Command::CreateSupplier(supplier("s1"))),
    ];
    let changes = {
        let mut ov = Overlay::new(&base);
        for (i, e) in batch.iter().enumerate() {
            let (v, ch) = crate::apply(&ov, e, i as u64 + 1).unwrap();
            assert_eq!(describe(&v), "applied", "{}", e.id);
            ov.add(ch);
        }
        ov.into_changes()
    };
    base.write(changes);
    let o = base.order(OrderId::new("o1")).unwrap().unwrap();
    assert_eq!((o.status, o.version, o.number.as_str()), (OrderStatus::Approved, 2, "2026-000001"));
    // Same result as applying one by one.
    let mut db = Db::default();
    for e in &batch {
        db.run(e);
    }
    assert!(db.state.map == base.map);
}

#[test]
fn codec_round_trips_records_and_envelopes() {
    let mut db = seeded();
    order_in(&mut db, "o1", OrderStatus::PartiallyDelivered);
    let records: Vec<Record> = db.state.map.values().cloned().collect();
    assert!(records.iter().any(|r| matches!(r, Record::Order(_))));
    assert!(records.iter().any(|r| matches!(r, Record::Command(_))));
    assert!(records.iter().any(|r| matches!(r, Record::Counter(_))));
    for r in &records {
        let bytes = codec::encode_record(r);
        assert_eq!(bytes[0], codec::V1);
        assert_eq!(&codec::decode_record(&bytes).unwrap(), r);
    }
    let node = Record::Node(crate::model::NodeRecord {
        id: 3,
        http: "http://n3:8080".into(),
        grpc: "n3:50051".into(),
        retired: true,
        version: 2,
        history: Vec::new(),
    });
    assert_eq!(codec::decode_record(&codec::encode_record(&node)).unwrap(), node);

    let o = OrderFields {
        needed_by: Some(date!(2026 - 12 - 03)),
        urgent: true,
        note: Some("Åtgärda snarast".into()),
        ..order("o1", &[("a1", 2)])
    };
    let envelopes = [
        env("e1", Command::CreateSupplier(supplier("s1"))),
        env("e2", Command::CreateUnit(unit("u1"))),
        env("e3", Command::CreateArticle(article("a1", "s1"))),
        env("e4", Command::CreateOrder(o.clone())),
        env("e5", Command::UpdateOrder { expected_version: 1, fields: o }),
        env(
            "e6",
            Command::Transition { order_id: OrderId::new("o1"), expected_version: Some(2), action: receive(&[(1, 1)]) },
        ),
        env("e7", transition("o1", cancel())),
        Envelope {
            actor: Some("anna.lind".into()),
            ..env("e8", Command::RegisterNode { id: 4, http: "h".into(), grpc: "g".into() })
        },
        env("e9", Command::RetireNode { id: 4 }),
    ];
    for e in &envelopes {
        let bytes = codec::encode_envelope(e);
        assert_eq!(bytes[0], 1);
        assert_eq!(&codec::decode_envelope(&bytes).unwrap(), e);
    }
}

#[test]
fn codec_envelope_encoding_is_pinned() {
    // A change here changes the replicated log format: it needs a new codec version.
    let cases = [
        (
            env(
                "c-1",
                Command::Transition {
                    order_id: OrderId::new("o-1"),
                    expected_version: Some(3),
                    action: OrderAction::Reject { reason: "Fel kostnadsställe".into() },
                },
            ),
            r#"{"id":"c-1","at":"2026-11-23T10:00:00Z","origin":1,"actor":null,"cmd":{"type":"transition","order_id":"o-1","expected_version":3,"action":{"action":"reject","reason":"Fel kostnadsställe"}}}"#,
        ),
        (
            Envelope {
                actor: Some("anna".into()),
                ..env(
                    "c-2",
                    Command::CreateOrder(OrderFields {
                        note: Some("Brådskande".into()),
                        needed_by: Some(date!(2026 - 12 - 03)),
                        urgent: true,
                        submit: true,
                        ..order("o-2", &[("a1", 5)])
                    }),
                )
            },
            r#"{"id":"c-2","at":"2026-11-23T10:00:00Z","origin":1,"actor":"anna","cmd":{"type":"create_order","id":"o-2","unit_id":"u1","lines":[{"article_id":"a1","quantity":5,"note":null}],"note":"Brådskande","needed_by":"2026-12-03","urgent":true,"submit":true}}"#,
        ),
        (
            env("c-3", transition("o-1", receive(&[(2, 4)]))),
            r#"{"id":"c-3","at":"2026-11-23T10:00:00Z","origin":1,"actor":null,"cmd":{"type":"transition","order_id":"o-1","expected_version":null,"action":{"action":"receive","lines":[{"line_no":2,"quantity":4}]}}}"#,
        ),
    ];
    for (e, json) in cases {
        let bytes = codec::encode_envelope(&e);
        assert_eq!(bytes[0], 1);
        assert_eq!(std::str::from_utf8(&bytes[1..]).unwrap(), json);
        assert_eq!(codec::decode_envelope(&bytes).unwrap(), e);
    }
}

#[test]
fn codec_record_encoding_is_pinned() {
    let cases = [
        (Record::Counter(7), r#"{"t":"counter","v":7}"#),
        (
            Record::Command(crate::state::CommandRecord {
                verdict: Verdict::Applied { kind: Kind::Order, id: "o-1".into(), version: 2 },
                log_index: 42,
                actor: None,
            }),
            r#"{"t":"command","v":{"verdict":{"verdict":"applied","kind":"order","id":"o-1","version":2},"log_index":42}}"#,
        ),
        (
            Record::Command(crate::state::CommandRecord {
                verdict: Verdict::Nothing,
                log_index: 44,
                actor: Some("anna".into()),
            }),
            r#"{"t":"command","v":{"verdict":{"verdict":"nothing"},"log_index":44,"actor":"anna"}}"#,
        ),
        (
            Record::Command(crate::state::CommandRecord {
                verdict: Verdict::Rejected {
                    rejection: Rejection::Invalid {
                        kind: Kind::Article,
                        field: "gtin".into(),
                        problem: Problem::CheckDigit,
                    },
                },
                log_index: 43,
                actor: None,
            }),
            r#"{"t":"command","v":{"verdict":{"verdict":"rejected","rejection":{"reason":"invalid","kind":"article","field":"gtin","problem":"check_digit"}},"log_index":43}}"#,
        ),
    ];
    for (r, json) in cases {
        let bytes = codec::encode_record(&r);
        assert_eq!(bytes[0], 1);
        assert_eq!(std::str::from_utf8(&bytes[1..]).unwrap(), json);
        assert_eq!(codec::decode_record(&bytes).unwrap(), r);
    }
}

#[test]
fn codec_rejects_unknown_version_and_garbage() {
    let mut bytes = codec::encode_envelope(&env("c-1", transition("o-1", OrderAction::Submit)));
    bytes[0] = 2;
    assert!(matches!(codec::decode_envelope(&bytes), Err(DecodeError::UnknownVersion(2))));
    bytes[0] = 0;
    assert!(matches!(codec::decode_envelope(&bytes), Err(DecodeError::UnknownVersion(0))));
    assert!(matches!(codec::decode_record(&[]), Err(DecodeError::Empty)));
    assert!(matches!(codec::decode_record(&[1, b'{']), Err(DecodeError::Malformed(_))));
    assert!(matches!(codec::decode_record(b"\x01{\"t\":\"bogus\",\"v\":1}"), Err(DecodeError::Malformed(_))));
    // JSON without the version byte is not read as version 1.
    assert!(matches!(codec::decode_record(br#"{"t":"counter","v":7}"#), Err(DecodeError::UnknownVersion(b'{'))));
}
