//! A validated catalogue: the plan document's region, units, indicators, targets and
//! due rules. A domain type so that the store can load one without depending on the
//! loader that reads and checks catalogue files ([`crate::catalogue`]).

use std::collections::BTreeMap;

use super::{DueRule, Indicator, IndicatorId, Plan, Region, Target, UnitRegistry};

/// A validated catalogue.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// The region whose plan this is: the default region of its indicators.
    pub region: String,
    /// The regions the catalogue declares, in file order, with its own region added
    /// (as a county without a parent) when it is not declared.
    pub regions: Vec<Region>,
    /// How the plan is cited: [`Plan::document`].
    pub document: String,
    pub year: u16,
    /// The plan the catalogue carries: its targets for `year` in `region` carry its
    /// entries.
    pub plan: Plan,
    pub units: UnitRegistry,
    /// Each indicator with its target for `year`, in file order.
    pub entries: Vec<(Indicator, Option<Target>)>,
    /// The indicators whose figures fall due other than by their frequency's default.
    pub due_rules: BTreeMap<IndicatorId, DueRule>,
    /// Whether the catalogue speaks for its indicators' due rules: a catalogue file does
    /// (an entry without `due` goes back to its frequency's default); a plan sheet,
    /// which has no such column, does not, and leaves them as set.
    pub sets_due_rules: bool,
}

impl Catalogue {
    /// Finds an indicator and its target by id.
    pub fn find(&self, id: &str) -> Option<(&Indicator, Option<&Target>)> {
        self.entries
            .iter()
            .find(|(i, _)| i.id.as_str() == id)
            .map(|(i, t)| (i, t.as_ref()))
    }
}
