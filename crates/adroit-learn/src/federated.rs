//! Federated fitting: data owners ("sites") who cannot share rows fit one linear, ridge
//! or logistic model together. Each site computes aggregate statistics of its own rows;
//! a coordinator combines them. No row leaves a site.
//!
//! - **Linear and ridge**: one round. A site sends the Gram matrix of its augmented rows
//!   `r = [1, x, y]`, `G = Σ r rᵀ` (which holds the row count, the sums and every cross
//!   product). The pooled Gram is the sum of the sites', and ridge on centred data (the
//!   intercept unpenalised, as [`crate::linear::ridge`]) needs nothing else, so the
//!   federated fit equals the centralised one up to rounding.
//! - **Logistic** (L2, sklearn's `C`, as [`crate::linear::logistic`]): Newton's method
//!   in rounds. Each round every site evaluates the log-loss, its gradient and Hessian at
//!   the coordinator's trial coefficients; the coordinator sums them, accepts or halves
//!   the step (the same backtracking as the centralised fit) and sends the next trial.
//!   The state between rounds is a small JSON file, so the rounds can run between
//!   organisations over any file transfer.
//! - **Differential privacy** (linear and ridge): a site can clip each augmented row to
//!   an L2 norm `B` and add Gaussian noise to its Gram matrix ("Analyze Gauss", Dwork,
//!   Talwar, Thakurta & Zhang 2014): the Frobenius sensitivity of `G` to one row is `B²`,
//!   so symmetric noise with `σ = B² √(2 ln(1.25/δ)) / ε` (the classic Gaussian
//!   mechanism, valid for `ε < 1`) makes the site's release (ε, δ)-differentially private
//!   for each of its rows. Logistic rounds are not noised here (each round would spend
//!   budget); the door refuses that combination.

use crate::data::Matrix;
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

/// Why a federated step cannot go on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FederatedError {
    #[error("{0}")]
    Invalid(String),
    #[error("the pooled system is singular: a feature is constant or collinear across all sites")]
    Singular,
}

/// A site's Gram matrix of augmented rows `[1, x_1 … x_p, y]`, row-major `(p + 2)²`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GramStats {
    pub features: usize,
    pub gram: Vec<f64>,
    /// Present when the site added noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<GaussianNoise>,
}

/// The Gaussian mechanism a site applied.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GaussianNoise {
    pub epsilon: f64,
    pub delta: f64,
    /// Rows were clipped to this L2 norm (of `[1, x, y]`).
    pub bound: f64,
    /// Standard deviation of the noise on each entry of the Gram matrix.
    pub sigma: f64,
    /// Rows whose norm exceeded the bound and were scaled down.
    pub clipped_rows: usize,
}

impl GramStats {
    /// The Gram matrix of `x` (rows × features) with `y`.
    pub fn from_rows(x: &Matrix, y: &[f64]) -> Result<GramStats, FederatedError> {
        check_rows(x, y)?;
        let p = x.cols();
        let d = p + 2;
        let mut gram = vec![0.0; d * d];
        let mut r = vec![0.0; d];
        for i in 0..x.rows() {
            augmented(x, y, i, &mut r);
            accumulate(&mut gram, &r);
        }
        Ok(GramStats {
            features: p,
            gram,
            noise: None,
        })
    }

    /// The Gram matrix of the rows clipped to `bound`, with Gaussian noise for
    /// (ε, δ)-differential privacy (see the module doc). Seeded: the same seed gives the
    /// same noise.
    pub fn private(
        x: &Matrix,
        y: &[f64],
        epsilon: f64,
        delta: f64,
        bound: f64,
        seed: u64,
    ) -> Result<GramStats, FederatedError> {
        check_rows(x, y)?;
        if !(epsilon > 0.0 && epsilon < 1.0) {
            return Err(FederatedError::Invalid(format!(
                "epsilon must be in (0, 1) for the classic Gaussian mechanism, got {epsilon}"
            )));
        }
        if !(delta > 0.0 && delta < 1.0) {
            return Err(FederatedError::Invalid(format!(
                "delta must be in (0, 1), got {delta}"
            )));
        }
        if !(bound.is_finite() && bound > 1.0) {
            return Err(FederatedError::Invalid(format!(
                "the row bound must be a number above 1 (the norm of [1, x, y] is at least 1), got {bound}"
            )));
        }
        let p = x.cols();
        let d = p + 2;
        let mut gram = vec![0.0; d * d];
        let mut r = vec![0.0; d];
        let mut clipped_rows = 0;
        for i in 0..x.rows() {
            augmented(x, y, i, &mut r);
            let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > bound {
                clipped_rows += 1;
                r.iter_mut().for_each(|v| *v *= bound / norm);
            }
            accumulate(&mut gram, &r);
        }
        let sigma = bound * bound * (2.0 * (1.25 / delta).ln()).sqrt() / epsilon;
        let normal = Normal::new(0.0, sigma).map_err(|e| FederatedError::Invalid(e.to_string()))?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        for a in 0..d {
            for b in a..d {
                let z = normal.sample(&mut rng);
                gram[a * d + b] += z;
                if a != b {
                    gram[b * d + a] += z;
                }
            }
        }
        Ok(GramStats {
            features: p,
            gram,
            noise: Some(GaussianNoise {
                epsilon,
                delta,
                bound,
                sigma,
                clipped_rows,
            }),
        })
    }

    /// Rows behind the statistics (noisy when noise was added).
    pub fn rows(&self) -> f64 {
        self.gram[0]
    }
}

fn check_rows(x: &Matrix, y: &[f64]) -> Result<(), FederatedError> {
    if x.rows() != y.len() {
        return Err(FederatedError::Invalid(format!(
            "{} feature rows but {} targets",
            x.rows(),
            y.len()
        )));
    }
    if x.rows() == 0 {
        return Err(FederatedError::Invalid("a site has no rows".into()));
    }
    if let Some(i) = (0..x.rows())
        .find(|&i| !y[i].is_finite() || (0..x.cols()).any(|j| !x.get(i, j).is_finite()))
    {
        return Err(FederatedError::Invalid(format!(
            "row {} has a missing or non-finite value",
            i + 1
        )));
    }
    Ok(())
}

fn augmented(x: &Matrix, y: &[f64], i: usize, r: &mut [f64]) {
    let p = x.cols();
    r[0] = 1.0;
    for j in 0..p {
        r[j + 1] = x.get(i, j);
    }
    r[p + 1] = y[i];
}

fn accumulate(gram: &mut [f64], r: &[f64]) {
    let d = r.len();
    for a in 0..d {
        let ra = r[a];
        for b in 0..d {
            gram[a * d + b] += ra * r[b];
        }
    }
}

/// A fitted linear predictor: `intercept + weights · x` (log-odds for logistic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficients {
    pub intercept: f64,
    pub weights: Vec<f64>,
}

/// Sums the sites' Gram matrices and solves ridge regression (`alpha` = 0: least
/// squares) exactly as the centralised [`crate::linear::ridge`] does.
pub fn combine_ridge(sites: &[GramStats], alpha: f64) -> Result<Coefficients, FederatedError> {
    let first = sites
        .first()
        .ok_or_else(|| FederatedError::Invalid("no site statistics to combine".into()))?;
    let p = first.features;
    if let Some(s) = sites.iter().find(|s| s.features != p) {
        return Err(FederatedError::Invalid(format!(
            "sites disagree on the number of features ({p} and {})",
            s.features
        )));
    }
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(FederatedError::Invalid(format!(
            "alpha must be ≥ 0, got {alpha}"
        )));
    }
    let d = p + 2;
    let mut g = vec![0.0; d * d];
    for s in sites {
        if s.gram.len() != d * d {
            return Err(FederatedError::Invalid(format!(
                "a site's Gram matrix has {} entries, expected {}",
                s.gram.len(),
                d * d
            )));
        }
        for (a, b) in g.iter_mut().zip(&s.gram) {
            *a += b;
        }
    }
    let n = g[0];
    if n <= 1.0 {
        return Err(FederatedError::Invalid(format!(
            "the sites hold {n} rows in all; at least 2 are needed"
        )));
    }
    let at = |a: usize, b: usize| g[a * d + b];
    let mean: Vec<f64> = (1..d).map(|j| at(0, j) / n).collect(); // x̄ then ȳ
    let y = p + 1;
    let a = Mat::from_fn(p, p, |j, k| {
        at(j + 1, k + 1) - n * mean[j] * mean[k] + if j == k { alpha } else { 0.0 }
    });
    let b = Mat::from_fn(p, 1, |j, _| at(j + 1, y) - n * mean[j] * mean[p]);
    let w = a
        .llt(Side::Lower)
        .map_err(|_| FederatedError::Singular)?
        .solve(&b);
    let weights: Vec<f64> = (0..p).map(|j| w[(j, 0)]).collect();
    let intercept = mean[p] - weights.iter().zip(&mean).map(|(w, m)| w * m).sum::<f64>();
    Ok(Coefficients { intercept, weights })
}

/// What one site returns in a logistic round: the penalty-free log-loss, its gradient
/// and Hessian at the round's coefficients (intercept first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticStats {
    pub rows: usize,
    pub loss: f64,
    pub gradient: Vec<f64>,
    /// Row-major `(p + 1)²`.
    pub hessian: Vec<f64>,
}

/// A site's part of a logistic round at `beta` (`[intercept, w…]`); `y` holds 0 and 1.
pub fn logistic_site(x: &Matrix, y: &[f64], beta: &[f64]) -> Result<LogisticStats, FederatedError> {
    check_rows(x, y)?;
    let p = x.cols();
    if beta.len() != p + 1 {
        return Err(FederatedError::Invalid(format!(
            "the state has {} coefficients for {p} features (+ intercept)",
            beta.len()
        )));
    }
    if let Some(i) = y.iter().position(|v| *v != 0.0 && *v != 1.0) {
        return Err(FederatedError::Invalid(format!(
            "row {}: a logistic target must be 0 or 1, got {}",
            i + 1,
            y[i]
        )));
    }
    let d = p + 1;
    let (mut loss, mut gradient, mut hessian) = (0.0, vec![0.0; d], vec![0.0; d * d]);
    let mut r = vec![0.0; d];
    for (i, &target) in y.iter().enumerate() {
        r[0] = 1.0;
        for j in 0..p {
            r[j + 1] = x.get(i, j);
        }
        let eta: f64 = r.iter().zip(beta).map(|(a, b)| a * b).sum();
        loss += crate::linear::softplus(eta) - target * eta;
        let prob = crate::linear::sigmoid(eta);
        let weight = (prob * (1.0 - prob)).max(1e-12);
        for a in 0..d {
            gradient[a] += (prob - target) * r[a];
            for b in 0..d {
                hessian[a * d + b] += weight * r[a] * r[b];
            }
        }
    }
    Ok(LogisticStats {
        rows: x.rows(),
        loss,
        gradient,
        hessian,
    })
}

/// The coordinator's memory between logistic rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticState {
    /// sklearn's `C`: the weight of the log-loss against ½‖w‖².
    pub c: f64,
    pub round: usize,
    pub max_rounds: usize,
    /// The coefficients the sites evaluate next.
    pub trial: Vec<f64>,
    /// The best coefficients so far and their objective.
    pub accepted: Option<(Vec<f64>, f64)>,
    /// The Newton step taken from `accepted` and its current scale.
    pub step: Vec<f64>,
    pub scale: f64,
    pub converged: bool,
}

impl LogisticState {
    /// The first round: every coefficient 0 but the intercept, set by the sites' pooled
    /// positive share when it is known (as the centralised fit does).
    pub fn start(
        features: usize,
        c: f64,
        positive_share: Option<f64>,
        max_rounds: usize,
    ) -> LogisticState {
        let mut trial = vec![0.0; features + 1];
        if let Some(pos) = positive_share.filter(|p| *p > 0.0 && *p < 1.0) {
            trial[0] = (pos / (1.0 - pos)).ln();
        }
        LogisticState {
            c,
            round: 0,
            max_rounds,
            trial,
            accepted: None,
            step: Vec::new(),
            scale: 1.0,
            converged: false,
        }
    }

    /// The fitted coefficients once converged (or the best so far).
    pub fn coefficients(&self) -> Option<Coefficients> {
        self.accepted.as_ref().map(|(beta, _)| Coefficients {
            intercept: beta[0],
            weights: beta[1..].to_vec(),
        })
    }
}

/// One coordinator step: pools the sites' statistics at `state.trial` and returns the
/// next state (accepting the trial or halving the step, then a new Newton step).
pub fn combine_logistic(
    state: &LogisticState,
    sites: &[LogisticStats],
) -> Result<LogisticState, FederatedError> {
    if state.converged {
        return Ok(state.clone());
    }
    let d = state.trial.len();
    if sites.is_empty() {
        return Err(FederatedError::Invalid(
            "no site statistics to combine".into(),
        ));
    }
    if let Some(s) = sites
        .iter()
        .find(|s| s.gradient.len() != d || s.hessian.len() != d * d)
    {
        return Err(FederatedError::Invalid(format!(
            "a site's gradient has {} entries, the state {d}",
            s.gradient.len()
        )));
    }
    let c = state.c;
    let beta = &state.trial;
    let penalty = 0.5 * beta[1..].iter().map(|b| b * b).sum::<f64>();
    let objective = c * sites.iter().map(|s| s.loss).sum::<f64>() + penalty;
    let mut next = state.clone();
    next.round += 1;
    let improved = match &state.accepted {
        None => true,
        Some((_, best)) => objective <= *best,
    };
    if !improved {
        // Backtrack from the accepted point, as the centralised line search does.
        next.scale /= 2.0;
        let (base, _) = state
            .accepted
            .as_ref()
            .expect("a rejected trial has a base");
        if next.scale < 1.0 / (1u64 << 30) as f64 {
            next.converged = true;
            next.trial = base.clone();
            return Ok(next);
        }
        next.trial = base
            .iter()
            .zip(&next.step)
            .map(|(b, s)| b - next.scale * s)
            .collect();
        return Ok(next);
    }
    let moved = match &state.accepted {
        Some((base, _)) => beta
            .iter()
            .zip(base)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max),
        None => f64::INFINITY,
    };
    next.accepted = Some((beta.clone(), objective));
    if moved <= 1e-12 || next.round >= state.max_rounds {
        next.converged = true;
        return Ok(next);
    }
    let mut grad = Mat::from_fn(d, 1, |a, _| {
        c * sites.iter().map(|s| s.gradient[a]).sum::<f64>()
    });
    let mut hess = Mat::from_fn(d, d, |a, b| {
        c * sites.iter().map(|s| s.hessian[a * d + b]).sum::<f64>()
    });
    for j in 1..d {
        grad[(j, 0)] += beta[j];
        hess[(j, j)] += 1.0;
    }
    let step = hess
        .llt(Side::Lower)
        .map_err(|_| FederatedError::Singular)?
        .solve(&grad);
    next.step = (0..d).map(|a| step[(a, 0)]).collect();
    next.scale = 1.0;
    next.trial = beta.iter().zip(&next.step).map(|(b, s)| b - s).collect();
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: &[Vec<f64>]) -> Matrix {
        Matrix::from_rows(rows)
    }

    #[test]
    fn pooled_ridge_equals_the_centralised_fit() {
        let rows: Vec<Vec<f64>> = (0..60)
            .map(|i| {
                let t = i as f64;
                vec![t.sin() * 3.0 + 10.0, (t * 0.7).cos(), t * 0.1]
            })
            .collect();
        let y: Vec<f64> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| 2.0 + 0.5 * r[0] - 1.5 * r[1] + 0.2 * r[2] + (i as f64 * 1.3).sin())
            .collect();
        let whole = crate::linear::ridge(&matrix(&rows), &y, 0.7).unwrap();
        let sites: Vec<GramStats> = [0..17, 17..40, 40..60]
            .into_iter()
            .map(|r| GramStats::from_rows(&matrix(&rows[r.clone()]), &y[r]).unwrap())
            .collect();
        let pooled = combine_ridge(&sites, 0.7).unwrap();
        assert!((pooled.intercept - whole.intercept).abs() < 1e-9);
        for (a, b) in pooled.weights.iter().zip(&whole.weights) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn private_statistics_need_a_valid_mechanism() {
        let x = matrix(&[vec![1.0], vec![2.0]]);
        let y = [1.0, 2.0];
        assert!(GramStats::private(&x, &y, 1.5, 1e-5, 10.0, 1).is_err());
        assert!(GramStats::private(&x, &y, 0.5, 0.0, 10.0, 1).is_err());
        assert!(GramStats::private(&x, &y, 0.5, 1e-5, 0.5, 1).is_err());
        let a = GramStats::private(&x, &y, 0.5, 1e-5, 10.0, 1).unwrap();
        let b = GramStats::private(&x, &y, 0.5, 1e-5, 10.0, 1).unwrap();
        assert_eq!(a, b, "seeded");
        let noise = a.noise.unwrap();
        let expected = 100.0 * (2.0 * (1.25f64 / 1e-5).ln()).sqrt() / 0.5;
        assert!((noise.sigma - expected).abs() < 1e-9);
    }
}
