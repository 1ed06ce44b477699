//! `/contacts`: the directory for every signed-in user — who is on call now and next for each
//! rota, then the entries matching the search, each with its routes in the order to try them.
//! Communicators and admins also get links to edit entries and rotas, and the CSV import.

pub mod forms;

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use domain::contacts::{Contact, ContactKind, Route};
use serde::Deserialize;
use time::OffsetDateTime;

use super::chrome::{Chrome, Ctx, PageResult, render, urlencode};
use super::contacts::forms::{ImportReport, may_edit};
use documents::contacts::{Directory, RotaNow};

#[derive(Deserialize, Default)]
pub struct ContactsQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "contacts/list.html")]
struct ContactsPage<'a> {
    c: Chrome,
    q: String,
    dir: &'a Directory,
    hits: Vec<&'a Contact>,
    on_call: Vec<RotaNow>,
    /// Whether the reader may edit entries and rotas and import.
    editor: bool,
    import: Option<ImportReport>,
    import_columns: String,
}

impl ContactsPage<'_> {
    fn kind(&self, k: &ContactKind) -> &'static str {
        self.c.t(format!("contacts.kind_{}", k.as_str()))
    }
    fn route_label(&self, r: &Route) -> &'static str {
        self.c.t(format!("contacts.route_{}", r.kind.as_str()))
    }
    /// A link that dials or mails the route, where a browser can.
    fn href(&self, r: &Route) -> Option<String> {
        use domain::contacts::RouteKind::*;
        match r.kind {
            Phone | Mobile | Satellite => {
                let digits: String = r.value.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
                Some(format!("tel:{digits}"))
            }
            Email => Some(format!("mailto:{}", r.value)),
            _ => None,
        }
    }
    fn unit(&self, c: &Contact) -> &str {
        self.dir.unit_name(c).unwrap_or_default()
    }
    fn export(&self, format: &str) -> String {
        format!("/api/v1/contacts/export?format={format}&q={}", urlencode(&self.q))
    }
}

pub async fn page(ctx: Ctx, Query(q): Query<ContactsQuery>) -> PageResult {
    show(ctx, q.q.unwrap_or_default(), None, StatusCode::OK)
}

/// The page, with the report of an import that saved nothing.
pub(super) fn show(ctx: Ctx, q: String, import: Option<ImportReport>, status: StatusCode) -> PageResult {
    let ctx = ctx.in_section("contacts");
    let user = ctx.user()?;
    let dir = Directory::load(ctx.backend.view().as_ref())?;
    let q = q.chars().take(200).collect::<String>();
    let hits = dir.search(&q);
    let on_call = dir.on_call(OffsetDateTime::now_utc());
    let page = ContactsPage {
        c: ctx.c,
        q,
        dir: &dir,
        hits,
        on_call,
        editor: may_edit(&user),
        import,
        import_columns: documents::contacts::import::columns(),
    };
    let mut r = render(&page)?;
    *r.status_mut() = status;
    Ok(r)
}
