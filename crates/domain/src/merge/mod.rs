//! Merging another cluster's reference data (catalog, directory, action cards) into this one:
//! which records are new, which differ, which are the same, and the one `Import` command that
//! brings this cluster up to date. Orders, accounts and the status board are never merged.
//!
//! A record is compared by its editable fields only (not version, history or who changed it), so
//! merging the same file twice changes nothing the second time.

use crate::cards::ActionCard;
use crate::command::{ArticleFields, CardFields, Command, ContactFields, RotaFields, SupplierFields, UnitFields};
use crate::contacts::{Contact, Rota};
use crate::state::{Record, StateError, StateView, StateViewExt};
use crate::{Article, CareUnit, Supplier};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The records offered for merging, as another cluster holds them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Incoming {
    #[serde(default)]
    pub units: Vec<CareUnit>,
    #[serde(default)]
    pub suppliers: Vec<Supplier>,
    #[serde(default)]
    pub articles: Vec<Article>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub rotas: Vec<Rota>,
    #[serde(default)]
    pub cards: Vec<ActionCard>,
}

impl Incoming {
    /// Takes `record` if it is reference data that merges; anything else is left out.
    pub fn add(&mut self, record: Record) {
        match record {
            Record::Unit(u) => self.units.push(u),
            Record::Supplier(s) => self.suppliers.push(s),
            Record::Article(a) => self.articles.push(a),
            Record::Contact(c) => self.contacts.push(c),
            Record::Rota(r) => self.rotas.push(r),
            Record::Card(c) => self.cards.push(c),
            _ => {}
        }
    }

    pub fn len(&self) -> usize {
        self.units.len()
            + self.suppliers.len()
            + self.articles.len()
            + self.contacts.len()
            + self.rotas.len()
            + self.cards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Changed,
    Unchanged,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// `unit`, `supplier`, `article`, `contact`, `rota` or `card`.
    pub kind: String,
    pub id: String,
    pub change: Change,
    /// What was adjusted to fit this cluster, e.g. links to status systems it does not have.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// What a merge would do: a line per record, and the rows of the `Import` that does it.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub lines: Vec<Line>,
    pub rows: Vec<Command>,
}

/// The editable fields of a stored record: every field of `F` has the same name in the record.
fn fields<R: Serialize, F: DeserializeOwned>(record: &R) -> Result<F, StateError> {
    serde_json::to_value(record)
        .and_then(serde_json::from_value)
        .map_err(|e| StateError(format!("record does not give its fields: {e}")))
}

impl Plan {
    fn offer<F: PartialEq>(
        &mut self,
        kind: &str,
        id: String,
        theirs: F,
        mine: Option<(F, u64)>,
        row: impl FnOnce(F, Option<u64>) -> Command,
        note: String,
    ) {
        let change = match mine {
            None => {
                self.rows.push(row(theirs, None));
                Change::Added
            }
            Some((m, _)) if m == theirs => Change::Unchanged,
            Some((_, version)) => {
                self.rows.push(row(theirs, Some(version)));
                Change::Changed
            }
        };
        self.lines.push(Line { kind: kind.into(), id, change, note });
    }

    pub fn count(&self, change: Change) -> usize {
        self.lines.iter().filter(|l| l.change == change).count()
    }
}

/// Compares `incoming` with `view` and plans the import. Rows come in dependency order (units
/// and suppliers before the articles and contacts that name them, contacts before rotas).
pub fn plan(view: &dyn StateView, incoming: &Incoming) -> Result<Plan, StateError> {
    let mut p = Plan::default();
    for u in &incoming.units {
        let mine =
            view.unit(&u.id)?.map(|m| Ok::<_, StateError>((fields::<_, UnitFields>(&m)?, m.version))).transpose()?;
        p.offer(
            "unit",
            u.id.to_string(),
            fields(u)?,
            mine,
            |f, v| match v {
                None => Command::CreateUnit(f),
                Some(expected_version) => Command::UpdateUnit { expected_version, fields: f },
            },
            String::new(),
        );
    }
    for s in &incoming.suppliers {
        let mine = view
            .supplier(&s.id)?
            .map(|m| Ok::<_, StateError>((fields::<_, SupplierFields>(&m)?, m.version)))
            .transpose()?;
        p.offer(
            "supplier",
            s.id.to_string(),
            fields(s)?,
            mine,
            |f, v| match v {
                None => Command::CreateSupplier(f),
                Some(expected_version) => Command::UpdateSupplier { expected_version, fields: f },
            },
            String::new(),
        );
    }
    for a in &incoming.articles {
        let mine = view
            .article(&a.id)?
            .map(|m| Ok::<_, StateError>((fields::<_, ArticleFields>(&m)?, m.version)))
            .transpose()?;
        p.offer(
            "article",
            a.id.to_string(),
            fields(a)?,
            mine,
            |f, v| match v {
                None => Command::CreateArticle(f),
                Some(expected_version) => Command::UpdateArticle { expected_version, fields: f },
            },
            String::new(),
        );
    }
    for c in &incoming.contacts {
        let mine = view
            .contact(&c.id)?
            .map(|m| Ok::<_, StateError>((fields::<_, ContactFields>(&m)?, m.version)))
            .transpose()?;
        p.offer(
            "contact",
            c.id.to_string(),
            fields(c)?,
            mine,
            |f, v| Command::PutContact { expected_version: v, fields: f },
            String::new(),
        );
    }
    for r in &incoming.rotas {
        let mine =
            view.rota(&r.id)?.map(|m| Ok::<_, StateError>((fields::<_, RotaFields>(&m)?, m.version))).transpose()?;
        p.offer(
            "rota",
            r.id.to_string(),
            fields(r)?,
            mine,
            |f, v| Command::PutRota { expected_version: v, fields: f },
            String::new(),
        );
    }
    for c in &incoming.cards {
        let mut theirs: CardFields = fields(c)?;
        // Status systems are this cluster's own: keep only links to systems it has.
        let mut dropped = Vec::new();
        let mut kept = Vec::new();
        for s in theirs.systems {
            if view.system(&s)?.is_some() { kept.push(s) } else { dropped.push(s.to_string()) }
        }
        theirs.systems = kept;
        let note = if dropped.is_empty() {
            String::new()
        } else {
            format!("links to systems not here left out: {}", dropped.join(", "))
        };
        let mine =
            view.card(&c.id)?.map(|m| Ok::<_, StateError>((fields::<_, CardFields>(&m)?, m.version))).transpose()?;
        p.offer(
            "card",
            c.id.to_string(),
            theirs,
            mine,
            |f, v| Command::PutCard { expected_version: v, fields: f },
            note,
        );
    }
    Ok(p)
}

#[cfg(test)]
mod tests;
