//! Who is in the cluster and changing it: a learner added (recorded in the node directory
//! first, so an id is never reused), promoted once it has caught up, a member removed (only
//! when the voters left keep a majority that answers; its id retired), and — for `/ops` — every
//! member asked for its state, and a change asked for on any node carried out on the leader.

use super::Server;
use crate::proto::pb::cluster::NodeRequest;
use crate::proto::pb::cluster::cluster_service_client::ClusterServiceClient;
use domain::nodes::MemberChange;
use domain::{Command, CommandId, Verdict};
use openraft::ChangeMembers;
use raft_store::{NodeAddr, NodeId};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use web::MemberState;

/// A learner further behind the leader than this many entries is not promoted yet: as a voter
/// it would slow every commit until it caught up.
const PROMOTE_MAX_LAG: u64 = 1_000;

/// How long `/ops` waits for a member's answer.
const PROBE: Duration = Duration::from_millis(1500);

impl Server {
    /// Adds a learner, recording it in the node directory first; refuses a reused id.
    pub async fn add_learner(&self, id: NodeId, http: String, grpc: String) -> Result<(), String> {
        let _guard =
            self.membership_lock.try_lock().map_err(|_| "another membership change is in progress".to_owned())?;
        let m = self.metrics_now();
        if m.membership_config.membership().get_node(&id).is_some() {
            return Err(format!("node {id} is already a member"));
        }
        let cmd = Command::RegisterNode { id, http: http.clone(), grpc: grpc.clone() };
        let s = self
            .submit(CommandId::new(format!("node.register:{id}:{}", uuid::Uuid::new_v4())), cmd, None)
            .await
            .map_err(|e| e.to_string())?;
        if let Verdict::Rejected { rejection } = s.verdict {
            return Err(match rejection {
                domain::Rejection::AlreadyExists { .. } => {
                    format!("node id {id} was used before and removed; ids are never reused")
                }
                other => other.to_string(),
            });
        }
        self.raft.add_learner(id, NodeAddr { http, grpc }, false).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    pub async fn promote(&self, id: NodeId) -> Result<(), String> {
        let _guard =
            self.membership_lock.try_lock().map_err(|_| "another membership change is in progress".to_owned())?;
        let m = self.metrics_now();
        let mem = m.membership_config.membership();
        if mem.voter_ids().any(|v| v == id) {
            return Err(format!("node {id} is already a voter"));
        }
        if !mem.learner_ids().any(|v| v == id) {
            return Err(format!("node {id} is not a learner; add it with add-learner first"));
        }
        let matched = m.replication.as_ref().and_then(|r| r.get(&id).copied().flatten()).map_or(0, |l| l.index);
        let behind = m.last_log_index.unwrap_or(0).saturating_sub(matched);
        if behind > PROMOTE_MAX_LAG {
            return Err(format!(
                "node {id} is still catching up ({behind} entries behind); promote it once it has caught up"
            ));
        }
        self.raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    pub async fn remove(&self, id: NodeId) -> Result<(), String> {
        let _guard =
            self.membership_lock.try_lock().map_err(|_| "another membership change is in progress".to_owned())?;
        if id == self.id {
            return Err(format!(
                "node {id} is the leader; stop it so another node takes over, then remove it from there"
            ));
        }
        let m = self.metrics_now();
        let mem = m.membership_config.membership();
        let change = if mem.voter_ids().any(|v| v == id) {
            // The new configuration must reach a majority of its own voters, or the change (and
            // every write after it) would wait for nodes that do not answer.
            let left: BTreeSet<NodeId> = mem.voter_ids().filter(|v| *v != id).collect();
            let answering = self.answering_voters(&left);
            if !domain::nodes::keeps_majority(left.len(), answering) {
                return Err(format!(
                    "refused: without node {id}, only {answering} of the {} voters left answer, not a majority; \
                     start the missing nodes (or remove those first) and try again",
                    left.len()
                ));
            }
            ChangeMembers::RemoveVoters(BTreeSet::from([id]))
        } else if mem.learner_ids().any(|v| v == id) {
            ChangeMembers::RemoveNodes(BTreeSet::from([id]))
        } else {
            return Err(format!("node {id} is not a member"));
        };
        self.raft.change_membership(change, false).await.map_err(|e| e.to_string())?;
        let cmd = Command::RetireNode { id };
        self.submit(CommandId::new(format!("node.retire:{id}")), cmd, None).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Free space in this node's data folder, in bytes.
    pub(crate) fn disk_free(&self) -> Option<u64> {
        rustix::fs::statvfs(&self.cfg.node.data_dir).ok().map(|s| s.f_bavail.saturating_mul(s.f_frsize))
    }

    /// Every member as this node sees it now: each asked for its status at once (a member that
    /// does not answer within [`PROBE`] is shown as silent, with when it last answered).
    pub async fn members(&self) -> Vec<MemberState> {
        let st = self.status();
        let asks = st.nodes.iter().map(|(id, m)| {
            let (id, grpc) = (*id, m.grpc.clone());
            async move {
                if id == self.id {
                    return (id, serde_json::to_value(self.status()).ok());
                }
                let answer = self.peer_status(&grpc, PROBE).await.ok();
                if answer.is_some() {
                    self.net.heard_from(id);
                }
                (id, answer)
            }
        });
        let answers: BTreeMap<NodeId, Option<serde_json::Value>> =
            futures::future::join_all(asks).await.into_iter().collect();
        let newest = answers
            .values()
            .flatten()
            .filter_map(|v| v["last_log_index"].as_u64())
            .chain([st.last_log_index])
            .max()
            .unwrap_or(0);
        st.nodes
            .iter()
            .map(|(id, m)| {
                let answer = answers.get(id).cloned().flatten();
                let applied = answer.as_ref().and_then(|v| v["last_applied_index"].as_u64());
                MemberState {
                    id: *id,
                    http: m.http.clone(),
                    grpc: m.grpc.clone(),
                    voter: st.voters.contains(id),
                    leader: st.leader_id == Some(*id),
                    reachable: answer.is_some(),
                    millis_since_contact: if *id == self.id { Some(0) } else { self.net.millis_since_heard(*id) },
                    lag: st.lag.get(id).copied().or_else(|| applied.map(|a| newest.saturating_sub(a))),
                    applied_index: applied,
                    version: answer.as_ref().and_then(|v| v["version"].as_str().map(str::to_owned)),
                    disk_free_bytes: answer.as_ref().and_then(|v| v["disk_free_bytes"].as_u64()),
                }
            })
            .collect()
    }

    /// Carries out `change` of `node` on the leader: here if this node leads, else asked of the
    /// leader over gRPC (with this node's certificate).
    pub async fn change_member(&self, node: NodeId, change: MemberChange) -> Result<(), String> {
        let Some(mut c) = self.leader_client()? else {
            return match change {
                MemberChange::Promote => self.promote(node).await,
                MemberChange::Remove => self.remove(node).await,
                MemberChange::TransferLeader => self.transfer_leader(node).await,
            };
        };
        let mut req = tonic::Request::new(NodeRequest { node_id: node });
        req.set_timeout(Duration::from_secs(60));
        let reply = match change {
            MemberChange::Promote => c.promote(req).await,
            MemberChange::Remove => c.remove(req).await,
            MemberChange::TransferLeader => c.transfer_leader(req).await,
        };
        reply.map(|_| ()).map_err(|s| s.message().to_owned())
    }

    /// The leader's cluster service, asked with this node's certificate; `None` when this node
    /// leads (the caller acts here).
    pub(crate) fn leader_client(&self) -> Result<Option<ClusterServiceClient<tonic::transport::Channel>>, String> {
        let leader = self.metrics_now().current_leader.ok_or("no leader right now; try again in a moment")?;
        if leader == self.id {
            return Ok(None);
        }
        let grpc = self.grpc_of(leader).ok_or("the leader's address is not known here")?;
        Ok(Some(ClusterServiceClient::new(self.net.channel(&grpc).map_err(|e| e.to_string())?)))
    }

    /// The voters that answered within an election timeout (a follower silent for longer would
    /// have started an election); this node counts when it votes.
    fn answering_voters(&self, voters: &BTreeSet<NodeId>) -> usize {
        let window = self.cfg.raft.election_min_ms;
        voters
            .iter()
            .filter(|v| **v == self.id || self.net.millis_since_heard(**v).is_some_and(|ms| ms <= window))
            .count()
    }
}
