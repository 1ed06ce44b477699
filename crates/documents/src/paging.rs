//! The words of a page to an on-call rota (`domain::paging`): the text message or e-mail of
//! each step, in the page's language, with the one-time acknowledgement link. Made when the
//! leader sends it, from the page as it is then.

use crate::dispatch::Letter;
use crate::i18n::Lang;
use domain::paging::Page;
use domain::{StateView, StateViewExt};
use std::fmt::Write as _;

/// Every page, the latest first.
pub fn all(view: &dyn StateView) -> Result<Vec<Page>, domain::StateError> {
    let mut out: Vec<Page> = crate::read_model::scan_all(view, domain::Table::Page)?
        .into_iter()
        .filter_map(|r| match r {
            domain::Record::Page(p) => Some(p),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// The acknowledgement link of step `step` on the node at `base` (short: it goes in a text).
pub fn ack_url(base: &str, page: &Page, step: usize) -> String {
    format!("{}/p/{}/{step}/{}", base.trim_end_matches('/'), page.id, page.token)
}

/// The page's timeline address on the node at `base`.
pub fn page_url(base: &str, page: &Page) -> String {
    format!("{}/pages/{}", base.trim_end_matches('/'), page.id)
}

fn load(view: &dyn StateView, id: &domain::PageId) -> Result<(Page, Lang), String> {
    let page = view.page(id).map_err(|e| e.to_string())?.ok_or_else(|| format!("page {id} is gone"))?;
    let lang = Lang::parse(&page.lang).unwrap_or(Lang::Sv);
    Ok((page, lang))
}

/// Who raised the page, by name when the account is known.
pub fn raiser(view: &dyn StateView, page: &Page) -> String {
    match &page.raised_by {
        Some(id) => view.user(domain::UserId::new(id.as_str())).ok().flatten().map_or_else(|| id.clone(), |u| u.name),
        None => "beredd".into(),
    }
}

/// "[Larm] Inköp jour: …" and, after the first step, whose silence brought it here.
fn head(view: &dyn StateView, lang: Lang, page: &Page, step: usize) -> String {
    let message = crate::exercises::marked(lang, page.exercise.as_ref(), &page.message);
    let mut t = format!("[{}] {}: {message}", lang.t("page.prefix"), page.rota_name);
    let _ = write!(t, " ({})", lang.tf("page.raised_by", &[("name", &raiser(view, page))]));
    if let Some(before) = step.checked_sub(1).and_then(|k| page.chain.get(k)) {
        let _ = write!(t, " {}", lang.tf("page.escalated", &[("name", &before.name)]));
    }
    t
}

/// Step `step` of a page as a text message, cut to `max_segments` before the reply hint and
/// the link, which always fit.
pub fn sms_text(
    view: &dyn StateView,
    id: &domain::PageId,
    step: usize,
    base: &str,
    max_segments: usize,
) -> Result<String, String> {
    let (page, lang) = load(view, id)?;
    let head = domain::sms::plain_punctuation(&head(view, lang, &page, step));
    let tail = format!(" {} {}", lang.t("page.reply_ok"), ack_url(base, &page, step));
    Ok(domain::sms::truncate_before(&head, &tail, max_segments))
}

/// Step `step` of a page as an e-mail.
pub fn letter(view: &dyn StateView, id: &domain::PageId, step: usize, base: &str) -> Result<Letter, String> {
    let (page, lang) = load(view, id)?;
    let message = crate::exercises::marked(lang, page.exercise.as_ref(), &page.message);
    let subject = format!("[{}] {}: {message}", lang.t("page.prefix"), page.rota_name);
    let mut text = head(view, lang, &page, step);
    let _ = write!(text, "\n\n{}:\n{}", lang.t("page.ack_by_link"), ack_url(base, &page, step));
    let _ = write!(text, "\n\n{}: {}", lang.t("page.timeline"), page_url(base, &page));
    Ok(Letter { subject, text, unsubscribe: None })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use domain::command::{ContactFields, RotaFields};
    use domain::contacts::{ContactKind, Route, RouteKind, Shift};
    use domain::paging::PageFields;
    use domain::{Command, CommandId, Envelope, MemState, Verdict};
    use time::macros::datetime;

    const AT: time::OffsetDateTime = datetime!(2026-12-06 21:00 UTC);

    fn run(s: &mut MemState, n: u64, at: time::OffsetDateTime, cmd: Command) {
        let env = Envelope { id: CommandId::new(format!("c{n}")), at, origin: 1, actor: None, cmd };
        let (v, ch) = domain::apply(s, &env, n).unwrap();
        assert!(!matches!(v, Verdict::Rejected { .. }), "{v:?}");
        s.write(ch);
    }

    fn person(id: &str, name: &str, mobile: &str) -> Command {
        let route = Route {
            kind: RouteKind::Mobile,
            value: mobile.into(),
            hours: String::new(),
            last_tested: None,
            note: String::new(),
        };
        Command::PutContact {
            expected_version: None,
            fields: ContactFields {
                id: id.into(),
                kind: ContactKind::Person,
                name: name.into(),
                title: String::new(),
                organisation: String::new(),
                unit_id: None,
                site: String::new(),
                supplier_id: None,
                routes: vec![route],
                note: String::new(),
                withdrawn: false,
            },
        }
    }

    #[test]
    fn each_step_says_what_happened_and_how_to_answer_and_the_link_always_fits() {
        let mut s = MemState::default();
        run(&mut s, 1, AT, person("anna", "Anna Andersson", "+46701111111"));
        run(&mut s, 2, AT, person("bjorn", "Björn Berg", "+46702222222"));
        let shift = |who: &str, h: i64| Shift {
            contact_id: who.into(),
            from: AT + time::Duration::hours(h),
            to: AT + time::Duration::hours(h + 8),
            note: String::new(),
        };
        let rota = RotaFields {
            id: "jour".into(),
            name: "Inköp jour".into(),
            function_id: None,
            shifts: vec![shift("anna", -1), shift("bjorn", 7)],
            overrides: Vec::new(),
            page_wait_seconds: Some(60),
            page_on_critical: false,
        };
        run(&mut s, 3, AT, Command::PutRota { expected_version: None, fields: rota });
        let fields = PageFields {
            id: "pg-1".into(),
            rota_id: "jour".into(),
            message: "Slut på CVK-set på IVA – ring 010-100 20 00 ".repeat(6).trim().chars().take(290).collect(),
            incident_id: None,
            lang: "sv".into(),
            exercise: None,
        };
        run(&mut s, 4, AT, Command::PageOnCall { fields, token: "tttttttttttttttttttttt".into() });
        run(&mut s, 5, AT + time::Duration::minutes(1), Command::EscalatePage { page_id: "pg-1".into(), step: 0 });
        let id = domain::PageId::new("pg-1");
        let first = sms_text(&s, &id, 0, "https://beredd.example/", 2).unwrap();
        assert!(first.starts_with("[Larm] Inköp jour: Slut på CVK-set på IVA - ring"), "{first}");
        assert!(
            first.ends_with(
                "... Svara OK för att kvittera, eller öppna https://beredd.example/p/pg-1/0/tttttttttttttttttttttt"
            ),
            "cut before the link: {first}"
        );
        assert!(domain::sms::fit(&first).segments <= 2, "{first}");
        let second = sms_text(&s, &id, 1, "https://beredd.example", 3).unwrap();
        assert!(second.contains("(larmat av beredd) vidare: Anna Andersson har inte svarat"), "{second}");
        let mail = letter(&s, &id, 1, "https://beredd.example").unwrap();
        assert!(mail.text.contains("https://beredd.example/p/pg-1/1/tttttttttttttttttttttt"), "{}", mail.text);
        assert!(mail.text.contains("https://beredd.example/pages/pg-1"), "{}", mail.text);
    }
}
