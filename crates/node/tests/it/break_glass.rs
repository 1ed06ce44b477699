//! Break-glass recovery, on real processes with mutual TLS: two of three nodes are lost for
//! good; on the survivor two different ops/admin accounts confirm through the API (what the
//! `/ops` forms do); the node forces a new cluster on itself and restarts (same process), leads
//! alone with every record it held, takes a new node by invitation, and the two old nodes,
//! started again with their old data, are refused (their ids retired), say why in their logs
//! and stop.

use crate::harness::Cluster;
use crate::join::{Joined, invite, join, wait_until};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

#[test]
fn two_accounts_make_a_lone_survivor_a_new_cluster_which_takes_a_new_node_and_refuses_the_old_ones() {
    let mut c = Cluster::start_tls_env(3, &[("BEREDD_CLUSTER_BREAK_GLASS_AFTER_S", "4")]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 2);
    let mut placed = Vec::new();
    for n in 0..20 {
        let id = format!("before-loss-{n}");
        let (s, v) = c.post(n % 3, "/api/v1/orders", &Cluster::order_body(&id));
        assert_eq!(s, 201, "{v}");
        placed.push(id);
    }
    let token = |v: Value| v["api_token"].as_str().unwrap_or_default().to_owned();
    let (ops_a, ops_b) = (token(c.create_user("ops-anna", "ops", &[])), token(c.create_user("ops-bo", "ops", &[])));
    let comms = token(c.create_user("kim", "communicator", &[]));
    let survivor = (leader + 1) % 3;
    let last = c.status(leader)["last_applied_index"].as_u64().unwrap_or(0);
    c.wait_applied(survivor, last);

    // While the cluster is whole, nothing is forced: refused, with the reason.
    let confirm = |c: &Cluster, t: &str| c.post_as(survivor, "/api/v1/cluster/break-glass/confirm", &json!({}), t);
    let (s, v) = confirm(&c, &ops_a);
    assert_eq!(s, 409, "{v}");
    assert!(v.to_string().contains("in touch with a majority"), "{v}");

    // Two nodes are lost for good.
    let lost: Vec<usize> = (0..3).filter(|i| *i != survivor).collect();
    for i in &lost {
        c.kill(*i);
    }
    let (s, v) = c.get_as(survivor, "/api/v1/cluster/break-glass", &ops_a);
    assert_eq!((s, v["available"].as_bool()), (200, Some(true)), "{v}");
    wait_until("the survivor knows it has no majority", 20, || {
        c.get_as(survivor, "/api/v1/cluster/break-glass", &ops_a).1["majority_lost_ms"].is_u64()
    });
    // Not yet: the others may come back (4 s here; 15 min by default).
    let (s, v) = confirm(&c, &ops_a);
    assert_eq!(s, 409, "{v}");
    assert!(v.to_string().contains("may be forced here after 4 s"), "{v}");
    wait_until("the survivor may be forced", 30, || {
        c.get_as(survivor, "/api/v1/cluster/break-glass", &ops_a).1["allowed"] == true
    });
    // Only ops and admins; the first waits for a second, different account.
    assert_eq!(confirm(&c, &comms).0, 403);
    let (s, v) = confirm(&c, &ops_a);
    assert_eq!(
        (s, v["step"].as_str(), v["pending"]["account"].as_str()),
        (200, Some("waiting"), Some("ops-anna")),
        "{v}"
    );
    let (s, v) = confirm(&c, &ops_a);
    assert_eq!(s, 409, "{v}");
    assert!(v.to_string().contains("different ops or admin account"), "{v}");
    // Withdrawn and confirmed again: still one confirmation, by the same account.
    let (s, v) = c.post_as(survivor, "/api/v1/cluster/break-glass/withdraw", &json!({}), &ops_b);
    assert_eq!((s, v["pending"].is_null()), (200, true), "{v}");
    assert_eq!(confirm(&c, &ops_a).1["step"], "waiting");
    let pid = c.nodes[survivor].child.as_ref().map(std::process::Child::id);
    let started = Instant::now();
    let (s, v) = confirm(&c, &ops_b);
    assert_eq!((s, v["step"].as_str()), (200, Some("started")), "{v}");

    // The same process restarts as the only voter of a new cluster, with every record.
    // (While it restarts, its port refuses connections.)
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("http://{}/api/v1/cluster", c.nodes[survivor].http);
    wait_until("the survivor leads a cluster of its own", 60, || {
        let st: Value = agent.get(&url).call().ok().and_then(|mut r| r.body_mut().read_json().ok()).unwrap_or_default();
        st["role"] == "leader" && st["voters"] == json!([c.nodes[survivor].id])
    });
    eprintln!("break-glass: from the second confirmation to leading alone in {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(c.nodes[survivor].child.as_ref().map(std::process::Child::id), pid, "restarted in place");
    assert!(c.nodes[survivor].child.as_mut().is_some_and(|ch| matches!(ch.try_wait(), Ok(None))));
    let ids = c.order_ids(survivor);
    for id in &placed {
        assert_eq!(ids.iter().filter(|x| *x == id).count(), 1, "{id} in {ids:?}");
    }
    let (s, v) = c.post(survivor, "/api/v1/orders", &Cluster::order_body("after-break-glass"));
    assert_eq!(s, 201, "{v}");
    // Who decided it: in the audit trail and the node directory.
    let audit = c.wait_audit(survivor, &["force_new_cluster"]);
    assert!(audit.contains("ops-bo"), "{audit}");
    let members = c.get(survivor, "/api/v1/cluster/members").1.to_string();
    assert!(members.contains("forced_new_cluster") && members.contains("ops-anna, ops-bo"), "{members}");
    let (_, v) = c.get_as(survivor, "/api/v1/cluster/break-glass", &ops_a);
    let retired: Vec<u64> = lost.iter().map(|i| c.nodes[*i].id).collect();
    assert_eq!(v["founded"]["retired"], json!(retired), "{v}");
    assert_eq!(v["founded"]["confirmed_by"], json!(["ops-anna", "ops-bo"]), "{v}");

    // A new node joins the new cluster by invitation and gets everything.
    let (invitation, node) = invite(&c, survivor, json!({"name": "laptop-reserv", "join_as": "voter"}));
    assert_eq!(node, 4, "ids 1–3 are taken");
    let home = c.dir.path().join("laptop");
    let mut child = Joined(join(&c, &home, &invitation));
    let stdout = child.0.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let said = BufReader::new(stdout).lines().next().and_then(Result::ok).unwrap_or_default();
    assert!(said.contains("has caught up"), "{said}");
    wait_until("node 4 is a learner", 20, || c.status(survivor)["learners"] == json!([4]));
    let (s, v) = c.post(survivor, "/api/v1/cluster/members/4/promote", &json!({}));
    assert_eq!(s, 200, "{v}");
    wait_until("node 4 votes", 20, || c.status(survivor)["voters"] == json!([c.nodes[survivor].id, 4]));

    // The old nodes, started again with their old data: refused, they say why and stop.
    for i in &lost {
        c.spawn_unwaited(*i);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in &lost {
        let exited = loop {
            if let Some(Ok(Some(status))) = c.nodes[*i].child.as_mut().map(std::process::Child::try_wait) {
                break status;
            }
            assert!(Instant::now() < deadline, "old node {} still runs; log:\n{}", c.nodes[*i].id, c.log(*i));
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(!exited.success());
        let log = c.log(*i);
        let id = c.nodes[*i].id;
        assert!(
            log.contains(&format!("node {id} was retired from this cluster when a new cluster was forced")),
            "{log}"
        );
        assert!(log.contains("confirmed by ops-anna, ops-bo") && log.contains("join again by invitation"), "{log}");
        // And it will not start with that data again.
        c.nodes[*i].child = None;
        let again = std::process::Command::new(crate::harness::bin())
            .args(["serve", "--config"])
            .arg(&c.nodes[*i].config)
            .envs(c.node_env())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&again.stderr);
        assert!(!again.status.success() && text.contains("refusing to start"), "{text}");
    }
    // The new cluster went on undisturbed.
    let st = c.status(survivor);
    assert_eq!((st["role"].as_str(), st["voters"].clone()), (Some("leader"), json!([c.nodes[survivor].id, 4])), "{st}");
    let (s, v) = c.post(survivor, "/api/v1/orders", &Cluster::order_body("after-the-old-ones-came-back"));
    assert_eq!(s, 201, "{v}");
}
