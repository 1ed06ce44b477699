//! Failover drill reports (`beredd drill`): kept in the replicated state so that the ops page
//! of every node lists past drills, and each prints as a PDF for the binder.

pub(crate) mod rules;

use crate::check::{check_id, text};
use crate::rejection::Problem;
use crate::{Kind, Rejection};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A node as the drill saw it before or after the fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillNode {
    pub id: u64,
    pub http: String,
    pub reachable: bool,
    pub role: String,
    pub leader_id: Option<u64>,
    pub term: u64,
    pub last_applied_index: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillWrites {
    pub acknowledged: u64,
    /// Known not saved (no majority, refused, node down).
    pub failed: u64,
    /// No clear answer (timed out); `unknown_landed` of them turned out to be saved.
    pub unknown: u64,
    pub unknown_landed: u64,
    /// Acknowledged, yet missing on a node afterwards. Must be 0.
    pub lost: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillReport {
    /// `drill-YYYYMMDD-HHMMSS-xxxx`: sorts by time.
    pub id: crate::ids::DrillId,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// What was done, e.g. "kill leader 2".
    pub action: String,
    pub old_leader: u64,
    pub new_leader: Option<u64>,
    /// From the fault until another node served as leader.
    pub without_leader_ms: Option<u64>,
    /// From the fault until the first acknowledged write sent after it.
    pub first_ack_ms: Option<u64>,
    pub writes: DrillWrites,
    #[serde(default)]
    pub lost_ids: Vec<String>,
    pub drill_orders_cancelled: u64,
    pub before: Vec<DrillNode>,
    pub after: Vec<DrillNode>,
    pub ok: bool,
    /// Who recorded it (set when applied).
    #[serde(default)]
    pub recorded_by: Option<String>,
}

const MAX_NODES: usize = 64;
const MAX_LOST_IDS: usize = 1000;
