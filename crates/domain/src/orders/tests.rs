//! The order state machine, and versions, order numbers and history.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::testing::*;

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

#[test]
fn versions_increase_by_one() {
    let mut db = seeded();
    for expected in 1..=3 {
        let v = db.ok(Command::UpdateSupplier { expected_version: expected, fields: supplier("s1") });
        assert_eq!(v, expected + 1);
    }
    assert_eq!(db.state.supplier(SupplierId::new("s1")).unwrap().unwrap().version, 4);
    let v = db.ok(Command::UpdateArticle {
        expected_version: 1,
        fields: ArticleFields { withdrawn: true, ..article("a2", "s1") },
    });
    assert_eq!(v, 2);
    db.ok(Command::UpdateUnit { expected_version: 1, fields: unit("u1") });
    assert_eq!(db.state.unit(UnitId::new("u1")).unwrap().unwrap().version, 2);

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

#[test]
fn ops_place_and_cancel_only_drill_orders_which_stay_drafts() {
    let mut db = seeded();
    db.ok(Command::CreateUser(user("ops", Role::Ops, &[])));
    db.ok(Command::CreateUser(user("nurse", Role::Staff, &["u1"])));
    let drill = |id: &str| OrderFields { drill: true, ..order(id, &[("a1", 1)]) };

    assert_eq!(db.says_as(Some("ops"), AT, Command::CreateOrder(order("real", &[("a1", 1)]))), "order.forbidden");
    assert_eq!(db.says_as(Some("ops"), AT, Command::CreateOrder(drill("d1"))), "applied");
    assert!(db.order("d1").drill);
    let ops = db.state.user(UserId::new("ops")).unwrap().unwrap();
    assert!(crate::access::may_see_order(&ops, &db.order("d1")), "ops check their drill's orders");
    // Never submitted: not when made, not by an edit, not by a step; nothing else happens to it.
    let submitted = OrderFields { submit: true, ..drill("d2") };
    assert_eq!(db.says_as(Some("ops"), AT, Command::CreateOrder(submitted)), "order.invalid submit mismatch");
    let edit =
        Command::UpdateOrder { expected_version: 1, fields: OrderFields { submit: true, ..order("d1", &[("a1", 1)]) } };
    assert_eq!(db.says_as(Some("anna.lind"), AT, edit), "order.bad_transition");
    assert_eq!(db.says_as(Some("anna.lind"), AT, transition("d1", OrderAction::Submit)), "order.bad_transition");
    assert_eq!(db.order("d1").status, OrderStatus::Draft);
    // Ops cancel drill orders only; a nurse's real draft is not theirs to cancel.
    db.ok(Command::CreateOrder(order("nurses", &[("a1", 1)])));
    assert_eq!(db.says_as(Some("ops"), AT, transition("nurses", cancel())), "order.forbidden");
    assert!(!crate::access::may_see_order(&ops, &db.order("nurses")), "nor see real ones");
    assert_eq!(db.says_as(Some("ops"), AT, transition("d1", cancel())), "applied");
    assert_eq!(db.order("d1").status, OrderStatus::Cancelled);
    assert!(db.order("d1").drill, "an edit or a step keeps the mark");
}
