//! Identifiers. Record ids are short strings chosen by the client (or made by the node that
//! takes the request), so that a retried request names the same record.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Raft node id. Never reused within a cluster.
pub type NodeId = u64;

/// Longest id we accept; ids are keys in storage and appear in URLs.
pub const MAX_ID_LEN: usize = 64;

/// Whether `s` is a usable id: 1–64 characters from `A-Z a-z 0-9 . _ : -`.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// An id reads as the text it is, so `&id` goes where `&str` is wanted.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl crate::state::KeyId for $name {
            fn key_text(&self) -> String {
                self.0.clone()
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                Self(s.clone())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A supplier (leverantör).
    SupplierId
);
string_id!(
    /// A care unit (vårdenhet) that orders goods.
    UnitId
);
string_id!(
    /// A catalog article.
    ArticleId
);
string_id!(
    /// An order; the client may choose it so that retries are safe.
    OrderId
);
string_id!(
    /// A command's client-made id: the same id twice means the same command.
    CommandId
);
string_id!(
    /// A user account (login name).
    UserId
);
string_id!(
    /// The public part of an API token, used to find it; the secret is stored only hashed.
    TokenId
);
string_id!(
    /// A system on the status board (ERP, supplier portal, telephony, …).
    SystemId
);
string_id!(
    /// An incident on the status board.
    IncidentId
);
string_id!(
    /// A scheduled maintenance on the status board.
    MaintenanceId
);
string_id!(
    /// An entry in the contact directory (a function or a person).
    ContactId
);
string_id!(
    /// An on-call rota.
    RotaId
);
string_id!(
    /// An action card (emergency routine).
    CardId
);
string_id!(
    /// A failover drill's report.
    DrillId
);
string_id!(
    /// A dispatch job (an order or notice on its way out of the cluster).
    DispatchId
);
string_id!(
    /// A status subscriber.
    SubscriberId
);
string_id!(
    /// A page to an on-call rota.
    PageId
);
string_id!(
    /// A banner set by hand.
    BannerId
);
string_id!(
    /// An exercise (see [`crate::exercises`]).
    ExerciseId
);
string_id!(
    /// A session signing key.
    SessionKeyId
);
string_id!(
    /// A trusted identity provider (an OpenID Connect issuer or SAML IdP).
    IdpId
);
string_id!(
    /// A one-time proof already used (a SAML assertion), by its hash: see
    /// [`crate::federation::UsedOnce`].
    OnceKey
);
string_id!(
    /// A site as readiness levels are keyed: its folded name (see [`crate::status::site_key`]).
    SiteKey
);
string_id!(
    /// A named counter (the order number sequence).
    CounterName
);
