//! CSV for suppliers and spreadsheets: UTF-8 with BOM (so Excel reads å, ä, ö), semicolons and
//! decimal commas for Swedish and Norwegian, commas and points for English; RFC 4180 quoting by
//! the `csv` crate; text that a spreadsheet would run as a formula gets a leading apostrophe.

use super::{Batch, Cell};
use crate::i18n::Lang;

/// Text starting with `=`, `+`, `-`, `@` (or a tab or carriage return) gets a leading apostrophe
/// so that no spreadsheet runs it as a formula; numbers are written as numbers, untouched.
pub fn neutralise(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

/// The inverse of [`neutralise`], for reading back a file we (or a spreadsheet) wrote.
pub fn restore(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => s,
    }
}

fn money(lang: Lang, cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let point = if lang == Lang::En { '.' } else { ',' };
    format!("{sign}{}{point}{:02}", cents.unsigned_abs() / 100, cents.unsigned_abs() % 100)
}

/// The lines of `b`, one row per order line, with the header row in `lang`.
pub fn write(b: &Batch, lang: Lang) -> Result<Vec<u8>, ::csv::Error> {
    let delimiter = if lang == Lang::En { b',' } else { b';' };
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = ::csv::WriterBuilder::new().delimiter(delimiter).from_writer(&mut out);
        let mut header: Vec<String> = super::line_columns().iter().map(|k| lang.t(k).to_owned()).collect();
        header.push(lang.t("export.source_col").to_owned());
        w.write_record(&header)?;
        let source = neutralise(&b.source(lang));
        for row in super::lines(lang, b) {
            let mut rec: Vec<String> = row
                .into_iter()
                .map(|c| match c {
                    Cell::Text(s) => neutralise(&s),
                    Cell::Int(n) => n.to_string(),
                    Cell::Money(m) => m.map(|c| money(lang, c)).unwrap_or_default(),
                    Cell::Date(d) => d.map(|d| d.to_string()).unwrap_or_default(),
                })
                .collect();
            rec.push(source.clone());
            w.write_record(&rec)?;
        }
        w.flush()?;
    }
    Ok(out)
}
