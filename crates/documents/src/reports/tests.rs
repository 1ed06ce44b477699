//! The overview's order and its outbox rows, a period read back from CSV (the `csv` crate) and
//! XLSX (calamine), the reminder's words, and the blank form read back with `pdftotext`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use calamine::Reader;
use domain::command::{Command, Envelope, UnitFields};
use domain::reports::{CycleFields, FieldValue, Schedule};
use domain::{CommandId, MemState};
use time::Duration;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2026-12-06 10:00 UTC);

fn run(state: &mut MemState, n: u64, at: OffsetDateTime, cmd: Command) {
    let env = Envelope { id: CommandId::new(format!("c{n}")), at, origin: 2, actor: None, cmd };
    let (verdict, changes) = domain::apply(state, &env, n).unwrap();
    assert!(matches!(verdict, domain::Verdict::Applied { .. }), "{verdict:?}");
    state.write(changes);
}

fn unit(id: &str, name: &str, site: &str) -> Command {
    Command::CreateUnit(UnitFields {
        id: id.into(),
        name: name.into(),
        site: site.into(),
        cost_centre: None,
        delivery_address: vec!["Hus 1".into()],
        contact_name: None,
        phone: None,
        withdrawn: false,
    })
}

fn report(unit: &str, at: OffsetDateTime, light: Light, needs: &str) -> ReportFields {
    ReportFields {
        unit_id: unit.into(),
        light,
        values: vec![FieldValue {
            key: "power".into(),
            light: Some(Light::Yellow),
            text: "=reservkraft sedan 09:40".into(),
        }],
        needs: needs.into(),
        note: String::new(),
        written_at: at,
        from_paper: false,
        exercise: None,
    }
}

/// Three units at two sites; an hourly cycle from 10:00 (first due 11:00).
fn seeded() -> MemState {
    let mut s = MemState::default();
    run(&mut s, 1, AT, unit("iva", "IVA", "Östra sjukhuset"));
    run(&mut s, 2, AT, unit("akut", "Akutmottagningen", "Östra sjukhuset"));
    run(&mut s, 3, AT, unit("avd12", "Avdelning 12", "Norra sjukhuset"));
    let cycle =
        CycleFields { site: None, schedule: Schedule::Every { first_due: AT + Duration::hours(1), minutes: 60 } };
    run(&mut s, 4, AT, Command::StartReportCycle { fields: cycle });
    s
}

#[test]
fn the_overview_puts_late_units_first_and_counts_reports_waiting_in_the_outbox() {
    let mut s = seeded();
    let at = AT + Duration::minutes(55);
    run(&mut s, 5, at, Command::FileReport { fields: report("iva", at, Light::Red, "Syrgas") });
    let now = AT + Duration::minutes(70);
    // Akut reported on this node while cut off: in the outbox, not yet shared.
    let waiting = [report("akut", AT + Duration::minutes(58), Light::Yellow, "Personal")];
    let rows = overview(&s, &|_| true, &waiting, None, Lang::Sv, now).unwrap();
    let got: Vec<_> = rows.iter().map(|r| (r.unit.id.as_str(), r.late, r.light(), r.pending.len())).collect();
    assert_eq!(
        got,
        [("avd12", true, None, 0), ("akut", false, Some(Light::Yellow), 1), ("iva", false, Some(Light::Red), 0)]
    );
    assert_eq!(rows[0].due, Some(AT + Duration::hours(1)));
    assert_eq!(rows[2].due, Some(AT + Duration::hours(2)));
    assert_eq!((rows[1].needs(), rows[2].needs()), ("Personal", "Syrgas"));
    // Staff of IVA see only IVA.
    let only_iva = overview(&s, &|u| u.as_str() == "iva", &waiting, None, Lang::Sv, now).unwrap();
    assert_eq!(only_iva.len(), 1);
    // Without a cycle nobody is due.
    run(&mut s, 6, now, Command::StopReportCycle { site: None });
    assert!(overview(&s, &|_| true, &[], None, Lang::Sv, now).unwrap().iter().all(|r| r.due.is_none() && !r.late));
}

#[test]
fn a_period_reads_back_from_csv_and_xlsx() {
    let mut s = seeded();
    for (i, (u, min)) in [("iva", 10), ("avd12", 20), ("iva", 80)].iter().enumerate() {
        let at = AT + Duration::minutes(*min);
        let n = 10 + u64::try_from(i).unwrap();
        run(&mut s, n, at, Command::FileReport { fields: report(u, at, Light::Green, "Sängar; \"fler\"") });
    }
    let all = period(&s, &|_| true, AT, AT + Duration::hours(1)).unwrap();
    assert_eq!(all.iter().map(|r| (r.unit_id.as_str(), r.n)).collect::<Vec<_>>(), [("avd12", 1), ("iva", 1)]);

    let bytes = csv(&s, Lang::Sv, &all).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut r = ::csv::ReaderBuilder::new().delimiter(b';').from_reader(&bytes[3..]);
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(&head[..3], ["Sjukhus", "Enhet", "Nr"]);
    assert!(head.contains(&"El (Läge)".to_owned()) && head.contains(&"Behov".to_owned()));
    let rows: Vec<::csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("Enhet")], "Avdelning 12");
    assert_eq!(&rows[0][col("Behov")], "Sängar; \"fler\"");
    // Formula-like text is neutralised.
    assert_eq!(&rows[0][col("El")], "'=reservkraft sedan 09:40");
    assert_eq!(&rows[0][col("El (Läge)")], "Gul");

    let bytes = xlsx(&s, Lang::En, &all).unwrap();
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = wb.worksheet_range("Situation reports").unwrap();
    let cells: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(ToString::to_string).collect()).collect();
    assert_eq!(&cells[0][..3], ["Hospital", "Unit", "No."]);
    assert_eq!(cells.len(), 3);
    assert_eq!((cells[2][1].as_str(), cells[2][2].as_str()), ("IVA", "1"));
    assert!(cells[2].contains(&"=reservkraft sedan 09:40".to_owned()), "{:?}", cells[2]);
}

#[test]
fn a_late_unit_gets_words_that_name_it_and_the_link_to_its_form() {
    let s = seeded();
    let due = AT + Duration::hours(1);
    let letter = reminder_letter(&s, &"avd12".into(), due, "https://nod1.example/");
    assert!(letter.subject.contains("Avdelning 12"), "{}", letter.subject);
    assert!(letter.text.contains("11:00") || letter.text.contains("12:00"), "{}", letter.text);
    assert!(letter.text.contains("https://nod1.example/reports/new?unit=avd12"), "{}", letter.text);
    let sms = reminder_sms(&s, &"avd12".into(), due, "https://nod1.example", 1);
    assert!(sms.ends_with(" https://nod1.example/reports/new?unit=avd12"), "{sms}");
    assert!(domain::sms::fit(&sms).segments <= 1, "{sms}");
}

#[test]
fn the_blank_form_prints_every_field_of_the_organisation() {
    let mut fields = domain::reports::default_fields();
    fields.push(ReportField { key: "beds".into(), label: "Lediga vårdplatser".into(), kind: FieldKind::Text });
    let pdf = crate::export::report_form::write(&fields, Lang::Sv, 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blankett.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils) must be installed: scripts/install-deps.sh --test");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "Lägesrapport",
        "Bemanning",
        "Vatten och värme",
        "Medicinska gaser och kritiska förnödenheter",
        "Lediga vårdplatser",
        "Grön",
        "Röd",
        "Behov",
        "nod 3",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
}
