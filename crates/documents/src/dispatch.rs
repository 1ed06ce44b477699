//! What a dispatch job carries: its files (made from the exports, as its channel wants them)
//! and the words of its e-mail. The node's deliverer sends them; the API serves the same files
//! for a person to check or send by hand.

use domain::channels::{Attachment, Channel, WebhookBody};
use domain::dispatch::DispatchJob;
use domain::{Record, StateView, StateViewExt, Table};
use serde_json::json;
use time::OffsetDateTime;

use crate::export::{self, Batch};
use crate::i18n::Lang;

/// Every job, newest first, without webhook secrets.
pub fn all(view: &dyn StateView) -> Result<Vec<DispatchJob>, domain::StateError> {
    let mut jobs: Vec<DispatchJob> = crate::read_model::scan_all(view, Table::Dispatch)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Dispatch(j) => Some(j),
            _ => None,
        })
        .collect();
    jobs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
    Ok(jobs)
}

/// The words of a job's e-mail: in Swedish like its files for a supplier, in the subscriber's
/// language for a status notice.
pub struct Letter {
    pub subject: String,
    pub text: String,
    /// A status notice's one-click unsubscribe address (`List-Unsubscribe`).
    pub unsubscribe: Option<String>,
}

/// Subject and plain-text body of an e-mail job. `base` is the sending node's own address, for
/// the links in a status notice.
pub fn letter(view: &dyn StateView, job: &DispatchJob, files: &[File], base: &str) -> Result<Letter, String> {
    match &job.notice {
        Some(n) => crate::notices::letter(view, n, base),
        None => order_letter(view, job, files),
    }
}

/// A supplier's e-mail: who orders, each order's lines, and what the message id means to a
/// supplier who gets it twice.
fn order_letter(view: &dyn StateView, job: &DispatchJob, files: &[File]) -> Result<Letter, String> {
    use std::fmt::Write as _;
    let err = |e: domain::StateError| e.to_string();
    let buyer = view.organisation().map_err(err)?;
    let buyer_name = buyer.as_ref().map_or("—", |o| o.name.as_str()).to_owned();
    let mut numbers = Vec::new();
    let mut body = String::new();
    for id in &job.order_ids {
        let o = view.order(id).map_err(err)?.ok_or_else(|| format!("order {id} is gone"))?;
        let doc = export::order_doc(view, o, Some(&job.supplier_id)).map_err(err)?;
        numbers.push(doc.order.number.clone());
        let unit = doc.unit.as_ref().map_or(doc.order.unit_id.as_str(), |u| u.name.as_str());
        let _ = writeln!(body, "\nBeställning {} – {unit}", doc.order.number);
        if let Some(d) = doc.order.needed_by {
            let _ = writeln!(body, "  Behövs senast: {d}");
        }
        if doc.order.urgent {
            let _ = writeln!(body, "  BRÅDSKANDE");
        }
        for l in &doc.lines {
            let (name, number, unit) = l.article.as_ref().map_or((l.line.article_id.as_str(), "", ""), |a| {
                (a.name.as_str(), a.article_number.as_str(), a.unit.as_str())
            });
            let _ = writeln!(body, "  {}. {} {unit}  {name} (art.nr {number})", l.line.line_no, l.line.quantity);
        }
        if let Some(note) = &doc.order.note {
            let _ = writeln!(body, "  Meddelande: {note}");
        }
    }
    let (word, pronoun) = if numbers.len() == 1 { ("Beställning", "den") } else { ("Beställningar", "dem") };
    let exercise = job_exercise(view, job);
    let subject = crate::exercises::marked(
        Lang::Sv,
        exercise.as_ref(),
        &format!("{word} {} från {buyer_name}", numbers.join(", ")),
    );
    let mut text =
        format!("Hej,\n\nhär kommer {} från {buyer_name}.\n{body}", word.to_lowercase() + " " + &numbers.join(", "));
    if exercise.is_some() {
        text = format!("{}\n\n{text}", Lang::Sv.t("exercise.not_real_order"));
    }
    if !files.is_empty() {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        let _ = writeln!(text, "\nBifogat: {}", names.join(", "));
    }
    if let Some(o) = &buyer {
        let who: Vec<&str> = [&o.contact_name, &o.email, &o.phone].into_iter().filter_map(|x| x.as_deref()).collect();
        if !who.is_empty() {
            let _ = writeln!(text, "\nFrågor om beställningen: {}", who.join(", "));
        }
    }
    let _ = writeln!(
        text,
        "\nMeddelande-id: <{}>. Kommer samma meddelande-id två gånger är det samma sändning; lägg {pronoun} bara en gång.",
        job.message_id()
    );
    let _ = writeln!(text, "\nSkickat av beredd, beställningssystemet för reservdrift.");
    Ok(Letter { subject, text, unsubscribe: None })
}

/// The exercise a supplier job's orders were made in (they are never sent with real ones).
fn job_exercise(view: &dyn StateView, job: &DispatchJob) -> Option<domain::ExerciseId> {
    let first = job.order_ids.first()?;
    view.order(first).ok().flatten()?.exercise
}

/// The text message of `job` (a notice, or a supplier's order summary), in at most
/// `max_segments` segments; links point to the node at `base`.
pub fn sms_text(view: &dyn StateView, job: &DispatchJob, base: &str, max_segments: usize) -> Result<String, String> {
    match &job.notice {
        Some(n) => crate::notices::sms_text(view, n, base, max_segments),
        None => order_sms(view, job, max_segments),
    }
}

/// A supplier's text: who orders, each order's number, unit and lines, shortest first
/// ("12 st Handskar nitril M (ML-0)"), cut to the cap with the message id kept at the end.
fn order_sms(view: &dyn StateView, job: &DispatchJob, max_segments: usize) -> Result<String, String> {
    use std::fmt::Write as _;
    let err = |e: domain::StateError| e.to_string();
    let buyer = view.organisation().map_err(err)?.map_or_else(|| "—".to_owned(), |o| o.name);
    let mut text =
        crate::exercises::marked(Lang::Sv, job_exercise(view, job).as_ref(), &format!("Beställning från {buyer}."));
    for id in &job.order_ids {
        let o = view.order(id).map_err(err)?.ok_or_else(|| format!("order {id} is gone"))?;
        let doc = export::order_doc(view, o, Some(&job.supplier_id)).map_err(err)?;
        let unit = doc.unit.as_ref().map_or(doc.order.unit_id.as_str(), |u| u.name.as_str());
        let _ = write!(text, " {} ({unit})", doc.order.number);
        if doc.order.urgent {
            text.push_str(" BRÅDSKANDE");
        }
        if let Some(d) = doc.order.needed_by {
            let _ = write!(text, ", senast {d}");
        }
        text.push(':');
        for l in &doc.lines {
            let (name, number, unit) = l.article.as_ref().map_or((l.line.article_id.as_str(), "", ""), |a| {
                (a.name.as_str(), a.article_number.as_str(), a.unit.as_str())
            });
            let _ = write!(text, " {} {unit} {name} ({number});", l.line.quantity);
        }
    }
    let tail = format!(" Ref {}", job.message_id());
    Ok(domain::sms::truncate_before(&domain::sms::plain_punctuation(&text), &tail, max_segments))
}

/// A file a job sends.
pub struct File {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The files of `job` as its channel wants them (attachments of an e-mail, or a webhook's one
/// body), made by node `node_id` at `now`. Supplier files are in Swedish.
pub fn files(view: &dyn StateView, job: &DispatchJob, node_id: u64, now: OffsetDateTime) -> Result<Vec<File>, String> {
    let formats: Vec<Format> = match &job.channel {
        Channel::Webhook { body: WebhookBody::Ubl, .. } => vec![Format::Ubl],
        Channel::Webhook { body: WebhookBody::Json, .. } => vec![Format::Json],
        Channel::Email { attach, .. } => attach.iter().map(|a| Format::from(*a)).collect(),
        Channel::Manual { .. } | Channel::Sms { .. } => Vec::new(),
    };
    formats.into_iter().map(|f| file(view, job, f, node_id, now)).collect()
}

/// What a job's file is made as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Csv,
    Xlsx,
    Ubl,
    Json,
}

impl From<Attachment> for Format {
    fn from(a: Attachment) -> Self {
        match a {
            Attachment::Pdf => Self::Pdf,
            Attachment::Csv => Self::Csv,
            Attachment::Xlsx => Self::Xlsx,
            Attachment::Ubl => Self::Ubl,
        }
    }
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pdf" => Self::Pdf,
            "csv" => Self::Csv,
            "xlsx" => Self::Xlsx,
            "ubl" => Self::Ubl,
            "json" => Self::Json,
            _ => return None,
        })
    }
}

/// One file of `job` in `format`, whatever its channel: what a webhook or an e-mail carries,
/// and what a person downloads to send the job by hand.
pub fn file(
    view: &dyn StateView,
    job: &DispatchJob,
    format: Format,
    node_id: u64,
    now: OffsetDateTime,
) -> Result<File, String> {
    let lang = Lang::Sv;
    let mut docs = Vec::new();
    let mut orders = Vec::new();
    for id in &job.order_ids {
        let o = view.order(id).map_err(|e| e.to_string())?.ok_or_else(|| format!("order {id} is gone"))?;
        orders.push(o.clone());
        docs.push(export::order_doc(view, o, Some(&job.supplier_id)).map_err(|e| e.to_string())?);
    }
    let batch = Batch { orders: docs, node_id, made_at: now, unconfirmed_since: None, queued_since: None };
    let buyer = view.organisation().map_err(|e| e.to_string())?;
    let stem = format!("order-{}", job.id);
    let file = |ext: &str, content_type: &'static str, bytes: Vec<u8>| File {
        name: format!("{stem}.{ext}"),
        content_type,
        bytes,
    };
    match format {
        Format::Ubl => match export::ubl::write(&batch, buyer.as_ref(), lang) {
            Ok((bytes, false)) => Ok(file("xml", "application/xml", bytes)),
            Ok((bytes, true)) => Ok(file("zip", "application/zip", bytes)),
            Err(export::ubl::UblError::Incomplete(problems)) => {
                let list: Vec<String> = problems.iter().map(|p| p.text(lang)).collect();
                Err(format!("{} {}", lang.t("peppol.cannot"), list.join(" ")))
            }
            Err(e) => Err(e.to_string()),
        },
        Format::Json => {
            let body = match &job.notice {
                Some(n) => crate::notices::json(view, job, n)?,
                None => json!({ "job_id": job.id, "message_id": job.message_id(), "supplier_id": job.supplier_id,
                    "orders": orders }),
            };
            Ok(file("json", "application/json", body.to_string().into_bytes()))
        }
        Format::Pdf => export::pdf::write(&batch, buyer.as_ref(), lang, export::pdf::Layout::PerOrder)
            .map(|b| file("pdf", "application/pdf", b))
            .map_err(|e| e.to_string()),
        Format::Csv => export::csv::write(&batch, lang)
            .map(|b| file("csv", "text/csv; charset=utf-8", b))
            .map_err(|e| e.to_string()),
        Format::Xlsx => export::xlsx::write(&batch, lang)
            .map(|b| file("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b))
            .map_err(|e| e.to_string()),
    }
}
