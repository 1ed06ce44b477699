//! The JSON API (`/api/v1`) and the health endpoints, one file per area; [`common`] holds the
//! plumbing they share (body extractor, paging, the write path) and imports no handler.
//! Lists answer `{"items":[…],"next":…}` and take `limit` and `cursor`; writes answer with the
//! record as this node has applied it.

pub(crate) mod banners;
mod break_glass;
pub(crate) mod cards;
mod catalog;
pub(crate) mod channels;
pub(crate) mod common;
pub(crate) mod contacts;
pub(crate) mod dispatch;
pub(crate) mod downloads;
pub(crate) mod drills;
pub(crate) mod exercises;
mod health;
mod idps;
pub(crate) mod invitations;
pub(crate) mod members;
pub(crate) mod merge;
pub(crate) mod offline;
mod orders;
pub(crate) mod outbox;
pub(crate) mod paging;
pub(crate) mod reports;
#[cfg(test)]
mod roles_tests;
pub(crate) mod status;
pub(crate) mod subscribers;
#[cfg(test)]
mod tests;
pub(crate) mod users;
pub(crate) mod views;

use axum::Router;
use axum::http::StatusCode;
use std::sync::Arc;

use crate::backend::Backend;
use crate::error::Error;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .merge(health::routes())
        .merge(catalog::routes())
        .merge(orders::routes())
        .merge(users::routes())
        .merge(status::routes())
        .merge(contacts::routes())
        .merge(cards::routes())
        .merge(outbox::routes())
        .merge(merge::routes())
        .merge(drills::routes())
        .merge(members::routes())
        .merge(break_glass::routes())
        .merge(invitations::routes())
        .merge(channels::routes())
        .merge(dispatch::routes())
        .merge(subscribers::routes())
        .merge(paging::routes())
        .merge(reports::routes())
        .merge(banners::routes())
        .merge(exercises::routes())
        .merge(offline::routes())
        .merge(idps::routes())
        .fallback(|| async { Error::new(StatusCode::NOT_FOUND, "route.not_found", "no such path") })
}
