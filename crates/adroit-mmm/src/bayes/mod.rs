//! The Bayesian marketing mix model (issue 11): the ridge MMM's components — per channel
//! a geometric adstock and a saturation, a trend, Fourier seasonality, events and
//! controls — with priors, a Gaussian likelihood on the scaled KPI, lift tests as extra
//! likelihood terms, sampled by NUTS (`nuts-rs`, the sampler core of nutpie) in
//! parallel chains. Returns the same [`MmmResult`] contract as the ridge fit (posterior
//! means and central credible intervals) plus [`BayesSummary`]: convergence diagnostics
//! and per-parameter posterior summaries.
//!
//! [`fit`] takes national data; [`fit_geo`] a [`GeoPanel`] of geos, Meridian's
//! hierarchy: per-capita KPI and spend, curves shared by the geos, each geo's effect
//! partially pooled around the national level, an intercept per geo, and (by default)
//! one effect per period shared by the geos in place of trend, seasonality and events.
//! The density's module docs give the geo parametrisation.
//!
//! # The model (on the scaled KPI `y / y_scale`, `y_scale` = the largest |KPI| in the window)
//!
//! ```text
//! y_t      ~ Normal(mu_t, sigma)                       t in the fitting window
//! mu_t     = b0 + Σ_k g_k · base_kt + Σ_j beta_j · sat_j(adstock_j(x_j / max x_j))_t
//! rate_j   ~ Beta(1, 3)          (adstock alpha, or Robyn's theta)
//! lambda_j ~ Gamma(3, 1)         (logistic)   half_j ~ Gamma(2, 2), slope_j ~ Gamma(3, 2) (Hill)
//! beta_j   ~ HalfNormal(s_j)     (coefficient prior, s_j = 2 by default)
//!   or ROI_j ~ LogNormal(m_j, s_j) (Meridian's ROI prior), beta_j = ROI_j · spend_j / (y_scale · S_j)
//! b0, g_k  ~ Normal(0, 2)        sigma ~ HalfNormal(2)
//! lift_i   ~ Normal(y_scale · beta_j · (Σ_t sat_j(x)_t − Σ_t sat_j(x without the test's spend)_t), se_i)
//! ```
//!
//! These are PyMC-Marketing's MMM defaults (adstock `Beta(1, 3)`, logistic `lam ~
//! Gamma(3, 1)`, `beta ~ HalfNormal(2)`, intercept and controls `Normal(0, 2)`, `sigma ~
//! HalfNormal(2)`), except that the Fourier coefficients get `Normal(0, 2)` instead of
//! `Laplace(0, 1)` (a smooth log density for the sampler).
//!
//! **The ROI prior.** A channel's contribution over the fitting window in KPI units is
//! `y_scale · beta_j · S_j(θ_j)`, `S_j = Σ_t sat_j(adstock_j(x_j))_t`, so its ROI is
//! `ROI_j = y_scale · beta_j · S_j / spend_j`. With an ROI prior the sampler's parameter is
//! `log ROI_j ~ Normal(m_j, s_j)` and the coefficient is the deterministic
//! `beta_j = ROI_j · spend_j / (y_scale · S_j(θ_j))`, which depends on the channel's
//! adstock and saturation parameters too (its gradient carries `−beta_j · ∂S_j/∂θ / S_j`).
//! This is Meridian's reparametrisation (`roi_m ~ LogNormal(0.2, 0.9)` by default there;
//! here the user gives `m_j, s_j` in the KPI's units per unit of spend).
//!
//! **Lift tests.** A test's standard error comes from its interval,
//! `se = (upper − lower) / (2 z)` with `z` the normal quantile of
//! [`BayesSettings::lift_interval`] (default 0.95); a test without an interval gets
//! `se = lift_default_cv · |lift|`.
//!
//! **Parametrisation.** Unconstrained: `logit` of the adstock rate, `log` of every positive
//! parameter (saturation, `sigma`), each with its log-Jacobian added. Every channel's
//! effect is sampled as its log ROI, with either prior: `beta` and the saturation trade
//! off along a curved ridge that the ROI straightens (on PyMC-Marketing's example this
//! took x2's R-hat from up to 1.02 to below 1.01 at equal draws). With the coefficient
//! prior, `HalfNormal(beta)` carries the Jacobian `beta` of `log ROI ↦ beta`.
//! The gradient is analytic (see [`density`]), checked against central differences in
//! the tests.

// Numeric kernels over periods and channels read best with index loops.
#![allow(clippy::needless_range_loop)]

mod density;
pub mod diagnostics;
pub mod prior;
mod sampler;

use crate::fit::{
    ChannelResult, Diagnostics, Estimate, FitSettings, LiftCheck, MmmResult, SearchSummary,
    TermResult,
};
use crate::model::{self, ChannelFit, MmmData, Problem};
use crate::spec::{AdstockKind, ModelSpec, SaturationKind};
use adroit_effects::{Adstock, Saturation};
use density::{Density, GeoInput, Transformed};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The prior on a channel's effect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelPrior {
    /// `beta ~ HalfNormal(sigma)` on the coefficient of the saturated spend, in units of
    /// the scaled KPI (KPI ÷ its largest value): 2 lets one channel explain up to about
    /// four times the largest KPI.
    Coefficient { sigma: f64 },
    /// `ROI ~ LogNormal(mu, sigma)`: `mu` and `sigma` of the log of the channel's ROI
    /// (KPI per unit of spend) over the fitting window; the prior median is `e^mu`.
    Roi { mu: f64, sigma: f64 },
}

/// The mass matrix (the metric of the momentum) NUTS adapts while tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MassMatrix {
    /// Diagonal (Stan's and PyMC's default).
    Diagonal,
    /// nutpie's low-rank update of the diagonal from the draws and gradients: follows
    /// correlations such as a channel that always spends against the intercept. On
    /// PyMC-Marketing's example it needs a third of the diagonal's gradients for twice
    /// its smallest ESS.
    #[default]
    LowRank,
}

/// How to sample and what to assume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BayesSettings {
    pub chains: usize,
    /// Draws kept per chain.
    pub draws: usize,
    /// Tuning (warm-up) draws per chain, discarded.
    pub tune: usize,
    pub seed: u64,
    /// Threads the chains run on (0: one per core, at most one per chain). Results do
    /// not depend on it.
    pub threads: usize,
    /// Central probability of the reported credible intervals.
    pub interval: f64,
    /// NUTS's target acceptance rate of the step-size adaptation.
    pub target_accept: f64,
    /// Largest tree depth (at most 2^depth leapfrog steps a draw).
    pub max_depth: u64,
    /// The mass matrix NUTS adapts during tuning.
    pub mass_matrix: MassMatrix,
    /// Per channel name: the prior on its effect (default `Coefficient { sigma: 2 }`).
    pub priors: BTreeMap<String, ChannelPrior>,
    /// Central probability of the lift tests' reported intervals.
    pub lift_interval: f64,
    /// Standard error of a lift test without an interval, as a fraction of its lift.
    pub lift_default_cv: f64,
    /// Geo models: `eta ~ HalfNormal(geo_spread_sd)`, the prior on each channel's spread
    /// of log effects across geos (Meridian's default 1; 0 is not allowed: fit the
    /// national table instead for one effect everywhere).
    pub geo_spread_sd: f64,
    /// Geo models: one effect per period shared by the geos (Meridian's default of one
    /// knot per period for geo data) in place of trend, seasonality and events, which
    /// it contains; media effects are then told apart by how geos differ.
    pub time_effects: bool,
    /// Geo models: sample each geo's log multiplier directly (`~ Normal(0, eta)`,
    /// centred) rather than as `eta · z_g` with `z_g ~ Normal(0, 1)` (non-centred, the
    /// default and Meridian's). Non-centred suits spreads near zero or weakly informed
    /// geos (on Meridian's geo data: no divergences where centred had a funnel); centred
    /// suits wide spreads that long series pin down.
    pub geo_centered: bool,
}

impl Default for BayesSettings {
    fn default() -> Self {
        BayesSettings {
            chains: 4,
            draws: 1000,
            tune: 1000,
            seed: 0,
            threads: 0,
            interval: 0.9,
            target_accept: 0.9,
            max_depth: 10,
            mass_matrix: MassMatrix::default(),
            priors: BTreeMap::new(),
            lift_interval: 0.95,
            lift_default_cv: 0.1,
            geo_spread_sd: 1.0,
            time_effects: true,
            geo_centered: false,
        }
    }
}

impl BayesSettings {
    fn lift_interval_z(&self) -> f64 {
        use statrs::distribution::{ContinuousCDF, Normal};
        Normal::standard().inverse_cdf(0.5 + self.lift_interval / 2.0)
    }

    /// Problems with the settings, named.
    pub fn check(&self, spec: &ModelSpec) -> Result<(), String> {
        if self.chains == 0 {
            return Err("--chains must be at least 1".into());
        }
        if self.draws < 10 {
            return Err(format!(
                "--draws {}: keep at least 10 draws per chain (1000 is typical)",
                self.draws
            ));
        }
        if !(self.interval > 0.0 && self.interval < 1.0) {
            return Err(format!("interval must be in (0, 1), got {}", self.interval));
        }
        if !(self.lift_interval > 0.0 && self.lift_interval < 1.0) {
            return Err(format!(
                "lift_interval must be in (0, 1), got {}",
                self.lift_interval
            ));
        }
        if !(self.lift_default_cv > 0.0 && self.lift_default_cv.is_finite()) {
            return Err(format!(
                "lift_default_cv must be positive, got {}",
                self.lift_default_cv
            ));
        }
        if !(self.geo_spread_sd > 0.0 && self.geo_spread_sd.is_finite()) {
            return Err(format!(
                "geo_spread_sd must be positive, got {}",
                self.geo_spread_sd
            ));
        }
        if !(self.target_accept > 0.0 && self.target_accept < 1.0) {
            return Err(format!(
                "target_accept must be in (0, 1), got {}",
                self.target_accept
            ));
        }
        if self.max_depth == 0 || self.max_depth > 20 {
            return Err(format!("max_depth must be 1–20, got {}", self.max_depth));
        }
        for name in self.priors.keys() {
            if !spec.channels.iter().any(|c| &c.name == name) {
                return Err(format!(
                    "a prior is given for {name:?}, which is not a channel of the model"
                ));
            }
        }
        Ok(())
    }
}

/// A parameter's (or derived quantity's) posterior summary and convergence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSummary {
    pub name: String,
    pub mean: f64,
    pub sd: f64,
    /// The interval's lower and upper quantiles (5 % and 95 % at the default 0.9).
    pub lower: f64,
    pub upper: f64,
    pub rhat: f64,
    pub ess_bulk: f64,
    pub ess_tail: f64,
}

/// The sampler's run and its diagnostics: the `bayes` section of `result.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BayesSummary {
    pub sampler: String,
    pub settings: BayesSettings,
    /// The KPI's scale the model works on (KPI ÷ this).
    pub y_scale: f64,
    pub seconds: f64,
    /// Gradient evaluations over all chains (tuning included).
    pub gradients: u64,
    pub divergences: usize,
    pub divergences_per_chain: Vec<usize>,
    /// Energy Bayesian fraction of missing information per chain.
    pub bfmi: Vec<f64>,
    pub step_size: Vec<f64>,
    pub max_rhat: f64,
    pub min_ess_bulk: f64,
    pub min_ess_tail: f64,
    /// Failed checks in words: R-hat > 1.01, ESS < 400, divergences, BFMI < 0.3.
    pub warnings: Vec<String>,
    /// Every sampled parameter on its natural scale (coefficients and sigma in KPI
    /// units) and each channel's ROAS (geo models: the national level of each
    /// coefficient and the spread across geos).
    pub parameters: Vec<ParamSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<GeoSummary>,
}

/// The geo panel's part of the `bayes` section: each geo's ROAS per channel, and how
/// closely the national response curves (what the allocator and what-if use) follow
/// the geos' summed response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoSummary {
    /// One effect per period shared by the geos (in place of trend, seasonality, events).
    pub time_effects: bool,
    pub geos: Vec<GeoResult>,
    /// Per channel: the largest gap between the national curve and the geos' summed
    /// response over 0.1–2 × the window's spend, as a share of the response at 1 ×.
    pub curve_error: BTreeMap<String, f64>,
}

/// One geo's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoResult {
    pub name: String,
    pub population: f64,
    pub channels: Vec<GeoChannel>,
}

/// One channel in one geo: spend and the posterior of its contribution and ROAS (over
/// the report periods), and its coefficient's multiplier of the national level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoChannel {
    pub name: String,
    pub spend: f64,
    pub contribution: Estimate,
    /// None when the geo did not spend on the channel.
    pub roas: Option<Estimate>,
    pub multiplier: Estimate,
}

/// A panel of geos (regions, markets, DMAs) for the hierarchical model: the same
/// channels, controls, events and periods in every geo; population scales each geo's
/// KPI and spend to per-capita values.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoPanel {
    pub names: Vec<String>,
    pub population: Vec<f64>,
    /// Per geo its table, periods aligned (the same `days` in every geo).
    pub tables: Vec<MmmData>,
}

impl GeoPanel {
    /// Problems with the panel's shape and values, named by geo.
    pub fn check(&self, spec: &ModelSpec) -> Result<(), String> {
        if self.tables.len() < 2 {
            return Err(format!(
                "{} geo: the geo model needs at least 2 geos (fit the national table instead)",
                self.tables.len()
            ));
        }
        if self.names.len() != self.tables.len() || self.population.len() != self.tables.len() {
            return Err(format!(
                "{} names and {} populations for {} geos",
                self.names.len(),
                self.population.len(),
                self.tables.len()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for name in &self.names {
            if !seen.insert(name) {
                return Err(format!("geo {name:?} appears twice"));
            }
        }
        let first = &self.tables[0];
        for ((name, pop), t) in self.names.iter().zip(&self.population).zip(&self.tables) {
            if !(*pop > 0.0 && pop.is_finite()) {
                return Err(format!(
                    "geo {name}: population {pop} is not a positive number"
                ));
            }
            if t.days != first.days {
                return Err(format!(
                    "geo {name}: its periods differ from geo {}'s; every geo needs the same periods",
                    self.names[0]
                ));
            }
            // The national checks, without the one that every channel spends somewhere:
            // a geo may have no spend on a channel.
            let mut probe = t.clone();
            for s in &mut probe.spend {
                if s.iter().all(|v| *v == 0.0) {
                    s.fill(1.0);
                }
            }
            probe.check(spec).map_err(|e| format!("geo {name}: {e}"))?;
            if t.events != first.events {
                return Err(format!(
                    "geo {name}: its events differ from geo {}'s; events are national",
                    self.names[0]
                ));
            }
        }
        Ok(())
    }

    /// The national table: KPI and spend summed over geos, controls averaged weighted
    /// by population, events as they are.
    pub fn national(&self) -> MmmData {
        let first = &self.tables[0];
        let n = first.periods();
        let total_pop: f64 = self.population.iter().sum();
        let sum = |f: &dyn Fn(&MmmData) -> &Vec<f64>, weight: &dyn Fn(usize) -> f64| {
            (0..n)
                .map(|t| {
                    self.tables
                        .iter()
                        .enumerate()
                        .map(|(g, d)| weight(g) * f(d)[t])
                        .sum()
                })
                .collect::<Vec<f64>>()
        };
        MmmData {
            days: first.days.clone(),
            kpi: sum(&|d| &d.kpi, &|_| 1.0),
            spend: (0..first.spend.len())
                .map(|j| sum(&|d| &d.spend[j], &|_| 1.0))
                .collect(),
            controls: (0..first.controls.len())
                .map(|k| sum(&|d| &d.controls[k], &|g| self.population[g] / total_pop))
                .collect(),
            events: first.events.clone(),
        }
    }
}

/// The fit: the ridge's contract, the sampler's summary, and each channel's ROAS draws
/// (chains one after the other).
#[derive(Debug, Clone, PartialEq)]
pub struct BayesFit {
    pub result: MmmResult,
    pub bayes: BayesSummary,
    pub roas_draws: Vec<Vec<f64>>,
    /// Every channel's response curve at up to [`CURVE_DRAWS`] posterior draws spread
    /// evenly over the chains: what a plan's outcome distribution is computed from.
    pub curve_draws: Vec<Vec<ChannelFit>>,
    /// Geo models: the national decomposition per report period (posterior means of
    /// the geos' summed terms: baseline, time effects, base terms, channels), which the
    /// national curves cannot give since spend splits over geos differently each period.
    pub decomposition: Option<(Vec<String>, Vec<Vec<f64>>)>,
}

/// The most posterior draws whose curves are kept for plan outcomes.
pub const CURVE_DRAWS: usize = 200;

/// A channel's response curve at parameters `theta` (adstock first) and `coef`.
fn channel_fit(c: &crate::ChannelSpec, theta: &[f64], scale: f64, coef: f64) -> ChannelFit {
    let adstock = match c.adstock {
        AdstockKind::RobynGeometric => Adstock::RobynGeometric { theta: theta[0] },
        _ => Adstock::Geometric {
            alpha: theta[0],
            l_max: c.l_max,
            normalize: true,
        },
    };
    let saturation = match c.saturation {
        SaturationKind::Logistic => Saturation::Logistic { lambda: theta[1] },
        SaturationKind::Hill => Saturation::Hill {
            half: theta[1],
            slope: theta[2],
        },
        SaturationKind::MichaelisMenten => Saturation::MichaelisMenten { half: theta[1] },
    };
    ChannelFit {
        adstock,
        saturation,
        scale,
        coef,
    }
}

/// Fits the Bayesian MMM. `progress(done, total)` counts draws (tuning included) over
/// all chains; it is called from the chains' threads.
pub fn fit(
    data: &MmmData,
    spec: &ModelSpec,
    settings: &BayesSettings,
    progress: impl Fn(usize, usize) + Sync,
) -> Result<BayesFit, String> {
    settings.check(spec)?;
    let problem = Problem::new(data, spec)?;
    for (c, s) in spec.channels.iter().zip(&data.spend) {
        if s[spec.history..].iter().all(|v| *v == 0.0) {
            return Err(format!(
                "channel {}: no spend in the modelling window, so it has no ROAS; drop it or widen the window",
                c.name
            ));
        }
    }
    let geo = [GeoInput {
        data,
        base: &problem.base,
        population: 1.0,
    }];
    let density = Density::new(&geo, spec, settings, false)?;
    let started = std::time::Instant::now();
    let run = sampler::sample(&density, settings, &progress)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(summarise(&problem, &density, settings, run, seconds, None))
}

/// Fits the geo hierarchy: per channel one adstock and saturation shared by the geos
/// on per-capita spend, a national effect level with each geo's coefficient
/// partially pooled around it (`beta_g = beta · e^(eta z_g)`), an intercept per geo,
/// shared base coefficients and, by default, one time effect per period. The result
/// is national (KPI and spend summed over geos) with each geo's ROAS in
/// [`BayesSummary::geo`]. The spec's history, holdout and lift tests apply to every
/// geo (a lift test's lift is the national total).
pub fn fit_geo(
    panel: &GeoPanel,
    spec: &ModelSpec,
    settings: &BayesSettings,
    progress: impl Fn(usize, usize) + Sync,
) -> Result<BayesFit, String> {
    settings.check(spec)?;
    panel.check(spec)?;
    let mut spec = spec.clone();
    let mut tables = panel.tables.clone();
    if settings.time_effects {
        if spec.holdout > 0 {
            return Err("a holdout cannot be predicted with one time effect per period: set the holdout to 0, or turn time effects off".into());
        }
        // Time effects contain the national terms.
        spec.trend = false;
        spec.fourier = 0;
        spec.events.clear();
        for t in &mut tables {
            t.events.clear();
        }
        for (k, name) in spec.controls.iter().enumerate() {
            let national = (0..tables[0].periods()).all(|t| {
                tables
                    .iter()
                    .all(|d| d.controls[k][t] == tables[0].controls[k][t])
            });
            if national {
                return Err(format!(
                    "control {name} is the same in every geo, so the time effects already contain it: drop it, or turn time effects off"
                ));
            }
        }
    }
    let panel = GeoPanel {
        names: panel.names.clone(),
        population: panel.population.clone(),
        tables,
    };
    let national = panel.national();
    let problem = Problem::new(&national, &spec)?;
    for (c, s) in spec.channels.iter().zip(&national.spend) {
        if s[spec.history..].iter().all(|v| *v == 0.0) {
            return Err(format!(
                "channel {}: no spend in the modelling window in any geo, so it has no ROAS; drop it or widen the window",
                c.name
            ));
        }
    }
    let bases = geo_bases(&panel, &spec);
    let density = Density::new(
        &geo_inputs(&panel, &bases),
        &spec,
        settings,
        settings.time_effects,
    )?;
    let started = std::time::Instant::now();
    let run = sampler::sample(&density, settings, &progress)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(summarise(
        &problem,
        &density,
        settings,
        run,
        seconds,
        Some(&panel),
    ))
}

/// Each geo's non-media design under `spec`.
fn geo_bases(panel: &GeoPanel, spec: &ModelSpec) -> Vec<model::Base> {
    panel
        .tables
        .iter()
        .map(|t| model::Base::new(t, spec))
        .collect()
}

/// What the density reads of each geo.
fn geo_inputs<'a>(panel: &'a GeoPanel, bases: &'a [model::Base]) -> Vec<GeoInput<'a>> {
    panel
        .tables
        .iter()
        .zip(bases)
        .zip(&panel.population)
        .map(|((data, base), population)| GeoInput {
            data,
            base,
            population: *population,
        })
        .collect()
}

/// Per draw: everything the report needs, computed from the unconstrained vector
/// (KPI units, all geos together).
struct Derived {
    /// Per channel: constrained transform params, coefficient level (KPI units per
    /// capita), contribution over the report periods, ROAS, marginal ROAS.
    theta: Vec<Vec<f64>>,
    coef: Vec<f64>,
    contribution: Vec<f64>,
    roas: Vec<f64>,
    mroas: Vec<f64>,
    lifts: Vec<f64>,
    /// Sum of the geos' intercepts (KPI units per period).
    intercept: f64,
    base: Vec<f64>,
    sigma: f64,
    /// Fitted KPI on every period (KPI units, all geos).
    fitted: Vec<f64>,
    /// Geo models: per channel the spread eta, and per channel and geo the
    /// contribution and the coefficient's multiplier.
    spread: Vec<f64>,
    geo_contribution: Vec<Vec<f64>>,
    geo_mult: Vec<Vec<f64>>,
}

/// Channel `j`'s transformed spend per geo at `z` with every geo's spend multiplied by
/// `scale` (the marginal ROAS's 1 % more; [`Density::transform_geos`] is `scale = 1`).
fn scaled_channel(d: &Density, j: usize, z: &[f64], scale: f64) -> Vec<Transformed> {
    (0..d.geos())
        .map(|g| {
            let mut tr = Transformed::default();
            let x: Vec<f64> = d.x[g][j].iter().map(|v| v * scale).collect();
            d.transform(j, z, &x, &mut tr);
            tr
        })
        .collect()
}

fn derive(d: &Density, z: &[f64], spends: &[f64], from: usize) -> Derived {
    let k = d.channels.len();
    let n_geos = d.geos();
    // KPI units per scaled unit per capita, per geo.
    let unit: Vec<f64> = d.pop.iter().map(|p| p * d.y_scale).collect();
    let mut out = Derived {
        theta: Vec::with_capacity(k),
        coef: Vec::with_capacity(k),
        contribution: Vec::with_capacity(k),
        roas: Vec::with_capacity(k),
        mroas: Vec::with_capacity(k),
        lifts: Vec::new(),
        intercept: (0..n_geos).map(|g| z[d.intercept_at + g] * unit[g]).sum(),
        base: (0..d.base_div.len())
            .map(|i| z[d.base_at + i] * d.y_scale / d.base_div[i])
            .collect(),
        sigma: z[d.sigma_at].exp() * d.y_scale,
        fitted: vec![0.0; d.n],
        spread: Vec::new(),
        geo_contribution: Vec::new(),
        geo_mult: Vec::new(),
    };
    let time = d.time_effects(z);
    for g in 0..n_geos {
        for t in 0..d.n {
            let mut m = z[d.intercept_at + g] + time[t];
            for (i, col) in d.base[g].iter().enumerate() {
                m += z[d.base_at + i] * col[t];
            }
            out.fitted[t] += unit[g] * m;
        }
    }
    let mut effects = Vec::with_capacity(k);
    let mut full = Vec::with_capacity(k);
    for j in 0..k {
        let tr = d.transform_geos(j, z);
        let more = scaled_channel(d, j, z, 1.01);
        let ef = d.effect(j, z, &tr);
        let mut contribution = 0.0;
        let mut extra = 0.0;
        let mut per_geo = Vec::with_capacity(n_geos);
        for g in 0..n_geos {
            let coef = ef.beta * ef.mult[g] * unit[g];
            // The likelihood's intercept is the level with media at their average
            // (geo models): the intercept proper is that level minus the media's.
            let offset = d.media_offset(&tr[g].sat);
            out.intercept -= coef * offset;
            for t in 0..d.n {
                out.fitted[t] += coef * (tr[g].sat[t] - offset);
            }
            let c = coef * tr[g].sat[from..].iter().sum::<f64>();
            extra += coef * more[g].sat[from..].iter().sum::<f64>() - c;
            contribution += c;
            per_geo.push(c);
        }
        out.theta.push(d.theta(j, z));
        out.coef.push(ef.beta * d.y_scale);
        out.contribution.push(contribution);
        out.roas.push(contribution / spends[j]);
        out.mroas.push(extra / (0.01 * spends[j]));
        if n_geos > 1 {
            out.spread.push(ef.eta);
            out.geo_contribution.push(per_geo);
            out.geo_mult.push(ef.mult.clone());
        }
        effects.push(ef);
        full.push(tr);
    }
    let mut without = Transformed::default();
    for lift in &d.lifts {
        let j = lift.channel;
        let ef = &effects[j];
        let mut pred = 0.0;
        for g in 0..n_geos {
            d.transform(j, z, &lift.without[g], &mut without);
            pred += ef.beta
                * ef.mult[g]
                * unit[g]
                * (full[j][g].sat.iter().sum::<f64>() - without.sat.iter().sum::<f64>());
        }
        out.lifts.push(pred);
    }
    out
}

/// The national decomposition at `z` over periods `from..`: the geos' intercepts,
/// time effects (when modelled), each base term and each channel, summed over geos in
/// KPI units.
fn decompose(d: &Density, z: &[f64], from: usize) -> Vec<Vec<f64>> {
    let n = d.n - from;
    let unit: Vec<f64> = d.pop.iter().map(|p| p * d.y_scale).collect();
    let total_unit: f64 = unit.iter().sum();
    let mut cols = vec![vec![
        (0..d.geos())
            .map(|g| z[d.intercept_at + g] * unit[g])
            .sum::<f64>();
        n
    ]];
    if d.time_at.is_some() {
        let time = d.time_effects(z);
        cols.push(time[from..].iter().map(|v| v * total_unit).collect());
    }
    for i in 0..d.base_div.len() {
        cols.push(
            (from..d.n)
                .map(|t| {
                    (0..d.geos())
                        .map(|g| z[d.base_at + i] * d.base[g][i][t] * unit[g])
                        .sum()
                })
                .collect(),
        );
    }
    for j in 0..d.channels.len() {
        let tr = d.transform_geos(j, z);
        let ef = d.effect(j, z, &tr);
        for g in 0..d.geos() {
            let offset = ef.beta * ef.mult[g] * unit[g] * d.media_offset(&tr[g].sat);
            cols[0].iter_mut().for_each(|v| *v -= offset);
        }
        cols.push(
            (from..d.n)
                .map(|t| {
                    (0..d.geos())
                        .map(|g| ef.beta * ef.mult[g] * unit[g] * tr[g].sat[t])
                        .sum()
                })
                .collect(),
        );
    }
    cols
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn summary(name: String, chains: &[Vec<f64>], tail: f64) -> ParamSummary {
    let mut all: Vec<f64> = chains.iter().flatten().copied().collect();
    let m = mean(&all);
    let sd = (all.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (all.len() as f64 - 1.0).max(1.0))
        .sqrt();
    all.sort_by(f64::total_cmp);
    ParamSummary {
        name,
        mean: m,
        sd,
        lower: diagnostics::quantile_sorted(&all, tail),
        upper: diagnostics::quantile_sorted(&all, 1.0 - tail),
        rhat: diagnostics::rhat(chains),
        ess_bulk: diagnostics::ess_bulk(chains),
        ess_tail: diagnostics::ess_tail(chains),
    }
}

fn estimate(draws: &[f64], tail: f64) -> Estimate {
    let mut v: Vec<f64> = draws.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    Estimate {
        value: mean(&v),
        lower: diagnostics::quantile_sorted(&v, tail),
        upper: diagnostics::quantile_sorted(&v, 1.0 - tail),
    }
}

fn theta_names(adstock: AdstockKind, saturation: SaturationKind) -> Vec<&'static str> {
    let mut v = vec![match adstock {
        AdstockKind::RobynGeometric => "theta",
        _ => "alpha",
    }];
    v.extend(match saturation {
        SaturationKind::Logistic => vec!["lambda"],
        SaturationKind::Hill => vec!["half", "slope"],
        SaturationKind::MichaelisMenten => vec!["half"],
    });
    v
}

/// Spend multipliers the national curve of a geo model is matched over.
const CURVE_MULTIPLIERS: [f64; 20] = [
    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9,
    2.0,
];

/// Geo models: channel `j`'s national response curve — the channel's adstock and
/// saturation shape at `theta`, on national spend, with the scale and coefficient that
/// best match (least squares) the geos' summed response when every geo's spend over the
/// report periods is multiplied by 0.1, 0.2, … 2: the curve the allocator and what-if
/// need, assuming a plan splits over geos as the history did. `geo_coef`: each geo's
/// coefficient in KPI units. Returns the curve and its largest gap as a share of the
/// response at 1 ×.
///
/// The scale is found by a grid over its logarithm and a golden-section refinement
/// (the coefficient is the closed-form least-squares one at each scale): a
/// one-dimensional search that needs no optimiser crate.
fn national_curve(
    d: &Density,
    c: &crate::ChannelSpec,
    j: usize,
    theta: &[f64],
    geo_coef: &[f64],
    national_spend: &[f64],
    from: usize,
) -> (ChannelFit, f64) {
    let unit = channel_fit(c, theta, 1.0, 1.0);
    let exact: Vec<f64> = CURVE_MULTIPLIERS
        .iter()
        .map(|m| {
            (0..d.geos())
                .map(|g| {
                    let x: Vec<f64> = d.x[g][j].iter().map(|v| v * m).collect();
                    geo_coef[g] * unit.feature(&x)[from..].iter().sum::<f64>()
                })
                .sum()
        })
        .collect();
    let adstocked = unit.adstock.apply(national_spend);
    let shape = |scale: f64| -> Vec<f64> {
        CURVE_MULTIPLIERS
            .iter()
            .map(|m| {
                adstocked[from..]
                    .iter()
                    .map(|a| unit.saturation.apply(m * a / scale))
                    .sum()
            })
            .collect()
    };
    // Least-squares coefficient and residual sum of squares at a scale.
    let fit_at = |log_scale: f64| -> (f64, f64) {
        let e = shape(log_scale.exp());
        let ee: f64 = e.iter().map(|v| v * v).sum();
        let er: f64 = e.iter().zip(&exact).map(|(a, b)| a * b).sum();
        let coef = if ee > 0.0 { er / ee } else { 0.0 };
        let rss = e
            .iter()
            .zip(&exact)
            .map(|(a, b)| (coef * a - b).powi(2))
            .sum();
        (coef, rss)
    };
    let reference = national_spend
        .iter()
        .cloned()
        .fold(0.0, f64::max)
        .max(1e-300)
        .ln();
    let step = 0.25;
    let mut best = (reference, f64::INFINITY);
    for i in -28..=28 {
        let at = reference + step * f64::from(i);
        let rss = fit_at(at).1;
        if rss < best.1 {
            best = (at, rss);
        }
    }
    let (mut lo, mut hi) = (best.0 - step, best.0 + step);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..40 {
        let a = hi - ratio * (hi - lo);
        let b = lo + ratio * (hi - lo);
        if fit_at(a).1 < fit_at(b).1 {
            hi = b;
        } else {
            lo = a;
        }
    }
    let log_scale = (lo + hi) / 2.0;
    let (coef, _) = fit_at(log_scale);
    let fit = ChannelFit {
        scale: log_scale.exp(),
        coef,
        ..unit
    };
    let approx = shape(fit.scale);
    let at_one = exact[9].abs().max(1e-300);
    let gap = approx
        .iter()
        .zip(&exact)
        .map(|(a, b)| (coef * a - b).abs() / at_one)
        .fold(0.0, f64::max);
    (fit, gap)
}

fn summarise(
    problem: &Problem,
    d: &Density,
    settings: &BayesSettings,
    run: sampler::Run,
    seconds: f64,
    panel: Option<&GeoPanel>,
) -> BayesFit {
    let data = problem.data;
    let spec = problem.spec;
    let n = data.periods();
    let h = spec.history;
    let tail = (1.0 - settings.interval) / 2.0;
    let spends: Vec<f64> = data.spend.iter().map(|s| s[h..].iter().sum()).collect();
    let total_spend: f64 = spends.iter().sum();
    let k = spec.channels.len();
    // Derived quantities per chain and draw.
    let derived: Vec<Vec<Derived>> = run
        .chains
        .iter()
        .map(|c| c.draws.iter().map(|z| derive(d, z, &spends, h)).collect())
        .collect();
    let all: Vec<&Derived> = derived.iter().flatten().collect();
    let per_chain = |f: &dyn Fn(&Derived) -> f64| -> Vec<Vec<f64>> {
        derived.iter().map(|c| c.iter().map(f).collect()).collect()
    };
    let mut parameters = Vec::new();
    for (j, c) in spec.channels.iter().enumerate() {
        for (p, name) in theta_names(c.adstock, c.saturation).iter().enumerate() {
            parameters.push(summary(
                format!("{}.{name}", c.name),
                &per_chain(&|x| x.theta[j][p]),
                tail,
            ));
        }
        parameters.push(summary(
            format!("{}.coef", c.name),
            &per_chain(&|x| x.coef[j]),
            tail,
        ));
        parameters.push(summary(
            format!("{}.roas", c.name),
            &per_chain(&|x| x.roas[j]),
            tail,
        ));
        if panel.is_some() {
            parameters.push(summary(
                format!("{}.geo_spread", c.name),
                &per_chain(&|x| x.spread[j]),
                tail,
            ));
        }
    }
    parameters.push(summary(
        "intercept".into(),
        &per_chain(&|x| x.intercept),
        tail,
    ));
    for (i, name) in problem.base.names.iter().enumerate() {
        parameters.push(summary(name.clone(), &per_chain(&|x| x.base[i]), tail));
    }
    parameters.push(summary("sigma".into(), &per_chain(&|x| x.sigma), tail));

    let fitted: Vec<f64> = (0..n)
        .map(|t| mean(&all.iter().map(|x| x.fitted[t]).collect::<Vec<_>>()))
        .collect();
    let mut curve_error = BTreeMap::new();
    let channels: Vec<ChannelResult> = spec
        .channels
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let col = |f: &dyn Fn(&Derived) -> f64| all.iter().map(|x| f(x)).collect::<Vec<f64>>();
            let roas = estimate(&col(&|x| x.roas[j]), tail);
            let shares = col(&|x| {
                let t: f64 = x.contribution.iter().sum();
                if t > 0.0 { x.contribution[j] / t } else { 0.0 }
            });
            let theta: Vec<f64> = (0..d.channels[j].n_theta())
                .map(|p| mean(&col(&|x| x.theta[j][p])))
                .collect();
            let names = theta_names(c.adstock, c.saturation);
            ChannelResult {
                name: c.name.clone(),
                spend: spends[j],
                spend_share: spends[j] / total_spend,
                contribution: estimate(&col(&|x| x.contribution[j]), tail),
                effect_share: estimate(&shares, tail),
                roas,
                mroas: estimate(&col(&|x| x.mroas[j]), tail),
                cpa: spec.kpi_is_count.then(|| {
                    estimate(
                        &col(&|x| {
                            if x.roas[j] > 0.0 {
                                1.0 / x.roas[j]
                            } else {
                                f64::NAN
                            }
                        }),
                        tail,
                    )
                }),
                params: names
                    .iter()
                    .zip(&theta)
                    .map(|(n, v)| (n.to_string(), *v))
                    .collect(),
                fit: match panel {
                    None => channel_fit(c, &theta, d.channels[j].scale, mean(&col(&|x| x.coef[j]))),
                    Some(_) => {
                        let geo_coef: Vec<f64> = (0..d.geos())
                            .map(|g| mean(&col(&|x| x.coef[j] * x.geo_mult[j][g])) * d.pop[g])
                            .collect();
                        let (fit, gap) =
                            national_curve(d, c, j, &theta, &geo_coef, &data.spend[j], h);
                        curve_error.insert(c.name.clone(), gap);
                        fit
                    }
                },
            }
        })
        .collect();
    // Geo models: the national decomposition as the posterior mean of the geos' sums.
    let decomposition = panel.map(|_| {
        let draws: Vec<&Vec<f64>> = run.chains.iter().flat_map(|c| &c.draws).collect();
        let mut cols = decompose(d, draws[0], h);
        for z in &draws[1..] {
            for (acc, col) in cols.iter_mut().zip(decompose(d, z, h)) {
                acc.iter_mut().zip(col).for_each(|(a, v)| *a += v);
            }
        }
        let count = draws.len() as f64;
        cols.iter_mut().flatten().for_each(|v| *v /= count);
        let mut names = vec!["baseline".to_string()];
        if d.time_at.is_some() {
            names.push("time_effects".into());
        }
        names.extend(problem.base.names.iter().cloned());
        names.extend(spec.channels.iter().map(|c| c.name.clone()));
        (names, cols)
    });
    let first_term = if d.time_at.is_some() { 2 } else { 1 };
    let terms: Vec<TermResult> = problem
        .base
        .names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let coef = mean(&all.iter().map(|x| x.base[i]).collect::<Vec<_>>());
            TermResult {
                name: name.clone(),
                kind: problem.base.kinds[i],
                coef,
                contribution: match &decomposition {
                    Some((_, cols)) => cols[first_term + i].iter().sum(),
                    None => coef * problem.base.columns[i][h..].iter().sum::<f64>(),
                },
            }
        })
        .collect();
    let end = d.end;
    let train = model::errors(&data.kpi[h..end], &fitted[h..end]);
    let holdout = (spec.holdout > 0).then(|| model::errors(&data.kpi[end..], &fitted[end..]));
    let p = k + problem.base.columns.len();
    let m = (end - h) as f64;
    let adjusted_r2 = 1.0 - (1.0 - train.r2) * (m - 1.0) / (m - p as f64 - 1.0).max(1.0);
    let resid: Vec<f64> = data.kpi[h..end]
        .iter()
        .zip(&fitted[h..end])
        .map(|(a, f)| a - f)
        .collect();
    let ss: f64 = resid
        .iter()
        .map(|r| r * r)
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let effects: Vec<f64> = channels.iter().map(|c| c.contribution.value).collect();
    let lift_tests = spec
        .calibration
        .iter()
        .enumerate()
        .map(|(i, t)| LiftCheck {
            label: t.label.clone(),
            channel: t.channel.clone(),
            measured: t.lift,
            predicted: mean(&all.iter().map(|x| x.lifts[i]).collect::<Vec<_>>()),
        })
        .collect();

    // Diagnostics and warnings.
    let divergences_per_chain: Vec<usize> = run.chains.iter().map(|c| c.divergences).collect();
    let divergences: usize = divergences_per_chain.iter().sum();
    let bfmi: Vec<f64> = run
        .chains
        .iter()
        .map(|c| diagnostics::bfmi(&c.energy))
        .collect();
    // Geo models also sample coordinates the parameter table does not list (the geos'
    // intercepts and effect multipliers, the time effects): they must converge too.
    let mut coordinates = Vec::new();
    if let Some(panel) = panel {
        let coord = |name: String, i: usize| {
            let chains: Vec<Vec<f64>> = run
                .chains
                .iter()
                .map(|c| c.draws.iter().map(|z| z[i]).collect())
                .collect();
            summary(name, &chains, tail)
        };
        for (g, name) in panel.names.iter().enumerate() {
            coordinates.push(coord(format!("intercept[{name}]"), d.intercept_at + g));
        }
        for (c, l) in spec.channels.iter().zip(&d.channels) {
            if let Some(at) = l.spread_at {
                for i in 0..panel.names.len() - 1 {
                    coordinates.push(coord(format!("{}.geo_basis[{i}]", c.name), at + 1 + i));
                }
            }
        }
        if let Some(at) = d.time_at {
            for i in 0..d.end - d.start - 1 {
                coordinates.push(coord(format!("time_effect_basis[{i}]"), at + i));
            }
        }
    }
    let checked: Vec<&ParamSummary> = parameters.iter().chain(&coordinates).collect();
    let fold = |f: &dyn Fn(&ParamSummary) -> f64, init: f64, pick: fn(f64, f64) -> f64| {
        checked
            .iter()
            .map(|p| f(p))
            .filter(|v| v.is_finite())
            .fold(init, pick)
    };
    let max_rhat = fold(&|p| p.rhat, f64::NEG_INFINITY, f64::max);
    let min_ess_bulk = fold(&|p| p.ess_bulk, f64::INFINITY, f64::min);
    let min_ess_tail = fold(&|p| p.ess_tail, f64::INFINITY, f64::min);
    // A list of names, the first ten and how many more.
    let list = |names: Vec<String>| -> String {
        let more = names.len().saturating_sub(10);
        let mut text = names.into_iter().take(10).collect::<Vec<_>>().join(", ");
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text
    };
    let mut warnings = Vec::new();
    let bad: Vec<String> = checked
        .iter()
        .filter(|p| p.rhat.is_nan() || p.rhat > 1.01)
        .map(|p| format!("{} ({:.3})", p.name, p.rhat))
        .collect();
    if !bad.is_empty() {
        warnings.push(format!(
            "R-hat above 1.01: {}; the chains disagree, sample longer (--tune, --draws) or check the model",
            list(bad)
        ));
    }
    let low: Vec<String> = checked
        .iter()
        .filter(|p| {
            p.ess_bulk.is_nan() || p.ess_tail.is_nan() || p.ess_bulk.min(p.ess_tail) < 400.0
        })
        .map(|p| {
            format!(
                "{} (bulk {:.0}, tail {:.0})",
                p.name, p.ess_bulk, p.ess_tail
            )
        })
        .collect();
    if !low.is_empty() {
        warnings.push(format!(
            "effective sample size below 400: {}; draw more (--draws) for stable intervals",
            list(low)
        ));
    }
    if divergences > 0 {
        warnings.push(format!(
            "{divergences} divergent transitions after tuning; the posterior has regions NUTS cannot follow, so the draws may be biased (raise target_accept, or reconsider the priors)"
        ));
    }
    let low_bfmi: Vec<String> = bfmi
        .iter()
        .enumerate()
        .filter(|(_, b)| b.is_nan() || **b < 0.3)
        .map(|(c, b)| format!("chain {c} ({b:.2})"))
        .collect();
    if !low_bfmi.is_empty() {
        warnings.push(format!(
            "energy BFMI below 0.3: {}; the sampler explores the tails poorly",
            low_bfmi.join(", ")
        ));
    }
    let stride = all.len().div_ceil(CURVE_DRAWS).max(1);
    let curve_draws: Vec<Vec<ChannelFit>> = all
        .iter()
        .step_by(stride)
        .map(|x| {
            spec.channels
                .iter()
                .enumerate()
                .map(|(j, c)| match panel {
                    None => channel_fit(c, &x.theta[j], d.channels[j].scale, x.coef[j]),
                    Some(_) => {
                        let geo_coef: Vec<f64> = (0..d.geos())
                            .map(|g| x.coef[j] * x.geo_mult[j][g] * d.pop[g])
                            .collect();
                        national_curve(d, c, j, &x.theta[j], &geo_coef, &data.spend[j], h).0
                    }
                })
                .collect()
        })
        .collect();
    let geo = panel.map(|panel| GeoSummary {
        time_effects: d.time_at.is_some(),
        geos: panel
            .names
            .iter()
            .enumerate()
            .map(|(g, name)| GeoResult {
                name: name.clone(),
                population: panel.population[g],
                channels: spec
                    .channels
                    .iter()
                    .enumerate()
                    .map(|(j, c)| {
                        let spend: f64 = panel.tables[g].spend[j][h..].iter().sum();
                        let contribution: Vec<f64> =
                            all.iter().map(|x| x.geo_contribution[j][g]).collect();
                        GeoChannel {
                            name: c.name.clone(),
                            spend,
                            contribution: estimate(&contribution, tail),
                            roas: (spend > 0.0).then(|| {
                                estimate(
                                    &contribution.iter().map(|v| v / spend).collect::<Vec<_>>(),
                                    tail,
                                )
                            }),
                            multiplier: estimate(
                                &all.iter().map(|x| x.geo_mult[j][g]).collect::<Vec<_>>(),
                                tail,
                            ),
                        }
                    })
                    .collect(),
            })
            .collect(),
        curve_error,
    });
    let roas_draws: Vec<Vec<f64>> = (0..k)
        .map(|j| all.iter().map(|x| x.roas[j]).collect())
        .collect();
    let draws_total = settings.chains * settings.draws;
    let ranges = spec.ranges();
    let mut params: Vec<f64> = channels
        .iter()
        .flat_map(|c| {
            let names = theta_names(
                spec.channels
                    .iter()
                    .find(|s| s.name == c.name)
                    .map_or(AdstockKind::Geometric, |s| s.adstock),
                spec.channels
                    .iter()
                    .find(|s| s.name == c.name)
                    .map_or(SaturationKind::Logistic, |s| s.saturation),
            );
            names.into_iter().map(|n| c.params[n]).collect::<Vec<_>>()
        })
        .collect();
    // The ridge's vector ends with log10 of its penalty; the Bayesian model has none.
    params.push(0.0);
    let result = MmmResult {
        spec: spec.clone(),
        settings: FitSettings {
            trials: 0,
            iterations: 0,
            population: 0,
            seed: settings.seed,
            bootstrap: 0,
            interval: settings.interval,
            threads: settings.threads,
            ..FitSettings::default()
        },
        periods: n - h,
        kpi_total: data.kpi[h..].iter().sum(),
        intercept: mean(&all.iter().map(|x| x.intercept).collect::<Vec<_>>()),
        channels,
        terms,
        diagnostics: Diagnostics {
            train,
            adjusted_r2,
            decomp_rssd: model::decomp_rssd(&effects, &spends),
            holdout,
            residual_acf1: resid.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / ss,
            durbin_watson: resid.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / ss,
            lift_tests,
            vif: BTreeMap::new(),
        },
        search: SearchSummary {
            trials: 0,
            evaluations: draws_total,
            failed: 0,
            parameter_names: ranges.into_iter().map(|r| r.name).collect(),
            front: Vec::new(),
            selected: 0,
            reason: format!(
                "Bayesian posterior by NUTS: {} chains × {} draws after {} tuning; estimates are posterior means with {:.0} % central credible intervals; {}",
                settings.chains,
                settings.draws,
                settings.tune,
                settings.interval * 100.0,
                match panel {
                    None =>
                        "the response curves use the posterior means of the parameters".to_string(),
                    Some(p) => format!(
                        "a geo hierarchy over {} geos; each national response curve is matched to the geos' summed response at the posterior means, assuming spend splits over geos as it did (the gaps are in bayes.geo.curve_error)",
                        p.names.len()
                    ),
                }
            ),
            interval_models: 0,
        },
        params,
    };
    BayesFit {
        result,
        bayes: BayesSummary {
            sampler: format!(
                "NUTS (nuts-rs 0.19), {} mass matrix",
                match settings.mass_matrix {
                    MassMatrix::Diagonal => "diagonal",
                    MassMatrix::LowRank => "low-rank",
                }
            ),
            settings: settings.clone(),
            y_scale: d.y_scale,
            seconds,
            gradients: run.chains.iter().map(|c| c.gradients).sum(),
            divergences,
            divergences_per_chain,
            bfmi,
            step_size: run.chains.iter().map(|c| c.step_size).collect(),
            max_rhat,
            min_ess_bulk,
            min_ess_tail,
            warnings,
            parameters,
            geo,
        },
        roas_draws,
        curve_draws,
        decomposition,
    }
}

#[doc(hidden)]
/// For tests: the log density and gradient at `z` of the model of `data` and `spec`,
/// and its dimension (`z = None` returns a default starting point).
pub fn log_density(
    data: &MmmData,
    spec: &ModelSpec,
    settings: &BayesSettings,
    z: Option<&[f64]>,
) -> Result<(f64, Vec<f64>, Vec<f64>), String> {
    let problem = Problem::new(data, spec)?;
    let geo = [GeoInput {
        data,
        base: &problem.base,
        population: 1.0,
    }];
    let d = Density::new(&geo, spec, settings, false)?;
    evaluate(&d, z)
}

#[doc(hidden)]
/// For tests: [`log_density`] of the geo model of `panel` (time effects as `settings`
/// say; the spec is used as given).
pub fn geo_log_density(
    panel: &GeoPanel,
    spec: &ModelSpec,
    settings: &BayesSettings,
    z: Option<&[f64]>,
) -> Result<(f64, Vec<f64>, Vec<f64>), String> {
    panel.check(spec)?;
    let bases = geo_bases(panel, spec);
    let d = Density::new(
        &geo_inputs(panel, &bases),
        spec,
        settings,
        settings.time_effects,
    )?;
    evaluate(&d, z)
}

fn evaluate(d: &Density, z: Option<&[f64]>) -> Result<(f64, Vec<f64>, Vec<f64>), String> {
    let z = match z {
        Some(z) if z.len() == d.dim => z.to_vec(),
        Some(z) => return Err(format!("{} values for {} parameters", z.len(), d.dim)),
        None => sampler::start(d),
    };
    let mut g = vec![0.0; d.dim];
    let lp = d.logp(&z, &mut g);
    Ok((lp, g, z))
}
