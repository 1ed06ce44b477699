//! Limits a workbook must meet before calamine reads it. An XLSX or ODS file is a ZIP of XML
//! whose declared counts and dimensions calamine trusts when it allocates: a 3 kB file that
//! claims 10¹¹ shared strings, or a sheet from A1 to XFD1048576, would take the node's memory.
//! So the archive is unpacked here first, within a budget, and the XML that sizes things is
//! read with a streaming parser (no recursion, so deep nesting costs nothing).

use quick_xml::events::{BytesStart, Event};
use std::io::{Cursor, Read};

/// Entries an archive may have.
pub const MAX_ENTRIES: usize = 1_000;
/// Bytes the whole archive may unpack to (a catalog of 100 000 articles is ~30 MB of XML).
pub const MAX_UNPACKED: u64 = 64 << 20;
/// Rows a sheet may have.
pub const MAX_ROWS: u64 = 200_000;
/// Cells a sheet's used area (rows × columns) may span.
pub const MAX_CELLS: u64 = 5_000_000;
/// Shared strings a workbook may declare or hold.
pub const MAX_SHARED_STRINGS: u64 = 1_000_000;

/// Checks `bytes` if it is a ZIP-based workbook (XLSX, ODS); other formats pass through.
pub fn check_workbook(bytes: &[u8]) -> Result<(), String> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return Ok(());
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a readable workbook: {e}"))?;
    if zip.len() > MAX_ENTRIES {
        return Err(format!("the workbook has {} parts (at most {MAX_ENTRIES})", zip.len()));
    }
    let mut unpacked = 0u64;
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(|e| format!("not a readable workbook: {e}"))?;
        let name = part.name().map_err(|e| format!("not a readable workbook: {e}"))?.into_owned();
        let mut data = Vec::new();
        // The declared size may lie: count what actually comes out.
        (&mut part)
            .take(MAX_UNPACKED - unpacked + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("not a readable workbook ({name}): {e}"))?;
        unpacked += data.len() as u64;
        if unpacked > MAX_UNPACKED {
            return Err(format!("the workbook unpacks to more than {} MB", MAX_UNPACKED >> 20));
        }
        if name == "xl/sharedStrings.xml" {
            shared_strings(&data)?;
        } else if name.starts_with("xl/worksheets/") && name.ends_with(".xml") {
            xlsx_sheet(&data).map_err(|e| format!("{name}: {e}"))?;
        } else if name == "content.xml" {
            ods_content(&data)?;
        }
    }
    Ok(())
}

fn xml_error(e: impl std::fmt::Display) -> String {
    format!("the workbook's XML is malformed: {e}")
}

fn attr_u64(e: &BytesStart<'_>, name: &str) -> Result<Option<u64>, String> {
    match e.try_get_attribute(name).map_err(xml_error)? {
        Some(a) => {
            let v = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(xml_error)?;
            v.trim().parse().map(Some).map_err(|_| xml_error(format!("{name} is not a count")))
        }
        None => Ok(None),
    }
}

fn attr_text(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    match e.try_get_attribute(name).map_err(xml_error)? {
        Some(a) => Ok(Some(a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(xml_error)?.into_owned())),
        None => Ok(None),
    }
}

fn shared_strings(xml: &[u8]) -> Result<(), String> {
    let mut r = quick_xml::Reader::from_reader(xml);
    let (mut buf, mut held) = (Vec::new(), 0u64);
    loop {
        match r.read_event_into(&mut buf).map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "sst" => {
                    for key in ["uniqueCount", "count"] {
                        if attr_u64(&e, key)?.is_some_and(|n| n > MAX_SHARED_STRINGS) {
                            return Err(format!("the workbook declares more than {MAX_SHARED_STRINGS} texts"));
                        }
                    }
                }
                "si" => {
                    held += 1;
                    if held > MAX_SHARED_STRINGS {
                        return Err(format!("the workbook holds more than {MAX_SHARED_STRINGS} texts"));
                    }
                }
                _ => {}
            },
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// `XFD1048576` → (row 1048576, column 16384), both 1-based.
fn cell_ref(s: &str) -> Option<(u64, u64)> {
    let letters = s.bytes().take_while(u8::is_ascii_alphabetic).count();
    let (col, row) = s.split_at(letters);
    let mut c = 0u64;
    for b in col.bytes() {
        c = c.checked_mul(26)?.checked_add(u64::from(b.to_ascii_uppercase() - b'A' + 1))?;
    }
    let row = if row.is_empty() { 1 } else { row.parse().ok()? };
    Some((row, c.max(1)))
}

fn too_big(rows: u64, cols: u64) -> Result<(), String> {
    if rows > MAX_ROWS {
        return Err(format!("a sheet reaches row {rows} (at most {MAX_ROWS})"));
    }
    if rows.saturating_mul(cols) > MAX_CELLS {
        return Err(format!("a sheet spans {rows} rows × {cols} columns (at most {MAX_CELLS} cells)"));
    }
    Ok(())
}

fn xlsx_sheet(xml: &[u8]) -> Result<(), String> {
    let mut r = quick_xml::Reader::from_reader(xml);
    let (mut buf, mut rows, mut cols) = (Vec::new(), 0u64, 0u64);
    loop {
        match r.read_event_into(&mut buf).map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "dimension" => {
                    let area = attr_text(&e, "ref")?.unwrap_or_default();
                    let last = area.rsplit(':').next().unwrap_or_default();
                    let (r2, c2) = cell_ref(last).ok_or_else(|| xml_error(format!("bad dimension {area:?}")))?;
                    too_big(r2, c2)?;
                }
                "row" => {
                    if let Some(n) = attr_u64(&e, "r")? {
                        rows = rows.max(n);
                    }
                }
                "c" => {
                    if let Some(at) = attr_text(&e, "r")? {
                        let (r2, c2) = cell_ref(&at).ok_or_else(|| xml_error(format!("bad cell reference {at:?}")))?;
                        rows = rows.max(r2);
                        cols = cols.max(c2);
                    }
                    too_big(rows, cols)?;
                }
                _ => {}
            },
            Event::Eof => return too_big(rows, cols),
            _ => {}
        }
        buf.clear();
    }
}

/// An ODS sheet repeats rows and cells by count (`number-rows-repeated`); the used area is what
/// the repeats make of the cells that hold something.
fn ods_content(xml: &[u8]) -> Result<(), String> {
    let mut r = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let (mut row, mut row_repeat, mut col, mut row_used) = (0u64, 1u64, 0u64, false);
    let (mut rows, mut cols) = (0u64, 0u64);
    loop {
        let event = r.read_event_into(&mut buf).map_err(xml_error)?;
        let (e, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = e {
            match e.local_name().as_ref() {
                "table" => (row, rows, cols) = (0, 0, 0),
                "table-row" => {
                    row_repeat = attr_u64(e, "table:number-rows-repeated")?.unwrap_or(1).max(1);
                    (col, row_used) = (0, false);
                    if empty {
                        row = row.saturating_add(row_repeat);
                    }
                }
                "table-cell" | "covered-table-cell" => {
                    let repeat = attr_u64(e, "table:number-columns-repeated")?.unwrap_or(1).max(1);
                    let holds = !empty || e.try_get_attribute("office:value-type").map_err(xml_error)?.is_some();
                    col = col.saturating_add(repeat);
                    if holds {
                        cols = cols.max(col);
                        row_used = true;
                    }
                }
                _ => {}
            }
        }
        match event {
            Event::End(e) if e.local_name().as_ref() == "table-row" => {
                if row_used {
                    rows = rows.max(row.saturating_add(row_repeat));
                    too_big(rows, cols)?;
                }
                row = row.saturating_add(row_repeat);
            }
            Event::Eof => return too_big(rows, cols),
            _ => {}
        }
        buf.clear();
    }
}

/// A ZIP of `parts`, deflated (what an XLSX or ODS file is), for tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in parts {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SHEET_OK: &[u8] =
        br#"<worksheet><dimension ref="A1:C2"/><sheetData><row r="1"><c r="A1"/></row></sheetData></worksheet>"#;

    #[test]
    fn a_tiny_xlsx_claiming_a_hundred_billion_texts_is_refused_before_parsing() {
        let sst = br#"<sst count="100000000000" uniqueCount="100000000000"><si><t>a</t></si></sst>"#;
        let file = zip_of(&[("xl/sharedStrings.xml", &sst[..]), ("xl/worksheets/sheet1.xml", SHEET_OK)]);
        assert!(file.len() < 3000, "{}", file.len());
        let e = check_workbook(&file).unwrap_err();
        assert!(e.contains("texts"), "{e}");
        assert!(crate::import::read_workbook(&file).is_err());
    }

    #[test]
    fn a_sheet_spanning_the_whole_grid_is_refused() {
        for sheet in [
            &br#"<worksheet><dimension ref="A1:XFD1048576"/></worksheet>"#[..],
            br#"<worksheet><sheetData><row r="1"><c r="A1"/></row><row r="1048576"><c r="XFD1048576"/></row></sheetData></worksheet>"#,
        ] {
            let file = zip_of(&[("xl/worksheets/sheet1.xml", sheet)]);
            assert!(check_workbook(&file).unwrap_err().contains("sheet"));
        }
        assert!(check_workbook(&zip_of(&[("xl/worksheets/sheet1.xml", SHEET_OK)])).is_ok());
    }

    #[test]
    fn an_archive_unpacking_past_the_budget_is_refused_without_unpacking_it_all() {
        // 1 GB of zeros would take a while to make; 65 MB past a 64 MB budget says the same.
        let big = vec![0u8; (MAX_UNPACKED + (1 << 20)) as usize];
        let file = zip_of(&[("xl/worksheets/sheet1.xml", &big)]);
        assert!(file.len() < 200_000, "{}", file.len());
        assert!(check_workbook(&file).unwrap_err().contains("unpacks"));
    }

    #[test]
    fn an_ods_repeating_a_filled_row_a_million_times_is_refused() {
        let content = br#"<office:document-content><office:body><office:spreadsheet><table:table><table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="1000" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
        let file = zip_of(&[
            ("mimetype", &b"application/vnd.oasis.opendocument.spreadsheet"[..]),
            ("content.xml", &content[..]),
        ]);
        assert!(check_workbook(&file).unwrap_err().contains("sheet"));
        // Trailing empty rows, as LibreOffice writes them, are fine.
        let normal = br#"<table:table><table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16383"/></table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="16384"/></table:table-row></table:table>"#;
        assert!(check_workbook(&zip_of(&[("content.xml", &normal[..])])).is_ok());
    }

    #[test]
    fn garbage_that_looks_like_a_zip_gets_a_reason() {
        let e = check_workbook(b"PK\x03\x04 not really a zip").unwrap_err();
        assert!(e.contains("not a readable workbook"), "{e}");
    }
}
