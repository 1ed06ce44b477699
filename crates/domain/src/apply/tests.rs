//! What `apply` does for every command: stable rejection codes, idempotency by command id, and
//! imports applied all or nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::testing::*;

#[test]
fn rejection_codes() {
    let long = "x".repeat(MAX_TEXT + 1);
    let id65 = "a".repeat(65);
    let cases: Vec<(&str, Command, &str)> = vec![
        // Missing records.
        ("transition of missing order", transition("nope", OrderAction::Submit), "order.not_found"),
        (
            "update of missing order",
            Command::UpdateOrder { expected_version: 1, fields: order("nope", &[("a1", 1)]) },
            "order.not_found",
        ),
        (
            "update of missing supplier",
            Command::UpdateSupplier { expected_version: 1, fields: supplier("nope") },
            "supplier.not_found",
        ),
        ("retire of unknown node", Command::RetireNode { id: 9 }, "node.not_found"),
        // References.
        (
            "order line with missing article",
            Command::CreateOrder(order("o1", &[("a1", 1), ("nope", 1)])),
            "article.unknown lines[1].article_id",
        ),
        (
            "order line with withdrawn article",
            Command::CreateOrder(order("o1", &[("aw", 1)])),
            "article.withdrawn lines[0].article_id",
        ),
        (
            "order for unknown unit",
            Command::CreateOrder(OrderFields { unit_id: UnitId::new("nope"), ..order("o1", &[("a1", 1)]) }),
            "unit.unknown unit_id",
        ),
        ("article of unknown supplier", Command::CreateArticle(article("a9", "nope")), "supplier.unknown supplier_id"),
        // Versions and existence.
        (
            "transition at old version",
            Command::Transition {
                order_id: OrderId::new("d1"),
                expected_version: Some(7),
                action: OrderAction::Submit,
            },
            "order.version_conflict",
        ),
        (
            "update of order at old version",
            Command::UpdateOrder { expected_version: 2, fields: order("d1", &[("a1", 1)]) },
            "order.version_conflict",
        ),
        (
            "update of supplier at old version",
            Command::UpdateSupplier { expected_version: 3, fields: supplier("s1") },
            "supplier.version_conflict",
        ),
        ("supplier twice", Command::CreateSupplier(supplier("s1")), "supplier.already_exists"),
        ("unit twice", Command::CreateUnit(unit("u1")), "unit.already_exists"),
        ("article twice", Command::CreateArticle(article("a1", "s1")), "article.already_exists"),
        ("order twice", Command::CreateOrder(order("d1", &[("a1", 1)])), "order.already_exists"),
        // Article fields.
        (
            "GTIN check digit",
            Command::CreateArticle(ArticleFields { gtin: Some("7350000000002".into()), ..article("a9", "s1") }),
            "article.invalid gtin check_digit",
        ),
        (
            "GTIN of 11 digits",
            Command::CreateArticle(ArticleFields { gtin: Some("73500000000".into()), ..article("a9", "s1") }),
            "article.invalid gtin bad_format",
        ),
        (
            "GTIN with a letter",
            Command::CreateArticle(ArticleFields { gtin: Some("735000000000X".into()), ..article("a9", "s1") }),
            "article.invalid gtin bad_format",
        ),
        (
            "unknown unit code",
            Command::CreateArticle(ArticleFields { unit: "XX".into(), ..article("a9", "s1") }),
            "article.invalid unit unknown_code",
        ),
        (
            "lower-case unit code",
            Command::CreateArticle(ArticleFields { unit: "bx".into(), ..article("a9", "s1") }),
            "article.invalid unit unknown_code",
        ),
        (
            "pack size 0",
            Command::CreateArticle(ArticleFields { pack_size: 0, ..article("a9", "s1") }),
            "article.invalid pack_size out_of_range",
        ),
        (
            "negative price",
            Command::CreateArticle(ArticleFields { price_cents: Some(-1), ..article("a9", "s1") }),
            "article.invalid price_cents out_of_range",
        ),
        (
            "blank article name",
            Command::CreateArticle(ArticleFields { name: "  ".into(), ..article("a9", "s1") }),
            "article.invalid name required",
        ),
        // Order fields.
        ("quantity 0", Command::CreateOrder(order("o1", &[("a1", 0)])), "order.invalid lines[0].quantity out_of_range"),
        (
            "quantity too large",
            Command::CreateOrder(order("o1", &[("a1", 1), ("a2", MAX_QUANTITY + 1)])),
            "order.invalid lines[1].quantity out_of_range",
        ),
        (
            "blank reject reason",
            transition("d1", OrderAction::Reject { reason: " ".into() }),
            "order.invalid reason required",
        ),
        (
            "too long cancel reason",
            transition("d1", OrderAction::Cancel { reason: long.clone() }),
            "order.invalid reason too_long",
        ),
        (
            "too long order note",
            Command::CreateOrder(OrderFields { note: Some(long.clone()), ..order("o1", &[("a1", 1)]) }),
            "order.invalid note too_long",
        ),
        // Ids.
        ("empty supplier id", Command::CreateSupplier(supplier("")), "supplier.invalid id required"),
        ("slash in supplier id", Command::CreateSupplier(supplier("ab/cd")), "supplier.invalid id bad_format"),
        ("space in unit id", Command::CreateUnit(unit("avd 12")), "unit.invalid id bad_format"),
        ("non-ASCII unit id", Command::CreateUnit(unit("östra-iva")), "unit.invalid id bad_format"),
        ("65-character id", Command::CreateSupplier(supplier(&id65)), "supplier.invalid id bad_format"),
        ("bad order id", transition("o#1", OrderAction::Submit), "order.invalid id bad_format"),
        (
            "bad article id in order line",
            Command::CreateOrder(order("o1", &[("a 1", 1)])),
            "order.invalid lines[0].article_id bad_format",
        ),
        // Supplier and unit fields.
        (
            "too long supplier name",
            Command::CreateSupplier(SupplierFields { name: long.clone(), ..supplier("s9") }),
            "supplier.invalid name too_long",
        ),
        (
            "GLN check digit",
            Command::CreateSupplier(SupplierFields { gln: Some("7350000000002".into()), ..supplier("s9") }),
            "supplier.invalid gln check_digit",
        ),
        (
            "Swedish org number check digit",
            Command::CreateSupplier(SupplierFields { org_number: Some("556677-8898".into()), ..supplier("s9") }),
            "supplier.invalid org_number check_digit",
        ),
        (
            "Norwegian org number check digit",
            Command::CreateSupplier(SupplierFields { org_number: Some("987 654 324".into()), ..supplier("s9") }),
            "supplier.invalid org_number check_digit",
        ),
        (
            "supplier country not a code",
            Command::CreateSupplier(SupplierFields { country: Some("Sverige".into()), ..supplier("s9") }),
            "supplier.invalid country bad_format",
        ),
        (
            "nine supplier address lines",
            Command::CreateSupplier(SupplierFields { address: vec!["x".into(); 9], ..supplier("s9") }),
            "supplier.invalid address too_many",
        ),
        (
            "organisation without a name",
            Command::SetOrganisation {
                expected_version: None,
                fields: OrganisationFields { name: " ".into(), ..organisation() },
            },
            "organisation.invalid name required",
        ),
        (
            "organisation country in lower case",
            Command::SetOrganisation {
                expected_version: None,
                fields: OrganisationFields { country: "se".into(), ..organisation() },
            },
            "organisation.invalid country bad_format",
        ),
        (
            "organisation currency not a code",
            Command::SetOrganisation {
                expected_version: None,
                fields: OrganisationFields { currency: "kr".into(), ..organisation() },
            },
            "organisation.invalid currency bad_format",
        ),
        (
            "organisation GLN check digit",
            Command::SetOrganisation {
                expected_version: None,
                fields: OrganisationFields { gln: Some("7350009000001".into()), ..organisation() },
            },
            "organisation.invalid gln check_digit",
        ),
        (
            "organisation updated before it exists",
            Command::SetOrganisation { expected_version: Some(1), fields: organisation() },
            "organisation.not_found",
        ),
        (
            "GLN of 8 digits",
            Command::CreateSupplier(SupplierFields { gln: Some("73513537".into()), ..supplier("s9") }),
            "supplier.invalid gln bad_format",
        ),
        (
            "org number of 6 digits",
            Command::CreateSupplier(SupplierFields { org_number: Some("556677".into()), ..supplier("s9") }),
            "supplier.invalid org_number bad_format",
        ),
        (
            "email without @",
            Command::CreateSupplier(SupplierFields { email: Some("order.example".into()), ..supplier("s9") }),
            "supplier.invalid email bad_format",
        ),
        ("blank site", Command::CreateUnit(UnitFields { site: "".into(), ..unit("u9") }), "unit.invalid site required"),
        (
            "nine address lines",
            Command::CreateUnit(UnitFields { delivery_address: vec!["x".into(); 9], ..unit("u9") }),
            "unit.invalid delivery_address too_many",
        ),
        (
            "node id 0",
            Command::RegisterNode { id: 0, http: "h".into(), grpc: "g".into() },
            "node.invalid id out_of_range",
        ),
    ];
    for (case, cmd, expected) in cases {
        let mut db = seeded();
        db.ok(Command::CreateOrder(order("d1", &[("a1", 1)])));
        let before = db.state.map.clone();
        let (v, changes) = db.run_changes(&env("c", cmd.clone()));
        assert_eq!(describe(&v), expected, "{case}");
        // The verdict and the audit line are recorded; nothing else changes.
        let keys: Vec<&Key> = changes.0.iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), 2, "{case}");
        assert!(matches!(keys[0], Key::Audit(_)), "{case}");
        assert_eq!(*keys[1], Key::Command(CommandId::new("c")), "{case}");
        if let (Key::Audit(i), Some(Record::Audit(a))) = (&changes.0[0].0, &changes.0[0].1) {
            assert_eq!((a.seq(), a.outcome.as_str()), (*i, expected.split(' ').next().unwrap_or_default()), "{case}");
        }
        let mut after = db.state.map.clone();
        after.remove(&Key::Command(CommandId::new("c")).to_bytes());
        after.remove(&keys[0].to_bytes());
        assert!(after == before, "{case}: state changed");
        // What needs no state is refused by validate too, so that it never reaches the log.
        let needs_state = ["not_found", "unknown", "withdrawn", "version_conflict", "already_exists"]
            .iter()
            .any(|w| expected.split(' ').next().unwrap().ends_with(w));
        assert_eq!(validate(&cmd).is_err(), !needs_state, "{case}: validate");
    }
}

#[test]
fn limits_are_inclusive() {
    let cases: Vec<(&str, Command)> = vec![
        ("64-character id", Command::CreateSupplier(supplier(&"a".repeat(64)))),
        ("id with every allowed symbol", Command::CreateSupplier(supplier("A-z_0.9:x"))),
        (
            "name of MAX_TEXT non-ASCII characters",
            Command::CreateSupplier(SupplierFields { name: "ä".repeat(MAX_TEXT), ..supplier("s9") }),
        ),
        ("quantity MAX_QUANTITY", Command::CreateOrder(order("o1", &[("a1", MAX_QUANTITY)]))),
        (
            "eight address lines",
            Command::CreateUnit(UnitFields { delivery_address: vec!["x".into(); 8], ..unit("u9") }),
        ),
        (
            "org number of 9 digits",
            Command::CreateSupplier(SupplierFields { org_number: Some("987 654 325".into()), ..supplier("s9") }),
        ),
        ("no GTIN", Command::CreateArticle(ArticleFields { gtin: None, ..article("a9", "s1") })),
        ("GTIN-8", Command::CreateArticle(ArticleFields { gtin: Some("73513537".into()), ..article("a9", "s1") })),
    ];
    for (case, cmd) in cases {
        let mut db = seeded();
        assert_eq!(describe(&db.cmd(cmd)), "applied", "{case}");
    }
    for code in units::CODES {
        let mut db = seeded();
        let cmd = Command::CreateArticle(ArticleFields { unit: (*code).into(), ..article("a9", "s1") });
        assert_eq!(describe(&db.cmd(cmd)), "applied", "{code}");
    }
}

#[test]
fn stored_text_is_trimmed() {
    let mut db = seeded();
    let f = SupplierFields {
        name: "  Nya leverantören AB ".into(),
        email: Some("  ".into()),
        phone: Some(" 08-465 004 01 ".into()),
        ..supplier("s2")
    };
    db.ok(Command::CreateSupplier(f));
    let s = db.state.supplier(SupplierId::new("s2")).unwrap().unwrap();
    assert_eq!(s.name, "Nya leverantören AB");
    assert_eq!(s.email, None);
    assert_eq!(s.phone.as_deref(), Some("08-465 004 01"));
    db.ok(Command::CreateUnit(UnitFields {
        delivery_address: vec![" Godsmottagning ".into(), "".into(), "Plan 4".into()],
        ..unit("u2")
    }));
    let u = db.state.unit(UnitId::new("u2")).unwrap().unwrap();
    assert_eq!(u.delivery_address, ["Godsmottagning", "Plan 4"]);
}

#[test]
fn same_command_id_twice_changes_nothing() {
    let cmds: Vec<(&str, Command)> = vec![
        ("create supplier", Command::CreateSupplier(supplier("s2"))),
        ("create order", Command::CreateOrder(order("o1", &[("a1", 3)]))),
        ("submit", transition("d1", OrderAction::Submit)),
        ("update supplier", Command::UpdateSupplier { expected_version: 1, fields: supplier("s1") }),
        ("register node", Command::RegisterNode { id: 2, http: "http://n2".into(), grpc: "n2:50051".into() }),
    ];
    for (case, cmd) in cmds {
        let mut db = seeded();
        db.ok(Command::CreateOrder(order("d1", &[("a1", 1)])));
        let e = env("same", cmd);
        let (first, changes) = db.run_changes(&e);
        assert_eq!(describe(&first), "applied", "{case}");
        assert!(changes.0.len() >= 2, "{case}: the record and the command");
        let before = db.state.map.clone();
        let (second, changes) = db.run_changes(&e);
        assert_eq!(second, first, "{case}");
        assert_eq!(changes, Changes::default(), "{case}");
        assert!(db.state.map == before, "{case}: state changed");
    }
}

#[test]
fn repeated_command_id_returns_first_verdict() {
    let mut db = seeded();
    // Rejected: the order refers to an article that does not exist yet.
    let e = env("c1", Command::CreateOrder(order("o1", &[("a9", 1)])));
    let first = db.run(&e);
    assert_eq!(describe(&first), "article.unknown lines[0].article_id");
    // Once the article exists, the same command id still gets the same rejection.
    db.ok(Command::CreateArticle(article("a9", "s1")));
    let before = db.state.map.clone();
    let (second, changes) = db.run_changes(&e);
    assert_eq!(second, first);
    assert!(changes.0.is_empty());
    assert!(db.state.map == before);
    assert!(db.state.order(OrderId::new("o1")).unwrap().is_none());
    // Another command under a used id is not run either.
    let other = env("c1", Command::CreateSupplier(supplier("s7")));
    assert_eq!(db.run(&other), first);
    assert!(db.state.supplier(SupplierId::new("s7")).unwrap().is_none());
    // The verdict is kept with the log index that carried it (the fixture's commands came first).
    let rec = db.state.command(CommandId::new("c1")).unwrap().unwrap();
    assert_eq!(rec.verdict, first);
    assert_eq!(rec.log_index, 8);
}

#[test]
fn a_replayed_command_id_never_shows_another_users_verdict() {
    let mut db = seeded();
    let by = |actor: Option<&str>, cmd: Command| Envelope { actor: actor.map(str::to_owned), ..env("c1", cmd) };
    // The cluster itself (no actor) makes a supplier under id c1.
    let first = db.run(&by(None, Command::CreateSupplier(supplier("s7"))));
    assert_eq!(describe(&first), "applied");
    // Any user sending the same id gets a conflict, not the record.
    let before = db.state.map.clone();
    for other in ["bo", "anna"] {
        let (v, changes) = db.run_changes(&by(Some(other), Command::CreateSupplier(supplier("s7"))));
        assert_eq!(describe(&v), "command.id_reused", "{other}");
        assert!(changes.0.is_empty());
    }
    assert!(db.state.map == before);
    // Its author still gets the first verdict, and the record keeps who that was.
    assert_eq!(db.run(&by(None, Command::CreateSupplier(supplier("s7")))), first);
    assert_eq!(db.state.command(CommandId::new("c1")).unwrap().unwrap().actor, None);
    let second = db.run(&Envelope { actor: Some("bo".into()), ..env("c2", Command::CreateSupplier(supplier("s8"))) });
    assert_eq!(db.state.command(CommandId::new("c2")).unwrap().unwrap().actor.as_deref(), Some("bo"));
    assert_eq!(
        db.run(&Envelope { actor: Some("bo".into()), ..env("c2", Command::CreateSupplier(supplier("s8"))) }),
        second
    );
}

#[test]
fn transition_without_expected_version_is_not_idempotent_by_content() {
    // Idempotency is by command id only: the same action under a new id is a new command.
    let mut db = seeded();
    order_in(&mut db, "o1", OrderStatus::Sent);
    assert_eq!(describe(&db.act("o1", receive(&[(1, 2)]))), "applied");
    assert_eq!(describe(&db.act("o1", receive(&[(1, 2)]))), "applied");
    assert_eq!(db.order("o1").lines[0].received, 4);
}

mod import {
    use super::*;
    use crate::command::{ArticleFields, SupplierFields};
    use crate::rejection::Rejection;

    fn supplier(id: &str) -> Command {
        Command::CreateSupplier(SupplierFields::named(id, format!("Leverantör {id}")))
    }

    fn article(id: &str, supplier: &str, unit: &str) -> Command {
        Command::CreateArticle(ArticleFields {
            id: ArticleId::new(id),
            article_number: format!("A-{id}"),
            gtin: None,
            name: format!("Artikel {id}"),
            unit: unit.into(),
            pack_size: 10,
            supplier_id: SupplierId::new(supplier),
            category: "Förband".into(),
            price_cents: Some(1250),
            withdrawn: false,
        })
    }

    fn import(st: &mut MemState, id: &str, rows: Vec<Command>) -> Verdict {
        let env = Envelope {
            id: CommandId::new(id),
            at: time::macros::datetime!(2026-11-23 10:00 UTC),
            origin: 1,
            actor: None,
            cmd: Command::Import { rows },
        };
        let (v, ch) = crate::apply(st, &env, 1).unwrap();
        st.write(ch);
        v
    }

    #[test]
    fn an_import_saves_every_row_or_none() {
        let mut st = MemState::default();
        // Row 2 names a supplier that row 0 creates: later rows see earlier ones.
        let v = import(&mut st, "i1", vec![supplier("s1"), article("a1", "s1", "BX"), article("a2", "s1", "EA")]);
        assert!(matches!(v, Verdict::Applied { .. }), "{v:?}");
        assert!(st.article(ArticleId::new("a2")).unwrap().is_some());

        let before = st.map.clone();
        let v = import(&mut st, "i2", vec![article("a3", "s1", "BX"), article("a4", "nobody", "BX")]);
        match v {
            Verdict::Rejected { rejection: Rejection::InRow { row, rejection } } => {
                assert_eq!(row, 1);
                assert_eq!(rejection.code(), "supplier.unknown");
            }
            other => panic!("{other:?}"),
        }
        assert!(st.article(ArticleId::new("a3")).unwrap().is_none(), "nothing of a refused import is saved");
        let changed: Vec<_> = st
            .map
            .keys()
            .filter(|k| !before.contains_key(*k))
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert!(changed.iter().all(|k| k.starts_with("cmd/") || k.starts_with("aud/")), "{changed:?}");
    }

    #[test]
    fn an_import_is_checked_row_by_row_before_it_is_proposed() {
        let bad = Command::Import { rows: vec![supplier("s1"), article("a1", "s1", "PCE")] };
        match crate::apply::validate(&bad) {
            Err(Rejection::InRow { row: 1, rejection }) => assert_eq!(rejection.field(), Some("unit")),
            other => panic!("{other:?}"),
        }
        let nested = Command::Import { rows: vec![Command::Import { rows: vec![supplier("s")] }] };
        assert!(crate::apply::validate(&nested).is_err());
        assert!(crate::apply::validate(&Command::Import { rows: vec![] }).is_err());
    }
}

#[test]
fn withdrawn_units_and_suppliers_take_no_new_orders_but_keep_old_ones() {
    let mut db = seeded();
    let rejected = |v: Verdict| match v {
        Verdict::Rejected { rejection } => rejection,
        other => panic!("{other:?}"),
    };
    db.ok(Command::CreateOrder(order("o-old", &[("a1", 1)])));
    db.ok(Command::UpdateUnit { expected_version: 1, fields: UnitFields { withdrawn: true, ..unit("u1") } });
    let r = rejected(db.cmd(Command::CreateOrder(order("o-new", &[("a1", 1)]))));
    assert_eq!((r.code(), r.field()), ("unit.withdrawn".to_owned(), Some("unit_id")));
    assert!(db.state.order(OrderId::new("o-old")).unwrap().is_some());
    db.ok(Command::UpdateUnit { expected_version: 2, fields: unit("u1") });
    db.ok(Command::UpdateSupplier {
        expected_version: 1,
        fields: SupplierFields { withdrawn: true, ..supplier("s1") },
    });
    let r = rejected(db.cmd(Command::CreateOrder(order("o-new", &[("a1", 1)]))));
    assert_eq!((r.code(), r.field()), ("supplier.withdrawn".to_owned(), Some("lines[0].article_id")));
}
