//! Simulation-based calibration of the Bayesian MMM (Talts, Betancourt, Simpson, Vehtari
//! & Gelman 2018, "Validating Bayesian inference algorithms with simulation-based
//! calibration"): if the sampler draws from the exact posterior, the rank of a parameter
//! drawn from the prior among L posterior draws of data simulated from it is uniform on
//! 0..=L. Density, priors, forward model and sampler are the module's own
//! (`bayes::prior::PriorModel`), on the scaled KPI (`y_scale = 1`, see that module).
//!
//! Run with `cargo test -p adroit-mmm --test bayes_sbc -- --nocapture` for the histograms.

use adroit_mmm::bayes::prior::{GeoPriorModel, PriorModel};
use adroit_mmm::bayes::{BayesSettings, GeoPanel};
use adroit_mmm::{ChannelSpec, MmmData, ModelSpec, SaturationKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Replicates (simulated worlds), each one NUTS fit; `ADROIT_SBC_N` overrides it for a
/// more powerful run outside CI (the chi-square test's power grows with N).
const N: usize = 200;
/// Chains × draws per replicate after tuning; every `THIN`-th draw is ranked.
const CHAINS: usize = 2;
const DRAWS: usize = 100;
const TUNE: usize = 150;
const THIN: usize = 5;
/// Ranked draws: 2 × 100 / 5 = 40, less one so that the L + 1 = 40 possible ranks fill
/// `BINS` bins equally.
const L: usize = 39;
const BINS: usize = 10;
/// Significance of each per-parameter chi-square test (9 degrees of freedom).
const ALPHA: f64 = 0.001;
/// The one seed of the study, fixed before the first run.
const SEED: u64 = 20181101;

/// Two channels on 60 weeks (one flighted on/off like TV, one always on with noise, as
/// x1 and x2 of PyMC-Marketing's example), a control, no trend or seasonality: the
/// parameters are 2 × (adstock rate, logistic lambda, coefficient), the control's
/// coefficient, the intercept and sigma, plus each channel's ROI (derived).
fn world() -> (MmmData, ModelSpec) {
    let n = 60;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let flighted: Vec<f64> = (0..n)
        .map(|t| {
            if (t / 6) % 2 == 0 {
                0.5 + rng.random::<f64>()
            } else {
                0.0
            }
        })
        .collect();
    let always: Vec<f64> = (0..n).map(|_| 0.2 + rng.random::<f64>()).collect();
    let control: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
    let data = MmmData {
        days: (0..n as i32).map(|t| 17000 + 7 * t).collect(),
        kpi: vec![0.0; n],
        spend: vec![flighted, always],
        controls: vec![control],
        events: vec![],
    };
    let channel = |name: &str| ChannelSpec {
        saturation: SaturationKind::Logistic,
        ..ChannelSpec::new(name)
    };
    let spec = ModelSpec {
        controls: vec!["price".into()],
        trend: false,
        fourier: 0,
        ..ModelSpec::new(vec![channel("a"), channel("b")])
    };
    (data, spec)
}

#[test]
fn posterior_ranks_of_prior_draws_are_uniform() {
    let started = std::time::Instant::now();
    let n: usize = std::env::var("ADROIT_SBC_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(N);
    let (data, spec) = world();
    let model = PriorModel::new(&data, &spec, &BayesSettings::default()).unwrap();
    let names = model.names().to_vec();
    let mut counts = vec![vec![0usize; BINS]; names.len()];
    let mut divergences = 0;
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    for rep in 0..n {
        let truth = model.draw(&mut rng);
        let kpi = model.simulate(&truth, &mut rng);
        let settings = BayesSettings {
            chains: CHAINS,
            draws: DRAWS,
            tune: TUNE,
            seed: SEED + rep as u64,
            ..BayesSettings::default()
        };
        let post = model.posterior(&kpi, &settings).unwrap();
        divergences += post.divergences;
        rank(&mut counts, &truth, &post.chains);
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "SBC: N = {n} replicates, L = {L} ranked draws ({CHAINS} chains × {DRAWS} draws after {TUNE} tuning, every {THIN}th), {BINS} bins; {divergences} divergences in all; {seconds:.1} s"
    );
    assert_uniform(&names, &counts, n);
}

/// Ranks of the true values among the kept posterior draws, one bin per parameter.
fn rank(counts: &mut [Vec<usize>], truth: &[f64], chains: &[Vec<Vec<f64>>]) {
    let kept: Vec<&Vec<f64>> = chains
        .iter()
        .flat_map(|c| c.iter().step_by(THIN))
        .take(L)
        .collect();
    assert_eq!(kept.len(), L);
    for (p, (row, t)) in counts.iter_mut().zip(truth).enumerate() {
        let rank = kept.iter().filter(|d| d[p] < *t).count();
        row[rank * BINS / (L + 1)] += 1;
    }
}

/// A chi-square test of uniform ranks per parameter, histograms printed.
fn assert_uniform(names: &[String], counts: &[Vec<usize>], n: usize) {
    let expected = n as f64 / BINS as f64;
    let chi2 = ChiSquared::new((BINS - 1) as f64).unwrap();
    let mut failed = Vec::new();
    for (p, name) in names.iter().enumerate() {
        let stat: f64 = counts[p]
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        let pval = 1.0 - chi2.cdf(stat);
        let bars: Vec<String> = counts[p].iter().map(|c| format!("{c:>3}")).collect();
        eprintln!(
            "{name:>14}: [{}] chi2 {stat:>6.2} p {pval:.4}",
            bars.join(" ")
        );
        if pval <= ALPHA {
            failed.push(format!("{name} (p {pval:.2e})"));
        }
    }
    assert!(
        failed.is_empty(),
        "ranks not uniform at p > {ALPHA}: {}",
        failed.join(", ")
    );
}

/// Three geos of different populations on 40 weeks: TV flighted per geo, search always
/// on, a geo-varying control, one effect per week shared by the geos (the default), the
/// non-centred hierarchy (the default). Ranked: per channel adstock rate, lambda,
/// coefficient level, ROI, spread across geos and the first geo's multiplier; the first
/// geo's intercept, the control's coefficient, sigma.
fn geo_world() -> (GeoPanel, ModelSpec) {
    let n = 40;
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let population = vec![1.0, 2.0, 0.5];
    let tables = population
        .iter()
        .enumerate()
        .map(|(g, pop)| {
            let tv: Vec<f64> = (0..n)
                .map(|t| {
                    if ((t + 2 * g) / 5) % 2 == 0 {
                        pop * (0.5 + rng.random::<f64>())
                    } else {
                        0.0
                    }
                })
                .collect();
            let search: Vec<f64> = (0..n).map(|_| pop * (0.2 + rng.random::<f64>())).collect();
            let control: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
            MmmData {
                days: (0..n as i32).map(|t| 17000 + 7 * t).collect(),
                kpi: vec![0.0; n],
                spend: vec![tv, search],
                controls: vec![control],
                events: vec![],
            }
        })
        .collect();
    let channel = |name: &str| ChannelSpec {
        saturation: SaturationKind::Logistic,
        ..ChannelSpec::new(name)
    };
    let spec = ModelSpec {
        controls: vec!["price".into()],
        trend: false,
        fourier: 0,
        ..ModelSpec::new(vec![channel("tv"), channel("search")])
    };
    let panel = GeoPanel {
        names: vec!["g0".into(), "g1".into(), "g2".into()],
        population,
        tables,
    };
    (panel, spec)
}

#[test]
fn geo_posterior_ranks_of_prior_draws_are_uniform() {
    let started = std::time::Instant::now();
    let n: usize = std::env::var("ADROIT_SBC_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(N);
    let (panel, spec) = geo_world();
    let model = GeoPriorModel::new(&panel, &spec, &BayesSettings::default()).unwrap();
    let names = model.names().to_vec();
    let mut counts = vec![vec![0usize; BINS]; names.len()];
    let mut divergences = 0;
    let mut rng = ChaCha8Rng::seed_from_u64(SEED + 1);
    for rep in 0..n {
        let (z, truth) = model.draw(&mut rng);
        let kpi = model.simulate(&z, &mut rng);
        let settings = BayesSettings {
            chains: CHAINS,
            draws: DRAWS,
            tune: TUNE,
            seed: SEED + rep as u64,
            ..BayesSettings::default()
        };
        let post = model.posterior(&kpi, &settings).unwrap();
        divergences += post.divergences;
        rank(&mut counts, &truth, &post.chains);
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "geo SBC: N = {n} replicates of 3 geos × 40 weeks, L = {L} ranked draws, {BINS} bins; {divergences} divergences in all; {seconds:.1} s"
    );
    assert_uniform(&names, &counts, n);
}
