//! `/admin/idps`: the identity providers staff log in through and the rules that make their
//! accounts, for admins — the list (with each node's callback URL to register at an OpenID
//! Connect IdP, the SAML SP's metadata and consumer URLs, and whether this node reaches each IdP
//! now) and the form. JSON twin: `/api/v1/idps`.
//!
//! Rules are typed one per line as `attribute | value | role | unit, unit`: a person whose
//! attribute has the value gets the role and the units; the first matching line decides.

use super::chrome::{Chrome, Ctx, Error, PageResult, render, see_path, urlencode};
use super::form::{Errors, Fields};
use super::{Outcome, form_id, submit};
use crate::backend::IdpReach;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use domain::federation::{IdentityProvider, IdpFields, Mapping, Protocol, RoleRule};
use domain::{Command, IdpId, Record, Role, StateViewExt, Table, UnitId};

pub struct Row {
    pub idp: IdentityProvider,
    /// The issuer (OpenID Connect) or entity id (SAML).
    pub issuer: String,
    /// OpenID Connect: each node's callback URL for this IdP (what to register at it).
    pub callbacks: Vec<String>,
    /// `reachable`, `unreachable` or `unknown` (from this node).
    pub reach: &'static str,
    pub reach_error: String,
}

#[derive(Template)]
#[template(path = "idps/list.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    /// This SP's metadata URL on each node, and its consumer services (when `[saml]` is set).
    saml_metadata: Vec<String>,
    saml_acs: Vec<String>,
}

pub async fn list(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("admin");
    ctx.admin()?;
    let b = ctx.backend.clone();
    let mut rows = Vec::new();
    for r in b.view().scan(Table::Idp, None, 1000)? {
        if let Record::Idp(idp) = r {
            let (issuer, callbacks) = match &idp.protocol {
                Protocol::Oidc { issuer, .. } => {
                    (issuer.clone(), node_urls(b.as_ref(), |u| crate::login::oidc_callback_url(u, &idp.id)))
                }
                Protocol::Saml { entity_id, .. } => (entity_id.clone(), Vec::new()),
                Protocol::Card => (ctx.c.t("idps.kind_card").to_owned(), Vec::new()),
            };
            let (reach, reach_error) = match b.idp_reach(&idp) {
                IdpReach::Reachable => ("reachable", String::new()),
                IdpReach::Unreachable(e) => ("unreachable", e),
                IdpReach::Unknown => ("unknown", String::new()),
            };
            rows.push(Row { issuer, callbacks, idp, reach, reach_error });
        }
    }
    let (saml_metadata, saml_acs) = if b.saml_sp() {
        let acs = super::saml::consumer_services(b.as_ref())?.into_iter().map(|(_, u)| u).collect();
        (node_urls(b.as_ref(), super::saml::metadata_url), acs)
    } else {
        (Vec::new(), Vec::new())
    };
    render(&ListPage { c: ctx.c, rows, saml_metadata, saml_acs })
}

/// `url` of each node's public URL (this node's alone before it knows the others).
fn node_urls(b: &dyn crate::Backend, url: impl Fn(&str) -> String) -> Vec<String> {
    let mut out: Vec<String> = b.cluster().nodes.values().map(|m| url(&m.http)).collect();
    if out.is_empty() {
        out.push(url(&b.public_url()));
    }
    out
}

/// The form's values, as stored or as typed (never the client secret).
#[derive(Default)]
struct Values {
    /// `oidc`, `saml` or `card`.
    kind: String,
    id: String,
    name: String,
    issuer: String,
    client_id: String,
    has_secret: bool,
    scopes: String,
    metadata_url: String,
    metadata_xml: String,
    user_attribute: String,
    pseudonymise: bool,
    name_attribute: String,
    org_attribute: String,
    allowed_orgs: String,
    rules: String,
    account_hours: String,
    disabled: bool,
}

impl Values {
    fn of(i: &IdentityProvider) -> Self {
        let m = &i.mapping;
        let (kind, issuer, client_id, has_secret, scopes) = match &i.protocol {
            Protocol::Oidc { issuer, client_id, client_secret, scopes } => {
                ("oidc", issuer.clone(), client_id.clone(), client_secret.is_some(), scopes.join(" "))
            }
            Protocol::Saml { .. } => ("saml", String::new(), String::new(), false, String::new()),
            Protocol::Card => ("card", String::new(), String::new(), false, String::new()),
        };
        let (metadata_url, metadata_xml) = match &i.protocol {
            Protocol::Saml { metadata_url, metadata_xml, .. } => {
                (metadata_url.clone().unwrap_or_default(), metadata_xml.clone())
            }
            _ => Default::default(),
        };
        Self {
            kind: kind.into(),
            id: i.id.to_string(),
            name: i.name.clone(),
            issuer,
            client_id,
            has_secret,
            scopes,
            metadata_url,
            metadata_xml,
            user_attribute: m.user_attribute.clone(),
            pseudonymise: m.pseudonymise,
            name_attribute: m.name_attribute.clone(),
            org_attribute: m.org_attribute.clone().unwrap_or_default(),
            allowed_orgs: m.allowed_orgs.join("\n"),
            rules: m.rules.iter().map(rule_line).collect::<Vec<_>>().join("\n"),
            account_hours: m.account_hours.to_string(),
            disabled: i.disabled,
        }
    }

    fn new_idp() -> Self {
        Self {
            kind: "oidc".into(),
            scopes: "profile".into(),
            user_attribute: "sub".into(),
            name_attribute: "name".into(),
            account_hours: domain::federation::DEFAULT_ACCOUNT_HOURS.to_string(),
            ..Self::default()
        }
    }
}

fn rule_line(r: &RoleRule) -> String {
    let units: Vec<&str> = r.units.iter().map(UnitId::as_str).collect();
    format!("{} | {} | {} | {}", r.attribute, r.value, r.role.as_str(), units.join(", "))
        .trim_end_matches(" | ")
        .to_owned()
}

/// `attribute | value | role | unit, unit` per line; `Err` names the first bad line (1-based).
fn parse_rules(text: &str) -> Result<Vec<RoleRule>, usize> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        let role = parts.get(2).and_then(|r| Role::ALL.into_iter().find(|x| x.as_str() == r.to_lowercase()));
        let (Some(attribute), Some(value), Some(role), true) = (parts.first(), parts.get(1), role, parts.len() <= 4)
        else {
            return Err(n + 1);
        };
        let units = parts
            .get(3)
            .map(|u| u.split([',', ' ']).filter(|s| !s.is_empty()).map(UnitId::new).collect())
            .unwrap_or_default();
        out.push(RoleRule { attribute: (*attribute).to_owned(), value: (*value).to_owned(), role, units });
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "idps/form.html")]
struct FormPage {
    c: Chrome,
    /// The IdP being edited (None: a new one).
    editing: Option<String>,
    version: u64,
    form: String,
    v: Values,
    errors: Errors,
    /// The "test the rules" box: the attributes typed, and what the rules made of them.
    trial: Trial,
}

/// A try of the stored rules on attributes an admin typed (nothing is saved).
#[derive(Default)]
pub struct Trial {
    pub attributes: String,
    /// `None`: not tried yet.
    pub outcome: Option<TrialOutcome>,
}

pub enum TrialOutcome {
    /// The account it would make: id, name, role, units.
    Account {
        id: String,
        name: String,
        role: Role,
        units: String,
    },
    Refused(String),
    /// A line that is not `name = value`.
    BadLine(usize),
}

/// `name = value` per line (a name may repeat: several values); `Err` names the bad line.
fn parse_attributes(text: &str) -> Result<domain::federation::Attributes, usize> {
    let mut out = domain::federation::Attributes::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else { return Err(n + 1) };
        out.entry(k.trim().to_owned()).or_default().push(v.trim().to_owned());
    }
    Ok(out)
}

/// What `idp`'s rules make of `text`'s attributes.
fn try_rules(ctx: &Ctx, idp: &IdentityProvider, text: &str) -> TrialOutcome {
    let attrs = match parse_attributes(text) {
        Ok(a) => a,
        Err(line) => return TrialOutcome::BadLine(line),
    };
    match crate::login::map_person(idp, &attrs) {
        Ok(m) => TrialOutcome::Account {
            id: m.user_id.to_string(),
            name: m.name,
            role: m.role,
            units: m.units.iter().map(UnitId::as_str).collect::<Vec<_>>().join(", "),
        },
        Err(r) => TrialOutcome::Refused(super::federated::refusal_text(ctx, &r)),
    }
}

fn show(ctx: Ctx, editing: Option<String>, version: u64, v: Values, errors: Errors, status: StatusCode) -> PageResult {
    show_trial(ctx, editing, version, v, errors, status, Trial::default())
}

fn show_trial(
    ctx: Ctx,
    editing: Option<String>,
    version: u64,
    v: Values,
    errors: Errors,
    status: StatusCode,
    trial: Trial,
) -> PageResult {
    let page = FormPage { c: ctx.c, editing, version, form: form_id(), v, errors, trial };
    let html = page.render().map_err(Error::internal)?;
    Ok((status, Html(html)).into_response())
}

pub async fn new_page(ctx: Ctx) -> PageResult {
    let ctx = ctx.in_section("admin");
    ctx.admin()?;
    show(ctx, None, 0, Values::new_idp(), Errors::default(), StatusCode::OK)
}

pub async fn edit_page(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let ctx = ctx.in_section("admin");
    ctx.admin()?;
    let Some(idp) = ctx.backend.view().idp(IdpId::new(&id))? else { return Err(ctx.not_found()) };
    show(ctx, Some(id), idp.version, Values::of(&idp), Errors::default(), StatusCode::OK)
}

/// `POST /admin/idps/{id}/test`: the stored rules tried on typed attributes; nothing saved.
pub async fn test_rules(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let ctx = ctx.in_section("admin");
    ctx.admin()?;
    let f = Fields(f);
    ctx.check_csrf(f.csrf())?;
    let Some(idp) = ctx.backend.view().idp(IdpId::new(&id))? else { return Err(ctx.not_found()) };
    let attributes = f.text("attributes");
    let outcome = try_rules(&ctx, &idp, &attributes);
    let trial = Trial { attributes, outcome: Some(outcome) };
    show_trial(ctx, Some(id), idp.version, Values::of(&idp), Errors::default(), StatusCode::OK, trial)
}

pub async fn create(ctx: Ctx, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save(ctx.in_section("admin"), None, Fields(f)).await
}

pub async fn update(ctx: Ctx, Path(id): Path<String>, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    save(ctx.in_section("admin"), Some(id), Fields(f)).await
}

async fn save(ctx: Ctx, editing: Option<String>, f: Fields) -> PageResult {
    let user = ctx.admin()?;
    ctx.check_csrf(f.csrf())?;
    let lang = ctx.lang();
    let typed = Values {
        kind: match f.text("kind").as_str() {
            k @ ("card" | "saml") => k.into(),
            _ => "oidc".into(),
        },
        id: editing.clone().unwrap_or_else(|| f.text("id")),
        name: f.text("name"),
        issuer: f.text("issuer"),
        client_id: f.text("client_id"),
        has_secret: false,
        scopes: f.text("scopes"),
        metadata_url: f.text("metadata_url"),
        metadata_xml: f.text("metadata_xml"),
        user_attribute: f.text("user_attribute"),
        pseudonymise: f.flag("pseudonymise"),
        name_attribute: f.text("name_attribute"),
        org_attribute: f.text("org_attribute"),
        allowed_orgs: f.text("allowed_orgs"),
        rules: f.text("rules"),
        account_hours: f.text("account_hours"),
        disabled: f.flag("disabled"),
    };
    let version: u64 = f.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut errors = Errors::default();
    let rules = parse_rules(&typed.rules).unwrap_or_else(|line| {
        errors.add("rules", lang.tf("idps.rule_line", &[("n", &line.to_string())]));
        Vec::new()
    });
    let hours = typed.account_hours.parse::<u32>().unwrap_or_else(|_| {
        errors.add("account_hours", lang.t("problem.out_of_range"));
        0
    });
    // SAML: the metadata fetched from its URL (or as pasted), checked, and its entity id.
    let mut saml = None;
    if typed.kind == "saml" {
        let url = Some(typed.metadata_url.clone()).filter(|u| !u.is_empty());
        let xml = Some(typed.metadata_xml.clone()).filter(|x| !x.is_empty());
        let field = if url.is_some() { "metadata_url" } else { "metadata_xml" };
        match ctx.backend.saml_idp_metadata(url.clone(), xml).await {
            Ok((entity_id, xml)) => saml = Some(Protocol::Saml { entity_id, metadata_url: url, metadata_xml: xml }),
            Err(e) => errors.add(field, lang.tf("idps.metadata_bad", &[("why", &super::federated::clip(&e))])),
        }
    }
    if !errors.fields.is_empty() {
        return show(ctx, editing, version, typed, errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let lines = |s: &str| s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let fields = IdpFields {
        id: IdpId::new(&typed.id),
        name: typed.name.clone(),
        protocol: match (typed.kind.as_str(), saml) {
            ("card", _) => Protocol::Card,
            (_, Some(saml)) => saml,
            _ => Protocol::Oidc {
                issuer: typed.issuer.clone(),
                client_id: typed.client_id.clone(),
                client_secret: Some(f.text("client_secret")).filter(|s| !s.is_empty()),
                scopes: typed.scopes.split_whitespace().map(str::to_owned).collect(),
            },
        },
        mapping: Mapping {
            user_attribute: typed.user_attribute.clone(),
            pseudonymise: typed.pseudonymise,
            name_attribute: typed.name_attribute.clone(),
            org_attribute: Some(typed.org_attribute.clone()).filter(|s| !s.is_empty()),
            allowed_orgs: lines(&typed.allowed_orgs),
            rules,
            account_hours: hours,
        },
        disabled: typed.disabled,
    };
    let cmd = Command::PutIdentityProvider {
        expected_version: editing.as_ref().map(|_| version),
        fields,
        pseudonym_key: crate::login::new_pseudonym_key(),
    };
    match submit(&ctx, &user, f.get("form"), cmd).await? {
        Outcome::Saved { .. } => see_path(&format!("/admin/idps/{}?done=saved", urlencode(&typed.id))),
        Outcome::Queued { seq } => see_path(&Outcome::queued_path(seq)),
        Outcome::Refused { message, field, .. } => {
            // `mapping.rules[1].units[0]` is about the rules; `protocol` fields are plain.
            let field = field.unwrap_or_default();
            let key = field.trim_start_matches("mapping.").split(['[', '.']).next().unwrap_or_default().to_owned();
            let known = [
                "id",
                "name",
                "issuer",
                "client_id",
                "client_secret",
                "scopes",
                "metadata_url",
                "metadata_xml",
                "user_attribute",
                "name_attribute",
                "org_attribute",
                "allowed_orgs",
                "rules",
                "account_hours",
            ];
            if known.contains(&key.as_str()) {
                errors.add(&key, message);
            } else {
                errors.form = Some(message);
            }
            show(ctx, editing, version, typed, errors, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rules_are_read_line_by_line_and_written_back_the_same_way() {
        let text = "groups | iva | staff | ost-iva, ekb-iva\n\n title|Inköpare|Purchaser\n";
        let rules = parse_rules(text).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].units, vec![UnitId::new("ost-iva"), UnitId::new("ekb-iva")]);
        assert_eq!((rules[1].value.as_str(), rules[1].role), ("Inköpare", Role::Purchaser));
        assert_eq!(rule_line(&rules[0]), "groups | iva | staff | ost-iva, ekb-iva");
        assert_eq!(rule_line(&rules[1]), "title | Inköpare | purchaser");
        assert_eq!(parse_rules("groups | iva | chef"), Err(1));
        assert_eq!(parse_rules("ok | x | staff\nbara en del"), Err(2));
        assert_eq!(parse_rules("a | b | staff | u | extra"), Err(1));
    }

    #[test]
    fn typed_attributes_are_name_value_lines_and_names_may_repeat() {
        let a = parse_attributes("hsa_id = SE1\n\ngroups=iva\ngroups = inkop = x\n").unwrap();
        assert_eq!(a["hsa_id"], vec!["SE1".to_owned()]);
        assert_eq!(a["groups"], vec!["iva".to_owned(), "inkop = x".to_owned()]);
        assert_eq!(parse_attributes("hsa_id = 1\nbara text"), Err(2));
        assert_eq!(parse_attributes(" = x"), Err(1));
    }
}
