//! The contact directory as readers see it, from this node's local state (so it answers without
//! quorum): search over names, functions, units, sites and numbers (case- and
//! diacritics-insensitive), functions before people, and each rota's on-call now and next by
//! this node's clock. The page, `/api/v1/contacts` and the CSV and vCard downloads share it.

pub mod export;
pub mod import;

use domain::contacts::{Contact, ContactKind, OnCall, Rota};
use domain::search::Query;
use domain::{Record, StateError, StateView, Table, UnitId};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

use crate::read_model::scan_all;

/// Everything in the directory, with unit names resolved.
pub struct Directory {
    pub contacts: Vec<Contact>,
    pub rotas: Vec<Rota>,
    units: BTreeMap<UnitId, String>,
}

/// A rota with who is on call now and next, and their entries.
#[derive(Serialize)]
pub struct RotaNow {
    pub rota: Rota,
    pub on_call: OnCall,
    pub now_contact: Option<Contact>,
    pub next_contact: Option<Contact>,
    /// The function entry the rota staffs.
    pub function: Option<Contact>,
}

impl Directory {
    pub fn load(view: &dyn StateView) -> Result<Directory, StateError> {
        let mut contacts = Vec::new();
        let mut rotas = Vec::new();
        for r in scan_all(view, Table::Contact)? {
            if let Record::Contact(c) = r {
                contacts.push(c);
            }
        }
        for r in scan_all(view, Table::Rota)? {
            if let Record::Rota(r) = r {
                rotas.push(r);
            }
        }
        let mut units = BTreeMap::new();
        for r in scan_all(view, Table::Unit)? {
            if let Record::Unit(u) = r {
                units.insert(u.id.clone(), u.name.clone());
            }
        }
        // Functions first, then people; by name within each.
        contacts.sort_by_key(|c| (c.kind != ContactKind::Function, c.name.to_lowercase()));
        rotas.sort_by_key(|r| r.name.to_lowercase());
        Ok(Directory { contacts, rotas, units })
    }

    /// Every unit: id and name.
    pub fn units(&self) -> impl Iterator<Item = (&UnitId, &str)> {
        self.units.iter().map(|(id, name)| (id, name.as_str()))
    }

    pub fn has_unit(&self, id: &UnitId) -> bool {
        self.units.contains_key(id)
    }

    pub fn unit_name(&self, c: &Contact) -> Option<&str> {
        c.unit_id.as_ref().and_then(|u| self.units.get(u)).map(String::as_str)
    }

    /// Entries (not withdrawn) matching every word of `q`; all of them for an empty query.
    pub fn search(&self, q: &str) -> Vec<&Contact> {
        let query = Query::new(q);
        self.contacts
            .iter()
            .filter(|c| !c.withdrawn)
            .filter(|c| query.is_empty() || query.matches(&c.search_text(self.unit_name(c))))
            .collect()
    }

    pub fn contact(&self, id: &domain::ContactId) -> Option<&Contact> {
        self.contacts.iter().find(|c| &c.id == id)
    }

    /// Every rota with who is on call at `now` and next.
    pub fn on_call(&self, now: OffsetDateTime) -> Vec<RotaNow> {
        self.rotas
            .iter()
            .map(|r| {
                let on_call = r.on_call(now);
                let find =
                    |s: &Option<domain::contacts::Shift>| s.as_ref().and_then(|s| self.contact(&s.contact_id)).cloned();
                RotaNow {
                    now_contact: find(&on_call.now),
                    next_contact: find(&on_call.next),
                    function: r.function_id.as_ref().and_then(|f| self.contact(f)).cloned(),
                    rota: r.clone(),
                    on_call,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
