//! Media response transformations: how spend turns into effect over time.
//!
//! - [`Adstock`]: carry-over. Spend at day *t* keeps working on *t+1 … t+L−1* with
//!   decaying weights (geometric or Weibull-shaped, as in Robyn, Meridian and
//!   PyMC-Marketing).
//! - [`Saturation`]: diminishing returns of the adstocked spend (Hill or logistic).
//!
//! Each is a small named component with its parameters, chosen by name in config
//! (`{ type = "geometric", alpha = 0.4, l_max = 8 }`), and a pure function over
//! slices. The simulator uses them to generate worlds with known truth; the marketing
//! mix model fits them.
//!
//! ```
//! use adroit_effects::{Adstock, Saturation};
//! let spend = [1.0, 0.0, 0.0];
//! let carried = Adstock::Geometric { alpha: 0.5, l_max: 3, normalize: false }.apply(&spend);
//! assert_eq!(carried, vec![1.0, 0.5, 0.25]);
//! let hill = Saturation::Hill { half: 2.0, slope: 1.0 };
//! assert_eq!(hill.apply(2.0), 0.5);
//! ```

use serde::{Deserialize, Serialize};

/// Carry-over of spend into later periods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Adstock {
    /// Weight `alpha^l` for lag `l = 0 … l_max−1`; `normalize` divides by their sum
    /// (PyMC-Marketing's default), so the total effect of a unit of spend is kept.
    Geometric {
        alpha: f64,
        l_max: usize,
        normalize: bool,
    },
    /// Weights from the Weibull probability density over lags `1 … l_max` (Robyn's
    /// "weibull_pdf"), normalised to sum to 1: a delayed peak when `shape > 1`.
    Weibull {
        shape: f64,
        scale: f64,
        l_max: usize,
    },
}

impl Adstock {
    /// The lag weights, index = lag in periods.
    pub fn weights(&self) -> Vec<f64> {
        match *self {
            Adstock::Geometric {
                alpha,
                l_max,
                normalize,
            } => {
                let w: Vec<f64> = (0..l_max).map(|l| alpha.powi(l as i32)).collect();
                if normalize { normalized(w) } else { w }
            }
            Adstock::Weibull {
                shape,
                scale,
                l_max,
            } => {
                let pdf = |x: f64| {
                    let z = x / scale;
                    (shape / scale) * z.powf(shape - 1.0) * (-z.powf(shape)).exp()
                };
                normalized((1..=l_max).map(|l| pdf(l as f64)).collect())
            }
        }
    }

    /// The adstocked series: `out[t] = Σ_l w[l] · x[t−l]`, no history before the first period.
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        convolve(x, &self.weights())
    }

    /// The component's lookup name.
    pub fn name(&self) -> &'static str {
        match self {
            Adstock::Geometric { .. } => "geometric",
            Adstock::Weibull { .. } => "weibull",
        }
    }
}

fn normalized(w: Vec<f64>) -> Vec<f64> {
    let total: f64 = w.iter().sum();
    if total > 0.0 && total.is_finite() {
        w.iter().map(|v| v / total).collect()
    } else {
        w
    }
}

/// `out[t] = Σ_l w[l] · x[t−l]` for `t` in `0 … x.len()`.
pub fn convolve(x: &[f64], w: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|t| {
            w.iter()
                .enumerate()
                .take(t + 1)
                .map(|(l, wl)| wl * x[t - l])
                .sum()
        })
        .collect()
}

/// Diminishing returns: maps adstocked spend (≥ 0) to a response in [0, 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Saturation {
    /// `x^s / (x^s + half^s)`: half the maximum effect at `half`; S-shaped when `slope > 1`.
    Hill { half: f64, slope: f64 },
    /// `(1 − e^{−λx}) / (1 + e^{−λx})` (PyMC-Marketing's logistic saturation).
    Logistic { lambda: f64 },
}

impl Saturation {
    pub fn apply(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        match *self {
            Saturation::Hill { half, slope } => {
                let a = x.powf(slope);
                a / (a + half.powf(slope))
            }
            Saturation::Logistic { lambda } => {
                let e = (-lambda * x).exp();
                (1.0 - e) / (1.0 + e)
            }
        }
    }

    /// The derivative at `x`, for marginal returns.
    pub fn derivative(&self, x: f64) -> f64 {
        if x < 0.0 {
            return 0.0;
        }
        match *self {
            Saturation::Hill { half, slope } => {
                if x == 0.0 {
                    return if slope == 1.0 {
                        1.0 / half
                    } else if slope > 1.0 {
                        0.0
                    } else {
                        f64::INFINITY
                    };
                }
                let h = half.powf(slope);
                let a = x.powf(slope);
                slope * x.powf(slope - 1.0) * h / ((a + h) * (a + h))
            }
            Saturation::Logistic { lambda } => {
                let e = (-lambda * x).exp();
                2.0 * lambda * e / ((1.0 + e) * (1.0 + e))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Saturation::Hill { .. } => "hill",
            Saturation::Logistic { .. } => "logistic",
        }
    }
}

/// A channel's full response: effect per period = `beta · saturation(adstock(spend) / scale)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub adstock: Adstock,
    pub saturation: Saturation,
    /// Spend units per saturation unit (so saturation parameters are scale-free).
    pub scale: f64,
    /// Maximum effect per period, in KPI units.
    pub beta: f64,
}

impl Response {
    /// The effect of a spend series, period by period.
    pub fn effect(&self, spend: &[f64]) -> Vec<f64> {
        self.adstock
            .apply(spend)
            .into_iter()
            .map(|a| self.beta * self.saturation.apply(a / self.scale))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_weights_match_pymc_marketing() {
        // PyMC-Marketing: alpha^l / sum_{l<8} alpha^l.
        let w = Adstock::Geometric {
            alpha: 0.4,
            l_max: 8,
            normalize: true,
        }
        .weights();
        let total: f64 = (0..8).map(|l| 0.4f64.powi(l)).sum();
        assert!((w[0] - 1.0 / total).abs() < 1e-15);
        assert!((w[3] - 0.4f64.powi(3) / total).abs() < 1e-15);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn weibull_peaks_late_for_shape_above_one() {
        let w = Adstock::Weibull {
            shape: 2.0,
            scale: 4.0,
            l_max: 12,
        }
        .weights();
        let peak = w
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert!((2..=3).contains(&peak), "{w:?}");
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn adstock_keeps_total_effect_when_normalized_and_has_no_history() {
        let x = [0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let a = Adstock::Geometric {
            alpha: 0.5,
            l_max: 8,
            normalize: true,
        }
        .apply(&x);
        assert_eq!(a[0], 0.0);
        assert!((a.iter().sum::<f64>() - 10.0).abs() < 1e-12);
    }

    #[test]
    fn saturation_shapes_and_derivatives() {
        let hill = Saturation::Hill {
            half: 3.0,
            slope: 2.0,
        };
        assert!((hill.apply(3.0) - 0.5).abs() < 1e-15);
        let logistic = Saturation::Logistic { lambda: 4.0 };
        assert!(
            (logistic.apply(0.5) - (1.0 - (-2.0f64).exp()) / (1.0 + (-2.0f64).exp())).abs() < 1e-15
        );
        for s in [hill, logistic] {
            for x in [0.1, 0.7, 2.0, 5.0] {
                let h = 1e-6;
                let numeric = (s.apply(x + h) - s.apply(x - h)) / (2.0 * h);
                assert!((numeric - s.derivative(x)).abs() < 1e-6, "{s:?} at {x}");
            }
        }
    }

    #[test]
    fn components_parse_by_name() {
        let a: Adstock =
            serde_json::from_str(r#"{"type":"geometric","alpha":0.3,"l_max":4,"normalize":false}"#)
                .unwrap();
        assert_eq!(a.name(), "geometric");
    }
}
