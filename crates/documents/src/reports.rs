//! Situation reports for reading (`domain::reports`): the crisis staff's overview (every unit,
//! its last report and light, its needs, when it is next due, late ones first), the words of a
//! reminder to a late unit, a period's reports as CSV and XLSX, and the blank form on paper.

use domain::reports::{FieldKind, Light, ReportCycle, ReportField, ReportFields, SituationReport};
use domain::{CareUnit, ExerciseId, Record, StateError, StateView, StateViewExt, Table, UnitId};
use std::fmt::Write as _;
use time::OffsetDateTime;

use crate::dispatch::Letter;
use crate::export::csv::neutralise;
use crate::i18n::Lang;

/// A field's label in `lang`: the organisation's own, or the built-in one's.
pub fn field_label(lang: Lang, f: &ReportField) -> String {
    if f.label.is_empty() { lang.t(&format!("report.field_{}", f.key)).to_owned() } else { f.label.clone() }
}

/// A light in words ("Grön", "Gul", "Röd").
pub fn light_word(lang: Lang, l: Light) -> &'static str {
    lang.t(&format!("report.light_{}", l.as_str()))
}

/// One unit on the overview.
#[derive(Clone, Debug)]
pub struct Row {
    pub unit: CareUnit,
    /// The latest report the cluster holds.
    pub latest: Option<SituationReport>,
    /// Reports filed on this node that wait in its outbox (not yet shared), oldest first.
    pub pending: Vec<ReportFields>,
    /// When the unit is next due (none without a cycle).
    pub due: Option<OffsetDateTime>,
    /// The due time has passed with no report answering it.
    pub late: bool,
}

impl Row {
    /// The light to show: the newest of the shared and the waiting reports.
    pub fn light(&self) -> Option<Light> {
        match (self.pending.last(), &self.latest) {
            (Some(p), Some(l)) if l.written_at > p.written_at => Some(l.light),
            (Some(p), _) => Some(p.light),
            (None, l) => l.as_ref().map(|l| l.light),
        }
    }

    /// When the unit last reported, shared or not.
    pub fn last_written(&self) -> Option<OffsetDateTime> {
        let shared = self.latest.as_ref().map(|r| r.written_at);
        let waiting = self.pending.iter().map(|p| p.written_at).max();
        shared.max(waiting)
    }

    /// The newest needs, shared or waiting.
    pub fn needs(&self) -> &str {
        match (self.pending.last(), &self.latest) {
            (Some(p), Some(l)) if l.written_at > p.written_at => &l.needs,
            (Some(p), _) => &p.needs,
            (None, Some(l)) => &l.needs,
            (None, None) => "",
        }
    }
}

/// Every unit not withdrawn that `may_see` allows, with its latest report, the reports waiting
/// in this node's outbox (`queued`), and its due time at `now`: late units first (the longest
/// late first), then by site and name. With `exercise`, the same for that exercise's reports
/// (the real ones do not count there, nor the exercise's in the real overview).
pub fn overview(
    view: &dyn StateView,
    may_see: &dyn Fn(&UnitId) -> bool,
    queued: &[ReportFields],
    exercise: Option<&ExerciseId>,
    lang: Lang,
    now: OffsetDateTime,
) -> Result<Vec<Row>, StateError> {
    let cycles = domain::reports::cycles(view)?;
    let mut rows = Vec::new();
    for r in crate::read_model::scan_all(view, Table::Unit)? {
        let Record::Unit(unit) = r else { continue };
        if unit.withdrawn || !may_see(&unit.id) {
            continue;
        }
        let latest = domain::reports::latest(view, &unit.id, exercise)?;
        let mut pending: Vec<ReportFields> =
            queued.iter().filter(|q| q.unit_id == unit.id && q.exercise.as_ref() == exercise).cloned().collect();
        pending.sort_by_key(|p| p.written_at);
        let mut row = Row { unit, latest, pending, due: None, late: false };
        if let Some(cycle) = domain::reports::cycle_for(&cycles, &row.unit.site) {
            row.due = next_due(cycle, row.last_written(), lang);
            row.late = row.due.is_some_and(|d| d < now);
        }
        rows.push(row);
    }
    rows.sort_by(|a, b| {
        b.late
            .cmp(&a.late)
            .then_with(|| if a.late { a.due.cmp(&b.due) } else { std::cmp::Ordering::Equal })
            .then_with(|| a.unit.site.to_lowercase().cmp(&b.unit.site.to_lowercase()))
            .then_with(|| a.unit.name.to_lowercase().cmp(&b.unit.name.to_lowercase()))
    });
    Ok(rows)
}

/// When a unit whose last report was written at `last` is next due under `cycle` (fixed times
/// read in `lang`'s time zone).
pub fn next_due(cycle: &ReportCycle, last: Option<OffsetDateTime>, lang: Lang) -> Option<OffsetDateTime> {
    cycle.next_due(last, &|d, h, m| lang.local_at(d, h, m))
}

/// A cycle in words: "var 60:e minut från 11:00" or "dagligen 08:00, 12:00, 16:00".
pub fn cycle_text(lang: Lang, c: &ReportCycle) -> String {
    match &c.schedule {
        domain::reports::Schedule::Every { first_due, minutes } => {
            lang.tf("report.cycle_every", &[("minutes", &minutes.to_string()), ("first", &lang.datetime(*first_due))])
        }
        domain::reports::Schedule::Daily { times } => lang.tf("report.cycle_daily", &[("times", &times.join(", "))]),
    }
}

/// Every report written in `[from, to)` of the units `may_see` allows, by site, unit, time.
pub fn period(
    view: &dyn StateView,
    may_see: &dyn Fn(&UnitId) -> bool,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<SituationReport>, StateError> {
    let mut out: Vec<SituationReport> = crate::read_model::scan_all(view, Table::Report)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Report(r) if r.written_at >= from && r.written_at < to && may_see(&r.unit_id) => Some(r),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| {
        a.site.cmp(&b.site).then_with(|| a.unit_id.cmp(&b.unit_id)).then_with(|| a.written_at.cmp(&b.written_at))
    });
    Ok(out)
}

/// The columns of a period's export: the fixed ones, then a light and a comment per field of
/// the form, then needs and free text.
fn header(lang: Lang, form: &[ReportField]) -> Vec<String> {
    let mut h: Vec<String> = ["site", "unit", "number", "written", "shared", "paper", "by", "light", "exercise"]
        .iter()
        .map(|k| lang.t(&format!("report.col_{k}")).to_owned())
        .collect();
    for f in form {
        let label = field_label(lang, f);
        if f.kind == FieldKind::Light {
            h.push(format!("{label} ({})", lang.t("report.col_light")));
        }
        h.push(label);
    }
    h.push(lang.t("report.needs").to_owned());
    h.push(lang.t("report.note").to_owned());
    h
}

fn cells(view: &dyn StateView, lang: Lang, form: &[ReportField], r: &SituationReport) -> Vec<String> {
    let unit = view.unit(&r.unit_id).ok().flatten().map_or_else(|| r.unit_id.to_string(), |u| u.name);
    let mut row = vec![
        r.site.clone(),
        unit,
        r.n.to_string(),
        lang.datetime(r.written_at),
        lang.datetime(r.shared_at),
        if r.from_paper { lang.t("report.yes").to_owned() } else { String::new() },
        r.reported_by.clone().unwrap_or_default(),
        light_word(lang, r.light).to_owned(),
        // An exercise's report says so, with the exercise's name.
        r.exercise.as_ref().map_or_else(String::new, |x| {
            let name = view.exercise(x).ok().flatten().map_or_else(|| x.to_string(), |x| x.name);
            format!("{}: {name}", crate::exercises::mark(lang))
        }),
    ];
    for f in form {
        let v = r.value(&f.key);
        if f.kind == FieldKind::Light {
            row.push(v.and_then(|v| v.light).map(|l| light_word(lang, l).to_owned()).unwrap_or_default());
        }
        row.push(v.map(|v| v.text.clone()).unwrap_or_default());
    }
    row.push(r.needs.clone());
    row.push(r.note.clone());
    row
}

/// A period's reports as CSV (BOM, `;` for sv/nb, `,` for en; formula-like text neutralised).
pub fn csv(view: &dyn StateView, lang: Lang, reports: &[SituationReport]) -> Result<Vec<u8>, String> {
    let form = domain::reports::form(view).map_err(|e| e.to_string())?;
    let delimiter = if lang == Lang::En { b',' } else { b';' };
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = ::csv::WriterBuilder::new().delimiter(delimiter).from_writer(&mut out);
        w.write_record(header(lang, &form)).map_err(|e| e.to_string())?;
        for r in reports {
            w.write_record(cells(view, lang, &form, r).iter().map(|s| neutralise(s))).map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// A period's reports as an Excel workbook: one sheet, a bold frozen header with a filter.
pub fn xlsx(view: &dyn StateView, lang: Lang, reports: &[SituationReport]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let form = domain::reports::form(view).map_err(|e| e.to_string())?;
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(lang.t("report.sheet")).map_err(e)?;
    let bold = Format::new().set_bold();
    let head = header(lang, &form);
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for (c, h) in head.iter().enumerate() {
        ws.write_string_with_format(0, col(c), h, &bold).map_err(e)?;
    }
    for (i, r) in reports.iter().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        for (c, v) in cells(view, lang, &form, r).iter().enumerate() {
            if c == 2 {
                // The report's number, as a number.
                ws.write_number(row, col(c), f64::from(u32::try_from(r.n).unwrap_or(u32::MAX))).map_err(e)?;
            } else {
                ws.write_string(row, col(c), v).map_err(e)?;
            }
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(v.chars().count());
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        ws.set_column_width(col(c), (*w).clamp(8, 50) as f64 + 2.0).map_err(e)?;
    }
    ws.set_freeze_panes(1, 0).map_err(e)?;
    let last = u32::try_from(reports.len()).unwrap_or(u32::MAX);
    ws.autofilter(0, 0, last, col(head.len().saturating_sub(1))).map_err(e)?;
    wb.save_to_buffer().map_err(e)
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

/// Where a unit files its report on the node at `base`.
pub fn form_url(base: &str, unit: &UnitId) -> String {
    format!("{}/reports/new?unit={unit}", base.trim_end_matches('/'))
}

fn unit_name(view: &dyn StateView, unit: &UnitId) -> String {
    view.unit(unit).ok().flatten().map_or_else(|| unit.to_string(), |u| u.name)
}

/// The reminder to a late unit by e-mail (in Swedish: a unit has no language of its own).
pub fn reminder_letter(view: &dyn StateView, unit: &UnitId, due: OffsetDateTime, base: &str) -> Letter {
    let lang = Lang::Sv;
    let name = unit_name(view, unit);
    let subject = format!("[{}] {}: {name}", lang.t("report.prefix"), lang.t("report.late_subject"));
    let mut text = lang.tf("report.late_text", &[("unit", &name), ("due", &lang.datetime(due))]);
    let _ = write!(text, "\n\n{}: {}", lang.t("report.report_here"), form_url(base, unit));
    Letter { subject, text, unsubscribe: None }
}

/// The reminder to a late unit as a text message, cut to `max_segments` before the link to
/// the form, which always fits.
pub fn reminder_sms(
    view: &dyn StateView,
    unit: &UnitId,
    due: OffsetDateTime,
    base: &str,
    max_segments: usize,
) -> String {
    let lang = Lang::Sv;
    let name = unit_name(view, unit);
    let head = format!(
        "[{}] {name}: {}",
        lang.t("report.prefix"),
        lang.tf("report.late_sms", &[("due", &lang.datetime(due))])
    );
    let tail = format!(" {}", form_url(base, unit));
    domain::sms::truncate_before(&domain::sms::plain_punctuation(&head), &tail, max_segments)
}

#[cfg(test)]
mod tests;
