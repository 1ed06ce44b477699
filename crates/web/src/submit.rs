//! The one write pipeline: every JSON call and every page form that changes something comes
//! through [`submit`]. It validates the command, refuses early what the state machine would
//! refuse anyway for this user (so nothing needless is logged), proposes it, and — when no
//! leader answers and the caller accepts it — keeps a command that may wait in this node's
//! outbox. What the caller shows (201, 202 or 503; a redirect or the form again) is its own
//! business; whether to accept the outbox is too (the API only when the client sent
//! `Prefer: respond-async`, pages always).

use domain::{Command, CommandId, Kind, Rejection, StateViewExt, User, Verdict};

use crate::backend::{Backend, NewToken, Queued, SubmitError};

/// What became of a submitted command.
#[derive(Debug)]
pub enum Submission {
    /// Applied by the cluster and by this node. `kind` and `id` name the record it touched
    /// (`None` when the command changed nothing, e.g. a repeated logout).
    Saved { kind: Option<Kind>, id: String },
    /// No leader answered; the command waits in this node's outbox.
    Queued(Box<Queued>),
    /// Not saved: refused by the domain (validation, access or state), or the cluster could not
    /// be reached (and the command could not or was not to be queued).
    Refused(Refusal),
}

#[derive(Debug)]
pub enum Refusal {
    Rejected(Rejection),
    /// [`SubmitError::NoLeader`] or [`SubmitError::Timeout`].
    Cluster(SubmitError),
}

/// A storage or node fault: nothing to tell the user but "try again".
#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error(transparent)]
    State(#[from] domain::StateError),
    #[error("{0}")]
    Node(String),
}

/// Submits `cmd` under `id` for `actor` (`None`: nobody is logged in, e.g. an unsubscribe link,
/// checked here against its token so that a stranger's guesses never reach the log). With `may_queue`, a command that
/// [`Command::may_queue`] allows goes to the outbox when no leader can be reached.
pub async fn submit(
    b: &dyn Backend,
    actor: Option<&User>,
    id: CommandId,
    cmd: Command,
    may_queue: bool,
) -> Result<Submission, Fault> {
    if let Err(r) = domain::apply::validate(&cmd) {
        return Ok(Submission::Refused(Refusal::Rejected(r)));
    }
    let allowed = match actor {
        Some(user) => domain::access::authorize(b.view().as_ref(), user, &cmd)?,
        None => domain::access::authorize_anonymous(b.view().as_ref(), &cmd)?,
    };
    if let Err(r) = allowed {
        return Ok(Submission::Refused(Refusal::Rejected(r)));
    }
    let queueable = (may_queue && cmd.may_queue()).then(|| cmd.clone());
    propose(b, id, cmd, actor.map(|u| u.id.to_string()), queueable).await
}

/// Proposes `cmd`; without a leader, `queueable` (if any) goes to the outbox instead.
async fn propose(
    b: &dyn Backend,
    id: CommandId,
    cmd: Command,
    who: Option<String>,
    queueable: Option<Command>,
) -> Result<Submission, Fault> {
    match (b.submit(id.clone(), cmd, who.clone()).await, queueable) {
        (Ok(s), _) => Ok(match s.verdict {
            Verdict::Applied { kind, id, .. } => Submission::Saved { kind: Some(kind), id },
            Verdict::Nothing => Submission::Saved { kind: None, id: String::new() },
            Verdict::Rejected { rejection } => Submission::Refused(Refusal::Rejected(rejection)),
        }),
        (Err(SubmitError::NoLeader(_) | SubmitError::Timeout(_)), Some(cmd)) => match b.queue(id, cmd, who).await {
            Ok(q) => Ok(Submission::Queued(Box::new(q))),
            Err(e) => Err(Fault::Node(e.to_string())),
        },
        (Err(SubmitError::Internal(e)), _) => Err(Fault::Node(e)),
        (Err(e), _) => Ok(Submission::Refused(Refusal::Cluster(e))),
    }
}

/// Records a federated login ([`Command::FederatedLogin`], the node's own command: no actor),
/// sent by `pages::federated` only after an identity provider vouched for the person and its
/// rules mapped them. Any other command is refused here. Without a leader, and with
/// `may_queue`, it waits in this node's outbox marked provisional (the caller then starts a
/// provisional session) and is sent on, once, when a leader is back.
pub async fn federated_login(
    b: &dyn Backend,
    id: CommandId,
    cmd: Command,
    may_queue: bool,
) -> Result<Submission, Fault> {
    if !matches!(cmd, Command::FederatedLogin { .. }) {
        let r = Rejection::Forbidden { kind: cmd.kind(), why: "not a federated login".into() };
        return Ok(Submission::Refused(Refusal::Rejected(r)));
    }
    if let Err(r) = domain::apply::validate(&cmd) {
        return Ok(Submission::Refused(Refusal::Rejected(r)));
    }
    let queued = may_queue.then(|| match cmd.clone() {
        Command::FederatedLogin { idp_id, user_id, name, role, units, once, .. } => {
            Command::FederatedLogin { idp_id, user_id, name, role, units, provisional: true, once }
        }
        other => other,
    });
    propose(b, id, cmd, None, queued).await
}

/// What became of an ops action that is recorded and then carried out by the node: a member
/// change ([`change_member`]) or a drill ([`start_drill`]).
#[derive(Debug)]
pub enum Carried {
    Done,
    /// Not recorded: refused by the domain (e.g. not ops), or no leader.
    Refused(Refusal),
    /// Recorded, but the node could not carry it out (e.g. it would lose the majority).
    Failed(String),
}

/// A member change asked for by `user`: recorded first (`Command::ChangeMember`, so `apply`
/// decides who may, and the audit trail and the node's history say who asked), then carried
/// out by the leader through [`Backend::change_member`].
pub async fn change_member(
    b: &dyn Backend,
    user: &User,
    id: CommandId,
    node: u64,
    change: domain::nodes::MemberChange,
) -> Result<Carried, Fault> {
    match submit(b, Some(user), id, Command::ChangeMember { node, change }, false).await? {
        // Carried out only for this node's change, not for the first verdict of a command id
        // used before for something else.
        Submission::Saved { kind: Some(Kind::Node), id } if id == node.to_string() => {
            Ok(match b.change_member(node, change).await {
                Ok(()) => Carried::Done,
                Err(why) => Carried::Failed(why),
            })
        }
        Submission::Saved { .. } => {
            Ok(Carried::Failed("this request's key was used before for another request".into()))
        }
        Submission::Refused(r) => Ok(Carried::Refused(r)),
        Submission::Queued(_) => Ok(Carried::Failed("a member change never waits in the outbox".into())),
    }
}

/// What became of an invitation asked for.
pub enum Invited {
    /// Recorded: the invitation to hand over (its secret exists only in it).
    Made(Box<crate::invitation::InviteToken>),
    Refused(Refusal),
    /// Nodes cannot join this cluster by invitation (why).
    Failed(String),
}

/// Most invitations and node records read to find the next free node id.
const MAX_NODES_SCANNED: usize = 10_000;

/// An invitation for a new node asked for by `user`: a node id nobody ever had (not a member,
/// not in the directory, not in another invitation), a fresh secret whose hash alone is
/// recorded (`Command::CreateInvitation`, so `apply` decides who may), open for `valid`.
pub async fn create_invitation(
    b: &dyn Backend,
    user: &User,
    id: CommandId,
    name: &str,
    join_as: domain::nodes::invitations::JoinAs,
    valid: time::Duration,
) -> Result<Invited, Fault> {
    let Some(base) = b.invitation_base() else {
        return Ok(Invited::Failed(
            "nodes join by invitation only a cluster whose nodes speak TLS to each other ([tls] with the cluster CA)"
                .into(),
        ));
    };
    let view = b.view();
    let mut node = base.next_node.max(1);
    for table in [domain::Table::Invitation, domain::Table::Node] {
        for rec in view.scan(table, None, MAX_NODES_SCANNED)? {
            match rec {
                domain::Record::Invitation(i) => node = node.max(i.fields.node + 1),
                domain::Record::Node(n) => node = node.max(n.id + 1),
                _ => {}
            }
        }
    }
    let (secret, secret_sha256) = crate::invitation::new_secret();
    let fields = domain::nodes::invitations::InvitationFields {
        node,
        name: name.trim().to_owned(),
        join_as,
        expires_at: time::OffsetDateTime::now_utc() + valid,
        secret_sha256,
    };
    let token = crate::invitation::InviteToken {
        node,
        name: fields.name.clone(),
        secret,
        ca_sha256: base.ca_sha256,
        peers: base.peers,
    };
    match submit(b, Some(user), id, Command::CreateInvitation(fields), false).await? {
        Submission::Saved { id, .. } if id == node.to_string() => Ok(Invited::Made(Box::new(token))),
        // A command id seen before answers its first verdict: that invitation's secret was
        // shown then and is kept nowhere.
        Submission::Saved { id, .. } => Ok(Invited::Failed(format!(
            "this request was made before (as {id}); an invitation's secret is shown only once: revoke it and make a new one"
        ))),
        Submission::Refused(r) => Ok(Invited::Refused(r)),
        Submission::Queued(_) => Ok(Invited::Failed("an invitation never waits in the outbox".into())),
    }
}

/// An invitation revoked by `user`: recorded first (an open one can then never be used; a used
/// one's certificate is refused by every node), then — when its node is a member — the node
/// removed, so the leader sends it nothing more. A removal refused (it would cost the majority)
/// is said, the revocation stands.
pub async fn revoke_invitation(b: &dyn Backend, user: &User, id: CommandId, node: u64) -> Result<Carried, Fault> {
    match submit(b, Some(user), id, Command::RevokeInvitation { node }, false).await? {
        // This revocation, not the first verdict of a command id used before for something else.
        Submission::Saved { kind: Some(Kind::Invitation), id } if id == node.to_string() => {
            let st = b.cluster();
            let joined = b.view().invitation(node)?.is_some_and(|i| i.revoked.is_some() && i.used.is_some());
            if !joined || (!st.voters.contains(&node) && !st.learners.contains(&node)) {
                return Ok(Carried::Done);
            }
            Ok(match b.change_member(node, domain::nodes::MemberChange::Remove).await {
                Ok(()) => Carried::Done,
                Err(why) => Carried::Failed(format!("revoked, but node {node} is still a member: {why}")),
            })
        }
        Submission::Saved { .. } => {
            Ok(Carried::Failed("this request's key was used before for another request".into()))
        }
        Submission::Refused(r) => Ok(Carried::Refused(r)),
        Submission::Queued(_) => Ok(Carried::Failed("a revocation never waits in the outbox".into())),
    }
}

/// How long the API token made for a drill started from `/ops` lasts: longer than any drill
/// (at most a minute of writing after a cut of at most five), and known only to the drill.
const DRILL_TOKEN_MINUTES: i64 = 30;

/// A failover drill asked for by `user` (ops or admin): an API token for them (`token`, fresh
/// from `auth::new_token`), made for this drill (`Command::CreateToken`, so the audit trail says who ran it), and the drill started
/// by the node with it; its writes, report and audit lines carry the person's name.
pub async fn start_drill(
    b: &dyn Backend,
    user: &User,
    mode: crate::backend::DrillMode,
    seconds: u64,
    token: NewToken,
) -> Result<Carried, Fault> {
    if !matches!(user.role, domain::Role::Ops | domain::Role::Admin) {
        let r =
            Rejection::Forbidden { kind: Kind::Drill, why: "failover drills are run by ops staff and admins".into() };
        return Ok(Carried::Refused(Refusal::Rejected(r)));
    }
    if b.drill_run().is_some_and(|r| r.running) {
        return Ok(Carried::Failed("a drill started on this node is still running".into()));
    }
    let t = token;
    let cmd = Command::CreateToken {
        token_id: t.id.clone(),
        user_id: user.id.clone(),
        secret_sha256: t.secret_sha256,
        label: "failover drill from /ops".into(),
        expires_at: Some(time::OffsetDateTime::now_utc() + time::Duration::minutes(DRILL_TOKEN_MINUTES)),
    };
    let id = CommandId::new(uuid::Uuid::new_v4().to_string());
    match submit(b, Some(user), id, cmd, false).await? {
        Submission::Saved { .. } => {}
        Submission::Refused(r) => return Ok(Carried::Refused(r)),
        Submission::Queued(_) => return Ok(Carried::Failed("a drill never waits in the outbox".into())),
    }
    let start = crate::backend::DrillStart { mode, seconds, token: t.token, by: user.id.to_string() };
    Ok(match b.start_drill(start) {
        Ok(()) => Carried::Done,
        Err(why) => Carried::Failed(why),
    })
}
