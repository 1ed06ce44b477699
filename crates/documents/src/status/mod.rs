//! The status board as readers see it, built from this node's local state (so it is served
//! without quorum too): system lights grouped by site with each site's readiness level, open
//! incidents with their "next update due" judged by this node's clock, maintenance, recently
//! resolved incidents, and the banner that major incidents put on every page. The status page,
//! `/api/v1/status` and the Atom feed all show this one model.

pub mod feed;

use domain::status::{Incident, Maintenance, Readiness, System, site_key};
use domain::{Record, StateError, StateView, Table};
use serde::Serialize;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

use crate::read_model::scan_all;

/// How long a resolved incident or finished maintenance stays on the board.
pub const RECENT: Duration = Duration::days(7);

#[derive(Debug, Serialize)]
pub struct Board {
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Shared systems first (site ""), then the sites by name.
    pub sites: Vec<SiteStatus>,
    /// Open incidents, newest first.
    pub incidents: Vec<IncidentView>,
    /// Scheduled or running maintenance by start, then finished in the last week.
    pub maintenance: Vec<Maintenance>,
    /// Incidents resolved in the last week, newest first.
    pub resolved: Vec<IncidentView>,
    /// Open major or critical incidents: every page shows them.
    pub banner: Vec<BannerItem>,
    /// Action cards linked to a system that is not operational: follow these now.
    pub cards_now: Vec<CardNow>,
    /// Banners set by hand that show now, the loudest first (each names its sites).
    pub notices: Vec<domain::banners::Banner>,
}

#[derive(Debug, Serialize)]
pub struct CardNow {
    pub id: String,
    pub title: String,
    /// The linked systems that are down.
    pub systems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SiteStatus {
    /// "" for systems every site shares.
    pub site: String,
    pub key: String,
    pub readiness: Option<Readiness>,
    pub systems: Vec<System>,
}

#[derive(Debug, Serialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    /// The promised update is late by this node's clock.
    pub overdue: bool,
    /// Names of the affected systems.
    pub system_names: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct BannerItem {
    pub id: String,
    pub title: String,
    pub impact: domain::status::Impact,
    pub stage: domain::status::IncidentStage,
    /// Made in an exercise (the banner says so).
    pub exercise: bool,
}

/// Every hospital that has a unit not withdrawn, by name (for forms that pick sites).
pub fn unit_sites(view: &dyn StateView) -> Result<Vec<String>, StateError> {
    let mut out: Vec<String> = scan_all(view, Table::Unit)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Unit(u) if !u.withdrawn && !u.site.trim().is_empty() => Some(u.site.trim().to_owned()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The banners set by hand that show at `now`, the loudest first, then the newest.
pub fn current_banners(view: &dyn StateView, now: OffsetDateTime) -> Result<Vec<domain::banners::Banner>, StateError> {
    let mut out: Vec<domain::banners::Banner> = scan_all(view, Table::Banner)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Banner(b) if b.is_current(now) => Some(b),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| b.starts_at.cmp(&a.starts_at)));
    Ok(out)
}

/// Every banner set by hand, the newest first (current, planned and ended), for managing them.
pub fn all_banners(view: &dyn StateView) -> Result<Vec<domain::banners::Banner>, StateError> {
    let mut out: Vec<domain::banners::Banner> = scan_all(view, Table::Banner)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Banner(b) => Some(b),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| b.starts_at.cmp(&a.starts_at).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// The open major incidents, for the banner on every page (cheap: incidents are few).
pub fn banner(view: &dyn StateView) -> Result<Vec<BannerItem>, StateError> {
    Ok(incidents(view)?.into_iter().filter(Incident::is_major).map(|i| banner_item(&i)).collect())
}

fn banner_item(i: &Incident) -> BannerItem {
    BannerItem {
        id: i.id.to_string(),
        title: i.title.clone(),
        impact: i.impact,
        stage: i.stage,
        exercise: i.exercise.is_some(),
    }
}

fn incidents(view: &dyn StateView) -> Result<Vec<Incident>, StateError> {
    Ok(scan_all(view, Table::Incident)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Incident(i) => Some(i),
            _ => None,
        })
        .collect())
}

impl Board {
    pub fn build(view: &dyn StateView, now: OffsetDateTime) -> Result<Board, StateError> {
        let systems: Vec<System> = scan_all(view, Table::System)?
            .into_iter()
            .filter_map(|r| if let Record::System(s) = r { Some(s) } else { None })
            .collect();
        let names: BTreeMap<String, String> = systems.iter().map(|s| (s.id.to_string(), s.name.clone())).collect();
        let mut sites: BTreeMap<String, SiteStatus> = BTreeMap::new();
        fn site<'a>(sites: &'a mut BTreeMap<String, SiteStatus>, name: &str) -> &'a mut SiteStatus {
            let key = if name.is_empty() { String::new() } else { site_key(name).to_string() };
            sites.entry(key.clone()).or_insert_with(|| SiteStatus {
                site: name.to_owned(),
                key,
                readiness: None,
                systems: Vec::new(),
            })
        }
        // Every hospital that has units gets a place for its readiness level.
        for r in scan_all(view, Table::Unit)? {
            if let Record::Unit(u) = r
                && !u.site.trim().is_empty()
            {
                site(&mut sites, u.site.trim());
            }
        }
        for r in scan_all(view, Table::Readiness)? {
            if let Record::Readiness(r) = r {
                let name = r.site.clone();
                site(&mut sites, &name).readiness = Some(r);
            }
        }
        for s in systems {
            let name = s.site.clone();
            site(&mut sites, &name).systems.push(s);
        }
        let mut sites: Vec<SiteStatus> = sites.into_values().collect();
        for s in &mut sites {
            s.systems.sort_by_key(|a| a.name.to_lowercase());
        }
        // "" sorts first: the shared systems head the list.
        sites.sort_by(|a, b| {
            (!a.site.is_empty(), a.site.to_lowercase()).cmp(&(!b.site.is_empty(), b.site.to_lowercase()))
        });

        let view_of = |i: Incident| IncidentView {
            overdue: i.overdue(now),
            system_names: i
                .systems
                .iter()
                .map(|s| names.get(s.as_str()).cloned().unwrap_or_else(|| s.to_string()))
                .collect(),
            incident: i,
        };
        let (mut open, mut resolved) = (Vec::new(), Vec::new());
        for i in incidents(view)? {
            if i.is_open() {
                open.push(view_of(i));
            } else if i.resolved_at.is_some_and(|t| now - t <= RECENT) {
                resolved.push(view_of(i));
            }
        }
        open.sort_by_key(|i| std::cmp::Reverse(i.incident.opened_at));
        resolved.sort_by_key(|i| std::cmp::Reverse(i.incident.resolved_at));
        let mut maintenance: Vec<Maintenance> = scan_all(view, Table::Maintenance)?
            .into_iter()
            .filter_map(|r| if let Record::Maintenance(m) = r { Some(m) } else { None })
            .filter(|m| !m.is_closed() || m.updates.last().is_some_and(|u| now - u.at <= RECENT))
            .collect();
        maintenance.sort_by_key(|m| (m.is_closed(), m.starts_at));
        let banner = open.iter().filter(|i| i.incident.is_major()).map(|i| banner_item(&i.incident)).collect();
        let deck = crate::cards::Cards::load(view)?;
        let cards_now = deck
            .now()
            .into_iter()
            .map(|c| CardNow {
                id: c.id.to_string(),
                title: c.text.title.clone(),
                systems: deck.down_systems(c).iter().map(|s| s.name.clone()).collect(),
            })
            .collect();
        let notices = current_banners(view, now)?;
        Ok(Board { generated_at: now, sites, incidents: open, maintenance, resolved, banner, cards_now, notices })
    }

    /// Every system, for forms that pick some.
    pub fn systems(&self) -> impl Iterator<Item = &System> {
        self.sites.iter().flat_map(|s| s.systems.iter())
    }
}
#[cfg(test)]
mod tests;
