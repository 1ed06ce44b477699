//! The receiving side of Raft traffic. Snapshots are written to a file, their checksum is
//! verified, and only then handed to openraft (a bad transfer is refused; it never reaches the
//! state machine).

use crate::proto::pb::raft::raft_service_server::RaftService;
use crate::proto::pb::raft::{Payload, SnapshotChunk, snapshot_chunk::Part};
use crate::proto::{dec, enc};
use crate::server::LeaderContact;
use openraft::raft::AppendEntriesRequest;
use openraft::{Snapshot, SnapshotMeta, Vote};
use raft_store::{NodeAddr, NodeId, Raft, TypeConfig};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tonic::{Request, Response, Status, Streaming};

pub struct RaftSvc {
    pub raft: Raft,
    pub contact: Arc<LeaderContact>,
    pub isolation: Arc<super::isolation::Isolation>,
    /// Whether the node runs with `[tls]`: then only node certificates may send Raft traffic.
    pub tls: bool,
}

impl RaftSvc {
    /// Refuses while a drill cuts this node off, and any caller that is not a node.
    fn admit<T>(&self, req: &Request<T>, call: &str) -> Result<(), Status> {
        super::peers::require(req, self.tls, super::peers::NODES, call)?;
        if self.isolation.active() { Err(super::isolation::Isolation::refused()) } else { Ok(()) }
    }
}

#[tonic::async_trait]
impl RaftService for RaftSvc {
    async fn append_entries(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
        self.admit(&req, "AppendEntries")?;
        let rpc: AppendEntriesRequest<TypeConfig> = dec(&req.into_inner().data)?;
        let res = self.raft.append_entries(rpc).await;
        if matches!(&res, Ok(r) if !matches!(r, openraft::raft::AppendEntriesResponse::HigherVote(_))) {
            self.contact.touch();
        }
        Ok(Response::new(Payload { data: enc(&res) }))
    }

    async fn vote(&self, req: Request<Payload>) -> Result<Response<Payload>, Status> {
        self.admit(&req, "Vote")?;
        let rpc = dec(&req.into_inner().data)?;
        let res = self.raft.vote(rpc).await;
        Ok(Response::new(Payload { data: enc(&res) }))
    }

    async fn install_snapshot(&self, req: Request<Streaming<SnapshotChunk>>) -> Result<Response<Payload>, Status> {
        self.admit(&req, "InstallSnapshot")?;
        let mut stream = req.into_inner();
        let (vote, meta): (Vote<NodeId>, SnapshotMeta<NodeId, NodeAddr>) = match stream.message().await? {
            Some(SnapshotChunk { part: Some(Part::Header(h)) }) => dec(&h)?,
            _ => return Err(Status::invalid_argument("snapshot stream must start with a header")),
        };
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
