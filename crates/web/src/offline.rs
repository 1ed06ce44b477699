//! The offline copy for external media (issue 22, part 4): static pages and files that open from
//! a USB stick in any browser, with no server and no script — start page with the status and
//! banners, the directory with every route, on-call for the next 7 days, the action cards, open
//! orders per unit and the latest situation reports, in Swedish (the folder itself), Norsk
//! (`nb/`) and English (`en/`) — plus the binder PDF, the order files of open orders (PDF, CSV,
//! XLSX), the directory as CSV and vCard and its reference data (`files/reference.json`, what
//! `beredd import` merges into another cluster), sealed by a signed manifest
//! (`documents::offline`). `GET /api/v1/offline-copy` serves it as a ZIP, `/ops` links to it,
//! `beredd offline-copy` writes it to a folder, and a node can write it on a schedule.

use askama::Template;
use documents::contacts::Directory;
use documents::export::{self, Batch};
use documents::i18n::Lang;
use domain::contacts::{Contact, Rota};
use domain::model::{Order, OrderStatus};
use domain::reports::SituationReport;
use domain::status::{Incident, System};
use domain::{CareUnit, Record, StateView, StateViewExt, Table};
use std::borrow::Borrow;
use time::{Duration, OffsetDateTime};

use crate::backend::Backend;
use crate::error::Error;

/// How far ahead the on-call page reads each rota's plan.
const ON_CALL_DAYS: i64 = 7;

/// What every page of the copy shows about where and when it was made.
struct Frame {
    lang: Lang,
    /// `""` for the Swedish pages at the top of the folder, `"../"` for `nb/` and `en/`.
    root: &'static str,
    made: String,
    node: u64,
    applied: u64,
    heard: String,
    quorum: bool,
    key: String,
}

impl Frame {
    fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    fn tk(&self, prefix: &str, suffix: impl std::fmt::Display) -> &'static str {
        self.lang.t(&format!("{prefix}{suffix}"))
    }

    fn dt(&self, t: impl Borrow<OffsetDateTime>) -> String {
        self.lang.datetime(*t.borrow())
    }

    fn mark(&self) -> &'static str {
        documents::exercises::mark(self.lang)
    }

    /// The same page in language `l` (a relative link).
    fn in_lang(&self, l: &Lang, page: &str) -> String {
        let folder = match l {
            Lang::Sv => "",
            Lang::Nb => "nb/",
            Lang::En => "en/",
        };
        format!("{}{folder}{page}", self.root)
    }

    fn langs(&self) -> [Lang; 3] {
        Lang::ALL
    }

    fn is_lang(&self, l: &Lang) -> bool {
        *l == self.lang
    }

    fn freshness(&self) -> String {
        self.lang.tf(
            "offline.freshness",
            &[("made", &self.made), ("node", &self.node.to_string()), ("applied", &self.applied.to_string())],
        )
    }
}

#[derive(Template)]
#[template(path = "offline/index.html")]
struct IndexPage<'a> {
    f: &'a Frame,
    banners: Vec<domain::banners::Banner>,
    systems: Vec<System>,
    incidents: Vec<Incident>,
    readiness: Vec<domain::status::Readiness>,
    files: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "offline/directory.html")]
struct DirectoryPage<'a> {
    f: &'a Frame,
    entries: Vec<(&'a Contact, String)>,
}

/// One rota's shifts in the next days, with who and how to reach them.
struct RotaPlan<'a> {
    rota: &'a Rota,
    shifts: Vec<(domain::contacts::Shift, bool, Option<&'a Contact>)>,
}

#[derive(Template)]
#[template(path = "offline/oncall.html")]
struct OnCallPage<'a> {
    f: &'a Frame,
    rotas: Vec<RotaPlan<'a>>,
}

#[derive(Template)]
#[template(path = "offline/cards.html")]
struct CardsPage<'a> {
    f: &'a Frame,
    cards: Vec<(domain::cards::ActionCard, String, String)>,
}

/// A unit's open orders, each with the names of its files.
struct UnitOrders {
    unit: CareUnit,
    orders: Vec<(Order, String)>,
}

#[derive(Template)]
#[template(path = "offline/orders.html")]
struct OrdersPage<'a> {
    f: &'a Frame,
    units: Vec<UnitOrders>,
}

#[derive(Template)]
#[template(path = "offline/reports.html")]
struct ReportsPage<'a> {
    f: &'a Frame,
    rows: Vec<(CareUnit, Option<SituationReport>)>,
}

impl ReportsPage<'_> {
    fn light(&self, l: impl Borrow<domain::reports::Light>) -> &'static str {
        documents::reports::light_word(self.f.lang, *l.borrow())
    }
}

/// Each page's file name, for the language links.
macro_rules! page_names {
    ($($t:ident => $name:literal),* $(,)?) => {
        $(impl $t<'_> {
            fn page(&self) -> &'static str {
                $name
            }
        })*
    };
}

page_names!(
    IndexPage => "index.html",
    DirectoryPage => "directory.html",
    OnCallPage => "oncall.html",
    CardsPage => "cards.html",
    OrdersPage => "orders.html",
    ReportsPage => "reports.html",
);

fn render(t: &impl Template) -> Result<Vec<u8>, Error> {
    Ok(t.render().map_err(Error::internal)?.into_bytes())
}

fn scan<T>(view: &dyn StateView, table: Table, pick: impl Fn(Record) -> Option<T>) -> Result<Vec<T>, Error> {
    Ok(documents::read_model::scan_all(view, table)?.into_iter().filter_map(pick).collect())
}

/// Every file of the copy (pages, files, manifest and signature), made from `backend` at `now`.
pub fn build(backend: &dyn Backend, now: OffsetDateTime) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let view = backend.view();
    let view = view.as_ref();
    let c = backend.cluster();
    let heard = c.millis_since_quorum.and_then(|m| i64::try_from(m).ok()).map(|m| now - Duration::milliseconds(m));
    let key = documents::offline::signing_key(view).map_err(Error::internal)?;
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();

    // Files, in Swedish (like the supplier files they are).
    let freshness =
        export::binder::Freshness { node_id: c.node_id, applied_index: c.last_applied_index, heard, quorum: c.quorum };
    out.push((
        "files/binder.pdf".into(),
        export::binder::write(view, &freshness, Lang::Sv, now).map_err(Error::internal)?,
    ));
    let dir = Directory::load(view)?;
    let entries = dir.search("");
    out.push((
        "files/contacts.csv".into(),
        documents::contacts::export::csv(&entries, Lang::Sv).map_err(Error::internal)?,
    ));
    out.push((
        "files/contacts.vcf".into(),
        documents::contacts::export::vcards(&dir, &entries, Lang::Sv, now).into_bytes(),
    ));
    let mut incoming = domain::merge::Incoming::default();
    for table in [Table::Unit, Table::Supplier, Table::Article, Table::Contact, Table::Rota, Table::Card] {
        for r in documents::read_model::scan_all(view, table)? {
            incoming.add(r);
        }
    }
    out.push(("files/reference.json".into(), serde_json::to_vec(&incoming).map_err(Error::internal)?));
    let units: Vec<CareUnit> = scan(view, Table::Unit, |r| match r {
        Record::Unit(u) if !u.withdrawn => Some(u),
        _ => None,
    })?;
    let open: Vec<Order> = scan(view, Table::Order, |r| match r {
        Record::Order(o) if !o.status.is_final() && o.status != OrderStatus::Draft => Some(o),
        _ => None,
    })?;
    let buyer = view.organisation()?;
    let unconfirmed_since = (!c.quorum).then_some(heard.unwrap_or(now));
    for o in &open {
        let doc = export::order_doc(view, o.clone(), None)?;
        let b = Batch { orders: vec![doc], node_id: c.node_id, made_at: now, unconfirmed_since, queued_since: None };
        let stem = format!("files/orders/{}", o.number);
        let pdf = export::pdf::write(&b, buyer.as_ref(), Lang::Sv, export::pdf::Layout::PerOrder);
        out.push((format!("{stem}.pdf"), pdf.map_err(Error::internal)?));
        out.push((format!("{stem}.csv"), export::csv::write(&b, Lang::Sv).map_err(Error::internal)?));
        out.push((format!("{stem}.xlsx"), export::xlsx::write(&b, Lang::Sv).map_err(Error::internal)?));
    }

    // Pages, in every language.
    let board_now = documents::status::current_banners(view, now)?;
    let systems: Vec<System> = scan(view, Table::System, |r| match r {
        Record::System(s) => Some(s),
        _ => None,
    })?;
    let incidents: Vec<Incident> = scan(view, Table::Incident, |r| match r {
        Record::Incident(i) if i.is_open() => Some(i),
        _ => None,
    })?;
    let readiness: Vec<domain::status::Readiness> = scan(view, Table::Readiness, |r| match r {
        Record::Readiness(x) => Some(x),
        _ => None,
    })?;
    let cards: Vec<domain::cards::ActionCard> = scan(view, Table::Card, |r| match r {
        Record::Card(c) => Some(c),
        _ => None,
    })?;
    let mut reports = Vec::new();
    for u in &units {
        reports.push((u.clone(), domain::reports::latest(view, &u.id, None)?));
    }
    reports.sort_by(|a, b| (a.0.site.as_str(), a.0.name.as_str()).cmp(&(b.0.site.as_str(), b.0.name.as_str())));
    let files: Vec<String> = out.iter().map(|(p, _)| p.clone()).collect();
    for (lang, here, root) in [(Lang::Sv, "", ""), (Lang::Nb, "nb/", "../"), (Lang::En, "en/", "../")] {
        let f = Frame {
            lang,
            root,
            made: lang.datetime(now),
            node: c.node_id,
            applied: c.last_applied_index,
            heard: heard.map_or_else(|| lang.t("fresh.never").to_owned(), |t| lang.datetime(t)),
            quorum: c.quorum,
            key: documents::offline::key_text(&key.verifying_key()),
        };
        let page = IndexPage {
            f: &f,
            banners: board_now.clone(),
            systems: systems.clone(),
            incidents: incidents.clone(),
            readiness: readiness.clone(),
            files: files
                .iter()
                .filter(|p| !p.starts_with("files/orders/"))
                .map(|p| (p.clone(), file_label(lang, p)))
                .collect(),
        };
        out.push((format!("{here}index.html"), render(&page)?));
        let listed: Vec<(&Contact, String)> =
            entries.iter().map(|c| (*c, dir.unit_name(c).unwrap_or_default().to_owned())).collect();
        out.push((format!("{here}directory.html"), render(&DirectoryPage { f: &f, entries: listed })?));
        let plans = dir
            .rotas
            .iter()
            .map(|r| RotaPlan {
                rota: r,
                shifts: r
                    .plan(now, now + Duration::days(ON_CALL_DAYS))
                    .into_iter()
                    .map(|(s, over)| {
                        let who = dir.contact(&s.contact_id);
                        (s, over, who)
                    })
                    .collect(),
            })
            .collect();
        out.push((format!("{here}oncall.html"), render(&OnCallPage { f: &f, rotas: plans })?));
        let shown = cards
            .iter()
            .map(|c| {
                (
                    c.clone(),
                    documents::markdown::to_html(&c.text.actions),
                    documents::markdown::to_html(&c.text.documentation),
                )
            })
            .collect();
        out.push((format!("{here}cards.html"), render(&CardsPage { f: &f, cards: shown })?));
        let by_unit = units
            .iter()
            .map(|u| UnitOrders {
                unit: u.clone(),
                orders: open
                    .iter()
                    .filter(|o| o.unit_id == u.id)
                    .map(|o| (o.clone(), format!("files/orders/{}", o.number)))
                    .collect(),
            })
            .filter(|u| !u.orders.is_empty())
            .collect();
        out.push((format!("{here}orders.html"), render(&OrdersPage { f: &f, units: by_unit })?));
        out.push((format!("{here}reports.html"), render(&ReportsPage { f: &f, rows: reports.clone() })?));
    }
    out.push(("style.css".into(), include_bytes!("../assets/offline.css").to_vec()));
    Ok(documents::offline::seal(out, &key, c.node_id, c.last_applied_index, now, heard))
}

/// What a file is, in words, for the start page's list.
fn file_label(lang: Lang, path: &str) -> String {
    let key = match path {
        "files/binder.pdf" => "offline.file_binder",
        "files/contacts.csv" => "offline.file_contacts_csv",
        "files/contacts.vcf" => "offline.file_contacts_vcf",
        "files/reference.json" => "offline.file_reference",
        _ => return path.to_owned(),
    };
    lang.t(key).to_owned()
}

#[cfg(test)]
mod tests;
