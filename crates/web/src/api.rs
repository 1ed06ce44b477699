//! Health, metrics and the JSON API (`/api/v1`). Lists answer `{"items":[…],"next":…}` and take
//! `limit` and `cursor`; writes answer with the record as this node has applied it.

use crate::auth::{self, Actor};
use crate::backend::{Backend, Consistency, SubmitError};
use crate::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::command::{ArticleFields, OrderFields, OrganisationFields, Received, SupplierFields, UnitFields};
use domain::state::StateViewExt;
use domain::{Command, CommandId, Kind, OrderAction, OrderId, OrderStatus, Record, Table, TokenId, UserId, Verdict};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) type Shared = State<Arc<dyn Backend>>;
pub(crate) type ApiResult = Result<Response, ApiError>;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/cluster", get(cluster))
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/suppliers", get(list_suppliers).post(create_supplier))
        .route("/api/v1/suppliers/{id}", get(get_supplier).put(update_supplier))
        .route("/api/v1/organisation", get(get_organisation).put(set_organisation))
        .route("/api/v1/units", get(list_units).post(create_unit))
        .route("/api/v1/units/{id}", get(get_unit).put(update_unit))
        .route("/api/v1/articles", get(list_articles).post(create_article))
        .route("/api/v1/articles/{id}", get(get_article).put(update_article))
        .route("/api/v1/orders", get(list_orders).post(create_order))
        .route("/api/v1/orders/{id}", get(get_order).put(update_order))
        .route("/api/v1/orders/{id}/{action}", post(order_action))
        .route("/api/v1/orders/{id}/export", get(crate::downloads::order))
        .route("/api/v1/suppliers/{id}/export", get(crate::downloads::supplier))
        .route("/binder.pdf", get(crate::downloads::binder))
        .route("/api/v1/me", get(me))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", get(get_user).put(update_user))
        .route("/api/v1/users/{id}/{action}", post(user_action))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/login", post(crate::login::login))
        .route("/api/v1/login/certificate", post(crate::login::login_certificate))
        .route("/api/v1/logout", post(crate::login::logout))
        .route("/api/v1/users/{id}/logout-everywhere", post(crate::login::logout_everywhere))
        .route("/api/v1/session-keys", post(crate::login::rotate_key))
        .route("/api/v1/tokens", post(create_token))
        .route("/api/v1/tokens/{id}/revoke", post(revoke_token))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "route.not_found", "no such path") })
}

/// A JSON body whose parse errors come back in our error format.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => {
                let status = match e {
                    JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::BAD_REQUEST,
                };
                Err(ApiError::new(status, "request.invalid", e.body_text()))
            }
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(b): Shared) -> Response {
    let c = b.cluster();
    let body = json!({
        "ready": c.initialized,
        "node_id": c.node_id,
        "role": c.role,
        "leader_id": c.leader_id,
        "quorum": c.quorum,
        "last_applied_index": c.last_applied_index,
    });
    let status = if c.initialized { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

async fn metrics(State(b): Shared) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], b.metrics()).into_response()
}

#[derive(Deserialize, Default)]
struct ClusterQuery {
    digest: Option<bool>,
}

async fn cluster(State(b): Shared, Query(q): Query<ClusterQuery>) -> Result<Json<crate::ClusterStatus>, ApiError> {
    let mut status = b.cluster();
    if q.digest == Some(true) {
        let (applied_index, sha256) = b.state_digest()?;
        status.state_digest = Some(crate::StateDigest { applied_index, sha256 });
    }
    Ok(Json(status))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    limit: Option<usize>,
    cursor: Option<String>,
    consistency: Option<String>,
    // filters
    unit_id: Option<String>,
    status: Option<String>,
    supplier_id: Option<String>,
    category: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<usize>,
    cursor: Option<String>,
    /// `json` (default, paged) or `csv` (the whole trail).
    format: Option<String>,
}

#[derive(Deserialize, Default)]
struct ReadQuery {
    consistency: Option<String>,
}

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 500;

async fn barrier(b: &Arc<dyn Backend>, consistency: Option<&str>) -> Result<(), ApiError> {
    match parse_consistency(consistency)? {
        Consistency::Local => Ok(()),
        Consistency::Linearizable => Ok(b.read_barrier().await?),
    }
}

fn parse_consistency(s: Option<&str>) -> Result<Consistency, ApiError> {
    match s {
        None | Some("local") => Ok(Consistency::Local),
        Some("linearizable") => Ok(Consistency::Linearizable),
        Some(other) => Err(ApiError::bad_request(format!("consistency must be local or linearizable, not {other:?}"))),
    }
}

/// Pages through `table` in id order, keeping records for which `keep` returns a JSON value.
/// `next` is the id of the last item when at least one more kept record follows it.
fn page(b: &Arc<dyn Backend>, table: Table, q: &ListQuery, keep: impl Fn(Record) -> Option<Value>) -> ApiResult {
    const BATCH: usize = 256;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {MAX_LIMIT}")));
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

fn record_id(r: &Record) -> Option<String> {
    Some(match r {
        Record::Supplier(x) => x.id.to_string(),
        Record::Unit(x) => x.id.to_string(),
        Record::Article(x) => x.id.to_string(),
        Record::Order(x) => x.id.to_string(),
        Record::Node(x) => format!("{:020}", x.id),
        Record::User(x) => x.id.to_string(),
        Record::Token(x) => x.id.to_string(),
        Record::Audit(x) => format!("{:020}", x.log_index),
        Record::SessionKey(x) => x.id.clone(),
        Record::Organisation(_) => domain::ORGANISATION_ID.to_owned(),
        Record::System(x) => x.id.to_string(),
        Record::Incident(x) => x.id.to_string(),
        Record::Maintenance(x) => x.id.to_string(),
        Record::Readiness(x) => x.key.clone(),
        Record::Contact(x) => x.id.to_string(),
        Record::Rota(x) => x.id.to_string(),
        Record::Card(x) => x.id.to_string(),
        Record::Drill(x) => x.id.clone(),
        Record::Channel(x) => x.supplier_id.to_string(),
        Record::Dispatch(x) => x.id.clone(),
        Record::Subscriber(x) => x.id.clone(),
        Record::Command(_) | Record::Counter(_) => return None,
    })
}

fn to_json<T: serde::Serialize>(v: &T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

async fn list_suppliers(State(b): Shared, _actor: Actor, Query(q): Query<ListQuery>) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    page(&b, Table::Supplier, &q, |r| match r {
        Record::Supplier(s) => to_json(&s),
        _ => None,
    })
}

async fn list_units(State(b): Shared, _actor: Actor, Query(q): Query<ListQuery>) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    page(&b, Table::Unit, &q, |r| match r {
        Record::Unit(u) => to_json(&u),
        _ => None,
    })
}

async fn list_articles(State(b): Shared, _actor: Actor, Query(q): Query<ListQuery>) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    let (supplier, category) = (q.supplier_id.clone(), q.category.clone());
    page(&b, Table::Article, &q, |r| match r {
        Record::Article(a)
            if supplier.as_deref().is_none_or(|s| a.supplier_id.as_str() == s)
                && category.as_deref().is_none_or(|c| a.category == c) =>
        {
            to_json(&a)
        }
        _ => None,
    })
}

async fn list_orders(State(b): Shared, actor: Actor, Query(q): Query<ListQuery>) -> ApiResult {
    if !domain::access::may_list_orders(&actor.0) {
        return Err(forbidden("orders"));
    }
    barrier(&b, q.consistency.as_deref()).await?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(OrderStatus::parse(s).ok_or_else(|| ApiError::bad_request(format!("unknown status {s:?}")))?),
    };
    let unit = q.unit_id.clone();
    page(&b, Table::Order, &q, |r| match r {
        Record::Order(o)
            if unit.as_deref().is_none_or(|u| o.unit_id.as_str() == u)
                && status.is_none_or(|s| o.status == s)
                && domain::access::may_see_order(&actor.0, &o) =>
        {
            to_json(&o)
        }
        _ => None,
    })
}

fn found<T: serde::Serialize>(kind: &str, id: &str, v: Option<T>) -> ApiResult {
    match v {
        Some(v) => Ok(Json(v).into_response()),
        None => Err(ApiError::not_found(kind, id)),
    }
}

async fn get_supplier(
    State(b): Shared,
    _actor: Actor,
    Path(id): Path<String>,
    Query(q): Query<ReadQuery>,
) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    found("supplier", &id, b.view().supplier(&domain::SupplierId::new(&id))?)
}

async fn get_unit(State(b): Shared, _actor: Actor, Path(id): Path<String>, Query(q): Query<ReadQuery>) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    found("unit", &id, b.view().unit(&domain::UnitId::new(&id))?)
}

async fn get_article(State(b): Shared, _actor: Actor, Path(id): Path<String>, Query(q): Query<ReadQuery>) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    found("article", &id, b.view().article(&domain::ArticleId::new(&id))?)
}

async fn get_order(State(b): Shared, actor: Actor, Path(id): Path<String>, Query(q): Query<ReadQuery>) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    // An order the user may not see is reported as missing, not as forbidden.
    found("order", &id, b.view().order(&OrderId::new(&id))?.filter(|o| domain::access::may_see_order(&actor.0, o)))
}

/// The command id for a request: the `Idempotency-Key` header if given, else `fallback`
/// (derived from a client-chosen record id), else a fresh one.
pub(crate) fn command_id(headers: &HeaderMap, fallback: Option<String>) -> Result<CommandId, ApiError> {
    if let Some(v) = headers.get("idempotency-key") {
        let s = v.to_str().map_err(|_| ApiError::bad_request("Idempotency-Key must be ASCII"))?;
        if !domain::ids::is_valid_id(s) {
            return Err(ApiError::bad_request("Idempotency-Key must be 1-64 characters of A-Z a-z 0-9 . _ : -"));
        }
        return Ok(CommandId::new(s));
    }
    Ok(CommandId::new(fallback.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())))
}

/// Whether the request says `Prefer: respond-async`.
fn accepts_queueing(headers: &HeaderMap) -> bool {
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
    if let Err(r) = domain::apply::validate(&cmd) {
        return Err(r.into());
    }
    // Refuse early what the state machine would refuse anyway, so nothing needless is logged.
    if let Err(r) = domain::access::authorize(b.view().as_ref(), &actor.0, &cmd)? {
        return Err(r.into());
    }
    let queueable = (cmd.may_queue() && accepts_queueing(headers)).then(|| cmd.clone());
    let s = match (b.submit(id.clone(), cmd, Some(actor.id())).await, queueable) {
        (Ok(s), _) => s,
        // No leader: what may wait goes to this node's outbox (202), the rest is refused.
        (Err(SubmitError::NoLeader(_) | SubmitError::Timeout(_)), Some(cmd)) => {
            let q = b.queue(id, cmd, Some(actor.id())).await?;
            return Ok((StatusCode::ACCEPTED, Json(crate::outbox::queued_json(&q))).into_response());
        }
        (Err(e), _) => return Err(e.into()),
    };
    match s.verdict {
        Verdict::Rejected { rejection } => Err(rejection.into()),
        Verdict::Applied { kind, id, .. } => {
            let v = b.view();
            let body = match kind {
                Kind::Supplier => serde_json::to_value(v.supplier(&domain::SupplierId::new(&id))?),
                Kind::Unit => serde_json::to_value(v.unit(&domain::UnitId::new(&id))?),
                Kind::Article => serde_json::to_value(v.article(&domain::ArticleId::new(&id))?),
                Kind::Order => serde_json::to_value(v.order(&OrderId::new(&id))?),
                Kind::Node => serde_json::to_value(v.node(id.parse().unwrap_or_default())?),
                Kind::User => serde_json::to_value(v.user(&UserId::new(&id))?.map(UserView::from)),
                Kind::Token => serde_json::to_value(v.token(&TokenId::new(&id))?.map(TokenView::from)),
                Kind::Organisation => serde_json::to_value(v.organisation()?),
                Kind::System => serde_json::to_value(v.system(&domain::SystemId::new(&id))?),
                Kind::Incident => serde_json::to_value(v.incident(&domain::IncidentId::new(&id))?),
                Kind::Maintenance => serde_json::to_value(v.maintenance(&domain::MaintenanceId::new(&id))?),
                Kind::Readiness => serde_json::to_value(v.readiness(&id)?),
                Kind::Contact => serde_json::to_value(v.contact(&domain::ContactId::new(&id))?),
                Kind::Rota => serde_json::to_value(v.rota(&domain::RotaId::new(&id))?),
                Kind::Card => serde_json::to_value(v.card(&domain::CardId::new(&id))?),
                Kind::Drill => serde_json::to_value(v.drill(&id)?),
                Kind::Dispatch => serde_json::to_value(v.dispatch(&id)?.map(|j| j.redacted())),
                Kind::Subscriber => serde_json::to_value(v.subscriber(&id)?.map(|s| s.redacted())),
                Kind::Channel => {
                    serde_json::to_value(v.channel(&domain::SupplierId::new(&id))?.as_ref().map(crate::channels::shown))
                }
            }
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
            Ok((created, Json(body)).into_response())
        }
        Verdict::Nothing => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Body of a create: the record's fields, with `id` optional (made here when absent).
pub(crate) fn with_id(mut v: Value) -> Result<(Value, bool), ApiError> {
    let obj = v.as_object_mut().ok_or_else(|| ApiError::bad_request("body must be a JSON object"))?;
    let given = matches!(obj.get("id"), Some(Value::String(_)));
    if !given {
        obj.insert("id".into(), Value::String(new_id()));
    }
    Ok((v, given))
}

pub(crate) fn fields<T: DeserializeOwned>(v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid", e.to_string()))
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
fn creation<T: DeserializeOwned>(headers: &HeaderMap, body: Value, kind: &str) -> Result<(CommandId, T), ApiError> {
    let (body, given) = with_id(body)?;
    let id = body.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let cmd_id = command_id(headers, given.then(|| format!("create.{kind}:{id}")))?;
    Ok((cmd_id, fields(body)?))
}

/// An update's body: the record's fields and the version they were read at.
#[derive(Deserialize)]
struct Versioned<T> {
    version: u64,
    #[serde(flatten)]
    fields: T,
}

/// Reads an update's body, with the id from the path put into the fields.
fn versioned<T: DeserializeOwned>(id: String, mut body: Value) -> Result<Versioned<T>, ApiError> {
    let obj = body.as_object_mut().ok_or_else(|| ApiError::bad_request("body must be a JSON object"))?;
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

async fn create_supplier(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "supplier", Command::CreateSupplier).await
}
async fn update_supplier(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    update(&b, &actor, &h, id, v, |expected_version, fields: SupplierFields| Command::UpdateSupplier {
        expected_version,
        fields,
    })
    .await
}
async fn get_organisation(State(b): Shared, _actor: Actor, Query(q): Query<ReadQuery>) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    found("organisation", domain::ORGANISATION_ID, b.view().organisation()?)
}

/// The buyer organisation's fields, and the version they replace (absent the first time).
#[derive(Deserialize)]
struct OrganisationBody {
    #[serde(default)]
    version: Option<u64>,
    #[serde(flatten)]
    fields: OrganisationFields,
}

async fn set_organisation(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    let body: OrganisationBody = fields(v)?;
    let cmd = Command::SetOrganisation { expected_version: body.version, fields: body.fields };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

async fn create_unit(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "unit", Command::CreateUnit).await
}
async fn update_unit(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    update(&b, &actor, &h, id, v, |expected_version, fields: UnitFields| Command::UpdateUnit {
        expected_version,
        fields,
    })
    .await
}
async fn create_article(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "article", Command::CreateArticle).await
}
async fn update_article(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    update(&b, &actor, &h, id, v, |expected_version, fields: ArticleFields| Command::UpdateArticle {
        expected_version,
        fields,
    })
    .await
}
async fn create_order(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    create(&b, &actor, &h, v, "order", Command::CreateOrder).await
}
async fn update_order(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    update(&b, &actor, &h, id, v, |expected_version, fields: OrderFields| Command::UpdateOrder {
        expected_version,
        fields,
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    version: Option<u64>,
    reason: Option<String>,
    lines: Option<Vec<Received>>,
}

/// An action's JSON body, which may be left out (or blank): then `T::default()`.
pub(crate) fn optional_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid", e.to_string()))
}

async fn order_action(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult {
    // The body is optional: most actions need nothing but the order id.
    let a: ActionBody = optional_body(&body)?;
    let reason = || a.reason.clone().unwrap_or_default();
    let action = match action.as_str() {
        "submit" => OrderAction::Submit,
        "approve" => OrderAction::Approve,
        "reject" => OrderAction::Reject { reason: reason() },
        "send" => OrderAction::Send,
        "confirm" => OrderAction::Confirm,
        "receive" => OrderAction::Receive { lines: a.lines.clone().unwrap_or_default() },
        "cancel" => OrderAction::Cancel { reason: reason() },
        other => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "route.not_found", format!("no order action {other:?}")));
        }
    };
    let cmd = Command::Transition { order_id: OrderId::new(id), expected_version: a.version, action };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

fn forbidden(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!("{}.forbidden", what.trim_end_matches('s')),
        format!("You may not see {what}."),
    )
}

/// A user as the API shows it: never the password hash.
#[derive(serde::Serialize)]
pub(crate) struct UserView {
    id: UserId,
    name: String,
    role: domain::Role,
    units: Vec<domain::UnitId>,
    has_password: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
    disabled: bool,
    version: u64,
}

impl From<domain::User> for UserView {
    fn from(u: domain::User) -> Self {
        Self {
            id: u.id,
            name: u.name,
            role: u.role,
            units: u.units,
            has_password: u.password_hash.is_some(),
            expires_at: u.expires_at,
            disabled: u.disabled,
            version: u.version,
        }
    }
}

/// A token as the API shows it: never the secret or its hash.
#[derive(serde::Serialize)]
struct TokenView {
    id: TokenId,
    user_id: UserId,
    label: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
    revoked: bool,
}

impl From<domain::ApiToken> for TokenView {
    fn from(t: domain::ApiToken) -> Self {
        Self { id: t.id, user_id: t.user_id, label: t.label, created_at: t.created_at, revoked: t.revoked }
    }
}

async fn me(actor: Actor) -> Json<UserView> {
    Json(actor.0.into())
}

async fn list_users(State(b): Shared, actor: Actor, Query(q): Query<ListQuery>) -> ApiResult {
    if actor.0.role != domain::Role::Admin {
        return Err(forbidden("users"));
    }
    page(&b, Table::User, &q, |r| match r {
        Record::User(u) => to_json(&UserView::from(u)),
        _ => None,
    })
}

async fn get_user(State(b): Shared, actor: Actor, Path(id): Path<String>) -> ApiResult {
    let visible = actor.0.role == domain::Role::Admin || actor.0.id.as_str() == id;
    found("user", &id, b.view().user(&UserId::new(&id))?.filter(|_| visible).map(UserView::from))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    id: UserId,
    name: String,
    role: domain::Role,
    #[serde(default)]
    units: Vec<domain::UnitId>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
}

pub(crate) fn checked_hash(password: &str) -> Result<String, ApiError> {
    if password.chars().count() < auth::MIN_PASSWORD {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "user.invalid",
            format!("The password must have at least {} characters.", auth::MIN_PASSWORD),
        );
        e.field = Some("password".into());
        return Err(e);
    }
    auth::hash_password(password)
}

async fn create_user(State(b): Shared, actor: Actor, h: HeaderMap, Body(v): Body<Value>) -> ApiResult {
    let u: NewUser = fields(v)?;
    let password_hash = u.password.as_deref().map(checked_hash).transpose()?;
    let cmd_id = command_id(&h, Some(format!("create.user:{}", u.id)))?;
    let cmd = Command::CreateUser(domain::command::UserFields {
        id: u.id,
        name: u.name,
        role: u.role,
        units: u.units,
        password_hash,
        expires_at: u.expires_at,
    });
    write(&b, &actor, &h, cmd_id, cmd, StatusCode::CREATED).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserUpdate {
    version: u64,
    name: String,
    role: domain::Role,
    #[serde(default)]
    units: Vec<domain::UnitId>,
    /// A new password; the old one stays when absent.
    #[serde(default)]
    password: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<time::OffsetDateTime>,
}

/// Admins: change a user's name, role, units and expiry (and optionally the password).
async fn update_user(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path(id): Path<String>,
    Body(v): Body<Value>,
) -> ApiResult {
    let u: UserUpdate = fields(v)?;
    let password_hash = u.password.as_deref().map(checked_hash).transpose()?;
    let cmd = Command::UpdateUser {
        expected_version: u.version,
        fields: domain::command::UserFields {
            id: UserId::new(id),
            name: u.name,
            role: u.role,
            units: u.units,
            password_hash,
            expires_at: u.expires_at,
        },
    };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct UserActionBody {
    password: Option<String>,
}

async fn user_action(
    State(b): Shared,
    actor: Actor,
    h: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult {
    let user_id = UserId::new(id);
    let cmd = match action.as_str() {
        "disable" => Command::SetUserDisabled { user_id, disabled: true },
        "enable" => Command::SetUserDisabled { user_id, disabled: false },
        "password" => {
            let a: UserActionBody = serde_json::from_slice(&body)
                .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid", e.to_string()))?;
            let pw = a.password.ok_or_else(|| ApiError::bad_request("password is required"))?;
            Command::SetPassword { user_id, password_hash: checked_hash(&pw)? }
        }
        other => {
            return Err(ApiError::new(StatusCode::NOT_FOUND, "route.not_found", format!("no user action {other:?}")));
        }
    };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    #[serde(default)]
    label: String,
    /// Admins may make tokens for others; everyone else for themselves.
    user_id: Option<UserId>,
}

async fn create_token(State(b): Shared, actor: Actor, h: HeaderMap, Body(body): Body<NewTokenBody>) -> ApiResult {
    let t = auth::new_token();
    let user_id = body.user_id.unwrap_or_else(|| actor.0.id.clone());
    let cmd = Command::CreateToken {
        token_id: t.id.clone(),
        user_id: user_id.clone(),
        secret_sha256: t.secret_sha256,
        label: body.label.clone(),
    };
    write(&b, &actor, &h, command_id(&h, None)?, cmd, StatusCode::CREATED).await?;
    // The token itself is shown here, once; only its hash is stored.
    let shown = json!({ "id": t.id, "token": t.token, "user_id": user_id, "label": body.label });
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}

async fn revoke_token(State(b): Shared, actor: Actor, h: HeaderMap, Path(id): Path<String>) -> ApiResult {
    write(&b, &actor, &h, command_id(&h, None)?, Command::RevokeToken { token_id: TokenId::new(id) }, StatusCode::OK)
        .await
}

/// The audit trail, admins only: paged JSON, or the whole trail as CSV (UTF-8 with BOM,
/// semicolon-separated as Swedish and Norwegian spreadsheets expect).
async fn audit(State(b): Shared, actor: Actor, Query(q): Query<AuditQuery>) -> ApiResult {
    if actor.0.role != domain::Role::Admin {
        return Err(forbidden("audit"));
    }
    match q.format.as_deref() {
        None | Some("json") => {
            let lq = ListQuery { limit: q.limit, cursor: q.cursor, ..ListQuery::default() };
            page(&b, Table::Audit, &lq, |r| match r {
                Record::Audit(a) => to_json(&a),
                _ => None,
            })
        }
        Some("csv") => {
            let bytes = audit_csv(b.view().as_ref())?;
            let disposition = "attachment; filename=\"beredd-audit.csv\"";
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, disposition)], bytes)
                .into_response())
        }
        Some(other) => Err(ApiError::bad_request(format!("format must be json or csv, not {other:?}"))),
    }
}

fn audit_csv(view: &(dyn domain::StateView + Send + Sync)) -> Result<Vec<u8>, ApiError> {
    let internal =
        |e: &dyn std::fmt::Display| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string());
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new().delimiter(b';').from_writer(&mut out);
        w.write_record(["log_index", "at", "node", "actor", "command_id", "command", "target", "outcome"])
            .map_err(|e| internal(&e))?;
        let mut after: Option<String> = None;
        loop {
            let batch = view.scan(Table::Audit, after.as_deref(), 1000)?;
            let n = batch.len();
            for r in batch {
                let Record::Audit(a) = r else { continue };
                let at = a.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                w.write_record([
                    a.log_index.to_string(),
                    at,
                    a.node.to_string(),
                    crate::export::csv::neutralise(a.actor.as_deref().unwrap_or("")),
                    crate::export::csv::neutralise(&a.command_id),
                    a.command,
                    crate::export::csv::neutralise(&a.target),
                    a.outcome,
                ])
                .map_err(|e| internal(&e))?;
                after = Some(format!("{:020}", a.log_index));
            }
            if n < 1000 {
                break;
            }
        }
        w.flush().map_err(|e| internal(&e))?;
    }
    Ok(out)
}

/// The OpenAPI document of this API (kept beside this file; a test checks it names every route).
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[cfg(test)]
mod tests {
    /// Every route in this file is in the OpenAPI document (the health routes are listed too).
    #[test]
    fn the_openapi_document_names_every_route() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let source = [
            include_str!("api.rs"),
            include_str!("board/api.rs"),
            include_str!("directory/api.rs"),
            include_str!("cards.rs"),
            include_str!("outbox.rs"),
            include_str!("merge.rs"),
            include_str!("drills.rs"),
            include_str!("channels.rs"),
            include_str!("dispatch.rs"),
            include_str!("subscribers.rs"),
        ]
        .concat();
        let routes: Vec<&str> = source
            .split(".route(\"")
            .skip(1)
            .filter_map(|r| r.split('"').next())
            .filter(|r| r.starts_with('/'))
            .collect();
        assert!(routes.len() > 20, "{routes:?}");
        for r in routes {
            assert!(paths.contains_key(r), "{r} is served but missing from openapi.json");
        }
    }
}
