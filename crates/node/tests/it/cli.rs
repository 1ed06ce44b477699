//! The `beredd` command line against real nodes: help, cluster status and membership changes,
//! configuration errors.

use crate::harness::{Cluster, bin};
use std::process::Command;
use std::time::{Duration, Instant};

pub fn beredd(args: &[&str]) -> (bool, String) {
    let out = Command::new(bin()).args(args).output().unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn help_names_every_subcommand() {
    let (ok, text) = beredd(&["--help"]);
    assert!(ok, "{text}");
    for sub in ["serve", "demo", "cluster", "backup", "restore", "recover", "import", "drill", "user", "certs"] {
        assert!(text.contains(sub), "{text}");
    }
    let (ok, text) = beredd(&["cluster", "--help"]);
    assert!(ok);
    for sub in ["status", "add-learner", "promote", "remove"] {
        assert!(text.contains(sub), "{text}");
    }
}

#[test]
fn a_config_with_an_unknown_key_is_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("n.toml");
    std::fs::write(&p, "[node]\nid = 1\ndata_dir = \"d\"\ncolour = \"blue\"\n[http]\nlisten = \"127.0.0.1:1\"\nadvertise = \"http://x\"\n[grpc]\nlisten = \"127.0.0.1:2\"\nadvertise = \"x:2\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let (ok, text) = beredd(&["serve", "--config", p.to_str().unwrap_or_default()]);
    assert!(!ok);
    assert!(text.contains("colour"), "{text}");
}

#[test]
fn learner_is_added_promoted_removed_and_its_id_never_reused() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 3);
    // Talk to a follower: the CLI follows the leader for membership changes.
    let f = (leader + 1) % 3;
    let node = c.nodes[f].grpc.clone();
    let (ok, text) = beredd(&["cluster", "--node", &node, "status"]);
    assert!(ok, "{text}");
    assert!(text.contains("voters [1,2,3]"), "{text}");

    let four = c.add_node(4);
    let (http, grpc) = (format!("http://{}", c.nodes[four].http), c.nodes[four].grpc.clone());
    let (ok, text) =
        beredd(&["cluster", "--node", &node, "add-learner", "--id", "4", "--http", &http, "--grpc", &grpc]);
    assert!(ok, "{text}");
    assert!(text.contains("learners [4]"), "{text}");
    // The learner gets a full copy and serves it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.get(four, "/api/v1/articles").1["items"].as_array().map(Vec::len) != Some(3) {
        assert!(Instant::now() < deadline, "learner did not catch up");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(c.status(four)["role"], "learner");

    let (ok, text) = beredd(&["cluster", "--node", &node, "promote", "--id", "4"]);
    assert!(ok, "{text}");
    assert!(text.contains("voters [1,2,3,4]"), "{text}");

    let (ok, text) = beredd(&["cluster", "--node", &node, "remove", "--id", "4"]);
    assert!(ok, "{text}");
    assert!(text.contains("voters [1,2,3]"), "{text}");
    c.kill(four);

    let (ok, text) =
        beredd(&["cluster", "--node", &node, "add-learner", "--id", "4", "--http", &http, "--grpc", &grpc]);
    assert!(!ok, "a removed id was accepted again: {text}");
    assert!(text.contains("never reused"), "{text}");
}

#[test]
fn leadership_moves_on_request_and_before_a_leader_stops() {
    let mut c = Cluster::start(3, &[]);
    let old = c.wait_leader();
    c.seed_catalog(old, 1);
    let to = (old + 1) % 3;
    let to_id = c.nodes[to].id.to_string();
    // Asked through the third node: the CLI follows the leader.
    let node = c.nodes[(old + 2) % 3].grpc.clone();
    let started = Instant::now();
    let (ok, text) = beredd(&["cluster", "--node", &node, "transfer-leader", "--to", &to_id]);
    assert!(ok, "{text}");
    eprintln!("transfer-leader took {:?}", started.elapsed());
    assert!(text.contains(&format!("leader {to_id}")), "{text}");
    assert_eq!(c.wait_leader(), to);
    let (ok, text) = beredd(&["cluster", "--node", &node, "transfer-leader", "--to", "9"]);
    assert!(!ok && text.contains("not a voter"), "{text}");
    // Writes go on, through the old leader too.
    for (n, i) in [old, to, (old + 2) % 3].into_iter().enumerate() {
        let (s, v) = c.post(i, "/api/v1/orders", &Cluster::order_body(&format!("after-transfer-{n}")));
        assert_eq!(s, 201, "{v}");
    }

    // SIGTERM: the leader hands over before it stops, so the others are not left to time out.
    c.stop(to);
    assert!(c.log(to).contains("leadership handed over"), "{}", c.log(to));
    let next = c.wait_leader();
    assert_ne!(next, to);
    let (s, v) = c.post(next, "/api/v1/orders", &Cluster::order_body("after-stop"));
    assert_eq!(s, 201, "{v}");
}
