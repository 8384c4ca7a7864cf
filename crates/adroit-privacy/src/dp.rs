//! Differential privacy: the Laplace and Gaussian mechanisms and clipped counts and
//! sums per group.
//!
//! **Neighbouring datasets** differ by one person's rows (added or removed). By
//! default each row is one person; with a user column, each user's rows are capped at
//! `max_rows_per_user` (the first ones in file order are kept), and sensitivities grow
//! by that factor.
//!
//! **Sensitivity.** Values are clipped to the stated bounds `[lower, upper]` before
//! summing, so one row moves a sum by at most `c = max(|lower|, |upper|)` and a count
//! by one. Groups partition the rows, so one row touches one group (parallel
//! composition); a user with `m` rows touches at most `m` groups. Both the L1
//! sensitivity (Laplace) and the L2 sensitivity (Gaussian) are taken as `m·c` (all of
//! a user's rows in one group is the worst case for both).
//!
//! **Composition.** The budget `(ε, δ)` of a release is split equally across its
//! statistics (the count and each sum column): each gets `ε/k` and `δ/k`, and basic
//! sequential composition adds them back to `(ε, δ)`.
//!
//! **Mechanisms.** Laplace: noise `Lap(b)` with `b = Δ₁/ε` (pure ε-DP). Gaussian:
//! noise `N(0, σ²)` with σ from the *analytic Gaussian mechanism* of Balle & Wang
//! (ICML 2018, Algorithm 1): the smallest σ with
//! `Φ(Δ/(2σ) − εσ/Δ) − e^ε·Φ(−Δ/(2σ) − εσ/Δ) ≤ δ`, exact for every ε > 0; it is
//! smaller than the classic `σ = Δ₂·√(2 ln(1.25/δ))/ε` ([`gaussian_sigma_classic`],
//! which is only valid for ε < 1).
//!
//! **Group labels** are assumed public (channels, segments the analyst knows): the set
//! of groups released is not itself protected unless the caller passes the groups.
//! Noise is drawn in floating point (no snapping), as in most DP libraries.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Which noise a release adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mechanism {
    Laplace,
    Gaussian,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Laplace => "laplace",
            Mechanism::Gaussian => "gaussian",
        }
    }
}

/// The standard normal CDF, accurate in the tails (through `erfc`).
pub fn std_normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The CDF of `N(0, σ²)`.
pub fn normal_cdf(x: f64, sigma: f64) -> f64 {
    std_normal_cdf(x / sigma)
}

/// The CDF of the Laplace distribution with location 0 and scale `b`.
pub fn laplace_cdf(x: f64, b: f64) -> f64 {
    if x < 0.0 {
        0.5 * (x / b).exp()
    } else {
        1.0 - 0.5 * (-x / b).exp()
    }
}

/// One draw of `Lap(0, b)` by the inverse CDF.
pub fn sample_laplace<R: Rng + ?Sized>(rng: &mut R, b: f64) -> f64 {
    // u uniform on (-1/2, 1/2), never exactly -1/2 (ln 0).
    let u: f64 = loop {
        let u = rng.random::<f64>() - 0.5;
        if u > -0.5 {
            break u;
        }
    };
    -b * u.signum() * (1.0 - 2.0 * u.abs()).ln()
}

/// One draw of `N(0, σ²)` (Box–Muller).
pub fn sample_gaussian<R: Rng + ?Sized>(rng: &mut R, sigma: f64) -> f64 {
    let u1: f64 = loop {
        let u = rng.random::<f64>();
        if u > 0.0 {
            break u;
        }
    };
    let u2: f64 = rng.random::<f64>();
    sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The noise source of a release: ChaCha20 seeded for reproducible tests and audits,
/// else seeded from the operating system's randomness.
pub fn noise_rng(seed: Option<u64>) -> rand_chacha::ChaCha20Rng {
    use rand::SeedableRng;
    match seed {
        Some(s) => rand_chacha::ChaCha20Rng::seed_from_u64(s),
        None => rand_chacha::ChaCha20Rng::from_os_rng(),
    }
}

/// Laplace scale `b = Δ₁/ε`.
pub fn laplace_scale(l1_sensitivity: f64, epsilon: f64) -> f64 {
    l1_sensitivity / epsilon
}

/// The classic Gaussian σ = Δ₂·√(2 ln(1.25/δ))/ε (Dwork & Roth, Theorem A.1; valid
/// for ε < 1 only).
pub fn gaussian_sigma_classic(l2_sensitivity: f64, epsilon: f64, delta: f64) -> f64 {
    l2_sensitivity * (2.0 * (1.25 / delta).ln()).sqrt() / epsilon
}

/// The δ a Gaussian mechanism of noise σ achieves at ε for sensitivity Δ (Balle &
/// Wang 2018, Theorem 8).
pub fn gaussian_delta(l2_sensitivity: f64, epsilon: f64, sigma: f64) -> f64 {
    let a = l2_sensitivity / (2.0 * sigma);
    let b = epsilon * sigma / l2_sensitivity;
    (std_normal_cdf(a - b) - epsilon.exp() * std_normal_cdf(-a - b)).max(0.0)
}

/// The smallest σ giving (ε, δ)-DP for L2 sensitivity Δ: the analytic Gaussian
/// mechanism (Balle & Wang 2018), by bisection on the exact δ(σ), which decreases in σ.
pub fn gaussian_sigma_analytic(l2_sensitivity: f64, epsilon: f64, delta: f64) -> f64 {
    if l2_sensitivity == 0.0 {
        return 0.0;
    }
    let mut hi = l2_sensitivity;
    while gaussian_delta(l2_sensitivity, epsilon, hi) > delta {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if gaussian_delta(l2_sensitivity, epsilon, mid) > delta {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// A budget split: what each of `k` statistics gets under basic sequential
/// composition (equal shares that add back to the total).
pub fn split_budget(epsilon: f64, delta: f64, k: usize) -> (f64, f64) {
    let k = k.max(1) as f64;
    (epsilon / k, delta / k)
}

/// Total of a sequence of releases under basic sequential composition.
pub fn compose(releases: &[(f64, f64)]) -> (f64, f64) {
    releases
        .iter()
        .fold((0.0, 0.0), |(e, d), (ei, di)| (e + ei, d + di))
}

/// A sum column and its contribution bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SumSpec {
    pub column: String,
    pub lower: f64,
    pub upper: f64,
}

/// What to release and with which budget.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseSpec {
    pub count: bool,
    pub sums: Vec<SumSpec>,
    pub epsilon: f64,
    /// 0 for Laplace.
    pub delta: f64,
    pub mechanism: Mechanism,
    /// Rows a user may contribute (1 when each row is a person).
    pub max_rows_per_user: usize,
}

impl ReleaseSpec {
    /// Errors for settings no release can have.
    pub fn check(&self) -> Result<(), String> {
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(format!(
                "epsilon must be a positive number, not {}",
                self.epsilon
            ));
        }
        if !self.count && self.sums.is_empty() {
            return Err("nothing to release: give --count and/or --sum COLUMNS".into());
        }
        match self.mechanism {
            Mechanism::Laplace if self.delta != 0.0 => {
                return Err(
                    "the Laplace mechanism is pure ε-DP: drop --delta, or use --mechanism gaussian"
                        .into(),
                );
            }
            Mechanism::Gaussian if !(self.delta > 0.0 && self.delta < 1.0) => {
                return Err("the Gaussian mechanism needs --delta between 0 and 1 (e.g. 1e-6, well below 1/rows)".into());
            }
            _ => {}
        }
        if self.max_rows_per_user == 0 {
            return Err("max rows per user must be at least 1".into());
        }
        for s in &self.sums {
            if !(s.lower.is_finite() && s.upper.is_finite() && s.lower <= s.upper) {
                return Err(format!(
                    "bound of `{}`: {}..{} is not a range (write --bound {}=LOW..HIGH)",
                    s.column, s.lower, s.upper, s.column
                ));
            }
        }
        Ok(())
    }

    /// Statistics in release order: `count` first, then `sum_<column>`.
    pub fn statistics(&self) -> Vec<String> {
        let mut s = Vec::new();
        if self.count {
            s.push("count".to_string());
        }
        s.extend(self.sums.iter().map(|x| format!("sum_{}", x.column)));
        s
    }
}

/// How one statistic was protected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatisticNoise {
    pub statistic: String,
    pub l1_sensitivity: f64,
    pub l2_sensitivity: f64,
    pub epsilon: f64,
    pub delta: f64,
    /// Laplace `b` or Gaussian `σ`.
    pub scale: f64,
    /// Standard deviation of the noise (`b·√2` for Laplace, `σ` for Gaussian).
    pub std_dev: f64,
    /// Values clipped to the bounds (sums only).
    pub clipped: usize,
}

/// One group's noisy statistics, in [`ReleaseSpec::statistics`] order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRelease {
    pub group: String,
    pub values: Vec<f64>,
}

/// A differentially private release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Release {
    pub mechanism: Mechanism,
    pub epsilon: f64,
    pub delta: f64,
    pub noise: Vec<StatisticNoise>,
    pub groups: Vec<GroupRelease>,
    /// Rows left out because their user had already contributed `max_rows_per_user`.
    pub rows_dropped: usize,
}

/// The rows a release uses: a group label per row, optionally a user per row, and a
/// value per row for each sum column (NaN = empty, contributes nothing).
pub struct ReleaseInput<'a> {
    pub groups: &'a [String],
    pub users: Option<&'a [String]>,
    pub sums: Vec<&'a [f64]>,
    /// Groups to release (public labels); `None`: the groups present in the data.
    pub public_groups: Option<Vec<String>>,
}

/// Exact clipped counts and sums per group (what the noise is added to), with how
/// many values each sum clipped and how many rows the user cap dropped. Not for output.
pub fn clipped_totals(
    spec: &ReleaseSpec,
    input: &ReleaseInput,
) -> (BTreeMap<String, Vec<f64>>, Vec<usize>, usize) {
    let k = spec.statistics().len();
    let mut totals: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    if let Some(p) = &input.public_groups {
        for g in p {
            totals.insert(g.clone(), vec![0.0; k]);
        }
    }
    let mut clipped = vec![0usize; spec.sums.len()];
    let mut per_user: HashMap<&str, usize> = HashMap::new();
    let mut dropped = 0;
    for (i, g) in input.groups.iter().enumerate() {
        if let Some(users) = input.users {
            let n = per_user.entry(users[i].as_str()).or_default();
            if *n >= spec.max_rows_per_user {
                dropped += 1;
                continue;
            }
            *n += 1;
        }
        let row = match &input.public_groups {
            Some(_) => match totals.get_mut(g) {
                Some(r) => r,
                None => continue, // not a released group
            },
            None => totals.entry(g.clone()).or_insert_with(|| vec![0.0; k]),
        };
        let mut at = 0;
        if spec.count {
            row[0] += 1.0;
            at = 1;
        }
        for (j, s) in spec.sums.iter().enumerate() {
            let v = input.sums[j][i];
            if v.is_finite() {
                let c = v.clamp(s.lower, s.upper);
                if c != v {
                    clipped[j] += 1;
                }
                row[at + j] += c;
            }
        }
    }
    (totals, clipped, dropped)
}

/// Noisy counts and sums per group under `spec`.
pub fn release<R: Rng + ?Sized>(
    spec: &ReleaseSpec,
    input: &ReleaseInput,
    rng: &mut R,
) -> Result<Release, String> {
    spec.check()?;
    let stats = spec.statistics();
    let (eps_i, delta_i) = split_budget(spec.epsilon, spec.delta, stats.len());
    let m = spec.max_rows_per_user as f64;
    let (totals, clipped, dropped) = clipped_totals(spec, input);
    let mut noise = Vec::new();
    for (j, name) in stats.iter().enumerate() {
        let is_count = spec.count && j == 0;
        let sum_index = j.saturating_sub(usize::from(spec.count));
        let c = if is_count {
            1.0
        } else {
            let s = &spec.sums[sum_index];
            s.lower.abs().max(s.upper.abs())
        };
        let sens = m * c;
        let (scale, std_dev) = match spec.mechanism {
            Mechanism::Laplace => {
                let b = laplace_scale(sens, eps_i);
                (b, b * std::f64::consts::SQRT_2)
            }
            Mechanism::Gaussian => {
                let s = gaussian_sigma_analytic(sens, eps_i, delta_i);
                (s, s)
            }
        };
        noise.push(StatisticNoise {
            statistic: name.clone(),
            l1_sensitivity: sens,
            l2_sensitivity: sens,
            epsilon: eps_i,
            delta: if spec.mechanism == Mechanism::Laplace {
                0.0
            } else {
                delta_i
            },
            scale,
            std_dev,
            clipped: if spec.count && j == 0 {
                0
            } else {
                clipped[sum_index]
            },
        });
    }
    let groups = totals
        .into_iter()
        .map(|(group, exact)| GroupRelease {
            group,
            values: exact
                .iter()
                .zip(&noise)
                .map(|(x, n)| {
                    x + match spec.mechanism {
                        Mechanism::Laplace => sample_laplace(rng, n.scale),
                        Mechanism::Gaussian => sample_gaussian(rng, n.scale),
                    }
                })
                .collect(),
        })
        .collect();
    Ok(Release {
        mechanism: spec.mechanism,
        epsilon: spec.epsilon,
        delta: spec.delta,
        noise,
        groups,
        rows_dropped: dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytic_sigma_meets_delta_and_beats_the_classic_one() {
        for (eps, delta) in [(0.1, 1e-6), (0.5, 1e-5), (0.9, 1e-6)] {
            let a = gaussian_sigma_analytic(1.0, eps, delta);
            let c = gaussian_sigma_classic(1.0, eps, delta);
            assert!(a < c, "{eps} {delta}: analytic {a} vs classic {c}");
            assert!(gaussian_delta(1.0, eps, a) <= delta * 1.000001);
            assert!(gaussian_delta(1.0, eps, a * 0.99) > delta);
        }
        // Scales with the sensitivity.
        let s1 = gaussian_sigma_analytic(1.0, 1.0, 1e-6);
        let s10 = gaussian_sigma_analytic(10.0, 1.0, 1e-6);
        assert!((s10 / s1 - 10.0).abs() < 1e-6);
        // Balle & Wang's Figure: ε = 1, δ = 1e-5 gives σ ≈ 3.73 for Δ = 1.
        let s = gaussian_sigma_analytic(1.0, 1.0, 1e-5);
        assert!((s - 3.73).abs() < 0.02, "{s}");
    }

    #[test]
    fn budget_split_adds_back() {
        let (e, d) = split_budget(1.0, 1e-6, 3);
        let (te, td) = compose(&[(e, d), (e, d), (e, d)]);
        assert!((te - 1.0).abs() < 1e-12 && (td - 1e-6).abs() < 1e-18);
    }
}
