//! Table-driven tests of the domain rules: GTINs, the order state machine, rejection codes,
//! idempotency, versions and history, the overlay, the codec and the demo fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::apply::{MAX_QUANTITY, MAX_TEXT, validate};
use crate::codec::{self, DecodeError};
use crate::command::UserFields;
use crate::command::{
    ArticleFields, Command, Envelope, LineFields, OrderAction, OrderFields, OrganisationFields, Received,
    SupplierFields, UnitFields, Verdict,
};
use crate::ids::{ArticleId, CommandId, OrderId, SupplierId, TokenId, UnitId, UserId};
use crate::model::{Order, OrderStatus, Role};
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, MemState, Overlay, Record, StateView, StateViewExt, Table};
use crate::{fixtures, gtin, units};
use std::collections::{BTreeSet, HashSet};
use time::OffsetDateTime;
use time::macros::{date, datetime};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const AT: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

fn env(id: &str, cmd: Command) -> Envelope {
    Envelope { id: CommandId::new(id), at: AT, origin: 1, actor: None, cmd }
}

/// A state with a log: applies envelopes the way the state machine does, one log index each.
#[derive(Default)]
struct Db {
    state: MemState,
    index: u64,
    /// Makes the command ids of `cmd` unique.
    seq: u64,
}

impl Db {
    /// Applies `env` at the next log index, writes its changes and returns the verdict.
    fn run(&mut self, env: &Envelope) -> Verdict {
        self.run_changes(env).0
    }

    fn run_changes(&mut self, env: &Envelope) -> (Verdict, Changes) {
        self.index += 1;
        let (verdict, changes) = crate::apply(&self.state, env, self.index).unwrap();
        self.state.write(changes.clone());
        (verdict, changes)
    }

    /// Runs `cmd` under a fresh command id.
    fn cmd(&mut self, cmd: Command) -> Verdict {
        self.seq += 1;
        self.run(&env(&format!("t-{}", self.seq), cmd))
    }

    /// Runs `cmd` and panics unless it was applied.
    fn ok(&mut self, cmd: Command) -> u64 {
        match self.cmd(cmd.clone()) {
            Verdict::Applied { version, .. } => version,
            v => panic!("{cmd:?} not applied: {v:?}"),
        }
    }

    fn order(&self, id: &str) -> Order {
        self.state.order(&OrderId::new(id)).unwrap().expect("order exists")
    }

    fn act(&mut self, id: &str, action: OrderAction) -> Verdict {
        self.cmd(transition(id, action))
    }
}

/// A short text for a verdict: "applied", or the rejection code followed by field and problem
/// when there are any, e.g. "article.invalid gtin check_digit".
fn describe(v: &Verdict) -> String {
    match v {
        Verdict::Applied { .. } => "applied".into(),
        Verdict::Nothing => "nothing".into(),
        Verdict::Rejected { rejection } => {
            let mut s = rejection.code();
            if let Some(f) = rejection.field() {
                s = format!("{s} {f}");
            }
            if let Rejection::Invalid { problem, .. } = rejection {
                s = format!("{s} {problem}");
            }
            s
        }
    }
}

fn supplier(id: &str) -> SupplierFields {
    SupplierFields {
        id: SupplierId::new(id),
        name: "Testleverantören AB".into(),
        org_number: Some("556677-8899".into()),
        gln: Some(gtin::with_check_digit("735000000001")),
        email: Some("order@test.example".into()),
        phone: Some("08-465 004 00".into()),
        country: Some("SE".into()),
        address: vec!["Box 1".into(), "111 11 Stockholm".into()],
        withdrawn: false,
    }
}

fn organisation() -> OrganisationFields {
    OrganisationFields {
        name: "Region Testlanda".into(),
        org_number: Some("232100-0016".into()),
        gln: Some(gtin::with_check_digit("735000900000")),
        country: "SE".into(),
        currency: "SEK".into(),
        address: vec!["Box 1".into(), "111 11 Stockholm".into()],
        contact_name: Some("Inköp jour".into()),
        phone: Some("08-465 004 02".into()),
        email: Some("inkop@test.example".into()),
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

fn unit(id: &str) -> UnitFields {
    UnitFields {
        id: UnitId::new(id),
        name: "Avdelning 12 kirurgi".into(),
        site: "Testsjukhuset".into(),
        cost_centre: Some("KS-4110".into()),
        delivery_address: vec!["Godsmottagning hus 3".into(), "Avd 12, plan 4".into()],
        contact_name: Some("Förrådsansvarig".into()),
        phone: Some("08-465 004 01".into()),
        withdrawn: false,
    }
}

fn article(id: &str, supplier: &str) -> ArticleFields {
    ArticleFields {
        id: ArticleId::new(id),
        article_number: format!("T-{id}"),
        gtin: Some(gtin::with_check_digit("735000012345")),
        name: "Undersökningshandske nitril, M".into(),
        unit: "BX".into(),
        pack_size: 100,
        supplier_id: SupplierId::new(supplier),
        category: "Handskar".into(),
        price_cents: Some(6450),
        withdrawn: false,
    }
}

fn order(id: &str, lines: &[(&str, u32)]) -> OrderFields {
    OrderFields {
        id: OrderId::new(id),
        unit_id: UnitId::new("u1"),
        lines: lines
            .iter()
            .map(|(a, q)| LineFields { article_id: ArticleId::new(*a), quantity: *q, note: None })
            .collect(),
        note: None,
        needed_by: None,
        urgent: false,
        submit: false,
    }
}

fn transition(id: &str, action: OrderAction) -> Command {
    Command::Transition { order_id: OrderId::new(id), expected_version: None, action }
}

fn receive(lines: &[(u32, u32)]) -> OrderAction {
    OrderAction::Receive {
        lines: lines.iter().map(|(line_no, quantity)| Received { line_no: *line_no, quantity: *quantity }).collect(),
    }
}

fn reject() -> OrderAction {
    OrderAction::Reject { reason: "Fel kostnadsställe".into() }
}

fn cancel() -> OrderAction {
    OrderAction::Cancel { reason: "Beställd av misstag".into() }
}

/// Supplier "s1", unit "u1", articles "a1" and "a2", and the withdrawn article "aw".
fn seeded() -> Db {
    let mut db = Db::default();
    db.ok(Command::CreateSupplier(supplier("s1")));
    db.ok(Command::CreateUnit(unit("u1")));
    db.ok(Command::CreateArticle(article("a1", "s1")));
    db.ok(Command::CreateArticle(article("a2", "s1")));
    db.ok(Command::CreateArticle(ArticleFields { withdrawn: true, ..article("aw", "s1") }));
    for (id, role) in [("anna.lind", Role::Purchaser), ("bo.ek", Role::Purchaser)] {
        db.ok(Command::CreateUser(user(id, role, &[])));
    }
    db
}

fn user(id: &str, role: Role, units: &[&str]) -> UserFields {
    UserFields {
        id: UserId::new(id),
        name: format!("Användare {id}"),
        role,
        units: units.iter().map(|u| UnitId::new(*u)).collect(),
        password_hash: None,
        expires_at: None,
    }
}

/// The actions that bring a new order (10 of a1, 4 of a2) to `status`.
fn path_to(status: OrderStatus) -> Vec<OrderAction> {
    use OrderAction::{Approve, Confirm, Send, Submit};
    use OrderStatus as S;
    match status {
        S::Draft => vec![],
        S::Submitted => vec![Submit],
        S::Approved => vec![Submit, Approve],
        S::Rejected => vec![Submit, reject()],
        S::Sent => vec![Submit, Approve, Send],
        S::Confirmed => vec![Submit, Approve, Send, Confirm],
        S::PartiallyDelivered => vec![Submit, Approve, Send, Confirm, receive(&[(1, 5)])],
        S::Delivered => vec![Submit, Approve, Send, Confirm, receive(&[(1, 10), (2, 4)])],
        S::Cancelled => vec![cancel()],
    }
}

/// Creates order `id` with lines 10 × a1 and 4 × a2 and drives it to `status`.
fn order_in(db: &mut Db, id: &str, status: OrderStatus) {
    db.ok(Command::CreateOrder(order(id, &[("a1", 10), ("a2", 4)])));
    for a in path_to(status) {
        assert_eq!(describe(&db.act(id, a.clone())), "applied", "{id}: {a:?}");
    }
    assert_eq!(db.order(id).status, status);
}

fn statuses(db: &Db) -> Vec<OrderStatus> {
    db.state
        .scan(Table::Order, None, usize::MAX)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            Record::Order(o) => Some(o.status),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// GTIN
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Order state machine
// ---------------------------------------------------------------------------------------------

/// Every allowed transition: (from, action, to). `order_in` orders 10 × a1 and 4 × a2; from
/// partially delivered, 5 of a1 have arrived.
fn allowed() -> Vec<(OrderStatus, OrderAction, OrderStatus)> {
    use OrderAction::{Approve, Confirm, Send, Submit};
    use OrderStatus as S;
    vec![
        (S::Draft, Submit, S::Submitted),
        (S::Draft, cancel(), S::Cancelled),
        (S::Submitted, Approve, S::Approved),
        (S::Submitted, reject(), S::Rejected),
        (S::Submitted, cancel(), S::Cancelled),
        (S::Approved, Send, S::Sent),
        (S::Approved, cancel(), S::Cancelled),
        (S::Sent, Confirm, S::Confirmed),
        (S::Sent, receive(&[(1, 10), (2, 4)]), S::Delivered),
        (S::Sent, receive(&[(2, 4)]), S::PartiallyDelivered),
        (S::Sent, cancel(), S::Cancelled),
        (S::Confirmed, receive(&[(1, 10), (2, 4)]), S::Delivered),
        (S::Confirmed, receive(&[(1, 3)]), S::PartiallyDelivered),
        (S::Confirmed, cancel(), S::Cancelled),
        (S::PartiallyDelivered, receive(&[(1, 5), (2, 4)]), S::Delivered),
        (S::PartiallyDelivered, receive(&[(1, 5)]), S::PartiallyDelivered),
    ]
}

#[test]
fn allowed_transitions() {
    let mut db = seeded();
    for (i, (from, action, to)) in allowed().into_iter().enumerate() {
        let id = format!("o{i}");
        order_in(&mut db, &id, from);
        let before = db.order(&id).version;
        let v = db.act(&id, action.clone());
        assert_eq!(describe(&v), "applied", "{from:?} --{action:?}");
        let after = db.order(&id);
        assert_eq!(after.status, to, "{from:?} --{action:?}");
        assert_eq!(after.version, before + 1);
        assert_eq!(v, Verdict::Applied { kind: Kind::Order, id, version: before + 1 });
    }
}

#[test]
fn forbidden_transitions() {
    use OrderAction::{Approve, Confirm, Send, Submit};
    let actions = [Submit, Approve, reject(), Send, Confirm, receive(&[(1, 1)]), cancel()];
    let allowed: HashSet<(OrderStatus, &str)> = allowed().iter().map(|(f, a, _)| (*f, a.name())).collect();
    let mut db = seeded();
    let mut forbidden = Vec::new();
    for from in OrderStatus::ALL {
        for action in &actions {
            if !allowed.contains(&(from, action.name())) {
                forbidden.push((from, action.name()));
                let id = format!("o-{}-{}", from.as_str(), action.name());
                order_in(&mut db, &id, from);
                let before = db.order(&id);
                let v = db.act(&id, action.clone());
                assert_eq!(describe(&v), "order.bad_transition", "{from:?} --{action:?}");
                let Verdict::Rejected { rejection: Rejection::BadTransition { from: f, action: a, .. } } = v else {
                    panic!("not a bad transition");
                };
                assert_eq!((f, a.as_str()), (from, action.name()));
                assert_eq!(db.order(&id), before, "a rejection changes nothing");
            }
        }
    }
    // The final statuses allow nothing; a partial delivery can only be received further.
    use OrderStatus as S;
    for s in [S::Rejected, S::Delivered, S::Cancelled] {
        assert!(s.is_final());
        assert_eq!(forbidden.iter().filter(|(f, _)| *f == s).count(), actions.len(), "{s:?}");
    }
    assert!(forbidden.contains(&(S::PartiallyDelivered, "cancel")));
    assert!(forbidden.contains(&(S::Draft, "approve")));
    assert!(forbidden.contains(&(S::Approved, "receive")));
    assert_eq!(forbidden.len(), OrderStatus::ALL.len() * actions.len() - allowed.len());
    assert_eq!(allowed.len(), 13);
}

#[test]
fn update_order_only_while_draft() {
    let mut db = seeded();
    order_in(&mut db, "o1", OrderStatus::Submitted);
    let v = db.order("o1").version;
    let edit = Command::UpdateOrder { expected_version: v, fields: order("o1", &[("a1", 1)]) };
    let verdict = db.cmd(edit);
    assert_eq!(describe(&verdict), "order.bad_transition");
    let Verdict::Rejected { rejection: Rejection::BadTransition { from, action, .. } } = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!((from, action.as_str()), (OrderStatus::Submitted, "edit"));
    assert_eq!(db.order("o1").lines[0].quantity, 10, "unchanged");
}

#[test]
fn submit_of_empty_draft_is_rejected() {
    let mut db = seeded();
    db.ok(Command::CreateOrder(order("o1", &[])));
    assert_eq!(db.order("o1").status, OrderStatus::Draft);
    assert_eq!(describe(&db.act("o1", OrderAction::Submit)), "order.invalid lines required");
    assert_eq!(db.order("o1").status, OrderStatus::Draft);
    // Creating it submitted is refused before it reaches the state.
    let f = OrderFields { submit: true, ..order("o2", &[]) };
    assert_eq!(describe(&db.cmd(Command::CreateOrder(f))), "order.invalid lines required");
    // Filling the draft makes it submittable.
    let edit = OrderFields { submit: true, ..order("o1", &[("a1", 2)]) };
    db.ok(Command::UpdateOrder { expected_version: 1, fields: edit });
    assert_eq!(db.order("o1").status, OrderStatus::Submitted);
}

#[test]
fn receive_partial_then_rest() {
    let mut db = seeded();
    order_in(&mut db, "o1", OrderStatus::Confirmed);
    type Step<'a> = (&'a [(u32, u32)], [u32; 2], OrderStatus);
    let steps: &[Step] = &[
        (&[(1, 4)], [4, 0], OrderStatus::PartiallyDelivered),
        (&[(1, 6), (2, 1)], [10, 1], OrderStatus::PartiallyDelivered),
        (&[(2, 1), (2, 2)], [10, 4], OrderStatus::Delivered),
    ];
    for (lines, received, status) in steps {
        assert_eq!(describe(&db.act("o1", receive(lines))), "applied", "{lines:?}");
        let o = db.order("o1");
        assert_eq!(o.lines.iter().map(|l| l.received).collect::<Vec<_>>(), received, "{lines:?}");
        assert_eq!(o.status, *status, "{lines:?}");
    }
    let o = db.order("o1");
    assert_eq!(o.history.iter().filter(|h| h.action == "receive").count(), 3);
    assert_eq!(describe(&db.act("o1", receive(&[(1, 1)]))), "order.bad_transition");
}

#[test]
fn receive_rejections() {
    let cases: &[(&str, OrderAction, &str)] = &[
        ("unknown line", receive(&[(3, 1)]), "order.invalid lines[0].line_no out_of_range"),
        ("line 0", receive(&[(0, 1)]), "order.invalid lines[0].line_no out_of_range"),
        ("unknown second line", receive(&[(1, 1), (9, 1)]), "order.invalid lines[1].line_no out_of_range"),
        ("no lines", receive(&[]), "order.invalid lines required"),
        ("nothing received", receive(&[(1, 0)]), "order.invalid lines required"),
        ("more than ordered", receive(&[(1, 1000)]), "order.invalid lines[0].quantity out_of_range"),
    ];
    let mut db = seeded();
    order_in(&mut db, "o1", OrderStatus::Sent);
    for (case, action, expected) in cases {
        assert_eq!(describe(&db.act("o1", action.clone())), *expected, "{case}");
        let o = db.order("o1");
        assert_eq!(o.status, OrderStatus::Sent, "{case}");
        assert!(o.lines.iter().all(|l| l.received == 0), "{case}: nothing received");
    }
}

// ---------------------------------------------------------------------------------------------
// Rejection codes
// ---------------------------------------------------------------------------------------------

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
            assert_eq!(
                (a.log_index, a.outcome.as_str()),
                (*i, expected.split(' ').next().unwrap_or_default()),
                "{case}"
            );
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
    let s = db.state.supplier(&SupplierId::new("s2")).unwrap().unwrap();
    assert_eq!(s.name, "Nya leverantören AB");
    assert_eq!(s.email, None);
    assert_eq!(s.phone.as_deref(), Some("08-465 004 01"));
    db.ok(Command::CreateUnit(UnitFields {
        delivery_address: vec![" Godsmottagning ".into(), "".into(), "Plan 4".into()],
        ..unit("u2")
    }));
    let u = db.state.unit(&UnitId::new("u2")).unwrap().unwrap();
    assert_eq!(u.delivery_address, ["Godsmottagning", "Plan 4"]);
}

// ---------------------------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------------------------

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
    assert!(db.state.order(&OrderId::new("o1")).unwrap().is_none());
    // Another command under a used id is not run either.
    let other = env("c1", Command::CreateSupplier(supplier("s7")));
    assert_eq!(db.run(&other), first);
    assert!(db.state.supplier(&SupplierId::new("s7")).unwrap().is_none());
    // The verdict is kept with the log index that carried it (the fixture's commands came first).
    let rec = db.state.command(&CommandId::new("c1")).unwrap().unwrap();
    assert_eq!(rec.verdict, first);
    assert_eq!(rec.log_index, 8);
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

// ---------------------------------------------------------------------------------------------
// Versions, numbers and history
// ---------------------------------------------------------------------------------------------

#[test]
fn versions_increase_by_one() {
    let mut db = seeded();
    for expected in 1..=3 {
        let v = db.ok(Command::UpdateSupplier { expected_version: expected, fields: supplier("s1") });
        assert_eq!(v, expected + 1);
    }
    assert_eq!(db.state.supplier(&SupplierId::new("s1")).unwrap().unwrap().version, 4);
    let v = db.ok(Command::UpdateArticle {
        expected_version: 1,
        fields: ArticleFields { withdrawn: true, ..article("a2", "s1") },
    });
    assert_eq!(v, 2);
    db.ok(Command::UpdateUnit { expected_version: 1, fields: unit("u1") });
    assert_eq!(db.state.unit(&UnitId::new("u1")).unwrap().unwrap().version, 2);

    // An order: created at 1, one more per transition, checked against expected_version.
    assert_eq!(db.ok(Command::CreateOrder(order("o1", &[("a1", 2)]))), 1);
    use OrderAction::{Approve, Confirm, Send, Submit};
    for (n, action) in [Submit, Approve, Send, Confirm, receive(&[(1, 2)])].into_iter().enumerate() {
        let expected = n as u64 + 1;
        let cmd = Command::Transition { order_id: OrderId::new("o1"), expected_version: Some(expected), action };
        assert_eq!(db.ok(cmd), expected + 1);
    }
    assert_eq!(db.order("o1").version, 6);
    assert_eq!(db.order("o1").status, OrderStatus::Delivered);
}

#[test]
fn order_numbers_are_sequential() {
    let mut db = seeded();
    db.ok(Command::CreateOrder(order("o1", &[("a1", 1)])));
    db.ok(Command::CreateOrder(order("o2", &[("a1", 1)])));
    // A rejected create takes no number.
    assert_eq!(
        describe(&db.cmd(Command::CreateOrder(order("o3", &[("aw", 1)])))),
        "article.withdrawn lines[0].article_id"
    );
    db.ok(Command::CreateOrder(order("o4", &[("a1", 1)])));
    // The year is the envelope's, the sequence runs on.
    let next_year =
        Envelope { at: datetime!(2027-01-02 08:00 UTC), ..env("ny", Command::CreateOrder(order("o5", &[("a1", 1)]))) };
    assert_eq!(describe(&db.run(&next_year)), "applied");
    let numbers: Vec<_> = ["o1", "o2", "o4", "o5"].iter().map(|id| db.order(id).number).collect();
    assert_eq!(numbers, ["2026-000001", "2026-000002", "2026-000003", "2027-000004"]);
    assert_eq!(db.state.counter("order").unwrap(), 4);
}

#[test]
fn history_records_each_step() {
    let mut db = seeded();
    let created = Envelope {
        origin: 3,
        actor: Some("anna.lind".into()),
        ..env("c1", Command::CreateOrder(OrderFields { submit: true, ..order("o1", &[("a1", 1)]) }))
    };
    assert_eq!(describe(&db.run(&created)), "applied");
    let later = datetime!(2026-11-24 07:30 UTC);
    let rejected = Envelope {
        at: later,
        origin: 2,
        ..env("c2", transition("o1", OrderAction::Reject { reason: "  Budgeten är slut. ".into() }))
    };
    assert_eq!(describe(&db.run(&rejected)), "applied");

    let o = db.order("o1");
    let got: Vec<_> = o
        .history
        .iter()
        .map(|h| (h.at, h.node, h.actor.as_deref(), h.action.as_str(), h.from, h.to, h.reason.as_deref()))
        .collect();
    use OrderStatus as S;
    assert_eq!(
        got,
        [
            (AT, 3, Some("anna.lind"), "created", None, S::Draft, None),
            (AT, 3, Some("anna.lind"), "submit", Some(S::Draft), S::Submitted, None),
            (later, 2, None, "reject", Some(S::Submitted), S::Rejected, Some("Budgeten är slut.")),
        ]
    );
    assert_eq!((o.created_at, o.updated_at), (AT, later));
    assert_eq!(o.version, 2);

    // An edit of a draft is recorded as "edit", and cancel keeps its reason.
    db.ok(Command::CreateOrder(order("o2", &[("a1", 1)])));
    db.ok(Command::UpdateOrder { expected_version: 1, fields: order("o2", &[("a2", 5)]) });
    db.ok(transition("o2", cancel()));
    let o = db.order("o2");
    let got: Vec<_> = o.history.iter().map(|h| (h.action.as_str(), h.from, h.to, h.reason.as_deref())).collect();
    assert_eq!(
        got,
        [
            ("created", None, S::Draft, None),
            ("edit", Some(S::Draft), S::Draft, None),
            ("cancel", Some(S::Draft), S::Cancelled, Some("Beställd av misstag")),
        ]
    );
    assert_eq!(o.lines[0].article_id, ArticleId::new("a2"));
    assert_eq!(o.version, 3);
}

// ---------------------------------------------------------------------------------------------
// Overlay
// ---------------------------------------------------------------------------------------------

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
    let version = |id: &str| ov.supplier(&SupplierId::new(id)).unwrap().map(|s| s.version);
    assert_eq!(version("b"), None, "deleted in the overlay");
    assert_eq!(version("c"), Some(1), "added in the overlay");
    assert_eq!(version("d"), Some(2), "updated in the overlay");
    assert_eq!(version("e"), None);
    // The base is untouched until the changes are written.
    assert_eq!(base.supplier(&SupplierId::new("b")).unwrap().map(|s| s.version), Some(1));
    assert_eq!(base.supplier(&SupplierId::new("d")).unwrap().map(|s| s.version), Some(1));
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
    let o = base.order(&OrderId::new("o1")).unwrap().unwrap();
    assert_eq!((o.status, o.version, o.number.as_str()), (OrderStatus::Approved, 2, "2026-000001"));
    // Same result as applying one by one.
    let mut db = Db::default();
    for e in &batch {
        db.run(e);
    }
    assert!(db.state.map == base.map);
}

// ---------------------------------------------------------------------------------------------
// Codec
// ---------------------------------------------------------------------------------------------

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
            }),
            r#"{"t":"command","v":{"verdict":{"verdict":"applied","kind":"order","id":"o-1","version":2},"log_index":42}}"#,
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

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn seed(db: &mut Db) -> Vec<(String, Verdict, usize)> {
    fixtures::demo_commands()
        .into_iter()
        .map(|(id, cmd)| {
            let e = Envelope { id: id.clone(), ..env("", cmd) };
            let (v, ch) = db.run_changes(&e);
            (id.0, v, ch.0.len())
        })
        .collect()
}

#[test]
fn demo_commands_apply_cleanly_and_twice_changes_nothing() {
    let mut db = Db::default();
    let first = seed(&mut db);
    for (id, v, _) in &first {
        assert!(matches!(v, Verdict::Applied { .. }), "{id}: {v:?}");
    }
    let snapshot = db.state.map.clone();
    let second = seed(&mut db);
    assert_eq!(first.len(), second.len());
    for ((id, v1, _), (_, v2, changes)) in first.iter().zip(&second) {
        assert_eq!(v1, v2, "{id}");
        assert_eq!(*changes, 0, "{id}");
    }
    assert!(db.state.map == snapshot, "seeding twice changed the state");
}

#[test]
fn demo_commands_are_stable_and_well_formed() {
    let cmds = fixtures::demo_commands();
    assert_eq!(cmds, fixtures::demo_commands(), "deterministic");
    let mut seen = HashSet::new();
    for (id, cmd) in &cmds {
        assert!(crate::ids::is_valid_id(id.as_str()), "{id}");
        assert!(id.as_str().starts_with("demo:"), "{id}");
        assert!(seen.insert(id.clone()), "duplicate command id {id}");
        assert_eq!(validate(cmd), Ok(()), "{id}");
    }
    let ids: Vec<&str> = cmds.iter().map(|(id, _)| id.as_str()).collect();
    assert!(ids.contains(&"demo:sup:medilux"));
    assert!(ids.contains(&"demo:ord:0007"));
    assert!(ids.contains(&"demo:ord:0007:2"));
    // Creates come first by kind: suppliers, units, articles, then orders and their steps.
    let rank = |c: &Command| match c {
        Command::SetOrganisation { .. } => 0,
        Command::CreateSupplier(_) => 1,
        Command::CreateUnit(_) => 2,
        Command::CreateArticle(_) => 3,
        _ => 4,
    };
    assert!(cmds.windows(2).all(|w| rank(&w[0].1) <= rank(&w[1].1)));
}

#[test]
fn demo_data_is_rich_and_valid() {
    let d = fixtures::demo();
    assert!(d.suppliers.len() >= 5, "{} suppliers", d.suppliers.len());
    assert!(d.units.len() >= 12, "{} units", d.units.len());
    assert!(d.articles.len() >= 250, "{} articles", d.articles.len());
    assert!(d.orders.len() >= 30, "{} orders", d.orders.len());

    for s in &d.suppliers {
        let org = s.org_number.as_deref().unwrap();
        assert!(org.len() == 11 && org.as_bytes()[6] == b'-', "{org}");
        let digits: String = org.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(fixtures::luhn_check_digit(&digits[..9]), digits[9..].parse::<u32>().unwrap(), "{org}");
        let gln = s.gln.as_deref().unwrap();
        assert!(gln.len() == 13 && gln.starts_with("735") && gtin::is_valid(gln), "{gln}");
        assert!(s.name.ends_with(" AB"), "{}", s.name);
    }
    let sites: BTreeSet<&str> = d.units.iter().map(|u| u.site.as_str()).collect();
    assert_eq!(sites.len(), 3);
    for u in &d.units {
        assert!(u.id.as_str().is_ascii(), "{}", u.id);
        assert!(u.delivery_address.len() >= 3, "{}", u.id);
        assert!(u.cost_centre.is_some());
    }

    let mut gtins = HashSet::new();
    let mut numbers = HashSet::new();
    for a in &d.articles {
        let g = a.gtin.as_deref().unwrap();
        assert!(g.len() == 13 && g.starts_with("735") && gtin::is_valid(g), "{}: {g}", a.id);
        assert!(gtins.insert(g), "duplicate GTIN {g}");
        assert!(numbers.insert((&a.supplier_id, &a.article_number)), "duplicate {}", a.article_number);
        assert!(units::is_known(&a.unit), "{}: {}", a.id, a.unit);
        assert!(a.pack_size > 0 && a.price_cents.is_some_and(|p| p > 0), "{}", a.id);
        assert!(d.suppliers.iter().any(|s| s.id == a.supplier_id), "{}", a.id);
    }
    assert!(d.articles.iter().any(|a| a.name.contains(['å', 'ä', 'ö'])));
    let withdrawn: HashSet<&ArticleId> = d.articles.iter().filter(|a| a.withdrawn).map(|a| &a.id).collect();
    assert!((2..=3).contains(&withdrawn.len()), "{} withdrawn", withdrawn.len());

    let mut lines = 0;
    for o in &d.orders {
        assert!((1..=8).contains(&o.fields.lines.len()), "{}", o.fields.id);
        for l in &o.fields.lines {
            assert!(!withdrawn.contains(&l.article_id), "{} orders withdrawn {}", o.fields.id, l.article_id);
            assert!(l.quantity > 0 && l.quantity <= 100);
        }
        lines += o.fields.lines.len();
    }
    assert!(lines >= 100, "{lines} order lines");
    assert!(d.orders.iter().any(|o| o.fields.urgent));
    assert!(d.orders.iter().any(|o| o.fields.needed_by.is_some()));
    assert!(d.orders.iter().any(|o| o.fields.note.is_some()));
    // Every unit orders something.
    let ordering: HashSet<&UnitId> = d.orders.iter().map(|o| &o.fields.unit_id).collect();
    assert_eq!(ordering.len(), d.units.len());
}

#[test]
fn demo_orders_reach_many_statuses() {
    let mut db = Db::default();
    seed(&mut db);
    let all = statuses(&db);
    assert_eq!(all.len(), fixtures::demo().orders.len());
    let distinct: BTreeSet<OrderStatus> = all.iter().copied().collect();
    assert!(distinct.len() >= 6, "{distinct:?}");
    assert_eq!(distinct.len(), OrderStatus::ALL.len(), "every status: {distinct:?}");
    // Partial deliveries have something outstanding; deliveries have nothing.
    for r in db.state.scan(Table::Order, None, usize::MAX).unwrap() {
        let Record::Order(o) = r else { continue };
        let outstanding = o.lines.iter().any(|l| l.received < l.quantity);
        match o.status {
            OrderStatus::PartiallyDelivered => assert!(outstanding, "{}", o.id),
            OrderStatus::Delivered => assert!(!outstanding, "{}", o.id),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Access: who may do what, decided at apply time from the replicated accounts
// ---------------------------------------------------------------------------------------------

#[test]
fn permissions_by_role_and_unit() {
    let mut db = seeded();
    db.ok(Command::CreateUnit(unit("u2")));
    for (id, role, units) in [
        ("staff", Role::Staff, &["u1"][..]),
        ("purch", Role::Purchaser, &[][..]),
        ("admin", Role::Admin, &[][..]),
        ("ops", Role::Ops, &[][..]),
        ("comm", Role::Communicator, &[][..]),
        ("off", Role::Staff, &["u1"][..]),
    ] {
        db.ok(Command::CreateUser(user(id, role, units)));
    }
    db.ok(Command::SetUserDisabled { user_id: UserId::new("off"), disabled: true });
    db.ok(Command::CreateUser(UserFields {
        expires_at: Some(datetime!(2026-11-23 09:00 UTC)),
        ..user("gone", Role::Staff, &["u1"])
    }));
    db.ok(Command::CreateOrder(order("mine", &[("a1", 1)])));
    let token = |id: &str, user: &str| Command::CreateToken {
        token_id: TokenId::new(id),
        user_id: UserId::new(user),
        secret_sha256: "ab".repeat(32),
        label: "skript".into(),
    };
    db.ok(token("t-staff", "staff"));
    let other_unit = OrderFields { unit_id: UnitId::new("u2"), ..order("theirs", &[("a1", 1)]) };
    let transition =
        |action: OrderAction| Command::Transition { order_id: OrderId::new("mine"), expected_version: None, action };
    let cases: Vec<(&str, &str, Command, &str)> = vec![
        ("staff orders for own unit", "staff", Command::CreateOrder(order("s1", &[("a1", 1)])), "applied"),
        ("staff orders for another unit", "staff", Command::CreateOrder(other_unit.clone()), "order.forbidden"),
        ("purchaser orders for any unit", "purch", Command::CreateOrder(other_unit), "applied"),
        ("communicator places no orders", "comm", Command::CreateOrder(order("c1", &[("a1", 1)])), "order.forbidden"),
        ("staff submits own draft", "staff", transition(OrderAction::Submit), "applied"),
        ("staff cannot approve", "staff", transition(OrderAction::Approve), "order.forbidden"),
        ("purchaser approves", "purch", transition(OrderAction::Approve), "applied"),
        ("staff cannot change the catalog", "staff", Command::CreateArticle(article("x1", "s1")), "article.forbidden"),
        (
            "purchaser cannot change the catalog",
            "purch",
            Command::CreateArticle(article("x2", "s1")),
            "article.forbidden",
        ),
        ("admin changes the catalog", "admin", Command::CreateArticle(article("x3", "s1")), "applied"),
        ("disabled account", "off", Command::CreateOrder(order("d1", &[("a1", 1)])), "order.forbidden"),
        ("expired account", "gone", Command::CreateOrder(order("e1", &[("a1", 1)])), "order.forbidden"),
        ("unknown account", "nobody", Command::CreateOrder(order("n1", &[("a1", 1)])), "order.forbidden"),
        ("staff cannot make users", "staff", Command::CreateUser(user("new", Role::Admin, &[])), "user.forbidden"),
        ("admin makes users", "admin", Command::CreateUser(user("new", Role::Staff, &["u2"])), "applied"),
        (
            "own password",
            "staff",
            Command::SetPassword { user_id: UserId::new("staff"), password_hash: "$argon2id$x".into() },
            "applied",
        ),
        (
            "another's password",
            "staff",
            Command::SetPassword { user_id: UserId::new("purch"), password_hash: "$argon2id$x".into() },
            "user.forbidden",
        ),
        ("own token", "purch", token("t-p", "purch"), "applied"),
        ("token for another user", "purch", token("t-x", "staff"), "token.forbidden"),
        (
            "revoke another's token",
            "purch",
            Command::RevokeToken { token_id: TokenId::new("t-staff") },
            "token.forbidden",
        ),
        ("revoke own token", "staff", Command::RevokeToken { token_id: TokenId::new("t-staff") }, "applied"),
        (
            "ops records nodes",
            "ops",
            Command::RegisterNode { id: 9, http: "http://x".into(), grpc: "x:1".into() },
            "applied",
        ),
        (
            "staff cannot",
            "staff",
            Command::RegisterNode { id: 8, http: "http://x".into(), grpc: "x:1".into() },
            "node.forbidden",
        ),
    ];
    for (i, (case, actor, cmd, expected)) in cases.into_iter().enumerate() {
        let e = Envelope { actor: Some(actor.into()), ..env(&format!("perm-{i}"), cmd) };
        let got = describe(&db.run(&e));
        assert!(got.starts_with(expected), "{case}: got {got}, expected {expected}");
    }
    assert_eq!(db.state.user(&UserId::new("new")).unwrap().map(|u| u.role), Some(Role::Staff));
    assert!(db.state.token(&TokenId::new("t-staff")).unwrap().is_some_and(|t| t.revoked));
}

#[test]
fn user_updates_keep_the_password_unless_replaced_and_units_must_exist() {
    let mut db = seeded();
    db.ok(Command::CreateUser(UserFields {
        password_hash: Some("$argon2id$first".into()),
        ..user("u", Role::Staff, &["u1"])
    }));
    db.ok(Command::SetUserDisabled { user_id: UserId::new("u"), disabled: true });
    db.ok(Command::UpdateUser {
        expected_version: 2,
        fields: UserFields { name: "Nytt namn".into(), ..user("u", Role::Staff, &["u1"]) },
    });
    let u = db.state.user(&UserId::new("u")).unwrap().unwrap();
    assert_eq!((u.version, u.password_hash.as_deref(), u.name.as_str()), (3, Some("$argon2id$first"), "Nytt namn"));
    assert!(u.disabled, "an update does not re-enable a disabled account");
    assert_eq!(describe(&db.cmd(Command::CreateUser(user("v", Role::Staff, &["nope"])))), "unit.unknown units[0]");
    assert_eq!(
        describe(&db.cmd(Command::UpdateUser { expected_version: 1, fields: user("u", Role::Staff, &[]) })),
        "user.version_conflict"
    );
}

#[test]
fn every_command_leaves_one_audit_line_that_no_command_can_change() {
    let mut db = seeded();
    db.ok(Command::CreateUser(user("sara", Role::Staff, &["u1"])));
    let placed = Envelope {
        actor: Some("sara".into()),
        origin: 2,
        ..env("a1", Command::CreateOrder(order("o1", &[("a1", 1)])))
    };
    let refused = Envelope { actor: Some("sara".into()), ..env("a2", Command::CreateArticle(article("x", "s1"))) };
    db.run(&placed);
    db.run(&refused);
    db.run(&placed);
    let lines: Vec<_> = db
        .state
        .scan(Table::Audit, None, 1000)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            Record::Audit(a) if a.actor.as_deref() == Some("sara") => Some(a),
            _ => None,
        })
        .collect();
    let seen: Vec<_> =
        lines.iter().map(|a| (a.command.as_str(), a.target.as_str(), a.outcome.as_str(), a.node)).collect();
    assert_eq!(
        seen,
        [("create_order", "order/o1", "applied", 2), ("create_article", "article/x", "article.forbidden", 1)],
        "one line per command, none for the repeat"
    );
    assert!(lines.windows(2).all(|w| w[0].log_index < w[1].log_index));
}

mod import {
    use super::*;
    use crate::command::{ArticleFields, SupplierFields};
    use crate::rejection::Rejection;

    fn supplier(id: &str) -> Command {
        Command::CreateSupplier(SupplierFields {
            id: SupplierId::new(id),
            name: format!("Leverantör {id}"),
            org_number: None,
            gln: None,
            email: None,
            phone: None,
            country: None,
            address: vec![],
            withdrawn: false,
        })
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
        assert!(st.article(&ArticleId::new("a2")).unwrap().is_some());

        let before = st.map.clone();
        let v = import(&mut st, "i2", vec![article("a3", "s1", "BX"), article("a4", "nobody", "BX")]);
        match v {
            Verdict::Rejected { rejection: Rejection::InRow { row, rejection } } => {
                assert_eq!(row, 1);
                assert_eq!(rejection.code(), "supplier.unknown");
            }
            other => panic!("{other:?}"),
        }
        assert!(st.article(&ArticleId::new("a3")).unwrap().is_none(), "nothing of a refused import is saved");
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
    assert!(db.state.order(&OrderId::new("o-old")).unwrap().is_some());
    db.ok(Command::UpdateUnit { expected_version: 2, fields: unit("u1") });
    db.ok(Command::UpdateSupplier {
        expected_version: 1,
        fields: SupplierFields { withdrawn: true, ..supplier("s1") },
    });
    let r = rejected(db.cmd(Command::CreateOrder(order("o-new", &[("a1", 1)]))));
    assert_eq!((r.code(), r.field()), ("supplier.withdrawn".to_owned(), Some("lines[0].article_id")));
}

// ---------------------------------------------------------------------------------------------
// Dispatch jobs
// ---------------------------------------------------------------------------------------------

#[test]
fn a_dispatch_job_backs_off_between_failures_sends_its_orders_once_delivered_and_then_closes() {
    use crate::channel::{Attachment, Channel};
    use crate::dispatch::{JobState, backoff};
    let mut db = Db::default();
    db.ok(Command::CreateSupplier(supplier("s1")));
    db.ok(Command::CreateSupplier(supplier("s2")));
    db.ok(Command::CreateUnit(unit("u1")));
    db.ok(Command::CreateArticle(article("a1", "s1")));
    db.ok(Command::CreateArticle(article("a2", "s2")));
    for (id, art) in [("o1", "a1"), ("o2", "a1"), ("o3", "a2")] {
        db.ok(Command::CreateOrder(order(id, &[(art, 2)])));
    }
    for id in ["o1", "o3"] {
        db.act(id, OrderAction::Submit);
        db.act(id, OrderAction::Approve);
    }
    let dispatch = |job: &str, sup: &str, orders: &[&str]| Command::Dispatch {
        job_id: job.into(),
        supplier_id: SupplierId::new(sup),
        order_ids: orders.iter().map(|o| OrderId::new(*o)).collect(),
    };
    assert_eq!(describe(&db.cmd(dispatch("j1", "s1", &["o1"]))), "channel.unknown supplier_id", "no channel yet");
    let email = Channel::Email { to: vec!["order@s1.se".into()], attach: vec![Attachment::Pdf, Attachment::Ubl] };
    db.ok(Command::SetChannel { supplier_id: SupplierId::new("s1"), expected_version: None, channel: email.clone() });
    for (cmd, want) in [
        (dispatch("j1", "s1", &["o2"]), "order.bad_transition"),
        (dispatch("j1", "s1", &["o3"]), "dispatch.invalid order_ids[0] unknown_code"),
        (dispatch("j1", "s1", &["o1", "o1"]), "dispatch.invalid order_ids duplicate"),
        (dispatch("j1", "s1", &[]), "dispatch.invalid order_ids required"),
    ] {
        assert_eq!(describe(&db.cmd(cmd)), want);
    }
    db.ok(dispatch("j1", "s1", &["o1"]));
    let job = db.state.dispatch("j1").unwrap().unwrap();
    assert_eq!((job.state, job.channel.clone(), job.message_id()), (JobState::Pending, email, "j1@beredd".into()));
    assert!(job.due(AT), "due at once");

    // Two failures, each from the leader of the moment: the wait doubles.
    let attempt = |db: &mut Db, at: OffsetDateTime, node: u64, ok: bool| {
        db.seq += 1;
        let cmd = Command::RecordAttempt {
            job_id: "j1".into(),
            node,
            ok,
            detail: if ok { "250 OK" } else { "connection refused" }.into(),
        };
        describe(&db.run(&Envelope { at, ..env(&format!("a-{}", db.seq), cmd) }))
    };
    assert_eq!(attempt(&mut db, AT, 1, false), "applied");
    let job = db.state.dispatch("j1").unwrap().unwrap();
    assert_eq!(job.next_attempt_at, Some(AT + time::Duration::seconds(30)));
    assert!(!job.due(AT + time::Duration::seconds(29)) && job.due(AT + time::Duration::seconds(30)));
    let later = AT + time::Duration::seconds(30);
    assert_eq!(attempt(&mut db, later, 2, false), "applied");
    assert_eq!(db.state.dispatch("j1").unwrap().unwrap().next_attempt_at, Some(later + time::Duration::seconds(60)));
    assert_eq!(db.order("o1").status, OrderStatus::Approved, "not sent before delivery succeeded");

    assert_eq!(attempt(&mut db, later + time::Duration::seconds(60), 2, true), "applied");
    let job = db.state.dispatch("j1").unwrap().unwrap();
    assert_eq!((job.state, job.attempts.len(), job.next_attempt_at), (JobState::Delivered, 3, None));
    assert_eq!(job.attempts.iter().map(|a| (a.node, a.ok)).collect::<Vec<_>>(), [(1, false), (2, false), (2, true)]);
    assert_eq!(db.order("o1").status, OrderStatus::Sent);
    // A deposed leader's late report changes nothing; nor do retry and cancel.
    assert_eq!(attempt(&mut db, later, 1, true), "dispatch.closed");
    for cmd in [Command::RetryDispatch { job_id: "j1".into() }, Command::CancelDispatch { job_id: "j1".into() }] {
        assert_eq!(describe(&db.cmd(cmd)), "dispatch.closed");
    }
    assert_eq!(describe(&db.cmd(dispatch("j2", "s1", &["o1"]))), "order.bad_transition", "sent once");

    // A manual channel: never due for the leader; a person records how it went.
    let manual = Channel::Manual { how: "fax 08-123 45 67".into() };
    db.ok(Command::SetChannel { supplier_id: SupplierId::new("s2"), expected_version: None, channel: manual });
    db.ok(dispatch("j3", "s2", &["o3"]));
    assert!(!db.state.dispatch("j3").unwrap().unwrap().due(AT + time::Duration::days(1)));
    let how = Command::RecordManualSend { job_id: "j3".into(), how: "faxat 10:05".into() };
    db.ok(how);
    assert_eq!(db.order("o3").status, OrderStatus::Sent);

    assert_eq!([1, 2, 3, 6, 50].map(backoff), [30, 60, 120, 900, 900].map(time::Duration::seconds));
}

// ---------------------------------------------------------------------------------------------
// Ordering channels
// ---------------------------------------------------------------------------------------------

fn run(db: &mut Db, cmd: Command) -> String {
    describe(&db.cmd(cmd))
}

fn set_channel(version: Option<u64>, channel: crate::channel::Channel) -> Command {
    Command::SetChannel { supplier_id: SupplierId::new("medilux"), expected_version: version, channel }
}

fn hook(url: &str, secret: Option<&str>) -> crate::channel::Channel {
    crate::channel::Channel::Webhook {
        url: url.into(),
        body: crate::channel::WebhookBody::Ubl,
        secret: secret.map(str::to_owned),
    }
}

#[test]
fn channels_are_checked_kept_per_supplier_and_a_secret_survives_an_edit_without_one() {
    use crate::channel::Attachment;
    let mut db = Db::default();
    let email = |to: &[&str], attach: Vec<Attachment>| crate::channel::Channel::Email {
        to: to.iter().map(|t| (*t).to_owned()).collect(),
        attach,
    };
    assert_eq!(
        run(&mut db, set_channel(None, crate::channel::Channel::Manual { how: String::new() })),
        "supplier.unknown supplier_id"
    );
    db.ok(Command::CreateSupplier(supplier("medilux")));
    for (cmd, want) in [
        (set_channel(None, email(&[], vec![Attachment::Pdf])), "channel.invalid to required"),
        (
            set_channel(None, email(&["order@medilux.se", "inte en adress"], vec![Attachment::Pdf])),
            "channel.invalid to[1] bad_format",
        ),
        (set_channel(None, email(&["order@medilux.se"], vec![])), "channel.invalid attach required"),
        (
            set_channel(None, email(&["order@medilux.se"], vec![Attachment::Pdf, Attachment::Pdf])),
            "channel.invalid attach duplicate",
        ),
        (set_channel(None, hook("ftp://medilux.se/in", None)), "channel.invalid url bad_format"),
        (set_channel(None, hook("http://medilux.se/in", None)), "channel.invalid url bad_format"),
        (set_channel(None, hook("https://medilux.se/in", Some("kort"))), "channel.invalid secret out_of_range"),
    ] {
        assert_eq!(run(&mut db, cmd), want);
    }
    assert!(db.state.channel(&SupplierId::new("medilux")).unwrap().is_none(), "a refusal stored something");

    let ok = email(&[" order@medilux.se "], vec![Attachment::Pdf, Attachment::Ubl]);
    assert_eq!(run(&mut db, set_channel(None, ok)), "applied");
    let c = db.state.channel(&SupplierId::new("medilux")).unwrap().unwrap();
    assert_eq!(c.channel, email(&["order@medilux.se"], vec![Attachment::Pdf, Attachment::Ubl]));
    assert_eq!(
        run(&mut db, set_channel(None, crate::channel::Channel::Manual { how: "fax".into() })),
        "channel.already_exists"
    );

    let secret = "delad-hemlighet-16+";
    assert_eq!(run(&mut db, set_channel(Some(1), hook("https://medilux.se/order", Some(secret)))), "applied");
    assert_eq!(run(&mut db, set_channel(Some(2), hook("http://127.0.0.1:9/order", None))), "applied");
    let c = db.state.channel(&SupplierId::new("medilux")).unwrap().unwrap();
    assert_eq!(c.channel, hook("http://127.0.0.1:9/order", Some(secret)), "the secret was kept");
    assert_eq!(c.redacted(), (hook("http://127.0.0.1:9/order", None), true), "shown without the secret");
}

// ---------------------------------------------------------------------------------------------
// Merging another cluster's reference data
// ---------------------------------------------------------------------------------------------

fn everything(state: &MemState) -> crate::merge::Incoming {
    let mut inc = crate::merge::Incoming::default();
    for t in [Table::Unit, Table::Supplier, Table::Article, Table::Contact, Table::Rota, Table::Card] {
        for r in state.scan(t, None, 10_000).unwrap() {
            inc.add(r);
        }
    }
    inc
}

#[test]
fn a_merge_adds_what_is_missing_then_finds_nothing_new_and_then_only_the_change() {
    use crate::merge::{Change, plan};
    let mut source = Db::default();
    let all = crate::fixtures::demo_commands().into_iter().chain(crate::fixtures::demo_status());
    for (_, cmd) in all.chain(crate::fixtures::demo_contacts()).chain(crate::fixtures::demo_cards()) {
        source.cmd(cmd);
    }
    let rota = crate::command::RotaFields {
        id: crate::RotaId::new("jour"),
        name: "Inköp jour".into(),
        function_id: None,
        shifts: vec![],
        overrides: vec![],
    };
    source.ok(Command::PutRota { expected_version: None, fields: rota });
    let incoming = everything(&source.state);
    let n = (incoming.cards.len(), incoming.rotas.len(), incoming.articles.len(), incoming.contacts.len());
    assert!(n.0 > 0 && n.1 > 0 && n.2 > 0 && n.3 > 0, "{n:?}");

    // The target has no status board: card links to systems are left out, and said so.
    let mut target = Db::default();
    let p = plan(&target.state, &incoming).unwrap();
    assert_eq!((p.count(Change::Added), p.count(Change::Changed)), (incoming.len(), 0));
    assert!(p.lines.iter().any(|l| l.kind == "card" && l.note.contains("systems not here")), "{:?}", p.lines);
    target.ok(Command::Import { rows: p.rows });

    let again = plan(&target.state, &incoming).unwrap();
    assert_eq!(again.count(Change::Unchanged), incoming.len(), "{:?}", again.lines);
    assert!(again.rows.is_empty());

    let mut changed = incoming.clone();
    let s = changed.suppliers.last_mut().unwrap();
    s.name = format!("{} (nytt namn)", s.name);
    let id = s.id.clone();
    let p = plan(&target.state, &changed).unwrap();
    assert_eq!(p.count(Change::Changed), 1);
    target.ok(Command::Import { rows: p.rows });
    assert!(target.state.supplier(&id).unwrap().unwrap().name.ends_with("(nytt namn)"));
}
