//! The whole audit trail as one CSV file for admins: UTF-8 with BOM, semicolon-separated as
//! Swedish and Norwegian spreadsheets expect, text that looks like a formula neutralised.

use domain::{KeyId, Record, StateView, Table};

use super::csv::neutralise;

/// Why the trail could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AuditCsvError {
    #[error(transparent)]
    State(#[from] domain::StateError),
    #[error(transparent)]
    Csv(#[from] ::csv::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Every audit line, oldest first, read in batches.
pub fn csv(view: &dyn StateView) -> Result<Vec<u8>, AuditCsvError> {
    const BATCH: usize = 1000;
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = ::csv::WriterBuilder::new().delimiter(b';').from_writer(&mut out);
        w.write_record(["log_index", "at", "node", "actor", "command_id", "command", "target", "outcome"])?;
        let mut after: Option<String> = None;
        loop {
            let batch = view.scan(Table::Audit, after.as_deref(), BATCH)?;
            let n = batch.len();
            for r in batch {
                let Record::Audit(a) = r else { continue };
                after = Some(a.seq().key_text());
                let at = a.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                w.write_record([
                    a.log_index.to_string(),
                    at,
                    a.node.to_string(),
                    neutralise(a.actor.as_deref().unwrap_or("")),
                    neutralise(&a.command_id),
                    a.command,
                    neutralise(&a.target),
                    a.outcome,
                ])?;
            }
            if n < BATCH {
                break;
            }
        }
        w.flush()?;
    }
    Ok(out)
}
