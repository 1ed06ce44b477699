//! Everything a node makes for people to read, from its local state: the read models (the
//! orders and catalog index, the status board, the contact directory, action cards), the export
//! files (CSV, XLSX, PDF, PEPPOL UBL, the emergency binder, drill reports), the letters and
//! notices the dispatcher sends, Markdown, and the UI's languages with the parsers for what
//! people type.
//!
//! No HTTP, no async, no storage: callers hand in a [`domain::StateView`] and get bytes or
//! plain values back, so the web layer and the node's dispatcher share one implementation.

pub mod cards;
pub mod contacts;
pub mod dispatch;
pub mod drills;
pub mod exercises;
pub mod export;
pub mod i18n;
pub mod import;
pub mod markdown;
pub mod notices;
pub mod offline;
pub mod paging;
#[cfg(test)]
mod proptests;
pub mod read_model;
pub mod reports;
pub mod status;
pub mod subscribers;

pub use read_model::ReadModel;
