//! Who may do what, decided at apply time from the replicated accounts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::testing::*;

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
        expires_at: None,
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
    assert_eq!(db.state.user(UserId::new("new")).unwrap().map(|u| u.role), Some(Role::Staff));
    assert!(db.state.token(TokenId::new("t-staff")).unwrap().is_some_and(|t| t.revoked));
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
    let u = db.state.user(UserId::new("u")).unwrap().unwrap();
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

#[test]
fn a_new_password_or_logging_out_everywhere_ends_tokens_and_a_token_expires() {
    let mut db = Db::default();
    db.ok(Command::CreateUser(UserFields {
        id: UserId::new("anna"),
        name: "Anna".into(),
        role: Role::Staff,
        units: vec![],
        password_hash: None,
        expires_at: None,
    }));
    let token = |id: &str, expires_at| Command::CreateToken {
        token_id: TokenId::new(id),
        user_id: UserId::new("anna"),
        secret_sha256: "ab".repeat(32),
        label: String::new(),
        expires_at,
    };
    // An expiry in the past is refused.
    assert_eq!(
        describe(&db.cmd(token("t0", Some(AT - time::Duration::days(1))))),
        "token.invalid expires_at out_of_range"
    );
    db.ok(token("t1", Some(AT + time::Duration::days(90))));
    let user = |db: &Db| db.state.user(UserId::new("anna")).unwrap().unwrap();
    let t1 = db.state.token(TokenId::new("t1")).unwrap().unwrap();
    assert!(t1.is_valid(&user(&db), AT + time::Duration::days(89)));
    assert!(!t1.is_valid(&user(&db), AT + time::Duration::days(90)), "expired");
    // A password change (a later command) ends it, and sessions too.
    let later = Envelope {
        at: AT + time::Duration::hours(1),
        ..env("pw", Command::SetPassword { user_id: UserId::new("anna"), password_hash: "$argon2id$x".into() })
    };
    assert_eq!(describe(&db.run(&later)), "applied");
    assert_eq!(user(&db).sessions_valid_after, Some(AT + time::Duration::hours(1)));
    assert!(!t1.is_valid(&user(&db), AT + time::Duration::hours(2)));
}

#[test]
fn only_the_cluster_records_logins_in_the_audit_trail() {
    let mut db = Db::default();
    let login = || Command::RecordAccess {
        event: "login".into(),
        user: "anna".into(),
        via: "password".into(),
        client: "192.0.2.5".into(),
    };
    let before = db.state.map.clone();
    assert_eq!(describe(&db.cmd(login())), "nothing");
    let trail = db.state.scan(Table::Audit, None, 10).unwrap();
    let Some(Record::Audit(line)) = trail.last() else { panic!("no audit line") };
    assert_eq!(
        (line.command.as_str(), line.target.as_str()),
        ("record_access", "user/login anna (password, 192.0.2.5)")
    );
    assert_eq!(db.state.map.len(), before.len() + 2, "the audit line and the command record, nothing else");
    let forged = Envelope { actor: Some("admin".into()), ..env("forged", login()) };
    assert_eq!(describe(&db.run(&forged)), "user.forbidden");
    let long = Command::RecordAccess {
        event: "login".into(),
        user: "x".repeat(65),
        via: String::new(),
        client: String::new(),
    };
    assert_eq!(describe(&db.cmd(long)), "user.invalid user too_long");
}
