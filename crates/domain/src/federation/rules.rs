//! How IdP settings and federated logins are checked and applied (called from [`crate::apply`]).

use super::*;
use crate::check::{Outcome, applied, check_id, next_version, text};
use crate::command::{Command, Envelope};
use crate::model::User;
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};

const K: Kind = Kind::Idp;

/// An attribute or claim name: printable, short.
fn attribute(field: &str, s: &str) -> Result<(), Rejection> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Rejection::invalid(K, field, Problem::Required));
    }
    if t.len() > 200 || t.chars().any(char::is_control) {
        return Err(Rejection::invalid(K, field, Problem::BadFormat));
    }
    Ok(())
}

fn check_url(field: &str, s: &str) -> Result<(), Rejection> {
    match url::Url::parse(s.trim()) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() && u.query().is_none() => Ok(()),
        _ => Err(Rejection::invalid(K, field, Problem::BadFormat)),
    }
}

pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::PutIdentityProvider { fields: f, pseudonym_key, .. } => {
            check_id(K, "id", f.id.as_str())?;
            // Room for `<idp>.<person>` in an account id.
            if f.id.as_str().len() > 24 || f.id.as_str().contains('.') {
                return Err(Rejection::invalid(K, "id", Problem::BadFormat));
            }
            text(K, "name", &f.name, true)?;
            if pseudonym_key.len() != 64 || !pseudonym_key.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Rejection::invalid(K, "pseudonym_key", Problem::BadFormat));
            }
            match &f.protocol {
                Protocol::Oidc { issuer, client_id, client_secret, scopes } => {
                    check_oidc(issuer, client_id, client_secret.as_deref(), scopes)?;
                }
                Protocol::Saml { entity_id, metadata_url, metadata_xml } => {
                    check_saml(entity_id, metadata_url.as_deref(), metadata_xml)?;
                }
                Protocol::Card => {}
            }
            check_mapping(&f.mapping)
        }
        Command::FederatedLogin { idp_id, user_id, name, units, once, .. } => {
            check_id(K, "idp_id", idp_id.as_str())?;
            if let Some(o) = once
                && (o.key.as_str().len() != 64
                    || !o.key.as_str().bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            {
                return Err(Rejection::invalid(Kind::User, "once.key", Problem::BadFormat));
            }
            check_id(Kind::User, "user_id", user_id.as_str())?;
            // Only ids of this IdP's namespace: never a local account's.
            if !user_id
                .as_str()
                .strip_prefix(idp_id.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'))
            {
                return Err(Rejection::invalid(Kind::User, "user_id", Problem::BadFormat));
            }
            text(Kind::User, "name", name, true)?;
            if units.len() > 100 {
                return Err(Rejection::invalid(Kind::User, "units", Problem::TooMany));
            }
            for (i, u) in units.iter().enumerate() {
                check_id(Kind::User, &format!("units[{i}]"), u.as_str())?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_oidc(issuer: &str, client_id: &str, client_secret: Option<&str>, scopes: &[String]) -> Result<(), Rejection> {
    check_url("issuer", issuer)?;
    attribute("client_id", client_id)?;
    if client_secret.is_some_and(|s| s.is_empty() || s.len() > 500 || s.chars().any(char::is_control)) {
        return Err(Rejection::invalid(K, "client_secret", Problem::BadFormat));
    }
    if scopes.len() > 20 {
        return Err(Rejection::invalid(K, "scopes", Problem::TooMany));
    }
    for (i, s) in scopes.iter().enumerate() {
        if s.is_empty() || s.len() > 100 || !s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') {
            return Err(Rejection::invalid(K, format!("scopes[{i}]"), Problem::BadFormat));
        }
    }
    Ok(())
}

fn check_saml(entity_id: &str, metadata_url: Option<&str>, metadata_xml: &str) -> Result<(), Rejection> {
    let e = entity_id.trim();
    if e.is_empty() {
        return Err(Rejection::invalid(K, "entity_id", Problem::Required));
    }
    if e.len() > 1024 || e.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Rejection::invalid(K, "entity_id", Problem::BadFormat));
    }
    if let Some(u) = metadata_url {
        check_url("metadata_url", u)?;
    }
    let x = metadata_xml.trim();
    if x.is_empty() {
        return Err(Rejection::invalid(K, "metadata_xml", Problem::Required));
    }
    if x.len() > MAX_METADATA_BYTES {
        return Err(Rejection::invalid(K, "metadata_xml", Problem::TooLong));
    }
    if !x.starts_with('<') {
        return Err(Rejection::invalid(K, "metadata_xml", Problem::BadFormat));
    }
    Ok(())
}

fn check_mapping(m: &Mapping) -> Result<(), Rejection> {
    attribute("mapping.user_attribute", &m.user_attribute)?;
    attribute("mapping.name_attribute", &m.name_attribute)?;
    if let Some(a) = &m.org_attribute {
        attribute("mapping.org_attribute", a)?;
        if m.allowed_orgs.is_empty() {
            return Err(Rejection::invalid(K, "mapping.allowed_orgs", Problem::Required));
        }
    }
    if m.allowed_orgs.len() > 500 {
        return Err(Rejection::invalid(K, "mapping.allowed_orgs", Problem::TooMany));
    }
    for (i, o) in m.allowed_orgs.iter().enumerate() {
        attribute(&format!("mapping.allowed_orgs[{i}]"), o)?;
    }
    if m.rules.is_empty() {
        return Err(Rejection::invalid(K, "mapping.rules", Problem::Required));
    }
    if m.rules.len() > MAX_RULES {
        return Err(Rejection::invalid(K, "mapping.rules", Problem::TooMany));
    }
    for (i, r) in m.rules.iter().enumerate() {
        attribute(&format!("mapping.rules[{i}].attribute"), &r.attribute)?;
        attribute(&format!("mapping.rules[{i}].value"), &r.value)?;
        if r.units.len() > 100 {
            return Err(Rejection::invalid(K, format!("mapping.rules[{i}].units"), Problem::TooMany));
        }
        for (j, u) in r.units.iter().enumerate() {
            check_id(K, &format!("mapping.rules[{i}].units[{j}]"), u.as_str())?;
        }
    }
    if !(1..=MAX_ACCOUNT_HOURS).contains(&m.account_hours) {
        return Err(Rejection::invalid(K, "mapping.account_hours", Problem::OutOfRange));
    }
    Ok(())
}

pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Option<Outcome>, StateError> {
    match &env.cmd {
        Command::PutIdentityProvider { expected_version, fields, pseudonym_key } => {
            put(view, env, *expected_version, fields, pseudonym_key, ch).map(Some)
        }
        Command::FederatedLogin { idp_id, user_id, name, role, units, once, .. } => {
            if let Some(o) = once
                && let Some(r) = use_once(view, env, o, ch)?
            {
                return Ok(Some(Err(r)));
            }
            login(view, env, idp_id, user_id, name, *role, units, ch).map(Some)
        }
        _ => Ok(None),
    }
}

fn unknown_units(view: &dyn StateView, units: &[UnitId], field: &str) -> Result<Option<Rejection>, StateError> {
    for (i, u) in units.iter().enumerate() {
        if view.unit(u)?.is_none() {
            return Ok(Some(Rejection::Unknown {
                kind: Kind::Unit,
                id: u.to_string(),
                field: format!("{field}[{i}]"),
            }));
        }
    }
    Ok(None)
}

fn put(
    view: &dyn StateView,
    env: &Envelope,
    expected: Option<u64>,
    f: &IdpFields,
    pseudonym_key: &str,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let current = view.idp(&f.id)?;
    let version = match next_version(K, f.id.as_str(), current.as_ref().map(|c| c.version), expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    for (i, r) in f.mapping.rules.iter().enumerate() {
        if let Some(r) = unknown_units(view, &r.units, &format!("mapping.rules[{i}].units"))? {
            return Ok(Err(r));
        }
    }
    // An edit without a new secret keeps the stored one; the pseudonym key never changes, so a
    // person keeps their account.
    let (old_secret, key) = match &current {
        Some(c) => {
            let secret = match &c.protocol {
                Protocol::Oidc { client_secret, .. } => client_secret.clone(),
                Protocol::Saml { .. } | Protocol::Card => None,
            };
            (secret, c.pseudonym_key.clone())
        }
        None => (None, pseudonym_key.to_ascii_lowercase()),
    };
    let trim_all = |v: &[String]| v.iter().map(|s| s.trim().to_owned()).collect::<Vec<_>>();
    let m = &f.mapping;
    let rec = IdentityProvider {
        id: f.id.clone(),
        name: f.name.trim().to_owned(),
        protocol: match &f.protocol {
            Protocol::Oidc { issuer, client_id, client_secret, scopes } => Protocol::Oidc {
                issuer: issuer.trim().trim_end_matches('/').to_owned(),
                client_id: client_id.trim().to_owned(),
                client_secret: client_secret.clone().or(old_secret),
                scopes: trim_all(scopes),
            },
            Protocol::Saml { entity_id, metadata_url, metadata_xml } => Protocol::Saml {
                entity_id: entity_id.trim().to_owned(),
                metadata_url: metadata_url.as_deref().map(|u| u.trim().to_owned()),
                metadata_xml: metadata_xml.trim().to_owned(),
            },
            Protocol::Card => Protocol::Card,
        },
        mapping: Mapping {
            user_attribute: m.user_attribute.trim().to_owned(),
            pseudonymise: m.pseudonymise,
            name_attribute: m.name_attribute.trim().to_owned(),
            org_attribute: m.org_attribute.as_deref().map(|a| a.trim().to_owned()),
            allowed_orgs: trim_all(&m.allowed_orgs),
            rules: m
                .rules
                .iter()
                .map(|r| RoleRule {
                    attribute: r.attribute.trim().to_owned(),
                    value: r.value.trim().to_owned(),
                    role: r.role,
                    units: r.units.clone(),
                })
                .collect(),
            account_hours: m.account_hours,
        },
        disabled: f.disabled,
        pseudonym_key: key,
        changed_at: env.at,
        changed_by: env.actor.clone(),
        version,
    };
    ch.put(Key::Idp(f.id.clone()), Record::Idp(rec));
    Ok(applied(K, f.id.as_str(), version))
}

/// Expired proofs removed at each use of a new one (the table stays small without a sweeper).
const ONCE_SWEEP: usize = 16;

/// Records a one-time proof, or the rejection when it was used before and has not expired.
fn use_once(
    view: &dyn StateView,
    env: &Envelope,
    o: &OnceUse,
    ch: &mut Changes,
) -> Result<Option<Rejection>, StateError> {
    if view.used_once(&o.key)?.is_some_and(|u| u.until > env.at) {
        return Ok(Some(Rejection::Forbidden {
            kind: Kind::User,
            why: "this proof of login was used before (a replayed assertion)".into(),
        }));
    }
    for r in view.scan(crate::state::Table::Once, None, ONCE_SWEEP)? {
        if let Record::Once(u) = r
            && u.until <= env.at
        {
            ch.0.push((Key::Once(u.key.clone()), None));
        }
    }
    // Kept at least a minute, at most a day, whatever the IdP said.
    let until = o.until.clamp(env.at + time::Duration::minutes(1), env.at + time::Duration::days(1));
    ch.put(Key::Once(o.key.clone()), Record::Once(OnceUse { key: o.key.clone(), until }));
    Ok(None)
}

/// Makes or updates the account of a person the IdP vouched for, valid for the IdP's hours
/// from now. Refused for a switched-off IdP and for an account an admin disabled.
#[allow(clippy::too_many_arguments)]
fn login(
    view: &dyn StateView,
    env: &Envelope,
    idp_id: &IdpId,
    user_id: &UserId,
    name: &str,
    role: Role,
    units: &[UnitId],
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let forbidden = |why: &str| Ok(Err(Rejection::Forbidden { kind: Kind::User, why: why.to_owned() }));
    let Some(idp) = view.idp(idp_id)? else {
        return Ok(Err(Rejection::Unknown { kind: K, id: idp_id.to_string(), field: "idp_id".into() }));
    };
    if idp.disabled {
        return forbidden("this login method is switched off");
    }
    if let Some(r) = unknown_units(view, units, "units")? {
        return Ok(Err(r));
    }
    let current = view.user(user_id)?;
    if let Some(u) = &current {
        if u.source.as_ref() != Some(idp_id) {
            return forbidden("an account of another kind has this id");
        }
        if u.disabled {
            return forbidden("the account is disabled");
        }
    }
    let hours = i64::from(idp.mapping.account_hours);
    let rec = User {
        id: user_id.clone(),
        name: name.trim().to_owned(),
        role,
        units: units.to_vec(),
        password_hash: None,
        expires_at: Some(env.at + time::Duration::hours(hours)),
        disabled: false,
        sessions_valid_after: current.as_ref().and_then(|u| u.sessions_valid_after),
        source: Some(idp_id.clone()),
        version: current.as_ref().map_or(1, |u| u.version + 1),
    };
    let version = rec.version;
    ch.put(Key::User(user_id.clone()), Record::User(rec));
    Ok(applied(Kind::User, user_id.as_str(), version))
}
