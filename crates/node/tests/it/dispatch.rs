//! Dispatch through a webhook, with a real HTTP receiver on loopback: the first call fails, the
//! job waits with its attempt recorded, "retry" sends it again under the same idempotency key,
//! the order becomes sent, and the signature checks out.

use crate::harness::Cluster;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request as the receiver saw it: headers (lower-case names) and body.
pub(crate) type Seen = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

/// Answers 503 to the first request and 200 to the rest, recording each.
pub(crate) fn receiver() -> (String, Seen) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/orders", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut r = BufReader::new(stream);
            let mut headers = Vec::new();
            let mut line = String::new();
            // A connection that says nothing (a route's reachability probe) is no request.
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.trim().split_once(':') {
                    headers.push((k.trim().to_lowercase(), v.trim().to_owned()));
                }
            }
            let len =
                headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let first = log.lock().unwrap().is_empty();
            log.lock().unwrap().push((headers, body));
            let status = if first { "503 Service Unavailable" } else { "200 OK" };
            let _ = r
                .get_mut()
                .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes());
        }
    });
    (url, seen)
}

pub(crate) fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const SECRET: &str = "en-delad-hemlighet-1234";

/// Seeds the catalog and an approved order `o-disp` with a line from `sup-1`, with the buyer
/// organisation and the supplier's country and GLN a PEPPOL order needs.
pub(crate) fn approved_order(c: &Cluster, leader: usize) {
    c.seed_catalog(leader, 1);
    let order = json!({"id": "o-disp", "unit_id": "ost-iva", "submit": true,
        "lines": [{"article_id": "art-0", "quantity": 4}]});
    let (s, o) = c.post(leader, "/api/v1/orders", &order);
    assert_eq!(s, 201, "{o}");
    let (s, o) = c.post(leader, "/api/v1/orders/o-disp/approve", &json!({}));
    assert_eq!((s, o["status"].as_str()), (200, Some("approved")), "{o}");
    // A PEPPOL order needs the buyer organisation and the supplier's country.
    let org = json!({"name": "Region Sjölanda", "gln": "7350000000023", "country": "SE", "currency": "SEK",
        "address": ["Box 1", "123 45 Sjöstad"]});
    let (s, v) = c.put(leader, "/api/v1/organisation", &org);
    assert!(s == 200 || s == 201, "{v}");
    let sup = json!({"id": "sup-1", "name": "Medilux AB", "gln": "7350000000016", "country": "SE", "version": 1,
        "address": ["Industrivägen 1", "111 11 Stockholm"]});
    let (s, v) = c.put(leader, "/api/v1/suppliers/sup-1", &sup);
    assert_eq!(s, 200, "{v}");
}

/// A cluster with an approved order `o-disp` for `sup-1`, whose channel is a webhook to a fresh
/// receiver (it fails the first call) signed with `SECRET`, and a job for it whose first attempt
/// has been recorded. Returns the leader at that time.
fn setup() -> (Cluster, usize, Seen) {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    approved_order(&c, leader);
    let (url, seen) = receiver();
    let chan = json!({"channel": {"kind": "webhook", "url": url, "body": "ubl", "secret": SECRET}});
    let (s, v) = c.put(leader, "/api/v1/suppliers/sup-1/channel", &chan);
    assert_eq!(s, 200, "{v}");
    // Through a follower: the leader delivers.
    let job = json!({"id": "job-1", "supplier_id": "sup-1", "order_ids": ["o-disp"]});
    let (s, job) = c.post((leader + 1) % 3, "/api/v1/dispatch", &job);
    assert_eq!((s, job["state"].as_str()), (201, Some("pending")), "{job}");
    wait_until("the first attempt is recorded", || {
        c.get(leader, "/api/v1/dispatch/job-1").1["attempts"].as_array().is_some_and(|a| a.len() == 1)
    });
    (c, leader, seen)
}

/// The receiver saw `n` calls, each with the job's key, a valid signature and the order.
fn check_calls(seen: &Seen, n: usize) {
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), n, "calls the receiver saw");
    for (headers, body) in &calls {
        let h = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        assert_eq!(h("idempotency-key"), "job-1@beredd");
        assert_eq!(h("content-type"), "application/xml");
        assert_eq!(h("x-beredd-signature"), sign(SECRET, body), "signature");
        let xml = String::from_utf8_lossy(body);
        assert!(xml.contains("<Order") && xml.contains("ML-0"), "{xml}");
    }
}

#[test]
fn a_webhook_job_is_retried_under_the_same_key_and_sends_the_order_once_delivered() {
    let (c, leader, seen) = setup();
    let (_, job) = c.get(leader, "/api/v1/dispatch/job-1");
    assert_eq!((job["state"].as_str(), job["attempts"][0]["ok"].as_bool()), (Some("pending"), Some(false)), "{job}");
    assert!(job["attempts"][0]["detail"].as_str().unwrap_or_default().contains("503"), "{job}");
    assert!(job["next_attempt_at"].is_string(), "{job}");
    assert_eq!(c.get(leader, "/api/v1/orders/o-disp").1["status"], "approved", "not sent before delivery");

    let (s, v) = c.post(leader, "/api/v1/dispatch/job-1/retry", &json!({}));
    assert_eq!(s, 200, "{v}");
    wait_until("the job is delivered", || c.get(leader, "/api/v1/dispatch/job-1").1["state"] == "delivered");
    assert_eq!(c.get(leader, "/api/v1/orders/o-disp").1["status"], "sent");
    check_calls(&seen, 2);
    let (_, v) = c.post(leader, "/api/v1/dispatch/job-1/cancel", &json!({}));
    assert_eq!(v["error"]["code"], "dispatch.closed", "{v}");
}

#[test]
fn after_the_leader_dies_between_attempts_the_new_leader_delivers_the_job() {
    let (mut c, leader, seen) = setup();
    let old = c.nodes[leader].id;
    c.kill(leader);
    let new = c.wait_leader();
    // Nobody asks: the new leader finds the job due after its back-off (30 s) and delivers it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.get(new, "/api/v1/dispatch/job-1").1["state"] != "delivered" {
        assert!(Instant::now() < deadline, "the new leader never delivered the job");
        std::thread::sleep(Duration::from_millis(250));
    }
    let (_, job) = c.get(new, "/api/v1/dispatch/job-1");
    let by: Vec<(u64, bool)> = job["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["node"].as_u64().unwrap_or(0), a["ok"] == true))
        .collect();
    assert_eq!(by, [(old, false), (c.nodes[new].id, true)], "{job}");
    assert_eq!(c.get(new, "/api/v1/orders/o-disp").1["status"], "sent");
    check_calls(&seen, 2);
}

fn sign(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn a_webhook_subscriber_gets_each_incident_update_as_signed_json_under_one_key() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    let (s, v) =
        c.post(leader, "/api/v1/status/systems", &json!({"id": "erp", "name": "Affärssystemet", "site": "Östra"}));
    assert_eq!(s, 201, "{v}");
    let (url, seen) = receiver();
    let subscriber = json!({"id": "s-hook", "name": "Larmcentralen",
        "target": {"kind": "webhook", "url": url, "secret": SECRET}, "systems": ["erp"]});
    let (s, v) = c.post(leader, "/api/v1/subscribers", &subscriber);
    assert_eq!(s, 201, "{v}");
    assert!(v["target"]["secret"].is_null(), "the secret is never shown: {v}");
    let due = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let incident = json!({"id": "i-1", "title": "Affärssystemet svarar inte", "impact": "major",
        "systems": ["erp"], "body": "Vi felsöker.", "next_update_due": due});
    let (s, v) = c.post((leader + 1) % 3, "/api/v1/status/incidents", &incident);
    assert_eq!(s, 201, "{v}");

    // The receiver fails the first call; "retry now" sends it again under the same key.
    wait_until("the receiver is called", || !seen.lock().unwrap().is_empty());
    let jobs = c.get(leader, "/api/v1/dispatch").1;
    let job = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["notice"]["subscriber_id"] == "s-hook")
        .map(|j| j["id"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("no notice job: {jobs}"));
    wait_until("the failed attempt is recorded", || {
        c.get(leader, &format!("/api/v1/dispatch/{job}")).1["attempts"].as_array().is_some_and(|a| a.len() == 1)
    });
    let (s, v) = c.post(leader, &format!("/api/v1/dispatch/{job}/retry"), &json!({}));
    assert_eq!(s, 200, "{v}");
    wait_until("the notice is delivered", || {
        c.get(leader, &format!("/api/v1/dispatch/{job}")).1["state"] == "delivered"
    });

    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    for (headers, body) in &calls {
        let h = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
        assert_eq!(h("idempotency-key"), format!("{job}@beredd"));
        assert_eq!(h("content-type"), "application/json");
        assert_eq!(h("x-beredd-signature"), sign(SECRET, body), "signature");
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!((v["about"]["kind"].as_str(), v["about"]["update"].as_u64()), (Some("incident"), Some(1)), "{v}");
        assert_eq!(v["record"]["title"], "Affärssystemet svarar inte", "{v}");
        assert_eq!(v["update"]["body"], "Vi felsöker.", "{v}");
    }
    // Staff see no status notices (they name subscribers' addresses).
    let staff = c.create_user("u-staff", "staff", &[])["api_token"].as_str().unwrap().to_owned();
    let (_, v) = c.get_as(leader, "/api/v1/dispatch", &staff);
    assert_eq!(v["items"].as_array().map(Vec::len), Some(0), "{v}");
}
