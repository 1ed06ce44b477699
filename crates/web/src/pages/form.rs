//! Posted forms as name/value pairs, with the field errors a page shows beside each field.

use std::collections::BTreeMap;

/// A posted form (`application/x-www-form-urlencoded`), in field order.
#[derive(Clone, Debug, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
    }

    /// The first value of `name`, trimmed, or "".
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// A checkbox: present and not "false".
    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v != "false" && v != "0")
    }

    pub fn csrf(&self) -> Option<&str> {
        self.get("csrf")
    }
}

/// Error messages by field name, plus one for the whole form.
#[derive(Clone, Debug, Default)]
pub struct Errors {
    pub fields: BTreeMap<String, String>,
    pub form: Option<String>,
}

impl Errors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.fields.entry(field.to_owned()).or_insert_with(|| message.into());
    }

    /// The message for `field`, or "".
    pub fn of(&self, field: impl AsRef<str>) -> &str {
        self.fields.get(field.as_ref()).map_or("", String::as_str)
    }

    pub fn has(&self, field: impl AsRef<str>) -> bool {
        self.fields.contains_key(field.as_ref())
    }

    /// The message for field `what` of form line `i`, or "".
    pub fn line(&self, i: impl super::chrome::Arg<usize>, what: &str) -> &str {
        self.of(format!("line-{}-{what}", i.arg()))
    }

    pub fn line_has(&self, i: impl super::chrome::Arg<usize>, what: &str) -> bool {
        self.has(format!("line-{}-{what}", i.arg()))
    }

    /// The number of field errors, for the summary at the top of a form.
    pub fn count(&self) -> usize {
        self.fields.len()
    }

    /// A window typed into the local-time fields `starts_at` and `ends_at`: both times, or an
    /// error (`bad_time`) beside each one that is not a date and time.
    pub fn window(
        &mut self,
        lang: documents::i18n::Lang,
        starts_at: &str,
        ends_at: &str,
        bad_time: &str,
    ) -> Option<(time::OffsetDateTime, time::OffsetDateTime)> {
        let (start, end) = (lang.parse_local(starts_at), lang.parse_local(ends_at));
        if start.is_none() {
            self.add("starts_at", lang.t(bad_time));
        }
        if end.is_none() {
            self.add("ends_at", lang.t(bad_time));
        }
        start.zip(end)
    }
}
