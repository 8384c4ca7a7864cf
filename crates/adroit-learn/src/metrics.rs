//! Evaluation metrics for regression and binary classification.
//!
//! Definitions follow scikit-learn's, so figures can be compared one to one; the tests
//! check the examples from scikit-learn's documentation. Inputs of unequal length or
//! without both classes give `None` where a metric is undefined, never NaN.

use serde::Serialize;

/// Regression metrics of predictions against truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegressionMetrics {
    pub r_squared: f64,
    pub mae: f64,
    pub rmse: f64,
    /// Mean absolute percentage error as a fraction (scikit-learn's definition: the
    /// denominator is max(|y|, ε), so zeros in y do not divide by zero).
    pub mape: f64,
}

/// `None` when the lengths differ or there are no rows.
pub fn regression(y: &[f64], predicted: &[f64]) -> Option<RegressionMetrics> {
    if y.len() != predicted.len() || y.is_empty() {
        return None;
    }
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let rss: f64 = y.iter().zip(predicted).map(|(a, b)| (a - b).powi(2)).sum();
    let tss: f64 = y.iter().map(|a| (a - mean).powi(2)).sum();
    Some(RegressionMetrics {
        r_squared: if tss > 0.0 {
            1.0 - rss / tss
        } else if rss == 0.0 {
            1.0
        } else {
            0.0
        },
        mae: y
            .iter()
            .zip(predicted)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            / n,
        rmse: (rss / n).sqrt(),
        mape: y
            .iter()
            .zip(predicted)
            .map(|(a, b)| (a - b).abs() / a.abs().max(f64::EPSILON))
            .sum::<f64>()
            / n,
    })
}

/// Counts of a binary classifier at a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub true_positive: u64,
    pub false_positive: u64,
    pub true_negative: u64,
    pub false_negative: u64,
}

impl Confusion {
    /// Scores at or above `threshold` are predicted positive.
    pub fn at(truth: &[bool], scores: &[f64], threshold: f64) -> Confusion {
        let mut c = Confusion {
            true_positive: 0,
            false_positive: 0,
            true_negative: 0,
            false_negative: 0,
        };
        for (t, s) in truth.iter().zip(scores) {
            match (*t, *s >= threshold) {
                (true, true) => c.true_positive += 1,
                (false, true) => c.false_positive += 1,
                (false, false) => c.true_negative += 1,
                (true, false) => c.false_negative += 1,
            }
        }
        c
    }

    fn ratio(a: u64, b: u64) -> Option<f64> {
        (b > 0).then(|| a as f64 / b as f64)
    }

    pub fn accuracy(&self) -> Option<f64> {
        let total =
            self.true_positive + self.false_positive + self.true_negative + self.false_negative;
        Self::ratio(self.true_positive + self.true_negative, total)
    }

    pub fn precision(&self) -> Option<f64> {
        Self::ratio(self.true_positive, self.true_positive + self.false_positive)
    }

    pub fn recall(&self) -> Option<f64> {
        Self::ratio(self.true_positive, self.true_positive + self.false_negative)
    }

    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        (p + r > 0.0).then(|| 2.0 * p * r / (p + r))
    }
}

/// Area under the ROC curve: the probability that a random positive scores above a
/// random negative (ties count half). `None` without both classes.
pub fn roc_auc(truth: &[bool], scores: &[f64]) -> Option<f64> {
    if truth.len() != scores.len() {
        return None;
    }
    // Rank-sum (Mann–Whitney) with average ranks for ties: O(n log n).
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[order[k]] = average;
        }
        i = j + 1;
    }
    let positives = truth.iter().filter(|t| **t).count() as f64;
    let negatives = truth.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let rank_sum: f64 = truth
        .iter()
        .zip(&ranks)
        .filter(|(t, _)| **t)
        .map(|(_, r)| r)
        .sum();
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// Average precision (area under the precision-recall curve as scikit-learn computes it:
/// Σ (R_n − R_{n−1}) P_n over descending score thresholds). `None` without positives.
pub fn average_precision(truth: &[bool], scores: &[f64]) -> Option<f64> {
    if truth.len() != scores.len() {
        return None;
    }
    let positives = truth.iter().filter(|t| **t).count() as f64;
    if positives == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut previous_recall, mut ap) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        // All scores tied at this threshold enter together.
        let threshold = scores[order[i]];
        while i < order.len() && scores[order[i]] == threshold {
            if truth[order[i]] {
                tp += 1.0
            } else {
                fp += 1.0
            }
            i += 1;
        }
        let recall = tp / positives;
        ap += (recall - previous_recall) * tp / (tp + fp);
        previous_recall = recall;
    }
    Some(ap)
}

/// Mean negative log-likelihood of the true classes, probabilities clipped to
/// [1e-15, 1 − 1e-15] so a confident mistake costs a large but finite amount.
pub fn log_loss(truth: &[bool], probabilities: &[f64]) -> Option<f64> {
    if truth.len() != probabilities.len() || truth.is_empty() {
        return None;
    }
    let eps = 1e-15;
    let total: f64 = truth
        .iter()
        .zip(probabilities)
        .map(|(t, p)| {
            let p = p.clamp(eps, 1.0 - eps);
            -(if *t { p.ln() } else { (1.0 - p).ln() })
        })
        .sum();
    Some(total / truth.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn regression_matches_scikit_learn_docs() {
        // r2_score, mean_absolute_error, mean_squared_error, mean_absolute_percentage_error
        // on y_true = [3, -0.5, 2, 7], y_pred = [2.5, 0.0, 2, 8].
        let m = regression(&[3.0, -0.5, 2.0, 7.0], &[2.5, 0.0, 2.0, 8.0]).unwrap();
        assert!(close(m.r_squared, 0.948_608_137, 1e-9), "{m:?}");
        assert!(close(m.mae, 0.5, 1e-12));
        assert!(close(m.rmse, 0.375f64.sqrt(), 1e-12));
        assert!(close(m.mape, 0.327_380_952, 1e-9), "{m:?}");
        assert_eq!(regression(&[1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn ranking_metrics_match_scikit_learn_docs() {
        // roc_auc_score and average_precision_score on y = [0, 0, 1, 1],
        // scores = [0.1, 0.4, 0.35, 0.8]: 0.75 and 0.8333…
        let y = [false, false, true, true];
        let s = [0.1, 0.4, 0.35, 0.8];
        assert!(close(roc_auc(&y, &s).unwrap(), 0.75, 1e-12));
        assert!(close(
            average_precision(&y, &s).unwrap(),
            0.833_333_333,
            1e-9
        ));
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
        // Ties count half.
        assert!(close(
            roc_auc(&[false, true], &[0.5, 0.5]).unwrap(),
            0.5,
            1e-12
        ));
    }

    #[test]
    fn log_loss_matches_scikit_learn_docs() {
        // log_loss(["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2], [.35, .65]])
        // = 0.21616…, with spam as the positive class.
        let y = [true, false, false, true];
        let p = [0.9, 0.1, 0.2, 0.65];
        assert!(close(log_loss(&y, &p).unwrap(), 0.216_161_875, 1e-8));
        assert!(log_loss(&[true], &[0.0]).unwrap().is_finite());
    }

    #[test]
    fn confusion_counts_and_rates() {
        let y = [true, true, false, false, true];
        let s = [0.9, 0.4, 0.6, 0.1, 0.7];
        let c = Confusion::at(&y, &s, 0.5);
        assert_eq!(
            (
                c.true_positive,
                c.false_positive,
                c.true_negative,
                c.false_negative
            ),
            (2, 1, 1, 1)
        );
        assert_eq!(c.accuracy(), Some(0.6));
        assert_eq!(c.precision(), Some(2.0 / 3.0));
        assert_eq!(c.recall(), Some(2.0 / 3.0));
        assert!(close(c.f1().unwrap(), 2.0 / 3.0, 1e-12));
        assert_eq!(Confusion::at(&[false], &[0.1], 0.5).precision(), None);
    }
}
