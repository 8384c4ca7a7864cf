//! The Bayesian MMM's log posterior density on the unconstrained scale and its exact
//! gradient (analytic, by hand: every transform's derivative is written out and
//! chained; checked against central finite differences in the tests).
//!
//! One density serves the national model and the geo hierarchy: national data is one
//! geo of population 1 without the hierarchy's parameters, so both run the same code.
//!
//! Scales: the KPI per capita (KPI ÷ the geo's population) is divided by its largest
//! absolute value over geos and the fitting window (`y_scale`, PyMC-Marketing's
//! MaxAbsScaler), each channel's spend per capita by its largest value over geos and
//! periods (`scale`, so every geo shares one saturation curve on per-capita spend, as
//! in Meridian), controls by their largest absolute value; the trend runs 0 → 1 and the
//! Fourier terms and events are used as they are.
//!
//! Parameters, in vector order: per channel its adstock rate (`logit alpha`, or
//! `logit theta` for Robyn's geometric), its saturation parameters (`log lambda`;
//! `log half`, `log slope`; `log half`) and its effect as `log ROI` over the fitting
//! window, whatever the prior; with geos, then `log eta` (the spread of the channel's
//! effect across geos) and one standard normal `z_g` per geo. A geo's coefficient is
//! `beta_g = beta · e^(eta z_g)` (Meridian's log-normal hierarchy, non-centred), and
//! the level `beta` follows from the ROI over all geos:
//! `beta = ROI · spend / (y_scale · Σ_g pop_g e^(eta z_g) S_g(θ))`, `S_g` the window's
//! sum of geo g's saturated spend. The data pin the ROI down far better than `beta`,
//! which trades off against the saturation's parameters (a banana in
//! `(log lambda, log beta)`); sampling ROI straightens it. A prior on `beta` then
//! carries the Jacobian `∂beta/∂log ROI = beta`. Then one intercept per geo, one
//! coefficient per base column (shared by the geos), with time effects the free
//! parameters of one effect per period of the window summing to zero (shared by the
//! geos; see [`Density::time_effects`]), then `log sigma`.

use super::{BayesSettings, ChannelPrior};
use crate::model::{Base, MmmData};
use crate::spec::{AdstockKind, ModelSpec, SaturationKind};

/// Per channel: what the sampler's vector holds for it.
#[derive(Debug, Clone)]
pub(crate) struct ChannelLayout {
    pub adstock: AdstockKind,
    pub saturation: SaturationKind,
    pub l_max: usize,
    /// Index of the first of its parameters; adstock, saturation, effect follow.
    pub at: usize,
    /// Number of saturation parameters (1 or 2).
    pub n_sat: usize,
    pub prior: ChannelPrior,
    /// Largest spend per capita over geos and periods (saturation acts on adstock / scale).
    pub scale: f64,
    /// Spend over the fitting window, all geos (the ROI's denominator).
    pub window_spend: f64,
    /// With geos: index of `log eta`, followed by the `G − 1` free parameters of the
    /// geos' `z_g`, which sum to zero (see [`zero_sum`]).
    pub spread_at: Option<usize>,
}

impl ChannelLayout {
    /// Transform parameters (adstock + saturation) count.
    pub fn n_theta(&self) -> usize {
        1 + self.n_sat
    }
    pub fn effect_index(&self) -> usize {
        self.at + self.n_theta()
    }
}

/// One geo's table and design: what [`Density::new`] reads.
pub(crate) struct GeoInput<'a> {
    pub data: &'a MmmData,
    pub base: &'a Base,
    pub population: f64,
}

/// A lift test: the channel, its scaled spend per geo without the test's periods, the
/// measured lift and its standard error (KPI units, all geos).
#[derive(Debug, Clone)]
pub(crate) struct Lift {
    pub channel: usize,
    pub without: Vec<Vec<f64>>,
    pub lift: f64,
    pub se: f64,
}

/// Everything the density needs, built once.
#[derive(Debug, Clone)]
pub(crate) struct Density {
    pub n: usize,
    /// Fitting window `start..end` (history before it only carries spend over).
    pub start: usize,
    pub end: usize,
    pub y_scale: f64,
    /// Population per geo (national: one geo of 1).
    pub pop: Vec<f64>,
    /// Scaled KPI per capita, per geo and period.
    pub y: Vec<Vec<f64>>,
    /// Scaled spend per capita, per geo, channel and period (÷ the channel's scale).
    pub x: Vec<Vec<Vec<f64>>>,
    pub channels: Vec<ChannelLayout>,
    /// Base columns on the model's scale per geo, and the factor each was divided by.
    pub base: Vec<Vec<Vec<f64>>>,
    pub base_div: Vec<f64>,
    /// The geos' intercepts start here; the base coefficients follow them.
    pub intercept_at: usize,
    pub base_at: usize,
    /// The free parameters of the time effects, one fewer than the window's periods
    /// (geo models; see [`Density::time_effects`]).
    pub time_at: Option<usize>,
    pub sigma_at: usize,
    pub dim: usize,
    pub lifts: Vec<Lift>,
    pub priors: Priors,
    /// Geo effects centred (`z_g` is the log multiplier, `~ Normal(0, eta)`) rather
    /// than non-centred (`z_g ~ Normal(0, 1)`, log multiplier `eta z_g`).
    pub centered: bool,
}

/// Hyperparameters of the priors (on the scaled model).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Priors {
    /// Beta(a, b) on adstock rates.
    pub rate: (f64, f64),
    /// Gamma(shape, rate) on logistic lambda.
    pub lambda: (f64, f64),
    /// Gamma(shape, rate) on Hill / Michaelis–Menten half-saturation (share of max spend).
    pub half: (f64, f64),
    /// Gamma(shape, rate) on the Hill slope.
    pub slope: (f64, f64),
    /// Normal(0, sd) on the intercepts, base coefficients and time effects.
    pub base_sd: f64,
    /// HalfNormal(sd) on sigma.
    pub sigma_sd: f64,
    /// HalfNormal(sd) on each channel's spread of effects across geos.
    pub spread_sd: f64,
}

/// One channel's transformed series and its derivatives by the unconstrained
/// transform parameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Transformed {
    /// Saturated adstocked spend per period.
    pub sat: Vec<f64>,
    /// `d sat / d theta_p` per parameter p (adstock first).
    pub dsat: Vec<Vec<f64>>,
}

/// A channel's effect at one point: the level `beta`, each geo's multiplier
/// `e_g = e^(eta z_g)` (`beta_g = beta · e_g`), and the derivatives of `beta` by the
/// transform parameters, the geos' `z` and `eta`.
#[derive(Debug, Clone)]
pub(crate) struct Effect {
    pub beta: f64,
    pub mult: Vec<f64>,
    pub eta: f64,
    /// The geos' `z_g`, summing to zero.
    pub z: Vec<f64>,
    pub dtheta: Vec<f64>,
    pub dz: Vec<f64>,
    pub deta: f64,
}

pub(crate) fn sigmoid(u: f64) -> f64 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

impl Density {
    /// The density of `geos` (one for the national model: population 1 and no
    /// hierarchy). `time_effects`: one shared effect per period (geo models only; the
    /// base columns should then vary across geos).
    pub fn new(
        geos: &[GeoInput],
        spec: &ModelSpec,
        settings: &BayesSettings,
        time_effects: bool,
    ) -> Result<Density, String> {
        let first = geos.first().ok_or("no geos")?;
        let n = first.data.periods();
        let n_geos = geos.len();
        let hierarchy = n_geos > 1;
        let start = spec.history;
        let end = n - spec.holdout;
        for g in geos {
            if !(g.population > 0.0 && g.population.is_finite()) {
                return Err(format!(
                    "population {} is not a positive number",
                    g.population
                ));
            }
        }
        let y_scale = geos.iter().fold(0.0f64, |m, g| {
            g.data.kpi[start..end]
                .iter()
                .fold(m, |m, v| m.max((v / g.population).abs()))
        });
        if y_scale <= 0.0 {
            return Err("the KPI is zero in every period of the fitting window".into());
        }
        let mut at = 0;
        let mut channels = Vec::new();
        let mut x: Vec<Vec<Vec<f64>>> = vec![Vec::new(); n_geos];
        for (j, c) in spec.channels.iter().enumerate() {
            match c.adstock {
                AdstockKind::Geometric | AdstockKind::RobynGeometric => {}
                other => {
                    return Err(format!(
                        "channel {}: the Bayesian MMM supports geometric and robyn_geometric adstock, not {other:?}",
                        c.name
                    ));
                }
            }
            let n_sat = match c.saturation {
                SaturationKind::Hill => 2,
                SaturationKind::Logistic | SaturationKind::MichaelisMenten => 1,
            };
            let scale = geos.iter().fold(0.0, |m: f64, g| {
                g.data.spend[j]
                    .iter()
                    .fold(m, |m, v| m.max(v / g.population))
            });
            let window_spend: f64 = geos
                .iter()
                .map(|g| g.data.spend[j][start..end].iter().sum::<f64>())
                .sum();
            if window_spend <= 0.0 {
                return Err(format!(
                    "channel {}: no spend in the fitting window (after the history, before the holdout), so its return cannot be estimated",
                    c.name
                ));
            }
            let prior = settings
                .priors
                .get(&c.name)
                .copied()
                .unwrap_or(ChannelPrior::Coefficient { sigma: 2.0 });
            match prior {
                ChannelPrior::Coefficient { sigma } if !(sigma > 0.0 && sigma.is_finite()) => {
                    return Err(format!(
                        "channel {}: the coefficient prior's sigma must be a positive number, got {sigma}",
                        c.name
                    ));
                }
                ChannelPrior::Roi { mu, sigma }
                    if !(sigma > 0.0 && sigma.is_finite() && mu.is_finite()) =>
                {
                    return Err(format!(
                        "channel {}: the ROI prior needs a finite mu and a positive sigma, got LogNormal({mu}, {sigma})",
                        c.name
                    ));
                }
                _ => {}
            }
            let spread_at = hierarchy.then_some(at + 2 + n_sat);
            channels.push(ChannelLayout {
                adstock: c.adstock,
                saturation: c.saturation,
                l_max: c.l_max,
                at,
                n_sat,
                prior,
                scale,
                window_spend,
                spread_at,
            });
            at += 2 + n_sat + if hierarchy { n_geos } else { 0 };
            for (g, geo) in geos.iter().enumerate() {
                x[g].push(
                    geo.data.spend[j]
                        .iter()
                        .map(|v| v / geo.population / scale)
                        .collect(),
                );
            }
        }
        let kinds = &first.base.kinds;
        let mut div = Vec::new();
        for k in 0..kinds.len() {
            let d = match kinds[k] {
                crate::model::TermKind::Control => {
                    let m = geos.iter().fold(0.0f64, |m, g| {
                        g.base.columns[k].iter().fold(m, |m, v| m.max(v.abs()))
                    });
                    if m > 0.0 { m } else { 1.0 }
                }
                _ => 1.0,
            };
            div.push(d);
        }
        let base: Vec<Vec<Vec<f64>>> = geos
            .iter()
            .map(|g| {
                g.base
                    .columns
                    .iter()
                    .zip(&div)
                    .map(|(col, d)| col.iter().map(|v| v / d).collect())
                    .collect()
            })
            .collect();
        let intercept_at = at;
        let base_at = intercept_at + n_geos;
        let time_at = time_effects.then_some(base_at + kinds.len());
        let sigma_at = base_at + kinds.len() + if time_effects { end - start - 1 } else { 0 };
        let z = settings.lift_interval_z();
        let mut lifts = Vec::new();
        for t in &spec.calibration {
            let j = spec
                .channels
                .iter()
                .position(|c| c.name == t.channel)
                .ok_or_else(|| format!("lift test {}: unknown channel {}", t.label, t.channel))?;
            let without = x
                .iter()
                .map(|xg| {
                    let mut w = xg[j].clone();
                    for v in &mut w[t.first..=t.last.min(n - 1)] {
                        *v = 0.0;
                    }
                    w
                })
                .collect();
            let se = match (t.lower, t.upper) {
                (Some(lo), Some(hi)) if hi > lo => (hi - lo) / (2.0 * z),
                _ => settings.lift_default_cv * t.lift.abs(),
            };
            if !(se > 0.0 && se.is_finite()) {
                return Err(format!(
                    "lift test {} of {}: cannot derive a standard error from its interval",
                    t.label, t.channel
                ));
            }
            lifts.push(Lift {
                channel: j,
                without,
                lift: t.lift,
                se,
            });
        }
        Ok(Density {
            n,
            start,
            end,
            y_scale,
            pop: geos.iter().map(|g| g.population).collect(),
            y: geos
                .iter()
                .map(|g| {
                    g.data
                        .kpi
                        .iter()
                        .map(|v| v / g.population / y_scale)
                        .collect()
                })
                .collect(),
            x,
            channels,
            base,
            base_div: div,
            intercept_at,
            base_at,
            time_at,
            sigma_at,
            dim: sigma_at + 1,
            lifts,
            priors: Priors {
                rate: (1.0, 3.0),
                lambda: (3.0, 1.0),
                half: (2.0, 2.0),
                slope: (3.0, 2.0),
                base_sd: 2.0,
                sigma_sd: 2.0,
                spread_sd: settings.geo_spread_sd,
            },
            centered: settings.geo_centered,
        })
    }

    pub fn geos(&self) -> usize {
        self.pop.len()
    }

    /// What the likelihood subtracts from a channel's saturated series (or its
    /// derivative): nothing in the national model; in geo models its mean over the
    /// window, so that each geo's intercept is the geo's level with its media at their
    /// average rather than at zero. With spend that never stops, the level at zero is
    /// what the data see least, and an intercept defined there trades off against every
    /// channel's effect: a ridge NUTS crosses slowly (on Meridian's geo data it left the
    /// intercepts with R-hat up to 1.02). The media's effects are unchanged; the
    /// intercept's `Normal(0, 2)` prior applies to the shifted level.
    pub fn media_offset(&self, series: &[f64]) -> f64 {
        if self.geos() > 1 {
            series[self.start..self.end].iter().sum::<f64>() / (self.end - self.start) as f64
        } else {
            0.0
        }
    }

    /// The shared time effects over every period (0 outside the window and without
    /// time effects). They sum to zero over the window (the [`zero_sum`] image of
    /// `T − 1` free parameters), so each geo's intercept is its level. Pinning one
    /// period at 0 instead would tie every effect to that one period's noise and
    /// correlate them all.
    pub fn time_effects(&self, z: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.n];
        if let Some(at) = self.time_at {
            let m = self.end - self.start;
            out[self.start..self.end].copy_from_slice(&zero_sum(&z[at..at + m - 1]));
        }
        out
    }

    /// The gradient by the free time parameters from the gradient `g` by the window's
    /// effects.
    fn time_gradient(&self, g: &[f64], grad: &mut [f64]) {
        if let Some(at) = self.time_at {
            let free = zero_sum_transpose(&g[self.start..self.end]);
            for (i, v) in free.iter().enumerate() {
                grad[at + i] += v;
            }
        }
    }

    /// The constrained transform parameters of channel `j` (adstock rate, then the
    /// saturation's) from the unconstrained vector.
    pub fn theta(&self, j: usize, z: &[f64]) -> Vec<f64> {
        let c = &self.channels[j];
        let mut out = vec![sigmoid(z[c.at])];
        out.extend((0..c.n_sat).map(|p| z[c.at + 1 + p].exp()));
        out
    }

    /// Channel `j`'s saturated adstock of `x` (scaled spend) and its derivatives by the
    /// unconstrained transform parameters.
    pub fn transform(&self, j: usize, z: &[f64], x: &[f64], out: &mut Transformed) {
        let c = &self.channels[j];
        let n = x.len();
        let th = self.theta(j, z);
        let rate = th[0];
        // Adstock a_t and da_t/d(logit rate).
        let mut a = vec![0.0; n];
        let mut da = vec![0.0; n];
        let drate = rate * (1.0 - rate);
        match c.adstock {
            AdstockKind::RobynGeometric => {
                let (mut prev, mut dprev) = (0.0, 0.0);
                for t in 0..n {
                    let v = x[t] + rate * prev;
                    let dv = prev + rate * dprev;
                    a[t] = v;
                    da[t] = dv * drate;
                    prev = v;
                    dprev = dv;
                }
            }
            _ => {
                // S_t = Σ_{l<L} r^l x_{t−l} by the recursion
                // S_t = r S_{t−1} + x_t − r^L x_{t−L}, and its derivative
                // S'_t = S_{t−1} + r S'_{t−1} − L r^{L−1} x_{t−L}; a_t = S_t / Z,
                // Z = Σ_{l<L} r^l (PyMC-Marketing's normalised weights).
                let lags = c.l_max.max(1);
                let (mut z0, mut dz0) = (0.0, 0.0);
                for l in 0..lags {
                    z0 += rate.powi(l as i32);
                    if l > 0 {
                        dz0 += l as f64 * rate.powi(l as i32 - 1);
                    }
                }
                let r_l = rate.powi(lags as i32);
                let dr_l = lags as f64 * rate.powi(lags as i32 - 1);
                // Multiplications by 1/Z instead of divisions: the hot loop of the density.
                let inv_z = 1.0 / z0;
                let slope = dz0 * inv_z;
                let (mut prev, mut dprev) = (0.0, 0.0);
                for t in 0..n {
                    let (mut v, mut dv) = (x[t] + rate * prev, prev + rate * dprev);
                    if t >= lags {
                        v -= r_l * x[t - lags];
                        dv -= dr_l * x[t - lags];
                    }
                    a[t] = v * inv_z;
                    da[t] = (dv - v * slope) * inv_z * drate;
                    prev = v;
                    dprev = dv;
                }
            }
        }
        out.sat.clear();
        out.sat.resize(n, 0.0);
        out.dsat.resize(1 + c.n_sat, Vec::new());
        for d in &mut out.dsat {
            d.clear();
            d.resize(n, 0.0);
        }
        match c.saturation {
            SaturationKind::Logistic => {
                let lambda = th[1];
                for t in 0..n {
                    // f = tanh(λa/2) = (1 − e)/(1 + e), 1 − f² = 4e/(1 + e)², e = exp(−λa).
                    let e = (-lambda * a[t]).exp();
                    let f = (1.0 - e) / (1.0 + e);
                    let g = 2.0 * e / ((1.0 + e) * (1.0 + e));
                    out.sat[t] = f;
                    out.dsat[0][t] = lambda * g * da[t];
                    out.dsat[1][t] = lambda * a[t] * g;
                }
            }
            SaturationKind::Hill => {
                let (half, slope) = (th[1], th[2]);
                for t in 0..n {
                    if a[t] <= 0.0 {
                        continue;
                    }
                    let lr = (a[t] / half).ln();
                    // f = r / (1 + r), r = (a/half)^slope, computed stably.
                    let f = sigmoid(slope * lr);
                    let g = f * (1.0 - f);
                    out.sat[t] = f;
                    out.dsat[0][t] = slope * g * da[t] / a[t];
                    out.dsat[1][t] = -slope * g;
                    out.dsat[2][t] = slope * g * lr;
                }
            }
            SaturationKind::MichaelisMenten => {
                let half = th[1];
                for t in 0..n {
                    let inv = 1.0 / (half + a[t]);
                    let g = half * inv * inv;
                    out.sat[t] = a[t] * inv;
                    out.dsat[0][t] = g * da[t];
                    out.dsat[1][t] = -g * a[t];
                }
            }
        }
    }

    /// Channel `j`'s effect at `z`, given its transformed spend per geo `trs`:
    /// `beta = ROI · spend / (y_scale · D)`, `D = Σ_g pop_g e_g S_g`, and the derivatives
    /// of `beta` (through `D`) by the transform parameters, the geos' `z_g` (before the
    /// zero-sum map) and `eta`.
    pub fn effect(&self, j: usize, z: &[f64], trs: &[Transformed]) -> Effect {
        let c = &self.channels[j];
        let (s0, s1) = (self.start, self.end);
        let (eta, zs): (f64, Vec<f64>) = match c.spread_at {
            Some(at) => (z[at].exp(), zero_sum(&z[at + 1..at + self.geos()])),
            None => (0.0, Vec::new()),
        };
        // The geo's log multiplier l_g and its derivatives by z_g and eta.
        let (dl_dz, centered) = if self.centered {
            (1.0, true)
        } else {
            (eta, false)
        };
        let dl_deta = |g: usize| if centered { 0.0 } else { zs[g] };
        let mult: Vec<f64> = (0..self.geos())
            .map(|g| zs.get(g).map_or(1.0, |zg| (dl_dz * zg).exp()))
            .collect();
        let sums: Vec<f64> = trs
            .iter()
            .map(|tr| tr.sat[s0..s1].iter().sum::<f64>())
            .collect();
        let weights: Vec<f64> = (0..self.geos()).map(|g| self.pop[g] * mult[g]).collect();
        let d = weights
            .iter()
            .zip(&sums)
            .map(|(w, s)| w * s)
            .sum::<f64>()
            .max(1e-300);
        let beta = z[c.effect_index()].exp() * c.window_spend / (self.y_scale * d);
        let dtheta = (0..c.n_theta())
            .map(|p| {
                let ds: f64 = trs
                    .iter()
                    .zip(&weights)
                    .map(|(tr, w)| w * tr.dsat[p][s0..s1].iter().sum::<f64>())
                    .sum();
                -beta * ds / d
            })
            .collect();
        let dz = if zs.is_empty() {
            Vec::new()
        } else {
            (0..self.geos())
                .map(|g| -beta * dl_dz * weights[g] * sums[g] / d)
                .collect()
        };
        let deta = if zs.is_empty() {
            0.0
        } else {
            -beta
                * (0..self.geos())
                    .map(|g| dl_deta(g) * weights[g] * sums[g])
                    .sum::<f64>()
                / d
        };
        Effect {
            beta,
            mult,
            eta,
            z: zs,
            dtheta,
            dz,
            deta,
        }
    }

    /// Channel `j`'s transformed spend in every geo.
    pub fn transform_geos(&self, j: usize, z: &[f64]) -> Vec<Transformed> {
        (0..self.geos())
            .map(|g| {
                let mut tr = Transformed::default();
                self.transform(j, z, &self.x[g][j], &mut tr);
                tr
            })
            .collect()
    }

    /// The level of channel `j`'s coefficient at `z` (scaled units per capita; the
    /// national model's coefficient) and each geo's multiplier of it.
    pub fn channel_beta(&self, j: usize, z: &[f64]) -> (f64, Vec<f64>) {
        let e = self.effect(j, z, &self.transform_geos(j, z));
        (e.beta, e.mult)
    }

    /// Log posterior density (up to a constant) and its gradient into `grad`.
    pub fn logp(&self, z: &[f64], grad: &mut [f64]) -> f64 {
        grad.iter_mut().for_each(|g| *g = 0.0);
        let pr = self.priors;
        let (s0, s1) = (self.start, self.end);
        let n_geos = self.geos();
        let mut lp = 0.0;
        let time = self.time_effects(z);
        let mut mu: Vec<Vec<f64>> = (0..n_geos)
            .map(|g| {
                let mut m = vec![0.0; self.n];
                for t in s0..s1 {
                    m[t] = z[self.intercept_at + g] + time[t];
                }
                for (k, col) in self.base[g].iter().enumerate() {
                    let coef = z[self.base_at + k];
                    for t in s0..s1 {
                        m[t] += coef * col[t];
                    }
                }
                m
            })
            .collect();
        let mut trs = Vec::with_capacity(self.channels.len());
        let mut effects = Vec::with_capacity(self.channels.len());
        // Per channel and geo: what the likelihood subtracts from the saturated series.
        let mut offsets = Vec::with_capacity(self.channels.len());
        for j in 0..self.channels.len() {
            let tr = self.transform_geos(j, z);
            let ef = self.effect(j, z, &tr);
            let offset: Vec<f64> = tr.iter().map(|t| self.media_offset(&t.sat)).collect();
            for g in 0..n_geos {
                let b = ef.beta * ef.mult[g];
                for t in s0..s1 {
                    mu[g][t] += b * (tr[g].sat[t] - offset[g]);
                }
            }
            trs.push(tr);
            effects.push(ef);
            offsets.push(offset);
        }
        let ls = z[self.sigma_at];
        let sigma = ls.exp();
        let inv_var = 1.0 / (sigma * sigma);
        let mut ss = 0.0;
        // e[g][t] = d loglik / d mu_gt.
        let mut e = vec![vec![0.0; self.n]; n_geos];
        for g in 0..n_geos {
            for t in s0..s1 {
                let r = self.y[g][t] - mu[g][t];
                ss += r * r;
                e[g][t] = r * inv_var;
            }
        }
        let m = (n_geos * (s1 - s0)) as f64;
        lp += -0.5 * ss * inv_var - m * ls;
        grad[self.sigma_at] += ss * inv_var - m;
        // Intercepts, base coefficients and time effects.
        let mut gtime = vec![0.0; self.n];
        for g in 0..n_geos {
            grad[self.intercept_at + g] += e[g][s0..s1].iter().sum::<f64>();
            for (k, col) in self.base[g].iter().enumerate() {
                grad[self.base_at + k] += (s0..s1).map(|t| e[g][t] * col[t]).sum::<f64>();
            }
            for t in s0..s1 {
                gtime[t] += e[g][t];
            }
        }
        self.time_gradient(&gtime, grad);
        // d logp / d beta_g per channel and geo, and direct d logp / d theta_jp.
        let mut gbeta = vec![vec![0.0; n_geos]; self.channels.len()];
        for (j, c) in self.channels.iter().enumerate() {
            let ef = &effects[j];
            for g in 0..n_geos {
                let tr = &trs[j][g];
                let b = ef.beta * ef.mult[g];
                // Σ e (sat − offset) = Σ e sat − offset Σ e, and likewise for d sat.
                let eg = &e[g][s0..s1];
                let e_sum: f64 = eg.iter().sum();
                gbeta[j][g] += dot(eg, &tr.sat[s0..s1]) - offsets[j][g] * e_sum;
                for p in 0..c.n_theta() {
                    grad[c.at + p] +=
                        b * (dot(eg, &tr.dsat[p][s0..s1]) - self.media_offset(&tr.dsat[p]) * e_sum);
                }
            }
        }
        // Lift tests: predicted = y_scale · Σ_g pop_g beta_g (Σ sat(x_g) − Σ sat(x_g without test)).
        let mut trw = Transformed::default();
        for lift in &self.lifts {
            let j = lift.channel;
            let c = &self.channels[j];
            let ef = &effects[j];
            let mut pred = 0.0;
            let mut dpred_dbeta = vec![0.0; n_geos];
            let mut dpred_dtheta = vec![0.0; c.n_theta()];
            for g in 0..n_geos {
                self.transform(j, z, &lift.without[g], &mut trw);
                let full = &trs[j][g];
                let d: f64 = full.sat.iter().sum::<f64>() - trw.sat.iter().sum::<f64>();
                let w = self.y_scale * self.pop[g];
                let b = ef.beta * ef.mult[g];
                pred += w * b * d;
                dpred_dbeta[g] = w * d;
                for p in 0..c.n_theta() {
                    let dd: f64 =
                        full.dsat[p].iter().sum::<f64>() - trw.dsat[p].iter().sum::<f64>();
                    dpred_dtheta[p] += w * b * dd;
                }
            }
            let r = (pred - lift.lift) / lift.se;
            lp += -0.5 * r * r;
            let dl = -r / lift.se;
            for g in 0..n_geos {
                gbeta[j][g] += dl * dpred_dbeta[g];
            }
            for p in 0..c.n_theta() {
                grad[c.at + p] += dl * dpred_dtheta[p];
            }
        }
        // Priors, and the chain from beta_g = beta · e_g to the effect parameter, the
        // transform parameters (through D), the z_g and eta.
        for (j, c) in self.channels.iter().enumerate() {
            let ef = &effects[j];
            let b = ef.beta;
            // d logp / d beta (the level), from the likelihood and the coefficient prior.
            let mut k: f64 = (0..n_geos).map(|g| gbeta[j][g] * ef.mult[g]).sum();
            let ei = c.effect_index();
            match c.prior {
                ChannelPrior::Coefficient { sigma } => {
                    // HalfNormal(sigma) on beta, and the Jacobian of w ↦ beta
                    // (∂beta/∂w = beta): −beta²/2σ² + ln beta, which depends on theta
                    // (and z, eta) through beta too.
                    lp += -0.5 * b * b / (sigma * sigma) + b.ln();
                    k += -b / (sigma * sigma) + 1.0 / b;
                }
                ChannelPrior::Roi { mu, sigma } => {
                    // log ROI ~ Normal(mu, sigma) (ROI log-normal, Meridian's prior).
                    let r = (z[ei] - mu) / sigma;
                    lp += -0.5 * r * r;
                    grad[ei] += -r / sigma;
                }
            }
            grad[ei] += k * b;
            for p in 0..c.n_theta() {
                grad[c.at + p] += k * ef.dtheta[p];
            }
            if let Some(at) = c.spread_at {
                let eta = ef.eta;
                let free = &z[at + 1..at + n_geos];
                // d logp / d z_g (before the zero-sum map), with beta_g = beta · e^(l_g):
                // the direct term and the one through beta.
                let scale = if self.centered { 1.0 } else { eta };
                let mut gz = vec![0.0; n_geos];
                let mut geta = k * ef.deta;
                for g in 0..n_geos {
                    let direct = gbeta[j][g] * b * ef.mult[g];
                    gz[g] = k * ef.dz[g] + direct * scale;
                    if !self.centered {
                        geta += direct * ef.z[g];
                    }
                }
                let gfree = zero_sum_transpose(&gz);
                for (i, v) in free.iter().enumerate() {
                    grad[at + 1 + i] += gfree[i];
                    if self.centered {
                        // l = z ~ Normal(0, eta) on the zero-sum subspace.
                        let r = v / eta;
                        lp += -0.5 * r * r - z[at];
                        grad[at + 1 + i] += -r / eta;
                        grad[at] += r * r - 1.0;
                    } else {
                        // l = eta z, z ~ Normal(0, 1) on the zero-sum subspace.
                        lp += -0.5 * v * v;
                        grad[at + 1 + i] += -v;
                    }
                }
                // eta ~ HalfNormal(spread_sd), sampled as log eta (Jacobian eta).
                let v = eta * eta / (pr.spread_sd * pr.spread_sd);
                lp += -0.5 * v + z[at];
                grad[at] += geta * eta - v + 1.0;
            }
            // Beta(a, b) on the rate via logit: a·ln(rate) + b·ln(1 − rate).
            let u = z[c.at];
            let rate = sigmoid(u);
            let (pa, pb) = pr.rate;
            lp += pa * ln_sigmoid(u) + pb * ln_sigmoid(-u);
            grad[c.at] += pa * (1.0 - rate) - pb * rate;
            // Gamma(k, r) on each positive saturation parameter via log: k·v − r·e^v.
            let gammas: Vec<(f64, f64)> = match c.saturation {
                SaturationKind::Logistic => vec![pr.lambda],
                SaturationKind::Hill => vec![pr.half, pr.slope],
                SaturationKind::MichaelisMenten => vec![pr.half],
            };
            for (p, (shape, r)) in gammas.into_iter().enumerate() {
                let v = z[c.at + 1 + p];
                let ev = v.exp();
                lp += shape * v - r * ev;
                grad[c.at + 1 + p] += shape - r * ev;
            }
        }
        // Normal(0, sd) on the intercepts, base coefficients and time effects.
        let sd2 = pr.base_sd * pr.base_sd;
        for i in self.intercept_at..self.sigma_at {
            lp += -0.5 * z[i] * z[i] / sd2;
            grad[i] += -z[i] / sd2;
        }
        // HalfNormal(sd) on sigma via log.
        let v = sigma * sigma / (pr.sigma_sd * pr.sigma_sd);
        lp += -0.5 * v + ls;
        grad[self.sigma_at] += -v + 1.0;
        lp
    }
}

/// The orthonormal map from `n − 1` free values onto the vectors of `n` values that
/// sum to zero (PyMC's `ZeroSumTransform`, a Householder-type reflection computed in
/// `O(n)`). Zero-sum effects (time effects beside geo intercepts, geo multipliers
/// beside the national level) remove a direction the likelihood cannot see, and
/// because the map is an isometry, `Normal(0, s)` on the free values is the zero-sum
/// normal on the effects.
pub(crate) fn zero_sum(free: &[f64]) -> Vec<f64> {
    let n = free.len() + 1;
    let root = (n as f64).sqrt();
    let sum: f64 = free.iter().sum();
    let shift = sum / (root + n as f64);
    let mut out: Vec<f64> = free.iter().map(|v| v - shift).collect();
    out.push(-sum / root);
    out
}

/// The transpose of [`zero_sum`]: a gradient by the `n` values → by the `n − 1` free ones.
pub(crate) fn zero_sum_transpose(g: &[f64]) -> Vec<f64> {
    let n = g.len();
    let root = (n as f64).sqrt();
    let inner: f64 = g[..n - 1].iter().sum();
    let common = inner / (root + n as f64) + g[n - 1] / root;
    g[..n - 1].iter().map(|v| v - common).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `ln sigmoid(u)` without overflow.
fn ln_sigmoid(u: f64) -> f64 {
    if u >= 0.0 {
        -(-u).exp().ln_1p()
    } else {
        u - u.exp().ln_1p()
    }
}
