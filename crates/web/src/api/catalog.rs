//! The catalog and who orders: `/api/v1/suppliers`, `/api/v1/units`, `/api/v1/articles` and the
//! buyer `/api/v1/organisation`, each readable by every user and changed by admins.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use domain::command::{ArticleFields, OrganisationFields, SupplierFields, UnitFields};
use domain::{Command, Record, StateViewExt, Table};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

use super::common::*;
use crate::auth::Actor;
use crate::backend::Backend;

pub fn routes() -> Router<Arc<dyn Backend>> {
    Router::new()
        .route("/api/v1/suppliers", get(list_suppliers).post(create_supplier))
        .route("/api/v1/suppliers/{id}", get(get_supplier).put(update_supplier))
        .route("/api/v1/organisation", get(get_organisation).put(set_organisation))
        .route("/api/v1/units", get(list_units).post(create_unit))
        .route("/api/v1/units/{id}", get(get_unit).put(update_unit))
        .route("/api/v1/articles", get(list_articles).post(create_article))
        .route("/api/v1/articles/{id}", get(get_article).put(update_article))
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

async fn get_supplier(
    State(b): Shared,
    _actor: Actor,
    Path(id): Path<String>,
    Query(q): Query<ReadQuery>,
) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    found("supplier", &id, b.view().supplier(domain::SupplierId::new(&id))?)
}

async fn get_unit(State(b): Shared, _actor: Actor, Path(id): Path<String>, Query(q): Query<ReadQuery>) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    found("unit", &id, b.view().unit(domain::UnitId::new(&id))?)
}

async fn get_article(State(b): Shared, _actor: Actor, Path(id): Path<String>, Query(q): Query<ReadQuery>) -> ApiResult {
    barrier(&b, q.consistency.as_deref()).await?;
    found("article", &id, b.view().article(domain::ArticleId::new(&id))?)
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
