//! Who is calling over gRPC. With `[tls]`, every caller presents a certificate from the cluster
//! CA, and `beredd certs issue` writes its role into it as a SAN URI (`urn:beredd:role:node` or
//! `urn:beredd:role:operator`). Nodes may do everything (Raft traffic, forwarded writes, the
//! cluster's own commands); operators (the `beredd cluster`/`drill`/`backup` commands) may read
//! status and run membership, backup and drill calls, each logged with their certificate's
//! subject; a certificate without a role (e.g. one made for HTTPS) gets nothing, whatever CA
//! issued it. A certificate whose node's invitation was revoked on `/ops` (see
//! `domain::nodes::invitations`) is refused on every call, whatever its role. Without `[tls]`
//! (loopback only, see `config.rs`) nobody is checked.

use sha2::Digest;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use tonic::{Request, Status};

/// The SAN URI prefix that carries a certificate's role.
pub const ROLE_URI: &str = "urn:beredd:role:";

/// What a certificate may do on the cluster's gRPC port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerRole {
    Node,
    Operator,
}

impl PeerRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Node => "node",
            Self::Operator => "operator",
        }
    }
}

/// The caller of one request: its role, its certificate's subject and its address (for the
/// audit trail).
#[derive(Clone, Debug)]
pub struct Caller {
    pub role: PeerRole,
    pub subject: String,
    pub client: String,
}

/// The role and subject a DER certificate names; `None` without a role URI.
pub fn role_of(der: &[u8]) -> Option<Caller> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let san = cert.subject_alternative_name().ok()??;
    let mut roles = san.value.general_names.iter().filter_map(|n| match n {
        x509_parser::extensions::GeneralName::URI(u) => u.strip_prefix(ROLE_URI),
        _ => None,
    });
    let role = match (roles.next()?, roles.next()) {
        ("node", None) => PeerRole::Node,
        ("operator", None) => PeerRole::Operator,
        _ => return None,
    };
    Some(Caller { role, subject: cert.subject().to_string(), client: String::new() })
}

/// The SHA-256s of revoked certificates, kept current from the replicated invitations.
#[derive(Clone, Debug, Default)]
pub struct Revoked(Arc<RwLock<HashSet<[u8; 32]>>>);

impl Revoked {
    pub fn replace(&self, set: HashSet<[u8; 32]>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = set;
    }

    /// Whether any certificate of the chain is revoked (nothing is hashed while none is).
    fn any(&self, chain: &[tonic::transport::CertificateDer<'_>]) -> bool {
        let set = self.0.read().unwrap_or_else(|p| p.into_inner());
        !set.is_empty() && chain.iter().any(|c| set.contains(&<[u8; 32]>::from(sha2::Sha256::digest(c.as_ref()))))
    }
}

/// The node ids the directory has retired, kept current from the replicated state: their Raft
/// calls are refused (see `retired.rs`) without a read on every call.
#[derive(Clone, Debug, Default)]
pub struct RetiredIds(Arc<RwLock<HashSet<u64>>>);

impl RetiredIds {
    pub fn replace(&self, set: HashSet<u64>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = set;
    }

    pub fn contains(&self, id: u64) -> bool {
        self.0.read().unwrap_or_else(|p| p.into_inner()).contains(&id)
    }
}

/// What the gRPC services check callers against.
#[derive(Clone, Debug, Default)]
pub struct Gate {
    /// Whether the node runs with `[tls]`; without it everyone passes as a node (a loopback or
    /// closed test network).
    pub tls: bool,
    pub revoked: Revoked,
    pub retired: RetiredIds,
}

/// Checks that the caller of `req` holds one of `allowed` and that its certificate is not
/// revoked.
pub fn require<T>(req: &Request<T>, gate: &Gate, allowed: &[PeerRole], call: &str) -> Result<Caller, Status> {
    let client = req.remote_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    if !gate.tls {
        return Ok(Caller { role: PeerRole::Node, subject: "(no TLS)".into(), client });
    }
    let chain = req.peer_certs();
    if chain.as_deref().is_some_and(|c| gate.revoked.any(c)) {
        tracing::warn!(target: "beredd::audit", call, client, "gRPC call refused: the certificate is revoked");
        return Err(Status::permission_denied(format!(
            "{call} refused: this node's certificate was revoked on /ops; ask ops staff for a new invitation"
        )));
    }
    let caller = chain.and_then(|chain| chain.first().and_then(|c| role_of(c.as_ref())));
    match caller {
        Some(c) if allowed.contains(&c.role) => Ok(Caller { client, ..c }),
        Some(c) => {
            tracing::warn!(target: "beredd::audit", call, subject = %c.subject, role = c.role.as_str(), "gRPC call refused");
            Err(Status::permission_denied(format!("{call} is not for {} certificates", c.role.as_str())))
        }
        None => {
            tracing::warn!(target: "beredd::audit", call, "gRPC call refused: the certificate names no beredd role");
            Err(Status::permission_denied(format!(
                "{call} needs a node or operator certificate from `beredd certs issue`"
            )))
        }
    }
}

/// Nodes only: Raft traffic, forwarded writes, the leader's election switch.
pub const NODES: &[PeerRole] = &[PeerRole::Node];
/// Nodes and operators: status, membership, backup and drill calls.
pub const OPERATORS: &[PeerRole] = &[PeerRole::Node, PeerRole::Operator];
