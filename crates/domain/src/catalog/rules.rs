//! How catalog commands are checked and applied: suppliers, care units, articles and the buyer
//! organisation.

use crate::catalog::gtin;
use crate::catalog::units;
use crate::check::{Outcome, address, applied, check_id, clean, digits, lines, next_version, opt_text, text};
use crate::command::{ArticleFields, Command, Envelope, OrganisationFields, SupplierFields, UnitFields};
use crate::model::{Article, CareUnit, ORGANISATION_ID, Organisation, Supplier};
use crate::orders::rules::MAX_QUANTITY;
use crate::party;
use crate::rejection::{Kind, Problem, Rejection};
use crate::state::{Changes, Key, Record, StateError, StateView, StateViewExt};

/// Checks what can be checked without state (see [`crate::apply::validate`]).
pub(crate) fn validate(cmd: &Command) -> Result<(), Rejection> {
    match cmd {
        Command::CreateSupplier(f) | Command::UpdateSupplier { fields: f, .. } => check_supplier(f),
        Command::CreateUnit(f) | Command::UpdateUnit { fields: f, .. } => check_unit(f),
        Command::SetOrganisation { fields, .. } => check_organisation(fields),
        Command::CreateArticle(f) | Command::UpdateArticle { fields: f, .. } => check_article(f),
        other => Err(Rejection::invalid(other.kind(), "type", Problem::UnknownCode)),
    }
}

/// Applies one of this area's commands (the router in [`crate::apply`] sends only those).
pub(crate) fn run(view: &dyn StateView, env: &Envelope, ch: &mut Changes) -> Result<Outcome, StateError> {
    match &env.cmd {
        Command::CreateSupplier(f) => put_supplier(view, f, None, ch),
        Command::UpdateSupplier { expected_version, fields } => put_supplier(view, fields, Some(*expected_version), ch),
        Command::SetOrganisation { expected_version, fields } => put_organisation(view, fields, *expected_version, ch),
        Command::CreateUnit(f) => put_unit(view, f, None, ch),
        Command::UpdateUnit { expected_version, fields } => put_unit(view, fields, Some(*expected_version), ch),
        Command::CreateArticle(f) => put_article(view, f, None, ch),
        Command::UpdateArticle { expected_version, fields } => put_article(view, fields, Some(*expected_version), ch),
        other => Ok(Err(Rejection::invalid(other.kind(), "type", Problem::UnknownCode))),
    }
}

fn put_supplier(
    view: &dyn StateView,
    f: &SupplierFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let current = view.supplier(&f.id)?.map(|s| s.version);
    let version = match next_version(Kind::Supplier, f.id.as_str(), current, expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let rec = Supplier {
        id: f.id.clone(),
        name: f.name.trim().to_owned(),
        org_number: clean(&f.org_number),
        gln: clean(&f.gln),
        email: clean(&f.email),
        phone: clean(&f.phone),
        country: clean(&f.country),
        address: lines(&f.address),
        withdrawn: f.withdrawn,
        version,
    };
    ch.put(Key::Supplier(f.id.clone()), Record::Supplier(rec));
    Ok(applied(Kind::Supplier, f.id.as_str(), version))
}

fn put_organisation(
    view: &dyn StateView,
    f: &OrganisationFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let current = view.organisation()?.map(|o| o.version);
    let version = match next_version(Kind::Organisation, ORGANISATION_ID, current, expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let rec = Organisation {
        name: f.name.trim().to_owned(),
        org_number: clean(&f.org_number),
        gln: clean(&f.gln),
        country: f.country.trim().to_owned(),
        currency: f.currency.trim().to_owned(),
        address: lines(&f.address),
        contact_name: clean(&f.contact_name),
        phone: clean(&f.phone),
        email: clean(&f.email),
        version,
    };
    ch.put(Key::Organisation, Record::Organisation(rec));
    Ok(applied(Kind::Organisation, ORGANISATION_ID, version))
}

fn put_unit(
    view: &dyn StateView,
    f: &UnitFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    let current = view.unit(&f.id)?.map(|s| s.version);
    let version = match next_version(Kind::Unit, f.id.as_str(), current, expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let rec = CareUnit {
        id: f.id.clone(),
        name: f.name.trim().to_owned(),
        site: f.site.trim().to_owned(),
        cost_centre: clean(&f.cost_centre),
        delivery_address: lines(&f.delivery_address),
        contact_name: clean(&f.contact_name),
        phone: clean(&f.phone),
        withdrawn: f.withdrawn,
        version,
    };
    ch.put(Key::Unit(f.id.clone()), Record::Unit(rec));
    Ok(applied(Kind::Unit, f.id.as_str(), version))
}

fn put_article(
    view: &dyn StateView,
    f: &ArticleFields,
    expected: Option<u64>,
    ch: &mut Changes,
) -> Result<Outcome, StateError> {
    if view.supplier(&f.supplier_id)?.is_none() {
        return Ok(Err(Rejection::Unknown {
            kind: Kind::Supplier,
            id: f.supplier_id.to_string(),
            field: "supplier_id".into(),
        }));
    }
    let current = view.article(&f.id)?.map(|s| s.version);
    let version = match next_version(Kind::Article, f.id.as_str(), current, expected) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let rec = Article {
        id: f.id.clone(),
        article_number: f.article_number.trim().to_owned(),
        gtin: clean(&f.gtin),
        name: f.name.trim().to_owned(),
        unit: f.unit.clone(),
        pack_size: f.pack_size,
        supplier_id: f.supplier_id.clone(),
        category: f.category.trim().to_owned(),
        price_cents: f.price_cents,
        withdrawn: f.withdrawn,
        version,
    };
    ch.put(Key::Article(f.id.clone()), Record::Article(rec));
    Ok(applied(Kind::Article, f.id.as_str(), version))
}

fn check_supplier(f: &SupplierFields) -> Result<(), Rejection> {
    let k = Kind::Supplier;
    check_id(k, "id", f.id.as_str())?;
    text(k, "name", &f.name, true)?;
    check_party(k, &f.org_number, &f.gln, &f.email, &f.phone)?;
    if let Some(c) = f.country.as_deref().map(str::trim).filter(|s| !s.is_empty())
        && !party::is_country_code(c)
    {
        return Err(Rejection::invalid(k, "country", Problem::BadFormat));
    }
    address(k, "address", &f.address)
}

/// Organisation number (with its check digit), GLN, e-mail and phone of a supplier or the buyer.
fn check_party(
    k: Kind,
    org_number: &Option<String>,
    gln: &Option<String>,
    email: &Option<String>,
    phone: &Option<String>,
) -> Result<(), Rejection> {
    opt_text(k, "org_number", org_number)?;
    if let Some(org) = org_number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        match party::OrgNumber::parse(org) {
            Ok(_) => {}
            Err(party::OrgNumberError::BadFormat) => {
                return Err(Rejection::invalid(k, "org_number", Problem::BadFormat));
            }
            Err(party::OrgNumberError::CheckDigit) => {
                return Err(Rejection::invalid(k, "org_number", Problem::CheckDigit));
            }
        }
    }
    // A GLN is a GTIN-13 in form: 13 digits with the same check digit.
    digits(k, "gln", gln, 13)?;
    opt_text(k, "email", email)?;
    if let Some(e) = email.as_deref().map(str::trim).filter(|s| !s.is_empty())
        && (!e.contains('@') || e.contains(char::is_whitespace))
    {
        return Err(Rejection::invalid(k, "email", Problem::BadFormat));
    }
    opt_text(k, "phone", phone)
}

fn check_organisation(f: &OrganisationFields) -> Result<(), Rejection> {
    let k = Kind::Organisation;
    text(k, "name", &f.name, true)?;
    check_party(k, &f.org_number, &f.gln, &f.email, &f.phone)?;
    if !party::is_country_code(f.country.trim()) {
        return Err(Rejection::invalid(k, "country", Problem::BadFormat));
    }
    if !party::is_currency_code(f.currency.trim()) {
        return Err(Rejection::invalid(k, "currency", Problem::BadFormat));
    }
    opt_text(k, "contact_name", &f.contact_name)?;
    address(k, "address", &f.address)
}

fn check_unit(f: &UnitFields) -> Result<(), Rejection> {
    let k = Kind::Unit;
    check_id(k, "id", f.id.as_str())?;
    text(k, "name", &f.name, true)?;
    text(k, "site", &f.site, true)?;
    opt_text(k, "cost_centre", &f.cost_centre)?;
    opt_text(k, "contact_name", &f.contact_name)?;
    opt_text(k, "phone", &f.phone)?;
    address(k, "delivery_address", &f.delivery_address)
}

fn check_article(f: &ArticleFields) -> Result<(), Rejection> {
    let k = Kind::Article;
    check_id(k, "id", f.id.as_str())?;
    text(k, "article_number", &f.article_number, true)?;
    text(k, "name", &f.name, true)?;
    text(k, "category", &f.category, true)?;
    check_id(k, "supplier_id", f.supplier_id.as_str())?;
    if let Some(g) = f.gtin.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if !matches!(g.len(), 8 | 12 | 13 | 14) || !g.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rejection::invalid(k, "gtin", Problem::BadFormat));
        }
        if !gtin::is_valid(g) {
            return Err(Rejection::invalid(k, "gtin", Problem::CheckDigit));
        }
    }
    if !units::is_known(&f.unit) {
        return Err(Rejection::invalid(k, "unit", Problem::UnknownCode));
    }
    if f.pack_size == 0 || f.pack_size > MAX_QUANTITY {
        return Err(Rejection::invalid(k, "pack_size", Problem::OutOfRange));
    }
    if f.price_cents.is_some_and(|p| !(0..=1_000_000_000).contains(&p)) {
        return Err(Rejection::invalid(k, "price_cents", Problem::OutOfRange));
    }
    Ok(())
}
