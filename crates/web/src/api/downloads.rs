//! `GET /api/v1/orders/{id}/export` and `GET /api/v1/suppliers/{id}/export`: order files for
//! one order or a supplier's batch, from this node's state, for scripts and for the download
//! links on the pages (a session cookie will do: these are reads).

use super::common::{ApiResult, Shared};
use crate::auth::Actor;
use crate::error::Error;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use documents::export::{self, Batch};
use documents::i18n::Lang;
use documents::read_model::OrderSort;
use domain::{OrderId, OrderStatus, Organisation, StateViewExt, SupplierId};
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    format: Option<String>,
    /// `sv`, `nb` or `en`; by default the user's language.
    lang: Option<String>,
    /// Supplier batches: comma-separated statuses (default `approved`).
    status: Option<String>,
    /// Supplier batches: orders created on or after / on or before (YYYY-MM-DD).
    from: Option<String>,
    to: Option<String>,
    /// PDF of a supplier batch: `per_order` (default, one section per order) or `consolidated`.
    layout: Option<String>,
}

pub(crate) fn language(q: &ExportQuery, headers: &HeaderMap) -> Result<Lang, Error> {
    if let Some(l) = &q.lang {
        return Lang::parse(l).ok_or_else(|| Error::bad_request(format!("lang must be sv, nb or en, not {l:?}")));
    }
    Ok(crate::lang::of_request(headers))
}

pub(crate) fn batch(b: &Shared, orders: Vec<export::OrderDoc>) -> Batch {
    let c = b.cluster();
    let now = OffsetDateTime::now_utc();
    let unconfirmed_since = (!c.quorum).then(|| {
        now - time::Duration::milliseconds(c.millis_since_quorum.and_then(|m| i64::try_from(m).ok()).unwrap_or(0))
    });
    Batch { orders, node_id: c.node_id, made_at: now, unconfirmed_since, queued_since: None }
}

pub(crate) fn file(b: &Batch, q: &ExportQuery, lang: Lang, buyer: Option<&Organisation>, name: &str) -> ApiResult {
    let internal = |e: &dyn std::fmt::Display| Error::internal(e);
    let today = b.made_at.date();
    let layout = match q.layout.as_deref() {
        None | Some("per_order") => export::pdf::Layout::PerOrder,
        Some("consolidated") => export::pdf::Layout::Consolidated,
        Some(other) => {
            return Err(Error::bad_request(format!("layout must be per_order or consolidated, not {other:?}")));
        }
    };
    let (bytes, kind, ext) = match q.format.as_deref().unwrap_or("csv") {
        "csv" => (export::csv::write(b, lang).map_err(|e| internal(&e))?, "text/csv; charset=utf-8", "csv"),
        "xlsx" => (
            export::xlsx::write(b, lang).map_err(|e| internal(&e))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        "pdf" => (export::pdf::write(b, buyer, lang, layout).map_err(|e| internal(&e))?, "application/pdf", "pdf"),
        "ubl" => match export::ubl::write(b, buyer, lang) {
            Ok((bytes, false)) => (bytes, "application/xml", "xml"),
            Ok((bytes, true)) => (bytes, "application/zip", "zip"),
            Err(export::ubl::UblError::Incomplete(problems)) => {
                let list: Vec<String> = problems.iter().map(|p| p.text(lang)).collect();
                return Err(Error::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "export.peppol_incomplete",
                    format!("{} {}", lang.t("peppol.cannot"), list.join(" ")),
                ));
            }
            Err(e) => return Err(internal(&e)),
        },
        other => return Err(Error::bad_request(format!("format must be csv, xlsx, pdf or ubl, not {other:?}"))),
    };
    let disposition = format!("attachment; filename=\"{}\"", export::file_name(name, today, ext));
    Ok(([(header::CONTENT_TYPE, kind.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

pub async fn order(
    b: Shared,
    actor: Actor,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
    h: HeaderMap,
) -> ApiResult {
    let lang = language(&q, &h)?;
    let view = b.view();
    let order = view
        .order(OrderId::new(&id))?
        .filter(|o| domain::access::may_see_order(&actor.0, o))
        .ok_or_else(|| Error::not_found("order", &id))?;
    let name = format!("order-{}", order.number);
    let doc = export::order_doc(view.as_ref(), order, None)?;
    let buyer = view.organisation()?;
    file(&batch(&b, vec![doc]), &q, lang, buyer.as_ref(), &name)
}

fn date(s: Option<&str>, field: &str) -> Result<Option<time::Date>, Error> {
    match s {
        None | Some("") => Ok(None),
        Some(s) => documents::i18n::parse_date(s)
            .map(Some)
            .ok_or_else(|| Error::bad_request(format!("{field} must be a date YYYY-MM-DD, not {s:?}"))),
    }
}

pub async fn supplier(
    b: Shared,
    actor: Actor,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
    h: HeaderMap,
) -> ApiResult {
    let lang = language(&q, &h)?;
    if !domain::access::may_list_orders(&actor.0) {
        return Err(Error::new(StatusCode::FORBIDDEN, "order.forbidden", "You may not see orders."));
    }
    let supplier_id = SupplierId::new(&id);
    let view = b.view();
    let supplier = view.supplier(&supplier_id)?.ok_or_else(|| Error::not_found("supplier", &id))?;
    let mut statuses = Vec::new();
    for s in q.status.as_deref().unwrap_or("approved").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        statuses.push(OrderStatus::parse(s).ok_or_else(|| Error::bad_request(format!("unknown status {s:?}")))?);
    }
    let (from, to) = (date(q.from.as_deref(), "from")?, date(q.to.as_deref(), "to")?);
    let ids: Vec<OrderId> = {
        let ix = b.read_model().get(view.as_ref())?;
        let f = ix.filter(&actor.0, None, &statuses, from, to, Some(&supplier_id));
        let (found, _) = ix.find(&f, OrderSort::Oldest, 0, usize::MAX);
        found.into_iter().map(|o| o.id.clone()).collect()
    };
    let mut docs = Vec::new();
    for id in ids {
        if let Some(o) = view.order(&id)? {
            docs.push(export::order_doc(view.as_ref(), o, Some(&supplier_id))?);
        }
    }
    let buyer = view.organisation()?;
    file(&batch(&b, docs), &q, lang, buyer.as_ref(), &supplier.name)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BinderQuery {
    lang: Option<String>,
}

/// `GET /binder.pdf`: the emergency binder from this node's state, for any signed-in user.
pub async fn binder(
    axum::extract::State(b): Shared,
    _actor: Actor,
    headers: HeaderMap,
    Query(q): Query<BinderQuery>,
) -> ApiResult {
    let lang = match &q.lang {
        Some(l) => Lang::parse(l).ok_or_else(|| Error::bad_request(format!("lang must be sv, nb or en, not {l:?}")))?,
        None => crate::lang::of_request(&headers),
    };
    let c = b.cluster();
    let now = OffsetDateTime::now_utc();
    let heard =
        c.millis_since_quorum.and_then(|m| i64::try_from(m).ok()).map(|m| now - time::Duration::milliseconds(m));
    let f =
        export::binder::Freshness { node_id: c.node_id, applied_index: c.last_applied_index, heard, quorum: c.quorum };
    let view = b.view();
    let bytes = export::binder::write(view.as_ref(), &f, lang, now).map_err(Error::internal)?;
    let name = format!("beredskapsparm-nod{}-{}.pdf", c.node_id, now.date());
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response())
}
