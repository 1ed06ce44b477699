//! Directory import from CSV: the columns the CSV export writes (so an exported file can be
//! edited and read back), or their Swedish and Norwegian labels. Every row is checked and every
//! problem reported with its row and column; only a file without problems becomes one `Import`
//! command, which the cluster applies all or nothing.

use domain::command::ContactFields;
use domain::contacts::{ContactKind, Route, RouteKind};
use domain::{Command, ContactId, SupplierId, UnitId};
use std::collections::HashSet;
use time::Date;

use super::Directory;
use super::export::{COLUMNS, ROUTE_COLUMNS};
use crate::import::{RowError, Sheet, yes};

/// Swedish and Norwegian labels accepted in place of the column names. Route columns are
/// `routeN_…` or `vägN_…` / `kanalN_…`.
fn alias(header: &str) -> String {
    let h = domain::search::fold(header.trim()).replace([' ', '-'], "_");
    let h = match h.strip_prefix("vag").or_else(|| h.strip_prefix("kanal")) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => format!("route{rest}"),
        _ => h,
    };
    let canonical = match h.as_str() {
        "typ" | "type" | "slag" => "kind",
        "namn" | "navn" => "name",
        "titel" | "tittel" | "funktion" | "funksjon" | "roll" | "rolle" => "title",
        "organisasjon" => "organisation",
        "enhet" | "avdeling" | "vardenhet" => "unit_id",
        "sjukhus" | "plats" | "sykehus" => "site",
        "leverantor" | "leverandor" => "supplier_id",
        "anteckning" | "notat" | "merknad" => "note",
        "utgatt" | "utgaende" => "withdrawn",
        other => {
            let route = other.strip_prefix("route").and_then(|rest| rest.split_once('_'));
            return match route {
                Some((n, col)) => {
                    let col = match col {
                        "typ" | "type" | "slag" => "kind",
                        "varde" | "nummer" | "verdi" | "adress" => "value",
                        "tider" | "oppettider" | "apningstider" => "hours",
                        "testad" | "senast_testad" | "sist_testet" | "testet" => "last_tested",
                        c => c,
                    };
                    format!("route{n}_{col}")
                }
                None => other.to_owned(),
            };
        }
    };
    canonical.to_owned()
}

/// A route kind by its code or its Swedish/Norwegian name.
fn route_kind(s: &str) -> Option<RouteKind> {
    let f = domain::search::fold(s.trim()).replace([' ', '-'], "_");
    RouteKind::parse(&f).or(match f.as_str() {
        "telefon" | "tfn" => Some(RouteKind::Phone),
        "mobil" | "mobiltelefon" => Some(RouteKind::Mobile),
        "e_post" | "epost" | "mail" => Some(RouteKind::Email),
        "nodnett" | "talgrupp" | "talegruppe" => Some(RouteKind::Rakel),
        "satellit" | "satellittelefon" => Some(RouteKind::Satellite),
        "personsokare" | "sokare" | "personsoker" | "calling" => Some(RouteKind::Pager),
        "besok" | "pa_plats" | "oppmote" | "plats" => Some(RouteKind::InPerson),
        _ => None,
    })
}

fn contact_kind(s: &str) -> Option<ContactKind> {
    let f = domain::search::fold(s.trim());
    ContactKind::parse(&f).or(match f.as_str() {
        "" | "funktion" | "funksjon" => Some(ContactKind::Function),
        "person" => Some(ContactKind::Person),
        _ => None,
    })
}

/// The column a domain field name (`routes[1].value`) was read from (`route2_value`).
fn column_of(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("routes[")
        && let Some((i, col)) = rest.split_once("].")
        && let Ok(i) = i.parse::<usize>()
    {
        return format!("route{}_{col}", i + 1);
    }
    field.to_owned()
}

/// Every column the import reads, for the page's help text: the fixed ones, then route 1's.
pub fn columns() -> String {
    let mut cols: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    cols.push("withdrawn".into());
    cols.extend(ROUTE_COLUMNS.iter().map(|c| format!("route1_{c}")));
    cols.push("route2_…".into());
    cols.join("; ")
}

/// Turns a sheet into `PutContact` rows (an entry already in `dir` is replaced at the version
/// read), or reports every problem. Row numbers count the header as row 1.
pub fn rows(sheet: &Sheet, dir: &Directory) -> Result<Vec<Command>, Vec<RowError>> {
    let err_at = |row: usize, column: &str, key: &str, value: &str| RowError {
        row,
        column: column.into(),
        key: key.into(),
        value: value.into(),
    };
    let (columns, body) = crate::import::columns(sheet, &["id", "name"], alias)?;
    // Route numbers present in the header, in order.
    let mut route_numbers: Vec<usize> =
        columns.keys().filter_map(|c| c.strip_prefix("route")?.split_once('_')?.0.parse().ok()).collect();
    route_numbers.sort_unstable();
    route_numbers.dedup();

    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (row, cells) in crate::import::filled_rows(&columns, body) {
        let get = |name: &str| cells.get(name);
        let opt = |name: &str| cells.opt(name);
        let before = errors.len();
        let mut err = |column: &str, key: &str, value: String| errors.push(err_at(row, column, key, &value));

        let id = get("id");
        if !id.is_empty() && !seen.insert(id.clone()) {
            err("id", "import.duplicate_id", id);
            continue;
        }
        let kind = contact_kind(&get("kind")).unwrap_or_else(|| {
            err("kind", "problem.unknown_code", get("kind"));
            ContactKind::Function
        });
        let withdrawn = yes(&get("withdrawn")).unwrap_or_else(|| {
            err("withdrawn", "problem.bad_format", get("withdrawn"));
            false
        });
        let mut routes = Vec::new();
        for n in &route_numbers {
            let col = |c: &str| format!("route{n}_{c}");
            let (kind_cell, value) = (get(&col("kind")), get(&col("value")));
            let (hours, tested) = (get(&col("hours")), get(&col("last_tested")));
            if kind_cell.is_empty() && value.is_empty() && hours.is_empty() && tested.is_empty() {
                continue;
            }
            let Some(kind) = route_kind(&kind_cell) else {
                err(&col("kind"), "problem.unknown_code", kind_cell);
                continue;
            };
            let last_tested = if tested.is_empty() {
                None
            } else {
                match Date::parse(&tested, time::macros::format_description!("[year]-[month]-[day]")) {
                    Ok(d) => Some(d),
                    Err(_) => {
                        err(&col("last_tested"), "problem.bad_date", tested);
                        continue;
                    }
                }
            };
            routes.push(Route { kind, value, hours, last_tested, note: String::new() });
        }
        let unit_id = opt("unit_id").map(UnitId::new);
        if let Some(u) = &unit_id
            && !dir.has_unit(u)
        {
            err("unit_id", "import.unknown_unit", u.to_string());
        }
        if errors.len() > before {
            continue;
        }
        let fields = ContactFields {
            id: ContactId::new(&id),
            kind,
            name: get("name"),
            title: get("title"),
            organisation: get("organisation"),
            unit_id,
            site: get("site"),
            supplier_id: opt("supplier_id").map(SupplierId::new),
            routes,
            note: get("note"),
            withdrawn,
        };
        let expected_version = dir.contact(&fields.id).map(|c| c.version);
        let cmd = Command::PutContact { expected_version, fields };
        if let Err(r) = domain::apply::validate(&cmd) {
            let column = r.field().map(column_of).unwrap_or_default();
            let value = get(&column);
            errors.push(err_at(row, &column, &crate::import::problem_key(&r), &value));
            continue;
        }
        out.push(cmd);
    }
    if out.is_empty() && errors.is_empty() {
        errors.push(err_at(2, "", "import.empty", ""));
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// The column of a refusal the cluster gave for a row (its field, as the file names it).
pub fn refused_column(field: Option<&str>) -> String {
    field.map(column_of).unwrap_or_default()
}
