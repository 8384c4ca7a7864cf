//! Channel performance metrics over an aggregated panel.
//!
//! Pure computation: sums per group and period in, ratios and period-over-period
//! changes out. A ratio whose denominator is zero or missing is `None` (an empty cell),
//! never `inf` or `NaN`.
//!
//! ```
//! use adroit_metrics::{PeriodSums, compute};
//! let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
//! let sums = PeriodSums { group: "search".into(), period: day, spend: Some(100.0),
//!     impressions: Some(10_000.0), clicks: Some(200.0), conversions: Some(10.0), revenue: Some(450.0) };
//! let m = &compute(&[sums])[0];
//! assert_eq!(m.ctr, Some(0.02));
//! assert_eq!(m.roas, Some(4.5));
//! assert_eq!(m.roi, Some(3.5));
//! ```

use chrono::NaiveDate;
use serde::Serialize;

/// Sums of one group (channel, campaign, geo, or all) in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodSums {
    pub group: String,
    /// First day of the period.
    pub period: NaiveDate,
    pub spend: Option<f64>,
    pub impressions: Option<f64>,
    pub clicks: Option<f64>,
    pub conversions: Option<f64>,
    pub revenue: Option<f64>,
}

/// Metrics of one group in one period, with the change against its previous period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodMetrics {
    pub group: String,
    pub period: NaiveDate,
    pub spend: Option<f64>,
    pub impressions: Option<f64>,
    pub clicks: Option<f64>,
    pub conversions: Option<f64>,
    pub revenue: Option<f64>,
    /// Click-through rate: clicks / impressions.
    pub ctr: Option<f64>,
    /// Cost per click: spend / clicks.
    pub cpc: Option<f64>,
    /// Cost per thousand impressions: 1000 × spend / impressions.
    pub cpm: Option<f64>,
    /// Conversion rate: conversions / clicks.
    pub cvr: Option<f64>,
    /// Cost per acquisition: spend / conversions.
    pub cpa: Option<f64>,
    /// Return on ad spend: revenue / spend.
    pub roas: Option<f64>,
    /// Return on investment: (revenue − spend) / spend.
    pub roi: Option<f64>,
    /// Relative change of each metric against the group's previous period
    /// (value / previous − 1); `None` without a previous period or when it was zero.
    pub change: Changes,
}

/// Period-over-period relative changes, one per metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Changes {
    pub spend: Option<f64>,
    pub impressions: Option<f64>,
    pub clicks: Option<f64>,
    pub conversions: Option<f64>,
    pub revenue: Option<f64>,
    pub ctr: Option<f64>,
    pub cpc: Option<f64>,
    pub cpm: Option<f64>,
    pub cvr: Option<f64>,
    pub cpa: Option<f64>,
    pub roas: Option<f64>,
    pub roi: Option<f64>,
}

/// The metric names in output order; `values()` and `Changes::values()` follow it.
pub const METRIC_NAMES: [&str; 12] = [
    "spend",
    "impressions",
    "clicks",
    "conversions",
    "revenue",
    "ctr",
    "cpc",
    "cpm",
    "cvr",
    "cpa",
    "roas",
    "roi",
];

/// `numerator / denominator`, or `None` when either is missing or the denominator is 0.
pub fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d != 0.0 => Some(n / d).filter(|r| r.is_finite()),
        _ => None,
    }
}

/// Relative change `now / before − 1`, `None` when `before` is missing or 0.
pub fn change(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    ratio(now, before).map(|r| r - 1.0)
}

impl PeriodMetrics {
    /// Metrics of one period, without changes.
    pub fn from_sums(s: &PeriodSums) -> Self {
        Self {
            group: s.group.clone(),
            period: s.period,
            spend: s.spend,
            impressions: s.impressions,
            clicks: s.clicks,
            conversions: s.conversions,
            revenue: s.revenue,
            ctr: ratio(s.clicks, s.impressions),
            cpc: ratio(s.spend, s.clicks),
            cpm: ratio(s.spend, s.impressions).map(|v| v * 1000.0),
            cvr: ratio(s.conversions, s.clicks),
            cpa: ratio(s.spend, s.conversions),
            roas: ratio(s.revenue, s.spend),
            roi: ratio(s.revenue.zip(s.spend).map(|(r, sp)| r - sp), s.spend),
            change: Changes::default(),
        }
    }

    /// The metrics in [`METRIC_NAMES`] order.
    pub fn values(&self) -> [Option<f64>; 12] {
        [
            self.spend,
            self.impressions,
            self.clicks,
            self.conversions,
            self.revenue,
            self.ctr,
            self.cpc,
            self.cpm,
            self.cvr,
            self.cpa,
            self.roas,
            self.roi,
        ]
    }
}

impl Changes {
    fn between(now: &PeriodMetrics, before: &PeriodMetrics) -> Self {
        let c = |a: Option<f64>, b: Option<f64>| change(a, b);
        Self {
            spend: c(now.spend, before.spend),
            impressions: c(now.impressions, before.impressions),
            clicks: c(now.clicks, before.clicks),
            conversions: c(now.conversions, before.conversions),
            revenue: c(now.revenue, before.revenue),
            ctr: c(now.ctr, before.ctr),
            cpc: c(now.cpc, before.cpc),
            cpm: c(now.cpm, before.cpm),
            cvr: c(now.cvr, before.cvr),
            cpa: c(now.cpa, before.cpa),
            roas: c(now.roas, before.roas),
            roi: c(now.roi, before.roi),
        }
    }

    /// The changes in [`METRIC_NAMES`] order.
    pub fn values(&self) -> [Option<f64>; 12] {
        [
            self.spend,
            self.impressions,
            self.clicks,
            self.conversions,
            self.revenue,
            self.ctr,
            self.cpc,
            self.cpm,
            self.cvr,
            self.cpa,
            self.roas,
            self.roi,
        ]
    }
}

/// Metrics for every row, sorted by group then period, each compared with the same
/// group's immediately preceding row. Panels from [`PeriodSums`] are dense per group
/// only where the data has rows: a group absent in a period has no row there, so its
/// next row compares with the last period it had.
pub fn compute(sums: &[PeriodSums]) -> Vec<PeriodMetrics> {
    let mut rows: Vec<PeriodMetrics> = sums.iter().map(PeriodMetrics::from_sums).collect();
    rows.sort_by(|a, b| a.group.cmp(&b.group).then(a.period.cmp(&b.period)));
    for i in 1..rows.len() {
        if rows[i].group == rows[i - 1].group {
            rows[i].change = Changes::between(&rows[i], &rows[i - 1]);
        }
    }
    rows
}

/// Totals of each group over all periods, with their ratios (no changes).
pub fn totals(sums: &[PeriodSums]) -> Vec<PeriodMetrics> {
    let mut by_group: std::collections::BTreeMap<&str, PeriodSums> =
        std::collections::BTreeMap::new();
    let add = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
    };
    for s in sums {
        let e = by_group.entry(&s.group).or_insert_with(|| PeriodSums {
            group: s.group.clone(),
            period: s.period,
            spend: None,
            impressions: None,
            clicks: None,
            conversions: None,
            revenue: None,
        });
        e.period = e.period.min(s.period);
        e.spend = add(e.spend, s.spend);
        e.impressions = add(e.impressions, s.impressions);
        e.clicks = add(e.clicks, s.clicks);
        e.conversions = add(e.conversions, s.conversions);
        e.revenue = add(e.revenue, s.revenue);
    }
    by_group.values().map(PeriodMetrics::from_sums).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, d).unwrap()
    }

    fn sums(
        group: &str,
        d: u32,
        spend: f64,
        imp: f64,
        clicks: f64,
        conv: f64,
        rev: f64,
    ) -> PeriodSums {
        PeriodSums {
            group: group.into(),
            period: day(d),
            spend: Some(spend),
            impressions: Some(imp),
            clicks: Some(clicks),
            conversions: Some(conv),
            revenue: Some(rev),
        }
    }

    #[test]
    fn ratios_match_their_definitions() {
        let m = PeriodMetrics::from_sums(&sums("a", 1, 200.0, 50_000.0, 500.0, 25.0, 1000.0));
        assert_eq!(m.ctr, Some(0.01));
        assert_eq!(m.cpc, Some(0.4));
        assert_eq!(m.cpm, Some(4.0));
        assert_eq!(m.cvr, Some(0.05));
        assert_eq!(m.cpa, Some(8.0));
        assert_eq!(m.roas, Some(5.0));
        assert_eq!(m.roi, Some(4.0));
    }

    #[test]
    fn zero_denominators_give_empty_cells_not_inf() {
        let m = PeriodMetrics::from_sums(&sums("tv", 1, 0.0, 0.0, 0.0, 0.0, 0.0));
        assert!(m.values()[5..].iter().all(Option::is_none), "{m:?}");
        let mut no_clicks = sums("tv", 1, 100.0, 1000.0, 0.0, 0.0, 50.0);
        no_clicks.clicks = None;
        let m = PeriodMetrics::from_sums(&no_clicks);
        assert_eq!(m.cpc, None);
        assert_eq!(m.roas, Some(0.5));
        assert_eq!(m.roi, Some(-0.5));
    }

    #[test]
    fn changes_compare_with_the_same_groups_previous_period() {
        let rows = compute(&[
            sums("b", 8, 300.0, 1.0, 1.0, 1.0, 600.0),
            sums("a", 1, 100.0, 1.0, 1.0, 1.0, 100.0),
            sums("a", 8, 150.0, 1.0, 1.0, 1.0, 300.0),
            sums("b", 1, 0.0, 1.0, 1.0, 1.0, 0.0),
        ]);
        assert_eq!(
            rows.iter()
                .map(|r| (r.group.as_str(), r.period.day()))
                .collect::<Vec<_>>(),
            [("a", 1), ("a", 8), ("b", 1), ("b", 8)]
        );
        assert_eq!(rows[0].change.spend, None);
        assert_eq!(rows[1].change.spend, Some(0.5));
        assert_eq!(rows[1].change.roas, Some(1.0)); // 1.0 → 2.0
        assert_eq!(rows[3].change.spend, None, "previous spend was zero");
    }

    #[test]
    fn totals_sum_before_dividing() {
        let t = totals(&[
            sums("a", 1, 100.0, 1000.0, 10.0, 1.0, 100.0),
            sums("a", 8, 300.0, 3000.0, 30.0, 3.0, 900.0),
        ]);
        assert_eq!(t[0].spend, Some(400.0));
        assert_eq!(t[0].roas, Some(2.5));
    }

    use chrono::Datelike;
}
