//! SAML 2.0 service provider (issue 20): the cluster is one SP (`[saml]`, the same on every
//! node) whose metadata lists every node's assertion consumer service, indexed by node id, so an
//! IdP can send the browser back to any of them. Requests go out signed over HTTP-Redirect;
//! responses come back over HTTP-POST and are checked by `saml-rs` (signature by a key in the
//! IdP's metadata, RSA-SHA2 only, issuer, audience, recipient and destination, time window,
//! `InResponseTo`); XML signatures are never handled here.
//!
//! What a login in progress needs to be completed is in the signed RelayState (made and
//! checked by the web layer's SAML pages), not in this node's memory, so any node completes it. An assertion is
//! used once: this node remembers the ones it took, and the login command carries a hash of
//! the assertion's id that the cluster refuses a second time, whichever node takes it.

use crate::server::outbound::Outbound;
use domain::federation::{Attributes, IdentityProvider, OnceUse, Protocol};
use domain::{IdpId, OnceKey};
use saml_rs::{
    AcsEndpoint, AudienceValidationPolicy, AuthnRequestSigningPolicy, BrowserInput, CertificatePem, Credentials,
    EntityId, IdpDescriptor, MetadataTrustPolicy, PendingAuthnRequest, PendingSnapshot, PrivateKeyPem, RelayStateParam,
    ReplayCache, ReplayKey, ReplayPolicy, Saml, SamlError, SamlValidationContext, Sp, SpValidationPolicy, SsoResponse,
    StartSso, XmlSignatureProfile,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use time::OffsetDateTime;
use web::IdpReach;

/// Metadata fetched from an IdP's URL is fetched again after this long…
const FRESH: Duration = Duration::from_secs(60 * 60);
/// …and after a failed fetch not before this long (the saved copy serves meanwhile).
const RETRY: Duration = Duration::from_secs(60);
/// The largest `SAMLResponse` taken (base64, as posted).
const MAX_RESPONSE: usize = 512 * 1024;
/// Attributes kept from an assertion at most, and the longest value.
const MAX_ATTRIBUTES: usize = 200;
const MAX_VALUE: usize = 1000;

/// The SP's own settings, read from `[saml]` at start.
#[derive(Clone)]
pub struct SpSettings {
    pub entity_id: String,
    pub cert_pem: String,
    pub key_pem: String,
}

#[derive(Default)]
struct Fetched {
    url: String,
    xml: Option<String>,
    fetched: Option<Instant>,
    tried: Option<Instant>,
    last_error: Option<String>,
}

/// Assertions this node has taken, until they expire: refuses a replay before it reaches the
/// cluster (which refuses it too, see the module doc).
#[derive(Default)]
struct Seen(HashMap<String, SystemTime>);

impl ReplayCache for Seen {
    fn check_and_store(&mut self, key: ReplayKey, expires_at: SystemTime) -> Result<(), SamlError> {
        let now = SystemTime::now();
        self.0.retain(|_, until| *until > now);
        let k = key.cache_key();
        if self.0.contains_key(&k) {
            return Err(SamlError::ReplayDetected { key: k });
        }
        self.0.insert(k, expires_at);
        Ok(())
    }
}

/// A checked login: what the IdP said about the person, and the proof to use once.
pub struct SamlLogin {
    pub attrs: Attributes,
    pub once: OnceUse,
}

/// The service provider. Cheap to clone; `begin` and `finish` may block on a metadata fetch
/// (run them off the async workers).
#[derive(Clone)]
pub struct SamlSp {
    settings: Option<SpSettings>,
    outbound: Outbound,
    fetched: Arc<Mutex<HashMap<IdpId, Fetched>>>,
    seen: Arc<Mutex<Seen>>,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The IdP's entity id, metadata URL and saved metadata.
fn saml_parts(idp: &IdentityProvider) -> Result<(&str, Option<&str>, &str), String> {
    match &idp.protocol {
        Protocol::Saml { entity_id, metadata_url, metadata_xml } => {
            Ok((entity_id, metadata_url.as_deref(), metadata_xml))
        }
        _ => Err(format!("{} is not a SAML IdP", idp.id)),
    }
}

/// The entity id in IdP metadata (its `EntityDescriptor`), checked to be IdP metadata.
pub fn metadata_entity_id(xml: &str) -> Result<String, String> {
    if xml.len() > domain::federation::MAX_METADATA_BYTES {
        return Err("the metadata is larger than 512 KiB".into());
    }
    let md = saml_rs::raw::metadata::IdpMetadata::from_xml(xml).map_err(|e| format!("not IdP metadata: {e}"))?;
    let id = md.get_entity_id().ok_or("the metadata names no entityID")?.to_owned();
    IdpDescriptor::from_metadata_xml_for(EntityId::try_new(id.clone()).map_err(err)?, xml, trust())
        .map_err(|e| format!("the metadata cannot be used: {e}"))?;
    Ok(id)
}

/// Metadata is trusted by how it reached the cluster: pasted by an admin, or fetched over the
/// guarded client (https outside tests). Federation aggregates signed by a federation key are
/// not read (see `deploy/README.md`).
fn trust() -> MetadataTrustPolicy<'static> {
    MetadataTrustPolicy::UnsignedForCompatibility
}

/// The `InResponseTo` of a posted response's root element (checked against the signature and
/// the RelayState afterwards by `saml-rs`; read here only to know which request it answers).
fn in_response_to(saml_response: &str) -> Result<String, String> {
    use base64::Engine;
    let compact: String = saml_response.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let xml = base64::engine::general_purpose::STANDARD.decode(compact).map_err(|_| "the response is not base64")?;
    let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).map_err(|e| format!("the response is not XML: {e}"))? {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                if e.local_name().into_inner() != "Response" {
                    return Err("the message is not a SAML Response".into());
                }
                let a = e
                    .try_get_attribute("InResponseTo")
                    .map_err(err)?
                    .ok_or("the response answers no request of ours (no InResponseTo)")?;
                let v = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(err)?;
                return Ok(v.into_owned());
            }
            quick_xml::events::Event::Eof => return Err("the response is empty".into()),
            _ => buf.clear(),
        }
    }
}

impl SamlSp {
    pub fn new(settings: Option<SpSettings>, outbound: Outbound) -> Self {
        Self { settings, outbound, fetched: Arc::default(), seen: Arc::default() }
    }

    pub fn configured(&self) -> bool {
        self.settings.is_some()
    }

    /// The SP with one assertion consumer service per node (`(node id, URL)`).
    fn sp(&self, acs: &[(u16, String)]) -> Result<Saml<Sp>, String> {
        let s = self.settings.as_ref().ok_or("this node has no [saml] service provider configured")?;
        let mut b = saml_rs::SpConfig::builder(EntityId::try_new(s.entity_id.clone()).map_err(err)?);
        for (i, url) in acs {
            b = b.acs_endpoint(AcsEndpoint::post(url.clone()).map_err(err)?.with_index(*i));
        }
        let validation = SpValidationPolicy {
            authn_requests: AuthnRequestSigningPolicy::Sign,
            audience: AudienceValidationPolicy::Validate,
            xml_signatures: XmlSignatureProfile::StrictRsaSha2,
            ..SpValidationPolicy::recommended()
        };
        let credentials = Credentials {
            signing_key: Some(PrivateKeyPem::new(s.key_pem.clone())),
            signing_certificate: Some(CertificatePem::new(s.cert_pem.clone())),
            ..Credentials::default()
        };
        Saml::sp(b.credentials(credentials).validation(validation).build().map_err(err)?).map_err(err)
    }

    /// The SP metadata (what IdP admins register).
    pub fn metadata(&self, acs: &[(u16, String)]) -> Result<String, String> {
        Ok(self.sp(acs)?.metadata_xml().to_owned())
    }

    /// The IdP's metadata: fetched from its URL when the last copy is stale (the saved copy,
    /// or the last one fetched, when that fails).
    fn idp_metadata(&self, idp: &IdentityProvider) -> Result<String, String> {
        let (_, url, saved) = saml_parts(idp)?;
        let Some(url) = url else { return Ok(saved.to_owned()) };
        {
            let mut all = self.fetched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let f = all.entry(idp.id.clone()).or_default();
            if f.url != url {
                *f = Fetched { url: url.to_owned(), ..Fetched::default() };
            }
            let fresh = f.fetched.is_some_and(|t| t.elapsed() < FRESH);
            let resting = f.last_error.is_some() && f.tried.is_some_and(|t| t.elapsed() < RETRY);
            if fresh || resting {
                return Ok(f.xml.clone().unwrap_or_else(|| saved.to_owned()));
            }
        }
        let got = self.fetch(url);
        let mut all = self.fetched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let f = all.entry(idp.id.clone()).or_default();
        f.tried = Some(Instant::now());
        match got {
            Ok(xml) => {
                f.xml = Some(xml.clone());
                f.fetched = f.tried;
                f.last_error = None;
                Ok(xml)
            }
            Err(e) => {
                tracing::warn!(idp = %idp.id, "SAML metadata refresh failed, using the last good copy: {e}");
                f.last_error = Some(e);
                Ok(f.xml.clone().unwrap_or_else(|| saved.to_owned()))
            }
        }
    }

    /// Fetches metadata from `url` over the guarded client, checks it is IdP metadata.
    pub fn fetch(&self, url: &str) -> Result<String, String> {
        let req = ureq::http::Request::get(url).body(Vec::new()).map_err(err)?;
        let resp = self.outbound.call(req).map_err(err)?;
        if !resp.status().is_success() {
            return Err(format!("{url} answered {}", resp.status()));
        }
        let xml = String::from_utf8(resp.into_body()).map_err(|_| format!("{url} sent no UTF-8 text"))?;
        metadata_entity_id(&xml)?;
        Ok(xml)
    }

    fn descriptor(&self, idp: &IdentityProvider) -> Result<IdpDescriptor, String> {
        let (entity_id, ..) = saml_parts(idp)?;
        let xml = self.idp_metadata(idp)?;
        IdpDescriptor::from_metadata_xml_for(EntityId::try_new(entity_id.to_owned()).map_err(err)?, &xml, trust())
            .map_err(|e| format!("the IdP's metadata cannot be used: {e}"))
    }

    /// Starts a login at `idp`: the URL to send the browser to, with a signed AuthnRequest that
    /// asks for the answer at the consumer service `acs_index` (this node's id).
    pub fn begin(
        &self,
        idp: &IdentityProvider,
        acs: &[(u16, String)],
        acs_index: u16,
        relay_state: String,
    ) -> Result<String, String> {
        let sp = self.sp(acs)?;
        let descriptor = self.descriptor(idp)?;
        let relay = RelayStateParam::try_from_option(Some(relay_state)).map_err(err)?;
        let options = StartSso::redirect().relay_state(relay).assertion_consumer_service_index(acs_index);
        let started = sp.start_sso(&descriptor, options).map_err(err)?;
        Ok(started.outbound.redirect_url().map_err(err)?.to_owned())
    }

    /// Checks a response posted to a consumer service: the login in progress is rebuilt from the
    /// RelayState (already verified by the web layer) and the response's `InResponseTo`.
    pub fn finish(
        &self,
        idp: &IdentityProvider,
        acs: &[(u16, String)],
        acs_index: u16,
        relay_state: String,
        saml_response: String,
    ) -> Result<SamlLogin, String> {
        if saml_response.len() > MAX_RESPONSE {
            return Err("the response is larger than 512 KiB".into());
        }
        let (entity_id, ..) = saml_parts(idp)?;
        let sp = self.sp(acs)?;
        let descriptor = self.descriptor(idp)?;
        let acs_url =
            acs.iter().find(|(i, _)| *i == acs_index).map(|(_, u)| u.clone()).ok_or("no such consumer service")?;
        let relay = RelayStateParam::try_from_option(Some(relay_state.clone())).map_err(err)?;
        let mut snapshot = PendingSnapshot::<saml_rs::AuthnRequest>::authn_request(
            in_response_to(&saml_response)?,
            relay,
            entity_id,
            "post",
            acs_url,
            "post",
        );
        snapshot.request_binding = Some("redirect".into());
        snapshot.acs_index = Some(acs_index);
        let pending = PendingAuthnRequest::from_snapshot(snapshot).map_err(err)?;
        let fields = vec![
            saml_rs::FormField::new("SAMLResponse", saml_response),
            saml_rs::FormField::new("RelayState", relay_state),
        ];
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let validation = SamlValidationContext::new(SystemTime::now(), ReplayPolicy::RequireCache(&mut *seen))
            .with_replay_retention(Duration::from_secs(10 * 60));
        let session =
            sp.finish_sso(&descriptor, &pending, BrowserInput::<SsoResponse>::post(fields), validation).map_err(err)?;
        drop(seen);
        let mut attrs = Attributes::new();
        attrs.insert("name_id".into(), vec![session.name_id().value().to_owned()]);
        for a in session.attributes().as_slice().iter().take(MAX_ATTRIBUTES) {
            let values = a.values().iter().map(|v| v.as_str().chars().take(MAX_VALUE).collect()).collect();
            attrs.insert(a.name().chars().take(200).collect(), values);
        }
        let key = hex::encode(Sha256::digest(format!("{entity_id}\n{}", session.assertion_id().as_str())));
        let now = OffsetDateTime::now_utc();
        let until = session
            .not_on_or_after()
            .and_then(|t| OffsetDateTime::parse(t.as_str(), &time::format_description::well_known::Rfc3339).ok())
            .unwrap_or(now + time::Duration::minutes(10));
        Ok(SamlLogin { attrs, once: OnceUse { key: OnceKey::new(key), until } })
    }

    /// Whether the IdP's metadata URL answered the last time (pasted metadata: reachable as
    /// far as this node can tell, the login page then simply offers it).
    pub fn reach(&self, idp: &IdentityProvider) -> IdpReach {
        let all = self.fetched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match all.get(&idp.id) {
            Some(f) if f.last_error.is_some() => IdpReach::Unreachable(f.last_error.clone().unwrap_or_default()),
            Some(f) if f.fetched.is_some() => IdpReach::Reachable,
            _ => IdpReach::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::Engine;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn the_request_a_response_answers_is_read_from_its_root_only() {
        let ok = r#"<?xml version="1.0"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" InResponseTo="_abc&amp;1"><x InResponseTo="_other"/></samlp:Response>"#;
        assert_eq!(in_response_to(&b64(ok)).unwrap(), "_abc&1");
        let unsolicited = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"/>"#;
        assert!(in_response_to(&b64(unsolicited)).unwrap_err().contains("no InResponseTo"));
        let other = r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" InResponseTo="_x"/>"#;
        assert!(in_response_to(&b64(other)).is_err());
        assert!(in_response_to("not base64!").is_err());
    }
}
