//! The data-mining toolkit. Pure computation: columns in, fitted models and statistics out.
//!
//! So far: [`ols`], ordinary least squares with a statsmodels-style summary, and
//! [`metrics`] for evaluating regressions and binary classifiers, and [`rules`] for
//! frequent itemsets and association rules, and [`cluster`] for k-means and the
//! silhouette.

pub mod cluster;
pub mod metrics;
pub mod ols;
pub mod rules;
