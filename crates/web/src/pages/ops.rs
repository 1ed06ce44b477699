//! `/ops`: for ops staff and admins, the cluster's members as this node sees them, this node's
//! SMS routes and whether it reaches them now, every failover drill report (newest first), each
//! printable as a PDF, and the offline copy to take away (with the key that signs it).

use askama::Template;
use domain::Role;
use domain::drills::DrillReport;

use super::chrome::{Chrome, Ctx, PageResult, render};
use crate::backend::{ClusterStatus, SmsRouteStatus};

/// A member's row.
struct Member {
    id: u64,
    http: String,
    /// Catalog key of its role: leader, voter or learner.
    role: &'static str,
    lag: Option<u64>,
}

#[derive(Template)]
#[template(path = "ops/page.html")]
struct OpsPage {
    c: Chrome,
    status: ClusterStatus,
    members: Vec<Member>,
    drills: Vec<DrillReport>,
    /// This node's own conditions (e.g. its revocation lists), in English as the node states them.
    notes: Vec<String>,
    sms: Vec<SmsRouteStatus>,
    /// The cluster's key that signs offline copies (`ed25519:…`), for a receiver to compare.
    copy_key: String,
}

impl OpsPage {
    fn reach(&self, r: &SmsRouteStatus) -> &str {
        match r.up {
            Some(true) => self.c.t("ops.sms_up"),
            Some(false) => self.c.t("ops.sms_down"),
            None => self.c.t("ops.sms_unknown"),
        }
    }
    fn secs(&self, ms: &Option<u64>) -> String {
        ms.map_or_else(|| self.c.t("drill.never").to_owned(), |m| format!("{:.2} s", m as f64 / 1000.0))
    }
}

pub async fn page(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("ops");
    if !matches!(ctx.user()?.role, Role::Ops | Role::Admin) {
        return Err(ctx.forbidden());
    }
    let status = ctx.backend.cluster();
    let drills = documents::drills::all(ctx.backend.view().as_ref())?;
    let members = status
        .nodes
        .iter()
        .map(|(id, m)| Member {
            id: *id,
            http: m.http.clone(),
            role: if status.leader_id == Some(*id) {
                "ops.leader"
            } else if status.voters.contains(id) {
                "ops.voter"
            } else {
                "ops.learner"
            },
            lag: status.lag.get(id).copied(),
        })
        .collect();
    let notes = ctx.backend.ops_notes();
    let sms = ctx.backend.sms_routes();
    let copy_key = documents::offline::signing_key(ctx.backend.view().as_ref())
        .map(|k| documents::offline::key_text(&k.verifying_key()))
        .unwrap_or_default();
    render(&OpsPage { c: ctx.c, status, members, drills, notes, sms, copy_key })
}
