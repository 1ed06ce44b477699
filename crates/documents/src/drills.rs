//! Failover drill reports as the ops page lists them.

use domain::drills::DrillReport;
use domain::{Record, StateView, Table};

/// Every drill report, newest first (ids sort by time).
pub fn all(view: &dyn StateView) -> Result<Vec<DrillReport>, domain::StateError> {
    let mut out: Vec<DrillReport> = crate::read_model::scan_all(view, Table::Drill)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Drill(d) => Some(d),
            _ => None,
        })
        .collect();
    out.reverse();
    Ok(out)
}
