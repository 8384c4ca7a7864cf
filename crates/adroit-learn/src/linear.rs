//! Linear models on encoded columns: ridge, lasso and elastic net (regression) and
//! L2-penalised logistic regression (classification), with exact SHAP values.
//!
//! Each minimises the same objective as its scikit-learn namesake, so the same
//! penalty gives the same coefficients (checked in tests against recorded sklearn fits):
//! - ridge: ‖y − Xw − b‖² + α‖w‖² (normal equations, faer Cholesky);
//! - elastic net: 1/(2n)‖y − Xw − b‖² + αρ‖w‖₁ + ½α(1−ρ)‖w‖², lasso is ρ = 1 (cyclic
//!   coordinate descent, as sklearn);
//! - logistic: ½‖w‖² + C Σ log-loss (Newton's method with step halving; the intercept
//!   is not penalised).

use crate::data::Matrix;
use crate::model::{Explain, FitError, Predict, Shap, Task, check_fit_input};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use serde::{Deserialize, Serialize};

/// How the linear predictor becomes a prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// The prediction is the linear predictor (regression).
    Identity,
    /// The prediction is the probability 1 / (1 + e^−η) (logistic regression).
    Logit,
}

/// A fitted linear model over encoded columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    pub intercept: f64,
    pub weights: Vec<f64>,
    pub link: Link,
    /// Training mean of each encoded column: the reference point of exact SHAP values.
    pub means: Vec<f64>,
}

impl LinearModel {
    /// The linear predictor η = b + Σ w_j x_j of each row.
    pub fn margin(&self, x: &Matrix) -> Vec<f64> {
        let mut eta = vec![self.intercept; x.rows()];
        for (j, w) in self.weights.iter().enumerate() {
            if *w != 0.0 {
                for (e, v) in eta.iter_mut().zip(x.col(j)) {
                    *e += w * v;
                }
            }
        }
        eta
    }
}

pub fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

impl Predict for LinearModel {
    fn predict(&self, x: &Matrix) -> Vec<f64> {
        let eta = self.margin(x);
        match self.link {
            Link::Identity => eta,
            Link::Logit => eta.into_iter().map(sigmoid).collect(),
        }
    }
}

impl Explain for LinearModel {
    /// Exact SHAP values of a linear model with independent features:
    /// φ_j = w_j (x_j − E[x_j]), on the linear predictor's scale (log-odds for logistic).
    fn shap(&self, x: &Matrix) -> Shap {
        let base = self.intercept
            + self
                .weights
                .iter()
                .zip(&self.means)
                .map(|(w, m)| w * m)
                .sum::<f64>();
        let values = (0..x.rows())
            .map(|i| {
                self.weights
                    .iter()
                    .zip(&self.means)
                    .enumerate()
                    .map(|(j, (w, m))| w * (x.get(i, j) - m))
                    .collect()
            })
            .collect();
        Shap {
            base,
            values,
            link: self.link,
        }
    }
}

fn column_means(x: &Matrix) -> Vec<f64> {
    (0..x.cols())
        .map(|j| x.col(j).iter().sum::<f64>() / x.rows() as f64)
        .collect()
}

/// Ridge regression: minimises ‖y − Xw − b‖² + α‖w‖² (sklearn's `Ridge(alpha)`).
pub fn ridge(x: &Matrix, y: &[f64], alpha: f64) -> Result<LinearModel, FitError> {
    check_fit_input(x, y, Task::Regress)?;
    let (n, p) = (x.rows(), x.cols());
    let means = column_means(x);
    let y_mean = y.iter().sum::<f64>() / n as f64;
    let xc = Mat::from_fn(n, p, |i, j| x.get(i, j) - means[j]);
    let yc = Mat::from_fn(n, 1, |i, _| y[i] - y_mean);
    let mut a = xc.transpose() * &xc;
    for j in 0..p {
        a[(j, j)] += alpha;
    }
    let b = xc.transpose() * &yc;
    let w = a
        .llt(Side::Lower)
        .map_err(|_| FitError::Singular)?
        .solve(&b);
    let weights: Vec<f64> = (0..p).map(|j| w[(j, 0)]).collect();
    let intercept = y_mean - weights.iter().zip(&means).map(|(w, m)| w * m).sum::<f64>();
    Ok(LinearModel {
        intercept,
        weights,
        link: Link::Identity,
        means,
    })
}

/// Elastic net by cyclic coordinate descent: minimises
/// 1/(2n)‖y − Xw − b‖² + αρ‖w‖₁ + ½α(1−ρ)‖w‖² (sklearn's `ElasticNet(alpha, l1_ratio=ρ)`;
/// ρ = 1 is `Lasso(alpha)`). Stops when no coefficient moves by more than `tol` times
/// the largest coefficient, or after `max_iter` sweeps.
pub fn elastic_net(
    x: &Matrix,
    y: &[f64],
    alpha: f64,
    l1_ratio: f64,
    max_iter: usize,
    tol: f64,
) -> Result<LinearModel, FitError> {
    check_fit_input(x, y, Task::Regress)?;
    if !(0.0..=1.0).contains(&l1_ratio) || alpha < 0.0 {
        return Err(FitError::Parameter(format!(
            "alpha must be ≥ 0 and l1_ratio in [0, 1], got alpha {alpha}, l1_ratio {l1_ratio}"
        )));
    }
    let (n, p) = (x.rows(), x.cols());
    let nf = n as f64;
    let means = column_means(x);
    let y_mean = y.iter().sum::<f64>() / nf;
    let xc: Vec<Vec<f64>> = (0..p)
        .map(|j| x.col(j).iter().map(|v| v - means[j]).collect())
        .collect();
    let norms: Vec<f64> = xc
        .iter()
        .map(|c| c.iter().map(|v| v * v).sum::<f64>() / nf)
        .collect();
    let mut r: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
    let mut w = vec![0.0; p];
    let l1 = alpha * l1_ratio;
    let l2 = alpha * (1.0 - l1_ratio);
    for _ in 0..max_iter {
        let mut max_change: f64 = 0.0;
        let mut max_w: f64 = 0.0;
        for j in 0..p {
            if norms[j] == 0.0 {
                continue;
            }
            let c = &xc[j];
            let rho = c.iter().zip(&r).map(|(a, b)| a * b).sum::<f64>() / nf + norms[j] * w[j];
            let new = soft_threshold(rho, l1) / (norms[j] + l2);
            let delta = new - w[j];
            if delta != 0.0 {
                for (ri, ci) in r.iter_mut().zip(c) {
                    *ri -= ci * delta;
                }
                w[j] = new;
            }
            max_change = max_change.max(delta.abs());
            max_w = max_w.max(new.abs());
        }
        if max_change <= tol * max_w.max(f64::MIN_POSITIVE) {
            break;
        }
    }
    let intercept = y_mean - w.iter().zip(&means).map(|(w, m)| w * m).sum::<f64>();
    Ok(LinearModel {
        intercept,
        weights: w,
        link: Link::Identity,
        means,
    })
}

fn soft_threshold(z: f64, gamma: f64) -> f64 {
    if z > gamma {
        z - gamma
    } else if z < -gamma {
        z + gamma
    } else {
        0.0
    }
}

/// L2-penalised logistic regression: minimises ½‖w‖² + C Σ log-loss (sklearn's
/// `LogisticRegression(C)`), `y` holding 0 and 1.
pub fn logistic(x: &Matrix, y: &[f64], c: f64, max_iter: usize) -> Result<LinearModel, FitError> {
    check_fit_input(x, y, Task::Classify)?;
    if c.is_nan() || c <= 0.0 {
        return Err(FitError::Parameter(format!("C must be > 0, got {c}")));
    }
    let (n, p) = (x.rows(), x.cols());
    let means = column_means(x);
    // Design with an intercept column first.
    let xa = Mat::from_fn(n, p + 1, |i, j| if j == 0 { 1.0 } else { x.get(i, j - 1) });
    let objective = |beta: &[f64]| -> f64 {
        let mut loss = 0.0;
        for i in 0..n {
            let eta = beta[0] + (1..=p).map(|j| beta[j] * xa[(i, j)]).sum::<f64>();
            // log(1 + e^η) − yη, computed stably.
            loss += softplus(eta) - y[i] * eta;
        }
        c * loss + 0.5 * beta[1..].iter().map(|b| b * b).sum::<f64>()
    };
    let mut beta = vec![0.0; p + 1];
    let pos = y.iter().sum::<f64>() / n as f64;
    if pos > 0.0 && pos < 1.0 {
        beta[0] = (pos / (1.0 - pos)).ln();
    }
    let mut current = objective(&beta);
    for _ in 0..max_iter {
        let eta = Mat::from_fn(n, 1, |i, _| {
            beta[0] + (1..=p).map(|j| beta[j] * xa[(i, j)]).sum::<f64>()
        });
        let prob: Vec<f64> = (0..n).map(|i| sigmoid(eta[(i, 0)])).collect();
        let resid = Mat::from_fn(n, 1, |i, _| prob[i] - y[i]);
        let mut grad = xa.transpose() * &resid;
        let weighted = Mat::from_fn(n, p + 1, |i, j| {
            xa[(i, j)] * (prob[i] * (1.0 - prob[i])).max(1e-12).sqrt()
        });
        let mut hess = weighted.transpose() * &weighted;
        for j in 0..=p {
            grad[(j, 0)] *= c;
            for k in 0..=p {
                hess[(j, k)] *= c;
            }
            if j > 0 {
                grad[(j, 0)] += beta[j];
                hess[(j, j)] += 1.0;
            }
        }
        let step = hess
            .llt(Side::Lower)
            .map_err(|_| FitError::Singular)?
            .solve(&grad);
        let mut scale = 1.0;
        let mut accepted = false;
        for _ in 0..30 {
            let trial: Vec<f64> = (0..=p).map(|j| beta[j] - scale * step[(j, 0)]).collect();
            let value = objective(&trial);
            if value <= current {
                let moved = (0..=p)
                    .map(|j| (scale * step[(j, 0)]).abs())
                    .fold(0.0, f64::max);
                beta = trial;
                current = value;
                accepted = moved > 1e-12;
                break;
            }
            scale /= 2.0;
        }
        if !accepted {
            break;
        }
    }
    Ok(LinearModel {
        intercept: beta[0],
        weights: beta[1..].to_vec(),
        link: Link::Logit,
        means,
    })
}

/// log(1 + e^η), computed stably (also the federated logistic rounds' loss).
pub(crate) fn softplus(eta: f64) -> f64 {
    if eta > 0.0 {
        eta + (-eta).exp().ln_1p()
    } else {
        eta.exp().ln_1p()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> (Matrix, Vec<f64>) {
        // y = 1 + 2 a − 3 b exactly, with b weakly tied to a.
        let rows: Vec<Vec<f64>> = (0..50)
            .map(|i| {
                let a = (i as f64 * 0.37).sin() * 3.0;
                let b = (i as f64 * 0.11).cos() + 0.1 * a;
                vec![a, b]
            })
            .collect();
        let y = rows.iter().map(|r| 1.0 + 2.0 * r[0] - 3.0 * r[1]).collect();
        (Matrix::from_rows(&rows), y)
    }

    #[test]
    fn without_penalty_all_fits_recover_the_exact_line() {
        let (x, y) = world();
        for m in [
            ridge(&x, &y, 0.0).unwrap(),
            elastic_net(&x, &y, 0.0, 1.0, 100_000, 1e-14).unwrap(),
        ] {
            assert!((m.intercept - 1.0).abs() < 1e-8, "{m:?}");
            assert!((m.weights[0] - 2.0).abs() < 1e-8 && (m.weights[1] + 3.0).abs() < 1e-8);
        }
    }

    #[test]
    fn penalties_shrink_and_lasso_zeroes() {
        let (x, y) = world();
        let r = ridge(&x, &y, 100.0).unwrap();
        assert!(r.weights[0].abs() < 2.0 && r.weights[1].abs() < 3.0);
        let l = elastic_net(&x, &y, 100.0, 1.0, 1000, 1e-12).unwrap();
        assert_eq!(l.weights, [0.0, 0.0]);
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        assert!((l.intercept - mean).abs() < 1e-12);
    }

    #[test]
    fn logistic_gradient_vanishes_at_the_fit_and_shap_adds_up() {
        let (x, y0) = world();
        let y: Vec<f64> = y0.iter().map(|v| f64::from(*v > 1.0)).collect();
        let m = logistic(&x, &y, 1.0, 100).unwrap();
        let p = m.predict(&x);
        // Stationarity: Σ (p − y) = 0 and C Σ (p − y) x_j + w_j = 0.
        let g0: f64 = p.iter().zip(&y).map(|(p, y)| p - y).sum();
        assert!(g0.abs() < 1e-8, "{g0}");
        for j in 0..2 {
            let g: f64 = (0..x.rows())
                .map(|i| (p[i] - y[i]) * x.get(i, j))
                .sum::<f64>()
                + m.weights[j];
            assert!(g.abs() < 1e-8, "{g}");
        }
        let s = m.shap(&x);
        let eta = m.margin(&x);
        for (row, e) in s.values.iter().zip(&eta) {
            assert!((s.base + row.iter().sum::<f64>() - e).abs() < 1e-10);
        }
    }
}
