//! Typed rejections with stable codes. The codes are an API: the web layer maps them to texts
//! in the user's language, and scripts match on them. Never rename one.

use crate::model::OrderStatus;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Supplier,
    Unit,
    Article,
    Order,
    Node,
    User,
    Token,
    Organisation,
    System,
    Incident,
    Maintenance,
    Readiness,
    Contact,
    Rota,
    Card,
    Drill,
    Channel,
    Dispatch,
    Subscriber,
    /// A trusted identity provider.
    Idp,
    /// A page to an on-call rota.
    Page,
    /// A situation report, the report form or a reporting cycle.
    Report,
    /// A banner set by hand.
    Banner,
    /// An exercise.
    Exercise,
    /// An invitation for a new node.
    Invitation,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Supplier => "supplier",
            Self::Unit => "unit",
            Self::Article => "article",
            Self::Order => "order",
            Self::Node => "node",
            Self::User => "user",
            Self::Token => "token",
            Self::Organisation => "organisation",
            Self::System => "system",
            Self::Incident => "incident",
            Self::Maintenance => "maintenance",
            Self::Readiness => "readiness",
            Self::Contact => "contact",
            Self::Rota => "rota",
            Self::Card => "card",
            Self::Drill => "drill",
            Self::Channel => "channel",
            Self::Dispatch => "dispatch",
            Self::Subscriber => "subscriber",
            Self::Idp => "idp",
            Self::Page => "page",
            Self::Report => "report",
            Self::Banner => "banner",
            Self::Exercise => "exercise",
            Self::Invitation => "invitation",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a command was refused. A rejection is a verdict, not a fault: the log entry is applied,
/// the state is unchanged, and every node reaches the same rejection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    #[error("{kind} {id} not found")]
    NotFound { kind: Kind, id: String },
    #[error("{kind} {id} already exists")]
    AlreadyExists { kind: Kind, id: String },
    /// A referenced record does not exist (e.g. an order line's article).
    #[error("{kind} {id} (in {field}) is unknown")]
    Unknown { kind: Kind, id: String, field: String },
    #[error("{kind} {id} is withdrawn")]
    Withdrawn { kind: Kind, id: String, field: String },
    #[error("{kind} {id} has version {actual}, not {expected}")]
    VersionConflict { kind: Kind, id: String, expected: u64, actual: u64 },
    #[error("order {id}: cannot {action} when {from:?}")]
    BadTransition { id: String, from: OrderStatus, action: String },
    #[error("{field}: {problem}")]
    Invalid { kind: Kind, field: String, problem: Problem },
    /// The actor may not do this (role, unit, or an inactive account).
    #[error("not allowed: {why}")]
    Forbidden { kind: Kind, why: String },
    /// The record is finished (a resolved incident, a completed or cancelled maintenance) and
    /// takes no more changes.
    #[error("{kind} {id} is closed")]
    Closed { kind: Kind, id: String },
    /// The command id was used before by another actor: nothing of that command is shown.
    #[error("command id {id} is already used")]
    IdReused { id: String },
    /// Row `row` (0-based) of an import was refused, and with it the whole import.
    #[error("row {row}: {rejection}")]
    InRow { row: u32, rejection: Box<Rejection> },
}

/// What is wrong with a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    Required,
    TooLong,
    BadFormat,
    CheckDigit,
    OutOfRange,
    UnknownCode,
    Duplicate,
    TooMany,
    /// An address in a local, private or special network where it must be public.
    PrivateAddress,
    /// Records that must belong together do not (an exercise's and a real one).
    Mismatch,
    /// Allowed only after it is over (an exercise is cleared after it ends).
    NotOver,
}

impl Problem {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::TooLong => "too_long",
            Self::BadFormat => "bad_format",
            Self::CheckDigit => "check_digit",
            Self::OutOfRange => "out_of_range",
            Self::UnknownCode => "unknown_code",
            Self::Duplicate => "duplicate",
            Self::TooMany => "too_many",
            Self::PrivateAddress => "private_address",
            Self::Mismatch => "mismatch",
            Self::NotOver => "not_over",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Rejection {
    /// The stable code, e.g. `order.not_found`, `article.unknown`, `order.bad_transition`,
    /// `article.invalid`.
    pub fn code(&self) -> String {
        let (kind, what) = match self {
            Self::InRow { rejection, .. } => return rejection.code(),
            Self::IdReused { .. } => return "command.id_reused".to_owned(),
            Self::NotFound { kind, .. } => (*kind, "not_found"),
            Self::AlreadyExists { kind, .. } => (*kind, "already_exists"),
            Self::Unknown { kind, .. } => (*kind, "unknown"),
            Self::Withdrawn { kind, .. } => (*kind, "withdrawn"),
            Self::VersionConflict { kind, .. } => (*kind, "version_conflict"),
            Self::BadTransition { .. } => (Kind::Order, "bad_transition"),
            Self::Invalid { kind, .. } => (*kind, "invalid"),
            Self::Forbidden { kind, .. } => (*kind, "forbidden"),
            Self::Closed { kind, .. } => (*kind, "closed"),
        };
        format!("{kind}.{what}")
    }

    /// The offending field, where there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Unknown { field, .. } | Self::Withdrawn { field, .. } | Self::Invalid { field, .. } => Some(field),
            Self::InRow { rejection, .. } => rejection.field(),
            _ => None,
        }
    }

    /// The rejection itself, or for an import the row's rejection.
    pub fn innermost(&self) -> &Rejection {
        match self {
            Self::InRow { rejection, .. } => rejection.innermost(),
            other => other,
        }
    }

    pub(crate) fn invalid(kind: Kind, field: impl Into<String>, problem: Problem) -> Self {
        Self::Invalid { kind, field: field.into(), problem }
    }
}
