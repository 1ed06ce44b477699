//! `beredd certs`: a cluster certificate authority and node certificates for mutual TLS between
//! nodes. A peer (or a `beredd` command) without a certificate from the cluster CA cannot
//! append, vote, send a snapshot, forward a write or change membership.
//!
//! Every node certificate names [`CLUSTER_NAME`]; clients check the server against that name and
//! the CA, so node addresses can change without reissuing certificates.
//!
//! Each certificate carries one [`CertRole`]: a node's may do everything on the gRPC port, an
//! operator's only what the `beredd` commands need (see `server::peers`), and a web (HTTPS)
//! certificate nothing at all — it is not even valid as a client.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// The DNS name in every node certificate, checked by every client.
pub const CLUSTER_NAME: &str = "beredd.cluster";
const CA_NAME: &str = "beredd cluster CA";

/// The CA's parameters. Rebuilt identically when issuing, so the issuer name always matches.
/// One level of CA may sit below it: the issuing CA that signs the certificates of nodes that
/// join by invitation.
fn ca_params() -> Result<CertificateParams> {
    authority(CA_NAME, 1, 3650)
}

/// A CA's parameters: its name, how many CAs may sit below it, and how many days it is valid.
fn authority(name: &str, path_len: u8, days: i64) -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn.push(DnType::OrganizationName, "beredd");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(path_len));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(days);
    Ok(p)
}

/// What a certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CertRole {
    /// A cluster node: server and client, Raft traffic and everything else.
    Node,
    /// An operator's `beredd` commands: client only; status, membership, backup, drills.
    Operator,
    /// HTTPS for browsers: server only, refused on the gRPC port.
    Web,
    /// A person's login certificate (a test card for `http.client_ca`): client only, no
    /// cluster role, so it is refused on the gRPC port too.
    Card,
}

/// Writes a new file (never over an old one); a secret is created with mode 0600 from the start,
/// so it is never readable by others, not even for a moment.
pub fn write_new(path: &Path, text: &str, secret: bool) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if secret { 0o600 } else { 0o644 })
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                anyhow::anyhow!("{} exists already; move it away first", path.display())
            }
            _ => anyhow::anyhow!("writing {}: {e}", path.display()),
        })?;
    f.write_all(text.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    f.sync_all().with_context(|| format!("writing {}", path.display()))
}

/// Makes `dir/ca.pem` and `dir/ca-key.pem`. Keep the key offline; only `ca.pem` goes to nodes.
pub fn init(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let key = KeyPair::generate()?;
    let cert = ca_params()?.self_signed(&key)?;
    write_new(&dir.join("ca.pem"), &cert.pem(), false)?;
    write_new(&dir.join("ca-key.pem"), &key.serialize_pem(), true)?;
    Ok(dir.join("ca.pem"))
}

/// Issues `dir/<name>.pem` and `dir/<name>-key.pem`, signed by the CA in `dir`, for `role`: a
/// node is server and client, an operator only a client, a web server only a server.
/// `hosts` adds DNS names and IP addresses, for certificates that browsers also check (HTTPS).
pub fn issue(dir: &Path, name: &str, role: CertRole, hosts: &[String]) -> Result<(PathBuf, PathBuf)> {
    let ca_key_pem = std::fs::read_to_string(dir.join("ca-key.pem"))
        .with_context(|| format!("reading the CA key in {} (run `beredd certs init` first)", dir.display()))?;
    let issuer = Issuer::new(ca_params()?, KeyPair::from_pem(&ca_key_pem)?);
    let key = KeyPair::generate()?;
    let cert = leaf_params(name, role, hosts)?.signed_by(&key, &issuer)?;
    let (cert_path, key_path) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}-key.pem")));
    write_new(&cert_path, &cert.pem(), false)?;
    write_new(&key_path, &key.serialize_pem(), true)?;
    Ok((cert_path, key_path))
}

/// A leaf certificate's parameters: its name, its role URI, and what it may be used for.
fn leaf_params(name: &str, role: CertRole, hosts: &[String]) -> Result<CertificateParams> {
    let cluster_names = if role == CertRole::Node { vec![CLUSTER_NAME.to_owned()] } else { Vec::new() };
    let mut p = CertificateParams::new(cluster_names)?;
    let role_uri = match role {
        CertRole::Node => Some("node"),
        CertRole::Operator => Some("operator"),
        CertRole::Web | CertRole::Card => None,
    };
    if let Some(r) = role_uri {
        let uri = format!("{}{r}", crate::server::peers::ROLE_URI);
        p.subject_alt_names.push(rcgen::SanType::URI(uri.as_str().try_into()?));
    }
    for h in hosts {
        p.subject_alt_names.push(match h.parse::<std::net::IpAddr>() {
            Ok(ip) => rcgen::SanType::IpAddress(ip),
            Err(_) => rcgen::SanType::DnsName(h.as_str().try_into()?),
        });
    }
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn.push(DnType::OrganizationName, "beredd");
    p.distinguished_name = dn;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    p.extended_key_usages = match role {
        CertRole::Node => vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth],
        CertRole::Operator | CertRole::Card => vec![ExtendedKeyUsagePurpose::ClientAuth],
        CertRole::Web => vec![ExtendedKeyUsagePurpose::ServerAuth],
    };
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(825);
    Ok(p)
}

/// Makes the issuing CA in `dir` (`issuing.pem`, `issuing-key.pem`), signed by the cluster CA
/// there: the key nodes keep to sign the certificates of nodes that join by invitation, so the
/// cluster CA's own key can stay offline. It may sign leaf certificates only (path length 0)
/// and is valid for two years; see SECURITY.md for how it is kept and replaced.
pub fn issuing(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let ca_key_pem = std::fs::read_to_string(dir.join("ca-key.pem"))
        .with_context(|| format!("reading the CA key in {} (run `beredd certs init` first)", dir.display()))?;
    let ca_pem =
        std::fs::read_to_string(dir.join("ca.pem")).with_context(|| format!("reading {}/ca.pem", dir.display()))?;
    if path_len(&ca_pem)? == Some(0) {
        anyhow::bail!(
            "the cluster CA in {} allows no issuing CA below it (made by an older beredd); make a new CA with \
             `beredd certs init`, or keep issuing node certificates with `beredd certs issue`",
            dir.display()
        );
    }
    let issuer = Issuer::new(ca_params()?, KeyPair::from_pem(&ca_key_pem)?);
    let key = KeyPair::generate()?;
    let cert = authority(ISSUING_NAME, 0, 730)?.signed_by(&key, &issuer)?;
    let (cert_path, key_path) = (dir.join("issuing.pem"), dir.join("issuing-key.pem"));
    write_new(&cert_path, &cert.pem(), false)?;
    write_new(&key_path, &key.serialize_pem(), true)?;
    Ok((cert_path, key_path))
}

const ISSUING_NAME: &str = "beredd issuing CA";

/// The path length a CA certificate allows below it (`None`: unlimited).
fn path_len(pem: &str) -> Result<Option<u32>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).context("reading a CA certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).context("reading a CA certificate")?;
    let bc = cert.basic_constraints().ok().flatten().map(|b| b.value.path_len_constraint);
    Ok(bc.flatten())
}

/// SHA-256 (lower-case hex) of the first certificate in a PEM text, as invitations pin the
/// cluster CA and the node directory names a joined node's certificate.
pub fn fingerprint(pem: &str) -> Result<String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use sha2::Digest;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).context("reading a certificate")?;
    Ok(hex::encode(sha2::Sha256::digest(der.as_ref())))
}

/// The issuing CA as a node holds it (`tls.issuing_cert`, `tls.issuing_key`).
pub struct IssuingKey {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl IssuingKey {
    pub fn load(cert: &Path, key: &Path) -> Result<Self> {
        let cert_pem = std::fs::read_to_string(cert).with_context(|| format!("reading {}", cert.display()))?;
        let key_pem = std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, KeyPair::from_pem(&key_pem)?)
            .with_context(|| format!("reading the issuing CA {}", cert.display()))?;
        Ok(Self { cert_pem, issuer })
    }

    /// Signs a node certificate (`node<N>`, the cluster name, the node role) for the public key
    /// of `csr_pem`. Nothing else of the request is taken: names and uses are ours. Returns the
    /// certificate followed by the issuing CA's, as the node presents them.
    pub fn sign_node(&self, node: u64, csr_pem: &str) -> Result<String> {
        let csr =
            rcgen::CertificateSigningRequestParams::from_pem(csr_pem).context("reading the certificate request")?;
        let cert =
            leaf_params(&format!("node{node}"), CertRole::Node, &[])?.signed_by(&csr.public_key, &self.issuer)?;
        Ok(format!("{}{}", cert.pem(), self.cert_pem))
    }
}

/// A new key pair and a certificate request for it (PEM each), as `beredd join` sends it.
pub fn request(name: &str) -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    p.distinguished_name = dn;
    let csr = p.serialize_request(&key)?;
    Ok((key.serialize_pem(), csr.pem()?))
}

/// The SAML service provider's signing key pair (RSA 2048, SHA-256; RSA because every IdP
/// verifies it) with a self-signed certificate: IdPs trust it from the SP metadata, not from a
/// CA. Written as `saml-sp.pem` and `saml-sp-key.pem` in `dir`; existing files are refused.
pub fn saml_sp(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    use rsa::pkcs8::EncodePrivateKey;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let rsa_key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).context("making an RSA key")?;
    let pem = rsa_key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).context("encoding the RSA key")?;
    let key = KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)?;
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "beredd SAML service provider");
    dn.push(DnType::OrganizationName, "beredd");
    p.distinguished_name = dn;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(3650);
    let cert = p.self_signed(&key)?;
    let (cert_path, key_path) = (dir.join("saml-sp.pem"), dir.join("saml-sp-key.pem"));
    write_new(&cert_path, &cert.pem(), false)?;
    write_new(&key_path, &pem, true)?;
    Ok((cert_path, key_path))
}

/// PEM files for one side of a mutual TLS connection.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    fn read(&self) -> Result<(String, String, String)> {
        let r = |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()));
        Ok((r(&self.ca)?, r(&self.cert)?, r(&self.key)?))
    }

    pub fn client(&self) -> Result<tonic::transport::ClientTlsConfig> {
        let (ca, cert, key) = self.read()?;
        Ok(tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(ca))
            .identity(tonic::transport::Identity::from_pem(cert, key))
            .domain_name(CLUSTER_NAME))
    }

    pub fn server(&self) -> Result<tonic::transport::ServerTlsConfig> {
        let (ca, cert, key) = self.read()?;
        Ok(tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(cert, key))
            .client_ca_root(tonic::transport::Certificate::from_pem(ca))
            // A node joining by invitation has no certificate yet: its one call (`Join`) is
            // answered without one; every other call requires a role (`server::peers`).
            .client_auth_optional(true))
    }
}

/// The client TLS settings the `beredd` commands use, set once from the command line.
pub static CLI_TLS: std::sync::OnceLock<Option<tonic::transport::ClientTlsConfig>> = std::sync::OnceLock::new();

/// `beredd certs crl`: a revocation list signed by the CA in `dir` revoking the certificates in
/// `revoked` (PEM files), written to `out`, valid for 30 days. For a card CA under the
/// hospital's own PKI use its lists; this one serves the cluster CA and tests.
pub fn crl(dir: &Path, revoked: &[PathBuf], out: &Path) -> Result<()> {
    use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber};
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let ca_key_pem = std::fs::read_to_string(dir.join("ca-key.pem"))
        .with_context(|| format!("reading the CA key in {}", dir.display()))?;
    let issuer = Issuer::new(ca_params()?, KeyPair::from_pem(&ca_key_pem)?);
    let now = OffsetDateTime::now_utc();
    let mut revoked_certs = Vec::new();
    for path in revoked {
        let der = CertificateDer::from_pem_file(path).with_context(|| format!("reading {}", path.display()))?;
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
            .map_err(|e| anyhow::anyhow!("{} is not a certificate: {e}", path.display()))?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(cert.raw_serial()),
            revocation_time: now,
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: now - Duration::minutes(5),
        next_update: now + Duration::days(30),
        crl_number: SerialNumber::from(u64::try_from(now.unix_timestamp()).unwrap_or(1)),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let pem = params.signed_by(&issuer)?.pem()?;
    // Replaced whole, so a node reloading it never reads half a list.
    let tmp = out.with_extension("crl.part");
    std::fs::write(&tmp, pem).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))
}

/// The CA in `dir` (made if missing), a certificate for each of nodes `1..=nodes`, one for an
/// operator (`operator.pem`) and the issuing CA for invitations (`issuing.pem`), each made only
/// if missing; returns the files made. Keys are 0600.
pub fn init_cluster(dir: &Path, nodes: u64) -> Result<Vec<PathBuf>> {
    let mut made = Vec::new();
    if !dir.join("ca-key.pem").exists() {
        made.push(init(dir)?);
    }
    let mut wanted: Vec<(String, CertRole)> = (1..=nodes).map(|n| (format!("node{n}"), CertRole::Node)).collect();
    wanted.push(("operator".to_owned(), CertRole::Operator));
    for (name, role) in wanted {
        if !dir.join(format!("{name}.pem")).exists() {
            made.push(issue(dir, &name, role, &[])?.0);
        }
    }
    if !dir.join("issuing.pem").exists() && path_len(&std::fs::read_to_string(dir.join("ca.pem"))?)? != Some(0) {
        made.push(issuing(dir)?.0);
    }
    Ok(made)
}
