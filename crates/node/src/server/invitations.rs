//! Nodes joining by invitation (see `domain::nodes::invitations`): the `Join` call of a new
//! machine, answered by a node that holds the issuing key; the set of revoked certificates every
//! gRPC call is checked against; and what `/ops` needs to write an invitation.

use super::Server;
use crate::proto::pb::cluster::{AddLearnerRequest, JoinReply, JoinRequest};
use domain::{Command, CommandId, StateView, StateViewExt, Table, Verdict};
use sha2::Digest;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tonic::Status;

/// Largest certificate request taken (a P-256 or RSA-4096 request is well under 4 KiB).
const MAX_CSR: usize = 16 << 10;
/// Most invitations read when the revoked set is rebuilt.
const MAX_INVITATIONS: usize = 10_000;
/// How often the revoked set is rebuilt from the replicated invitations.
/// Node records read for the retired ids (ids are never reused, so this bounds a lifetime).
const MAX_NODES: usize = 10_000;

const REFRESH: Duration = Duration::from_secs(1);

impl Server {
    /// The cluster CA (PEM) this node trusts, with `[tls]`.
    pub(crate) fn cluster_ca_pem(&self) -> Option<String> {
        std::fs::read_to_string(self.cfg.tls.ca.as_ref()?).ok()
    }

    /// What an invitation made here names: the cluster CA's fingerprint and every member's
    /// addresses, this node first (a node without the issuing key sends the new machine on to
    /// the next). `None` without `[tls]`: a node joins a cluster with certificates only.
    pub(crate) fn invitation_base(&self) -> Option<web::InvitationBase> {
        let ca_sha256 = crate::certs::fingerprint(&self.cluster_ca_pem()?).ok()?;
        let st = self.status();
        // This node first: it made the invitation, and it is up.
        let mut peers: Vec<(u64, web::InvitePeer)> = st
            .nodes
            .iter()
            .map(|(id, m)| (*id, web::InvitePeer { http: m.http.clone(), grpc: m.grpc.clone() }))
            .collect();
        peers.sort_by_key(|(id, _)| (*id != self.id, *id));
        let next_node = st.nodes.keys().chain(&st.voters).chain(&st.learners).copied().max().unwrap_or(0) + 1;
        Some(web::InvitationBase { ca_sha256, peers: peers.into_iter().map(|(_, p)| p).collect(), next_node })
    }

    /// Answers a new machine's `Join`: checks the invitation here first (for a clear answer),
    /// signs the certificate, has the cluster record the join (which decides, on every node
    /// alike, that the invitation is open and the secret right), then adds the node as a learner
    /// on the leader, and only then hands the certificate over.
    pub(crate) async fn join(&self, r: JoinRequest, client: &str) -> Result<JoinReply, Status> {
        let Some(issuing) = &self.issuing else {
            return Err(Status::failed_precondition(format!(
                "node {} holds no issuing key; ask another node of the invitation",
                self.id
            )));
        };
        if r.csr_pem.len() > MAX_CSR || r.secret.len() > 200 || r.http.len() > 500 || r.grpc.len() > 500 {
            return Err(Status::invalid_argument("the join request is too large"));
        }
        if r.http.is_empty() || r.grpc.is_empty() {
            return Err(Status::invalid_argument("the new node's http and grpc addresses are required"));
        }
        let node = r.node_id;
        let now = OffsetDateTime::now_utc();
        let refused = |why: String| {
            tracing::warn!(target: "beredd::audit", node, client, why, "join refused");
            Status::failed_precondition(why)
        };
        let inv = self
            .view
            .invitation(node)
            .map_err(|e| Status::internal(e.to_string()))?
            .ok_or_else(|| refused(format!("there is no invitation for node {node}; ask for a new one")))?;
        if let Some(why) = inv.refusal(now) {
            return Err(refused(why));
        }
        let secret_sha256 = hex::encode(sha2::Sha256::digest(r.secret.as_bytes()));
        // Hashes compared: timing tells nothing about the secret itself.
        if secret_sha256 != inv.fields.secret_sha256 {
            tracing::warn!(target: "beredd::audit", node, client, "join refused: wrong invitation secret");
            return Err(Status::permission_denied("the invitation's secret does not match; copy the whole invitation"));
        }
        let cert_pem = issuing.sign_node(node, &r.csr_pem).map_err(|e| Status::invalid_argument(format!("{e:#}")))?;
        let cert_sha256 = crate::certs::fingerprint(&cert_pem).map_err(|e| Status::internal(e.to_string()))?;
        let cmd = Command::JoinCluster {
            node,
            secret_sha256,
            http: r.http.clone(),
            grpc: r.grpc.clone(),
            cert_sha256: cert_sha256.clone(),
        };
        let id = CommandId::new(format!("node.join:{node}:{}", uuid::Uuid::new_v4()));
        let s = self.submit(id, cmd, None).await.map_err(|e| Status::unavailable(e.to_string()))?;
        if let Verdict::Rejected { rejection } = s.verdict {
            let words = self.view.invitation(node).ok().flatten().and_then(|i| i.refusal(now));
            return Err(refused(words.unwrap_or_else(|| rejection.to_string())));
        }
        tracing::info!(target: "beredd::audit", node, client, name = inv.fields.name, cert_sha256, "node joined by invitation");
        self.add_learner_on_leader(node, r.http, r.grpc).await.map_err(Status::unavailable)?;
        let ca_pem = self.cluster_ca_pem().ok_or_else(|| Status::internal("the cluster CA cannot be read"))?;
        Ok(JoinReply { cert_pem, ca_pem })
    }

    /// Adds a learner on the leader: here if this node leads, else by asking the leader.
    async fn add_learner_on_leader(&self, id: u64, http: String, grpc: String) -> Result<(), String> {
        let Some(mut c) = self.leader_client()? else {
            return self.add_learner(id, http, grpc).await;
        };
        let mut req = tonic::Request::new(AddLearnerRequest { node_id: id, http, grpc });
        req.set_timeout(Duration::from_secs(30));
        c.add_learner(req).await.map(|_| ()).map_err(|s| s.message().to_owned())
    }

    /// Keeps the gate current: the revoked certificates (from the replicated invitations) and
    /// the retired node ids (from the node directory), reread every [`REFRESH`] when anything
    /// was applied since, so a certificate revoked or a node retired on any node is refused here
    /// within a second.
    pub(crate) fn spawn_gate_refresh(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut read_at = None;
            loop {
                let Some(server) = me.upgrade() else { return };
                let applied = server.metrics_now().last_applied;
                if applied != read_at {
                    match server.refresh_gate() {
                        Ok(()) => read_at = applied,
                        Err(e) => tracing::warn!("reading revoked certificates and retired nodes: {e}"),
                    }
                }
                drop(server);
                tokio::time::sleep(REFRESH).await;
            }
        });
    }

    /// Rereads what the gate refuses.
    pub(crate) fn refresh_gate(&self) -> Result<(), domain::StateError> {
        self.gate.revoked.replace(self.revoked_now()?);
        let retired = self
            .view
            .scan(Table::Node, None, MAX_NODES)?
            .into_iter()
            .filter_map(|r| match r {
                domain::Record::Node(n) if n.retired => Some(n.id),
                _ => None,
            })
            .collect();
        self.gate.retired.replace(retired);
        Ok(())
    }

    fn revoked_now(&self) -> Result<HashSet<[u8; 32]>, domain::StateError> {
        let mut set = HashSet::new();
        for rec in self.view.scan(Table::Invitation, None, MAX_INVITATIONS)? {
            if let domain::Record::Invitation(inv) = rec
                && let Some(fp) = inv.revoked_cert()
                && let Ok(bytes) = hex::decode(fp)
                && let Ok(arr) = <[u8; 32]>::try_from(bytes)
            {
                set.insert(arr);
            }
        }
        Ok(set)
    }
}
