//! `beredd demo` as DESIGN.md specifies it: three children, `demo-cluster.json`, demo data,
//! a node killed by hand rejoins from its config, SIGTERM stops everything, a second run reuses
//! the data.

use crate::harness::{Cluster, bin};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A base port P below the ephemeral range such that P..P+2 and P+1000..P+1002 are free.
fn free_base() -> u16 {
    for _ in 0..50 {
        let p = crate::harness::free_port();
        let ok = [p, p + 1, p + 2, p + 1000, p + 1001, p + 1002]
            .iter()
            .all(|q| std::net::TcpListener::bind(("127.0.0.1", *q)).is_ok());
        if ok {
            return p;
        }
    }
    panic!("no free port range");
}

/// Starts the demo and returns it once it printed that it runs, with everything it printed.
fn start_demo(dir: &std::path::Path, base: u16) -> (Child, String) {
    let mut child = Command::new(bin())
        .args(["demo", "--data"])
        .arg(dir)
        .args(["--base-port", &base.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let out = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
                if line.contains("stop with Ctrl-C") {
                    return (child, text);
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("demo did not start; it printed:\n{text}");
            }
        }
    }
}

fn get_with(url: &str, token: &str) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(url);
    if !token.is_empty() {
        req = req.header("Authorization", &format!("Bearer {token}"));
    }
    req.call().and_then(|mut r| r.body_mut().read_json()).unwrap_or(Value::Null)
}

fn get(url: &str) -> Value {
    get_with(url, "")
}

fn credentials(dir: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("credentials.json")).unwrap_or_default()).unwrap_or(Value::Null)
}

fn alive(pid: u64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

/// Stops the demo with SIGTERM when dropped (also when a test fails), so no nodes are left behind.
struct DemoGuard(Option<Child>);

impl Drop for DemoGuard {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            stop(c);
        }
    }
}

/// Waits until all nodes report the same applied index, so counts agree.
fn settle(nodes: &[Value]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let applied: Vec<Value> = nodes
            .iter()
            .map(|n| {
                get(&format!("{}/api/v1/cluster", n["http"].as_str().unwrap_or_default()))["last_applied_index"].clone()
            })
            .collect();
        if applied.iter().all(|a| a.is_u64() && *a == applied[0]) {
            return;
        }
        assert!(Instant::now() < deadline, "nodes did not converge: {applied:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "demo exited with {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("demo ignored SIGTERM");
}

#[test]
fn demo_runs_three_nodes_with_data_and_a_second_run_reuses_it() {
    // Share the one-cluster-at-a-time lock with the other tests.
    let _c = Cluster::start(0, &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let base = free_base();
    let (demo, printed) = start_demo(dir.path(), base);
    let mut demo = DemoGuard(Some(demo));
    assert!(printed.contains("commands sent"), "{printed}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("demo-cluster.json")).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    let nodes = manifest["nodes"].as_array().cloned().unwrap_or_default();
    assert_eq!(nodes.len(), 3);
    for (i, n) in nodes.iter().enumerate() {
        assert_eq!(n["id"], i as u64 + 1);
        assert_eq!(n["http"], format!("http://127.0.0.1:{}", base + i as u16));
        assert!(n["grpc"].as_str().is_some_and(|g| g.starts_with("127.0.0.1:")));
        assert!(alive(n["pid"].as_u64().unwrap_or(0)), "node {i} not running");
        assert!(std::path::Path::new(n["config"].as_str().unwrap_or("")).exists());
    }
    settle(&nodes);
    // The demo prints an admin login and an API token and keeps them in credentials.json.
    let creds = credentials(dir.path());
    let token = creds["api_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(creds["admin_user"], "admin");
    assert!(creds["admin_password"].as_str().is_some_and(|p| p.len() >= 10), "{creds}");
    assert!(printed.contains(&token), "{printed}");
    let http = |i: usize| nodes[i]["http"].as_str().unwrap_or_default().to_owned();
    let count = |i: usize, what: &str| {
        get_with(&format!("{}/api/v1/{what}?limit=500", http(i)), &token)["items"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(get(&format!("{}/api/v1/orders", http(0)))["error"]["code"], "auth.required");
    assert!(count(1, "suppliers") >= 5);
    assert!(count(1, "units") >= 6);
    assert!(count(2, "articles") >= 250);
    let orders = count(2, "orders");
    assert!(orders >= 30, "{orders} orders");

    // A node killed by hand comes back with `beredd serve --config <its config>` and rejoins.
    let pid3 = nodes[2]["pid"].as_u64().unwrap_or(0);
    let _ = Command::new("kill").arg("-KILL").arg(pid3.to_string()).status();
    let mut again = Command::new(bin())
        .args(["serve", "--config", nodes[2]["config"].as_str().unwrap_or_default()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = get(&format!("{}/api/v1/cluster", http(2)));
        if st["leader_id"].is_u64() && st["quorum"] == true && count(2, "orders") == orders {
            break;
        }
        assert!(Instant::now() < deadline, "node 3 did not rejoin: {st}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = again.kill();
    let _ = again.wait();

    if let Some(d) = demo.0.take() {
        stop(d);
    }
    for n in &nodes[..2] {
        assert!(!alive(n["pid"].as_u64().unwrap_or(0)), "demo left node {} running", n["id"]);
    }

    // Second run on the same folder: same data, nothing seeded twice.
    let (demo, printed) = start_demo(dir.path(), base);
    let _demo = DemoGuard(Some(demo));
    assert!(printed.contains("(0 commands sent)"), "{printed}");
    assert_eq!(credentials(dir.path()), creds, "a second run keeps the credentials");
    settle(&nodes);
    assert_eq!(count(0, "orders"), orders);
}
