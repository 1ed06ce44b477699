//! `beredd drill` against a real three-node cluster: a leadership transfer and a halted leader,
//! each under a write load, each reporting 0 lost writes and a new leader.

use crate::harness::{Cluster, bin, pdf_text};
use serde_json::Value;
use std::process::Command;

fn drill(c: &Cluster, entry: usize, extra: &[&str]) -> (bool, String, Value) {
    let json = c.dir.path().join(format!("drill-{}.json", extra.len()));
    let pdf = c.dir.path().join(format!("drill-{}.pdf", extra.len()));
    let pdf_s = pdf.display().to_string();
    let http = format!("http://{}", c.nodes[entry].http);
    let mut args = vec!["drill", "--http", &http, "--token", &c.token, "--seconds", "4", "--rate", "12"];
    let json_s = json.display().to_string();
    args.extend(["--json", &json_s, "--pdf", &pdf_s]);
    args.extend(extra);
    let out = Command::new(bin()).args(&args).output().unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let report = std::fs::read(&json).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Value::Null);
    (out.status.success(), text, report)
}

#[test]
fn a_drill_moves_or_kills_the_leader_under_load_and_loses_nothing() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 2);
    let old = c.nodes[leader].id;
    let last = c.status(leader)["last_applied_index"].as_u64().unwrap_or(0);
    for i in 0..3 {
        c.wait_applied(i, last);
    }

    let (ok, text, r) = drill(&c, (leader + 1) % 3, &[]);
    assert!(ok, "{text}");
    assert!(text.contains("lost 0") && text.contains("OK, nothing lost"), "{text}");
    assert_eq!(r["old_leader"], old, "{r}");
    assert!(r["new_leader"].as_u64().is_some_and(|n| n != old), "{r}");
    assert!(r["writes"]["acknowledged"].as_u64().unwrap_or(0) >= 20, "{r}");
    assert_eq!(r["writes"]["lost"], 0, "{r}");
    assert_eq!(r["before"].as_array().map(Vec::len), Some(3), "{r}");
    // Every drill order that was saved is cancelled again.
    let saved = r["writes"]["acknowledged"].as_u64().unwrap_or(0) + r["writes"]["unknown_landed"].as_u64().unwrap_or(0);
    assert_eq!(r["drill_orders_cancelled"].as_u64(), Some(saved), "{r}");

    let leader = c.wait_leader();
    let old = c.nodes[leader].id;
    let (ok, text, r) = drill(&c, (leader + 1) % 3, &["--kill"]);
    assert!(ok, "{text}");
    assert_eq!(r["writes"]["lost"], 0, "{r}");
    assert!(r["new_leader"].as_u64().is_some_and(|n| n != old), "{r}");
    assert!(r["without_leader_ms"].as_u64().is_some() && r["first_ack_ms"].as_u64().is_some(), "{r}");
    let gone = r["after"].as_array().and_then(|a| a.iter().find(|s| s["id"] == old)).cloned().unwrap_or_default();
    assert_eq!(gone["reachable"], false, "the halted leader still answers: {r}");
    eprintln!("drill --kill: {text}");
    // The halted node is started again by hand and rejoins.
    let _ = c.nodes[leader].child.take().map(|mut ch| ch.wait());
    c.spawn(leader);
    let last = c.status(c.wait_leader())["last_applied_index"].as_u64().unwrap_or(0);
    c.wait_applied(leader, last);

    // A cut-off leader: the others elect a new one, the old one comes back when the cut heals
    // and every node ends with every acknowledged write.
    let leader = c.wait_leader();
    let old = c.nodes[leader].id;
    let (ok, text, r) = drill(&c, (leader + 1) % 3, &["--isolate", "2"]);
    assert!(ok, "{text}");
    assert_eq!(r["writes"]["lost"], 0, "{r}");
    assert!(r["new_leader"].as_u64().is_some_and(|n| n != old), "{r}");
    let back = r["after"].as_array().and_then(|a| a.iter().find(|s| s["id"] == old)).cloned().unwrap_or_default();
    assert_eq!(back["reachable"], true, "{r}");
    assert_eq!(back["role"], "follower", "the old leader rejoined as a follower: {r}");
    eprintln!("drill --isolate: {text}");

    // Every report is in the cluster (the report went through the new leader: wait until the
    // node asked below has applied it too): listed on every node's ops page, newest first, printable.
    let now_leader = c.wait_leader();
    let last = c.status(now_leader)["last_applied_index"].as_u64().unwrap_or(0);
    c.wait_applied(leader, last);
    let (s, list) = c.get(leader, "/api/v1/drills");
    assert_eq!(s, 200, "{list}");
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().filter_map(|d| d["id"].as_str()).collect();
    assert_eq!(ids.len(), 3, "{list}");
    assert_eq!(ids[0], r["id"].as_str().unwrap_or_default(), "newest first: {list}");
    assert_eq!(list["items"][0]["recorded_by"], "admin");
    let page = c.page(leader, "/ops");
    for id in &ids {
        assert!(page.contains(&format!("/api/v1/drills/{id}/report.pdf")), "{id} missing from /ops");
    }
    let pdf = std::fs::read(c.dir.path().join("drill-2.pdf")).unwrap();
    let text = pdf_text(&pdf, false);
    assert!(text.contains(ids[0]) && text.contains("Förlorade (ska vara 0): 0"), "{text}");
    assert!(text.contains(&format!("isolate leader {old} for 2 s")) && text.contains("Godkänd"), "{text}");
    // Staff may not read them.
    let staff = c.create_user("avd-personal", "staff", &["ost-iva"]);
    let token = staff["api_token"].as_str().unwrap_or_default();
    assert_eq!(c.get_as(leader, "/api/v1/drills", token).0, 403);
}

/// A drill started through the API (what the `/ops` form does) by an ops person, who places no
/// real orders: the node runs `beredd drill` itself with a token made for them; its orders are
/// drill orders (drafts, cancelled at the end), its report is recorded, its output shown.
#[test]
fn ops_start_a_drill_from_a_node_and_its_report_and_progress_come_back() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 2);
    let ops = c.create_user("drift", "ops", &[]);
    let token = ops["api_token"].as_str().unwrap_or_default().to_owned();
    let entry = (leader + 1) % 3;
    let (s, v) = c.post_as(entry, "/api/v1/drills/run", &serde_json::json!({"mode": "transfer", "seconds": 3}), &token);
    assert_eq!(s, 202, "{v}");
    assert_eq!((v["run"]["by"].as_str(), v["run"]["running"].as_bool()), (Some("drift"), Some(true)), "{v}");
    // One at a time on a node.
    let (s, v) = c.post_as(entry, "/api/v1/drills/run", &serde_json::json!({"mode": "kill"}), &token);
    assert_eq!(s, 409, "{v}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let run = loop {
        let (_, v) = c.get_as(entry, "/api/v1/drills/run", &token);
        if v["run"]["running"] == false {
            break v["run"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "the drill did not end: {v}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let output = run["output"].as_array().map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"));
    let output = output.unwrap_or_default();
    assert_eq!(run["exit_code"], 0, "{output}");
    assert!(output.contains("OK, nothing lost"), "{output}");
    assert!(
        output.lines().any(|l| l.starts_with("drill: ") && l.contains("writes acknowledged")),
        "progress: {output}"
    );
    let (_, reports) = c.get_as(entry, "/api/v1/drills", &token);
    let r = reports["items"][0].clone();
    assert_eq!((r["ok"].clone(), r["writes"]["lost"].clone()), (Value::Bool(true), Value::from(0)), "{r}");
    assert!(r["writes"]["acknowledged"].as_u64().unwrap_or(0) > 0, "{r}");
    assert!(r["drill_orders_cancelled"].as_u64().unwrap_or(0) > 0, "{r}");
    // The orders were drill orders made by the ops person; none is left open.
    c.wait_audit(entry, &["create_order", "drift"]);
    let (_, orders) = c.get(entry, "/api/v1/orders?limit=500");
    for o in orders["items"].as_array().into_iter().flatten().filter(|o| o["drill"] == true) {
        assert_eq!(o["status"], "cancelled", "{o}");
    }
}
