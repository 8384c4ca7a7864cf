//! Tree models: a single decision tree, a random forest (bagged trees with per-split
//! feature sampling, grown in parallel) and gradient-boosted trees (second-order
//! boosting with leaf-wise growth, LightGBM's defaults).

use crate::data::Matrix;
use crate::linear::{Link, sigmoid};
use crate::model::{Explain, FitError, Predict, Shap, Task, check_fit_input};
use crate::tree::{Binned, Criterion, GrowParams, Tree, grow};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A fitted ensemble: prediction = base + scale × Σ trees, passed through the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeEnsemble {
    pub base: f64,
    /// 1 for boosting (leaf values already include the learning rate), 1/T for a forest.
    pub scale: f64,
    pub link: Link,
    pub trees: Vec<Tree>,
}

impl TreeEnsemble {
    /// The raw score (log-odds for boosted classifiers) of each row.
    pub fn margin(&self, x: &Matrix) -> Vec<f64> {
        let chunks: Vec<Vec<f64>> = (0..x.rows())
            .collect::<Vec<_>>()
            .par_chunks(4096)
            .map(|rows| {
                rows.iter()
                    .map(|&i| {
                        let row = x.row(i);
                        self.base
                            + self.scale
                                * self.trees.iter().map(|t| t.predict_row(&row)).sum::<f64>()
                    })
                    .collect()
            })
            .collect();
        chunks.concat()
    }

    /// Features any split uses.
    pub fn features_used(&self, features: usize) -> Vec<bool> {
        let mut used = vec![false; features];
        for t in &self.trees {
            for (u, x) in used.iter_mut().zip(t.features_used(features)) {
                *u |= x;
            }
        }
        used
    }
}

impl Predict for TreeEnsemble {
    fn predict(&self, x: &Matrix) -> Vec<f64> {
        let m = self.margin(x);
        match self.link {
            Link::Identity => m,
            Link::Logit => m.into_iter().map(sigmoid).collect(),
        }
    }
}

impl Explain for TreeEnsemble {
    /// TreeSHAP summed over trees, on the margin's scale (log-odds for boosting,
    /// probability for forests and single trees).
    fn shap(&self, x: &Matrix) -> Shap {
        let base =
            self.base + self.scale * self.trees.iter().map(Tree::expected_value).sum::<f64>();
        let values = (0..x.rows())
            .into_par_iter()
            .map(|i| {
                let row = x.row(i);
                let mut phi = vec![0.0; x.cols()];
                for t in &self.trees {
                    t.shap_row(&row, self.scale, &mut phi);
                }
                phi
            })
            .collect();
        Shap {
            base,
            values,
            link: self.link,
        }
    }
}

/// How many features a forest considers at each split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxFeatures {
    /// √p (scikit-learn's classifier default).
    Sqrt,
    /// A fraction of p.
    Fraction(f64),
    All,
}

impl MaxFeatures {
    fn count(self, p: usize) -> usize {
        match self {
            MaxFeatures::Sqrt => ((p as f64).sqrt() as usize).max(1),
            MaxFeatures::Fraction(f) => ((f * p as f64).round() as usize).clamp(1, p.max(1)),
            MaxFeatures::All => p,
        }
    }
}

/// Decision tree settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TreeParams {
    /// Split quality: `entropy` (information gain) or `squared_error` (variance, or
    /// Gini for a 0/1 target). Regression always uses squared error.
    pub criterion: Criterion,
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    pub max_bins: usize,
}

impl Default for TreeParams {
    fn default() -> Self {
        TreeParams {
            criterion: Criterion::Entropy,
            max_depth: 6,
            min_samples_leaf: 20,
            max_bins: 255,
        }
    }
}

/// Random forest settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    pub n_trees: usize,
    /// `None`: √p for classification, all features for regression (scikit-learn's defaults).
    pub max_features: Option<MaxFeatures>,
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    pub max_bins: usize,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_trees: 200,
            max_features: None,
            max_depth: usize::MAX,
            min_samples_leaf: 5,
            max_bins: 255,
        }
    }
}

/// Gradient boosting settings (LightGBM's defaults unless noted).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GbdtParams {
    pub n_trees: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    pub min_hessian: f64,
    pub lambda: f64,
    pub max_bins: usize,
}

impl Default for GbdtParams {
    fn default() -> Self {
        GbdtParams {
            n_trees: 200,
            learning_rate: 0.05,
            num_leaves: 31,
            max_depth: usize::MAX,
            min_samples_leaf: 20,
            min_hessian: 1e-3,
            lambda: 0.0,
            max_bins: 255,
        }
    }
}

/// One decision tree. Classification leaves hold the share of positives.
pub fn fit_tree(
    x: &Matrix,
    y: &[f64],
    task: Task,
    p: &TreeParams,
) -> Result<TreeEnsemble, FitError> {
    check_fit_input(x, y, task)?;
    let binned = Binned::new(x, p.max_bins);
    let h = vec![1.0; y.len()];
    let grow_params = GrowParams {
        criterion: if task == Task::Regress {
            Criterion::SquaredError
        } else {
            p.criterion
        },
        max_depth: p.max_depth,
        max_leaves: usize::MAX,
        min_samples_leaf: p.min_samples_leaf.max(1),
        min_hessian: 0.0,
        lambda: 0.0,
        max_features: None,
        cover_is_hessian: true,
    };
    let rows = (0..y.len() as u32).collect();
    let tree = grow(
        &binned,
        y,
        &h,
        rows,
        &grow_params,
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .tree;
    Ok(TreeEnsemble {
        base: 0.0,
        scale: 1.0,
        link: Link::Identity,
        trees: vec![tree],
    })
}

/// A random forest: each tree on a bootstrap sample (drawn from its own seeded stream,
/// so the forest is the same for a seed whatever the thread count).
pub fn fit_forest(
    x: &Matrix,
    y: &[f64],
    task: Task,
    p: &ForestParams,
    seed: u64,
) -> Result<TreeEnsemble, FitError> {
    check_fit_input(x, y, task)?;
    if p.n_trees == 0 {
        return Err(FitError::Parameter(
            "a forest needs at least one tree".into(),
        ));
    }
    let binned = Binned::new(x, p.max_bins);
    let n = y.len();
    let features = x.cols();
    let max_features = p.max_features.unwrap_or(match task {
        Task::Classify => MaxFeatures::Sqrt,
        Task::Regress => MaxFeatures::All,
    });
    let grow_params = GrowParams {
        criterion: Criterion::SquaredError,
        max_depth: p.max_depth,
        max_leaves: usize::MAX,
        min_samples_leaf: p.min_samples_leaf.max(1),
        min_hessian: 0.0,
        lambda: 0.0,
        max_features: Some(max_features.count(features)),
        cover_is_hessian: true,
    };
    let trees = (0..p.n_trees)
        .into_par_iter()
        .map(|t| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(t as u64 + 1);
            let mut weight = vec![0.0; n];
            for _ in 0..n {
                weight[rng.random_range(0..n)] += 1.0;
            }
            let g: Vec<f64> = y.iter().zip(&weight).map(|(y, w)| y * w).collect();
            let rows = (0..n as u32)
                .filter(|&i| weight[i as usize] > 0.0)
                .collect();
            grow(&binned, &g, &weight, rows, &grow_params, &mut rng).tree
        })
        .collect();
    Ok(TreeEnsemble {
        base: 0.0,
        scale: 1.0 / p.n_trees as f64,
        link: Link::Identity,
        trees,
    })
}

/// Gradient-boosted trees: squared error for regression, log-loss for classification,
/// starting from the mean (its log-odds), each tree a Newton step on leaf-wise grown
/// leaves, shrunk by the learning rate.
pub fn fit_gbdt(
    x: &Matrix,
    y: &[f64],
    task: Task,
    p: &GbdtParams,
) -> Result<TreeEnsemble, FitError> {
    check_fit_input(x, y, task)?;
    if p.learning_rate.is_nan() || p.learning_rate <= 0.0 || p.num_leaves < 2 {
        return Err(FitError::Parameter(format!(
            "learning_rate must be > 0 and num_leaves ≥ 2, got {} and {}",
            p.learning_rate, p.num_leaves
        )));
    }
    let binned = Binned::new(x, p.max_bins);
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let (base, link) = match task {
        Task::Regress => (mean, Link::Identity),
        Task::Classify => {
            let m = mean.clamp(1e-15, 1.0 - 1e-15);
            ((m / (1.0 - m)).ln(), Link::Logit)
        }
    };
    let grow_params = GrowParams {
        criterion: Criterion::SquaredError,
        max_depth: p.max_depth,
        max_leaves: p.num_leaves,
        min_samples_leaf: p.min_samples_leaf.max(1),
        min_hessian: p.min_hessian,
        lambda: p.lambda,
        max_features: None,
        cover_is_hessian: false,
    };
    let mut score = vec![base; n];
    let mut g = vec![0.0; n];
    let mut h = vec![1.0; n];
    let mut trees = Vec::with_capacity(p.n_trees);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for _ in 0..p.n_trees {
        match task {
            Task::Regress => {
                for i in 0..n {
                    g[i] = y[i] - score[i];
                }
            }
            Task::Classify => {
                // exp() for every row and tree is a tenth of the fit: spread it.
                g.par_chunks_mut(4096)
                    .zip(h.par_chunks_mut(4096))
                    .enumerate()
                    .for_each(|(c, (g, h))| {
                        let at = c * 4096;
                        for (k, (gi, hi)) in g.iter_mut().zip(h.iter_mut()).enumerate() {
                            let q = sigmoid(score[at + k]);
                            *gi = y[at + k] - q;
                            *hi = q * (1.0 - q);
                        }
                    });
            }
        }
        let rows = (0..n as u32).collect();
        let mut grown = grow(&binned, &g, &h, rows, &grow_params, &mut rng);
        for v in grown.tree.value.iter_mut() {
            *v *= p.learning_rate;
        }
        for (leaf, rows) in grown.leaves() {
            let v = grown.tree.value[leaf];
            for &r in rows {
                score[r as usize] += v;
            }
        }
        let stump = grown.tree.len() == 1;
        trees.push(grown.tree);
        if stump {
            break; // Nothing left to learn: every later tree would be this one leaf.
        }
    }
    Ok(TreeEnsemble {
        base,
        scale: 1.0,
        link,
        trees,
    })
}
