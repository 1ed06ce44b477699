//! Status subscribers: people and addresses that get every incident update and maintenance
//! change for the sites or systems they follow, by e-mail, text message (SMS), both, or webhook,
//! each with a one-click unsubscribe link. The notices are dispatch jobs ([`crate::dispatch`]) made in the same log
//! entry as the change, so every node agrees on who is told what, and the leader delivers them
//! like supplier orders. The "next update due" reminder to an incident's lead is one too.

pub(crate) mod rules;

use crate::channels::{Channel, WebhookBody};
use crate::check::{Outcome, applied, check_id, next_version, text};
use crate::command::{Command, Envelope};
use crate::dispatch::{DispatchJob, JobState};
use crate::ids::{IncidentId, MaintenanceId, SupplierId, SystemId};
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt, Table};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where a subscriber's notices go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    Email {
        address: String,
    },
    /// A JSON body per notice, signed like a supplier webhook when a secret is set.
    Webhook {
        url: String,
        #[serde(default)]
        secret: Option<String>,
    },
    /// A text message to a phone (E.164).
    Sms {
        phone: String,
    },
    /// An e-mail and a text message for each notice (two jobs).
    EmailAndSms {
        address: String,
        phone: String,
    },
}

impl Target {
    /// The phone the subscriber gets texts on, if any.
    pub fn phone(&self) -> Option<&str> {
        match self {
            Self::Sms { phone } | Self::EmailAndSms { phone, .. } => Some(phone),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberFields {
    pub id: crate::ids::SubscriberId,
    pub name: String,
    pub target: Target,
    /// Sites followed: every system at the site. With `systems`, both count.
    #[serde(default)]
    pub sites: Vec<String>,
    #[serde(default)]
    pub systems: Vec<SystemId>,
    /// Language of the notices: `sv`, `nb` or `en`.
    #[serde(default = "swedish")]
    pub lang: String,
}

fn swedish() -> String {
    "sv".into()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    pub id: crate::ids::SubscriberId,
    pub name: String,
    pub target: Target,
    pub sites: Vec<String>,
    pub systems: Vec<SystemId>,
    pub lang: String,
    /// The secret in the subscriber's unsubscribe link (made by the node that took the request).
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub changed_by: Option<String>,
    pub version: u64,
}

impl Subscriber {
    /// Without the unsubscribe token and the webhook secret, for pages and answers.
    pub fn redacted(&self) -> Self {
        let mut s = self.clone();
        s.token = String::new();
        if let Target::Webhook { secret, .. } = &mut s.target {
            *secret = None;
        }
        s
    }

    /// Whether a change to `systems` concerns this subscriber.
    fn follows(&self, view: &dyn StateView, systems: &[SystemId]) -> Result<bool, StateError> {
        if systems.iter().any(|s| self.systems.contains(s)) {
            return Ok(true);
        }
        let sites: Vec<crate::ids::SiteKey> = self.sites.iter().map(|s| crate::status::site_key(s)).collect();
        for id in systems {
            if view.system(id)?.is_some_and(|s| sites.contains(&crate::status::site_key(&s.site))) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Each channel a notice goes out on, with whether it is the text-message copy.
    fn channels(&self) -> Vec<(Channel, bool)> {
        let email = |a: &String| Channel::Email { to: vec![a.clone()], attach: Vec::new() };
        let sms = |p: &String| Channel::Sms { to: vec![p.clone()] };
        match &self.target {
            Target::Email { address } => vec![(email(address), false)],
            Target::Webhook { url, secret } => {
                vec![(Channel::Webhook { url: url.clone(), body: WebhookBody::Json, secret: secret.clone() }, false)]
            }
            Target::Sms { phone } => vec![(sms(phone), true)],
            Target::EmailAndSms { address, phone } => vec![(email(address), false), (sms(phone), true)],
        }
    }
}

/// What a notice job tells.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The subscriber it goes to (empty for a reminder to an incident's lead).
    pub subscriber_id: crate::ids::SubscriberId,
    pub about: About,
    /// The text-message copy of the notice (its own job beside the e-mail one).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sms: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum About {
    /// The incident's update number `update` (1-based: 1 is the opening).
    Incident { id: IncidentId, update: usize },
    /// The maintenance's update number `update` (1 is the announcement).
    Maintenance { id: MaintenanceId, update: usize },
    /// The incident's next update was due at `due` and has not come.
    Reminder {
        id: IncidentId,
        #[serde(with = "time::serde::rfc3339")]
        due: OffsetDateTime,
    },
    /// Step `step` (0-based) of a page to an on-call rota.
    Page { id: crate::ids::PageId, step: usize },
    /// A unit's situation report was due at `due` and has not come.
    ReportDue {
        unit_id: crate::ids::UnitId,
        #[serde(with = "time::serde::rfc3339")]
        due: OffsetDateTime,
    },
}

/// Most subscribers; more would make one incident update a very long log entry.
pub const MAX_SUBSCRIBERS: usize = 2000;
const MAX_FOLLOWED: usize = 100;

/// Queues a notice to every subscriber who follows what the incident or maintenance records in
/// `ch` are about, for the update each just gained. Called after a status-board change applied.
pub(crate) fn notify(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<(), StateError> {
    let mut about = Vec::new();
    for (_, record) in &ch.0 {
        match record {
            Some(Record::Incident(i)) => {
                about.push((About::Incident { id: i.id.clone(), update: i.updates.len() }, i.systems.clone()));
            }
            Some(Record::Maintenance(m)) => {
                about.push((About::Maintenance { id: m.id.clone(), update: m.updates.len() }, m.systems.clone()));
            }
            _ => {}
        }
    }
    if about.is_empty() {
        return Ok(());
    }
    let subscribers: Vec<Subscriber> = view
        .scan(Table::Subscriber, None, MAX_SUBSCRIBERS)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Subscriber(s) => Some(s),
            _ => None,
        })
        .collect();
    for (what, systems) in about {
        for s in &subscribers {
            if s.follows(view, &systems)? {
                for (channel, sms) in s.channels() {
                    let notice = Notice { subscriber_id: s.id.clone(), about: what.clone(), sms };
                    queue(view, env, notice, channel, ch)?;
                }
            }
        }
    }
    Ok(())
}

/// A job for `notice`, unless one with its id exists (a repeat changes nothing).
pub(crate) fn queue(
    view: &dyn StateView,
    env: &Envelope,
    notice: Notice,
    channel: Channel,
    ch: &mut Changes,
) -> Result<Option<crate::ids::DispatchId>, StateError> {
    let id = notice_id(&notice);
    if view.dispatch(&id)?.is_some() {
        return Ok(None);
    }
    let job = DispatchJob {
        id: id.clone(),
        supplier_id: SupplierId::new(""),
        order_ids: Vec::new(),
        channel,
        state: JobState::Pending,
        attempts: Vec::new(),
        next_attempt_at: Some(env.at),
        created_at: env.at,
        created_by: env.actor.clone(),
        version: 1,
        notice: Some(notice),
        receipts: Vec::new(),
    };
    ch.put(Key::Dispatch(id.clone()), Record::Dispatch(job));
    Ok(Some(id))
}

/// A job id made from what the notice is about and to whom, the same on every node: FNV-1a,
/// 64 bits, over the notice's JSON.
pub fn notice_id(n: &Notice) -> crate::ids::DispatchId {
    let bytes = serde_json::to_vec(n).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    crate::ids::DispatchId(format!("ntc-{h:016x}"))
}

/// How the lead of an incident is reached: an e-mail address (the lead given as one, or a
/// directory contact of that name with an e-mail route) and a phone for texts (the contact's
/// first mobile or pager number in E.164 form, or the lead given as such a number).
pub fn lead_routes(view: &dyn StateView, lead: &str) -> Result<(Option<String>, Option<String>), StateError> {
    use crate::contacts::RouteKind;
    let lead = lead.trim();
    if crate::contacts::rules::is_email(lead) {
        return Ok((Some(lead.to_owned()), None));
    }
    if lead.starts_with('+')
        && let Some(phone) = crate::sms::e164(lead)
    {
        return Ok((None, Some(phone)));
    }
    let folded = crate::search::fold(lead);
    for r in view.scan(Table::Contact, None, usize::MAX)? {
        let Record::Contact(c) = r else { continue };
        if c.withdrawn || crate::search::fold(&c.name) != folded {
            continue;
        }
        let email = c.routes.iter().find(|r| r.kind == RouteKind::Email).map(|e| e.value.trim().to_owned());
        let phone = c
            .routes
            .iter()
            .filter(|r| matches!(r.kind, RouteKind::Mobile | RouteKind::Pager))
            .find_map(|r| crate::sms::e164(&r.value));
        if email.is_some() || phone.is_some() {
            return Ok((email, phone));
        }
    }
    Ok((None, None))
}

/// The leader's reminder that an incident's promised update is late: an e-mail and a text to
/// its lead (each where the lead has one), once per promised time. Refused (and nothing queued)
/// when the update came meanwhile or the lead can be reached neither way.
fn remind(
    view: &dyn StateView,
    env: &Envelope,
    id: &IncidentId,
    due: OffsetDateTime,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let k = Kind::Incident;
    let Some(i) = view.incident(id)? else {
        return Ok(Err(Rejection::NotFound { kind: k, id: id.to_string() }));
    };
    if !i.is_open() || i.next_update_due != Some(due) || env.at < due {
        return Ok(Err(Rejection::invalid(k, "next_update_due", Problem::OutOfRange)));
    }
    let (email, phone) = match i.lead.as_deref() {
        Some(l) => lead_routes(view, l)?,
        None => (None, None),
    };
    if email.is_none() && phone.is_none() {
        return Ok(Err(Rejection::invalid(k, "lead", Problem::Required)));
    }
    let notice = |sms| Notice {
        subscriber_id: crate::ids::SubscriberId::default(),
        about: About::Reminder { id: id.clone(), due },
        sms,
    };
    let mut first = None;
    if let Some(address) = email {
        let channel = Channel::Email { to: vec![address], attach: Vec::new() };
        first = first.or(queue(view, env, notice(false), channel, ch)?);
    }
    if let Some(phone) = phone {
        first = first.or(queue(view, env, notice(true), Channel::Sms { to: vec![phone] }, ch)?);
    }
    Ok(match first {
        Some(job) => applied(Kind::Dispatch, &job, 1),
        None => Err(Rejection::AlreadyExists { kind: Kind::Dispatch, id: id.to_string() }),
    })
}
