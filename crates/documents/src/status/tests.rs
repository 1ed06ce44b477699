//! The board model and its Atom feed over a small in-memory state: sites, overdue flags, banner,
//! and a well-formed feed whose typed text stays text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::command::{IncidentFields, ReadinessFields, SystemFields, UnitFields};
use domain::status::{Impact, IncidentStage, ReadinessLevel, SystemState};
use domain::{Command, CommandId, Envelope, IncidentId, MemState, SystemId, UnitId, Verdict};
use quick_xml::events::Event;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::{Board, banner, feed};
use crate::i18n::Lang;

const AT: OffsetDateTime = datetime!(2026-12-02 09:00 UTC);

fn state(cmds: Vec<Command>) -> MemState {
    let mut s = MemState::default();
    for (i, cmd) in cmds.into_iter().enumerate() {
        // No accounts here: applied without an actor, as the cluster's own commands are.
        let env = Envelope { id: CommandId::new(format!("c{i}")), at: AT, origin: 3, actor: None, cmd };
        let (v, ch) = domain::apply(&s, &env, i as u64 + 1).unwrap();
        assert!(matches!(v, Verdict::Applied { .. }), "{v:?}");
        s.write(ch);
    }
    s
}

fn system(id: &str, name: &str, site: &str) -> Command {
    Command::PutSystem {
        expected_version: None,
        fields: SystemFields {
            id: SystemId::new(id),
            name: name.into(),
            site: site.into(),
            description: None,
            state: SystemState::Operational,
        },
    }
}

fn incident(id: &str, impact: Impact, due: Duration) -> Command {
    Command::OpenIncident(IncidentFields {
        id: IncidentId::new(id),
        title: format!("Störning <{id}> & \"mer\""),
        impact,
        systems: vec![SystemId::new("erp")],
        body: "Vi felsöker.\nRing 8000 vid behov.".into(),
        stage: IncidentStage::Investigating,
        lead: None,
        next_update_due: Some(AT + due),
        exercise: None,
    })
}

fn demo() -> MemState {
    state(vec![
        Command::CreateUnit(UnitFields {
            id: UnitId::new("ost-iva"),
            name: "IVA".into(),
            site: "Östra sjukhuset".into(),
            cost_centre: None,
            delivery_address: vec![],
            contact_name: None,
            phone: None,
            withdrawn: false,
        }),
        system("erp", "Affärssystem", ""),
        system("tel", "Telefoni", "Västra sjukhuset"),
        Command::SetSystemState {
            system_id: SystemId::new("tel"),
            state: SystemState::MajorOutage,
            note: "Växeln".into(),
        },
        Command::SetReadiness(ReadinessFields {
            site: "Västra sjukhuset".into(),
            level: ReadinessLevel::Reinforced,
            note: String::new(),
        }),
        incident("big", Impact::Major, Duration::minutes(30)),
        incident("small", Impact::Minor, Duration::hours(2)),
    ])
}

#[test]
fn the_board_groups_sites_judges_overdue_updates_and_raises_the_banner() {
    let s = demo();
    let b = Board::build(&s, AT + Duration::hours(1)).unwrap();
    let sites: Vec<(&str, usize, Option<ReadinessLevel>)> =
        b.sites.iter().map(|x| (x.site.as_str(), x.systems.len(), x.readiness.as_ref().map(|r| r.level))).collect();
    assert_eq!(
        sites,
        // Swedish order: Ö after V.
        [("", 1, None), ("Västra sjukhuset", 1, Some(ReadinessLevel::Reinforced)), ("Östra sjukhuset", 0, None)]
    );
    let overdue: Vec<(&str, bool)> = b.incidents.iter().map(|i| (i.incident.id.as_str(), i.overdue)).collect();
    assert!(overdue.contains(&("big", true)) && overdue.contains(&("small", false)), "{overdue:?}");
    assert_eq!(b.incidents[0].system_names, ["Affärssystem"]);
    let ids: Vec<String> = banner(&s).unwrap().into_iter().map(|x| x.id).collect();
    assert_eq!(ids, ["big"]);
    assert_eq!(b.banner.len(), 1);
}

#[test]
fn the_feed_is_well_formed_atom_with_an_entry_per_update() {
    let s = demo();
    let b = Board::build(&s, AT + Duration::minutes(5)).unwrap();
    let xml = feed::write(&b, Lang::Sv, "http://beredd1:8081");
    let mut r = quick_xml::Reader::from_reader(xml.as_slice());
    let (mut entries, mut depth) = (0, 0usize);
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => {
                depth += 1;
                if e.name().as_ref() == "entry" {
                    entries += 1;
                }
            }
            Event::End(_) => depth -= 1,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0);
    assert_eq!(entries, 2);
    // Typed text stays text.
    let text = String::from_utf8(xml).unwrap();
    assert!(text.contains("Felsökning pågår: Störning &lt;big&gt; &amp;"), "{text}");
    assert!(!text.contains("<big>"));
}

#[test]
fn a_banner_set_by_hand_is_on_the_board_in_its_window_in_the_feed_and_in_the_binder() {
    use domain::banners::{BannerFields, BannerLevel};
    let mut s = demo();
    let banner = BannerFields {
        id: "b-1".into(),
        text: "Växeln ligger nere – ring 010-100 20 00 <snabbt>".into(),
        level: BannerLevel::Critical,
        sites: vec!["Östra sjukhuset".into()],
        starts_at: AT,
        ends_at: AT + Duration::hours(2),
    };
    let env = Envelope {
        id: CommandId::new("banner"),
        at: AT,
        origin: 3,
        actor: None,
        cmd: Command::PutBanner { expected_version: None, fields: banner },
    };
    let (v, ch) = domain::apply(&s, &env, 100).unwrap();
    assert!(matches!(v, Verdict::Applied { .. }), "{v:?}");
    s.write(ch);
    assert!(Board::build(&s, AT - Duration::minutes(1)).unwrap().notices.is_empty(), "not yet");
    assert!(Board::build(&s, AT + Duration::hours(2)).unwrap().notices.is_empty(), "over");
    let b = Board::build(&s, AT + Duration::minutes(5)).unwrap();
    assert_eq!(b.notices.len(), 1);
    let xml = String::from_utf8(feed::write(&b, Lang::Sv, "http://beredd1:8081")).unwrap();
    assert!(xml.contains("Kritiskt: Växeln ligger nere – ring 010-100 20 00 &lt;snabbt&gt;"), "{xml}");
    assert!(xml.contains("urn:beredd:banner:b-1:1"), "{xml}");

    let fresh = crate::export::binder::Freshness { node_id: 3, applied_index: 100, quorum: true, heard: Some(AT) };
    let pdf = crate::export::binder::write(&s, &fresh, Lang::Sv, AT + Duration::minutes(5)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("binder.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args([path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils) must be installed: scripts/install-deps.sh --test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Kritiskt: Växeln ligger nere") && text.contains("Östra sjukhuset"), "{text}");
}
