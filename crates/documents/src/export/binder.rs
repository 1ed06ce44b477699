//! The emergency binder (`/binder.pdf`): one A4 PDF to print and keep, holding the current
//! status, the contact directory with every fallback route, the on-call rotas for the coming
//! week, every action card (one per page), and the open orders per unit. Every page is
//! stamped with the print time, the node, the applied index and when the node last heard from
//! a majority, so a printed copy says how current it is; without quorum it also says that the
//! cluster has not confirmed what it shows.

use domain::contacts::Contact;
use domain::{Order, OrderStatus, Record, StateError, StateView, Table};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

use super::pdf::{Canvas, Header, PdfError, faces, line_height, render};
use crate::cards::Cards;
use crate::contacts::Directory;
use crate::i18n::Lang;
use crate::read_model::scan_all;
use crate::status::Board;

/// How fresh the node's data is, for the stamp on every page.
pub struct Freshness {
    pub node_id: u64,
    pub applied_index: u64,
    /// When the node last heard from a majority (`None`: never).
    pub heard: Option<OffsetDateTime>,
    pub quorum: bool,
}

const LEFT: f32 = 14.0;
const WIDTH: f32 = 210.0 - 28.0;

/// Orders still to be dealt with or delivered.
fn open(o: &Order) -> bool {
    matches!(
        o.status,
        OrderStatus::Submitted
            | OrderStatus::Approved
            | OrderStatus::Sent
            | OrderStatus::Confirmed
            | OrderStatus::PartiallyDelivered
    )
}

/// Wrapped text across the full width, one paragraph per line of `text`, breaking pages as
/// needed.
pub(super) fn para(cv: &mut Canvas, text: &str, size: f32, bold: bool, grey: bool) {
    let lines: Vec<String> = text.split('\n').flat_map(|l| cv.wrap(l, WIDTH, size, bold)).collect();
    for line in lines {
        cv.room(line_height(size), false);
        cv.y += line_height(size);
        let y = cv.y;
        cv.text(LEFT, y, size, bold, grey, &line);
    }
}

pub(super) fn heading(cv: &mut Canvas, text: &str) {
    cv.room(line_height(11.0) * 3.0, false);
    cv.y += 2.0;
    para(cv, text, 11.0, true, false);
    cv.y += 1.0;
}

fn section(cv: &mut Canvas, title: &str) {
    let lang = cv.lang;
    cv.new_page(Header { title: lang.t("binder.title").to_owned(), subtitle: title.to_owned(), urgent: false });
}

fn routes(cv: &mut Canvas, c: &Contact) {
    let lang = cv.lang;
    for (i, r) in c.routes.iter().enumerate() {
        let mut line = format!("{}. {}: {}", i + 1, lang.t(&format!("contacts.route_{}", r.kind.as_str())), r.value);
        if !r.hours.is_empty() {
            line += &format!(" ({})", r.hours);
        }
        match r.last_tested {
            Some(d) => line += &format!(" · {} {}", lang.t("contacts.tested"), lang.date(d)),
            None => line += &format!(" · {}", lang.t("contacts.never_tested")),
        }
        para(cv, &format!("    {line}"), 9.0, false, false);
    }
}

/// The binder for `view` as this node holds it at `now`.
pub fn write(view: &dyn StateView, f: &Freshness, lang: Lang, now: OffsetDateTime) -> Result<Vec<u8>, BinderError> {
    let board = Board::build(view, now)?;
    let dir = Directory::load(view)?;
    let cards = Cards::load(view)?;
    let warning = (!f.quorum).then(|| {
        lang.tf(
            "export.unconfirmed",
            &[("as_of", &f.heard.map_or_else(|| lang.t("fresh.never").into(), |t| lang.datetime(t)))],
        )
    });
    let mut cv = Canvas::new(faces()?, lang, if warning.is_some() { 3.0 } else { 2.0 });

    // 1. The status now, after the banners set by hand.
    section(&mut cv, lang.t("binder.status"));
    for b in &board.notices {
        let level = lang.t(&format!("banner.level_{}", b.level.as_str()));
        let sites = if b.sites.is_empty() { lang.t("banner.every_site").to_owned() } else { b.sites.join(", ") };
        para(&mut cv, &format!("{level}: {}", b.text), 10.0, true, false);
        let until = lang.tf("banner.until", &[("until", &lang.datetime(b.ends_at))]);
        para(&mut cv, &format!("{sites} · {until}"), 8.0, false, true);
    }
    for s in &board.sites {
        let name = if s.site.is_empty() { lang.t("board.shared").to_owned() } else { s.site.clone() };
        heading(&mut cv, &name);
        if !s.site.is_empty() {
            let level = s.readiness.as_ref().map_or(domain::status::ReadinessLevel::Normal, |r| r.level);
            let mut l =
                format!("{}: {}", lang.t("board.readiness"), lang.t(&format!("board.level_{}", level.as_str())));
            if let Some(r) = s.readiness.as_ref().filter(|r| !r.note.is_empty()) {
                l += &format!(" – {}", r.note);
            }
            para(&mut cv, &l, 9.5, true, false);
        }
        for sys in &s.systems {
            let mut l = format!("{}: {}", sys.name, lang.t(&format!("board.state_{}", sys.state.as_str())));
            if !sys.note.is_empty() {
                l += &format!(" – {}", sys.note);
            }
            para(&mut cv, &l, 9.0, sys.state.is_down(), false);
        }
    }
    heading(&mut cv, lang.t("board.open_incidents"));
    if board.incidents.is_empty() {
        para(&mut cv, lang.t("board.no_incidents"), 9.0, false, false);
    }
    for iv in &board.incidents {
        let i = &iv.incident;
        let stage = lang.t(&format!("board.stage_{}", i.stage.as_str()));
        let title = crate::exercises::marked(lang, i.exercise.as_ref(), &i.title);
        para(&mut cv, &format!("{title} ({stage})"), 9.5, true, false);
        if let Some(u) = i.updates.last() {
            para(&mut cv, &format!("{} – {}", lang.datetime(u.at), u.body), 9.0, false, false);
        }
        if let Some(due) = i.next_update_due {
            let key = if iv.overdue { "board.overdue_text" } else { "binder.next_update" };
            para(&mut cv, &lang.tf(key, &[("due", &lang.datetime(due))]), 9.0, iv.overdue, !iv.overdue);
        }
    }
    if !board.cards_now.is_empty() {
        heading(&mut cv, lang.t("cards.now"));
        for k in &board.cards_now {
            para(
                &mut cv,
                &format!("{} – {} {}", k.title, lang.t("cards.because"), k.systems.join(", ")),
                9.0,
                false,
                false,
            );
        }
    }

    // 2. The directory, functions first, every route in fallback order.
    section(&mut cv, lang.t("binder.contacts"));
    for c in dir.contacts.iter().filter(|c| !c.withdrawn) {
        cv.room(line_height(9.5) * (c.routes.len() as f32 + 2.0), false);
        let what = [c.title.as_str(), c.organisation.as_str(), dir.unit_name(c).unwrap_or_default(), c.site.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        cv.y += 1.5;
        para(
            &mut cv,
            &format!("{} ({})", c.name, lang.t(&format!("contacts.kind_{}", c.kind.as_str()))),
            9.5,
            true,
            false,
        );
        if !what.is_empty() {
            para(&mut cv, &what, 8.5, false, true);
        }
        routes(&mut cv, c);
    }

    // 3. Who is on call in the coming week.
    section(&mut cv, lang.t("binder.rotas"));
    let week = now + Duration::days(7);
    for r in &dir.rotas {
        heading(&mut cv, &r.name);
        let plan = r.plan(now, week);
        if plan.is_empty() {
            para(&mut cv, lang.t("contacts.nobody"), 9.0, false, false);
        }
        for (s, overridden) in plan {
            let who = dir.contact(&s.contact_id);
            let name = who.map_or_else(|| s.contact_id.to_string(), |c| c.name.clone());
            let first = who.and_then(|c| c.routes.first()).map(|r| format!(" · {}", r.value)).unwrap_or_default();
            let cover = if overridden { format!(" ({})", lang.t("contacts.override")) } else { String::new() };
            let l = format!("{} – {}  {name}{first}{cover}", lang.datetime(s.from), lang.datetime(s.to));
            para(&mut cv, &l, 9.0, false, false);
        }
    }

    // 4. Every action card, one per page.
    for card in &cards.cards {
        section(&mut cv, lang.t("binder.cards"));
        para(&mut cv, &card.text.title, 13.0, true, false);
        let mut meta = vec![lang.t(&format!("cards.cat_{}", card.category.as_str())).to_owned()];
        meta.push(format!("{} {}", lang.t("cards.version"), card.version));
        meta.push(format!("{}: {}", lang.t("cards.review_by"), lang.date(card.review_by)));
        if card.review_overdue(now.date()) {
            meta.push(lang.t("cards.review_overdue").to_owned());
        }
        para(&mut cv, &meta.join(" · "), 8.5, false, true);
        for (key, text) in [
            ("cards.task", crate::markdown::to_text(&card.text.task)),
            ("cards.who", card.text.who.clone()),
            ("cards.trigger", card.text.trigger.clone()),
            ("cards.actions", crate::markdown::to_text(&card.text.actions)),
            ("cards.documentation", crate::markdown::to_text(&card.text.documentation)),
        ] {
            if text.trim().is_empty() {
                continue;
            }
            heading(&mut cv, lang.t(key));
            para(&mut cv, &text, 10.0, false, false);
        }
        cv.y += 2.0;
        let mut by = format!("{}: {}", lang.t("cards.owner"), card.owner);
        if !card.approver.is_empty() {
            by += &format!(" · {}: {}", lang.t("cards.approver"), card.approver);
        }
        para(&mut cv, &by, 8.5, false, true);
    }

    // 5. Open orders per unit.
    section(&mut cv, lang.t("binder.orders"));
    let mut by_unit: BTreeMap<String, Vec<Order>> = BTreeMap::new();
    for r in scan_all(view, Table::Order)? {
        if let Record::Order(o) = r
            && open(&o)
        {
            by_unit.entry(o.unit_id.to_string()).or_default().push(o);
        }
    }
    if by_unit.is_empty() {
        para(&mut cv, lang.t("binder.no_orders"), 9.0, false, false);
    }
    for (unit_id, mut orders) in by_unit {
        use domain::state::StateViewExt;
        let unit = view.unit(domain::UnitId::new(&unit_id))?;
        let name = unit.map_or(unit_id.clone(), |u| format!("{} – {}", u.name, u.site));
        heading(&mut cv, &name);
        orders.sort_by(|a, b| a.number.cmp(&b.number));
        for o in orders {
            let needed =
                o.needed_by.map(|d| format!(" · {} {}", lang.t("binder.needed_by"), lang.date(d))).unwrap_or_default();
            let l = format!(
                "{} · {} · {} · {}{needed}{}",
                o.number,
                lang.t(&format!("status.{}", o.status.as_str())),
                lang.date(o.created_at.date()),
                lang.tf("binder.lines", &[("n", &o.lines.len().to_string())]),
                if o.urgent { format!(" · {}", lang.t("pdf.urgent")) } else { String::new() }
            );
            para(&mut cv, &l, 9.0, o.urgent, false);
        }
    }

    let mut source = lang.tf(
        "binder.stamp",
        &[
            ("time", &lang.datetime(now)),
            ("node", &f.node_id.to_string()),
            ("index", &f.applied_index.to_string()),
            ("heard", &f.heard.map_or_else(|| lang.t("fresh.never").into(), |t| lang.datetime(t))),
        ],
    );
    source.truncate(source.trim_end().len());
    Ok(render(cv, "", &source, warning)?)
}

#[derive(Debug, thiserror::Error)]
pub enum BinderError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Pdf(#[from] PdfError),
}
