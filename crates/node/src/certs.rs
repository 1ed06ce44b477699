//! `beredd certs`: a cluster certificate authority and node certificates for mutual TLS between
//! nodes. A peer (or a `beredd` command) without a certificate from the cluster CA cannot
//! append, vote, send a snapshot, forward a write or change membership.
//!
//! Every node certificate names [`CLUSTER_NAME`]; clients check the server against that name and
//! the CA, so node addresses can change without reissuing certificates.

use anyhow::{Context, Result, bail};
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
fn ca_params() -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    dn.push(DnType::OrganizationName, "beredd");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(3650);
    Ok(p)
}

fn write_new(path: &Path, text: &str, secret: bool) -> Result<()> {
    if path.exists() {
        bail!("{} exists already; move it away first", path.display());
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
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

/// Issues `dir/<name>.pem` and `dir/<name>-key.pem`, signed by the CA in `dir`, good as both
/// server and client identity (a node is both; the CLI is a client).
/// `hosts` adds DNS names and IP addresses, for certificates that browsers also check (HTTPS).
pub fn issue(dir: &Path, name: &str, hosts: &[String]) -> Result<(PathBuf, PathBuf)> {
    let ca_key_pem = std::fs::read_to_string(dir.join("ca-key.pem"))
        .with_context(|| format!("reading the CA key in {} (run `beredd certs init` first)", dir.display()))?;
    let issuer = Issuer::new(ca_params()?, KeyPair::from_pem(&ca_key_pem)?);
    let mut p = CertificateParams::new(vec![CLUSTER_NAME.to_owned()])?;
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
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(825);
    let key = KeyPair::generate()?;
    let cert = p.signed_by(&key, &issuer)?;
    let (cert_path, key_path) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}-key.pem")));
    write_new(&cert_path, &cert.pem(), false)?;
    write_new(&key_path, &key.serialize_pem(), true)?;
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
            .client_ca_root(tonic::transport::Certificate::from_pem(ca)))
    }
}

/// The client TLS settings the `beredd` commands use, set once from the command line.
pub static CLI_TLS: std::sync::OnceLock<Option<tonic::transport::ClientTlsConfig>> = std::sync::OnceLock::new();
