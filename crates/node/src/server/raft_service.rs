//! The receiving side of Raft traffic. Snapshots are written to a file, their checksum is
//! verified, and only then handed to openraft (a bad transfer is refused; it never reaches the
//! state machine).

use crate::proto::pb::raft::raft_service_server::RaftService;
use crate::proto::pb::raft::{Payload, SnapshotChunk, snapshot_chunk::Part};
use crate::proto::{dec, enc};
use crate::server::LeaderContact;
use openraft::{Snapshot, SnapshotMeta, Vote};
use raft_store::{NodeAddr, NodeId, Raft};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tonic::{Request, Response, Status, Streaming};

pub struct RaftSvc {
    pub raft: Raft,
    pub contact: Arc<LeaderContact>,
    pub isolation: Arc<super::isolation::Isolation>,
    /// With `[tls]`, only node certificates (not revoked) may send Raft traffic.
    pub gate: super::peers::Gate,
    /// The leader lease (`[raft] election_max_ms`): how long without a leader means none.
    pub lease_ms: u64,
    /// Off while a hand-over lets only its target campaign.
    pub elect_on: Arc<std::sync::atomic::AtomicBool>,
    /// The node directory, for the words of a refusal to a retired node (see `retired.rs`).
    pub view: raft_store::RocksView,
}

impl RaftSvc {
    /// Refuses while a drill cuts this node off, and any caller that is not a node.
    fn admit<T>(&self, req: &Request<T>, call: &str) -> Result<(), Status> {
        super::peers::require(req, &self.gate, super::peers::NODES, call)?;
        if self.isolation.active() { Err(super::isolation::Isolation::refused()) } else { Ok(()) }
    }

    /// Refuses a call from a node whose id the cluster retired, saying so (a lookup in the
    /// gate's set; the directory is read only to word a refusal).
    fn from(&self, sender: NodeId) -> Result<(), Status> {
        if !self.gate.retired.contains(sender) {
            return Ok(());
        }
        tracing::warn!(node = sender, "refused a Raft call from a retired node");
        Err(super::retired::refusal(&self.view, sender))
    }

    /// Called after refusing a candidate whose log is behind ours. It cannot win while we are
    /// up, and it campaigns because it lost the leader; if we have not heard from one for a
    /// lease either, we campaign at once instead of waiting out our own timeout. openraft 0.9
    /// does not adopt the refused candidate's term, and the candidate voted for itself in it,
    /// so we go one term past it (each `elect` is one term up; at most three steps).
    async fn campaign_past(&self, their_term: u64) {
        if !self.elect_on.load(std::sync::atomic::Ordering::Relaxed)
            || self.contact.millis_since().is_some_and(|ms| ms < self.lease_ms)
        {
            return;
        }
        let (ours, state) = {
            let m = self.raft.metrics().borrow().clone();
            (m.current_term, m.state)
        };
        if state == openraft::ServerState::Leader {
            return;
        }
        let steps = (their_term + 1).saturating_sub(ours).min(3);
        if steps > 0 {
            tracing::info!(their_term, ours, "a candidate with a shorter log asked for our vote; campaigning now");
        }
        for _ in 0..steps {
            if self.raft.trigger().elect().await.is_err() {
                return;
            }
        }
    }
}

#[tonic::async_trait]
impl RaftService for RaftSvc {
    async fn append_entries(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
        self.admit(&req, "AppendEntries")?;
        let rpc = raft_store::codec::decode_append_entries(&req.into_inner().data)
            .map_err(|e| Status::invalid_argument(format!("payload: {e}")))?;
        self.from(rpc.vote.leader_id().voted_for().unwrap_or_default())?;
        let res = self.raft.append_entries(rpc).await;
        if matches!(&res, Ok(r) if !matches!(r, openraft::raft::AppendEntriesResponse::HigherVote(_))) {
            self.contact.touch();
        }
        Ok(Response::new(Payload { data: enc(&res) }))
    }

    async fn vote(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
        self.admit(&req, "Vote")?;
        let rpc: openraft::raft::VoteRequest<NodeId> = dec(&req.into_inner().data)?;
        self.from(rpc.vote.leader_id().voted_for().unwrap_or_default())?;
        let (their_term, their_last) = (rpc.vote.leader_id().term, rpc.last_log_id);
        let res = self.raft.vote(rpc).await;
        if let Ok(r) = &res
            && !r.vote_granted
            && r.last_log_id > their_last
        {
            self.campaign_past(their_term).await;
        }
        Ok(Response::new(Payload { data: enc(&res) }))
    }

    async fn install_snapshot(&self, req: Request<Streaming<SnapshotChunk>>) -> Result<Response<Payload>, Status> {
        self.admit(&req, "InstallSnapshot")?;
        let mut stream = req.into_inner();
        let (vote, meta): (Vote<NodeId>, SnapshotMeta<NodeId, NodeAddr>) = match stream.message().await? {
            Some(SnapshotChunk { part: Some(Part::Header(h)) }) => dec(&h)?,
            _ => return Err(Status::invalid_argument("snapshot stream must start with a header")),
        };
        self.from(vote.leader_id().voted_for().unwrap_or_default())?;
        let data = self.raft.begin_receiving_snapshot().await.map_err(|e| Status::internal(e.to_string()))?;
        let path = data.path.clone();
        let result = async {
            let mut f = tokio::fs::File::create(&path).await.map_err(|e| Status::internal(e.to_string()))?;
            while let Some(msg) = stream.message().await? {
                match msg.part {
                    Some(Part::Chunk(bytes)) => {
                        f.write_all(&bytes).await.map_err(|e| Status::internal(e.to_string()))?
                    }
                    _ => return Err(Status::invalid_argument("unexpected header in snapshot stream")),
                }
            }
            f.sync_all().await.map_err(|e| Status::internal(e.to_string()))?;
            let p = path.clone();
            tokio::task::spawn_blocking(move || raft_store::verify_snapshot(&p))
                .await
                .map_err(|e| Status::internal(e.to_string()))?
                .map_err(|e| Status::data_loss(format!("snapshot refused: {e}")))
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        self.contact.touch();
        let res = self.raft.install_full_snapshot(vote, Snapshot { meta, snapshot: data }).await;
        Ok(Response::new(Payload { data: enc(&res) }))
    }
}
