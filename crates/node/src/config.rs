//! Node configuration: one TOML file per node, every key overridable by an environment variable
//! `BEREDD_<SECTION>_<KEY>` (e.g. `BEREDD_RAFT_HEARTBEAT_MS=200`). Unknown keys, in the file or
//! in the environment, are refused with a message naming them. `deploy/beredd.example.toml`
//! documents every key; a test checks that it parses and covers them all.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub node: NodeSection,
    pub http: HttpSection,
    pub grpc: GrpcSection,
    #[serde(default)]
    pub cluster: ClusterSection,
    #[serde(default)]
    pub raft: RaftSection,
    #[serde(default)]
    pub write: WriteSection,
    #[serde(default)]
    pub tls: TlsSection,
    /// Outgoing e-mail (orders to suppliers, status updates). Without it, e-mail jobs fail
    /// with "e-mail is not configured" and wait for a leader that has it.
    #[serde(default)]
    pub smtp: Option<SmtpSection>,
    #[serde(default)]
    pub outbound: OutboundSection,
    /// The cluster as a SAML 2.0 service provider. Without it, SAML IdPs cannot be used here.
    #[serde(default)]
    pub saml: Option<SamlSection>,
    /// Text messages: the routes this node sends through. Without it, text-message jobs fail
    /// with "no SMS route" and wait for a leader that has one.
    #[serde(default)]
    pub sms: Option<SmsSection>,
    /// Writing the offline copy on a schedule (issue 22) to a mounted stick or share.
    #[serde(default)]
    pub offline_copy: Option<OfflineCopySection>,
    /// The file this was read from (a node that restarts itself reads it again).
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// Where and how often this node writes its offline copy: `dir/beredd-offline-node<id>/` and
/// the ZIP beside it, each replaced in one step, so a fresh copy is there when the node dies.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineCopySection {
    pub dir: PathBuf,
    /// Minutes between copies (1–1440).
    #[serde(default = "fifteen")]
    pub every_minutes: u32,
}

fn fifteen() -> u32 {
    15
}

/// The SMS routes (issue 21), tried in this order by the leader for each message: the first
/// that takes it sends it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSection {
    pub routes: Vec<SmsRoute>,
    /// Most segments one text may take; a longer one is cut (the links at its end are kept).
    #[serde(default = "default_sms_segments")]
    pub max_segments: usize,
}

fn default_sms_segments() -> usize {
    3
}

/// One way out for text messages.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SmsRoute {
    /// An operator's or aggregator's SMSC over SMPP (plain TCP, as a transceiver, so delivery
    /// receipts and replies come back on the same bind).
    Smpp {
        name: String,
        /// `host:port` of the SMSC.
        address: String,
        system_id: String,
        password: Secret,
        #[serde(default)]
        system_type: String,
        /// The sender shown on phones: a number (`+46…`) or an alphanumeric name (≤ 11).
        source: String,
        /// Most messages (segments) a second, as the operator's contract allows.
        #[serde(default = "default_sms_rate")]
        per_second: u32,
    },
    /// An HTTP gateway: one POST per recipient through the guarded outbound client, the body
    /// made from `fields` (form-encoded or a JSON object). Each field's value is a template:
    /// `{to}` (E.164), `{to_digits}` (without `+`), `{text}`, `{id}` (the message id, for the
    /// gateway's duplicate check) and `{from}` (`source`).
    Http {
        name: String,
        url: String,
        body: SmsHttpBody,
        fields: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        source: String,
    },
    /// A GSM modem with a SIM card on a serial port (AT commands, PDU mode): texts still go out
    /// when the internet and the operator's IP services are gone.
    Modem {
        name: String,
        /// The serial device, e.g. `/dev/ttyUSB2` or `/dev/serial/by-id/…`.
        device: PathBuf,
        #[serde(default = "default_baud")]
        baud: u32,
        /// The SIM's PIN, when it asks for one.
        #[serde(default)]
        pin: Option<Secret>,
    },
}

impl SmsRoute {
    pub fn name(&self) -> &str {
        match self {
            Self::Smpp { name, .. } | Self::Http { name, .. } | Self::Modem { name, .. } => name,
        }
    }
}

fn default_baud() -> u32 {
    115_200
}

fn default_sms_rate() -> u32 {
    10
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmsHttpBody {
    Form,
    Json,
}

/// The SAML service provider: one entity for the whole cluster, so every node has the same
/// three values (make the key pair once with `beredd certs saml` and copy it to every node).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SamlSection {
    /// The SP's entity id as registered at the IdPs, e.g. `https://beredd.region.example/saml`.
    pub entity_id: String,
    /// Certificate (PEM) of the key that signs the SP's requests, published in its metadata.
    pub cert: PathBuf,
    /// Its private key (PEM, RSA).
    pub key: PathBuf,
}

/// What webhooks (supplier channels, status subscribers) may reach. By default only public
/// addresses over `https`: see `server::outbound`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundSection {
    /// Allow plain `http` and loopback receivers. For tests and the demo only.
    #[serde(default)]
    pub test_receivers: bool,
    /// Private or local ranges webhooks may reach anyway, e.g. `["10.20.0.0/16"]`.
    #[serde(default)]
    pub allow: Vec<String>,
}

/// The mail server the leader sends through.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    pub host: String,
    /// 587 for STARTTLS, 465 for TLS, 25 for `none`, unless the server says otherwise.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Log in with these, when both are given. Put the password in `BEREDD_SMTP_PASSWORD`
    /// rather than the file; it is never logged or shown.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender, e.g. `Beredd Region Norr <beredd@region.example>`.
    pub from: String,
    /// Where replies go, when not to `from`.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Deadline for one delivery, from connecting to the server's answer.
    #[serde(default = "default_smtp_timeout")]
    pub timeout_ms: u64,
}

fn default_smtp_timeout() -> u64 {
    20_000
}

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS; refused if the server does not offer it.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption: only for a mail server on this machine (loopback).
    None,
}

impl SmtpSection {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }
}

/// A value that must not appear in logs or pages: `Debug` and `Serialize` print `<hidden>`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<hidden>")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str("<hidden>")
    }
}

/// Mutual TLS between nodes (gRPC). All three files, or none (plain gRPC, for loopback demos
/// and tests only). Make them with `beredd certs init` and `beredd certs issue`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// The cluster CA certificate (`ca.pem`): peers must present a certificate it signed.
    pub ca: Option<PathBuf>,
    /// This node's certificate.
    pub cert: Option<PathBuf>,
    /// This node's private key.
    pub key: Option<PathBuf>,
    /// The issuing CA (`beredd certs issuing`) this node signs the certificates of nodes that
    /// join by invitation with, and its key. Without them this node answers a join with "holds
    /// no issuing key" and the new node asks the next one in its invitation.
    #[serde(default)]
    pub issuing_cert: Option<PathBuf>,
    #[serde(default)]
    pub issuing_key: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// This node's id: a positive number, unique in the cluster and never reused.
    pub id: u64,
    /// Where RocksDB and snapshots live. Relative paths are relative to the config file.
    pub data_dir: PathBuf,
    /// The hospital this node serves (as units name their site): its pages show the banners
    /// set for that site. Empty: only banners for every site (and those of the user's units).
    #[serde(default)]
    pub site: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Address the web UI and JSON API listen on.
    pub listen: SocketAddr,
    /// URL other nodes and users reach this node's HTTP server at.
    pub advertise: String,
    /// Serve HTTPS with this certificate (PEM, full chain) and `tls_key`. Without both, the
    /// node speaks plain HTTP: only for loopback demos and tests, or behind a TLS proxy.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// With HTTPS: CA whose client certificates may log in without a password (e.g. the SITHS
    /// CA). Browsers without a certificate still get in and log in with a password.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Which certificate field is the user id: `cn` (subject common name) or `serial_number`
    /// (subject serialNumber, where SITHS cards carry the HSA-id).
    #[serde(default)]
    pub client_cert_user: CertField,
    /// TLS proxies in front of this node: from these peers only, `X-Forwarded-For` names the
    /// client (for per-client limits and login throttling). Leave empty without a proxy.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Days a new API token works unless its maker asks for fewer or more…
    #[serde(default = "default_token_days")]
    pub token_days: u32,
    /// …and the most anyone may ask for.
    #[serde(default = "default_token_max_days")]
    pub token_max_days: u32,
    /// Revocation lists of `client_ca` (files or http(s) URLs, PEM or DER): a revoked card is
    /// refused. Loaded at start (the node does not start without them) and refreshed.
    #[serde(default)]
    pub client_crl: Vec<String>,
    /// How often the revocation lists are fetched again.
    #[serde(default = "default_crl_refresh")]
    pub client_crl_refresh_seconds: u64,
}

fn default_crl_refresh() -> u64 {
    3600
}

fn default_token_days() -> u32 {
    90
}

fn default_token_max_days() -> u32 {
    365
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CertField {
    #[default]
    Cn,
    SerialNumber,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSection {
    /// Address the Raft and cluster services listen on.
    pub listen: SocketAddr,
    /// `host:port` other nodes reach this node's gRPC server at.
    pub advertise: String,
    /// Allows a non-loopback listener without `[tls]`: anyone who reaches the port then owns
    /// the cluster. Only for a closed network that nothing else can reach (a throwaway test
    /// cluster in containers).
    #[serde(default)]
    pub insecure_plaintext_on_closed_test_network: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// Initialise a new cluster from `members` when this node has no Raft state yet and none of
    /// the members is already part of a cluster. Set it on one node of a new cluster only.
    #[serde(default)]
    pub bootstrap: bool,
    /// The first voters, including this node (used only with `bootstrap`).
    #[serde(default)]
    pub members: Vec<Member>,
    /// Seconds without a majority before ops staff may force a new cluster on this node from
    /// `/ops` (two accounts confirming; see `server::break_glass`). Long enough that a network
    /// cut or a restart is waited out, not mistaken for lost nodes.
    #[serde(default = "default_break_glass_after_s")]
    pub break_glass_after_s: u64,
}

fn default_break_glass_after_s() -> u64 {
    900
}

impl Default for ClusterSection {
    fn default() -> Self {
        Self { bootstrap: false, members: Vec::new(), break_glass_after_s: default_break_glass_after_s() }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub id: u64,
    pub http: String,
    pub grpc: String,
}

/// Raft timings. A follower starts an election after `election_max_ms + U[election_min_ms,
/// election_max_ms)` without a heartbeat (openraft's leader lease). The defaults are for nodes
/// on one LAN with disks that sync in milliseconds (measured: p99 under 5 ms on the 2-core
/// development machine), i.e. 0.6–0.8 s; a node measures its disk at start and warns when a sync
/// stall could outlast them (`server::disk_probe`). Slow disks and links between hospitals want
/// the conservative profile in `beredd.example.toml` (100 / 500–1000 ms).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSection {
    pub heartbeat_ms: u64,
    pub election_min_ms: u64,
    pub election_max_ms: u64,
    /// Build a snapshot after this many log entries since the last one.
    pub snapshot_logs: u64,
    /// Log entries kept after a snapshot, so a briefly absent follower catches up from the log.
    pub keep_logs: u64,
    /// Deadline for sending a whole snapshot to a follower.
    pub snapshot_timeout_ms: u64,
    /// Deadline for one append or vote RPC (at most; openraft's own, shorter one applies too).
    pub rpc_timeout_ms: u64,
}

impl Default for RaftSection {
    fn default() -> Self {
        Self {
            heartbeat_ms: 50,
            election_min_ms: 200,
            election_max_ms: 400,
            snapshot_logs: 5000,
            keep_logs: 1000,
            snapshot_timeout_ms: 600_000,
            rpc_timeout_ms: 2000,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WriteSection {
    /// How long a write may wait for a leader and a majority before it answers 503.
    pub timeout_ms: u64,
    /// How long the reply to each command is kept, so that a client's retry (or an outbox's
    /// resend) with the same command id changes nothing; older replies are forgotten.
    pub dedup_retention_days: u32,
}

impl Default for WriteSection {
    fn default() -> Self {
        Self { timeout_ms: 4000, dedup_retention_days: 30 }
    }
}

/// Every section and key, for the environment overlay (keys contain `_`, so it must know them).
const SCHEMA: &[(&str, &[&str])] = &[
    ("node", &["id", "data_dir", "site"]),
    (
        "http",
        &[
            "listen",
            "advertise",
            "tls_cert",
            "tls_key",
            "client_ca",
            "client_cert_user",
            "trusted_proxies",
            "token_days",
            "token_max_days",
            "client_crl",
            "client_crl_refresh_seconds",
        ],
    ),
    ("grpc", &["listen", "advertise", "insecure_plaintext_on_closed_test_network"]),
    ("cluster", &["bootstrap", "members", "break_glass_after_s"]),
    (
        "raft",
        &[
            "heartbeat_ms",
            "election_min_ms",
            "election_max_ms",
            "snapshot_logs",
            "keep_logs",
            "snapshot_timeout_ms",
            "rpc_timeout_ms",
        ],
    ),
    ("write", &["timeout_ms", "dedup_retention_days"]),
    ("tls", &["ca", "cert", "key", "issuing_cert", "issuing_key"]),
    ("smtp", &["host", "port", "security", "username", "password", "from", "reply_to", "timeout_ms"]),
    ("outbound", &["test_receivers", "allow"]),
    ("saml", &["entity_id", "cert", "key"]),
    ("sms", &["routes", "max_segments"]),
    ("offline_copy", &["dir", "every_minutes"]),
];

impl Config {
    /// Reads `path`, applies `BEREDD_*` variables from `env`, and validates.
    pub fn load(path: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        let mut table: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        overlay_env(&mut table, env)?;
        let mut cfg: Config = table.try_into().with_context(|| format!("in config file {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(".")).to_owned();
        if let Some(o) = cfg.offline_copy.as_mut()
            && o.dir.is_relative()
        {
            o.dir = base.join(&o.dir);
        }
        let (saml_cert, saml_key) = match cfg.saml.as_mut() {
            Some(s) => (Some(&mut s.cert), Some(&mut s.key)),
            None => (None, None),
        };
        for p in [
            Some(&mut cfg.node.data_dir),
            cfg.tls.ca.as_mut(),
            cfg.tls.cert.as_mut(),
            cfg.tls.key.as_mut(),
            cfg.tls.issuing_cert.as_mut(),
            cfg.tls.issuing_key.as_mut(),
            saml_cert,
            saml_key,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        cfg.validate().with_context(|| format!("in config file {}", path.display()))?;
        cfg.file = Some(std::path::absolute(path).unwrap_or_else(|_| path.to_owned()));
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<()> {
        if self.node.id == 0 {
            bail!("node.id must be a positive number");
        }
        let r = &self.raft;
        if !(r.heartbeat_ms > 0 && r.heartbeat_ms * 2 < r.election_min_ms && r.election_min_ms < r.election_max_ms) {
            bail!("raft timings must satisfy 0 < 2 × heartbeat_ms < election_min_ms < election_max_ms");
        }
        if r.snapshot_logs == 0 {
            bail!("raft.snapshot_logs must be positive");
        }
        if let Some(o) = &self.offline_copy
            && !(1..=1440).contains(&o.every_minutes)
        {
            bail!("offline_copy.every_minutes must be between 1 and 1440");
        }
        let t = &self.tls;
        if [t.ca.is_some(), t.cert.is_some(), t.key.is_some()].iter().filter(|x| **x).count() % 3 != 0 {
            bail!("tls.ca, tls.cert and tls.key must be given together (or not at all)");
        }
        if t.issuing_cert.is_some() != t.issuing_key.is_some() || (t.issuing_cert.is_some() && t.ca.is_none()) {
            bail!("tls.issuing_cert and tls.issuing_key go together, and only with tls.ca, tls.cert and tls.key");
        }
        if self.http.tls_cert.is_some() != self.http.tls_key.is_some() {
            bail!("http.tls_cert and http.tls_key must be given together");
        }
        if !self.http.client_crl.is_empty() && self.http.client_ca.is_none() {
            bail!("http.client_crl needs http.client_ca (the CA whose certificates the lists revoke)");
        }
        if self.http.client_ca.is_some() && self.http.tls_cert.is_none() {
            bail!("http.client_ca needs HTTPS (http.tls_cert and http.tls_key)");
        }
        if self.http.tls_cert.is_some() && !self.http.advertise.starts_with("https://") {
            bail!("http.advertise must start with https:// when the node serves HTTPS");
        }
        if self.cluster.bootstrap && !self.cluster.members.iter().any(|m| m.id == self.node.id) {
            bail!("cluster.members must include this node (id {}) when cluster.bootstrap is set", self.node.id);
        }
        if !self.http.advertise.starts_with("http://") && !self.http.advertise.starts_with("https://") {
            bail!("http.advertise must be a URL starting with http:// or https://");
        }
        if let Some(m) = &self.smtp {
            m.validate()?;
        }
        if let Some(s) = &self.sms {
            s.validate()?;
        }
        if let Some(s) = &self.saml
            && (s.entity_id.trim().is_empty() || s.entity_id.chars().any(char::is_whitespace))
        {
            bail!("saml.entity_id must be a URI without spaces, the same on every node");
        }
        if !(1..=self.http.token_max_days).contains(&self.http.token_days) || self.http.token_max_days > 3650 {
            bail!("http.token_days must be 1 to http.token_max_days, and http.token_max_days at most 3650");
        }
        if t.ca.is_none()
            && !self.grpc.listen.ip().is_loopback()
            && !self.grpc.insecure_plaintext_on_closed_test_network
        {
            bail!(
                "grpc.listen is {} without [tls]: anyone who reaches that port could take over the cluster. \
                 Add [tls] (beredd certs init, then beredd certs issue --node {}), or listen on 127.0.0.1 \
                 (grpc.insecure_plaintext_on_closed_test_network = true is only for closed test networks)",
                self.grpc.listen,
                self.node.id
            );
        }
        Ok(())
    }

    /// The TLS files, when mutual TLS is configured.
    pub fn tls_files(&self) -> Option<crate::certs::TlsFiles> {
        match (&self.tls.ca, &self.tls.cert, &self.tls.key) {
            (Some(ca), Some(cert), Some(key)) => {
                Some(crate::certs::TlsFiles { ca: ca.clone(), cert: cert.clone(), key: key.clone() })
            }
            _ => None,
        }
    }

    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write.timeout_ms)
    }
}

impl SmtpSection {
    fn validate(&self) -> Result<()> {
        if self.host.trim().is_empty() {
            bail!("smtp.host must not be empty");
        }
        let loopback =
            self.host == "localhost" || self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if self.security == SmtpSecurity::None && !loopback {
            bail!(
                "smtp.security = \"none\" is only allowed for a mail server on this machine (127.0.0.1, ::1, localhost); use \"starttls\" or \"tls\""
            );
        }
        if self.username.is_some() != self.password.is_some() {
            bail!(
                "smtp.username and smtp.password must be given together (the password may come from BEREDD_SMTP_PASSWORD)"
            );
        }
        for (key, value) in [("from", Some(&self.from)), ("reply_to", self.reply_to.as_ref())] {
            if let Some(v) = value {
                v.parse::<lettre::message::Mailbox>()
                    .map_err(|e| anyhow::anyhow!("smtp.{key} is not an e-mail address ({v:?}): {e}"))?;
            }
        }
        if self.timeout_ms == 0 {
            bail!("smtp.timeout_ms must be positive");
        }
        Ok(())
    }
}

impl SmsSection {
    fn validate(&self) -> Result<()> {
        if self.routes.is_empty() {
            bail!("sms.routes must name at least one route (or leave out [sms])");
        }
        if !(1..=domain::sms::MAX_SEGMENTS).contains(&self.max_segments) {
            bail!("sms.max_segments must be 1 to {}", domain::sms::MAX_SEGMENTS);
        }
        let mut names = std::collections::BTreeSet::new();
        for r in &self.routes {
            let name = r.name();
            if name.trim().is_empty() || !names.insert(name) {
                bail!("every SMS route needs a name of its own (found {name:?} twice or empty)");
            }
            match r {
                SmsRoute::Smpp { address, system_id, source, per_second, .. } => {
                    if address.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()) {
                        bail!("sms route {name}: address must be host:port, got {address:?}");
                    }
                    if system_id.is_empty() || system_id.len() > 15 {
                        bail!("sms route {name}: system_id must be 1 to 15 characters");
                    }
                    if source.is_empty() || source.len() > 20 {
                        bail!("sms route {name}: source (the sender shown) must be 1 to 20 characters");
                    }
                    if *per_second == 0 {
                        bail!("sms route {name}: per_second must be positive");
                    }
                }
                SmsRoute::Modem { device, baud, pin, .. } => {
                    if device.as_os_str().is_empty() || *baud == 0 {
                        bail!("sms route {name}: device and a positive baud rate are needed");
                    }
                    if pin.as_ref().is_some_and(|p| {
                        !(4..=8).contains(&p.expose().len()) || !p.expose().bytes().all(|b| b.is_ascii_digit())
                    }) {
                        bail!("sms route {name}: pin must be 4 to 8 digits");
                    }
                }
                SmsRoute::Http { url, fields, .. } => {
                    if !url.starts_with("https://") && !url.starts_with("http://") {
                        bail!("sms route {name}: url must start with https://");
                    }
                    let all: String = fields.values().map(String::as_str).collect();
                    if !(all.contains("{to}") || all.contains("{to_digits}")) || !all.contains("{text}") {
                        bail!("sms route {name}: fields must place {{to}} (or {{to_digits}}) and {{text}}");
                    }
                }
            }
        }
        Ok(())
    }
}

/// `BEREDD_*` variables that are not configuration: the log filter and the commands' own.
const CLI_VARIABLES: &[&str] = &["LOG", "TOKEN", "TOKEN_FILE", "NEW_PASSWORD"];

/// Applies `BEREDD_<SECTION>_<KEY>=value` to the table. A value is read as TOML (number,
/// boolean, array) and otherwise taken as a string.
fn overlay_env(table: &mut toml::Table, env: impl IntoIterator<Item = (String, String)>) -> Result<()> {
    let mut unknown = Vec::new();
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("BEREDD_") else { continue };
        if CLI_VARIABLES.contains(&rest) {
            // The log filter (read in main.rs), or the `beredd` commands' own variables (a
            // script may set them for every command it runs): not configuration keys.
            continue;
        }
        let rest = rest.to_ascii_lowercase();
        let found = SCHEMA.iter().find_map(|(section, keys)| {
            let key = rest.strip_prefix(section)?.strip_prefix('_')?;
            keys.contains(&key).then(|| (*section, key.to_owned()))
        });
        let Some((section, key)) = found else {
            unknown.push(name);
            continue;
        };
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(value));
        let sec = table.entry(section).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match sec {
            toml::Value::Table(t) => {
                t.insert(key, parsed);
            }
            _ => bail!("config section [{section}] is not a table"),
        }
    }
    if !unknown.is_empty() {
        bail!(
            "unknown configuration variable(s): {} (expected BEREDD_<SECTION>_<KEY> for a known key)",
            unknown.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("node.toml");
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        p
    }

    const MINIMAL: &str = r#"
[node]
id = 2
data_dir = "data"
[http]
listen = "127.0.0.1:8082"
advertise = "http://127.0.0.1:8082"
[grpc]
listen = "127.0.0.1:9082"
advertise = "127.0.0.1:9082"
"#;

    #[test]
    fn env_overrides_keys_with_underscores_and_relative_dirs_follow_the_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = write(dir.path(), MINIMAL);
        let env =
            [("BEREDD_RAFT_HEARTBEAT_MS".to_owned(), "70".to_owned()), ("BEREDD_NODE_ID".to_owned(), "7".to_owned())];
        let c = Config::load(&p, env).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(c.raft.heartbeat_ms, 70);
        assert_eq!(c.node.id, 7);
        assert_eq!(c.node.data_dir, dir.path().join("data"));
        assert_eq!(c.raft.election_max_ms, RaftSection::default().election_max_ms);
    }

    #[test]
    fn a_node_refuses_a_plaintext_grpc_listener_on_the_network() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let open = MINIMAL.replace("listen = \"127.0.0.1:9082\"", "listen = \"0.0.0.0:9082\"");
        let p = write(dir.path(), &open);
        let err = format!("{:#}", Config::load(&p, []).err().unwrap_or_else(|| panic!("accepted")));
        assert!(err.contains("[tls]") && err.contains("beredd certs"), "says what to do: {err}");
        // The loud override, for closed test networks only.
        let env = [("BEREDD_GRPC_INSECURE_PLAINTEXT_ON_CLOSED_TEST_NETWORK".to_owned(), "true".to_owned())];
        assert!(Config::load(&p, env).is_ok());
    }

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = write(dir.path(), &format!("{MINIMAL}\n[raft]\nheartbeat = 3\n"));
        let err = format!("{:#}", Config::load(&p, []).err().unwrap_or_else(|| panic!("accepted")));
        assert!(err.contains("heartbeat"), "{err}");
        let p = write(dir.path(), MINIMAL);
        let err = format!(
            "{:#}",
            Config::load(&p, [("BEREDD_RAFT_HEARTBEAT".into(), "1".into())])
                .err()
                .unwrap_or_else(|| panic!("accepted"))
        );
        assert!(err.contains("BEREDD_RAFT_HEARTBEAT"), "{err}");
        // The log filter and the commands' own variables share the prefix but are no
        // configuration keys: a script that sets BEREDD_TOKEN for its commands starts nodes too.
        let p = write(dir.path(), MINIMAL);
        for name in ["BEREDD_LOG", "BEREDD_TOKEN", "BEREDD_TOKEN_FILE", "BEREDD_NEW_PASSWORD"] {
            assert!(Config::load(&p, [(name.into(), "x".into())]).is_ok(), "{name}");
        }
    }

    #[test]
    fn smtp_settings_are_checked_and_the_password_never_printed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let with = |extra: &str| write(dir.path(), &format!("{MINIMAL}\n[smtp]\n{extra}"));
        let env = [
            ("BEREDD_SMTP_USERNAME".to_owned(), "beredd".to_owned()),
            ("BEREDD_SMTP_PASSWORD".to_owned(), "hemligt-lösen".to_owned()),
        ];
        let p = with("host = \"mail.region.example\"\nfrom = \"Beredd <beredd@region.example>\"");
        let c = Config::load(&p, env.clone()).unwrap_or_else(|e| panic!("{e:#}"));
        let smtp = c.smtp.clone().unwrap_or_else(|| panic!("no smtp"));
        assert_eq!((smtp.port(), smtp.security), (587, SmtpSecurity::Starttls));
        assert_eq!(smtp.password.as_ref().map(Secret::expose), Some("hemligt-lösen"));
        let shown = format!("{c:?} {}", toml::to_string(&c).unwrap_or_default());
        assert!(!shown.contains("hemligt") && shown.contains("<hidden>"), "{shown}");

        for (extra, why) in [
            ("host = \"mail.region.example\"\nfrom = \"x@y.se\"\nsecurity = \"none\"", "only allowed"),
            ("host = \"127.0.0.1\"\nfrom = \"not an address\"", "smtp.from"),
            ("host = \"127.0.0.1\"\nfrom = \"x@y.se\"\nusername = \"u\"", "together"),
            ("host = \"127.0.0.1\"\nfrom = \"x@y.se\"\nsecurity = \"ssl\"", "unknown variant"),
        ] {
            let err = match Config::load(&with(extra), []) {
                Ok(_) => panic!("accepted: {extra}"),
                Err(e) => format!("{e:#}"),
            };
            assert!(err.contains(why), "{extra}: {err}");
        }
        let ok = Config::load(&with("host = \"127.0.0.1\"\nfrom = \"x@y.se\"\nsecurity = \"none\""), []);
        assert_eq!(ok.ok().and_then(|c| c.smtp).map(|s| s.port()), Some(25));
    }

    #[test]
    fn bad_timings_are_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = write(dir.path(), MINIMAL);
        let env = [("BEREDD_RAFT_ELECTION_MIN_MS".to_owned(), "2000".to_owned())];
        assert!(Config::load(&p, env).is_err());
    }

    #[test]
    fn example_config_parses_and_names_every_key() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/beredd.example.toml");
        let c = Config::load(&example, []).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(c.cluster.bootstrap);
        let text = std::fs::read_to_string(&example).unwrap_or_else(|e| panic!("{e}"));
        for (section, keys) in SCHEMA {
            assert!(
                text.contains(&format!("[{section}]")) || text.contains(&format!("[[{section}.")),
                "section {section} missing"
            );
            for k in *keys {
                assert!(
                    text.contains(&format!("{k} =")) || text.contains(&format!("[[{section}.{k}]]")),
                    "key {section}.{k} missing from the example"
                );
            }
        }
    }
}
