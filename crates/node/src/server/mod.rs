//! One running node: storage, openraft, the gRPC and HTTP servers, and the write path
//! (propose on the leader or forward to it, then wait until this node has applied the entry).

mod access_log;
mod batcher;
mod break_glass;
mod cluster_service;
pub mod crl;
pub mod disk_probe;
pub mod dispatcher;
mod drills;
mod forget;
pub mod https;
mod invitations;
pub mod isolation;
mod members;
pub mod metrics;
mod offline_copies;
mod oidc;
pub mod outbound;
pub mod outbox;
pub mod peers;
mod raft_network;
mod raft_service;
mod retired;
mod saml;
pub mod sms;
pub mod transfer;

use crate::config::Config;
use crate::proto::pb::cluster::cluster_service_client::ClusterServiceClient;
use crate::proto::pb::cluster::cluster_service_server::ClusterServiceServer;
use crate::proto::pb::cluster::{ForwardRequest, StatusRequest};
use crate::proto::pb::raft::raft_service_server::RaftServiceServer;
use crate::server::cluster_service::ClusterSvc;
use crate::server::metrics::Metrics;
use crate::server::raft_network::Network;
use crate::server::raft_service::RaftSvc;
use anyhow::{Context, Result};
use domain::{Command, CommandId, Envelope, Verdict};
use openraft::{ServerState, SnapshotPolicy};
use raft_store::{NodeAddr, NodeId, Raft, RocksView};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use web::{ClusterStatus, MemberInfo, SubmitError, Submitted};

/// When a follower last heard from a leader (an accepted append or snapshot).
pub struct LeaderContact {
    start: Instant,
    last_ms: AtomicU64,
}

impl LeaderContact {
    fn new() -> Self {
        Self { start: Instant::now(), last_ms: AtomicU64::new(u64::MAX) }
    }

    pub fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Milliseconds since this node started.
    pub(crate) fn millis_since_start(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn millis_since(&self) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        (last != u64::MAX)
            .then(|| u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX).saturating_sub(last))
    }
}

/// One running node. Its fields are this module's own: the gRPC services, the outbox, the
/// dispatcher and the hand-over (all under `server/`) reach them; everything else goes
/// through methods or `web::Backend`.
pub struct Server {
    id: NodeId,
    cfg: Config,
    raft: Raft,
    /// Group commit: every proposal goes through it (see `batcher.rs`).
    batcher: batcher::Batcher,
    view: RocksView,
    net: Network,
    contact: Arc<LeaderContact>,
    /// One membership change at a time.
    membership_lock: tokio::sync::Mutex<()>,
    metrics: Metrics,
    /// The web layer's search and list index of this node's state.
    read_model: documents::ReadModel,
    /// Commands taken while no leader was reachable (see `outbox.rs`).
    outbox: raft_store::OutboxStore,
    /// One outbox change at a time (queueing, a person's answer, the forwarder's bookkeeping).
    outbox_lock: tokio::sync::Mutex<()>,
    outbox_wake: tokio::sync::Notify,
    /// Set while this leader hands over (see `transfer.rs`): it takes no new writes.
    transferring: std::sync::atomic::AtomicBool,
    /// The mail server connection the dispatcher sends e-mail jobs through, when configured.
    mailer: Option<crate::server::dispatcher::Mailer>,
    /// The one outbound HTTP client (webhooks), guarded against reaching the local network.
    outbound: outbound::Outbound,
    /// The SMS routes the dispatcher sends text-message jobs through, when configured.
    sms: Option<Arc<sms::Sms>>,
    /// Logins through OpenID Connect providers (through `outbound`).
    oidc: oidc::Oidc,
    saml: saml::SamlSp,
    /// Logins and logouts on this node.
    access: access_log::AccessLog,
    /// Logins and logouts on their way into the replicated audit trail (see `access_log`).
    access_tx: tokio::sync::mpsc::Sender<web::AccessEvent>,
    /// The smart-card CA's revocation lists (`http.client_crl`).
    crl: crl::CrlWatch,
    /// Wakes the leader's dispatcher at once when a write made a job due (see `dispatcher`).
    dispatch_wake: Arc<tokio::sync::Notify>,
    /// The job of each text message this node sent (`route:id` → job), so a delivery receipt
    /// finds its job without reading every job (see `dispatcher`).
    sent_refs: std::sync::Mutex<std::collections::HashMap<String, domain::DispatchId>>,
    /// Late units this node (as leader) has reminded, or found nobody to remind, by unit and
    /// due time.
    reports_reminded: std::sync::Mutex<std::collections::HashSet<(domain::UnitId, i64)>>,
    /// Set when the disk's measured sync time is too slow for the `[raft]` timings.
    disk_warning: Option<String>,
    /// The failover drill this node started last, from `/ops` (see `drills.rs`).
    drill: drills::LastDrill,
    /// Whether this node may campaign (off while another node takes over in a hand-over).
    elect_on: Arc<AtomicBool>,
    /// Who may call the gRPC services (`[tls]`, revoked certificates).
    gate: peers::Gate,
    /// The issuing CA that signs the certificates of nodes joining by invitation, when this
    /// node holds it (`tls.issuing_cert`).
    issuing: Option<crate::certs::IssuingKey>,
    /// Break-glass confirmations made on this node (see `break_glass.rs`).
    break_glass: std::sync::Mutex<break_glass::Ledger>,
    /// Why this node must stop serving: it restarts as a new cluster, or it was retired.
    stop_tx: Arc<tokio::sync::watch::Sender<Option<Stop>>>,
}

/// Why a node stops by itself (see [`Server::run`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Two accounts confirmed a forced new cluster: restart and carry it out.
    ForceNewCluster,
    /// A member of its cluster says this node was retired: its data belongs to the old cluster.
    Retired(String),
}

fn raft_config(cfg: &Config) -> Result<openraft::Config> {
    let r = &cfg.raft;
    let c = openraft::Config {
        cluster_name: "beredd".into(),
        heartbeat_interval: r.heartbeat_ms,
        election_timeout_min: r.election_min_ms,
        election_timeout_max: r.election_max_ms,
        install_snapshot_timeout: r.snapshot_timeout_ms,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(r.snapshot_logs),
        max_in_snapshot_log_to_keep: r.keep_logs,
        ..Default::default()
    };
    c.validate().context("invalid Raft timings")
}

/// Reads `[saml]`'s key pair (refused at start when unreadable, rather than at the first login).
fn saml_settings(s: &crate::config::SamlSection) -> Result<saml::SpSettings> {
    let read = |p: &std::path::Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
    Ok(saml::SpSettings { entity_id: s.entity_id.clone(), cert_pem: read(&s.cert)?, key_pem: read(&s.key)? })
}

impl Server {
    /// Opens storage, starts Raft and both servers, and initialises the cluster if this node is
    /// the bootstrap node of a brand-new cluster. Returns when the servers are listening.
    pub async fn start(cfg: Config) -> Result<Arc<Self>> {
        retired::refuse_start(&cfg.node.data_dir)?;
        let c = cfg.clone();
        let ledger = tokio::task::spawn_blocking(move || break_glass::carry_out_decision(&c)).await??;
        let break_glass = std::sync::Mutex::new(ledger);
        let store = raft_store::open(&cfg.node.data_dir)
            .with_context(|| format!("opening storage in {}", cfg.node.data_dir.display()))?;
        let tls = cfg.tls_files();
        let client_tls = tls.as_ref().map(|t| t.client()).transpose().context("loading TLS files")?;
        let server_tls = tls.as_ref().map(|t| t.server()).transpose().context("loading TLS files")?;
        let stop_tx = Arc::new(tokio::sync::watch::Sender::new(None));
        let net = Network::new(
            Duration::from_millis(cfg.raft.snapshot_timeout_ms),
            Duration::from_millis(cfg.raft.rpc_timeout_ms),
            client_tls,
            stop_tx.clone(),
        );
        let mailer =
            cfg.smtp.as_ref().map(crate::server::dispatcher::Mailer::new).transpose().context("setting up [smtp]")?;
        let policy = outbound::Policy::from_config(&cfg.outbound).map_err(anyhow::Error::msg)?;
        let outbound = outbound::Outbound::new(policy);
        let saml_settings = cfg.saml.as_ref().map(saml_settings).transpose().context("setting up [saml]")?;
        let (sms, sms_inbound) = match cfg.sms.as_ref().map(|s| sms::Sms::new(s, &outbound)) {
            Some((sms, inbound)) => (Some(Arc::new(sms)), Some(inbound)),
            None => (None, None),
        };
        let (access_tx, access_rx) = tokio::sync::mpsc::channel(access_log::QUEUE);
        // Before Raft starts, while nothing else writes: how slow can this disk's syncs be?
        let dir = cfg.node.data_dir.clone();
        let probe = tokio::task::spawn_blocking(move || disk_probe::DiskProbe::measure(&dir)).await;
        let disk_warning = match probe.map_err(std::io::Error::other).and_then(|r| r) {
            Ok(p) => {
                tracing::info!(
                    median_ms = p.median.as_secs_f64() * 1e3,
                    max_ms = p.max.as_secs_f64() * 1e3,
                    "disk sync measured"
                );
                p.warning(cfg.raft.election_min_ms)
            }
            Err(e) => Some(format!("could not measure the disk's sync time: {e}")),
        };
        if let Some(w) = &disk_warning {
            tracing::warn!("{w}");
        }
        let issuing = match (&cfg.tls.issuing_cert, &cfg.tls.issuing_key) {
            (Some(c), Some(k)) => Some(crate::certs::IssuingKey::load(c, k).context("loading tls.issuing_cert")?),
            _ => None,
        };
        let rc = Arc::new(raft_config(&cfg)?);
        let raft = Raft::new(cfg.node.id, rc, net.clone(), store.log, store.sm).await.context("starting Raft")?;
        let server = Arc::new(Server {
            id: cfg.node.id,
            raft: raft.clone(),
            batcher: batcher::Batcher::start(raft.clone()),
            view: store.view,
            net,
            contact: Arc::new(LeaderContact::new()),
            membership_lock: tokio::sync::Mutex::new(()),
            metrics: Metrics::new(),
            read_model: documents::ReadModel::default(),
            outbox: store.outbox,
            outbox_lock: tokio::sync::Mutex::new(()),
            outbox_wake: tokio::sync::Notify::new(),
            transferring: std::sync::atomic::AtomicBool::new(false),
            mailer,
            oidc: oidc::Oidc::new(outbound.clone()),
            saml: saml::SamlSp::new(saml_settings, outbound.clone()),
            sms,
            outbound,
            access: access_log::AccessLog::new(&cfg.node.data_dir),
            access_tx,
            crl: crl::CrlWatch::new(cfg.http.client_crl.clone()),
            dispatch_wake: Arc::new(tokio::sync::Notify::new()),
            sent_refs: std::sync::Mutex::default(),
            reports_reminded: std::sync::Mutex::default(),
            disk_warning,
            drill: drills::LastDrill::default(),
            elect_on: Arc::new(AtomicBool::new(true)),
            gate: peers::Gate { tls: cfg.tls.ca.is_some(), ..peers::Gate::default() },
            issuing,
            break_glass,
            stop_tx,
            cfg,
        });

        // Before the gRPC port opens: a retired node's first call is refused too.
        server.refresh_gate().context("reading the node directory and invitations")?;
        let grpc_listener = tokio::net::TcpListener::bind(server.cfg.grpc.listen)
            .await
            .with_context(|| format!("binding gRPC address {}", server.cfg.grpc.listen))?;
        let http_listener = tokio::net::TcpListener::bind(server.cfg.http.listen)
            .await
            .with_context(|| format!("binding HTTP address {}", server.cfg.http.listen))?;

        let raft_svc = RaftServiceServer::new(RaftSvc {
            raft: raft.clone(),
            contact: server.contact.clone(),
            isolation: server.net.isolation.clone(),
            gate: server.gate.clone(),
            lease_ms: server.cfg.raft.election_max_ms,
            elect_on: server.elect_on.clone(),
            view: server.view.clone(),
        })
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
        let cluster_svc = ClusterServiceServer::new(ClusterSvc { server: server.clone() });
        // tonic ignores `tcp_nodelay` for a listener we bind ourselves: set it here, or Nagle holds
        // back a reply's last frame until the peer's delayed ACK (up to 40 ms on Linux).
        let incoming = tonic::transport::server::TcpIncoming::from(grpc_listener).with_nodelay(Some(true));
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = server_tls {
            builder = builder.tls_config(tls).context("configuring gRPC TLS")?;
        }
        tokio::spawn(async move {
            let res = builder.add_service(raft_svc).add_service(cluster_svc).serve_with_incoming(incoming).await;
            if let Err(e) = res {
                tracing::error!("gRPC server stopped: {e}");
            }
        });

        // `web::serve` hands each request its peer address (throttling and logins per client).
        let app = web::router(server.clone());
        match (&server.cfg.http.tls_cert, &server.cfg.http.tls_key) {
            (Some(cert), Some(key)) => {
                let crls = if server.crl.configured() {
                    server
                        .crl
                        .load()
                        .context("loading http.client_crl (a node does not start without its revocation lists)")?
                } else {
                    Vec::new()
                };
                let (tls, user_of, reloader) =
                    crate::server::https::tls(&server.cfg.http, cert, key, crls).context("setting up HTTPS")?;
                if server.crl.configured() {
                    server.spawn_crl_refresh(reloader);
                }
                let listener = http_listener.into_std()?;
                tokio::spawn(async move {
                    if let Err(e) = web::serve::https(listener, tls, user_of, app).await {
                        tracing::error!("HTTPS server stopped: {e}");
                    }
                });
            }
            _ => {
                tokio::spawn(async move {
                    if let Err(e) = web::serve::plain(http_listener, app).await {
                        tracing::error!("HTTP server stopped: {e}");
                    }
                });
            }
        }

        server.spawn_access_recorder(access_rx);
        server.bootstrap_if_new().await?;
        server.spawn_outbox_forwarder();
        server.spawn_dispatcher();
        if let Some(s) = &server.sms {
            s.spawn_probes();
        }
        if let Some(inbound) = sms_inbound {
            server.spawn_sms_inbound(inbound);
        }
        server.spawn_forgetter();
        server.spawn_gate_refresh();
        server.spawn_offline_copies();
        tracing::info!(node = server.id, http = %server.cfg.http.listen, grpc = %server.cfg.grpc.listen, "node started");
        Ok(server)
    }

    /// Serves until `stop` resolves (SIGINT/SIGTERM: a clean stop) or the node must stop by
    /// itself: once two accounts confirmed a forced new cluster it executes itself again (and
    /// carries it out before opening its database); a node its cluster retired ends with the
    /// reason, kept in its data folder so it never starts again with that data.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = Result<()>>) -> Result<()> {
        let mut why = self.stop_tx.subscribe();
        let why = tokio::select! {
            r = stop => { r?; None }
            r = why.wait_for(Option::is_some) => r.ok().and_then(|v| v.clone()),
        };
        match why {
            None => {
                tracing::info!("stopping");
                self.stop().await;
                Ok(())
            }
            Some(Stop::ForceNewCluster) => {
                // Let the page that confirmed it answer first.
                tokio::time::sleep(Duration::from_millis(300)).await;
                self.raft.shutdown().await.ok();
                let file = self.cfg.file.clone().context("no configuration file to restart with")?;
                Err(break_glass::exec_serve(&file))
            }
            Some(Stop::Retired(reason)) => {
                tracing::error!("{reason}");
                retired::remember(&self.cfg.node.data_dir, &reason);
                self.raft.shutdown().await.ok();
                Err(anyhow::anyhow!(reason))
            }
        }
    }

    /// Lets this node campaign, or not (a hand-over to another node turns it off).
    pub(crate) fn allow_elect(&self, on: bool) {
        self.raft.runtime_config().elect(on);
        self.elect_on.store(on, Ordering::Relaxed);
    }

    /// Initialises a new cluster once: only with `cluster.bootstrap`, only when this node has
    /// no Raft state, and only when no member already belongs to a cluster (so a wiped node
    /// cannot start a second cluster beside the first).
    async fn bootstrap_if_new(self: &Arc<Self>) -> Result<()> {
        if !self.cfg.cluster.bootstrap || self.raft.is_initialized().await.context("reading Raft state")? {
            return Ok(());
        }
        for m in self.cfg.cluster.members.iter().filter(|m| m.id != self.id) {
            if let Ok(status) = self.peer_status(&m.grpc, Duration::from_millis(800)).await
                && status.get("initialized").and_then(serde_json::Value::as_bool) == Some(true)
            {
                tracing::warn!(
                    peer = m.id,
                    "not initialising: node {} already belongs to a cluster; add this node with `beredd cluster add-learner`",
                    m.id
                );
                return Ok(());
            }
        }
        let members: BTreeMap<NodeId, NodeAddr> = self
            .cfg
            .cluster
            .members
            .iter()
            .map(|m| (m.id, NodeAddr { http: m.http.clone(), grpc: m.grpc.clone() }))
            .collect();
        tracing::info!(members = ?members.keys().collect::<Vec<_>>(), "initialising a new cluster");
        self.raft.initialize(members.clone()).await.context("initialising the cluster")?;
        // Once a leader exists: make the key that signs session cookies, and record the first
        // members in the node directory.
        let me = self.clone();
        tokio::spawn(async move {
            let (key_id, secret) = web::credentials::new_session_key();
            let mut first =
                vec![(CommandId::new("session-key:initial"), Command::AddSessionKey { key_id: key_id.into(), secret })];
            for (id, addr) in members {
                let cmd = Command::RegisterNode { id, http: addr.http, grpc: addr.grpc };
                first.push((CommandId::new(format!("node.register:{id}:initial")), cmd));
            }
            for (cmd_id, cmd) in first {
                for _ in 0..60 {
                    if me.submit(cmd_id.clone(), cmd.clone(), None).await.is_ok() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        });
        Ok(())
    }

    pub(crate) async fn peer_status(&self, grpc: &str, timeout: Duration) -> Result<serde_json::Value> {
        let mut c = ClusterServiceClient::new(self.net.channel(grpc)?);
        let mut req = tonic::Request::new(StatusRequest {});
        req.set_timeout(timeout);
        let reply = c.status(req).await?;
        Ok(serde_json::from_slice(&reply.into_inner().json)?)
    }

    fn metrics_now(&self) -> openraft::RaftMetrics<NodeId, NodeAddr> {
        // Clone at once: holding the borrow across an await deadlocks (openraft FAQ).
        self.raft.metrics().borrow().clone()
    }

    pub fn grpc_of(&self, id: NodeId) -> Option<String> {
        self.metrics_now().membership_config.membership().get_node(&id).map(|n| n.grpc.clone())
    }

    /// Proposes a client command and returns once this node has applied it.
    ///
    /// Tries until `write.timeout_ms` has passed: on the leader it proposes; elsewhere it
    /// forwards to the leader and then waits for its own state machine. The same command id is
    /// used on every try, so a retry after a lost answer is deduplicated at apply time.
    pub async fn submit(&self, id: CommandId, cmd: Command, actor: Option<String>) -> Result<Submitted, SubmitError> {
        let started = Instant::now();
        let env = Envelope { id, at: OffsetDateTime::now_utc(), origin: self.id, actor, cmd };
        let res = self.submit_envelope(env).await;
        self.metrics.observe_write(&res, started.elapsed());
        res
    }

    pub(crate) async fn submit_envelope(&self, env: Envelope) -> Result<Submitted, SubmitError> {
        let deadline = Instant::now() + self.cfg.write_timeout();
        let mut maybe_sent = false;
        let mut last_err = "no leader known".to_owned();
        let attempt = Duration::from_millis(self.cfg.raft.election_max_ms * 2).max(Duration::from_millis(500));
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(if maybe_sent { SubmitError::Timeout(last_err) } else { SubmitError::NoLeader(last_err) });
            }
            let m = self.metrics_now();
            match m.current_leader {
                // Handing over: wait for the next leader rather than propose here.
                Some(leader) if leader == self.id && self.is_transferring() => {}
                Some(leader) if leader == self.id && m.state == ServerState::Leader => {
                    maybe_sent = true;
                    match tokio::time::timeout(remaining, self.batcher.propose(env.clone())).await {
                        Ok(Ok(p)) => {
                            self.wake_dispatcher_after(&env.cmd);
                            return Ok(Submitted { verdict: p.verdict, log_index: p.log_index });
                        }
                        Ok(Err(batcher::ProposeError::NotLeader)) => last_err = "leadership changed".into(),
                        Ok(Err(batcher::ProposeError::Failed(e))) => return Err(SubmitError::Internal(e)),
                        Err(_) => last_err = "the leader got no majority in time".into(),
                    }
                }
                // One attempt waits at most two election timeouts: a leader that went silent (paused,
                // cut off) has been replaced by then, and the next round asks the new one. The same
                // command id on every attempt keeps a resend from being applied twice.
                Some(leader) if leader != self.id => match self.forward(leader, &env, remaining.min(attempt)).await {
                    Ok(s) => return Ok(s),
                    Err((sent, e)) => {
                        maybe_sent |= sent;
                        last_err = e;
                    }
                },
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(50).min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }

    /// Sends `env` to the leader; on success waits until this node has applied the entry.
    /// The error says whether the command may have reached the leader.
    async fn forward(&self, leader: NodeId, env: &Envelope, remaining: Duration) -> Result<Submitted, (bool, String)> {
        if self.net.isolation.active() {
            return Err((false, "this node is cut off for a failover drill".into()));
        }
        let addr = self.grpc_of(leader).ok_or((false, format!("no address for leader {leader}")))?;
        let ch = self.net.channel(&addr).map_err(|e| (false, e.to_string()))?;
        let mut req = tonic::Request::new(ForwardRequest { envelope: domain::codec::encode_envelope(env) });
        req.set_timeout(remaining);
        let reply = match ClusterServiceClient::new(ch).forward(req).await {
            Ok(r) => r.into_inner(),
            Err(s) => {
                // Refused connections and "not leader" mean it was not proposed.
                let sent =
                    !matches!(s.code(), tonic::Code::FailedPrecondition) && !s.message().contains("tcp connect error");
                return Err((sent, format!("forwarding to node {leader}: {}", s.message())));
            }
        };
        let verdict: Verdict = crate::proto::dec(&reply.verdict).map_err(|e| (true, e.to_string()))?;
        let left = remaining.max(Duration::from_millis(500));
        self.raft
            .wait(Some(left))
            .applied_index_at_least(Some(reply.log_index), "read own write")
            .await
            .map_err(|e| (true, format!("saved, but not yet applied on this node: {e}")))?;
        Ok(Submitted { verdict, log_index: reply.log_index })
    }

    /// On the leader: the index every read must wait for to be linearizable.
    pub async fn read_index(&self) -> Result<u64, String> {
        let t = self.cfg.write_timeout();
        match tokio::time::timeout(t, self.raft.ensure_linearizable()).await {
            Ok(Ok(id)) => Ok(id.map(|l| l.index).unwrap_or(0)),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no majority confirmed leadership in time".into()),
        }
    }

    pub async fn read_barrier(&self) -> Result<(), SubmitError> {
        let m = self.metrics_now();
        let index = match m.current_leader {
            Some(l) if l == self.id => self.read_index().await.map_err(SubmitError::NoLeader)?,
            Some(l) => {
                let addr = self.grpc_of(l).ok_or_else(|| SubmitError::NoLeader("leader address unknown".into()))?;
                let ch = self.net.channel(&addr).map_err(|e| SubmitError::NoLeader(e.to_string()))?;
                let mut req = tonic::Request::new(StatusRequest {});
                req.set_timeout(self.cfg.write_timeout());
                ClusterServiceClient::new(ch)
                    .read_index(req)
                    .await
                    .map_err(|s| SubmitError::NoLeader(s.message().to_owned()))?
                    .into_inner()
                    .log_index
            }
            None => return Err(SubmitError::NoLeader("no leader known".into())),
        };
        self.raft
            .wait(Some(self.cfg.write_timeout()))
            .applied_index_at_least(Some(index), "linearizable read")
            .await
            .map_err(|e| SubmitError::Timeout(e.to_string()))?;
        Ok(())
    }

    pub fn status(&self) -> ClusterStatus {
        let m = self.metrics_now();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let learners: Vec<NodeId> = membership.learner_ids().collect();
        let role = match m.state {
            ServerState::Leader => "leader",
            ServerState::Candidate => "candidate",
            ServerState::Learner => "learner",
            ServerState::Follower if !voters.contains(&self.id) => "learner",
            ServerState::Follower => "follower",
            ServerState::Shutdown => "shutdown",
        };
        let quorum_window = self.cfg.raft.election_max_ms * 2;
        let millis_since_quorum = if m.state == ServerState::Leader {
            // A single-voter cluster is its own quorum.
            if voters.len() == 1 { Some(0) } else { m.millis_since_quorum_ack }
        } else {
            // Also without a leader: pages show since when their data may be stale.
            self.contact.millis_since()
        };
        let mut lag = BTreeMap::new();
        if let (Some(rep), Some(last)) = (&m.replication, m.last_log_index) {
            for (id, matched) in rep.iter() {
                lag.insert(*id, last.saturating_sub(matched.map(|l| l.index).unwrap_or(0)));
            }
        }
        ClusterStatus {
            node_id: self.id,
            role: role.into(),
            leader_id: m.current_leader,
            term: m.current_term,
            last_log_index: m.last_log_index.unwrap_or(0),
            last_applied_index: m.last_applied.map(|l| l.index).unwrap_or(0),
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
            voters: voters.into_iter().collect(),
            learners,
            nodes: membership
                .nodes()
                .map(|(id, n)| (*id, MemberInfo { http: n.http.clone(), grpc: n.grpc.clone() }))
                .collect(),
            quorum: m.current_leader.is_some() && millis_since_quorum.is_some_and(|ms| ms <= quorum_window),
            millis_since_quorum,
            lag,
            state_digest: None,
            initialized: m.membership_config.membership().voter_ids().next().is_some(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            disk_free_bytes: self.disk_free(),
        }
    }

    /// Writes a backup of this node's state to a new file in its data folder (the caller removes
    /// it); its header records how fresh this node is. Works without a quorum.
    pub async fn write_backup(&self) -> Result<std::path::PathBuf> {
        let st = self.status();
        let taken_at = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .context("formatting the time")?;
        let source = raft_store::BackupSource {
            node_id: self.id,
            taken_at,
            leader_id: st.leader_id,
            quorum: st.quorum,
            millis_since_quorum: st.millis_since_quorum,
        };
        let dir = self.cfg.node.data_dir.join("backups");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("backup-{}.brd", uuid::Uuid::new_v4()));
        let (view, p) = (self.view.clone(), path.clone());
        tokio::task::spawn_blocking(move || raft_store::write_backup(&view, &p, source))
            .await
            .context("backup task")??;
        Ok(path)
    }
}

impl web::Backend for Server {
    fn view(&self) -> Arc<dyn domain::StateView + Send + Sync> {
        Arc::new(self.view.clone())
    }

    fn start_drill(&self, drill: web::DrillStart) -> Result<(), String> {
        Server::start_drill(self, drill)
    }

    fn invitation_base(&self) -> Option<web::InvitationBase> {
        Server::invitation_base(self)
    }

    fn cluster_ca(&self) -> Option<String> {
        self.cluster_ca_pem()
    }

    fn break_glass(&self) -> Option<web::BreakGlass> {
        Some(Server::break_glass(self))
    }

    fn confirm_break_glass(&self, account: &str) -> Result<web::BreakGlassStep, String> {
        Server::confirm_break_glass(self, account)
    }

    fn withdraw_break_glass(&self, account: &str) -> Result<(), String> {
        Server::withdraw_break_glass(self, account)
    }

    fn drill_run(&self) -> Option<web::DrillRun> {
        self.drill.now()
    }

    fn members(&self) -> web::BoxFuture<'_, Vec<web::MemberState>> {
        Box::pin(Server::members(self))
    }

    fn change_member(&self, node: u64, change: domain::nodes::MemberChange) -> web::BoxFuture<'_, Result<(), String>> {
        Box::pin(Server::change_member(self, node, change))
    }

    fn submit(
        &self,
        id: CommandId,
        cmd: Command,
        actor: Option<String>,
    ) -> web::BoxFuture<'_, Result<Submitted, SubmitError>> {
        Box::pin(Server::submit(self, id, cmd, actor))
    }

    fn queue(
        &self,
        id: CommandId,
        cmd: Command,
        actor: Option<String>,
    ) -> web::BoxFuture<'_, Result<web::Queued, SubmitError>> {
        Box::pin(Server::queue(self, id, cmd, actor))
    }

    fn outbox(&self) -> Result<Vec<web::Queued>, SubmitError> {
        self.outbox_items()
    }

    fn resolve(
        &self,
        seq: u64,
        how: web::Resolution,
        actor: Option<String>,
    ) -> web::BoxFuture<'_, Result<web::Queued, SubmitError>> {
        Box::pin(Server::resolve(self, seq, how, actor))
    }

    fn read_barrier(&self) -> web::BoxFuture<'_, Result<(), SubmitError>> {
        Box::pin(Server::read_barrier(self))
    }

    fn cluster(&self) -> ClusterStatus {
        self.status()
    }

    fn secure_cookies(&self) -> bool {
        self.cfg.http.tls_cert.is_some() || self.cfg.http.advertise.starts_with("https://")
    }

    fn trusted_proxies(&self) -> &[std::net::IpAddr] {
        &self.cfg.http.trusted_proxies
    }

    fn public_url(&self) -> String {
        self.cfg.http.advertise.clone()
    }

    fn site(&self) -> String {
        self.cfg.node.site.clone()
    }

    fn oidc_begin(
        &self,
        idp: domain::federation::IdentityProvider,
        redirect_uri: String,
    ) -> web::BoxFuture<'_, Result<web::OidcStart, String>> {
        let oidc = self.oidc.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || oidc.begin(&idp, &redirect_uri)).await.map_err(|e| e.to_string())?
        })
    }

    fn oidc_finish(
        &self,
        idp: domain::federation::IdentityProvider,
        redirect_uri: String,
        code: String,
        pending: web::OidcPending,
    ) -> web::BoxFuture<'_, Result<domain::federation::Attributes, String>> {
        let oidc = self.oidc.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || oidc.finish(&idp, &redirect_uri, &code, &pending))
                .await
                .map_err(|e| e.to_string())?
        })
    }

    fn idp_reach(&self, idp: &domain::federation::IdentityProvider) -> web::IdpReach {
        match idp.protocol {
            domain::federation::Protocol::Saml { .. } => self.saml.reach(idp),
            _ => self.oidc.reach(idp),
        }
    }

    fn saml_sp(&self) -> bool {
        self.saml.configured()
    }

    fn saml_metadata(&self, acs: Vec<(u16, String)>) -> Result<String, String> {
        self.saml.metadata(&acs)
    }

    fn saml_begin(
        &self,
        idp: domain::federation::IdentityProvider,
        acs: Vec<(u16, String)>,
        acs_index: u16,
        relay_state: String,
    ) -> web::BoxFuture<'_, Result<String, String>> {
        let saml = self.saml.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || saml.begin(&idp, &acs, acs_index, relay_state))
                .await
                .map_err(|e| e.to_string())?
        })
    }

    fn saml_finish(
        &self,
        idp: domain::federation::IdentityProvider,
        acs: Vec<(u16, String)>,
        acs_index: u16,
        relay_state: String,
        saml_response: String,
    ) -> web::BoxFuture<'_, Result<web::SamlLogin, String>> {
        let saml = self.saml.clone();
        Box::pin(async move {
            let done =
                tokio::task::spawn_blocking(move || saml.finish(&idp, &acs, acs_index, relay_state, saml_response))
                    .await
                    .map_err(|e| e.to_string())??;
            Ok(web::SamlLogin { attrs: done.attrs, once: done.once })
        })
    }

    fn saml_idp_metadata(
        &self,
        url: Option<String>,
        xml: Option<String>,
    ) -> web::BoxFuture<'_, Result<(String, String), String>> {
        let saml = self.saml.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let xml = match (url, xml) {
                    (Some(u), _) => saml.fetch(&u)?,
                    (None, Some(x)) => x,
                    (None, None) => return Err("give the metadata's URL or the metadata itself".to_owned()),
                };
                Ok((saml::metadata_entity_id(&xml)?, xml))
            })
            .await
            .map_err(|e| e.to_string())?
        })
    }

    fn card_login(&self) -> bool {
        self.cfg.http.client_ca.is_some() && self.cfg.http.tls_cert.is_some()
    }

    fn ops_notes(&self) -> Vec<String> {
        self.crl.summary().into_iter().chain(self.disk_warning.clone()).collect()
    }

    fn sms_max_segments(&self) -> usize {
        self.sms.as_ref().map_or(3, |s| s.max_segments)
    }

    fn sms_routes(&self) -> Vec<web::SmsRouteStatus> {
        self.sms.as_ref().map_or_else(Vec::new, |s| {
            s.status()
                .into_iter()
                .map(|r| web::SmsRouteStatus {
                    name: r.name,
                    kind: r.kind,
                    up: r.health.up,
                    checked_at: r.health.checked_at,
                    detail: r.health.detail,
                })
                .collect()
        })
    }

    fn record_access(&self, event: web::AccessEvent) {
        self.record_access_line(event);
    }

    fn access_log(&self, limit: usize) -> Vec<web::AccessEvent> {
        self.access.newest(limit)
    }

    fn token_days(&self) -> (u32, u32) {
        (self.cfg.http.token_days, self.cfg.http.token_max_days)
    }

    fn state_digest(&self) -> Result<(u64, String), domain::StateError> {
        self.view.digest()
    }

    fn metrics(&self) -> String {
        if let Ok(items) = self.outbox_items() {
            self.metrics.set_outbox(&items, OffsetDateTime::now_utc());
        }
        if self.crl.configured() {
            self.metrics.set_crl(&self.crl.status(), OffsetDateTime::now_utc());
        }
        if let Some(s) = &self.sms {
            self.metrics.set_sms(&s.status());
        }
        self.metrics.render(&self.status())
    }

    fn read_model(&self) -> &documents::ReadModel {
        &self.read_model
    }
}
