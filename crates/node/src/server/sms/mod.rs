//! Text messages out (issue 21): this node's SMS routes, in their configured order. The
//! leader's dispatcher hands each text-message job here; the first route that takes the text
//! for every recipient sends it, and the attempt's detail names the route and what it answered
//! (the SMSC's message ids, the gateway's status). A route that fails is skipped for the rest of
//! that attempt; the next attempt (the dispatcher's back-off) tries from the first again.
//!
//! Each route is probed every 30 seconds (SMPP: bound, or a fresh bind; HTTP: the gateway's
//! host accepts a connection; modem: it answers, its SIM is ready and it is on a network), so `/ops` and `/metrics` say which routes this node can reach
//! now, leader or not.
//!
//! Delivery is at least once, like e-mail: a leader that sends and dies before the attempt is
//! recorded makes the next leader send again. HTTP gateways get the job's message id (`{id}`)
//! for their duplicate check; SMPP has none, so a phone may then get the text twice.

mod http;
mod modem;
mod smpp;

use crate::config::{SmsRoute, SmsSection};
use crate::server::outbound::Outbound;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

/// How often each route is probed.
const PROBE_EVERY: Duration = Duration::from_secs(30);

/// What the last probe or send said about a route.
#[derive(Clone, Debug, Default)]
pub struct Health {
    /// `None` until the first probe or send.
    pub up: Option<bool>,
    pub checked_at: Option<OffsetDateTime>,
    /// The reason when down, or what it last answered.
    pub detail: String,
}

enum Transport {
    Smpp(smpp::Smpp),
    Http(http::Gateway),
    Modem(modem::Modem),
}

struct Route {
    name: String,
    kind: &'static str,
    transport: Transport,
    health: Mutex<Health>,
}

impl Route {
    fn note(&self, up: bool, detail: &str) {
        if let Ok(mut h) = self.health.lock() {
            *h = Health { up: Some(up), checked_at: Some(OffsetDateTime::now_utc()), detail: detail.to_owned() };
        }
    }

    /// Sends `text` to one phone; `Ok` with the route's reference for it.
    async fn send_one(&self, message_id: &str, to: &str, text: &str) -> Result<String, String> {
        match &self.transport {
            Transport::Smpp(s) => s.send(to, text).await,
            Transport::Http(g) => g.send(message_id, to, text).await,
            Transport::Modem(m) => m.send(to, text).await,
        }
    }

    async fn probe(&self) -> Result<String, String> {
        match &self.transport {
            Transport::Smpp(s) => s.probe().await,
            Transport::Http(g) => g.probe().await,
            Transport::Modem(m) => m.probe().await,
        }
    }
}

/// A route as `/ops` and `/metrics` show it.
#[derive(Clone, Debug)]
pub struct RouteStatus {
    pub name: String,
    pub kind: &'static str,
    pub health: Health,
}

/// The node's routes.
pub struct Sms {
    routes: Vec<Route>,
    /// Most segments a text may take (longer ones are cut by `documents`).
    pub max_segments: usize,
}

impl Sms {
    pub fn new(cfg: &SmsSection, outbound: &Outbound) -> Self {
        let routes = cfg
            .routes
            .iter()
            .map(|r| {
                let (kind, transport) = match r {
                    SmsRoute::Smpp { .. } => ("smpp", Transport::Smpp(smpp::Smpp::new(r))),
                    SmsRoute::Http { .. } => ("http", Transport::Http(http::Gateway::new(r, outbound.clone()))),
                    SmsRoute::Modem { .. } => ("modem", Transport::Modem(modem::Modem::new(r))),
                };
                Route { name: r.name().to_owned(), kind, transport, health: Mutex::new(Health::default()) }
            })
            .collect();
        Self { routes, max_segments: cfg.max_segments }
    }

    /// Sends `text` to every phone in `to` through the first route that takes them all:
    /// `Ok("via <route> (<kind>): <references>")`, or `Err` with each route's reason.
    pub async fn send(&self, message_id: &str, to: &[String], text: &str) -> Result<String, String> {
        let mut failures = Vec::new();
        for r in &self.routes {
            let mut refs = Vec::new();
            let mut failed = None;
            for phone in to {
                match r.send_one(message_id, phone, text).await {
                    Ok(reference) => refs.push(format!("{phone} {reference}")),
                    Err(e) => {
                        failed = Some(format!("{phone}: {e}"));
                        break;
                    }
                }
            }
            match failed {
                None => {
                    r.note(true, "sent");
                    return Ok(format!("via {} ({}): {}", r.name, r.kind, refs.join("; ")));
                }
                Some(e) => {
                    r.note(false, &e);
                    failures.push(format!("{} ({}): {e}", r.name, r.kind));
                }
            }
        }
        if failures.is_empty() {
            return Err("no SMS route is configured on this node ([sms] in its config)".into());
        }
        Err(failures.join("; "))
    }

    /// Every route with what was last seen of it, in the configured order.
    pub fn status(&self) -> Vec<RouteStatus> {
        self.routes
            .iter()
            .map(|r| RouteStatus {
                name: r.name.clone(),
                kind: r.kind,
                health: r.health.lock().map(|h| h.clone()).unwrap_or_default(),
            })
            .collect()
    }

    /// Probes every route now and then every [`PROBE_EVERY`], while the node runs.
    pub fn spawn_probes(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(sms) = me.upgrade() else { return };
                for r in &sms.routes {
                    match r.probe().await {
                        Ok(d) => r.note(true, &d),
                        Err(e) => r.note(false, &e),
                    }
                }
                drop(sms);
                tokio::time::sleep(PROBE_EVERY).await;
            }
        });
    }
}
