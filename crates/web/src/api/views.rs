//! Records as the JSON API shows them: never a password hash, a token's secret or a webhook
//! secret; and the answer to a write queued in this node's outbox.

use domain::channels::{Channel, SupplierChannel};
use domain::state::StateViewExt;
use domain::{Kind, OrderId, StateView, TokenId, UserId};
use serde_json::{Value, json};

use crate::backend::Queued;
use crate::error::Error;

/// A user as the API shows it: never the password hash.
#[derive(serde::Serialize)]
pub(crate) struct UserView {
    id: UserId,
    name: String,
    role: domain::Role,
    units: Vec<domain::UnitId>,
    has_password: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
    disabled: bool,
    /// The identity provider whose logins made the account (left out: made here).
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<domain::IdpId>,
    version: u64,
}

impl From<domain::User> for UserView {
    fn from(u: domain::User) -> Self {
        Self {
            id: u.id,
            name: u.name,
            role: u.role,
            units: u.units,
            has_password: u.password_hash.is_some(),
            expires_at: u.expires_at,
            disabled: u.disabled,
            source: u.source,
            version: u.version,
        }
    }
}

/// A token as the API shows it: never the secret or its hash.
#[derive(serde::Serialize)]
pub(crate) struct TokenView {
    id: TokenId,
    user_id: UserId,
    label: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    revoked: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
}

impl From<domain::ApiToken> for TokenView {
    fn from(t: domain::ApiToken) -> Self {
        let (id, user_id, label, created_at, revoked, expires_at) =
            (t.id, t.user_id, t.label, t.created_at, t.revoked, t.expires_at);
        Self { id, user_id, label, created_at, revoked, expires_at }
    }
}

/// A stored channel as answers show it.
pub(crate) fn channel_shown(c: &SupplierChannel) -> Value {
    let (channel, has_secret) = c.redacted();
    let mut v = json!({
        "supplier_id": c.supplier_id,
        "channel": channel,
        "changed_at": c.changed_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "changed_by": c.changed_by,
        "version": c.version,
    });
    if matches!(channel, Channel::Webhook { .. }) {
        v["channel"]["secret"] = Value::Null;
        v["channel"]["has_secret"] = Value::Bool(has_secret);
    }
    v
}

/// An identity provider as the API shows it: the client secret and the pseudonym key never,
/// only whether a secret is set.
pub(crate) fn idp_shown(i: &domain::federation::IdentityProvider) -> Value {
    let (shown, has_secret) = i.redacted();
    let mut v = serde_json::to_value(&shown).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("pseudonym_key");
        o.insert("has_client_secret".into(), Value::Bool(has_secret));
    }
    if let Some(p) = v.get_mut("protocol").and_then(Value::as_object_mut) {
        p.remove("client_secret");
    }
    v
}

/// The 202 answer to a write that was queued here.
pub(crate) fn queued_json(q: &Queued) -> Value {
    json!({
        "state": "queued",
        "seq": q.seq,
        "command_id": q.id,
        "message": "queued on this node: not yet shared with the other hospitals; it is sent when a leader is reachable",
    })
}

/// The record a write touched, as this node has applied it and as the API shows it.
/// A report ("unit/0000000001"), the form ("form") or a cycle ("cycle:key"; null once stopped).
fn report_json(v: &dyn StateView, id: &str) -> Result<Result<Value, serde_json::Error>, Error> {
    if id == "form" {
        return Ok(serde_json::to_value(domain::reports::form(v)?));
    }
    if let Some(key) = id.strip_prefix("cycle:") {
        return Ok(serde_json::to_value(v.report_cycle(domain::SiteKey::new(key))?));
    }
    let key = id.split_once('/').and_then(|(unit, n)| {
        Some(domain::reports::ReportKey { unit_id: domain::UnitId::new(unit), n: n.parse().ok()? })
    });
    Ok(match key {
        Some(k) => serde_json::to_value(v.report(k)?),
        None => Ok(Value::Null),
    })
}

pub(crate) fn record_json(v: &dyn StateView, kind: Kind, id: &str) -> Result<Value, Error> {
    let body = match kind {
        Kind::Supplier => serde_json::to_value(v.supplier(domain::SupplierId::new(id))?),
        Kind::Unit => serde_json::to_value(v.unit(domain::UnitId::new(id))?),
        Kind::Article => serde_json::to_value(v.article(domain::ArticleId::new(id))?),
        Kind::Order => serde_json::to_value(v.order(OrderId::new(id))?),
        Kind::Node => serde_json::to_value(v.node(id.parse::<u64>().unwrap_or_default())?),
        Kind::User => serde_json::to_value(v.user(UserId::new(id))?.map(UserView::from)),
        Kind::Token => serde_json::to_value(v.token(TokenId::new(id))?.map(TokenView::from)),
        Kind::Organisation => serde_json::to_value(v.organisation()?),
        Kind::System => serde_json::to_value(v.system(domain::SystemId::new(id))?),
        Kind::Incident => serde_json::to_value(v.incident(domain::IncidentId::new(id))?),
        Kind::Maintenance => serde_json::to_value(v.maintenance(domain::MaintenanceId::new(id))?),
        Kind::Readiness => serde_json::to_value(v.readiness(id)?),
        Kind::Contact => serde_json::to_value(v.contact(domain::ContactId::new(id))?),
        Kind::Rota => serde_json::to_value(v.rota(domain::RotaId::new(id))?),
        Kind::Card => serde_json::to_value(v.card(domain::CardId::new(id))?),
        Kind::Drill => serde_json::to_value(v.drill(id)?),
        Kind::Dispatch => serde_json::to_value(v.dispatch(id)?.map(|j| j.redacted())),
        Kind::Subscriber => serde_json::to_value(v.subscriber(id)?.map(|s| s.redacted())),
        Kind::Channel => serde_json::to_value(v.channel(domain::SupplierId::new(id))?.as_ref().map(channel_shown)),
        Kind::Idp => serde_json::to_value(v.idp(domain::IdpId::new(id))?.as_ref().map(idp_shown)),
        Kind::Page => serde_json::to_value(v.page(domain::PageId::new(id))?.map(|p| p.redacted())),
        Kind::Report => report_json(v, id)?,
        Kind::Banner => serde_json::to_value(v.banner(domain::BannerId::new(id))?),
        Kind::Exercise => serde_json::to_value(v.exercise(domain::ExerciseId::new(id))?),
        // Never the secret's hash: the same fields as the invitation list.
        Kind::Invitation => Ok(v
            .invitation(id.parse::<u64>().unwrap_or_default())?
            .map_or(Value::Null, |i| invitation_item(&i, time::OffsetDateTime::now_utc()))),
    }
    .map_err(Error::internal)?;
    Ok(body)
}

/// An invitation as the API and `/ops` show it: its state now, who made it, never its secret.
pub(crate) fn invitation_item(i: &domain::nodes::invitations::Invitation, now: time::OffsetDateTime) -> Value {
    let rfc3339 =
        |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    json!({
        "node": i.fields.node,
        "name": i.fields.name,
        "join_as": i.fields.join_as,
        "state": i.state(now),
        "created_at": rfc3339(i.created.at),
        "created_by": i.created.by,
        "expires_at": rfc3339(i.fields.expires_at),
        "used_at": i.used.as_ref().map(|u| rfc3339(u.at)),
        "cert_sha256": i.cert_sha256,
        "revoked_at": i.revoked.as_ref().map(|r| rfc3339(r.at)),
        "revoked_by": i.revoked.as_ref().and_then(|r| r.by.clone()),
        "version": i.version,
    })
}
