//! Multi-touch attribution: which channels deserve the credit for a conversion.
//!
//! Pure computation over journeys in memory; no files, no network, no printing.
//!
//! - [`paths`]: [`Paths`], aggregated journeys (a channel sequence with its conversions,
//!   conversion value and non-converting "null" journeys), and the parser of
//!   ChannelAttribution's text format `path;total_conversions;total_conversion_value;total_null`.
//! - [`touches`]: [`build_paths`] cuts raw touchpoints (`user, time, channel, conversion,
//!   value`) into journeys: per user in time order, cut at each conversion, trimmed to a
//!   lookback window; what never converts is a null journey.
//! - [`rules`]: [`RuleModel`], the web-analytics rules (first, last, linear, time decay,
//!   position based), chosen by name in config.
//! - [`mod@markov`]: [`markov()`], absorbing Markov chains of order 1–4 solved exactly
//!   (linear algebra, not simulation) for removal effects, as ChannelAttribution defines them.
//! - [`mod@shapley`]: [`shapley()`], Shapley values over observed channel coalitions, exact
//!   (closed form or subset transforms) or sampled with a stated standard error.
//! - [`mod@data_driven`]: [`data_driven()`], a fitted conversion model (noisy-OR over touch
//!   counts with an organic baseline) whose exact Shapley values credit each conversion;
//!   the one model that keeps organic conversions away from channels.
//!
//! - Reports: [`Paths::top_paths`] (most frequent and highest-converting paths) and
//!   [`transition_matrix`] (a chain's observed transitions without solving it).
//!
//! Every model credits both conversions and conversion value per channel, as
//! [`Credits`], so the models can be compared side by side and fed into channel ROI.
//!
//! ```
//! use adroit_attribution::{markov, MarkovOptions, Paths, RuleModel};
//! let paths = Paths::parse(
//!     "path;total_conversions;total_conversion_value;total_null\n\
//!      C1 > C2 > C3;1;10;0\n\
//!      C1;0;0;1\n\
//!      C2 > C3;0;0;1\n",
//! )
//! .unwrap();
//! let last = RuleModel::Last.credit(&paths).unwrap();
//! assert_eq!(last.get("C3").unwrap().conversions, 1.0);
//! let chain = markov(&paths, &MarkovOptions::default()).unwrap();
//! // Without C1 only the `C2 > C3` entry remains: P(conversion) halves from 1/3 to 1/6.
//! assert!((chain.channel("C1").unwrap().removal_effect - 0.5).abs() < 1e-12);
//! ```

pub mod data_driven;
pub mod markov;
pub mod paths;
pub mod rules;
pub mod shapley;
pub mod touches;

pub use data_driven::{DataDrivenChannel, DataDrivenOptions, DataDrivenResult, data_driven};
pub use markov::{MarkovOptions, MarkovResult, Solver, Transition, markov, transition_matrix};
pub use paths::{ChannelId, ChannelIndex, Journey, PathError, PathSummary, Paths, TopPaths};
pub use rules::RuleModel;
pub use shapley::{ShapleyGame, ShapleyMethod, ShapleyOptions, ShapleyResult, shapley};
pub use touches::{
    JourneyView, PathOptions, Touch, build_paths, for_each_journey, time_decay_by_time,
};

use serde::{Deserialize, Serialize};

/// Anything that can go wrong between journeys and credits. Parse errors carry the line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttributionError {
    #[error(transparent)]
    Parse(#[from] PathError),
    #[error("journey {index}: {message}")]
    Journey { index: usize, message: String },
    #[error("touch {index}: {message}")]
    Touch { index: usize, message: String },
    #[error(
        "{count} channels is more than the {max} an attribution can hold; group rare channels first"
    )]
    TooManyChannels { count: usize, max: usize },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "the Markov chain of order {order} did not converge in {sweeps} sweeps (residual {residual:e}); choose a lower order"
    )]
    NotConverged {
        order: usize,
        sweeps: usize,
        residual: f64,
    },
}

/// One model's credit: conversions and conversion value per channel, in the order of
/// [`Paths::channels`]. Channels that never appear get zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credits {
    /// The model's lookup name (`first`, `last`, `linear`, `time_decay`, `position`,
    /// `markov`, `shapley`, `data_driven`).
    pub model: String,
    pub channels: Vec<ChannelCredit>,
    /// Conversions the model credits to no channel because they would have happened
    /// without any touch (only [`data_driven()`] estimates this; the other models give
    /// every attributable conversion to channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
}

/// The organic part of the conversions: credited to no channel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub conversions: f64,
    pub value: f64,
}

/// What one model credits to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelCredit {
    pub channel: String,
    pub conversions: f64,
    pub value: f64,
}

impl Credits {
    /// Zero credit for every channel.
    pub(crate) fn zero(model: &str, channels: &[String]) -> Credits {
        Credits {
            model: model.to_string(),
            channels: channels
                .iter()
                .map(|c| ChannelCredit {
                    channel: c.clone(),
                    conversions: 0.0,
                    value: 0.0,
                })
                .collect(),
            baseline: None,
        }
    }

    /// The credit of the channel named `channel`.
    pub fn get(&self, channel: &str) -> Option<&ChannelCredit> {
        self.channels.iter().find(|c| c.channel == channel)
    }

    /// Credited conversions over all channels; with the [`Credits::baseline`] (if any)
    /// it equals the attributable conversions for every model (none creates or loses
    /// credit).
    pub fn total_conversions(&self) -> f64 {
        self.channels.iter().map(|c| c.conversions).sum()
    }

    pub fn total_value(&self) -> f64 {
        self.channels.iter().map(|c| c.value).sum()
    }
}
