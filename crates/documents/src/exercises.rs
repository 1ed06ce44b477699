//! Exercises in words and lists (`domain::exercises`): the mark every exercise record carries
//! on pages, in files, feed entries, e-mails and texts, and the lists of exercises.

use crate::i18n::Lang;
use crate::read_model::scan_all;
use domain::exercises::Exercise;
use domain::subscribers::About;
use domain::{ExerciseId, Record, StateError, StateView, StateViewExt, Table};
use time::OffsetDateTime;

/// "ÖVNING", "ØVELSE" or "EXERCISE".
pub fn mark(lang: Lang) -> &'static str {
    lang.t("exercise.mark")
}

/// `text` marked as an exercise's ("ÖVNING: text") when `exercise` is set; else unchanged.
pub fn marked(lang: Lang, exercise: Option<&ExerciseId>, text: &str) -> String {
    match exercise {
        Some(_) => format!("{}: {text}", mark(lang)),
        None => text.to_owned(),
    }
}

/// Every exercise, the latest start first.
pub fn all(view: &dyn StateView) -> Result<Vec<Exercise>, StateError> {
    let mut out: Vec<Exercise> = scan_all(view, Table::Exercise)?
        .into_iter()
        .filter_map(|r| match r {
            Record::Exercise(x) => Some(x),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| b.starts_at.cmp(&a.starts_at).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// The exercises running at `now` (shown on every page, so nobody mistakes one for real).
pub fn running(view: &dyn StateView, now: OffsetDateTime) -> Result<Vec<Exercise>, StateError> {
    Ok(all(view)?.into_iter().filter(|x| x.is_running(now)).collect())
}

/// The exercise a notice is about (an exercise incident's update or reminder, or a page made in
/// an exercise), if any.
pub fn of_notice(view: &dyn StateView, about: &About) -> Option<ExerciseId> {
    match about {
        About::Incident { id, .. } | About::Reminder { id, .. } => view.incident(id).ok().flatten()?.exercise,
        About::Page { id, .. } => view.page(id).ok().flatten()?.exercise,
        About::Maintenance { .. } | About::ReportDue { .. } => None,
    }
}

/// The state of an exercise in words: planned, running, over, cleared.
pub fn state_word(lang: Lang, x: &Exercise, now: OffsetDateTime) -> &'static str {
    let key = if x.is_cleared() {
        "exercise.state_cleared"
    } else if x.is_over(now) {
        "exercise.state_over"
    } else if x.is_running(now) {
        "exercise.state_running"
    } else {
        "exercise.state_planned"
    };
    lang.t(key)
}
