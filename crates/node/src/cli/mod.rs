//! Command line: `serve`, `demo` and `cluster …`. The doc comments are the `--help` text.

mod accounts;
pub mod cluster;
mod demo;
mod demo_smsc;
mod drill;
mod join;
pub(crate) mod progress;
mod recovery;
mod sealed;

use crate::config::Config;
use crate::server::Server;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// beredd keeps hospitals able to order consumables when ordinary systems fail.
#[derive(Parser, Debug)]
#[command(name = "beredd", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run one node with the given configuration file.
    Serve {
        /// The node's TOML configuration (keys can be overridden by BEREDD_<SECTION>_<KEY>).
        #[arg(long)]
        config: PathBuf,
    },
    /// Exit 0 when the node at --http answers /readyz with 200 (a container health check:
    /// images built FROM scratch have no curl).
    Ready {
        /// host:port of the node's HTTP server.
        #[arg(long, default_value = "127.0.0.1:8081")]
        http: String,
    },
    /// Join this machine to a cluster with an invitation from its /ops page: checks the
    /// cluster's certificate against the invitation, gets a node certificate, writes DIR
    /// (beredd.toml, tls/, data/), starts as a read-only replica, shows its catch-up and serves
    /// on until Ctrl-C or SIGTERM.
    Join {
        /// The invitation (beredd-invite-1.…), as shown on /ops.
        invitation: String,
        /// The folder to make for this node; default beredd-node<N>.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The address the other nodes reach this machine at; default the one it reaches them from.
        #[arg(long)]
        host: Option<std::net::IpAddr>,
        /// Port of this node's web UI and API; default a free one.
        #[arg(long)]
        http_port: Option<u16>,
        /// Port of this node's gRPC (Raft); default a free one.
        #[arg(long)]
        grpc_port: Option<u16>,
    },
    /// Start a three-node cluster on 127.0.0.1 with demo data, until Ctrl-C or SIGTERM.
    Demo {
        /// Folder for the nodes' data, configs and logs; a second run reuses it.
        #[arg(long, default_value = "beredd-demo")]
        data: PathBuf,
        /// HTTP port of node 1; nodes 2 and 3 use the next two. gRPC uses these plus 1000.
        #[arg(long, default_value_t = 8081)]
        base_port: u16,
        /// Port of the local mail server the demo sends e-mail to (`make demo` starts one, see
        /// `scripts/mailbox.py`); default: the base port plus 2000.
        #[arg(long)]
        mail_port: Option<u16>,
        /// Port of the demo's SMSC (an SMPP server the demo starts, keeping every text it gets
        /// as a JSON file in `DATA/sms`); default: the base port plus 2001.
        #[arg(long)]
        sms_port: Option<u16>,
        /// Serve HTTPS with a demo web CA, and accept a demo smart card (a certificate for the
        /// unit nurse, written as a PKCS#12 file to import into the browser). Needs a new
        /// --data folder when switching.
        #[arg(long)]
        https: bool,
    },
    /// Make the cluster CA and node certificates for mutual TLS between nodes.
    Certs {
        #[command(subcommand)]
        command: CertsCmd,
    },
    /// Manage user accounts through a running node.
    User {
        /// gRPC address (host:port) of any node of the cluster.
        #[arg(long, default_value = "127.0.0.1:9081", global = true)]
        node: String,
        #[command(flatten)]
        tls: TlsArgs,
        #[command(subcommand)]
        command: UserCmd,
    },
    /// Write an offline copy to a folder (and a ZIP beside it) that opens in any browser with no
    /// server: status, directory, on-call for 7 days, action cards, open orders, the latest
    /// situation reports, the binder and the order files, with a signed manifest.
    OfflineCopy {
        /// HTTP URL of any node.
        #[arg(long, default_value = "http://127.0.0.1:8081")]
        http: String,
        /// An API token of an ops user or an admin.
        #[command(flatten)]
        token: TokenArgs,
        /// The folder to write (replaced in one step if it exists; `<out>.zip` beside it).
        #[arg(long)]
        out: PathBuf,
        /// The cluster's key (`ed25519:…`, on `/ops`) to check the signature against; without
        /// it the key the copy names is printed, to compare by eye.
        #[arg(long)]
        trust: Option<String>,
    },
    /// Save a consistent, checksummed copy of the cluster's data from any running node (also one
    /// without a majority: the file says how fresh it is).
    Backup {
        /// gRPC address (host:port) of the node to copy.
        #[arg(long, default_value = "127.0.0.1:9081")]
        node: String,
        /// The file to write (received as FILE.part, checked, then written encrypted).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        seal: sealed::SealArgs,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Make an age key pair for encrypted backups: the identity goes to --out (mode 0600, keep
    /// it apart from the backups); the public key (recipient) is printed for `backup --recipient`.
    BackupKey {
        #[arg(long)]
        out: PathBuf,
    },
    /// Create a new one-node cluster from a backup file, in a stopped node's empty data folder.
    Restore {
        /// A file made by `beredd backup`.
        file: PathBuf,
        #[command(flatten)]
        open: sealed::OpenArgs,
        /// The configuration of the node that will hold it (its id, addresses and data folder).
        #[arg(long)]
        config: PathBuf,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// After the majority is lost for good: show what this stopped node holds, and with
    /// --force-new-cluster make it the only member of a new cluster with all of it.
    Recover {
        /// The stopped node's configuration.
        #[arg(long)]
        config: PathBuf,
        /// Really do it (refused while a majority of the old cluster still answers).
        #[arg(long)]
        force_new_cluster: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Merge another cluster's catalog, directory and action cards (from its backup file) into
    /// this cluster, and list what was added or changed. Orders and accounts are not merged.
    Import {
        /// A file made by `beredd backup` on the other cluster, or an offline copy (its folder
        /// or ZIP, from `beredd offline-copy` or a node's schedule; then `--trust` is needed).
        file: PathBuf,
        /// For an offline copy: the source cluster's key (`ed25519:…`, on its `/ops` page and at
        /// the foot of every page of the copy). The copy is refused unless it is signed by it.
        #[arg(long)]
        trust: Option<String>,
        #[command(flatten)]
        open: sealed::OpenArgs,
        /// HTTP URL of any node of this cluster.
        #[arg(long, default_value = "http://127.0.0.1:8081")]
        http: String,
        /// An API token of an admin (catalog) who may also edit the directory and cards.
        #[command(flatten)]
        token: TokenArgs,
        /// Only report what would change.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run a failover drill against a live cluster under a light load of drill orders (cancelled
    /// afterwards), and report time without a leader, time to the first acknowledged write, and
    /// writes acknowledged / failed / unknown / lost. Exits non-zero if anything was lost.
    Drill {
        /// HTTP URL of any node.
        #[arg(long, default_value = "http://127.0.0.1:8081")]
        http: String,
        /// An API token of a user who may place and cancel drill orders (ops, purchaser or admin).
        #[command(flatten)]
        token: TokenArgs,
        /// Halt the leader at once, as a power cut would (it must be started again by hand),
        /// instead of transferring leadership.
        #[arg(long)]
        kill: bool,
        /// Cut the leader off from the other nodes for this many seconds (no Raft traffic and no
        /// forwarded writes either way; it heals by itself), instead of transferring leadership.
        #[arg(long, conflicts_with_all = ["kill", "to"], value_parser = clap::value_parser!(u64).range(1..=300))]
        isolate: Option<u64>,
        /// The voter to transfer leadership to (default: the lowest other voter).
        #[arg(long, conflicts_with = "kill")]
        to: Option<u64>,
        /// How long to keep writing after the fault, in seconds.
        #[arg(long, default_value_t = 8)]
        seconds: u64,
        /// Orders per second.
        #[arg(long, default_value_t = 5)]
        rate: u32,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also write the report as a PDF (for the binder) to this file.
        #[arg(long)]
        pdf: Option<PathBuf>,
        /// The exercise (its id, see /exercises) the drill is part of: its orders are made in
        /// it (marked EXERCISE) and its report is attached to it.
        #[arg(long)]
        exercise: Option<String>,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Inspect and change cluster membership through a running node.
    Cluster {
        /// gRPC address (host:port) of any node of the cluster.
        #[arg(long, default_value = "127.0.0.1:9081", global = true)]
        node: String,
        #[command(flatten)]
        tls: TlsArgs,
        #[command(subcommand)]
        command: ClusterCmd,
    },
}

/// An API token: `--token`, or `BEREDD_TOKEN`, or the first line of `--token-file` /
/// `BEREDD_TOKEN_FILE` — the last two keep it off the command line, where `ps` shows it to
/// every user of the machine.
#[derive(clap::Args, Debug)]
pub struct TokenArgs {
    /// The token itself (better: BEREDD_TOKEN or --token-file).
    #[arg(long, env = "BEREDD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A file whose first line is the token (readable by you only).
    #[arg(long, env = "BEREDD_TOKEN_FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
}

impl TokenArgs {
    /// The token, from wherever it was given.
    pub fn get(&self) -> Result<String> {
        let token = match (&self.token, &self.token_file) {
            (Some(t), _) => t.trim().to_owned(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .with_context(|| format!("reading the token from {}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            (None, None) => String::new(),
        };
        if token.is_empty() {
            anyhow::bail!("an API token is needed: set BEREDD_TOKEN, or pass --token-file FILE (or --token)");
        }
        Ok(token)
    }
}

/// Mutual TLS towards a cluster that requires it: the cluster CA and a certificate it issued.
/// Each defaults to the node's own `BEREDD_TLS_*` variable, so a command run beside a node (in
/// its container, say) speaks with that node's certificate.
#[derive(clap::Args, Debug)]
pub struct TlsArgs {
    /// The cluster CA certificate (ca.pem).
    #[arg(long, global = true, env = "BEREDD_TLS_CA", requires_all = ["cert", "key"])]
    pub ca: Option<PathBuf>,
    /// A certificate issued by `beredd certs issue` (an operator's, or a node's for `user create`).
    #[arg(long, global = true, env = "BEREDD_TLS_CERT")]
    pub cert: Option<PathBuf>,
    /// Its private key.
    #[arg(long, global = true, env = "BEREDD_TLS_KEY")]
    pub key: Option<PathBuf>,
}

impl TlsArgs {
    fn install(&self) -> Result<()> {
        let tls = match (&self.ca, &self.cert, &self.key) {
            (Some(ca), Some(cert), Some(key)) => {
                Some(crate::certs::TlsFiles { ca: ca.clone(), cert: cert.clone(), key: key.clone() }.client()?)
            }
            _ => None,
        };
        let _ = crate::certs::CLI_TLS.set(tls);
        Ok(())
    }
}

#[derive(Subcommand, Debug)]
pub enum CertsCmd {
    /// Create the cluster CA (ca.pem, ca-key.pem) in a folder. Keep ca-key.pem offline.
    Init {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Make the issuing CA in --dir (issuing.pem, issuing-key.pem), signed by the cluster CA
    /// there: nodes holding it (tls.issuing_cert, tls.issuing_key) sign the certificates of
    /// nodes that join by invitation, so ca-key.pem can stay offline.
    Issuing {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Issue a certificate signed by the CA in --dir: for a node (--node N) or any other name.
    Issue {
        #[arg(long)]
        dir: PathBuf,
        /// Node id: the files are called node<N>.pem and node<N>-key.pem.
        #[arg(long, conflicts_with = "name")]
        node: Option<u64>,
        /// Another name, e.g. "ops-anna" for an operator's commands or "web1" for HTTPS.
        #[arg(long)]
        name: Option<String>,
        /// What the certificate may do: node (with --node), operator (the default for --name),
        /// web (the default with --host: HTTPS only, refused on the cluster's gRPC port), or
        /// card (a person's login certificate for `http.client_ca`, client only).
        #[arg(long, value_enum)]
        role: Option<crate::certs::CertRole>,
        /// A host name or IP address the certificate is also valid for (HTTPS); repeatable.
        #[arg(long = "host")]
        hosts: Vec<String>,
    },
    /// Make the SAML service provider's signing key pair in --dir (saml-sp.pem, saml-sp-key.pem):
    /// RSA 2048 with a self-signed certificate valid 10 years, for `[saml]` on every node.
    Saml {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Make the CA (if --dir has none) and any missing certificates for nodes 1..=N and one
    /// operator: the init step of the Compose files. Existing files are kept.
    InitCluster {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        nodes: u64,
    },
    /// Write a revocation list signed by the CA in --dir that revokes the given certificates
    /// (for `http.client_crl`, or to retire a lost card or operator certificate).
    Crl {
        #[arg(long)]
        dir: PathBuf,
        /// A certificate (PEM) to revoke; repeatable.
        #[arg(long = "revoke")]
        revoke: Vec<PathBuf>,
        /// Where to write the list (PEM).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Create a user with a password and an API token, and print them as JSON. This is how the
    /// first administrator of a new cluster is made.
    Create {
        /// Login name.
        #[arg(long)]
        id: String,
        /// Full name.
        #[arg(long)]
        name: Option<String>,
        /// staff, purchaser, communicator, ops or admin.
        #[arg(long, default_value = "admin")]
        role: String,
        /// A care unit the user works for (repeat for several).
        #[arg(long = "unit")]
        units: Vec<String>,
        /// The password; generated and printed when omitted.
        #[arg(long, env = "BEREDD_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClusterCmd {
    /// Show leader, term, log indexes, members and replication lag.
    Status,
    /// Add a non-voting node that keeps a full copy (a read-only replica).
    AddLearner {
        /// A new id, never used before in this cluster.
        #[arg(long)]
        id: u64,
        /// The new node's HTTP URL, e.g. http://10.0.0.4:8081.
        #[arg(long)]
        http: String,
        /// The new node's gRPC address, e.g. 10.0.0.4:9081.
        #[arg(long)]
        grpc: String,
    },
    /// Make a learner a voter.
    Promote {
        #[arg(long)]
        id: u64,
    },
    /// Take a node out of the cluster; its id can never be used again.
    Remove {
        #[arg(long)]
        id: u64,
    },
    /// Make another voter the leader (writes pause for about an election timeout).
    TransferLeader {
        /// The voter to lead from now on.
        #[arg(long)]
        to: u64,
    },
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::Serve { config } => serve(&config).await,
        Cmd::Demo { data, base_port, mail_port, sms_port, https } => {
            let ports = demo::Ports {
                base: base_port,
                mail: mail_port.unwrap_or(base_port.saturating_add(2000)),
                sms: sms_port.unwrap_or(base_port.saturating_add(2001)),
            };
            demo::run(&data, ports, https).await
        }
        Cmd::Ready { http } => ready(&http),
        Cmd::Join { invitation, dir, host, http_port, grpc_port } => {
            join::run(join::Options { invitation, dir, host, http_port, grpc_port }).await
        }
        Cmd::Backup { node, out, seal, tls } => {
            seal.check()?;
            tls.install()?;
            recovery::backup(&node, &out, &seal).await
        }
        Cmd::Drill { http, token, kill, isolate, to, seconds, rate, json, pdf, exercise, tls } => {
            let token = token.get()?;
            tls.install()?;
            drill::run(drill::Options { http, token, kill, isolate, to, seconds, rate, json, pdf, exercise }).await
        }
        Cmd::OfflineCopy { http, token, out, trust } => {
            crate::offline::fetch(&http, &token.get()?, &out, trust.as_deref())
        }
        Cmd::Import { file, trust, open, http, token, dry_run } => {
            let token = token.get()?;
            if crate::offline::is_copy(&file) {
                let trust = trust.context(
                    "an offline copy is imported only with --trust <the source cluster's key> (on its /ops page)",
                )?;
                return recovery::import_offline(&file, &trust, &http, &token, dry_run);
            }
            let opened = open.open(&file)?;
            recovery::import(opened.path(), &http, &token, dry_run)
        }
        Cmd::Restore { file, open, config, yes } => {
            let opened = open.open(&file)?;
            recovery::restore(opened.path(), &config, yes)
        }
        Cmd::BackupKey { out } => {
            println!("{}", sealed::new_key(&out)?);
            Ok(())
        }
        Cmd::Recover { config, force_new_cluster, yes } => recovery::recover(&config, force_new_cluster, yes).await,
        Cmd::Cluster { node, tls, command } => {
            tls.install()?;
            cluster::run(&node, command).await
        }
        Cmd::Certs { command: CertsCmd::InitCluster { dir, nodes } } => {
            for made in crate::certs::init_cluster(&dir, nodes)? {
                println!("{}", made.display());
            }
            Ok(())
        }
        Cmd::Certs { command: CertsCmd::Crl { dir, revoke, out } } => {
            crate::certs::crl(&dir, &revoke, &out)?;
            println!("{}", out.display());
            Ok(())
        }
        Cmd::Certs { command: CertsCmd::Saml { dir } } => {
            let (cert, key) = crate::certs::saml_sp(&dir)?;
            println!("{}\n{}", cert.display(), key.display());
            Ok(())
        }
        Cmd::Certs { command: CertsCmd::Issuing { dir } } => {
            let (cert, key) = crate::certs::issuing(&dir)?;
            println!("{}\n{}", cert.display(), key.display());
            Ok(())
        }
        Cmd::Certs { command: CertsCmd::Init { dir } } => {
            println!("{}", crate::certs::init(&dir)?.display());
            Ok(())
        }
        Cmd::Certs { command: CertsCmd::Issue { dir, node, name, role, hosts } } => {
            use crate::certs::CertRole;
            let (name, role) = match (node, name) {
                (Some(n), _) => (format!("node{n}"), role.unwrap_or(CertRole::Node)),
                (None, Some(n)) => {
                    let default = if hosts.is_empty() { CertRole::Operator } else { CertRole::Web };
                    (n, role.unwrap_or(default))
                }
                (None, None) => anyhow::bail!("give --node N or --name NAME"),
            };
            let (cert, key) = crate::certs::issue(&dir, &name, role, &hosts)?;
            println!("{}\n{}", cert.display(), key.display());
            Ok(())
        }
        Cmd::User { node, tls, command: UserCmd::Create { id, name, role, units, password } } => {
            tls.install()?;
            let role = domain::Role::ALL.into_iter().find(|r| r.as_str() == role).ok_or_else(|| {
                anyhow::anyhow!("unknown role {role:?}: staff, purchaser, communicator, ops or admin")
            })?;
            let name = name.unwrap_or_else(|| id.clone());
            let u = accounts::NewUser { id, name, role, units, password };
            let key = uuid::Uuid::new_v4().to_string();
            let c = accounts::create_user(&node, u, &key).await?;
            println!(
                "{}",
                serde_json::json!({ "user": c.admin_user, "password": c.admin_password, "api_token": c.api_token })
            );
            Ok(())
        }
    }
}

fn ready(http: &str) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(3)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent.get(format!("http://{http}/readyz")).call().with_context(|| format!("reaching {http}"))?;
    let body = r.body_mut().read_to_string().unwrap_or_default();
    anyhow::ensure!(r.status() == 200, "{http} is not ready: {} {body}", r.status());
    println!("{body}");
    Ok(())
}

async fn serve(path: &std::path::Path) -> Result<()> {
    let cfg = Config::load(path, std::env::vars()).context("loading configuration")?;
    Server::start(cfg).await?.run(wait_for_stop()).await
}

/// Resolves on SIGINT or SIGTERM.
pub async fn wait_for_stop() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    Ok(())
}
