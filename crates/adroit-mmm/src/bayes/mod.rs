//! The Bayesian marketing mix model (issue 11, national data): the ridge MMM's
//! components — per channel a geometric adstock and a saturation, a trend, Fourier
//! seasonality, events and controls — with priors, a Gaussian likelihood on the scaled
//! KPI, lift tests as extra likelihood terms, sampled by NUTS (`nuts-rs`, the sampler
//! core of nutpie) in parallel chains. Returns the same [`MmmResult`] contract as the
//! ridge fit (posterior means and central credible intervals) plus [`BayesSummary`]:
//! convergence diagnostics and per-parameter posterior summaries.
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
use density::{Density, Transformed};
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
    /// units) and each channel's ROAS.
    pub parameters: Vec<ParamSummary>,
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
    let density = Density::new(data, spec, &problem.base, settings)?;
    let started = std::time::Instant::now();
    let run = sampler::sample(&density, settings, &progress)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(summarise(&problem, &density, settings, run, seconds))
}

/// Per draw: everything the report needs, computed from the unconstrained vector.
struct Derived {
    /// Per channel: constrained transform params, coef (KPI units), contribution over
    /// the report periods, ROAS, marginal ROAS.
    theta: Vec<Vec<f64>>,
    coef: Vec<f64>,
    contribution: Vec<f64>,
    roas: Vec<f64>,
    mroas: Vec<f64>,
    lifts: Vec<f64>,
    intercept: f64,
    base: Vec<f64>,
    sigma: f64,
    /// Fitted KPI on every period (KPI units).
    fitted: Vec<f64>,
}

fn derive(d: &Density, z: &[f64], spends: &[f64], from: usize) -> Derived {
    let k = d.channels.len();
    let mut out = Derived {
        theta: Vec::with_capacity(k),
        coef: Vec::with_capacity(k),
        contribution: Vec::with_capacity(k),
        roas: Vec::with_capacity(k),
        mroas: Vec::with_capacity(k),
        lifts: Vec::new(),
        intercept: z[d.intercept_at] * d.y_scale,
        base: (0..d.base.len())
            .map(|i| z[d.intercept_at + 1 + i] * d.y_scale / d.base_div[i])
            .collect(),
        sigma: z[d.sigma_at].exp() * d.y_scale,
        fitted: vec![z[d.intercept_at] * d.y_scale; d.n],
    };
    for (i, col) in d.base.iter().enumerate() {
        let g = z[d.intercept_at + 1 + i] * d.y_scale;
        for t in 0..d.n {
            out.fitted[t] += g * col[t];
        }
    }
    let mut tr = Transformed::default();
    let mut more = Transformed::default();
    for j in 0..k {
        d.transform(j, z, &d.x[j], &mut tr);
        let coef = d.channel_beta(j, z) * d.y_scale;
        for t in 0..d.n {
            out.fitted[t] += coef * tr.sat[t];
        }
        let contribution = coef * tr.sat[from..].iter().sum::<f64>();
        let x_more: Vec<f64> = d.x[j].iter().map(|v| v * 1.01).collect();
        d.transform(j, z, &x_more, &mut more);
        let extra =
            coef * (more.sat[from..].iter().sum::<f64>() - tr.sat[from..].iter().sum::<f64>());
        out.theta.push(d.theta(j, z));
        out.coef.push(coef);
        out.contribution.push(contribution);
        out.roas.push(contribution / spends[j]);
        out.mroas.push(extra / (0.01 * spends[j]));
    }
    for (j, without, _, _) in &d.lifts {
        d.transform(*j, z, &d.x[*j], &mut tr);
        d.transform(*j, z, without, &mut more);
        out.lifts
            .push(out.coef[*j] * (tr.sat.iter().sum::<f64>() - more.sat.iter().sum::<f64>()));
    }
    out
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

fn summarise(
    problem: &Problem,
    d: &Density,
    settings: &BayesSettings,
    run: sampler::Run,
    seconds: f64,
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
                fit: channel_fit(c, &theta, d.channels[j].scale, mean(&col(&|x| x.coef[j]))),
            }
        })
        .collect();
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
                contribution: coef * problem.base.columns[i][h..].iter().sum::<f64>(),
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
    let fold = |f: &dyn Fn(&ParamSummary) -> f64, init: f64, pick: fn(f64, f64) -> f64| {
        parameters
            .iter()
            .map(f)
            .filter(|v| v.is_finite())
            .fold(init, pick)
    };
    let max_rhat = fold(&|p| p.rhat, f64::NEG_INFINITY, f64::max);
    let min_ess_bulk = fold(&|p| p.ess_bulk, f64::INFINITY, f64::min);
    let min_ess_tail = fold(&|p| p.ess_tail, f64::INFINITY, f64::min);
    let mut warnings = Vec::new();
    let bad: Vec<String> = parameters
        .iter()
        .filter(|p| p.rhat.is_nan() || p.rhat > 1.01)
        .map(|p| format!("{} ({:.3})", p.name, p.rhat))
        .collect();
    if !bad.is_empty() {
        warnings.push(format!(
            "R-hat above 1.01: {}; the chains disagree, sample longer (--tune, --draws) or check the model",
            bad.join(", ")
        ));
    }
    let low: Vec<String> = parameters
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
            low.join(", ")
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
                .map(|(j, c)| channel_fit(c, &x.theta[j], d.channels[j].scale, x.coef[j]))
                .collect()
        })
        .collect();
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
                "Bayesian posterior by NUTS: {} chains × {} draws after {} tuning; estimates are posterior means with {:.0} % central credible intervals; the response curves use the posterior means of the parameters",
                settings.chains,
                settings.draws,
                settings.tune,
                settings.interval * 100.0
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
        },
        roas_draws,
        curve_draws,
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
    let d = Density::new(data, spec, &problem.base, settings)?;
    let z = match z {
        Some(z) if z.len() == d.dim => z.to_vec(),
        Some(z) => return Err(format!("{} values for {} parameters", z.len(), d.dim)),
        None => sampler::start(&d),
    };
    let mut g = vec![0.0; d.dim];
    let lp = d.logp(&z, &mut g);
    Ok((lp, g, z))
}
