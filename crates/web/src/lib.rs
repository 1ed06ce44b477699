//! The HTTP face of a node: health and metrics endpoints, the JSON API and the pages.
//!
//! This crate reaches state only through [`Backend`], which the `node` crate implements; it
//! knows nothing of RocksDB, openraft or gRPC. Every read is served from the node's local state;
//! what a page or a download shows is made by the `documents` crate.

mod api;
mod auth;
mod backend;
mod error;
mod invitation;
mod lang;
mod login;
mod offline;
pub(crate) mod pages;
pub mod serve;
mod sessions;
mod submit;
#[cfg(test)]
mod test_backend;
mod throttle;

pub use auth::ClientCertUser;
pub use backend::{
    AccessEvent, Backend, BoxFuture, BreakGlass, BreakGlassConfirmation, BreakGlassFounding, BreakGlassStep,
    ClusterStatus, Consistency, DrillMode, DrillRun, DrillStart, Fate, IdpReach, MemberInfo, MemberState, OidcPending,
    OidcStart, Queued, Resolution, SamlLogin, SmsRouteStatus, StateDigest, SubmitError, Submitted,
};
pub use error::Error;
pub use invitation::{InvitationBase, InvitePeer, InviteToken};
/// The offline copy (every file, sealed) as this node makes it from its own state.
pub use offline::build as offline_copy;

/// What the node needs to make accounts and keys itself (the demo's admin, `beredd user
/// create`, the bootstrap node's first session key), made exactly as the web layer makes them.
pub mod credentials {
    pub use crate::auth::{MIN_PASSWORD, TOKEN_DEFAULT_LIFETIME, hash_password, new_token, random_password};
    pub use crate::sessions::new_key as new_session_key;
}
pub use documents::ReadModel;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// Largest request body accepted (catalog imports are the big ones).
pub const MAX_BODY: usize = 4 << 20;

/// Pages load only what this node serves: no inline script, no framing, no CDN.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The whole HTTP application for one node, with security headers and a body size limit on
/// every answer.
pub fn router(backend: Arc<dyn Backend>) -> Router {
    router_with(backend, Arc::new(throttle::Limits::new()))
}

/// [`router`] with the rate limits it counts against (a test backend keeps one set across
/// the routers it makes).
fn router_with(backend: Arc<dyn Backend>, limits: Arc<throttle::Limits>) -> Router {
    let headers: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    let hsts = backend.secure_cookies();
    let mut app = api::routes()
        .merge(pages::routes())
        .layer(axum::middleware::from_fn_with_state(backend.clone(), login::refresh))
        .layer(axum::middleware::from_fn_with_state((backend.clone(), limits), throttle::limit))
        .with_state(backend)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(RequestBodyLimitLayer::new(MAX_BODY));
    for (name, value) in headers {
        app = app.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)));
    }
    if hsts {
        let value = HeaderValue::from_static("max-age=31536000; includeSubDomains");
        app = app.layer(SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, value));
    }
    app
}
