//! Action cards (handlingskort, tiltakskort): one emergency routine each, in the structure
//! hospitals use — the task, who does it, when it applies, the actions, and what to document
//! now so it can be entered into the ordinary systems afterwards — with a category, an owner
//! and an approver, a review date, and every earlier version kept. A card linked to systems is
//! shown wherever one of them is not operational.
//!
//! The texts are Markdown; rendering them safely is the web layer's job.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::codes::codes;
use crate::ids::{CardId, SystemId};

pub(crate) mod rules;
#[cfg(test)]
mod tests;

codes!(
    /// A card's category.
    Category {
        PowerLoss = "power_loss",
        NetworkLoss = "network_loss",
        ItSecurity = "it_security",
        SystemDowntime = "system_downtime",
        Telephony = "telephony",
        Water = "water",
        Supply = "supply",
        Other = "other",
    }
);

/// The texts of a card as one version had them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardText {
    pub title: String,
    /// Opgave / uppgift: what the card is for.
    pub task: String,
    /// Hvem / vem: who does it.
    pub who: String,
    /// Hvornår / när: the trigger.
    pub trigger: String,
    /// Handling / åtgärder (Markdown, usually a numbered list).
    pub actions: String,
    /// Dokumentation: what to write down now and enter afterwards (Markdown).
    pub documentation: String,
}

/// An earlier version, kept when the card changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: Option<String>,
    pub text: CardText,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCard {
    pub id: CardId,
    pub category: Category,
    #[serde(flatten)]
    pub text: CardText,
    pub owner: String,
    pub approver: String,
    #[serde(with = "crate::model::ymd_opt")]
    pub approved_on: Option<Date>,
    /// When the card must be looked over again.
    #[serde(with = "crate::model::ymd")]
    pub review_by: Date,
    /// Shown wherever one of these is not operational.
    pub systems: Vec<SystemId>,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub changed_by: Option<String>,
    /// Earlier versions, oldest first.
    pub history: Vec<Revision>,
    pub withdrawn: bool,
    pub version: u64,
}

impl ActionCard {
    /// Whether its review date has passed on `today` (the reader's date).
    pub fn review_overdue(&self, today: Date) -> bool {
        today > self.review_by
    }
}

/// Longest Markdown text of one section.
pub const MAX_MARKDOWN: usize = 20_000;
/// How many earlier versions a card keeps.
pub const MAX_HISTORY: usize = 50;
