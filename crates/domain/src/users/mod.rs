//! Accounts: users and their roles and units, API tokens, session keys (the types are in
//! [`crate::model`]).

pub(crate) mod rules;
#[cfg(test)]
mod tests;
