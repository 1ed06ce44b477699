//! Mutual TLS between nodes: a cluster built with `beredd certs` replicates as usual; the
//! `beredd` commands need a certificate from the cluster CA; a node whose certificate comes from
//! another CA gets nothing from the cluster.

use crate::harness::{Cluster, bin};
use std::process::Command;
use std::time::Duration;

fn beredd(args: &[String]) -> (bool, String) {
    let out = Command::new(bin()).args(args).output().expect("run beredd");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn only_holders_of_a_cluster_certificate_take_part() {
    let mut c = Cluster::start_tls(3);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 1);
    let f = (leader + 1) % 3;
    let (s, v) = c.post(f, "/api/v1/orders", &Cluster::order_body("over-tls"));
    assert_eq!(s, 201, "a write forwarded over mutual TLS: {v}");

    let ca = c.tls.clone().expect("tls dir");
    let status = |extra: Vec<String>| {
        let mut args = vec!["cluster".to_owned(), "status".into(), "--node".into(), c.nodes[f].grpc.clone()];
        args.extend(extra);
        beredd(&args)
    };
    let (ok, text) = status(c.cli_tls_args("cli"));
    assert!(ok && text.contains("voters [1,2,3]"), "{text}");
    let (ok, _) = status(vec![]);
    assert!(!ok, "plain gRPC must be refused");

    // A second CA: its certificates are worth nothing to this cluster.
    let other = c.dir.path().join("other-ca");
    let other_s = other.display().to_string();
    assert!(beredd(&["certs".into(), "init".into(), "--dir".into(), other_s.clone()]).0);
    for name in ["node4", "cli"] {
        assert!(
            beredd(&["certs".into(), "issue".into(), "--dir".into(), other_s.clone(), "--name".into(), name.into()]).0
        );
    }
    let rogue_cli = vec![
        "--ca".to_owned(),
        other.join("ca.pem").display().to_string(),
        "--cert".into(),
        other.join("cli.pem").display().to_string(),
        "--key".into(),
        other.join("cli-key.pem").display().to_string(),
    ];
    let (ok, text) = status(rogue_cli);
    assert!(!ok, "a certificate from another CA was accepted: {text}");
    // Trusting the cluster's CA but presenting the other CA's certificate: only the server's
    // check of client certificates can refuse this one.
    let mixed = vec![
        "--ca".to_owned(),
        ca.join("ca.pem").display().to_string(),
        "--cert".into(),
        other.join("cli.pem").display().to_string(),
        "--key".into(),
        other.join("cli-key.pem").display().to_string(),
    ];
    let (ok, text) = status(mixed);
    assert!(!ok, "the node accepted a client certificate from another CA: {text}");

    // A node with the other CA's certificate, added by a legitimate operator, never gets data.
    let four = c.add_node(4);
    let cfg = std::fs::read_to_string(&c.nodes[four].config).expect("config");
    let tls =
        format!("[tls]\nca = \"{0}/ca.pem\"\ncert = \"{0}/node4.pem\"\nkey = \"{0}/node4-key.pem\"\n", other.display());
    std::fs::write(&c.nodes[four].config, cfg.replacen("[grpc]", &format!("{tls}[grpc]"), 1)).expect("write");
    c.kill(four);
    c.spawn(four);
    let mut args = vec!["cluster".to_owned(), "add-learner".into(), "--node".into(), c.nodes[leader].grpc.clone()];
    args.extend(["--id".into(), "4".into(), "--http".into(), format!("http://{}", c.nodes[four].http)]);
    args.extend(["--grpc".into(), c.nodes[four].grpc.clone()]);
    args.extend(c.cli_tls_args("cli"));
    let (ok, text) = beredd(&args);
    assert!(ok, "{text}");
    std::thread::sleep(Duration::from_secs(3));
    let st = c.status(four);
    assert_eq!(st["last_applied_index"], 0, "the rogue node received data: {st}");
    assert_eq!(st["initialized"], false, "{st}");
    assert!(c.status(leader)["lag"]["4"].as_u64().unwrap_or(0) > 0);
}
