//! The HTTPS server: rustls on ring, optionally asking browsers for a client certificate (as
//! with Swedish SITHS cards). A verified certificate is mapped to a user id and handed to the
//! web layer as [`web::ClientCertUser`]; the web layer never sees TLS.

use crate::config::{CertField, HttpSection};
use anyhow::{Context, Result};
use axum_server::accept::{Accept, DefaultAcceptor};
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tower_layer::Layer;
use web::ClientCertUser;

/// Builds the TLS acceptor from the `[http]` section (certificate, key, optional client CA and
/// its revocation lists), and the handle that swaps in new revocation lists.
pub fn acceptor(
    http: &HttpSection,
    cert: &std::path::Path,
    key: &std::path::Path,
    crls: Vec<CertificateRevocationListDer<'static>>,
) -> Result<(CertAcceptor, Reloader)> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading {}", key.display()))?;
    let reloader = Reloader { http: http.clone(), chain, key, config: None };
    let config = RustlsConfig::from_config(Arc::new(reloader.server_config(crls)?));
    let acceptor = CertAcceptor { inner: RustlsAcceptor::new(config.clone()), field: http.client_cert_user };
    Ok((acceptor, Reloader { config: Some(config), ..reloader }))
}

/// Rebuilds the TLS configuration with new revocation lists, for connections from then on.
pub struct Reloader {
    http: HttpSection,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    config: Option<RustlsConfig>,
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
            c.reload_from_config(Arc::new(cfg));
        }
        Ok(())
    }
}

/// The user id a client certificate stands for: its subject CN or subject serialNumber (where
/// SITHS puts the HSA-id).
pub fn user_of(der: &[u8], field: CertField) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let attr = match field {
        CertField::Cn => subject.iter_common_name().next(),
        CertField::SerialNumber => subject.iter_by_oid(&x509_parser::oid_registry::OID_X509_SERIALNUMBER).next(),
    }?;
    attr.as_str().ok().map(str::to_owned)
}

#[derive(Clone)]
pub struct CertAcceptor {
    inner: RustlsAcceptor<DefaultAcceptor>,
    field: CertField,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = std::io::Result<T>> + Send>>;

type Inner = RustlsAcceptor<DefaultAcceptor>;

impl<I, S> Accept<I, S> for CertAcceptor
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: Send + 'static,
    Inner: Accept<I, S, Stream = tokio_rustls::server::TlsStream<I>>,
    <Inner as Accept<I, S>>::Service: Send + 'static,
    <Inner as Accept<I, S>>::Future: Send + 'static,
{
    type Stream = tokio_rustls::server::TlsStream<I>;
    type Service = axum::middleware::AddExtension<<Inner as Accept<I, S>>::Service, ClientCertUser>;
    type Future = BoxFuture<(Self::Stream, Self::Service)>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let (inner, field) = (self.inner.clone(), self.field);
        Box::pin(async move {
            let (stream, service) = inner.accept(stream, service).await?;
            let user = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|der| user_of(der.as_ref(), field));
            Ok((stream, axum::Extension(ClientCertUser(user)).layer(service)))
        })
    }
}
