//! The HTTP face of a node: health and metrics endpoints and the JSON API (pages follow).
//!
//! This crate reaches state only through [`Backend`], which the `node` crate implements; it
//! knows nothing of RocksDB, openraft or gRPC. Every read is served from the node's local state.

mod api;
pub mod auth;
mod backend;
mod error;

pub use backend::{Backend, BoxFuture, ClusterStatus, Consistency, MemberInfo, StateDigest, SubmitError, Submitted};
pub use error::ApiError;

use axum::Router;
use std::sync::Arc;

/// The whole HTTP application for one node.
pub fn router(backend: Arc<dyn Backend>) -> Router {
    api::routes().with_state(backend)
}
