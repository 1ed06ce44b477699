//! An in-process [`Backend`] over the domain's `MemState`, for the web layer's own tests: a
//! one-node cluster that applies each command at once through `domain::apply` — the same rules
//! every node runs — or, with [`MemBackend::lose_leader`], has no leader and keeps what may wait
//! in an outbox. Handlers and pages are tested with it without starting processes; cluster
//! behaviour stays with the real-process tests in `crates/node/tests/it`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use domain::command::UserFields;
use domain::{Command, CommandId, Envelope, MemState, Role, StateView, UnitId, UserId};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::backend::{Backend, BoxFuture, ClusterStatus, Fate, Queued, Resolution, SubmitError, Submitted};

pub struct MemBackend {
    state: Mutex<(MemState, u64)>,
    outbox: Mutex<Vec<Queued>>,
    leader: AtomicBool,
    read_model: documents::ReadModel,
    access: Mutex<Vec<crate::backend::AccessEvent>>,
    /// The rate limits, kept across requests as a node's one router keeps them.
    limits: Arc<crate::throttle::Limits>,
    /// The member changes carried out, in order (see [`Backend::change_member`]).
    member_changes: Mutex<Vec<(u64, domain::nodes::MemberChange)>>,
    /// The last drill "started" (see [`Backend::start_drill`]).
    drill: Mutex<Option<crate::backend::DrillRun>>,
    /// Break-glass as a test sets it; `None`: this backend cannot force a new cluster.
    pub glass: Mutex<Option<crate::backend::BreakGlass>>,
}

impl MemBackend {
    /// The demo's catalog, units and orders, and one account per `users` entry (id, role,
    /// units), each with an API token; returns the backend and the tokens by user id.
    pub fn demo(users: &[(&str, Role, &[&str])]) -> (Arc<MemBackend>, BTreeMap<String, String>) {
        let b = MemBackend {
            state: Mutex::new((MemState::default(), 0)),
            outbox: Mutex::new(Vec::new()),
            leader: AtomicBool::new(true),
            read_model: documents::ReadModel::default(),
            access: Mutex::new(Vec::new()),
            limits: Arc::new(crate::throttle::Limits::new()),
            member_changes: Mutex::new(Vec::new()),
            drill: Mutex::new(None),
            glass: Mutex::new(None),
        };
        for (id, cmd) in domain::demo_data::demo_commands() {
            b.apply_now(id, cmd, None).unwrap();
        }
        // The session key the cluster makes at bootstrap, so that logins work.
        let (key_id, secret) = crate::sessions::new_key();
        b.apply_now(CommandId::new("session-key"), Command::AddSessionKey { key_id: key_id.into(), secret }, None)
            .unwrap();
        // This node in the node directory, as a real node registers itself at bootstrap.
        let me = Command::RegisterNode { id: 1, http: "http://127.0.0.1:8081".into(), grpc: "127.0.0.1:50051".into() };
        b.apply_now(CommandId::new("node.register:1"), me, None).unwrap();
        let mut tokens = BTreeMap::new();
        for (id, role, units) in users {
            let fields = UserFields {
                id: UserId::new(*id),
                name: format!("Test {id}"),
                role: *role,
                units: units.iter().map(|u| UnitId::new(*u)).collect(),
                password_hash: None,
                expires_at: None,
            };
            b.apply_now(CommandId::new(format!("user:{id}")), Command::CreateUser(fields), None).unwrap();
            let t = crate::credentials::new_token();
            let cmd = Command::CreateToken {
                token_id: t.id.clone(),
                user_id: UserId::new(*id),
                secret_sha256: t.secret_sha256,
                label: "test".into(),
                expires_at: None,
            };
            b.apply_now(CommandId::new(format!("token:{id}")), cmd, None).unwrap();
            tokens.insert((*id).to_owned(), t.token);
        }
        (Arc::new(b), tokens)
    }

    /// The member changes carried out so far (each only after its command was applied).
    pub fn member_changes(&self) -> Vec<(u64, domain::nodes::MemberChange)> {
        self.member_changes.lock().unwrap().clone()
    }

    /// From now on no leader answers: writes fail as on a node cut off from the majority.
    pub fn lose_leader(&self) {
        self.leader.store(false, Ordering::SeqCst);
    }

    fn apply_now(&self, id: CommandId, cmd: Command, actor: Option<String>) -> Result<Submitted, SubmitError> {
        let mut guard = self.state.lock().unwrap();
        let (state, index) = &mut *guard;
        *index += 1;
        let env = Envelope { id, at: OffsetDateTime::now_utc(), origin: 1, actor, cmd };
        let (verdict, changes) =
            domain::apply(state, &env, *index).map_err(|e| SubmitError::Internal(e.to_string()))?;
        state.write(changes);
        Ok(Submitted { verdict, log_index: *index })
    }

    /// Applies `cmds` as the node's group commit does: one log index, one place each.
    pub fn apply_batch(&self, cmds: Vec<Command>) {
        let mut guard = self.state.lock().unwrap();
        let (state, index) = &mut *guard;
        *index += 1;
        for (slot, cmd) in cmds.into_iter().enumerate() {
            let id = CommandId::new(format!("batch-{index}-{slot}"));
            let env = Envelope { id, at: OffsetDateTime::now_utc(), origin: 1, actor: None, cmd };
            let at = domain::AuditSeq { log_index: *index, slot: slot as u32 };
            let (_, changes) = domain::apply(state, &env, at).unwrap();
            state.write(changes);
        }
    }

    /// Sends `req` through the whole router (security headers, body limit, session refresh).
    pub async fn send(self: &Arc<Self>, req: Request<Body>) -> Response<Body> {
        crate::router_with(self.clone(), self.limits.clone()).oneshot(req).await.unwrap()
    }

    /// A request with `token` as its Bearer credential.
    pub fn request(method: &str, uri: &str, token: &str, body: Option<(&str, String)>) -> Request<Body> {
        let r = Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
        match body {
            Some((content_type, b)) => r.header(header::CONTENT_TYPE, content_type).body(Body::from(b)).unwrap(),
            None => r.body(Body::empty()).unwrap(),
        }
    }
}

/// The body of `res` as text, with its status.
pub async fn text(res: Response<Body>) -> (StatusCode, String) {
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 16 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

impl Backend for MemBackend {
    fn view(&self) -> Arc<dyn StateView + Send + Sync> {
        Arc::new(self.state.lock().unwrap().0.clone())
    }

    fn submit(
        &self,
        id: CommandId,
        cmd: Command,
        actor: Option<String>,
    ) -> BoxFuture<'_, Result<Submitted, SubmitError>> {
        let result = if self.leader.load(Ordering::SeqCst) {
            self.apply_now(id, cmd, actor)
        } else {
            Err(SubmitError::NoLeader("no leader in this test".into()))
        };
        Box::pin(async move { result })
    }

    fn read_barrier(&self) -> BoxFuture<'_, Result<(), SubmitError>> {
        Box::pin(async { Ok(()) })
    }

    fn cluster(&self) -> ClusterStatus {
        let leader = self.leader.load(Ordering::SeqCst);
        let index = self.state.lock().unwrap().1;
        ClusterStatus {
            node_id: 1,
            role: if leader { "leader" } else { "follower" }.into(),
            leader_id: leader.then_some(1),
            term: 1,
            last_log_index: index,
            last_applied_index: index,
            snapshot_index: None,
            purged_index: None,
            voters: vec![1],
            learners: Vec::new(),
            nodes: BTreeMap::new(),
            quorum: leader,
            millis_since_quorum: leader.then_some(0),
            lag: BTreeMap::new(),
            state_digest: None,
            initialized: true,
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            disk_free_bytes: Some(1 << 30),
        }
    }

    fn secure_cookies(&self) -> bool {
        false
    }

    fn record_access(&self, event: crate::backend::AccessEvent) {
        self.access.lock().unwrap().push(event);
    }

    fn access_log(&self, limit: usize) -> Vec<crate::backend::AccessEvent> {
        self.access.lock().unwrap().iter().rev().take(limit).cloned().collect()
    }

    fn state_digest(&self) -> Result<(u64, String), domain::StateError> {
        Ok((self.state.lock().unwrap().1, String::new()))
    }

    fn queue(&self, id: CommandId, cmd: Command, actor: Option<String>) -> BoxFuture<'_, Result<Queued, SubmitError>> {
        let mut outbox = self.outbox.lock().unwrap();
        let q = Queued {
            seq: outbox.len() as u64 + 1,
            id,
            cmd,
            actor,
            queued_at: OffsetDateTime::now_utc(),
            fate: Fate::Queued,
            attempts: 0,
        };
        outbox.push(q.clone());
        Box::pin(async move { Ok(q) })
    }

    fn outbox(&self) -> Result<Vec<Queued>, SubmitError> {
        Ok(self.outbox.lock().unwrap().clone())
    }

    fn resolve(
        &self,
        _seq: u64,
        _how: Resolution,
        _actor: Option<String>,
    ) -> BoxFuture<'_, Result<Queued, SubmitError>> {
        Box::pin(async { Err(SubmitError::Internal("the test backend forwards nothing".into())) })
    }

    fn metrics(&self) -> String {
        String::new()
    }

    fn read_model(&self) -> &documents::ReadModel {
        &self.read_model
    }

    /// Node 1 (this one, the leader) and every node in the directory that is not retired, as
    /// learners that answer.
    fn members(&self) -> BoxFuture<'_, Vec<crate::backend::MemberState>> {
        let view = self.view();
        let mut ids = vec![1u64];
        for r in view.scan(domain::Table::Node, None, 100).unwrap_or_default() {
            if let domain::Record::Node(n) = r
                && !n.retired
                && n.id != 1
            {
                ids.push(n.id);
            }
        }
        let members = ids
            .into_iter()
            .map(|id| crate::backend::MemberState {
                id,
                http: format!("http://127.0.0.1:808{id}"),
                grpc: format!("127.0.0.1:5005{id}"),
                voter: id == 1,
                leader: id == 1,
                reachable: true,
                millis_since_contact: Some(0),
                lag: Some(0),
                applied_index: Some(self.state.lock().unwrap().1),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
                disk_free_bytes: Some(1 << 30),
            })
            .collect();
        Box::pin(async move { members })
    }

    /// A drill that ends at once, as if nothing was lost.
    fn start_drill(&self, drill: crate::backend::DrillStart) -> Result<(), String> {
        *self.drill.lock().unwrap() = Some(crate::backend::DrillRun {
            by: drill.by,
            started_at: OffsetDateTime::now_utc(),
            mode: drill.mode,
            exit_code: Some(0),
            running: false,
            output: vec![format!("drill: {} s of writing", drill.seconds)],
        });
        Ok(())
    }

    fn drill_run(&self) -> Option<crate::backend::DrillRun> {
        self.drill.lock().unwrap().clone()
    }

    /// As a node with cluster TLS: a CA fingerprint and this node to try.
    fn invitation_base(&self) -> Option<crate::invitation::InvitationBase> {
        Some(crate::invitation::InvitationBase {
            ca_sha256: "ab".repeat(32),
            peers: vec![crate::invitation::InvitePeer {
                http: "http://127.0.0.1:8081".into(),
                grpc: "127.0.0.1:50051".into(),
            }],
            next_node: 2,
        })
    }

    fn cluster_ca(&self) -> Option<String> {
        Some(TEST_CA.to_owned())
    }

    fn break_glass(&self) -> Option<crate::backend::BreakGlass> {
        self.glass.lock().unwrap().clone()
    }

    fn withdraw_break_glass(&self, _account: &str) -> Result<(), String> {
        let mut glass = self.glass.lock().unwrap();
        match glass.as_mut() {
            Some(g) if g.pending.is_some() => {
                g.pending = None;
                Ok(())
            }
            _ => Err("there is no confirmation to withdraw".into()),
        }
    }

    /// Keeps who confirmed, as a node does: the first waits, a second account starts it.
    fn confirm_break_glass(&self, account: &str) -> Result<crate::backend::BreakGlassStep, String> {
        use crate::backend::{BreakGlassConfirmation, BreakGlassStep};
        let mut glass = self.glass.lock().unwrap();
        let g = glass.as_mut().ok_or("not here")?;
        if !g.allowed() {
            return Err("not without a majority for long enough".into());
        }
        match &g.pending {
            Some(p) if p.account == account => Err("a second, different account must confirm".into()),
            Some(_) => {
                g.pending = None;
                g.running = true;
                Ok(BreakGlassStep::Started)
            }
            None => {
                g.pending = Some(BreakGlassConfirmation { account: account.into(), at: OffsetDateTime::now_utc() });
                Ok(BreakGlassStep::Waiting)
            }
        }
    }

    /// Keeps what it was asked to do (see [`MemBackend::member_changes`]).
    fn change_member(&self, node: u64, change: domain::nodes::MemberChange) -> BoxFuture<'_, Result<(), String>> {
        self.member_changes.lock().unwrap().push((node, change));
        Box::pin(async { Ok(()) })
    }
}

/// A CA certificate as `/api/v1/cluster/ca` serves it (its content is never read here).
pub const TEST_CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";
