//! The HTTPS configuration: rustls on ring, optionally asking browsers for a client certificate
//! (as with Swedish SITHS cards) checked against the configured revocation lists, and which field
//! of a verified certificate names the user. [`web::serve`] serves with it.

use crate::config::{CertField, HttpSection};
use anyhow::{Context, Result};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::sync::Arc;

/// Builds the TLS configuration from the `[http]` section (certificate, key, optional client CA
/// and its revocation lists), the mapping from a client certificate to a user id, and the handle
/// that swaps in new revocation lists.
pub fn tls(
    http: &HttpSection,
    cert: &std::path::Path,
    key: &std::path::Path,
    crls: Vec<CertificateRevocationListDer<'static>>,
) -> Result<(web::serve::Tls, web::serve::CertUser, Reloader)> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading {}", key.display()))?;
    let reloader = Reloader { http: http.clone(), chain, key, config: None };
    let tls = web::serve::Tls::new(Arc::new(reloader.server_config(crls)?));
    let field = http.client_cert_user;
    let user: web::serve::CertUser = Arc::new(move |der: &[u8]| user_of(der, field));
    Ok((tls.clone(), user, Reloader { config: Some(tls), ..reloader }))
}

/// Rebuilds the TLS configuration with new revocation lists, for connections from then on.
pub struct Reloader {
    http: HttpSection,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    config: Option<web::serve::Tls>,
}

impl Reloader {
    fn server_config(&self, crls: Vec<CertificateRevocationListDer<'static>>) -> Result<ServerConfig> {
        let builder = ServerConfig::builder();
        let (chain, key) = (self.chain.clone(), self.key.clone_key());
        let mut config = match &self.http.client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for c in CertificateDer::pem_file_iter(ca).with_context(|| format!("reading {}", ca.display()))? {
                    roots.add(c.with_context(|| format!("parsing {}", ca.display()))?)?;
                }
                // Ask for a certificate but let people without one in (they log in with a
                // password). With revocation lists, a revoked card is refused at the handshake.
                let mut verifier = WebPkiClientVerifier::builder(Arc::new(roots)).allow_unauthenticated();
                if !crls.is_empty() {
                    verifier = verifier.with_crls(crls);
                }
                builder.with_client_cert_verifier(verifier.build()?).with_single_cert(chain, key)?
            }
            None => builder.with_no_client_auth().with_single_cert(chain, key)?,
        };
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }

    /// Puts `crls` in force for new connections.
    pub fn reload(&self, crls: Vec<CertificateRevocationListDer<'static>>) -> Result<()> {
        let cfg = self.server_config(crls)?;
        if let Some(c) = &self.config {
            c.reload(Arc::new(cfg));
        }
        Ok(())
    }
}

/// Who a client certificate stands for: the user id from its subject CN or subject
/// serialNumber (where SITHS puts the HSA-id), and the subject's attributes by short name.
pub fn user_of(der: &[u8], field: CertField) -> web::ClientCertUser {
    use x509_parser::oid_registry as oid;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else { return web::ClientCertUser::default() };
    let subject = cert.subject();
    let names = [
        (oid::OID_X509_COMMON_NAME, "cn"),
        (oid::OID_X509_SERIALNUMBER, "serial_number"),
        (oid::OID_X509_ORGANIZATION_NAME, "o"),
        (oid::OID_X509_ORGANIZATIONAL_UNIT, "ou"),
        (oid::OID_X509_COUNTRY_NAME, "c"),
        (oid::OID_X509_LOCALITY_NAME, "l"),
        (oid::OID_PKCS9_EMAIL_ADDRESS, "email"),
        (oid::OID_X509_TITLE, "title"),
        (oid::OID_X509_GIVEN_NAME, "given_name"),
        (oid::OID_X509_SURNAME, "surname"),
    ];
    let mut attrs = domain::federation::Attributes::new();
    for (id, name) in &names {
        for a in subject.iter_by_oid(id) {
            if let Ok(v) = a.as_str() {
                attrs.entry((*name).to_owned()).or_default().push(v.chars().take(200).collect());
            }
        }
    }
    let key = match field {
        CertField::Cn => "cn",
        CertField::SerialNumber => "serial_number",
    };
    let user = attrs.get(key).and_then(|v| v.first()).cloned();
    web::ClientCertUser { user, attrs }
}
