//! `beredd join <invitation>`: turns this machine into a node of the cluster that invited it,
//! in one step. It reads the cluster CA from a member and compares it with the invitation's
//! fingerprint (so it trusts nothing else), makes a key and sends a certificate request with
//! the invitation's secret over TLS checked against that CA, gets its node certificate back,
//! writes its folder (`beredd.toml`, `tls/`, `data/`), starts as a read-only replica and shows
//! its catch-up as a progress bar. It then serves on like `beredd serve` (started again later
//! with `beredd serve --config DIR/beredd.toml`).

use crate::certs::{self, CLUSTER_NAME};
use crate::cli::progress::{Progress, Unit};
use crate::config::Config;
use crate::proto::pb::cluster::JoinRequest;
use crate::proto::pb::cluster::cluster_service_client::ClusterServiceClient;
use anyhow::{Context, Result, anyhow, bail};
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use web::InviteToken;

/// Largest CA certificate read from a member.
const MAX_CA: u64 = 64 << 10;

pub struct Options {
    pub invitation: String,
    pub dir: Option<PathBuf>,
    /// The address others reach this machine at; by default the one it reaches the cluster from.
    pub host: Option<IpAddr>,
    pub http_port: Option<u16>,
    pub grpc_port: Option<u16>,
}

pub async fn run(o: Options) -> Result<()> {
    let token = InviteToken::decode(&o.invitation).map_err(|e| anyhow!("reading the invitation: {e}"))?;
    let dir = o.dir.unwrap_or_else(|| PathBuf::from(format!("beredd-node{}", token.node)));
    let config = dir.join("beredd.toml");
    if config.exists() {
        bail!(
            "{} exists already: this folder has joined before; start it with `beredd serve --config {}`",
            config.display(),
            config.display()
        );
    }
    eprintln!("Joining the cluster as node {} ({}).", token.node, token.name);
    let ca_pem = trusted_ca(&token)?;
    eprintln!("The cluster's certificate matches the invitation (SHA-256 {}…).", &token.ca_sha256[..16]);

    let host = match o.host {
        Some(h) => h,
        None => local_address_towards(&token.peers[0].grpc)?,
    };
    let http = SocketAddr::new(host, o.http_port.map_or_else(|| free_port(host), Ok)?);
    let grpc = SocketAddr::new(host, o.grpc_port.map_or_else(|| free_port(host), Ok)?);
    let (key_pem, csr_pem) = certs::request(&format!("node{}", token.node))?;
    let reply = ask_to_join(&token, &ca_pem, &csr_pem, &format!("http://{http}"), &grpc.to_string()).await?;

    write_folder(&dir, &token, &reply.ca_pem, &reply.cert_pem, &key_pem, http, grpc)?;
    eprintln!("Certificate received; configuration written to {}.", config.display());
    let log = dir.join("node.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("opening {}", log.display()))?;
    let _ = crate::LOG_FILE.set(std::sync::Mutex::new(file));
    eprintln!("The node's log: {}.", log.display());
    let cfg = Config::load(&config, std::env::vars()).context("loading the configuration just written")?;
    let tls = cfg.tls_files().ok_or_else(|| anyhow!("the configuration written has no [tls]"))?;
    let _ = certs::CLI_TLS.set(Some(tls.client()?));
    let server = crate::server::Server::start(cfg).await?;
    let peers: Vec<String> = token.peers.iter().map(|p| p.grpc.clone()).collect();
    tokio::select! {
        r = follow_catch_up(&server, &peers, &dir) => r?,
        r = crate::cli::wait_for_stop() => { r?; server.stop().await; return Ok(()); }
    }
    println!(
        "Node {} has caught up and serves at http://{http}/ as a read-only replica. Ops staff can promote it on /ops. \
         It keeps running here; next time start it with `beredd serve --config {}`.",
        token.node,
        config.display()
    );
    server.run(crate::cli::wait_for_stop()).await
}

/// The cluster CA from the first member whose certificate has the invitation's fingerprint.
/// Fetched over whatever the member serves (its web certificate may be from a private CA): what
/// is read is trusted only because its SHA-256 matches.
fn trusted_ca(token: &InviteToken) -> Result<String> {
    let tls = ureq::tls::TlsConfig::builder().disable_verification(true).build();
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(10))).tls_config(tls).build().into();
    let mut problems = Vec::new();
    for p in &token.peers {
        let url = format!("{}/api/v1/cluster/ca", p.http.trim_end_matches('/'));
        let mut body = String::new();
        let got = agent
            .get(&url)
            .call()
            .map_err(anyhow::Error::from)
            .and_then(|mut r| Ok(r.body_mut().as_reader().take(MAX_CA).read_to_string(&mut body)?));
        match got.and_then(|_| certs::fingerprint(&body)) {
            Ok(fp) if fp == token.ca_sha256 => return Ok(body),
            Ok(fp) => problems.push(format!(
                "{}: its cluster certificate (SHA-256 {fp}) is not the one the invitation names; not trusted",
                p.http
            )),
            Err(e) => problems.push(format!("{}: {e:#}", p.http)),
        }
    }
    bail!("no member of the invitation could be trusted:\n  {}", problems.join("\n  "))
}

/// Sends the join request to each member in turn, over TLS checked against the cluster CA,
/// until one that holds the issuing key answers. A refusal (used, expired, revoked, wrong
/// secret) ends it: every node would say the same.
async fn ask_to_join(
    token: &InviteToken,
    ca_pem: &str,
    csr_pem: &str,
    http: &str,
    grpc: &str,
) -> Result<crate::proto::pb::cluster::JoinReply> {
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca_pem))
        .domain_name(CLUSTER_NAME);
    let mut problems = Vec::new();
    for p in &token.peers {
        let endpoint = tonic::transport::Endpoint::from_shared(format!("https://{}", p.grpc))?
            .tls_config(tls.clone())?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(90));
        let ch = match endpoint.connect().await {
            Ok(ch) => ch,
            Err(e) => {
                problems.push(format!("{}: {e}", p.grpc));
                continue;
            }
        };
        let req = JoinRequest {
            node_id: token.node,
            secret: token.secret.clone(),
            csr_pem: csr_pem.to_owned(),
            http: http.to_owned(),
            grpc: grpc.to_owned(),
        };
        match ClusterServiceClient::new(ch).join(req).await {
            Ok(r) => return Ok(r.into_inner()),
            Err(s) if s.code() == tonic::Code::Unavailable || s.message().contains("no issuing key") => {
                problems.push(format!("{}: {}", p.grpc, s.message()));
            }
            Err(s) => bail!("the cluster refused to join this machine: {}", s.message()),
        }
    }
    bail!("no member of the invitation took the request:\n  {}", problems.join("\n  "))
}

fn write_folder(
    dir: &Path,
    token: &InviteToken,
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
    http: SocketAddr,
    grpc: SocketAddr,
) -> Result<()> {
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).with_context(|| format!("creating {}", tls.display()))?;
    std::fs::create_dir_all(dir.join("data")).with_context(|| format!("creating {}/data", dir.display()))?;
    let n = token.node;
    certs::write_new(&tls.join(format!("node{n}-key.pem")), key_pem, true)?;
    certs::write_new(&tls.join(format!("node{n}.pem")), cert_pem, false)?;
    certs::write_new(&tls.join("ca.pem"), ca_pem, false)?;
    let today = time::OffsetDateTime::now_utc().date();
    let toml = format!(
        "# Node {n} ({name:?}), joined by invitation on {today} with `beredd join`.\n\
         # Start it again with `beredd serve --config beredd.toml`.\n\
         [node]\nid = {n}\ndata_dir = \"data\"\n\n\
         [http]\nlisten = \"{http}\"\nadvertise = \"http://{http}\"\n\n\
         [grpc]\nlisten = \"{grpc}\"\nadvertise = \"{grpc}\"\n\n\
         [tls]\nca = \"tls/ca.pem\"\ncert = \"tls/node{n}.pem\"\nkey = \"tls/node{n}-key.pem\"\n",
        name = token.name,
    );
    certs::write_new(&dir.join("beredd.toml"), &toml, false)
}

/// Shows how far this node's applied index is behind the leader's log, until it is within a
/// few entries.
async fn follow_catch_up(server: &crate::server::Server, peers: &[String], dir: &Path) -> Result<()> {
    let progress = Progress::new("catching up", 0, Unit::Items("entries"));
    let mut target = 0u64;
    let mut asked = std::time::Instant::now() - Duration::from_secs(10);
    loop {
        if asked.elapsed() >= Duration::from_secs(1) {
            asked = std::time::Instant::now();
            for p in peers {
                if let Ok(s) = crate::cli::cluster::status(p).await
                    && let Some(i) = s["last_log_index"].as_u64()
                    && s["role"] == "leader"
                {
                    target = target.max(i);
                    break;
                }
            }
        }
        let applied = server.status().last_applied_index;
        progress.set_total(target.max(applied));
        progress.set(applied);
        progress.note(format!("{:.1} MiB on disk", dir_bytes(&dir.join("data")) as f64 / 1048576.0));
        if target > 0 && applied + 5 >= target {
            progress.finish();
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// The local address this machine reaches `peer` (`host:port`) from: the one the cluster can
/// reach it at, on a simple network (give `--host` otherwise).
fn local_address_towards(peer: &str) -> Result<IpAddr> {
    let target = std::net::ToSocketAddrs::to_socket_addrs(peer)
        .with_context(|| format!("resolving {peer}"))?
        .next()
        .ok_or_else(|| anyhow!("{peer} has no address"))?;
    let bind: SocketAddr = if target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse()?;
    let s = std::net::UdpSocket::bind(bind)?;
    s.connect(target).with_context(|| format!("finding a route to {peer}"))?;
    Ok(s.local_addr()?.ip())
}

fn free_port(host: IpAddr) -> Result<u16> {
    Ok(std::net::TcpListener::bind((host, 0))
        .with_context(|| format!("finding a free port on {host}"))?
        .local_addr()?
        .port())
}
