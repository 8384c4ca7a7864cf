//! Ordinary least squares with the statistics an analyst reads: coefficients, standard
//! errors, t, p-values, confidence intervals, R², adjusted R², F, residual standard
//! error, and variance inflation factors to warn about multicollinearity — the table
//! statsmodels prints.
//!
//! The fit is a QR least-squares solve (faer); the covariance is σ²(XᵀX)⁻¹ from a
//! Cholesky factorisation; p-values and intervals use Student's t and Fisher's F (statrs).

use faer::linalg::solvers::{DenseSolveCore, SolveLstsq};
use faer::{Mat, Side};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, FisherSnedecor, StudentsT};

/// Why a regression cannot be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OlsError {
    #[error("need more rows than coefficients: {rows} rows for {coefficients} coefficients")]
    TooFewRows { rows: usize, coefficients: usize },
    #[error("feature `{name}` has {found} values, expected {expected} (one per row of the target)")]
    LengthMismatch {
        name: String,
        found: usize,
        expected: usize,
    },
    #[error("feature `{0}` has a missing or non-finite value; drop or impute those rows first")]
    NotFinite(String),
    #[error(
        "the features are perfectly collinear (XᵀX is singular): drop a feature that is a combination of others"
    )]
    Singular,
}

/// One coefficient's line of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coefficient {
    pub name: String,
    pub estimate: f64,
    pub std_error: f64,
    pub t: f64,
    /// Two-sided p-value of t against Student's t with the residual degrees of freedom.
    pub p_value: f64,
    /// The 95 % confidence interval.
    pub ci_low: f64,
    pub ci_high: f64,
}

/// A fitted regression and its statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OlsFit {
    pub coefficients: Vec<Coefficient>,
    pub rows: usize,
    pub df_residual: usize,
    pub r_squared: f64,
    pub adj_r_squared: f64,
    /// F statistic of all slopes against an intercept-only model, and its p-value.
    pub f_statistic: f64,
    pub f_p_value: f64,
    /// Residual standard error σ̂.
    pub sigma: f64,
    /// Variance inflation factor of each feature (not the intercept), in feature order.
    pub vif: Vec<(String, f64)>,
}

impl OlsFit {
    /// Features whose VIF exceeds 10, the usual threshold for harmful multicollinearity.
    pub fn collinearity_warnings(&self) -> Vec<String> {
        self.vif
            .iter()
            .filter(|(_, v)| *v > 10.0)
            .map(|(name, v)| {
                format!(
                    "`{name}` has VIF {v:.1} > 10: it is largely explained by the other features"
                )
            })
            .collect()
    }

    /// Predictions for rows of features (in the fitted order, without the intercept column).
    pub fn predict(&self, features: &[&[f64]]) -> Vec<f64> {
        let n = features.first().map_or(0, |f| f.len());
        (0..n)
            .map(|i| {
                self.coefficients[0].estimate
                    + features
                        .iter()
                        .zip(&self.coefficients[1..])
                        .map(|(f, c)| c.estimate * f[i])
                        .sum::<f64>()
            })
            .collect()
    }
}

/// Fits `y = b0 + Σ b_j x_j + e` by least squares. `features` are (name, column) pairs.
pub fn fit(y: &[f64], features: &[(&str, &[f64])]) -> Result<OlsFit, OlsError> {
    let n = y.len();
    let p = features.len() + 1;
    for (name, col) in features {
        if col.len() != n {
            return Err(OlsError::LengthMismatch {
                name: name.to_string(),
                found: col.len(),
                expected: n,
            });
        }
        if col.iter().any(|v| !v.is_finite()) {
            return Err(OlsError::NotFinite(name.to_string()));
        }
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(OlsError::NotFinite("target".into()));
    }
    if n <= p {
        return Err(OlsError::TooFewRows {
            rows: n,
            coefficients: p,
        });
    }
    let x = Mat::from_fn(n, p, |i, j| if j == 0 { 1.0 } else { features[j - 1].1[i] });
    let yv = Mat::from_fn(n, 1, |i, _| y[i]);
    let xtx = x.transpose() * &x;
    let llt = xtx.llt(Side::Lower).map_err(|_| OlsError::Singular)?;
    let xtx_inv = llt.inverse();
    let beta = x.qr().solve_lstsq(&yv);

    let fitted = &x * &beta;
    let rss: f64 = (0..n).map(|i| (y[i] - fitted[(i, 0)]).powi(2)).sum();
    let mean = y.iter().sum::<f64>() / n as f64;
    let tss: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let df = n - p;
    let sigma2 = rss / df as f64;
    let r_squared = if tss > 0.0 { 1.0 - rss / tss } else { 0.0 };
    let adj_r_squared = 1.0 - (1.0 - r_squared) * (n - 1) as f64 / df as f64;
    let slopes = (p - 1) as f64;
    let f_statistic = if slopes > 0.0 {
        ((tss - rss) / slopes) / sigma2
    } else {
        f64::NAN
    };
    let f_p_value = if slopes > 0.0 {
        FisherSnedecor::new(slopes, df as f64).map_or(f64::NAN, |f| f.sf(f_statistic))
    } else {
        f64::NAN
    };
    let t_dist = StudentsT::new(0.0, 1.0, df as f64).expect("df > 0");
    let t_crit = t_dist.inverse_cdf(0.975);
    let names: Vec<String> = std::iter::once("intercept".to_string())
        .chain(features.iter().map(|(n, _)| n.to_string()))
        .collect();
    let coefficients = (0..p)
        .map(|j| {
            let estimate = beta[(j, 0)];
            let std_error = (sigma2 * xtx_inv[(j, j)]).sqrt();
            let t = estimate / std_error;
            Coefficient {
                name: names[j].clone(),
                estimate,
                std_error,
                t,
                p_value: 2.0 * t_dist.sf(t.abs()),
                ci_low: estimate - t_crit * std_error,
                ci_high: estimate + t_crit * std_error,
            }
        })
        .collect();
    Ok(OlsFit {
        coefficients,
        rows: n,
        df_residual: df,
        r_squared,
        adj_r_squared,
        f_statistic,
        f_p_value,
        sigma: sigma2.sqrt(),
        vif: vif(features),
    })
}

/// VIF_j = 1 / (1 − R²_j), R²_j from regressing feature j on the others.
fn vif(features: &[(&str, &[f64])]) -> Vec<(String, f64)> {
    if features.len() < 2 {
        return features.iter().map(|(n, _)| (n.to_string(), 1.0)).collect();
    }
    (0..features.len())
        .map(|j| {
            let others: Vec<(&str, &[f64])> = features
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != j)
                .map(|(_, f)| *f)
                .collect();
            let r2 = fit_r2(features[j].1, &others);
            (
                features[j].0.to_string(),
                if r2 < 1.0 {
                    1.0 / (1.0 - r2)
                } else {
                    f64::INFINITY
                },
            )
        })
        .collect()
}

fn fit_r2(y: &[f64], features: &[(&str, &[f64])]) -> f64 {
    let n = y.len();
    let p = features.len() + 1;
    if n <= p {
        return 0.0;
    }
    let x = Mat::from_fn(n, p, |i, j| if j == 0 { 1.0 } else { features[j - 1].1[i] });
    let beta = x.qr().solve_lstsq(Mat::from_fn(n, 1, |i, _| y[i]));
    let fitted = &x * &beta;
    let mean = y.iter().sum::<f64>() / n as f64;
    let rss: f64 = (0..n).map(|i| (y[i] - fitted[(i, 0)]).powi(2)).sum();
    let tss: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    if tss > 0.0 { 1.0 - rss / tss } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_is_recovered() {
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| 3.0 + 2.0 * v).collect();
        let f = fit(&y, &[("x", &x)]).unwrap();
        assert!((f.coefficients[0].estimate - 3.0).abs() < 1e-10);
        assert!((f.coefficients[1].estimate - 2.0).abs() < 1e-10);
        assert!((f.r_squared - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let y = [1.0, 2.0, 3.0];
        let err = fit(&y, &[("a", &[1.0, 2.0]), ("b", &[1.0, 2.0, 3.0])]).unwrap_err();
        assert!(err.to_string().contains("`a` has 2 values"), "{err}");
        assert!(matches!(
            fit(&y, &[("a", &[1.0, 2.0, 3.0]), ("b", &[2.0, 4.0, 6.0])]),
            Err(OlsError::TooFewRows { .. })
        ));
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let x2: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
        let y: Vec<f64> = x.iter().map(|v| v * v).collect();
        assert_eq!(
            fit(&y, &[("x", &x), ("x2", &x2)]).unwrap_err(),
            OlsError::Singular
        );
        assert!(matches!(
            fit(&y, &[("x", &[f64::NAN; 10])]),
            Err(OlsError::NotFinite(_))
        ));
    }
}
