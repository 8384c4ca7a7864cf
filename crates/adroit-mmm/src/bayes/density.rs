//! The Bayesian MMM's log posterior density on the unconstrained scale and its exact
//! gradient (analytic, by hand: every transform's derivative is written out and
//! chained; checked against central finite differences in the tests).
//!
//! Scales: the KPI is divided by its largest absolute value in the fitting window
//! (`y_scale`, PyMC-Marketing's MaxAbsScaler), each channel's spend by its largest
//! value (the ridge's saturation `scale`), controls by their largest absolute value;
//! the trend runs 0 → 1 and the Fourier terms and events are used as they are.
//!
//! Parameters, in vector order: per channel its adstock rate (`logit alpha`, or
//! `logit theta` for Robyn's geometric), its saturation parameters (`log lambda`;
//! `log half`, `log slope`; `log half`) and its effect as `log ROI` over the fitting
//! window, whatever the prior: the coefficient is `beta = ROI · spend / (y_scale · S(θ))`
//! with `S` the window's sum of the saturated spend. The data pin the ROI down far
//! better than `beta`, which trades off against the saturation's parameters (a banana
//! in `(log lambda, log beta)`); sampling ROI straightens it. A prior on `beta` then
//! carries the Jacobian `∂beta/∂log ROI = beta`. Then the intercept and one coefficient
//! per base column (free), then `log sigma`.

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
    /// Largest spend (saturation acts on adstock / scale).
    pub scale: f64,
    /// Spend over the fitting window (the ROI prior's denominator).
    pub window_spend: f64,
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

/// Everything the density needs, built once.
#[derive(Debug, Clone)]
pub(crate) struct Density {
    pub n: usize,
    /// Fitting window `start..end` (history before it only carries spend over).
    pub start: usize,
    pub end: usize,
    pub y_scale: f64,
    /// Scaled KPI on every period.
    pub y: Vec<f64>,
    /// Scaled spend per channel (÷ scale).
    pub x: Vec<Vec<f64>>,
    pub channels: Vec<ChannelLayout>,
    /// Base columns on the model's scale, and the factor each was divided by.
    pub base: Vec<Vec<f64>>,
    pub base_div: Vec<f64>,
    pub intercept_at: usize,
    pub sigma_at: usize,
    pub dim: usize,
    /// Lift tests: channel index, scaled spend without the test periods, measured lift
    /// and standard error (KPI units).
    pub lifts: Vec<(usize, Vec<f64>, f64, f64)>,
    pub priors: Priors,
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
    /// Normal(0, sd) on the intercept and base coefficients.
    pub base_sd: f64,
    /// HalfNormal(sd) on sigma.
    pub sigma_sd: f64,
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

pub(crate) fn sigmoid(u: f64) -> f64 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

impl Density {
    pub fn new(
        data: &MmmData,
        spec: &ModelSpec,
        base: &Base,
        settings: &BayesSettings,
    ) -> Result<Density, String> {
        let n = data.periods();
        let start = spec.history;
        let end = n - spec.holdout;
        let y_scale = data.kpi[start..end]
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        if y_scale <= 0.0 {
            return Err("the KPI is zero in every period of the fitting window".into());
        }
        let mut at = 0;
        let mut channels = Vec::new();
        let mut x: Vec<Vec<f64>> = Vec::new();
        for (c, s) in spec.channels.iter().zip(&data.spend) {
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
            let scale = s.iter().cloned().fold(0.0, f64::max);
            let window_spend: f64 = s[start..end].iter().sum();
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
            channels.push(ChannelLayout {
                adstock: c.adstock,
                saturation: c.saturation,
                l_max: c.l_max,
                at,
                n_sat,
                prior,
                scale,
                window_spend,
            });
            at += 2 + n_sat;
            x.push(s.iter().map(|v| v / scale).collect());
        }
        let mut cols = Vec::new();
        let mut div = Vec::new();
        for (col, kind) in base.columns.iter().zip(&base.kinds) {
            let d = match kind {
                crate::model::TermKind::Control => {
                    let m = col.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    if m > 0.0 { m } else { 1.0 }
                }
                _ => 1.0,
            };
            cols.push(col.iter().map(|v| v / d).collect());
            div.push(d);
        }
        let intercept_at = at;
        let sigma_at = at + 1 + cols.len();
        let mut lifts = Vec::new();
        for t in &spec.calibration {
            let j = spec
                .channels
                .iter()
                .position(|c| c.name == t.channel)
                .ok_or_else(|| format!("lift test {}: unknown channel {}", t.label, t.channel))?;
            let mut without: Vec<f64> = x[j].clone();
            for v in &mut without[t.first..=t.last.min(n - 1)] {
                *v = 0.0;
            }
            let se = match (t.lower, t.upper) {
                (Some(lo), Some(hi)) if hi > lo => (hi - lo) / (2.0 * settings.lift_interval_z()),
                _ => settings.lift_default_cv * t.lift.abs(),
            };
            if !(se > 0.0 && se.is_finite()) {
                return Err(format!(
                    "lift test {} of {}: cannot derive a standard error from its interval",
                    t.label, t.channel
                ));
            }
            lifts.push((j, without, t.lift, se));
        }
        Ok(Density {
            n,
            start,
            end,
            y_scale,
            y: data.kpi.iter().map(|v| v / y_scale).collect(),
            x,
            channels,
            base: cols,
            base_div: div,
            intercept_at,
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
            },
        })
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
                let (mut prev, mut dprev) = (0.0, 0.0);
                for t in 0..n {
                    let (mut v, mut dv) = (x[t] + rate * prev, prev + rate * dprev);
                    if t >= lags {
                        v -= r_l * x[t - lags];
                        dv -= dr_l * x[t - lags];
                    }
                    a[t] = v / z0;
                    da[t] = (dv * z0 - v * dz0) / (z0 * z0) * drate;
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
                    let d = half + a[t];
                    out.sat[t] = a[t] / d;
                    out.dsat[0][t] = half / (d * d) * da[t];
                    out.dsat[1][t] = -half * a[t] / (d * d);
                }
            }
        }
    }

    /// The effect coefficient `beta` of channel `j` (scaled KPI per unit of
    /// saturation), with `d beta / d effect-parameter` = beta and, for an ROI prior,
    /// `d beta / d theta_p = −beta · S'_p / S` (S: the window's saturation sum).
    fn beta(&self, j: usize, z: &[f64], tr: &Transformed) -> (f64, Vec<f64>) {
        let c = &self.channels[j];
        let e = z[c.effect_index()];
        let s: f64 = tr.sat[self.start..self.end].iter().sum();
        let s = s.max(1e-300);
        let beta = e.exp() * c.window_spend / (self.y_scale * s);
        let d = tr
            .dsat
            .iter()
            .map(|dp| -beta * dp[self.start..self.end].iter().sum::<f64>() / s)
            .collect();
        (beta, d)
    }

    /// The coefficient of channel `j` at `z` (scaled units).
    pub fn channel_beta(&self, j: usize, z: &[f64]) -> f64 {
        let mut tr = Transformed::default();
        self.transform(j, z, &self.x[j], &mut tr);
        self.beta(j, z, &tr).0
    }

    /// Log posterior density (up to a constant) and its gradient into `grad`.
    pub fn logp(&self, z: &[f64], grad: &mut [f64]) -> f64 {
        grad.iter_mut().for_each(|g| *g = 0.0);
        let pr = self.priors;
        let (s0, s1) = (self.start, self.end);
        let mut lp = 0.0;
        let mut mu = vec![z[self.intercept_at]; self.n];
        for (k, col) in self.base.iter().enumerate() {
            let g = z[self.intercept_at + 1 + k];
            for t in s0..s1 {
                mu[t] += g * col[t];
            }
        }
        let mut trs = Vec::with_capacity(self.channels.len());
        let mut betas = Vec::with_capacity(self.channels.len());
        for j in 0..self.channels.len() {
            let mut tr = Transformed::default();
            self.transform(j, z, &self.x[j], &mut tr);
            let (b, db) = self.beta(j, z, &tr);
            for t in s0..s1 {
                mu[t] += b * tr.sat[t];
            }
            trs.push(tr);
            betas.push((b, db));
        }
        let ls = z[self.sigma_at];
        let sigma = ls.exp();
        let inv_var = 1.0 / (sigma * sigma);
        let mut ss = 0.0;
        // e_t = d loglik / d mu_t.
        let mut e = vec![0.0; self.n];
        for t in s0..s1 {
            let r = self.y[t] - mu[t];
            ss += r * r;
            e[t] = r * inv_var;
        }
        let m = (s1 - s0) as f64;
        lp += -0.5 * ss * inv_var - m * ls;
        grad[self.sigma_at] += ss * inv_var - m;
        // Base coefficients.
        grad[self.intercept_at] += e[s0..s1].iter().sum::<f64>();
        for (k, col) in self.base.iter().enumerate() {
            grad[self.intercept_at + 1 + k] += (s0..s1).map(|t| e[t] * col[t]).sum::<f64>();
        }
        // d logp / d beta_j, and direct d logp / d theta_jp.
        let mut gbeta = vec![0.0; self.channels.len()];
        for (j, c) in self.channels.iter().enumerate() {
            let tr = &trs[j];
            let b = betas[j].0;
            gbeta[j] += (s0..s1).map(|t| e[t] * tr.sat[t]).sum::<f64>();
            for p in 0..c.n_theta() {
                grad[c.at + p] += b * (s0..s1).map(|t| e[t] * tr.dsat[p][t]).sum::<f64>();
            }
        }
        // Lift tests: predicted = y_scale · beta · (Σ sat(x) − Σ sat(x without test)).
        let mut trw = Transformed::default();
        for (j, without, lift, se) in &self.lifts {
            let j = *j;
            let c = &self.channels[j];
            self.transform(j, z, without, &mut trw);
            let full = &trs[j];
            let d: f64 = full.sat.iter().sum::<f64>() - trw.sat.iter().sum::<f64>();
            let b = betas[j].0;
            let pred = self.y_scale * b * d;
            let r = (pred - lift) / se;
            lp += -0.5 * r * r;
            let dpred = -r / se;
            gbeta[j] += dpred * self.y_scale * d;
            for p in 0..c.n_theta() {
                let dd: f64 = full.dsat[p].iter().sum::<f64>() - trw.dsat[p].iter().sum::<f64>();
                grad[c.at + p] += dpred * self.y_scale * b * dd;
            }
        }
        // Chain beta to the effect parameter and (ROI prior) to theta; priors.
        for (j, c) in self.channels.iter().enumerate() {
            let (b, db) = &betas[j];
            let ei = c.effect_index();
            grad[ei] += gbeta[j] * b;
            for p in 0..c.n_theta() {
                grad[c.at + p] += gbeta[j] * db[p];
            }
            match c.prior {
                ChannelPrior::Coefficient { sigma } => {
                    // HalfNormal(sigma) on beta, and the Jacobian of w ↦ beta
                    // (∂beta/∂w = beta): −beta²/2σ² + ln beta, which depends on theta
                    // through beta too.
                    let v = b * b / (sigma * sigma);
                    lp += -0.5 * v + b.ln();
                    grad[ei] += -v + 1.0;
                    for p in 0..c.n_theta() {
                        grad[c.at + p] += (1.0 - v) / b * db[p];
                    }
                }
                ChannelPrior::Roi { mu, sigma } => {
                    // log ROI ~ Normal(mu, sigma) (ROI log-normal, Meridian's prior).
                    let r = (z[ei] - mu) / sigma;
                    lp += -0.5 * r * r;
                    grad[ei] += -r / sigma;
                }
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
            for (p, (k, r)) in gammas.into_iter().enumerate() {
                let v = z[c.at + 1 + p];
                let ev = v.exp();
                lp += k * v - r * ev;
                grad[c.at + 1 + p] += k - r * ev;
            }
        }
        // Normal(0, sd) on the intercept and base coefficients.
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

/// `ln sigmoid(u)` without overflow.
fn ln_sigmoid(u: f64) -> f64 {
    if u >= 0.0 {
        -(-u).exp().ln_1p()
    } else {
        u - u.exp().ln_1p()
    }
}
