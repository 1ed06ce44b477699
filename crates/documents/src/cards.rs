//! Action cards as readers see them, from this node's state: every card (withdrawn ones left
//! out), and the ones that apply now because a linked system is not operational.

use domain::cards::ActionCard;
use domain::status::System;
use domain::{Record, StateError, StateView, Table};
use std::collections::BTreeMap;

use crate::read_model::scan_all;

/// Every card (withdrawn ones left out) and every system, by id.
pub struct Cards {
    pub cards: Vec<ActionCard>,
    pub systems: BTreeMap<String, System>,
}

impl Cards {
    pub fn load(view: &dyn StateView) -> Result<Cards, StateError> {
        let mut cards: Vec<ActionCard> = scan_all(view, Table::Card)?
            .into_iter()
            .filter_map(|r| if let Record::Card(c) = r { Some(c) } else { None })
            .filter(|c| !c.withdrawn)
            .collect();
        cards.sort_by_key(|c| (c.category, c.text.title.to_lowercase()));
        let systems = scan_all(view, Table::System)?
            .into_iter()
            .filter_map(|r| if let Record::System(s) = r { Some((s.id.to_string(), s)) } else { None })
            .collect();
        Ok(Cards { cards, systems })
    }

    /// The linked systems that are not operational.
    pub fn down_systems(&self, c: &ActionCard) -> Vec<&System> {
        c.systems.iter().filter_map(|id| self.systems.get(id.as_str())).filter(|s| s.state.is_down()).collect()
    }

    /// Cards that apply now: one of their systems is not operational.
    pub fn now(&self) -> Vec<&ActionCard> {
        self.cards.iter().filter(|c| !self.down_systems(c).is_empty()).collect()
    }

    pub fn get(&self, id: &str) -> Option<&ActionCard> {
        self.cards.iter().find(|c| c.id.as_str() == id)
    }

    pub fn system_name(&self, id: &domain::SystemId) -> String {
        self.systems.get(id.as_str()).map_or_else(|| id.to_string(), |s| s.name.clone())
    }
}
