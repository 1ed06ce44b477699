//! The beredd model, pure: suppliers, care units, articles and orders, the commands that change
//! them, and `apply`, which turns a command into changes or a typed rejection.
//!
//! Nothing here does I/O, reads a clock, draws random numbers or is async: every input to
//! [`apply`] arrives in the [`Envelope`], so every node reaches the same verdict for the same log.

pub mod access;
pub mod apply;
pub mod banners;
pub mod cards;
pub mod catalog;
pub mod channels;
mod check;
pub mod codec;
mod codes;
pub mod command;
pub mod contacts;
pub mod demo_data;
pub mod dispatch;
pub mod drills;
pub mod exercises;
pub mod federation;
pub mod ids;
pub mod merge;
pub mod model;
pub mod nodes;
pub mod orders;
pub mod paging;
pub mod party;
pub mod rejection;
pub mod reports;
pub mod search;
pub mod sms;
pub mod state;
pub mod status;
pub mod subscribers;
pub mod users;

pub use apply::apply;
pub use catalog::{gtin, units};
pub use command::{Command, Envelope, OrderAction, Verdict};
pub use ids::{
    ArticleId, BannerId, CardId, CommandId, ContactId, CounterName, DispatchId, DrillId, ExerciseId, IdpId, IncidentId,
    MaintenanceId, NodeId, OnceKey, OrderId, PageId, RotaId, SessionKeyId, SiteKey, SubscriberId, SupplierId, SystemId,
    TokenId, UnitId, UserId,
};
pub use model::*;
pub use rejection::{Kind, Rejection};
pub use state::{Changes, Key, KeyId, MemState, Overlay, Record, StateError, StateView, StateViewExt, Table};

#[cfg(test)]
mod testing;
