//! Nodes joining by invitation, on real processes with mutual TLS: a three-node cluster makes
//! an invitation; a fourth `beredd` joins with it (`beredd join`), catches up on the cluster's
//! log by snapshot and log, is promoted and serves reads and writes; the invitation used again,
//! expired or revoked is refused on every node; a node certificate revoked through the API can
//! no longer reach the cluster.

use crate::harness::{Cluster, bin};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Commands written before the new node joins; `JOIN_TEST_WRITES` changes it (the catch-up
/// times in the closing note come from larger runs).
fn writes() -> usize {
    std::env::var("JOIN_TEST_WRITES").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000)
}

pub(crate) fn wait_until(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Writes `n` small records through the leader from 16 clients at once (`JOIN_TEST_CLIENTS`
/// changes it: one client makes one log entry per write, many share entries).
fn write_many(c: &Cluster, leader: usize, n: usize) {
    let base = format!("http://{}", c.nodes[leader].http);
    let threads: usize = std::env::var("JOIN_TEST_CLIENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(16);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (base, token) = (base.clone(), c.token.clone());
            s.spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(Duration::from_secs(30)))
                    .http_status_as_error(false)
                    .build()
                    .into();
                for i in (t..n).step_by(threads) {
                    let body = json!({"id": format!("sup-{i}"), "name": format!("Leverantör {i}")});
                    let r = agent
                        .post(format!("{base}/api/v1/suppliers"))
                        .header("Authorization", &format!("Bearer {token}"))
                        .send_json(&body);
                    let status = r.map(|r| r.status().as_u16()).unwrap_or(0);
                    assert!(status == 201 || status == 200, "write {i}: {status}");
                }
            });
        }
    });
}

/// `beredd join` in `dir` with `invitation`; its stdout and stderr go to files there.
pub(crate) fn join(c: &Cluster, dir: &std::path::Path, invitation: &str) -> Child {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    let out = std::fs::File::create(dir.join("join.out")).unwrap_or_else(|e| panic!("{e}"));
    Command::new(bin())
        .current_dir(dir)
        .args(["join", invitation])
        .envs(c.node_env())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The joined node's process, stopped when the test ends, failed or not.
pub(crate) struct Joined(pub Child);

impl Drop for Joined {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `beredd join` that must be refused: its exit code and what it said.
fn refused_join(c: &Cluster, invitation: &str) -> String {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(bin())
        .current_dir(dir.path())
        .args(["join", invitation])
        .envs(c.node_env())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "joined with a bad invitation: {text}");
    assert!(!dir.path().join(format!("beredd-node{}", 0)).exists());
    text
}

/// The invitation with only member `i` to ask, so each node is asked in turn.
fn only(invitation: &str, c: &Cluster, i: usize) -> String {
    let mut t = web::InviteToken::decode(invitation).unwrap_or_else(|e| panic!("{e}"));
    t.peers.retain(|p| p.grpc == c.nodes[i].grpc);
    assert_eq!(t.peers.len(), 1);
    t.encode()
}

pub(crate) fn invite(c: &Cluster, i: usize, body: Value) -> (String, u64) {
    let (s, v) = c.post(i, "/api/v1/invitations", &body);
    assert_eq!(s, 201, "{v}");
    (v["invitation"].as_str().unwrap_or_default().to_owned(), v["node"].as_u64().unwrap_or_default())
}

#[test]
fn a_fourth_node_joins_by_invitation_catches_up_serves_and_is_cut_off_when_revoked() {
    // Snapshots every 2,000 entries, so the new node gets one and the log after it.
    let c = Cluster::start_tls_env(3, &[("BEREDD_RAFT_SNAPSHOT_LOGS", "2000")]);
    let leader = c.wait_leader();
    let f = (leader + 1) % 3;

    // Made early, so that it has expired by the end of the test.
    let (short, _) = invite(&c, f, json!({"name": "kort", "minutes": 1}));
    let n = writes();
    let started = Instant::now();
    write_many(&c, leader, n);
    let wrote = started.elapsed();
    let entries = c.status(leader)["last_log_index"].as_u64().unwrap_or(0);
    if n >= 20_000 {
        // Entries before the snapshot are gone from the log: the new node must take the snapshot.
        wait_until("the leader's log is purged up to a snapshot", 30, || {
            c.status(leader)["purged_index"].as_u64().unwrap_or(0) > 0
        });
    }

    // Staff may not invite; ops and admins may (the admin here), on any node.
    let nurse = c.create_user("kim", "communicator", &[])["api_token"].as_str().unwrap_or_default().to_owned();
    let (s, _) = c.post_as(f, "/api/v1/invitations", &json!({"name": "x"}), &nurse);
    assert_eq!(s, 403);
    let (invitation, node) = invite(&c, f, json!({"name": "laptop-akuten", "join_as": "voter"}));
    assert_eq!(node, 5, "the first id nobody has (4 went to the short one)");

    // The new machine joins, shows its catch-up and says when it has caught up.
    let home = c.dir.path().join("laptop");
    let asked = Instant::now();
    let mut child = Joined(join(&c, &home, &invitation));
    let stdout = child.0.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let said = lines.next().and_then(Result::ok).unwrap_or_default();
    let caught_up = asked.elapsed();
    assert!(said.contains("has caught up"), "{said}");
    let progress = std::fs::read_to_string(home.join("join.out")).unwrap_or_default();
    assert!(progress.contains("matches the invitation") && progress.contains("catching up:"), "{progress}");
    eprintln!(
        "join: {n} writes ({entries} log entries) in {:.1} s; the new node joined and caught up in {:.1} s",
        wrote.as_secs_f64(),
        caught_up.as_secs_f64()
    );
    let cfg = std::fs::read_to_string(home.join(format!("beredd-node{node}/beredd.toml"))).unwrap_or_default();
    let http = cfg.lines().find_map(|l| l.strip_prefix("advertise = \"http://")).map(|l| l.trim_end_matches('"'));
    let http = http.unwrap_or_else(|| panic!("{cfg}")).to_owned();
    let key = std::fs::metadata(home.join(format!("beredd-node{node}/tls/node{node}-key.pem")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777, 0o600);

    // It is a learner with the whole state; promoted, it serves reads and writes.
    wait_until("the new node is a learner", 20, || c.status(leader)["learners"] == json!([node]));
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let get4 = |path: &str| -> (u16, Value) {
        let mut r = agent
            .get(format!("http://{http}{path}"))
            .header("Authorization", &format!("Bearer {}", c.token))
            .call()
            .unwrap_or_else(|e| panic!("{e}"));
        (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
    };
    // The same state: equal digests at the same applied index.
    let mut last = (Value::Null, Value::Null);
    wait_until("the new node holds the same state as the leader", 30, || {
        let (d4, dl) = (
            get4("/api/v1/cluster?digest=true").1["state_digest"].clone(),
            c.get(leader, "/api/v1/cluster?digest=true").1["state_digest"].clone(),
        );
        last = (d4.clone(), dl.clone());
        d4.is_object() && d4 == dl
    });
    assert!(last.0["applied_index"].as_u64() >= Some(entries), "{last:?}");
    let (s, v) = c.post(f, &format!("/api/v1/cluster/members/{node}/promote"), &json!({}));
    assert_eq!(s, 200, "{v}");
    wait_until("the new node votes", 20, || c.status(leader)["voters"] == json!([1, 2, 3, node]));
    let mut r = agent
        .post(format!("http://{http}/api/v1/suppliers"))
        .header("Authorization", &format!("Bearer {}", c.token))
        .send_json(json!({"id": "sup-from-4", "name": "Written on node 4"}))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 201, "{:?}", r.body_mut().read_to_string());
    wait_until("the write is everywhere", 20, || c.get(leader, "/api/v1/suppliers/sup-from-4").0 == 200);
    let (s, v) = get4(&format!("/api/v1/suppliers/sup-{}", n - 1));
    assert_eq!((s, v["name"].as_str()), (200, Some(format!("Leverantör {}", n - 1).as_str())), "{v}");
    let history = c.get(leader, "/api/v1/cluster/members").1.to_string();
    assert!(history.contains("joined_by_invitation"), "{history}");

    // Used once: every node refuses it again, saying so.
    for i in 0..3 {
        let text = refused_join(&c, &only(&invitation, &c, i));
        assert!(text.contains("was used already"), "node {}: {text}", i + 1);
    }
    // Revoked before use: refused everywhere.
    let (spare, spare_node) = invite(&c, leader, json!({"name": "reserv", "join_as": "learner"}));
    let (s, v) = c.post(f, &format!("/api/v1/invitations/{spare_node}/revoke"), &json!({}));
    assert_eq!((s, v["state"].as_str()), (200, Some("revoked")), "{v}");
    for i in 0..3 {
        let text = refused_join(&c, &only(&spare, &c, i));
        assert!(text.contains("was revoked by admin"), "node {}: {text}", i + 1);
    }
    // Expired: refused everywhere.
    wait_until("the short invitation expired", 90, || {
        c.get(leader, "/api/v1/invitations").1["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i["name"] == "kort" && i["state"] == "expired"))
    });
    for i in 0..3 {
        let text = refused_join(&c, &only(&short, &c, i));
        assert!(text.contains("expired"), "node {}: {text}", i + 1);
    }
    // A forged invitation (the right node id, another secret) is refused and nothing changes.
    let mut forged = web::InviteToken::decode(&spare).unwrap_or_else(|e| panic!("{e}"));
    forged.node = 99;
    assert!(refused_join(&c, &forged.encode()).contains("no invitation for node 99"));

    // The new node's certificate opens the cluster's gRPC port; revoked, it is removed from
    // the members and its certificate opens nothing anywhere (each node within seconds).
    let tls = home.join(format!("beredd-node{node}/tls"));
    let status_with_its_cert = |i: usize| -> (bool, String) {
        let out = Command::new(bin())
            .args(["cluster", "--node", &c.nodes[i].grpc, "status"])
            .arg("--ca")
            .arg(tls.join("ca.pem"))
            .arg("--cert")
            .arg(tls.join(format!("node{node}.pem")))
            .arg("--key")
            .arg(tls.join(format!("node{node}-key.pem")))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (ok, text) = status_with_its_cert(leader);
    assert!(ok, "before revocation: {text}");
    let (s, v) = c.post(leader, &format!("/api/v1/invitations/{node}/revoke"), &json!({}));
    assert_eq!(s, 200, "{v}");
    wait_until("the new node is removed", 20, || c.status(leader)["voters"] == json!([1, 2, 3]));
    for i in 0..3 {
        wait_until(&format!("node {} refuses the revoked certificate", i + 1), 5, || {
            let (ok, text) = status_with_its_cert(i);
            !ok && text.contains("revoked")
        });
    }
    // Who revoked it is recorded with the invitation (the whole audit trail is too long to
    // read back here after the largest runs).
    let items = c.get(f, "/api/v1/invitations").1["items"].clone();
    let revoked = items.as_array().and_then(|a| a.iter().find(|i| i["node"] == node)).cloned().unwrap_or_default();
    assert_eq!(
        (revoked["state"].as_str(), revoked["revoked_by"].as_str()),
        (Some("revoked"), Some("admin")),
        "{items}"
    );
    drop(child);
}
