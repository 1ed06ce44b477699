//! `/ops`: for ops staff and admins, the cluster's members as this node sees them now (each
//! asked for its state) with the changes ops staff make from here — promote a learner, remove a
//! member, hand leadership over — this node's SMS routes and whether it reaches them now, every
//! failover drill report (newest first), each printable as a PDF, the offline copy to take
//! away (with the key that signs it), and — on a node without a majority for long — break-glass
//! recovery, confirmed by two accounts.

use askama::Template;
use axum::extract::{Form, Path};
use axum::http::StatusCode;
use domain::Role;
use domain::StateViewExt;
use domain::drills::DrillReport;
use domain::nodes::invitations::{Invitation, InvitationState};
use domain::nodes::{MemberChange, NodeEvent};

use super::chrome::{Chrome, Ctx, PageResult, render, see_path};
use super::form::Fields;
use crate::backend::{BreakGlass, BreakGlassStep, ClusterStatus, DrillMode, DrillRun, MemberState, SmsRouteStatus};
use crate::error::Error;
use crate::submit::{Carried, Invited, Refusal, change_member, create_invitation, revoke_invitation, start_drill};

/// Events of a member's history shown (newest first).
const HISTORY_SHOWN: usize = 3;

/// A member's row.
struct Member {
    s: MemberState,
    /// Catalog key of its role: leader, voter or learner.
    role: &'static str,
    /// Its latest events, newest first.
    history: Vec<NodeEvent>,
}

#[derive(Template)]
#[template(path = "ops/page.html")]
struct OpsPage {
    c: Chrome,
    status: ClusterStatus,
    members: Vec<Member>,
    drills: Vec<DrillReport>,
    /// This node's own conditions (e.g. its revocation lists), in English as the node states them.
    notes: Vec<String>,
    sms: Vec<SmsRouteStatus>,
    /// The cluster's key that signs offline copies (`ed25519:…`), for a receiver to compare.
    copy_key: String,
    /// The drill this node started last.
    run: Option<DrillRun>,
    /// The voters a drill may hand leadership to.
    voters: Vec<u64>,
    /// Invitations for new nodes, newest first, with their state now.
    invitations: Vec<(Invitation, InvitationState)>,
    /// Whether nodes can join this cluster by invitation (it runs with cluster TLS).
    can_invite: bool,
    /// Break-glass recovery, when there is something to say about it here (see [`glass_shown`]).
    glass: Option<BreakGlass>,
    /// The account looking at the page.
    me: String,
}

/// Whether `/ops` speaks of break-glass recovery: while the node lacks a majority, while a
/// confirmation waits or runs, and after a forced new cluster until it has three voters again.
fn glass_shown(g: &BreakGlass, voters: usize) -> bool {
    g.majority_lost_ms.is_some() || g.pending.is_some() || g.running || (g.founded.is_some() && voters < 3)
}

/// A span of time for people: seconds under two minutes, then minutes, then hours.
fn span(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The page shown once after an invitation is made: the command to run on the new machine and
/// the same as a QR code. The secret is in nothing else.
#[derive(Template)]
#[template(path = "ops/invited.html")]
struct InvitedPage {
    c: Chrome,
    node: u64,
    name: String,
    command: String,
    qr: String,
    expires: String,
}

impl OpsPage {
    /// The break-glass explanation's sentences, with this node's numbers.
    fn glass_lines(&self, g: &BreakGlass) -> Vec<String> {
        let c = &self.c;
        let node = self.status.node_id.to_string();
        let mut lines = Vec::new();
        if let Some(ms) = g.majority_lost_ms {
            lines.push(c.tf("ops.glass_lost", &[("node", node.as_str()), ("for", span(ms).as_str())]));
            lines.push(c.tf(
                "ops.glass_data",
                &[
                    ("last", self.status.last_log_index.to_string().as_str()),
                    ("applied", self.status.last_applied_index.to_string().as_str()),
                ],
            ));
            if !g.allowed() {
                let left = span(g.after_ms.saturating_sub(ms));
                lines.push(c.tf("ops.glass_wait", &[("after", span(g.after_ms).as_str()), ("left", left.as_str())]));
            }
        }
        lines
    }

    fn glass_pending(&self, g: &BreakGlass) -> String {
        g.pending.as_ref().map_or_else(String::new, |p| {
            self.c.tf("ops.glass_pending", &[("account", p.account.as_str()), ("at", self.c.datetime(p.at).as_str())])
        })
    }

    fn glass_founded(&self, g: &BreakGlass) -> String {
        g.founded.as_ref().map_or_else(String::new, |f| {
            let retired: Vec<String> = f.retired.iter().map(u64::to_string).collect();
            self.c.tf(
                "ops.glass_founded",
                &[
                    ("node", self.status.node_id.to_string().as_str()),
                    ("at", self.c.datetime(f.at).as_str()),
                    ("by", f.confirmed_by.join(", ").as_str()),
                    ("retired", retired.join(", ").as_str()),
                ],
            )
        })
    }

    /// Whether the one looking made the waiting confirmation.
    fn glass_mine(&self, g: &BreakGlass) -> bool {
        g.pending.as_ref().is_some_and(|p| p.account == self.me)
    }

    fn reach(&self, r: &SmsRouteStatus) -> &str {
        match r.up {
            Some(true) => self.c.t("ops.sms_up"),
            Some(false) => self.c.t("ops.sms_down"),
            None => self.c.t("ops.sms_unknown"),
        }
    }
    fn secs(&self, ms: &Option<u64>) -> String {
        ms.map_or_else(|| self.c.t("drill.never").to_owned(), |m| format!("{:.2} s", m as f64 / 1000.0))
    }
    /// "answers", "heard 12 s ago" or "never heard".
    fn contact(&self, m: &MemberState) -> String {
        match (m.reachable, m.millis_since_contact) {
            (true, _) => self.c.t("ops.answers").to_owned(),
            (false, Some(ms)) => self.c.tf("ops.heard_ago", &[("s", &(ms / 1000).to_string())]),
            (false, None) => self.c.t("ops.never_heard").to_owned(),
        }
    }
    fn run_mode(&self, mode: &DrillMode) -> String {
        match mode {
            DrillMode::Transfer { to: Some(to) } => self.c.tf("ops.drill_transfer_to", &[("node", &to.to_string())]),
            DrillMode::Transfer { to: None } => self.c.t("ops.drill_transfer").to_owned(),
            DrillMode::Kill => self.c.t("ops.drill_kill").to_owned(),
            DrillMode::Isolate { seconds } => self.c.tf("ops.drill_isolate_for", &[("s", &seconds.to_string())]),
        }
    }
    fn invite_state(&self, st: &InvitationState) -> String {
        self.c.t(format!("ops.invitation_{}", st.as_str())).to_owned()
    }
    fn disk(&self, bytes: &Option<u64>) -> String {
        bytes.map_or_else(|| "–".to_owned(), |b| format!("{:.1} GB", b as f64 / 1e9))
    }
    fn event(&self, e: &NodeEvent) -> String {
        let what = self.c.t(format!("ops.event_{}", e.what));
        match &e.by {
            Some(by) => format!("{} {what} ({by})", self.c.datetime(e.at)),
            None => format!("{} {what}", self.c.datetime(e.at)),
        }
    }
}

pub async fn page(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("ops");
    if !matches!(ctx.user()?.role, Role::Ops | Role::Admin) {
        return Err(ctx.forbidden());
    }
    let status = ctx.backend.cluster();
    let view = ctx.backend.view();
    let drills = documents::drills::all(view.as_ref())?;
    let mut members = Vec::new();
    for s in ctx.backend.members().await {
        let role = if s.leader {
            "ops.leader"
        } else if s.voter {
            "ops.voter"
        } else {
            "ops.learner"
        };
        let mut history = view.node(s.id)?.map(|n| n.history).unwrap_or_default();
        history.reverse();
        history.truncate(HISTORY_SHOWN);
        members.push(Member { s, role, history });
    }
    let notes = ctx.backend.ops_notes();
    let sms = ctx.backend.sms_routes();
    let copy_key = documents::offline::signing_key(view.as_ref())
        .map(|k| documents::offline::key_text(&k.verifying_key()))
        .unwrap_or_default();
    let run = ctx.backend.drill_run();
    let voters = status.voters.clone();
    let now = time::OffsetDateTime::now_utc();
    let invitations = crate::api::invitations::all(ctx.backend.as_ref())?
        .into_iter()
        .map(|i| (i.state(now), i))
        .map(|(s, i)| (i, s))
        .collect();
    let can_invite = ctx.backend.invitation_base().is_some();
    let glass = ctx.backend.break_glass().filter(|g| glass_shown(g, status.voters.len()));
    let me = ctx.user()?.id.to_string();
    render(&OpsPage {
        c: ctx.c,
        status,
        members,
        drills,
        notes,
        sms,
        copy_key,
        run,
        voters,
        invitations,
        can_invite,
        glass,
        me,
    })
}

/// What every `/ops` form checks first: who is logged in, the form's CSRF token, and that they
/// are ops staff or an admin.
fn ops_form(ctx: Ctx, f: Vec<(String, String)>) -> Result<(Ctx, domain::User, Fields), Error> {
    let ctx = ctx.in_section("ops");
    let user = ctx.user()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    if !matches!(user.role, Role::Ops | Role::Admin) {
        return Err(ctx.forbidden());
    }
    Ok((ctx, user, f))
}

/// `POST /ops/drill`: starts a failover drill from this node — what `POST /api/v1/drills/run`
/// does.
pub async fn drill(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let (ctx, user, f) = ops_form(ctx, f)?;
    let number = |k: &str| f.get(k).map(str::trim).filter(|v| !v.is_empty()).map(|v| v.parse::<u64>());
    let bad = |m: String| Error::new(StatusCode::UNPROCESSABLE_ENTITY, "drill.invalid", m);
    let (Ok(to), Ok(isolate), Ok(seconds)) =
        (number("to").transpose(), number("isolate_seconds").transpose(), number("seconds").transpose())
    else {
        return Err(bad(ctx.c.t("ops.drill_numbers").to_owned()));
    };
    let (mode, seconds) =
        crate::api::drills::drill_mode(f.get("mode").unwrap_or_default(), to, isolate, seconds).map_err(bad)?;
    match start_drill(ctx.backend.as_ref(), &user, mode, seconds, crate::auth::new_token()).await? {
        Carried::Done => see_path("/ops?done=drill_started#drill-run"),
        Carried::Refused(Refusal::Rejected(domain::Rejection::Forbidden { .. })) => Err(ctx.forbidden()),
        Carried::Refused(r) => Err(Error::from(r)),
        Carried::Failed(why) => Err(Error::new(StatusCode::CONFLICT, "drill.not_started", why)),
    }
}

/// `POST /ops/members/{id}/{change}`: promote, remove (confirmed by ticking a box) or hand
/// leadership to a member — what `POST /api/v1/cluster/members/{id}/{change}` does.
pub async fn change(
    ctx: Ctx,
    Path((id, change)): Path<(String, String)>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    let (ctx, user, f) = ops_form(ctx, f)?;
    let (Ok(node), Some(what)) = (id.parse::<u64>(), MemberChange::parse(&change)) else {
        return Err(ctx.not_found());
    };
    if what == MemberChange::Remove && f.text("confirm") != "yes" {
        return Err(Error::new(StatusCode::UNPROCESSABLE_ENTITY, "unconfirmed", ctx.c.t("ops.remove_unconfirmed")));
    }
    let cmd_id = domain::CommandId::new(uuid::Uuid::new_v4().to_string());
    match change_member(ctx.backend.as_ref(), &user, cmd_id, node, what).await? {
        Carried::Done => see_path("/ops?done=member_changed#members-h"),
        Carried::Refused(Refusal::Rejected(domain::Rejection::Forbidden { .. })) => Err(ctx.forbidden()),
        Carried::Refused(r) => Err(Error::from(r)),
        Carried::Failed(why) => Err(Error::new(StatusCode::CONFLICT, "node.change_failed", why)),
    }
}

/// `POST /ops/invitations`: makes an invitation — what `POST /api/v1/invitations` does — and
/// shows it this once, as a command and a QR code.
pub async fn invite(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let (ctx, user, f) = ops_form(ctx, f)?;
    let hours = match f.text("hours").trim() {
        "" => None,
        h => Some(h.parse::<i64>().map_err(|_| {
            Error::new(StatusCode::UNPROCESSABLE_ENTITY, "invitation.invalid", ctx.c.t("ops.invite_hours_bad"))
        })?),
    };
    let (join_as, valid) = crate::api::invitations::parse_request(f.text("join_as").trim(), hours, None)?;
    let id = domain::CommandId::new(uuid::Uuid::new_v4().to_string());
    match create_invitation(ctx.backend.as_ref(), &user, id, &f.text("name"), join_as, valid).await? {
        Invited::Made(token) => {
            let command = token.command();
            let qr = crate::invitation::qr_svg(&command).unwrap_or_default();
            let expires = ctx.backend.view().invitation(token.node)?.map(|i| ctx.c.datetime(i.fields.expires_at));
            render(&InvitedPage {
                node: token.node,
                name: token.name.clone(),
                command,
                qr,
                expires: expires.unwrap_or_default(),
                c: ctx.c,
            })
        }
        Invited::Refused(Refusal::Rejected(domain::Rejection::Forbidden { .. })) => Err(ctx.forbidden()),
        Invited::Refused(r) => Err(Error::from(r)),
        Invited::Failed(why) => Err(Error::new(StatusCode::CONFLICT, "invitation.unavailable", why)),
    }
}

/// `POST /ops/invitations/{node}/revoke` — what `POST /api/v1/invitations/{node}/revoke` does.
pub async fn revoke(ctx: Ctx, Path(node): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let (ctx, user, _f) = ops_form(ctx, f)?;
    let Ok(node) = node.parse::<u64>() else {
        return Err(ctx.not_found());
    };
    let id = domain::CommandId::new(uuid::Uuid::new_v4().to_string());
    match revoke_invitation(ctx.backend.as_ref(), &user, id, node).await? {
        Carried::Done => see_path("/ops?done=invitation_revoked#invitations-h"),
        Carried::Refused(Refusal::Rejected(domain::Rejection::Forbidden { .. })) => Err(ctx.forbidden()),
        Carried::Refused(r) => Err(Error::from(r)),
        Carried::Failed(why) => Err(Error::new(StatusCode::CONFLICT, "node.change_failed", why)),
    }
}

/// `POST /ops/break-glass`: one ops or admin account confirms a forced new cluster on this node
/// (ticking that the other nodes are lost for good). The node decides whether it may; the
/// second, different account starts it.
pub async fn break_glass(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let (ctx, user, f) = ops_form(ctx, f)?;
    if f.text("confirm") != "yes" {
        return Err(Error::new(StatusCode::UNPROCESSABLE_ENTITY, "unconfirmed", ctx.c.t("ops.glass_unconfirmed")));
    }
    match ctx.backend.confirm_break_glass(user.id.as_str()) {
        Ok(BreakGlassStep::Waiting) => see_path("/ops?done=glass_confirmed#glass-h"),
        Ok(BreakGlassStep::Started) => see_path("/ops?done=glass_started#glass-h"),
        Err(why) => Err(Error::new(StatusCode::CONFLICT, "cluster.break_glass_refused", why)),
    }
}

/// `POST /ops/break-glass/withdraw`: withdraws the confirmation waiting for a second account.
pub async fn break_glass_withdraw(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let (ctx, user, _f) = ops_form(ctx, f)?;
    match ctx.backend.withdraw_break_glass(user.id.as_str()) {
        Ok(()) => see_path("/ops?done=glass_withdrawn#glass-h"),
        Err(why) => Err(Error::new(StatusCode::CONFLICT, "cluster.break_glass_refused", why)),
    }
}
