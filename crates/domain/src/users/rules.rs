//! How account commands are checked and applied: users, passwords, API tokens, session keys.

use crate::check::{Outcome, applied, check_id, next_version, text};
use crate::command::{Command, Envelope, UserFields, Verdict};
use crate::ids::UserId;
use crate::model::{ApiToken, User};
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};

/// Checks what can be checked without state (see [`crate::apply::validate`]).
pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::CreateUser(f) | Command::UpdateUser { fields: f, .. } => check_user(f),
        Command::SetPassword { user_id, password_hash } => {
            check_id(Kind::User, "id", user_id.as_str())?;
            check_hash(password_hash)
        }
        Command::SetUserDisabled { user_id, .. } => check_id(Kind::User, "id", user_id.as_str()),
        Command::CreateToken { token_id, user_id, secret_sha256, label, .. } => {
            check_id(Kind::Token, "id", token_id.as_str())?;
            check_id(Kind::Token, "user_id", user_id.as_str())?;
            if secret_sha256.len() != 64 || !secret_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Rejection::invalid(Kind::Token, "secret_sha256", Problem::BadFormat));
            }
            text(Kind::Token, "label", label, false).map(|_| ())
        }
        Command::RevokeToken { token_id } => check_id(Kind::Token, "id", token_id.as_str()),
        Command::LogoutEverywhere { user_id } => check_id(Kind::User, "id", user_id.as_str()),
        Command::RecordAccess { event, user, via, client } => {
            for (field, value) in [("event", event), ("user", user), ("via", via), ("client", client)] {
                if value.chars().count() > 64 || value.chars().any(char::is_control) {
                    return Err(Rejection::invalid(Kind::User, field, Problem::TooLong));
                }
            }
            Ok(())
        }
        Command::AddSessionKey { key_id, secret } => {
            check_id(Kind::Token, "key_id", key_id)?;
            if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Rejection::invalid(Kind::Token, "secret", Problem::BadFormat));
            }
            Ok(())
        }
        other => Err(Rejection::invalid(other.kind(), "type", Problem::UnknownCode)),
    }
}

/// Applies one of this area's commands (the router in [`crate::apply`] sends only those).
pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Outcome, StateError> {
    match &env.cmd {
        Command::CreateUser(f) => put_user(view, f, None, ch),
        Command::UpdateUser { expected_version, fields } => put_user(view, fields, Some(*expected_version), ch),
        // A new password ends every session and token of the old one.
        Command::SetPassword { user_id, password_hash } => change_user(view, user_id, ch, |u| {
            u.password_hash = Some(password_hash.clone());
            u.sessions_valid_after = Some(env.at);
        }),
        Command::SetUserDisabled { user_id, disabled } => change_user(view, user_id, ch, |u| u.disabled = *disabled),
        Command::LogoutEverywhere { user_id } => {
            change_user(view, user_id, ch, |u| u.sessions_valid_after = Some(env.at))
        }
        // Only the audit line `apply` writes for every command; the cluster's own, never a user's.
        Command::RecordAccess { .. } if env.actor.is_some() => {
            Ok(Err(Rejection::Forbidden { kind: Kind::User, why: "only the cluster records logins".into() }))
        }
        Command::RecordAccess { .. } => Ok(Ok(Verdict::Nothing)),
        Command::AddSessionKey { key_id, secret } => {
            if view.get(&Key::SessionKey(key_id.clone()))?.is_some() {
                return Ok(Err(Rejection::AlreadyExists { kind: Kind::Token, id: key_id.to_string() }));
            }
            let k = domain_session_key(key_id, secret, env);
            ch.put(Key::SessionKey(key_id.clone()), Record::SessionKey(k));
            Ok(applied(Kind::Token, key_id, 1))
        }
        Command::CreateToken { token_id, user_id, secret_sha256, label, expires_at } => {
            if expires_at.is_some_and(|e| e <= env.at) {
                return Ok(Err(Rejection::invalid(Kind::Token, "expires_at", Problem::OutOfRange)));
            }
            if view.token(token_id)?.is_some() {
                return Ok(Err(Rejection::AlreadyExists { kind: Kind::Token, id: token_id.to_string() }));
            }
            if view.user(user_id)?.is_none() {
                return Ok(Err(Rejection::Unknown {
                    kind: Kind::User,
                    id: user_id.to_string(),
                    field: "user_id".into(),
                }));
            }
            let t = ApiToken {
                id: token_id.clone(),
                user_id: user_id.clone(),
                secret_sha256: secret_sha256.to_ascii_lowercase(),
                label: label.trim().to_owned(),
                created_at: env.at,
                revoked: false,
                version: 1,
                expires_at: *expires_at,
            };
            ch.put(Key::Token(token_id.clone()), Record::Token(t));
            Ok(applied(Kind::Token, token_id.as_str(), 1))
        }
        Command::RevokeToken { token_id } => {
            let Some(mut t) = view.token(token_id)? else {
                return Ok(Err(Rejection::NotFound { kind: Kind::Token, id: token_id.to_string() }));
            };
            t.revoked = true;
            t.version += 1;
            let version = t.version;
            ch.put(Key::Token(token_id.clone()), Record::Token(t));
            Ok(applied(Kind::Token, token_id.as_str(), version))
        }
        other => Ok(Err(Rejection::invalid(other.kind(), "type", Problem::UnknownCode))),
    }
}

fn check_user(f: &UserFields) -> Result<(), Rejection> {
    let k = Kind::User;
    check_id(k, "id", f.id.as_str())?;
    text(k, "name", &f.name, true)?;
    if f.units.len() > 100 {
        return Err(Rejection::invalid(k, "units", Problem::TooMany));
    }
    for (i, u) in f.units.iter().enumerate() {
        check_id(k, &format!("units[{i}]"), u.as_str())?;
    }
    f.password_hash.as_deref().map(check_hash).transpose().map(|_| ())
}

/// A password hash is opaque here (the node makes it); only its size is bounded.
fn check_hash(h: &str) -> Result<(), Rejection> {
    if h.is_empty() || h.len() > 512 {
        return Err(Rejection::invalid(Kind::User, "password_hash", Problem::BadFormat));
    }
    Ok(())
}

fn domain_session_key(id: &str, secret: &str, env: &Envelope) -> crate::model::SessionKey {
    crate::model::SessionKey { id: id.into(), secret: secret.to_ascii_lowercase(), created_at: env.at }
}

fn put_user(
    view: &dyn StateView,
    f: &UserFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let current = view.user(&f.id)?;
    let version = match next_version(Kind::User, f.id.as_str(), current.as_ref().map(|u| u.version), expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    for (i, u) in f.units.iter().enumerate() {
        if view.unit(u)?.is_none() {
            return Ok(Err(Rejection::Unknown { kind: Kind::Unit, id: u.to_string(), field: format!("units[{i}]") }));
        }
    }
    // An update keeps what it does not set: the password (unless a new hash is given), whether
    // the account is disabled, and when its sessions were last voided.
    let (old_hash, disabled, sessions_valid_after, source) = match current {
        Some(u) => (u.password_hash, u.disabled, u.sessions_valid_after, u.source),
        None => (None, false, None, None),
    };
    let rec = User {
        id: f.id.clone(),
        name: f.name.trim().to_owned(),
        role: f.role,
        units: f.units.clone(),
        password_hash: f.password_hash.clone().or(old_hash),
        expires_at: f.expires_at,
        disabled,
        sessions_valid_after,
        source,
        version,
    };
    ch.put(Key::User(f.id.clone()), Record::User(rec));
    Ok(applied(Kind::User, f.id.as_str(), version))
}

fn change_user(
    view: &dyn StateView,
    id: &UserId,
    ch: &mut Changes,
    f: impl FnOnce(&mut User),
) -> Result<Outcome, StateError> {
    let Some(mut u) = view.user(id)? else {
        return Ok(Err(Rejection::NotFound { kind: Kind::User, id: id.to_string() }));
    };
    f(&mut u);
    u.version += 1;
    let version = u.version;
    ch.put(Key::User(id.clone()), Record::User(u));
    Ok(applied(Kind::User, id.as_str(), version))
}
