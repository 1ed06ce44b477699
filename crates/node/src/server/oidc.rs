//! OpenID Connect relying party (issue 20): discovery, the authorisation code flow with PKCE,
//! and the ID token's checks (signature by the IdP's published keys, issuer, audience, expiry,
//! nonce), done by `openidconnect` over the node's one guarded outbound client.
//!
//! Each IdP's discovery document and keys are cached. A refresh that fails keeps the last good
//! copy, so an IdP whose discovery endpoint hiccups still completes logins; a token signed with
//! a key the cache does not know triggers one refresh (the IdP rotated its keys).

use crate::server::outbound::Outbound;
use base64::Engine;
use domain::IdpId;
use domain::federation::{Attributes, IdentityProvider, Protocol};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use web::{IdpReach, OidcPending, OidcStart};

/// A cached discovery document is fetched again after this long.
const FRESH: Duration = Duration::from_secs(15 * 60);
/// After a failed fetch, the next try waits this long (the login page asks often).
const RETRY: Duration = Duration::from_secs(20);
/// Claims kept from an ID token at most, and the longest value.
const MAX_CLAIMS: usize = 200;
const MAX_VALUE: usize = 1000;

#[derive(Default)]
struct Cached {
    /// The issuer and client this copy is for (an edited IdP starts afresh).
    issuer: String,
    metadata: Option<CoreProviderMetadata>,
    fetched: Option<Instant>,
    tried: Option<Instant>,
    last_error: Option<String>,
}

/// The relying party. Cheap to clone; every method blocks (run them off the async workers).
#[derive(Clone)]
pub struct Oidc {
    outbound: Outbound,
    cache: Arc<Mutex<HashMap<IdpId, Cached>>>,
}

/// An OpenID Connect IdP's issuer, client id, client secret and extra scopes.
type OidcParts<'a> = (&'a str, &'a str, Option<&'a str>, &'a [String]);

fn oidc_parts(idp: &IdentityProvider) -> Result<OidcParts<'_>, String> {
    match &idp.protocol {
        Protocol::Oidc { issuer, client_id, client_secret, scopes } => {
            Ok((issuer, client_id, client_secret.as_deref(), scopes))
        }
        Protocol::Saml { .. } | Protocol::Card => Err(format!("{} is not an OpenID Connect provider", idp.id)),
    }
}

impl Oidc {
    pub fn new(outbound: Outbound) -> Self {
        Self { outbound, cache: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IdpId, Cached>> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The IdP's discovery document and keys: the cached copy while fresh (or while a failed
    /// fetch is recent), else fetched again; the last good copy when fetching fails.
    fn metadata(&self, idp: &IdentityProvider, force: bool) -> Result<CoreProviderMetadata, String> {
        let (issuer, ..) = oidc_parts(idp)?;
        {
            let mut cache = self.lock();
            let c = cache.entry(idp.id.clone()).or_default();
            if c.issuer != issuer {
                *c = Cached { issuer: issuer.to_owned(), ..Cached::default() };
            }
            let fresh = c.fetched.is_some_and(|t| t.elapsed() < FRESH);
            let resting = c.tried.is_some_and(|t| t.elapsed() < RETRY) && c.last_error.is_some();
            if let Some(md) = &c.metadata {
                if (fresh && !force) || resting {
                    return Ok(md.clone());
                }
            } else if resting {
                return Err(c.last_error.clone().unwrap_or_default());
            }
        }
        let http = |r| self.outbound.call(r);
        let fetched = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| format!("issuer {issuer:?}: {e}"))
            .and_then(|url| CoreProviderMetadata::discover(&url, &http).map_err(|e| chain(&e)));
        let mut cache = self.lock();
        let c = cache.entry(idp.id.clone()).or_default();
        c.tried = Some(Instant::now());
        match fetched {
            Ok(md) => {
                c.metadata = Some(md.clone());
                c.fetched = c.tried;
                c.last_error = None;
                Ok(md)
            }
            Err(e) => {
                tracing::warn!(idp = %idp.id, "OpenID Connect discovery failed: {e}");
                c.last_error = Some(e.clone());
                c.metadata.clone().ok_or(e)
            }
        }
    }

    fn client(
        idp: &IdentityProvider,
        md: CoreProviderMetadata,
        redirect_uri: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        String,
    > {
        let (_, client_id, secret, _) = oidc_parts(idp)?;
        let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| format!("redirect URI: {e}"))?;
        Ok(CoreClient::from_provider_metadata(
            md,
            ClientId::new(client_id.to_owned()),
            secret.map(|s| ClientSecret::new(s.to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// Where to send the browser, and what to keep until it comes back.
    pub fn begin(&self, idp: &IdentityProvider, redirect_uri: &str) -> Result<OidcStart, String> {
        let client = Self::client(idp, self.metadata(idp, false)?, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req =
            client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for s in oidc_parts(idp)?.3 {
            req = req.add_scope(Scope::new(s.clone()));
        }
        let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
        Ok(OidcStart {
            url: url.to_string(),
            pending: OidcPending {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
            },
        })
    }

    /// Exchanges the code for tokens and returns the verified ID token's claims.
    pub fn finish(
        &self,
        idp: &IdentityProvider,
        redirect_uri: &str,
        code: &str,
        pending: &OidcPending,
    ) -> Result<Attributes, String> {
        let http = |r| self.outbound.call(r);
        let client = Self::client(idp, self.metadata(idp, false)?, redirect_uri)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| format!("the IdP has no token endpoint: {e}"))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request(&http)
            .map_err(|e| format!("token request failed: {}", chain(&e)))?;
        let id_token = token.id_token().ok_or("the IdP sent no ID token")?;
        let nonce = Nonce::new(pending.nonce.clone());
        let verified = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(_) => Ok(()),
            // Perhaps signed with a key published since the cache was filled: fetch once more.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = Self::client(idp, self.metadata(idp, true)?, redirect_uri)?;
                id_token.claims(&fresh.id_token_verifier(), &nonce).map(|_| ()).map_err(|e| chain(&e))
            }
            Err(e) => Err(chain(&e)),
        };
        verified.map_err(|e| format!("the ID token was refused: {e}"))?;
        // Verified above: now every claim of the same token, also those the library does not model.
        attributes(&id_token.to_string())
    }

    /// Whether logins through `idp` can work now, for the login page.
    pub fn reach(&self, idp: &IdentityProvider) -> IdpReach {
        let Ok((issuer, ..)) = oidc_parts(idp) else { return IdpReach::Unknown };
        let cache = self.lock();
        match cache.get(&idp.id).filter(|c| c.issuer == issuer) {
            None => IdpReach::Unknown,
            Some(c) if c.last_error.is_none() && c.metadata.is_some() => IdpReach::Reachable,
            Some(c) => IdpReach::Unreachable(c.last_error.clone().unwrap_or_default()),
        }
    }
}

/// The claims of a compact JWS as attributes: strings, numbers and booleans as text, arrays of
/// them as several values; objects are left out. Bounded in count and length.
fn attributes(jws: &str) -> Result<Attributes, String> {
    let payload = jws.split('.').nth(1).ok_or("the ID token is not a JWS")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("ID token payload: {e}"))?;
    let claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|e| format!("ID token payload: {e}"))?;
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.chars().take(MAX_VALUE).collect()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut out = Attributes::new();
    for (k, v) in claims.into_iter().take(MAX_CLAIMS) {
        let values: Vec<String> = match &v {
            serde_json::Value::Array(a) => a.iter().take(100).filter_map(scalar).collect(),
            other => scalar(other).into_iter().collect(),
        };
        if !values.is_empty() {
            out.insert(k.chars().take(200).collect(), values);
        }
    }
    Ok(out)
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s.chars().filter(|c| !c.is_control()).take(400).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn claims_become_bounded_attributes() {
        let payload = serde_json::json!({
            "sub": "abc", "hsa_id": "SE2321000016-1", "groups": ["iva", "inkop", {"x": 1}],
            "age": 42, "verified": true, "address": {"street": "x"}, "long": "x".repeat(5000),
        });
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
        let a = attributes(&format!("e30.{b64}.sig")).unwrap();
        assert_eq!(a["groups"], vec!["iva".to_owned(), "inkop".to_owned()]);
        assert_eq!((a["age"][0].as_str(), a["verified"][0].as_str()), ("42", "true"));
        assert!(!a.contains_key("address"));
        assert_eq!(a["long"][0].len(), MAX_VALUE);
        assert!(attributes("no-dots").is_err());
    }
}
