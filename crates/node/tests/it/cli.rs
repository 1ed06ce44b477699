//! The `beredd` command line against real nodes: help, cluster status and membership changes,
//! configuration errors.

use crate::harness::{Cluster, bin};
use std::process::Command;
use std::time::{Duration, Instant};

fn beredd(args: &[&str]) -> (bool, String) {
    let out = Command::new(bin()).args(args).output().unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn help_names_every_subcommand() {
    let (ok, text) = beredd(&["--help"]);
    assert!(ok, "{text}");
    for sub in ["serve", "demo", "cluster"] {
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
