//! `result.json` ("adroit-mmm-result v1"): a fitted model with the spend history and the
//! baseline it came from, and the two questions every door asks of it — the budget split
//! of a plan ([`ResultFile::allocate`]) and the KPI of a spend plan
//! ([`ResultFile::whatif`]). The CLI (`adroit mmm allocate/whatif`) and the HTTP service
//! (`adroit serve`) call these same functions; they only parse and print.
//!
//! The file is parsed from bytes the caller read ([`ResultFile::from_json`]); nothing here
//! touches the file system.

use crate::allocate::{self, AllocateError, Allocation, ChannelPlan, Objective};
use crate::fit::MmmResult;
use crate::plan::PlanCurve;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `format` of a result file.
pub const FORMAT: &str = "adroit-mmm-result v1";

/// Bounds of a channel that has none given, as multiples of its current spend.
pub const DEFAULT_BOUNDS: (f64, f64) = (0.5, 1.5);

/// `result.json`: the model's result with the table it came from and the dates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResultFile {
    pub format: String,
    pub data: String,
    pub kpi: String,
    pub dates: Vec<String>,
    /// Spend per channel and period (the allocator's "current" plan comes from it).
    pub spend: BTreeMap<String, Vec<f64>>,
    /// Fitted KPI minus media effects per period of the modelling window: what the KPI
    /// would be without media.
    pub baseline: Vec<f64>,
    /// The channels' response curves at posterior draws (Bayesian fits only): a plan's
    /// outcome is then reported as a distribution, not only at the mean curves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub curve_draws: Vec<Vec<crate::model::ChannelFit>>,
    #[serde(flatten)]
    pub result: MmmResult,
}

/// What can be wrong with a result file or with a question asked of it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FileError {
    /// Not JSON, or not a result file (serde's message).
    #[error("{0}")]
    Json(String),
    #[error("format {found:?}, expected {FORMAT:?}")]
    Format { found: String },
    /// A file whose channels and spend history disagree (hand-edited or damaged).
    #[error("damaged result file: {0}")]
    Damaged(String),
    #[error("periods must be at least 1")]
    NoPeriods,
    #[error("no channel {channel:?} in the model (channels: {})", channels.join(", "))]
    UnknownChannel {
        channel: String,
        channels: Vec<String>,
    },
    #[error("spend of {channel} is {value}, which is not a spend (a number ≥ 0)")]
    BadSpend { channel: String, value: f64 },
    #[error(transparent)]
    Allocate(#[from] AllocateError),
}

/// What a plan optimises; the budget of [`Target::MaxResponse`] is given separately
/// (default: what the last periods spent).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Target {
    MaxResponse,
    TargetRoas { roas: f64 },
    TargetCpa { cpa: f64 },
}

/// Why an objective text is not one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetParseError {
    /// The value after `=` (as written) is not a number.
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("use max-response, target-roas=R or target-cpa=C")]
    Unknown,
}

impl Target {
    /// `max-response`, `target-roas=R` or `target-cpa=C`.
    pub fn parse(text: &str) -> Result<Target, TargetParseError> {
        if text == "max-response" {
            return Ok(Target::MaxResponse);
        }
        let number = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| TargetParseError::NotANumber(v.into()))
        };
        match text.split_once('=') {
            Some(("target-roas", v)) => Ok(Target::TargetRoas { roas: number(v)? }),
            Some(("target-cpa", v)) => Ok(Target::TargetCpa { cpa: number(v)? }),
            _ => Err(TargetParseError::Unknown),
        }
    }
}

/// One channel of a what-if.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIfChannel {
    pub channel: String,
    pub spend_per_period: f64,
    /// Spend over the plan.
    pub spend: f64,
    /// The channel's KPI inside the plan's periods, the history's carry-over included.
    pub effect: f64,
    /// effect / spend; `None` when the channel spends nothing.
    pub roas: Option<f64>,
}

/// The predicted KPI of a spend plan: baseline + media.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    pub periods: usize,
    /// Periods the baseline is the mean of (the last ones of the modelling window).
    pub baseline_periods: usize,
    pub kpi: f64,
    pub baseline: f64,
    pub media: f64,
    pub spend: f64,
    /// effect of all media / spend; `None` when nothing is spent.
    pub roas: Option<f64>,
    pub channels: Vec<WhatIfChannel>,
    /// The plan's media effect over the posterior draws (Bayesian fits only; the
    /// baseline is held at its posterior mean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<PlanPosterior>,
}

/// The distribution of a plan's media effect over posterior draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanPosterior {
    pub draws: usize,
    pub media_mean: f64,
    /// The 5 % and 95 % quantiles.
    pub media_lower: f64,
    pub media_upper: f64,
    pub kpi_mean: f64,
    pub kpi_lower: f64,
    pub kpi_upper: f64,
}

impl ResultFile {
    /// Parses a result file and checks its format and that every channel of the model
    /// has a spend history (so no question asked of it can fail on the file itself).
    pub fn from_json(bytes: &[u8]) -> Result<ResultFile, FileError> {
        let file: ResultFile =
            serde_json::from_slice(bytes).map_err(|e| FileError::Json(e.to_string()))?;
        if file.format != FORMAT {
            return Err(FileError::Format {
                found: file.format.clone(),
            });
        }
        for c in &file.result.channels {
            if file.spend.get(&c.name).is_none_or(|s| s.is_empty()) {
                return Err(FileError::Damaged(format!(
                    "channel {:?} has no spend history",
                    c.name
                )));
            }
        }
        if file.baseline.is_empty() {
            return Err(FileError::Damaged("the baseline is empty".into()));
        }
        Ok(file)
    }

    /// The model's channels, in model order.
    pub fn channels(&self) -> Vec<String> {
        self.result
            .channels
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    fn check_channel(&self, name: &str) -> Result<(), FileError> {
        if self.spend.contains_key(name) {
            Ok(())
        } else {
            Err(FileError::UnknownChannel {
                channel: name.into(),
                channels: self.spend.keys().cloned().collect(),
            })
        }
    }

    /// What `channel` spent over `periods` periods at the pace of its last `periods`
    /// periods (all of them if there are fewer).
    pub fn recent_spend(&self, channel: &str, periods: usize) -> f64 {
        let s = &self.spend[channel];
        let take = periods.min(s.len()).max(1);
        let mean = s[s.len() - take..].iter().sum::<f64>() / take as f64;
        mean * periods as f64
    }

    /// The budget split over a plan of `periods` periods: `budget` (default: what the
    /// last `periods` periods spent) for [`Target::MaxResponse`]; `bounds` as multiples
    /// of each channel's current spend (default [`DEFAULT_BOUNDS`]).
    pub fn allocate(
        &self,
        periods: usize,
        budget: Option<f64>,
        bounds: &BTreeMap<String, (f64, f64)>,
        target: Target,
    ) -> Result<Allocation, FileError> {
        if periods == 0 {
            return Err(FileError::NoPeriods);
        }
        // Bound and budget values are checked by the allocator (its messages name them).
        for name in bounds.keys() {
            self.check_channel(name)?;
        }
        let curves: Vec<PlanCurve> = self
            .result
            .channels
            .iter()
            .map(|c| PlanCurve::new(c.fit, &self.spend[&c.name], periods))
            .collect();
        let plan: Vec<ChannelPlan> = self
            .result
            .channels
            .iter()
            .zip(&curves)
            .map(|(c, curve)| {
                let current = self.recent_spend(&c.name, periods);
                let (lo, hi) = bounds.get(&c.name).copied().unwrap_or(DEFAULT_BOUNDS);
                ChannelPlan::with_multipliers(&c.name, curve, current, lo, hi)
            })
            .collect();
        let current_total: f64 = plan.iter().map(|p| p.current).sum();
        let objective = match target {
            Target::MaxResponse => Objective::MaxResponse {
                budget: budget.unwrap_or(current_total),
            },
            Target::TargetRoas { roas } => Objective::TargetRoas { roas },
            Target::TargetCpa { cpa } => Objective::TargetCpa { cpa },
        };
        Ok(allocate::allocate(&plan, objective)?)
    }

    /// The KPI over `periods` periods when each channel of `plan` spends its amount per
    /// period (channels left out keep their recent pace): the baseline (mean of the last
    /// `periods` modelled periods, times `periods`) plus each channel's effect inside the
    /// plan, with the history's carry-over.
    pub fn whatif(
        &self,
        plan: &BTreeMap<String, f64>,
        periods: usize,
    ) -> Result<WhatIf, FileError> {
        if periods == 0 {
            return Err(FileError::NoPeriods);
        }
        for (name, &v) in plan {
            self.check_channel(name)?;
            if !(v.is_finite() && v >= 0.0) {
                return Err(FileError::BadSpend {
                    channel: name.clone(),
                    value: v,
                });
            }
        }
        let n = periods as f64;
        let take = periods.min(self.baseline.len()).max(1);
        let baseline = self.baseline[self.baseline.len() - take..]
            .iter()
            .sum::<f64>()
            / take as f64
            * n;
        let mut media = 0.0;
        let mut spend_total = 0.0;
        let mut channels = Vec::with_capacity(self.result.channels.len());
        for c in &self.result.channels {
            let per = plan
                .get(&c.name)
                .copied()
                .unwrap_or_else(|| self.recent_spend(&c.name, periods) / n);
            // Inside the plan's periods, with the history's carry-over: the KPI they show.
            let effect =
                PlanCurve::new(c.fit, &self.spend[&c.name], periods).effect_in_plan(per * n);
            media += effect;
            spend_total += per * n;
            channels.push(WhatIfChannel {
                channel: c.name.clone(),
                spend_per_period: per,
                spend: per * n,
                effect,
                roas: (per > 0.0).then(|| effect / (per * n)),
            });
        }
        let posterior = self
            .draw_totals(
                periods,
                |c| {
                    channels
                        .iter()
                        .find(|w| w.channel == c)
                        .map_or(0.0, |w| w.spend)
                },
                false,
            )
            .map(|effects| {
                let media = Interval::of(effects);
                PlanPosterior {
                    draws: media.draws,
                    media_mean: media.mean,
                    media_lower: media.lower,
                    media_upper: media.upper,
                    kpi_mean: baseline + media.mean,
                    kpi_lower: baseline + media.lower,
                    kpi_upper: baseline + media.upper,
                }
            });
        Ok(WhatIf {
            periods,
            baseline_periods: take,
            kpi: baseline + media,
            baseline,
            media,
            spend: spend_total,
            roas: (spend_total > 0.0).then(|| media / spend_total),
            channels,
            posterior,
        })
    }
}

impl ResultFile {
    /// Per posterior draw of the curves (Bayesian fits only): the plan's total over
    /// channels, each channel spending `spend(channel)` over `periods` periods — its
    /// effect inside the plan (`incremental = false`, what the KPI of those periods
    /// shows) or its incremental response with the carry-over after it
    /// (`incremental = true`, what the allocator maximises).
    fn draw_totals(
        &self,
        periods: usize,
        spend: impl Fn(&str) -> f64,
        incremental: bool,
    ) -> Option<Vec<f64>> {
        use crate::allocate::ResponseCurve;
        (!self.curve_draws.is_empty()).then(|| {
            self.curve_draws
                .iter()
                .map(|fits| {
                    self.result
                        .channels
                        .iter()
                        .zip(fits)
                        .map(|(c, fit)| {
                            let curve = PlanCurve::new(*fit, &self.spend[&c.name], periods);
                            let s = spend(&c.name);
                            if incremental {
                                curve.response(s)
                            } else {
                                curve.effect_in_plan(s)
                            }
                        })
                        .sum::<f64>()
                })
                .collect()
        })
    }

    /// The distribution of an allocation's outcome over the posterior draws of the
    /// curves (Bayesian fits only): the current and the optimal plan's response, and
    /// the gain of moving, draw by draw — so that "the new split earns more" comes with
    /// the probability that it does.
    pub fn allocation_posterior(
        &self,
        allocation: &Allocation,
        periods: usize,
    ) -> Option<AllocationPosterior> {
        let spend_of = |optimal: bool| {
            move |name: &str| {
                allocation
                    .channels
                    .iter()
                    .find(|c| c.name == name)
                    .map_or(0.0, |c| {
                        if optimal {
                            c.optimal_spend
                        } else {
                            c.current_spend
                        }
                    })
            }
        };
        let current = self.draw_totals(periods, spend_of(false), true)?;
        let optimal = self.draw_totals(periods, spend_of(true), true)?;
        let gain: Vec<f64> = optimal.iter().zip(&current).map(|(o, c)| o - c).collect();
        let better = gain.iter().filter(|g| **g > 0.0).count() as f64 / gain.len() as f64;
        Some(AllocationPosterior {
            current: Interval::of(current),
            optimal: Interval::of(optimal),
            gain: Interval::of(gain),
            probability_of_gain: better,
        })
    }
}

/// A quantity's posterior: mean and the central 90 % interval over the draws.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub draws: usize,
    pub mean: f64,
    /// The 5 % and 95 % quantiles.
    pub lower: f64,
    pub upper: f64,
}

impl Interval {
    fn of(mut values: Vec<f64>) -> Interval {
        values.sort_by(f64::total_cmp);
        let quantile = |q: f64| {
            let pos = q * (values.len() - 1) as f64;
            let (i, f) = (pos.floor() as usize, pos.fract());
            values[i] + f * (values[(i + 1).min(values.len() - 1)] - values[i])
        };
        Interval {
            draws: values.len(),
            mean: values.iter().sum::<f64>() / values.len() as f64,
            lower: quantile(0.05),
            upper: quantile(0.95),
        }
    }
}

/// An allocation's outcome over the posterior: each plan's incremental response
/// (with its carry-over, as the allocator counts it), the gain, and how often the
/// optimal plan beats the current one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationPosterior {
    pub current: Interval,
    pub optimal: Interval,
    pub gain: Interval,
    /// Share of posterior draws in which the optimal plan earns more than the current.
    pub probability_of_gain: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_parse_as_the_cli_writes_them() {
        assert_eq!(Target::parse("max-response"), Ok(Target::MaxResponse));
        assert_eq!(
            Target::parse("target-roas=2.5"),
            Ok(Target::TargetRoas { roas: 2.5 })
        );
        assert_eq!(
            Target::parse("target-cpa=25"),
            Ok(Target::TargetCpa { cpa: 25.0 })
        );
        assert_eq!(
            Target::parse("target-roas=x"),
            Err(TargetParseError::NotANumber("x".into()))
        );
        assert_eq!(Target::parse("max-profit"), Err(TargetParseError::Unknown));
    }

    #[test]
    fn not_a_result_file_is_an_error_not_a_panic() {
        assert!(matches!(
            ResultFile::from_json(b"{ nope"),
            Err(FileError::Json(_))
        ));
        assert!(matches!(
            ResultFile::from_json(b"{\"format\": \"adroit-mmm-result v1\"}"),
            Err(FileError::Json(_))
        ));
    }
}
