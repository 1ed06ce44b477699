//! Logging in through an identity federation (issue 20): the identity providers the cluster
//! trusts, and the rules that turn a person an IdP vouches for into an account here — made at
//! the first login, updated at each, and valid for a while (24 hours by default) from the last.
//!
//! The IdP's attributes never enter the log: the node maps them with [`map`] and sends only
//! the result ([`crate::Command::FederatedLogin`]); an id such as a personal identity number is
//! replaced by a keyed pseudonym first (see [`Mapping::pseudonymise`]).

pub(crate) mod rules;

use crate::ids::{IdpId, UnitId, UserId};
use crate::model::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Hours an account made by a federated login works after the login, unless the IdP's rules
/// say otherwise.
pub const DEFAULT_ACCOUNT_HOURS: u32 = 24;
/// The longest validity a rule may give (30 days).
pub const MAX_ACCOUNT_HOURS: u32 = 720;
/// Rules per IdP at most.
pub const MAX_RULES: usize = 50;

/// How the node talks to the IdP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Protocol {
    /// OpenID Connect: authorisation code flow with PKCE, the IdP found by discovery at
    /// `issuer` + `/.well-known/openid-configuration`.
    Oidc {
        issuer: String,
        client_id: String,
        /// For the token endpoint (`client_secret_basic`). Never shown again once set; `None` on
        /// an edit keeps the one stored; a public client has none.
        #[serde(default)]
        client_secret: Option<String>,
        /// Scopes asked for besides `openid`, e.g. `profile`, `email`.
        #[serde(default)]
        scopes: Vec<String>,
    },
    /// SAML 2.0: the cluster is the service provider, the IdP described by its metadata (the
    /// copy saved here is the last good one; with `metadata_url` nodes fetch a fresh one).
    Saml {
        /// The IdP's entity id, read from its metadata: responses are matched to it by Issuer.
        #[serde(default)]
        entity_id: String,
        #[serde(default)]
        metadata_url: Option<String>,
        #[serde(default)]
        metadata_xml: String,
    },
    /// A card (e.g. SITHS) whose certificate the node's `[http] client_ca` accepted but whose
    /// user has no account here: the attributes are the certificate subject's (`cn`,
    /// `serial_number`, `o`, `ou`, `c`, `l`, `email`, `title`, `given_name`, `surname`).
    Card,
}

/// One rule: a person whose attribute `attribute` has the value `value` gets `role` and
/// `units`. The first rule that matches decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRule {
    pub attribute: String,
    pub value: String,
    pub role: Role,
    #[serde(default)]
    pub units: Vec<UnitId>,
}

/// How a login becomes an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// The attribute whose value identifies the person at this IdP, e.g. `hsa_id` or `sub`.
    pub user_attribute: String,
    /// Replace that value by a keyed pseudonym before it becomes part of the account id: for
    /// personal identity numbers, which are never stored in clear.
    #[serde(default)]
    pub pseudonymise: bool,
    /// The attribute with the person's name as shown here (the id when it is missing).
    #[serde(default = "default_name_attribute")]
    pub name_attribute: String,
    /// The attribute naming the person's organisation, and the organisations whose people may
    /// log in (e.g. the member municipalities). No attribute: anyone the IdP vouches for.
    #[serde(default)]
    pub org_attribute: Option<String>,
    #[serde(default)]
    pub allowed_orgs: Vec<String>,
    /// Role and units by attribute value; no match: refused.
    #[serde(default)]
    pub rules: Vec<RoleRule>,
    /// How long the account works after each login.
    #[serde(default = "default_account_hours")]
    pub account_hours: u32,
}

fn default_name_attribute() -> String {
    "name".into()
}

fn default_account_hours() -> u32 {
    DEFAULT_ACCOUNT_HOURS
}

/// What an admin sets for an IdP (create or edit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpFields {
    pub id: IdpId,
    /// Shown on the login button, e.g. "Region Skåne".
    pub name: String,
    pub protocol: Protocol,
    pub mapping: Mapping,
    #[serde(default)]
    pub disabled: bool,
}

/// A trusted IdP as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityProvider {
    pub id: IdpId,
    pub name: String,
    pub protocol: Protocol,
    pub mapping: Mapping,
    pub disabled: bool,
    /// Key of the pseudonyms of [`Mapping::pseudonymise`] (hex), made by the node that took the
    /// first edit; the same on every node, so every node gives a person the same account.
    pub pseudonym_key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub changed_by: Option<String>,
    pub version: u64,
}

impl IdentityProvider {
    /// The record as pages and the API show it: secrets replaced by whether they are set.
    pub fn redacted(&self) -> (Self, bool) {
        let mut r = self.clone();
        r.pseudonym_key = String::new();
        let had = match &mut r.protocol {
            Protocol::Oidc { client_secret, .. } => client_secret.take().is_some(),
            Protocol::Saml { .. } | Protocol::Card => false,
        };
        (r, had)
    }
}

/// Most bytes of IdP metadata kept.
pub const MAX_METADATA_BYTES: usize = 512 * 1024;

/// A proof of login that may be used once (a SAML assertion), sent with the login it proves:
/// the cluster refuses a second login with the same key until `until`, whichever node takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnceUse {
    /// A hash of the IdP and the assertion's id (hex).
    pub key: crate::ids::OnceKey,
    /// When the proof expires anyway (the assertion's `NotOnOrAfter`).
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

/// A used proof, kept until it expires.
pub type UsedOnce = OnceUse;

/// The attributes an IdP asserted about a person: name → values (a claim or SAML attribute
/// may carry several).
pub type Attributes = BTreeMap<String, Vec<String>>;

/// What a login maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    pub units: Vec<UnitId>,
}

/// Why a login was refused by the rules (said on the page, and in the access log).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the IdP did not send the attribute {0:?} that identifies the person")]
    NoUserId(String),
    #[error("the person's organisation ({0}) is not one whose staff may log in here")]
    Organisation(String),
    #[error("no rule gives this person a role here")]
    NoRule,
    #[error("this login method is switched off")]
    Disabled,
}

/// Account ids are `<idp>.<value>` (lower case, other characters replaced): a federated
/// person can never take over a local account, nor one of another IdP.
pub fn account_id(idp: &IdpId, value: &str) -> UserId {
    let clean: String = value
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    let max = crate::ids::MAX_ID_LEN.saturating_sub(idp.as_str().len() + 1);
    UserId(format!("{}.{}", idp.as_str(), clean.chars().take(max).collect::<String>()))
}

/// Maps a login to an account by `idp`'s rules. `pseudonym` turns an identifying value into
/// its keyed pseudonym (HMAC with [`IdentityProvider::pseudonym_key`]; hashing is the node's).
pub fn map(idp: &IdentityProvider, attrs: &Attributes, pseudonym: &dyn Fn(&str) -> String) -> Result<Mapped, Refusal> {
    if idp.disabled {
        return Err(Refusal::Disabled);
    }
    let m = &idp.mapping;
    let first = |name: &str| attrs.get(name).and_then(|v| v.iter().map(|s| s.trim()).find(|s| !s.is_empty()));
    let raw = first(&m.user_attribute).ok_or_else(|| Refusal::NoUserId(m.user_attribute.clone()))?;
    let value = if m.pseudonymise { pseudonym(raw) } else { raw.to_owned() };
    if let Some(attr) = &m.org_attribute {
        let orgs = attrs.get(attr).map(Vec::as_slice).unwrap_or_default();
        let allowed = orgs.iter().any(|o| m.allowed_orgs.iter().any(|a| a.trim().eq_ignore_ascii_case(o.trim())));
        if !allowed {
            let said = if orgs.is_empty() { "none given".to_owned() } else { orgs.join(", ") };
            return Err(Refusal::Organisation(said));
        }
    }
    let rule = m
        .rules
        .iter()
        .find(|r| attrs.get(&r.attribute).is_some_and(|vs| vs.iter().any(|v| v.trim() == r.value.trim())))
        .ok_or(Refusal::NoRule)?;
    // A pseudonymised person is not named by the identifying value either.
    let name = first(&m.name_attribute).map(str::to_owned).unwrap_or_else(|| value.clone());
    Ok(Mapped {
        user_id: account_id(&idp.id, &value),
        name: name.chars().take(200).collect(),
        role: rule.role,
        units: rule.units.clone(),
    })
}

#[cfg(test)]
mod tests;
