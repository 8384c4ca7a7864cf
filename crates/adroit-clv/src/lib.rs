//! Customer value: who is still a customer, how much they will buy, and what that is
//! worth — the "buy 'til you die" models of lifetimes and PyMC-Marketing's CLV module.
//!
//! - [`summary`]: per-customer RFM statistics (frequency, recency, T, monetary value,
//!   optional holdout counts) from transactions, exactly as lifetimes'
//!   `summary_data_from_transaction_data` / `calibration_and_holdout_data` build them.
//! - Continuous-time purchase models, fitted on [`Rfm`] data: [`BgNbd`] (Fader, Hardie &
//!   Lee 2005), [`ModifiedBgNbd`] (Batislam, Denizel & Filiztekin 2007), [`ParetoNbd`]
//!   (Schmittlein, Morrison & Colombo 1987). Each predicts the probability a customer is
//!   alive and their expected purchases over a horizon ([`PurchaseModel`]).
//! - [`GammaGamma`]: spend per transaction (Fader, Hardie & Lee 2005b; Fader & Hardie
//!   2013), the conditional expected spend of each customer.
//! - [`clv`]: discounted customer lifetime value over a horizon, the calculation of
//!   lifetimes' `customer_lifetime_value`, and every prediction per customer at once.
//! - Discrete-time models fitted on patterns with counts: [`BgBb`] (Fader, Hardie &
//!   Shang 2010; repeat opportunities such as yearly donations) and [`Sbg`] (Fader &
//!   Hardie 2007; contract renewals, survival and retention projections).
//! - [`Compressed`]: identical histories merged into weighted rows (daily data repeat
//!   them a lot), predictions spread back per customer.
//! - [`cohorts`]: the retention matrix by acquisition month and channel, the
//!   repurchase rate.
//! - [`file`]: `clv_model.json` and per-customer scoring from it (CLI and server).
//! - [`segments`]: RFM scores by quintile and named segments (champions, at risk, …).
//! - [`validate`]: calibration/holdout comparison of predicted and actual purchases per
//!   calibration-frequency bucket (the paper's 0, 1, …, 7+ figure).
//!
//! Every model is fitted by maximum likelihood in log-parameters ([`Fitted`]: estimates,
//! log-likelihood, standard errors from the observed information by the delta method).
//! Log-likelihoods are in the data's own time unit: refitting the same customers in days
//! instead of weeks shifts them by Σx · ln 7 and rescales α (and β) by 7.
//!
//! Pure computation: slices in, results out; no files, no printing. Large inputs are
//! processed in parallel with rayon.
//!
//! ```
//! use adroit_clv::{BgNbd, PurchaseModel, Rfm};
//! // Three customers: repeat purchases, weeks from first to last purchase, weeks observed.
//! let (x, t_x, age) = ([2.0, 0.0, 5.0], [30.43, 0.0, 35.0], [38.86, 38.86, 38.0]);
//! let data = Rfm::new(&x, &t_x, &age).unwrap();
//! // The published CDNOW estimates (Fader, Hardie & Lee 2005).
//! let model = BgNbd { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
//! assert!(model.log_likelihood(&data).is_finite());
//! assert_eq!(model.probability_alive(0.0, 0.0, 38.86), 1.0);
//! assert!(model.expected_purchases(39.0, 5.0, 35.0, 38.0) > 1.0);
//! ```

pub mod bgbb;
pub mod bgnbd;
pub mod clv;
pub mod cohorts;
pub mod data;
pub mod file;
pub mod gamma_gamma;
pub mod optim;
mod par;
pub mod pareto;
pub mod sbg;
pub mod segments;
pub mod special;
pub mod summary;
pub mod validate;

pub use bgbb::BgBb;
pub use bgnbd::{BgNbd, ModifiedBgNbd};
pub use clv::{ClvOptions, Predictions, PurchaseModel, customer_lifetime_value, predict};
pub use data::{Compressed, Discrete, Rfm, Spend};
pub use gamma_gamma::GammaGamma;
pub use optim::{Fitted, Parameters};
pub use pareto::ParetoNbd;
pub use sbg::Sbg;
pub use summary::{Holdout, Period, RfmSummary, SummaryOptions, Transaction, summarize};
pub use validate::{HoldoutRow, HoldoutTable, holdout_table};

/// Everything that can be wrong with the input of a customer-value model, or with a fit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClvError {
    #[error("no {what}: the model needs at least one")]
    Empty { what: &'static str },
    #[error("{field} has {found} values but {expected} were expected (one per {per})")]
    LengthMismatch {
        field: &'static str,
        found: usize,
        expected: usize,
        per: &'static str,
    },
    #[error("{field} in row {row} is {value}, which is not a finite number")]
    NotFinite {
        field: &'static str,
        row: usize,
        value: f64,
    },
    #[error("{field} in row {row} is {value}, but it cannot be negative")]
    Negative {
        field: &'static str,
        row: usize,
        value: f64,
    },
    #[error("{field} in row {row} is {value}, but it must be a whole number (a count)")]
    NotInteger {
        field: &'static str,
        row: usize,
        value: f64,
    },
    #[error(
        "row {row}: recency {recency} is later than the customer's age T = {age}; recency is \
         the time from first to last purchase and cannot exceed the time observed"
    )]
    RecencyAfterAge { row: usize, recency: f64, age: f64 },
    #[error("row {row}: a customer with no repeat purchase must have recency 0, found {recency}")]
    RecencyWithoutRepeat { row: usize, recency: f64 },
    #[error("row {row}: {message}")]
    Inconsistent { row: usize, message: String },
    #[error("{name} = {value} is out of range: {expected}")]
    InvalidOption {
        name: &'static str,
        value: f64,
        expected: &'static str,
    },
    #[error("the weights add up to zero: nothing to fit")]
    ZeroWeight,
    #[error(
        "{model}: the log-likelihood is not finite at {at}; the data may not fit this model \
         (for Gamma-Gamma, check that spend is positive)"
    )]
    NotFiniteLikelihood { model: &'static str, at: String },
}
