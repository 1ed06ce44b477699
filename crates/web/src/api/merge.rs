//! `POST /api/v1/merge`: another cluster's reference data (units, suppliers, articles, directory
//! entries, rotas, action cards, as `beredd import` reads them from a backup file) merged into
//! this one as one all-or-nothing `Import`, answered with a line per record: added, changed or
//! unchanged. `?dry_run=true` only reports.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use domain::Command;
use domain::merge::{Change, Incoming};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use super::common::{ApiResult, Body, Shared, command_id};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;
use crate::submit::{Refusal, Submission, submit};

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new().route("/api/v1/merge", post(merge))
}

#[derive(Deserialize, Default)]
struct MergeQuery {
    #[serde(default)]
    dry_run: bool,
}

async fn merge(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Query(q): Query<MergeQuery>,
    Body(incoming): Body<Incoming>,
) -> ApiResult {
    let plan = domain::merge::plan(b.view().as_ref(), &incoming)?;
    let report = |applied: bool| {
        Json(json!({
            "dry_run": q.dry_run,
            "applied": applied,
            "added": plan.count(Change::Added),
            "changed": plan.count(Change::Changed),
            "unchanged": plan.count(Change::Unchanged),
            "items": plan.lines,
        }))
    };
    if q.dry_run || plan.rows.is_empty() {
        return Ok(axum::response::IntoResponse::into_response(report(false)));
    }
    if plan.rows.len() > domain::apply::MAX_IMPORT_ROWS {
        return Err(Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "merge.too_large",
            format!("at most {} records per merge; send the rest in another", domain::apply::MAX_IMPORT_ROWS),
        ));
    }
    let cmd = Command::Import { rows: plan.rows.clone() };
    match submit(b.as_ref(), Some(&actor.0), command_id(&h, None)?, cmd, false).await? {
        Submission::Refused(Refusal::Rejected(r)) => Err(refused(&plan, r)),
        Submission::Refused(refusal) => Err(refusal.into()),
        Submission::Saved { .. } | Submission::Queued(_) => {
            Ok(axum::response::IntoResponse::into_response(report(true)))
        }
    }
}

/// A refusal of one row, named by the record it came from; nothing was saved.
fn refused(plan: &domain::merge::Plan, r: domain::Rejection) -> Error {
    let domain::Rejection::InRow { row, rejection } = r else { return r.into() };
    let line = plan.lines.iter().filter(|l| l.change != Change::Unchanged).nth(row as usize);
    let what = line.map_or_else(|| format!("row {row}"), |l| format!("{} {}", l.kind, l.id));
    Error::new(StatusCode::UNPROCESSABLE_ENTITY, rejection.code(), format!("{what}: {rejection}; nothing was merged"))
}
