//! Table-driven tests of the action-card rules: required sections, known systems, versions and
//! the history they leave.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::*;
use crate::command::{CardFields, Command, Envelope, SystemFields, Verdict};
use crate::ids::{CardId, CommandId, SystemId};
use crate::state::{MemState, StateViewExt};

const AT: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);

fn run(s: &mut MemState, i: u64, cmd: Command) -> String {
    let env = Envelope { id: CommandId::new(format!("c{i}")), at: AT, origin: 1, actor: None, cmd };
    let (v, ch) = crate::apply(s, &env, i).unwrap();
    s.write(ch);
    match v {
        Verdict::Applied { .. } => "applied".into(),
        Verdict::Rejected { rejection } => {
            format!("{} {}", rejection.code(), rejection.field().unwrap_or_default())
        }
        Verdict::Nothing => "nothing".into(),
    }
}

fn card(version: Option<u64>, f: impl FnOnce(&mut CardFields)) -> Command {
    let mut fields = CardFields {
        id: CardId::new("strom"),
        category: Category::PowerLoss,
        title: "Strömavbrott på avdelningen".into(),
        task: "Säkra patienter och utrustning utan el.".into(),
        who: "Ansvarig sjuksköterska".into(),
        trigger: "När belysning och uttag slocknar och reservkraft inte startar inom 15 s.".into(),
        actions: "1. Kontrollera patienter med el-beroende utrustning.\n2. Ring driftcentralen.".into(),
        documentation: "Anteckna tider och åtgärder på papper; för in i journalen efteråt.".into(),
        owner: "Verksamhetschef".into(),
        approver: "Beredskapssamordnare".into(),
        approved_on: Some(date!(2026 - 10 - 01)),
        review_by: date!(2027 - 10 - 01),
        systems: vec![SystemId::new("el")],
        withdrawn: false,
    };
    f(&mut fields);
    Command::PutCard { expected_version: version, fields }
}

#[test]
fn cards_need_their_sections_and_known_systems_and_keep_every_version() {
    let mut s = MemState::default();
    let cases: Vec<(Command, &str)> = vec![
        (card(None, |_| {}), "system.unknown systems[0]"),
        (
            Command::PutSystem {
                expected_version: None,
                fields: SystemFields {
                    id: SystemId::new("el"),
                    name: "Elförsörjning".into(),
                    site: String::new(),
                    description: None,
                    state: crate::status::SystemState::Operational,
                },
            },
            "applied",
        ),
        (card(None, |f| f.actions = " ".into()), "card.invalid actions"),
        (card(None, |f| f.who = String::new()), "card.invalid who"),
        (card(None, |f| f.task = "x".repeat(MAX_MARKDOWN + 1)), "card.invalid task"),
        (card(None, |_| {}), "applied"),
        (card(None, |_| {}), "card.already_exists "),
        (card(Some(1), |f| f.actions.push_str("\n3. Hämta ficklampor.")), "applied"),
        // Only the review date changes: no new entry in the history.
        (
            card(Some(2), |f| {
                f.actions.push_str("\n3. Hämta ficklampor.");
                f.review_by = date!(2027 - 12 - 01);
            }),
            "applied",
        ),
        (card(Some(2), |_| {}), "card.version_conflict "),
    ];
    for (i, (cmd, want)) in cases.into_iter().enumerate() {
        assert_eq!(run(&mut s, i as u64 + 1, cmd.clone()).trim_end(), want.trim_end(), "{cmd:?}");
    }
    let c = s.card(CardId::new("strom")).unwrap().unwrap();
    assert_eq!(c.version, 3);
    assert_eq!(c.history.len(), 1);
    assert_eq!(c.history[0].version, 1);
    assert!(!c.history[0].text.actions.contains("ficklampor"));
    assert!(c.text.actions.contains("ficklampor"));
    assert!(!c.review_overdue(date!(2027 - 12 - 01)) && c.review_overdue(date!(2027 - 12 - 02)));
}

#[test]
fn the_demo_cards_apply_after_the_demo_board() {
    let mut s = MemState::default();
    let all = crate::demo_data::demo_status().into_iter().chain(crate::demo_data::demo_cards());
    for (i, (_, cmd)) in all.enumerate() {
        assert_eq!(run(&mut s, i as u64 + 1, cmd), "applied");
    }
}
