//! `/api/v1/idps`: the identity providers staff log in through and the rules that make their
//! accounts (admins only). A client secret is written, never read back; the pseudonym key is
//! made here when an IdP is added and never shown.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use domain::federation::{IdpFields, Mapping, Protocol};
use domain::{Command, IdpId, Record, Role, StateViewExt, Table};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use super::common::{ApiResult, Body, Shared, command_id, write};
use super::views::idp_shown;
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/idps", get(list).post(create))
        .route("/api/v1/idps/{id}", get(one).put(update))
        .route("/api/v1/idps/{id}/test", axum::routing::post(test_rules))
}

fn admins_only(actor: &Actor) -> Result<(), Error> {
    if actor.0.role == Role::Admin {
        Ok(())
    } else {
        Err(Error::new(StatusCode::FORBIDDEN, "idp.forbidden", "only admins see and set login methods"))
    }
}

async fn list(State(b): Shared, actor: Actor) -> ApiResult {
    admins_only(&actor)?;
    let items: Vec<_> = b
        .view()
        .scan(Table::Idp, None, 1000)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Idp(i) => {
                let mut v = idp_shown(&i);
                if matches!(i.protocol, Protocol::Oidc { .. }) {
                    v["callback_url"] = json!(crate::login::oidc_callback_url(&b.public_url(), &i.id));
                }
                Some(v)
            }
            _ => None,
        })
        .collect();
    Ok(Json(json!({ "items": items, "next": null })).into_response())
}

async fn one(State(b): Shared, actor: Actor, Path(id): Path<String>) -> ApiResult {
    admins_only(&actor)?;
    let i = b.view().idp(IdpId::new(&id))?.ok_or_else(|| Error::not_found("idp", &id))?;
    Ok(Json(idp_shown(&i)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrialBody {
    attributes: domain::federation::Attributes,
}

/// The IdP's stored rules tried on attributes as its IdP would send them; nothing is saved.
async fn test_rules(State(b): Shared, actor: Actor, Path(id): Path<String>, Body(body): Body<TrialBody>) -> ApiResult {
    admins_only(&actor)?;
    let idp = b.view().idp(IdpId::new(&id))?.ok_or_else(|| Error::not_found("idp", &id))?;
    let answer = match crate::login::map_person(&idp, &body.attributes) {
        Ok(m) => json!({"outcome": "account", "user_id": m.user_id, "name": m.name, "role": m.role, "units": m.units}),
        Err(r) => json!({"outcome": "refused", "reason": r.to_string()}),
    };
    Ok(Json(answer).into_response())
}

/// An IdP's settings as sent: the id from the body (create) or the path (update).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdpBody {
    #[serde(default)]
    id: Option<String>,
    /// The version replaced (updates only).
    #[serde(default)]
    version: Option<u64>,
    name: String,
    protocol: Protocol,
    mapping: Mapping,
    #[serde(default)]
    disabled: bool,
}

impl IdpBody {
    /// The command that sets these fields for IdP `id` (`expected` `None`: a new one). The
    /// pseudonym key is made here; only a new IdP keeps it. A SAML IdP's metadata is fetched
    /// from its URL (or taken as sent) and checked, and its entity id read from it.
    async fn command(self, b: &dyn crate::Backend, id: String, expected: Option<u64>) -> Result<Command, Error> {
        let IdpBody { name, mut protocol, mapping, disabled, .. } = self;
        if let Protocol::Saml { entity_id, metadata_url, metadata_xml } = &mut protocol {
            let xml = Some(metadata_xml.clone()).filter(|x| !x.trim().is_empty());
            let (id, xml) = b
                .saml_idp_metadata(metadata_url.clone(), xml)
                .await
                .map_err(|e| Error::bad_request(format!("the SAML metadata cannot be used: {e}")))?;
            (*entity_id, *metadata_xml) = (id, xml);
        }
        Ok(Command::PutIdentityProvider {
            expected_version: expected,
            fields: IdpFields { id: IdpId::new(id), name, protocol, mapping, disabled },
            pseudonym_key: crate::login::new_pseudonym_key(),
        })
    }
}

async fn create(State(b): Shared, actor: Actor, h: HeaderMap, Body(body): Body<IdpBody>) -> ApiResult {
    admins_only(&actor)?;
    let id = body.id.clone().ok_or_else(|| Error::bad_request("id is required"))?;
    let cmd = body.command(b.as_ref(), id, None).await?;
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::CREATED).await
}

async fn update(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<IdpBody>,
) -> ApiResult {
    admins_only(&actor)?;
    if body.id.as_deref().is_some_and(|i| i != id) {
        return Err(Error::bad_request("the id in the body differs from the one in the path"));
    }
    let version = body.version.ok_or_else(|| Error::bad_request("version is required to change an IdP"))?;
    let cmd = body.command(b.as_ref(), id, Some(version)).await?;
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}
