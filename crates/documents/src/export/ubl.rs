//! PEPPOL BIS Order 3 (a UBL 2.1 `Order`), one per order and supplier: what a supplier's
//! e-ordering system reads. A PEPPOL order has one seller, so an order with lines from several
//! suppliers makes one document per supplier, each with only that supplier's lines.
//!
//! [`problems`] says, before anything is written, what keeps an order from making a valid
//! document (no buyer organisation, a party without an endpoint id, no lines); the files are
//! checked against the UBL schema and the official PEPPOL T01 rules in the tests.

use super::{Batch, OrderDoc};
use crate::i18n::Lang;
use domain::party::{self, Endpoint};
use domain::{Organisation, Supplier};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::io::Write as _;

const CUSTOMIZATION: &str = "urn:fdc:peppol.eu:poacc:trns:order:3";
/// Order only: no order response is expected back (we could not receive one anyway).
const PROFILE: &str = "urn:fdc:peppol.eu:poacc:bis:order_only:3";

/// One thing that keeps a PEPPOL document from being made, as a catalog key and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Problem {
    fn new(key: &'static str, args: &[(&'static str, &str)]) -> Self {
        Self { key, args: args.iter().map(|(k, v)| (*k, (*v).to_owned())).collect() }
    }

    pub fn text(&self, lang: Lang) -> String {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        lang.tf(self.key, &args)
    }
}

/// The suppliers of an order's lines, each once, in line order.
pub fn suppliers(doc: &OrderDoc) -> Vec<&Supplier> {
    let mut out: Vec<&Supplier> = Vec::new();
    for s in doc.lines.iter().filter_map(|l| l.supplier.as_ref()) {
        if !out.iter().any(|x| x.id == s.id) {
            out.push(s);
        }
    }
    out
}

/// Why the documents for `doc` cannot be made; empty when they can.
pub fn problems(doc: &OrderDoc, buyer: Option<&Organisation>) -> Vec<Problem> {
    let mut out = party_problems(buyer, &suppliers(doc));
    if doc.lines.is_empty() {
        out.push(Problem::new("peppol.no_lines", &[("number", &doc.order.number)]));
    }
    if doc.lines.iter().any(|l| l.supplier.is_none() || l.article.is_none()) {
        out.push(Problem::new("peppol.unknown_article", &[("number", &doc.order.number)]));
    }
    out
}

/// What the buyer and the suppliers lack for a PEPPOL document: an endpoint id, a country.
pub fn party_problems(buyer: Option<&Organisation>, suppliers: &[&Supplier]) -> Vec<Problem> {
    let mut out = Vec::new();
    match buyer {
        None => out.push(Problem::new("peppol.no_buyer", &[])),
        Some(b) if party::endpoint(b.org_number.as_deref(), b.gln.as_deref()).is_none() => {
            out.push(Problem::new("peppol.buyer_endpoint", &[("name", &b.name)]));
        }
        Some(_) => {}
    }
    for s in suppliers {
        if party::endpoint(s.org_number.as_deref(), s.gln.as_deref()).is_none() {
            out.push(Problem::new("peppol.supplier_endpoint", &[("name", &s.name)]));
        }
        if s.country.is_none() {
            out.push(Problem::new("peppol.supplier_country", &[("name", &s.name)]));
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum UblError {
    #[error("{}", .0.iter().map(|p| p.key).collect::<Vec<_>>().join(", "))]
    Incomplete(Vec<Problem>),
    #[error("writing XML: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing ZIP: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// The PEPPOL documents of `b`: one per order and supplier, named for the order (and the
/// supplier, where an order has several).
pub fn documents(b: &Batch, buyer: Option<&Organisation>, lang: Lang) -> Result<Vec<(String, Vec<u8>)>, UblError> {
    let problems: Vec<Problem> = b.orders.iter().flat_map(|d| problems(d, buyer)).collect();
    let Some(buyer) = buyer.filter(|_| problems.is_empty()) else {
        let mut unique: Vec<Problem> = Vec::new();
        for p in problems {
            if !unique.contains(&p) {
                unique.push(p);
            }
        }
        return Err(UblError::Incomplete(unique));
    };
    let mut out = Vec::new();
    for d in &b.orders {
        let sups = suppliers(d);
        for s in &sups {
            let name = if sups.len() == 1 {
                format!("order-{}", d.order.number)
            } else {
                format!("order-{}-{}", d.order.number, s.id)
            };
            out.push((name, order(d, buyer, s, b, lang)?));
        }
    }
    Ok(out)
}

/// One file for `b`: the XML itself for a single document, else a ZIP of them all.
pub fn write(b: &Batch, buyer: Option<&Organisation>, lang: Lang) -> Result<(Vec<u8>, bool), UblError> {
    let mut docs = documents(b, buyer, lang)?;
    if docs.len() == 1
        && let Some((_, xml)) = docs.pop()
    {
        return Ok((xml, false));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, xml) in docs {
        zip.start_file(super::file_name(&name, b.made_at.date(), "xml"), options)?;
        zip.write_all(&xml)?;
    }
    Ok((zip.finish()?.into_inner(), true))
}

/// Text as XML 1.0 allows it: control characters other than tab and line breaks become spaces.
fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}');
    if s.contains(bad) { s.replace(bad, " ").into() } else { s.into() }
}

/// A small writer of UBL elements; empty values are left out (PEPPOL-COMMON-R001).
struct Xml {
    w: Writer<Vec<u8>>,
}

type Res = std::io::Result<()>;

impl Xml {
    fn open(&mut self, name: &str) -> Res {
        self.w.write_event(Event::Start(BytesStart::new(name)))
    }

    fn close(&mut self, name: &str) -> Res {
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }

    fn leaf_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> Res {
        let text = clean(text.trim());
        if text.is_empty() {
            return Ok(());
        }
        let mut start = BytesStart::new(name);
        for a in attrs {
            start.push_attribute(*a);
        }
        self.w.write_event(Event::Start(start))?;
        self.w.write_event(Event::Text(BytesText::new(&text)))?;
        self.close(name)
    }

    fn leaf(&mut self, name: &str, text: &str) -> Res {
        self.leaf_with(name, &[], text)
    }

    fn amount(&mut self, name: &str, currency: &str, cents: i64) -> Res {
        self.leaf_with(name, &[("currencyID", currency)], &money(cents))
    }

    fn country(&mut self, code: &str) -> Res {
        self.open("cac:Country")?;
        self.leaf("cbc:IdentificationCode", code)?;
        self.close("cac:Country")
    }

    /// An address: a last line "412 80 Ekbacka" gives the postal zone and city, the others
    /// are address lines.
    fn address(&mut self, name: &str, lines: &[String], country: &str) -> Res {
        self.open(name)?;
        let (rest, postal) = match lines.split_last() {
            Some((last, rest)) => match postal_line(last) {
                Some(p) => (rest, Some(p)),
                None => (lines, None),
            },
            None => (lines, None),
        };
        if let Some((zone, city)) = postal {
            self.leaf("cbc:CityName", city)?;
            self.leaf("cbc:PostalZone", &zone)?;
        }
        for l in rest.iter().filter(|l| !clean(l.trim()).trim().is_empty()) {
            self.open("cac:AddressLine")?;
            self.leaf("cbc:Line", l)?;
            self.close("cac:AddressLine")?;
        }
        self.country(country)?;
        self.close(name)
    }

    fn contact(&mut self, name: Option<&str>, phone: Option<&str>, email: Option<&str>) -> Res {
        let has = |s: Option<&str>| s.is_some_and(|s| !clean(s.trim()).trim().is_empty());
        if !(has(name) || has(phone) || has(email)) {
            return Ok(());
        }
        self.open("cac:Contact")?;
        self.leaf("cbc:Name", name.unwrap_or_default())?;
        self.leaf("cbc:Telephone", phone.unwrap_or_default())?;
        self.leaf("cbc:ElectronicMail", email.unwrap_or_default())?;
        self.close("cac:Contact")
    }

    fn endpoint(&mut self, e: &Endpoint) -> Res {
        self.leaf_with("cbc:EndpointID", &[("schemeID", e.scheme)], &e.id)
    }
}

/// "412 80 Ekbacka" → ("41280", "Ekbacka"); "5005 Bergen" → ("5005", "Bergen").
fn postal_line(line: &str) -> Option<(String, &str)> {
    let line = line.trim();
    let digits_end = line.find(|c: char| !(c.is_ascii_digit() || c == ' '))?;
    let (zone, city) = line.split_at(digits_end);
    let zone: String = zone.chars().filter(char::is_ascii_digit).collect();
    (matches!(zone.len(), 4 | 5) && !city.trim().is_empty()).then(|| (zone, city.trim()))
}

/// Hundredths as a decimal with a point: 12345 → "123.45".
fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.unsigned_abs() / 100, cents.unsigned_abs() % 100)
}

/// The document for the lines of `d` that `seller` delivers.
fn order(d: &OrderDoc, buyer: &Organisation, seller: &Supplier, b: &Batch, lang: Lang) -> Result<Vec<u8>, UblError> {
    let o = &d.order;
    let (Some(buyer_ep), Some(seller_ep)) = (
        party::endpoint(buyer.org_number.as_deref(), buyer.gln.as_deref()),
        party::endpoint(seller.org_number.as_deref(), seller.gln.as_deref()),
    ) else {
        return Err(UblError::Incomplete(problems(d, Some(buyer))));
    };
    let lines: Vec<_> = d.lines.iter().filter(|l| l.supplier.as_ref().is_some_and(|s| s.id == seller.id)).collect();
    let currency = buyer.currency.as_str();
    let line_total =
        |l: &super::LineDoc| l.article.as_ref().and_then(|a| a.price_cents).map(|p| p * i64::from(l.line.quantity));
    let total: Option<i64> = lines.iter().map(|l| line_total(l)).sum();

    let mut x = Xml { w: Writer::new_with_indent(Vec::new(), b' ', 1) };
    x.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("Order");
    root.push_attribute(("xmlns", "urn:oasis:names:specification:ubl:schema:xsd:Order-2"));
    root.push_attribute(("xmlns:cac", "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"));
    root.push_attribute(("xmlns:cbc", "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"));
    x.w.write_event(Event::Start(root))?;
    x.leaf("cbc:CustomizationID", CUSTOMIZATION)?;
    x.leaf("cbc:ProfileID", PROFILE)?;
    x.leaf("cbc:ID", &o.number)?;
    let issued = o.history.iter().rev().find(|h| h.action == "approve").map_or(o.created_at, |h| h.at);
    x.leaf("cbc:IssueDate", &issued.date().to_string())?;
    let t = issued.time();
    x.leaf("cbc:IssueTime", &format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()))?;
    x.leaf("cbc:OrderTypeCode", "220")?;
    let mut note = Vec::new();
    if o.exercise.is_some() {
        note.push(lang.t("exercise.not_real_order").to_owned());
    }
    if o.urgent {
        note.push(lang.t("pdf.urgent").to_owned());
    }
    if let Some(n) = &o.note {
        note.push(n.clone());
    }
    if b.warning(lang).is_some() {
        note.push(b.source(lang));
    }
    x.leaf("cbc:Note", &note.join("\n"))?;
    x.leaf_with("cbc:DocumentCurrencyCode", &[("listID", "ISO4217")], currency)?;
    let unit = d.unit.as_ref();
    x.leaf("cbc:CustomerReference", &unit.map_or_else(|| o.unit_id.to_string(), |u| u.name.clone()))?;
    x.leaf("cbc:AccountingCost", unit.and_then(|u| u.cost_centre.as_deref()).unwrap_or_default())?;

    x.open("cac:BuyerCustomerParty")?;
    x.open("cac:Party")?;
    x.endpoint(&buyer_ep)?;
    if let Some(g) = buyer.gln.as_deref().filter(|_| buyer_ep.scheme == party::SCHEME_GLN) {
        x.open("cac:PartyIdentification")?;
        x.leaf_with("cbc:ID", &[("schemeID", party::SCHEME_GLN)], g)?;
        x.close("cac:PartyIdentification")?;
    }
    x.open("cac:PartyName")?;
    x.leaf("cbc:Name", &buyer.name)?;
    x.close("cac:PartyName")?;
    if !buyer.address.is_empty() {
        x.address("cac:PostalAddress", &buyer.address, &buyer.country)?;
    }
    x.open("cac:PartyLegalEntity")?;
    x.leaf("cbc:RegistrationName", &buyer.name)?;
    if let Some(org) = buyer.org_number.as_deref().and_then(|n| party::OrgNumber::parse(n).ok()) {
        x.leaf_with("cbc:CompanyID", &[("schemeID", org.scheme())], org.digits())?;
    }
    x.close("cac:PartyLegalEntity")?;
    x.contact(buyer.contact_name.as_deref(), buyer.phone.as_deref(), buyer.email.as_deref())?;
    x.close("cac:Party")?;
    x.close("cac:BuyerCustomerParty")?;

    x.open("cac:SellerSupplierParty")?;
    x.open("cac:Party")?;
    x.endpoint(&seller_ep)?;
    x.open("cac:PartyIdentification")?;
    x.leaf_with("cbc:ID", &[("schemeID", seller_ep.scheme)], &seller_ep.id)?;
    x.close("cac:PartyIdentification")?;
    x.open("cac:PartyName")?;
    x.leaf("cbc:Name", &seller.name)?;
    x.close("cac:PartyName")?;
    x.address("cac:PostalAddress", &seller.address, seller.country.as_deref().unwrap_or_default())?;
    x.open("cac:PartyLegalEntity")?;
    x.leaf("cbc:RegistrationName", &seller.name)?;
    x.close("cac:PartyLegalEntity")?;
    x.contact(None, seller.phone.as_deref(), seller.email.as_deref())?;
    x.close("cac:Party")?;
    x.close("cac:SellerSupplierParty")?;

    if let Some(u) = unit {
        x.open("cac:Delivery")?;
        if !u.delivery_address.is_empty() {
            x.open("cac:DeliveryLocation")?;
            x.address("cac:Address", &u.delivery_address, &buyer.country)?;
            x.close("cac:DeliveryLocation")?;
        }
        if let Some(by) = o.needed_by {
            x.open("cac:RequestedDeliveryPeriod")?;
            x.leaf("cbc:EndDate", &by.to_string())?;
            x.close("cac:RequestedDeliveryPeriod")?;
        }
        x.open("cac:DeliveryParty")?;
        x.open("cac:PartyName")?;
        x.leaf("cbc:Name", &format!("{}, {}", u.name, u.site))?;
        x.close("cac:PartyName")?;
        x.contact(u.contact_name.as_deref(), u.phone.as_deref(), None)?;
        x.close("cac:DeliveryParty")?;
        x.close("cac:Delivery")?;
    }

    if let Some(total) = total {
        x.open("cac:AnticipatedMonetaryTotal")?;
        x.amount("cbc:LineExtensionAmount", currency, total)?;
        x.amount("cbc:PayableAmount", currency, total)?;
        x.close("cac:AnticipatedMonetaryTotal")?;
    }

    for l in lines {
        let Some(a) = l.article.as_ref() else { continue };
        x.open("cac:OrderLine")?;
        x.leaf("cbc:Note", l.line.note.as_deref().unwrap_or_default())?;
        x.open("cac:LineItem")?;
        x.leaf("cbc:ID", &l.line.line_no.to_string())?;
        let code = domain::units::peppol_code(&a.unit);
        x.leaf_with(
            "cbc:Quantity",
            &[("unitCode", &code), ("unitCodeListID", "UNECERec20")],
            &l.line.quantity.to_string(),
        )?;
        if let (Some(amount), Some(price)) = (line_total(l), a.price_cents) {
            x.amount("cbc:LineExtensionAmount", currency, amount)?;
            x.open("cac:Price")?;
            x.amount("cbc:PriceAmount", currency, price)?;
            x.close("cac:Price")?;
        }
        x.open("cac:Item")?;
        if a.pack_size > 1 {
            x.leaf("cbc:Description", &lang.tf("pdf.pack", &[("n", &a.pack_size.to_string())]))?;
        }
        x.leaf("cbc:Name", &a.name)?;
        x.open("cac:SellersItemIdentification")?;
        x.leaf("cbc:ID", &a.article_number)?;
        x.close("cac:SellersItemIdentification")?;
        if let Some(g) = a.gtin.as_deref().filter(|g| !g.is_empty()) {
            x.open("cac:StandardItemIdentification")?;
            x.leaf_with("cbc:ID", &[("schemeID", party::SCHEME_GTIN)], g)?;
            x.close("cac:StandardItemIdentification")?;
        }
        x.close("cac:Item")?;
        x.close("cac:LineItem")?;
        x.close("cac:OrderLine")?;
    }
    x.close("Order")?;
    let mut out = x.w.into_inner();
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postal_lines_and_amounts() {
        assert_eq!(postal_line("412 80 Ekbacka"), Some(("41280".into(), "Ekbacka")));
        assert_eq!(postal_line("5005 Bergen"), Some(("5005".into(), "Bergen")));
        assert_eq!(postal_line("Box 1204"), None);
        assert_eq!(postal_line("12 Main Street"), None);
        assert_eq!(money(12345), "123.45");
        assert_eq!(money(5), "0.05");
        assert_eq!(clean("a\u{1}b\tc"), "a b\tc");
    }
}
