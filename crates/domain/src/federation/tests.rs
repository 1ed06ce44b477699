//! Identity providers, their rules, and the accounts federated logins make.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::ids::OnceKey;
use crate::testing::*;

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn fields(id: &str) -> IdpFields {
    IdpFields {
        id: IdpId::new(id),
        name: "Region Skåne".into(),
        protocol: Protocol::Oidc {
            issuer: "https://idp.region.example/realms/staff/".into(),
            client_id: "beredd".into(),
            client_secret: Some("hemligt-hemligt".into()),
            scopes: vec!["profile".into()],
        },
        mapping: Mapping {
            user_attribute: "hsa_id".into(),
            pseudonymise: false,
            name_attribute: "name".into(),
            org_attribute: Some("organisation".into()),
            allowed_orgs: vec!["Lunds kommun".into(), "Malmö stad".into()],
            rules: vec![
                RoleRule { attribute: "groups".into(), value: "inkop".into(), role: Role::Purchaser, units: vec![] },
                RoleRule {
                    attribute: "groups".into(),
                    value: "iva".into(),
                    role: Role::Staff,
                    units: vec![UnitId::new("ost-iva")],
                },
            ],
            account_hours: 24,
        },
        disabled: false,
    }
}

fn put(version: Option<u64>, f: IdpFields) -> Command {
    Command::PutIdentityProvider { expected_version: version, fields: f, pseudonym_key: KEY.into() }
}

fn login(user: &str, role: Role, units: &[&str]) -> Command {
    Command::FederatedLogin {
        idp_id: IdpId::new("skane"),
        user_id: UserId::new(user),
        name: "Anna Andersson".into(),
        role,
        units: units.iter().map(|u| UnitId::new(*u)).collect(),
        provisional: false,
        once: None,
    }
}

fn attrs(pairs: &[(&str, &str)]) -> Attributes {
    let mut a = Attributes::new();
    for (k, v) in pairs {
        a.entry((*k).to_owned()).or_default().push((*v).to_owned());
    }
    a
}

/// The usual test state with the unit the rules name.
fn with_unit() -> Db {
    let mut db = seeded();
    db.ok(Command::CreateUnit(unit("ost-iva")));
    db
}

fn stored(id: &str) -> IdentityProvider {
    let mut db = with_unit();
    db.ok(put(None, fields(id)));
    db.state.idp(IdpId::new(id)).unwrap().unwrap()
}

#[test]
fn the_rules_map_a_person_to_a_role_and_units_and_refuse_the_rest() {
    let idp = stored("skane");
    let none = |_: &str| unreachable!("not pseudonymised");
    let anna =
        attrs(&[("hsa_id", "SE2321000016-ABCD"), ("name", "Anna"), ("organisation", "malmö stad"), ("groups", "iva")]);
    let m = map(&idp, &anna, &none).unwrap();
    assert_eq!(m.user_id.as_str(), "skane.se2321000016-abcd");
    assert_eq!((m.role, m.units.clone(), m.name.as_str()), (Role::Staff, vec![UnitId::new("ost-iva")], "Anna"));
    // The first matching rule decides.
    let both = attrs(&[("hsa_id", "x1"), ("organisation", "Lunds kommun"), ("groups", "iva"), ("groups", "inkop")]);
    assert_eq!(map(&idp, &both, &none).unwrap().role, Role::Purchaser);
    let no_id = attrs(&[("organisation", "Lunds kommun"), ("groups", "iva")]);
    assert_eq!(map(&idp, &no_id, &none), Err(Refusal::NoUserId("hsa_id".into())));
    let stranger = attrs(&[("hsa_id", "x2"), ("organisation", "Ystads kommun"), ("groups", "iva")]);
    assert_eq!(map(&idp, &stranger, &none), Err(Refusal::Organisation("Ystads kommun".into())));
    let no_org = attrs(&[("hsa_id", "x2"), ("groups", "iva")]);
    assert!(matches!(map(&idp, &no_org, &none), Err(Refusal::Organisation(_))));
    let no_group = attrs(&[("hsa_id", "x3"), ("organisation", "Lunds kommun"), ("groups", "städ")]);
    assert_eq!(map(&idp, &no_group, &none), Err(Refusal::NoRule));
    let mut off = idp.clone();
    off.disabled = true;
    assert_eq!(map(&off, &anna, &none), Err(Refusal::Disabled));
}

#[test]
fn a_personal_identity_number_becomes_a_pseudonym_and_is_never_the_account_or_its_name() {
    let mut idp = stored("skane");
    idp.mapping.user_attribute = "personnummer".into();
    idp.mapping.pseudonymise = true;
    idp.mapping.name_attribute = "name".into();
    let a = attrs(&[("personnummer", "19121212-1212"), ("organisation", "Lunds kommun"), ("groups", "iva")]);
    let m = map(&idp, &a, &|v: &str| format!("p{}", v.len())).unwrap();
    assert_eq!(m.user_id.as_str(), "skane.p13");
    assert!(!m.name.contains("1212") && !m.user_id.as_str().contains("1212"), "{m:?}");
}

#[test]
fn account_ids_stay_valid_and_inside_the_idps_namespace() {
    let id = account_id(&IdpId::new("skane"), " Å/ö x@y ");
    assert!(crate::ids::is_valid_id(id.as_str()), "{id:?}");
    assert!(id.as_str().starts_with("skane."));
    let long = account_id(&IdpId::new("skane"), &"a".repeat(500));
    assert!(crate::ids::is_valid_id(long.as_str()), "{long:?}");
}

#[test]
fn only_admins_set_identity_providers_and_their_settings_are_checked() {
    let mut db = with_unit();
    db.ok(Command::CreateUser(user("kim", Role::Ops, &[])));
    assert_eq!(db.says_as(Some("kim"), AT, put(None, fields("skane"))), "idp.forbidden");
    let mut bad = fields("skane");
    bad.mapping.rules.clear();
    assert_eq!(db.says(put(None, bad)), "idp.invalid mapping.rules required");
    let mut bad = fields("skane");
    bad.mapping.account_hours = 0;
    assert_eq!(db.says(put(None, bad)), "idp.invalid mapping.account_hours out_of_range");
    let mut bad = fields("skane");
    bad.protocol =
        Protocol::Oidc { issuer: "ftp://x".into(), client_id: "c".into(), client_secret: None, scopes: vec![] };
    assert_eq!(db.says(put(None, bad)), "idp.invalid issuer bad_format");
    let mut bad = fields("skane");
    bad.mapping.rules[1].units = vec![UnitId::new("finns-inte")];
    assert_eq!(db.says(put(None, bad)), "unit.unknown mapping.rules[1].units[0]");
    assert_eq!(
        db.says(Command::PutIdentityProvider {
            expected_version: None,
            fields: fields("skane"),
            pseudonym_key: "kort".into()
        }),
        "idp.invalid pseudonym_key bad_format"
    );
    assert_eq!(db.says(put(None, fields("a.b"))), "idp.invalid id bad_format");
    assert_eq!(db.says(put(None, fields("skane"))), "applied");
    // An edit without a secret keeps the secret; the pseudonym key never changes.
    let mut edit = fields("skane");
    edit.protocol = Protocol::Oidc {
        issuer: "https://idp.example/".into(),
        client_id: "beredd".into(),
        client_secret: None,
        scopes: vec![],
    };
    let other_key = "f".repeat(64);
    let cmd = Command::PutIdentityProvider { expected_version: Some(1), fields: edit, pseudonym_key: other_key };
    assert_eq!(db.says(cmd), "applied");
    let idp = db.state.idp(IdpId::new("skane")).unwrap().unwrap();
    let Protocol::Oidc { issuer, client_secret, .. } = &idp.protocol else { panic!("{idp:?}") };
    assert_eq!((issuer.as_str(), client_secret.as_deref()), ("https://idp.example", Some("hemligt-hemligt")));
    assert_eq!(idp.pseudonym_key, KEY);
    let (shown, had_secret) = idp.redacted();
    assert!(had_secret && shown.pseudonym_key.is_empty());
    assert!(!format!("{shown:?}").contains("hemligt"));
}

#[test]
fn a_federated_login_makes_an_account_valid_for_the_idps_hours_and_renews_it() {
    let mut db = with_unit();
    assert_eq!(db.says(login("skane.anna", Role::Staff, &["ost-iva"])), "idp.unknown idp_id");
    db.ok(put(None, fields("skane")));
    assert_eq!(db.says(login("skane.anna", Role::Staff, &["ost-iva"])), "applied");
    let u = db.state.user(UserId::new("skane.anna")).unwrap().unwrap();
    assert_eq!(u.expires_at, Some(AT + time::Duration::hours(24)));
    assert_eq!(
        (u.role, u.source.as_ref().map(IdpId::as_str), u.password_hash.as_deref()),
        (Role::Staff, Some("skane"), None)
    );
    assert!(u.is_active(AT + time::Duration::hours(23)) && !u.is_active(AT + time::Duration::hours(24)));
    // The next login, a day later, renews it with what the rules say now.
    let later = AT + time::Duration::hours(30);
    assert_eq!(db.says_as(None, later, login("skane.anna", Role::Purchaser, &[])), "applied");
    let u = db.state.user(UserId::new("skane.anna")).unwrap().unwrap();
    assert_eq!((u.role, u.version, u.expires_at), (Role::Purchaser, 2, Some(later + time::Duration::hours(24))));
}

#[test]
fn a_federated_login_never_takes_a_local_account_nor_comes_from_a_user_nor_opens_a_disabled_one() {
    let mut db = with_unit();
    db.ok(put(None, fields("skane")));
    // Outside the IdP's namespace.
    assert_eq!(db.says(login("anna", Role::Admin, &[])), "user.invalid user_id bad_format");
    assert_eq!(db.says(login("skane.", Role::Admin, &[])), "user.invalid user_id bad_format");
    // A local account that happens to have such an id.
    db.ok(Command::CreateUser(user("skane.bo", Role::Admin, &[])));
    assert_eq!(db.says(login("skane.bo", Role::Staff, &[])), "user.forbidden");
    // Not even an admin may send one.
    assert_eq!(db.says_as(Some("skane.bo"), AT, login("skane.cia", Role::Admin, &[])), "user.forbidden");
    assert!(db.state.user(UserId::new("skane.cia")).unwrap().is_none());
    // An admin's "disabled" holds against the next login; a switched-off IdP logs nobody in.
    assert_eq!(db.says(login("skane.dan", Role::Staff, &[])), "applied");
    db.ok(Command::SetUserDisabled { user_id: UserId::new("skane.dan"), disabled: true });
    assert_eq!(db.says(login("skane.dan", Role::Staff, &[])), "user.forbidden");
    let mut off = fields("skane");
    off.disabled = true;
    db.ok(put(Some(1), off));
    assert_eq!(db.says(login("skane.eva", Role::Staff, &[])), "user.forbidden");
    assert_eq!(db.says(login("skane.eva", Role::Staff, &["finns-inte"])), "user.forbidden");
}

#[test]
fn a_card_idp_needs_no_issuer_and_maps_the_certificates_subject() {
    let mut db = with_unit();
    let mut card = fields("kort");
    card.protocol = Protocol::Card;
    card.mapping.user_attribute = "serial_number".into();
    card.mapping.org_attribute = Some("o".into());
    card.mapping.allowed_orgs = vec!["Region Sjölanda".into()];
    card.mapping.rules = vec![RoleRule {
        attribute: "ou".into(),
        value: "IVA".into(),
        role: Role::Staff,
        units: vec![UnitId::new("ost-iva")],
    }];
    assert_eq!(db.says(put(None, card)), "applied");
    let idp = db.state.idp(IdpId::new("kort")).unwrap().unwrap();
    assert_eq!((idp.protocol.clone(), idp.redacted().1), (Protocol::Card, false));
    let subject =
        attrs(&[("serial_number", "SE2321000016-1X2Y"), ("cn", "Eva Ek"), ("o", "Region Sjölanda"), ("ou", "IVA")]);
    let m = map(&idp, &subject, &|_: &str| unreachable!()).unwrap();
    assert_eq!((m.user_id.as_str(), m.role), ("kort.se2321000016-1x2y", Role::Staff));
}

#[test]
fn a_saml_idp_keeps_its_metadata_and_an_assertion_logs_in_once_on_any_node() {
    let mut db = with_unit();
    let mut saml = fields("kommun");
    saml.protocol = Protocol::Saml {
        entity_id: " https://idp.kommun.example/saml ".into(),
        metadata_url: Some("https://idp.kommun.example/metadata".into()),
        metadata_xml: "<EntityDescriptor/>".into(),
    };
    let mut bad = saml.clone();
    bad.protocol = Protocol::Saml { entity_id: "a b".into(), metadata_url: None, metadata_xml: "<x/>".into() };
    assert_eq!(db.says(put(None, bad.clone())), "idp.invalid entity_id bad_format");
    bad.protocol = Protocol::Saml { entity_id: "urn:x".into(), metadata_url: None, metadata_xml: "metadata".into() };
    assert_eq!(db.says(put(None, bad.clone())), "idp.invalid metadata_xml bad_format");
    bad.protocol = Protocol::Saml {
        entity_id: "urn:x".into(),
        metadata_url: None,
        metadata_xml: "<".repeat(MAX_METADATA_BYTES + 1),
    };
    assert_eq!(db.says(put(None, bad)), "idp.invalid metadata_xml too_long");
    assert_eq!(db.says(put(None, saml)), "applied");
    let idp = db.state.idp(IdpId::new("kommun")).unwrap().unwrap();
    assert!(
        matches!(&idp.protocol, Protocol::Saml { entity_id, .. } if entity_id == "https://idp.kommun.example/saml")
    );
    // The same assertion twice: the second login is refused and changes nothing, until it
    // would have expired anyway.
    let key = OnceKey::new("ab".repeat(32));
    let once = |user: &str| {
        let mut c = login(user, Role::Staff, &["ost-iva"]);
        if let Command::FederatedLogin { idp_id, once, .. } = &mut c {
            *idp_id = IdpId::new("kommun");
            *once = Some(OnceUse { key: key.clone(), until: AT + time::Duration::minutes(5) });
        }
        c
    };
    assert_eq!(db.says(once("kommun.anna")), "applied");
    assert_eq!(db.says(once("kommun.bo")), "user.forbidden");
    assert!(db.state.user(UserId::new("kommun.bo")).unwrap().is_none());
    assert_eq!(db.says_as(None, AT + time::Duration::minutes(6), once("kommun.bo")), "applied");
    let mut odd = once("kommun.cia");
    if let Command::FederatedLogin { once: Some(o), .. } = &mut odd {
        o.key = OnceKey::new("not-a-hash");
    }
    assert_eq!(db.says(odd), "user.invalid once.key bad_format");
}
