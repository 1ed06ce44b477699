//! Replication, failover, restart, snapshot catch-up and idempotency with real processes.

use crate::harness::Cluster;
use serde_json::json;
use std::time::{Duration, Instant};

fn created(s: u16) -> bool {
    s == 201 || s == 200
}

#[test]
fn writes_through_each_follower_are_read_back_on_every_node() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    let st = c.status(leader);
    assert_eq!(st["voters"], json!([1, 2, 3]));
    assert_eq!(st["quorum"], true);
    c.seed_catalog(leader, 1);
    let mut expected = Vec::new();
    for f in (0..3).filter(|i| *i != leader) {
        let id = format!("via-{}", c.nodes[f].id);
        expected.push(id.clone());
        let (s, o) = c.post(f, "/api/v1/orders", &Cluster::order_body(&id));
        assert!(created(s), "{s} {o}");
        assert_eq!(o["status"], "draft");
        assert_eq!(o["version"], 1);
        // Read-your-write on the node that took the request, without waiting.
        let (s, back) = c.get(f, &format!("/api/v1/orders/{id}"));
        assert_eq!(s, 200, "{back}");
        assert_eq!(back["number"], o["number"]);
    }
    let index = c.status(leader)["last_applied_index"].as_u64().unwrap_or(0);
    for i in 0..3 {
        c.wait_applied(i, index);
        assert_eq!(c.order_ids(i), expected, "node {}", c.nodes[i].id);
    }
    // Every node reports the same state digest at the same applied index (the bootstrap node
    // may still be recording members, so wait for the nodes to converge).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let digests: Vec<_> =
            (0..3).map(|i| c.get(i, "/api/v1/cluster?digest=true").1["state_digest"].clone()).collect();
        assert!(
            digests.iter().all(|d| d["sha256"].is_string() && d["applied_index"].as_u64() >= Some(index)),
            "{digests:?}"
        );
        if digests.iter().all(|d| *d == digests[0]) {
            break;
        }
        assert!(Instant::now() < deadline, "digests differ: {digests:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn order_moves_through_its_states_and_rejections_carry_codes() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 2);
    let f = (leader + 1) % 3;
    let (s, o) = c.post(f, "/api/v1/orders", &json!({"id": "o1", "unit_id": "ost-iva", "lines": [{"article_id": "art-0", "quantity": 2}, {"article_id": "art-1", "quantity": 5}]}));
    assert!(created(s), "{o}");
    for (action, body, status) in [
        ("approve", json!({}), "bad"),
        ("submit", json!({"version": 1}), "submitted"),
        ("approve", json!({}), "approved"),
        ("send", json!({}), "sent"),
        ("confirm", json!({}), "confirmed"),
        ("receive", json!({"lines": [{"line_no": 1, "quantity": 2}]}), "partially_delivered"),
        ("receive", json!({"lines": [{"line_no": 2, "quantity": 5}]}), "delivered"),
        ("cancel", json!({"reason": "för sent"}), "bad"),
    ] {
        let (s, v) = c.post(f, &format!("/api/v1/orders/o1/{action}"), &body);
        if status == "bad" {
            assert_eq!(s, 409, "{action}: {v}");
            assert_eq!(v["error"]["code"], "order.bad_transition");
        } else {
            assert_eq!(s, 200, "{action}: {v}");
            assert_eq!(v["status"], status);
        }
    }
    let (_, o) = c.get(f, "/api/v1/orders/o1");
    assert_eq!(o["history"].as_array().map(Vec::len), Some(7));
    assert_eq!(o["lines"][0]["received"], 2);

    let (s, v) =
        c.post(f, "/api/v1/orders", &json!({"unit_id": "ost-iva", "lines": [{"article_id": "nope", "quantity": 1}]}));
    assert_eq!((s, v["error"]["code"].as_str()), (422, Some("article.unknown")), "{v}");
    let (s, v) = c.post(f, "/api/v1/orders/missing/submit", &json!({}));
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("order.not_found")), "{v}");
    let (s, v) = c.post(f, "/api/v1/articles", &json!({"id": "bad", "article_number": "x", "name": "x", "unit": "BX", "pack_size": 1, "supplier_id": "sup-1", "category": "x", "gtin": "7350000000018"}));
    assert_eq!(
        (s, v["error"]["code"].as_str(), v["error"]["field"].as_str()),
        (422, Some("article.invalid"), Some("gtin")),
        "{v}"
    );
    let (s, v) = c.post(f, "/api/v1/orders", &json!({"lines": "nope"}));
    assert!(s == 422 || s == 400, "{s} {v}");
    assert!(v["error"]["code"].is_string());
}

#[test]
fn a_retried_order_id_creates_one_order() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 1);
    let mut numbers = Vec::new();
    for i in [0, 1, 2, 0] {
        let (s, o) = c.post(i, "/api/v1/orders", &Cluster::order_body("same-id"));
        assert!(created(s), "{s} {o}");
        numbers.push(o["number"].clone());
    }
    assert!(numbers.iter().all(|n| *n == numbers[0]), "{numbers:?}");
    for i in 0..3 {
        assert_eq!(c.order_ids(i), vec!["same-id".to_owned()]);
    }
}

/// Writes that reach the leader together share one log entry (group commit), and each still
/// gets its own verdict, its own record and its own audit line on every node.
#[test]
fn concurrent_writes_share_log_entries_and_each_keeps_its_verdict_and_audit_line() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 1);
    let mut ids: Vec<String> = Vec::new();
    let mut shared_index = None;
    for round in 0..5 {
        let batch: Vec<String> = (0..24).map(|k| format!("grp-{round}-{k:02}")).collect();
        std::thread::scope(|s| {
            for id in &batch {
                let c = &c;
                s.spawn(move || {
                    let (st, o) = c.post(leader, "/api/v1/orders", &Cluster::order_body(id));
                    assert!(created(st), "{st} {o}");
                    assert_eq!(o["id"], json!(id), "{o}");
                });
            }
        });
        ids.extend(batch);
        let trail = c.wait_audit(leader, &[ids.last().unwrap(), "create_order"]);
        let mut per_index = std::collections::HashMap::<String, usize>::new();
        for line in trail.lines().filter(|l| l.contains(";create_order;")) {
            *per_index
                .entry(line.split(';').next().unwrap_or_default().trim_start_matches('\u{feff}').to_owned())
                .or_default() += 1;
        }
        shared_index = per_index.into_iter().find(|(_, n)| *n > 1);
        if shared_index.is_some() {
            break;
        }
    }
    assert!(shared_index.is_some(), "no two of {} concurrent writes shared a log entry", ids.len());
    for i in 0..3 {
        let last = ids.last().unwrap();
        let trail = c.wait_audit(i, &[last, "create_order"]);
        for id in &ids {
            let lines = trail.lines().filter(|l| l.contains(&format!(";order/{id};")) && l.contains(";create_order;"));
            assert_eq!(lines.filter(|l| l.ends_with(";applied")).count(), 1, "node {i}, {id}: {trail}");
        }
        let on_node = c.order_ids(i);
        assert!(ids.iter().all(|id| on_node.contains(id)), "node {i} lacks orders: {on_node:?}");
    }
}

#[test]
fn leader_killed_new_leader_takes_writes_and_nothing_acknowledged_is_lost() {
    let mut c = Cluster::start(3, &[]);
    let old = c.wait_leader();
    c.seed_catalog(old, 1);
    let mut acked = Vec::new();
    for n in 0..20 {
        let id = format!("before-{n}");
        let (s, _) = c.post(n % 3, "/api/v1/orders", &Cluster::order_body(&id));
        assert!(created(s));
        acked.push(id);
    }
    c.kill(old);
    let killed_at = Instant::now();
    // Keep writing through a surviving node until writes go through again.
    let survivor = (old + 1) % 3;
    let mut n = 0;
    let first_ok = loop {
        let id = format!("after-{n}");
        n += 1;
        let (s, v) = c.post(survivor, "/api/v1/orders", &Cluster::order_body(&id));
        if created(s) {
            acked.push(id);
            break killed_at.elapsed();
        }
        assert_eq!(s, 503, "{v}");
        assert!(killed_at.elapsed() < Duration::from_secs(20), "no new leader within 20 s");
    };
    eprintln!("first acknowledged write {first_ok:?} after killing the leader");
    let new = c.wait_leader();
    assert_ne!(new, old);
    for (n, i) in c.running().into_iter().cycle().take(10).enumerate() {
        let id = format!("later-{n}");
        let (s, v) = c.post(i, "/api/v1/orders", &Cluster::order_body(&id));
        assert!(created(s), "{v}");
        acked.push(id);
    }
    c.spawn(old);
    let index = c.status(new)["last_applied_index"].as_u64().unwrap_or(0);
    acked.sort();
    for i in 0..3 {
        c.wait_applied(i, index);
        let ids = c.order_ids(i);
        for a in &acked {
            assert!(ids.contains(a), "node {} lacks acknowledged order {a}", c.nodes[i].id);
        }
    }
}

#[test]
fn a_node_down_while_the_log_is_purged_catches_up_through_a_snapshot() {
    let mut c = Cluster::start(3, &[("BEREDD_RAFT_SNAPSHOT_LOGS", "20"), ("BEREDD_RAFT_KEEP_LOGS", "5")]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 1);
    let down = (leader + 1) % 3;
    c.kill(down);
    for n in 0..80 {
        let (s, v) = c.post(leader, "/api/v1/orders", &Cluster::order_body(&format!("o-{n}")));
        assert!(created(s), "{v}");
    }
    // The leader purges once its snapshot exists and no replication uses the old entries.
    let deadline = Instant::now() + Duration::from_secs(15);
    let st = loop {
        let st = c.status(leader);
        if st["purged_index"].as_u64().unwrap_or(0) > 20 {
            break st;
        }
        assert!(Instant::now() < deadline, "the leader should have purged its log: {st}");
        std::thread::sleep(Duration::from_millis(100));
    };
    c.spawn(down);
    let index = st["last_applied_index"].as_u64().unwrap_or(0);
    c.wait_applied(down, index);
    let st = c.status(down);
    assert!(st["snapshot_index"].as_u64().is_some(), "caught up without a snapshot? {st}");
    assert_eq!(c.order_ids(down).len(), 80);
    let digest = |i: usize| c.get(i, "/api/v1/cluster?digest=true").1["state_digest"].clone();
    assert_eq!(digest(down), digest(leader));
}

#[test]
fn a_full_stop_and_start_keeps_everything() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 1);
    for n in 0..15 {
        let (s, _) = c.post(n % 3, "/api/v1/orders", &Cluster::order_body(&format!("keep-{n}")));
        assert!(created(s));
    }
    // Power cut: SIGKILL all at once, then start again.
    for i in 0..3 {
        c.kill(i);
    }
    for i in 0..3 {
        c.spawn(i);
    }
    // The old leader applied everything it acknowledged, and serves it at once after the
    // restart, from its own state machine. Followers may still lack the last commit index.
    assert_eq!(c.order_ids(leader).len(), 15, "old leader right after restart");
    let leader = c.wait_leader();
    let index = c.status(leader)["last_applied_index"].as_u64().unwrap_or(0);
    for i in 0..3 {
        c.wait_applied(i, index);
        assert_eq!(c.order_ids(i).len(), 15, "node {}", c.nodes[i].id);
    }
    let (s, v) = c.post(leader, "/api/v1/orders", &Cluster::order_body("after-restart"));
    assert!(created(s), "{v}");
    // And a graceful stop of every node keeps it too.
    for i in 0..3 {
        c.stop(i);
    }
    for i in 0..3 {
        c.spawn(i);
    }
    let leader = c.wait_leader();
    let index = c.status(leader)["last_applied_index"].as_u64().unwrap_or(0);
    for i in 0..3 {
        c.wait_applied(i, index);
        assert_eq!(c.order_ids(i).len(), 16);
    }
}

#[test]
fn a_lone_survivor_serves_reads_and_refuses_writes_quickly() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 1);
    let (s, _) = c.post(leader, "/api/v1/orders", &Cluster::order_body("kept"));
    assert!(created(s));
    let survivor = (leader + 1) % 3;
    c.wait_applied(survivor, c.status(leader)["last_applied_index"].as_u64().unwrap_or(0));
    for i in 0..3 {
        if i != survivor {
            c.kill(i);
        }
    }
    let t = Instant::now();
    let (s, v) = c.post(survivor, "/api/v1/orders", &Cluster::order_body("refused"));
    let took = t.elapsed();
    assert_eq!(s, 503, "{v}");
    assert!(v["error"]["code"].as_str().is_some_and(|c| c.starts_with("cluster.")), "{v}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    // Reads keep working from local state.
    let (s, o) = c.get(survivor, "/api/v1/orders/kept");
    assert_eq!(s, 200, "{o}");
    assert_eq!(c.order_ids(survivor), vec!["kept".to_owned()]);
    let (s, _) = c.get(survivor, "/readyz");
    assert_eq!(s, 200);
    // Eventually the survivor knows it has no quorum.
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.status(survivor)["quorum"] != false {
        assert!(Instant::now() < deadline, "{}", c.status(survivor));
        std::thread::sleep(Duration::from_millis(100));
    }
    // A linearizable read cannot be had without quorum, and says so.
    let (s, v) = c.get(survivor, "/api/v1/orders?consistency=linearizable");
    assert_eq!(s, 503, "{v}");
}

#[test]
fn linearizable_reads_and_lists_page_with_cursors() {
    let c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 7);
    let f = (leader + 1) % 3;
    let (s, v) = c.get(f, "/api/v1/articles?limit=3&consistency=linearizable");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(3));
    let mut seen = 0;
    let mut cursor = v["next"].as_str().map(str::to_owned);
    seen += 3;
    while let Some(cur) = cursor {
        let (_, v) = c.get(f, &format!("/api/v1/articles?limit=3&cursor={cur}"));
        seen += v["items"].as_array().map(Vec::len).unwrap_or(0);
        cursor = v["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 7);
    let (s, v) = c.get(f, "/api/v1/articles?limit=0");
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("request.invalid")));
    let (s, text) = c.get_text(leader, "/metrics");
    assert_eq!(s, 200);
    assert!(text.contains("beredd_raft_last_applied_index"), "{text}");
    assert!(text.contains("beredd_writes_total{result=\"applied\"}"), "{text}");
}
