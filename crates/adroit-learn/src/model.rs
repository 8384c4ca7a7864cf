//! One interface over every algorithm: the [`Predict`] and [`Explain`] traits each
//! fitted model implements, the [`Algo`] registry from name to settings, and
//! [`TrainedModel`], which bundles the fitted encoder with the model so prediction
//! replays training's preprocessing exactly. Serialised, it is the model file.

use crate::data::{Frame, Matrix, Values};
use crate::encode::{EncodeOptions, Encoder, SchemaError};
use crate::ensemble::{self, ForestParams, GbdtParams, MaxFeatures, TreeEnsemble, TreeParams};
use crate::linear::{self, LinearModel, Link};
use crate::metrics::{self, Confusion};
use crate::ols::{self, OlsFit};
use crate::tree::Criterion;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Regression (a number) or binary classification (a probability of the positive class).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Regress,
    Classify,
}

/// Predictions for encoded rows: a value (regression) or P(positive) (classification).
pub trait Predict {
    fn predict(&self, x: &Matrix) -> Vec<f64>;
}

/// SHAP values for encoded rows.
pub trait Explain {
    fn shap(&self, x: &Matrix) -> Shap;
}

/// SHAP values: for each row, base + Σ values = the model's margin for that row
/// (the prediction itself when `link` is identity, its log-odds when logit).
#[derive(Debug, Clone, PartialEq)]
pub struct Shap {
    pub base: f64,
    /// One vector per row, one value per encoded column.
    pub values: Vec<Vec<f64>>,
    pub link: Link,
}

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("{0}")]
    Shape(String),
    #[error("too few rows to fit: {rows}, need at least {needed}")]
    TooFewRows { rows: usize, needed: usize },
    #[error("{0} has a missing or non-finite value")]
    NotFinite(String),
    #[error("the features are perfectly collinear: drop one that is a combination of others")]
    Singular,
    #[error("{0}")]
    Parameter(String),
    #[error(transparent)]
    Ols(#[from] ols::OlsError),
}

/// The checks every fit starts with: one finite target per row, at least two rows,
/// finite features, and a 0/1 target when classifying.
pub(crate) fn check_fit_input(x: &Matrix, y: &[f64], task: Task) -> Result<(), FitError> {
    if y.len() != x.rows() {
        return Err(FitError::Shape(format!(
            "{} target values for {} rows",
            y.len(),
            x.rows()
        )));
    }
    if x.rows() < 2 {
        return Err(FitError::TooFewRows {
            rows: x.rows(),
            needed: 2,
        });
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(FitError::NotFinite("the target".into()));
    }
    if let Some(j) = (0..x.cols()).find(|&j| x.col(j).iter().any(|v| !v.is_finite())) {
        return Err(FitError::NotFinite(format!("encoded column {j}")));
    }
    if task == Task::Classify && y.iter().any(|v| *v != 0.0 && *v != 1.0) {
        return Err(FitError::Parameter(
            "classification needs a 0/1 target".into(),
        ));
    }
    Ok(())
}

/// Anything that can go wrong between a frame and a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LearnError {
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Fit(#[from] FitError),
    #[error("target `{column}`: {message}")]
    Target { column: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// An algorithm and its settings, chosen by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Algo {
    Ols,
    Ridge { alpha: f64 },
    Lasso { alpha: f64 },
    ElasticNet { alpha: f64, l1_ratio: f64 },
    Logistic { c: f64 },
    Tree(TreeParams),
    Forest(ForestParams),
    Gbdt(GbdtParams),
}

/// The names [`Algo::from_name`] accepts.
pub const ALGO_NAMES: [&str; 8] = [
    "ols",
    "ridge",
    "lasso",
    "elasticnet",
    "logistic",
    "tree",
    "forest",
    "gbdt",
];

impl Algo {
    /// The algorithm `name` with default settings.
    pub fn from_name(name: &str) -> Result<Algo, LearnError> {
        Ok(match name {
            "ols" => Algo::Ols,
            "ridge" => Algo::Ridge { alpha: 1.0 },
            "lasso" => Algo::Lasso { alpha: 0.1 },
            "elasticnet" | "elastic_net" => Algo::ElasticNet {
                alpha: 0.1,
                l1_ratio: 0.5,
            },
            "logistic" => Algo::Logistic { c: 1.0 },
            "tree" => Algo::Tree(TreeParams::default()),
            "forest" => Algo::Forest(ForestParams::default()),
            "gbdt" => Algo::Gbdt(GbdtParams::default()),
            other => {
                return Err(LearnError::Invalid(format!(
                    "unknown algorithm `{other}`; choose one of {}",
                    ALGO_NAMES.join(", ")
                )));
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Algo::Ols => "ols",
            Algo::Ridge { .. } => "ridge",
            Algo::Lasso { .. } => "lasso",
            Algo::ElasticNet { .. } => "elasticnet",
            Algo::Logistic { .. } => "logistic",
            Algo::Tree(_) => "tree",
            Algo::Forest(_) => "forest",
            Algo::Gbdt(_) => "gbdt",
        }
    }

    /// Which tasks the algorithm does.
    pub fn supports(&self, task: Task) -> bool {
        match self {
            Algo::Ols | Algo::Ridge { .. } | Algo::Lasso { .. } | Algo::ElasticNet { .. } => {
                task == Task::Regress
            }
            Algo::Logistic { .. } => task == Task::Classify,
            _ => true,
        }
    }

    /// The settings' names and current values, for reports and `--param` help.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let depth = |d: usize| {
            if d == usize::MAX {
                "none".to_string()
            } else {
                d.to_string()
            }
        };
        match self {
            Algo::Ols => vec![],
            Algo::Ridge { alpha } | Algo::Lasso { alpha } => vec![("alpha", alpha.to_string())],
            Algo::ElasticNet { alpha, l1_ratio } => {
                vec![
                    ("alpha", alpha.to_string()),
                    ("l1_ratio", l1_ratio.to_string()),
                ]
            }
            Algo::Logistic { c } => vec![("c", c.to_string())],
            Algo::Tree(p) => vec![
                ("criterion", criterion_name(p.criterion).into()),
                ("max_depth", depth(p.max_depth)),
                ("min_samples_leaf", p.min_samples_leaf.to_string()),
                ("max_bins", p.max_bins.to_string()),
            ],
            Algo::Forest(p) => vec![
                ("n_trees", p.n_trees.to_string()),
                (
                    "max_features",
                    match p.max_features {
                        None => "auto".into(),
                        Some(MaxFeatures::Sqrt) => "sqrt".into(),
                        Some(MaxFeatures::All) => "all".into(),
                        Some(MaxFeatures::Fraction(f)) => f.to_string(),
                    },
                ),
                ("max_depth", depth(p.max_depth)),
                ("min_samples_leaf", p.min_samples_leaf.to_string()),
                ("max_bins", p.max_bins.to_string()),
            ],
            Algo::Gbdt(p) => vec![
                ("n_trees", p.n_trees.to_string()),
                ("learning_rate", p.learning_rate.to_string()),
                ("num_leaves", p.num_leaves.to_string()),
                ("max_depth", depth(p.max_depth)),
                ("min_samples_leaf", p.min_samples_leaf.to_string()),
                ("min_hessian", p.min_hessian.to_string()),
                ("lambda", p.lambda.to_string()),
                ("max_bins", p.max_bins.to_string()),
            ],
        }
    }

    /// Sets one setting from text (`alpha=0.5`, `max_depth=none`, `criterion=gini`).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), LearnError> {
        let bad = |what: &str| {
            LearnError::Invalid(format!("setting `{key}` = `{value}`: expected {what}"))
        };
        let num = || {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad("a number"))
        };
        let count = || value.parse::<usize>().map_err(|_| bad("a whole number"));
        let depth = || {
            if matches!(value, "none" | "unlimited") {
                Ok(usize::MAX)
            } else {
                count()
            }
        };
        let known = self.params().iter().map(|(k, _)| *k).collect::<Vec<_>>();
        let name = self.name();
        let unknown = || {
            LearnError::Invalid(format!(
                "`{key}` is not a setting of {name}; its settings are: {}",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ))
        };
        match (self, key) {
            (
                Algo::Ridge { alpha } | Algo::Lasso { alpha } | Algo::ElasticNet { alpha, .. },
                "alpha",
            ) => *alpha = num()?,
            (Algo::ElasticNet { l1_ratio, .. }, "l1_ratio") => *l1_ratio = num()?,
            (Algo::Logistic { c }, "c" | "C") => *c = num()?,
            (Algo::Tree(p), "criterion") => {
                p.criterion = match value {
                    "entropy" | "information_gain" => Criterion::Entropy,
                    "gini" | "squared_error" => Criterion::SquaredError,
                    _ => return Err(bad("entropy or gini")),
                }
            }
            (Algo::Tree(p), "max_depth") => p.max_depth = depth()?,
            (Algo::Tree(p), "min_samples_leaf") => p.min_samples_leaf = count()?,
            (Algo::Tree(p), "max_bins") => p.max_bins = count()?,
            (Algo::Forest(p), "n_trees") => p.n_trees = count()?,
            (Algo::Forest(p), "max_features") => {
                p.max_features = Some(match value {
                    "sqrt" => MaxFeatures::Sqrt,
                    "all" => MaxFeatures::All,
                    _ => MaxFeatures::Fraction(num()?),
                })
            }
            (Algo::Forest(p), "max_depth") => p.max_depth = depth()?,
            (Algo::Forest(p), "min_samples_leaf") => p.min_samples_leaf = count()?,
            (Algo::Forest(p), "max_bins") => p.max_bins = count()?,
            (Algo::Gbdt(p), "n_trees") => p.n_trees = count()?,
            (Algo::Gbdt(p), "learning_rate") => p.learning_rate = num()?,
            (Algo::Gbdt(p), "num_leaves") => p.num_leaves = count()?,
            (Algo::Gbdt(p), "max_depth") => p.max_depth = depth()?,
            (Algo::Gbdt(p), "min_samples_leaf") => p.min_samples_leaf = count()?,
            (Algo::Gbdt(p), "min_hessian") => p.min_hessian = num()?,
            (Algo::Gbdt(p), "lambda") => p.lambda = num()?,
            (Algo::Gbdt(p), "max_bins") => p.max_bins = count()?,
            _ => return Err(unknown()),
        }
        Ok(())
    }

    /// Preprocessing the algorithm needs: penalised linear models want standardised
    /// columns; OLS drops each category's reference level; trees take values as they are.
    pub fn encode_options(&self) -> EncodeOptions {
        match self {
            Algo::Ols => EncodeOptions {
                standardize: false,
                drop_first: true,
            },
            Algo::Ridge { .. }
            | Algo::Lasso { .. }
            | Algo::ElasticNet { .. }
            | Algo::Logistic { .. } => EncodeOptions {
                standardize: true,
                drop_first: false,
            },
            _ => EncodeOptions::default(),
        }
    }

    /// Fits on encoded columns. OLS also returns its statistics table.
    pub fn fit(
        &self,
        task: Task,
        x: &Matrix,
        y: &[f64],
        names: &[String],
        seed: u64,
    ) -> Result<(Fitted, Option<OlsFit>), FitError> {
        if !self.supports(task) {
            return Err(FitError::Parameter(match task {
                Task::Regress => format!(
                    "{} is a classifier; use ols, ridge, lasso, elasticnet, tree, forest or gbdt for regression",
                    self.name()
                ),
                Task::Classify => format!(
                    "{} is a regression; use logistic, tree, forest or gbdt to classify",
                    self.name()
                ),
            }));
        }
        Ok(match self {
            Algo::Ols => {
                let cols: Vec<(&str, &[f64])> = names
                    .iter()
                    .enumerate()
                    .map(|(j, n)| (n.as_str(), x.col(j)))
                    .collect();
                let fit = ols::fit(y, &cols)?;
                let model = LinearModel {
                    intercept: fit.coefficients[0].estimate,
                    weights: fit.coefficients[1..].iter().map(|c| c.estimate).collect(),
                    link: Link::Identity,
                    means: (0..x.cols())
                        .map(|j| x.col(j).iter().sum::<f64>() / x.rows() as f64)
                        .collect(),
                };
                (Fitted::Linear(model), Some(fit))
            }
            Algo::Ridge { alpha } => (Fitted::Linear(linear::ridge(x, y, *alpha)?), None),
            Algo::Lasso { alpha } => (
                Fitted::Linear(linear::elastic_net(x, y, *alpha, 1.0, 100_000, 1e-10)?),
                None,
            ),
            Algo::ElasticNet { alpha, l1_ratio } => (
                Fitted::Linear(linear::elastic_net(
                    x, y, *alpha, *l1_ratio, 100_000, 1e-10,
                )?),
                None,
            ),
            Algo::Logistic { c } => (Fitted::Linear(linear::logistic(x, y, *c, 100)?), None),
            Algo::Tree(p) => (Fitted::Trees(ensemble::fit_tree(x, y, task, p)?), None),
            Algo::Forest(p) => (
                Fitted::Trees(ensemble::fit_forest(x, y, task, p, seed)?),
                None,
            ),
            Algo::Gbdt(p) => (Fitted::Trees(ensemble::fit_gbdt(x, y, task, p)?), None),
        })
    }
}

fn criterion_name(c: Criterion) -> &'static str {
    match c {
        Criterion::Entropy => "entropy",
        Criterion::SquaredError => "gini",
    }
}

/// A fitted model of either family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Fitted {
    Linear(LinearModel),
    Trees(TreeEnsemble),
}

impl Predict for Fitted {
    fn predict(&self, x: &Matrix) -> Vec<f64> {
        match self {
            Fitted::Linear(m) => m.predict(x),
            Fitted::Trees(m) => m.predict(x),
        }
    }
}

impl Explain for Fitted {
    fn shap(&self, x: &Matrix) -> Shap {
        match self {
            Fitted::Linear(m) => m.shap(x),
            Fitted::Trees(m) => m.shap(x),
        }
    }
}

impl Fitted {
    /// Rough operations to explain one row (TreeSHAP is O(leaves × depth²) per tree),
    /// so doors can keep explanations within a time budget.
    pub fn shap_cost(&self) -> f64 {
        match self {
            Fitted::Linear(m) => m.weights.len().max(1) as f64,
            Fitted::Trees(e) => e
                .trees
                .iter()
                .map(|t| t.leaves() as f64 * (t.depth() as f64 + 1.0).powi(2))
                .sum::<f64>()
                .max(1.0),
        }
    }
}

/// Fewest rows an importance estimate uses, whatever the budget says: below this the
/// mean |SHAP| of a feature is mostly noise. A 200-tree forest of deep trees needs about
/// 0.1 CPU-seconds per row, so this floor costs it a few seconds.
pub const MIN_EXPLAINED_ROWS: usize = 40;

/// The most rows (at least [`MIN_EXPLAINED_ROWS`]) whose SHAP values fit in `budget`
/// operations.
pub fn rows_within_budget(model: &Fitted, rows: usize, budget: f64) -> usize {
    ((budget / model.shap_cost()) as usize)
        .max(MIN_EXPLAINED_ROWS)
        .min(rows)
}

/// `m` rows spread evenly over `n` (data is often ordered by time; the first rows
/// would not be representative).
pub fn spread_rows(n: usize, m: usize) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    (0..m).map(|k| k * n / m).collect()
}

/// What to train.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub task: Task,
    pub algo: Algo,
    pub target: String,
    /// Raw feature columns; empty means every column but the target.
    pub features: Vec<String>,
    /// The target value that counts as positive (classification); inferred when `None`
    /// from 1, yes, true, y or 是.
    pub positive: Option<String>,
    /// Probability at or above which a row is classified positive.
    pub threshold: f64,
    pub seed: u64,
}

/// The model file's version; a reader refuses files of another.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// A trained model with everything needed to use it again: the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedModel {
    pub format: String,
    pub format_version: u32,
    pub task: Task,
    pub algo: Algo,
    pub target: String,
    pub positive_label: Option<String>,
    pub threshold: f64,
    pub seed: u64,
    pub training_rows: usize,
    pub encoder: Encoder,
    pub model: Fitted,
    /// OLS's statistics table.
    pub ols: Option<OlsFit>,
}

/// Evaluation figures of one set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Evaluation {
    Regression {
        rows: usize,
        r_squared: f64,
        adj_r_squared: Option<f64>,
        mae: f64,
        rmse: f64,
        mape: f64,
    },
    Classification {
        rows: usize,
        threshold: f64,
        accuracy: Option<f64>,
        precision: Option<f64>,
        recall: Option<f64>,
        f1: Option<f64>,
        roc_auc: Option<f64>,
        pr_auc: Option<f64>,
        log_loss: Option<f64>,
        confusion: Confusion,
    },
}

impl Evaluation {
    /// The figure tuning maximises: R² or ROC AUC.
    pub fn primary(&self) -> f64 {
        match self {
            Evaluation::Regression { r_squared, .. } => *r_squared,
            Evaluation::Classification { roc_auc, .. } => roc_auc.unwrap_or(f64::NAN),
        }
    }

    /// Named figures (for means over folds).
    pub fn figures(&self) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        match self {
            Evaluation::Regression {
                r_squared,
                adj_r_squared,
                mae,
                rmse,
                mape,
                ..
            } => {
                out.push(("r_squared", *r_squared));
                if let Some(a) = adj_r_squared {
                    out.push(("adj_r_squared", *a));
                }
                out.extend([("mae", *mae), ("rmse", *rmse), ("mape", *mape)]);
            }
            Evaluation::Classification {
                accuracy,
                precision,
                recall,
                f1,
                roc_auc,
                pr_auc,
                log_loss,
                ..
            } => {
                for (k, v) in [
                    ("accuracy", accuracy),
                    ("precision", precision),
                    ("recall", recall),
                    ("f1", f1),
                    ("roc_auc", roc_auc),
                    ("pr_auc", pr_auc),
                    ("log_loss", log_loss),
                ] {
                    if let Some(v) = v {
                        out.push((k, *v));
                    }
                }
            }
        }
        out
    }
}

/// Scores predictions against the truth. `coefficients` (encoded columns) gives the
/// adjusted R².
pub fn evaluate(
    task: Task,
    y: &[f64],
    predicted: &[f64],
    threshold: f64,
    coefficients: usize,
) -> Evaluation {
    match task {
        Task::Regress => {
            let m = metrics::regression(y, predicted).unwrap_or(metrics::RegressionMetrics {
                r_squared: f64::NAN,
                mae: f64::NAN,
                rmse: f64::NAN,
                mape: f64::NAN,
            });
            let n = y.len();
            let adj = (n > coefficients + 1).then(|| {
                1.0 - (1.0 - m.r_squared) * (n - 1) as f64 / (n - coefficients - 1) as f64
            });
            Evaluation::Regression {
                rows: n,
                r_squared: m.r_squared,
                adj_r_squared: adj,
                mae: m.mae,
                rmse: m.rmse,
                mape: m.mape,
            }
        }
        Task::Classify => {
            let truth: Vec<bool> = y.iter().map(|v| *v == 1.0).collect();
            let c = Confusion::at(&truth, predicted, threshold);
            Evaluation::Classification {
                rows: y.len(),
                threshold,
                accuracy: c.accuracy(),
                precision: c.precision(),
                recall: c.recall(),
                f1: c.f1(),
                roc_auc: metrics::roc_auc(&truth, predicted),
                pr_auc: metrics::average_precision(&truth, predicted),
                log_loss: metrics::log_loss(&truth, predicted),
                confusion: c,
            }
        }
    }
}

impl TrainedModel {
    /// Trains `spec` on every row of `frame`.
    pub fn train(frame: &Frame, spec: &ModelSpec) -> Result<TrainedModel, LearnError> {
        let features = resolve_features(frame, spec)?;
        let (y, positive) =
            target_values(frame, &spec.target, spec.task, spec.positive.as_deref())?;
        if !spec.algo.supports(spec.task) {
            spec.algo
                .fit(spec.task, &Matrix::from_columns(0, vec![]), &[], &[], 0)?;
        }
        if spec.task == Task::Classify {
            let pos = y.iter().filter(|v| **v == 1.0).count();
            if pos == 0 || pos == y.len() {
                return Err(LearnError::Target {
                    column: spec.target.clone(),
                    message: "only one class is present; a classifier needs both".into(),
                });
            }
        }
        let encoder = Encoder::fit(frame, &features, spec.algo.encode_options())?;
        let x = encoder.transform(frame)?;
        let names = encoder.column_names();
        let (model, ols) = spec.algo.fit(spec.task, &x, &y, &names, spec.seed)?;
        Ok(TrainedModel {
            format: "adroit-model".into(),
            format_version: MODEL_FORMAT_VERSION,
            task: spec.task,
            algo: spec.algo.clone(),
            target: spec.target.clone(),
            positive_label: positive,
            threshold: spec.threshold,
            seed: spec.seed,
            training_rows: frame.rows(),
            encoder,
            model,
            ols,
        })
    }

    /// Predictions for `frame`'s rows (P(positive) when classifying).
    pub fn predict(&self, frame: &Frame) -> Result<Vec<f64>, LearnError> {
        let x = self.encoder.transform(frame)?;
        Ok(self.model.predict(&x))
    }

    /// The target of `frame` as this model codes it (1 = the positive label).
    pub fn target(&self, frame: &Frame) -> Result<Vec<f64>, LearnError> {
        let positive = self.positive_label.clone();
        let (y, _) = target_values(frame, &self.target, self.task, positive.as_deref())?;
        Ok(y)
    }

    /// Scores the model on labelled rows.
    pub fn evaluate(&self, frame: &Frame) -> Result<Evaluation, LearnError> {
        let y = self.target(frame)?;
        let p = self.predict(frame)?;
        Ok(evaluate(
            self.task,
            &y,
            &p,
            self.threshold,
            self.encoder.column_names().len(),
        ))
    }

    /// SHAP values per raw feature (one-hot columns of a category summed, which
    /// Shapley additivity allows).
    pub fn explain(&self, frame: &Frame) -> Result<Explanation, LearnError> {
        let x = self.encoder.transform(frame)?;
        let shap = self.model.shap(&x);
        let groups = self.encoder.groups();
        let values = shap
            .values
            .iter()
            .map(|row| {
                groups
                    .iter()
                    .map(|(_, r)| row[r.clone()].iter().sum())
                    .collect()
            })
            .collect();
        Ok(Explanation {
            features: groups.into_iter().map(|(n, _)| n).collect(),
            base: shap.base,
            link: shap.link,
            values,
        })
    }

    /// Mean |SHAP| and permutation importance (drop in R² or ROC AUC when the
    /// feature's values are shuffled, `repeats` times) on labelled rows.
    pub fn importance(
        &self,
        frame: &Frame,
        repeats: usize,
        seed: u64,
    ) -> Result<Vec<Importance>, LearnError> {
        let explanation = self.explain(frame)?;
        let y = self.target(frame)?;
        let x = self.encoder.transform(frame)?;
        let width = x.cols();
        let score = |m: &Matrix| {
            evaluate(self.task, &y, &self.model.predict(m), self.threshold, width).primary()
        };
        let baseline = score(&x);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = x.rows();
        let mut out = Vec::new();
        for (k, (name, range)) in self.encoder.groups().into_iter().enumerate() {
            let mean_abs_shap =
                explanation.values.iter().map(|r| r[k].abs()).sum::<f64>() / n.max(1) as f64;
            let mut drops = Vec::with_capacity(repeats);
            for _ in 0..repeats {
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut rng);
                let mut shuffled = x.clone();
                for j in range.clone() {
                    let original = x.col(j);
                    let col = shuffled.col_mut(j);
                    for (i, &o) in order.iter().enumerate() {
                        col[i] = original[o];
                    }
                }
                drops.push(baseline - score(&shuffled));
            }
            let mean = drops.iter().sum::<f64>() / drops.len().max(1) as f64;
            let sd = (drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>()
                / (drops.len().max(2) - 1) as f64)
                .sqrt();
            out.push(Importance {
                feature: name,
                mean_abs_shap,
                permutation: mean,
                permutation_std: sd,
            });
        }
        out.sort_by(|a, b| b.mean_abs_shap.total_cmp(&a.mean_abs_shap));
        Ok(out)
    }
}

/// Per-row SHAP values by raw feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub features: Vec<String>,
    /// The expected margin over the training data.
    pub base: f64,
    pub link: Link,
    /// One vector per row, one value per feature; base + Σ = the row's margin.
    pub values: Vec<Vec<f64>>,
}

/// One feature's global importance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Importance {
    pub feature: String,
    pub mean_abs_shap: f64,
    /// Mean drop of R² (regression) or ROC AUC (classification) when shuffled.
    pub permutation: f64,
    pub permutation_std: f64,
}

fn resolve_features(frame: &Frame, spec: &ModelSpec) -> Result<Vec<String>, LearnError> {
    if frame.column(&spec.target).is_none() {
        return Err(LearnError::Target {
            column: spec.target.clone(),
            message: format!("no such column (columns: {})", frame.names().join(", ")),
        });
    }
    let features: Vec<String> = if spec.features.is_empty() {
        frame
            .names()
            .into_iter()
            .filter(|n| *n != spec.target)
            .map(String::from)
            .collect()
    } else {
        spec.features.clone()
    };
    if features.contains(&spec.target) {
        return Err(LearnError::Invalid(format!(
            "the target `{}` cannot also be a feature",
            spec.target
        )));
    }
    if features.is_empty() {
        return Err(LearnError::Invalid(
            "no feature columns to learn from".into(),
        ));
    }
    Ok(features)
}

const POSITIVE_WORDS: [&str; 6] = ["1", "yes", "true", "y", "positive", "是"];

/// The target as numbers: the values (regression) or 1 for the positive label and 0
/// otherwise (classification), plus the positive label used.
fn target_values(
    frame: &Frame,
    column: &str,
    task: Task,
    positive: Option<&str>,
) -> Result<(Vec<f64>, Option<String>), LearnError> {
    let err = |message: String| LearnError::Target {
        column: column.to_string(),
        message,
    };
    let col = frame.column(column).ok_or_else(|| {
        err(format!(
            "no such column (columns: {})",
            frame.names().join(", ")
        ))
    })?;
    let missing = |i: usize| {
        err(format!(
            "row {} has no value; drop or fill those rows first",
            frame.source_row(i)
        ))
    };
    match (task, &col.values) {
        (Task::Regress, Values::Numeric(v)) => {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(missing(i));
            }
            Ok((v.clone(), None))
        }
        (Task::Regress, Values::Categorical(v)) => {
            let i = v
                .iter()
                .position(|s| {
                    s.as_deref()
                        .is_none_or(|s| s.trim().parse::<f64>().is_err())
                })
                .unwrap_or(0);
            Err(err(format!(
                "regression needs numbers, but row {} holds `{}`",
                frame.source_row(i),
                v.get(i).cloned().flatten().unwrap_or_default()
            )))
        }
        (Task::Classify, values) => {
            let labels: Vec<Option<String>> = match values {
                Values::Categorical(v) => v
                    .iter()
                    .map(|s| s.as_ref().map(|s| s.trim().to_string()))
                    .collect(),
                Values::Numeric(v) => v
                    .iter()
                    .map(|x| x.is_finite().then(|| format!("{x}")))
                    .collect(),
            };
            if let Some(i) = labels.iter().position(Option::is_none) {
                return Err(missing(i));
            }
            let distinct: std::collections::BTreeSet<&str> = labels
                .iter()
                .map(|s| s.as_deref().unwrap_or_default())
                .collect();
            if distinct.len() > 2 {
                return Err(err(format!(
                    "binary classification needs two classes, found {}: {}",
                    distinct.len(),
                    distinct
                        .iter()
                        .take(10)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let positive = match positive {
                Some(p) => {
                    if !distinct.contains(p) {
                        return Err(err(format!(
                            "the positive label `{p}` does not occur (values: {})",
                            distinct.iter().copied().collect::<Vec<_>>().join(", ")
                        )));
                    }
                    p.to_string()
                }
                None => distinct
                    .iter()
                    .find(|d| POSITIVE_WORDS.contains(&d.to_lowercase().as_str()))
                    .map(|d| d.to_string())
                    .ok_or_else(|| {
                        err(format!(
                            "cannot tell which value is positive among {}; pass --positive LABEL",
                            distinct.iter().copied().collect::<Vec<_>>().join(", ")
                        ))
                    })?,
            };
            Ok((
                labels
                    .iter()
                    .map(|s| f64::from(s.as_deref() == Some(positive.as_str())))
                    .collect(),
                Some(positive),
            ))
        }
    }
}

/// Cross-validation figures: each fold's and their mean and standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossValidation {
    pub folds: Vec<Evaluation>,
    pub mean: BTreeMap<String, f64>,
    pub std: BTreeMap<String, f64>,
}

impl CrossValidation {
    pub fn primary_mean(&self) -> f64 {
        let n = self.folds.len().max(1) as f64;
        self.folds.iter().map(Evaluation::primary).sum::<f64>() / n
    }
}

/// k-fold cross-validation: folds shuffled with the seed (stratified by class when
/// classifying); preprocessing is refitted inside each fold, so nothing leaks.
pub fn cross_validate(
    frame: &Frame,
    spec: &ModelSpec,
    k: usize,
) -> Result<CrossValidation, LearnError> {
    let n = frame.rows();
    if k < 2 || k > n {
        return Err(LearnError::Invalid(format!(
            "--cv needs 2 ≤ k ≤ rows ({n}), got {k}"
        )));
    }
    let (y, _) = target_values(frame, &spec.target, spec.task, spec.positive.as_deref())?;
    let fold_of = fold_assignment(&y, spec.task, k, spec.seed);
    let mut folds = Vec::with_capacity(k);
    for f in 0..k {
        let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != f).collect();
        let test: Vec<usize> = (0..n).filter(|&i| fold_of[i] == f).collect();
        let model = TrainedModel::train(&frame.select(&train), spec)?;
        let mut held_out = frame.select(&test);
        // Unseen categories in a fold are expected, not an error.
        let mut lenient = model.clone();
        lenient.encoder.unseen = crate::encode::Unseen::Ignore;
        held_out.source_rows = None;
        folds.push(lenient.evaluate(&held_out)?);
    }
    let mut sums: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for e in &folds {
        for (k, v) in e.figures() {
            sums.entry(k.to_string()).or_default().push(v);
        }
    }
    let mean: BTreeMap<String, f64> = sums
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().sum::<f64>() / v.len() as f64))
        .collect();
    let std = sums
        .iter()
        .map(|(k, v)| {
            let m = mean[k];
            let d = (v.len().max(2) - 1) as f64;
            (
                k.clone(),
                (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / d).sqrt(),
            )
        })
        .collect();
    Ok(CrossValidation { folds, mean, std })
}

fn fold_assignment(y: &[f64], task: Task, k: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..y.len()).collect();
    order.shuffle(&mut rng);
    if task == Task::Classify {
        // Stratify: positives first, then negatives, each dealt round-robin.
        order.sort_by_key(|&i| y[i] != 1.0);
    }
    let mut fold = vec![0; y.len()];
    for (pos, &i) in order.iter().enumerate() {
        fold[i] = pos % k;
    }
    fold
}

/// How tuning explores settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Every combination of the algorithm's grid.
    Grid,
    /// This many combinations drawn from the grid without replacement.
    Random(usize),
}

/// One tried setting and its cross-validated score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    pub params: Vec<(String, String)>,
    /// Mean R² (regression) or ROC AUC (classification) over the folds.
    pub score: f64,
}

/// The tuning outcome: every trial and the best algorithm settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tuning {
    pub metric: &'static str,
    pub trials: Vec<Trial>,
    pub best: Algo,
}

/// The grid each algorithm is tuned over.
pub fn grid(algo: &Algo) -> Vec<(&'static str, Vec<&'static str>)> {
    match algo {
        Algo::Ols => vec![],
        Algo::Ridge { .. } => vec![("alpha", vec!["0.01", "0.1", "1", "10", "100"])],
        Algo::Lasso { .. } => vec![("alpha", vec!["0.001", "0.01", "0.1", "1"])],
        Algo::ElasticNet { .. } => vec![
            ("alpha", vec!["0.001", "0.01", "0.1", "1"]),
            ("l1_ratio", vec!["0.2", "0.5", "0.8"]),
        ],
        Algo::Logistic { .. } => vec![("c", vec!["0.01", "0.1", "1", "10"])],
        Algo::Tree(_) => vec![
            ("max_depth", vec!["3", "5", "8", "12"]),
            ("min_samples_leaf", vec!["1", "5", "20", "50"]),
        ],
        Algo::Forest(_) => vec![
            ("max_features", vec!["sqrt", "0.5"]),
            ("min_samples_leaf", vec!["1", "5", "20"]),
        ],
        Algo::Gbdt(_) => vec![
            ("learning_rate", vec!["0.03", "0.1"]),
            ("num_leaves", vec!["15", "31", "63"]),
            ("n_trees", vec!["100", "300"]),
        ],
    }
}

/// Tunes `spec.algo` by k-fold cross-validation over its [`grid`], calling
/// `progress(done, total)` after each trial.
pub fn tune(
    frame: &Frame,
    spec: &ModelSpec,
    k: usize,
    search: Search,
    progress: &dyn Fn(usize, usize),
) -> Result<Tuning, LearnError> {
    let axes = grid(&spec.algo);
    let mut combos: Vec<Vec<(&str, &str)>> = vec![vec![]];
    for (key, values) in &axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((*key, *v));
                    c
                })
            })
            .collect();
    }
    if let Search::Random(m) = search {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        combos.shuffle(&mut rng);
        combos.truncate(m.max(1));
    }
    let mut trials = Vec::with_capacity(combos.len());
    let mut best: Option<(f64, Algo)> = None;
    let total = combos.len();
    for (done, combo) in combos.into_iter().enumerate() {
        let mut algo = spec.algo.clone();
        for (key, value) in &combo {
            algo.set(key, value)?;
        }
        let trial_spec = ModelSpec {
            algo: algo.clone(),
            ..spec.clone()
        };
        let score = cross_validate(frame, &trial_spec, k)?.primary_mean();
        trials.push(Trial {
            params: combo
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            score,
        });
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, algo));
        }
        progress(done + 1, total);
    }
    Ok(Tuning {
        metric: match spec.task {
            Task::Regress => "r_squared",
            Task::Classify => "roc_auc",
        },
        trials,
        best: best.map(|b| b.1).unwrap_or_else(|| spec.algo.clone()),
    })
}
