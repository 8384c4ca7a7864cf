//! The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005b, "RFM and
//! CLV: Using Iso-Value Curves"; Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary
//! Value").
//!
//! Each transaction's value is Gamma(p, ν) (shape, rate) around the customer's mean p/ν;
//! across customers ν ~ Gamma(q, v). What a customer has spent on average over x repeat
//! purchases (m̄) then shrinks towards the population mean p·v/(q − 1) in proportion to
//! how little evidence x purchases give. The model assumes spend is independent of the
//! purchase process, so it combines with any [`crate::PurchaseModel`].
//!
//! Likelihood of a customer with x > 0 (lifetimes' `_negative_log_likelihood`):
//! ln L = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln v + (px−1) ln m̄ + px ln x − (px+q) ln(x m̄ + v).

use crate::ClvError;
use crate::bgnbd::{WARM_ABOVE, WARM_SAMPLE};
use crate::data::Spend;
use crate::optim::{Fitted, Gradient, Parameters, maximize};
use crate::par::chunked_sum;
use crate::special::{digamma, ln_gamma, trigamma};
use serde::{Deserialize, Serialize};

/// Gamma-Gamma parameters: p (shape of a transaction's value), q and v (shape and rate
/// of the customers' ν).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

impl Parameters for GammaGamma {
    const NAMES: &'static [&'static str] = &["p", "q", "v"];
    fn values(&self) -> Vec<f64> {
        vec![self.p, self.q, self.v]
    }
    fn from_values(v: &[f64]) -> Self {
        GammaGamma {
            p: v[0],
            q: v[1],
            v: v[2],
        }
    }
}

fn customer_ll(p: f64, q: f64, v: f64, x: f64, m: f64) -> f64 {
    let px = p * x;
    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln() + (px - 1.0) * m.ln() + px * x.ln()
        - (px + q) * (x * m + v).ln()
}

/// What the likelihood needs of the repeat buyers beyond one pass: weights per whole
/// frequency (the gamma-function terms depend only on x) and Σ w ln m̄, Σ w x ln m̄,
/// which do not depend on the parameters.
struct Prepared {
    by_x: Vec<f64>,
    sum_ln_m: f64,
    sum_x_ln_m: f64,
    total: f64,
}

impl Prepared {
    fn new(data: &Spend) -> Prepared {
        let max_x = data.frequency.iter().fold(0.0f64, |m, x| m.max(*x)) as usize;
        let mut p = Prepared {
            by_x: vec![0.0; max_x + 1],
            sum_ln_m: 0.0,
            sum_x_ln_m: 0.0,
            total: 0.0,
        };
        for i in 0..data.len() {
            let x = data.frequency[i];
            if x > 0.0 {
                let w = data.weight(i);
                let lm = data.monetary[i].ln();
                p.by_x[x as usize] += w;
                p.sum_ln_m += w * lm;
                p.sum_x_ln_m += w * x * lm;
                p.total += w;
            }
        }
        p
    }
}

/// Mean negative log-likelihood over θ = ln(p, q, v), its gradient and Hessian in θ, in
/// one pass (one logarithm per buyer).
fn second_order(data: &Spend, prep: &Prepared, theta: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
    let (p, q, v) = (theta[0].exp(), theta[1].exp(), theta[2].exp());
    if ![p, q, v].iter().all(|t| t.is_finite() && *t > 0.0) {
        return (f64::INFINITY, vec![0.0; 3], vec![0.0; 9]);
    }
    // x-only terms: ln Γ(px+q) − ln Γ(px) + px ln x, and their derivatives.
    let (mut ll, mut gp, mut gq) = (0.0, 0.0, 0.0);
    let (mut hpp, mut hpq, mut hqq) = (0.0, 0.0, 0.0);
    let (ln_gamma_q, psi_q, tri_q) = (ln_gamma(q), digamma(q), trigamma(q));
    for (x, w) in prep.by_x.iter().enumerate() {
        if *w == 0.0 {
            continue;
        }
        let x = x as f64;
        let (px, ln_x) = (p * x, x.ln());
        let (psi_s, psi_px) = (digamma(px + q), digamma(px));
        let (tri_s, tri_px) = (trigamma(px + q), trigamma(px));
        ll += w * (ln_gamma(px + q) - ln_gamma(px) - ln_gamma_q + q * v.ln() + px * ln_x);
        gp += w * x * (psi_s - psi_px + ln_x);
        gq += w * (psi_s - psi_q + v.ln());
        hpp += w * x * x * (tri_s - tri_px);
        hpq += w * x * tri_s;
        hqq += w * (tri_s - tri_q);
    }
    // (px − 1) ln m̄ summed without a pass.
    ll += p * prep.sum_x_ln_m - prep.sum_ln_m;
    gp += prep.sum_x_ln_m;
    // −(px+q) ln(x m̄ + v): one logarithm per buyer.
    let s = chunked_sum::<6, _>(data.len(), |rows| {
        let mut s = [0.0; 6];
        for i in rows {
            let x = data.frequency[i];
            if x <= 0.0 {
                continue;
            }
            let w = data.weight(i);
            let u = x * data.monetary[i] + v;
            let (l, inv) = (u.ln(), 1.0 / u);
            s[0] += w * x * l;
            s[1] += w * l;
            s[2] += w * x * inv;
            s[3] += w * inv;
            s[4] += w * x * inv * inv;
            s[5] += w * inv * inv;
        }
        s
    });
    let total = prep.total;
    ll -= p * s[0] + q * s[1];
    gp -= s[0];
    gq -= s[1];
    let gv = q * total / v - (p * s[2] + q * s[3]);
    let hpv = -s[2];
    let hqv = total / v - s[3];
    let hvv = -q * total / (v * v) + p * s[4] + q * s[5];
    // To θ = ln(p, q, v) and the mean negative log-likelihood.
    let par = [p, q, v];
    let g = [gp, gq, gv];
    let h = [[hpp, hpq, hpv], [hpq, hqq, hqv], [hpv, hqv, hvv]];
    let scale = -1.0 / total;
    let grad: Vec<f64> = (0..3).map(|i| scale * par[i] * g[i]).collect();
    let mut hess = vec![0.0; 9];
    for i in 0..3 {
        for j in 0..3 {
            hess[i * 3 + j] = scale * par[i] * par[j] * h[i][j];
        }
        hess[i * 3 + i] += grad[i];
    }
    (scale * ll, grad, hess)
}

impl GammaGamma {
    /// Maximum-likelihood fit on the repeat buyers (rows with x = 0 are skipped).
    pub fn fit(data: &Spend) -> Result<Fitted<GammaGamma>, ClvError> {
        let (mut total, mut spend) = (0.0, 0.0);
        for i in 0..data.len() {
            if data.frequency[i] > 0.0 {
                total += data.weight(i);
                spend += data.weight(i) * data.monetary[i];
            }
        }
        if total <= 0.0 {
            return Err(ClvError::ZeroWeight);
        }
        // Start where the population mean p·v/(q−1) equals the observed mean.
        let start = [1.0, 3.0, 2.0 * spend / total];
        let prep = Prepared::new(data);
        let exact = |theta: &[f64]| second_order(data, &prep, theta);
        let f = |theta: &[f64], g: Option<&mut [f64]>| {
            let (value, grad, _) = exact(theta);
            if let Some(out) = g {
                out.copy_from_slice(&grad);
            }
            value
        };
        // Large inputs: BFGS on a strided subsample first, then Newton on everyone.
        let sample = (data.len() > WARM_ABOVE).then(|| {
            let step = data.len() / WARM_SAMPLE;
            let pick = |v: &[f64]| v.iter().step_by(step).copied().collect::<Vec<f64>>();
            (
                pick(data.frequency),
                pick(data.monetary),
                data.weights.map(pick),
            )
        });
        let warm_data = sample.as_ref().map(|(x, m, w)| Spend {
            frequency: x,
            monetary: m,
            weights: w.as_deref(),
        });
        let warm_prep = warm_data.as_ref().map(Prepared::new);
        let warm = warm_data.as_ref().zip(warm_prep.as_ref()).map(|(d, p)| {
            move |theta: &[f64], g: Option<&mut [f64]>| {
                let (value, grad, _) = second_order(d, p, theta);
                if let Some(out) = g {
                    out.copy_from_slice(&grad);
                }
                value
            }
        });
        if warm_prep.as_ref().is_some_and(|p| p.total <= 0.0) {
            return maximize::<GammaGamma>(
                "Gamma-Gamma",
                &f,
                None,
                &start,
                total,
                Gradient::Exact(&exact),
            );
        }
        maximize::<GammaGamma>(
            "Gamma-Gamma",
            &f,
            warm.as_ref().map(|w| w as &crate::optim::Objective),
            &start,
            total,
            Gradient::Exact(&exact),
        )
    }

    /// Σ wᵢ ln Lᵢ over the repeat buyers.
    pub fn log_likelihood(&self, data: &Spend) -> f64 {
        (0..data.len())
            .filter(|&i| data.frequency[i] > 0.0)
            .map(|i| {
                data.weight(i)
                    * customer_ll(self.p, self.q, self.v, data.frequency[i], data.monetary[i])
            })
            .sum()
    }

    /// The population mean spend per transaction, p·v/(q − 1) (infinite when q ≤ 1).
    pub fn mean_spend(&self) -> f64 {
        if self.q > 1.0 {
            self.p * self.v / (self.q - 1.0)
        } else {
            f64::INFINITY
        }
    }

    /// E[spend per transaction | x, m̄]: the weighted average of the population mean and
    /// the customer's own mean, weight px / (px + q − 1) on the latter (lifetimes'
    /// `conditional_expected_average_profit`). Customers with x = 0 get the population
    /// mean.
    pub fn conditional_expected_spend(&self, frequency: f64, monetary: f64) -> f64 {
        let population = self.mean_spend();
        if frequency <= 0.0 {
            return population;
        }
        let w = self.p * frequency / (self.p * frequency + self.q - 1.0);
        (1.0 - w) * population + w * monetary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_derivatives_match_differences() {
        let (x, m, w) = (
            [1.0, 2.0, 0.0, 5.0, 1.0],
            [10.0, 31.5, 0.0, 22.0, 4.0],
            [1.0, 2.0, 1.0, 0.5, 3.0],
        );
        let data = Spend::new(&x, &m).unwrap().with_weights(&w).unwrap();
        let prep = Prepared::new(&data);
        let theta = [1.2f64, 0.9, 2.1];
        let (f, g, h) = second_order(&data, &prep, &theta);
        let direct = -GammaGamma {
            p: theta[0].exp(),
            q: theta[1].exp(),
            v: theta[2].exp(),
        }
        .log_likelihood(&data)
            / 6.5;
        assert!((f - direct).abs() < 1e-12, "{f} vs {direct}");
        for i in 0..3 {
            let (mut up, mut down) = (theta, theta);
            // Step 1e-4: truncation ~4e-9 here, rounding of the (cancelling) sums ~1e-10.
            up[i] += 1e-4;
            down[i] -= 1e-4;
            let (fu, gu, _) = second_order(&data, &prep, &up);
            let (fd, gd, _) = second_order(&data, &prep, &down);
            assert!(
                ((fu - fd) / 2e-4 - g[i]).abs() < 1e-7,
                "g[{i}]: {} vs {}",
                (fu - fd) / 2e-4,
                g[i]
            );
            for j in 0..3 {
                let num = (gu[j] - gd[j]) / 2e-4;
                assert!(
                    (num - h[i * 3 + j]).abs() < 1e-6,
                    "H[{i}][{j}]: {num} vs {}",
                    h[i * 3 + j]
                );
            }
        }
    }
}
