//! An exercise across real processes, with a real mail server (`scripts/mailbox.py`) and a real
//! `beredd drill`: an incident made in the exercise reaches a subscriber marked ÖVNING while a
//! real one is not; a report made in it counts only in the exercise's overview; the drill's
//! orders are made in it and its report attached; after the end, clearing it on one node
//! deletes exactly its records on every node.

use crate::dispatch::wait_until;
use crate::email::{Mailbox, smtp_env, wait_mail};
use crate::harness::{Cluster, bin, free_port};
use serde_json::{Value, json};

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

fn exercise(c: &Cluster, i: usize) -> Value {
    let (s, v) = c.get(i, "/api/v1/exercises/x-1");
    assert_eq!(s, 200, "{v}");
    v
}

#[test]
fn an_exercise_marks_its_mail_keeps_its_reports_apart_takes_a_drill_and_is_cleared_everywhere() {
    let port = free_port();
    let mailbox = Mailbox::start(port);
    let port = port.to_string();
    let smtp = smtp_env(&port, "Driftstatus <status@sjolanda.example>");
    let smtp: Vec<(&str, &str)> = smtp.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let c = Cluster::start(3, &smtp);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 2);
    let unit = json!({"id": "iva", "name": "IVA", "site": "Östra sjukhuset", "delivery_address": ["Hus 1"]});
    let (s, v) = c.post(leader, "/api/v1/units", &unit);
    assert_eq!(s, 201, "{v}");
    let (s, v) = c.post(
        leader,
        "/api/v1/status/systems",
        &json!({"id": "el", "name": "Elförsörjning", "site": "Östra sjukhuset"}),
    );
    assert_eq!(s, 201, "{v}");
    let subscriber = json!({"id": "s-1", "name": "Vårdcentralen", "target": {"kind": "email", "address": "vc@ekbacka.example"},
        "sites": ["Östra sjukhuset"], "lang": "sv"});
    let (s, v) = c.post(leader, "/api/v1/subscribers", &subscriber);
    assert_eq!(s, 201, "{v}");

    let now = time::OffsetDateTime::now_utc();
    let plan = json!({"id": "x-1", "name": "Stabsövning elavbrott", "starts_at": rfc3339(now - time::Duration::minutes(1)),
        "ends_at": rfc3339(now + time::Duration::hours(1))});
    let (s, v) = c.post((leader + 1) % 3, "/api/v1/exercises", &plan);
    assert_eq!(s, 201, "{v}");

    // An incident in the exercise, one real: the subscriber's mail says which is which.
    let due = rfc3339(now + time::Duration::hours(1));
    let incident = |id: &str, title: &str, exercise: Option<&str>| {
        let mut i = json!({"id": id, "title": title, "impact": "minor", "systems": ["el"],
            "body": "Reservkraften har startat.", "next_update_due": due});
        if let Some(x) = exercise {
            i["exercise"] = json!(x);
        }
        i
    };
    let (s, v) = c.post(2, "/api/v1/status/incidents", &incident("i-x", "Elavbrott hus 4", Some("x-1")));
    assert_eq!(s, 201, "{v}");
    let (s, v) = c.post(0, "/api/v1/status/incidents", &incident("i-real", "Hissen i hus 2 står", None));
    assert_eq!(s, 201, "{v}");
    let mail = wait_mail(&mailbox, "vc@ekbacka.example", 2);
    let subject_of = |needle: &str| {
        mail.iter()
            .find(|m| m["subject"].as_str().unwrap_or_default().contains(needle))
            .map(|m| m["subject"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("no mail about {needle}: {mail:?}"))
    };
    assert!(subject_of("Elavbrott hus 4").contains("ÖVNING: Elavbrott hus 4"));
    assert!(!subject_of("Hissen i hus 2").contains("ÖVNING"));

    // A report in the exercise counts in the exercise's overview only.
    let (s, v) = c.post(
        1,
        "/api/v1/reports",
        &json!({"unit_id": "iva", "light": "red", "needs": "Generator", "exercise": "x-1"}),
    );
    assert_eq!(s, 201, "{v}");
    for i in 0..3 {
        wait_until("the exercise's report is on every node", || {
            let (_, v) = c.get(i, "/api/v1/reports/overview?exercise=x-1");
            v["items"].as_array().is_some_and(|a| a.iter().any(|r| r["unit_id"] == "iva" && r["light"] == "red"))
        });
        let (_, v) = c.get(i, "/api/v1/reports/overview");
        let iva = v["items"].as_array().unwrap().iter().find(|r| r["unit_id"] == "iva").cloned().unwrap();
        assert!(iva["light"].is_null() && iva["latest"].is_null(), "the real overview on node {i}: {iva}");
    }

    // A failover drill in the exercise: its orders are made in it, its report attached.
    let http = format!("http://{}", c.nodes[(leader + 1) % 3].http);
    let out = std::process::Command::new(bin())
        .args(["drill", "--http", &http, "--token", &c.token, "--seconds", "2", "--rate", "6", "--exercise", "x-1"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("attached to exercise x-1"), "{text}");
    let x = exercise(&c, 0);
    assert_eq!(x["drills"].as_array().map(Vec::len), Some(1), "{x}");
    let made = |x: &Value, kind: &str| x["made"].as_array().unwrap().iter().filter(|m| m["kind"] == kind).count();
    assert!(made(&x, "order") >= 1 && made(&x, "incident") == 1 && made(&x, "report") == 1, "{x}");

    // Not while it runs; then cleared on one node, gone on every node, the real records kept.
    let (s, v) = c.post(0, "/api/v1/exercises/x-1/clear", &json!(null));
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("exercise.invalid")), "{v}");
    let (s, v) = c.post(0, "/api/v1/exercises/x-1/end", &json!(null));
    assert_eq!(s, 200, "{v}");
    let (s, v) = c.post(2, "/api/v1/exercises/x-1/clear", &json!(null));
    assert_eq!(s, 200, "{v}");
    let cleared = exercise(&c, 2)["cleared"].as_u64().unwrap_or(0);
    assert!(cleared >= 3, "incident, report, orders and mail jobs: {cleared}");
    for i in 0..3 {
        wait_until("the exercise is cleared on every node", || exercise(&c, i)["cleared"].as_u64() == Some(cleared));
        let (s, _) = c.get(i, "/api/v1/status/incidents/i-x");
        assert_eq!(s, 404, "node {i}");
        let (s, v) = c.get(i, "/api/v1/status/incidents/i-real");
        assert_eq!(s, 200, "node {i}: {v}");
        let (_, v) = c.get(i, "/api/v1/reports/overview?exercise=x-1");
        let iva = v["items"].as_array().unwrap().iter().find(|r| r["unit_id"] == "iva").cloned().unwrap();
        assert!(iva["latest"].is_null(), "node {i}: {iva}");
    }
}
