//! The rule-based models of web analytics: fixed weights by position in the path.
//!
//! Each converting journey hands out one conversion (and its value) over its touches; a
//! channel touched twice collects both shares. Null journeys play no part. These are the
//! same rules as ChannelAttribution's `heuristic_models` (first, last, linear) and GA4's
//! time decay and position based.

use crate::paths::Paths;
use crate::{AttributionError, Credits};
use serde::{Deserialize, Serialize};

/// A rule that splits a conversion over the touches of its path, chosen by name in
/// config (`{ type = "time_decay", half_life = 2 }`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleModel {
    /// All credit to the first touch.
    First,
    /// All credit to the last touch (last click).
    Last,
    /// Equal credit to every touch.
    Linear,
    /// Touches nearer the conversion weigh more: the `k`-th touch before the conversion
    /// (`k = 0` for the last touch) weighs `2^(−k / half_life)`, normalised per path.
    /// Aggregated paths carry no times, so the half-life counts touches; for a half-life
    /// in time use [`crate::touches::time_decay_by_time`] on the touchpoints.
    TimeDecay { half_life: f64 },
    /// U-shaped: `first` to the first touch, `last` to the last, the rest split evenly
    /// over the touches between (40/20/40 by default). A single touch takes everything;
    /// two touches split `first : last` (50/50 by default).
    Position {
        #[serde(default = "forty")]
        first: f64,
        #[serde(default = "forty")]
        last: f64,
    },
}

fn forty() -> f64 {
    0.4
}

impl RuleModel {
    /// The U-shaped 40/20/40 position-based model.
    pub const POSITION: RuleModel = RuleModel::Position {
        first: 0.4,
        last: 0.4,
    };

    /// The five models with their usual settings (time decay: half-life of one touch).
    pub fn standard() -> [RuleModel; 5] {
        [
            RuleModel::First,
            RuleModel::Last,
            RuleModel::Linear,
            RuleModel::TimeDecay { half_life: 1.0 },
            RuleModel::POSITION,
        ]
    }

    /// The lookup name (the serde tag).
    pub fn name(&self) -> &'static str {
        match self {
            RuleModel::First => "first",
            RuleModel::Last => "last",
            RuleModel::Linear => "linear",
            RuleModel::TimeDecay { .. } => "time_decay",
            RuleModel::Position { .. } => "position",
        }
    }

    /// Whether the parameters are usable, with a message naming the one that is not.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            RuleModel::TimeDecay { half_life } if !(half_life.is_finite() && half_life > 0.0) => {
                Err(format!(
                    "time decay: half_life (in touches) must be > 0, got {half_life}"
                ))
            }
            RuleModel::Position { first, last } => {
                let usable = |x: f64| x.is_finite() && x >= 0.0;
                if !(usable(first) && usable(last) && first + last <= 1.0 && first + last > 0.0) {
                    Err(format!(
                        "position based: first and last must be ≥ 0 with 0 < first + last ≤ 1, got first = {first}, last = {last}"
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// The share of each of `len` touches into `weights` (cleared first); they sum to 1.
    pub fn weights(&self, len: usize, weights: &mut Vec<f64>) {
        weights.clear();
        if len == 0 {
            return;
        }
        match *self {
            RuleModel::First => {
                weights.resize(len, 0.0);
                weights[0] = 1.0;
            }
            RuleModel::Last => {
                weights.resize(len, 0.0);
                weights[len - 1] = 1.0;
            }
            RuleModel::Linear => weights.resize(len, 1.0 / len as f64),
            RuleModel::TimeDecay { half_life } => {
                weights.extend((0..len).map(|i| (-((len - 1 - i) as f64) / half_life).exp2()));
                let total: f64 = weights.iter().sum();
                weights.iter_mut().for_each(|w| *w /= total);
            }
            RuleModel::Position { first, last } => match len {
                1 => weights.push(1.0),
                2 => weights.extend([first / (first + last), last / (first + last)]),
                _ => {
                    let middle = (1.0 - first - last) / (len - 2) as f64;
                    weights.resize(len, middle);
                    weights[0] = first;
                    weights[len - 1] = last;
                }
            },
        }
    }

    /// Credits the converting journeys of `paths` to their channels.
    pub fn credit(&self, paths: &Paths) -> Result<Credits, AttributionError> {
        self.check().map_err(AttributionError::Invalid)?;
        paths.check()?;
        let mut credits = Credits::zero(self.name(), &paths.channels);
        let mut weights = Vec::new();
        for journey in paths.journeys.iter().filter(|j| j.conversions > 0.0) {
            self.weights(journey.path.len(), &mut weights);
            for (&channel, w) in journey.path.iter().zip(&weights) {
                let credit = &mut credits.channels[channel as usize];
                credit.conversions += w * journey.conversions;
                credit.value += w * journey.value;
            }
        }
        Ok(credits)
    }
}
