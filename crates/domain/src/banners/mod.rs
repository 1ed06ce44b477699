//! Banners set by hand (issue 22): the crisis staff's or communicators' own line across the top
//! of every page — maintenance tonight, a raised readiness level, "call 010-… instead" — with a
//! level, the sites it is for (none: every site) and a window in which it shows. The automatic
//! banner for major incidents stays as it is ([`crate::status`]). Every change is a command, so
//! the audit trail has who set, changed or ended each banner.

pub(crate) mod rules;
#[cfg(test)]
mod tests;

use crate::ids::BannerId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How loud a banner is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BannerLevel {
    Info,
    Warning,
    Critical,
}

impl BannerLevel {
    pub const ALL: [BannerLevel; 3] = [BannerLevel::Info, BannerLevel::Warning, BannerLevel::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// What a person sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BannerFields {
    pub id: BannerId,
    pub text: String,
    pub level: BannerLevel,
    /// The sites whose pages show it; empty: every site.
    #[serde(default)]
    pub sites: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
}

/// A banner as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Banner {
    pub id: BannerId,
    pub text: String,
    pub level: BannerLevel,
    pub sites: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    pub changed_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub version: u64,
}

/// Longest banner text: one or two lines on a page.
pub const MAX_TEXT: usize = 300;
/// Most sites one banner names.
pub const MAX_SITES: usize = 50;
/// The longest window a banner may show for.
pub const MAX_WINDOW: time::Duration = time::Duration::days(92);

impl Banner {
    /// Whether it shows at `now`.
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Whether it is for a page of any of `sites` (a banner for every site is for every page).
    pub fn is_for(&self, sites: &[String]) -> bool {
        self.sites.is_empty() || self.sites.iter().any(|s| sites.iter().any(|x| same_site(s, x)))
    }
}

/// Site names compared as the status board does (case and Å/Ä/Ö folded).
pub fn same_site(a: &str, b: &str) -> bool {
    crate::status::site_key(a) == crate::status::site_key(b)
}
