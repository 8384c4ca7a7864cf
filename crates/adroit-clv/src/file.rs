//! `clv_model.json` ("adroit-clv-model"): a fitted purchase model with its Gamma-Gamma
//! spend model, and the per-customer scoring every door asks of it
//! ([`ModelFile::score`]: P(alive), expected purchases, expected spend and value, CLV).
//! `adroit clv fit/predict` and `adroit serve` (`POST /v1/clv/score`) share it.
//!
//! The file is parsed from text the caller read ([`ModelFile::from_json`]); nothing here
//! touches the file system.

use crate::clv::{ClvOptions, PurchaseModel, predict};
use crate::data::Rfm;
use crate::optim::Fitted;
use crate::{BgNbd, ClvError, GammaGamma, ModifiedBgNbd, ParetoNbd};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The file name `adroit clv fit` writes into its folder.
pub const MODEL_FILE: &str = "clv_model.json";
/// The `format` of a model file.
pub const MODEL_FORMAT: &str = "adroit-clv-model";

/// The time unit the model was fitted in (recency, T and horizons are in it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Days,
    Weeks,
}

impl Unit {
    /// Days in one unit.
    pub fn days(self) -> f64 {
        match self {
            Unit::Days => 1.0,
            Unit::Weeks => 7.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Unit::Days => "days",
            Unit::Weeks => "weeks",
        }
    }

    /// A horizon `12m`, `1y`, `52w` or `90d` as discounting steps and the length of one
    /// step in this unit (lifetimes' factors: a month is 4.345 weeks or 30 days); `None`
    /// when it is not a positive whole number followed by one of those units.
    pub fn horizon(self, text: &str) -> Option<(usize, f64)> {
        let t = text.trim();
        let suffix = t.chars().last()?;
        let n: usize = t[..t.len() - suffix.len_utf8()].trim().parse().ok()?;
        if n == 0 {
            return None;
        }
        let month = match self {
            Unit::Weeks => 4.345,
            Unit::Days => 30.0,
        };
        let day = 1.0 / self.days();
        Some(match suffix.to_ascii_lowercase() {
            'm' => (n, month),
            'y' => (n * 12, month),
            'w' => (n, 7.0 * day),
            'd' => (n, day),
            _ => return None,
        })
    }
}

/// The fitted purchase model, tagged by name in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "model", content = "fit", rename_all = "kebab-case")]
pub enum PurchaseFit {
    Bgnbd(Fitted<BgNbd>),
    Pareto(Fitted<ParetoNbd>),
    ModifiedBgnbd(Fitted<ModifiedBgNbd>),
}

impl PurchaseFit {
    pub fn model(&self) -> &dyn PurchaseModel {
        match self {
            PurchaseFit::Bgnbd(f) => &f.model,
            PurchaseFit::Pareto(f) => &f.model,
            PurchaseFit::ModifiedBgnbd(f) => &f.model,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            PurchaseFit::Bgnbd(_) => "BG/NBD",
            PurchaseFit::Pareto(_) => "Pareto/NBD",
            PurchaseFit::ModifiedBgnbd(_) => "modified BG/NBD",
        }
    }
}

/// The file `adroit clv fit` writes and `adroit clv predict` and `adroit serve` read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile {
    /// Always "adroit-clv-model".
    pub format: String,
    pub purchase: PurchaseFit,
    /// Gamma-Gamma spend per purchase; absent when no customer has a repeat purchase with
    /// a positive value (e.g. a summary without monetary_value).
    pub spend: Option<Fitted<GammaGamma>>,
    pub unit: Unit,
    pub calibration_end: Option<NaiveDate>,
    pub source: String,
    pub customers: usize,
}

/// Why a text is not a model file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FileError {
    /// Not JSON or not this layout (serde's message).
    #[error("not a clv model file: {0}")]
    Json(String),
    #[error("format is `{found}`, expected `{MODEL_FORMAT}`")]
    Format { found: String },
}

/// Predictions per customer, in input order. The spend columns are `None` when the
/// model has no Gamma-Gamma fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub probability_alive: Vec<f64>,
    pub expected_purchases: Vec<f64>,
    pub expected_spend: Option<Vec<f64>>,
    pub expected_value: Option<Vec<f64>>,
    pub clv: Option<Vec<f64>>,
}

impl ModelFile {
    /// Parses a model file and checks its format.
    pub fn from_json(text: &str) -> Result<ModelFile, FileError> {
        let file: ModelFile =
            serde_json::from_str(text).map_err(|e| FileError::Json(e.to_string()))?;
        if file.format != MODEL_FORMAT {
            return Err(FileError::Format {
                found: file.format.clone(),
            });
        }
        Ok(file)
    }

    /// Scores customers (frequency, recency, T in `rfm`; mean spend per repeat purchase
    /// in `monetary`, one per customer) over `options`' horizon: P(alive) and expected
    /// purchases always, expected spend, value and discounted CLV when the model has a
    /// spend fit.
    pub fn score(
        &self,
        rfm: &Rfm,
        monetary: &[f64],
        options: &ClvOptions,
    ) -> Result<Scores, ClvError> {
        let purchase = self.purchase.model();
        Ok(match &self.spend {
            Some(gg) => {
                let p = predict(purchase, &gg.model, rfm, monetary, options)?;
                Scores {
                    probability_alive: p.probability_alive,
                    expected_purchases: p.expected_purchases,
                    expected_spend: Some(p.expected_spend),
                    expected_value: Some(p.expected_value),
                    clv: Some(p.clv),
                }
            }
            None => Scores {
                probability_alive: purchase.probability_alive_all(rfm),
                expected_purchases: purchase.expected_purchases_all(options.horizon(), rfm),
                expected_spend: None,
                expected_value: None,
                clv: None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizons_in_the_model_unit() {
        assert_eq!(Unit::Weeks.horizon("12m"), Some((12, 4.345)));
        assert_eq!(Unit::Weeks.horizon("1y"), Some((12, 4.345)));
        assert_eq!(Unit::Weeks.horizon("52w"), Some((52, 1.0)));
        assert_eq!(Unit::Days.horizon("90d"), Some((90, 1.0)));
        assert_eq!(Unit::Days.horizon("2m"), Some((2, 30.0)));
        assert_eq!(Unit::Weeks.horizon("0m"), None);
        assert_eq!(Unit::Weeks.horizon("3q"), None);
        assert_eq!(Unit::Weeks.horizon(""), None);
    }

    #[test]
    fn wrong_format_is_named() {
        let text = r#"{"format": "other", "purchase": {"model": "bgnbd", "fit": {"model": {"r": 0.2, "alpha": 4.0, "a": 0.8, "b": 2.4}, "log_likelihood": -1.0, "standard_errors": null, "covariance": null, "parameter_names": ["r", "alpha", "a", "b"], "observations": 1.0, "iterations": 1, "converged": true, "max_gradient": 0.0}}, "spend": null, "unit": "weeks", "calibration_end": null, "source": "x", "customers": 1}"#;
        match ModelFile::from_json(text) {
            Err(FileError::Format { found }) => assert_eq!(found, "other"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ModelFile::from_json("[]"),
            Err(FileError::Json(_))
        ));
    }
}
