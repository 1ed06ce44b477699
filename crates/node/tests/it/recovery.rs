//! Backup, restore and recovery from a lone survivor, with real processes: every committed order
//! survives, a restored cluster has the source's state digest, and a damaged backup changes
//! nothing.

use crate::harness::{Cluster, bin};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

fn beredd(args: &[&str]) -> (bool, String) {
    let out = Command::new(bin()).args(args).output().unwrap_or_else(|e| panic!("{e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn digest(c: &Cluster, i: usize) -> String {
    c.get(i, "/api/v1/cluster?digest=true").1["state_digest"]["sha256"].as_str().unwrap_or_default().to_owned()
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The digest a `beredd backup` printed.
fn printed_digest(text: &str) -> String {
    text.lines().find_map(|l| l.strip_prefix("state digest ")).unwrap_or_default().trim().to_owned()
}

/// Restores `file` as new node `id`, starts it, checks it has the backup's digest, stops it:
/// every backup a test makes is restored once.
fn restores_to(c: &mut Cluster, file: &std::path::Path, id: u64, digest_printed: &str, keys: &[&str]) {
    let i = c.configure_node(id);
    let config = c.nodes[i].config.display().to_string();
    let mut args = vec!["restore", file.to_str().unwrap_or_default(), "--config", &config, "--yes"];
    args.extend(keys);
    let (ok, text) = beredd(&args);
    assert!(ok, "{text}");
    assert!(text.lines().any(|l| l.starts_with("restore: ") && l.contains("records (100%)")), "{text}");
    c.spawn(i);
    wait_until("the restored node leads", || c.status(i)["role"] == "leader");
    assert_eq!(digest(c, i), digest_printed, "{} restored to another state", file.display());
    c.stop(i);
}

#[test]
fn a_learner_recovers_every_committed_order_after_every_voter_is_lost() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 2);
    let node = c.nodes[leader].grpc.clone();
    let four = c.add_node(4);
    let (http, grpc) = (format!("http://{}", c.nodes[four].http), c.nodes[four].grpc.clone());
    let (ok, text) =
        beredd(&["cluster", "--node", &node, "add-learner", "--id", "4", "--http", &http, "--grpc", &grpc]);
    assert!(ok, "{text}");
    // Orders placed through every voter; each answered 201, so each is committed.
    let mut placed = Vec::new();
    for n in 0..12 {
        let id = format!("before-loss-{n}");
        let (s, v) = c.post(n % 3, "/api/v1/orders", &Cluster::order_body(&id));
        assert_eq!(s, 201, "{v}");
        placed.push(id);
    }
    let last = c.status(leader)["last_log_index"].as_u64().unwrap_or(0);
    c.wait_applied(four, last);
    let config = c.nodes[four].config.display().to_string();

    // While the voters still have a majority, recovery is refused and changes nothing.
    c.stop(four);
    let (ok, text) = beredd(&["recover", "--config", &config, "--force-new-cluster", "--yes"]);
    assert!(!ok, "{text}");
    assert!(text.contains("refused") && text.contains("3 of the old cluster's 3 voters answer"), "{text}");
    c.spawn(four);
    c.wait_applied(four, last);

    // Every voter is lost for good. The learner is all that is left; its backup says it is stale.
    for i in 0..3 {
        c.kill(i);
    }
    let out = c.dir.path().join("from-learner.brd");
    let pass = c.dir.path().join("passphrase.txt");
    std::fs::write(&pass, "en lång lösenfras för usb-stickan\n").unwrap();
    let pass_s = pass.to_str().unwrap_or_default();
    let (ok, text) =
        beredd(&["backup", "--node", &grpc, "--out", out.to_str().unwrap_or_default(), "--passphrase-file", pass_s]);
    assert!(ok, "{text}");
    assert!(text.contains("WITHOUT A MAJORITY"), "{text}");
    // Without a terminal, progress comes as plain lines: the last one says how much and how long.
    let line = text.lines().find(|l| l.starts_with("backup: ") && l.contains("done in"));
    assert!(line.is_some_and(|l| l.contains("(100%)")), "{text}");
    restores_to(&mut c, &out, 7, &printed_digest(&text), &["--passphrase-file", pass_s]);
    c.stop(four);

    // Without --force-new-cluster it only explains; without --yes (and no terminal) it asks.
    let (ok, text) = beredd(&["recover", "--config", &config]);
    assert!(ok, "{text}");
    assert!(text.contains("0 of 3 voters answer") && text.contains("Nothing changed"), "{text}");
    let (ok, text) = beredd(&["recover", "--config", &config, "--force-new-cluster"]);
    assert!(!ok && text.contains("--yes"), "{text}");

    let started = Instant::now();
    let (ok, text) = beredd(&["recover", "--config", &config, "--force-new-cluster", "--yes"]);
    assert!(ok, "{text}");
    assert!(text.contains("recovered in"), "{text}");
    let line = text.lines().find(|l| l.starts_with("replaying the log: ") && l.contains("done in"));
    assert!(line.is_some(), "{text}");
    c.spawn(four);
    let (s, v) = c.post(four, "/api/v1/orders", &Cluster::order_body("after-recovery"));
    assert_eq!(s, 201, "{v}");
    eprintln!("recovery: from `beredd recover` to the first saved order {:?}", started.elapsed());
    let st = c.status(four);
    assert_eq!((st["role"].as_str(), st["voters"].clone()), (Some("leader"), serde_json::json!([4])), "{st}");
    let ids = c.order_ids(four);
    for id in &placed {
        assert_eq!(ids.iter().filter(|x| *x == id).count(), 1, "{id} in {ids:?}");
    }

    // New nodes join the recovered cluster under new ids; old ids stay retired.
    let five = c.add_node(5);
    let (h5, g5) = (format!("http://{}", c.nodes[five].http), c.nodes[five].grpc.clone());
    let (ok, text) = beredd(&["cluster", "--node", &grpc, "add-learner", "--id", "5", "--http", &h5, "--grpc", &g5]);
    assert!(ok, "{text}");
    let (ok, text) = beredd(&["cluster", "--node", &grpc, "promote", "--id", "5"]);
    assert!(ok && text.contains("voters [4,5]"), "{text}");
    wait_until("node 5 has every order", || c.order_ids(five).len() == placed.len() + 1);
    let (ok, text) = beredd(&["cluster", "--node", &grpc, "add-learner", "--id", "2", "--http", &h5, "--grpc", &g5]);
    assert!(!ok && text.contains("never reused"), "{text}");
}

#[test]
fn a_backup_restores_into_a_new_cluster_with_the_same_state_and_a_damaged_one_is_refused() {
    let mut c = Cluster::start(3, &[]);
    let leader = c.wait_leader();
    c.seed_catalog(leader, 3);
    for n in 0..5 {
        let (s, v) = c.post(leader, "/api/v1/orders", &Cluster::order_body(&format!("backed-up-{n}")));
        assert_eq!(s, 201, "{v}");
    }
    let follower = (leader + 1) % 3;
    let last = c.status(leader)["last_applied_index"].as_u64().unwrap_or(0);
    c.wait_applied(follower, last);
    let source_digest = digest(&c, follower);

    let file = c.dir.path().join("cluster.brd");
    let file_s = file.to_str().unwrap_or_default().to_owned();
    // Backups are encrypted: without a key or an explicit --unencrypted nothing is written.
    let (ok, text) = beredd(&["backup", "--node", &c.nodes[follower].grpc, "--out", &file_s]);
    assert!(!ok && text.contains("--recipient"), "{text}");
    let key = c.dir.path().join("backup-key.txt");
    let key_s = key.to_str().unwrap_or_default().to_owned();
    let (ok, recipient) = beredd(&["backup-key", "--out", &key_s]);
    assert!(ok && recipient.trim().starts_with("age1"), "{recipient}");
    let (ok, text) =
        beredd(&["backup", "--node", &c.nodes[follower].grpc, "--out", &file_s, "--recipient", recipient.trim()]);
    assert!(ok, "{text}");
    let sealed = std::fs::read(&file).unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1"), "the file is an age file");
    assert!(!sealed.windows(6).any(|w| w == b"argon2"), "no password hash in the clear");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(text.contains(&format!("state digest {source_digest}")), "{text}");
    assert!(text.contains("was in touch with a majority"), "{text}");

    // A damaged copy and a foreign file are refused, and the target folder stays empty.
    let nine = c.configure_node(9);
    let config = c.nodes[nine].config.display().to_string();
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    let damaged = c.dir.path().join("damaged.brd");
    std::fs::write(&damaged, &bytes).unwrap();
    let (ok, text) =
        beredd(&["restore", damaged.to_str().unwrap_or_default(), "--config", &config, "--yes", "--identity", &key_s]);
    assert!(!ok && text.contains("is damaged") && text.contains("nothing was changed"), "{text}");
    let (ok, text) = beredd(&["restore", &file_s, "--config", &config, "--yes"]);
    assert!(!ok && text.contains("is encrypted"), "{text}");
    let foreign = c.dir.path().join("orders.csv");
    std::fs::write(&foreign, "id;unit_id\n1;ost-iva\n").unwrap();
    let (ok, text) = beredd(&["restore", foreign.to_str().unwrap_or_default(), "--config", &config, "--yes"]);
    assert!(!ok && text.contains("not a beredd backup"), "{text}");
    let data = c.nodes[nine].config.parent().unwrap().join("data");
    assert!(!data.join("db").exists(), "a refused restore left data behind");

    let (ok, text) = beredd(&["restore", &file_s, "--config", &config, "--yes", "--identity", &key_s]);
    assert!(ok, "{text}");
    c.spawn(nine);
    wait_until("the restored node leads", || c.status(nine)["role"] == "leader");
    assert_eq!(digest(&c, nine), source_digest, "restored state differs from the source");
    let (s, order): (u16, Value) = c.get(nine, "/api/v1/orders/backed-up-4");
    assert_eq!(s, 200, "{order}");
    // It is a new cluster: writes land there, not in the old one.
    let (s, v) = c.post(nine, "/api/v1/orders", &Cluster::order_body("restored-cluster-only"));
    assert_eq!(s, 201, "{v}");
    assert_eq!(c.get(leader, "/api/v1/orders/restored-cluster-only").0, 404);

    // The source cluster renames a supplier and adds an article; its next backup merges into the
    // restored cluster: a dry run reports and saves nothing, then exactly those two change.
    let (s, v) = c.put(
        leader,
        "/api/v1/suppliers/sup-1",
        &serde_json::json!({
        "id": "sup-1", "name": "Medilux Nordic AB", "gln": "7350000000016", "version": 1}),
    );
    assert_eq!(s, 200, "{v}");
    let article = serde_json::json!({"id": "art-new", "article_number": "ML-NEW", "name": "Munskydd IIR",
        "unit": "BX", "pack_size": 50, "supplier_id": "sup-1", "category": "Skydd"});
    let (s, v) = c.post(leader, "/api/v1/articles", &article);
    assert_eq!(s, 201, "{v}");
    let newer = c.dir.path().join("newer.brd");
    let (ok, text) = beredd(&[
        "backup",
        "--node",
        &c.nodes[leader].grpc,
        "--out",
        newer.to_str().unwrap_or_default(),
        "--unencrypted",
    ]);
    assert!(ok, "{text}");
    restores_to(&mut c, &newer, 8, &printed_digest(&text), &[]);
    let url = format!("http://{}", c.nodes[nine].http);
    let newer_s = newer.to_str().unwrap_or_default();
    let (ok, text) = beredd(&["import", newer_s, "--http", &url, "--token", &c.token, "--dry-run"]);
    assert!(ok, "{text}");
    assert!(text.contains("  ~ supplier sup-1") && text.contains("  + article art-new"), "{text}");
    assert!(text.contains("1 added, 1 changed") && text.contains("dry run"), "{text}");
    assert_eq!(c.get(nine, "/api/v1/articles/art-new").0, 404, "a dry run saved something");
    let (ok, text) = beredd(&["import", newer_s, "--http", &url, "--token", &c.token]);
    assert!(ok && text.contains("1 added, 1 changed"), "{text}");
    assert_eq!(c.get(nine, "/api/v1/suppliers/sup-1").1["name"], "Medilux Nordic AB");
    assert_eq!(c.get(nine, "/api/v1/articles/art-new").0, 200);
    let (ok, text) = beredd(&["import", newer_s, "--http", &url, "--token", &c.token]);
    assert!(ok && text.contains("0 added, 0 changed"), "merging twice changed something: {text}");
    let damaged_s = damaged.to_str().unwrap_or_default();
    let (ok, text) = beredd(&["import", damaged_s, "--http", &url, "--token", &c.token, "--identity", &key_s]);
    assert!(!ok && text.contains("is damaged"), "{text}");

    // A second restore into the same (now used) folder is refused.
    c.stop(nine);
    let (ok, text) = beredd(&["restore", &file_s, "--config", &config, "--yes", "--identity", &key_s]);
    assert!(!ok && text.contains("already holds a node's data"), "{text}");
}
