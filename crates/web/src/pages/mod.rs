//! The server-rendered UI. Every page works without JavaScript, speaks Swedish, bokmål or
//! English, and shows how fresh this node's data is. Forms post and then redirect
//! (POST-redirect-GET); every page action has a JSON twin under `/api/v1`.
//!
//! Pages read through the [`ReadModel`](documents::read_model::ReadModel) index and the node's
//! local state, and change things only by submitting domain commands through the backend.

mod account;
mod assets;
mod banners;
mod cards;
mod catalog;
mod channels;
mod chrome;
mod contacts;
mod dispatch;
mod exercises;
mod federated;
pub(crate) mod form;
mod home;
mod idps;
mod ops;
mod orders;
mod outbox;
mod paging;
mod reports;
mod saml;
mod status;
mod subscribers;
#[cfg(test)]
mod tests;
mod users;

pub use chrome::{Ctx, Error};

use crate::backend::{Backend, SubmitError};
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

/// `GET /login/idp/{id}` (and `/auth/oidc/{id}/login`): off to the IdP, by its protocol.
async fn login_at_idp(
    ctx: Ctx,
    id: axum::extract::Path<String>,
    q: axum::extract::Query<federated::NextQuery>,
) -> chrome::PageResult {
    match federated::enabled_idp(&ctx, &id)? {
        Some(idp) if matches!(idp.protocol, domain::federation::Protocol::Saml { .. }) => saml::begin(ctx, idp).await,
        _ => federated::begin(ctx, id, q).await,
    }
}

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/", get(home::page))
        .route("/login", get(account::login_page).post(account::login))
        .route("/login/card", post(federated::login_card))
        .route("/login/idp/{id}", get(login_at_idp))
        .route("/login/oidc/callback", get(federated::callback))
        .route("/auth/oidc/{id}/login", get(login_at_idp))
        .route("/auth/oidc/{id}/callback", get(federated::callback_for))
        .route("/auth/saml/metadata", get(saml::metadata))
        .route("/auth/saml/acs", post(saml::acs))
        .route("/logout", post(account::logout))
        .route("/lang/{code}", get(account::set_lang))
        .route("/account", get(account::page))
        .route("/account/password", post(account::change_password))
        .route("/account/tokens", post(account::make_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/catalog", get(catalog::page))
        .route("/orders", get(orders::list))
        .route("/orders/new", get(orders::form::new_page).post(orders::form::save_new))
        .route("/orders/{id}", get(orders::page))
        .route("/orders/{id}/edit", get(orders::form::edit_page).post(orders::form::save_edit))
        .route("/orders/{id}/do/{action}", post(orders::action))
        .route("/ops", get(ops::page))
        .route("/ops/members/{id}/{change}", post(ops::change))
        .route("/ops/drill", post(ops::drill))
        .route("/ops/break-glass", post(ops::break_glass))
        .route("/ops/break-glass/withdraw", post(ops::break_glass_withdraw))
        .route("/ops/invitations", post(ops::invite))
        .route("/ops/invitations/{node}/revoke", post(ops::revoke))
        .route("/outbox", get(outbox::page))
        .route("/outbox/{seq}/resolve", post(outbox::resolve))
        .route("/purchasing", get(orders::purchasing::page))
        .route("/suppliers/{id}/channel", get(channels::page).post(channels::save))
        .route("/dispatch", get(dispatch::list))
        .route("/dispatch/new", post(dispatch::create))
        .route("/dispatch/{id}", get(dispatch::one))
        .route("/dispatch/{id}/do/{action}", post(dispatch::act))
        .route("/admin", get(catalog::admin::list))
        .route("/admin/{kind}/new", get(catalog::admin::new_page).post(catalog::admin::save))
        .route("/admin/{kind}/{id}", get(catalog::admin::edit_page).post(catalog::admin::save_existing))
        .route("/admin/import", post(catalog::admin::import))
        .route("/admin/organisation", get(catalog::admin::organisation_page).post(catalog::admin::save_organisation))
        .route("/admin/users", get(users::list))
        .route("/admin/users/new", get(users::new_page).post(users::create))
        .route("/admin/users/{id}", get(users::edit_page).post(users::update))
        .route("/admin/users/{id}/{action}", post(users::action))
        .route("/admin/audit", get(users::audit))
        .route("/admin/idps", get(idps::list))
        .route("/admin/idps/new", get(idps::new_page).post(idps::create))
        .route("/admin/idps/{id}", get(idps::edit_page).post(idps::update))
        .route("/admin/idps/{id}/test", post(idps::test_rules))
        .route("/admin/identity", get(idps::list))
        .route("/contacts", get(contacts::page))
        .route("/contacts/new", get(contacts::forms::new_contact).post(contacts::forms::create_contact))
        .route("/contacts/{id}/edit", get(contacts::forms::edit_contact).post(contacts::forms::update_contact))
        .route("/contacts/rotas/new", get(contacts::forms::new_rota).post(contacts::forms::create_rota))
        .route("/contacts/rotas/{id}/edit", get(contacts::forms::edit_rota).post(contacts::forms::update_rota))
        .route("/contacts/import", post(contacts::forms::import))
        .route("/cards", get(cards::list))
        .route("/cards/new", get(cards::form::new_page).post(cards::form::create))
        .route("/cards/{id}", get(cards::one))
        .route("/cards/{id}/edit", get(cards::form::edit_page).post(cards::form::update))
        .route("/status", get(status::page))
        .route("/status/feed.atom", get(status::atom))
        .route("/status/manage", get(status::manage))
        .route("/status/manage/{what}", post(status::act))
        .route("/status/manage/{what}/{id}", post(status::act_on_id))
        .route("/status/subscribers", get(subscribers::list))
        .route("/status/subscribers/new", get(subscribers::new_page).post(subscribers::create))
        .route("/status/subscribers/{id}/edit", get(subscribers::edit_page).post(subscribers::update))
        .route("/status/subscribers/{id}/remove", post(subscribers::remove))
        .route("/status/unsubscribe/{id}/{token}", get(subscribers::unsubscribe_page).post(subscribers::unsubscribe))
        .route("/banners", get(banners::list).post(banners::create))
        .route("/banners/{id}/end", post(banners::end))
        .route("/exercises", get(exercises::list).post(exercises::create))
        .route("/exercises/leave", post(exercises::leave))
        .route("/exercises/{id}", get(exercises::one))
        .route("/exercises/{id}/join", post(exercises::join))
        .route("/exercises/{id}/{action}", post(exercises::act))
        .route("/reports", get(reports::overview).post(reports::file))
        .route("/reports/new", get(reports::new))
        .route("/reports/unit/{id}", get(reports::unit))
        .route("/reports/export", get(reports::export))
        .route("/reports/form", get(reports::fields).post(reports::set_fields))
        .route("/reports/cycles", post(reports::start_cycle))
        .route("/reports/cycles/stop", post(reports::stop_cycle))
        .route("/pages", get(paging::list).post(paging::create))
        .route("/pages/{id}", get(paging::one))
        .route("/pages/{id}/cancel", post(paging::cancel))
        .route("/p/{id}/{step}/{token}", get(paging::ack_page).post(paging::ack))
        .route("/assets/{name}", get(assets::serve))
        .layer(axum::middleware::from_fn(chrome::show_errors))
}

/// What became of a command submitted from a page.
pub enum Outcome {
    /// Applied: the record's id.
    Saved { id: String },
    /// No leader could be reached: it waits in this node's outbox (the page shows the outbox).
    Queued { seq: u64 },
    /// Not saved: the message to show, in the user's language, and the field it is about.
    Refused { message: String, field: Option<String>, rejection: Option<domain::Rejection> },
}

impl Outcome {
    /// Where a page goes after a command was queued: the outbox, at the new item.
    pub fn queued_path(seq: u64) -> String {
        format!("/outbox?done=queued#item-{seq}")
    }
}

/// Submits `cmd` for the signed-in user through the one write pipeline
/// ([`crate::submit::submit`]; a page always accepts the outbox). `form_id` is the id the form
/// was rendered with, so that posting the same form twice (a double click, a reload) applies
/// it once.
pub async fn submit(
    ctx: &Ctx,
    user: &domain::User,
    form_id: Option<&str>,
    cmd: domain::Command,
) -> Result<Outcome, Error> {
    use crate::submit::{Refusal, Submission};
    let lang = ctx.lang();
    let id = match form_id.filter(|f| domain::ids::is_valid_id(f) && f.len() <= 58) {
        Some(f) => domain::CommandId::new(format!("page:{f}")),
        None => domain::CommandId::new(uuid::Uuid::new_v4().to_string()),
    };
    let submission =
        crate::submit::submit(ctx.backend.as_ref(), Some(user), id, cmd, true).await.map_err(Error::internal)?;
    let cluster = |key: &str| Outcome::Refused { message: lang.t(key).into(), field: None, rejection: None };
    Ok(match submission {
        Submission::Saved { id, .. } => Outcome::Saved { id },
        Submission::Queued(q) => Outcome::Queued { seq: q.seq },
        Submission::Refused(Refusal::Rejected(r)) => Outcome::Refused {
            message: chrome::message_for(lang, &r),
            field: r.field().map(str::to_owned),
            rejection: Some(r),
        },
        Submission::Refused(Refusal::Cluster(SubmitError::Timeout(_))) => cluster("error.timeout"),
        Submission::Refused(Refusal::Cluster(_)) => cluster("error.no_quorum"),
    })
}

/// A fresh id for a form, carried in a hidden field (see [`submit`]).
pub fn form_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
