//! How the node directory changes: a node registers its addresses, and a retired node's id is
//! never used again. Also the cluster's own bookkeeping of old command replies.

use crate::check::{Outcome, text};
use crate::command::{Command, Envelope, Verdict};
use crate::model::NodeRecord;
use crate::nodes::invitations::{Invitation, InvitationState, JoinAs, Stamp};
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};

/// Adds `what` to the node's history, by the command's actor, dropping the oldest beyond
/// [`super::MAX_HISTORY`].
fn note(n: &mut NodeRecord, env: &Envelope, what: &str) {
    n.history.push(super::NodeEvent { at: env.at, by: env.actor.clone(), what: what.to_owned() });
    let over = n.history.len().saturating_sub(super::MAX_HISTORY);
    n.history.drain(..over);
}

/// Checks what can be checked without state (see [`crate::apply::validate`]).
pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::RegisterNode { id, http, grpc } => {
            if *id == 0 {
                return Err(Rejection::invalid(Kind::Node, "id", Problem::OutOfRange));
            }
            text(Kind::Node, "http", http, true)?;
            text(Kind::Node, "grpc", grpc, true).map(|_| ())
        }
        Command::RetireNode { .. } | Command::ChangeMember { .. } | Command::RevokeInvitation { .. } => Ok(()),
        Command::ForceNewCluster { survivor, retired, confirmed_by } => {
            let k = Kind::Node;
            if *survivor == 0 || retired.iter().any(|r| *r == 0 || r == survivor) {
                return Err(Rejection::invalid(k, "retired", Problem::OutOfRange));
            }
            if retired.len() > super::MAX_RETIRED {
                return Err(Rejection::invalid(k, "retired", Problem::TooMany));
            }
            // None (the shell's operator) or two different accounts.
            match confirmed_by.as_slice() {
                [] => Ok(()),
                [a, b] if a != b => Ok(()),
                [_, _] => Err(Rejection::invalid(k, "confirmed_by", Problem::Duplicate)),
                _ => Err(Rejection::invalid(k, "confirmed_by", Problem::OutOfRange)),
            }
        }
        Command::CreateInvitation(f) => {
            let k = Kind::Invitation;
            if f.node == 0 {
                return Err(Rejection::invalid(k, "node", Problem::OutOfRange));
            }
            let name = text(k, "name", &f.name, true)?;
            if name.chars().count() > 64 {
                return Err(Rejection::invalid(k, "name", Problem::TooLong));
            }
            if !super::invitations::is_sha256_hex(&f.secret_sha256) {
                return Err(Rejection::invalid(k, "secret_sha256", Problem::BadFormat));
            }
            Ok(())
        }
        Command::JoinCluster { node, secret_sha256, http, grpc, cert_sha256 } => {
            let k = Kind::Invitation;
            if *node == 0 {
                return Err(Rejection::invalid(k, "node", Problem::OutOfRange));
            }
            for (field, v) in [("secret_sha256", secret_sha256), ("cert_sha256", cert_sha256)] {
                if !super::invitations::is_sha256_hex(v) {
                    return Err(Rejection::invalid(k, field, Problem::BadFormat));
                }
            }
            text(k, "http", http, true)?;
            text(k, "grpc", grpc, true).map(|_| ())
        }
        Command::ForgetCommands { ids, .. } if ids.len() > super::MAX_FORGET => {
            Err(Rejection::invalid(Kind::Node, "ids", Problem::TooMany))
        }
        Command::ForgetCommands { .. } => Ok(()),
        other => Err(Rejection::invalid(other.kind(), "type", Problem::UnknownCode)),
    }
}

/// Applies one of this area's commands (the router in [`crate::apply`] sends only those).
pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Outcome, StateError> {
    match &env.cmd {
        Command::RegisterNode { id, http, grpc } => {
            let version = match view.node(*id)? {
                Some(n) if n.retired => {
                    return Ok(Err(Rejection::AlreadyExists { kind: Kind::Node, id: id.to_string() }));
                }
                Some(n) => n.version + 1,
                None => 1,
            };
            let history = view.node(*id)?.map(|n| n.history).unwrap_or_default();
            let mut rec =
                NodeRecord { id: *id, http: http.clone(), grpc: grpc.clone(), retired: false, version, history };
            note(&mut rec, env, "registered");
            ch.put(Key::Node(*id), Record::Node(rec));
            Ok(Ok(Verdict::Applied { kind: Kind::Node, id: id.to_string(), version }))
        }
        Command::RetireNode { id } => {
            let Some(mut n) = view.node(*id)? else {
                return Ok(Err(Rejection::NotFound { kind: Kind::Node, id: id.to_string() }));
            };
            n.retired = true;
            n.version += 1;
            note(&mut n, env, "retired");
            let version = n.version;
            ch.put(Key::Node(*id), Record::Node(n));
            Ok(Ok(Verdict::Applied { kind: Kind::Node, id: id.to_string(), version }))
        }
        Command::ChangeMember { node, change } => {
            let Some(mut n) = view.node(*node)? else {
                return Ok(Err(Rejection::NotFound { kind: Kind::Node, id: node.to_string() }));
            };
            if n.retired {
                return Ok(Err(Rejection::Closed { kind: Kind::Node, id: node.to_string() }));
            }
            let read_only = view.invitation(*node)?.is_some_and(|i| i.fields.join_as == JoinAs::Learner);
            if *change == crate::nodes::MemberChange::Promote && read_only {
                let why = format!("promote node {node}: it was invited as a read-only replica");
                return Ok(Err(Rejection::Forbidden { kind: Kind::Node, why }));
            }
            n.version += 1;
            note(&mut n, env, change.as_str());
            let version = n.version;
            ch.put(Key::Node(*node), Record::Node(n));
            Ok(Ok(Verdict::Applied { kind: Kind::Node, id: node.to_string(), version }))
        }
        Command::CreateInvitation(f) => {
            let (k, id) = (Kind::Invitation, f.node.to_string());
            if view.invitation(f.node)?.is_some() {
                return Ok(Err(Rejection::AlreadyExists { kind: k, id }));
            }
            if view.node(f.node)?.is_some() {
                return Ok(Err(Rejection::AlreadyExists { kind: Kind::Node, id }));
            }
            if f.expires_at <= env.at || f.expires_at > env.at + super::invitations::MAX_VALID {
                return Ok(Err(Rejection::invalid(k, "expires_at", Problem::OutOfRange)));
            }
            let stamp = Stamp { at: env.at, by: env.actor.clone() };
            let inv = Invitation {
                fields: f.clone(),
                created: stamp,
                used: None,
                cert_sha256: None,
                revoked: None,
                version: 1,
            };
            ch.put(Key::Invitation(f.node), Record::Invitation(inv));
            Ok(Ok(Verdict::Applied { kind: k, id, version: 1 }))
        }
        Command::JoinCluster { node, secret_sha256, http, grpc, cert_sha256 } => {
            let (k, id) = (Kind::Invitation, node.to_string());
            let Some(mut inv) = view.invitation(*node)? else {
                return Ok(Err(Rejection::NotFound { kind: k, id }));
            };
            if inv.state(env.at) != InvitationState::Open {
                return Ok(Err(Rejection::Closed { kind: k, id }));
            }
            if inv.fields.secret_sha256 != *secret_sha256 {
                return Ok(Err(Rejection::Forbidden { kind: k, why: "use an invitation without its secret".into() }));
            }
            let mut rec = match view.node(*node)? {
                Some(n) if n.retired => return Ok(Err(Rejection::Closed { kind: Kind::Node, id })),
                Some(n) => NodeRecord { http: http.clone(), grpc: grpc.clone(), version: n.version + 1, ..n },
                None => NodeRecord {
                    id: *node,
                    http: http.clone(),
                    grpc: grpc.clone(),
                    retired: false,
                    version: 1,
                    history: Vec::new(),
                },
            };
            note(&mut rec, env, "joined_by_invitation");
            ch.put(Key::Node(*node), Record::Node(rec));
            inv.used = Some(Stamp { at: env.at, by: None });
            inv.cert_sha256 = Some(cert_sha256.clone());
            inv.version += 1;
            let version = inv.version;
            ch.put(Key::Invitation(*node), Record::Invitation(inv));
            Ok(Ok(Verdict::Applied { kind: k, id, version }))
        }
        Command::RevokeInvitation { node } => {
            let (k, id) = (Kind::Invitation, node.to_string());
            let Some(mut inv) = view.invitation(*node)? else {
                return Ok(Err(Rejection::NotFound { kind: k, id }));
            };
            if inv.revoked.is_some() {
                return Ok(Err(Rejection::Closed { kind: k, id }));
            }
            inv.revoked = Some(Stamp { at: env.at, by: env.actor.clone() });
            inv.version += 1;
            let version = inv.version;
            if inv.used.is_some()
                && let Some(mut n) = view.node(*node)?
            {
                n.version += 1;
                note(&mut n, env, "certificate_revoked");
                ch.put(Key::Node(*node), Record::Node(n));
            }
            ch.put(Key::Invitation(*node), Record::Invitation(inv));
            Ok(Ok(Verdict::Applied { kind: k, id, version }))
        }
        Command::ForceNewCluster { survivor, retired, confirmed_by } => {
            force_new_cluster(view, env, *survivor, retired, confirmed_by, ch)
        }
        Command::ForgetCommands { below_index, ids } => {
            let mut forgotten = 0u64;
            for id in ids {
                if view.command(id.clone())?.is_some_and(|c| c.log_index < *below_index) {
                    ch.0.push((Key::Command(id.clone()), None));
                    forgotten += 1;
                }
            }
            Ok(Ok(Verdict::Applied { kind: Kind::Node, id: env.cmd.target(), version: forgotten }))
        }
        other => Ok(Err(Rejection::invalid(other.kind(), "type", Problem::UnknownCode))),
    }
}

/// Break-glass: the old members are retired (also ids the directory never held, so they are
/// never taken again), and the survivor's history says who confirmed it. Confirmed on `/ops`,
/// it needs two different active ops or admin accounts, the actor one of them; the shell's
/// operator (no actor) had the node's disk in hand.
fn force_new_cluster(
    view: &dyn StateView,
    env: &Envelope,
    survivor: u64,
    retired: &[u64],
    confirmed_by: &[String],
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let k = Kind::Node;
    if let Some(actor) = &env.actor {
        if confirmed_by.len() != 2 || !confirmed_by.contains(actor) {
            return Ok(Err(Rejection::Forbidden {
                kind: k,
                why: "force a new cluster without a second account".into(),
            }));
        }
        for who in confirmed_by {
            let may = view.user(who.as_str())?.is_some_and(|u| {
                u.is_active(env.at) && matches!(u.role, crate::model::Role::Ops | crate::model::Role::Admin)
            });
            if !may {
                let why =
                    format!("force a new cluster on the word of {who}, who is not an active ops or admin account");
                return Ok(Err(Rejection::Forbidden { kind: k, why }));
            }
        }
    } else if !confirmed_by.is_empty() {
        return Ok(Err(Rejection::invalid(k, "confirmed_by", Problem::Mismatch)));
    }
    let by = if confirmed_by.is_empty() { env.actor.clone() } else { Some(confirmed_by.join(", ")) };
    let event = |what: &str| super::NodeEvent { at: env.at, by: by.clone(), what: what.to_owned() };
    let push = |n: &mut NodeRecord, e: super::NodeEvent| {
        n.history.push(e);
        let over = n.history.len().saturating_sub(super::MAX_HISTORY);
        n.history.drain(..over);
    };
    for id in retired {
        let mut n = match view.node(*id)? {
            Some(n) if n.retired => continue,
            Some(n) => NodeRecord { version: n.version + 1, ..n },
            None => NodeRecord {
                id: *id,
                http: String::new(),
                grpc: String::new(),
                retired: false,
                version: 1,
                history: Vec::new(),
            },
        };
        n.retired = true;
        push(&mut n, event("retired_by_recovery"));
        ch.put(Key::Node(*id), Record::Node(n));
    }
    let version = match view.node(survivor)? {
        Some(mut n) => {
            n.version += 1;
            push(&mut n, event("forced_new_cluster"));
            let v = n.version;
            ch.put(Key::Node(survivor), Record::Node(n));
            v
        }
        None => 0,
    };
    Ok(Ok(Verdict::Applied { kind: k, id: survivor.to_string(), version }))
}
