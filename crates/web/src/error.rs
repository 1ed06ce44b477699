//! API errors: one type, rendered as `{"error":{"code","message"}}` with a fitting status.

use crate::backend::SubmitError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::Rejection;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { status, code: code.into(), message: message.into(), field: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "request.invalid", message)
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{kind}.not_found"), format!("{kind} {id} not found"))
    }
}

impl From<Rejection> for ApiError {
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

impl From<SubmitError> for ApiError {
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

impl From<crate::submit::Refusal> for ApiError {
    fn from(r: crate::submit::Refusal) -> Self {
        match r {
            crate::submit::Refusal::Rejected(r) => r.into(),
            crate::submit::Refusal::Cluster(e) => e.into(),
        }
    }
}

impl From<crate::submit::Fault> for ApiError {
    fn from(e: crate::submit::Fault) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
}

impl From<domain::StateError> for ApiError {
    fn from(e: domain::StateError) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal.state", e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut err = json!({ "code": self.code, "message": self.message });
        if let Some(f) = self.field {
            err["field"] = json!(f);
        }
        (self.status, Json(json!({ "error": err }))).into_response()
    }
}
