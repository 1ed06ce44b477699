//! E-mail dispatch with a real mail server on loopback (`scripts/mailbox.py`, aiosmtpd): the
//! first attempt finds the server down and is recorded; the leader dies; the new leader sends
//! the order once, with the job's Message-ID, to every address, and each attachment parses
//! (pdftotext, the PEPPOL validator, a CSV reader, an XLSX reader).

use crate::dispatch::{approved_order, wait_until};
use crate::harness::{Cluster, free_port, venv_python};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `scripts/mailbox.py` on a port: keeps every message it takes in a folder.
pub(crate) struct Mailbox {
    child: Child,
    dir: tempfile::TempDir,
}

impl Mailbox {
    pub(crate) fn start(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mailbox.py");
        let child = Command::new(venv_python())
            .arg(script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("python with aiosmtpd (scripts/ensure-venv.sh)");
        wait_until("the mailbox listens", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        Self { child, dir }
    }

    /// Every message so far: its summary (`N.json`) and the folder with its attachments.
    fn messages(&self) -> Vec<(Value, PathBuf)> {
        let mut out: Vec<(Value, PathBuf)> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let hidden = p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
                p.extension().is_some_and(|x| x == "json") && !hidden
            })
            .map(|p| {
                let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                (v, p.with_extension(""))
            })
            .collect();
        out.sort_by_key(|(v, _)| v["n"].as_u64());
        out
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_order_mailed_to_a_supplier_arrives_once_with_attachments_that_parse_after_the_leader_dies() {
    let port = free_port().to_string();
    let smtp = [
        ("BEREDD_SMTP_HOST", "127.0.0.1"),
        ("BEREDD_SMTP_PORT", port.as_str()),
        ("BEREDD_SMTP_SECURITY", "none"),
        ("BEREDD_SMTP_FROM", "Beredd Region Sjölanda <beredd@sjolanda.example>"),
    ];
    let mut c = Cluster::start(3, &smtp);
    let leader = c.wait_leader();
    approved_order(&c, leader);
    let chan = json!({"channel": {"kind": "email", "to": ["order@medilux.example", "jour@medilux.example"],
        "attach": ["pdf", "csv", "xlsx", "ubl"]}});
    let (s, v) = c.put(leader, "/api/v1/suppliers/sup-1/channel", &chan);
    assert_eq!(s, 200, "{v}");
    let job = json!({"id": "mail-1", "supplier_id": "sup-1", "order_ids": ["o-disp"]});
    let (s, v) = c.post((leader + 1) % 3, "/api/v1/dispatch", &job);
    assert_eq!(s, 201, "{v}");

    // The mail server is down: the attempt is recorded with the reason, and the order waits.
    wait_until("the first attempt is recorded", || {
        c.get(leader, "/api/v1/dispatch/mail-1").1["attempts"].as_array().is_some_and(|a| !a.is_empty())
    });
    let (_, j) = c.get(leader, "/api/v1/dispatch/mail-1");
    assert_eq!((j["state"].as_str(), j["attempts"][0]["ok"].as_bool()), (Some("pending"), Some(false)), "{j}");
    assert!(j["attempts"][0]["detail"].as_str().unwrap_or_default().starts_with("SMTP"), "{j}");
    assert_eq!(c.get(leader, "/api/v1/orders/o-disp").1["status"], "approved");

    // The leader dies, the mail server comes up, someone presses "retry now" on another node.
    c.kill(leader);
    let mailbox = Mailbox::start(port.parse().unwrap());
    let new = c.wait_leader();
    let (s, v) = c.post(new, "/api/v1/dispatch/mail-1/retry", &json!({}));
    assert_eq!(s, 200, "{v}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.get(new, "/api/v1/dispatch/mail-1").1["state"] != "delivered" {
        assert!(Instant::now() < deadline, "never delivered: {}", c.get(new, "/api/v1/dispatch/mail-1").1);
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, j) = c.get(new, "/api/v1/dispatch/mail-1");
    let last = &j["attempts"][j["attempts"].as_array().map_or(0, Vec::len) - 1];
    assert!(last["detail"].as_str().unwrap_or_default().starts_with("SMTP 250"), "{j}");
    assert_eq!(last["node"], c.nodes[new].id, "{j}");
    assert_eq!(c.get(new, "/api/v1/orders/o-disp").1["status"], "sent");

    // Once, to both addresses, recognisable by the job's Message-ID.
    let mail = mailbox.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    let (m, parts) = &mail[0];
    assert_eq!(m["message_id"], "<mail-1@beredd>");
    assert_eq!(m["job"], "mail-1");
    assert_eq!(m["to"], json!(["order@medilux.example", "jour@medilux.example"]));
    let (_, order) = c.get(new, "/api/v1/orders/o-disp");
    let number = order["number"].as_str().unwrap_or_default();
    let subject = m["subject"].as_str().unwrap_or_default();
    assert!(subject.contains(number) && subject.contains("Region Sjölanda"), "{m}");
    let text = m["text"].as_str().unwrap_or_default();
    assert!(text.contains("ML-0") && text.contains("<mail-1@beredd>"), "{text}");

    // Every attachment parses.
    let names: Vec<&str> = m["attachments"].as_array().unwrap().iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["order-mail-1.pdf", "order-mail-1.csv", "order-mail-1.xlsx", "order-mail-1.xml"]);
    let pdf = crate::harness::pdf_text(&std::fs::read(parts.join(names[0])).unwrap(), false);
    assert!(pdf.contains(number) && pdf.contains("ML-0"), "{pdf}");
    let csv = std::fs::read(parts.join(names[1])).unwrap();
    assert!(csv.starts_with(b"\xef\xbb\xbf"), "the CSV starts with a BOM, for Excel");
    let rows: Vec<csv::StringRecord> =
        csv::ReaderBuilder::new().delimiter(b';').from_reader(&csv[3..]).records().map(Result::unwrap).collect();
    assert!(rows.iter().any(|r| r.iter().any(|f| f == "ML-0")), "{rows:?}");
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto(parts.join(names[2])).expect("xlsx");
    let lines = book.worksheet_range("Rader").expect("the sheet of lines");
    assert!(lines.rows().any(|r| r.iter().any(|c| *c == "ML-0")), "no ML-0 in the workbook");
    crate::pages::peppol_validate(&[parts.join(names[3])]);
}

/// Mail to `to` so far, oldest first.
/// The node settings for sending through a mailbox on `port`, from `from`.
pub(crate) fn smtp_env(port: &str, from: &'static str) -> [(&'static str, String); 4] {
    [
        ("BEREDD_SMTP_HOST", "127.0.0.1".into()),
        ("BEREDD_SMTP_PORT", port.to_owned()),
        ("BEREDD_SMTP_SECURITY", "none".into()),
        ("BEREDD_SMTP_FROM", from.into()),
    ]
}

pub(crate) fn mail_to(mailbox: &Mailbox, to: &str) -> Vec<Value> {
    mailbox.messages().into_iter().map(|(m, _)| m).filter(|m| m["to"] == json!([to])).collect()
}

pub(crate) fn wait_mail(mailbox: &Mailbox, to: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mail = mail_to(mailbox, to);
        if mail.len() >= n {
            return mail;
        }
        assert!(Instant::now() < deadline, "{n} mail(s) to {to} never came: {:?}", mailbox.messages());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn subscribers_get_incident_updates_by_mail_and_leave_with_one_click_and_the_lead_is_reminded() {
    let port = free_port();
    let mailbox = Mailbox::start(port);
    let port = port.to_string();
    let smtp = [
        ("BEREDD_SMTP_HOST", "127.0.0.1"),
        ("BEREDD_SMTP_PORT", port.as_str()),
        ("BEREDD_SMTP_SECURITY", "none"),
        ("BEREDD_SMTP_FROM", "Driftstatus <status@sjolanda.example>"),
    ];
    let c = Cluster::start(3, &smtp);
    let leader = c.wait_leader();
    for (id, name, site) in [("erp", "Affärssystemet", "Östra sjukhuset"), ("pacs", "Röntgenbilder", "Norra sjukhuset")]
    {
        let (s, v) = c.post(leader, "/api/v1/status/systems", &json!({"id": id, "name": name, "site": site}));
        assert_eq!(s, 201, "{v}");
    }
    // One follows the site, one a system elsewhere, one the system itself.
    let subscribers = [
        json!({"id": "s-site", "name": "Vårdcentralen Ekbacka", "target": {"kind": "email", "address": "vc@ekbacka.example"},
            "sites": ["Östra sjukhuset"], "lang": "sv"}),
        json!({"id": "s-other", "name": "Norra röntgen", "target": {"kind": "email", "address": "rtg@norra.example"},
            "systems": ["pacs"]}),
        json!({"id": "s-sys", "name": "IT-jouren", "target": {"kind": "email", "address": "it@region.example"},
            "systems": ["erp"], "lang": "en"}),
    ];
    for s in &subscribers {
        let (status, v) = c.post(leader, "/api/v1/subscribers", s);
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["token"], "", "the unsubscribe token is never shown: {v}");
    }
    let (s, v) = c.post(
        leader,
        "/api/v1/subscribers",
        &json!({"name": "X", "target": {"kind": "email", "address": "x"}, "sites": ["A"]}),
    );
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("subscriber.invalid")), "{v}");

    // An incident on the ERP system, whose next update is promised in three seconds.
    let due = time::OffsetDateTime::now_utc() + time::Duration::seconds(3);
    let due = due.format(&time::format_description::well_known::Rfc3339).unwrap();
    let incident = json!({"id": "i-1", "title": "Affärssystemet svarar inte", "impact": "major", "systems": ["erp"],
        "body": "Vi felsöker. Beställ på papper tills vidare.", "lead": "jour@region.example", "next_update_due": due});
    let (s, v) = c.post(leader, "/api/v1/status/incidents", &incident);
    assert_eq!(s, 201, "{v}");

    let m = &wait_mail(&mailbox, "vc@ekbacka.example", 1)[0];
    let subject = m["subject"].as_str().unwrap_or_default();
    assert!(subject.contains("Affärssystemet svarar inte") && subject.contains("Felsökning pågår"), "{m}");
    let text = m["text"].as_str().unwrap_or_default();
    assert!(text.contains("Beställ på papper") && text.contains("Affärssystemet (Östra sjukhuset)"), "{text}");
    let english = &wait_mail(&mailbox, "it@region.example", 1)[0];
    assert!(english["subject"].as_str().unwrap_or_default().contains("Investigating"), "{english}");

    // The lead is reminded once the promised time has passed, once.
    let reminder = &wait_mail(&mailbox, "jour@region.example", 1)[0];
    assert!(reminder["subject"].as_str().unwrap_or_default().contains("försenad"), "{reminder}");
    assert!(reminder["list_unsubscribe"].is_null(), "a reminder is not a subscription: {reminder}");

    // The one-click link, as a mail program uses it (RFC 8058): a POST without a login.
    let link = m["list_unsubscribe"].as_str().unwrap_or_default().trim_matches(|ch| ch == '<' || ch == '>').to_owned();
    assert!(link.contains("/status/unsubscribe/s-site/") && text.contains(&link), "{m}");
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut r = agent.get(&link).call().unwrap();
    let page = r.body_mut().read_to_string().unwrap();
    assert!(page.contains("Vårdcentralen Ekbacka") && page.contains("<form method=\"post\""), "{page}");
    let mut r = agent
        .post(&link)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send("List-Unsubscribe=One-Click")
        .unwrap();
    let page = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status().as_u16(), 200, "{page}");
    assert!(page.contains("inga fler utskick"), "{page}");
    let wrong = format!("http://{}/status/unsubscribe/s-sys/{}", c.nodes[leader].http, "0".repeat(64));
    let r = agent.post(&wrong).header("Content-Type", "application/x-www-form-urlencoded").send("").unwrap();
    assert_eq!(r.status().as_u16(), 200, "a wrong token tells nothing");
    let (_, list) = c.get(leader, "/api/v1/subscribers");
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, ["s-sys", "s-other"], "the wrong token removed nobody");

    // The next update reaches the one still subscribed, and not the one who left.
    let update = json!({"stage": "identified", "body": "Felet är hittat.", "next_update_due": (time::OffsetDateTime::now_utc()
        + time::Duration::hours(1)).format(&time::format_description::well_known::Rfc3339).unwrap()});
    let (s, v) = c.post(leader, "/api/v1/status/incidents/i-1/updates", &update);
    assert_eq!(s, 200, "{v}");
    wait_mail(&mailbox, "it@region.example", 2);
    assert_eq!(mail_to(&mailbox, "vc@ekbacka.example").len(), 1, "no mail after unsubscribing");
    assert!(mail_to(&mailbox, "rtg@norra.example").is_empty(), "nothing about systems one does not follow");
    assert_eq!(mail_to(&mailbox, "jour@region.example").len(), 1, "one reminder per promised time");
}
