//! Catalog import from CSV or XLSX: units, suppliers or articles, one per row, under a header
//! row naming the columns (English field names or their Swedish labels). Every row is checked
//! and every problem reported with its row number; only a file without problems becomes one
//! `Import` command, which the cluster applies all or nothing.

pub mod limits;

use crate::read_model::Index;
use domain::command::{ArticleFields, SupplierFields, UnitFields};
use domain::{ArticleId, Command, SupplierId, UnitId};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportKind {
    Units,
    Suppliers,
    Articles,
}

impl ImportKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "units" => Some(Self::Units),
            "suppliers" => Some(Self::Suppliers),
            "articles" => Some(Self::Articles),
            _ => None,
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Self::Units => "units",
            Self::Suppliers => "suppliers",
            Self::Articles => "articles",
        }
    }

    /// The columns, required first. Each has aliases (Swedish labels) in [`alias`].
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Units => {
                &["id", "name", "site", "cost_centre", "delivery_address", "contact_name", "phone", "withdrawn"]
            }
            Self::Suppliers => {
                &["id", "name", "org_number", "gln", "email", "phone", "country", "address", "withdrawn"]
            }
            Self::Articles => &[
                "id",
                "article_number",
                "name",
                "unit",
                "pack_size",
                "supplier_id",
                "category",
                "gtin",
                "price",
                "withdrawn",
            ],
        }
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            Self::Units => &["id", "name", "site"],
            Self::Suppliers => &["id", "name"],
            Self::Articles => &["id", "article_number", "name", "unit", "pack_size", "supplier_id", "category"],
        }
    }
}

/// Swedish and Norwegian column labels accepted in place of the field names.
fn alias(header: &str) -> String {
    let h = domain::search::fold(header.trim()).replace([' ', '-'], "_");
    let canonical = match h.as_str() {
        "namn" | "navn" | "benamning" | "artikelnamn" => "name",
        "artikelnummer" | "artikelnr" | "art_nr" | "artnr" | "varenummer" => "article_number",
        "enhet" | "forpackningsenhet" => "unit",
        "antal_per_forpackning" | "forpackningsstorlek" | "pack" => "pack_size",
        "leverantor" | "leverandor" | "leverantors_id" => "supplier_id",
        "kategori" => "category",
        "pris" | "a_pris" | "price_sek" => "price",
        "utgatt" | "utgaende" => "withdrawn",
        "sjukhus" | "plats" | "sykehus" => "site",
        "kostnadsstalle" | "ansvar" => "cost_centre",
        "leveransadress" | "leveringsadresse" => "delivery_address",
        "organisationsnummer" | "orgnr" | "org_nr" | "organisasjonsnummer" => "org_number",
        "e_post" | "epost" => "email",
        "telefon" => "phone",
        "land" => "country",
        "adress" | "postadress" | "adresse" => "address",
        "kontaktperson" | "kontakt" => "contact_name",
        other => other,
    };
    canonical.to_owned()
}

/// An address in one cell: lines split at '|' or line breaks.
fn address_lines(cell: &str) -> Vec<String> {
    cell.split(['|', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A problem in one row (1-based, as a spreadsheet numbers it, the header being row 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    /// A catalog key (`problem.required`, `import.unknown_supplier`, …).
    pub key: String,
    pub value: String,
}

/// Cells of a sheet, first row the header.
pub type Sheet = Vec<Vec<String>>;

/// Reads a CSV file: UTF-8 (with or without BOM), or Windows-1252 as older Excel saves it;
/// separated by semicolons or commas, whichever the header uses more. A cell our exports
/// guarded against formulas (`'+46…`) is read without the guard.
pub fn read_csv(bytes: &[u8]) -> Result<Sheet, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    };
    let header = text.lines().next().unwrap_or_default();
    let delimiter = if header.matches(';').count() >= header.matches(',').count() { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut out = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        out.push(rec.iter().map(|c| crate::export::csv::restore(c.trim()).to_owned()).collect());
    }
    Ok(out)
}

/// Reads the first sheet of an XLSX (or XLS/ODS) workbook, after [`limits::check_workbook`].
/// Takes a while for a big file: call it off the async workers.
pub fn read_workbook(bytes: &[u8]) -> Result<Sheet, String> {
    use calamine::{Data, Reader};
    limits::check_workbook(bytes)?;
    let mut wb =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).map_err(|e| e.to_string())?;
    let name = wb.sheet_names().first().cloned().ok_or("the workbook has no sheet")?;
    let range = wb.worksheet_range(&name).map_err(|e| e.to_string())?;
    Ok(range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    // Whole numbers (GTINs, pack sizes) without a trailing ".0".
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::Bool(b) => b.to_string(),
                    Data::Empty => String::new(),
                    other => other.to_string().trim().to_owned(),
                })
                .collect()
        })
        .collect())
}

/// A yes/no cell in Swedish, Norwegian or English; empty is no.
pub fn yes(s: &str) -> Option<bool> {
    match domain::search::fold(s).as_str() {
        "" | "0" | "nej" | "nei" | "no" | "false" | "n" => Some(false),
        "1" | "ja" | "yes" | "true" | "j" | "y" | "x" => Some(true),
        _ => None,
    }
}

/// Column positions by canonical name.
pub type Columns = HashMap<String, usize>;

/// The header's columns by canonical name (through `alias`) and the rows under it; or what stops
/// the whole file: no rows, a required column missing, more rows than one import may carry.
pub fn columns<'a>(
    sheet: &'a Sheet,
    required: &[&str],
    alias: fn(&str) -> String,
) -> Result<(Columns, &'a [Vec<String>]), Vec<RowError>> {
    let at = |row: usize, column: &str, key: &str, value: String| RowError {
        row,
        column: column.into(),
        key: key.into(),
        value,
    };
    let Some((header, body)) = sheet.split_first() else {
        return Err(vec![at(1, "", "import.empty", String::new())]);
    };
    let columns: Columns = header.iter().enumerate().map(|(i, h)| (alias(h), i)).collect();
    let missing: Vec<RowError> = required
        .iter()
        .filter(|c| !columns.contains_key(**c))
        .map(|c| at(1, c, "import.missing_column", String::new()))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    if body.len() > domain::apply::MAX_IMPORT_ROWS {
        return Err(vec![at(domain::apply::MAX_IMPORT_ROWS + 2, "", "import.too_many", body.len().to_string())]);
    }
    Ok((columns, body))
}

/// The data rows under the header that hold anything, each with its spreadsheet row number.
pub fn filled_rows<'a>(columns: &'a Columns, body: &'a [Vec<String>]) -> impl Iterator<Item = (usize, Cells<'a>)> + 'a {
    body.iter()
        .enumerate()
        .filter(|(_, cells)| !cells.iter().all(|c| c.trim().is_empty()))
        .map(move |(i, cells)| (i + 2, Cells { columns, cells }))
}

/// One row's cells, read by column name.
pub struct Cells<'a> {
    columns: &'a Columns,
    cells: &'a [String],
}

impl Cells<'_> {
    /// The cell of column `name`, trimmed; "" when the column or the cell is missing.
    pub fn get(&self, name: &str) -> String {
        self.columns.get(name).and_then(|i| self.cells.get(*i)).map(|s| s.trim().to_owned()).unwrap_or_default()
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name)).filter(|s| !s.is_empty())
    }
}

/// The catalog key for a rejection of one row's fields (`problem.bad_format`, …).
pub fn problem_key(r: &domain::Rejection) -> String {
    match r {
        domain::Rejection::Invalid { problem, .. } => format!("problem.{}", problem.as_str()),
        _ => "problem.bad_format".into(),
    }
}

/// The report line for a row the cluster refused (its message in `value`, no catalog key).
pub fn refused_row(row: u32, column: String, message: String) -> RowError {
    RowError { row: usize::try_from(row).unwrap_or(0) + 2, column, key: String::new(), value: message }
}

/// Turns a sheet into import rows, checked against the current state (`ix`) and against the
/// rows above. Either every row becomes a command, or every problem is reported.
pub fn rows(kind: ImportKind, sheet: &Sheet, ix: &Index) -> Result<Vec<Command>, Vec<RowError>> {
    let (columns, body) = columns(sheet, kind.required(), alias)?;
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (row, cells) in filled_rows(&columns, body) {
        let get = |name: &str| cells.get(name);
        let opt = |name: &str| cells.opt(name);
        let mut err = |column: &str, key: &str, value: String| {
            errors.push(RowError { row, column: column.into(), key: key.into(), value });
        };
        let id = get("id");
        if !seen.insert(id.clone()) && !id.is_empty() {
            err("id", "import.duplicate_id", id.clone());
            continue;
        }
        let withdrawn_raw = get("withdrawn");
        let Some(withdrawn) = yes(&withdrawn_raw) else {
            err("withdrawn", "problem.bad_format", withdrawn_raw);
            continue;
        };
        let cmd = match kind {
            ImportKind::Units => {
                let f = UnitFields {
                    id: UnitId::new(&id),
                    name: get("name"),
                    site: get("site"),
                    cost_centre: opt("cost_centre"),
                    delivery_address: address_lines(&get("delivery_address")),
                    contact_name: opt("contact_name"),
                    phone: opt("phone"),
                    withdrawn,
                };
                match ix.units.get(&f.id) {
                    Some(u) => Command::UpdateUnit { expected_version: u.version, fields: f },
                    None => Command::CreateUnit(f),
                }
            }
            ImportKind::Suppliers => {
                let f = SupplierFields {
                    id: SupplierId::new(&id),
                    name: get("name"),
                    org_number: opt("org_number"),
                    gln: opt("gln"),
                    email: opt("email"),
                    phone: opt("phone"),
                    country: opt("country").map(|c| c.to_ascii_uppercase()),
                    address: address_lines(&get("address")),
                    withdrawn,
                };
                match ix.suppliers.get(&f.id) {
                    Some(s) => Command::UpdateSupplier { expected_version: s.version, fields: f },
                    None => Command::CreateSupplier(f),
                }
            }
            ImportKind::Articles => {
                let pack = get("pack_size");
                let pack_size = match crate::i18n::parse_count(&pack) {
                    Some(n) => n,
                    None => {
                        err("pack_size", "problem.bad_number", pack);
                        continue;
                    }
                };
                let price = get("price");
                let price_cents = if price.is_empty() {
                    None
                } else {
                    match crate::i18n::parse_money(&price) {
                        Some(c) => Some(c),
                        None => {
                            err("price", "problem.bad_number", price);
                            continue;
                        }
                    }
                };
                let supplier_id = SupplierId::new(get("supplier_id"));
                if !ix.suppliers.contains_key(&supplier_id) {
                    err("supplier_id", "import.unknown_supplier", supplier_id.to_string());
                    continue;
                }
                let f = ArticleFields {
                    id: ArticleId::new(&id),
                    article_number: get("article_number"),
                    gtin: opt("gtin"),
                    name: get("name"),
                    unit: get("unit").to_ascii_uppercase(),
                    pack_size,
                    supplier_id,
                    category: get("category"),
                    price_cents,
                    withdrawn,
                };
                match ix.articles.get(&f.id) {
                    Some(a) => Command::UpdateArticle { expected_version: a.article.version, fields: f },
                    None => Command::CreateArticle(f),
                }
            }
        };
        if let Err(r) = domain::apply::validate(&cmd) {
            let column = r
                .field()
                .map(|f| if f == "price_cents" { "price".to_owned() } else { f.to_owned() })
                .unwrap_or_default();
            let value = get(&column);
            err(&column, &problem_key(&r), value);
            continue;
        }
        out.push(cmd);
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(RowError { row: 2, column: String::new(), key: "import.empty".into(), value: String::new() });
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}
