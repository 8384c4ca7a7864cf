//! The Bayesian MMM as a generative model, for simulation-based calibration (Talts et
//! al. 2018, `tests/bayes_sbc.rs`): draw parameters from the density's own priors,
//! simulate a KPI with the density's own forward model (the same adstock and
//! saturation code), and sample the posterior of that KPI with the same NUTS.
//!
//! **The scale.** [`fit`](super::fit) divides the KPI by its largest absolute value in
//! the window (`y_scale`), so its priors, stated on the scaled KPI, depend on the data
//! through that scale: they are not a generative model of the KPI in its own units. A
//! [`PriorModel`] fixes `y_scale = 1`: the KPI it simulates and fits *is* the scaled
//! KPI, and the priors are exactly those of the density (the module docs of
//! [`bayes`](super)). Spend and controls are scaled as in the fit (by their largest
//! values), which depends only on the inputs, not on the KPI.

use super::BayesSettings;
use super::ChannelPrior;
use super::density::{ChannelLayout, Density, GeoInput, Priors, Transformed};
use super::sampler;
use crate::model::{MmmData, Problem};
use crate::spec::{ModelSpec, SaturationKind};
use rand::Rng;
use rand_distr::{Beta, Distribution, Gamma, LogNormal, Normal};

/// The model of `data`'s spend, controls and events under `spec` with `y_scale = 1`.
#[derive(Debug, Clone)]
pub struct PriorModel {
    density: Density,
    names: Vec<String>,
}

/// Posterior draws of the named parameters: `chains[c][d][p]`, with the sampler's
/// divergences after tuning.
#[derive(Debug, Clone)]
pub struct PosteriorDraws {
    pub chains: Vec<Vec<Vec<f64>>>,
    pub divergences: usize,
}

impl PriorModel {
    /// The model; `data.kpi` is not used (only its length must match).
    pub fn new(
        data: &MmmData,
        spec: &ModelSpec,
        settings: &BayesSettings,
    ) -> Result<PriorModel, String> {
        let mut unit = data.clone();
        unit.kpi = vec![1.0; data.periods()];
        let problem = Problem::new(&unit, spec)?;
        let geo = [GeoInput {
            data: &unit,
            base: &problem.base,
            population: 1.0,
        }];
        let mut density = Density::new(&geo, spec, settings, false)?;
        density.y_scale = 1.0;
        let mut names = Vec::new();
        for (c, l) in spec.channels.iter().zip(&density.channels) {
            names.extend(channel_names(&c.name, l.saturation));
        }
        names.push("intercept".into());
        names.extend(problem.base.names.iter().cloned());
        names.push("sigma".into());
        Ok(PriorModel { density, names })
    }

    /// The parameters' names, in the order of [`draw`](Self::draw)'s vector: per channel
    /// its adstock rate, saturation parameters, coefficient (scaled KPI per unit of
    /// saturation) and ROI over the window (derived: `coef · Σ sat / spend`); the
    /// intercept, one coefficient per base column, sigma.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Parameters drawn from the density's priors (`Beta` on rates, `Gamma` on the
    /// saturation's, `HalfNormal` on coefficients or `LogNormal` on ROI, `Normal` on
    /// the intercept and base coefficients, `HalfNormal` on sigma; hyperparameters
    /// read from the density, so they cannot drift apart).
    pub fn draw(&self, rng: &mut impl Rng) -> Vec<f64> {
        let d = &self.density;
        let pr = d.priors;
        let mut z = vec![0.0; d.dim];
        for c in &d.channels {
            draw_curve(c, &pr, &mut z, rng);
        }
        for (j, c) in d.channels.iter().enumerate() {
            z[c.effect_index()] = match c.prior {
                ChannelPrior::Coefficient { sigma } => {
                    let beta = Normal::new(0.0, sigma)
                        .expect("positive prior")
                        .sample(rng)
                        .abs();
                    let mut tr = Transformed::default();
                    d.transform(j, &z, &d.x[0][j], &mut tr);
                    let s: f64 = tr.sat[d.start..d.end].iter().sum();
                    (beta * d.y_scale * s / c.window_spend).ln()
                }
                ChannelPrior::Roi { mu, sigma } => LogNormal::new(mu, sigma)
                    .expect("positive prior")
                    .sample(rng)
                    .ln(),
            };
        }
        let base = Normal::new(0.0, pr.base_sd).expect("positive prior");
        for v in &mut z[d.intercept_at..d.sigma_at] {
            *v = base.sample(rng);
        }
        z[d.sigma_at] = Normal::new(0.0, pr.sigma_sd)
            .expect("positive prior")
            .sample(rng)
            .abs()
            .ln();
        self.natural(&z)
    }

    /// The unconstrained vector the sampler moves in → the named parameters.
    fn natural(&self, z: &[f64]) -> Vec<f64> {
        let d = &self.density;
        let mut out = Vec::with_capacity(self.names.len());
        for (j, c) in d.channels.iter().enumerate() {
            out.extend(d.theta(j, z));
            out.push(d.channel_beta(j, z).0);
            out.push(z[c.effect_index()].exp());
        }
        out.extend_from_slice(&z[d.intercept_at..d.sigma_at]);
        out.push(z[d.sigma_at].exp());
        out
    }

    /// The named parameters → the unconstrained vector (the ROI entries are ignored;
    /// the coefficient decides the effect).
    fn unconstrained(&self, params: &[f64]) -> Vec<f64> {
        let d = &self.density;
        let mut z = vec![0.0; d.dim];
        let mut i = 0;
        let mut coefs = Vec::new();
        for c in &d.channels {
            let rate = params[i];
            z[c.at] = (rate / (1.0 - rate)).ln();
            for p in 0..c.n_sat {
                z[c.at + 1 + p] = params[i + 1 + p].ln();
            }
            coefs.push(params[i + c.n_theta()]);
            i += c.n_theta() + 2;
        }
        for (j, c) in d.channels.iter().enumerate() {
            let mut tr = Transformed::default();
            d.transform(j, &z, &d.x[0][j], &mut tr);
            let s: f64 = tr.sat[d.start..d.end].iter().sum();
            z[c.effect_index()] = (coefs[j] * d.y_scale * s / c.window_spend).ln();
        }
        let rest = d.sigma_at - d.intercept_at;
        z[d.intercept_at..d.sigma_at].copy_from_slice(&params[i..i + rest]);
        z[d.sigma_at] = params[i + rest].ln();
        z
    }

    /// A KPI (every period, scaled units) from the likelihood at `params`:
    /// `Normal(intercept + Σ base + Σ coef · sat(adstock(spend)), sigma)`, with the
    /// density's own transforms.
    pub fn simulate(&self, params: &[f64], rng: &mut impl Rng) -> Vec<f64> {
        let d = &self.density;
        let z = self.unconstrained(params);
        let mut mu = vec![z[d.intercept_at]; d.n];
        for (k, col) in d.base[0].iter().enumerate() {
            for t in 0..d.n {
                mu[t] += z[d.base_at + k] * col[t];
            }
        }
        let mut tr = Transformed::default();
        for j in 0..d.channels.len() {
            d.transform(j, &z, &d.x[0][j], &mut tr);
            let b = d.channel_beta(j, &z).0;
            for t in 0..d.n {
                mu[t] += b * tr.sat[t];
            }
        }
        let noise = Normal::new(0.0, z[d.sigma_at].exp()).expect("positive sigma");
        mu.into_iter().map(|m| m + noise.sample(rng)).collect()
    }

    /// NUTS on `kpi` (scaled units, as [`simulate`](Self::simulate) returns) with
    /// `settings`' chains, draws, tuning and seed: the named parameters per draw.
    pub fn posterior(
        &self,
        kpi: &[f64],
        settings: &BayesSettings,
    ) -> Result<PosteriorDraws, String> {
        let mut d = self.density.clone();
        if kpi.len() != d.n {
            return Err(format!("{} KPI values for {} periods", kpi.len(), d.n));
        }
        d.y = vec![kpi.to_vec()];
        let run = sampler::sample(&d, settings, &|_, _| {})?;
        let me = PriorModel {
            density: d,
            names: Vec::new(),
        };
        Ok(PosteriorDraws {
            divergences: run.chains.iter().map(|c| c.divergences).sum(),
            chains: run
                .chains
                .iter()
                .map(|c| c.draws.iter().map(|z| me.natural(z)).collect())
                .collect(),
        })
    }
}

/// A channel's named parameters: adstock rate, saturation parameters, coefficient, ROI.
fn channel_names(name: &str, saturation: SaturationKind) -> Vec<String> {
    let mut names = vec![format!("{name}.rate")];
    names.extend(match saturation {
        SaturationKind::Logistic => vec![format!("{name}.lambda")],
        SaturationKind::Hill => vec![format!("{name}.half"), format!("{name}.slope")],
        SaturationKind::MichaelisMenten => vec![format!("{name}.half")],
    });
    names.push(format!("{name}.coef"));
    names.push(format!("{name}.roi"));
    names
}

/// A channel's adstock rate (`Beta`) and saturation parameters (`Gamma`) drawn from
/// their priors, into the unconstrained vector `z`.
fn draw_curve(c: &ChannelLayout, pr: &Priors, z: &mut [f64], rng: &mut impl Rng) {
    let rate: f64 = Beta::new(pr.rate.0, pr.rate.1)
        .expect("positive prior")
        .sample(rng);
    z[c.at] = (rate / (1.0 - rate)).ln();
    let sats = match c.saturation {
        SaturationKind::Logistic => vec![pr.lambda],
        SaturationKind::Hill => vec![pr.half, pr.slope],
        SaturationKind::MichaelisMenten => vec![pr.half],
    };
    for (p, (k, r)) in sats.into_iter().enumerate() {
        z[c.at + 1 + p] = Gamma::new(k, 1.0 / r)
            .expect("positive prior")
            .sample(rng)
            .ln();
    }
}

/// The geo hierarchy as a generative model, for simulation-based calibration of
/// [`fit_geo`](super::fit_geo)'s density: the same priors (including the geo spreads,
/// the zero-sum geo multipliers and time effects), the same forward model (media
/// centred per geo as in the likelihood) and the same sampler, with `y_scale = 1`.
#[derive(Debug, Clone)]
pub struct GeoPriorModel {
    density: Density,
    names: Vec<String>,
}

impl GeoPriorModel {
    /// The model of `panel`'s spend, controls and populations under `spec` (the KPI is
    /// not used); time effects and the parametrisation as `settings` say.
    pub fn new(
        panel: &super::GeoPanel,
        spec: &ModelSpec,
        settings: &BayesSettings,
    ) -> Result<GeoPriorModel, String> {
        panel.check(spec)?;
        let mut unit = panel.clone();
        for t in &mut unit.tables {
            t.kpi = vec![1.0; t.periods()];
        }
        let bases = super::geo_bases(&unit, spec);
        let mut density = Density::new(
            &super::geo_inputs(&unit, &bases),
            spec,
            settings,
            settings.time_effects,
        )?;
        density.y_scale = 1.0;
        let mut names = Vec::new();
        for (c, l) in spec.channels.iter().zip(&density.channels) {
            names.extend(channel_names(&c.name, l.saturation));
            names.push(format!("{}.spread", c.name));
            names.push(format!("{}.mult[{}]", c.name, panel.names[0]));
        }
        names.push(format!("intercept[{}]", panel.names[0]));
        names.extend(bases[0].names.iter().cloned());
        names.push("sigma".into());
        Ok(GeoPriorModel { density, names })
    }

    /// The names of [`draw`](Self::draw)'s quantities: per channel its adstock rate,
    /// saturation parameters, coefficient level, ROI, spread across geos and the first
    /// geo's multiplier; the first geo's intercept, the base coefficients, sigma.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// A point drawn from the priors (the sampler's unconstrained vector) and its named
    /// quantities.
    pub fn draw(&self, rng: &mut impl Rng) -> (Vec<f64>, Vec<f64>) {
        let d = &self.density;
        let pr = d.priors;
        let standard = Normal::new(0.0, 1.0).expect("unit normal");
        let mut z = vec![0.0; d.dim];
        for c in &d.channels {
            draw_curve(c, &pr, &mut z, rng);
            let at = c.spread_at.expect("a geo model");
            let eta = (pr.spread_sd * standard.sample(rng)).abs();
            z[at] = eta.ln();
            let sd = if d.centered { eta } else { 1.0 };
            for i in 0..d.geos() - 1 {
                z[at + 1 + i] = sd * standard.sample(rng);
            }
        }
        for (j, c) in d.channels.iter().enumerate() {
            z[c.effect_index()] = match c.prior {
                ChannelPrior::Coefficient { sigma } => {
                    let beta = (sigma * standard.sample(rng)).abs();
                    // beta is proportional to e^w: the w that gives this beta.
                    z[c.effect_index()] = 0.0;
                    (beta / d.channel_beta(j, &z).0).ln()
                }
                ChannelPrior::Roi { mu, sigma } => mu + sigma * standard.sample(rng),
            };
        }
        for v in &mut z[d.intercept_at..d.sigma_at] {
            *v = pr.base_sd * standard.sample(rng);
        }
        z[d.sigma_at] = (pr.sigma_sd * standard.sample(rng)).abs().ln();
        let named = self.named(&z);
        (z, named)
    }

    fn named(&self, z: &[f64]) -> Vec<f64> {
        let d = &self.density;
        let mut out = Vec::with_capacity(self.names.len());
        for (j, c) in d.channels.iter().enumerate() {
            out.extend(d.theta(j, z));
            let (beta, mult) = d.channel_beta(j, z);
            out.push(beta);
            out.push(z[c.effect_index()].exp());
            out.push(z[c.spread_at.expect("a geo model")].exp());
            out.push(mult[0]);
        }
        out.push(z[d.intercept_at]);
        out.extend_from_slice(&z[d.base_at..d.base_at + d.base_div.len()]);
        out.push(z[d.sigma_at].exp());
        out
    }

    /// Each geo's KPI (scaled, per capita) from the likelihood at `z`.
    pub fn simulate(&self, z: &[f64], rng: &mut impl Rng) -> Vec<Vec<f64>> {
        let d = &self.density;
        let time = d.time_effects(z);
        let noise = Normal::new(0.0, z[d.sigma_at].exp()).expect("positive sigma");
        let media: Vec<(Vec<Transformed>, f64, Vec<f64>)> = (0..d.channels.len())
            .map(|j| {
                let (beta, mult) = d.channel_beta(j, z);
                (d.transform_geos(j, z), beta, mult)
            })
            .collect();
        (0..d.geos())
            .map(|g| {
                (0..d.n)
                    .map(|t| {
                        let mut mu = z[d.intercept_at + g] + time[t];
                        for (k, col) in d.base[g].iter().enumerate() {
                            mu += z[d.base_at + k] * col[t];
                        }
                        for (trs, beta, mult) in &media {
                            let sat = &trs[g].sat;
                            mu += beta * mult[g] * (sat[t] - d.media_offset(sat));
                        }
                        mu + noise.sample(rng)
                    })
                    .collect()
            })
            .collect()
    }

    /// NUTS on `kpi` (per geo, as [`simulate`](Self::simulate) returns): the named
    /// quantities per draw.
    pub fn posterior(
        &self,
        kpi: &[Vec<f64>],
        settings: &BayesSettings,
    ) -> Result<PosteriorDraws, String> {
        let mut d = self.density.clone();
        if kpi.len() != d.geos() || kpi.iter().any(|k| k.len() != d.n) {
            return Err("one KPI series per geo, one value per period".into());
        }
        d.y = kpi.to_vec();
        let run = sampler::sample(&d, settings, &|_, _| {})?;
        let me = GeoPriorModel {
            density: d,
            names: Vec::new(),
        };
        Ok(PosteriorDraws {
            divergences: run.chains.iter().map(|c| c.divergences).sum(),
            chains: run
                .chains
                .iter()
                .map(|c| c.draws.iter().map(|z| me.named(z)).collect())
                .collect(),
        })
    }
}
