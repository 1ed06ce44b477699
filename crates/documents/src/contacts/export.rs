//! The directory as CSV (one row per entry, routes in fallback order as numbered columns with
//! stable column names, so a file can be edited and read back) and as vCard 3.0 (the version
//! phones, Outlook and Thunderbird all read), one card per entry.

use domain::contacts::{Contact, RouteKind};
use time::OffsetDateTime;

use super::Directory;
use crate::export::csv::neutralise;
use crate::i18n::Lang;

/// The fixed columns before the routes.
pub const COLUMNS: [&str; 9] =
    ["id", "kind", "name", "title", "organisation", "unit_id", "site", "supplier_id", "note"];
/// Each route's columns, numbered from 1: `route1_kind`, `route1_value`, …
pub const ROUTE_COLUMNS: [&str; 4] = ["kind", "value", "hours", "last_tested"];

/// CSV with a BOM, `;` for sv/nb and `,` for en, every entry (withdrawn ones too, marked).
pub fn csv(entries: &[&Contact], lang: Lang) -> Result<Vec<u8>, ::csv::Error> {
    let delimiter = if lang == Lang::En { b',' } else { b';' };
    let routes = entries.iter().map(|c| c.routes.len()).max().unwrap_or(0).max(1);
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = ::csv::WriterBuilder::new().delimiter(delimiter).from_writer(&mut out);
        let mut header: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        header.push("withdrawn".into());
        for i in 1..=routes {
            header.extend(ROUTE_COLUMNS.iter().map(|c| format!("route{i}_{c}")));
        }
        w.write_record(&header)?;
        for c in entries {
            let mut row: Vec<String> = vec![
                c.id.to_string(),
                c.kind.as_str().to_owned(),
                c.name.clone(),
                c.title.clone(),
                c.organisation.clone(),
                c.unit_id.as_ref().map(ToString::to_string).unwrap_or_default(),
                c.site.clone(),
                c.supplier_id.as_ref().map(ToString::to_string).unwrap_or_default(),
                c.note.clone(),
                if c.withdrawn { "true".into() } else { String::new() },
            ];
            for i in 0..routes {
                match c.routes.get(i) {
                    Some(r) => row.extend([
                        r.kind.as_str().to_owned(),
                        r.value.clone(),
                        r.hours.clone(),
                        r.last_tested.map(|d| d.to_string()).unwrap_or_default(),
                    ]),
                    None => row.extend(std::iter::repeat_n(String::new(), ROUTE_COLUMNS.len())),
                }
            }
            w.write_record(row.iter().map(|s| neutralise(s)))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// vCard 3.0 (RFC 2426): one card per entry, with every route in fallback order in the note.
pub fn vcards(dir: &Directory, entries: &[&Contact], lang: Lang, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let rev = now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    for c in entries {
        let mut card = vec!["BEGIN:VCARD".to_owned(), "VERSION:3.0".to_owned()];
        card.push(format!("UID:urn:beredd:contact:{}", c.id));
        card.push(format!("FN:{}", esc(&c.name)));
        // People: family name last; functions have only a name.
        let n = match (c.kind, c.name.rsplit_once(' ')) {
            (domain::contacts::ContactKind::Person, Some((given, family))) => {
                format!("{};{};;;", esc(family), esc(given))
            }
            _ => format!("{};;;;", esc(&c.name)),
        };
        card.push(format!("N:{n}"));
        let org = [c.organisation.as_str(), dir.unit_name(c).unwrap_or_default()]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| esc(s))
            .collect::<Vec<_>>()
            .join(";");
        if !org.is_empty() {
            card.push(format!("ORG:{org}"));
        }
        if !c.title.is_empty() {
            card.push(format!("TITLE:{}", esc(&c.title)));
        }
        let mut order = Vec::new();
        for (i, r) in c.routes.iter().enumerate() {
            let pref = if i == 0 { ",pref" } else { "" };
            match r.kind {
                RouteKind::Phone => card.push(format!("TEL;TYPE=work,voice{pref}:{}", esc(&r.value))),
                RouteKind::Mobile => card.push(format!("TEL;TYPE=cell,voice{pref}:{}", esc(&r.value))),
                RouteKind::Satellite => card.push(format!("TEL;TYPE=voice{pref}:{}", esc(&r.value))),
                RouteKind::Pager => card.push(format!("TEL;TYPE=pager{pref}:{}", esc(&r.value))),
                RouteKind::Email => card.push(format!("EMAIL;TYPE=internet{pref}:{}", esc(&r.value))),
                RouteKind::Rakel => card.push(format!("X-RAKEL:{}", esc(&r.value))),
                RouteKind::InPerson => {}
            }
            let mut line =
                format!("{}. {}: {}", i + 1, lang.t(&format!("contacts.route_{}", r.kind.as_str())), r.value);
            if !r.hours.is_empty() {
                line += &format!(" ({})", r.hours);
            }
            if let Some(d) = r.last_tested {
                line += &format!(", {} {}", lang.t("contacts.tested"), lang.date(d));
            }
            order.push(line);
        }
        let mut note = order.join("\n");
        if !c.note.is_empty() {
            note = format!("{note}\n{}", c.note);
        }
        if !note.is_empty() {
            card.push(format!("NOTE:{}", esc(&note)));
        }
        card.push(format!("REV:{rev}"));
        card.push("END:VCARD".to_owned());
        for line in card {
            out += &fold(&line);
        }
    }
    out
}

/// Escapes a text value (RFC 2426 §4): backslash, comma, semicolon and newlines.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => o.push_str("\\\\"),
            ',' => o.push_str("\\,"),
            ';' => o.push_str("\\;"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// A content line folded at 75 octets (never inside a UTF-8 character), ended with CRLF.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for ch in line.chars() {
        let n = ch.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += n;
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_lines_fold_between_characters() {
        let line = format!("NOTE:{}", "åäö".repeat(30));
        let folded = super::fold(&line);
        for l in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{l}");
        }
        assert_eq!(folded.replace("\r\n ", "").trim_end(), line);
        assert_eq!(super::esc("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
