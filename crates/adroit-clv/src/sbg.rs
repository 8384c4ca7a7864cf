//! The shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007,
//! "How to Project Customer Retention").
//!
//! Each customer churns at the end of each period with a constant probability θ, and θ
//! varies across customers as Beta(α, β). The mix makes the cohort's retention rate rise
//! over time (the ones likely to leave leave first), which a single churn rate cannot
//! show. With T the period in which a customer churns (paper eq. 1–4):
//!
//! P(T = t) = B(α+1, β+t−1) / B(α, β),   S(t) = B(α, β+t) / B(α, β),
//! r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1).
//!
//! Data: customers still active at the start of periods 0, 1, …, k (period 0 the
//! cohort's size). Those lost in period t contribute ln P(T = t); those still active
//! after k are censored, contributing ln S(k).

use crate::ClvError;
use crate::data::check_non_negative;
use crate::optim::{Fitted, Gradient, Parameters, maximize, numeric_gradient};
use crate::special::ln_beta;
use serde::{Deserialize, Serialize};

/// sBG parameters of the churn probability's Beta(α, β) distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sbg {
    pub alpha: f64,
    pub beta: f64,
}

impl Parameters for Sbg {
    const NAMES: &'static [&'static str] = &["alpha", "beta"];
    fn values(&self) -> Vec<f64> {
        vec![self.alpha, self.beta]
    }
    fn from_values(v: &[f64]) -> Self {
        Sbg {
            alpha: v[0],
            beta: v[1],
        }
    }
}

/// Checks a survivor series: at least two periods, finite, non-negative, a positive
/// cohort size, never increasing.
fn check_alive(alive: &[f64]) -> Result<(), ClvError> {
    if alive.len() < 2 {
        return Err(ClvError::Empty {
            what: "renewal periods after the first (give the cohort size and at least one later count)",
        });
    }
    check_non_negative("alive", alive)?;
    if alive[0] <= 0.0 {
        return Err(ClvError::ZeroWeight);
    }
    if let Some(row) = (1..alive.len()).find(|&t| alive[t] > alive[t - 1]) {
        return Err(ClvError::Inconsistent {
            row,
            message: format!(
                "{} customers are active in period {row} but only {} were in period {}: a cohort \
                 can only shrink",
                alive[row],
                alive[row - 1],
                row - 1
            ),
        });
    }
    Ok(())
}

impl Sbg {
    /// P(T = t), t ≥ 1: the share of the cohort lost in period t.
    pub fn churn_probability(&self, t: usize) -> f64 {
        if t == 0 {
            return 0.0;
        }
        (ln_beta(self.alpha + 1.0, self.beta + t as f64 - 1.0) - ln_beta(self.alpha, self.beta))
            .exp()
    }

    /// S(t) = P(T > t): the share still active after t periods.
    pub fn survival(&self, t: usize) -> f64 {
        (ln_beta(self.alpha, self.beta + t as f64) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// r(t) = S(t) / S(t−1), t ≥ 1: the retention rate of period t.
    pub fn retention_rate(&self, t: usize) -> f64 {
        let t = t.max(1) as f64;
        (self.beta + t - 1.0) / (self.alpha + self.beta + t - 1.0)
    }

    /// Expected active customers of a cohort of `size` at periods 0 … `periods`.
    pub fn project(&self, size: f64, periods: usize) -> Vec<f64> {
        (0..=periods).map(|t| size * self.survival(t)).collect()
    }

    /// The log-likelihood of a survivor series (see the module doc).
    pub fn log_likelihood(&self, alive: &[f64]) -> f64 {
        let k = alive.len() - 1;
        let lost: f64 = (1..=k)
            .map(|t| (alive[t - 1] - alive[t]) * self.churn_probability(t).ln())
            .sum();
        lost + alive[k] * self.survival(k).ln()
    }

    /// Maximum-likelihood fit on the counts active at the start of periods 0, 1, …, k.
    pub fn fit(alive: &[f64]) -> Result<Fitted<Sbg>, ClvError> {
        check_alive(alive)?;
        let total = alive[0];
        let f = numeric_gradient(|theta: &[f64]| {
            let m = Sbg {
                alpha: theta[0].exp(),
                beta: theta[1].exp(),
            };
            let ll = m.log_likelihood(alive);
            if ll.is_finite() {
                -ll / total
            } else {
                f64::INFINITY
            }
        });
        maximize::<Sbg>("sBG", &f, None, &[1.0, 1.0], total, Gradient::Numeric)
    }
}
