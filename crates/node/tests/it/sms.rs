//! Text messages through real protocol peers on loopback: a small SMSC written for the tests
//! with `rusmpp` (the crate the node's SMPP client is built on), which records every
//! `submit_sm`, answers each with a delivery receipt, sends a phone's reply on demand and can
//! refuse binds; and the webhook tests' HTTP receiver as a gateway that
//! fails its first call. A phone subscriber gets an incident as a two-segment text over SMPP;
//! when the SMSC refuses, the next route (the gateway) takes over after its one failure.

use crate::dispatch::{Seen, receiver, wait_until};
use crate::harness::Cluster;
use futures::{SinkExt, StreamExt};
use rusmpp::pdus::{BindTransceiverResp, DeliverSm, SubmitSmResp};
use rusmpp::types::COctetString;
use rusmpp::{Command, CommandStatus, Pdu};
use serde_json::{Value, json};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One `submit_sm` as the SMSC took it.
#[derive(Clone, Debug)]
struct Submit {
    source: String,
    source_ton: u8,
    to: String,
    esm_class: u8,
    data_coding: u8,
    registered_delivery: u8,
    short_message: Vec<u8>,
}

/// An SMSC on a loopback port: binds as a transceiver with any password unless told to refuse
/// (then it also drops the binds it has), answers enquire_link, records submits and sends a
/// DELIVRD receipt for each on the same bind; [`Smsc::reply`] sends a text from a phone to
/// every bind.
struct Smsc {
    address: String,
    seen: Arc<Mutex<Vec<Submit>>>,
    refuse: Arc<AtomicBool>,
    drop_all: Arc<tokio::sync::Notify>,
    mo: tokio::sync::broadcast::Sender<(String, String)>,
    _runtime: tokio::runtime::Runtime,
}

impl Smsc {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let seen: Arc<Mutex<Vec<Submit>>> = Arc::default();
        let refuse = Arc::new(AtomicBool::new(false));
        let drop_all = Arc::new(tokio::sync::Notify::new());
        let (mo, _) = tokio::sync::broadcast::channel::<(String, String)>(16);
        let (log, no, kill, mo_tx) = (seen.clone(), refuse.clone(), drop_all.clone(), mo.clone());
        runtime.spawn(async move {
            let ids = Arc::new(Mutex::new(0u64));
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (log, no, kill, ids) = (log.clone(), no.clone(), kill.clone(), ids.clone());
                let mut replies = mo_tx.subscribe();
                tokio::spawn(async move {
                    let mut framed = tokio_util::codec::Framed::new(stream, rusmpp::tokio_codec::CommandCodec::new());
                    let mut own_seq = 1_000_000u32;
                    let mut deliver = |esm: u8, from: &str, to: &str, body: Vec<u8>| {
                        own_seq += 1;
                        let d = DeliverSm::builder()
                            .source_addr(COctetString::from_str(from).unwrap())
                            .destination_addr(COctetString::from_str(to).unwrap())
                            .esm_class(rusmpp::values::EsmClass::from(esm))
                            .short_message(rusmpp::types::OctetString::from_vec(body).unwrap())
                            .build();
                        Command::new(CommandStatus::EsmeRok, own_seq, d)
                    };
                    loop {
                        let cmd = tokio::select! {
                            c = framed.next() => match c { Some(Ok(c)) => c, _ => return },
                            () = kill.notified() => return,
                            r = replies.recv() => {
                                let Ok((from, text)) = r else { return };
                                let body = domain::sms::gsm7_septets(&text).unwrap();
                                if framed.send(deliver(0, &from, "Beredd", body)).await.is_err() {
                                    return;
                                }
                                continue;
                            }
                        };
                        let seq = cmd.sequence_number();
                        let reply = match cmd.pdu() {
                            Some(Pdu::BindTransceiver(_)) if no.load(Ordering::SeqCst) => Command::new(
                                CommandStatus::EsmeRbindfail,
                                seq,
                                BindTransceiverResp::builder()
                                    .system_id(COctetString::from_str("test").unwrap())
                                    .build(),
                            ),
                            Some(Pdu::BindTransceiver(_)) => Command::new(
                                CommandStatus::EsmeRok,
                                seq,
                                BindTransceiverResp::builder()
                                    .system_id(COctetString::from_str("test").unwrap())
                                    .build(),
                            ),
                            Some(Pdu::SubmitSm(s)) => {
                                log.lock().unwrap().push(Submit {
                                    source: s.source_addr.as_str().to_owned(),
                                    source_ton: u8::from(s.source_addr_ton),
                                    to: s.destination_addr.as_str().to_owned(),
                                    esm_class: u8::from(s.esm_class),
                                    data_coding: u8::from(s.data_coding),
                                    registered_delivery: u8::from(s.registered_delivery),
                                    short_message: s.short_message().to_vec(),
                                });
                                let id = {
                                    let mut n = ids.lock().unwrap();
                                    *n += 1;
                                    format!("m{n}")
                                };
                                let to = s.destination_addr.as_str().to_owned();
                                let resp = Command::new(
                                    CommandStatus::EsmeRok,
                                    seq,
                                    SubmitSmResp::builder().message_id(COctetString::from_str(&id).unwrap()).build(),
                                );
                                if framed.send(resp).await.is_err() {
                                    return;
                                }
                                let receipt = format!(
                                    "id:{id} sub:001 dlvrd:001 submit date:2612060900 done date:2612060900 stat:DELIVRD err:000 text:"
                                );
                                deliver(0x04, &to, "Beredd", receipt.into_bytes())
                            }
                            Some(Pdu::EnquireLink) => Command::new(CommandStatus::EsmeRok, seq, Pdu::EnquireLinkResp),
                            Some(Pdu::Unbind) => {
                                let _ = framed.send(Command::new(CommandStatus::EsmeRok, seq, Pdu::UnbindResp)).await;
                                return;
                            }
                            _ => continue,
                        };
                        if framed.send(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { address, seen, refuse, drop_all, mo, _runtime: runtime }
    }

    /// A text from `from` (digits, as SMSCs give them) to every open bind.
    fn reply(&self, from: &str, text: &str) {
        let _ = self.mo.send((from.to_owned(), text.to_owned()));
    }

    /// Refuses every bind from now on and drops the open ones.
    fn refuse_binds(&self) {
        self.refuse.store(true, Ordering::SeqCst);
        self.drop_all.notify_waiters();
    }

    fn submits(&self) -> Vec<Submit> {
        self.seen.lock().unwrap().clone()
    }
}

fn sms_config(smsc: &str, gateway: &str) -> String {
    format!(
        "[sms]\nmax_segments = 2\n\n[[sms.routes]]\nkind = \"smpp\"\nname = \"operator\"\naddress = \"{smsc}\"\nsystem_id = \"beredd\"\npassword = \"hemligt\"\nsource = \"Beredd\"\nper_second = 50\n\n[[sms.routes]]\nkind = \"http\"\nname = \"gateway\"\nurl = \"{gateway}\"\nbody = \"form\"\nfields = {{ to = \"{{to}}\", text = \"{{text}}\", ref = \"{{id}}\" }}\n"
    )
}

/// The notice job of subscriber `sub` about update `update` of an incident.
fn notice_job(c: &Cluster, i: usize, sub: &str, update: u64) -> Option<Value> {
    let jobs = c.get(i, "/api/v1/dispatch").1;
    jobs["items"]
        .as_array()?
        .iter()
        .find(|j| j["notice"]["subscriber_id"] == sub && j["notice"]["about"]["update"] == update)
        .cloned()
}

/// Reads a GSM 7-bit segment: the concatenation header (reference, total, number) and text.
fn segment(s: &Submit) -> ((u8, u8, u8), String) {
    let m = &s.short_message;
    assert_eq!(&m[..3], &[0x05, 0x00, 0x03], "the concatenation header: {m:?}");
    ((m[3], m[4], m[5]), domain::sms::gsm7_text(&m[6..]).expect("GSM 7-bit septets"))
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

#[test]
fn a_phone_subscriber_gets_incidents_over_smpp_and_the_gateway_takes_over_when_the_smsc_refuses() {
    let smsc = Smsc::start();
    let (gateway, calls): (String, Seen) = receiver();
    let c = Cluster::start_config(3, &sms_config(&smsc.address, &gateway));
    let leader = c.wait_leader();
    let (s, v) =
        c.post(leader, "/api/v1/status/systems", &json!({"id": "erp", "name": "Affärssystemet", "site": "Östra"}));
    assert_eq!(s, 201, "{v}");

    // Phone numbers are checked and kept in E.164 form.
    let bad =
        json!({"id": "s-bad", "name": "Fel", "target": {"kind": "sms", "phone": "070-123 45 67"}, "systems": ["erp"]});
    let (s, v) = c.post(leader, "/api/v1/subscribers", &bad);
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("phone")), "{v}");
    let sub = json!({"id": "s-sms", "name": "Jouren", "target": {"kind": "sms", "phone": "+46 70-123 45 67"}, "systems": ["erp"]});
    let (s, v) = c.post(leader, "/api/v1/subscribers", &sub);
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["target"]["phone"], "+46701234567", "{v}");
    let bad_channel = json!({"channel": {"kind": "sms", "to": ["+46701234567", "12"]}});
    let (s, v) = c.put(leader, "/api/v1/suppliers/nope/channel", &bad_channel);
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("to[1]")), "{v}");

    // A long update in Swedish: two GSM 7-bit segments (the cap), cut before the links.
    let body = "Affärssystemet svarar inte på Östra sjukhuset. Beställningar görs på papper enligt reservrutinen tills vidare; vi återkommer när felet är hittat. ".repeat(3);
    let due = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let incident = json!({"id": "i-1", "title": "Affärssystemet nere", "impact": "major", "systems": ["erp"],
        "body": body, "next_update_due": due});
    let (s, v) = c.post((leader + 1) % 3, "/api/v1/status/incidents", &incident);
    assert_eq!(s, 201, "{v}");
    wait_until("the text is delivered", || {
        notice_job(&c, leader, "s-sms", 1).is_some_and(|j| j["state"] == "delivered")
    });
    let job = notice_job(&c, leader, "s-sms", 1).unwrap();
    let detail = job["attempts"][0]["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("via operator (smpp): +46701234567 smsc id m1,m2"), "{job}");
    let submits = smsc.submits();
    assert_eq!(submits.len(), 2, "{submits:?}");
    let mut text = String::new();
    for (n, s) in submits.iter().enumerate() {
        assert_eq!((s.to.as_str(), s.source.as_str(), s.source_ton), ("46701234567", "Beredd", 5), "{s:?}");
        assert_eq!((s.esm_class & 0x40, s.data_coding, s.registered_delivery & 0x03), (0x40, 0, 1), "{s:?}");
        let ((_, total, number), part) = segment(s);
        assert_eq!((total, usize::from(number)), (2, n + 1));
        assert!(part.chars().count() <= 153, "{part}");
        text += &part;
    }
    assert_eq!(segment(&submits[0]).0.0, segment(&submits[1]).0.0, "one reference for both segments");
    assert!(text.starts_with("[Driftstatus] Affärssystemet nere"), "{text}");
    assert!(text.contains("...") && text.contains("/status/unsubscribe/s-sms/"), "cut before the links: {text}");
    // The SMSC's receipts are recorded on the job, one per segment.
    wait_until("both receipts are recorded", || {
        notice_job(&c, leader, "s-sms", 1).is_some_and(|j| j["receipts"].as_array().is_some_and(|r| r.len() == 2))
    });
    let job = notice_job(&c, leader, "s-sms", 1).unwrap();
    let mut receipts: Vec<(&str, &str)> = job["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["reference"].as_str().unwrap_or_default(), r["state"].as_str().unwrap_or_default()))
        .collect();
    receipts.sort_unstable();
    assert_eq!(receipts, [("operator:m1", "DELIVRD"), ("operator:m2", "DELIVRD")], "{job}");

    // /ops and /metrics say the route works.
    let ops = c.page(leader, "/ops");
    assert!(ops.contains(r#"data-route="operator" data-up="true""#), "{ops}");
    let (_, metrics) = c.get_text(leader, "/metrics");
    assert!(metrics.contains(r#"beredd_sms_route_up{route="operator",kind="smpp"} 1"#), "{metrics}");

    // The SMSC refuses: the gateway is next; it fails once, so the attempt fails with both
    // reasons and the job waits; "retry now" sends it through the gateway.
    smsc.refuse_binds();
    let update = json!({"stage": "identified", "body": "Felet är hittat.", "next_update_due": due});
    let (s, v) = c.post(leader, "/api/v1/status/incidents/i-1/updates", &update);
    assert_eq!(s, 200, "{v}");
    wait_until("the failed attempt is recorded", || {
        notice_job(&c, leader, "s-sms", 2).is_some_and(|j| j["attempts"].as_array().is_some_and(|a| !a.is_empty()))
    });
    let job = notice_job(&c, leader, "s-sms", 2).unwrap();
    let detail = job["attempts"][0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("operator (smpp): +46701234567: bind refused")
            && detail.contains("gateway (http): +46701234567: HTTP 503"),
        "{job}"
    );
    let id = job["id"].as_str().unwrap();
    let (s, v) = c.post(leader, &format!("/api/v1/dispatch/{id}/retry"), &json!({}));
    assert_eq!(s, 200, "{v}");
    wait_until("the text goes through the gateway", || {
        notice_job(&c, leader, "s-sms", 2).is_some_and(|j| j["state"] == "delivered")
    });
    let job = notice_job(&c, leader, "s-sms", 2).unwrap();
    let last = job["attempts"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["detail"].as_str().unwrap_or_default().starts_with("via gateway (http): +46701234567 HTTP 200"),
        "{job}"
    );
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let fields = form(&calls[1].1);
    let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(field("to"), "+46701234567");
    assert_eq!(field("ref"), format!("{id}@beredd"));
    assert!(field("text").contains("Felet är hittat."), "{fields:?}");
    assert_eq!(smsc.submits().len(), 2, "nothing more went to the refusing SMSC");
    let ops = c.page(leader, "/ops");
    assert!(ops.contains(r#"data-route="operator" data-up="false""#), "{ops}");
}

#[test]
fn a_reply_of_stop_from_the_phone_ends_the_subscription() {
    let smsc = Smsc::start();
    let (gateway, _calls) = receiver();
    let c = Cluster::start_config(3, &sms_config(&smsc.address, &gateway));
    let leader = c.wait_leader();
    let (s, v) =
        c.post(leader, "/api/v1/status/systems", &json!({"id": "erp", "name": "Affärssystemet", "site": "Östra"}));
    assert_eq!(s, 201, "{v}");
    for (id, phone) in [("s-stop", "+46701234567"), ("s-stay", "+46709876543")] {
        let sub = json!({"id": id, "name": id, "target": {"kind": "sms", "phone": phone}, "systems": ["erp"]});
        assert_eq!(c.post(leader, "/api/v1/subscribers", &sub).0, 201);
    }
    // Every node binds (its reachability probe); wait until they all have.
    for i in 0..3 {
        wait_until("every node is bound", || c.page(i, "/ops").contains(r#"data-route="operator" data-up="true""#));
    }
    smsc.reply("46709999999", "STOP");
    smsc.reply("46701234567", "Stopp tack");
    wait_until("the subscription ends", || c.get(leader, "/api/v1/subscribers/s-stop").0 == 404);
    assert_eq!(c.get(leader, "/api/v1/subscribers/s-stay").0, 200, "another phone's subscription stays");
    let audit = c.wait_audit(leader, &["remove_subscriber", "s-stop"]);
    assert!(!audit.lines().any(|l| l.contains("remove_subscriber") && l.contains("s-stay")), "{audit}");
}

/// The whole texts the SMSC took, per phone (digits as SMPP gives them), in order: each
/// message's segments joined (GSM 7-bit or UCS-2), with how many segments it came in.
fn messages(submits: &[Submit]) -> Vec<(String, String, usize)> {
    let mut out: Vec<(String, String, usize)> = Vec::new();
    let mut open: std::collections::HashMap<(String, u8), Vec<Option<String>>> = Default::default();
    for s in submits {
        let m = &s.short_message;
        let (head, body) = if s.esm_class & 0x40 != 0 { (Some((m[3], m[4], m[5])), &m[6..]) } else { (None, &m[..]) };
        let text = if s.data_coding == 8 {
            let units: Vec<u16> = body.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).unwrap()
        } else {
            domain::sms::gsm7_text(body).unwrap()
        };
        match head {
            None => out.push((s.to.clone(), text, 1)),
            Some((r, total, n)) => {
                let parts = open.entry((s.to.clone(), r)).or_insert_with(|| vec![None; usize::from(total)]);
                parts[usize::from(n) - 1] = Some(text);
                if parts.iter().all(Option::is_some) {
                    let parts = open.remove(&(s.to.clone(), r)).unwrap();
                    out.push((s.to.clone(), parts.into_iter().flatten().collect(), usize::from(total)));
                }
            }
        }
    }
    out
}

#[test]
fn a_five_stage_maintenance_texts_each_stage_once_to_each_phone_in_its_language_across_a_leader_kill() {
    let smsc = Smsc::start();
    let (gateway, _calls) = receiver();
    let config = sms_config(&smsc.address, &gateway).replace("max_segments = 2", "max_segments = 3");
    let mut c = Cluster::start_config(3, &config);
    let leader = c.wait_leader();
    let system = json!({"id": "erp", "name": "Affärssystemet", "site": "Östra"});
    assert_eq!(c.post(leader, "/api/v1/status/systems", &system).0, 201);
    let phones = [("s-sv", "+46701234567", "sv"), ("s-nb", "+4791234567", "nb"), ("s-en", "+447700900123", "en")];
    for (id, phone, lang) in phones {
        let sub =
            json!({"id": id, "name": id, "lang": lang, "target": {"kind": "sms", "phone": phone}, "systems": ["erp"]});
        assert_eq!(c.post(leader, "/api/v1/subscribers", &sub).0, 201);
    }
    let rfc = |h: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::hours(h))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let stages = [
        "Beställningar stängs",
        "Säkerhetskopiering",
        "Databasen uppgraderas",
        "Integrationer provas",
        "Kontroll och öppning",
    ];
    let plan = json!({"id": "m-erp", "title": "Uppgradering ÅÄÖ ÆØ", "systems": ["erp"], "starts_at": rfc(1),
        "ends_at": rfc(4), "stages": stages, "note": "Beställ på papper under arbetet."});
    assert_eq!(c.post(leader, "/api/v1/status/maintenance", &plan).0, 201);
    // The announcement (update 1) and then each stage k (update k + 1), each to every phone.
    let delivered = |c: &Cluster, i: usize, update: u64| {
        phones.iter().all(|(sub, _, _)| notice_job(c, i, sub, update).is_some_and(|j| j["state"] == "delivered"))
    };
    wait_until("the announcement is out", || delivered(&c, leader, 1));
    let advance = |c: &Cluster, i: usize, note: &str| {
        let (_, board) = c.get(i, "/api/v1/status");
        let m = board["maintenance"].as_array().unwrap().iter().find(|m| m["id"] == "m-erp").unwrap().clone();
        let body = json!({"version": m["version"], "note": note});
        let (s, v) = c.post(i, "/api/v1/status/maintenance/m-erp/advance", &body);
        assert_eq!(s, 200, "{v}");
    };
    // A 200-character Swedish note: with the headline and links, the text needs three segments.
    let long = "Leverantörsportalen är stängd under arbetet; brådskande beställningar görs på papper och lämnas till förrådet, som ringer in dem till leverantören. Vi hör av oss när allt fungerar igen, senast kl. 06.";
    assert_eq!(long.chars().count(), 200);
    advance(&c, leader, long);
    wait_until("stage 1 is out", || delivered(&c, leader, 2));
    advance(&c, (leader + 1) % 3, "");
    wait_until("stage 2 is out", || delivered(&c, leader, 3));

    // The leader dies between stage 2 and 3; the others carry on.
    c.kill(leader);
    let leader = c.wait_leader();
    for k in 3..=5u64 {
        advance(&c, leader, "");
        wait_until("the stage is out", || delivered(&c, leader, k + 1));
    }
    let got = messages(&smsc.submits());
    for (_, phone, lang) in phones {
        let digits = phone.trim_start_matches('+');
        let mine: Vec<&(String, String, usize)> = got.iter().filter(|(to, _, _)| to == digits).collect();
        assert_eq!(mine.len(), 6, "the announcement and five stages, once each, to {phone}: {mine:#?}");
        for k in 1..=5 {
            let part = if lang == "en" { format!("part {k} of 5: ") } else { format!("del {k} av 5: ") };
            let with: Vec<_> = mine.iter().filter(|(_, t, _)| t.contains(&part)).collect();
            assert_eq!(with.len(), 1, "{part} once to {phone}: {mine:#?}");
            assert!(with[0].1.contains(stages[k - 1]) && with[0].1.contains("Uppgradering ÅÄÖ ÆØ"), "{with:?}");
        }
        for (_, text, segments) in &mine {
            assert_eq!(*segments, domain::sms::fit(text).segments, "{text}");
            assert!(text.contains("/status/unsubscribe/"), "{text}");
        }
        // The long note's stage: three GSM 7-bit segments, cut before the links, letters intact.
        let first =
            mine.iter().find(|(_, t, _)| t.contains(if lang == "en" { "part 1 of 5" } else { "del 1 av 5" })).unwrap();
        assert_eq!(first.2, 3, "{first:?}");
        assert!(first.1.contains("Leverantörsportalen är stängd"), "{first:?}");
    }
}

#[test]
fn planned_stages_start_on_time_by_themselves_and_their_texts_go_out() {
    let smsc = Smsc::start();
    let (gateway, _calls) = receiver();
    let c = Cluster::start_config(3, &sms_config(&smsc.address, &gateway));
    let leader = c.wait_leader();
    assert_eq!(c.post(leader, "/api/v1/status/systems", &json!({"id": "erp", "name": "Affärssystemet"})).0, 201);
    let sub =
        json!({"id": "s-1", "name": "Jouren", "target": {"kind": "sms", "phone": "+46701234567"}, "systems": ["erp"]});
    assert_eq!(c.post(leader, "/api/v1/subscribers", &sub).0, 201);
    let now = time::OffsetDateTime::now_utc();
    let rfc =
        |s: i64| (now + time::Duration::seconds(s)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let plan = json!({"id": "m-plan", "title": "Nattens byte", "systems": ["erp"], "starts_at": rfc(2), "ends_at": rfc(3600),
        "stages": ["Stäng", "Byt"], "stage_starts": [rfc(3), rfc(6)]});
    let (s, v) = c.post(leader, "/api/v1/status/maintenance", &plan);
    assert_eq!(s, 201, "{v}");
    let texts = || messages(&smsc.submits()).into_iter().map(|(_, t, _)| t).collect::<Vec<_>>();
    wait_until("both stages started by the clock", || texts().iter().filter(|t| t.contains(" av 2: ")).count() == 2);
    let texts = texts();
    assert!(
        texts.iter().any(|t| t.contains("del 1 av 2: Stäng")) && texts.iter().any(|t| t.contains("del 2 av 2: Byt")),
        "{texts:?}"
    );
    let (_, board) = c.get(leader, "/api/v1/status");
    let m = board["maintenance"].as_array().unwrap().iter().find(|m| m["id"] == "m-plan").unwrap().clone();
    assert_eq!((m["current"].as_u64(), m["phase"].as_str()), (Some(2), Some("in_progress")), "{m}");
    let audit = c.wait_audit(leader, &["advance_maintenance", "m-plan"]);
    assert!(
        !audit.lines().any(|l| l.contains("advance_maintenance") && l.contains("admin")),
        "the cluster's own: {audit}"
    );
}

/// Anna on call with a mobile, Björn next with one; a page waits `wait` seconds per step.
fn paging_rota(c: &Cluster, i: usize, wait: u64) -> Value {
    for (id, name, mobile) in
        [("anna", "Anna Andersson", "+46 70 111 11 11"), ("bjorn", "Björn Berg", "+46 70 222 22 22")]
    {
        let body = json!({"id": id, "kind": "person", "name": name, "routes": [{"kind": "mobile", "value": mobile}]});
        let (s, v) = c.post(i, "/api/v1/contacts", &body);
        assert_eq!(s, 201, "{v}");
    }
    let now = time::OffsetDateTime::now_utc();
    let rfc = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let shifts = [
        json!({"contact_id": "anna", "from": rfc(now - time::Duration::hours(1)), "to": rfc(now + time::Duration::hours(7))}),
        json!({"contact_id": "bjorn", "from": rfc(now + time::Duration::hours(7)), "to": rfc(now + time::Duration::hours(15))}),
    ];
    let rota = json!({"id": "inkop", "name": "Inköp jour", "shifts": shifts, "page_wait_seconds": wait});
    let (s, v) = c.post(i, "/api/v1/rotas", &rota);
    assert_eq!(s, 201, "{v}");
    v
}

#[test]
fn a_page_goes_on_to_the_next_person_when_the_first_is_silent_and_stops_at_their_reply_across_a_leader_kill() {
    let smsc = Smsc::start();
    let (gateway, _calls) = receiver();
    let mut c = Cluster::start_config(3, &sms_config(&smsc.address, &gateway));
    let leader = c.wait_leader();
    let rota = paging_rota(&c, leader, 10);
    let page = json!({"id": "pg-1", "rota_id": "inkop", "message": "Slut på CVK-set på IVA, ring 010-100 20 00"});
    let (s, v) = c.post((leader + 1) % 3, "/api/v1/pages", &page);
    assert_eq!(s, 201, "{v}");
    let to = |digits: &str| messages(&smsc.submits()).into_iter().filter(|(t, _, _)| t == digits).collect::<Vec<_>>();
    wait_until("Anna's phone gets the page", || !to("46701111111").is_empty());
    let text = &to("46701111111")[0].1;
    assert!(text.starts_with("[Larm] Inköp jour: Slut på CVK-set på IVA"), "{text}");
    assert!(text.contains("Svara OK") && text.contains("/p/pg-1/0/"), "{text}");

    // The leader dies while Anna's step waits; the next leader moves the page on.
    c.kill(leader);
    let leader = c.wait_leader();
    wait_until("Björn's phone gets the page", || !to("46702222222").is_empty());
    let text = &to("46702222222")[0].1;
    assert!(text.contains("Anna Andersson har inte svarat") && text.contains("/p/pg-1/1/"), "{text}");
    // Björn answers by text (through whichever bind the SMSC picks).
    for i in c.running() {
        wait_until("every node is bound", || c.page(i, "/ops").contains(r#"data-route="operator" data-up="true""#));
    }
    smsc.reply("46702222222", "OK, jag tar det");
    for i in c.running() {
        wait_until("the page is acknowledged on every node", || {
            c.get(i, "/api/v1/pages/pg-1").1["state"] == "acknowledged"
        });
    }
    let (_, p) = c.get(leader, "/api/v1/pages/pg-1");
    let events: Vec<(&str, u64)> = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["step"].as_u64().unwrap_or(99)))
        .collect();
    assert_eq!(events, [("paged", 0), ("no_answer", 0), ("paged", 1), ("acknowledged", 1)], "{p}");
    assert_eq!(p["timeline"][3]["via"], "sms", "{p}");
    // Nothing more goes out after the answer, and each phone got its step once.
    std::thread::sleep(std::time::Duration::from_secs(12));
    assert_eq!((to("46701111111").len(), to("46702222222").len()), (1, 1), "{:?}", smsc.submits());
    assert_eq!(messages(&smsc.submits()).len(), 2);
    // The page's own page on any node shows the timeline.
    let html = c.page(c.running()[0], "/pages/pg-1");
    assert!(
        html.contains("Kvitterat av Björn Berg (SMS)") && html.contains("Inget svar från Anna Andersson"),
        "{html}"
    );

    // A rota set to be paged for critical incidents is paged by itself, once per incident.
    let mut edit = rota.clone();
    edit.as_object_mut().unwrap().remove("id");
    edit["page_on_critical"] = json!(true);
    let (s, v) = c.put(leader, "/api/v1/rotas/inkop", &edit);
    assert_eq!(s, 200, "{v}");
    let due = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let incident = json!({"id": "i-krit", "title": "Syrgascentralen larmar", "impact": "critical", "systems": [],
        "body": "Tryckfall i huvudledningen.", "next_update_due": due});
    assert_eq!(c.post(leader, "/api/v1/status/incidents", &incident).0, 201);
    wait_until("Anna is paged for the critical incident", || to("46701111111").len() == 2);
    assert!(to("46701111111")[1].1.starts_with("[Larm] Inköp jour: Syrgascentralen larmar"), "{:?}", to("46701111111"));
    let (_, pages) = c.get(leader, "/api/v1/pages");
    let auto: Vec<&Value> =
        pages["items"].as_array().unwrap().iter().filter(|p| p["incident_id"] == "i-krit").collect();
    assert_eq!(auto.len(), 1, "{pages}");
    assert_eq!(auto[0]["raised_by"], Value::Null, "the cluster's own page: {pages}");
}

/// `scripts/test-sms/modem_sim.py`: a GSM modem on a pseudo-terminal that records each PDU.
struct ModemSim {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl ModemSim {
    fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/test-sms/modem_sim.py");
        let child = std::process::Command::new("python3")
            .arg(script)
            .arg("--link")
            .arg(dir.path().join("ttyGSM0"))
            .arg("--record")
            .arg(dir.path().join("pdus.txt"))
            .arg("--inbox")
            .arg(dir.path().join("inbox.txt"))
            .args(args)
            .spawn()
            .expect("python3");
        let sim = Self { child, dir };
        wait_until("the modem's device exists", || sim.device().exists() && sim.dir.path().join("pdus.txt").exists());
        sim
    }

    fn device(&self) -> std::path::PathBuf {
        self.dir.path().join("ttyGSM0")
    }

    /// A text from `from` (international digits) arrives on the SIM.
    fn receive(&self, from: &str, text: &str) {
        use std::io::Write;
        let mut f =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.path().join("inbox.txt")).unwrap();
        writeln!(f, "{from}|{text}").unwrap();
    }

    fn pdus(&self) -> Vec<Vec<u8>> {
        let text = std::fs::read_to_string(self.dir.path().join("pdus.txt")).unwrap_or_default();
        text.lines().map(|l| hex::decode(l).unwrap()).collect()
    }
}

impl Drop for ModemSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An SMS-SUBMIT PDU read back: the number, the concatenation header (reference, total,
/// number) when there is one, and the text.
fn read_submit(pdu: &[u8]) -> (String, Option<(u8, u8, u8)>, String) {
    assert_eq!(pdu[0], 0, "no service centre address: the SIM's is used");
    assert_eq!(pdu[1] & 0x03, 0x01, "SMS-SUBMIT");
    assert_eq!(pdu[1] & 0x20, 0x20, "a status report is asked for");
    let digits = usize::from(pdu[3]);
    assert_eq!(pdu[4], 0x91, "an international number");
    let n = digits.div_ceil(2);
    let number: String =
        pdu[5..5 + n].iter().flat_map(|b| [b & 0x0F, b >> 4]).take(digits).map(|d| char::from(b'0' + d)).collect();
    let mut i = 5 + n;
    let dcs = pdu[i + 1];
    i += 3; // PID, DCS, VP
    let udl = usize::from(pdu[i]);
    let ud = &pdu[i + 1..];
    let (concat, header) = if pdu[1] & 0x40 != 0 {
        let hl = usize::from(ud[0]);
        (Some((ud[3], ud[4], ud[5])), hl + 1)
    } else {
        (None, 0)
    };
    let text = if dcs == 0 {
        let header_septets = (header * 8).div_ceil(7);
        let fill = u8::try_from(header_septets * 7 - header * 8).unwrap();
        domain::sms::gsm7_text(&domain::sms::unpack_septets(&ud[header..], udl - header_septets, fill)).unwrap()
    } else {
        assert_eq!(dcs, 0x08, "UCS-2");
        let units: Vec<u16> = ud[header..udl].chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        String::from_utf16(&units).unwrap()
    };
    (format!("+{number}"), concat, text)
}

#[test]
fn a_node_with_a_gsm_modem_texts_a_supplier_its_order_when_the_smsc_is_down_and_after_a_network_error() {
    let modem = ModemSim::start(&["--pin", "1234", "--fail", "1"]);
    // The operator's SMSC is down (nothing listens on its port): the modem takes over.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smsc = dead.local_addr().unwrap().to_string();
    drop(dead);
    let config = format!(
        "[sms]\nmax_segments = 4\n\n[[sms.routes]]\nkind = \"smpp\"\nname = \"operator\"\naddress = \"{smsc}\"\nsystem_id = \"beredd\"\npassword = \"hemligt\"\nsource = \"Beredd\"\n\n[[sms.routes]]\nkind = \"modem\"\nname = \"sim\"\ndevice = \"{}\"\npin = \"1234\"\n",
        modem.device().display()
    );
    let c = Cluster::start_config(1, &config);
    let leader = c.wait_leader();
    // /ops: the modem answers, its SIM takes the PIN, it is on a network.
    wait_until("the modem is probed", || c.page(leader, "/ops").contains(r#"data-route="sim" data-up="true""#));
    assert!(c.page(leader, "/ops").contains("registered, signal 21,99"));

    crate::dispatch::approved_order(&c, leader);
    let chan = json!({"channel": {"kind": "sms", "to": ["+46 8 123 456 78"]}});
    let (s, v) = c.put(leader, "/api/v1/suppliers/sup-1/channel", &chan);
    assert_eq!((s, v["channel"]["to"][0].as_str()), (200, Some("+46812345678")), "{v}");
    let (s, v) =
        c.post(leader, "/api/v1/dispatch", &json!({"id": "sms-1", "supplier_id": "sup-1", "order_ids": ["o-disp"]}));
    assert_eq!(s, 201, "{v}");

    // The network refuses the first send (+CMS ERROR: 38); the retry goes out.
    wait_until("the failed attempt is recorded", || {
        c.get(leader, "/api/v1/dispatch/sms-1").1["attempts"].as_array().is_some_and(|a| !a.is_empty())
    });
    let (_, j) = c.get(leader, "/api/v1/dispatch/sms-1");
    let first = j["attempts"][0]["detail"].as_str().unwrap_or_default();
    assert!(first.contains("operator (smpp)") && first.contains("+CMS ERROR: 38"), "both routes tried: {j}");
    assert!(c.page(leader, "/ops").contains(r#"data-route="operator" data-up="false""#));
    let (s, v) = c.post(leader, "/api/v1/dispatch/sms-1/retry", &json!({}));
    assert_eq!(s, 200, "{v}");
    wait_until("the order is texted", || c.get(leader, "/api/v1/dispatch/sms-1").1["state"] == "delivered");
    let (_, j) = c.get(leader, "/api/v1/dispatch/sms-1");
    let last = j["attempts"].as_array().unwrap().last().unwrap().clone();
    assert!(
        last["detail"].as_str().unwrap_or_default().starts_with("via sim (modem): +46812345678 modem reference"),
        "{j}"
    );
    assert_eq!(c.get(leader, "/api/v1/orders/o-disp").1["status"], "sent");

    // What the modem got, read back: to the supplier, the order's number and lines, the job's
    // message id at the end.
    let mut text = String::new();
    let pdus = modem.pdus();
    assert!(!pdus.is_empty());
    for (n, pdu) in pdus.iter().enumerate() {
        let (to, concat, part) = read_submit(pdu);
        assert_eq!(to, "+46812345678");
        if pdus.len() > 1 {
            let (_, total, number) = concat.expect("a concatenation header");
            assert_eq!((usize::from(total), usize::from(number)), (pdus.len(), n + 1));
        }
        text += &part;
    }
    let number = c.get(leader, "/api/v1/orders/o-disp").1["number"].as_str().unwrap_or_default().to_owned();
    assert!(text.starts_with("Beställning från") && text.contains(&number) && text.contains("ML-0"), "{text}");
    assert!(text.ends_with("Ref sms-1@beredd"), "{text}");

    // A subscriber texts STOP to the SIM: the next probe reads it, and the subscription ends.
    let (s, v) =
        c.post(leader, "/api/v1/status/systems", &json!({"id": "erp", "name": "Affärssystemet", "site": "Östra"}));
    assert_eq!(s, 201, "{v}");
    let sub = json!({"id": "s-sim", "name": "Jouren", "target": {"kind": "sms", "phone": "+46701234567"}, "systems": ["erp"]});
    assert_eq!(c.post(leader, "/api/v1/subscribers", &sub).0, 201);
    modem.receive("46701234567", "STOP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(75);
    while c.get(leader, "/api/v1/subscribers/s-sim").0 != 404 {
        assert!(std::time::Instant::now() < deadline, "STOP by the modem was not heard");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}
