//! Uplift modelling: who responds to a campaign *because of* it.
//!
//! Learners over the toolkit's own models ([`Algo`]), all fitted on a randomised
//! campaign (a treatment flag and an outcome per customer):
//!
//! - **T-learner**: one outcome model per arm; uplift = μ₁(x) − μ₀(x).
//! - **S-learner**: one model with the treatment as an extra feature; uplift =
//!   μ(x, t=1) − μ(x, t=0).
//! - **X-learner** (Künzel, Sekhon, Bickel & Yu 2019, as causalml's `BaseXLearner`):
//!   the T-learner's outcome models μ₀, μ₁ impute each customer's effect (treated: y −
//!   μ₀(x); control: μ₁(x) − y), two regressions τ₁, τ₀ model those imputed effects in
//!   each arm, and uplift = p·τ₀(x) + (1−p)·τ₁(x) with p the (randomised, so constant)
//!   treated share. The second-stage regressions use the same algorithm in regression
//!   mode; a logistic outcome model's effects are regressed by ridge (alpha = 1/C).
//! - **Class transformation** (Jaskowski & Jaroszewicz 2012): for a 0/1 outcome, z =
//!   y·t + (1−y)(1−t) and a classifier of z; uplift = 2·P(z=1 | x) − 1. This identity
//!   holds only when half the customers were treated (scikit-uplift's
//!   `ClassTransformation` has the same restriction and warns otherwise); the fitted
//!   model records the treated share so callers can say so.
//!
//! One [`Encoder`] is fitted on all training rows (both arms) and shared by the
//! learner's models, so a T-learner's two models see identically scaled columns.
//!
//! Evaluation follows scikit-uplift 0.5.1 (`sklift.metrics`) exactly: [`qini_curve`],
//! [`uplift_curve`], their perfect curves, [`qini_auc_score`] and [`uplift_auc_score`]
//! (area between the curve and the random line, divided by the perfect curve's), and
//! [`uplift_by_percentile`] (strategy "overall"). Ties in predicted uplift are one
//! threshold on the curves; the percentile table orders ties as numpy's
//! `argsort(kind="mergesort")[::-1]` does (later rows first).
//!
//! Targeting: expected incremental profit of contacting a customer = uplift × margin −
//! cost; [`targeting`] ranks customers and finds the number contacted that maximises
//! the cumulative expected profit.

use crate::data::{Frame, Matrix};
use crate::encode::Encoder;
use crate::model::{Algo, FitError, Fitted, LearnError, Predict, Task};
use serde::{Deserialize, Serialize};

/// Which meta-learner turns outcome models into uplift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Learner {
    T,
    S,
    X,
    ClassTransformation,
}

impl Learner {
    pub fn from_name(name: &str) -> Result<Learner, LearnError> {
        Ok(match name {
            "t" | "T" | "two_model" | "two-model" => Learner::T,
            "s" | "S" | "solo_model" | "solo-model" => Learner::S,
            "x" | "X" => Learner::X,
            "class-transformation" | "class_transformation" | "ct" => Learner::ClassTransformation,
            other => {
                return Err(LearnError::Invalid(format!(
                    "unknown uplift learner `{other}`; choose t, s, x or class-transformation"
                )));
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Learner::T => "t",
            Learner::S => "s",
            Learner::X => "x",
            Learner::ClassTransformation => "class-transformation",
        }
    }
}

/// A fitted uplift model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpliftModel {
    pub learner: Learner,
    pub algo: Algo,
    pub task: Task,
    pub encoder: Encoder,
    /// T-learner: [control, treated]; X-learner: [μ₀, μ₁, τ₀, τ₁]; S-learner and class
    /// transformation: one model.
    pub models: Vec<Fitted>,
    /// Share of training rows that were treated.
    pub treated_share: f64,
    pub training_rows: usize,
}

/// Whether every outcome is 0 or 1 (then outcome models classify).
pub fn is_binary(outcome: &[f64]) -> bool {
    outcome.iter().all(|v| *v == 0.0 || *v == 1.0)
}

/// Fits `learner` with `algo` on `frame`'s `features`. The task is classification when
/// the outcome is 0/1, regression otherwise.
pub fn fit(
    frame: &Frame,
    features: &[String],
    treatment: &[bool],
    outcome: &[f64],
    learner: Learner,
    algo: &Algo,
    seed: u64,
) -> Result<UpliftModel, LearnError> {
    let n = frame.rows();
    if treatment.len() != n || outcome.len() != n {
        return Err(FitError::Shape(format!(
            "{n} rows but {} treatment flags and {} outcomes",
            treatment.len(),
            outcome.len()
        ))
        .into());
    }
    let treated = treatment.iter().filter(|t| **t).count();
    if treated == 0 || treated == n {
        return Err(LearnError::Invalid(
            "uplift needs both treated and control rows".into(),
        ));
    }
    let task = if is_binary(outcome) {
        Task::Classify
    } else {
        Task::Regress
    };
    if learner == Learner::ClassTransformation && task != Task::Classify {
        return Err(LearnError::Invalid(
            "class transformation needs a 0/1 outcome; use the t or s learner".into(),
        ));
    }
    let encoder = Encoder::fit(frame, features, algo.encode_options())?;
    let x = encoder.transform(frame)?;
    let mut names = encoder.column_names();
    let models = match learner {
        Learner::T | Learner::X => {
            let mut models = Vec::with_capacity(2);
            for arm in [false, true] {
                let rows: Vec<usize> = (0..n).filter(|&i| treatment[i] == arm).collect();
                let y: Vec<f64> = rows.iter().map(|&i| outcome[i]).collect();
                check_classes(task, &y, if arm { "treated" } else { "control" })?;
                let (m, _) = algo.fit(task, &x.select_rows(&rows), &y, &names, seed)?;
                models.push(m);
            }
            if learner == Learner::X {
                let effect_algo = effect_algo(algo);
                let mu0 = models[0].predict(&x);
                let mu1 = models[1].predict(&x);
                for arm in [false, true] {
                    let rows: Vec<usize> = (0..n).filter(|&i| treatment[i] == arm).collect();
                    let d: Vec<f64> = rows
                        .iter()
                        .map(|&i| {
                            if arm {
                                outcome[i] - mu0[i]
                            } else {
                                mu1[i] - outcome[i]
                            }
                        })
                        .collect();
                    let (m, _) =
                        effect_algo.fit(Task::Regress, &x.select_rows(&rows), &d, &names, seed)?;
                    models.push(m);
                }
            }
            models
        }
        Learner::S => {
            check_classes(task, outcome, "all")?;
            names.push(TREATMENT_COLUMN.into());
            let xs = with_treatment(&x, |i| treatment[i]);
            vec![algo.fit(task, &xs, outcome, &names, seed)?.0]
        }
        Learner::ClassTransformation => {
            let z: Vec<f64> = (0..n)
                .map(|i| {
                    let t = f64::from(u8::from(treatment[i]));
                    outcome[i] * t + (1.0 - outcome[i]) * (1.0 - t)
                })
                .collect();
            check_classes(task, &z, "transformed")?;
            vec![algo.fit(Task::Classify, &x, &z, &names, seed)?.0]
        }
    };
    Ok(UpliftModel {
        learner,
        algo: algo.clone(),
        task,
        encoder,
        models,
        treated_share: treated as f64 / n as f64,
        training_rows: n,
    })
}

/// The X-learner's second-stage algorithm: the same one in regression mode, ridge for
/// logistic.
fn effect_algo(algo: &Algo) -> Algo {
    match algo {
        Algo::Logistic { c } => Algo::Ridge { alpha: 1.0 / c },
        other => other.clone(),
    }
}

/// The S-learner's extra column.
const TREATMENT_COLUMN: &str = "__treatment";

fn with_treatment(x: &Matrix, t: impl Fn(usize) -> bool) -> Matrix {
    let mut columns: Vec<Vec<f64>> = (0..x.cols()).map(|j| x.col(j).to_vec()).collect();
    columns.push((0..x.rows()).map(|i| f64::from(u8::from(t(i)))).collect());
    Matrix::from_columns(x.rows(), columns)
}

fn check_classes(task: Task, y: &[f64], which: &str) -> Result<(), LearnError> {
    if task == Task::Classify {
        let pos = y.iter().filter(|v| **v == 1.0).count();
        if pos == 0 || pos == y.len() {
            return Err(LearnError::Invalid(format!(
                "the {which} rows have only one outcome class; a classifier needs both"
            )));
        }
    }
    Ok(())
}

impl UpliftModel {
    /// Predicted uplift (treated minus control outcome) for `frame`'s rows.
    pub fn predict(&self, frame: &Frame) -> Result<Vec<f64>, LearnError> {
        let x = self.encoder.transform(frame)?;
        Ok(match self.learner {
            Learner::T => {
                let p0 = self.models[0].predict(&x);
                let p1 = self.models[1].predict(&x);
                p1.iter().zip(&p0).map(|(a, b)| a - b).collect()
            }
            Learner::X => {
                let tau0 = self.models[2].predict(&x);
                let tau1 = self.models[3].predict(&x);
                let p = self.treated_share;
                tau0.iter()
                    .zip(&tau1)
                    .map(|(a, b)| p * a + (1.0 - p) * b)
                    .collect()
            }
            Learner::S => {
                let p1 = self.models[0].predict(&with_treatment(&x, |_| true));
                let p0 = self.models[0].predict(&with_treatment(&x, |_| false));
                p1.iter().zip(&p0).map(|(a, b)| a - b).collect()
            }
            Learner::ClassTransformation => self.models[0]
                .predict(&x)
                .into_iter()
                .map(|p| 2.0 * p - 1.0)
                .collect(),
        })
    }
}

/// The average treatment effect of a randomised campaign: the difference of group means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AverageEffect {
    pub treated: usize,
    pub control: usize,
    pub treated_mean: f64,
    pub control_mean: f64,
    /// treated_mean − control_mean.
    pub effect: f64,
    /// Standard error of the difference (unequal variances, sample variances).
    pub std_error: Option<f64>,
}

/// Difference of group means; `None` when an arm is empty.
pub fn average_effect(treatment: &[bool], outcome: &[f64]) -> Option<AverageEffect> {
    let arm = |flag: bool| -> Vec<f64> {
        treatment
            .iter()
            .zip(outcome)
            .filter(|(t, _)| **t == flag)
            .map(|(_, y)| *y)
            .collect()
    };
    let (t, c) = (arm(true), arm(false));
    if t.is_empty() || c.is_empty() {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var = |v: &[f64], m: f64| {
        (v.len() > 1).then(|| v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64)
    };
    let (mt, mc) = (mean(&t), mean(&c));
    let std_error = match (var(&t, mt), var(&c, mc)) {
        (Some(vt), Some(vc)) => Some((vt / t.len() as f64 + vc / c.len() as f64).sqrt()),
        _ => None,
    };
    Some(AverageEffect {
        treated: t.len(),
        control: c.len(),
        treated_mean: mt,
        control_mean: mc,
        effect: mt - mc,
        std_error,
    })
}

/// A curve: number of customers targeted (x) and the gain (y).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl Curve {
    /// Trapezoidal area (sklearn's `auc`).
    pub fn area(&self) -> f64 {
        self.x
            .windows(2)
            .zip(self.y.windows(2))
            .map(|(x, y)| (x[1] - x[0]) * (y[1] + y[0]) / 2.0)
            .sum()
    }

    /// The random-targeting line from (0, 0) to the curve's last point.
    pub fn baseline(&self) -> Curve {
        let (x, y) = match (self.x.last(), self.y.last()) {
            (Some(x), Some(y)) => (*x, *y),
            _ => (0.0, 0.0),
        };
        Curve {
            x: vec![0.0, x],
            y: vec![0.0, y],
        }
    }

    /// At most about `points` points spread evenly over the curve, first and last kept.
    pub fn subsample(&self, points: usize) -> Curve {
        let n = self.x.len();
        if n <= points.max(2) {
            return self.clone();
        }
        let m = points.max(2);
        let mut idx: Vec<usize> = (0..m).map(|k| k * (n - 1) / (m - 1)).collect();
        idx.dedup();
        Curve {
            x: idx.iter().map(|&i| self.x[i]).collect(),
            y: idx.iter().map(|&i| self.y[i]).collect(),
        }
    }
}

/// Row indices by predicted uplift, highest first; ties in numpy's
/// `argsort(kind="mergesort")[::-1]` order (the later row first).
pub fn descending_order(uplift: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..uplift.len()).collect();
    order.sort_by(|&a, &b| uplift[b].total_cmp(&uplift[a]).then(b.cmp(&a)));
    order
}

/// Cumulative counts at each distinct-uplift threshold: (N, N_T, Y_T, Y_C).
fn cumulative(y: &[f64], uplift: &[f64], treatment: &[bool]) -> Vec<(f64, f64, f64, f64)> {
    let order = descending_order(uplift);
    let mut out = Vec::new();
    let (mut nt, mut yt, mut yc) = (0.0, 0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if treatment[i] {
            nt += 1.0;
            yt += y[i];
        } else {
            yc += y[i];
        }
        let last = k + 1 == order.len() || uplift[order[k + 1]] != uplift[i];
        if last {
            out.push(((k + 1) as f64, nt, yt, yc));
        }
    }
    out
}

fn start_at_origin(mut x: Vec<f64>, mut y: Vec<f64>) -> Curve {
    if x.is_empty() || y[0] != 0.0 || x[0] != 0.0 {
        x.insert(0, 0.0);
        y.insert(0, 0.0);
    }
    Curve { x, y }
}

/// scikit-uplift's `qini_curve`: at each threshold, Y_T − Y_C · N_T / N_C.
pub fn qini_curve(y: &[f64], uplift: &[f64], treatment: &[bool]) -> Curve {
    let (xs, ys) = cumulative(y, uplift, treatment)
        .into_iter()
        .map(|(n, nt, yt, yc)| {
            let nc = n - nt;
            (n, yt - yc * if nc != 0.0 { nt / nc } else { 0.0 })
        })
        .unzip();
    start_at_origin(xs, ys)
}

/// scikit-uplift's `uplift_curve`: at each threshold, (Y_T/N_T − Y_C/N_C) · N.
pub fn uplift_curve(y: &[f64], uplift: &[f64], treatment: &[bool]) -> Curve {
    let (xs, ys) = cumulative(y, uplift, treatment)
        .into_iter()
        .map(|(n, nt, yt, yc)| {
            let nc = n - nt;
            let rt = if nt != 0.0 { yt / nt } else { 0.0 };
            let rc = if nc != 0.0 { yc / nc } else { 0.0 };
            (n, (rt - rc) * n)
        })
        .unzip();
    start_at_origin(xs, ys)
}

/// scikit-uplift's `perfect_qini_curve`.
pub fn perfect_qini_curve(y: &[f64], treatment: &[bool], negative_effect: bool) -> Curve {
    if negative_effect {
        let score: Vec<f64> = y
            .iter()
            .zip(treatment)
            .map(|(y, t)| if *t { *y } else { -*y })
            .collect();
        qini_curve(y, &score, treatment)
    } else {
        let (mut yt, mut nt, mut yc, mut nc) = (0.0, 0.0, 0.0, 0.0);
        for (v, t) in y.iter().zip(treatment) {
            if *t {
                yt += v;
                nt += 1.0;
            } else {
                yc += v;
                nc += 1.0;
            }
        }
        let r = yt - nt * yc / nc;
        Curve {
            x: vec![0.0, r, y.len() as f64],
            y: vec![0.0, r, r],
        }
    }
}

/// scikit-uplift's `perfect_uplift_curve` (0/1 outcomes).
pub fn perfect_uplift_curve(y: &[f64], treatment: &[bool]) -> Curve {
    let cr = y
        .iter()
        .zip(treatment)
        .filter(|(y, t)| **y == 1.0 && !**t)
        .count();
    let tn = y
        .iter()
        .zip(treatment)
        .filter(|(y, t)| **y == 0.0 && **t)
        .count();
    let score: Vec<f64> = y
        .iter()
        .zip(treatment)
        .map(|(y, t)| {
            let tf = f64::from(u8::from(*t));
            let summand = if cr > tn { *y } else { tf };
            2.0 * f64::from(u8::from(*y == tf)) + summand
        })
        .collect();
    uplift_curve(y, &score, treatment)
}

fn normalised(actual: &Curve, perfect: &Curve) -> Option<f64> {
    let base = perfect.baseline().area();
    let p = perfect.area() - base;
    let a = actual.area() - base;
    (p != 0.0 && p.is_finite()).then(|| a / p)
}

/// scikit-uplift's `qini_auc_score`: (area under the Qini curve − random) / (perfect −
/// random). `negative_effect` as in scikit-uplift (default there: true).
pub fn qini_auc_score(
    y: &[f64],
    uplift: &[f64],
    treatment: &[bool],
    negative_effect: bool,
) -> Option<f64> {
    normalised(
        &qini_curve(y, uplift, treatment),
        &perfect_qini_curve(y, treatment, negative_effect),
    )
}

/// scikit-uplift's `uplift_auc_score`, normalised like [`qini_auc_score`].
pub fn uplift_auc_score(y: &[f64], uplift: &[f64], treatment: &[bool]) -> Option<f64> {
    normalised(
        &uplift_curve(y, uplift, treatment),
        &perfect_uplift_curve(y, treatment),
    )
}

/// One row of [`uplift_by_percentile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PercentileRow {
    /// "0-10", "10-20", … as scikit-uplift labels them.
    pub percentile: String,
    pub n_treatment: usize,
    pub n_control: usize,
    pub response_rate_treatment: Option<f64>,
    pub response_rate_control: Option<f64>,
    pub uplift: Option<f64>,
}

/// scikit-uplift's `uplift_by_percentile(strategy="overall")`: rows sorted by predicted
/// uplift (highest first) split into `bins` nearly equal groups (`np.array_split`: the
/// first n mod bins groups one larger); per group the treated and control response
/// rates and their difference. An empty arm's rate is `None` (numpy's NaN).
pub fn uplift_by_percentile(
    y: &[f64],
    uplift: &[f64],
    treatment: &[bool],
    bins: usize,
) -> Vec<PercentileRow> {
    let n = y.len();
    if bins == 0 {
        return Vec::new();
    }
    let order = descending_order(uplift);
    let (base, extra) = (n / bins, n % bins);
    let bounds: Vec<usize> = (1..=bins)
        .map(|p| ((p as f64 * 100.0 / bins as f64).round_ties_even()) as usize)
        .collect();
    let mut start = 0;
    (0..bins)
        .map(|b| {
            let size = base + usize::from(b < extra);
            let rows = &order[start..start + size];
            start += size;
            let (mut nt, mut yt, mut nc, mut yc) = (0usize, 0.0, 0usize, 0.0);
            for &i in rows {
                if treatment[i] {
                    nt += 1;
                    yt += y[i];
                } else {
                    nc += 1;
                    yc += y[i];
                }
            }
            let rt = (nt > 0).then(|| yt / nt as f64);
            let rc = (nc > 0).then(|| yc / nc as f64);
            PercentileRow {
                percentile: format!("{}-{}", if b == 0 { 0 } else { bounds[b - 1] }, bounds[b]),
                n_treatment: nt,
                n_control: nc,
                response_rate_treatment: rt,
                response_rate_control: rc,
                uplift: rt.zip(rc).map(|(a, b)| a - b),
            }
        })
        .collect()
}

/// One customer of a targeting list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Row in the scored data.
    pub row: usize,
    pub uplift: f64,
    /// uplift × margin − cost.
    pub expected_profit: f64,
    /// Sum of expected profit of this customer and everyone ranked above.
    pub cumulative_profit: f64,
    pub contact: bool,
}

/// The ranked targeting list and its best cut-off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Targeting {
    pub margin: f64,
    pub cost: f64,
    /// Customers ranked by predicted uplift, highest first.
    pub list: Vec<Target>,
    /// How many of the top customers to contact (0 when no one is worth it).
    pub contacted: usize,
    /// Cumulative expected profit at the cut-off.
    pub expected_profit: f64,
}

/// Ranks customers by predicted uplift and contacts the top `k` that maximise cumulative
/// expected profit (uplift × margin − cost per customer). With margin > 0 the ranking by
/// uplift is the ranking by profit, so the best cut-off is a prefix.
pub fn targeting(uplift: &[f64], margin: f64, cost: f64) -> Targeting {
    let order = descending_order(uplift);
    let mut cumulative = 0.0;
    let mut best = (0usize, 0.0f64);
    let mut list: Vec<Target> = order
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let profit = uplift[i] * margin - cost;
            cumulative += profit;
            if cumulative > best.1 {
                best = (k + 1, cumulative);
            }
            Target {
                row: i,
                uplift: uplift[i],
                expected_profit: profit,
                cumulative_profit: cumulative,
                contact: false,
            }
        })
        .collect();
    for t in list.iter_mut().take(best.0) {
        t.contact = true;
    }
    Targeting {
        margin,
        cost,
        list,
        contacted: best.0,
        expected_profit: best.1,
    }
}

/// Pearson correlation; `None` when either side is constant or lengths differ.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Column, Values};

    #[test]
    fn qini_curve_groups_ties_and_starts_at_zero() {
        let y = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let t = [true, false, true, true, false, false];
        let u = [0.9, 0.9, 0.5, 0.4, 0.1, 0.1];
        let c = qini_curve(&y, &u, &t);
        // Thresholds at 2, 3, 4, 6 rows.
        assert_eq!(c.x, vec![0.0, 2.0, 3.0, 4.0, 6.0]);
        // At 2: Y_T=1, Y_C=0 → 1. At 6: Y_T=2, Y_C=1, N_T=3, N_C=3 → 1.
        assert_eq!(c.y[1], 1.0);
        assert_eq!(*c.y.last().unwrap(), 1.0);
        let u2 = uplift_curve(&y, &u, &t);
        // At 6: (2/3 − 1/3) · 6 = 2.
        assert!((u2.y[4] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn perfect_ranking_scores_one() {
        let y = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        let t = [true, true, false, false, true, false, true, false];
        let perfect: Vec<f64> = y
            .iter()
            .zip(&t)
            .map(|(y, t)| if *t { *y } else { -*y })
            .collect();
        let q = qini_auc_score(&y, &perfect, &t, true).unwrap();
        assert!((q - 1.0).abs() < 1e-12);
    }

    #[test]
    fn targeting_stops_where_profit_peaks() {
        let t = targeting(&[0.05, 0.2, -0.1, 0.01], 10.0, 0.5);
        // Profits by rank: 1.5, 0.0, −0.4, −1.5 → cumulative 1.5, 1.5, 1.1, −0.4.
        assert_eq!(t.contacted, 1);
        assert_eq!(t.list[0].row, 1);
        assert!((t.expected_profit - 1.5).abs() < 1e-12);
        assert!(t.list[0].contact && !t.list[1].contact);
    }

    #[test]
    fn percentiles_split_like_numpy() {
        let n = 23;
        let y: Vec<f64> = (0..n).map(|i| f64::from(i % 3 == 0)).collect();
        let t: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let u: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
        let rows = uplift_by_percentile(&y, &u, &t, 10);
        let sizes: Vec<usize> = rows.iter().map(|r| r.n_treatment + r.n_control).collect();
        assert_eq!(sizes, vec![3, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
        assert_eq!(rows[0].percentile, "0-10");
        assert_eq!(rows[9].percentile, "90-100");
    }

    #[test]
    fn learners_find_a_planted_effect() {
        // Treatment helps only when g = 1.
        let n = 4000;
        let mut g = Vec::new();
        let mut t = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let gi = (i / 2) % 2;
            let ti = i % 2 == 0;
            let p = 0.2 + if ti && gi == 1 { 0.4 } else { 0.0 };
            // Deterministic "draws" at the rate p.
            let yi = ((i * 7919) % 1000) as f64 / 1000.0 < p;
            g.push(gi as f64);
            t.push(ti);
            y.push(f64::from(u8::from(yi)));
        }
        let frame = Frame::new(vec![Column {
            name: "g".into(),
            values: Values::Numeric(g.clone()),
        }]);
        let features = vec!["g".to_string()];
        for learner in [
            Learner::T,
            Learner::S,
            Learner::X,
            Learner::ClassTransformation,
        ] {
            let algo = Algo::from_name("gbdt").unwrap();
            let m = fit(&frame, &features, &t, &y, learner, &algo, 0).unwrap();
            let u = m.predict(&frame).unwrap();
            let hi = u[2];
            let lo = u[0];
            assert!(hi > lo + 0.2, "{learner:?}: {hi} vs {lo}");
        }
    }
}
