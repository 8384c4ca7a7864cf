//! What a marketing mix model is made of: per channel an adstock and a saturation
//! family with the ranges their parameters are searched over, and the base terms
//! (trend, Fourier seasonality, events, controls). Families are chosen by name in
//! config; a candidate model is a point in the box their ranges span.

use adroit_effects::{Adstock, Saturation};
use serde::{Deserialize, Serialize};

/// Carry-over families the search can fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdstockKind {
    /// PyMC-Marketing's convention: weights `alpha^l`, `l < l_max`, normalised to sum 1
    /// (a unit of spend keeps a total effect of 1). Parameter: alpha.
    #[default]
    Geometric,
    /// Robyn's convention: `x_t + theta · decayed_{t−1}`, no window, not normalised.
    /// Parameter: theta.
    RobynGeometric,
    /// Weibull CDF weights (Robyn's `weibull_cdf`). Parameters: shape, scale (periods).
    WeibullCdf,
    /// Weibull PDF weights, normalised (Robyn's `weibull_pdf`): a delayed peak.
    /// Parameters: shape, scale (periods).
    WeibullPdf,
    /// PyMC-Marketing's delayed adstock `alpha^((l − theta)²)`. Parameters: alpha, theta.
    Delayed,
}

/// Diminishing-returns families. Each acts on the adstocked spend divided by the
/// channel's largest spend in the window, so its parameters are scale-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaturationKind {
    /// `x^slope / (x^slope + half^slope)` (Robyn's default). Parameters: half, slope.
    #[default]
    Hill,
    /// `(1 − e^{−λx}) / (1 + e^{−λx})` (PyMC-Marketing's default). Parameter: lambda.
    Logistic,
    /// `x / (half + x)`. Parameter: half.
    MichaelisMenten,
}

/// A searched parameter: its name and range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub name: String,
    pub lower: f64,
    pub upper: f64,
}

/// One paid channel of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    pub name: String,
    #[serde(default)]
    pub adstock: AdstockKind,
    #[serde(default)]
    pub saturation: SaturationKind,
    /// Longest carry-over in periods (windowed families).
    #[serde(default = "default_l_max")]
    pub l_max: usize,
    /// Overrides of the default search ranges, by parameter name (`alpha = [0.1, 0.6]`).
    #[serde(default)]
    pub ranges: std::collections::BTreeMap<String, [f64; 2]>,
}

fn default_l_max() -> usize {
    8
}

impl ChannelSpec {
    pub fn new(name: impl Into<String>) -> ChannelSpec {
        ChannelSpec {
            name: name.into(),
            adstock: AdstockKind::default(),
            saturation: SaturationKind::default(),
            l_max: default_l_max(),
            ranges: Default::default(),
        }
    }

    /// The parameters this channel's families need, with their ranges: adstock first,
    /// then saturation. Defaults follow Robyn's and PyMC-Marketing's guidance (decay up
    /// to 0.9 per period; the half-saturation point between 10 % and 150 % of the
    /// largest spend; Hill slopes 0.5–3).
    pub fn ranges(&self) -> Vec<Range> {
        let l = self.l_max.max(1) as f64;
        let defaults: Vec<(&str, f64, f64)> = match self.adstock {
            AdstockKind::Geometric => vec![("alpha", 0.0, 0.9)],
            AdstockKind::RobynGeometric => vec![("theta", 0.0, 0.9)],
            AdstockKind::WeibullCdf | AdstockKind::WeibullPdf => {
                vec![("shape", 0.5, 5.0), ("scale", 0.5, (l / 2.0).max(1.0))]
            }
            AdstockKind::Delayed => vec![("alpha", 0.05, 0.9), ("theta", 0.0, (l - 1.0) / 2.0)],
        }
        .into_iter()
        .chain(match self.saturation {
            SaturationKind::Hill => vec![("half", 0.1, 1.5), ("slope", 0.5, 3.0)],
            SaturationKind::Logistic => vec![("lambda", 0.3, 10.0)],
            SaturationKind::MichaelisMenten => vec![("half", 0.05, 3.0)],
        })
        .collect();
        defaults
            .into_iter()
            .map(|(name, lo, hi)| {
                let [lower, upper] = self.ranges.get(name).copied().unwrap_or([lo, hi]);
                Range {
                    name: format!("{}.{name}", self.name),
                    lower,
                    upper,
                }
            })
            .collect()
    }

    /// The components for parameter values in [`ChannelSpec::ranges`] order.
    pub fn components(&self, params: &[f64]) -> (Adstock, Saturation) {
        let (adstock, used) = match self.adstock {
            AdstockKind::Geometric => (
                Adstock::Geometric {
                    alpha: params[0],
                    l_max: self.l_max,
                    normalize: true,
                },
                1,
            ),
            AdstockKind::RobynGeometric => (Adstock::RobynGeometric { theta: params[0] }, 1),
            AdstockKind::WeibullCdf => (
                Adstock::WeibullCdf {
                    shape: params[0],
                    scale: params[1],
                    l_max: self.l_max,
                },
                2,
            ),
            AdstockKind::WeibullPdf => (
                Adstock::Weibull {
                    shape: params[0],
                    scale: params[1],
                    l_max: self.l_max,
                },
                2,
            ),
            AdstockKind::Delayed => (
                Adstock::Delayed {
                    alpha: params[0],
                    theta: params[1],
                    l_max: self.l_max,
                    normalize: true,
                },
                2,
            ),
        };
        let p = &params[used..];
        let saturation = match self.saturation {
            SaturationKind::Hill => Saturation::Hill {
                half: p[0],
                slope: p[1],
            },
            SaturationKind::Logistic => Saturation::Logistic { lambda: p[0] },
            SaturationKind::MichaelisMenten => Saturation::MichaelisMenten { half: p[0] },
        };
        (adstock, saturation)
    }

    /// Number of searched parameters.
    pub fn dimensions(&self) -> usize {
        self.ranges().len()
    }
}

/// The whole model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub channels: Vec<ChannelSpec>,
    /// Context variables (price, competitor sales, text sentiment, …): free sign.
    #[serde(default)]
    pub controls: Vec<String>,
    /// 0/1 event columns (one column per event or holiday group): free sign.
    #[serde(default)]
    pub events: Vec<String>,
    /// A linear trend.
    #[serde(default = "yes")]
    pub trend: bool,
    /// Pairs of yearly Fourier terms (0: no seasonality).
    #[serde(default = "default_fourier")]
    pub fourier: usize,
    /// The ridge penalty, searched on a log10 scale over this range (fraction of the
    /// number of periods, on standardised columns).
    #[serde(default = "default_penalty")]
    pub log10_penalty: [f64; 2],
    /// The last periods held out of the search to measure out-of-sample error.
    #[serde(default)]
    pub holdout: usize,
    /// Leading periods that only carry spend over into the modelling window (Robyn's
    /// `window_start`): the model is estimated and reported on the periods after them.
    #[serde(default)]
    pub history: usize,
    /// The KPI counts conversions (CPA is reported) rather than revenue (ROAS).
    #[serde(default)]
    pub kpi_is_count: bool,
    /// Lift tests the search is calibrated against (a third objective).
    #[serde(default)]
    pub calibration: Vec<LiftTest>,
}

/// An experiment's measured incremental KPI for a channel's spend in a span of periods
/// (a geo or conversion-lift test), as in the `experiments` contract table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftTest {
    pub channel: String,
    /// First and last period of the test (indices into the data, inclusive), and the
    /// dates they stand for.
    pub first: usize,
    pub last: usize,
    #[serde(default)]
    pub label: String,
    /// Measured incremental KPI caused by the channel's spend in those periods,
    /// carry-over after them included.
    pub lift: f64,
    /// The test's reported interval, when it has one: models that predict every test
    /// inside its interval are the ones the choice and the intervals use.
    #[serde(default)]
    pub lower: Option<f64>,
    #[serde(default)]
    pub upper: Option<f64>,
}

fn yes() -> bool {
    true
}
fn default_fourier() -> usize {
    2
}
fn default_penalty() -> [f64; 2] {
    [-4.0, 0.0]
}

impl ModelSpec {
    pub fn new(channels: Vec<ChannelSpec>) -> ModelSpec {
        ModelSpec {
            channels,
            controls: Vec::new(),
            events: Vec::new(),
            trend: true,
            fourier: default_fourier(),
            log10_penalty: default_penalty(),
            holdout: 0,
            history: 0,
            kpi_is_count: false,
            calibration: Vec::new(),
        }
    }

    /// Every searched parameter: each channel's, then the penalty.
    pub fn ranges(&self) -> Vec<Range> {
        let mut r: Vec<Range> = self.channels.iter().flat_map(|c| c.ranges()).collect();
        r.push(Range {
            name: "log10_penalty".into(),
            lower: self.log10_penalty[0],
            upper: self.log10_penalty[1],
        });
        r
    }

    /// Splits a parameter vector into per-channel slices and the penalty.
    pub fn split<'a>(&self, params: &'a [f64]) -> (Vec<&'a [f64]>, f64) {
        let mut out = Vec::with_capacity(self.channels.len());
        let mut at = 0;
        for c in &self.channels {
            let d = c.dimensions();
            out.push(&params[at..at + d]);
            at += d;
        }
        (out, 10f64.powf(params[at]))
    }

    /// Problems with the spec itself, named.
    pub fn check(&self) -> Result<(), String> {
        if self.channels.is_empty() {
            return Err("the model needs at least one paid channel".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for name in self
            .channels
            .iter()
            .map(|c| &c.name)
            .chain(&self.controls)
            .chain(&self.events)
        {
            if !seen.insert(name) {
                return Err(format!("column {name:?} is used twice in the model"));
            }
        }
        for c in &self.channels {
            if c.l_max == 0 {
                return Err(format!("channel {}: l_max must be at least 1", c.name));
            }
            let known: Vec<String> = c
                .ranges()
                .iter()
                .map(|r| r.name[c.name.len() + 1..].to_string())
                .collect();
            for key in c.ranges.keys() {
                if !known.contains(key) {
                    return Err(format!(
                        "channel {}: no parameter {key:?} for {:?} adstock with {:?} saturation; its parameters are {}",
                        c.name,
                        c.adstock,
                        c.saturation,
                        known.join(", ")
                    ));
                }
            }
        }
        for t in &self.calibration {
            if !self.channels.iter().any(|c| c.name == t.channel) {
                return Err(format!(
                    "lift test {}: channel {:?} is not in the model",
                    t.label, t.channel
                ));
            }
            if t.first > t.last || !t.lift.is_finite() || t.lift == 0.0 {
                return Err(format!(
                    "lift test {} of {}: needs first ≤ last period and a non-zero lift",
                    t.label, t.channel
                ));
            }
        }
        for r in self.ranges() {
            if !(r.lower.is_finite() && r.upper.is_finite() && r.lower <= r.upper) {
                return Err(format!(
                    "{}: range [{}, {}] is empty or not finite",
                    r.name, r.lower, r.upper
                ));
            }
        }
        Ok(())
    }
}
