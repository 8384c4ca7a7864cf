//! Maximum likelihood in log-parameters, and standard errors.
//!
//! Every model here has 2–4 positive parameters, so the search runs over θ = ln(params)
//! (unconstrained, and better scaled: α in days is 7× α in weeks, a shift in θ). The
//! minimiser is a dense BFGS with backtracking, then Newton steps — with the exact
//! Hessian where the model provides one (BG/NBD, modified BG/NBD, Gamma-Gamma: one pass
//! over the customers per step), else with a finite-difference Hessian — which leave the
//! gradient at rounding level, so the published digits are reproduced, not approached.
//! Above [`crate::bgnbd::WARM_ABOVE`] customers the BFGS runs on a strided subsample and
//! only the Newton steps (three or four passes) see everyone.
//!
//! Why not argmin 0.11 (PRODUCT.md's candidate)? For 2–4 parameters a dense BFGS is some
//! 80 lines, and the fit needs what argmin does not give: the Hessian (Newton polish,
//! observed information) and a line search that treats a non-finite likelihood (ln 0,
//! ₂F₁ overflow far out in θ) as "step too long". argmin would add argmin-math, anyhow,
//! paste, num-traits and web-time to the build for the BFGS part alone.
//!
//! Standard errors: the covariance of θ is the inverse observed information
//! (N · ∇²(mean negative log-likelihood))⁻¹ at the optimum; the delta method maps it back,
//! Cov(p) = diag(p) Cov(θ) diag(p). lifetimes reports the same diagonal
//! (`standard_errors_`).

use serde::{Deserialize, Serialize};

/// A model's parameters as a vector, in a fixed order with names.
pub trait Parameters: Sized + Copy {
    /// Parameter names in the order of [`Parameters::values`].
    const NAMES: &'static [&'static str];
    fn values(&self) -> Vec<f64>;
    fn from_values(values: &[f64]) -> Self;
}

/// A maximum-likelihood fit: the estimates and how much to trust them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fitted<M> {
    pub model: M,
    /// The maximised log-likelihood Σ wᵢ ln Lᵢ (the papers' LL), in the data's time unit.
    pub log_likelihood: f64,
    /// Standard error of each parameter (delta method from the log-parameter fit);
    /// `None` when the observed information is not positive definite (a flat direction:
    /// the data do not identify every parameter).
    pub standard_errors: Option<M>,
    /// Covariance of the parameters in [`Parameters::NAMES`] order (same condition).
    pub covariance: Option<Vec<Vec<f64>>>,
    pub parameter_names: Vec<String>,
    /// Σ weights: customers (or pattern counts) behind the fit.
    pub observations: f64,
    pub iterations: usize,
    /// The gradient of the mean log-likelihood with respect to the log-parameters is
    /// below 1e-5 at the end. False usually means an estimate runs off to 0 or ∞ (e.g.
    /// no dropout visible in the data): check the parameters before using them.
    pub converged: bool,
    /// Largest |∂ mean log-likelihood / ∂ ln pᵢ| at the estimates.
    pub max_gradient: f64,
}

impl<M: Parameters> Fitted<M> {
    /// Akaike's information criterion, 2k − 2 LL.
    pub fn aic(&self) -> f64 {
        2.0 * M::NAMES.len() as f64 - 2.0 * self.log_likelihood
    }
}

/// A mean negative log-likelihood of θ = ln(params); fills the gradient when asked and
/// returns +∞ or NaN where it cannot be evaluated.
pub(crate) type Objective<'a> = dyn Fn(&[f64], Option<&mut [f64]>) -> f64 + Sync + 'a;

/// Whether an objective's gradient is exact or a finite difference (which decides how
/// its Hessian is taken).
#[derive(Clone, Copy)]
pub(crate) enum Gradient<'a> {
    Numeric,
    /// Value, gradient and Hessian (row-major) in one pass: Newton's method with the
    /// exact Hessian, and the exact observed information.
    Exact(&'a SecondOrder<'a>),
}

/// A mean negative log-likelihood's value, gradient and Hessian at θ.
pub(crate) type SecondOrder<'a> = dyn Fn(&[f64]) -> (f64, Vec<f64>, Vec<f64>) + Sync + 'a;

/// Central-difference gradient of a value-only objective (models without an analytic
/// gradient: Pareto/NBD, Gamma-Gamma, BG/BB, sBG — all small or pattern-compressed).
pub(crate) fn numeric_gradient<F>(value: F) -> impl Fn(&[f64], Option<&mut [f64]>) -> f64 + Sync
where
    F: Fn(&[f64]) -> f64 + Sync,
{
    move |theta: &[f64], grad: Option<&mut [f64]>| {
        let f0 = value(theta);
        if let Some(g) = grad {
            let mut t = theta.to_vec();
            for i in 0..theta.len() {
                let h = 2e-6;
                t[i] = theta[i] + h;
                let up = value(&t);
                t[i] = theta[i] - h;
                let down = value(&t);
                t[i] = theta[i];
                g[i] = (up - down) / (2.0 * h);
            }
        }
        f0
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// The result of a minimisation.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
    pub gradient: Vec<f64>,
    pub iterations: usize,
    /// The Hessian at `x`, when the last step computed it.
    pub hessian: Option<Vec<f64>>,
}

/// The largest move of one log-parameter in one step (e³ ≈ 20×), so a first step from
/// a poor start cannot jump into overflow.
const MAX_STEP: f64 = 3.0;

/// Dense BFGS on the inverse Hessian with Armijo backtracking.
pub(crate) fn bfgs(f: &Objective, x0: &[f64], gtol: f64, max_iter: usize) -> Option<Minimum> {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut fx = f(&x, Some(&mut g));
    if !fx.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let identity = |h: &mut Vec<f64>| {
        h.iter_mut().for_each(|v| *v = 0.0);
        (0..n).for_each(|i| h[i * n + i] = 1.0);
    };
    let mut h = vec![0.0; n * n];
    identity(&mut h);
    let mut fresh = true;
    let mut iterations = 0;
    let (mut xn, mut gn, mut d) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    while iterations < max_iter && max_abs(&g) > gtol {
        iterations += 1;
        for i in 0..n {
            d[i] = -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>();
        }
        let mut slope = dot(&g, &d);
        if slope >= 0.0 || !slope.is_finite() {
            identity(&mut h);
            fresh = true;
            d.iter_mut().zip(&g).for_each(|(di, gi)| *di = -gi);
            slope = -dot(&g, &g);
        }
        let mut t = (MAX_STEP / max_abs(&d)).min(1.0);
        let mut accepted = None;
        for _ in 0..60 {
            for i in 0..n {
                xn[i] = x[i] + t * d[i];
            }
            let fnew = f(&xn, Some(&mut gn));
            if fnew.is_finite() && gn.iter().all(|v| v.is_finite()) && fnew <= fx + 1e-4 * t * slope
            {
                accepted = Some(fnew);
                break;
            }
            t *= 0.5;
        }
        let Some(fnew) = accepted else {
            if fresh {
                break; // no descent even along the gradient: at the optimum up to rounding
            }
            identity(&mut h);
            fresh = true;
            continue;
        };
        let s: Vec<f64> = d.iter().map(|di| t * di).collect();
        let y: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            if fresh {
                // Scale the first inverse-Hessian guess to the observed curvature.
                let scale = sy / dot(&y, &y);
                h.iter_mut().for_each(|v| *v *= scale);
                fresh = false;
            }
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
                .collect();
            let yhy = dot(&y, &hy);
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                        + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
        let change = fx - fnew;
        x.copy_from_slice(&xn);
        g.copy_from_slice(&gn);
        fx = fnew;
        if change.abs() <= 1e-16 * (1.0 + fx.abs()) && max_abs(&s) < 1e-12 {
            break;
        }
    }
    Some(Minimum {
        x,
        f: fx,
        gradient: g,
        iterations,
        hessian: None,
    })
}

/// The Hessian of a value-only objective from values alone (four-point formula, step
/// 1e-4: rounding ~1e-8 absolute). Differencing a numerical gradient instead compounds
/// two steps' rounding (~1e-6), which the strongly correlated BG/BB parameters amplify
/// to 0.2% in their standard errors.
pub(crate) fn hessian_from_values(f: &Objective, x: &[f64]) -> Option<Vec<f64>> {
    let n = x.len();
    let h = 1e-4;
    let mut out = vec![0.0; n * n];
    let mut t = x.to_vec();
    let at = |t: &mut Vec<f64>, i: usize, di: f64, j: usize, dj: f64| {
        t[i] += di;
        t[j] += dj;
        let v = f(t, None);
        t[i] = x[i];
        t[j] = x[j];
        v
    };
    for i in 0..n {
        for j in 0..=i {
            let v = (at(&mut t, i, h, j, h) - at(&mut t, i, h, j, -h) - at(&mut t, i, -h, j, h)
                + at(&mut t, i, -h, j, -h))
                / (4.0 * h * h);
            out[i * n + j] = v;
            out[j * n + i] = v;
        }
    }
    out.iter().all(|v| v.is_finite()).then_some(out)
}

/// Cholesky factor L (row-major, lower) of a symmetric positive-definite matrix.
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

fn cholesky_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * x[k]).sum::<f64>()) / l[i * n + i];
    }
    x
}

/// Inverse of a symmetric positive-definite matrix, or `None`.
pub(crate) fn spd_inverse(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let l = cholesky(a, n)?;
    let mut inv = vec![0.0; n * n];
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let col = cholesky_solve(&l, n, &e);
        for i in 0..n {
            inv[i * n + j] = col[i];
        }
    }
    Some(inv)
}

/// Newton steps with a fixed Hessian (computed once at the start), each accepted only if
/// it does not increase f; stops when the step is below 1e-10.
fn newton_polish(f: &Objective, m: &mut Minimum, hess: &[f64]) -> usize {
    let n = m.x.len();
    let Some(l) = cholesky(hess, n) else { return 0 };
    let mut steps = 0;
    let mut g = vec![0.0; n];
    for _ in 0..10 {
        let delta = cholesky_solve(&l, n, &m.gradient);
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..20 {
            let x: Vec<f64> = m.x.iter().zip(&delta).map(|(x, d)| x - t * d).collect();
            let fx = f(&x, Some(&mut g));
            if fx.is_finite() && fx <= m.f + 1e-15 * m.f.abs() {
                m.x = x;
                m.f = fx;
                m.gradient.copy_from_slice(&g);
                moved = true;
                break;
            }
            t *= 0.5;
        }
        steps += 1;
        if !moved || t * max_abs(&delta) < 1e-10 {
            break;
        }
    }
    steps
}

/// Newton's method with the exact Hessian, one pass per step (value, gradient and
/// Hessian together); a step that raises the objective is halved. Stops at a step below
/// 1e-8 in ln(parameters) (quadratic convergence: the point is then right to ~1e-16),
/// or where the Hessian is not positive definite (the caller then falls back on BFGS).
/// Leaves the Hessian at the final point in `m.hessian`.
fn newton(second: &SecondOrder, m: &mut Minimum) -> usize {
    let n = m.x.len();
    let (mut f, mut g, mut h) = second(&m.x);
    if !f.is_finite() {
        return 0;
    }
    let mut steps = 0;
    for _ in 0..50 {
        let Some(l) = cholesky(&h, n) else { break };
        let delta = cholesky_solve(&l, n, &g);
        if max_abs(&delta) < 1e-8 {
            break;
        }
        let mut t = 1.0;
        let mut moved = false;
        for _ in 0..30 {
            let x: Vec<f64> = m.x.iter().zip(&delta).map(|(x, d)| x - t * d).collect();
            let (fx, gx, hx) = second(&x);
            if fx.is_finite() && fx <= f + 1e-15 * f.abs() {
                (m.x, f, g, h) = (x, fx, gx, hx);
                moved = true;
                break;
            }
            t *= 0.5;
        }
        steps += 1;
        if !moved {
            break;
        }
    }
    m.f = f;
    m.gradient = g;
    m.hessian = h.iter().all(|v| v.is_finite()).then_some(h);
    steps
}

/// Fits: BFGS (on `warm`, a subsample, when given; else on `f`), Newton polish on `f`,
/// then the observed information. `start` is in natural parameters; `total` = Σ weights.
pub(crate) fn maximize<M: Parameters>(
    model: &'static str,
    f: &Objective,
    warm: Option<&Objective>,
    start: &[f64],
    total: f64,
    gradient: Gradient,
) -> Result<Fitted<M>, crate::ClvError> {
    let hessian = |x: &[f64]| match gradient {
        Gradient::Numeric => hessian_from_values(f, x),
        Gradient::Exact(second) => {
            let h = second(x).2;
            h.iter().all(|v| v.is_finite()).then_some(h)
        }
    };
    let theta0: Vec<f64> = start.iter().map(|v| v.ln()).collect();
    let not_finite = |theta: &[f64]| crate::ClvError::NotFiniteLikelihood {
        model,
        at: M::NAMES
            .iter()
            .zip(theta)
            .map(|(n, t)| format!("{n} = {:.4}", t.exp()))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut m = match warm {
        Some(w) => {
            // Loose: Newton on the full data finishes what the subsample starts.
            let first = bfgs(w, &theta0, 1e-5, 500).ok_or_else(|| not_finite(&theta0))?;
            if let Gradient::Exact(_) = gradient {
                first // Newton's first pass below evaluates everything on the full data.
            } else {
                let mut g = vec![0.0; theta0.len()];
                let fx = f(&first.x, Some(&mut g));
                if !fx.is_finite() {
                    return Err(not_finite(&first.x));
                }
                Minimum {
                    x: first.x,
                    f: fx,
                    gradient: g,
                    iterations: first.iterations,
                    hessian: None,
                }
            }
        }
        None => bfgs(f, &theta0, 1e-9, 1000).ok_or_else(|| not_finite(&theta0))?,
    };
    let n = theta0.len();
    if let Gradient::Exact(second) = gradient {
        m.iterations += newton(second, &mut m);
    } else if let Some(h) = hessian(&m.x) {
        m.iterations += newton_polish(f, &mut m, &h);
    }
    if warm.is_some() && max_abs(&m.gradient) > 1e-6 {
        // The subsample's optimum was too far for Newton: finish with BFGS on everything.
        let iterations = m.iterations;
        if let Some(again) = bfgs(f, &m.x, 1e-9, 1000) {
            m = again;
            m.iterations += iterations;
        }
    }
    let params: Vec<f64> = m.x.iter().map(|t| t.exp()).collect();
    let max_gradient = max_abs(&m.gradient);
    if !m.f.is_finite() {
        return Err(not_finite(&m.x));
    }
    let covariance = m.hessian.take().or_else(|| hessian(&m.x)).and_then(|h| {
        let scaled: Vec<f64> = h.iter().map(|v| v * total).collect();
        let inv = spd_inverse(&scaled, n)?;
        Some(
            (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| params[i] * inv[i * n + j] * params[j])
                        .collect::<Vec<f64>>()
                })
                .collect::<Vec<_>>(),
        )
    });
    let standard_errors = covariance
        .as_ref()
        .map(|c| M::from_values(&(0..n).map(|i| c[i][i].sqrt()).collect::<Vec<_>>()));
    Ok(Fitted {
        model: M::from_values(&params),
        log_likelihood: -m.f * total,
        standard_errors,
        covariance,
        parameter_names: M::NAMES.iter().map(|s| s.to_string()).collect(),
        observations: total,
        iterations: m.iterations,
        converged: max_gradient < 1e-5,
        max_gradient,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bfgs_finds_a_rosenbrock_minimum() {
        let f = |x: &[f64], g: Option<&mut [f64]>| {
            let (a, b) = (x[0], x[1]);
            if let Some(g) = g {
                g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
                g[1] = 200.0 * (b - a * a);
            }
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let m = bfgs(&f, &[-1.2, 1.0], 1e-10, 1000).unwrap();
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{:?}",
            m.x
        );
    }

    #[test]
    fn inverse_of_spd() {
        let a = [4.0, 1.0, 1.0, 3.0];
        let inv = spd_inverse(&a, 2).unwrap();
        let det = 11.0;
        assert!((inv[0] - 3.0 / det).abs() < 1e-15 && (inv[1] + 1.0 / det).abs() < 1e-15);
        assert!(spd_inverse(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }
}
