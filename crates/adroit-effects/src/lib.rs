//! Media response transformations: how spend turns into effect over time.
//!
//! - [`Adstock`]: carry-over. Spend at period *t* keeps working on *t+1 … t+L−1* with
//!   decaying weights `w[l]`: `out[t] = Σ_l w[l] · x[t−l]`, no history before the first
//!   period.
//! - [`Saturation`]: diminishing returns of the adstocked spend, a curve from 0 towards 1.
//! - [`Response`]: a channel's whole curve, `beta · saturation(adstock(spend) / scale)`,
//!   with its steady state and marginal return for response curves and the allocator.
//!
//! Each is a small named component with its parameters, chosen by name in config
//! (`{ type = "geometric", alpha = 0.4, l_max = 8, normalize = true }`), checked with
//! `check()` (a message, never a panic), and a pure function over slices. The simulator
//! uses them to generate worlds with known truth; the marketing mix model fits them.
//!
//! # Components and their counterparts
//!
//! | `type` | weights / curve | Robyn (`R/R/transformation.R`) | PyMC-Marketing (`mmm/transformers.py`) |
//! |---|---|---|---|
//! | `geometric` | `alpha^l`, `l < l_max`, optionally ÷ sum | — | `geometric_adstock(alpha, l_max, normalize)` |
//! | `robyn_geometric` | `theta^l` for every lag (recursive) | `adstock_geometric(theta)` | — |
//! | `weibull_pdf` (alias `weibull`) | Weibull density at lags `1 … l_max`, ÷ sum | `adstock_weibull(type = "pdf")` up to normalisation, see [`Adstock::Weibull`] | `weibull_adstock(type = PDF)` up to normalisation |
//! | `weibull_cdf` | `Π_{j≤l} (1 − F(j))`, first weight 1 | `adstock_weibull(type = "cdf")` | `weibull_adstock(type = CDF)` |
//! | `delayed` | `alpha^((l − theta)²)`, ÷ sum | — | `delayed_adstock(alpha, theta, l_max, normalize)` |
//! | `hill` | `x^slope / (x^slope + half^slope)` | `saturation_hill(alpha = slope, gamma)`, see [`robyn_gamma_to_half`] | `hill_function(slope, kappa = half)` |
//! | `logistic` | `(1 − e^{−λx}) / (1 + e^{−λx})` | — | `logistic_saturation(lam = λ)` |
//! | `michaelis_menten` | `x / (half + x)` | `mic_men(Vmax, Km = half)` | `michaelis_menten(alpha = beta, lam = half)` |
//!
//! Units: the saturation sees `adstocked / scale` ([`Response::scale`]), and its result
//! is multiplied by [`Response::beta`]. PyMC-Marketing divides each channel by its
//! maximum and the target by its maximum before fitting, so their parameters map with
//! `scale` = the channel's maximum and `beta = β_pymc · max(y)`; Robyn works in raw
//! units, so `scale = 1` (or divide Robyn's half-saturation point by `scale`).
//!
//! ```
//! use adroit_effects::{Adstock, Response, Saturation};
//! let spend = [1.0, 0.0, 0.0];
//! let carried = Adstock::Geometric { alpha: 0.5, l_max: 3, normalize: false }.apply(&spend);
//! assert_eq!(carried, vec![1.0, 0.5, 0.25]);
//! // Robyn's geometric adstock carries over without limit: x_t + theta · decayed_{t−1}.
//! let robyn = Adstock::RobynGeometric { theta: 0.5 }.apply(&[100.0; 3]);
//! assert_eq!(robyn, vec![100.0, 150.0, 175.0]);
//! let hill = Saturation::Hill { half: 2.0, slope: 1.0 };
//! assert_eq!(hill.apply(2.0), 0.5);
//! assert!(Saturation::MichaelisMenten { half: -1.0 }.check().is_err());
//! // A constant spend of 1 per period settles at 1 · Σw = 2 adstocked units.
//! let r = Response {
//!     adstock: Adstock::RobynGeometric { theta: 0.5 },
//!     saturation: hill,
//!     scale: 1.0,
//!     beta: 10.0,
//! };
//! assert_eq!(r.steady_state(1.0), 5.0);
//! ```

use serde::{Deserialize, Serialize};

/// The most lags an adstock may carry (checked by [`Adstock::check`]); also the cap on
/// the weights materialised for [`Adstock::RobynGeometric`], whose carry-over never ends.
pub const MAX_LAGS: usize = 100_000;

/// [`Adstock::RobynGeometric`]'s weights are listed until they fall below this (the
/// first weight being 1); [`Adstock::apply`] itself is exact, by recursion.
const ROBYN_TAIL: f64 = 1e-16;

/// Carry-over of spend into later periods. The weight vector `w` has `w[l]` = the share
/// of a period's spend that is still working `l` periods later.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Adstock {
    /// Weight `alpha^l` for lag `l = 0 … l_max−1` (PyMC-Marketing's `geometric_adstock`,
    /// `mode = After`); `normalize` divides by their sum (PyMC-Marketing's MMM default),
    /// so a unit of spend keeps a total effect of 1. With `normalize = false` and `l_max`
    /// at least the series length this is exactly Robyn's geometric adstock (see
    /// [`Adstock::RobynGeometric`]). `alpha` in [0, 1).
    Geometric {
        alpha: f64,
        l_max: usize,
        normalize: bool,
    },
    /// Robyn's `adstock_geometric(x, theta)`: `decayed[t] = x[t] + theta · decayed[t−1]`,
    /// i.e. weights `theta^l` for every lag with no window and no normalisation (the
    /// total weight is `1 / (1 − theta)`). Computed recursively in O(n). `theta` in [0, 1).
    RobynGeometric { theta: f64 },
    /// Weibull PDF adstock: the Weibull(shape, scale) density at lags `1 … l_max`
    /// (`w[l] = pdf(l + 1)`), normalised to sum to 1 — a delayed peak when `shape > 1`.
    /// Config name `weibull_pdf`; `weibull` still parses.
    ///
    /// `scale` is in periods. Robyn's `scale` is relative to the window length:
    /// `scale_ours = round(quantile(1:windlen, scale_robyn))` — see
    /// [`robyn_weibull_scale`] and [`Adstock::robyn_weibull_pdf`]; `l_max = windlen`.
    /// Robyn and PyMC-Marketing rescale the same densities `p` to `(p − min p) / (max p −
    /// min p)` instead of `p / Σp`: the shapes agree up to that affine map (a factor the
    /// fitted coefficient absorbs, plus an offset `min p` that is ~0 when the window
    /// reaches the tail of the density). PyMC-Marketing's `weibull_adstock(lam, k, l_max,
    /// type = PDF)` is ours with `scale = lam`, `shape = k`, the same `l_max`.
    #[serde(rename = "weibull_pdf", alias = "weibull")]
    Weibull {
        shape: f64,
        scale: f64,
        l_max: usize,
    },
    /// Weibull CDF adstock, exactly Robyn's `adstock_weibull(type = "cdf")`:
    /// `w[0] = 1`, `w[l] = Π_{j=1…l} (1 − F(j))` with `F` the Weibull(shape, scale) CDF,
    /// i.e. a decay rate that changes with the lag; not normalised. `scale` is in periods
    /// (Robyn: `scale_ours = robyn_weibull_scale(scale, windlen)`, `l_max = windlen`, see
    /// [`Adstock::robyn_weibull_cdf`]). PyMC-Marketing's `weibull_adstock(type = CDF,
    /// l_max = L)` has one more weight: ours with `l_max = L + 1`, `scale = lam`,
    /// `shape = k`.
    WeibullCdf {
        shape: f64,
        scale: f64,
        l_max: usize,
    },
    /// PyMC-Marketing's `delayed_adstock`: `w[l] = alpha^((l − theta)²)` for
    /// `l = 0 … l_max−1`, a peak at lag `theta`; normalised to sum to 1 unless
    /// `normalize = false` (defaults to true). `alpha` in (0, 1), `theta` in
    /// [0, l_max − 1].
    Delayed {
        alpha: f64,
        theta: f64,
        l_max: usize,
        #[serde(default = "yes")]
        normalize: bool,
    },
}

fn yes() -> bool {
    true
}

impl Adstock {
    /// Robyn's `adstock_weibull(type = "cdf")` with Robyn's relative `scale` over a window
    /// of `windlen` periods (by default the series length).
    pub fn robyn_weibull_cdf(shape: f64, scale: f64, windlen: usize) -> Adstock {
        Adstock::WeibullCdf {
            shape,
            scale: robyn_weibull_scale(scale, windlen),
            l_max: windlen,
        }
    }

    /// Robyn's `adstock_weibull(type = "pdf")` with Robyn's relative `scale`, up to the
    /// normalisation described at [`Adstock::Weibull`].
    pub fn robyn_weibull_pdf(shape: f64, scale: f64, windlen: usize) -> Adstock {
        Adstock::Weibull {
            shape,
            scale: robyn_weibull_scale(scale, windlen),
            l_max: windlen,
        }
    }

    /// The component's lookup name (the serde tag).
    pub fn name(&self) -> &'static str {
        match self {
            Adstock::Geometric { .. } => "geometric",
            Adstock::RobynGeometric { .. } => "robyn_geometric",
            Adstock::Weibull { .. } => "weibull_pdf",
            Adstock::WeibullCdf { .. } => "weibull_cdf",
            Adstock::Delayed { .. } => "delayed",
        }
    }

    /// Whether the parameters are usable, with a message naming the one that is not.
    pub fn check(&self) -> Result<(), String> {
        let name = &format!("{} adstock", self.name());
        match *self {
            Adstock::Geometric { alpha, l_max, .. } => {
                unit_interval(name, "alpha", alpha, true)?;
                lag_count(name, l_max)
            }
            Adstock::RobynGeometric { theta } => unit_interval(name, "theta", theta, true),
            Adstock::Weibull {
                shape,
                scale,
                l_max,
            }
            | Adstock::WeibullCdf {
                shape,
                scale,
                l_max,
            } => {
                positive(name, "shape", shape)?;
                positive(name, "scale", scale)?;
                lag_count(name, l_max)
            }
            Adstock::Delayed {
                alpha,
                theta,
                l_max,
                ..
            } => {
                unit_interval(name, "alpha", alpha, false)?;
                lag_count(name, l_max)?;
                let last = (l_max - 1) as f64;
                if theta.is_finite() && (0.0..=last).contains(&theta) {
                    Ok(())
                } else {
                    Err(format!(
                        "{name}: theta (the lag of the peak) must be in [0, l_max − 1] = [0, {last}], got {theta}"
                    ))
                }
            }
        }
    }

    /// How many weights [`Adstock::weights`] has: `l_max` (at most [`MAX_LAGS`]); for
    /// [`Adstock::RobynGeometric`], the lags until `theta^l` falls below 1e-16.
    pub fn lags(&self) -> usize {
        match *self {
            Adstock::Geometric { l_max, .. }
            | Adstock::Weibull { l_max, .. }
            | Adstock::WeibullCdf { l_max, .. }
            | Adstock::Delayed { l_max, .. } => l_max.min(MAX_LAGS),
            Adstock::RobynGeometric { theta } => {
                if theta.is_nan() || theta >= 1.0 {
                    MAX_LAGS
                } else if theta <= 0.0 {
                    1
                } else {
                    let n = (ROBYN_TAIL.ln() / theta.ln()).ceil() + 1.0;
                    if n >= MAX_LAGS as f64 {
                        MAX_LAGS
                    } else {
                        n as usize
                    }
                }
            }
        }
    }

    fn normalized(&self) -> bool {
        match *self {
            Adstock::Geometric { normalize, .. } | Adstock::Delayed { normalize, .. } => normalize,
            Adstock::Weibull { .. } => true,
            Adstock::RobynGeometric { .. } | Adstock::WeibullCdf { .. } => false,
        }
    }

    /// Calls `f(l, raw weight)` for `l = 0 … count−1` (before any normalisation).
    fn for_each_raw(&self, count: usize, mut f: impl FnMut(usize, f64)) {
        match *self {
            Adstock::Geometric { alpha: a, .. } | Adstock::RobynGeometric { theta: a } => {
                for l in 0..count {
                    f(l, a.powi(l as i32));
                }
            }
            Adstock::Weibull { shape, scale, .. } => {
                for l in 0..count {
                    f(l, weibull_pdf(shape, scale, (l + 1) as f64));
                }
            }
            Adstock::WeibullCdf { shape, scale, .. } => {
                let mut w = 1.0;
                for l in 0..count {
                    if l > 0 {
                        // 1 − F(l) = exp(−(l/scale)^shape)
                        w *= (-(l as f64 / scale).powf(shape)).exp();
                    }
                    f(l, w);
                }
            }
            Adstock::Delayed { alpha, theta, .. } => {
                for l in 0..count {
                    let d = l as f64 - theta;
                    f(l, alpha.powf(d * d));
                }
            }
        }
    }

    /// The lag weights, index = lag in periods.
    pub fn weights(&self) -> Vec<f64> {
        let mut w = Vec::new();
        self.weights_into(usize::MAX, &mut w);
        w
    }

    /// The first `min(max_lags, lags())` weights into `out` (cleared first), normalised
    /// over all lags as in [`Adstock::weights`]: what a series of `max_lags` periods uses.
    pub fn weights_into(&self, max_lags: usize, out: &mut Vec<f64>) {
        out.clear();
        let lags = self.lags();
        let keep = lags.min(max_lags);
        out.reserve(keep);
        if self.normalized() {
            let mut total = 0.0;
            self.for_each_raw(lags, |l, w| {
                total += w;
                if l < keep {
                    out.push(w);
                }
            });
            if total > 0.0 && total.is_finite() {
                for w in out.iter_mut() {
                    *w /= total;
                }
            }
        } else {
            self.for_each_raw(keep, |_, w| out.push(w));
        }
    }

    /// The sum of the weights: the steady-state multiplier (a constant spend `s` per
    /// period settles at `s · Σw` adstocked units). 1 for the normalised kinds;
    /// `1 / (1 − theta)` for [`Adstock::RobynGeometric`] (its infinite carry-over).
    pub fn total_weight(&self) -> f64 {
        if let Adstock::RobynGeometric { theta } = *self {
            return 1.0 / (1.0 - theta);
        }
        let mut total = 0.0;
        self.for_each_raw(self.lags(), |_, w| total += w);
        if self.normalized() && total > 0.0 && total.is_finite() {
            1.0
        } else {
            total
        }
    }

    /// The adstocked series: `out[t] = Σ_l w[l] · x[t−l]`, no history before the first period.
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(x.len());
        self.apply_into(x, &mut out, &mut Vec::new());
        out
    }

    /// [`Adstock::apply`] into `out` (cleared first) without allocating once the buffers
    /// have grown: `scratch` holds the weights (its contents afterwards are unspecified).
    /// Geometric kinds are computed recursively in O(n) whatever `l_max`; the others by
    /// direct convolution in O(n · min(n, l_max)).
    pub fn apply_into(&self, x: &[f64], out: &mut Vec<f64>, scratch: &mut Vec<f64>) {
        match *self {
            Adstock::Geometric {
                alpha,
                l_max,
                normalize,
            } if valid_rate(alpha) => {
                let lags = l_max.min(MAX_LAGS);
                let factor = if normalize {
                    // Summed as in `weights_into`, so both paths share the divisor.
                    1.0 / (0..lags).map(|l| alpha.powi(l as i32)).sum::<f64>()
                } else {
                    1.0
                };
                geometric_into(x, alpha, lags, factor, out);
            }
            Adstock::RobynGeometric { theta } if valid_rate(theta) => {
                geometric_into(x, theta, usize::MAX, 1.0, out);
            }
            _ => {
                self.weights_into(x.len(), scratch);
                convolve_into(x, scratch, out);
            }
        }
    }
}

fn valid_rate(alpha: f64) -> bool {
    (0.0..1.0).contains(&alpha)
}

/// `y[t] = alpha · y[t−1] + x[t] − alpha^lags · x[t−lags]`, times `factor`: the
/// convolution with `alpha^l`, `l < lags`, in O(n).
fn geometric_into(x: &[f64], alpha: f64, lags: usize, factor: f64, out: &mut Vec<f64>) {
    out.clear();
    out.reserve(x.len());
    if lags == 0 {
        out.resize(x.len(), 0.0);
        return;
    }
    let windowed = lags < x.len();
    let tail = if windowed {
        alpha.powi(lags as i32)
    } else {
        0.0
    };
    // The lag leaving the window is subtracted; for non-negative input the exact result
    // is non-negative, so rounding below zero is clamped away.
    let nonnegative = windowed && x.iter().all(|v| *v >= 0.0);
    let mut y = 0.0;
    for (t, &xt) in x.iter().enumerate() {
        y = alpha * y + xt;
        if windowed && t >= lags {
            y -= tail * x[t - lags];
            if nonnegative && y < 0.0 {
                y = 0.0;
            }
        }
        out.push(y * factor);
    }
}

fn weibull_pdf(shape: f64, scale: f64, t: f64) -> f64 {
    let z = t / scale;
    let zk = z.powf(shape);
    if zk.is_infinite() {
        // exp(−∞) = 0 wins over z^(shape−1) (avoids ∞ · 0).
        return 0.0;
    }
    (shape / scale) * z.powf(shape - 1.0) * (-zk).exp()
}

fn unit_interval(component: &str, param: &str, v: f64, zero_ok: bool) -> Result<(), String> {
    let ok = v < 1.0 && if zero_ok { v >= 0.0 } else { v > 0.0 };
    if ok {
        Ok(())
    } else {
        let lo = if zero_ok { "[0" } else { "(0" };
        Err(format!("{component}: {param} must be in {lo}, 1), got {v}"))
    }
}

fn lag_count(component: &str, l_max: usize) -> Result<(), String> {
    if (1..=MAX_LAGS).contains(&l_max) {
        Ok(())
    } else {
        Err(format!(
            "{component}: l_max must be between 1 and {MAX_LAGS} periods, got {l_max}"
        ))
    }
}

fn positive(component: &str, param: &str, v: f64) -> Result<(), String> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(format!(
            "{component}: {param} must be a finite number > 0, got {v}"
        ))
    }
}

/// `out[t] = Σ_l w[l] · x[t−l]` for `t` in `0 … x.len()`.
pub fn convolve(x: &[f64], w: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    convolve_into(x, w, &mut out);
    out
}

/// [`convolve`] into `out` (cleared first).
pub fn convolve_into(x: &[f64], w: &[f64], out: &mut Vec<f64>) {
    out.clear();
    out.reserve(x.len());
    for t in 0..x.len() {
        let m = w.len().min(t + 1);
        let s: f64 = w[..m]
            .iter()
            .zip(x[..=t].iter().rev())
            .map(|(wl, xv)| wl * xv)
            .sum();
        out.push(s);
    }
}

/// Robyn's Weibull `scale` (relative, in [0, 1]) as ours (in periods):
/// `round(quantile(1:windlen, scale))`. R's default quantile interpolates
/// `1 + scale · (windlen − 1)`, and R's `round` takes ties to even.
pub fn robyn_weibull_scale(scale: f64, windlen: usize) -> f64 {
    (1.0 + scale * windlen.saturating_sub(1) as f64).round_ties_even()
}

/// Robyn's Hill `gamma` (in [0, 1]) as our half-saturation point: Robyn's inflexion
/// `gammaTrans = (1 − gamma) · min + gamma · max` of the adstocked series in the
/// modelling window (`saturation_hill`; Robyn < 3.10 rounded it to 4 decimals), in the
/// units of `adstocked`. Robyn's `alpha` is our `slope`. If the series is in spend units
/// and the [`Response`] has a `scale`, use `half = robyn_gamma_to_half(..) / scale`.
/// NaN for an empty series.
pub fn robyn_gamma_to_half(gamma: f64, adstocked: &[f64]) -> f64 {
    if adstocked.is_empty() {
        return f64::NAN;
    }
    let min = adstocked.iter().copied().fold(f64::INFINITY, f64::min);
    let max = adstocked.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (1.0 - gamma) * min + gamma * max
}

/// Diminishing returns: maps adstocked spend (≥ 0) to a response in [0, 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Saturation {
    /// `x^s / (x^s + half^s)`: half the maximum effect at `half`; S-shaped when `slope > 1`.
    /// Robyn's `saturation_hill(alpha, gamma)`: `slope = alpha`, `half` from
    /// [`robyn_gamma_to_half`]; PyMC-Marketing's `hill_function(slope, kappa)`:
    /// `half = kappa` (their older `hill_saturation`, `sigma / (1 + e^{−beta (x − lam)})`,
    /// is a logistic sigmoid, not this curve).
    Hill { half: f64, slope: f64 },
    /// `(1 − e^{−λx}) / (1 + e^{−λx})` (PyMC-Marketing's `logistic_saturation`, `lam = λ`).
    Logistic { lambda: f64 },
    /// `x / (half + x)`: half the maximum effect at `half` (Hill with slope 1).
    /// PyMC-Marketing's `michaelis_menten(x, alpha, lam) = alpha · x / (lam + x)` and
    /// Robyn's `mic_men(x, Vmax, Km)` are `beta · apply(x)` with `half = lam` (`Km`) and
    /// `beta = alpha` (`Vmax`), in the units the saturation sees (÷ `scale`).
    MichaelisMenten { half: f64 },
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
            Saturation::MichaelisMenten { half } => x / (half + x),
        }
    }

    /// The derivative at `x`, for marginal returns (0 below 0; the right derivative at 0).
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
            Saturation::MichaelisMenten { half } => half / ((half + x) * (half + x)),
        }
    }

    /// The component's lookup name (the serde tag).
    pub fn name(&self) -> &'static str {
        match self {
            Saturation::Hill { .. } => "hill",
            Saturation::Logistic { .. } => "logistic",
            Saturation::MichaelisMenten { .. } => "michaelis_menten",
        }
    }

    /// Whether the parameters are usable, with a message naming the one that is not.
    pub fn check(&self) -> Result<(), String> {
        let name = format!("{} saturation", self.name());
        match *self {
            Saturation::Hill { half, slope } => {
                positive(&name, "half", half)?;
                positive(&name, "slope", slope)
            }
            Saturation::Logistic { lambda } => positive(&name, "lambda", lambda),
            Saturation::MichaelisMenten { half } => positive(&name, "half", half),
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
    /// Whether the components and `scale` (> 0) and `beta` (finite) are usable.
    pub fn check(&self) -> Result<(), String> {
        self.adstock.check()?;
        self.saturation.check()?;
        positive("response", "scale", self.scale)?;
        if self.beta.is_finite() {
            Ok(())
        } else {
            Err(format!("response: beta must be finite, got {}", self.beta))
        }
    }

    /// The effect of a spend series, period by period.
    pub fn effect(&self, spend: &[f64]) -> Vec<f64> {
        let mut out = Vec::with_capacity(spend.len());
        self.effect_into(spend, &mut out, &mut Vec::new());
        out
    }

    /// [`Response::effect`] into `out` without allocating once the buffers have grown
    /// (`scratch` as in [`Adstock::apply_into`]).
    pub fn effect_into(&self, spend: &[f64], out: &mut Vec<f64>, scratch: &mut Vec<f64>) {
        self.adstock.apply_into(spend, out, scratch);
        for v in out.iter_mut() {
            *v = self.beta * self.saturation.apply(*v / self.scale);
        }
    }

    /// The effect per period once a constant spend per period has run long enough:
    /// `beta · saturation(spend · Σw / scale)` (Σw = [`Adstock::total_weight`]).
    pub fn steady_state(&self, spend_per_period: f64) -> f64 {
        let k = self.adstock.total_weight() / self.scale;
        self.beta * self.saturation.apply(spend_per_period * k)
    }

    /// d [`Response::steady_state`] / d spend: the marginal return per unit of spend per
    /// period at a steady spend.
    pub fn steady_state_derivative(&self, spend_per_period: f64) -> f64 {
        let k = self.adstock.total_weight() / self.scale;
        self.beta * self.saturation.derivative(spend_per_period * k) * k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
    }

    fn assert_all_close(a: &[f64], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
        let scale = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * scale,
                "at {i}: {x} vs {y}\n{a:?}\n{b:?}"
            );
        }
    }

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
        let raw = Adstock::Geometric {
            alpha: 0.4,
            l_max: 3,
            normalize: false,
        };
        assert_eq!(raw.weights(), vec![1.0, 0.4, 0.4 * 0.4]);
        assert!(close(raw.total_weight(), 1.56, 1e-15));
    }

    #[test]
    fn robyn_geometric_matches_robyn_step_by_step() {
        // Robyn's example adstock_geometric(rep(100, 5), theta = 0.5):
        // x_decayed[1] = 100, then x[i] + 0.5 · x_decayed[i−1]:
        // 100 + 50 = 150, 100 + 75 = 175, 100 + 87.5 = 187.5, 100 + 93.75 = 193.75.
        let robyn = Adstock::RobynGeometric { theta: 0.5 };
        assert_eq!(
            robyn.apply(&[100.0; 5]),
            vec![100.0, 150.0, 175.0, 187.5, 193.75]
        );
        // Same as the windowed geometric with a window as long as the series.
        let x = [3.0, 0.0, 7.0, 1.0, 0.0, 0.0, 2.0];
        let windowed = Adstock::Geometric {
            alpha: 0.7,
            l_max: x.len(),
            normalize: false,
        };
        assert_all_close(
            &Adstock::RobynGeometric { theta: 0.7 }.apply(&x),
            &windowed.apply(&x),
            1e-15,
        );
        // Robyn's thetaVecCum is theta^l from l = 1; our weights start at lag 0 with 1.
        let w = Adstock::RobynGeometric { theta: 0.5 }.weights();
        assert_eq!(&w[..4], &[1.0, 0.5, 0.25, 0.125]);
        assert!(*w.last().unwrap() < 1e-16 && w[w.len() - 2] >= 1e-16);
        assert_eq!(robyn.total_weight(), 2.0);
        assert_eq!(Adstock::RobynGeometric { theta: 0.0 }.weights(), vec![1.0]);
    }

    #[test]
    fn weibull_cdf_matches_robyn_step_by_step() {
        // Robyn's example adstock_weibull(rep(100, 5), shape = 0.5, scale = 0.5, "CDF"):
        // windlen = 5; scaleTrans = round(quantile(1:5, 0.5)) = round(3) = 3.
        // thetaVec = c(1, 1 − pweibull(1:4, 0.5, 3)) = c(1, exp(−(q/3)^0.5) for q = 1..4)
        //          = (1, 0.5613839, 0.4419774, 0.3678794, 0.3151519);
        // thetaVecCum = cumprod(thetaVec) = (1, 0.5613839, 0.2481190, 0.0912779, 0.0287664);
        // x_decayed = 100 · cumsum(thetaVecCum) = (100, 156.1384, 180.9503, 190.0781, 192.9547).
        assert_eq!(robyn_weibull_scale(0.5, 5), 3.0);
        let a = Adstock::robyn_weibull_cdf(0.5, 0.5, 5);
        assert_eq!(
            a,
            Adstock::WeibullCdf {
                shape: 0.5,
                scale: 3.0,
                l_max: 5
            }
        );
        let expected = [1.0, 0.5613839, 0.2481190, 0.0912779, 0.0287664];
        assert_all_close(&a.weights(), &expected, 1e-6);
        let decayed = [100.0, 156.1384, 180.9503, 190.0781, 192.9547];
        assert_all_close(&a.apply(&[100.0; 5]), &decayed, 1e-6);
        // The same from the formula, independently: Π_{j≤l} exp(−(j/3)^0.5).
        let formula: Vec<f64> = (0..5)
            .map(|l| (1..=l).map(|j| (-(j as f64 / 3.0).sqrt()).exp()).product())
            .collect();
        assert_all_close(&a.weights(), &formula, 1e-14);
        assert!(close(a.total_weight(), formula.iter().sum::<f64>(), 1e-14));
        // PyMC-Marketing's CDF with l_max = 4 has these 5 weights (a leading 1 padded on).
    }

    #[test]
    fn weibull_pdf_matches_robyn_up_to_its_rescaling() {
        // Robyn's example adstock_weibull(rep(100, 5), shape = 0.5, scale = 0.5, "PDF"):
        // scaleTrans = 3; dweibull(1:5, 0.5, 3) = (0.5/3)(q/3)^(−0.5) exp(−(q/3)^0.5)
        //   = (0.1620576, 0.0902183, 0.0613132, 0.0454883, 0.0355020);
        // .normalize = (p − min) / (max − min) = (1, 0.4323497, 0.2039519, 0.0789082, 0).
        let a = Adstock::robyn_weibull_pdf(0.5, 0.5, 5);
        let w = a.weights();
        let p = [0.1620576, 0.0902183, 0.0613132, 0.0454883, 0.0355020];
        let total: f64 = p.iter().sum();
        assert_all_close(&w, &p.map(|v| v / total), 1e-6);
        assert!(close(w.iter().sum::<f64>(), 1.0, 1e-14));
        assert_eq!(a.total_weight(), 1.0);
        let minmax = |w: &[f64]| -> Vec<f64> {
            let lo = w.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            w.iter().map(|v| (v - lo) / (hi - lo)).collect()
        };
        assert_all_close(
            &minmax(&w),
            &[1.0, 0.4323497, 0.2039519, 0.0789082, 0.0],
            1e-6,
        );
        // A lagged peak: shape 2, Robyn scale 0.5 over 10 periods → scaleTrans =
        // round(1 + 0.5 · 9) = round(5.5) = 6 (ties to even); Robyn's normalised weights
        // peak at the 4th lag bin (lag 3) with 1.0 and end at 0: (0.1805698, 0.6011012,
        // 0.8824888, 1, 0.9650210, 0.8160304, 0.6036497, 0.3758918, 0.1682116, 0).
        let lagged = Adstock::robyn_weibull_pdf(2.0, 0.5, 10);
        assert_eq!(
            lagged,
            Adstock::Weibull {
                shape: 2.0,
                scale: 6.0,
                l_max: 10
            }
        );
        assert_all_close(
            &minmax(&lagged.weights()),
            &[
                0.1805698, 0.6011012, 0.8824888, 1.0, 0.9650210, 0.8160304, 0.6036497, 0.3758918,
                0.1682116, 0.0,
            ],
            1e-6,
        );
        // The formula, independently: pdf(t) = (k/λ)(t/λ)^(k−1) e^{−(t/λ)^k} at t = l + 1.
        let pdf = |t: f64| (2.0 / 6.0) * (t / 6.0) * (-(t / 6.0).powi(2)).exp();
        let raw: Vec<f64> = (1..=10).map(|t| pdf(t as f64)).collect();
        let s: f64 = raw.iter().sum();
        assert_all_close(
            &lagged.weights(),
            &raw.iter().map(|v| v / s).collect::<Vec<_>>(),
            1e-14,
        );
    }

    #[test]
    fn robyn_scale_rounds_like_r() {
        // round(quantile(1:4, 0.5)) = round(2.5) = 2 in R (ties to even).
        assert_eq!(robyn_weibull_scale(0.5, 4), 2.0);
        assert_eq!(robyn_weibull_scale(0.0, 100), 1.0);
        assert_eq!(robyn_weibull_scale(1.0, 100), 100.0);
        // quantile(1:100, 0.1) = 1 + 0.1 · 99 = 10.9 → 11.
        assert_eq!(robyn_weibull_scale(0.1, 100), 11.0);
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
        // A huge shape underflows to zero weights rather than NaN.
        let sharp = Adstock::Weibull {
            shape: 400.0,
            scale: 3.0,
            l_max: 30,
        }
        .weights();
        assert!(sharp.iter().all(|v| v.is_finite()), "{sharp:?}");
    }

    #[test]
    fn delayed_matches_pymc_marketing_formula() {
        // alpha = 0.5, theta = 2, l_max = 5: exponents (l − 2)² = 4, 1, 0, 1, 4, so the raw
        // weights are 1/16, 1/2, 1, 1/2, 1/16 (sum 2.125), normalised by the sum.
        let a = Adstock::Delayed {
            alpha: 0.5,
            theta: 2.0,
            l_max: 5,
            normalize: true,
        };
        let raw = [0.0625, 0.5, 1.0, 0.5, 0.0625];
        assert_all_close(&a.weights(), &raw.map(|v| v / 2.125), 1e-15);
        assert_eq!(a.total_weight(), 1.0);
        let b = Adstock::Delayed {
            alpha: 0.5,
            theta: 2.0,
            l_max: 5,
            normalize: false,
        };
        assert_all_close(&b.weights(), &raw, 1e-15);
        assert!(close(b.total_weight(), 2.125, 1e-15));
        // A fractional peak: alpha = 0.3, theta = 1.5 → 0.3^(2.25), 0.3^(0.25), twice each.
        let c = Adstock::Delayed {
            alpha: 0.3,
            theta: 1.5,
            l_max: 4,
            normalize: false,
        };
        let (far, near) = (0.3f64.powf(2.25), 0.3f64.powf(0.25));
        assert_all_close(&c.weights(), &[far, near, near, far], 1e-15);
        // theta = 0 is geometric in l²: peak at lag 0.
        let d = Adstock::Delayed {
            alpha: 0.5,
            theta: 0.0,
            l_max: 3,
            normalize: false,
        };
        assert_eq!(d.weights(), vec![1.0, 0.5, 0.0625]);
    }

    #[test]
    fn adstock_keeps_total_effect_when_normalized_and_has_no_history() {
        let x = [0.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        for a in [
            Adstock::Geometric {
                alpha: 0.5,
                l_max: 8,
                normalize: true,
            },
            Adstock::Weibull {
                shape: 1.5,
                scale: 2.0,
                l_max: 8,
            },
            Adstock::Delayed {
                alpha: 0.6,
                theta: 2.0,
                l_max: 8,
                normalize: true,
            },
        ] {
            let out = a.apply(&x);
            assert_eq!(out[0], 0.0, "{a:?}");
            assert!((out.iter().sum::<f64>() - 10.0).abs() < 1e-12, "{a:?}");
        }
    }

    /// Deterministic pseudo-random spend with zeros and bursts.
    fn spend(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                if u < 0.3 { 0.0 } else { 1000.0 * u * u }
            })
            .collect()
    }

    #[test]
    fn fast_paths_equal_the_convolution() {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        for n in [0, 1, 5, 37, 400] {
            let x = spend(n, n as u64);
            let mut cases = vec![Adstock::RobynGeometric { theta: 0.0 }];
            for alpha in [0.0, 0.3, 0.9, 0.99] {
                cases.push(Adstock::RobynGeometric { theta: alpha });
                for l_max in [1, 2, 7, 36, 37, 38, 1000] {
                    for normalize in [false, true] {
                        cases.push(Adstock::Geometric {
                            alpha,
                            l_max,
                            normalize,
                        });
                    }
                }
            }
            cases.push(Adstock::WeibullCdf {
                shape: 1.3,
                scale: 4.0,
                l_max: 20,
            });
            cases.push(Adstock::Delayed {
                alpha: 0.5,
                theta: 3.0,
                l_max: 12,
                normalize: true,
            });
            for a in cases {
                // Reference: the textbook double loop over the full weight vector.
                let w = a.weights();
                let reference: Vec<f64> = (0..n)
                    .map(|t| (0..w.len().min(t + 1)).map(|l| w[l] * x[t - l]).sum())
                    .collect();
                a.apply_into(&x, &mut out, &mut scratch);
                assert_all_close(&out, &reference, 1e-12);
                assert_eq!(a.apply(&x), out, "{a:?}");
                assert!(out.iter().all(|v| *v >= 0.0), "{a:?}");
            }
        }
    }

    #[test]
    fn apply_into_reuses_buffers() {
        let a = Adstock::Weibull {
            shape: 2.0,
            scale: 3.0,
            l_max: 10,
        };
        let x = spend(50, 3);
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        a.apply_into(&x, &mut out, &mut scratch);
        let (p_out, p_scratch) = (out.as_ptr(), scratch.as_ptr());
        a.apply_into(&x, &mut out, &mut scratch);
        assert_eq!((out.as_ptr(), scratch.as_ptr()), (p_out, p_scratch));
        assert_eq!(out, a.apply(&x));
        // Weights for a series shorter than the window are the window's first lags.
        let mut w = Vec::new();
        a.weights_into(4, &mut w);
        assert_eq!(w, a.weights()[..4]);
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
        let mm = Saturation::MichaelisMenten { half: 2.0 };
        assert_eq!(mm.apply(2.0), 0.5);
        assert_eq!(mm.apply(6.0), 0.75);
        for s in [
            hill,
            logistic,
            mm,
            Saturation::Hill {
                half: 0.7,
                slope: 0.6,
            },
            Saturation::Hill {
                half: 1.0,
                slope: 1.0,
            },
        ] {
            for x in [0.1, 0.7, 2.0, 5.0] {
                let h = 1e-6;
                let numeric = (s.apply(x + h) - s.apply(x - h)) / (2.0 * h);
                assert!((numeric - s.derivative(x)).abs() < 1e-6, "{s:?} at {x}");
            }
            // Right derivative at 0.
            let h = 1e-7;
            let right = (s.apply(h) - s.apply(0.0)) / h;
            let d0 = s.derivative(0.0);
            if d0.is_finite() {
                assert!((right - d0).abs() < 1e-5 * d0.max(1.0), "{s:?} at 0");
            } else {
                assert!(right > 100.0, "{s:?} at 0: {right}");
            }
            assert_eq!(s.apply(-1.0), 0.0);
            assert_eq!(s.derivative(-1.0), 0.0);
        }
    }

    #[test]
    fn michaelis_menten_maps_to_pymc_and_robyn() {
        // PyMC-Marketing: alpha · x / (lam + x) on x = spend / scale; Robyn mic_men the same
        // with Vmax, Km. Here alpha = 7, lam = 0.4, scale = 250.
        let r = Response {
            adstock: Adstock::Geometric {
                alpha: 0.0,
                l_max: 1,
                normalize: false,
            },
            saturation: Saturation::MichaelisMenten { half: 0.4 },
            scale: 250.0,
            beta: 7.0,
        };
        let x = [0.0, 50.0, 100.0, 400.0];
        let ours = r.effect(&x);
        for (o, xi) in ours.iter().zip(x) {
            let s = xi / 250.0;
            assert!(close(*o, 7.0 * s / (0.4 + s), 1e-15));
        }
        // Michaelis–Menten is Hill with slope 1.
        let hill = Saturation::Hill {
            half: 0.4,
            slope: 1.0,
        };
        for v in [0.01, 0.4, 3.0] {
            assert!(close(r.saturation.apply(v), hill.apply(v), 1e-15));
        }
    }

    #[test]
    fn robyn_hill_gamma_maps_to_half() {
        // Robyn: inflexion = c(range(x) %*% c(1 − gamma, gamma)); for x = (2, 10, 4),
        // gamma = 0.25: 0.75 · 2 + 0.25 · 10 = 4; Hill = x^alpha / (x^alpha + 4^alpha).
        let adstocked = [2.0, 10.0, 4.0];
        let half = robyn_gamma_to_half(0.25, &adstocked);
        assert_eq!(half, 4.0);
        let alpha = 2.5;
        let s = Saturation::Hill { half, slope: alpha };
        for x in adstocked {
            let robyn = x.powf(alpha) / (x.powf(alpha) + 4f64.powf(alpha));
            assert!(close(s.apply(x), robyn, 1e-15));
        }
        // In a Response with scale 2, the saturation sees x / 2: half = 4 / 2.
        let r = Response {
            adstock: Adstock::Geometric {
                alpha: 0.0,
                l_max: 1,
                normalize: false,
            },
            saturation: Saturation::Hill {
                half: half / 2.0,
                slope: alpha,
            },
            scale: 2.0,
            beta: 1.0,
        };
        assert!(close(r.effect(&[4.0])[0], 0.5, 1e-15));
        assert!(robyn_gamma_to_half(0.5, &[]).is_nan());
    }

    #[test]
    fn components_parse_by_name_and_round_trip() {
        let a: Adstock =
            serde_json::from_str(r#"{"type":"geometric","alpha":0.3,"l_max":4,"normalize":false}"#)
                .unwrap();
        assert_eq!(a.name(), "geometric");
        // The old name of the Weibull PDF still parses; it is written under the new one.
        let old: Adstock =
            serde_json::from_str(r#"{"type":"weibull","shape":2.0,"scale":6.0,"l_max":28}"#)
                .unwrap();
        assert_eq!(
            old,
            Adstock::Weibull {
                shape: 2.0,
                scale: 6.0,
                l_max: 28
            }
        );
        assert_eq!(
            serde_json::to_value(old).unwrap()["type"],
            serde_json::json!("weibull_pdf")
        );
        // Delayed's normalize defaults to true.
        let d: Adstock =
            serde_json::from_str(r#"{"type":"delayed","alpha":0.5,"theta":2,"l_max":6}"#).unwrap();
        assert_eq!(
            d,
            Adstock::Delayed {
                alpha: 0.5,
                theta: 2.0,
                l_max: 6,
                normalize: true
            }
        );
        for a in [
            Adstock::Geometric {
                alpha: 0.3,
                l_max: 4,
                normalize: true,
            },
            Adstock::RobynGeometric { theta: 0.6 },
            Adstock::Weibull {
                shape: 1.5,
                scale: 4.0,
                l_max: 21,
            },
            Adstock::WeibullCdf {
                shape: 0.8,
                scale: 3.0,
                l_max: 14,
            },
            Adstock::Delayed {
                alpha: 0.4,
                theta: 1.5,
                l_max: 9,
                normalize: false,
            },
        ] {
            let v = serde_json::to_value(a).unwrap();
            assert_eq!(v["type"], serde_json::json!(a.name()));
            assert_eq!(serde_json::from_value::<Adstock>(v).unwrap(), a);
        }
        let s: Saturation =
            serde_json::from_str(r#"{"type":"hill","half":1.1,"slope":2}"#).unwrap();
        assert_eq!(s.name(), "hill");
        let s: Saturation = serde_json::from_str(r#"{"type":"logistic","lambda":1.5}"#).unwrap();
        assert_eq!(s.name(), "logistic");
        for s in [
            Saturation::Hill {
                half: 1.1,
                slope: 2.0,
            },
            Saturation::Logistic { lambda: 1.5 },
            Saturation::MichaelisMenten { half: 0.9 },
        ] {
            let v = serde_json::to_value(s).unwrap();
            assert_eq!(v["type"], serde_json::json!(s.name()));
            assert_eq!(serde_json::from_value::<Saturation>(v).unwrap(), s);
        }
        assert!(
            serde_json::from_str::<Adstock>(
                r#"{"type":"weibull_cdf","shape":1,"scale":2,"l_max":3,"extra":1}"#
            )
            .is_err()
        );
        assert!(serde_json::from_str::<Saturation>(r#"{"type":"tanh","b":1}"#).is_err());
        let r = Response {
            adstock: Adstock::WeibullCdf {
                shape: 0.8,
                scale: 3.0,
                l_max: 14,
            },
            saturation: Saturation::MichaelisMenten { half: 0.9 },
            scale: 100.0,
            beta: 3.0,
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Response>(&json).unwrap(), r);
    }

    #[test]
    fn check_reports_bad_parameters() {
        let err = |a: Adstock| a.check().unwrap_err();
        assert!(
            err(Adstock::Geometric {
                alpha: 1.0,
                l_max: 4,
                normalize: true
            })
            .contains("alpha must be in [0, 1)")
        );
        assert!(
            err(Adstock::Geometric {
                alpha: 0.5,
                l_max: 0,
                normalize: true
            })
            .contains("l_max")
        );
        assert!(
            err(Adstock::Geometric {
                alpha: f64::NAN,
                l_max: 3,
                normalize: false
            })
            .contains("alpha")
        );
        assert!(err(Adstock::RobynGeometric { theta: -0.1 }).contains("theta"));
        assert!(
            err(Adstock::Weibull {
                shape: 0.0,
                scale: 2.0,
                l_max: 5
            })
            .contains("shape")
        );
        assert!(
            err(Adstock::WeibullCdf {
                shape: 1.0,
                scale: f64::INFINITY,
                l_max: 5
            })
            .contains("scale")
        );
        assert!(
            err(Adstock::WeibullCdf {
                shape: 1.0,
                scale: 1.0,
                l_max: MAX_LAGS + 1
            })
            .contains("l_max")
        );
        assert!(
            err(Adstock::Delayed {
                alpha: 0.0,
                theta: 1.0,
                l_max: 5,
                normalize: true
            })
            .contains("alpha must be in (0, 1)")
        );
        assert!(
            err(Adstock::Delayed {
                alpha: 0.5,
                theta: 5.0,
                l_max: 5,
                normalize: true
            })
            .contains("theta")
        );
        assert!(
            err(Adstock::Delayed {
                alpha: 0.5,
                theta: 0.0,
                l_max: 0,
                normalize: true
            })
            .contains("l_max")
        );
        for ok in [
            Adstock::Geometric {
                alpha: 0.0,
                l_max: 1,
                normalize: true,
            },
            Adstock::RobynGeometric { theta: 0.0 },
            Adstock::Weibull {
                shape: 0.5,
                scale: 0.5,
                l_max: 3,
            },
            Adstock::Delayed {
                alpha: 0.5,
                theta: 4.0,
                l_max: 5,
                normalize: true,
            },
        ] {
            assert_eq!(ok.check(), Ok(()), "{ok:?}");
        }
        let serr = |s: Saturation| s.check().unwrap_err();
        assert!(
            serr(Saturation::Hill {
                half: 0.0,
                slope: 1.0
            })
            .contains("half")
        );
        assert!(
            serr(Saturation::Hill {
                half: 1.0,
                slope: -2.0
            })
            .contains("slope")
        );
        assert!(serr(Saturation::Logistic { lambda: f64::NAN }).contains("lambda"));
        assert!(serr(Saturation::MichaelisMenten { half: -1.0 }).contains("michaelis_menten"));
        let mut r = Response {
            adstock: Adstock::RobynGeometric { theta: 0.5 },
            saturation: Saturation::Logistic { lambda: 1.0 },
            scale: 0.0,
            beta: 1.0,
        };
        assert!(r.check().unwrap_err().contains("scale"));
        r.scale = 1.0;
        assert_eq!(r.check(), Ok(()));
        r.beta = f64::NAN;
        assert!(r.check().unwrap_err().contains("beta"));
        // Bad parameters never panic in the computations either.
        for a in [
            Adstock::Geometric {
                alpha: 1.5,
                l_max: 3,
                normalize: true,
            },
            Adstock::RobynGeometric { theta: f64::NAN },
            Adstock::Weibull {
                shape: -1.0,
                scale: 0.0,
                l_max: 0,
            },
            Adstock::Delayed {
                alpha: 0.0,
                theta: 0.5,
                l_max: usize::MAX,
                normalize: true,
            },
        ] {
            let _ = (a.apply(&[1.0, 2.0]), a.total_weight(), a.weights());
        }
    }

    #[test]
    fn steady_state_is_the_limit_of_a_constant_spend() {
        let responses = [
            Response {
                adstock: Adstock::Geometric {
                    alpha: 0.6,
                    l_max: 21,
                    normalize: false,
                },
                saturation: Saturation::Hill {
                    half: 1.0,
                    slope: 1.8,
                },
                scale: 5000.0,
                beta: 300.0,
            },
            Response {
                adstock: Adstock::RobynGeometric { theta: 0.5 },
                saturation: Saturation::MichaelisMenten { half: 2.0 },
                scale: 100.0,
                beta: 10.0,
            },
            Response {
                adstock: Adstock::WeibullCdf {
                    shape: 0.7,
                    scale: 3.0,
                    l_max: 15,
                },
                saturation: Saturation::Logistic { lambda: 1.5 },
                scale: 3000.0,
                beta: 50.0,
            },
            Response {
                adstock: Adstock::Delayed {
                    alpha: 0.5,
                    theta: 2.0,
                    l_max: 6,
                    normalize: true,
                },
                saturation: Saturation::Hill {
                    half: 0.9,
                    slope: 1.0,
                },
                scale: 4000.0,
                beta: 80.0,
            },
        ];
        for r in responses {
            assert_eq!(r.steady_state(0.0), 0.0);
            for s in [30.0, 700.0, 4000.0] {
                let long = r.effect(&vec![s; 200]);
                assert!(
                    close(*long.last().unwrap(), r.steady_state(s), 1e-12),
                    "{r:?}"
                );
                let h = 1e-4 * s;
                let numeric = (r.steady_state(s + h) - r.steady_state(s - h)) / (2.0 * h);
                let d = r.steady_state_derivative(s);
                assert!(
                    (numeric - d).abs() <= 1e-5 * d.abs().max(1e-9),
                    "{r:?} at {s}: {numeric} vs {d}"
                );
            }
        }
    }
}
