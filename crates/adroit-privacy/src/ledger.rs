//! The privacy-budget ledger: every differentially private release of a dataset, and
//! the budget they may spend together. Basic sequential composition: the ε and δ of
//! all releases add up, and a release that would take the total past the budget is
//! refused before any noise is drawn.
//!
//! One JSON file may hold several datasets, each with its own budget and releases:
//!
//! ```json
//! {"datasets": {"shop_metrics": {"budget": {"epsilon": 3.0, "delta": 1e-5},
//!   "releases": [{"time": "2026-11-29T18:00:00Z", "epsilon": 1.0, "delta": 0.0,
//!                 "mechanism": "laplace", "what": "count, sum_spend by channel"}]}}}
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Slack for adding floats: 1.0 + 1.0 + 1.0 must fit a budget of 3.0.
const TOLERANCE: f64 = 1e-9;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub epsilon: f64,
    #[serde(default)]
    pub delta: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// When (RFC 3339, UTC).
    pub time: String,
    pub epsilon: f64,
    pub delta: f64,
    pub mechanism: String,
    /// The statistics and grouping released.
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetLedger {
    pub budget: Budget,
    #[serde(default)]
    pub releases: Vec<Entry>,
}

impl DatasetLedger {
    /// (ε, δ) spent so far.
    pub fn spent(&self) -> Budget {
        let (epsilon, delta) = crate::dp::compose(
            &self
                .releases
                .iter()
                .map(|r| (r.epsilon, r.delta))
                .collect::<Vec<_>>(),
        );
        Budget { epsilon, delta }
    }

    /// (ε, δ) left.
    pub fn remaining(&self) -> Budget {
        let s = self.spent();
        Budget {
            epsilon: (self.budget.epsilon - s.epsilon).max(0.0),
            delta: (self.budget.delta - s.delta).max(0.0),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    pub datasets: BTreeMap<String, DatasetLedger>,
}

impl Ledger {
    /// Parses a ledger file's text (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("{origin}: not a privacy ledger: {e}"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("ledger serialises") + "\n"
    }

    /// Checks that `entry` fits the dataset's budget and records it. A dataset seen for
    /// the first time needs `budget`; a known one keeps the budget it was created with
    /// (a different `budget` is an error: budgets are not raised by a flag). On any
    /// error the ledger is unchanged.
    pub fn spend(
        &mut self,
        dataset: &str,
        budget: Option<Budget>,
        entry: Entry,
    ) -> Result<Budget, String> {
        if let Some(b) = budget
            && !(b.epsilon.is_finite() && b.epsilon > 0.0 && (0.0..1.0).contains(&b.delta))
        {
            return Err(format!(
                "budget ε = {}, δ = {}: ε must be positive and δ in [0, 1)",
                b.epsilon, b.delta
            ));
        }
        let current = match (self.datasets.get(dataset), budget) {
            (Some(d), Some(b))
                if (d.budget.epsilon - b.epsilon).abs() > TOLERANCE
                    || (d.budget.delta - b.delta).abs() > TOLERANCE * 1e-6 =>
            {
                return Err(format!(
                    "dataset `{dataset}` was created with a budget of ε = {}, δ = {}; it cannot be changed to ε = {}, δ = {} by a flag (drop --budget to use the recorded one)",
                    d.budget.epsilon, d.budget.delta, b.epsilon, b.delta
                ));
            }
            (Some(d), _) => d.clone(),
            (None, Some(b)) => DatasetLedger {
                budget: b,
                releases: vec![],
            },
            (None, None) => {
                return Err(format!(
                    "dataset `{dataset}` has no budget in the ledger yet: give --budget EPSILON (and --delta-budget for Gaussian releases)"
                ));
            }
        };
        let spent = current.spent();
        let after_e = spent.epsilon + entry.epsilon;
        let after_d = spent.delta + entry.delta;
        if after_e > current.budget.epsilon + TOLERANCE
            || after_d > current.budget.delta + current.budget.delta * 1e-9
        {
            let left = current.remaining();
            return Err(format!(
                "refused: this release needs ε = {}, δ = {} but dataset `{dataset}` has ε = {}, δ = {} left of its budget ε = {}, δ = {} ({} release(s) so far); the ledger is unchanged",
                entry.epsilon,
                entry.delta,
                round(left.epsilon),
                left.delta,
                current.budget.epsilon,
                current.budget.delta,
                current.releases.len()
            ));
        }
        let mut next = current;
        next.releases.push(entry);
        let left = next.remaining();
        self.datasets.insert(dataset.to_string(), next);
        Ok(left)
    }
}

fn round(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(e: f64, d: f64) -> Entry {
        Entry {
            time: "2026-11-29T00:00:00Z".into(),
            epsilon: e,
            delta: d,
            mechanism: "laplace".into(),
            what: "count by channel".into(),
        }
    }

    #[test]
    fn spends_until_the_budget_then_refuses_without_change() {
        let mut l = Ledger::default();
        let b = Budget {
            epsilon: 3.0,
            delta: 1e-5,
        };
        assert!(l.spend("d", None, entry(1.0, 0.0)).is_err());
        assert!(l.datasets.is_empty());
        for _ in 0..3 {
            l.spend("d", Some(b), entry(1.0, 0.0)).unwrap();
        }
        let before = l.clone();
        let err = l.spend("d", None, entry(0.1, 0.0)).unwrap_err();
        assert!(err.contains("refused"), "{err}");
        assert_eq!(l, before);
        // δ is a budget too.
        let mut l = Ledger::default();
        l.spend("g", Some(b), entry(0.5, 6e-6)).unwrap();
        assert!(l.spend("g", None, entry(0.5, 6e-6)).is_err());
        // The budget is fixed at creation.
        assert!(
            l.spend(
                "g",
                Some(Budget {
                    epsilon: 9.0,
                    delta: 1e-5
                }),
                entry(0.1, 0.0)
            )
            .is_err()
        );
        let text = l.to_json();
        assert_eq!(Ledger::parse(&text, "x").unwrap(), l);
    }
}
