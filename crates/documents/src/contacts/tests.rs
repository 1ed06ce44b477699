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
    let cmds = domain::demo_data::demo_commands().into_iter().chain(domain::demo_data::demo_contacts());
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
        page_wait_seconds: None,
        page_on_critical: false,
    });
    let now = d.on_call(AT);
    assert_eq!(now[0].now_contact.as_ref().unwrap().name, "Anna Andersson");
    assert_eq!(now[0].next_contact.as_ref().unwrap().name, "Björn Berg");
    assert_eq!(now[0].function.as_ref().unwrap().routes.len(), 6);
}

/// Applies an import's command to `s` and says what happened.
fn apply(s: &mut MemState, cmd: domain::Command) -> Verdict {
    let env = Envelope { id: CommandId::new("import"), at: AT, origin: 1, actor: None, cmd };
    let (v, ch) = domain::apply(s, &env, 1000).unwrap();
    s.write(ch);
    v
}

#[test]
fn an_exported_csv_imports_back_unchanged() {
    let mut s = demo();
    let before = Directory::load(&s).unwrap();
    let entries: Vec<_> = before.contacts.iter().collect();
    for lang in [Lang::Sv, Lang::En] {
        let bytes = export::csv(&entries, lang).unwrap();
        let sheet = crate::import::read_csv(&bytes).unwrap();
        let rows = super::import::rows(&sheet, &before).unwrap();
        assert_eq!(rows.len(), entries.len());
        // Each row replaces its entry with the same fields.
        for row in &rows {
            let domain::Command::PutContact { fields, expected_version } = row else { panic!("{row:?}") };
            let c = before.contact(&fields.id).unwrap();
            assert_eq!(*expected_version, Some(c.version));
            assert_eq!((&fields.name, &fields.routes, &fields.unit_id), (&c.name, &c.routes, &c.unit_id));
        }
    }
    let rows =
        super::import::rows(&crate::import::read_csv(&export::csv(&entries, Lang::Sv).unwrap()).unwrap(), &before)
            .unwrap();
    assert!(matches!(apply(&mut s, domain::Command::Import { rows }), Verdict::Applied { .. }));
}

#[test]
fn every_bad_row_is_reported_and_nothing_is_read() {
    let s = demo();
    let d = Directory::load(&s).unwrap();
    // Swedish headers; the second route column pair by its Swedish name.
    let file = "id;typ;namn;enhet;väg1_typ;väg1_värde;väg1_testad;väg2_typ;väg2_värde\n\
                ny-jour;funktion;Ny jour;;telefon;08-123 45 67;2026-11-30;e-post;jour@region.example\n\
                ;person;Utan id;;;;;;\n\
                fel-typ;robot;Fel typ;;;;;;\n\
                fel-enhet;person;Fel enhet;finns-inte;;;;;\n\
                fel-datum;person;Fel datum;;mobil;070-123 45 67;igår;;\n\
                fel-post;person;Fel post;;e-post;inte-en-adress;;;\n\
                ny-jour;person;Dubblett;;;;;;\n";
    let sheet = crate::import::read_csv(file.as_bytes()).unwrap();
    let errors = super::import::rows(&sheet, &d).unwrap_err();
    let got: Vec<(usize, &str, &str)> = errors.iter().map(|e| (e.row, e.column.as_str(), e.key.as_str())).collect();
    assert_eq!(
        got,
        [
            (3, "id", "problem.required"),
            (4, "kind", "problem.unknown_code"),
            (5, "unit_id", "import.unknown_unit"),
            (6, "route1_last_tested", "problem.bad_date"),
            (7, "route1_value", "problem.bad_format"),
            (8, "id", "import.duplicate_id"),
        ]
    );
    // The good row alone is read, with both routes in order.
    let good = format!("{}\n", file.lines().take(2).collect::<Vec<_>>().join("\n"));
    let rows = super::import::rows(&crate::import::read_csv(good.as_bytes()).unwrap(), &d).unwrap();
    let domain::Command::PutContact { fields, expected_version: None } = &rows[0] else { panic!("{rows:?}") };
    let kinds: Vec<&str> = fields.routes.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["phone", "email"]);
}
