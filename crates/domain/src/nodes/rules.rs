//! How the node directory changes: a node registers its addresses, and a retired node's id is
//! never used again. Also the cluster's own bookkeeping of old command replies.

use crate::check::{Outcome, text};
use crate::command::{Command, Envelope, Verdict};
use crate::model::NodeRecord;
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
        Command::RetireNode { .. } | Command::ChangeMember { .. } => Ok(()),
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
            n.version += 1;
            note(&mut n, env, change.as_str());
            let version = n.version;
            ch.put(Key::Node(*node), Record::Node(n));
            Ok(Ok(Verdict::Applied { kind: Kind::Node, id: node.to_string(), version }))
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
