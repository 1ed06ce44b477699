//! Status subscribers as the management page lists them.

use domain::subscribers::Subscriber;
use domain::{Record, StateView, Table};

/// Every subscriber, by name.
pub fn all(view: &dyn StateView) -> Result<Vec<Subscriber>, domain::StateError> {
    let mut out: Vec<Subscriber> = crate::read_model::scan_all(view, Table::Subscriber)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Subscriber(s) => Some(s),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}
