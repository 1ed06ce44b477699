//! Banners: who may set them, what is checked, when and where one shows, and ending one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::command::Command;
use crate::model::Role;
use crate::state::StateViewExt;
use crate::testing::{AT, Db, user};
use time::Duration;

fn banner(id: &str, sites: &[&str]) -> BannerFields {
    BannerFields {
        id: BannerId::new(id),
        text: "Ring 010-100 20 00 i stället för växeln".into(),
        level: BannerLevel::Warning,
        sites: sites.iter().map(|s| (*s).into()).collect(),
        starts_at: AT,
        ends_at: AT + Duration::hours(8),
    }
}

fn put(f: BannerFields, expected_version: Option<u64>) -> Command {
    Command::PutBanner { expected_version, fields: f }
}

#[test]
fn communicators_set_change_and_end_banners_and_bad_input_changes_nothing() {
    let mut db = Db::default();
    db.ok(Command::CreateUser(user("comms", Role::Communicator, &[])));
    db.ok(Command::CreateUser(user("nurse", Role::Staff, &[])));
    db.ok(Command::CreateUser(user("ops", Role::Ops, &[])));
    assert_eq!(db.says_as(Some("nurse"), AT, put(banner("b1", &[]), None)), "banner.forbidden");
    assert_eq!(db.says_as(Some("ops"), AT, put(banner("b1", &[]), None)), "banner.forbidden");
    let mut empty = banner("b1", &[]);
    empty.text = "  ".into();
    assert_eq!(db.says_as(Some("comms"), AT, put(empty, None)), "banner.invalid text required");
    let mut backwards = banner("b1", &[]);
    backwards.ends_at = AT - Duration::minutes(1);
    assert_eq!(db.says_as(Some("comms"), AT, put(backwards, None)), "banner.invalid ends_at out_of_range");
    let twice = banner("b1", &["Östra sjukhuset", "ÖSTRA SJUKHUSET"]);
    assert_eq!(db.says_as(Some("comms"), AT, put(twice, None)), "banner.invalid sites duplicate");
    assert!(db.state.banner(BannerId::new("b1")).unwrap().is_none());

    assert_eq!(db.says_as(Some("comms"), AT, put(banner("b1", &["Östra sjukhuset"]), None)), "applied");
    let mut changed = banner("b1", &["Östra sjukhuset"]);
    changed.level = BannerLevel::Critical;
    assert_eq!(db.says_as(Some("comms"), AT, put(changed.clone(), None)), "banner.already_exists");
    assert_eq!(db.says_as(Some("comms"), AT, put(changed, Some(1))), "applied");
    let b = db.state.banner(BannerId::new("b1")).unwrap().unwrap();
    assert_eq!((b.level, b.version, b.changed_by.as_deref()), (BannerLevel::Critical, 2, Some("comms")));

    let end = Command::EndBanner { banner_id: BannerId::new("b1") };
    assert_eq!(db.says_as(Some("nurse"), AT, end.clone()), "banner.forbidden");
    assert_eq!(db.says_as(Some("comms"), AT + Duration::hours(1), end.clone()), "applied");
    let b = db.state.banner(BannerId::new("b1")).unwrap().unwrap();
    assert!(!b.is_current(AT + Duration::hours(1)) && b.is_current(AT));
    assert_eq!(db.says_as(Some("comms"), AT + Duration::hours(2), end), "banner.closed");
}

#[test]
fn a_banner_shows_in_its_window_on_pages_of_its_sites() {
    let b = Banner {
        id: BannerId::new("b"),
        text: "x".into(),
        level: BannerLevel::Info,
        sites: vec!["Östra sjukhuset".into()],
        starts_at: AT,
        ends_at: AT + Duration::hours(1),
        changed_by: None,
        changed_at: AT,
        version: 1,
    };
    assert!(!b.is_current(AT - Duration::seconds(1)) && b.is_current(AT) && !b.is_current(AT + Duration::hours(1)));
    assert!(b.is_for(&["ostra sjukhuset".into()]));
    assert!(!b.is_for(&["Norra sjukhuset".into()]) && !b.is_for(&[]));
    let everywhere = Banner { sites: Vec::new(), ..b };
    assert!(everywhere.is_for(&[]) && everywhere.is_for(&["Norra sjukhuset".into()]));
}
