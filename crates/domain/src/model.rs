//! The replicated records. Every record carries a `version` that starts at 1 and grows by one
//! with each change, for optimistic concurrency.

use crate::ids::{ArticleId, NodeId, OrderId, SupplierId, TokenId, UnitId, UserId};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

time::serde::format_description!(pub ymd, Date, "[year]-[month]-[day]");

/// `Option<Date>` as `"YYYY-MM-DD"` or null.
pub mod ymd_opt {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct W<'a>(#[serde(with = "super::ymd")] &'a Date);
        d.as_ref().map(W).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::ymd")] Date);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

/// `Vec<OffsetDateTime>` as a list of RFC 3339 strings.
pub mod rfc3339_list {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(v: &[OffsetDateTime], s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct W<'a>(#[serde(with = "time::serde::rfc3339")] &'a OffsetDateTime);
        v.iter().map(W).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OffsetDateTime>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "time::serde::rfc3339")] OffsetDateTime);
        Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supplier {
    pub id: SupplierId,
    pub name: String,
    /// Swedish organisationsnummer or Norwegian organisasjonsnummer.
    pub org_number: Option<String>,
    /// GS1 Global Location Number (13 digits), used as the PEPPOL party id.
    pub gln: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2 country code, e.g. "SE" or "NO" (PEPPOL orders need it).
    #[serde(default)]
    pub country: Option<String>,
    /// Postal address as printed on an order: one element per line.
    #[serde(default)]
    pub address: Vec<String>,
    /// A withdrawn supplier stays on old orders, but its articles cannot be ordered.
    #[serde(default)]
    pub withdrawn: bool,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CareUnit {
    pub id: UnitId,
    pub name: String,
    /// The hospital or site, e.g. "Östra sjukhuset".
    pub site: String,
    pub cost_centre: Option<String>,
    /// Delivery address as printed on an order: one element per line.
    pub delivery_address: Vec<String>,
    /// Whom a supplier asks about a delivery, and how to reach them.
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// A withdrawn (closed) unit stays on old orders but gets no new ones.
    #[serde(default)]
    pub withdrawn: bool,
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub id: ArticleId,
    /// The supplier's own article number.
    pub article_number: String,
    pub gtin: Option<String>,
    pub name: String,
    /// UN/ECE Rec 20 code of the unit one orders in (see [`crate::catalog::units`]).
    pub unit: String,
    /// How many pieces one unit holds (e.g. a box of 100 gloves).
    pub pack_size: u32,
    pub supplier_id: SupplierId,
    pub category: String,
    /// Price per unit in hundredths of the currency (öre), when known.
    pub price_cents: Option<i64>,
    /// Withdrawn articles stay for old orders but cannot be ordered.
    pub withdrawn: bool,
    pub version: u64,
}

/// The id the buyer organisation has in the audit trail and the API.
pub const ORGANISATION_ID: &str = "buyer";

/// The buyer: the organisation the care units belong to, as order files name it. There is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub name: String,
    /// Swedish organisationsnummer (PEPPOL scheme 0007) or Norwegian organisasjonsnummer (0192).
    pub org_number: Option<String>,
    /// GS1 Global Location Number (scheme 0088); preferred as the PEPPOL endpoint when given.
    pub gln: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// ISO 4217 currency of the catalog's prices, e.g. "SEK".
    pub currency: String,
    /// Postal (invoice) address: one element per line.
    pub address: Vec<String>,
    /// The purchasing contact printed on every order.
    pub contact_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub version: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Sent,
    Confirmed,
    PartiallyDelivered,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        Self::Draft,
        Self::Submitted,
        Self::Approved,
        Self::Rejected,
        Self::Sent,
        Self::Confirmed,
        Self::PartiallyDelivered,
        Self::Delivered,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Sent => "sent",
            Self::Confirmed => "confirmed",
            Self::PartiallyDelivered => "partially_delivered",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// No further transition is possible.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Cancelled | Self::Rejected)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// 1-based, stable for the life of the order.
    pub line_no: u32,
    pub article_id: ArticleId,
    /// In the article's unit.
    pub quantity: u32,
    pub note: Option<String>,
    /// Received so far; equals `quantity` when the line is fully delivered.
    pub received: u32,
}

/// One step in an order's life, kept on the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The node that took the request.
    pub node: NodeId,
    /// Who did it, once accounts exist.
    pub actor: Option<String>,
    /// "created", or the action's name.
    pub action: String,
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    /// Human order number, e.g. "2026-000042", given at apply time.
    pub number: String,
    pub unit_id: UnitId,
    pub lines: Vec<OrderLine>,
    pub note: Option<String>,
    #[serde(with = "ymd_opt")]
    pub needed_by: Option<Date>,
    pub urgent: bool,
    pub status: OrderStatus,
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub history: Vec<HistoryEntry>,
    /// The exercise it was made in (see [`crate::exercises`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise: Option<crate::ids::ExerciseId>,
    /// A failover drill's order (see [`crate::command::OrderFields::drill`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drill: bool,
}

/// A node as the cluster knows it; kept forever so that ids are never reused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: NodeId,
    pub http: String,
    pub grpc: String,
    pub retired: bool,
    pub version: u64,
    /// What happened to it, oldest first, the last [`crate::nodes::MAX_HISTORY`] events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<crate::nodes::NodeEvent>,
}

/// What a user may do; see [`crate::access`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Care-unit staff: order for their own units and follow those orders.
    Staff,
    /// Reviews, approves and sends orders of every unit.
    Purchaser,
    /// Keeps status, incidents and contact routes current.
    Communicator,
    /// Runs the cluster: membership, drills, backups.
    Ops,
    /// Everything, including users, units, suppliers and the catalog.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Self::Staff, Self::Purchaser, Self::Communicator, Self::Ops, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Purchaser => "purchaser",
            Self::Communicator => "communicator",
            Self::Ops => "ops",
            Self::Admin => "admin",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    /// Care units the user works for (what staff may see and order for).
    pub units: Vec<UnitId>,
    /// Argon2id PHC string; `None` for accounts that log in only with a token or certificate.
    pub password_hash: Option<String>,
    /// After this moment the account no longer works (e.g. federated accounts, valid 24 h).
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub disabled: bool,
    /// Sessions begun before this moment are void ("log out everywhere").
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub sessions_valid_after: Option<OffsetDateTime>,
    /// The identity provider whose logins made and renew this account; `None` for accounts
    /// made here (by an admin or the command line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::ids::IdpId>,
    pub version: u64,
}

impl User {
    /// Whether the account works at `at` (not disabled, not expired).
    pub fn is_active(&self, at: OffsetDateTime) -> bool {
        !self.disabled && self.expires_at.is_none_or(|e| at < e)
    }
}

/// An API token for scripts. Only the SHA-256 of its secret is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    /// Hex SHA-256 of the token's secret part.
    pub secret_sha256: String,
    pub label: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub revoked: bool,
    pub version: u64,
    /// After this the token no longer works. Tokens made before expiries existed have none.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<OffsetDateTime>,
}

impl ApiToken {
    /// Whether the token works at `now` for `user`: not revoked, not expired, and made after the
    /// user last logged out everywhere or changed their password.
    pub fn is_valid(&self, user: &User, now: OffsetDateTime) -> bool {
        !self.revoked
            && self.expires_at.is_none_or(|e| now < e)
            && user.sessions_valid_after.is_none_or(|t| self.created_at > t)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Where a command sits in the log: its entry and its place in that entry's batch. Audit lines
/// are stored under it, so the trail reads in log order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditSeq {
    pub log_index: u64,
    pub slot: u32,
}

impl From<u64> for AuditSeq {
    fn from(log_index: u64) -> Self {
        Self { log_index, slot: 0 }
    }
}

impl crate::state::KeyId for AuditSeq {
    /// The zero-padded index, as before batches, and `.slot` after it for the second command of
    /// an entry on: `…0123` < `…0123.0001` < `…0124` as bytes.
    fn key_text(&self) -> String {
        match self.slot {
            0 => format!("{:020}", self.log_index),
            s => format!("{:020}.{s:04}", self.log_index),
        }
    }
}

impl AuditEntry {
    pub fn seq(&self) -> AuditSeq {
        AuditSeq { log_index: self.log_index, slot: self.slot }
    }
}

/// One line of the audit trail, written by `apply` for every command the log carries. No
/// command changes or removes these records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub log_index: u64,
    /// The command's place in its log entry's batch (0 for the first, and for every entry
    /// written before batches existed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub slot: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The node that took the request (0: the command line).
    pub node: NodeId,
    pub actor: Option<String>,
    pub command_id: String,
    /// The command's name, e.g. `create_order`.
    pub command: String,
    /// What it was about: `order/<id>`, `user/<id>`, ….
    pub target: String,
    /// `applied` or the rejection code. A repeated command id adds no line.
    pub outcome: String,
}

/// A key that signs session cookies, kept in the replicated state so that a session begun on
/// one node is valid on every other. The newest key signs; older ones still verify until their
/// sessions have expired.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionKey {
    pub id: crate::ids::SessionKeyId,
    /// Hex, 32 random bytes made by the node that proposed it.
    pub secret: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
