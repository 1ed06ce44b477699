//! Excel workbooks (rust_xlsxwriter): a summary sheet with one row per order and a sheet of
//! lines; numbers as numbers, dates as dates, a bold frozen header with an autofilter, and
//! columns wide enough to read.

use super::{Batch, Cell};
use crate::i18n::Lang;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

fn sheet(
    ws: &mut Worksheet,
    name: &str,
    lang: Lang,
    columns: &[&str],
    rows: &[Vec<Cell>],
    source: &str,
) -> Result<(), XlsxError> {
    ws.set_name(name)?;
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let money = Format::new().set_num_format("#,##0.00");
    let mut widths: Vec<usize> = columns.iter().map(|k| lang.t(k).chars().count()).collect();
    for (c, key) in columns.iter().enumerate() {
        ws.write_string_with_format(0, col(c), lang.t(key), &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in row.iter().enumerate() {
            let shown = match cell {
                Cell::Text(s) => {
                    ws.write_string(r, col(c), s)?;
                    s.chars().count()
                }
                Cell::Int(n) => {
                    // Exact for every count an order can hold.
                    #[allow(clippy::cast_precision_loss)]
                    ws.write_number(r, col(c), *n as f64)?;
                    n.to_string().len()
                }
                Cell::Money(Some(m)) => {
                    #[allow(clippy::cast_precision_loss)]
                    ws.write_number_with_format(r, col(c), *m as f64 / 100.0, &money)?;
                    12
                }
                Cell::Date(Some(d)) => {
                    let x =
                        ExcelDateTime::from_ymd(u16::try_from(d.year()).unwrap_or(1900), u8::from(d.month()), d.day())?;
                    ws.write_datetime_with_format(r, col(c), &x, &date)?;
                    10
                }
                Cell::Money(None) | Cell::Date(None) => 0,
            };
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(shown);
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        ws.set_column_width(col(c), (*w).clamp(8, 60) as f64 + 2.0)?;
    }
    ws.set_freeze_panes(1, 0)?;
    let last_row = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    ws.autofilter(0, 0, last_row, col(columns.len().saturating_sub(1)))?;
    // Where the file came from, below the table (outside the filter).
    ws.write_string(last_row + 2, 0, source)?;
    Ok(())
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

/// The workbook for `b`.
pub fn write(b: &Batch, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let source = b.source(lang);
    let summary = super::summary(lang, b);
    sheet(wb.add_worksheet(), lang.t("export.sheet_summary"), lang, &super::summary_columns(), &summary, &source)?;
    let lines = super::lines(lang, b);
    sheet(wb.add_worksheet(), lang.t("export.sheet_lines"), lang, &super::line_columns(), &lines, &source)?;
    wb.save_to_buffer()
}
