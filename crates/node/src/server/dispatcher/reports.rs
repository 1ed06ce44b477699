//! The leader's part in situation reports (`domain::reports`): once a second it reminds each
//! unit whose report is late, once per missed due time, through the unit's directory entries
//! (a text and an e-mail). The command's id is made from the unit and the due time, so a new
//! leader reminds nobody twice; a unit nobody can be reached for is skipped, and remembered, so
//! the log does not fill with refusals.

use crate::server::Server;
use domain::subscribers::{About, Notice, notice_id};
use domain::{Command, CommandId, StateView, StateViewExt};
use time::OffsetDateTime;

impl Server {
    pub(super) async fn remind_late_reports(&self, now: OffsetDateTime) {
        for (unit, due) in self.late_units(now) {
            let id = CommandId::new(format!("report.remind:{unit}:{}", due.unix_timestamp()));
            let cmd = Command::RemindReport { unit_id: unit.clone(), due };
            match self.submit(id, cmd, None).await {
                Ok(_) => {
                    if let Ok(mut s) = self.reports_reminded.lock() {
                        s.insert((unit, due.unix_timestamp()));
                    }
                }
                Err(e) => tracing::warn!(unit = %unit, "reminding a late unit failed: {e}"),
            }
        }
    }

    /// Late units with someone to remind and no reminder for that due time yet: (unit, due).
    /// Units nobody can be reached for are remembered and skipped.
    fn late_units(&self, now: OffsetDateTime) -> Vec<(domain::UnitId, OffsetDateTime)> {
        let view: &dyn StateView = &self.view;
        if domain::reports::cycles(view).map(|c| c.is_empty()).unwrap_or(true) {
            return Vec::new();
        }
        let rows = match documents::reports::overview(view, &|_| true, &[], None, documents::i18n::Lang::Sv, now) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("reading the situation reports: {e}");
                return Vec::new();
            }
        };
        let Ok(mut done) = self.reports_reminded.lock() else { return Vec::new() };
        let mut out = Vec::new();
        for row in rows.into_iter().take_while(|r| r.late) {
            let Some(due) = row.due else { continue };
            let key = (row.unit.id.clone(), due.unix_timestamp());
            if done.contains(&key) {
                continue;
            }
            let about = About::ReportDue { unit_id: row.unit.id.clone(), due };
            let sent = [true, false].iter().any(|sms| {
                let n = Notice { subscriber_id: Default::default(), about: about.clone(), sms: *sms };
                view.dispatch(notice_id(&n)).ok().flatten().is_some()
            });
            let reachable = domain::reports::unit_routes(view, &row.unit.id).is_ok_and(|r| !r.is_empty());
            if sent || !reachable {
                done.insert(key);
            } else {
                out.push((row.unit.id, due));
            }
        }
        out
    }
}
