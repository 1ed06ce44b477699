//! Situation reports across real processes, with a real mail server (`scripts/mailbox.py`):
//! an hourly cycle whose first due time comes three seconds after it starts makes every unit
//! due on every node; each late unit is reminded once by e-mail through the directory; a report
//! filed on a node cut off from the majority (the other two stopped) shows on that node's
//! overview at once as not yet shared, and on every node once the others are back, exactly once.

use crate::dispatch::wait_until;
use crate::email::{Mailbox, mail_to, smtp_env, wait_mail};
use crate::harness::{Cluster, free_port};
use serde_json::{Value, json};
use std::time::Duration;

fn overview(c: &Cluster, i: usize) -> Vec<Value> {
    let (s, v) = c.get(i, "/api/v1/reports/overview");
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

fn row(c: &Cluster, i: usize, unit: &str) -> Value {
    overview(c, i).into_iter().find(|r| r["unit_id"] == unit).unwrap_or_else(|| panic!("no {unit} on node {i}"))
}

fn late(c: &Cluster, i: usize) -> Vec<String> {
    overview(c, i)
        .iter()
        .filter(|r| r["late"] == true)
        .map(|r| r["unit_id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_cycle_makes_every_unit_due_late_units_are_reminded_once_and_a_cut_off_report_is_shared_once() {
    let port = free_port();
    let mailbox = Mailbox::start(port);
    let port = port.to_string();
    let smtp = smtp_env(&port, "Krisledningen <kris@sjolanda.example>");
    let smtp: Vec<(&str, &str)> = smtp.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut c = Cluster::start(3, &smtp);
    let leader = c.wait_leader();
    let units = [
        ("iva", "IVA", "Östra sjukhuset"),
        ("akut", "Akuten", "Östra sjukhuset"),
        ("avd7", "Avdelning 7", "Norra sjukhuset"),
    ];
    for (id, name, site) in units {
        let unit = json!({"id": id, "name": name, "site": site, "delivery_address": ["Hus 1"]});
        let (s, v) = c.post(leader, "/api/v1/units", &unit);
        assert_eq!(s, 201, "{v}");
        let route = json!({"kind": "email", "value": format!("{id}@sjolanda.example"), "hours": "", "last_tested": null, "note": ""});
        let contact = json!({"id": format!("c-{id}"), "kind": "function", "name": format!("{name} expedition"),
            "unit_id": id, "routes": [route]});
        let (s, v) = c.post(leader, "/api/v1/contacts", &contact);
        assert_eq!(s, 201, "{v}");
    }
    let nurse = c.create_user("syster-avd7", "staff", &["avd7"]);
    let nurse = nurse["api_token"].as_str().unwrap().to_owned();

    // Hourly from now, the first report due in three seconds.
    let first = time::OffsetDateTime::now_utc() + time::Duration::seconds(3);
    let first = first.format(&time::format_description::well_known::Rfc3339).unwrap();
    let cycle = json!({"schedule": {"kind": "every", "first_due": first, "minutes": 60}});
    let (s, v) = c.post((leader + 1) % 3, "/api/v1/reports/cycles", &cycle);
    assert_eq!(s, 200, "{v}");
    for i in 0..3 {
        wait_until("every unit is due on every node", || late(&c, i).len() == 3);
    }
    // Each late unit is reminded once, by e-mail to its directory entry, with the link to its form.
    for (id, name, _) in units {
        let m = &wait_mail(&mailbox, &format!("{id}@sjolanda.example"), 1)[0];
        let subject = m["subject"].as_str().unwrap_or_default();
        assert!(subject.contains("Lägesrapport") && subject.contains(name), "{m}");
        assert!(m["text"].as_str().unwrap_or_default().contains(&format!("/reports/new?unit={id}")), "{m}");
    }

    // IVA reports (late): no longer late anywhere; the others still are.
    let (s, v) = c.post(leader, "/api/v1/reports", &json!({"unit_id": "iva", "light": "yellow", "needs": "Syrgas"}));
    assert_eq!(s, 201, "{v}");
    for i in 0..3 {
        wait_until("IVA has reported on every node", || late(&c, i) == ["avd7", "akut"]);
    }
    assert_eq!(row(&c, 0, "iva")["needs"], "Syrgas");

    // Node 1 is cut off from the majority: the others stop.
    let cut = 0;
    for i in [1, 2] {
        c.kill(i);
    }
    let report = json!({"unit_id": "avd7", "light": "red", "needs": "Reservkraft till hus 4",
        "values": [{"key": "power", "light": "red", "text": "Elavbrott sedan 09:12"}]});
    let url = format!("http://{}/api/v1/reports", c.nodes[cut].http);
    let res = ureq::post(&url)
        .header("Authorization", &format!("Bearer {nurse}"))
        .header("Prefer", "respond-async")
        .send_json(&report)
        .unwrap();
    assert_eq!(res.status().as_u16(), 202, "kept in the outbox");
    // At once on its own node: not yet shared, and no longer late there.
    let r = row(&c, cut, "avd7");
    assert_eq!(r["not_yet_shared"][0]["needs"], "Reservkraft till hus 4", "{r}");
    assert_eq!((r["late"].as_bool(), r["light"].as_str()), (Some(false), Some("red")), "{r}");
    assert!(r["latest"].is_null(), "{r}");

    // The others come back: the report is shared once, on every node.
    for i in [1, 2] {
        c.spawn(i);
    }
    c.wait_leader();
    for i in 0..3 {
        wait_until("avd7's report is shared on every node", || {
            let r = row(&c, i, "avd7");
            r["latest"]["n"] == 1 && r["not_yet_shared"].as_array().is_some_and(Vec::is_empty)
        });
        let (s, v) = c.get(i, "/api/v1/reports?unit_id=avd7");
        assert_eq!(s, 200, "{v}");
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "once on node {i}: {v}");
        assert_eq!(items[0]["values"][0]["text"], "Elavbrott sedan 09:12");
        assert_eq!(items[0]["reported_by"], "syster-avd7");
        assert!(items[0]["written_at"].as_str() < items[0]["shared_at"].as_str(), "kept its time: {v}");
    }
    // Staff of avd7 see only their unit, through every route.
    let (s, v) = c.get_as(0, "/api/v1/reports/overview", &nurse);
    assert_eq!(s, 200);
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1), "{v}");
    let (s, _) = c.get_as(0, "/api/v1/reports?unit_id=iva", &nurse);
    assert_eq!(s, 403);
    // One reminder per unit and due time, whoever leads.
    std::thread::sleep(Duration::from_secs(3));
    for (id, _, _) in units {
        assert_eq!(mail_to(&mailbox, &format!("{id}@sjolanda.example")).len(), 1, "{id} reminded once");
    }
}
