//! A channel's response to a spend plan that follows its history: `periods` equal
//! periods of spend after the data's last periods. Carry-over works both ways: the
//! history's spend keeps working in the plan's periods (and, under saturation, changes
//! what the plan's spend adds), and the plan's spend keeps working after it ends.

use crate::allocate::ResponseCurve;
use crate::model::ChannelFit;

/// The incremental response to a plan's total spend: what the channel earns with the
/// plan minus what its history alone earns, summed over the plan's periods and the
/// carry-over tail after them.
#[derive(Debug, Clone)]
pub struct PlanCurve {
    fit: ChannelFit,
    /// The last periods of the data, enough to cover every lag that reaches the plan.
    history: Vec<f64>,
    periods: usize,
    /// Periods after the plan still counted (its carry-over).
    tail: usize,
    /// The history's own effect over the plan and tail (subtracted).
    base: f64,
}

impl PlanCurve {
    /// `history`: the channel's spend so far (only the last lags that can reach the plan
    /// matter); `periods`: the plan's length.
    pub fn new(fit: ChannelFit, history: &[f64], periods: usize) -> PlanCurve {
        let lags = fit.adstock.lags().clamp(1, 520);
        let keep = history.len().min(lags);
        let mut curve = PlanCurve {
            fit,
            history: history[history.len() - keep..].to_vec(),
            periods: periods.max(1),
            tail: lags.saturating_sub(1),
            base: 0.0,
        };
        curve.base = curve.total(0.0, true);
        curve
    }

    /// The channel's effect over the plan's periods (and the tail when `tail`), with
    /// `per_period` spent in each plan period.
    fn total(&self, per_period: f64, tail: bool) -> f64 {
        let h = self.history.len();
        let mut series = self.history.clone();
        series.extend(std::iter::repeat_n(per_period, self.periods));
        series.extend(std::iter::repeat_n(0.0, self.tail));
        let effect = self.fit.effect(&series);
        let end = if tail { effect.len() } else { h + self.periods };
        effect[h..end].iter().sum()
    }

    /// The channel's effect inside the plan's periods only, history's carry-over
    /// included: its part of the KPI those periods will show.
    pub fn effect_in_plan(&self, total_spend: f64) -> f64 {
        self.total(total_spend / self.periods as f64, false)
    }

    pub fn periods(&self) -> usize {
        self.periods
    }
}

impl ResponseCurve for PlanCurve {
    fn response(&self, spend: f64) -> f64 {
        self.total(spend.max(0.0) / self.periods as f64, true) - self.base
    }

    /// Central difference (one-sided at 0) with a step of 1e-6 of the spend: the
    /// response is a smooth composition of a convolution and the saturation curve.
    fn marginal(&self, spend: f64) -> f64 {
        let h = (spend.abs() * 1e-6).max(1e-9 * self.fit.scale.max(1.0));
        if spend - h <= 0.0 {
            (self.response(spend + h) - self.response(spend)) / h
        } else {
            (self.response(spend + h) - self.response(spend - h)) / (2.0 * h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adroit_effects::{Adstock, Saturation};

    fn channel(alpha: f64, lambda: f64) -> ChannelFit {
        ChannelFit {
            adstock: Adstock::Geometric {
                alpha,
                l_max: 6,
                normalize: true,
            },
            saturation: Saturation::Logistic { lambda },
            scale: 100.0,
            coef: 1000.0,
        }
    }

    #[test]
    fn a_long_plan_after_a_steady_history_earns_the_steady_state() {
        // With the same spend before and during a long plan, each plan period earns
        // the steady-state effect; the tail adds the last periods' carry-over.
        let fit = channel(0.5, 2.0);
        let history = vec![50.0; 10];
        let curve = PlanCurve::new(fit, &history, 200);
        let steady = fit.response().steady_state(50.0);
        let inside = curve.effect_in_plan(50.0 * 200.0);
        assert!(
            (inside / 200.0 - steady).abs() < 1e-9 * steady,
            "{inside} vs {steady}"
        );
        // No plan spend: nothing beyond what the history earns.
        assert!(curve.response(0.0).abs() < 1e-9);
    }

    #[test]
    fn carry_over_after_the_plan_is_credited_to_it() {
        // No history and a one-period plan: the whole adstock tail is the plan's.
        let fit = ChannelFit {
            saturation: Saturation::Hill {
                half: 1e9,
                slope: 1.0,
            }, // ~linear
            ..channel(0.5, 1.0)
        };
        let curve = PlanCurve::new(fit, &[], 1);
        let linear = curve.response(100.0);
        let total_weight = fit.adstock.total_weight();
        let expected = fit.coef * 100.0 * total_weight / fit.scale / 1e9;
        assert!(
            (linear / expected - 1.0).abs() < 1e-6,
            "{linear} vs {expected}"
        );
    }

    #[test]
    fn marginal_matches_the_slope_and_falls_with_spend() {
        let fit = channel(0.3, 3.0);
        let curve = PlanCurve::new(fit, &[40.0, 60.0, 20.0], 4);
        let mut last = f64::INFINITY;
        for s in [10.0, 100.0, 400.0, 1600.0] {
            let m = curve.marginal(s);
            let numeric = (curve.response(s * 1.001) - curve.response(s * 0.999)) / (0.002 * s);
            assert!(
                (m - numeric).abs() < 1e-4 * numeric.abs().max(1e-9),
                "{m} vs {numeric}"
            );
            assert!(m < last, "concave: marginal falls");
            last = m;
        }
    }
}
