//! An SMSC over SMPP (`rusmppc`): one transceiver bind, opened on first use and again after it
//! breaks; each segment of a text is one `submit_sm` (GSM 7-bit or UCS-2 as
//! `domain::sms::smpp_parts` cuts it, the concatenation header and UDHI on longer texts), at
//! most `per_second` a second, with a delivery receipt asked for. What the SMSC sends back on
//! the bind is answered and handed on as [`Inbound`]: delivery receipts (`esm_class` 0x04,
//! the usual `id:… stat:…` text) and texts from phones.
//!
//! The SMSC's address is the node operator's setting (a config file, not a user's input), so
//! the connection does not go through the webhook address guard: operators' SMSCs are often
//! on private links.

use super::{Inbound, Taken};
use crate::config::SmsRoute;
use futures::StreamExt;
use rusmpp::pdus::{BindTransceiver, DeliverSmResp, SubmitSm};
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, InterfaceVersion, Npi, RegisteredDelivery, Ton};
use rusmpp::{CommandId, Pdu};
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Smpp {
    name: String,
    inbound: tokio::sync::mpsc::Sender<Inbound>,
    address: String,
    system_id: String,
    password: String,
    system_type: String,
    source: String,
    gap: Duration,
    session: Mutex<Option<rusmppc::Client>>,
    /// When the last segment went, for the rate limit.
    last: Mutex<Option<Instant>>,
    /// One text at a time on the bind (its segments back to back): rusmppc 0.4's connection
    /// takes at most five requests per wake-up and then sleeps until its next timer while more
    /// wait, so a burst of concurrent submits stalled for up to the enquire_link interval.
    lane: Mutex<()>,
    /// The concatenation reference of the next long text.
    reference: AtomicU8,
}

impl Smpp {
    pub fn new(route: &SmsRoute, inbound: tokio::sync::mpsc::Sender<Inbound>) -> Self {
        let SmsRoute::Smpp { name, address, system_id, password, system_type, source, per_second } = route else {
            unreachable!("Smpp::new is called with an SMPP route")
        };
        Self {
            name: name.clone(),
            inbound,
            address: address.clone(),
            system_id: system_id.clone(),
            password: password.expose().to_owned(),
            system_type: system_type.clone(),
            source: source.clone(),
            gap: Duration::from_secs(1) / (*per_second).max(1),
            session: Mutex::new(None),
            last: Mutex::new(None),
            lane: Mutex::new(()),
            reference: AtomicU8::new(super::first_reference()),
        }
    }

    /// A bound client: the one open, or a new connection and bind.
    async fn client(&self) -> Result<rusmppc::Client, String> {
        let mut session = self.session.lock().await;
        if let Some(c) = session.as_ref().filter(|c| c.is_active()) {
            return Ok(c.clone());
        }
        *session = None;
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&self.address))
            .await
            .map_err(|_| format!("{}: no answer in {} s", self.address, CONNECT_TIMEOUT.as_secs()))?
            .map_err(|e| format!("{}: {e}", self.address))?;
        let (client, mut events) = rusmppc::ConnectionBuilder::new()
            .enquire_link_interval(Duration::from_secs(30))
            .response_timeout(RESPONSE_TIMEOUT)
            // Binds as SMPP 3.4, which nearly every SMSC speaks; rusmppc checks for 5.0 otherwise.
            .disable_interface_version_check()
            .connected(stream);
        // The answers to deliver_sm go out one at a time, from their own task (see `lane`).
        let (responses, mut to_answer) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let answer = client.clone();
        tokio::spawn(async move {
            while let Some(seq) = to_answer.recv().await {
                let _ = answer.deliver_sm_resp(seq, DeliverSmResp::default()).await;
            }
        });
        let (address, route, inbound) = (self.address.clone(), self.name.clone(), self.inbound.clone());
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                match event {
                    rusmppc::Event::Incoming(cmd) if cmd.id() == CommandId::DeliverSm => {
                        if let Some(Pdu::DeliverSm(d)) = cmd.pdu() {
                            let what = read_deliver(&route, d);
                            tracing::info!(smsc = %address, ?what, "SMPP deliver_sm");
                            if let Some(w) = what
                                && inbound.try_send(w).is_err()
                            {
                                tracing::warn!(smsc = %address, "inbound SMS queue full: one dropped");
                            }
                        }
                        let _ = responses.send(cmd.sequence_number());
                    }
                    rusmppc::Event::Incoming(_) => {}
                    rusmppc::Event::Error(e) => tracing::warn!(smsc = %address, "SMPP connection: {e}"),
                }
            }
        });
        let bind = BindTransceiver::builder()
            .system_id(c_string(&self.system_id)?)
            .password(c_string(&self.password)?)
            .system_type(c_string(&self.system_type)?)
            .interface_version(InterfaceVersion::Smpp3_4)
            .build();
        if let Err(e) = client.bind_transceiver(bind).await {
            let _ = client.close().await;
            return Err(format!("bind refused: {e}"));
        }
        *session = Some(client.clone());
        Ok(client)
    }

    /// Sends one text to `to` (E.164): the SMSC's message id of each segment.
    pub async fn send(&self, to: &str, text: &str) -> Result<Taken, String> {
        let reference = self.reference.fetch_add(1, Ordering::Relaxed);
        let (coding, parts) = domain::sms::smpp_parts(text, reference).map_err(|e| e.to_string())?;
        let (source_ton, source_npi, source) = match self.source.strip_prefix('+') {
            Some(digits) => (Ton::International, Npi::Isdn, digits.to_owned()),
            None => (Ton::Alphanumeric, Npi::Unknown, self.source.clone()),
        };
        let destination = to.strip_prefix('+').ok_or("the number is not in E.164 form")?;
        let _lane = self.lane.lock().await;
        let client = self.client().await?;
        let mut ids = Vec::with_capacity(parts.len());
        let many = parts.len() > 1;
        for part in parts {
            self.wait_turn().await;
            let mut esm = EsmClass::default();
            if many {
                esm = esm.with_udhi_indicator();
            }
            let submit = SubmitSm::builder()
                .source_addr_ton(source_ton)
                .source_addr_npi(source_npi)
                .source_addr(c_string(&source)?)
                .dest_addr_ton(Ton::International)
                .dest_addr_npi(Npi::Isdn)
                .destination_addr(c_string(destination)?)
                .esm_class(esm)
                .registered_delivery(RegisteredDelivery::from(1u8))
                .data_coding(match coding {
                    domain::sms::Coding::Gsm7 => DataCoding::McSpecific,
                    domain::sms::Coding::Ucs2 => DataCoding::Ucs2,
                })
                .short_message(OctetString::from_vec(part).map_err(|e| e.to_string())?)
                .build();
            match client.submit_sm(submit).await {
                Ok(resp) => ids.push(resp.message_id().as_str().to_owned()),
                Err(e) => {
                    // A broken bind is opened again on the next send.
                    if !client.is_active() {
                        *self.session.lock().await = None;
                    }
                    return Err(format!("submit_sm: {e}"));
                }
            }
        }
        Ok(Taken { label: format!("smsc id {}", ids.join(",")), ids })
    }

    /// Sleeps until the next segment may go.
    async fn wait_turn(&self) {
        let mut last = self.last.lock().await;
        if let Some(t) = *last {
            let next = t + self.gap;
            let now = Instant::now();
            if next > now {
                tokio::time::sleep(next - now).await;
            }
        }
        *last = Some(Instant::now());
    }

    /// Bound now, or bound anew.
    pub async fn probe(&self) -> Result<String, String> {
        self.client().await.map(|_| format!("bound to {}", self.address))
    }
}

/// A `deliver_sm` as [`Inbound`]: a receipt when `esm_class` says so (its text in the
/// customary `id:… sub:… dlvrd:… stat:…` form, SMPP 3.4 appendix B), else a text from a phone.
fn read_deliver(route: &str, d: &rusmpp::pdus::DeliverSm) -> Option<Inbound> {
    let bytes = d.short_message().as_ref();
    if u8::from(d.esm_class) & 0x3C == 0x04 {
        let text = String::from_utf8_lossy(bytes);
        let field =
            |name: &str| text.split_whitespace().find_map(|w| w.strip_prefix(name)).map(|v| v.trim().to_owned());
        return Some(Inbound::Receipt { route: route.to_owned(), id: field("id:")?, state: field("stat:")? });
    }
    let text = match u8::from(d.data_coding) {
        8 => {
            let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        _ => domain::sms::gsm7_text(bytes).unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned()),
    };
    let from = d.source_addr.as_str();
    let from = domain::sms::e164(&format!("+{}", from.trim_start_matches('+')))?;
    Some(Inbound::Text { route: route.to_owned(), from, text })
}

fn c_string<const MIN: usize, const MAX: usize>(s: &str) -> Result<COctetString<MIN, MAX>, String> {
    COctetString::from_str(s).map_err(|e| format!("{s:?}: {e}"))
}
