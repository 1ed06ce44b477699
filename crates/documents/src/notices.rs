//! The words of status notices (`domain::subscribers`): an incident update or maintenance
//! change to a subscriber, in the subscriber's language, with the link to the status page and
//! the one-click unsubscribe link; and the reminder to an incident's lead that the promised
//! update is late. Made when the leader sends them, from the state as it is then.

use domain::dispatch::DispatchJob;
use domain::status::{Incident, Maintenance, Update};
use domain::subscribers::{About, Notice, Subscriber};
use domain::{StateView, StateViewExt, SystemId};
use serde_json::{Value, json};
use std::fmt::Write as _;

use crate::dispatch::Letter;
use crate::i18n::Lang;

/// The address of a subscriber's unsubscribe link on the node at `base`.
pub fn unsubscribe_url(base: &str, s: &Subscriber) -> String {
    format!("{}/status/unsubscribe/{}/{}", base.trim_end_matches('/'), s.id, s.token)
}

fn systems_text(view: &dyn StateView, ids: &[SystemId]) -> String {
    ids.iter()
        .map(|id| match view.system(id).ok().flatten() {
            Some(s) if !s.site.is_empty() => format!("{} ({})", s.name, s.site),
            Some(s) => s.name,
            None => id.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// An incident's title, marked when it belongs to an exercise.
fn title(lang: Lang, i: &Incident) -> String {
    crate::exercises::marked(lang, i.exercise.as_ref(), &i.title)
}

fn err(e: domain::StateError) -> String {
    e.to_string()
}

/// Who a notice goes to (none for a reminder to an incident's lead) and in which language.
fn reader(view: &dyn StateView, n: &Notice) -> Result<(Option<Subscriber>, Lang), String> {
    let subscriber = if n.subscriber_id.is_empty() {
        None
    } else {
        Some(view.subscriber(&n.subscriber_id).map_err(err)?.ok_or("the subscriber has unsubscribed")?)
    };
    let lang = subscriber.as_ref().and_then(|s| Lang::parse(&s.lang)).unwrap_or(Lang::Sv);
    Ok((subscriber, lang))
}

/// Subject and text of a notice e-mail; sent from the node at `base`.
pub fn letter(view: &dyn StateView, n: &Notice, base: &str) -> Result<Letter, String> {
    let base = base.trim_end_matches('/');
    let (subscriber, lang) = reader(view, n)?;
    let prefix = lang.t("notice.prefix");
    let (subject, mut text) = match &n.about {
        About::Incident { id, update } => {
            let i = view.incident(id).map_err(err)?.ok_or_else(|| format!("incident {id} is gone"))?;
            incident_text(view, lang, &i, *update, prefix)
        }
        About::Maintenance { id, update } => {
            let m = view.maintenance(id).map_err(err)?.ok_or_else(|| format!("maintenance {id} is gone"))?;
            maintenance_text(view, lang, &m, *update, prefix)
        }
        About::Reminder { id, due } => {
            let i = view.incident(id).map_err(err)?.ok_or_else(|| format!("incident {id} is gone"))?;
            let subject = format!("[{prefix}] {}: {}", lang.t("notice.late_subject"), title(lang, &i));
            let mut text = lang.tf("notice.late_text", &[("title", &title(lang, &i)), ("due", &lang.datetime(*due))]);
            let _ = write!(text, "\n\n{}: {base}/status/manage", lang.t("notice.post_here"));
            (subject, text)
        }
        About::Page { id, step } => return crate::paging::letter(view, id, *step, base),
        About::ReportDue { unit_id, due } => return Ok(crate::reports::reminder_letter(view, unit_id, *due, base)),
    };
    let _ = write!(text, "\n\n{}: {base}/status", lang.t("notice.status_page"));
    let unsubscribe = subscriber.as_ref().map(|s| unsubscribe_url(base, s));
    if let (Some(s), Some(url)) = (&subscriber, &unsubscribe) {
        let _ = write!(
            text,
            "\n\n{}\n{}: {url}",
            lang.tf("notice.why", &[("name", &s.name)]),
            lang.t("notice.unsubscribe")
        );
    }
    Ok(Letter { subject, text, unsubscribe })
}

/// A notice as a text message: the headline and the update's words, cut to `max_segments`
/// so that the status page's address and the unsubscribe link always fit.
pub fn sms_text(view: &dyn StateView, n: &Notice, base: &str, max_segments: usize) -> Result<String, String> {
    let base = base.trim_end_matches('/');
    let (subscriber, lang) = reader(view, n)?;
    let prefix = lang.t("notice.prefix");
    let head = match &n.about {
        About::Incident { id, update } => {
            let i = view.incident(id).map_err(err)?.ok_or_else(|| format!("incident {id} is gone"))?;
            let stage = nth(&i.updates, *update).map_or(i.stage.as_str(), |u| u.stage.as_str()).to_owned();
            let body = nth(&i.updates, *update).map_or("", |u| u.body.as_str());
            let due = i.next_update_due.filter(|_| i.is_open() && *update == i.updates.len());
            incident_sms_head(lang, &title(lang, &i), &stage, body, due)
        }
        About::Maintenance { id, update } => {
            let m = view.maintenance(id).map_err(err)?.ok_or_else(|| format!("maintenance {id} is gone"))?;
            let phase = lang.t(&format!("board.phase_{}", m.phase.as_str()));
            let when = match stage_text(lang, &m, *update) {
                Some(stage) => stage,
                None => format!("{}–{}", lang.datetime(m.starts_at), lang.datetime(m.ends_at)),
            };
            let mut t = format!("[{prefix}] {}: {} – {phase}, {when}", lang.t("board.maintenance_one"), m.title);
            if let Some(u) = nth(&m.updates, *update).filter(|u| !u.body.is_empty()) {
                let _ = write!(t, ": {}", u.body.split_whitespace().collect::<Vec<_>>().join(" "));
            }
            t
        }
        About::Reminder { id, due } => {
            let i = view.incident(id).map_err(err)?.ok_or_else(|| format!("incident {id} is gone"))?;
            format!("[{prefix}] {}: {} ({})", lang.t("notice.late_subject"), title(lang, &i), lang.datetime(*due))
        }
        About::Page { id, step } => return crate::paging::sms_text(view, id, *step, base, max_segments),
        About::ReportDue { unit_id, due } => {
            return Ok(crate::reports::reminder_sms(view, unit_id, *due, base, max_segments));
        }
    };
    let mut tail = format!(" {base}/status");
    if let Some(s) = &subscriber {
        let _ = write!(tail, " {}: {}", lang.t("notice.unsubscribe"), unsubscribe_url(base, s));
    }
    let head = domain::sms::plain_punctuation(&head);
    Ok(domain::sms::truncate_before(&head, &tail, max_segments))
}

/// The first part of an incident update's text message (the links follow it).
fn incident_sms_head(lang: Lang, title: &str, stage: &str, body: &str, due: Option<time::OffsetDateTime>) -> String {
    let prefix = lang.t("notice.prefix");
    let mut t = format!("[{prefix}] {title} – {}", lang.t(&format!("board.stage_{stage}")));
    if !body.trim().is_empty() {
        let _ = write!(t, ": {}", body.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    if let Some(due) = due {
        let _ = write!(t, " {}: {}", lang.t("board.next_update"), lang.datetime(due));
    }
    t
}

/// What a phone subscriber would get for an incident update not yet posted (the preview on
/// the update form): the text as it would go out, with the status page's address and an
/// unsubscribe link of the usual length in place of the subscriber's own.
pub fn incident_sms_preview(
    lang: Lang,
    incident: &Incident,
    stage: &str,
    body: &str,
    due: Option<time::OffsetDateTime>,
    base: &str,
    max_segments: usize,
) -> String {
    let base = base.trim_end_matches('/');
    let head = domain::sms::plain_punctuation(&incident_sms_head(lang, &title(lang, incident), stage, body, due));
    let link = format!("{base}/status/unsubscribe/{}/{}", "s".repeat(12), "x".repeat(64));
    let tail = format!(" {base}/status {}: {link}", lang.t("notice.unsubscribe"));
    domain::sms::truncate_before(&head, &tail, max_segments)
}

/// The prepared messages offered on the incident update form, by key: each a text in the
/// page's language with `{system}`, `{next}` and `{link}` filled in, and the stage it sets.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("investigating", "investigating"),
    ("cause", "identified"),
    ("workaround", "identified"),
    ("delay", "identified"),
    ("slow", "monitoring"),
    ("monitoring", "monitoring"),
    ("rollback", "monitoring"),
    ("resolved", "resolved"),
    ("press", "investigating"),
];

/// Prepared message `key` for `incident` in `lang`: (stage, text). `None` for an unknown key.
pub fn template(
    view: &dyn StateView,
    lang: Lang,
    key: &str,
    incident: &Incident,
    next: Option<time::OffsetDateTime>,
    base: &str,
) -> Option<(&'static str, String)> {
    let (_, stage) = TEMPLATES.iter().find(|(k, _)| *k == key)?;
    let systems = incident
        .systems
        .iter()
        .map(|id| view.system(id).ok().flatten().map_or_else(|| id.to_string(), |s| s.name))
        .collect::<Vec<_>>()
        .join(", ");
    let next = next.map_or_else(|| "–".to_owned(), |t| lang.datetime(t));
    let link = format!("{}/status", base.trim_end_matches('/'));
    let text = lang.tf(&format!("template.{key}"), &[("system", &systems), ("next", &next), ("link", &link)]);
    Some((stage, text))
}

/// "del k av n: <stage>" when update `n` of a maintenance started stage k (the plan's stage
/// texts, as communicators announce each step).
fn stage_text(lang: Lang, m: &Maintenance, n: usize) -> Option<String> {
    let k: usize = nth(&m.updates, n)?.stage.parse().ok()?;
    let name = m.stages.get(k.checked_sub(1)?)?;
    Some(lang.tf("board.stage_of", &[("k", &k.to_string()), ("n", &m.stages.len().to_string()), ("name", name)]))
}

fn nth(updates: &[Update], n: usize) -> Option<&Update> {
    n.checked_sub(1).and_then(|i| updates.get(i))
}

fn incident_text(view: &dyn StateView, lang: Lang, i: &Incident, n: usize, prefix: &str) -> (String, String) {
    let stage = nth(&i.updates, n).map_or(i.stage.as_str(), |u| u.stage.as_str()).to_owned();
    let stage = lang.t(&format!("board.stage_{stage}"));
    let subject = format!("[{prefix}] {} – {stage}", title(lang, i));
    let mut text = format!(
        "{}\n{stage} · {}\n{}: {}",
        title(lang, i),
        lang.t(&format!("board.impact_{}", i.impact.as_str())),
        lang.t("board.affected"),
        systems_text(view, &i.systems)
    );
    if let Some(u) = nth(&i.updates, n) {
        let _ = write!(text, "\n\n{} – {}\n{}", lang.datetime(u.at), stage, u.body);
    }
    // Said only while this is the newest update: a late resend must not promise an old time.
    if let Some(due) = i.next_update_due.filter(|_| i.is_open() && n == i.updates.len()) {
        let _ = write!(text, "\n\n{}: {}", lang.t("board.next_update"), lang.datetime(due));
    }
    (subject, text)
}

fn maintenance_text(view: &dyn StateView, lang: Lang, m: &Maintenance, n: usize, prefix: &str) -> (String, String) {
    let phase = lang.t(&format!("board.phase_{}", m.phase.as_str()));
    let subject = format!("[{prefix}] {}: {} – {phase}", lang.t("board.maintenance_one"), m.title);
    let mut text = format!(
        "{}\n{phase}: {} – {}\n{}: {}",
        m.title,
        lang.datetime(m.starts_at),
        lang.datetime(m.ends_at),
        lang.t("board.affected"),
        systems_text(view, &m.systems)
    );
    if let Some(stage) = stage_text(lang, m, n) {
        let _ = write!(text, "\n\n{stage}");
    }
    if let Some(u) = nth(&m.updates, n).filter(|u| !u.body.is_empty()) {
        let _ = write!(text, "\n\n{}\n{}", lang.datetime(u.at), u.body);
    }
    (subject, text)
}

/// A notice as a webhook's JSON body: what it is about, the record as it is now, the update.
pub fn json(view: &dyn StateView, job: &DispatchJob, n: &Notice) -> Result<Value, String> {
    let (record, update) = match &n.about {
        About::Incident { id, update } => {
            let i = view.incident(id).map_err(err)?;
            let u = i.as_ref().and_then(|i| nth(&i.updates, *update).cloned());
            (serde_json::to_value(i).unwrap_or_default(), serde_json::to_value(u).unwrap_or_default())
        }
        About::Reminder { id, .. } => {
            (serde_json::to_value(view.incident(id).map_err(err)?).unwrap_or_default(), Value::Null)
        }
        About::Maintenance { id, update } => {
            let m = view.maintenance(id).map_err(err)?;
            let u = m.as_ref().and_then(|m| nth(&m.updates, *update).cloned());
            (serde_json::to_value(m).unwrap_or_default(), serde_json::to_value(u).unwrap_or_default())
        }
        About::Page { id, .. } => {
            let p = view.page(id).map_err(err)?.map(|p| p.redacted());
            (serde_json::to_value(p).unwrap_or_default(), Value::Null)
        }
        About::ReportDue { unit_id, .. } => {
            let last = domain::reports::latest(view, unit_id, None).map_err(err)?;
            (serde_json::to_value(last).unwrap_or_default(), Value::Null)
        }
    };
    Ok(json!({
        "job_id": job.id,
        "message_id": job.message_id(),
        "about": n.about,
        "record": record,
        "update": update,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use domain::{Command, CommandId, Envelope, MemState, Verdict};
    use time::macros::datetime;

    const AT: time::OffsetDateTime = datetime!(2026-12-06 09:00 UTC);

    fn run(s: &mut MemState, n: u64, cmd: Command) {
        let env = Envelope { id: CommandId::new(format!("c{n}")), at: AT, origin: 1, actor: None, cmd };
        let (v, ch) = domain::apply(s, &env, n).unwrap();
        assert!(!matches!(v, Verdict::Rejected { .. }), "{v:?}");
        s.write(ch);
    }

    #[test]
    fn a_maintenance_stage_text_says_which_part_of_how_many_and_fits_the_cap() {
        let mut s = MemState::default();
        run(
            &mut s,
            1,
            Command::PutSystem {
                expected_version: None,
                fields: domain::command::SystemFields {
                    id: SystemId::new("erp"),
                    name: "Affärssystemet".into(),
                    site: "Östra".into(),
                    description: None,
                    state: domain::status::SystemState::Operational,
                },
            },
        );
        run(
            &mut s,
            2,
            Command::ScheduleMaintenance(domain::command::MaintenanceFields {
                id: "m1".into(),
                title: "Uppgradering av affärssystemet".into(),
                systems: vec![SystemId::new("erp")],
                starts_at: AT + time::Duration::hours(1),
                ends_at: AT + time::Duration::hours(4),
                stages: ["Beställningar stängs", "Databasen uppgraderas", "Kontroll och öppning"]
                    .map(String::from)
                    .to_vec(),
                note: String::new(),
                stage_starts: Vec::new(),
            }),
        );
        for n in 3..5 {
            let cmd = Command::AdvanceMaintenance {
                maintenance_id: "m1".into(),
                expected_version: n - 2,
                note: "Enligt plan – inga avvikelser.".into(),
            };
            run(&mut s, n, cmd);
        }
        let notice = Notice {
            subscriber_id: Default::default(),
            about: About::Maintenance { id: "m1".into(), update: 3 },
            sms: true,
        };
        let text = sms_text(&s, &notice, "https://beredd.example", 2).unwrap();
        assert!(text.contains("del 2 av 3: Databasen uppgraderas"), "{text}");
        assert!(text.contains("Enligt plan - inga avvikelser."), "typographic dash made plain: {text}");
        assert!(text.ends_with(" https://beredd.example/status"), "{text}");
        let fit = domain::sms::fit(&text);
        assert_eq!(fit.coding, domain::sms::Coding::Gsm7, "{text}");
        assert!(fit.segments <= 2, "{text}");
        let short = sms_text(&s, &notice, "https://beredd.example", 1).unwrap();
        assert!(
            short.ends_with("... https://beredd.example/status") && domain::sms::fit(&short).segments == 1,
            "{short}"
        );
        let letter = letter(&s, &notice, "https://beredd.example").unwrap();
        assert!(letter.text.contains("del 2 av 3: Databasen uppgraderas"), "{}", letter.text);
    }

    #[test]
    fn an_exercise_incident_is_marked_in_every_e_mail_and_text_about_it() {
        let mut s = MemState::default();
        let plan = domain::exercises::ExerciseFields {
            id: "x1".into(),
            name: "Stabsövning".into(),
            starts_at: AT - time::Duration::hours(1),
            ends_at: AT + time::Duration::hours(3),
        };
        run(&mut s, 1, Command::PutExercise { expected_version: None, fields: plan });
        let incident = |id: &str, exercise: Option<&str>| {
            Command::OpenIncident(domain::command::IncidentFields {
                id: id.into(),
                title: "Strömavbrott i hus 4".into(),
                impact: domain::status::Impact::Major,
                systems: Vec::new(),
                body: "Reservkraften har startat.".into(),
                stage: domain::status::IncidentStage::Investigating,
                lead: None,
                next_update_due: Some(AT + time::Duration::hours(1)),
                exercise: exercise.map(Into::into),
            })
        };
        run(&mut s, 2, incident("drill", Some("x1")));
        run(&mut s, 3, incident("real", None));
        let notice = |id: &str, sms: bool| Notice {
            subscriber_id: Default::default(),
            about: About::Incident { id: id.into(), update: 1 },
            sms,
        };
        let base = "https://beredd.example";
        let l = letter(&s, &notice("drill", false), base).unwrap();
        assert!(l.subject.contains("ÖVNING: Strömavbrott i hus 4"), "{}", l.subject);
        assert!(l.text.starts_with("ÖVNING: Strömavbrott i hus 4"), "{}", l.text);
        let t = sms_text(&s, &notice("drill", true), base, 1).unwrap();
        assert!(t.contains("ÖVNING: Strömavbrott"), "{t}");
        assert_eq!(domain::sms::fit(&t).coding, domain::sms::Coding::Gsm7, "{t}");
        let reminder = Notice {
            subscriber_id: Default::default(),
            about: About::Reminder { id: "drill".into(), due: AT },
            sms: false,
        };
        assert!(letter(&s, &reminder, base).unwrap().subject.contains("ÖVNING: "));
        // The real incident's words say nothing of an exercise.
        let real = letter(&s, &notice("real", false), base).unwrap();
        assert!(!real.subject.contains("ÖVNING") && !real.text.contains("ÖVNING"), "{}", real.text);
        assert!(!sms_text(&s, &notice("real", true), base, 1).unwrap().contains("ÖVNING"));
    }
}
