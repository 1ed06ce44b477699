//! Merging another cluster's reference data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::testing::*;

fn everything(state: &MemState) -> crate::merge::Incoming {
    let mut inc = crate::merge::Incoming::default();
    for t in [Table::Unit, Table::Supplier, Table::Article, Table::Contact, Table::Rota, Table::Card] {
        for r in state.scan(t, None, 10_000).unwrap() {
            inc.add(r);
        }
    }
    inc
}

#[test]
fn a_merge_adds_what_is_missing_then_finds_nothing_new_and_then_only_the_change() {
    use crate::merge::{Change, plan};
    let mut source = Db::default();
    let all = crate::demo_data::demo_commands().into_iter().chain(crate::demo_data::demo_status());
    for (_, cmd) in all.chain(crate::demo_data::demo_contacts()).chain(crate::demo_data::demo_cards()) {
        source.cmd(cmd);
    }
    let rota = crate::command::RotaFields {
        id: crate::RotaId::new("jour"),
        name: "Inköp jour".into(),
        function_id: None,
        shifts: vec![],
        overrides: vec![],
        page_wait_seconds: None,
        page_on_critical: false,
    };
    source.ok(Command::PutRota { expected_version: None, fields: rota });
    let incoming = everything(&source.state);
    let n = (incoming.cards.len(), incoming.rotas.len(), incoming.articles.len(), incoming.contacts.len());
    assert!(n.0 > 0 && n.1 > 0 && n.2 > 0 && n.3 > 0, "{n:?}");

    // The target has no status board: card links to systems are left out, and said so.
    let mut target = Db::default();
    let p = plan(&target.state, &incoming).unwrap();
    assert_eq!((p.count(Change::Added), p.count(Change::Changed)), (incoming.len(), 0));
    assert!(p.lines.iter().any(|l| l.kind == "card" && l.note.contains("systems not here")), "{:?}", p.lines);
    target.ok(Command::Import { rows: p.rows });

    let again = plan(&target.state, &incoming).unwrap();
    assert_eq!(again.count(Change::Unchanged), incoming.len(), "{:?}", again.lines);
    assert!(again.rows.is_empty());

    let mut changed = incoming.clone();
    let s = changed.suppliers.last_mut().unwrap();
    s.name = format!("{} (nytt namn)", s.name);
    let id = s.id.clone();
    let p = plan(&target.state, &changed).unwrap();
    assert_eq!(p.count(Change::Changed), 1);
    target.ok(Command::Import { rows: p.rows });
    assert!(target.state.supplier(&id).unwrap().unwrap().name.ends_with("(nytt namn)"));
}
