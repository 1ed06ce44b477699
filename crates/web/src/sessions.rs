//! Browser sessions: a cookie signed (HMAC-SHA256) with a key from the replicated state, so a
//! session begun on one node is valid on every other, also after a failover. Nothing about a
//! session is stored: the cookie carries who, when it began and when it was last used.
//! Sessions end after [`IDLE`] without use, after [`ABSOLUTE`] in any case, and when the user
//! (or an admin) logs them out everywhere.

use domain::{Key, Record, SessionKey, StateView, StateViewExt, Table, User, UserId};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

pub const COOKIE: &str = "beredd_session";
/// A session unused this long has ended.
pub const IDLE: Duration = Duration::minutes(30);
/// No session lasts longer than a working shift and a half.
pub const ABSOLUTE: Duration = Duration::hours(12);
/// A cookie older than this is re-issued with a new "last used" time.
pub const REFRESH_AFTER: Duration = Duration::minutes(5);

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// User id.
    pub u: String,
    /// Began (unix seconds).
    pub iat: i64,
    /// Last used (unix seconds).
    pub seen: i64,
    /// A provisional account: made by a federated login on a node cut off from the majority,
    /// queued in that node's outbox and not yet in the replicated state. Until it lands, the
    /// session carries the account itself (signed like the rest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<Provisional>,
}

/// A provisional account as a session carries it (see [`Claims::p`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Provisional {
    pub name: String,
    pub role: domain::Role,
    pub units: Vec<domain::UnitId>,
    pub idp: domain::IdpId,
    /// Unix seconds after which it no longer works (the IdP's hours from the login).
    pub exp: i64,
}

impl Provisional {
    /// The account, version 0: version 0 is how pages know it is not in the cluster yet.
    pub fn user(&self, id: &str) -> Option<User> {
        Some(User {
            id: UserId::new(id),
            name: self.name.clone(),
            role: self.role,
            units: self.units.clone(),
            password_hash: None,
            expires_at: Some(OffsetDateTime::from_unix_timestamp(self.exp).ok()?),
            disabled: false,
            sessions_valid_after: None,
            source: Some(self.idp.clone()),
            version: 0,
        })
    }
}

/// A fresh signing key: id and 32 random bytes, hex.
pub fn new_key() -> (String, String) {
    let mut id = [0u8; 4];
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    OsRng.fill_bytes(&mut secret);
    (format!("k{}", hex::encode(id)), hex::encode(secret))
}

/// The key that signs new cookies: the newest one.
pub fn newest_key(view: &dyn StateView) -> Result<Option<SessionKey>, domain::StateError> {
    Ok(view
        .scan(Table::SessionKey, None, 1000)?
        .into_iter()
        .filter_map(|r| match r {
            Record::SessionKey(k) => Some(k),
            _ => None,
        })
        .max_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id))))
}

fn mac(key: &SessionKey, payload: &str) -> Option<String> {
    let secret = hex::decode(&key.secret).ok()?;
    let mut m = Hmac::<Sha256>::new_from_slice(&secret).ok()?;
    m.update(key.id.as_bytes());
    m.update(b".");
    m.update(payload.as_bytes());
    Some(hex::encode(m.finalize().into_bytes()))
}

/// The CSRF token of a session: an HMAC of who and when it began, under the key that signed it.
/// Stable while the cookie is refreshed; unknowable to another site, which cannot read the
/// HttpOnly cookie or this node's state.
pub fn csrf_token(view: &dyn StateView, cookie_value: &str) -> Result<Option<String>, domain::StateError> {
    let Some((kid, rest)) = cookie_value.split_once('.') else { return Ok(None) };
    let Some(payload) = rest.split('.').next() else { return Ok(None) };
    let Some(Record::SessionKey(key)) = view.get(&Key::SessionKey(kid.into()))? else { return Ok(None) };
    let Some(claims) = hex::decode(payload).ok().and_then(|b| serde_json::from_slice::<Claims>(&b).ok()) else {
        return Ok(None);
    };
    Ok(mac(&key, &format!("csrf:{}:{}", claims.u, claims.iat)))
}

/// `key_id.payload_hex.mac_hex`
pub fn sign(key: &SessionKey, claims: &Claims) -> Option<String> {
    let payload = hex::encode(serde_json::to_vec(claims).ok()?);
    let mac = mac(key, &payload)?;
    Some(format!("{}.{payload}.{mac}", key.id))
}

/// Signs `payload` for `purpose` (e.g. a login in progress) with `key`, as
/// `key_id.payload_hex.mac_hex`. The purpose is part of what is signed, so a value made for
/// one purpose never passes for another, nor for a session.
pub fn sign_for<T: Serialize>(key: &SessionKey, purpose: &str, payload: &T) -> Option<String> {
    let payload = hex::encode(serde_json::to_vec(payload).ok()?);
    let mac = mac(key, &format!("{purpose}:{payload}"))?;
    Some(format!("{}.{payload}.{mac}", key.id))
}

/// Hex digits of the MAC a [`sign_short`] value carries (96 bits).
const SHORT_MAC: usize = 24;

/// Signs `parts` for `purpose` compactly, as `parts.mac` (for SAML's RelayState, at most 80
/// bytes): no key id, so [`verify_short`] tries each key the cluster has.
pub fn sign_short(key: &SessionKey, purpose: &str, parts: &str) -> Option<String> {
    let m = mac(key, &format!("{purpose}:{parts}"))?;
    Some(format!("{parts}.{}", m.get(..SHORT_MAC)?))
}

/// The parts of a value [`sign_short`] made for `purpose`, if its MAC holds under a key the
/// cluster still has.
pub fn verify_short(view: &dyn StateView, purpose: &str, value: &str) -> Result<Option<String>, domain::StateError> {
    let Some((parts, given)) = value.rsplit_once('.') else { return Ok(None) };
    for r in view.scan(Table::SessionKey, None, 1000)? {
        if let Record::SessionKey(key) = r
            && let Some(m) = mac(&key, &format!("{purpose}:{parts}"))
            && m.get(..SHORT_MAC).is_some_and(|m| same(m.as_bytes(), given.as_bytes()))
        {
            return Ok(Some(parts.to_owned()));
        }
    }
    Ok(None)
}

/// The payload of a value [`sign_for`] made for `purpose`, if its signature holds under a key
/// the cluster still has.
pub fn verify_for<T: serde::de::DeserializeOwned>(
    view: &dyn StateView,
    purpose: &str,
    value: &str,
) -> Result<Option<T>, domain::StateError> {
    let mut parts = value.splitn(3, '.');
    let (Some(kid), Some(payload), Some(given)) = (parts.next(), parts.next(), parts.next()) else { return Ok(None) };
    let Some(Record::SessionKey(key)) = view.get(&Key::SessionKey(kid.into()))? else { return Ok(None) };
    let Some(expected) = mac(&key, &format!("{purpose}:{payload}")) else { return Ok(None) };
    if !same(expected.as_bytes(), given.as_bytes()) {
        return Ok(None);
    }
    Ok(hex::decode(payload).ok().and_then(|b| serde_json::from_slice(&b).ok()))
}

/// The user and claims of a valid, unexpired session cookie value.
pub fn verify(
    view: &dyn StateView,
    value: &str,
    now: OffsetDateTime,
) -> Result<Option<(User, Claims)>, domain::StateError> {
    let mut parts = value.splitn(3, '.');
    let (Some(kid), Some(payload), Some(given)) = (parts.next(), parts.next(), parts.next()) else { return Ok(None) };
    let Some(Record::SessionKey(key)) = view.get(&Key::SessionKey(kid.into()))? else { return Ok(None) };
    let Some(expected) = mac(&key, payload) else { return Ok(None) };
    if !same(expected.as_bytes(), given.as_bytes()) {
        return Ok(None);
    }
    let Some(claims) = hex::decode(payload).ok().and_then(|b| serde_json::from_slice::<Claims>(&b).ok()) else {
        return Ok(None);
    };
    let (Ok(began), Ok(seen)) =
        (OffsetDateTime::from_unix_timestamp(claims.iat), OffsetDateTime::from_unix_timestamp(claims.seen))
    else {
        return Ok(None);
    };
    if now - began > ABSOLUTE || now - seen > IDLE {
        return Ok(None);
    }
    // A provisional account counts until the real one has landed, then the real one decides.
    let user = match view.user(UserId::new(&claims.u))? {
        Some(u) => u,
        None => match claims.p.as_ref().and_then(|p| p.user(&claims.u)) {
            Some(u) => u,
            None => return Ok(None),
        },
    };
    // Whole seconds: a session begun in the same second as "log out everywhere" ends too.
    let voided = user.sessions_valid_after.is_some_and(|t| began.unix_timestamp() <= t.unix_timestamp());
    if !user.is_active(now) || voided {
        return Ok(None);
    }
    Ok(Some((user, claims)))
}

/// `Set-Cookie` value for a session (or, with `None`, one that ends it).
pub fn set_cookie(value: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match value {
        Some(v) => {
            format!("{COOKIE}={v}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", ABSOLUTE.whole_seconds())
        }
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// The session cookie's value in a `Cookie` header, if any.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').map(str::trim).find_map(|c| c.strip_prefix(COOKIE)?.strip_prefix('='))
}

/// Compares without stopping at the first difference.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Command, CommandId, Envelope, MemState, Role};

    fn state_with(now: OffsetDateTime) -> (MemState, SessionKey) {
        let mut st = MemState::default();
        let (id, secret) = new_key();
        let cmds = [
            Command::AddSessionKey { key_id: id.as_str().into(), secret: secret.clone() },
            Command::CreateUser(domain::command::UserFields {
                id: UserId::new("anna"),
                name: "Anna".into(),
                role: Role::Staff,
                units: vec![],
                password_hash: None,
                expires_at: None,
            }),
        ];
        for (i, cmd) in cmds.into_iter().enumerate() {
            let env = Envelope { id: CommandId::new(format!("c{i}")), at: now, origin: 1, actor: None, cmd };
            let (_, ch) = domain::apply(&st, &env, i as u64 + 1).unwrap();
            st.write(ch);
        }
        (st, SessionKey { id: id.into(), secret, created_at: now })
    }

    #[test]
    fn cookies_verify_until_idle_or_absolute_timeout_and_not_when_tampered() {
        let now = OffsetDateTime::now_utc();
        let (st, key) = state_with(now);
        let claims = Claims { u: "anna".into(), iat: now.unix_timestamp(), seen: now.unix_timestamp(), p: None };
        let v = sign(&key, &claims).unwrap();
        assert_eq!(verify(&st, &v, now).unwrap().map(|(u, _)| u.id), Some(UserId::new("anna")));
        assert!(verify(&st, &v, now + IDLE + Duration::seconds(1)).unwrap().is_none(), "idle");
        let long = Claims { seen: (now + ABSOLUTE).unix_timestamp(), ..claims.clone() };
        assert!(verify(&st, &sign(&key, &long).unwrap(), now + ABSOLUTE + Duration::seconds(1)).unwrap().is_none());
        let forged = sign(&key, &Claims { u: "admin".into(), ..claims.clone() }).unwrap();
        let tampered = format!("{}.{}", v.rsplit_once('.').unwrap().0, forged.rsplit_once('.').unwrap().1);
        assert!(verify(&st, &tampered, now).unwrap().is_none());
        assert!(verify(&st, "junk", now).unwrap().is_none());
        assert_eq!(from_cookie_header(&format!("a=b; {COOKIE}={v}; c=d")), Some(v.as_str()));
    }
}
