//! The leader's part in paging the on-call (`domain::paging`): once a second it moves each open
//! page whose step went unanswered to its next step, and pages the rotas that want it for each
//! open critical incident. Both are commands with ids made from what they do (the page and
//! step; the incident and rota), so a new leader repeating them changes nothing. A reply of
//! "OK" from a paged phone, on any node's SMS route, acknowledges the page.

use crate::server::Server;
use domain::paging::{Ack, Page, PageFields};
use domain::status::Impact;
use domain::{Command, CommandId, Record, StateView, Table};
use time::OffsetDateTime;

impl Server {
    /// Escalates the pages whose wait is over and raises the automatic pages due.
    pub(super) async fn move_pages_on(&self, now: OffsetDateTime) {
        let view: &dyn StateView = &self.view;
        let pages = documents::paging::all(view).unwrap_or_default();
        for p in pages.iter().filter(|p| p.is_open() && p.step_due.is_some_and(|due| due <= now)) {
            let id = CommandId::new(format!("page.escalate:{}:{}", p.id, p.step));
            let cmd = Command::EscalatePage { page_id: p.id.clone(), step: p.step };
            if let Err(e) = self.submit(id, cmd, None).await {
                tracing::warn!(page = %p.id, "moving the page on failed: {e}");
            }
        }
        for (id, cmd) in self.automatic_pages(&pages) {
            if let Err(e) = self.submit(id, cmd, None).await {
                tracing::warn!("paging the on-call for a critical incident failed: {e}");
            }
        }
    }

    /// For each open critical incident and each rota set to be paged for one: the page, unless
    /// it was raised already (the page's id is made from the incident and the rota).
    fn automatic_pages(&self, pages: &[Page]) -> Vec<(CommandId, Command)> {
        let view: &dyn StateView = &self.view;
        let scan = |t| documents::read_model::scan_all(view, t).unwrap_or_default();
        let rotas: Vec<domain::contacts::Rota> = scan(Table::Rota)
            .into_iter()
            .filter_map(|r| match r {
                Record::Rota(r) if r.page_on_critical => Some(r),
                _ => None,
            })
            .collect();
        if rotas.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for r in scan(Table::Incident) {
            let Record::Incident(i) = r else { continue };
            if !i.is_open() || i.impact < Impact::Critical {
                continue;
            }
            for rota in &rotas {
                let id = auto_page_id(&i.id, &rota.id);
                if pages.iter().any(|p| p.id.as_str() == id) {
                    continue;
                }
                let fields = PageFields {
                    id: id.as_str().into(),
                    rota_id: rota.id.clone(),
                    message: i.title.chars().take(domain::paging::MAX_MESSAGE).collect(),
                    incident_id: Some(i.id.clone()),
                    lang: "sv".into(),
                    // A page about an exercise incident is the exercise's too.
                    exercise: i.exercise.clone(),
                };
                let token = uuid::Uuid::new_v4().simple().to_string();
                out.push((CommandId::new(format!("page.auto:{id}")), Command::PageOnCall { fields, token }));
            }
        }
        out
    }

    /// A reply that acknowledges: the latest open page that reached this phone.
    pub(super) fn page_replies(&self, from: &str) -> Vec<(String, Command)> {
        let view: &dyn StateView = &self.view;
        let pages = documents::paging::all(view).unwrap_or_default();
        let Some(page) = pages.into_iter().find(|p| p.is_open() && p.step_of_phone(from).is_some()) else {
            tracing::info!(%from, "an acknowledgement from a phone no open page reached: not acted on");
            return Vec::new();
        };
        let cmd = Command::AcknowledgePage { page_id: page.id.clone(), ack: Ack::Sms { phone: from.to_owned() } };
        vec![(format!("page.ack:{}:sms", page.id), cmd)]
    }
}

/// The automatic page's id for an incident and a rota: short (it goes in a link), the same on
/// every node (FNV-1a, 64 bits).
fn auto_page_id(incident: &str, rota: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in incident.bytes().chain([0]).chain(rota.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("pg-auto-{h:016x}")
}
