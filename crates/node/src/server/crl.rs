//! Revocation lists for the smart-card CA (`http.client_crl`): files or URLs, loaded at start
//! (a node whose lists cannot be read does not start: it would let lost cards in) and reloaded
//! every `http.client_crl_refresh_seconds`. A refresh that fails keeps the last good lists and
//! says so on `/ops` and in `/metrics`; the HTTPS server takes new lists without a restart.

use anyhow::{Context, Result, anyhow, bail};
use rustls_pki_types::CertificateRevocationListDer;
use rustls_pki_types::pem::PemObject;
use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;

/// Largest revocation list accepted (national card CAs publish lists of a few MB).
const MAX_BYTES: u64 = 32 << 20;

/// What the node knows of its revocation lists now.
#[derive(Clone, Debug, Default)]
pub struct CrlStatus {
    /// When the lists in use were loaded.
    pub loaded_at: Option<OffsetDateTime>,
    /// Revoked certificates in them.
    pub revoked: usize,
    /// Why the last refresh failed, if it did (the lists from `loaded_at` stay in use).
    pub failing: Option<(OffsetDateTime, String)>,
}

/// The configured sources and the status of the last load.
pub struct CrlWatch {
    sources: Vec<String>,
    status: Mutex<CrlStatus>,
}

impl CrlWatch {
    pub fn new(sources: Vec<String>) -> Self {
        Self { sources, status: Mutex::new(CrlStatus::default()) }
    }

    pub fn configured(&self) -> bool {
        !self.sources.is_empty()
    }

    pub fn status(&self) -> CrlStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Loads every source; on success records it and returns the lists, on failure records why.
    pub fn load(&self) -> Result<Vec<CertificateRevocationListDer<'static>>> {
        let now = OffsetDateTime::now_utc();
        let result = load_all(&self.sources);
        let mut st = self.status.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok((lists, revoked)) => {
                *st = CrlStatus { loaded_at: Some(now), revoked: *revoked, failing: None };
                tracing::info!(lists = lists.len(), revoked, "client certificate revocation lists loaded");
            }
            Err(e) => {
                st.failing = Some((now, format!("{e:#}")));
                tracing::warn!(
                    "refreshing the client certificate revocation lists failed (the last good ones stay): {e:#}"
                );
            }
        }
        result.map(|(lists, _)| lists)
    }

    /// A line for `/ops`, when lists are configured.
    pub fn summary(&self) -> Option<String> {
        if !self.configured() {
            return None;
        }
        let st = self.status();
        let fmt = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let loaded = st.loaded_at.map_or("never".to_owned(), fmt);
        Some(match st.failing {
            None => format!("Smart-card revocation lists: loaded {loaded} ({} revoked certificates).", st.revoked),
            Some((at, why)) => format!(
                "Smart-card revocation lists: REFRESH FAILING since {} ({why}); still using the lists loaded {loaded}.",
                fmt(at)
            ),
        })
    }
}

fn load_all(sources: &[String]) -> Result<(Vec<CertificateRevocationListDer<'static>>, usize)> {
    let mut lists = Vec::new();
    let mut revoked = 0;
    for s in sources {
        let bytes = fetch(s).with_context(|| format!("reading revocation list {s}"))?;
        for der in parse(&bytes).with_context(|| format!("reading revocation list {s}"))? {
            let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(der.as_ref())
                .map_err(|e| anyhow!("{s} is not a revocation list: {e}"))?;
            revoked += crl.iter_revoked_certificates().count();
            lists.push(der);
        }
    }
    Ok((lists, revoked))
}

/// A file's bytes, or a URL's (plain `http` is normal for CRLs: they are signed by the CA).
fn fetch(source: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if source.starts_with("http://") || source.starts_with("https://") {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).build().into();
        let mut res = agent.get(source).call()?;
        res.body_mut().as_reader().take(MAX_BYTES + 1).read_to_end(&mut out)?;
    } else {
        std::fs::File::open(source)?.take(MAX_BYTES + 1).read_to_end(&mut out)?;
    }
    if out.len() as u64 > MAX_BYTES {
        bail!("larger than {} MB", MAX_BYTES >> 20);
    }
    Ok(out)
}

/// PEM (one or more `X509 CRL` blocks) or DER.
fn parse(bytes: &[u8]) -> Result<Vec<CertificateRevocationListDer<'static>>> {
    if bytes.starts_with(b"-----") {
        let lists: Vec<_> = CertificateRevocationListDer::pem_slice_iter(bytes).collect::<Result<_, _>>()?;
        if lists.is_empty() {
            bail!("no X509 CRL block in the PEM file");
        }
        Ok(lists)
    } else {
        Ok(vec![CertificateRevocationListDer::from(bytes.to_vec())])
    }
}

impl crate::server::Server {
    /// Reloads the revocation lists every `http.client_crl_refresh_seconds` and hands good ones
    /// to the HTTPS server; a failed load keeps the lists in force (and is shown on `/ops`).
    pub(crate) fn spawn_crl_refresh(self: &std::sync::Arc<Self>, reloader: crate::server::https::Reloader) {
        let me = std::sync::Arc::downgrade(self);
        let reloader = std::sync::Arc::new(reloader);
        let every = Duration::from_secs(self.cfg.http.client_crl_refresh_seconds.max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(server) = me.upgrade() else { return };
                let r = reloader.clone();
                let done = tokio::task::spawn_blocking(move || r.reload(server.crl.load()?)).await;
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::debug!("revocation lists not refreshed: {e:#}"),
                    Err(e) => tracing::warn!("revocation list refresh task: {e}"),
                }
            }
        });
    }
}
