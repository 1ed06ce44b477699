//! The replicated node directory: which node ids exist, their addresses, and which are retired.

pub(crate) mod rules;
