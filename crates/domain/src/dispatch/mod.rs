//! Dispatch jobs: approved orders going out to a supplier through its channel
//! ([`crate::channels`]). A job is made through the log; only the leader delivers, and it records
//! every attempt (time, node, outcome, error) through the log as well, so after a failover the
//! new leader sees what is pending and when the next attempt is due. Delivery is at least once:
//! every copy of a job's message carries the same [`DispatchJob::message_id`].

pub(crate) mod rules;

use crate::channels::Channel;
use crate::check::{Outcome, applied, check_id, text};
use crate::command::{Command, Envelope, OrderAction};
use crate::ids::{OrderId, SupplierId};
use crate::model::OrderStatus;
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Overlay, Record, StateError, StateView, StateViewExt};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its next attempt (or, on a manual channel, for a person to send it).
    Pending,
    Delivered,
    /// Gave up after [`MAX_ATTEMPTS`]; "retry" makes it pending again.
    Failed,
    Cancelled,
}

impl JobState {
    /// The state's name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The node that tried (0 for a person's manual send).
    pub node: u64,
    pub ok: bool,
    /// The receiver's or the network's words when it failed; how it was sent when manual.
    pub detail: String,
    /// Who recorded a manual send.
    #[serde(default)]
    pub by: Option<String>,
    /// What the route gave for what it took (`route:id`), for its receipts to name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<String>,
}

/// A delivery receipt: the network's word on one part of a sent job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub reference: String,
    pub state: String,
}

impl Receipt {
    /// Whether the network says it reached the phone.
    pub fn delivered(&self) -> bool {
        self.state.eq_ignore_ascii_case("DELIVRD")
    }
}

/// Most receipts kept on one job (ten phones, a few segments each, a state change or two).
pub const MAX_RECEIPTS: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchJob {
    pub id: crate::ids::DispatchId,
    pub supplier_id: SupplierId,
    pub order_ids: Vec<OrderId>,
    /// The channel as it was when the job was made: an edit later does not redirect it.
    pub channel: Channel,
    pub state: JobState,
    pub attempts: Vec<Attempt>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: Option<String>,
    pub version: u64,
    /// A status notice or reminder (then `supplier_id` is empty and `order_ids` too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<crate::subscribers::Notice>,
    /// Delivery receipts for text messages, in the order they came.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receipts: Vec<Receipt>,
}

/// Attempts before a job is marked failed (about a day at the back-off ceiling).
pub const MAX_ATTEMPTS: usize = 100;
/// Most orders one job carries.
pub const MAX_ORDERS: usize = 200;

/// Wait before the next attempt after `failures` failed ones: 30 s, doubling, at most 15 min.
pub fn backoff(failures: usize) -> Duration {
    let doublings = u32::try_from(failures.saturating_sub(1)).unwrap_or(u32::MAX).min(10);
    Duration::seconds(30 * 2_i64.pow(doublings)).min(Duration::minutes(15))
}

impl DispatchJob {
    /// The id every copy of this job's message carries (e-mail `Message-ID`, webhook
    /// `Idempotency-Key`), so a receiver recognises a resend after a crash as the same message.
    pub fn message_id(&self) -> String {
        format!("{}@beredd", self.id)
    }

    /// The job as pages and the API show it: without the webhook secret.
    pub fn redacted(&self) -> Self {
        let mut j = self.clone();
        if let Channel::Webhook { secret, .. } = &mut j.channel {
            *secret = None;
        }
        j
    }

    /// Whether the leader should attempt it at `now` (manual jobs wait for a person).
    pub fn due(&self, now: OffsetDateTime) -> bool {
        self.state == JobState::Pending
            && !matches!(self.channel, Channel::Manual { .. })
            && self.next_attempt_at.is_some_and(|t| t <= now)
    }
}

#[cfg(test)]
mod tests;
