//! Calibration/holdout validation: fit on the calibration period, predict each
//! customer's purchases in the holdout from their calibration history, and compare with
//! what they did, per calibration-frequency bucket (0, 1, …, 7+), as in Figure 4 of
//! Fader, Hardie & Lee (2005). Aggregate fit can hide a model that is right on average
//! and wrong for the heavy buyers; this table shows both.

use crate::ClvError;
use crate::clv::PurchaseModel;
use crate::data::{Rfm, check_counts, check_length};
use serde::{Deserialize, Serialize};

/// One frequency bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutRow {
    /// "0", "1", …, and "7+" for the last.
    pub bucket: String,
    /// Calibration frequency of the bucket (its lower bound for the last).
    pub frequency: u32,
    pub customers: f64,
    /// Mean holdout purchases per customer, actual and predicted.
    pub actual: f64,
    pub predicted: f64,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutTable {
    /// Holdout length in the model's time unit.
    pub duration: f64,
    pub rows: Vec<HoldoutRow>,
    /// Total holdout purchases of all customers, actual and predicted.
    pub actual_total: f64,
    pub predicted_total: f64,
}

/// Predicted vs actual holdout purchases per calibration frequency 0 … `last_bucket`
/// (the last bucket holding everyone at or above it; 7 in the paper).
pub fn holdout_table<M: PurchaseModel + ?Sized>(
    model: &M,
    calibration: &Rfm,
    holdout_frequency: &[f64],
    duration: f64,
    last_bucket: u32,
) -> Result<HoldoutTable, ClvError> {
    check_length(
        "holdout frequency",
        holdout_frequency,
        calibration.len(),
        "customer",
    )?;
    check_counts("holdout frequency", holdout_frequency)?;
    if last_bucket > 10_000 {
        return Err(ClvError::InvalidOption {
            name: "last_bucket",
            value: last_bucket as f64,
            expected: "at most 10,000 (the paper's table stops at 7+)",
        });
    }
    if !(duration.is_finite() && duration > 0.0) {
        return Err(ClvError::InvalidOption {
            name: "duration",
            value: duration,
            expected: "a positive holdout length",
        });
    }
    let predicted = model.expected_purchases_all(duration, calibration);
    let buckets = last_bucket as usize + 1;
    let (mut n, mut act, mut pred) = (vec![0.0; buckets], vec![0.0; buckets], vec![0.0; buckets]);
    for i in 0..calibration.len() {
        let k = (calibration.frequency[i] as usize).min(last_bucket as usize);
        let w = calibration.weight(i);
        n[k] += w;
        act[k] += w * holdout_frequency[i];
        pred[k] += w * predicted[i];
    }
    let rows = (0..buckets)
        .map(|k| HoldoutRow {
            bucket: if k == last_bucket as usize && k > 0 {
                format!("{k}+")
            } else {
                k.to_string()
            },
            frequency: k as u32,
            customers: n[k],
            actual: if n[k] > 0.0 { act[k] / n[k] } else { 0.0 },
            predicted: if n[k] > 0.0 { pred[k] / n[k] } else { 0.0 },
        })
        .collect();
    Ok(HoldoutTable {
        duration,
        rows,
        actual_total: act.iter().sum(),
        predicted_total: pred.iter().sum(),
    })
}
