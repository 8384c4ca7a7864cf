//! The BG/BB model (Fader, Hardie & Shang 2010, "Customer-Base Analysis in a
//! Discrete-Time Noncontractual Setting"): customers who can act only at discrete
//! opportunities (a yearly fund drive, an annual event).
//!
//! At each opportunity an alive customer transacts with probability p ~ Beta(α, β); before
//! each opportunity an alive customer dies with probability θ ~ Beta(γ, δ). For x
//! transactions in n opportunities, the last at t_x (paper eq. 5):
//!
//! L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
//!   + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ),
//!
//! the sum's terms by recurrence (each the previous times two ratios).

use crate::ClvError;
use crate::bgnbd::log_add_exp;
use crate::data::Discrete;
use crate::optim::{Fitted, Gradient, Parameters, maximize, numeric_gradient};
use crate::par::chunked_sum;
use crate::special::{ln_beta, ln_gamma};
use serde::{Deserialize, Serialize};

/// BG/BB parameters: α, β (transaction probability) and γ, δ (dropout probability).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgBb {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub delta: f64,
}

impl Parameters for BgBb {
    const NAMES: &'static [&'static str] = &["alpha", "beta", "gamma", "delta"];
    fn values(&self) -> Vec<f64> {
        vec![self.alpha, self.beta, self.gamma, self.delta]
    }
    fn from_values(v: &[f64]) -> Self {
        BgBb {
            alpha: v[0],
            beta: v[1],
            gamma: v[2],
            delta: v[3],
        }
    }
}

impl BgBb {
    /// ln L of one pattern (x transactions in n opportunities, the last at t_x).
    pub fn customer_log_likelihood(&self, x: f64, t_x: f64, n: f64) -> f64 {
        let (a, b, g, d) = (self.alpha, self.beta, self.gamma, self.delta);
        let base = ln_beta(a, b) + ln_beta(g, d);
        let alive = ln_beta(a + x, b + n - x) + ln_beta(g, d + n) - base;
        let terms = (n - t_x) as usize;
        if terms == 0 {
            return alive;
        }
        let first = ln_beta(a + x, b + t_x - x) + ln_beta(g + 1.0, d + t_x) - base;
        let (mut sum, mut term) = (1.0, 1.0);
        for i in 0..terms - 1 {
            let i = i as f64;
            term *= (b + t_x - x + i) / (a + b + t_x + i) * (d + t_x + i) / (g + 1.0 + d + t_x + i);
            sum += term;
        }
        log_add_exp(alive, first + sum.ln())
    }

    /// Σ wᵢ ln Lᵢ.
    pub fn log_likelihood(&self, data: &Discrete) -> f64 {
        chunked_sum::<1, _>(data.len(), |rows| {
            [rows
                .map(|i| {
                    data.weight(i)
                        * self.customer_log_likelihood(
                            data.frequency[i],
                            data.recency[i],
                            data.periods[i],
                        )
                })
                .sum()]
        })[0]
    }

    /// Maximum-likelihood fit over the weighted patterns.
    pub fn fit(data: &Discrete) -> Result<Fitted<BgBb>, ClvError> {
        let total = data.total_weight();
        let f = numeric_gradient(|theta: &[f64]| {
            let m = BgBb::from_values(&theta.iter().map(|t| t.exp()).collect::<Vec<_>>());
            if !m.values().iter().all(|v| v.is_finite() && *v > 0.0) {
                return f64::INFINITY;
            }
            let ll = m.log_likelihood(data);
            if ll.is_nan() {
                f64::INFINITY
            } else {
                -ll / total
            }
        });
        maximize::<BgBb>(
            "BG/BB",
            &f,
            None,
            &[1.0, 1.0, 1.0, 1.0],
            total,
            Gradient::Numeric,
        )
    }

    /// P(alive at opportunity n + m | x, t_x, n); m = 1 is the paper's "alive in the next
    /// period" (eq. 11), lifetimes' `conditional_probability_alive(m, …)`.
    pub fn probability_alive(&self, m: f64, x: f64, t_x: f64, n: f64) -> f64 {
        let (a, b, g, d) = (self.alpha, self.beta, self.gamma, self.delta);
        (ln_beta(a + x, b + n - x) - ln_beta(a, b) + ln_beta(g, d + n + m)
            - ln_beta(g, d)
            - self.customer_log_likelihood(x, t_x, n))
        .exp()
    }

    /// E[transactions in opportunities n+1 … n+n* | x, t_x, n] (paper eq. 13).
    pub fn expected_purchases(&self, n_star: f64, x: f64, t_x: f64, n: f64) -> f64 {
        if (self.gamma - 1.0).abs() < 1e-7 {
            let lo = BgBb {
                gamma: 1.0 - 1e-6,
                ..*self
            }
            .expected_purchases(n_star, x, t_x, n);
            let hi = BgBb {
                gamma: 1.0 + 1e-6,
                ..*self
            }
            .expected_purchases(n_star, x, t_x, n);
            return 0.5 * (lo + hi);
        }
        let (a, b, g, d) = (self.alpha, self.beta, self.gamma, self.delta);
        let lead = (ln_beta(a + x + 1.0, b + n - x) - ln_beta(a, b) + ln_gamma(g + d)
            - ln_gamma(1.0 + d)
            - self.customer_log_likelihood(x, t_x, n))
        .exp()
            * d
            / (g - 1.0);
        let now = ln_gamma(1.0 + d + n) - ln_gamma(g + d + n);
        let later = ln_gamma(1.0 + d + n + n_star) - ln_gamma(g + d + n + n_star);
        lead * now.exp() * -(later - now).exp_m1()
    }

    /// E[transactions in the first n opportunities] of a new customer (paper eq. 8).
    pub fn expected_purchases_new(&self, n: f64) -> f64 {
        if (self.gamma - 1.0).abs() < 1e-7 {
            let lo = BgBb {
                gamma: 1.0 - 1e-6,
                ..*self
            }
            .expected_purchases_new(n);
            let hi = BgBb {
                gamma: 1.0 + 1e-6,
                ..*self
            }
            .expected_purchases_new(n);
            return 0.5 * (lo + hi);
        }
        let (a, b, g, d) = (self.alpha, self.beta, self.gamma, self.delta);
        let u = ln_gamma(g + d) - ln_gamma(g + d + n) + ln_gamma(1.0 + d + n) - ln_gamma(1.0 + d);
        a / (a + b) * d / (g - 1.0) * -u.exp_m1()
    }

    /// P(a new customer is still alive at opportunity t) = B(γ, δ+t)/B(γ, δ): the
    /// cohort's survival curve.
    pub fn survival(&self, t: f64) -> f64 {
        (ln_beta(self.gamma, self.delta + t) - ln_beta(self.gamma, self.delta)).exp()
    }

    /// Expected survivors of a cohort of `size` at opportunities 0 … `periods`.
    pub fn project_survivors(&self, size: f64, periods: usize) -> Vec<f64> {
        (0..=periods)
            .map(|t| size * self.survival(t as f64))
            .collect()
    }
}
