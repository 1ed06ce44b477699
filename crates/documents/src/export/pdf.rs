//! Order forms as A4 PDF (printpdf): what a supplier needs to act on an order when it arrives
//! on paper or by mail. Each page repeats the header (title, order, page x of y) and a footer
//! with the print time, the node and, without quorum, the warning that the cluster has not
//! confirmed it. A batch has one section per order, or one consolidated list grouped by order.
//!
//! Layout is done here, in millimetres from the top left: text is measured with the font's own
//! advance widths and wrapped to its column. The font (DejaVu Sans Condensed, covering Nordic
//! and most European scripts) is cut down to the glyphs a file uses before it is embedded, so
//! a one-page order stays small.

use super::{Batch, LineDoc, OrderDoc};
use crate::i18n::Lang;
use domain::{Organisation, Supplier};
use printpdf::{
    Color, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point,
    Pt, Rect, Rgb, TextItem,
};
use std::collections::BTreeSet;
use std::sync::OnceLock;

static REGULAR_TTF: &[u8] = include_bytes!("../../fonts/DejaVuSansCondensed.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../fonts/DejaVuSansCondensed-Bold.ttf");

/// How a supplier batch is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One section per order, each starting on a new page.
    PerOrder,
    /// One list of every line, grouped by order under a line with its delivery details.
    Consolidated,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("font: {0}")]
    Font(String),
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 14.0;
const BODY_TOP: f32 = MARGIN + 17.0;
const MM_PER_PT: f32 = 25.4 / 72.0;

/// A font's metrics: the full face, parsed once per process.
pub(super) struct Face {
    font: ParsedFont,
}

impl Face {
    fn has(&self, c: char) -> bool {
        self.font.lookup_glyph_index(c as u32).is_some()
    }

    /// Width of `s` at `size` points, in millimetres.
    fn width(&self, s: &str, size: f32) -> f32 {
        let upem = f32::from(self.font.units_per_em.max(1));
        let units: u32 = s
            .chars()
            .map(|c| {
                self.font.lookup_glyph_index(c as u32).and_then(|g| self.font.get_glyph_width(g)).map_or(500, u32::from)
            })
            .sum();
        units as f32 / upem * size * MM_PER_PT
    }
}

pub(super) fn faces() -> Result<&'static [Face; 2], PdfError> {
    static FACES: OnceLock<Option<[Face; 2]>> = OnceLock::new();
    FACES
        .get_or_init(|| {
            let parse = |b: &[u8]| ParsedFont::from_bytes(b, 0, &mut Vec::new()).map(|font| Face { font });
            Some([parse(REGULAR_TTF)?, parse(BOLD_TTF)?])
        })
        .as_ref()
        .ok_or_else(|| PdfError::Font("the embedded font could not be read".into()))
}

/// Text as the font can show it: control characters become spaces, invisible format marks
/// (bidi marks, zero-width spaces) are dropped, characters without a glyph become '?'.
fn printable(face: &Face, s: &str) -> String {
    s.chars()
        .filter(|c| !is_format(*c))
        .map(|c| {
            if c.is_control() {
                ' '
            } else if face.has(c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn is_format(c: char) -> bool {
    matches!(c, '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// One thing drawn on a page, in millimetres from the top left; `y` is the text's baseline.
pub(super) enum Draw {
    Text { x: f32, y: f32, size: f32, bold: bool, grey: bool, text: String },
    Rule { x1: f32, x2: f32, y: f32, width: f32 },
    Shade { x: f32, y: f32, w: f32, h: f32 },
}

/// The page header: the title and what follows it on the line below.
#[derive(Clone)]
pub(super) struct Header {
    pub(super) title: String,
    pub(super) subtitle: String,
    pub(super) urgent: bool,
}

struct Page {
    header: Header,
    draws: Vec<Draw>,
}

/// Pages being laid out, and where the next thing goes.
pub(super) struct Canvas<'a> {
    faces: &'a [Face; 2],
    pub(super) lang: Lang,
    pages: Vec<Page>,
    pub(super) y: f32,
    bottom: f32,
}

/// A table column: catalog key of its title, width, right-aligned.
struct Col {
    key: &'static str,
    w: f32,
    right: bool,
}

const COLS: [Col; 8] = [
    Col { key: "pdf.line", w: 8.0, right: true },
    Col { key: "pdf.article_number", w: 22.0, right: false },
    Col { key: "field.gtin", w: 24.0, right: false },
    Col { key: "pdf.name", w: 63.0, right: false },
    Col { key: "pdf.quantity", w: 13.0, right: true },
    Col { key: "pdf.unit", w: 18.0, right: false },
    Col { key: "pdf.price", w: 16.0, right: true },
    Col { key: "pdf.amount", w: 18.0, right: true },
];
const CELL_PAD: f32 = 1.2;
const TABLE_SIZE: f32 = 8.0;

pub(super) fn line_height(size: f32) -> f32 {
    size * MM_PER_PT * 1.25
}

impl<'a> Canvas<'a> {
    fn face(&self, bold: bool) -> &'a Face {
        &self.faces[usize::from(bold)]
    }

    /// An empty A4 layout whose footer holds `footer_lines` lines.
    pub(super) fn new(faces: &'a [Face; 2], lang: Lang, footer_lines: f32) -> Self {
        Canvas {
            faces,
            lang,
            pages: Vec::new(),
            y: BODY_TOP,
            bottom: PAGE_H - MARGIN - footer_lines * line_height(7.5) - 2.0,
        }
    }

    pub(super) fn new_page(&mut self, header: Header) {
        self.pages.push(Page { header, draws: Vec::new() });
        self.y = BODY_TOP;
    }

    fn draw(&mut self, d: Draw) {
        if let Some(p) = self.pages.last_mut() {
            p.draws.push(d);
        }
    }

    pub(super) fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, grey: bool, text: &str) {
        let text = printable(self.face(bold), text);
        if !text.trim().is_empty() {
            self.draw(Draw::Text { x, y, size, bold, grey, text });
        }
    }

    /// `s` broken into lines no wider than `width` mm; words longer than a line are split.
    pub(super) fn wrap(&self, s: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
        let face = self.face(bold);
        let mut out = Vec::new();
        for para in printable(face, s).split('\n') {
            let mut line = String::new();
            for word in para.split_whitespace() {
                let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
                if face.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                for c in word.chars() {
                    line.push(c);
                    if face.width(&line, size) > width && line.chars().count() > 1 {
                        line.pop();
                        out.push(std::mem::replace(&mut line, c.to_string()));
                    }
                }
            }
            if !line.is_empty() {
                out.push(line);
            }
        }
        out
    }

    /// A labelled block at (`x`, current y) of `width` mm, its first line bold when it names a
    /// party; returns its height.
    fn block(&mut self, x: f32, width: f32, label: &str, lines: &[String], party: bool) -> f32 {
        let mut y = self.y + line_height(7.0);
        self.text(x, y, 7.0, true, true, label);
        for (i, l) in lines.iter().enumerate() {
            let bold = party && i == 0;
            for w in self.wrap(l, width, 9.0, bold) {
                y += line_height(9.0);
                self.text(x, y, 9.0, bold, false, &w);
            }
        }
        y - self.y + 2.5
    }

    /// Label/value pairs in two columns at (`x`, current y); returns their height.
    pub(super) fn pairs(&mut self, x: f32, width: f32, pairs: &[(&str, String)]) -> f32 {
        let mut y = self.y;
        let label_w = 34.0;
        for (label, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            let lines = self.wrap(value, width - label_w, 9.0, false);
            y += line_height(9.0);
            self.text(x, y, 7.5, true, true, label);
            for (i, l) in lines.iter().enumerate() {
                if i > 0 {
                    y += line_height(9.0);
                }
                self.text(x + label_w, y, 9.0, false, false, l);
            }
        }
        y - self.y + 2.5
    }

    pub(super) fn rule(&mut self, width: f32) {
        let y = self.y;
        self.draw(Draw::Rule { x1: MARGIN, x2: PAGE_W - MARGIN, y, width });
    }

    fn table_head(&mut self) {
        let mut x = MARGIN;
        let y = self.y + line_height(TABLE_SIZE);
        self.draw(Draw::Shade { x: MARGIN, y: self.y, w: PAGE_W - 2.0 * MARGIN, h: line_height(TABLE_SIZE) + 1.5 });
        for c in &COLS {
            let t = self.lang.t(c.key);
            let tx = if c.right { x + c.w - CELL_PAD - self.face(true).width(t, TABLE_SIZE) } else { x + CELL_PAD };
            self.text(tx, y, TABLE_SIZE, true, false, t);
            x += c.w;
        }
        self.y += line_height(TABLE_SIZE) + 2.0;
    }

    /// Makes room for `h` mm, continuing on a new page (with the table head) if needed.
    pub(super) fn room(&mut self, h: f32, table: bool) {
        if self.y + h > self.bottom {
            let mut header = self.pages.last().map(|p| p.header.clone()).unwrap_or(Header {
                title: String::new(),
                subtitle: String::new(),
                urgent: false,
            });
            let cont = self.lang.t("pdf.continued");
            if !header.title.ends_with(cont) {
                header.title = format!("{} {cont}", header.title);
            }
            self.new_page(header);
            if table {
                self.table_head();
            }
        }
    }

    /// One order line as a table row.
    fn row(&mut self, l: &LineDoc) {
        let lang = self.lang;
        let a = l.article.as_ref();
        let unit = a.map_or("EA", |a| a.unit.as_str());
        let price = a.and_then(|a| a.price_cents);
        let cells = [
            l.line.line_no.to_string(),
            a.map(|a| a.article_number.clone()).unwrap_or_default(),
            a.and_then(|a| a.gtin.clone()).unwrap_or_default(),
            a.map_or_else(|| l.line.article_id.to_string(), |a| a.name.clone()),
            lang.int(i64::from(l.line.quantity)),
            format!("{} ({unit})", lang.t(&format!("uom.{unit}"))),
            price.map(|p| lang.money(p)).unwrap_or_default(),
            price.map(|p| lang.money(p * i64::from(l.line.quantity))).unwrap_or_default(),
        ];
        let lh = line_height(TABLE_SIZE);
        let max_lines = ((self.bottom - BODY_TOP - 2.0 * lh) / lh).max(1.0) as usize;
        let mut wrapped: Vec<Vec<String>> =
            cells.iter().zip(&COLS).map(|(s, c)| self.wrap(s, c.w - 2.0 * CELL_PAD, TABLE_SIZE, false)).collect();
        // The pack size and the line's note go under the name, smaller.
        let mut extra = Vec::new();
        if let Some(a) = a.filter(|a| a.pack_size > 1) {
            extra.push(lang.tf("pdf.pack", &[("n", &a.pack_size.to_string())]));
        }
        if let Some(n) = l.line.note.as_deref().filter(|n| !n.trim().is_empty()) {
            extra.push(format!("{}: {n}", lang.t("pdf.note")));
        }
        let extra: Vec<String> =
            extra.iter().flat_map(|e| self.wrap(e, COLS[3].w - 2.0 * CELL_PAD, 7.0, false)).collect();
        for w in &mut wrapped {
            truncate(w, max_lines);
        }
        let mut extra = extra;
        truncate(&mut extra, max_lines.saturating_sub(wrapped[3].len()));
        let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let h = n as f32 * lh + extra.len() as f32 * line_height(7.0) + 1.5;
        self.room(h, true);
        let mut x = MARGIN;
        for (lines, c) in wrapped.iter().zip(&COLS) {
            let mut y = self.y;
            for l in lines {
                y += lh;
                let tx =
                    if c.right { x + c.w - CELL_PAD - self.face(false).width(l, TABLE_SIZE) } else { x + CELL_PAD };
                self.text(tx, y, TABLE_SIZE, false, false, l);
            }
            if c.key == "pdf.name" {
                for e in &extra {
                    y += line_height(7.0);
                    self.text(x + CELL_PAD, y, 7.0, false, true, e);
                }
            }
            x += c.w;
        }
        self.y += h;
        self.draw(Draw::Rule { x1: MARGIN, x2: PAGE_W - MARGIN, y: self.y - 0.6, width: 0.15 });
    }

    fn total(&mut self, lines: &[&LineDoc]) {
        let lang = self.lang;
        let total: Option<i64> = lines
            .iter()
            .map(|l| l.article.as_ref().and_then(|a| a.price_cents).map(|p| p * i64::from(l.line.quantity)))
            .sum();
        let text = format!("{}: {}", lang.t("pdf.total"), total.map_or_else(|| "–".to_owned(), |t| lang.money(t)));
        self.room(line_height(9.0) + 2.0, false);
        self.y += line_height(9.0) + 1.0;
        let x = PAGE_W - MARGIN - CELL_PAD - self.face(true).width(&text, 9.0);
        self.text(x, self.y, 9.0, true, false, &text);
        self.y += 3.0;
    }
}

/// Keeps at most `max` lines, marking a cut with '…'.
fn truncate(lines: &mut Vec<String>, max: usize) {
    if lines.len() > max {
        lines.truncate(max);
        if let Some(l) = lines.last_mut() {
            l.push('…');
        }
    }
}

fn buyer_lines(lang: Lang, buyer: Option<&Organisation>) -> Vec<String> {
    let Some(b) = buyer else { return vec!["–".to_owned()] };
    let mut v = vec![b.name.clone()];
    if let Some(o) = &b.org_number {
        v.push(format!("{} {o}", lang.t("pdf.org_number")));
    }
    if let Some(g) = &b.gln {
        v.push(format!("GLN {g}"));
    }
    v.extend(b.address.iter().cloned());
    let contact: Vec<&str> =
        [b.contact_name.as_deref(), b.phone.as_deref(), b.email.as_deref()].into_iter().flatten().collect();
    if !contact.is_empty() {
        v.push(format!("{}: {}", lang.t("pdf.contact"), contact.join(", ")));
    }
    v
}

fn supplier_lines(lang: Lang, s: Option<&Supplier>) -> Vec<String> {
    let Some(s) = s else { return vec!["–".to_owned()] };
    let mut v = vec![s.name.clone()];
    if let Some(o) = &s.org_number {
        v.push(format!("{} {o}", lang.t("pdf.org_number")));
    }
    v.extend(s.address.iter().cloned());
    let contact: Vec<&str> = [s.phone.as_deref(), s.email.as_deref()].into_iter().flatten().collect();
    if !contact.is_empty() {
        v.push(contact.join(", "));
    }
    v
}

/// "2026-000042 / IVA / EK-4110": what the goods are marked with, so they reach the unit.
fn goods_marking(d: &OrderDoc) -> String {
    let mut parts = vec![d.order.number.clone()];
    if let Some(u) = &d.unit {
        parts.push(u.name.clone());
        parts.extend(u.cost_centre.clone());
    }
    parts.join(" / ")
}

/// Who approved the order and when, from its history.
fn approver(lang: Lang, d: &OrderDoc) -> String {
    d.order
        .history
        .iter()
        .rev()
        .find(|h| h.action == "approve")
        .map(|h| format!("{}, {}", h.actor.as_deref().unwrap_or("–"), lang.datetime(h.at)))
        .unwrap_or_default()
}

fn delivery_contact(d: &OrderDoc) -> String {
    let u = d.unit.as_ref();
    [u.and_then(|u| u.contact_name.as_deref()), u.and_then(|u| u.phone.as_deref())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// The buyer and supplier blocks side by side.
fn parties(cv: &mut Canvas, buyer: Option<&Organisation>, supplier: Option<&Supplier>) {
    let lang = cv.lang;
    let half = (PAGE_W - 2.0 * MARGIN) / 2.0;
    let h1 = cv.block(MARGIN, half - 4.0, lang.t("pdf.buyer"), &buyer_lines(lang, buyer), true);
    let h2 = cv.block(MARGIN + half, half - 4.0, lang.t("pdf.supplier"), &supplier_lines(lang, supplier), true);
    cv.y += h1.max(h2) + 1.0;
}

/// One order (its lines for one supplier) as a section starting on a new page.
fn order_section(cv: &mut Canvas, d: &OrderDoc, supplier: Option<&Supplier>, buyer: Option<&Organisation>) {
    let lang = cv.lang;
    let o = &d.order;
    let header = Header {
        title: crate::exercises::marked(lang, o.exercise.as_ref(), &format!("{} {}", lang.t("pdf.title"), o.number)),
        subtitle: format!("{} {}", lang.t("pdf.order_date"), lang.date(o.created_at.date())),
        urgent: o.urgent,
    };
    cv.new_page(header);
    parties(cv, buyer, supplier);
    cv.rule(0.2);
    cv.y += 1.0;
    let half = (PAGE_W - 2.0 * MARGIN) / 2.0;
    let mut delivery = d.unit.as_ref().map(|u| u.delivery_address.clone()).unwrap_or_default();
    if delivery.is_empty() {
        delivery.push(d.unit.as_ref().map_or_else(|| o.unit_id.to_string(), |u| format!("{}, {}", u.name, u.site)));
    }
    let contact = delivery_contact(d);
    if !contact.is_empty() {
        delivery.push(format!("{}: {contact}", lang.t("pdf.delivery_contact")));
    }
    let h1 = cv.block(MARGIN, half - 4.0, lang.t("pdf.delivery"), &delivery, false);
    let pairs = [
        (lang.t("pdf.order_number"), o.number.clone()),
        (lang.t("pdf.order_date"), lang.date(o.created_at.date())),
        (lang.t("pdf.needed_by"), o.needed_by.map(|d| lang.date(d)).unwrap_or_default()),
        (lang.t("pdf.goods_marking"), goods_marking(d)),
        (lang.t("pdf.cost_centre"), d.unit.as_ref().and_then(|u| u.cost_centre.clone()).unwrap_or_default()),
        (lang.t("pdf.approved_by"), approver(lang, d)),
        (lang.t("pdf.status"), lang.t(&format!("status.{}", o.status.as_str())).to_owned()),
    ];
    let h2 = cv.pairs(MARGIN + half, half, &pairs);
    cv.y += h1.max(h2);
    if let Some(n) = o.note.as_deref().filter(|n| !n.trim().is_empty()) {
        let lines = cv.wrap(&format!("{}: {n}", lang.t("pdf.note")), PAGE_W - 2.0 * MARGIN, 9.0, false);
        for l in lines {
            cv.room(line_height(9.0), false);
            cv.y += line_height(9.0);
            cv.text(MARGIN, cv.y, 9.0, false, false, &l);
        }
        cv.y += 2.0;
    }
    cv.y += 2.0;
    cv.room(3.0 * line_height(TABLE_SIZE), false);
    cv.table_head();
    let lines: Vec<&LineDoc> = d.lines.iter().filter(|l| same_supplier(l, supplier)).collect();
    for l in &lines {
        cv.row(l);
    }
    cv.total(&lines);
}

fn same_supplier(l: &LineDoc, s: Option<&Supplier>) -> bool {
    match (s, &l.supplier) {
        (Some(s), Some(x)) => s.id == x.id,
        (None, None) => true,
        _ => false,
    }
}

/// Every order of a supplier's batch in one list, grouped by order.
fn consolidated(cv: &mut Canvas, b: &Batch, supplier: Option<&Supplier>, buyer: Option<&Organisation>) {
    let lang = cv.lang;
    let name = supplier.map_or("", |s| s.name.as_str());
    let header = Header {
        title: lang.tf("pdf.batch_title", &[("supplier", name)]),
        subtitle: format!("{} · {} {}", lang.t("pdf.consolidated"), b.orders.len(), lang.t("pdf.orders")),
        urgent: b.orders.iter().any(|d| d.order.urgent),
    };
    cv.new_page(header);
    parties(cv, buyer, supplier);
    cv.table_head();
    let width = PAGE_W - 2.0 * MARGIN - 2.0 * CELL_PAD;
    let mut all = Vec::new();
    for d in &b.orders {
        let o = &d.order;
        let mut head = format!("{} {}", lang.t("pdf.orders"), o.number);
        if let Some(u) = &d.unit {
            head.push_str(&format!(" · {}, {}", u.name, u.site));
        }
        if let Some(n) = o.needed_by {
            head.push_str(&format!(" · {} {}", lang.t("pdf.needed_by"), lang.date(n)));
        }
        if o.urgent {
            head.push_str(&format!(" · {}", lang.t("pdf.urgent")));
        }
        let mut detail = Vec::new();
        if let Some(u) = d.unit.as_ref().filter(|u| !u.delivery_address.is_empty()) {
            detail.push(format!("{}: {}", lang.t("pdf.delivery"), u.delivery_address.join(", ")));
        }
        detail.push(format!("{}: {}", lang.t("pdf.goods_marking"), goods_marking(d)));
        let contact = delivery_contact(d);
        if !contact.is_empty() {
            detail.push(format!("{}: {contact}", lang.t("pdf.delivery_contact")));
        }
        if let Some(n) = o.note.as_deref().filter(|n| !n.trim().is_empty()) {
            detail.push(format!("{}: {n}", lang.t("pdf.note")));
        }
        let head_lines = cv.wrap(&head, width, 8.5, true);
        let mut detail_lines = cv.wrap(&detail.join(" · "), width, 7.5, false);
        truncate(&mut detail_lines, 12);
        let h = head_lines.len() as f32 * line_height(8.5) + detail_lines.len() as f32 * line_height(7.5) + 2.0;
        // Keep the order's heading with its first line.
        cv.room(h + 2.0 * line_height(TABLE_SIZE), true);
        cv.draw(Draw::Shade { x: MARGIN, y: cv.y + 0.3, w: PAGE_W - 2.0 * MARGIN, h: h - 0.6 });
        for l in head_lines {
            cv.y += line_height(8.5);
            cv.text(MARGIN + CELL_PAD, cv.y, 8.5, true, false, &l);
        }
        for l in detail_lines {
            cv.y += line_height(7.5);
            cv.text(MARGIN + CELL_PAD, cv.y, 7.5, false, false, &l);
        }
        cv.y += 2.0;
        for l in d.lines.iter().filter(|l| same_supplier(l, supplier)) {
            cv.row(l);
            all.push(l);
        }
    }
    cv.total(&all);
}

/// The PDF of `b`. A single order with lines from several suppliers gets one section per
/// supplier; a supplier batch is laid out as `layout` says.
pub fn write(b: &Batch, buyer: Option<&Organisation>, lang: Lang, layout: Layout) -> Result<Vec<u8>, PdfError> {
    let faces = faces()?;
    let footer_lines = if b.warning(Lang::Sv).is_some() { 3.0 } else { 2.0 };
    let mut cv = Canvas::new(faces, lang, footer_lines);
    match layout {
        Layout::Consolidated if b.orders.len() > 1 => {
            let supplier = b.orders.iter().flat_map(|d| d.lines.iter()).find_map(|l| l.supplier.as_ref());
            consolidated(&mut cv, b, supplier, buyer);
        }
        _ => {
            for d in &b.orders {
                for s in suppliers_of(d) {
                    order_section(&mut cv, d, s, buyer);
                }
            }
        }
    }
    if cv.pages.is_empty() {
        cv.new_page(Header { title: lang.t("pdf.title").to_owned(), subtitle: String::new(), urgent: false });
    }
    finish(cv, b, buyer)
}

/// The suppliers of an order's sections: each supplier of its lines, and `None` for lines
/// whose article is unknown.
fn suppliers_of(d: &OrderDoc) -> Vec<Option<&Supplier>> {
    let mut v: Vec<Option<&Supplier>> = super::ubl::suppliers(d).into_iter().map(Some).collect();
    if v.is_empty() || d.lines.iter().any(|l| l.supplier.is_none()) {
        v.push(None);
    }
    v
}

/// An order file's pages finished with the buyer, the batch's origin and its warning.
fn finish(cv: Canvas, b: &Batch, buyer: Option<&Organisation>) -> Result<Vec<u8>, PdfError> {
    let lang = cv.lang;
    let buyer_name = buyer.map(|o| o.name.clone()).unwrap_or_default();
    render(cv, &buyer_name, &b.origin(lang), b.warning(lang))
}

/// Adds the header (title, `prefix` · subtitle, page x of y) and the footer (`source`, and the
/// bold `warning` when there is one) to every page, cuts the fonts down to the glyphs used,
/// and writes the PDF.
pub(super) fn render(mut cv: Canvas, prefix: &str, source: &str, warning: Option<String>) -> Result<Vec<u8>, PdfError> {
    let lang = cv.lang;
    let total = cv.pages.len();
    let unconfirmed = warning.is_some();
    // The same on every page: where and when the file was made, and the no-quorum warning.
    let source = printable(cv.face(false), source);
    let warning = warning.map(|w| printable(cv.face(true), &w));
    let buyer_name = prefix.to_owned();
    for i in 0..total {
        let page_text = lang.tf("pdf.page", &[("n", &(i + 1).to_string()), ("total", &total.to_string())]);
        let header = cv.pages[i].header.clone();
        let mut extra = Vec::new();
        let mut push = |d: Draw| extra.push(d);
        let right = |cv: &Canvas, s: &str, size: f32, bold: bool| PAGE_W - MARGIN - cv.face(bold).width(s, size);
        let title_y = MARGIN + 5.0;
        push(Draw::Text {
            x: MARGIN,
            y: title_y,
            size: 14.0,
            bold: true,
            grey: false,
            text: printable(cv.face(true), &header.title),
        });
        push(Draw::Text {
            x: right(&cv, &page_text, 9.0, false),
            y: title_y,
            size: 9.0,
            bold: false,
            grey: false,
            text: page_text.clone(),
        });
        let sub = [buyer_name.as_str(), header.subtitle.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        push(Draw::Text {
            x: MARGIN,
            y: title_y + 5.5,
            size: 9.0,
            bold: false,
            grey: true,
            text: printable(cv.face(false), &sub),
        });
        if header.urgent {
            let u = lang.t("pdf.urgent");
            let w = cv.face(true).width(u, 11.0);
            push(Draw::Shade { x: PAGE_W - MARGIN - w - 4.0, y: title_y + 1.5, w: w + 4.0, h: 6.0 });
            push(Draw::Text {
                x: PAGE_W - MARGIN - w - 2.0,
                y: title_y + 6.0,
                size: 11.0,
                bold: true,
                grey: false,
                text: u.to_owned(),
            });
        }
        push(Draw::Rule { x1: MARGIN, x2: PAGE_W - MARGIN, y: BODY_TOP - 3.0, width: 0.4 });
        let foot_y = PAGE_H - MARGIN - if unconfirmed { line_height(7.5) } else { 0.0 };
        push(Draw::Rule { x1: MARGIN, x2: PAGE_W - MARGIN, y: foot_y - line_height(7.5) - 1.0, width: 0.2 });
        push(Draw::Text { x: MARGIN, y: foot_y, size: 7.5, bold: false, grey: true, text: source.clone() });
        push(Draw::Text {
            x: right(&cv, &page_text, 7.5, false),
            y: foot_y,
            size: 7.5,
            bold: false,
            grey: true,
            text: page_text,
        });
        if let Some(w) = warning.clone() {
            push(Draw::Text { x: MARGIN, y: foot_y + line_height(7.5), size: 7.5, bold: true, grey: false, text: w });
        }
        cv.pages[i].draws.extend(extra);
    }

    // The glyphs each face needs, then each face cut down to them.
    let mut used: [BTreeSet<u16>; 2] = [BTreeSet::new(), BTreeSet::new()];
    for p in &cv.pages {
        for d in &p.draws {
            if let Draw::Text { bold, text, .. } = d {
                let face = cv.face(*bold);
                used[usize::from(*bold)].extend(text.chars().filter_map(|c| face.font.lookup_glyph_index(c as u32)));
            }
        }
    }
    let mut doc = PdfDocument::new(&cv.pages.first().map(|p| p.header.title.clone()).unwrap_or_default());
    let mut ids = Vec::new();
    for (i, ttf) in [REGULAR_TTF, BOLD_TTF].into_iter().enumerate() {
        let font = subset(ttf, &used[i])?;
        ids.push(doc.add_font(&font));
    }
    let pages: Vec<PdfPage> =
        cv.pages.iter().map(|p| PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops(&p.draws, &ids))).collect();
    let opts = PdfSaveOptions { subset_fonts: false, ..PdfSaveOptions::default() };
    Ok(doc.with_pages(pages).save(&opts, &mut Vec::new()))
}

/// A font holding only `glyphs` (and .notdef), with a Unicode cmap for them.
fn subset(ttf: &[u8], glyphs: &BTreeSet<u16>) -> Result<ParsedFont, PdfError> {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{CmapTarget, SubsetProfile};
    let font = ReadScope::new(ttf).read::<FontData<'_>>().map_err(|e| PdfError::Font(e.to_string()))?;
    let provider = font.table_provider(0).map_err(|e| PdfError::Font(e.to_string()))?;
    let ids: Vec<u16> = std::iter::once(0).chain(glyphs.iter().copied().filter(|g| *g != 0)).collect();
    let bytes = allsorts::subset::subset(&provider, &ids, &SubsetProfile::Pdf, CmapTarget::Unicode)
        .map_err(|e| PdfError::Font(e.to_string()))?;
    ParsedFont::from_bytes(&bytes, 0, &mut Vec::new()).ok_or_else(|| PdfError::Font("subset font unreadable".into()))
}

fn pt(mm: f32) -> Pt {
    Mm(mm).into()
}

/// The page's content stream.
fn ops(draws: &[Draw], fonts: &[printpdf::FontId]) -> Vec<Op> {
    let mut out = Vec::with_capacity(draws.len() * 6);
    let black = Color::Rgb(Rgb::new(0.0, 0.0, 0.0, None));
    let grey = Color::Rgb(Rgb::new(0.33, 0.33, 0.33, None));
    for d in draws {
        match d {
            Draw::Text { x, y, size, bold, grey: g, text } => {
                if *g {
                    out.push(Op::SetFillColor { col: grey.clone() });
                }
                out.push(Op::StartTextSection);
                out.push(Op::SetFont {
                    font: PdfFontHandle::External(fonts[usize::from(*bold)].clone()),
                    size: Pt(*size),
                });
                out.push(Op::SetTextCursor { pos: Point::new(Mm(*x), Mm(PAGE_H - *y)) });
                out.push(Op::ShowText { items: vec![TextItem::Text(text.clone())] });
                out.push(Op::EndTextSection);
                if *g {
                    out.push(Op::SetFillColor { col: black.clone() });
                }
            }
            Draw::Rule { x1, x2, y, width } => {
                out.push(Op::SetOutlineThickness { pt: Pt(*width / MM_PER_PT) });
                out.push(Op::DrawLine {
                    line: Line {
                        points: vec![
                            LinePoint { p: Point::new(Mm(*x1), Mm(PAGE_H - *y)), bezier: false },
                            LinePoint { p: Point::new(Mm(*x2), Mm(PAGE_H - *y)), bezier: false },
                        ],
                        is_closed: false,
                    },
                });
            }
            Draw::Shade { x, y, w, h } => {
                out.push(Op::SetFillColor { col: Color::Rgb(Rgb::new(0.9, 0.9, 0.9, None)) });
                out.push(Op::DrawRectangle {
                    rectangle: Rect {
                        x: pt(*x),
                        y: pt(PAGE_H - *y - *h),
                        width: pt(*w),
                        height: pt(*h),
                        mode: Some(PaintMode::Fill),
                        winding_order: None,
                    },
                });
                out.push(Op::SetFillColor { col: black.clone() });
            }
        }
    }
    out
}
