//! Marketing mix models: what each paid channel returned, with what uncertainty, and
//! where the next unit of budget should go. Pure computation: tables in memory in,
//! results out; the CLI reads files and writes `result.json`.
//!
//! - [`spec`]: the model: per channel an adstock and a saturation family (by name) and
//!   the ranges their parameters are searched over; trend, seasonality, events, controls.
//! - [`model`]: one candidate: transforms, [`ridge`] with non-negative media effects,
//!   errors, DECOMP.RSSD.
//! - [`search`]: NSGA-II over the hyperparameters.
//! - [`fit`]: trials pooled into a Pareto front, the chosen model and why, holdout error,
//!   bootstrap intervals, diagnostics: the [`fit::MmmResult`] contract.
//! - [`allocate`]: the budget allocator over the fitted response curves.
//! - [`file`]: `result.json` and the questions every door asks of it (allocate, what-if).

pub mod allocate;
pub mod bayes;
pub mod file;
pub mod fit;
pub mod model;
pub mod plan;
pub mod ridge;
pub mod search;
pub mod spec;

pub use fit::{FitSettings, MmmResult, fit};
pub use model::MmmData;
pub use spec::{AdstockKind, ChannelSpec, ModelSpec, SaturationKind};
