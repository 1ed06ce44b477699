//! Who is asking: passwords (argon2id), API tokens, and the [`Actor`] extractor that every
//! authenticated route takes. Everything is checked against this node's replicated state, so
//! logins and tokens work on any node, with or without quorum, and a disabled or expired account
//! stops working everywhere as soon as the node has applied that change.

use crate::backend::{Backend, NewToken};
use crate::error::Error;
use crate::sessions::same;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use domain::{StateViewExt, TokenId, User};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::OffsetDateTime;

/// Shortest password we accept.
pub const MIN_PASSWORD: usize = 10;

/// How long a new API token works when nothing else is asked for or configured.
pub const TOKEN_DEFAULT_LIFETIME: time::Duration = time::Duration::days(90);

/// Argon2id with the crate's defaults (19 MiB, 2 passes), in PHC string form.
pub fn hash_password(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(Error::internal)
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A readable random password (no look-alike characters), for first accounts and demos.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])).collect()
}

const PREFIX: &str = "brd_";

pub fn new_token() -> NewToken {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    OsRng.fill_bytes(&mut secret);
    let (id, secret) = (hex::encode(id), hex::encode(secret));
    NewToken { token: format!("{PREFIX}{id}_{secret}"), id: TokenId::new(id), secret_sha256: sha256_hex(&secret) }
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Splits `brd_<id>_<secret>`.
fn parse_token(token: &str) -> Option<(TokenId, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    (domain::ids::is_valid_id(id) && !secret.is_empty()).then(|| (TokenId::new(id), secret))
}

/// The user a token belongs to, if the token is valid and the account active now.
pub fn user_for_token(backend: &dyn Backend, token: &str) -> Result<Option<User>, Error> {
    let Some((id, secret)) = parse_token(token) else { return Ok(None) };
    let view = backend.view();
    let Some(t) = view.token(&id)? else { return Ok(None) };
    if !same(sha256_hex(secret).as_bytes(), t.secret_sha256.as_bytes()) {
        return Ok(None);
    }
    let now = OffsetDateTime::now_utc();
    let user = view.user(&t.user_id)?;
    let valid = user.filter(|u| u.is_active(now) && t.is_valid(u, now));
    if valid.is_none() {
        // The right secret, but no longer good: worth knowing (a script of a disabled account).
        backend.record_access(crate::backend::AccessEvent::now("token_refused", t.user_id.as_str(), "token", None));
    }
    Ok(valid)
}

/// Who a verified TLS client certificate stands for, put on each request by the node's HTTPS
/// server: the user id from the configured field (`None`: no certificate, or no such field)
/// and the subject's attributes, for a card IdP's rules. Used only to log in: a browser
/// presents its certificate by itself, so it must not authorise changes directly.
#[derive(Clone, Debug, Default)]
pub struct ClientCertUser {
    pub user: Option<String>,
    pub attrs: domain::federation::Attributes,
}

/// The authenticated user of a request. Rejects with 401 and one message for every kind of
/// failure, so that nothing reveals whether an account or token exists.
pub struct Actor(pub User);

impl Actor {
    pub fn id(&self) -> String {
        self.0.id.to_string()
    }
}

impl FromRequestParts<Arc<dyn Backend>> for Actor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, backend: &Arc<dyn Backend>) -> Result<Self, Error> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            // No token: a session cookie will do.
            let cookie = parts.headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
            if let Some(value) = cookie.and_then(crate::sessions::from_cookie_header) {
                let view = backend.view();
                return match crate::sessions::verify(view.as_ref(), value, OffsetDateTime::now_utc())? {
                    Some((user, _)) => {
                        // A browser sends the cookie by itself, also when another site makes it
                        // post: changes need the session's CSRF token as well.
                        if !parts.method.is_safe() {
                            let expected = crate::sessions::csrf_token(view.as_ref(), value)?;
                            let given = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
                            let valid = matches!((given, expected.as_deref()), (Some(g), Some(e)) if same(g.as_bytes(), e.as_bytes()));
                            if !valid {
                                return Err(Error::new(
                                    StatusCode::FORBIDDEN,
                                    "auth.csrf",
                                    "The form is out of date or came from another site; reload the page and try again.",
                                ));
                            }
                        }
                        Ok(Actor(user))
                    }
                    None => Err(Error::new(
                        StatusCode::UNAUTHORIZED,
                        "auth.session_ended",
                        "Your session has ended; log in again.",
                    )),
                };
            }
            return Err(Error::new(
                StatusCode::UNAUTHORIZED,
                "auth.required",
                "Log in, or send an API token as `Authorization: Bearer <token>`.",
            ));
        };
        let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).unwrap_or_default();
        match user_for_token(backend.as_ref(), token)? {
            Some(user) => Ok(Actor(user)),
            None => Err(Error::new(
                StatusCode::UNAUTHORIZED,
                "auth.invalid",
                "The token is not valid, or its account is disabled or expired.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let h = hash_password("korrekt häst batteri").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "korrekt häst batteri"));
        assert!(!verify_password(&h, "korrekt hast batteri"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn tokens_parse_and_hash() {
        let t = new_token();
        let (id, secret) = parse_token(&t.token).unwrap();
        assert_eq!(id, t.id);
        assert_eq!(sha256_hex(secret), t.secret_sha256);
        assert!(parse_token("brd_only").is_none());
        assert!(parse_token("xyz_a_b").is_none());
        assert_ne!(new_token().token, t.token);
        assert_eq!(random_password().len(), 20);
    }
}
