//! The replicated node directory: which node ids exist, their addresses, and which are retired.
//! Also the cluster's own bookkeeping of old command replies: what [`expired_commands`] finds,
//! the leader forgets with [`crate::Command::ForgetCommands`].

pub mod invitations;
pub(crate) mod rules;
#[cfg(test)]
mod tests;

use crate::ids::CommandId;
use crate::model::AuditSeq;
use crate::state::{KeyId, Record, StateError, StateView, Table};
use time::OffsetDateTime;

/// Command ids one [`crate::Command::ForgetCommands`] may name.
pub const MAX_FORGET: usize = 500;

/// Old members one [`crate::Command::ForceNewCluster`] may retire.
pub const MAX_RETIRED: usize = 100;

/// Events a node's history keeps (the oldest go first).
pub const MAX_HISTORY: usize = 50;

/// A member change ops staff may ask for (see [`crate::Command::ChangeMember`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberChange {
    /// A caught-up learner becomes a voter.
    Promote,
    /// The member leaves the cluster; its id is retired.
    Remove,
    /// The leader hands leadership to this voter.
    TransferLeader,
}

impl MemberChange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Promote => "promote",
            Self::Remove => "remove",
            Self::TransferLeader => "transfer_leader",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Promote, Self::Remove, Self::TransferLeader].into_iter().find(|c| c.as_str() == s)
    }
}

/// Whether `answering` of `voters` voters are a majority of them (a cluster with no voters has
/// none): a member is removed only when the voters left keep one.
pub fn keeps_majority(voters: usize, answering: usize) -> bool {
    voters > 0 && answering > voters / 2
}

/// One line of a node's history: when, who (none: the cluster itself) and what (`registered`,
/// `retired`, `joined_by_invitation`, `certificate_revoked`, `retired_by_recovery`,
/// `forced_new_cluster`, or a [`MemberChange`] asked for).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    pub what: String,
}

/// The first log index whose commands were taken at or after `time` (by their audit lines,
/// which carry the clock of the node that took each): every command below it is older. 0 for an
/// empty trail. A few dozen seeks, whatever the trail's length.
pub fn index_at(view: &dyn StateView, time: OffsetDateTime) -> Result<u64, StateError> {
    // Whether the first line at index `i` or later (if any) is older than `time`.
    let older = |i: u64| -> Result<bool, StateError> {
        let after = i.checked_sub(1).map(|p| format!("{}/", AuditSeq::from(p).key_text()));
        Ok(match view.scan(Table::Audit, after.as_deref(), 1)?.first() {
            Some(Record::Audit(a)) => a.at < time,
            _ => false,
        })
    };
    if !older(0)? {
        return Ok(0);
    }
    // `older(lo)` holds and `older(hi)` does not: widen, then halve.
    let (mut lo, mut hi) = (0u64, 1u64);
    while older(hi)? {
        lo = hi;
        hi = hi.saturating_mul(2);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if older(mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(hi)
}

/// The ids of commands carried below `below_index`, among up to `scan` command records after
/// the id `after`; and where to go on from (`None`: the end of the table was reached).
pub fn expired_commands(
    view: &dyn StateView,
    below_index: u64,
    after: Option<&str>,
    scan: usize,
) -> Result<(Vec<CommandId>, Option<String>), StateError> {
    let batch = view.scan_keyed(Table::Command, after, scan)?;
    let full = batch.len() == scan;
    let prefix = Table::Command.prefix().len();
    let mut ids = Vec::new();
    let mut last = None;
    for (key, rec) in batch {
        let Some(id) = key.get(prefix..).and_then(|k| std::str::from_utf8(k).ok()) else { continue };
        if let Record::Command(c) = rec
            && c.log_index < below_index
        {
            ids.push(CommandId::new(id));
        }
        last = Some(id.to_owned());
    }
    Ok((ids, if full { last } else { None }))
}
