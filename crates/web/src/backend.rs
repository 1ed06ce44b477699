//! The narrow port between the web layer and the node: read local state, submit a command,
//! describe the cluster.

use domain::{Command, CommandId, StateView, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A login, logout or refused token, for the node's access log (see
/// [`Backend::record_access`]).
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct AccessEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    /// `login`, `login_failed`, `logout` or `token_refused`.
    pub event: String,
    /// The account (as typed, for a failed login; at most 64 characters).
    pub user: String,
    /// `password`, `certificate`, `session` or `token`.
    pub via: String,
    /// The client's address (see `throttle::client_ip`), when known.
    pub client: String,
}

impl AccessEvent {
    pub fn now(event: &str, user: &str, via: &str, client: Option<std::net::IpAddr>) -> Self {
        Self {
            at: time::OffsetDateTime::now_utc(),
            event: event.to_owned(),
            user: user.chars().filter(|c| !c.is_control()).take(64).collect(),
            via: via.to_owned(),
            client: client.map(|c| c.to_string()).unwrap_or_default(),
        }
    }
}

/// An OpenID Connect login begun: the IdP's authorisation URL, and what the node must keep
/// (in a signed cookie) to check the answer.
#[derive(Clone, Debug)]
pub struct OidcStart {
    pub url: String,
    pub pending: OidcPending,
}

/// The `state`, `nonce` and PKCE verifier of a login in progress.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct OidcPending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// A SAML response that passed every check.
#[derive(Clone, Debug)]
pub struct SamlLogin {
    pub attrs: domain::federation::Attributes,
    pub once: domain::federation::OnceUse,
}

/// Whether an identity provider can be reached now, as far as this node knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdpReach {
    /// Not asked yet.
    Unknown,
    Reachable,
    /// The last attempt failed, with why.
    Unreachable(String),
}

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

    /// Whether the node's public URL is `https` (served here or by a TLS proxy in front), so
    /// cookies must be marked `Secure` and answers carry HSTS.
    fn secure_cookies(&self) -> bool;

    /// Whether this node serves HTTPS with a client CA, so that a card (e.g. SITHS) logs in
    /// without a password: the login page then offers "Log in with card".
    fn card_login(&self) -> bool {
        false
    }

    /// The hospital this node serves (`[node] site`), empty if none: its banners show here.
    fn site(&self) -> String {
        String::new()
    }

    /// This node's public URL (`[http] advertise`), where an IdP sends the browser back.
    fn public_url(&self) -> String {
        String::new()
    }

    /// Starts an OpenID Connect login at `idp` (discovery through the node's guarded client):
    /// where to send the browser, and what to keep until it comes back to `redirect_uri`.
    fn oidc_begin(
        &self,
        _idp: domain::federation::IdentityProvider,
        _redirect_uri: String,
    ) -> BoxFuture<'_, Result<OidcStart, String>> {
        Box::pin(async { Err("this node does not log in through identity providers".to_owned()) })
    }

    /// Completes it: exchanges `code` and returns the verified ID token's claims.
    fn oidc_finish(
        &self,
        _idp: domain::federation::IdentityProvider,
        _redirect_uri: String,
        _code: String,
        _pending: OidcPending,
    ) -> BoxFuture<'_, Result<domain::federation::Attributes, String>> {
        Box::pin(async { Err("this node does not log in through identity providers".to_owned()) })
    }

    /// Whether the cluster is a SAML service provider (`[saml]` set on this node).
    fn saml_sp(&self) -> bool {
        false
    }

    /// The SP metadata, with one assertion consumer service per node: `(node id, URL)`.
    fn saml_metadata(&self, _acs: Vec<(u16, String)>) -> Result<String, String> {
        Err("this node has no SAML service provider".to_owned())
    }

    /// Starts a SAML login at `idp`: the URL that sends the browser there with a signed request,
    /// asking for the answer at consumer service `acs_index`, carrying `relay_state`.
    fn saml_begin(
        &self,
        _idp: domain::federation::IdentityProvider,
        _acs: Vec<(u16, String)>,
        _acs_index: u16,
        _relay_state: String,
    ) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async { Err("this node has no SAML service provider".to_owned()) })
    }

    /// Checks a `SAMLResponse` posted to consumer service `acs_index` for the login
    /// `relay_state` started (already verified): the person's attributes and the assertion's
    /// one-time proof.
    fn saml_finish(
        &self,
        _idp: domain::federation::IdentityProvider,
        _acs: Vec<(u16, String)>,
        _acs_index: u16,
        _relay_state: String,
        _saml_response: String,
    ) -> BoxFuture<'_, Result<SamlLogin, String>> {
        Box::pin(async { Err("this node has no SAML service provider".to_owned()) })
    }

    /// IdP metadata for an IdP's settings: fetched from `url` when given, else `xml` as
    /// pasted; checked to be IdP metadata. Its entity id and the XML.
    fn saml_idp_metadata(
        &self,
        _url: Option<String>,
        _xml: Option<String>,
    ) -> BoxFuture<'_, Result<(String, String), String>> {
        Box::pin(async { Err("this node has no SAML service provider".to_owned()) })
    }

    /// Whether `idp` answered the last time this node asked.
    fn idp_reach(&self, _idp: &domain::federation::IdentityProvider) -> IdpReach {
        IdpReach::Unknown
    }

    /// API token lifetimes in days: the default for a new token, and the most one may ask for.
    fn token_days(&self) -> (u32, u32) {
        (90, 365)
    }

    /// Things ops staff should know about this node that are not cluster state (e.g. whether its
    /// revocation lists are fresh), one sentence each, for `/ops`.
    fn ops_notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Most segments a text message may take here (`[sms] max_segments`), for previews.
    fn sms_max_segments(&self) -> usize {
        3
    }

    /// This node's SMS routes in the order the leader tries them, with what was last seen of
    /// each, for `/ops`. Empty when the node has none.
    fn sms_routes(&self) -> Vec<SmsRouteStatus> {
        Vec::new()
    }

    /// Keeps one login, logout or refused token in this node's own access log. Logins are not
    /// replicated: they happen also without quorum, and a stranger's failed attempts must not
    /// become log entries of the cluster. The default keeps nothing.
    fn record_access(&self, _event: AccessEvent) {}

    /// The newest `limit` lines of this node's access log, newest first.
    fn access_log(&self, _limit: usize) -> Vec<AccessEvent> {
        Vec::new()
    }

    /// Proxies whose `X-Forwarded-For` names the client (for per-client limits and logins).
    fn trusted_proxies(&self) -> &[std::net::IpAddr] {
        &[]
    }

    /// The applied index and a digest of the whole applied state at that index (costly: reads
    /// everything).
    fn state_digest(&self) -> Result<(u64, String), domain::StateError>;

    /// Keeps `cmd` in this node's outbox (synced to disk before it returns), to be sent to the
    /// leader, under the same `id`, once one is reachable. Only for [`Command::may_queue`].
    fn queue(&self, id: CommandId, cmd: Command, actor: Option<String>) -> BoxFuture<'_, Result<Queued, SubmitError>>;
    /// Everything in this node's outbox, oldest first: waiting, and what became of the rest.
    fn outbox(&self) -> Result<Vec<Queued>, SubmitError>;
    /// A person's answer to a conflict (or a refused item): see [`Resolution`].
    fn resolve(&self, seq: u64, how: Resolution, actor: Option<String>) -> BoxFuture<'_, Result<Queued, SubmitError>>;
    /// Prometheus text exposition of the node's metrics.
    fn metrics(&self) -> String;

    /// The node's search and list index (owned by the node, one per node).
    fn read_model(&self) -> &documents::read_model::ReadModel;

    /// Every member as this node sees it now: each is asked for its state (briefly; one that
    /// does not answer is shown as such). For `/ops`.
    fn members(&self) -> BoxFuture<'_, Vec<MemberState>> {
        Box::pin(async { Vec::new() })
    }

    /// Carries out a member change already recorded in the log (`Command::ChangeMember`):
    /// on the leader, wherever it is asked. Says why when the change is refused or fails.
    fn change_member(&self, _node: u64, _change: domain::nodes::MemberChange) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Err("this node cannot change the cluster's members".to_owned()) })
    }

    /// Starts a failover drill from this node (`beredd drill`, as a process of its own), unless
    /// one it started still runs.
    fn start_drill(&self, _drill: DrillStart) -> Result<(), String> {
        Err("this node does not run drills".to_owned())
    }

    /// The drill this node started last, if any.
    fn drill_run(&self) -> Option<DrillRun> {
        None
    }

    /// What an invitation made on this node names (the cluster CA, the members); `None` when
    /// nodes cannot join this cluster by invitation (no cluster TLS).
    fn invitation_base(&self) -> Option<crate::invitation::InvitationBase> {
        None
    }

    /// The cluster CA certificate (PEM), public: a new machine reads it and compares it with
    /// its invitation's fingerprint before it trusts the cluster.
    fn cluster_ca(&self) -> Option<String> {
        None
    }

    /// Break-glass recovery on this node; `None` where it cannot be forced from `/ops`.
    fn break_glass(&self) -> Option<BreakGlass> {
        None
    }

    /// `account` (an ops or admin account, checked by the caller) confirms a forced new cluster
    /// on this node: the first waits for a second, different account; the second starts it.
    /// The node decides whether it may (long enough without a majority) and says why not.
    fn confirm_break_glass(&self, _account: &str) -> Result<BreakGlassStep, String> {
        Err("a new cluster cannot be forced on this node from the browser".to_owned())
    }

    /// Withdraws the first confirmation while it waits for a second.
    fn withdraw_break_glass(&self, _account: &str) -> Result<(), String> {
        Err("there is no confirmation to withdraw".to_owned())
    }
}

/// Break-glass recovery as this node sees it (see [`Backend::break_glass`]). Kept on the node
/// itself: without a majority nothing can be replicated.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BreakGlass {
    /// How long this node has been without a majority, in milliseconds; `None` while it has one.
    pub majority_lost_ms: Option<u64>,
    /// How long without one before a new cluster may be forced here (`cluster.break_glass_after_s`).
    pub after_ms: u64,
    /// The first confirmation, waiting for a second account.
    pub pending: Option<BreakGlassConfirmation>,
    /// The last new cluster forced here from `/ops`.
    pub founded: Option<BreakGlassFounding>,
    /// Both confirmed: the node is restarting itself as a new cluster.
    pub running: bool,
}

impl BreakGlass {
    /// Whether a new cluster may be confirmed now.
    pub fn allowed(&self) -> bool {
        !self.running && self.majority_lost_ms.is_some_and(|ms| ms >= self.after_ms)
    }
}

/// One account's confirmation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BreakGlassConfirmation {
    pub account: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
}

/// A new cluster forced on this node from `/ops`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BreakGlassFounding {
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    pub confirmed_by: Vec<String>,
    /// The old members, retired.
    pub retired: Vec<u64>,
    /// The new cluster's first log index.
    pub log_index: u64,
}

/// What a confirmation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakGlassStep {
    /// The first: a second, different account must confirm.
    Waiting,
    /// The second: the node restarts itself as the only voter of a new cluster.
    Started,
}

/// A freshly made API token (`auth::new_token`): show `token` once; store only
/// `secret_sha256`.
pub struct NewToken {
    pub token: String,
    pub id: domain::TokenId,
    pub secret_sha256: String,
}

/// How a drill started from `/ops` takes the leader away (see `beredd drill`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum DrillMode {
    /// Leadership handed to another voter (to `to`, or the lowest that answers).
    Transfer { to: Option<u64> },
    /// The leader halts at once, as in a power cut (it must be started again by hand).
    Kill,
    /// The leader is cut off from the others for `seconds`, then heals by itself.
    Isolate { seconds: u64 },
}

impl DrillMode {
    /// Longest cut-off a drill may ask for, in seconds.
    pub const MAX_ISOLATE: u64 = 300;
    /// Seconds of writing after the fault a drill may ask for.
    pub const SECONDS: std::ops::RangeInclusive<u64> = 3..=60;

    /// Why `self` with `seconds` of writing is not a drill to start, if it is not.
    pub fn check(&self, seconds: u64) -> Result<(), String> {
        if !Self::SECONDS.contains(&seconds) {
            return Err(format!("seconds must be {} to {}", Self::SECONDS.start(), Self::SECONDS.end()));
        }
        match self {
            Self::Isolate { seconds } if *seconds == 0 || *seconds > Self::MAX_ISOLATE => {
                Err(format!("a cut-off lasts 1 to {} seconds", Self::MAX_ISOLATE))
            }
            _ => Ok(()),
        }
    }
}

/// A drill to start: how, for how long after the fault it writes, and the API token (made
/// for this drill, for the person who asked) its writes go with.
#[derive(Clone, Debug)]
pub struct DrillStart {
    pub mode: DrillMode,
    pub seconds: u64,
    pub token: String,
    pub by: String,
}

/// The drill this node started last, as `/ops` shows it while it runs and after.
#[derive(Clone, Debug, Serialize)]
pub struct DrillRun {
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: time::OffsetDateTime,
    pub mode: DrillMode,
    /// `None` while it runs; then its exit code (0: the drill found nothing lost).
    pub exit_code: Option<i32>,
    pub running: bool,
    /// The last lines it printed (its progress and report).
    pub output: Vec<String>,
}

/// A member of the cluster as `/ops` shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MemberState {
    pub id: u64,
    pub http: String,
    pub grpc: String,
    pub voter: bool,
    pub leader: bool,
    /// Whether it answered just now.
    pub reachable: bool,
    /// Milliseconds since this node last heard from it (0 for itself); `None`: never.
    pub millis_since_contact: Option<u64>,
    /// Entries it is behind the newest log entry known here.
    pub lag: Option<u64>,
    pub applied_index: Option<u64>,
    /// Its `beredd` version.
    pub version: Option<String>,
    /// Free space where it keeps its data, in bytes.
    pub disk_free_bytes: Option<u64>,
}

/// A command in a node's outbox and what became of it.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Queued {
    /// Its place in the outbox (sent in this order).
    pub seq: u64,
    pub id: CommandId,
    pub cmd: Command,
    pub actor: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub queued_at: time::OffsetDateTime,
    pub fate: Fate,
    /// Attempts to send it so far.
    #[serde(default)]
    pub attempts: u32,
}

/// What became of a queued command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Fate {
    /// Waiting for a leader.
    Queued,
    /// Applied by the cluster (`id` names the record, e.g. the order).
    Landed {
        log_index: u64,
        record: String,
        #[serde(with = "time::serde::rfc3339")]
        at: time::OffsetDateTime,
    },
    /// The cluster refused it (a person decides: drop it, or fix and send again).
    Refused { code: String, message: String },
    /// An edit whose record changed meanwhile: a person keeps theirs or mine.
    Conflict { message: String, current_version: u64 },
    /// A person dropped it ("keep theirs", or a refused item dismissed).
    Dropped {
        by: Option<String>,
        #[serde(with = "time::serde::rfc3339")]
        at: time::OffsetDateTime,
    },
}

impl Fate {
    pub fn code(&self) -> &'static str {
        match self {
            Fate::Queued => "queued",
            Fate::Landed { .. } => "landed",
            Fate::Refused { .. } => "refused",
            Fate::Conflict { .. } => "conflict",
            Fate::Dropped { .. } => "dropped",
        }
    }
}

/// A person's answer to a conflicting or refused queued command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Drop the queued command; the cluster's version stands.
    KeepTheirs,
    /// Send the queued edit again on top of the current version (overwriting the other change).
    KeepMine,
    /// An order edit: the current lines, with mine added or (same article) taking their place.
    MergeLines,
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
    /// The node's `beredd` version (shown to ops staff and admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Free space in the node's data folder, in bytes (ops staff and admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_free_bytes: Option<u64>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StateDigest {
    pub applied_index: u64,
    pub sha256: String,
}

/// One SMS route of this node as `/ops` shows it.
#[derive(Clone, Debug)]
pub struct SmsRouteStatus {
    pub name: String,
    /// `smpp` or `http`.
    pub kind: &'static str,
    /// Reachable at the last probe or send; `None` before the first.
    pub up: Option<bool>,
    pub checked_at: Option<time::OffsetDateTime>,
    /// The reason when down, or what it last answered.
    pub detail: String,
}
