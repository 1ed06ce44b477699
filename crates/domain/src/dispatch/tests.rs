//! Dispatch jobs: made through the log, attempts, back-off, orders marked sent on delivery.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::testing::*;

#[test]
fn a_dispatch_job_backs_off_between_failures_sends_its_orders_once_delivered_and_then_closes() {
    use crate::channels::{Attachment, Channel};
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
            refs: if ok { vec!["operator:m1".into(), "operator:m2".into()] } else { Vec::new() },
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

    // Receipts name a reference of an attempt; the same word twice is kept once.
    let receipt = |reference: &str, state: &str| Command::RecordReceipt {
        job_id: "j1".into(),
        reference: reference.into(),
        state: state.into(),
    };
    assert_eq!(describe(&db.cmd(receipt("operator:m9", "DELIVRD"))), "dispatch.invalid reference out_of_range");
    assert_eq!(describe(&db.cmd(receipt("operator:m1", "ENROUTE"))), "applied");
    assert_eq!(describe(&db.cmd(receipt("operator:m1", "delivrd"))), "applied");
    assert_eq!(describe(&db.cmd(receipt("operator:m1", "DELIVRD"))), "dispatch.already_exists");
    let job = db.state.dispatch("j1").unwrap().unwrap();
    let states: Vec<(&str, bool)> = job.receipts.iter().map(|r| (r.state.as_str(), r.delivered())).collect();
    assert_eq!(states, [("ENROUTE", false), ("DELIVRD", true)]);

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
