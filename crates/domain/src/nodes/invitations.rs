//! Invitations: how a new machine becomes a node without a shell on the others. Ops staff make
//! one for a node id and a name (the node's role-to-be fixed in it); the new machine presents
//! its secret once, before it expires, and the cluster signs its certificate. Keyed by the node
//! id it reserves, so two invitations can never hand out one id. Used, expired and revoked are
//! decided here, by `apply`, so every node refuses alike.

use crate::ids::NodeId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Longest an invitation may stay open.
pub const MAX_VALID: time::Duration = time::Duration::days(7);

/// What the invited node becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinAs {
    /// A learner that ops staff may promote to voter once it has caught up.
    Voter,
    /// A read-only replica: a learner for good, never promoted.
    Learner,
}

impl JoinAs {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voter => "voter",
            Self::Learner => "learner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Voter, Self::Learner].into_iter().find(|j| j.as_str() == s)
    }
}

/// What the person making an invitation chooses (the node id is proposed by the node that
/// takes the request, and refused here if it was ever given out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationFields {
    pub node: NodeId,
    /// A name for people: the machine or its place (`laptop-akuten`).
    pub name: String,
    pub join_as: JoinAs,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// SHA-256 (hex) of the invitation's secret; the secret itself is shown once and never
    /// stored.
    pub secret_sha256: String,
}

/// Who did something to an invitation, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// An invitation and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub fields: InvitationFields,
    pub created: Stamp,
    /// When the node joined with it, and the SHA-256 (hex, of the DER) of the certificate the
    /// cluster signed for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used: Option<Stamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_sha256: Option<String>,
    /// Revoked: an open invitation can no longer be used; a used one's certificate is refused
    /// by every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Stamp>,
    pub version: u64,
}

/// Where an invitation stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Open,
    Used,
    Expired,
    Revoked,
}

impl InvitationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Used => "used",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl Invitation {
    pub fn state(&self, now: OffsetDateTime) -> InvitationState {
        if self.revoked.is_some() {
            InvitationState::Revoked
        } else if self.used.is_some() {
            InvitationState::Used
        } else if now > self.fields.expires_at {
            InvitationState::Expired
        } else {
            InvitationState::Open
        }
    }

    /// Why it cannot be used at `now`, in words for the person at the new machine; `None`
    /// while it is open.
    pub fn refusal(&self, now: OffsetDateTime) -> Option<String> {
        let when = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
        };
        let who = |s: &Stamp| s.by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
        let node = self.fields.node;
        match self.state(now) {
            InvitationState::Open => None,
            InvitationState::Revoked => {
                let r = self.revoked.as_ref()?;
                Some(format!(
                    "the invitation for node {node} was revoked{} at {}; ask for a new one",
                    who(r),
                    when(r.at)
                ))
            }
            InvitationState::Used => {
                let u = self.used.as_ref()?;
                Some(format!(
                    "the invitation for node {node} was used already at {}: an invitation works once; ask for a new one",
                    when(u.at)
                ))
            }
            InvitationState::Expired => Some(format!(
                "the invitation for node {node} expired at {}; ask for a new one",
                when(self.fields.expires_at)
            )),
        }
    }

    /// The certificate fingerprint every node must refuse, when the invitation is revoked
    /// after use.
    pub fn revoked_cert(&self) -> Option<&str> {
        self.revoked.as_ref().and(self.cert_sha256.as_deref())
    }
}

/// Whether `s` is a SHA-256 in lower-case hex.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
