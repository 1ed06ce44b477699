//! The cluster service: forwarded client writes (on the leader), status, read index and
//! membership changes for the `beredd cluster` CLI.

use crate::proto::enc;
use crate::proto::pb::cluster::cluster_service_server::ClusterService;
use crate::proto::pb::cluster::{
    AddLearnerRequest, BackupChunk, BackupRequest, ElectReply, ElectRequest, ForwardReply, ForwardRequest,
    IsolateRequest, JoinReply, JoinRequest, MembershipReply, NodeRequest, StatusReply, StatusRequest,
};
use crate::server::Server;
use crate::server::batcher::ProposeError;
use crate::server::peers::{self, Caller, NODES, OPERATORS, PeerRole};
use std::sync::Arc;
use tonic::{Request, Response, Status};

pub struct ClusterSvc {
    pub server: Arc<Server>,
}

fn not_leader(server: &Server) -> Status {
    let leader = server.raft.metrics().borrow().current_leader;
    Status::failed_precondition(format!("node {} is not the leader (leader: {leader:?})", server.id))
}

impl ClusterSvc {
    /// The caller, if its certificate's role is among `allowed` (see `peers`).
    fn caller<T>(&self, req: &Request<T>, allowed: &[PeerRole], call: &str) -> Result<Caller, Status> {
        peers::require(req, &self.server.gate, allowed, call)
    }

    fn is_leader(&self) -> bool {
        let m = self.server.raft.metrics().borrow().clone();
        m.current_leader == Some(self.server.id)
    }

    fn membership_reply(&self) -> Response<MembershipReply> {
        Response::new(MembershipReply { json: serde_json::to_vec(&self.server.status()).unwrap_or_default() })
    }
}

#[tonic::async_trait]
impl ClusterService for ClusterSvc {
    type BackupStream = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<BackupChunk, Status>> + Send>>;

    async fn backup(&self, req: Request<BackupRequest>) -> Result<Response<Self::BackupStream>, Status> {
        use tokio::io::AsyncReadExt;
        let caller = self.caller(&req, OPERATORS, "Backup")?;
        self.server.record_call(&caller, "Backup", "");
        let path = self.server.write_backup().await.map_err(|e| Status::internal(format!("{e:#}")))?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let sent = async {
                let mut f = tokio::fs::File::open(&path).await?;
                let total_bytes = f.metadata().await?.len();
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = f.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    if tx.send(Ok(BackupChunk { total_bytes, data: buf[..n].to_vec() })).await.is_err() {
                        return Ok(());
                    }
                }
            };
            if let Err(e) = sent.await as std::io::Result<()> {
                let _ = tx.send(Err(Status::internal(e.to_string()))).await;
            }
            let _ = tokio::fs::remove_file(&path).await;
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }

    /// Only nodes forward writes: the envelope names its actor, so an operator certificate that
    /// could forward would stand for any user (and, with no actor, for the cluster itself).
    async fn forward(&self, req: Request<ForwardRequest>) -> Result<Response<ForwardReply>, Status> {
        self.caller(&req, NODES, "Forward")?;
        let env = domain::codec::decode_envelope(&req.into_inner().envelope)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        if self.server.net.isolation.active() {
            return Err(super::isolation::Isolation::refused());
        }
        // A leader handing over takes no new writes: the sender retries at the next leader.
        if !self.is_leader() || self.server.is_transferring() {
            return Err(not_leader(&self.server));
        }
        let t = self.server.cfg.write_timeout();
        let env_cmd = env.cmd.clone();
        match tokio::time::timeout(t, self.server.batcher.propose(env)).await {
            Ok(Ok(p)) => {
                self.server.wake_dispatcher_after(&env_cmd);
                Ok(Response::new(ForwardReply { log_index: p.log_index, verdict: enc(&p.verdict) }))
            }
            Ok(Err(ProposeError::NotLeader)) => Err(not_leader(&self.server)),
            Ok(Err(ProposeError::Failed(e))) => Err(Status::internal(e)),
            Err(_) => Err(Status::deadline_exceeded("the leader got no majority in time")),
        }
    }

    async fn status(&self, req: Request<StatusRequest>) -> Result<Response<StatusReply>, Status> {
        self.caller(&req, OPERATORS, "Status")?;
        let json = serde_json::to_vec(&self.server.status()).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(StatusReply { json }))
    }

    async fn join(&self, req: Request<JoinRequest>) -> Result<Response<JoinReply>, Status> {
        // No certificate to check: the invitation's secret is the credential (see `invitations`).
        let client = req.remote_addr().map(|a| a.ip().to_string()).unwrap_or_default();
        Ok(Response::new(self.server.join(req.into_inner(), &client).await?))
    }

    async fn read_index(&self, req: Request<StatusRequest>) -> Result<Response<ForwardReply>, Status> {
        self.caller(&req, NODES, "ReadIndex")?;
        if !self.is_leader() {
            return Err(not_leader(&self.server));
        }
        let index = self.server.read_index().await.map_err(Status::unavailable)?;
        Ok(Response::new(ForwardReply { log_index: index, verdict: Vec::new() }))
    }

    async fn add_learner(&self, req: Request<AddLearnerRequest>) -> Result<Response<MembershipReply>, Status> {
        let caller = self.caller(&req, OPERATORS, "AddLearner")?;
        let r = req.into_inner();
        self.server.record_call(&caller, "AddLearner", &format!("node {} at {} / {}", r.node_id, r.http, r.grpc));
        if !self.is_leader() {
            return Err(not_leader(&self.server));
        }
        if r.node_id == 0 || r.http.is_empty() || r.grpc.is_empty() {
            return Err(Status::invalid_argument("node id, http and grpc addresses are required"));
        }
        self.server.add_learner(r.node_id, r.http, r.grpc).await.map_err(Status::failed_precondition)?;
        Ok(self.membership_reply())
    }

    async fn promote(&self, req: Request<NodeRequest>) -> Result<Response<MembershipReply>, Status> {
        let caller = self.caller(&req, OPERATORS, "Promote")?;
        self.server.record_call(&caller, "Promote", &format!("node {}", req.get_ref().node_id));
        if !self.is_leader() {
            return Err(not_leader(&self.server));
        }
        self.server.promote(req.into_inner().node_id).await.map_err(Status::failed_precondition)?;
        Ok(self.membership_reply())
    }

    async fn remove(&self, req: Request<NodeRequest>) -> Result<Response<MembershipReply>, Status> {
        let caller = self.caller(&req, OPERATORS, "Remove")?;
        self.server.record_call(&caller, "Remove", &format!("node {}", req.get_ref().node_id));
        if !self.is_leader() {
            return Err(not_leader(&self.server));
        }
        self.server.remove(req.into_inner().node_id).await.map_err(Status::failed_precondition)?;
        Ok(self.membership_reply())
    }

    async fn transfer_leader(&self, req: Request<NodeRequest>) -> Result<Response<MembershipReply>, Status> {
        let caller = self.caller(&req, OPERATORS, "TransferLeader")?;
        self.server.record_call(&caller, "TransferLeader", &format!("node {}", req.get_ref().node_id));
        if !self.is_leader() {
            return Err(not_leader(&self.server));
        }
        self.server.transfer_leader(req.into_inner().node_id).await.map_err(Status::failed_precondition)?;
        Ok(self.membership_reply())
    }

    async fn halt(&self, req: Request<StatusRequest>) -> Result<Response<StatusReply>, Status> {
        let caller = self.caller(&req, OPERATORS, "Halt")?;
        self.server.record_call(&caller, "Halt", "");
        tracing::warn!("halting at once on request (failover drill): no hand-over, no clean shutdown");
        tokio::spawn(async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            std::process::exit(137);
        });
        let json = serde_json::to_vec(&self.server.status()).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(StatusReply { json }))
    }

    async fn isolate(&self, req: Request<IsolateRequest>) -> Result<Response<StatusReply>, Status> {
        let caller = self.caller(&req, OPERATORS, "Isolate")?;
        let secs = req.into_inner().seconds;
        self.server.record_call(&caller, "Isolate", &format!("{secs} s"));
        if !(1..=300).contains(&secs) {
            return Err(Status::invalid_argument("a cut lasts 1 to 300 seconds"));
        }
        tracing::warn!(secs, "cut off from the other nodes for a failover drill");
        self.server.net.isolation.cut_for(std::time::Duration::from_secs(secs));
        let json = serde_json::to_vec(&self.server.status()).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(StatusReply { json }))
    }

    async fn set_elect(&self, req: Request<ElectRequest>) -> Result<Response<ElectReply>, Status> {
        let caller = self.caller(&req, OPERATORS, "SetElect")?;
        let r = req.into_inner();
        let (enable, now) = (r.enable, r.enable && r.now);
        if now && caller.role != PeerRole::Node {
            return Err(Status::permission_denied("only the leader handing over may ask a node to campaign"));
        }
        self.server.record_call(
            &caller,
            "SetElect",
            if now {
                "campaign now"
            } else if enable {
                "on"
            } else {
                "off"
            },
        );
        self.server.allow_elect(enable);
        if now {
            self.server.raft.trigger().elect().await.map_err(|e| Status::internal(e.to_string()))?;
        }
        if !enable {
            // A safety net: should the leader that asked never say "back to normal" (it crashed,
            // the network broke), this node campaigns again on its own after a while.
            let server = self.server.clone();
            let after = std::time::Duration::from_millis(self.server.cfg.raft.election_max_ms * 10);
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                server.allow_elect(true);
            });
        }
        Ok(Response::new(ElectReply {}))
    }
}
