//! The catalog and who orders: suppliers, care units, articles and the buyer organisation
//! (their types are in [`crate::model`]).

pub mod gtin;
pub(crate) mod rules;
#[cfg(test)]
mod tests;
pub mod units;
