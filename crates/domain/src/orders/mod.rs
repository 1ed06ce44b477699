//! Orders and their state machine (the types are in [`crate::model`]).

pub(crate) mod rules;
#[cfg(test)]
mod tests;
