//! Customers who buy repeatedly: purchase counts from a BG/NBD process and spend from
//! the Gamma-Gamma model, so CLV estimators can be checked against the parameters.
//!
//! Per customer (time in weeks): purchase rate λ ~ Gamma(r, α) (shape, rate); after
//! each purchase the customer drops out with probability p ~ Beta(a, b); while alive,
//! purchases arrive as a Poisson process with rate λ. Each purchase's value is
//! Gamma(p_gg, ν) (shape, rate) with ν ~ Gamma(q, γ), so a customer's mean value is
//! p_gg / ν.

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp, Gamma};
use serde::{Deserialize, Serialize};

/// BG/NBD and Gamma-Gamma parameters, in weeks. Defaults are the published CDNOW
/// estimates (Fader, Hardie & Lee 2005: r 0.243, α 4.414, a 0.793, b 2.426;
/// Gamma-Gamma p 6.25, q 3.74, γ 15.44).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CustomerParams {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    /// Gamma-Gamma shape of each transaction's value (called p in the literature).
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

impl Default for CustomerParams {
    fn default() -> Self {
        Self {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        }
    }
}

/// One customer's true latent values and what they did.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerTruth {
    pub id: String,
    pub first_purchase: NaiveDate,
    /// Purchases per week while alive.
    pub lambda: f64,
    /// Probability of dropping out after each purchase.
    pub dropout: f64,
    /// Gamma-Gamma rate: mean purchase value is p / nu.
    pub nu: f64,
    pub alive_at_end: bool,
    /// Purchases in the world, the first included.
    pub purchases: usize,
    pub acquisition_channel: String,
}

/// One purchase.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub customer_id: String,
    pub order_id: String,
    pub timestamp: chrono::NaiveDateTime,
    pub amount: f64,
    pub channel: String,
}

/// Customers acquired uniformly over the first half of the world, each followed to its end.
pub fn simulate_customers(
    params: &CustomerParams,
    count: usize,
    start: NaiveDate,
    days: usize,
    channels: &[(String, f64)],
    rng: &mut ChaCha8Rng,
) -> (Vec<CustomerTruth>, Vec<Transaction>) {
    let lambda_dist = Gamma::new(params.r, 1.0 / params.alpha).expect("valid BG/NBD r, alpha");
    let dropout_dist = Beta::new(params.a, params.b).expect("valid BG/NBD a, b");
    let nu_dist = Gamma::new(params.q, 1.0 / params.gamma).expect("valid Gamma-Gamma q, gamma");
    let end_weeks = days as f64 / 7.0;
    let total_share: f64 = channels.iter().map(|(_, s)| s).sum();
    let mut customers = Vec::with_capacity(count);
    let mut transactions = Vec::new();
    for k in 0..count {
        let id = format!("C{:06}", k + 1);
        let lambda: f64 = lambda_dist.sample(rng);
        let dropout: f64 = dropout_dist.sample(rng);
        let nu: f64 = nu_dist.sample(rng);
        let value_dist = Gamma::new(params.p, 1.0 / nu).expect("valid Gamma-Gamma p");
        let channel = pick(
            channels,
            rng.random_range(0.0..total_share.max(f64::MIN_POSITIVE)),
        );
        let first = rng.random_range(0.0..end_weeks / 2.0);
        let mut t = first;
        let mut alive = true;
        let mut purchases = 0;
        loop {
            purchases += 1;
            transactions.push(Transaction {
                customer_id: id.clone(),
                order_id: format!("O{:07}", transactions.len() + 1),
                timestamp: at(start, t),
                amount: (value_dist.sample(rng) * 100.0).round() / 100.0,
                channel: channel.clone(),
            });
            if rng.random_bool(dropout) {
                alive = false;
                break;
            }
            // A rate too small to ever buy again stays alive without purchases.
            if lambda <= 1e-12 {
                break;
            }
            t += Exp::new(lambda).expect("positive rate").sample(rng);
            if t >= end_weeks {
                break;
            }
        }
        customers.push(CustomerTruth {
            id,
            first_purchase: at(start, first).date(),
            lambda,
            dropout,
            nu,
            alive_at_end: alive,
            purchases,
            acquisition_channel: channel,
        });
    }
    transactions.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then(a.order_id.cmp(&b.order_id))
    });
    (customers, transactions)
}

fn pick(channels: &[(String, f64)], mut u: f64) -> String {
    for (name, share) in channels {
        if u < *share {
            return name.clone();
        }
        u -= share;
    }
    channels
        .last()
        .map_or_else(|| "organic".to_string(), |(n, _)| n.clone())
}

/// The moment `weeks` after the start, to the second.
fn at(start: NaiveDate, weeks: f64) -> chrono::NaiveDateTime {
    let seconds = (weeks * 7.0 * 86_400.0).floor() as i64;
    start.and_hms_opt(0, 0, 0).expect("midnight") + chrono::Duration::seconds(seconds)
}
