//! The data-mining toolkit. Pure computation: columns in, fitted models and statistics out.
//!
//! So far: [`ols`], ordinary least squares with a statsmodels-style summary.

pub mod ols;
