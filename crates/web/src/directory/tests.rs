//! The directory over a small in-memory state: search, on-call, CSV and vCard read back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::{CommandId, Envelope, MemState, Verdict};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{Directory, export};
use crate::i18n::Lang;

const AT: OffsetDateTime = datetime!(2026-12-02 09:00 UTC);

fn demo() -> MemState {
    let mut s = MemState::default();
    let cmds = domain::fixtures::demo_commands().into_iter().chain(domain::fixtures::demo_contacts());
    for (i, (id, cmd)) in cmds.enumerate() {
        let env = Envelope { id: CommandId::new(format!("{id}:{i}")), at: AT, origin: 1, actor: None, cmd };
        let (v, ch) = domain::apply(&s, &env, i as u64 + 1).unwrap();
        assert!(!matches!(v, Verdict::Rejected { .. }), "{v:?}");
        s.write(ch);
    }
    s
}

#[test]
fn search_folds_case_and_letters_and_finds_numbers() {
    let s = demo();
    let d = Directory::load(&s).unwrap();
    let names = |q: &str| d.search(q).into_iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    assert_eq!(names("ostlund"), ["Cecilia Östlund"]);
    assert_eq!(names("OBERG iva"), ["David Öberg"]);
    assert!(names("inkop").contains(&"Inköp jour".to_owned()));
    assert_eq!(names("0101008000"), ["Inköp jour"]);
    assert_eq!(names("medilux"), ["Medilux kundtjänst"]);
    // Functions come first.
    let all = names("");
    let first_person = all.iter().position(|n| n == "Anna Andersson").unwrap();
    assert!(all[..first_person].contains(&"Växeln Ekbacka".to_owned()));
}

#[test]
fn csv_and_vcard_read_back_with_every_route() {
    let s = demo();
    let d = Directory::load(&s).unwrap();
    let entries: Vec<_> = d.contacts.iter().collect();
    let bytes = export::csv(&entries, Lang::Sv).unwrap();
    let mut r = csv::ReaderBuilder::new().delimiter(b';').from_reader(&bytes[3..]);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(&header[..3], ["id", "kind", "name"]);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), entries.len());
    let inkop = rows.iter().find(|r| &r[0] == "inkop-jour").unwrap();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(&inkop[col("route1_kind")], "phone");
    assert_eq!(&inkop[col("route1_value")], "010-100 80 00");
    assert_eq!(&inkop[col("route4_value")], "RSG INKÖP 1");
    // A number starting with + is kept from spreadsheets' formulas with an apostrophe.
    assert_eq!(&inkop[col("route5_value")], "'+870 776 480 000");
    assert_eq!(&inkop[col("route6_hours")], "vardagar 08–16");

    let v = export::vcards(&d, &entries, Lang::Sv, AT);
    assert_eq!(v.matches("BEGIN:VCARD\r\n").count(), entries.len());
    assert!(v.lines().all(|l| l.len() <= 76), "folded at 75 octets plus CR");
    let unfolded = v.replace("\r\n ", "");
    assert!(unfolded.contains("FN:Cecilia Östlund\r\nN:Östlund;Cecilia;;;"), "{unfolded}");
    assert!(unfolded.contains("TEL;TYPE=work,voice,pref:010-100 80 00"));
    assert!(unfolded.contains("X-RAKEL:RSG INKÖP 1"));
    assert!(unfolded.contains("NOTE:1. Telefon: 010-100 80 00 (dygnet runt)\\, testad 2026-11-16\\n2. Mobil"));
}

#[test]
fn the_rota_names_who_is_on_call_now_and_next() {
    use domain::contacts::Shift;
    let s = demo();
    let mut d = Directory::load(&s).unwrap();
    let shift = |who: &str, h: i64| Shift {
        contact_id: domain::ContactId::new(who),
        from: AT + Duration::hours(h),
        to: AT + Duration::hours(h + 24),
        note: String::new(),
    };
    d.rotas.push(domain::contacts::Rota {
        id: domain::RotaId::new("r"),
        name: "Inköp jour".into(),
        function_id: Some(domain::ContactId::new("inkop-jour")),
        shifts: vec![shift("anna-andersson", -1), shift("bjorn-berg", 23)],
        overrides: vec![],
        version: 1,
    });
    let now = d.on_call(AT);
    assert_eq!(now[0].now_contact.as_ref().unwrap().name, "Anna Andersson");
    assert_eq!(now[0].next_contact.as_ref().unwrap().name, "Björn Berg");
    assert_eq!(now[0].function.as_ref().unwrap().routes.len(), 6);
}
