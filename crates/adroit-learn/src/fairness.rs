//! Fairness of a binary classifier across the groups of a sensitive attribute:
//! per-group selection rate, true and false positive rates, and the gaps between
//! groups (demographic parity, equal opportunity, disparate impact), following the
//! definitions of Fairlearn's `MetricFrame` summaries.

use serde::Serialize;
use std::collections::BTreeMap;

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRates {
    pub group: String,
    pub rows: usize,
    /// Share predicted positive (the selection rate).
    pub positive_rate: f64,
    /// True positive rate (recall); `None` without positives in the group.
    pub tpr: Option<f64>,
    /// False positive rate; `None` without negatives in the group.
    pub fpr: Option<f64>,
}

/// The audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FairnessReport {
    pub groups: Vec<GroupRates>,
    /// max − min selection rate over groups (0 is parity).
    pub demographic_parity_difference: f64,
    /// max − min TPR over groups with positives.
    pub equal_opportunity_difference: Option<f64>,
    /// max − min FPR (with the TPR gap: equalised odds).
    pub fpr_difference: Option<f64>,
    /// min / max selection rate; below 0.8 fails the "four-fifths rule".
    pub disparate_impact_ratio: Option<f64>,
}

/// Audits predictions (`predicted` true = selected) against the truth by `group`.
pub fn audit(truth: &[bool], predicted: &[bool], group: &[String]) -> FairnessReport {
    let mut by: BTreeMap<&str, [usize; 4]> = BTreeMap::new(); // tp, fp, tn, fn
    for ((t, p), g) in truth.iter().zip(predicted).zip(group) {
        let e = by.entry(g.as_str()).or_default();
        match (*t, *p) {
            (true, true) => e[0] += 1,
            (false, true) => e[1] += 1,
            (false, false) => e[2] += 1,
            (true, false) => e[3] += 1,
        }
    }
    let groups: Vec<GroupRates> = by
        .into_iter()
        .map(|(g, [tp, fp, tn, fneg])| {
            let rows = tp + fp + tn + fneg;
            GroupRates {
                group: g.to_string(),
                rows,
                positive_rate: (tp + fp) as f64 / rows as f64,
                tpr: (tp + fneg > 0).then(|| tp as f64 / (tp + fneg) as f64),
                fpr: (fp + tn > 0).then(|| fp as f64 / (fp + tn) as f64),
            }
        })
        .collect();
    let spread = |v: Vec<f64>| -> Option<(f64, f64)> {
        let min = v.iter().copied().reduce(f64::min)?;
        let max = v.iter().copied().reduce(f64::max)?;
        Some((min, max))
    };
    let rates = spread(groups.iter().map(|g| g.positive_rate).collect());
    FairnessReport {
        demographic_parity_difference: rates.map_or(0.0, |(a, b)| b - a),
        equal_opportunity_difference: spread(groups.iter().filter_map(|g| g.tpr).collect())
            .map(|(a, b)| b - a),
        fpr_difference: spread(groups.iter().filter_map(|g| g.fpr).collect()).map(|(a, b)| b - a),
        disparate_impact_ratio: rates.and_then(|(a, b)| (b > 0.0).then(|| a / b)),
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_gaps_by_hand() {
        // Group a: 4 rows, truth 1,1,0,0, predicted 1,0,1,0 → selection 0.5, TPR 0.5, FPR 0.5.
        // Group b: 4 rows, truth 1,1,0,0, predicted 1,1,0,0 → selection 0.5, TPR 1, FPR 0.
        // Group c: 2 rows, truth 0,0, predicted 0,0 → selection 0, no TPR, FPR 0.
        let truth = [
            true, true, false, false, true, true, false, false, false, false,
        ];
        let pred = [
            true, false, true, false, true, true, false, false, false, false,
        ];
        let group: Vec<String> = "aaaabbbbcc".chars().map(String::from).collect();
        let r = audit(&truth, &pred, &group);
        assert_eq!(r.groups.len(), 3);
        assert_eq!(
            (r.groups[0].positive_rate, r.groups[0].tpr, r.groups[0].fpr),
            (0.5, Some(0.5), Some(0.5))
        );
        assert_eq!(r.groups[2].tpr, None);
        assert_eq!(r.demographic_parity_difference, 0.5);
        assert_eq!(r.equal_opportunity_difference, Some(0.5));
        assert_eq!(r.fpr_difference, Some(0.5));
        assert_eq!(r.disparate_impact_ratio, Some(0.0));
    }
}
