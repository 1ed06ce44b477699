//! Old command replies: found by time, forgotten by the cluster only, newer ones kept.

use crate::testing::*;

use super::{MAX_FORGET, expired_commands, index_at};

fn create(id: &str) -> Command {
    Command::CreateSupplier(supplier(id))
}

/// Runs `cmd` under `id` at `at`.
fn at(db: &mut Db, id: &str, at: OffsetDateTime, cmd: Command) -> Verdict {
    db.run(&Envelope { id: CommandId::new(id), at, origin: 1, actor: None, cmd })
}

#[test]
fn old_replies_are_found_by_time_and_forgotten_and_newer_ones_kept() {
    let mut db = Db::default();
    for (i, day) in [1, 2, 3, 10, 11].into_iter().enumerate() {
        let t = datetime!(2026-11-01 10:00 UTC) + time::Duration::days(day);
        assert!(matches!(at(&mut db, &format!("c{i}"), t, create(&format!("s{i}"))), Verdict::Applied { .. }));
    }
    // Commands 1..=3 (log indexes 1..=3) were taken before the 5th.
    let below = index_at(&db.state, datetime!(2026-11-05 00:00 UTC)).unwrap();
    assert_eq!(below, 4);
    assert_eq!(index_at(&db.state, datetime!(2026-10-01 00:00 UTC)).unwrap(), 0, "nothing is older");
    assert_eq!(index_at(&db.state, datetime!(2027-01-01 00:00 UTC)).unwrap(), 6, "everything is older");
    assert_eq!(index_at(&MemState::default(), AT).unwrap(), 0);

    // Found in pages of two records.
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (ids, next) = expired_commands(&db.state, below, after.as_deref(), 2).unwrap();
        found.extend(ids);
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let names: Vec<&str> = found.iter().map(|c| c.as_str()).collect();
    assert_eq!(names, ["c0", "c1", "c2"]);

    // Forgetting re-checks the index: c3 (index 4) is named but kept.
    let mut ids = found.clone();
    ids.push(CommandId::new("c3"));
    match db.cmd(Command::ForgetCommands { below_index: below, ids }) {
        Verdict::Applied { version, .. } => assert_eq!(version, 3, "three replies forgotten"),
        v => panic!("not applied: {v:?}"),
    }
    assert!(db.state.command(CommandId::new("c0")).unwrap().is_none());
    assert!(db.state.command(CommandId::new("c3")).unwrap().is_some());
    // A resend of a forgotten command is a new command (here: refused, the supplier exists);
    // a resend of a kept one still answers with its first verdict.
    assert!(matches!(at(&mut db, "c0", AT, create("s0")), Verdict::Rejected { .. }));
    assert!(matches!(at(&mut db, "c3", AT, create("s3")), Verdict::Applied { .. }));
}

#[test]
fn only_the_cluster_forgets_and_not_too_much_at_once() {
    let mut db = Db::default();
    db.ok(Command::CreateUser(user("anna", Role::Ops, &[])));
    let ids: Vec<CommandId> = (0..=MAX_FORGET).map(|i| CommandId::new(format!("x{i}"))).collect();
    assert!(validate(&Command::ForgetCommands { below_index: 1, ids }).is_err());
    let said = db.says_as(Some("anna"), AT, Command::ForgetCommands { below_index: 9, ids: vec![] });
    assert_eq!(said, "node.forbidden", "not even ops (no route proposes it: only the leader does)");
}

#[test]
fn member_changes_are_kept_in_the_nodes_history_with_who_asked_and_only_ops_and_admins_ask() {
    use super::{MAX_HISTORY, MemberChange};
    let mut db = seeded();
    for (id, role) in [("nurse", Role::Staff), ("comms", Role::Communicator), ("ops", Role::Ops), ("root", Role::Admin)]
    {
        db.ok(Command::CreateUser(user(id, role, &[])));
    }
    db.ok(Command::RegisterNode { id: 4, http: "http://n4".into(), grpc: "n4:1".into() });
    let change = |change| Command::ChangeMember { node: 4, change };
    for who in ["nurse", "anna.lind", "comms"] {
        assert_eq!(db.says_as(Some(who), AT, change(MemberChange::Promote)), "node.forbidden", "{who}");
    }
    let before = db.state.node(4u64).unwrap().unwrap();
    assert_eq!(before.history.iter().map(|e| e.what.as_str()).collect::<Vec<_>>(), ["registered"]);

    assert_eq!(db.says_as(Some("ops"), AT, change(MemberChange::Promote)), "applied");
    assert_eq!(db.says_as(Some("root"), AT, change(MemberChange::TransferLeader)), "applied");
    let n = db.state.node(4u64).unwrap().unwrap();
    let seen: Vec<(&str, Option<&str>)> = n.history.iter().map(|e| (e.what.as_str(), e.by.as_deref())).collect();
    assert_eq!(seen, [("registered", None), ("promote", Some("ops")), ("transfer_leader", Some("root"))]);
    assert_eq!(n.version, before.version + 2);
    let audit = db.state.scan(Table::Audit, None, usize::MAX).unwrap();
    let last = audit.iter().rev().find_map(|r| match r {
        Record::Audit(a) => Some((a.command.clone(), a.target.clone(), a.actor.clone())),
        _ => None,
    });
    assert_eq!(last, Some(("change_member".into(), "node/4:transfer_leader".into(), Some("root".into()))));

    // An unknown node, and a retired one, are refused and change nothing.
    assert_eq!(
        db.says_as(Some("ops"), AT, Command::ChangeMember { node: 9, change: MemberChange::Remove }),
        "node.not_found"
    );
    db.ok(Command::RetireNode { id: 4 });
    let retired = db.state.node(4u64).unwrap().unwrap();
    assert_eq!(retired.history.last().map(|e| e.what.as_str()), Some("retired"));
    assert_eq!(db.says_as(Some("ops"), AT, change(MemberChange::Promote)), "node.closed");
    assert_eq!(db.state.node(4u64).unwrap().unwrap(), retired);

    // The history keeps the newest events only.
    db.ok(Command::RegisterNode { id: 5, http: "http://n5".into(), grpc: "n5:1".into() });
    for _ in 0..MAX_HISTORY + 5 {
        db.says_as(Some("ops"), AT, Command::ChangeMember { node: 5, change: MemberChange::TransferLeader });
    }
    let h = db.state.node(5u64).unwrap().unwrap().history;
    assert_eq!(h.len(), MAX_HISTORY);
    assert!(h.iter().all(|e| e.what == "transfer_leader"), "the oldest (registered) went first");
    assert_eq!(MemberChange::parse("remove"), Some(MemberChange::Remove));
    assert_eq!(MemberChange::parse("halt"), None);
}

#[test]
fn a_majority_is_more_than_half_of_the_voters() {
    use super::keeps_majority;
    assert!(keeps_majority(1, 1));
    assert!(!keeps_majority(2, 1), "two voters need both");
    assert!(keeps_majority(2, 2));
    assert!(keeps_majority(3, 2));
    assert!(!keeps_majority(4, 2));
    assert!(!keeps_majority(0, 0));
}

mod invitations {
    use super::super::MemberChange;
    use super::super::invitations::{InvitationFields, InvitationState, JoinAs};
    use crate::testing::*;

    const SECRET: &str = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
    const CERT: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn invite(node: u64, join_as: JoinAs, hours: i64) -> Command {
        Command::CreateInvitation(InvitationFields {
            node,
            name: format!("laptop-{node}"),
            join_as,
            expires_at: AT + time::Duration::hours(hours),
            secret_sha256: SECRET.into(),
        })
    }

    fn join(node: u64, secret: &str) -> Command {
        Command::JoinCluster {
            node,
            secret_sha256: secret.into(),
            http: format!("http://n{node}"),
            grpc: format!("n{node}:1"),
            cert_sha256: CERT.into(),
        }
    }

    fn db() -> Db {
        let mut db = seeded();
        for (id, role) in [("nurse", Role::Staff), ("ops", Role::Ops), ("root", Role::Admin)] {
            db.ok(Command::CreateUser(user(id, role, &[])));
        }
        db
    }

    #[test]
    fn ops_and_admins_invite_a_node_which_joins_once_with_the_secret_before_it_expires() {
        let mut db = db();
        for who in ["nurse", "anna.lind"] {
            assert_eq!(db.says_as(Some(who), AT, invite(4, JoinAs::Voter, 1)), "invitation.forbidden", "{who}");
        }
        assert_eq!(db.says_as(Some("ops"), AT, invite(4, JoinAs::Voter, 1)), "applied");
        // The node id is reserved: a second invitation for it, or for a node in the directory, is refused.
        assert_eq!(db.says_as(Some("root"), AT, invite(4, JoinAs::Learner, 1)), "invitation.already_exists");
        db.ok(Command::RegisterNode { id: 2, http: "http://n2".into(), grpc: "n2:1".into() });
        assert_eq!(db.says_as(Some("ops"), AT, invite(2, JoinAs::Voter, 1)), "node.already_exists");
        // Expiry within a week, in the future.
        assert_eq!(
            db.says_as(Some("ops"), AT, invite(5, JoinAs::Voter, 0)),
            "invitation.invalid expires_at out_of_range"
        );
        assert_eq!(
            db.says_as(Some("ops"), AT, invite(5, JoinAs::Voter, 24 * 8)),
            "invitation.invalid expires_at out_of_range"
        );

        // Only the cluster itself proposes a join; a wrong secret changes nothing.
        assert_eq!(db.says_as(Some("ops"), AT, join(4, SECRET)), "invitation.forbidden");
        let wrong = "0".repeat(64);
        assert_eq!(db.says_as(None, AT, join(4, &wrong)), "invitation.forbidden");
        assert_eq!(db.state.invitation(4u64).unwrap().unwrap().state(AT), InvitationState::Open);
        assert_eq!(db.says_as(None, AT, join(4, SECRET)), "applied");
        let inv = db.state.invitation(4u64).unwrap().unwrap();
        assert_eq!(inv.state(AT), InvitationState::Used);
        assert_eq!(inv.cert_sha256.as_deref(), Some(CERT));
        assert_eq!(inv.created.by.as_deref(), Some("ops"));
        let n = db.state.node(4u64).unwrap().unwrap();
        assert_eq!((n.http.as_str(), n.grpc.as_str()), ("http://n4", "n4:1"));
        assert_eq!(n.history.last().unwrap().what, "joined_by_invitation");
        // Used once: the same secret again is refused, with words saying why.
        assert_eq!(db.says_as(None, AT, join(4, SECRET)), "invitation.closed");
        assert!(inv.refusal(AT).unwrap().contains("used already"), "{:?}", inv.refusal(AT));
        // A voter-to-be may be promoted.
        assert_eq!(
            db.says_as(Some("ops"), AT, Command::ChangeMember { node: 4, change: MemberChange::Promote }),
            "applied"
        );
    }

    #[test]
    fn expired_and_revoked_invitations_are_refused_and_a_revoked_nodes_certificate_is_named() {
        let mut db = db();
        db.says_as(Some("ops"), AT, invite(5, JoinAs::Learner, 1));
        let later = AT + time::Duration::hours(2);
        assert_eq!(db.says_as(None, later, join(5, SECRET)), "invitation.closed");
        let inv = db.state.invitation(5u64).unwrap().unwrap();
        assert_eq!(inv.state(later), InvitationState::Expired);
        assert!(inv.refusal(later).unwrap().contains("expired"));
        assert!(db.state.node(5u64).unwrap().is_none(), "nothing joined");

        db.says_as(Some("ops"), AT, invite(6, JoinAs::Voter, 1));
        assert_eq!(db.says_as(Some("nurse"), AT, Command::RevokeInvitation { node: 6 }), "invitation.forbidden");
        assert_eq!(db.says_as(Some("root"), AT, Command::RevokeInvitation { node: 6 }), "applied");
        assert_eq!(db.says_as(None, AT, join(6, SECRET)), "invitation.closed");
        let inv = db.state.invitation(6u64).unwrap().unwrap();
        assert!(inv.refusal(AT).unwrap().contains("revoked by root"), "{:?}", inv.refusal(AT));
        assert_eq!(inv.revoked_cert(), None, "never used: no certificate to refuse");
        assert_eq!(db.says_as(Some("ops"), AT, Command::RevokeInvitation { node: 6 }), "invitation.closed");

        // A read-only replica joins, is never promoted, and its certificate is revoked.
        db.says_as(Some("ops"), AT, invite(7, JoinAs::Learner, 1));
        assert_eq!(db.says_as(None, AT, join(7, SECRET)), "applied");
        let promote = Command::ChangeMember { node: 7, change: MemberChange::Promote };
        assert_eq!(db.says_as(Some("root"), AT, promote), "node.forbidden");
        assert_eq!(db.says_as(Some("ops"), AT, Command::RevokeInvitation { node: 7 }), "applied");
        let inv = db.state.invitation(7u64).unwrap().unwrap();
        assert_eq!(inv.revoked_cert(), Some(CERT));
        assert_eq!(db.state.node(7u64).unwrap().unwrap().history.last().unwrap().what, "certificate_revoked");
        assert_eq!(db.says_as(Some("ops"), AT, Command::RevokeInvitation { node: 9 }), "invitation.not_found");
    }
}

/// Break-glass: two different active ops or admin accounts (or the shell's operator), the old
/// members retired for good (ids the directory never held too), the survivor's history naming
/// who confirmed it.
#[test]
fn a_forced_new_cluster_needs_two_different_ops_or_admin_accounts_and_retires_the_old_members() {
    let mut db = seeded();
    for (id, role) in [("nurse", Role::Staff), ("ops", Role::Ops), ("root", Role::Admin), ("ops2", Role::Ops)] {
        db.ok(Command::CreateUser(user(id, role, &[])));
    }
    for id in 1..=3 {
        db.ok(Command::RegisterNode { id, http: format!("http://n{id}"), grpc: format!("n{id}:1") });
    }
    db.ok(Command::RetireNode { id: 3 });
    let force = |by: &[&str]| Command::ForceNewCluster {
        survivor: 1,
        retired: vec![2, 3, 7],
        confirmed_by: by.iter().map(|s| (*s).to_owned()).collect(),
    };
    // Checked without state: the survivor is not retired, two accounts are two.
    assert!(validate(&force(&["ops", "ops"])).is_err());
    assert!(validate(&force(&["ops"])).is_err());
    let bad = Command::ForceNewCluster { survivor: 1, retired: vec![1, 2], confirmed_by: vec![] };
    assert!(validate(&bad).is_err());
    // Refused, nothing changed: one account alone, an actor not among those who confirmed, a
    // staff member's word, a disabled account's.
    for (actor, by, said) in [
        ("ops", &["ops", "ops"][..], "node.invalid confirmed_by duplicate"),
        ("ops", &["ops"][..], "node.invalid confirmed_by out_of_range"),
        ("root", &["ops", "ops2"][..], "node.forbidden"),
        ("nurse", &["nurse", "ops"][..], "node.forbidden"),
        ("ops", &["ops", "nurse"][..], "node.forbidden"),
    ] {
        assert_eq!(db.says_as(Some(actor), AT, force(by)), said, "{actor} {by:?}");
    }
    db.ok(Command::SetUserDisabled { user_id: "ops2".into(), disabled: true });
    assert_eq!(db.says_as(Some("ops"), AT, force(&["ops2", "ops"])), "node.forbidden");
    assert!(!db.state.node(2u64).unwrap().unwrap().retired, "a refusal retires nobody");
    // The shell's operator names nobody else.
    assert_eq!(db.says(force(&["ops", "root"])), "node.invalid confirmed_by mismatch");

    assert_eq!(db.says_as(Some("root"), AT, force(&["ops", "root"])), "applied");
    for id in [2u64, 7] {
        let n = db.state.node(id).unwrap().unwrap();
        assert!(n.retired, "node {id}");
        let last = n.history.last().unwrap();
        assert_eq!((last.what.as_str(), last.by.as_deref()), ("retired_by_recovery", Some("ops, root")));
    }
    assert_eq!(db.state.node(3u64).unwrap().unwrap().history.last().unwrap().what, "retired", "already retired");
    let survivor = db.state.node(1u64).unwrap().unwrap();
    assert!(!survivor.retired);
    assert_eq!(survivor.history.last().unwrap().what, "forced_new_cluster");
    // A retired id is never registered again.
    assert_eq!(
        db.says(Command::RegisterNode { id: 7, http: "http://x".into(), grpc: "x:1".into() }),
        "node.already_exists"
    );
    // From the shell, without anyone's word.
    let mut shell = seeded();
    shell.ok(Command::RegisterNode { id: 4, http: "http://n4".into(), grpc: "n4:1".into() });
    assert_eq!(shell.says(Command::ForceNewCluster { survivor: 5, retired: vec![4], confirmed_by: vec![] }), "applied");
    assert!(shell.state.node(4u64).unwrap().unwrap().retired);
}
