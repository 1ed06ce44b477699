//! A cluster from the shipped Compose files (`deploy/compose/N-nodes`), under a project name of
//! its own, and the container operations the scenarios inject faults with. Everything it makes
//! carries the project's label, so it is removed when the cluster is dropped (also after a
//! panic) and by the next run if this process was killed.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use crate::http::{Api, Reply};

/// Projects made by this tool start with this; the pid after it tells whose they are.
const PREFIX: &str = "bereddchaos";
const LABEL: &str = "com.docker.compose.project";

/// One node of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: u64,
    /// The Compose service, `beredd<id>`.
    pub service: String,
    /// Host port of its HTTP server (published on 127.0.0.1).
    pub port: u16,
}

pub struct Cluster {
    pub project: String,
    files: Vec<PathBuf>,
    image: String,
    /// Every node defined, including the spare one that only a replacement starts.
    defined: Vec<Node>,
    /// Nodes that are members of the cluster now.
    pub members: Vec<Node>,
    pub token: String,
    work: PathBuf,
    keep: bool,
}

impl Cluster {
    /// Starts `size` nodes (3 or 5) with the image `image`, plus a defined but stopped spare
    /// node for replacements, and waits until every member is healthy. `snapshot_logs` makes
    /// the nodes snapshot (and purge their logs) often, so the faults meet snapshots too.
    pub fn up(repo: &Path, size: usize, image: &str, tag: &str, keep: bool, snapshot_logs: u64) -> Result<Cluster> {
        let project = format!("{PREFIX}{}x{tag}", std::process::id());
        let work = std::env::temp_dir().join(&project);
        std::fs::create_dir_all(&work)?;
        let base = repo.join(format!("deploy/compose/{size}-nodes/docker-compose.yml"));
        ensure!(base.exists(), "{} is missing", base.display());
        let spare = size as u64 + 1;
        let defined: Vec<Node> = (1..=spare)
            .map(|id| Ok(Node { id, service: format!("beredd{id}"), port: free_port()? }))
            .collect::<Result<_>>()?;
        let spare_toml = work.join(format!("node{spare}.toml"));
        std::fs::write(&spare_toml, spare_config(spare))?;
        let over = work.join("chaos.yml");
        std::fs::write(&over, override_file(size, spare, &spare_toml, snapshot_logs))?;
        let c = Cluster {
            project,
            files: vec![base, over],
            image: image.to_owned(),
            members: defined[..size].to_vec(),
            defined,
            token: String::new(),
            work,
            keep,
        };
        let mut args = vec!["up", "-d", "--no-color"];
        args.extend(c.members.iter().map(|n| n.service.as_str()));
        c.compose(&args)?;
        c.wait_ready(&c.members, Duration::from_secs(90))?;
        c.wait_healthy(&c.members, Duration::from_secs(60))?;
        Ok(c)
    }

    /// Makes an admin account through the CLI inside a container and a small catalog (one
    /// supplier, unit and article) to order from; waits until every node knows the account.
    pub fn setup(&mut self) -> Result<()> {
        let out =
            self.exec(&self.members[0], &["user", "create", "--id", "chaos", "--name", "Chaos", "--role", "admin"])?;
        let v: Value =
            serde_json::from_str(out.trim()).with_context(|| format!("reading `beredd user create`: {out}"))?;
        self.token = v["api_token"].as_str().context("no api_token")?.to_owned();
        let api = self.api(Duration::from_secs(10));
        for n in &self.members {
            wait_for(Duration::from_secs(30), || matches!(api.get(n.port, "/api/v1/me"), Reply::Answer(200, _)))
                .with_context(|| format!("node {} never accepted the admin token", n.id))?;
        }
        let port = self.members[0].port;
        for (path, body) in [
            ("/api/v1/suppliers", json!({"id": "chaos-sup", "name": "Kaos Medical AB"})),
            ("/api/v1/units", json!({"id": "chaos-unit", "name": "Kaosavdelningen", "site": "Testsjukhuset"})),
            (
                "/api/v1/articles",
                json!({"id": "chaos-art", "article_number": "K-1", "name": "Kompress", "unit": "PK", "pack_size": 10, "supplier_id": "chaos-sup", "category": "Förband"}),
            ),
        ] {
            let key = format!("chaos-setup{}", path.replace('/', "-"));
            let r = api.post(port, path, &body, Some(&key));
            ensure!(r.ok().is_some(), "seeding {path}: {r:?}");
        }
        Ok(())
    }

    pub fn api(&self, timeout: Duration) -> Api {
        Api::new(timeout, &self.token)
    }

    /// The spare node's id (one more than the cluster's size).
    pub fn spare(&self) -> Node {
        self.defined[self.defined.len() - 1].clone()
    }

    /// The container of a node (its id as docker knows it).
    pub fn container(&self, n: &Node) -> Result<String> {
        let out = self.compose(&["ps", "-q", &n.service])?;
        let id = out.trim().to_owned();
        ensure!(!id.is_empty(), "{} has no container", n.service);
        Ok(id)
    }

    /// The node that says it is leader with a quorum behind it, with the highest term.
    pub fn leader(&self) -> Option<Node> {
        let api = self.api(Duration::from_millis(800));
        let mut best: Option<(u64, Node)> = None;
        for n in &self.members {
            if let Some(v) = api.get(n.port, "/api/v1/cluster").ok() {
                let term = v["term"].as_u64().unwrap_or(0);
                if v["role"] == "leader" && v["quorum"] == true && best.as_ref().is_none_or(|(t, _)| term > *t) {
                    best = Some((term, n.clone()));
                }
            }
        }
        best.map(|(_, n)| n)
    }

    pub fn wait_leader(&self, within: Duration) -> Result<Node> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self.leader() {
                return Ok(l);
            }
            ensure!(Instant::now() < deadline, "no leader within {within:?}");
            sleep(Duration::from_millis(200));
        }
    }

    /// Waits until each node answers /readyz with 200 (initialised, knows a leader).
    pub fn wait_ready(&self, nodes: &[Node], within: Duration) -> Result<()> {
        let api = Api::new(Duration::from_secs(1), "");
        for n in nodes {
            wait_for(within, || api.get(n.port, "/readyz").ok().is_some_and(|v| v["leader_id"].is_u64()))
                .with_context(|| format!("node {} not ready within {within:?}", n.id))?;
        }
        Ok(())
    }

    /// Waits until docker calls each node's container healthy: the image's health check
    /// (`beredd ready`) passed.
    pub fn wait_healthy(&self, nodes: &[Node], within: Duration) -> Result<()> {
        for n in nodes {
            let c = self.container(n)?;
            wait_for(within, || {
                docker(&["inspect", "-f", "{{.State.Health.Status}}", &c]).is_ok_and(|s| s.trim() == "healthy")
            })
            .with_context(|| format!("node {}'s container never became healthy", n.id))?;
        }
        Ok(())
    }

    /// Waits until every member has applied the same index with the same state digest.
    pub fn wait_converged(&self, within: Duration) -> Result<(u64, String)> {
        let api = self.api(Duration::from_secs(5));
        let deadline = Instant::now() + within;
        loop {
            let last = self
                .members
                .iter()
                .map(|n| {
                    let v = api.get(n.port, "/api/v1/cluster?digest=true").ok().cloned().unwrap_or(Value::Null);
                    (
                        v["state_digest"]["applied_index"].as_u64(),
                        v["state_digest"]["sha256"].as_str().map(str::to_owned),
                    )
                })
                .collect::<Vec<_>>();
            if let Some((Some(i), Some(d))) = last.first().cloned()
                && last.iter().all(|(j, e)| *j == Some(i) && e.as_deref() == Some(d.as_str()))
            {
                return Ok((i, d));
            }
            if Instant::now() > deadline {
                bail!("the nodes did not converge within {within:?}: {last:?}");
            }
            sleep(Duration::from_millis(300));
        }
    }

    /// Runs the `beredd` CLI inside a node's container.
    pub fn exec(&self, n: &Node, args: &[&str]) -> Result<String> {
        let c = self.container(n)?;
        let mut a = vec!["exec", c.as_str(), "/beredd"];
        a.extend_from_slice(args);
        docker(&a)
    }

    pub fn kill(&self, nodes: &[Node]) -> Result<()> {
        self.on_containers("kill", &["-s", "KILL"], nodes)
    }
    pub fn start(&self, nodes: &[Node]) -> Result<()> {
        self.on_containers("start", &[], nodes)
    }
    /// SIGTERM, then SIGKILL after 20 s: a graceful stop.
    pub fn stop(&self, nodes: &[Node]) -> Result<()> {
        self.on_containers("stop", &["-t", "20"], nodes)
    }
    pub fn pause(&self, nodes: &[Node]) -> Result<()> {
        self.on_containers("pause", &[], nodes)
    }
    pub fn unpause(&self, nodes: &[Node]) -> Result<()> {
        self.on_containers("unpause", &[], nodes)
    }

    fn on_containers(&self, verb: &str, flags: &[&str], nodes: &[Node]) -> Result<()> {
        let ids = nodes.iter().map(|n| self.container(n)).collect::<Result<Vec<_>>>()?;
        let mut a = vec![verb];
        a.extend_from_slice(flags);
        a.extend(ids.iter().map(String::as_str));
        docker(&a).map(drop)
    }

    fn network(&self) -> String {
        format!("{}_beredd", self.project)
    }

    /// Cuts the nodes off the cluster's network; with `side`, puts them together on a network
    /// of their own, so they still reach each other (a minority partition).
    pub fn isolate(&self, nodes: &[Node], side: bool) -> Result<()> {
        let side_net = format!("{}_side", self.project);
        if side {
            docker(&["network", "create", "--label", &format!("{LABEL}={}", self.project), &side_net])?;
        }
        for n in nodes {
            let c = self.container(n)?;
            if side {
                docker(&["network", "connect", "--alias", &n.service, &side_net, &c])?;
            }
            docker(&["network", "disconnect", &self.network(), &c])?;
        }
        Ok(())
    }

    /// Undoes `isolate`: back on the cluster's network under their service names.
    pub fn heal(&self, nodes: &[Node], side: bool) -> Result<()> {
        let side_net = format!("{}_side", self.project);
        for n in nodes {
            let c = self.container(n)?;
            docker(&["network", "connect", "--alias", &n.service, &self.network(), &c])?;
            if side {
                docker(&["network", "disconnect", &side_net, &c])?;
            }
        }
        if side {
            docker(&["network", "rm", &side_net])?;
        }
        Ok(())
    }

    /// Removes a node's container and its volume: everything it stored is gone.
    pub fn destroy(&self, n: &Node) -> Result<()> {
        self.compose(&["rm", "-s", "-f", "-v", &n.service])?;
        docker(&["volume", "rm", "-f", &format!("{}_data{}", self.project, n.id)])?;
        Ok(())
    }

    /// Starts a defined node that is not running yet (the spare).
    pub fn create(&self, n: &Node) -> Result<()> {
        self.compose(&["up", "-d", "--no-deps", "--no-color", &n.service]).map(drop)
    }

    fn compose(&self, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new("docker-compose");
        cmd.arg("-p").arg(&self.project);
        for f in &self.files {
            cmd.arg("-f").arg(f);
        }
        cmd.args(args).env("BEREDD_IMAGE", &self.image);
        for n in &self.defined {
            cmd.env(format!("BEREDD_PORT_{}", n.id), n.port.to_string());
        }
        run(cmd, &format!("docker-compose {}", args.join(" ")))
    }

    /// The last lines each container logged: attached to a failing run.
    pub fn logs(&self) -> String {
        self.compose(&["logs", "--no-color", "--tail", "60"]).unwrap_or_else(|e| e.to_string())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("keeping project {} (remove with: docker-compose -p {} down -v)", self.project, self.project);
            return;
        }
        remove_project(&self.project);
        std::fs::remove_dir_all(&self.work).ok();
    }
}

/// Removes every container, network and volume labelled with the project, without needing
/// its Compose files.
pub fn remove_project(project: &str) {
    let filter = format!("label={LABEL}={project}");
    for (list, rm) in [
        (vec!["ps", "-aq", "--filter", &filter], vec!["rm", "-f", "-v"]),
        (vec!["network", "ls", "-q", "--filter", &filter], vec!["network", "rm"]),
        (vec!["volume", "ls", "-q", "--filter", &filter], vec!["volume", "rm", "-f"]),
    ] {
        let ids: Vec<String> = docker(&list).unwrap_or_default().split_whitespace().map(str::to_owned).collect();
        if !ids.is_empty() {
            let mut a = rm.clone();
            a.extend(ids.iter().map(String::as_str));
            if let Err(e) = docker(&a) {
                eprintln!("cleaning up {project}: {e}");
            }
        }
    }
}

/// Removes what earlier runs left behind when they were killed before cleaning up.
pub fn remove_abandoned() {
    let names = docker(&["ps", "-a", "--format", &format!("{{{{.Label \"{LABEL}\"}}}}")]).unwrap_or_default();
    let vols = docker(&["volume", "ls", "--format", &format!("{{{{.Label \"{LABEL}\"}}}}")]).unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    for p in names.lines().chain(vols.lines()).filter(|p| p.starts_with(PREFIX)) {
        let pid = p[PREFIX.len()..].split('x').next().unwrap_or_default();
        if !Path::new(&format!("/proc/{pid}")).exists() && seen.insert(p.to_owned()) {
            eprintln!("removing {p}, left behind by an earlier run");
            remove_project(p);
        }
    }
}

pub fn docker(args: &[&str]) -> Result<String> {
    let mut cmd = Command::new("docker");
    cmd.args(args);
    run(cmd, &format!("docker {}", args.join(" ")))
}

fn run(mut cmd: Command, what: &str) -> Result<String> {
    let out: Output = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!("{what}: {}{}", String::from_utf8_lossy(&out.stderr).trim(), String::from_utf8_lossy(&out.stdout).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls `ok` every 200 ms until it holds or `within` has passed.
pub fn wait_for(within: Duration, mut ok: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + within;
    while !ok() {
        ensure!(Instant::now() < deadline, "gave up after {within:?}");
        sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The spare node's configuration: no bootstrap, it joins when an operator adds it.
fn spare_config(id: u64) -> String {
    format!(
        "[node]\nid = {id}\ndata_dir = \"/data\"\n\n[http]\nlisten = \"0.0.0.0:8081\"\nadvertise = \"http://beredd{id}:8081\"\n\n\
         [grpc]\nlisten = \"0.0.0.0:9081\"\nadvertise = \"beredd{id}:9081\"\n"
    )
}

/// Added to the shipped Compose file: frequent snapshots on every node, and the spare node.
fn override_file(size: usize, spare: u64, spare_toml: &Path, snapshot_logs: u64) -> String {
    let env = format!(
        "    environment:\n      BEREDD_RAFT_SNAPSHOT_LOGS: \"{snapshot_logs}\"\n      BEREDD_RAFT_KEEP_LOGS: \"{}\"\n",
        snapshot_logs / 4
    );
    let mut s = String::from("version: \"2.4\"\nservices:\n");
    for id in 1..=size {
        s += &format!("  beredd{id}:\n{env}");
    }
    // The spare speaks mutual TLS like the others, with the certificate the `certs` step made.
    let tls = format!(
        "      BEREDD_TLS_CA: /certs/ca.pem\n      BEREDD_TLS_CERT: /certs/node{spare}.pem\n      BEREDD_TLS_KEY: /certs/node{spare}-key.pem\n"
    );
    s += &format!(
        "  beredd{spare}:\n    image: ${{BEREDD_IMAGE:-beredd:local}}\n    hostname: beredd{spare}\n    stop_grace_period: 20s\n{env}{tls}    \
         volumes:\n      - {}:/etc/beredd/beredd.toml:ro\n      - data{spare}:/data\n      - certs:/certs:ro\n    networks: [beredd]\n    \
         ports:\n      - \"127.0.0.1:${{BEREDD_PORT_{spare}}}:8081\"\nvolumes:\n  data{spare}:\n",
        spare_toml.display()
    );
    s
}
