//! How each supplier receives orders (issue 9's first part): by e-mail with the chosen files
//! attached, by an HTTP webhook (PEPPOL order XML or JSON, signed with a shared secret), or
//! manually (print, phone, fax: a person records who sent it and how), or as a text message
//! (SMS, issue 21) to phones in E.164 form, a short summary that points to the files. Replicated like any
//! record, so every node knows where an order goes.

pub(crate) mod rules;

pub mod address;

use crate::check::{Outcome, applied, next_version, text};
use crate::command::{Command, Envelope};
use crate::ids::SupplierId;
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A file an e-mail carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attachment {
    Pdf,
    Csv,
    Xlsx,
    /// PEPPOL BIS order XML.
    Ubl,
}

/// What a webhook's body holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookBody {
    Ubl,
    Json,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Channel {
    Email {
        /// Recipients, at least one.
        to: Vec<String>,
        /// Files attached to each message, at least one.
        attach: Vec<Attachment>,
    },
    Webhook {
        /// `https://…` (plain `http://` only for loopback and test receivers).
        url: String,
        body: WebhookBody,
        /// Signs each request (HMAC-SHA256). Never shown again once set; `None` on an edit keeps
        /// the one stored.
        #[serde(default)]
        secret: Option<String>,
    },
    Manual {
        /// How the supplier takes orders, e.g. "fax 08-123 45 67".
        #[serde(default)]
        how: String,
    },
    /// A text message to each phone (E.164, e.g. `+46701234567`), through the node's SMS routes.
    Sms { to: Vec<String> },
}

/// A supplier's channel as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierChannel {
    pub supplier_id: SupplierId,
    pub channel: Channel,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub changed_by: Option<String>,
    pub version: u64,
}

impl SupplierChannel {
    /// The channel as pages and the API show it: a webhook secret is replaced by whether one
    /// is set.
    pub fn redacted(&self) -> (Channel, bool) {
        match &self.channel {
            Channel::Webhook { url, body, secret } => {
                (Channel::Webhook { url: url.clone(), body: *body, secret: None }, secret.is_some())
            }
            c => (c.clone(), false),
        }
    }
}

const MAX_RECIPIENTS: usize = 10;

/// The webhook URL rule as a field problem (see [`address::check_webhook_url`]).
pub(crate) fn webhook_url_problem(url: &str) -> Option<Problem> {
    address::check_webhook_url(url).err().map(|p| match p {
        address::UrlProblem::BadFormat => Problem::BadFormat,
        address::UrlProblem::PrivateAddress => Problem::PrivateAddress,
    })
}

#[cfg(test)]
mod tests;
