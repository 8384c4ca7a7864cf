//! Predictions per customer and customer lifetime value.
//!
//! CLV follows lifetimes' `customer_lifetime_value` (`utils._customer_lifetime_value`):
//! the horizon is cut into `periods` steps of `period_length` time units; in step i the
//! customer is expected to make E[Y(i·L)] − E[Y((i−1)·L)] purchases, each worth the
//! Gamma-Gamma conditional expected spend, discounted by (1 + d)^i:
//!
//! CLV = margin · spend · Σ_{i=1}^{periods} (E[Y(i·L)] − E[Y((i−1)·L)]) / (1 + d)^i.
//!
//! lifetimes' `time = 12` months with `freq = "W"` is `periods = 12`,
//! `period_length = 4.345` (weeks per month), the discount rate monthly; its margin is 1.

use crate::ClvError;
use crate::data::Rfm;
use crate::gamma_gamma::GammaGamma;
use crate::par::map_rows;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A fitted purchase-count model (BG/NBD, modified BG/NBD, Pareto/NBD): what CLV and the
/// holdout check need. Times are in the unit the model was fitted in.
pub trait PurchaseModel: Sync {
    /// P(still alive at T | x, t_x, T).
    fn probability_alive(&self, frequency: f64, recency: f64, age: f64) -> f64;
    /// E[repeat purchases in (T, T + t] | x, t_x, T].
    fn expected_purchases(&self, t: f64, frequency: f64, recency: f64, age: f64) -> f64;
    /// E[repeat purchases in (0, t]] for a customer just acquired.
    fn expected_purchases_new(&self, t: f64) -> f64;

    /// [`PurchaseModel::probability_alive`] for every customer (in parallel).
    fn probability_alive_all(&self, data: &Rfm) -> Vec<f64> {
        map_rows(data.len(), |i| {
            self.probability_alive(data.frequency[i], data.recency[i], data.age[i])
        })
    }

    /// [`PurchaseModel::expected_purchases`] over the same horizon for every customer.
    fn expected_purchases_all(&self, t: f64, data: &Rfm) -> Vec<f64> {
        map_rows(data.len(), |i| {
            self.expected_purchases(t, data.frequency[i], data.recency[i], data.age[i])
        })
    }
}

/// How CLV is discounted and valued.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClvOptions {
    /// Number of discounting steps in the horizon (lifetimes' `time`, in months).
    pub periods: usize,
    /// Length of one step in the model's time unit (4.345 for months over a weekly model,
    /// 30 over a daily one: lifetimes' factors).
    pub period_length: f64,
    /// Discount rate per step (0.01 = 1% a month).
    pub discount_rate: f64,
    /// Share of revenue that is profit (1 = CLV in revenue, as lifetimes).
    pub margin: f64,
}

impl ClvOptions {
    pub fn check(&self) -> Result<(), ClvError> {
        if self.periods == 0 || self.periods > 100_000 {
            return Err(ClvError::InvalidOption {
                name: "periods",
                value: self.periods as f64,
                expected: "1 to 100,000 discounting steps",
            });
        }
        if !(self.period_length.is_finite() && self.period_length > 0.0) {
            return Err(ClvError::InvalidOption {
                name: "period_length",
                value: self.period_length,
                expected: "a positive time in the model's unit",
            });
        }
        if !(self.discount_rate.is_finite() && self.discount_rate > -1.0) {
            return Err(ClvError::InvalidOption {
                name: "discount_rate",
                value: self.discount_rate,
                expected: "a rate per period above −1 (0.01 = 1%)",
            });
        }
        if !self.margin.is_finite() {
            return Err(ClvError::InvalidOption {
                name: "margin",
                value: self.margin,
                expected: "a finite share",
            });
        }
        Ok(())
    }

    /// The horizon in the model's time unit.
    pub fn horizon(&self) -> f64 {
        self.periods as f64 * self.period_length
    }
}

fn clv_one<M: PurchaseModel + ?Sized>(
    model: &M,
    o: &ClvOptions,
    spend: f64,
    x: f64,
    t_x: f64,
    age: f64,
) -> f64 {
    let mut total = 0.0;
    let mut previous = 0.0;
    let mut discount = 1.0;
    for i in 1..=o.periods {
        let cumulative = model.expected_purchases(i as f64 * o.period_length, x, t_x, age);
        discount /= 1.0 + o.discount_rate;
        total += (cumulative - previous) * discount;
        previous = cumulative;
    }
    o.margin * spend * total
}

/// Discounted CLV of every customer, given each one's expected spend per purchase
/// (usually [`GammaGamma::conditional_expected_spend`]).
pub fn customer_lifetime_value<M: PurchaseModel + ?Sized>(
    model: &M,
    data: &Rfm,
    spend: &[f64],
    options: &ClvOptions,
) -> Result<Vec<f64>, ClvError> {
    options.check()?;
    crate::data::check_length("spend", spend, data.len(), "customer")?;
    crate::data::check_finite("spend", spend)?;
    Ok(map_rows(data.len(), |i| {
        clv_one(
            model,
            options,
            spend[i],
            data.frequency[i],
            data.recency[i],
            data.age[i],
        )
    }))
}

/// Every per-customer prediction, column by column (the file `adroit clv predict`
/// writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictions {
    /// The horizon of `expected_purchases`, in the model's time unit.
    pub horizon: f64,
    pub probability_alive: Vec<f64>,
    pub expected_purchases: Vec<f64>,
    /// Gamma-Gamma conditional expected spend per purchase.
    pub expected_spend: Vec<f64>,
    /// expected_purchases × expected_spend × margin, undiscounted.
    pub expected_value: Vec<f64>,
    pub clv: Vec<f64>,
}

/// Probability alive, expected purchases and value over the CLV horizon, and discounted
/// CLV, for every customer. `monetary` is each customer's mean repeat-purchase value
/// (0 for customers without one: they get the population mean spend).
pub fn predict<M: PurchaseModel + ?Sized>(
    model: &M,
    spend_model: &GammaGamma,
    data: &Rfm,
    monetary: &[f64],
    options: &ClvOptions,
) -> Result<Predictions, ClvError> {
    options.check()?;
    crate::data::check_length("monetary value", monetary, data.len(), "customer")?;
    crate::data::check_non_negative("monetary value", monetary)?;
    let horizon = options.horizon();
    let expected_spend = map_rows(data.len(), |i| {
        spend_model.conditional_expected_spend(data.frequency[i], monetary[i])
    });
    // Columns filled in place, chunk by chunk in parallel (no per-customer tuples: ten
    // million customers cost five columns of 80 MB, nothing more).
    let n = data.len();
    let (mut probability_alive, mut expected_purchases, mut clv) =
        (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    const CHUNK: usize = 4096;
    probability_alive
        .par_chunks_mut(CHUNK)
        .zip(expected_purchases.par_chunks_mut(CHUNK))
        .zip(clv.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(c, ((alive, buys), value))| {
            for k in 0..alive.len() {
                let i = c * CHUNK + k;
                let (x, t_x, age) = (data.frequency[i], data.recency[i], data.age[i]);
                alive[k] = model.probability_alive(x, t_x, age);
                // One pass over the steps gives both the horizon's purchases and CLV.
                let (mut total, mut previous, mut discount) = (0.0, 0.0, 1.0);
                for step in 1..=options.periods {
                    let cumulative =
                        model.expected_purchases(step as f64 * options.period_length, x, t_x, age);
                    discount /= 1.0 + options.discount_rate;
                    total += (cumulative - previous) * discount;
                    previous = cumulative;
                }
                buys[k] = previous;
                value[k] = total * expected_spend[i] * options.margin;
            }
        });
    let expected_value = expected_purchases
        .iter()
        .zip(&expected_spend)
        .map(|(n, s)| n * s * options.margin)
        .collect();
    Ok(Predictions {
        horizon,
        probability_alive,
        expected_purchases,
        expected_spend,
        expected_value,
        clv,
    })
}
