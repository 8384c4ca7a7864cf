//! Ridge regression with sign constraints, as Robyn runs glmnet (alpha = 0,
//! `lower.limits = 0` for media): columns standardised, intercept unpenalised,
//! penalty `λ·n·Σβ²/2` on the standardised coefficients.
//!
//! Written here rather than taken from a crate: the problem is a strictly convex
//! quadratic over a box (a handful to a few dozen columns), which cyclic coordinate
//! descent on the Gram matrix solves exactly to any tolerance in microseconds; the
//! general solvers at hand (smartcore, linfa) have no bounds, and a QP crate would be
//! a heavy dependency for a 20×20 problem evaluated ten thousand times per search.

/// Coefficients in the columns' own units.
#[derive(Debug, Clone, PartialEq)]
pub struct Solved {
    pub intercept: f64,
    pub coefs: Vec<f64>,
}

/// Minimises `Σ (y − a − Xb)² / 2 + λ·n·Σ (b_j·sd_j)² / 2` with `b_j ≥ 0` where
/// `nonneg[j]`. Constant columns get coefficient 0.
pub fn fit(columns: &[&[f64]], y: &[f64], lambda: f64, nonneg: &[bool]) -> Result<Solved, String> {
    let n = y.len();
    let p = columns.len();
    if n == 0 {
        return Err("no periods to fit".into());
    }
    if !(lambda.is_finite() && lambda >= 0.0) {
        return Err(format!("ridge penalty must be ≥ 0, got {lambda}"));
    }
    let nf = n as f64;
    let y_mean = y.iter().sum::<f64>() / nf;
    let mut means = vec![0.0; p];
    let mut sds = vec![0.0; p];
    for (j, c) in columns.iter().enumerate() {
        let m = c.iter().sum::<f64>() / nf;
        let v = c.iter().map(|x| (x - m).powi(2)).sum::<f64>() / nf;
        means[j] = m;
        sds[j] = v.sqrt();
    }
    // Gram of the standardised columns and their products with the centred KPI.
    let live: Vec<usize> = (0..p)
        .filter(|&j| sds[j] > 1e-12 * means[j].abs().max(1.0))
        .collect();
    let k = live.len();
    let mut gram = vec![0.0; k * k];
    let mut rhs = vec![0.0; k];
    for (a, &ja) in live.iter().enumerate() {
        let ca = columns[ja];
        for (b, &jb) in live.iter().enumerate().skip(a) {
            let cb = columns[jb];
            let s: f64 = ca
                .iter()
                .zip(cb.iter())
                .map(|(x, z)| (x - means[ja]) * (z - means[jb]))
                .sum::<f64>()
                / (sds[ja] * sds[jb]);
            gram[a * k + b] = s;
            gram[b * k + a] = s;
        }
        rhs[a] = ca
            .iter()
            .zip(y)
            .map(|(x, v)| (x - means[ja]) * (v - y_mean))
            .sum::<f64>()
            / sds[ja];
    }
    for a in 0..k {
        gram[a * k + a] += lambda * nf;
    }
    let beta = coordinate_descent(
        &gram,
        &rhs,
        &live.iter().map(|&j| nonneg[j]).collect::<Vec<_>>(),
    );
    let mut coefs = vec![0.0; p];
    for (a, &j) in live.iter().enumerate() {
        coefs[j] = beta[a] / sds[j];
    }
    let intercept = y_mean - coefs.iter().zip(&means).map(|(b, m)| b * m).sum::<f64>();
    if !intercept.is_finite() || coefs.iter().any(|c| !c.is_finite()) {
        return Err("the regression did not converge to finite coefficients".into());
    }
    Ok(Solved { intercept, coefs })
}

/// [`fit`] from the Gram matrix of augmented rows `[1, x_1 … x_p, y]` (row-major,
/// `(p + 2)²`) instead of the rows: the federated form of the MMM's ridge stage. Data
/// owners (geos, business units) who cannot pool their periods each send the Gram of
/// their transformed design; the sum of those is all the standardised, centred problem
/// needs, so the pooled fit equals [`fit`] on the stacked rows up to rounding.
pub fn fit_gram(gram: &[f64], p: usize, lambda: f64, nonneg: &[bool]) -> Result<Solved, String> {
    let d = p + 2;
    if gram.len() != d * d || nonneg.len() != p {
        return Err(format!(
            "a Gram matrix of {p} columns has {} entries (got {}) and {p} sign flags (got {})",
            d * d,
            gram.len(),
            nonneg.len()
        ));
    }
    if !(lambda.is_finite() && lambda >= 0.0) {
        return Err(format!("ridge penalty must be ≥ 0, got {lambda}"));
    }
    let at = |a: usize, b: usize| gram[a * d + b];
    let nf = at(0, 0);
    if nf.is_nan() || nf < 1.0 {
        return Err("no periods to fit".into());
    }
    let y = p + 1;
    let means: Vec<f64> = (1..=p).map(|j| at(0, j) / nf).collect();
    let y_mean = at(0, y) / nf;
    let sds: Vec<f64> = (0..p)
        .map(|j| {
            (at(j + 1, j + 1) / nf - means[j] * means[j])
                .max(0.0)
                .sqrt()
        })
        .collect();
    let live: Vec<usize> = (0..p)
        .filter(|&j| sds[j] > 1e-12 * means[j].abs().max(1.0))
        .collect();
    let k = live.len();
    let mut g = vec![0.0; k * k];
    let mut rhs = vec![0.0; k];
    for (a, &ja) in live.iter().enumerate() {
        for (b, &jb) in live.iter().enumerate() {
            g[a * k + b] = (at(ja + 1, jb + 1) - nf * means[ja] * means[jb]) / (sds[ja] * sds[jb]);
        }
        rhs[a] = (at(ja + 1, y) - nf * means[ja] * y_mean) / sds[ja];
        g[a * k + a] += lambda * nf;
    }
    let beta = coordinate_descent(
        &g,
        &rhs,
        &live.iter().map(|&j| nonneg[j]).collect::<Vec<_>>(),
    );
    let mut coefs = vec![0.0; p];
    for (a, &j) in live.iter().enumerate() {
        coefs[j] = beta[a] / sds[j];
    }
    let intercept = y_mean - coefs.iter().zip(&means).map(|(b, m)| b * m).sum::<f64>();
    if !intercept.is_finite() || coefs.iter().any(|c| !c.is_finite()) {
        return Err("the regression did not converge to finite coefficients".into());
    }
    Ok(Solved { intercept, coefs })
}

/// Minimises `β'Gβ/2 − r'β` subject to `β_j ≥ 0` where `nonneg[j]`, for a positive
/// definite `G` (k×k, row-major), by cyclic coordinate descent from 0. Each sweep
/// solves one coordinate exactly, so the objective never rises and the iterates
/// converge to the unique optimum; stops when no coordinate moves by more than 1e-12
/// of the largest.
fn coordinate_descent(gram: &[f64], rhs: &[f64], nonneg: &[bool]) -> Vec<f64> {
    let k = rhs.len();
    let mut beta = vec![0.0; k];
    // g = Gβ − r, kept up to date.
    let mut grad: Vec<f64> = rhs.iter().map(|r| -r).collect();
    for _ in 0..10_000 {
        let mut biggest_step: f64 = 0.0;
        let mut biggest: f64 = 0.0;
        for j in 0..k {
            let d = gram[j * k + j];
            if d <= 0.0 {
                continue;
            }
            let mut next = beta[j] - grad[j] / d;
            if nonneg[j] && next < 0.0 {
                next = 0.0;
            }
            let step = next - beta[j];
            if step != 0.0 {
                for i in 0..k {
                    grad[i] += gram[i * k + j] * step;
                }
                beta[j] = next;
            }
            biggest_step = biggest_step.max(step.abs());
            biggest = biggest.max(next.abs());
        }
        if biggest_step <= 1e-12 * biggest.max(1e-300) {
            break;
        }
    }
    beta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_penalty_recovers_ordinary_least_squares() {
        // y = 3 + 2·x1 − 1.5·x2 exactly.
        let x1: Vec<f64> = (0..20)
            .map(|i| (i as f64 * 0.37).sin() + i as f64 * 0.1)
            .collect();
        let x2: Vec<f64> = (0..20).map(|i| (i as f64 * 0.91).cos()).collect();
        let y: Vec<f64> = x1
            .iter()
            .zip(&x2)
            .map(|(a, b)| 3.0 + 2.0 * a - 1.5 * b)
            .collect();
        let s = fit(&[&x1, &x2], &y, 0.0, &[false, false]).unwrap();
        assert!((s.intercept - 3.0).abs() < 1e-8, "{s:?}");
        assert!((s.coefs[0] - 2.0).abs() < 1e-8 && (s.coefs[1] + 1.5).abs() < 1e-8);
    }

    #[test]
    fn a_nonnegative_coefficient_stops_at_zero_and_the_rest_refit() {
        let x1: Vec<f64> = (0..30).map(|i| (i as f64 * 0.37).sin()).collect();
        let x2: Vec<f64> = (0..30).map(|i| (i as f64 * 0.91).cos()).collect();
        // The true x1 effect is negative; constrained to ≥ 0 it must be exactly 0 and
        // x2's coefficient then equals the one-variable least-squares slope.
        let y: Vec<f64> = x1
            .iter()
            .zip(&x2)
            .map(|(a, b)| 1.0 - 2.0 * a + 0.5 * b)
            .collect();
        let s = fit(&[&x1, &x2], &y, 0.0, &[true, false]).unwrap();
        assert_eq!(s.coefs[0], 0.0);
        let m2 = x2.iter().sum::<f64>() / 30.0;
        let my = y.iter().sum::<f64>() / 30.0;
        let slope = x2
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - m2) * (b - my))
            .sum::<f64>()
            / x2.iter().map(|a| (a - m2).powi(2)).sum::<f64>();
        assert!(
            (s.coefs[1] - slope).abs() < 1e-9,
            "{} vs {slope}",
            s.coefs[1]
        );
    }

    /// The Gram of augmented rows `[1, x…, y]` of `rows` (a site's periods).
    fn gram_of(columns: &[&[f64]], y: &[f64], rows: std::ops::Range<usize>) -> Vec<f64> {
        let d = columns.len() + 2;
        let mut g = vec![0.0; d * d];
        for i in rows {
            let r: Vec<f64> = std::iter::once(1.0)
                .chain(columns.iter().map(|c| c[i]))
                .chain(std::iter::once(y[i]))
                .collect();
            for a in 0..d {
                for b in 0..d {
                    g[a * d + b] += r[a] * r[b];
                }
            }
        }
        g
    }

    #[test]
    fn sites_gram_matrices_give_the_pooled_fit() {
        // Three sites (e.g. geos) of a KPI in the hundreds of thousands with saturated
        // media columns and a control; one media effect is negative in truth, so the
        // sign constraint binds, and the penalty is on.
        let n = 156;
        let tv: Vec<f64> = (0..n)
            .map(|i| 1.0 - (-(i as f64 * 0.13).sin().abs() * 3.0).exp())
            .collect();
        let search: Vec<f64> = (0..n)
            .map(|i| 0.5 + 0.4 * (i as f64 * 0.71).cos())
            .collect();
        let price: Vec<f64> = (0..n).map(|i| 9.0 + (i % 7) as f64 * 0.3).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                400_000.0 + 90_000.0 * tv[i] - 20_000.0 * search[i] - 8_000.0 * price[i]
                    + 3_000.0 * (i as f64 * 2.3).sin()
            })
            .collect();
        let cols: [&[f64]; 3] = [&tv, &search, &price];
        let nonneg = [true, true, false];
        for lambda in [0.0, 0.05] {
            let whole = fit(&cols, &y, lambda, &nonneg).unwrap();
            let mut pooled = vec![0.0; 25];
            for part in [0..40, 40..101, 101..n] {
                for (a, b) in pooled.iter_mut().zip(gram_of(&cols, &y, part)) {
                    *a += b;
                }
            }
            let fed = fit_gram(&pooled, 3, lambda, &nonneg).unwrap();
            assert_eq!(fed.coefs[1], 0.0, "search's negative effect is held at 0");
            assert!((fed.intercept - whole.intercept).abs() <= 1e-9 * whole.intercept.abs());
            for (a, b) in fed.coefs.iter().zip(&whole.coefs) {
                assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
        assert!(fit_gram(&[1.0; 9], 3, 0.0, &nonneg).is_err());
    }

    #[test]
    fn the_penalty_matches_the_closed_form_on_one_column() {
        // One standardised column: β_std = r / (n + λn) ⇒ shrinks by 1/(1+λ).
        let x: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
        let s = fit(&[&x], &y, 1.0, &[false]).unwrap();
        assert!((s.coefs[0] - 1.0).abs() < 1e-10, "{s:?}");
        let constant = vec![5.0; 10];
        let s = fit(&[&x, &constant], &y, 0.0, &[false, true]).unwrap();
        assert_eq!(s.coefs[1], 0.0);
        assert!(fit(&[&x], &y, f64::NAN, &[false]).is_err());
    }
}
