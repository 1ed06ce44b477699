//! SAML logins (issue 20). The cluster is one service provider: `GET /auth/saml/metadata` lists
//! every node's assertion consumer service (`/auth/saml/acs`, indexed by node id). The button
//! on `/login` sends the browser to the IdP with a signed AuthnRequest asking for the answer at
//! this node's consumer service; the IdP posts the response there (or, behind a shared name, to
//! any node).
//!
//! A SAML response comes back as a cross-site POST, which carries no `SameSite` cookie, so the
//! login in progress travels in the RelayState instead, signed with the cluster's session key
//! (`idp.node.expiry.mac`, within SAML's 80 bytes): any node can check it and complete the
//! login. The response itself must answer a request of ours (`InResponseTo`), be signed by the
//! IdP, be meant for this SP and consumer service, and be fresh; its assertion is used once.

use super::chrome::{Ctx, PageResult};
use super::federated::{clip, complete, enabled_idp, refused};
use super::form::Fields;
use crate::backend::{AccessEvent, Backend};
use axum::Form;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::federation::{IdentityProvider, Protocol};
use domain::{Record, Table};
use time::OffsetDateTime;

/// What the RelayState's MAC is for (see [`crate::sessions::sign_short`]).
const PURPOSE: &str = "saml-relay";
/// A login must come back from the IdP within this many seconds.
const PENDING_SECONDS: i64 = 600;

/// A node's consumer service URL, from its public URL.
pub(crate) fn acs_url(public_url: &str) -> String {
    format!("{}/auth/saml/acs", public_url.trim_end_matches('/'))
}

/// The SP metadata's URL on a node.
pub(crate) fn metadata_url(public_url: &str) -> String {
    format!("{}/auth/saml/metadata", public_url.trim_end_matches('/'))
}

/// Every node's consumer service, indexed by node id (retired nodes left out; this node
/// always in, even before the cluster has recorded it).
pub(crate) fn consumer_services(b: &dyn Backend) -> Result<Vec<(u16, String)>, super::chrome::Error> {
    let mut out = Vec::new();
    for r in b.view().scan(Table::Node, None, 1000)? {
        if let Record::Node(n) = r
            && !n.retired
            && let Ok(i) = u16::try_from(n.id)
        {
            out.push((i, acs_url(&n.http)));
        }
    }
    if let Ok(me) = u16::try_from(b.cluster().node_id)
        && !out.iter().any(|(i, _)| *i == me)
    {
        out.push((me, acs_url(&b.public_url())));
    }
    out.sort();
    Ok(out)
}

/// `GET /auth/saml/metadata`: the SP metadata IdP admins register (public, like every SP's).
pub async fn metadata(ctx: Ctx) -> Result<Response, super::chrome::Error> {
    let b = ctx.backend.clone();
    if !b.saml_sp() {
        return Err(ctx.not_found());
    }
    let xml = b.saml_metadata(consumer_services(b.as_ref())?).map_err(super::chrome::Error::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/samlmetadata+xml")], xml).into_response())
}

/// Off to a SAML IdP (from `/login/idp/{id}`).
pub(super) async fn begin(ctx: Ctx, idp: IdentityProvider) -> PageResult {
    let b = ctx.backend.clone();
    let me = u16::try_from(b.cluster().node_id).unwrap_or_default();
    let exp = OffsetDateTime::now_utc().unix_timestamp() + PENDING_SECONDS;
    let relay = match crate::sessions::newest_key(b.view().as_ref())? {
        Some(key) => crate::sessions::sign_short(&key, PURPOSE, &format!("{}.{me}.{exp}", idp.id)),
        None => None,
    };
    let Some(relay) = relay else {
        let msg = ctx.c.t("login.no_key").to_owned();
        return refused(ctx, StatusCode::SERVICE_UNAVAILABLE, "/".into(), msg);
    };
    match b.saml_begin(idp.clone(), consumer_services(b.as_ref())?, me, relay).await {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(e) => {
            tracing::warn!(idp = %idp.id, "SAML login could not start: {e}");
            let msg = ctx.c.tf("login.idp_unreachable", &[("idp", &idp.name)]);
            refused(ctx, StatusCode::BAD_GATEWAY, "/".into(), msg)
        }
    }
}

/// The IdP, consumer service and expiry a RelayState names, if it is ours and signed.
fn read_relay(b: &dyn Backend, relay: &str) -> Result<Option<(String, u16, i64)>, super::chrome::Error> {
    let Some(parts) = crate::sessions::verify_short(b.view().as_ref(), PURPOSE, relay)? else { return Ok(None) };
    let mut it = parts.split('.');
    let (Some(idp), Some(node), Some(exp), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Ok(None);
    };
    Ok(node.parse().ok().zip(exp.parse().ok()).map(|(n, e)| (idp.to_owned(), n, e)))
}

/// `POST /auth/saml/acs`: the IdP's answer (HTTP-POST binding).
pub async fn acs(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let f = Fields(f);
    let b = ctx.backend.clone();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let relay = f.text("RelayState");
    let pending = read_relay(b.as_ref(), &relay)?.filter(|(_, _, exp)| *exp > now);
    let (Some((idp_id, acs_index, _)), Some(response)) = (pending, f.get("SAMLResponse").map(str::to_owned)) else {
        let msg = ctx.c.t("login.idp_expired").to_owned();
        return refused(ctx, StatusCode::BAD_REQUEST, "/".into(), msg);
    };
    let Some(idp) = enabled_idp(&ctx, &idp_id)?.filter(|i| matches!(i.protocol, Protocol::Saml { .. })) else {
        let msg = ctx.c.t("login.idp_unknown").to_owned();
        return refused(ctx, StatusCode::NOT_FOUND, "/".into(), msg);
    };
    let acs = consumer_services(b.as_ref())?;
    let login = match b.saml_finish(idp.clone(), acs, acs_index, relay, response).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(idp = %idp.id, "SAML login refused: {e}");
            b.record_access(AccessEvent::now("login_failed", "", &format!("idp:{}", idp.id), None));
            let msg = format!("{} ({})", ctx.c.tf("login.idp_failed", &[("idp", &idp.name)]), clip(&e));
            return refused(ctx, StatusCode::UNAUTHORIZED, "/".into(), msg);
        }
    };
    // A fresh command id: a replayed assertion must reach the cluster's check and be refused,
    // not be answered with the first login's verdict.
    let mut n = [0u8; 12];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut n);
    complete(ctx, idp, &login.attrs, "/".into(), format!("login-saml-{}", hex::encode(n)), Some(login.once)).await
}
