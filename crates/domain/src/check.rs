//! Checks and helpers every area's rules share: ids, free text, optional fields, addresses, and
//! the version a create or update yields. A leaf: it knows no area.

use crate::command::Verdict;
use crate::ids::is_valid_id;
use crate::rejection::{Kind, Problem, Rejection};

/// Longest free text (names, notes, reasons).
pub const MAX_TEXT: usize = 2000;

pub(crate) type Outcome = Result<Verdict, Rejection>;

/// The version a create or update yields: creation needs the record absent, an update needs it
/// present at `expected`.
pub(crate) fn next_version(
    kind: Kind,
    id: &str,
    current: Option<u64>,
    expected: Option<u64>,
) -> Result<u64, Rejection> {
    match (current, expected) {
        (None, None) => Ok(1),
        (Some(_), None) => Err(Rejection::AlreadyExists { kind, id: id.to_owned() }),
        (None, Some(_)) => Err(Rejection::NotFound { kind, id: id.to_owned() }),
        (Some(actual), Some(expected)) if actual != expected => {
            Err(Rejection::VersionConflict { kind, id: id.to_owned(), expected, actual })
        }
        (Some(actual), Some(_)) => Ok(actual + 1),
    }
}

pub(crate) fn applied(kind: Kind, id: &str, version: u64) -> Outcome {
    Ok(Verdict::Applied { kind, id: id.to_owned(), version })
}

pub(crate) fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

pub(crate) fn check_id(kind: Kind, field: &str, id: &str) -> Result<(), Rejection> {
    if id.is_empty() {
        Err(Rejection::invalid(kind, field, Problem::Required))
    } else if is_valid_id(id) {
        Ok(())
    } else {
        Err(Rejection::invalid(kind, field, Problem::BadFormat))
    }
}

/// Checks a free-text field; `required` rejects blank text.
pub(crate) fn text<'a>(kind: Kind, field: &str, s: &'a str, required: bool) -> Result<&'a str, Rejection> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(Rejection::invalid(kind, field, Problem::Required));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(Rejection::invalid(kind, field, Problem::TooLong));
    }
    Ok(t)
}

pub(crate) fn opt_text(kind: Kind, field: &str, s: &Option<String>) -> Result<(), Rejection> {
    s.as_deref().map(|s| text(kind, field, s, false)).transpose().map(|_| ())
}

pub(crate) fn digits(kind: Kind, field: &str, s: &Option<String>, len: usize) -> Result<(), Rejection> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(v) if v.len() != len || !v.bytes().all(|b| b.is_ascii_digit()) => {
            Err(Rejection::invalid(kind, field, Problem::BadFormat))
        }
        Some(v) if !crate::catalog::gtin::is_valid(v) => Err(Rejection::invalid(kind, field, Problem::CheckDigit)),
        _ => Ok(()),
    }
}

/// An address of at most eight lines of text.
pub(crate) fn address(k: Kind, field: &str, lines: &[String]) -> Result<(), Rejection> {
    if lines.len() > 8 {
        return Err(Rejection::invalid(k, field, Problem::TooMany));
    }
    for l in lines {
        text(k, field, l, false)?;
    }
    Ok(())
}

/// Address lines, trimmed, blank ones dropped.
pub(crate) fn lines(l: &[String]) -> Vec<String> {
    l.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect()
}
