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
    audit_selection(Some(truth), predicted, group)
}

/// Audits a selection (a targeting list, a propensity model's decisions) by `group`;
/// without the truth only selection rates, the parity gap and the disparate-impact
/// ratio are defined (TPR and FPR stay `None`).
pub fn audit_selection(
    truth: Option<&[bool]>,
    selected: &[bool],
    group: &[String],
) -> FairnessReport {
    let mut by: BTreeMap<&str, [usize; 4]> = BTreeMap::new(); // tp, fp, tn, fn
    for (i, (p, g)) in selected.iter().zip(group).enumerate() {
        let e = by.entry(g.as_str()).or_default();
        // Without the truth every row counts as a negative: only the selection rate
        // (tp + fp) / rows is read below.
        let t = truth.is_some_and(|t| t[i]);
        match (t, *p) {
            (true, true) => e[0] += 1,
            (false, true) => e[1] += 1,
            (false, false) => e[2] += 1,
            (true, false) => e[3] += 1,
        }
    }
    let known = truth.is_some();
    let groups: Vec<GroupRates> = by
        .into_iter()
        .map(|(g, [tp, fp, tn, fneg])| {
            let rows = tp + fp + tn + fneg;
            GroupRates {
                group: g.to_string(),
                rows,
                positive_rate: (tp + fp) as f64 / rows as f64,
                tpr: (known && tp + fneg > 0).then(|| tp as f64 / (tp + fneg) as f64),
                fpr: (known && fp + tn > 0).then(|| fp as f64 / (fp + tn) as f64),
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

/// The limits an audit is held to (from `[fairness]` in the config or flags).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Limits {
    /// Largest allowed demographic-parity or equal-opportunity difference.
    pub max_gap: Option<f64>,
    /// Smallest allowed disparate-impact ratio (0.8: the four-fifths rule).
    pub min_disparate_impact: Option<f64>,
}

impl FairnessReport {
    /// Every limit the audit breaks, in words; empty when it passes.
    pub fn failures(&self, limits: &Limits) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(max) = limits.max_gap {
            if self.demographic_parity_difference > max {
                out.push(format!(
                    "demographic parity difference {:.4} exceeds {max}",
                    self.demographic_parity_difference
                ));
            }
            if let Some(gap) = self.equal_opportunity_difference.filter(|g| *g > max) {
                out.push(format!(
                    "equal opportunity difference {gap:.4} exceeds {max}"
                ));
            }
        }
        if let Some(min) = limits.min_disparate_impact {
            match self.disparate_impact_ratio {
                Some(r) if r < min => {
                    out.push(format!("disparate impact ratio {r:.4} is below {min}"))
                }
                None => {
                    out.push("no group is selected: the disparate impact ratio is undefined".into())
                }
                _ => {}
            }
        }
        out
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
        let limits = Limits {
            max_gap: Some(0.2),
            min_disparate_impact: Some(0.8),
        };
        assert_eq!(r.failures(&limits).len(), 3, "{:?}", r.failures(&limits));
        assert!(r.failures(&Limits::default()).is_empty());
    }

    #[test]
    fn a_selection_without_truth_has_rates_and_impact_only() {
        // Group a: 3 of 4 selected; group b: 1 of 2.
        let selected = [true, true, true, false, true, false];
        let group: Vec<String> = "aaaabb".chars().map(String::from).collect();
        let r = audit_selection(None, &selected, &group);
        assert_eq!(r.groups[0].positive_rate, 0.75);
        assert_eq!(r.groups[1].positive_rate, 0.5);
        assert!(r.groups.iter().all(|g| g.tpr.is_none() && g.fpr.is_none()));
        assert_eq!(r.equal_opportunity_difference, None);
        assert_eq!(r.demographic_parity_difference, 0.25);
        assert!((r.disparate_impact_ratio.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        let fails = r.failures(&Limits {
            max_gap: Some(0.3),
            min_disparate_impact: Some(0.8),
        });
        assert_eq!(fails, ["disparate impact ratio 0.6667 is below 0.8"]);
    }
}
