//! `/api/v1/contacts` and `/api/v1/rotas`: search, read, download (CSV, vCard) for every
//! signed-in user; create and edit for communicators and admins.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use domain::command::{ContactFields, RotaFields};
use domain::{Command, ContactId};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use time::OffsetDateTime;

use super::common::{ApiResult, Body, Shared, command_id, create, update};
use crate::auth::Actor;
use crate::backend::Backend;
use crate::error::Error;
use crate::submit::{Refusal, Submission, submit};
use documents::contacts::Directory;
use documents::i18n::Lang;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/contacts", get(search).post(create_contact))
        .route("/api/v1/contacts/export", get(download))
        .route("/api/v1/contacts/import", axum::routing::post(import))
        .route("/api/v1/contacts/{id}", get(get_contact).put(update_contact))
        .route("/api/v1/rotas", get(rotas).post(create_rota))
        .route("/api/v1/rotas/{id}", axum::routing::put(update_rota))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SearchQuery {
    q: Option<String>,
    limit: Option<usize>,
}

/// Entries matching `q` (every word, folded), functions first, and who is on call now.
async fn search(State(b): Shared, _actor: Actor, Query(sq): Query<SearchQuery>) -> ApiResult {
    let dir = Directory::load(b.view().as_ref())?;
    let q = sq.q.unwrap_or_default();
    if q.chars().count() > 200 {
        return Err(Error::bad_request("q is longer than 200 characters"));
    }
    let limit = sq.limit.unwrap_or(500).clamp(1, 500);
    let items: Vec<_> = dir.search(&q).into_iter().take(limit).collect();
    Ok(Json(json!({ "items": items, "on_call": dir.on_call(OffsetDateTime::now_utc()) })).into_response())
}

async fn get_contact(State(b): Shared, _actor: Actor, Path(id): Path<String>) -> ApiResult {
    let dir = Directory::load(b.view().as_ref())?;
    match dir.contact(&ContactId::new(&id)) {
        Some(c) => Ok(Json(c).into_response()),
        None => Err(Error::new(StatusCode::NOT_FOUND, "contact.not_found", format!("contact {id} not found"))),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DownloadQuery {
    format: Option<String>,
    q: Option<String>,
    lang: Option<String>,
}

/// `format=csv` (default) or `vcf`; `q` narrows it like the search.
async fn download(State(b): Shared, _actor: Actor, headers: HeaderMap, Query(d): Query<DownloadQuery>) -> ApiResult {
    let lang = match &d.lang {
        Some(l) => Lang::parse(l).ok_or_else(|| Error::bad_request(format!("lang must be sv, nb or en, not {l:?}")))?,
        None => crate::lang::of_request(&headers),
    };
    let dir = Directory::load(b.view().as_ref())?;
    let q = d.q.unwrap_or_default();
    let entries = if q.is_empty() { dir.contacts.iter().collect() } else { dir.search(&q) };
    let today = OffsetDateTime::now_utc();
    let name = format!("beredd-kontakter-{}", today.date());
    match d.format.as_deref().unwrap_or("csv") {
        "csv" => {
            let body = documents::contacts::export::csv(&entries, lang).map_err(Error::internal)?;
            Ok(file(body, "text/csv; charset=utf-8", &format!("{name}.csv")))
        }
        "vcf" => {
            let body = documents::contacts::export::vcards(&dir, &entries, lang, today);
            Ok(file(body.into_bytes(), "text/vcard; charset=utf-8", &format!("{name}.vcf")))
        }
        other => Err(Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "export.format",
            format!("format {other:?}: use csv or vcf"),
        )),
    }
}

/// A download: the body with its type and file name.
pub(crate) fn file(body: Vec<u8>, mime: &'static str, name: &str) -> axum::response::Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, mime.to_owned()), (header::CONTENT_DISPOSITION, disposition)], body).into_response()
}

async fn create_contact(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "contact", |fields: ContactFields| Command::PutContact { expected_version: None, fields })
        .await
}

async fn update_contact(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    update(&b, &actor, &h, id, v, |version, fields: ContactFields| Command::PutContact {
        expected_version: Some(version),
        fields,
    })
    .await
}

/// Every rota with its schedule, overrides, and who is on call now and next.
async fn rotas(State(b): Shared, _actor: Actor) -> ApiResult {
    let dir = Directory::load(b.view().as_ref())?;
    Ok(Json(json!({ "items": dir.on_call(OffsetDateTime::now_utc()) })).into_response())
}

async fn create_rota(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "rota", |fields: RotaFields| Command::PutRota { expected_version: None, fields }).await
}

async fn update_rota(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    update(&b, &actor, &h, id, v, |version, fields: RotaFields| Command::PutRota {
        expected_version: Some(version),
        fields,
    })
    .await
}

/// `POST /api/v1/contacts/import`: a CSV file as the body (the export's columns). Every entry is
/// saved, or none: 200 `{"imported": n}`, or 422 with every problem by row and column.
async fn import(State(b): Shared, actor: Actor, h: HeaderMap, body: axum::body::Bytes) -> ApiResult {
    let lang = crate::lang::of_request(&h);
    let sheet = documents::import::read_csv(&body).map_err(|e| {
        Error::new(StatusCode::UNPROCESSABLE_ENTITY, "import.unreadable", lang.tf("import.unreadable", &[("why", &e)]))
    })?;
    let rows = {
        let dir = Directory::load(b.view().as_ref())?;
        documents::contacts::import::rows(&sheet, &dir)
    };
    let rows = match rows {
        Ok(rows) => rows,
        Err(errors) => return Ok(row_errors(lang, &errors)),
    };
    let n = rows.len();
    let cmd = Command::Import { rows };
    match submit(b.as_ref(), Some(&actor.0), command_id(&h, None)?, cmd, false).await? {
        Submission::Refused(Refusal::Rejected(domain::Rejection::InRow { row, rejection })) => {
            let column = documents::contacts::import::refused_column(rejection.field());
            let error = documents::import::refused_row(row, column, rejection.to_string());
            Ok(row_errors(lang, &[error]))
        }
        Submission::Refused(refusal) => Err(refusal.into()),
        Submission::Saved { .. } | Submission::Queued(_) => Ok(Json(json!({ "imported": n })).into_response()),
    }
}

/// 422 naming every row's problem; nothing was saved.
fn row_errors(lang: Lang, errors: &[documents::import::RowError]) -> axum::response::Response {
    let rows: Vec<Value> = errors
        .iter()
        .map(|e| {
            // A refusal from the cluster carries its own sentence in `value`.
            let problem = if e.key.is_empty() { e.value.clone() } else { lang.t(&e.key).to_owned() };
            json!({ "row": e.row, "column": e.column, "problem": problem, "value": e.value })
        })
        .collect();
    let message = format!("{} ({} {})", lang.t("import.nothing_saved"), errors.len(), lang.t("import.problems"));
    let body = json!({ "error": { "code": "import.rows", "message": message, "rows": rows } });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}
