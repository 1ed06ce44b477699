//! Starts and stops real `beredd serve` processes and talks to them over HTTP.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Clusters are heavy on a 2-core machine: run one test cluster at a time.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_beredd")
}

/// A free port below the kernel's ephemeral range (32768 and up here), so that outgoing
/// connections of the other nodes cannot take a stopped node's port before it restarts.
/// The test venv's Python (`scripts/ensure-venv.sh`: lxml, saxonche, aiosmtpd), or
/// `PEPPOL_PYTHON`, or the system's.
pub fn venv_python() -> std::path::PathBuf {
    std::env::var("PEPPOL_PYTHON").map(std::path::PathBuf::from).unwrap_or_else(|_| {
        let venv =
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/beredd-venv/bin/python");
        if venv.exists() { venv } else { "python3".into() }
    })
}

pub fn free_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let _ = NEXT.compare_exchange(0, 12000 + (std::process::id() % 500) as u16 * 20, SeqCst, SeqCst);
    loop {
        let p = NEXT.fetch_add(1, SeqCst);
        assert!(p < 30000, "ran out of test ports");
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
}

pub struct Node {
    pub id: u64,
    pub http: String,
    pub grpc: String,
    pub config: PathBuf,
    pub log: PathBuf,
    pub child: Option<Child>,
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<Node>,
    env: Vec<(String, String)>,
    agent: ureq::Agent,
    /// The admin's API token, sent with every request unless another is given.
    pub token: String,
    /// With mutual TLS between nodes: the CA folder (ca.pem, node<N>.pem, cli.pem, …).
    pub tls: Option<PathBuf>,
    _serial: MutexGuard<'static, ()>,
}

/// Fast timings for tests; production defaults are slower (see config.rs).
const TEST_ENV: &[(&str, &str)] = &[
    ("BEREDD_RAFT_HEARTBEAT_MS", "50"),
    ("BEREDD_RAFT_ELECTION_MIN_MS", "300"),
    ("BEREDD_RAFT_ELECTION_MAX_MS", "600"),
    ("BEREDD_WRITE_TIMEOUT_MS", "3000"),
];

impl Cluster {
    /// Writes configs for `n` nodes (node 1 bootstraps) and starts them all.
    pub fn start(n: u64, extra_env: &[(&str, &str)]) -> Self {
        Self::start_with(n, extra_env, false, "")
    }

    /// Like [`Cluster::start`], with `toml` added to every node's configuration (sections the
    /// environment cannot express, such as arrays of tables).
    pub fn start_config(n: u64, toml: &str) -> Self {
        Self::start_with(n, &[], false, toml)
    }

    /// Like [`Cluster::start`], with mutual TLS between nodes from a fresh cluster CA.
    pub fn start_tls(n: u64) -> Self {
        Self::start_with(n, &[], true, "")
    }

    /// Like [`Cluster::start_tls`], with more environment for every node.
    pub fn start_tls_env(n: u64, extra_env: &[(&str, &str)]) -> Self {
        Self::start_with(n, extra_env, true, "")
    }

    /// The environment every node gets (fast test timings and the test's own).
    pub fn node_env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    fn start_with(n: u64, extra_env: &[(&str, &str)], tls: bool, extra_toml: &str) -> Self {
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut nodes: Vec<Node> = (1..=n)
            .map(|id| {
                let http = format!("127.0.0.1:{}", free_port());
                let grpc = format!("127.0.0.1:{}", free_port());
                let nd = dir.path().join(format!("node{id}"));
                std::fs::create_dir_all(&nd).unwrap_or_else(|e| panic!("{e}"));
                Node { id, http, grpc, config: nd.join("node.toml"), log: nd.join("node.log"), child: None }
            })
            .collect();
        let members: String = nodes
            .iter()
            .map(|m| {
                format!("\n[[cluster.members]]\nid = {}\nhttp = \"http://{}\"\ngrpc = \"{}\"\n", m.id, m.http, m.grpc)
            })
            .collect();
        let tls_dir = tls.then(|| {
            let d = dir.path().join("ca");
            let d_str = d.to_str().unwrap_or_default().to_owned();
            assert!(Command::new(bin()).args(["certs", "init", "--dir", &d_str]).status().is_ok_and(|s| s.success()));
            // Node certificates for the nodes, an operator's for the `beredd` commands.
            let issue = |args: &[&str]| {
                let ok = Command::new(bin()).args(["certs", "issue", "--dir", &d_str]).args(args).status();
                assert!(ok.is_ok_and(|s| s.success()), "issuing {args:?}");
            };
            for i in 1..=n {
                issue(&["--node", &i.to_string()]);
            }
            issue(&["--name", "cli"]);
            // The issuing CA every node holds, for nodes that join by invitation.
            let ok = Command::new(bin()).args(["certs", "issuing", "--dir", &d_str]).status();
            assert!(ok.is_ok_and(|s| s.success()), "making the issuing CA");
            d
        });
        for node in &nodes {
            let tls_section = match &tls_dir {
                Some(d) => format!(
                    "[tls]\nca = \"{0}/ca.pem\"\ncert = \"{0}/node{1}.pem\"\nkey = \"{0}/node{1}-key.pem\"\nissuing_cert = \"{0}/issuing.pem\"\nissuing_key = \"{0}/issuing-key.pem\"\n",
                    d.display(),
                    node.id
                ),
                None => String::new(),
            };
            let cfg = format!(
                "[node]\nid = {}\ndata_dir = \"data\"\n[http]\nlisten = \"{h}\"\nadvertise = \"http://{h}\"\n[grpc]\nlisten = \"{g}\"\nadvertise = \"{g}\"\n{tls_section}[outbound]\ntest_receivers = true\n[cluster]\nbootstrap = {}\n{members}\n{extra_toml}",
                node.id,
                node.id == 1,
                h = node.http,
                g = node.grpc,
            );
            std::fs::write(&node.config, cfg).unwrap_or_else(|e| panic!("{e}"));
        }
        let env = TEST_ENV.iter().chain(extra_env).map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(15)))
            .http_status_as_error(false)
            .build()
            .into();
        let mut c = Cluster { dir, nodes: Vec::new(), env, agent, token: String::new(), tls: tls_dir, _serial: serial };
        c.nodes.append(&mut nodes);
        for i in 0..c.nodes.len() {
            c.spawn(i);
        }
        if !c.nodes.is_empty() {
            c.wait_leader();
            c.token = c.create_user("admin", "admin", &[])["api_token"].as_str().unwrap_or_default().to_owned();
            // Every node must know the token before a test uses it anywhere.
            let deadline = Instant::now() + Duration::from_secs(20);
            for i in 0..c.nodes.len() {
                while c.get(i, "/api/v1/me").0 != 200 {
                    assert!(Instant::now() < deadline, "node {} never learned the admin token", c.nodes[i].id);
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
        c
    }

    /// `--ca/--cert/--key` for a CLI call with certificate `name` from the cluster CA, if TLS is on.
    pub fn cli_tls_args(&self, name: &str) -> Vec<String> {
        match &self.tls {
            Some(d) => vec![
                "--ca".into(),
                d.join("ca.pem").display().to_string(),
                "--cert".into(),
                d.join(format!("{name}.pem")).display().to_string(),
                "--key".into(),
                d.join(format!("{name}-key.pem")).display().to_string(),
            ],
            None => Vec::new(),
        }
    }

    /// `beredd user create` against node 1; returns what it printed (user, password, api_token).
    /// It speaks as the cluster itself, so with TLS it needs a node's certificate.
    pub fn create_user(&self, id: &str, role: &str, units: &[&str]) -> Value {
        let mut cmd = Command::new(bin());
        cmd.args(["user", "create", "--node", &self.nodes[0].grpc, "--id", id, "--role", role]);
        cmd.args(self.cli_tls_args("node1"));
        for u in units {
            cmd.args(["--unit", u]);
        }
        let out = cmd.output().unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "user create failed: {}", String::from_utf8_lossy(&out.stderr));
        // The account is usable on every running node before the test goes on.
        let index = self.status(0)["last_applied_index"].as_u64().unwrap_or(0);
        for i in self.running() {
            self.wait_applied(i, index);
        }
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    pub fn idx(&self, id: u64) -> usize {
        self.nodes.iter().position(|n| n.id == id).unwrap_or_else(|| panic!("no node {id}"))
    }

    pub fn spawn(&mut self, i: usize) {
        self.spawn_unwaited(i);
        self.wait_http(i);
    }

    /// Starts node `i` without waiting for it to serve (it may be meant to stop by itself).
    pub fn spawn_unwaited(&mut self, i: usize) {
        let node = &self.nodes[i];
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(&node.log).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(bin())
            .args(["serve", "--config"])
            .arg(&node.config)
            .envs(self.env.iter().cloned())
            .stdout(Stdio::from(log.try_clone().unwrap_or_else(|e| panic!("{e}"))))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("spawning beredd: {e}"));
        self.nodes[i].child = Some(child);
    }

    fn wait_http(&self, i: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.agent.get(format!("http://{}/healthz", self.nodes[i].http)).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("node {} did not start; log:\n{}", self.nodes[i].id, self.log(i));
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a graceful exit.
    pub fn stop(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
            panic!("node {} ignored SIGTERM", self.nodes[i].id);
        }
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    pub fn get(&self, i: usize, path: &str) -> (u16, Value) {
        self.get_as(i, path, &self.token)
    }

    /// GET with the given token ("" sends none).
    pub fn get_as(&self, i: usize, path: &str, token: &str) -> (u16, Value) {
        let url = format!("http://{}{path}", self.nodes[i].http);
        let mut req = self.agent.get(&url);
        if !token.is_empty() {
            req = req.header("Authorization", &format!("Bearer {token}"));
        }
        match req.call() {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(e) => panic!("GET {url}: {e}"),
        }
    }

    /// GET with the admin token, returning the raw body.
    pub fn get_bytes(&self, i: usize, path: &str) -> (u16, Vec<u8>) {
        let url = format!("http://{}{path}", self.nodes[i].http);
        match self.agent.get(&url).header("Authorization", &format!("Bearer {}", self.token)).call() {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_to_vec().unwrap_or_default()),
            Err(e) => panic!("GET {url}: {e}"),
        }
    }

    /// Sends a request head (with the admin token and no body) over a raw socket and returns
    /// the status line of the answer.
    pub fn raw_status(&self, i: usize, head: &str) -> String {
        use std::io::{BufRead, Write};
        let mut s = std::net::TcpStream::connect(&self.nodes[i].http).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let host = &self.nodes[i].http;
        write!(s, "{head}\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\r\n", self.token).expect("write");
        let mut line = String::new();
        std::io::BufReader::new(s).read_line(&mut line).expect("read");
        line
    }

    /// The response headers of a GET, names lower-cased.
    pub fn headers(&self, i: usize, path: &str) -> std::collections::HashMap<String, String> {
        let url = format!("http://{}{path}", self.nodes[i].http);
        let r = self.agent.get(&url).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
        r.headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or_default().to_owned()))
            .collect()
    }

    pub fn get_text(&self, i: usize, path: &str) -> (u16, String) {
        let url = format!("http://{}{path}", self.nodes[i].http);
        match self.agent.get(&url).call() {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default()),
            Err(e) => panic!("GET {url}: {e}"),
        }
    }

    /// An HTML page as the admin sees it.
    pub fn page(&self, i: usize, path: &str) -> String {
        let url = format!("http://{}{path}", self.nodes[i].http);
        let mut r =
            self.agent.get(&url).header("Authorization", &format!("Bearer {}", self.token)).call().expect("GET");
        r.body_mut().read_to_string().unwrap_or_default()
    }

    /// Adds node `id` with no bootstrap and no members: it waits to be added as a learner.
    pub fn add_node(&mut self, id: u64) -> usize {
        let i = self.configure_node(id);
        self.spawn(i);
        i
    }

    /// Writes the configuration of a new node `id` (no bootstrap, no members) without starting it.
    pub fn configure_node(&mut self, id: u64) -> usize {
        let http = format!("127.0.0.1:{}", free_port());
        let grpc = format!("127.0.0.1:{}", free_port());
        let nd = self.dir.path().join(format!("node{id}"));
        std::fs::create_dir_all(&nd).unwrap_or_else(|e| panic!("{e}"));
        let config = nd.join("node.toml");
        let cfg = format!(
            "[node]\nid = {id}\ndata_dir = \"data\"\n[http]\nlisten = \"{http}\"\nadvertise = \"http://{http}\"\n[grpc]\nlisten = \"{grpc}\"\nadvertise = \"{grpc}\"\n"
        );
        std::fs::write(&config, cfg).unwrap_or_else(|e| panic!("{e}"));
        self.nodes.push(Node { id, http, grpc, config, log: nd.join("node.log"), child: None });
        self.nodes.len() - 1
    }

    pub fn post(&self, i: usize, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(i, path, body, &self.token)
    }

    /// POST with the given token ("" sends none).
    pub fn put(&self, i: usize, path: &str, body: &Value) -> (u16, Value) {
        let url = format!("http://{}{path}", self.nodes[i].http);
        match self.agent.put(&url).header("Authorization", &format!("Bearer {}", self.token)).send_json(body) {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(e) => panic!("PUT {url}: {e}"),
        }
    }

    /// PUT with the given token.
    pub fn put_as(&self, i: usize, path: &str, body: &Value, token: &str) -> (u16, Value) {
        let url = format!("http://{}{path}", self.nodes[i].http);
        match self.agent.put(&url).header("Authorization", &format!("Bearer {token}")).send_json(body) {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(e) => panic!("PUT {url}: {e}"),
        }
    }

    pub fn post_as(&self, i: usize, path: &str, body: &Value, token: &str) -> (u16, Value) {
        let url = format!("http://{}{path}", self.nodes[i].http);
        let mut req = self.agent.post(&url);
        if !token.is_empty() {
            req = req.header("Authorization", &format!("Bearer {token}"));
        }
        match req.send_json(body) {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(e) => panic!("POST {url}: {e}"),
        }
    }

    /// A write that accepts being queued in the node's outbox (`Prefer: respond-async`).
    pub fn send_async(&self, i: usize, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let url = format!("http://{}{path}", self.nodes[i].http);
        let auth = format!("Bearer {}", self.token);
        let res = match method {
            "PUT" => {
                self.agent.put(&url).header("Authorization", &auth).header("Prefer", "respond-async").send_json(body)
            }
            _ => self.agent.post(&url).header("Authorization", &auth).header("Prefer", "respond-async").send_json(body),
        };
        match res {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(e) => panic!("{method} {url}: {e}"),
        }
    }

    /// POST a text body (a CSV file) with the given token.
    pub fn post_text(&self, i: usize, path: &str, body: &str, token: &str) -> (u16, Value) {
        let url = format!("http://{}{path}", self.nodes[i].http);
        let req = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "text/csv; charset=utf-8");
        match req.send(body) {
            Ok(mut r) => (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null)),
            Err(e) => panic!("POST {url}: {e}"),
        }
    }

    /// Node `i`'s audit trail (CSV) once it has a line containing every one of `needles`
    /// (panics after 10 s).
    pub fn wait_audit(&self, i: usize, needles: &[&str]) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let trail = String::from_utf8_lossy(&self.get_bytes(i, "/api/v1/audit?format=csv").1).into_owned();
            if trail.lines().any(|l| needles.iter().all(|n| l.contains(n))) {
                return trail;
            }
            assert!(std::time::Instant::now() < deadline, "no line with {needles:?} in the audit trail: {trail}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn status(&self, i: usize) -> Value {
        self.get(i, "/api/v1/cluster").1
    }

    pub fn running(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|i| self.nodes[*i].child.is_some()).collect()
    }

    /// Waits until every running node names the same leader, which is running; returns its index.
    pub fn wait_leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let leaders: Vec<Option<u64>> =
                self.running().iter().map(|i| self.status(*i)["leader_id"].as_u64()).collect();
            if let Some(Some(l)) = leaders.first()
                && leaders.iter().all(|x| *x == Some(*l))
            {
                let li = self.idx(*l);
                if self.nodes[li].child.is_some() && self.status(li)["role"] == "leader" {
                    return li;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no agreed leader within 30 s");
    }

    /// Waits until node `i` has applied at least `index`.
    pub fn wait_applied(&self, i: usize, index: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.status(i)["last_applied_index"].as_u64().unwrap_or(0) >= index {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("node {} did not apply index {index}; status {}", self.nodes[i].id, self.status(i));
    }

    /// A supplier, a unit and `n` articles to order from.
    pub fn seed_catalog(&self, i: usize, n: usize) {
        let (s, b) =
            self.post(i, "/api/v1/suppliers", &json!({"id": "sup-1", "name": "Medilux AB", "gln": "7350000000016"}));
        assert!(s == 201 || s == 200, "{s} {b}");
        let unit = json!({"id": "ost-iva", "name": "IVA", "site": "Östra sjukhuset", "delivery_address": ["Godsmottagning hus 3"]});
        let (s, b) = self.post(i, "/api/v1/units", &unit);
        assert!(s == 201 || s == 200, "{s} {b}");
        for a in 0..n {
            let body = json!({
                "id": format!("art-{a}"), "article_number": format!("ML-{a}"), "name": format!("Handske nitril {a}"),
                "unit": "BX", "pack_size": 100, "supplier_id": "sup-1", "category": "Handskar",
            });
            let (s, b) = self.post(i, "/api/v1/articles", &body);
            assert!(s == 201 || s == 200, "{s} {b}");
        }
    }

    pub fn order_body(id: &str) -> Value {
        json!({"id": id, "unit_id": "ost-iva", "lines": [{"article_id": "art-0", "quantity": 3}], "needed_by": "2026-12-01", "urgent": false})
    }

    pub fn order_ids(&self, i: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/orders?limit=500&cursor={c}"),
                None => "/api/v1/orders?limit=500".to_owned(),
            };
            let (s, v) = self.get(i, &path);
            assert_eq!(s, 200, "{v}");
            for o in v["items"].as_array().cloned().unwrap_or_default() {
                out.push(o["id"].as_str().unwrap_or_default().to_owned());
            }
            match v["next"].as_str() {
                Some(n) => cursor = Some(n.to_owned()),
                None => return out,
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for i in 0..self.nodes.len() {
                let log = self.log(i);
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("---- node {} log (last 40 lines) ----", self.nodes[i].id);
                for l in tail.iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

/// A PDF's text as `pdftotext` (poppler) reads it; `-layout` keeps columns apart.
pub fn pdf_text(bytes: &[u8], layout: bool) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("file.pdf");
    std::fs::write(&path, bytes).expect("write");
    let mut cmd = std::process::Command::new("pdftotext");
    if layout {
        cmd.arg("-layout");
    }
    let out = cmd.arg(&path).arg("-").output().expect("pdftotext");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
