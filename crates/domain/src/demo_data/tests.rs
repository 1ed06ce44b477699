//! The demo data: deterministic, valid, and every order applies.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::testing::*;

fn seed(db: &mut Db) -> Vec<(String, Verdict, usize)> {
    demo_data::demo_commands()
        .into_iter()
        .map(|(id, cmd)| {
            let e = Envelope { id: id.clone(), ..env("", cmd) };
            let (v, ch) = db.run_changes(&e);
            (id.0, v, ch.0.len())
        })
        .collect()
}

#[test]
fn demo_commands_apply_cleanly_and_twice_changes_nothing() {
    let mut db = Db::default();
    let first = seed(&mut db);
    for (id, v, _) in &first {
        assert!(matches!(v, Verdict::Applied { .. }), "{id}: {v:?}");
    }
    let snapshot = db.state.map.clone();
    let second = seed(&mut db);
    assert_eq!(first.len(), second.len());
    for ((id, v1, _), (_, v2, changes)) in first.iter().zip(&second) {
        assert_eq!(v1, v2, "{id}");
        assert_eq!(*changes, 0, "{id}");
    }
    assert!(db.state.map == snapshot, "seeding twice changed the state");
}

#[test]
fn demo_commands_are_stable_and_well_formed() {
    let cmds = demo_data::demo_commands();
    assert_eq!(cmds, demo_data::demo_commands(), "deterministic");
    let mut seen = HashSet::new();
    for (id, cmd) in &cmds {
        assert!(crate::ids::is_valid_id(id.as_str()), "{id}");
        assert!(id.as_str().starts_with("demo:"), "{id}");
        assert!(seen.insert(id.clone()), "duplicate command id {id}");
        assert_eq!(validate(cmd), Ok(()), "{id}");
    }
    let ids: Vec<&str> = cmds.iter().map(|(id, _)| id.as_str()).collect();
    assert!(ids.contains(&"demo:sup:medilux"));
    assert!(ids.contains(&"demo:ord:0007"));
    assert!(ids.contains(&"demo:ord:0007:2"));
    // Creates come first by kind: suppliers, units, articles, then orders and their steps.
    let rank = |c: &Command| match c {
        Command::SetOrganisation { .. } => 0,
        Command::CreateSupplier(_) => 1,
        Command::CreateUnit(_) => 2,
        Command::CreateArticle(_) => 3,
        _ => 4,
    };
    assert!(cmds.windows(2).all(|w| rank(&w[0].1) <= rank(&w[1].1)));
}

#[test]
fn demo_data_is_rich_and_valid() {
    let d = demo_data::demo();
    assert!(d.suppliers.len() >= 5, "{} suppliers", d.suppliers.len());
    assert!(d.units.len() >= 12, "{} units", d.units.len());
    assert!(d.articles.len() >= 250, "{} articles", d.articles.len());
    assert!(d.orders.len() >= 30, "{} orders", d.orders.len());

    for s in &d.suppliers {
        let org = s.org_number.as_deref().unwrap();
        assert!(org.len() == 11 && org.as_bytes()[6] == b'-', "{org}");
        let digits: String = org.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(demo_data::luhn_check_digit(&digits[..9]), digits[9..].parse::<u32>().unwrap(), "{org}");
        let gln = s.gln.as_deref().unwrap();
        assert!(gln.len() == 13 && gln.starts_with("735") && gtin::is_valid(gln), "{gln}");
        assert!(s.name.ends_with(" AB"), "{}", s.name);
    }
    let sites: BTreeSet<&str> = d.units.iter().map(|u| u.site.as_str()).collect();
    assert_eq!(sites.len(), 3);
    for u in &d.units {
        assert!(u.id.as_str().is_ascii(), "{}", u.id);
        assert!(u.delivery_address.len() >= 3, "{}", u.id);
        assert!(u.cost_centre.is_some());
    }

    let mut gtins = HashSet::new();
    let mut numbers = HashSet::new();
    for a in &d.articles {
        let g = a.gtin.as_deref().unwrap();
        assert!(g.len() == 13 && g.starts_with("735") && gtin::is_valid(g), "{}: {g}", a.id);
        assert!(gtins.insert(g), "duplicate GTIN {g}");
        assert!(numbers.insert((&a.supplier_id, &a.article_number)), "duplicate {}", a.article_number);
        assert!(units::is_known(&a.unit), "{}: {}", a.id, a.unit);
        assert!(a.pack_size > 0 && a.price_cents.is_some_and(|p| p > 0), "{}", a.id);
        assert!(d.suppliers.iter().any(|s| s.id == a.supplier_id), "{}", a.id);
    }
    assert!(d.articles.iter().any(|a| a.name.contains(['å', 'ä', 'ö'])));
    let withdrawn: HashSet<&ArticleId> = d.articles.iter().filter(|a| a.withdrawn).map(|a| &a.id).collect();
    assert!((2..=3).contains(&withdrawn.len()), "{} withdrawn", withdrawn.len());

    let mut lines = 0;
    for o in &d.orders {
        assert!((1..=8).contains(&o.fields.lines.len()), "{}", o.fields.id);
        for l in &o.fields.lines {
            assert!(!withdrawn.contains(&l.article_id), "{} orders withdrawn {}", o.fields.id, l.article_id);
            assert!(l.quantity > 0 && l.quantity <= 100);
        }
        lines += o.fields.lines.len();
    }
    assert!(lines >= 100, "{lines} order lines");
    assert!(d.orders.iter().any(|o| o.fields.urgent));
    assert!(d.orders.iter().any(|o| o.fields.needed_by.is_some()));
    assert!(d.orders.iter().any(|o| o.fields.note.is_some()));
    // Every unit orders something.
    let ordering: HashSet<&UnitId> = d.orders.iter().map(|o| &o.fields.unit_id).collect();
    assert_eq!(ordering.len(), d.units.len());
}

#[test]
fn demo_orders_reach_many_statuses() {
    let mut db = Db::default();
    seed(&mut db);
    let all = statuses(&db);
    assert_eq!(all.len(), demo_data::demo().orders.len());
    let distinct: BTreeSet<OrderStatus> = all.iter().copied().collect();
    assert!(distinct.len() >= 6, "{distinct:?}");
    assert_eq!(distinct.len(), OrderStatus::ALL.len(), "every status: {distinct:?}");
    // Partial deliveries have something outstanding; deliveries have nothing.
    for r in db.state.scan(Table::Order, None, usize::MAX).unwrap() {
        let Record::Order(o) = r else { continue };
        let outstanding = o.lines.iter().any(|l| l.received < l.quantity);
        match o.status {
            OrderStatus::PartiallyDelivered => assert!(outstanding, "{}", o.id),
            OrderStatus::Delivered => assert!(!outstanding, "{}", o.id),
            _ => {}
        }
    }
}
