//! The plumbing every JSON handler shares, and nothing else: the JSON body extractor, list
//! paging and read consistency, and the write path (command ids, create and update bodies,
//! [`write`]). A leaf: it imports no handler.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{Command, CommandId, Record, Table};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

use super::views::{queued_json, record_json};
use crate::auth::Actor;
use crate::backend::{Backend, Consistency};
use crate::error::Error;
use crate::submit::{Refusal, Submission, submit};

pub(crate) type Shared = State<Arc<dyn Backend>>;
pub(crate) type ApiResult = Result<Response, Error>;

/// A JSON body whose parse errors come back in our error format.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => {
                let status = match e {
                    JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::BAD_REQUEST,
                };
                Err(Error::new(status, "request.invalid", e.body_text()))
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct ListQuery {
    pub(crate) limit: Option<usize>,
    pub(crate) cursor: Option<String>,
    pub(crate) consistency: Option<String>,
    // filters
    pub(crate) unit_id: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) supplier_id: Option<String>,
    pub(crate) category: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct ReadQuery {
    pub(crate) consistency: Option<String>,
}

pub(crate) const DEFAULT_LIMIT: usize = 50;
pub(crate) const MAX_LIMIT: usize = 500;

pub(crate) async fn barrier(b: &Arc<dyn Backend>, consistency: Option<&str>) -> Result<(), Error> {
    match parse_consistency(consistency)? {
        Consistency::Local => Ok(()),
        Consistency::Linearizable => Ok(b.read_barrier().await?),
    }
}

pub(crate) fn parse_consistency(s: Option<&str>) -> Result<Consistency, Error> {
    match s {
        None | Some("local") => Ok(Consistency::Local),
        Some("linearizable") => Ok(Consistency::Linearizable),
        Some(other) => Err(Error::bad_request(format!("consistency must be local or linearizable, not {other:?}"))),
    }
}

/// Pages through `table` in id order, keeping records for which `keep` returns a JSON value.
/// `next` is the id of the last item when at least one more kept record follows it.
pub(crate) fn page(
    b: &Arc<dyn Backend>,
    table: Table,
    q: &ListQuery,
    keep: impl Fn(Record) -> Option<Value>,
) -> ApiResult {
    const BATCH: usize = 256;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::bad_request(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let view = b.view();
    let mut items: Vec<Value> = Vec::new();
    let mut last_kept: Option<String> = None;
    let mut after = q.cursor.clone();
    loop {
        let batch = view.scan(table, after.as_deref(), BATCH)?;
        let n = batch.len();
        for r in batch {
            let id = record_id(&r);
            if let Some(v) = keep(r) {
                if items.len() == limit {
                    return Ok(Json(json!({ "items": items, "next": last_kept })).into_response());
                }
                items.push(v);
                last_kept.clone_from(&id);
            }
            after = id;
        }
        if n < BATCH {
            break;
        }
    }
    Ok(Json(json!({ "items": items, "next": Value::Null })).into_response())
}

/// A record's id as its table's key has it (the paging cursor).
pub(crate) fn record_id(r: &Record) -> Option<String> {
    domain::state::record_key(r).map(|k| k.id_text())
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

pub(crate) fn found<T: serde::Serialize>(kind: &str, id: &str, v: Option<T>) -> ApiResult {
    match v {
        Some(v) => Ok(Json(v).into_response()),
        None => Err(Error::not_found(kind, id)),
    }
}

/// The command id for a request: the `Idempotency-Key` header if given, else `fallback`
/// (derived from a client-chosen record id), else a fresh one.
pub(crate) fn command_id(headers: &HeaderMap, fallback: Option<String>) -> Result<CommandId, Error> {
    if let Some(v) = headers.get("idempotency-key") {
        let s = v.to_str().map_err(|_| Error::bad_request("Idempotency-Key must be ASCII"))?;
        if !domain::ids::is_valid_id(s) {
            return Err(Error::bad_request("Idempotency-Key must be 1-64 characters of A-Z a-z 0-9 . _ : -"));
        }
        return Ok(CommandId::new(s));
    }
    Ok(CommandId::new(fallback.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())))
}

/// Whether the request says `Prefer: respond-async`.
pub(crate) fn accepts_queueing(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Submits and answers with the record as applied here, or with the rejection. A client that
/// sends `Prefer: respond-async` (RFC 7240) accepts that a command allowed to wait
/// ([`Command::may_queue`]) is kept in this node's outbox when no leader can be reached: 202
/// `{"state":"queued"}`. Without it such a write is refused (503) like any other, so clients
/// written for 201-or-error keep their meaning.
pub(crate) async fn write(
    b: &Arc<dyn Backend>,
    actor: &Actor,
    headers: &HeaderMap,
    id: CommandId,
    cmd: Command,
    created: StatusCode,
) -> ApiResult {
    let (kind, id) = match submit(b.as_ref(), Some(&actor.0), id, cmd, accepts_queueing(headers)).await? {
        Submission::Saved { kind: Some(kind), id, .. } => (kind, id),
        Submission::Saved { kind: None, .. } => return Ok(StatusCode::NO_CONTENT.into_response()),
        Submission::Queued(q) => return Ok((StatusCode::ACCEPTED, Json(queued_json(&q))).into_response()),
        Submission::Refused(Refusal::Rejected(r)) => return Err(r.into()),
        Submission::Refused(Refusal::Cluster(e)) => return Err(e.into()),
    };
    let body = record_json(b.view().as_ref(), kind, &id)?;
    Ok((created, Json(body)).into_response())
}

/// Body of a create: the record's fields, with `id` optional (made here when absent).
pub(crate) fn with_id(mut v: Value) -> Result<(Value, bool), Error> {
    let obj = v.as_object_mut().ok_or_else(|| Error::bad_request("body must be a JSON object"))?;
    let given = matches!(obj.get("id"), Some(Value::String(_)));
    if !given {
        obj.insert("id".into(), Value::String(new_id()));
    }
    Ok((v, given))
}

pub(crate) fn fields<T: DeserializeOwned>(v: Value) -> Result<T, Error> {
    serde_json::from_value(v)
        .map_err(|e| Error::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid", e.to_string()))
}

/// A create through `make`: the body's fields (its `id` made here when absent) as a command.
pub(crate) async fn create<T: DeserializeOwned>(
    b: &Arc<dyn Backend>,
    actor: &Actor,
    headers: &HeaderMap,
    body: Value,
    kind: &str,
    make: impl FnOnce(T) -> Command,
) -> ApiResult {
    let (cmd_id, f) = creation(headers, body, kind)?;
    write(b, actor, headers, cmd_id, make(f), StatusCode::CREATED).await
}

/// A create's fields and command id: when the client chose the record's id, a retry names the
/// same command and so the same record.
pub(crate) fn creation<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Value,
    kind: &str,
) -> Result<(CommandId, T), Error> {
    let (body, given) = with_id(body)?;
    let id = body.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let cmd_id = command_id(headers, given.then(|| format!("create.{kind}:{id}")))?;
    Ok((cmd_id, fields(body)?))
}

/// An update's body: the record's fields and the version they were read at.
#[derive(Deserialize)]
pub(crate) struct Versioned<T> {
    pub(crate) version: u64,
    #[serde(flatten)]
    pub(crate) fields: T,
}

/// Reads an update's body, with the id from the path put into the fields.
pub(crate) fn versioned<T: DeserializeOwned>(id: String, mut body: Value) -> Result<Versioned<T>, Error> {
    let obj = body.as_object_mut().ok_or_else(|| Error::bad_request("body must be a JSON object"))?;
    obj.insert("id".into(), Value::String(id));
    fields(body)
}

/// An update through `make`: the body's fields with the path's id, at the version they name.
pub(crate) async fn update<T: DeserializeOwned>(
    b: &Arc<dyn Backend>,
    actor: &Actor,
    headers: &HeaderMap,
    id: String,
    body: Value,
    make: impl FnOnce(u64, T) -> Command,
) -> ApiResult {
    let v: Versioned<T> = versioned(id, body)?;
    write(b, actor, headers, command_id(headers, None)?, make(v.version, v.fields), StatusCode::OK).await
}

/// An action's JSON body, which may be left out (or blank): then `T::default()`.
pub(crate) fn optional_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| Error::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid", e.to_string()))
}

pub(crate) fn forbidden(what: &str) -> Error {
    Error::new(
        StatusCode::FORBIDDEN,
        format!("{}.forbidden", what.trim_end_matches('s')),
        format!("You may not see {what}."),
    )
}

/// For ops staff and admins only (the cluster's own pages and calls); `code` and `why` say
/// what was refused.
pub(crate) fn ops_or_admin(actor: &crate::auth::Actor, code: &str, why: &str) -> Result<(), Error> {
    if matches!(actor.0.role, domain::Role::Ops | domain::Role::Admin) {
        Ok(())
    } else {
        Err(Error::new(StatusCode::FORBIDDEN, code, why))
    }
}
