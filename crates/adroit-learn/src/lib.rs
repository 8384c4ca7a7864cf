//! The data-mining toolkit. Pure computation: columns in, fitted models and statistics
//! out; no files, no network, no printing.
//!
//! - [`data`]: the raw [`data::Frame`] models read and the encoded [`data::Matrix`];
//! - [`encode`]: preprocessing saved with the model (fills, one-hot, scaling);
//! - [`model`]: the [`model::Predict`] / [`model::Explain`] traits, the [`model::Algo`]
//!   registry, training, cross-validation, tuning, importance;
//! - [`linear`] (ridge, lasso, elastic net, logistic), [`ols`] (with its statistics
//!   table), [`tree`] (histogram trees and TreeSHAP), [`ensemble`] (tree, forest, GBDT);
//! - [`metrics`], [`fairness`], [`cluster`] (k-means), [`rules`] (FP-growth);
//! - [`uplift`]: T/S-learners and class transformation, Qini and AUUC, targeting;
//! - [`federated`]: linear, ridge and logistic fits pooled from sites' statistics.

pub mod cluster;
pub mod data;
pub mod encode;
pub mod ensemble;
pub mod fairness;
pub mod federated;
pub mod linear;
pub mod metrics;
pub mod model;
pub mod ols;
pub mod rules;
pub mod tree;
pub mod uplift;
