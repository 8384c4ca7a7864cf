//! The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), in the formulation of
//! Fader, Hardie & Lee's note "A Note on Deriving the Pareto/NBD Model and Related
//! Expressions" (2005), which lifetimes implements.
//!
//! While alive a customer buys at Poisson rate λ ~ Gamma(r, α); their lifetime is
//! exponential with rate μ ~ Gamma(s, β), so dropout can happen at any moment (not only
//! after purchases, as in the BG/NBD). Per customer (note eq. 18–20):
//!
//! L = Γ(r+x) αʳ βˢ / Γ(r) · [ 1/((α+T)^{r+x} (β+T)ˢ) + s/(r+s+x) · A₀ ],
//! A₀ = ₂F₁(r+s+x, b; r+s+x+1; |α−β|/(m+t_x)) / (m+t_x)^{r+s+x}
//!    − ₂F₁(r+s+x, b; r+s+x+1; |α−β|/(m+T)) / (m+T)^{r+s+x},
//!
//! with m = max(α, β) and b = s+1 when α ≥ β, b = r+x otherwise, so the argument stays in
//! [0, 1). [`crate::special::ln_hyp2f1`] evaluates ₂F₁ in logarithms with the standard
//! transformations, and A₀'s difference is taken as e^{l₁}(1 − e^{l₂−l₁}) with expm1.

use crate::ClvError;
use crate::bgnbd::{WARM_ABOVE, WARM_SAMPLE, log_add_exp};
use crate::clv::PurchaseModel;
use crate::data::Rfm;
use crate::optim::{Fitted, Gradient, Parameters, maximize, numeric_gradient};
use crate::par::chunked_sum;
use crate::special::{ln_gamma, ln_hyp2f1};
use serde::{Deserialize, Serialize};

/// Pareto/NBD parameters: r, α (purchase rates) and s, β (lifetimes), time in the data's
/// unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ParetoNbd {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

impl Parameters for ParetoNbd {
    const NAMES: &'static [&'static str] = &["r", "alpha", "s", "beta"];
    fn values(&self) -> Vec<f64> {
        vec![self.r, self.alpha, self.s, self.beta]
    }
    fn from_values(v: &[f64]) -> Self {
        ParetoNbd {
            r: v[0],
            alpha: v[1],
            s: v[2],
            beta: v[3],
        }
    }
}

impl ParetoNbd {
    /// ln A₀ (−∞ when t_x = T, where A₀ = 0; NaN if ₂F₁ fails).
    fn ln_a0(&self, x: f64, t_x: f64, age: f64) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let (max, b) = if alpha >= beta {
            (alpha, s + 1.0)
        } else {
            (beta, r + x)
        };
        let gap = (alpha - beta).abs();
        let rsx = r + s + x;
        let term = |t: f64| {
            ln_hyp2f1(rsx, b, rsx + 1.0, gap / (max + t)).map(|f| f - rsx * (max + t).ln())
        };
        let (Some(l1), Some(l2)) = (term(t_x), term(age)) else {
            return f64::NAN;
        };
        if l2 >= l1 {
            return f64::NEG_INFINITY;
        }
        l1 + (-(l2 - l1).exp_m1()).ln()
    }

    /// ln L of one customer.
    pub fn customer_log_likelihood(&self, x: f64, t_x: f64, age: f64) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
        let alive_to_t = -(r + x) * (alpha + age).ln() - s * (beta + age).ln();
        let died = s.ln() + self.ln_a0(x, t_x, age) - (r + s + x).ln();
        a1 + log_add_exp(alive_to_t, died)
    }

    /// Σ wᵢ ln Lᵢ.
    pub fn log_likelihood(&self, data: &Rfm) -> f64 {
        chunked_sum::<1, _>(data.len(), |rows| {
            [rows
                .map(|i| {
                    data.weight(i)
                        * self.customer_log_likelihood(
                            data.frequency[i],
                            data.recency[i],
                            data.age[i],
                        )
                })
                .sum()]
        })[0]
    }

    /// Maximum-likelihood fit (numerical gradient: ₂F₁'s parameter derivatives are not
    /// worth their code here).
    pub fn fit(data: &Rfm) -> Result<Fitted<ParetoNbd>, ClvError> {
        let total = data.total_weight();
        let mean_nll = |d: &Rfm, total: f64, theta: &[f64]| {
            let m = ParetoNbd::from_values(&theta.iter().map(|t| t.exp()).collect::<Vec<_>>());
            if !m.values().iter().all(|v| v.is_finite() && *v > 0.0) {
                return f64::INFINITY;
            }
            let ll = m.log_likelihood(d);
            if ll.is_nan() {
                f64::INFINITY
            } else {
                -ll / total
            }
        };
        let f = numeric_gradient(|theta: &[f64]| mean_nll(data, total, theta));
        let sample = (data.len() > WARM_ABOVE).then(|| data.stride(data.len() / WARM_SAMPLE));
        let warm_data = sample.as_ref().map(|(x, t, a, w)| Rfm {
            frequency: x,
            recency: t,
            age: a,
            weights: w.as_deref(),
        });
        let warm = warm_data.as_ref().map(|d| {
            let sub_total = d.total_weight();
            numeric_gradient(move |theta: &[f64]| mean_nll(d, sub_total, theta))
        });
        let (mut xs, mut ts) = (0.0, 0.0);
        for i in 0..data.len() {
            xs += data.weight(i) * data.frequency[i];
            ts += data.weight(i) * data.age[i];
        }
        let alpha = if xs > 0.0 && ts > 0.0 {
            (ts / xs).clamp(1e-3, 1e6)
        } else {
            1.0
        };
        let beta = (ts / total).clamp(1e-3, 1e6);
        maximize::<ParetoNbd>(
            "Pareto/NBD",
            &f,
            warm.as_ref().map(|w| w as &crate::optim::Objective),
            &[1.0, alpha, 1.0, beta],
            total,
            Gradient::Numeric,
        )
    }
}

/// (1 − q^{s−1}) / (s − 1) for 0 < q ≤ 1, continuous at s = 1 (= −ln q).
fn power_difference(ln_q: f64, s: f64) -> f64 {
    let u = (s - 1.0) * ln_q;
    if (s - 1.0).abs() < 1e-10 {
        -ln_q
    } else {
        -u.exp_m1() / (s - 1.0)
    }
}

impl PurchaseModel for ParetoNbd {
    /// Note eq. 36–37: 1 / (1 + s/(r+s+x) · (α+T)^{r+x} (β+T)ˢ A₀).
    fn probability_alive(&self, x: f64, t_x: f64, age: f64) -> f64 {
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let ln_odds = s.ln() - (r + s + x).ln()
            + (r + x) * (alpha + age).ln()
            + s * (beta + age).ln()
            + self.ln_a0(x, t_x, age);
        1.0 / (1.0 + ln_odds.exp())
    }

    /// Note eq. 41: P(alive) · (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^{s−1}].
    fn expected_purchases(&self, t: f64, x: f64, t_x: f64, age: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let (r, alpha, s, beta) = (self.r, self.alpha, self.s, self.beta);
        let ll = self.customer_log_likelihood(x, t_x, age);
        let first = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln()
            - (r + x) * (alpha + age).ln()
            - s * (beta + age).ln();
        let second = (r + x).ln() + (beta + age).ln() - (alpha + age).ln();
        let third = power_difference(((beta + age) / (beta + age + t)).ln(), s).ln();
        (first + second + third - ll).exp()
    }

    /// Note eq. 27: rβ / (α(s−1)) · [1 − (β/(β+t))^{s−1}].
    fn expected_purchases_new(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        self.r * self.beta / self.alpha
            * power_difference((self.beta / (self.beta + t)).ln(), self.s)
    }
}
