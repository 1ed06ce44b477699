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
//! What comes back on a route (an SMPP bind's delivery receipts and replies, the texts a
//! modem has received) arrives as
//! [`Inbound`] on the channel `Sms::new` returns; the server records receipts on their job and
//! takes a reply of STOP as an unsubscription.
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

/// What a route took: how it says so, and the ids its receipts will name.
pub struct Taken {
    pub label: String,
    pub ids: Vec<String>,
}

/// What a route was told by the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A delivery receipt for message `id` taken by `route`.
    Receipt { route: String, id: String, state: String },
    /// A text from a phone (E.164).
    Text { route: String, from: String, text: String },
}

/// The result of a send: the attempt's detail and the references (`route:id`) of what was taken.
pub struct Sent {
    pub detail: String,
    pub refs: Vec<String>,
}

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

    /// Sends `text` to one phone.
    async fn send_one(&self, message_id: &str, to: &str, text: &str) -> Result<Taken, String> {
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

/// Where a route's concatenation references start: different between nodes and restarts, so
/// two leaders in a row do not give the same phone two long texts under one reference.
fn first_reference() -> u8 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    u8::try_from(nanos % 256).unwrap_or(0)
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
    /// The routes, and the channel on which what comes back from them arrives.
    pub fn new(cfg: &SmsSection, outbound: &Outbound) -> (Self, tokio::sync::mpsc::Receiver<Inbound>) {
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let routes = cfg
            .routes
            .iter()
            .map(|r| {
                let (kind, transport) = match r {
                    SmsRoute::Smpp { .. } => ("smpp", Transport::Smpp(smpp::Smpp::new(r, tx.clone()))),
                    SmsRoute::Http { .. } => ("http", Transport::Http(http::Gateway::new(r, outbound.clone()))),
                    SmsRoute::Modem { .. } => ("modem", Transport::Modem(modem::Modem::new(r, tx.clone()))),
                };
                Route { name: r.name().to_owned(), kind, transport, health: Mutex::new(Health::default()) }
            })
            .collect();
        (Self { routes, max_segments: cfg.max_segments }, rx)
    }

    /// Sends `text` to every phone in `to` through the first route that takes them all:
    /// `Ok` with "via <route> (<kind>): <phone> <what it said>…" and the references, or `Err`
    /// with each route's reason.
    pub async fn send(&self, message_id: &str, to: &[String], text: &str) -> Result<Sent, String> {
        let mut failures = Vec::new();
        for r in &self.routes {
            let (mut said, mut refs) = (Vec::new(), Vec::new());
            let mut failed = None;
            for phone in to {
                match r.send_one(message_id, phone, text).await {
                    Ok(t) => {
                        said.push(format!("{phone} {}", t.label));
                        refs.extend(t.ids.iter().map(|id| format!("{}:{id}", r.name)));
                    }
                    Err(e) => {
                        failed = Some(format!("{phone}: {e}"));
                        break;
                    }
                }
            }
            match failed {
                None => {
                    r.note(true, "sent");
                    return Ok(Sent { detail: format!("via {} ({}): {}", r.name, r.kind, said.join("; ")), refs });
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
