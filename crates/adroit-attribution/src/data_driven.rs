//! Data-driven attribution: fit how touches change the chance to convert, then credit
//! each conversion by the Shapley values of that fitted chance.
//!
//! Google's data-driven attribution takes the same two steps (a conversion model over
//! the journey's touches, then Shapley values of its predictions); this module does it
//! with a model whose Shapley values are exact and cheap, and whose baseline keeps
//! conversions that would have happened without any touch (organic ones) away from the
//! channels. The rule, Markov and path-Shapley models cannot do that: they hand every
//! converting journey's conversion to the channels on its path.
//!
//! **The conversion model.** A journey with `n_c` touches of channel `c` converts with
//! probability
//!
//! ```text
//! P(n) = 1 − exp(−(α + Σ_c β_c n_c)) = 1 − (1 − p₀) Π_c (1 − e_c)^{n_c}
//! ```
//!
//! a noisy-OR: the baseline `p₀ = 1 − e^{−α}` and every touch are independent chances to
//! convert (`e_c = 1 − e^{−β_c}` per touch of `c`), so repeated touches add with
//! diminishing returns and order does not matter. `α, β ≥ 0` are fitted by maximum
//! likelihood over converting and null journeys. The negative log-likelihood
//! `Σ_j −y_j log(1 − e^{−η_j}) + m_j η_j` (`η_j = α + β·n_j`, `y_j` conversions and `m_j`
//! nulls of path `j`) is convex in `(α, β)`, so projected Newton steps with a
//! backtracking line search find the global optimum; standard errors come from the
//! observed information at it.
//!
//! **The credit.** For one journey, the game is `v(S) = P(n restricted to S)` over the
//! channels it touched, with `v(∅) = p₀`. Each channel's Shapley value `φ_c` is its
//! expected addition to the conversion chance; `Σ φ_c = P(n) − p₀`. A converting journey
//! gives `φ_c / P(n)` of its conversion and value to `c` and `p₀ / P(n)` to the
//! baseline. Because `E[y / P] = 1`, summed over journeys this estimates `Σ φ_c`, the
//! conversions the channel adds; [`DataDrivenChannel::incremental_conversions`] is that
//! expectation computed directly over every journey, converting or not.
//!
//! **Exact Shapley values of a noisy-OR** in `O(k²)` per channel of a journey touching
//! `k` channels: with `A = e^{−α}` and `s_j = e^{−β_j n_j}`, `v(S) = 1 − A Π_{j∈S} s_j`,
//! so the marginal of `c` on `S` is `A (1 − s_c) Π_{j∈S} s_j` and
//! `φ_c = A (1 − s_c) Σ_m w(m) e_m(s_{−c})`, where `e_m` is the elementary symmetric
//! polynomial of degree `m` of the other channels' `s` and `w(m) = m! (k − m − 1)! / k!`.
//!
//! ```
//! use adroit_attribution::{data_driven, DataDrivenOptions, Paths};
//! // Search converts 30 % of the journeys it touches, display 10 %, like no touch at all
//! // (the journeys touched by display alone convert at the organic rate).
//! let paths = Paths::parse(
//!     "path;total_conversions;total_conversion_value;total_null\n\
//!      search;30;3000;70\n\
//!      display;10;1000;90\n\
//!      search > display;30;3000;70\n",
//! )
//! .unwrap();
//! let fit = data_driven(&paths, &DataDrivenOptions::default()).unwrap();
//! let display = fit.channel("display").unwrap();
//! assert!(display.effect_per_touch < 1e-6);
//! assert!((fit.baseline_rate - 0.1).abs() < 1e-6);
//! ```

use crate::{AttributionError, ChannelCredit, ChannelId, Credits, Paths};
use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{Mat, Side};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The most channels the model fits (its Hessian is dense: `(channels + 1)²`).
pub const MAX_FITTED_CHANNELS: usize = 2_000;

/// Settings of [`data_driven()`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataDrivenOptions {
    /// Newton iterations at most (default 200).
    pub max_iterations: usize,
    /// Stop when every projected gradient entry is below this times the journeys
    /// (default 1e-10).
    pub tolerance: f64,
}

impl Default for DataDrivenOptions {
    fn default() -> DataDrivenOptions {
        DataDrivenOptions {
            max_iterations: 200,
            tolerance: 1e-10,
        }
    }
}

/// The fitted conversion model and the credit it gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataDrivenResult {
    /// `p₀`: the chance a journey converts without any touch.
    pub baseline_rate: f64,
    pub baseline_rate_standard_error: Option<f64>,
    /// Converted journeys' conversions and value that the fitted baseline explains.
    pub baseline_conversions: f64,
    pub baseline_value: f64,
    /// Expected conversions without any touch over all journeys (`Σ p₀`).
    pub baseline_expected_conversions: f64,
    pub conversions: f64,
    pub value: f64,
    /// Σ over journeys of the fitted P(convert): compare with `conversions`.
    pub predicted_conversions: f64,
    pub log_likelihood: f64,
    /// Distinct touch-count vectors the model was fitted on.
    pub distinct_journeys: usize,
    pub iterations: usize,
    /// One entry per channel of the paths, in their order.
    pub channels: Vec<DataDrivenChannel>,
}

/// One channel's fitted effect and credit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataDrivenChannel {
    pub channel: String,
    /// `e_c`: the chance one touch converts a journey that would not otherwise convert.
    pub effect_per_touch: f64,
    /// From the observed information (absent when the effect sits at its bound 0).
    pub effect_standard_error: Option<f64>,
    /// Credited conversions and value of converted journeys.
    pub conversions: f64,
    pub value: f64,
    /// Σ over all journeys of the channel's Shapley value of P(convert): the
    /// conversions the model says the channel adds.
    pub incremental_conversions: f64,
}

impl DataDrivenResult {
    /// The entry of the channel named `channel`.
    pub fn channel(&self, channel: &str) -> Option<&DataDrivenChannel> {
        self.channels.iter().find(|c| c.channel == channel)
    }

    /// The attribution as [`Credits`] (model `data_driven`): the channels' credit, with
    /// the baseline's share of the conversions reported beside it.
    pub fn credits(&self) -> Credits {
        Credits {
            model: "data_driven".into(),
            channels: self
                .channels
                .iter()
                .map(|c| ChannelCredit {
                    channel: c.channel.clone(),
                    conversions: c.conversions,
                    value: c.value,
                })
                .collect(),
            baseline: Some(crate::Baseline {
                conversions: self.baseline_conversions,
                value: self.baseline_value,
            }),
        }
    }
}

/// Journeys with the same touch counts, merged: the model sees counts only.
struct Groups {
    /// Group `g`'s touches are `touches[offsets[g] .. offsets[g + 1]]`, (channel, count).
    offsets: Vec<usize>,
    touches: Vec<(ChannelId, f64)>,
    conversions: Vec<f64>,
    value: Vec<f64>,
    nulls: Vec<f64>,
}

impl Groups {
    fn build(paths: &Paths) -> Groups {
        let mut index: HashMap<Vec<(ChannelId, u32)>, usize> = HashMap::new();
        let mut keys: Vec<Vec<(ChannelId, u32)>> = Vec::new();
        let (mut conversions, mut value, mut nulls) = (Vec::new(), Vec::new(), Vec::new());
        let mut sorted: Vec<ChannelId> = Vec::new();
        for journey in &paths.journeys {
            if journey.conversions + journey.nulls <= 0.0 {
                continue;
            }
            sorted.clear();
            sorted.extend_from_slice(&journey.path);
            sorted.sort_unstable();
            let mut key: Vec<(ChannelId, u32)> = Vec::new();
            for &c in &sorted {
                match key.last_mut() {
                    Some((last, n)) if *last == c => *n += 1,
                    _ => key.push((c, 1)),
                }
            }
            let g = *index.entry(key.clone()).or_insert_with(|| {
                keys.push(key);
                conversions.push(0.0);
                value.push(0.0);
                nulls.push(0.0);
                keys.len() - 1
            });
            conversions[g] += journey.conversions;
            value[g] += journey.value;
            nulls[g] += journey.nulls;
        }
        let mut offsets = vec![0];
        let mut touches = Vec::new();
        for key in keys {
            touches.extend(key.into_iter().map(|(c, n)| (c, f64::from(n))));
            offsets.push(touches.len());
        }
        Groups {
            offsets,
            touches,
            conversions,
            value,
            nulls,
        }
    }

    fn len(&self) -> usize {
        self.conversions.len()
    }

    fn touches(&self, g: usize) -> &[(ChannelId, f64)] {
        &self.touches[self.offsets[g]..self.offsets[g + 1]]
    }

    /// `η = α + β·n` of group `g` (parameter 0 is α, parameter `c + 1` is β_c).
    fn eta(&self, g: usize, theta: &[f64]) -> f64 {
        theta[0]
            + self
                .touches(g)
                .iter()
                .map(|&(c, n)| theta[c as usize + 1] * n)
                .sum::<f64>()
    }

    /// The negative log-likelihood (infinite where a converting group has η = 0).
    fn nll(&self, theta: &[f64]) -> f64 {
        (0..self.len())
            .map(|g| {
                let eta = self.eta(g, theta);
                let y = self.conversions[g];
                let converts = if y > 0.0 {
                    // log(1 − e^{−η}) = log(−expm1(−η)).
                    -y * (-(-eta).exp_m1()).ln()
                } else {
                    0.0
                };
                converts + self.nulls[g] * eta
            })
            .sum()
    }
}

/// Fits the conversion model on `paths` and credits their conversions (see the module
/// doc). Needs both converting and null journeys: conversion rates cannot be learned
/// from converters alone.
pub fn data_driven(
    paths: &Paths,
    options: &DataDrivenOptions,
) -> Result<DataDrivenResult, AttributionError> {
    paths.check()?;
    let channels = paths.channels.len();
    if channels > MAX_FITTED_CHANNELS {
        return Err(AttributionError::TooManyChannels {
            count: channels,
            max: MAX_FITTED_CHANNELS,
        });
    }
    if !(options.tolerance.is_finite() && options.tolerance > 0.0) || options.max_iterations == 0 {
        return Err(AttributionError::Invalid(
            "data-driven attribution needs a positive tolerance and at least one iteration".into(),
        ));
    }
    let groups = Groups::build(paths);
    let conversions: f64 = groups.conversions.iter().sum();
    let nulls: f64 = groups.nulls.iter().sum();
    if conversions > 0.0 && nulls <= 0.0 {
        return Err(AttributionError::Invalid(
            "data-driven attribution learns conversion rates, so it needs journeys that did not convert (nulls); these paths have none"
                .into(),
        ));
    }
    let (theta, iterations) = if conversions > 0.0 {
        fit(&groups, channels, options)?
    } else {
        (vec![0.0; channels + 1], 0)
    };
    let standard_errors = standard_errors(&groups, &theta);
    Ok(credit(paths, &groups, &theta, &standard_errors, iterations))
}

/// Projected Newton on the convex negative log-likelihood with `θ ≥ 0`.
fn fit(
    groups: &Groups,
    channels: usize,
    options: &DataDrivenOptions,
) -> Result<(Vec<f64>, usize), AttributionError> {
    let p = channels + 1;
    let journeys: f64 = groups.conversions.iter().sum::<f64>() + groups.nulls.iter().sum::<f64>();
    let rate = groups.conversions.iter().sum::<f64>() / journeys;
    // Start with half the conversion hazard in the baseline and half spread over touches.
    let touches: f64 = (0..groups.len())
        .map(|g| {
            (groups.conversions[g] + groups.nulls[g])
                * groups.touches(g).iter().map(|t| t.1).sum::<f64>()
        })
        .sum::<f64>()
        / journeys;
    let hazard = -(1.0 - rate.min(0.999)).ln();
    let mut theta = vec![0.5 * hazard / touches.max(1.0); p];
    theta[0] = 0.5 * hazard;
    let mut value = groups.nll(&theta);
    let mut gradient = vec![0.0; p];
    let mut hessian = Mat::<f64>::zeros(p, p);
    let limit = options.tolerance * journeys;
    for iteration in 1..=options.max_iterations {
        derivatives(groups, &theta, &mut gradient, &mut hessian);
        // Free parameters: off the bound, or pushed away from it by the gradient.
        let free: Vec<usize> = (0..p)
            .filter(|&i| theta[i] > 0.0 || gradient[i] < 0.0)
            .collect();
        let projected = free.iter().map(|&i| gradient[i].abs()).fold(0.0, f64::max);
        if projected <= limit {
            return Ok((theta, iteration - 1));
        }
        let step = newton_step(&hessian, &gradient, &free);
        let slope: f64 = free.iter().zip(&step).map(|(&i, d)| gradient[i] * d).sum();
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..60 {
            let mut trial = theta.clone();
            for (&i, d) in free.iter().zip(&step) {
                trial[i] = (theta[i] + t * d).max(0.0);
            }
            let trial_value = groups.nll(&trial);
            if trial_value.is_finite() && trial_value <= value + 1e-4 * t * slope.min(0.0) {
                let gain = value - trial_value;
                theta = trial;
                value = trial_value;
                moved = true;
                if gain.abs() <= 1e-15 * value.abs().max(1.0) {
                    return Ok((theta, iteration));
                }
                break;
            }
            t *= 0.5;
        }
        if !moved {
            // No descent along the Newton direction: the optimum within float precision.
            return Ok((theta, iteration));
        }
    }
    Err(AttributionError::Invalid(format!(
        "the data-driven conversion model did not converge in {} Newton iterations",
        options.max_iterations
    )))
}

/// Gradient and Hessian of the negative log-likelihood at `theta`.
fn derivatives(groups: &Groups, theta: &[f64], gradient: &mut [f64], hessian: &mut Mat<f64>) {
    gradient.iter_mut().for_each(|g| *g = 0.0);
    hessian.fill(0.0);
    for g in 0..groups.len() {
        let eta = groups.eta(g, theta);
        let (y, m) = (groups.conversions[g], groups.nulls[g]);
        // d/dη = m − y / (e^η − 1); d²/dη² = y e^η / (e^η − 1)².
        let em1 = eta.exp_m1();
        let (d1, d2) = if y > 0.0 {
            (m - y / em1, y * (em1 + 1.0) / (em1 * em1))
        } else {
            (m, 0.0)
        };
        let x: Vec<(usize, f64)> = std::iter::once((0, 1.0))
            .chain(groups.touches(g).iter().map(|&(c, n)| (c as usize + 1, n)))
            .collect();
        for &(i, xi) in &x {
            gradient[i] += d1 * xi;
            if d2 > 0.0 {
                for &(j, xj) in &x {
                    hessian[(i, j)] += d2 * xi * xj;
                }
            }
        }
    }
}

/// The Newton direction on the free parameters, with a ridge that grows until the
/// reduced Hessian factors (channels never seen converting give zero rows).
fn newton_step(hessian: &Mat<f64>, gradient: &[f64], free: &[usize]) -> Vec<f64> {
    let k = free.len();
    let scale = (0..k)
        .map(|a| hessian[(free[a], free[a])])
        .fold(0.0, f64::max)
        .max(1.0);
    let b = Mat::from_fn(k, 1, |a, _| -gradient[free[a]]);
    let mut ridge = 1e-12 * scale;
    loop {
        let h = Mat::from_fn(k, k, |a, c| {
            hessian[(free[a], free[c])] + if a == c { ridge } else { 0.0 }
        });
        if let Ok(llt) = h.llt(Side::Lower) {
            let d = llt.solve(&b);
            let step: Vec<f64> = (0..k).map(|a| d[(a, 0)]).collect();
            if step.iter().all(|v| v.is_finite()) {
                return step;
            }
        }
        ridge *= 100.0;
        if ridge > 1e12 * scale {
            // Gradient descent as the last resort.
            return (0..k).map(|a| -gradient[free[a]] / scale).collect();
        }
    }
}

/// Standard errors of the parameters off their bound, from the inverse observed
/// information restricted to them.
fn standard_errors(groups: &Groups, theta: &[f64]) -> Vec<Option<f64>> {
    let p = theta.len();
    let mut gradient = vec![0.0; p];
    let mut hessian = Mat::<f64>::zeros(p, p);
    derivatives(groups, theta, &mut gradient, &mut hessian);
    let free: Vec<usize> = (0..p).filter(|&i| theta[i] > 0.0).collect();
    let mut out = vec![None; p];
    let h = Mat::from_fn(free.len(), free.len(), |a, b| hessian[(free[a], free[b])]);
    if let Ok(llt) = h.llt(Side::Lower) {
        let inverse = llt.inverse();
        for (a, &i) in free.iter().enumerate() {
            let variance = inverse[(a, a)];
            if variance.is_finite() && variance >= 0.0 {
                out[i] = Some(variance.sqrt());
            }
        }
    }
    out
}

/// Shapley values of the noisy-OR game of one journey (see the module doc): `s[j]` is
/// `e^{−β_j n_j}` of each touched channel, `a = e^{−α}`; fills `phi` with one value per
/// entry of `s`.
fn noisy_or_shapley(a: f64, s: &[f64], phi: &mut Vec<f64>) {
    let k = s.len();
    phi.clear();
    // w(m) = m! (k − m − 1)! / k! = 1 / (k · C(k − 1, m)).
    let mut weights = Vec::with_capacity(k);
    let mut binomial = 1.0;
    for m in 0..k {
        weights.push(1.0 / (k as f64 * binomial));
        binomial = binomial * (k - 1 - m) as f64 / (m + 1) as f64;
    }
    let mut e = vec![0.0; k];
    for c in 0..k {
        // Elementary symmetric polynomials of the other channels' s.
        e.iter_mut().for_each(|v| *v = 0.0);
        e[0] = 1.0;
        let mut degree = 0;
        for (j, &sj) in s.iter().enumerate() {
            if j == c {
                continue;
            }
            degree += 1;
            for m in (1..=degree).rev() {
                e[m] += sj * e[m - 1];
            }
        }
        let sum: f64 = e.iter().zip(&weights).map(|(e, w)| e * w).sum();
        phi.push(a * (1.0 - s[c]) * sum);
    }
}

/// The credit of converted journeys and the expected increments, by group.
fn credit(
    paths: &Paths,
    groups: &Groups,
    theta: &[f64],
    standard_errors: &[Option<f64>],
    iterations: usize,
) -> DataDrivenResult {
    let channels = paths.channels.len();
    let a = (-theta[0]).exp();
    let p0 = -(-theta[0]).exp_m1();
    let mut conversions = vec![0.0; channels];
    let mut value = vec![0.0; channels];
    let mut incremental = vec![0.0; channels];
    let (mut baseline_conversions, mut baseline_value, mut baseline_expected) = (0.0, 0.0, 0.0);
    let (mut predicted, mut log_likelihood) = (0.0, 0.0);
    let (mut s, mut phi) = (Vec::new(), Vec::new());
    for g in 0..groups.len() {
        let touches = groups.touches(g);
        s.clear();
        s.extend(
            touches
                .iter()
                .map(|&(c, n)| (-theta[c as usize + 1] * n).exp()),
        );
        noisy_or_shapley(a, &s, &mut phi);
        let probability = -(-groups.eta(g, theta)).exp_m1();
        let (y, v, m) = (groups.conversions[g], groups.value[g], groups.nulls[g]);
        let journeys = y + m;
        predicted += journeys * probability;
        baseline_expected += journeys * p0;
        if y > 0.0 {
            log_likelihood += y * probability.ln();
        }
        if m > 0.0 {
            log_likelihood += m * (1.0 - probability).ln();
        }
        for (&(c, _), &f) in touches.iter().zip(&phi) {
            incremental[c as usize] += journeys * f;
        }
        if y > 0.0 {
            if probability > 0.0 {
                for (&(c, _), &f) in touches.iter().zip(&phi) {
                    let share = f / probability;
                    conversions[c as usize] += y * share;
                    value[c as usize] += v * share;
                }
                let share = p0 / probability;
                baseline_conversions += y * share;
                baseline_value += v * share;
            } else {
                // Unreachable at the optimum (a converting group has η > 0); kept so
                // that no conversion is ever lost.
                baseline_conversions += y;
                baseline_value += v;
            }
        }
    }
    let se_of = |i: usize| standard_errors[i].map(|se| se * (-theta[i]).exp());
    DataDrivenResult {
        baseline_rate: p0,
        baseline_rate_standard_error: se_of(0),
        baseline_conversions,
        baseline_value,
        baseline_expected_conversions: baseline_expected,
        conversions: groups.conversions.iter().sum(),
        value: groups.value.iter().sum(),
        predicted_conversions: predicted,
        log_likelihood,
        distinct_journeys: groups.len(),
        iterations,
        channels: paths
            .channels
            .iter()
            .enumerate()
            .map(|(c, name)| DataDrivenChannel {
                channel: name.clone(),
                effect_per_touch: -(-theta[c + 1]).exp_m1(),
                effect_standard_error: se_of(c + 1),
                conversions: conversions[c],
                value: value[c],
                incremental_conversions: incremental[c],
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Shapley value by subset enumeration, for the closed form to be checked against.
    fn brute_force(a: f64, s: &[f64]) -> Vec<f64> {
        let k = s.len();
        let v = |mask: usize| {
            1.0 - a
                * (0..k)
                    .filter(|j| mask >> j & 1 == 1)
                    .map(|j| s[j])
                    .product::<f64>()
        };
        let factorial = |n: usize| (1..=n).map(|x| x as f64).product::<f64>();
        (0..k)
            .map(|c| {
                (0..1usize << k)
                    .filter(|mask| mask >> c & 1 == 0)
                    .map(|mask| {
                        let size = mask.count_ones() as usize;
                        factorial(size) * factorial(k - size - 1) / factorial(k)
                            * (v(mask | 1 << c) - v(mask))
                    })
                    .sum()
            })
            .collect()
    }

    #[test]
    fn noisy_or_shapley_matches_enumeration_and_is_efficient() {
        let a = 0.97;
        for s in [
            vec![0.5],
            vec![0.9, 0.6],
            vec![0.99, 0.7, 0.8, 0.95, 0.5],
            vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
        ] {
            let mut phi = Vec::new();
            noisy_or_shapley(a, &s, &mut phi);
            let expected = brute_force(a, &s);
            for (x, y) in phi.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-12, "{phi:?} vs {expected:?}");
            }
            // Efficiency: Σ φ = v(all) − v(∅).
            let all = 1.0 - a * s.iter().product::<f64>();
            let total: f64 = phi.iter().sum();
            assert!((total - (all - (1.0 - a))).abs() < 1e-12);
        }
    }

    /// Journeys drawn from known parameters are fitted back within sampling error, and
    /// the credit of every conversion is handed out exactly.
    #[test]
    fn recovers_the_generating_parameters() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (p0, effects) = (0.02, [0.05, 0.01, 0.0]);
        let names = ["a", "b", "c"];
        let mut text = String::from("path;total_conversions;total_conversion_value;total_null\n");
        for _ in 0..200_000 {
            let mut path = Vec::new();
            let mut stay = 1.0 - p0;
            for (c, e) in effects.iter().enumerate() {
                for _ in 0..rng.random_range(0..3) {
                    path.push(names[c]);
                    stay *= 1.0 - e;
                }
            }
            if path.is_empty() {
                continue;
            }
            let converts = rng.random_bool(1.0 - stay);
            text.push_str(&format!(
                "{};{};{};{}\n",
                path.join(" > "),
                u8::from(converts),
                if converts { 10 } else { 0 },
                u8::from(!converts)
            ));
        }
        let paths = Paths::parse(&text).unwrap();
        let fit = data_driven(&paths, &DataDrivenOptions::default()).unwrap();
        // Three standard errors (≈ 0.003 for p0, 0.001–0.002 for the effects).
        let se = fit.baseline_rate_standard_error.unwrap();
        assert!((fit.baseline_rate - p0).abs() < 3.0 * se, "{fit:#?}");
        for (name, e) in names.iter().zip(effects) {
            let got = fit.channel(name).unwrap();
            let se = got.effect_standard_error.unwrap_or(0.002);
            assert!(
                (got.effect_per_touch - e).abs() < 3.0 * se,
                "{got:?} vs {e}"
            );
        }
        let credits = fit.credits();
        let handed = credits.total_conversions() + fit.baseline_conversions;
        assert!((handed - paths.total_conversions()).abs() < 1e-6 * paths.total_conversions());
        let value = credits.total_value() + fit.baseline_value;
        assert!((value - paths.total_value()).abs() < 1e-6 * paths.total_value());
    }

    #[test]
    fn refuses_paths_without_nulls_and_credits_nothing_without_conversions() {
        let only_conversions = Paths::parse(
            "path;total_conversions;total_conversion_value;total_null\na > b;3;30;0\n",
        )
        .unwrap();
        let e = data_driven(&only_conversions, &DataDrivenOptions::default()).unwrap_err();
        assert!(e.to_string().contains("nulls"), "{e}");
        let only_nulls =
            Paths::parse("path;total_conversions;total_conversion_value;total_null\na;0;0;5\n")
                .unwrap();
        let fit = data_driven(&only_nulls, &DataDrivenOptions::default()).unwrap();
        assert_eq!(fit.credits().total_conversions(), 0.0);
        assert_eq!(fit.baseline_rate, 0.0);
    }
}
