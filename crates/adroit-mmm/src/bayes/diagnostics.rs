//! Convergence diagnostics of MCMC draws, as Vehtari, Gelman, Simpson, Carpenter and
//! Bürkner (2021, "Rank-normalization, folding, and localization: an improved R-hat")
//! define them and ArviZ computes them: split chains, rank normalisation, the folded
//! R-hat, bulk and tail effective sample sizes (Geyer's initial monotone sequence on
//! the chains' combined autocorrelation), and the energy Bayesian fraction of missing
//! information per chain.
//!
//! Draws are given as `chains[c][i]` (one parameter); every chain has the same length.

use statrs::distribution::{ContinuousCDF, Normal};

/// Each chain cut into its first and second half (the middle draw of an odd-length
/// chain is dropped).
pub fn split(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(2 * chains.len());
    for c in chains {
        let h = c.len() / 2;
        out.push(c[..h].to_vec());
        out.push(c[c.len() - h..].to_vec());
    }
    out
}

/// Ranks of all draws pooled (ties get their average rank), mapped to normal scores
/// `Φ⁻¹((r − 3/8) / (S + 1/4))`.
pub fn rank_normalize(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    let s = all.len();
    let mut idx: Vec<usize> = (0..s).collect();
    idx.sort_by(|&a, &b| all[a].total_cmp(&all[b]));
    let mut rank = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut j = i;
        while j + 1 < s && all[idx[j + 1]] == all[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            rank[idx[k]] = r;
        }
        i = j + 1;
    }
    let normal = Normal::standard();
    let mut out = Vec::with_capacity(chains.len());
    let mut at = 0;
    for c in chains {
        out.push(
            (0..c.len())
                .map(|k| normal.inverse_cdf((rank[at + k] - 0.375) / (s as f64 + 0.25)))
                .collect(),
        );
        at += c.len();
    }
    out
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn var(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0)
}

/// The classic potential scale reduction of (already split) chains.
fn rhat_raw(chains: &[Vec<f64>]) -> f64 {
    let n = chains[0].len() as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let b = n * var(&means);
    let w = mean(&chains.iter().map(|c| var(c)).collect::<Vec<_>>());
    if w <= 0.0 || !w.is_finite() {
        // Every chain constant: identical chains agree, different ones do not.
        return if b <= 0.0 { 1.0 } else { f64::INFINITY };
    }
    let var_plus = (n - 1.0) / n * w + b / n;
    (var_plus / w).sqrt()
}

/// Rank-normalised split R-hat: the larger of the bulk one and the folded one
/// (`|x − median|`, sensitive to differing scales).
pub fn rhat(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains[0].len() < 4 {
        return f64::NAN;
    }
    let sp = split(chains);
    let bulk = rhat_raw(&rank_normalize(&sp));
    let mut all: Vec<f64> = chains.iter().flatten().copied().collect();
    all.sort_by(f64::total_cmp);
    let median = quantile_sorted(&all, 0.5);
    let folded: Vec<Vec<f64>> = sp
        .iter()
        .map(|c| c.iter().map(|x| (x - median).abs()).collect())
        .collect();
    let tail = rhat_raw(&rank_normalize(&folded));
    bulk.max(tail)
}

/// Effective sample size of (already split) chains: Geyer's initial monotone sequence
/// estimator on the combined autocorrelation (Stan's and ArviZ's `_ess`).
pub fn ess_raw(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let n = chains[0].len();
    if n < 4 {
        return f64::NAN;
    }
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    // Biased autocovariance of each chain at lag k.
    let acov = |c: usize, k: usize| -> f64 {
        let x = &chains[c];
        let mu = means[c];
        (0..n - k)
            .map(|t| (x[t] - mu) * (x[t + k] - mu))
            .sum::<f64>()
            / n as f64
    };
    let nf = n as f64;
    let acov0: Vec<f64> = (0..m).map(|c| acov(c, 0)).collect();
    let mean_var = mean(&acov0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if m > 1 {
        var_plus += var(&means);
    }
    if var_plus <= 0.0 || !var_plus.is_finite() {
        // Constant draws: nothing varies, every draw is as good as independent.
        return (m * n) as f64;
    }
    let rho = |k: usize| -> f64 {
        let mean_acov = mean(&(0..m).map(|c| acov(c, k)).collect::<Vec<_>>());
        1.0 - (mean_var - mean_acov) / var_plus
    };
    let mut rho_hat = vec![0.0; n];
    rho_hat[0] = 1.0;
    let mut rho_even = 1.0;
    let mut rho_odd = rho(1);
    rho_hat[1] = rho_odd;
    // Geyer's initial positive sequence: sum pairs while their sum stays positive.
    let mut t = 1;
    while t < n - 3 && rho_even + rho_odd > 0.0 {
        rho_even = rho(t + 1);
        rho_odd = rho(t + 2);
        if rho_even + rho_odd >= 0.0 {
            rho_hat[t + 1] = rho_even;
            rho_hat[t + 2] = rho_odd;
        }
        t += 2;
    }
    let max_t = t.saturating_sub(2);
    if rho_even > 0.0 {
        rho_hat[max_t + 1] = rho_even;
    }
    // Geyer's initial monotone sequence.
    let mut t = 1;
    while t + 2 <= max_t {
        if rho_hat[t + 1] + rho_hat[t + 2] > rho_hat[t - 1] + rho_hat[t] {
            rho_hat[t + 1] = (rho_hat[t - 1] + rho_hat[t]) / 2.0;
            rho_hat[t + 2] = rho_hat[t + 1];
        }
        t += 2;
    }
    let total = (m * n) as f64;
    let tau = -1.0 + 2.0 * rho_hat[..=max_t].iter().sum::<f64>() + rho_hat[max_t + 1];
    let tau = tau.max(1.0 / total.log10());
    total / tau
}

/// Bulk ESS: of the split, rank-normalised chains.
pub fn ess_bulk(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains[0].len() < 8 {
        return f64::NAN;
    }
    ess_raw(&rank_normalize(&split(chains)))
}

/// Tail ESS: the smaller ESS of the indicators of the 5 % and 95 % quantiles.
pub fn ess_tail(chains: &[Vec<f64>]) -> f64 {
    if chains.is_empty() || chains[0].len() < 8 {
        return f64::NAN;
    }
    let mut all: Vec<f64> = chains.iter().flatten().copied().collect();
    all.sort_by(f64::total_cmp);
    let sp = split(chains);
    [0.05, 0.95]
        .iter()
        .map(|&q| {
            let cut = quantile_sorted(&all, q);
            let ind: Vec<Vec<f64>> = sp
                .iter()
                .map(|c| c.iter().map(|&x| f64::from(u8::from(x <= cut))).collect())
                .collect();
            ess_raw(&ind)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Energy Bayesian fraction of missing information of one chain:
/// `Σ (E_t − E_{t−1})² / Σ (E_t − Ē)²`; below 0.3 the momentum resampling explores
/// the energy distribution poorly.
pub fn bfmi(energy: &[f64]) -> f64 {
    if energy.len() < 2 {
        return f64::NAN;
    }
    let m = mean(energy);
    let num: f64 = energy.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    let den: f64 = energy.iter().map(|e| (e - m).powi(2)).sum();
    if den > 0.0 { num / den } else { f64::NAN }
}

/// Linear-interpolated quantile of sorted values.
pub fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}
