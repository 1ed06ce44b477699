//! The one error type of the web layer. An API call renders it as
//! `{"error":{"code","message"}}` with a fitting status; a page shows the same error as an HTML
//! page in the reader's language ([`crate::pages`] layers the renderer that does so), or sends
//! the browser to the login page when the code is [`LOGIN_REQUIRED`].

use crate::backend::SubmitError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::Rejection;
use serde_json::json;

/// The code of "log in first": a page turns it into a redirect to `/login`.
pub const LOGIN_REQUIRED: &str = "login.required";

#[derive(Debug, Clone)]
pub struct Error {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl Error {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into(), field: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "request.invalid", message)
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{kind}.not_found"), format!("{kind} {id} not found"))
    }

    /// A fault the user can do nothing about: logged here, shown as "internal error".
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::warn!("request failed: {e}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }

    pub fn login_required() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, LOGIN_REQUIRED, "log in first")
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "not allowed for your roles or units")
    }

    /// The i18n key a page shows for this error: `error.<code>` when the catalogue has one,
    /// "internal error" for any other fault of the server, else none (the message is shown).
    pub fn message_key(&self) -> Option<String> {
        let own = format!("error.{}", self.code);
        if documents::i18n::Lang::En.has(&own) {
            Some(own)
        } else if self.status.is_server_error() {
            Some("error.internal".into())
        } else {
            None
        }
    }
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        let status = match r.innermost() {
            Rejection::NotFound { .. } => StatusCode::NOT_FOUND,
            Rejection::AlreadyExists { .. }
            | Rejection::VersionConflict { .. }
            | Rejection::BadTransition { .. }
            | Rejection::Closed { .. }
            | Rejection::IdReused { .. } => StatusCode::CONFLICT,
            Rejection::Unknown { .. }
            | Rejection::Withdrawn { .. }
            | Rejection::Invalid { .. }
            | Rejection::InRow { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Rejection::Forbidden { .. } => StatusCode::FORBIDDEN,
        };
        Self { status, code: r.code(), message: r.to_string(), field: r.field().map(str::to_owned) }
    }
}

impl From<SubmitError> for Error {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::NoLeader(m) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "cluster.no_quorum",
                format!(
                    "Changes cannot be saved right now: this node cannot reach a majority of the cluster ({m}). Nothing was saved."
                ),
            ),
            SubmitError::Timeout(m) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "cluster.timeout",
                format!(
                    "No confirmation in time ({m}); the change may or may not be saved. Retrying with the same id is safe."
                ),
            ),
            SubmitError::Internal(m) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m),
        }
    }
}

impl From<crate::submit::Refusal> for Error {
    fn from(r: crate::submit::Refusal) -> Self {
        match r {
            crate::submit::Refusal::Rejected(r) => r.into(),
            crate::submit::Refusal::Cluster(e) => e.into(),
        }
    }
}

impl From<crate::submit::Fault> for Error {
    fn from(e: crate::submit::Fault) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
}

impl From<domain::StateError> for Error {
    fn from(e: domain::StateError) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal.state", e.to_string())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut err = json!({ "code": self.code, "message": self.message });
        if let Some(f) = &self.field {
            err["field"] = json!(f);
        }
        let mut response = (self.status, Json(json!({ "error": err }))).into_response();
        // Kept for a page renderer further out, which shows it in the reader's language.
        response.extensions_mut().insert(self);
        response
    }
}
