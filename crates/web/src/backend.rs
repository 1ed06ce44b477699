//! The narrow port between the web layer and the node: read local state, submit a command,
//! describe the cluster.

use domain::{Command, CommandId, StateView, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Everything the web layer may ask of a node.
pub trait Backend: Send + Sync + 'static {
    /// This node's applied state; may lag the leader (see [`ClusterStatus`]).
    fn view(&self) -> Arc<dyn StateView + Send + Sync>;

    /// Proposes `cmd` under `id`, on behalf of user `actor`, and returns once this node has
    /// applied it, so the caller reads its own write here. Retrying with the same `id` never
    /// applies the command twice.
    fn submit(
        &self,
        id: CommandId,
        cmd: Command,
        actor: Option<String>,
    ) -> BoxFuture<'_, Result<Submitted, SubmitError>>;

    /// Waits until this node has applied everything the leader had committed when asked
    /// (a linearizable read barrier).
    fn read_barrier(&self) -> BoxFuture<'_, Result<(), SubmitError>>;

    fn cluster(&self) -> ClusterStatus;

    /// Whether the node serves HTTPS, so cookies must be marked `Secure`.
    fn secure_cookies(&self) -> bool;

    /// The applied index and a digest of the whole applied state at that index (costly: reads
    /// everything).
    fn state_digest(&self) -> Result<(u64, String), domain::StateError>;

    /// Prometheus text exposition of the node's metrics.
    fn metrics(&self) -> String;

    /// The node's search and list index (owned by the node, one per node).
    fn read_model(&self) -> &crate::read_model::ReadModel;
}

#[derive(Clone, Debug)]
pub struct Submitted {
    pub verdict: Verdict,
    pub log_index: u64,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum SubmitError {
    /// No leader could be reached in time; nothing was saved.
    #[error("no leader reachable: {0}")]
    NoLeader(String),
    /// The command was sent but no answer came in time; it may or may not be saved.
    /// Retrying with the same id is safe.
    #[error("no answer in time: {0}")]
    Timeout(String),
    #[error("{0}")]
    Internal(String),
}

/// How fresh a read must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// This node's state as it is (the default).
    Local,
    /// Wait until this node has caught up with what the leader has committed.
    Linearizable,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MemberInfo {
    pub http: String,
    pub grpc: String,
}

/// What a node knows about the cluster; served as `GET /api/v1/cluster`.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterStatus {
    pub node_id: u64,
    /// `leader`, `follower`, `candidate`, `learner` or `shutdown`.
    pub role: String,
    pub leader_id: Option<u64>,
    pub term: u64,
    pub last_log_index: u64,
    pub last_applied_index: u64,
    pub snapshot_index: Option<u64>,
    pub purged_index: Option<u64>,
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
    pub nodes: BTreeMap<u64, MemberInfo>,
    /// Whether this node is in contact with a quorum (leader: quorum acknowledged recently;
    /// others: heard from a leader recently).
    pub quorum: bool,
    /// Milliseconds since this node last heard from a quorum (leader) or the leader (others).
    pub millis_since_quorum: Option<u64>,
    /// On the leader: how many entries each follower is behind.
    pub lag: BTreeMap<u64, u64>,
    /// With `?digest=true`: SHA-256 of the applied state and the index it reflects; equal on
    /// nodes at the same index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_digest: Option<StateDigest>,
    pub initialized: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StateDigest {
    pub applied_index: u64,
    pub sha256: String,
}
