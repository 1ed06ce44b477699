//! Ordering channels per supplier.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::testing::*;

fn run(db: &mut Db, cmd: Command) -> String {
    describe(&db.cmd(cmd))
}

fn set_channel(version: Option<u64>, channel: crate::channels::Channel) -> Command {
    Command::SetChannel { supplier_id: SupplierId::new("medilux"), expected_version: version, channel }
}

fn hook(url: &str, secret: Option<&str>) -> crate::channels::Channel {
    crate::channels::Channel::Webhook {
        url: url.into(),
        body: crate::channels::WebhookBody::Ubl,
        secret: secret.map(str::to_owned),
    }
}

#[test]
fn channels_are_checked_kept_per_supplier_and_a_secret_survives_an_edit_without_one() {
    use crate::channels::Attachment;
    let mut db = Db::default();
    let email = |to: &[&str], attach: Vec<Attachment>| crate::channels::Channel::Email {
        to: to.iter().map(|t| (*t).to_owned()).collect(),
        attach,
    };
    assert_eq!(
        run(&mut db, set_channel(None, crate::channels::Channel::Manual { how: String::new() })),
        "supplier.unknown supplier_id"
    );
    db.ok(Command::CreateSupplier(supplier("medilux")));
    for (cmd, want) in [
        (set_channel(None, email(&[], vec![Attachment::Pdf])), "channel.invalid to required"),
        (
            set_channel(None, email(&["order@medilux.se", "inte en adress"], vec![Attachment::Pdf])),
            "channel.invalid to[1] bad_format",
        ),
        (set_channel(None, email(&["order@medilux.se"], vec![])), "channel.invalid attach required"),
        (
            set_channel(None, email(&["order@medilux.se"], vec![Attachment::Pdf, Attachment::Pdf])),
            "channel.invalid attach duplicate",
        ),
        (set_channel(None, hook("ftp://medilux.se/in", None)), "channel.invalid url bad_format"),
        (set_channel(None, hook("http://medilux.se/in", None)), "channel.invalid url bad_format"),
        (set_channel(None, hook("https://medilux.se/in", Some("kort"))), "channel.invalid secret out_of_range"),
    ] {
        assert_eq!(run(&mut db, cmd), want);
    }
    assert!(db.state.channel(SupplierId::new("medilux")).unwrap().is_none(), "a refusal stored something");

    let ok = email(&[" order@medilux.se "], vec![Attachment::Pdf, Attachment::Ubl]);
    assert_eq!(run(&mut db, set_channel(None, ok)), "applied");
    let c = db.state.channel(SupplierId::new("medilux")).unwrap().unwrap();
    assert_eq!(c.channel, email(&["order@medilux.se"], vec![Attachment::Pdf, Attachment::Ubl]));
    assert_eq!(
        run(&mut db, set_channel(None, crate::channels::Channel::Manual { how: "fax".into() })),
        "channel.already_exists"
    );

    let secret = "delad-hemlighet-16+";
    assert_eq!(run(&mut db, set_channel(Some(1), hook("https://medilux.se/order", Some(secret)))), "applied");
    assert_eq!(run(&mut db, set_channel(Some(2), hook("http://127.0.0.1:9/order", None))), "applied");
    let c = db.state.channel(SupplierId::new("medilux")).unwrap().unwrap();
    assert_eq!(c.channel, hook("http://127.0.0.1:9/order", Some(secret)), "the secret was kept");
    assert_eq!(c.redacted(), (hook("http://127.0.0.1:9/order", None), true), "shown without the secret");
}
