//! The noise of the DP mechanisms matches its distribution (Kolmogorov–Smirnov against
//! the Laplace and Gaussian CDFs on seeded draws), clipping bounds contributions, the
//! budget splits and composes, and the ledger refuses over-budget releases.

use adroit_privacy::dp::{self, Mechanism, ReleaseInput, ReleaseSpec, SumSpec};
use adroit_privacy::ledger::{Budget, Entry, Ledger};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The KS statistic of `xs` against `cdf`.
fn ks(mut xs: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    xs.iter()
        .enumerate()
        .map(|(i, x)| {
            let f = cdf(*x);
            (f - i as f64 / n)
                .abs()
                .max((((i + 1) as f64) / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// The 1 % critical value of the one-sample KS test for large n.
fn critical(n: usize) -> f64 {
    1.63 / (n as f64).sqrt()
}

#[test]
fn laplace_and_gaussian_draws_pass_kolmogorov_smirnov() {
    let n = 20_000;
    for (seed, scale) in [(1u64, 0.5), (2, 1.0), (3, 37.0)] {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let lap: Vec<f64> = (0..n)
            .map(|_| dp::sample_laplace(&mut rng, scale))
            .collect();
        let d = ks(lap.clone(), |x| dp::laplace_cdf(x, scale));
        println!(
            "laplace b = {scale}: D = {d:.5} (1% critical {:.5})",
            critical(n)
        );
        assert!(d < critical(n), "Laplace b={scale}: D={d}");
        // The test has power: the same draws against a scale 10 % off are rejected.
        let wrong = ks(lap, |x| dp::laplace_cdf(x, scale * 1.1));
        assert!(wrong > critical(n), "KS cannot tell b from 1.1 b: {wrong}");

        let gau: Vec<f64> = (0..n)
            .map(|_| dp::sample_gaussian(&mut rng, scale))
            .collect();
        let d = ks(gau.clone(), |x| dp::normal_cdf(x, scale));
        println!("gaussian σ = {scale}: D = {d:.5}");
        assert!(d < critical(n), "Gaussian σ={scale}: D={d}");
        let wrong = ks(gau, |x| dp::normal_cdf(x, scale * 1.1));
        assert!(wrong > critical(n));
    }
}

fn spec(mechanism: Mechanism, epsilon: f64, delta: f64) -> ReleaseSpec {
    ReleaseSpec {
        count: true,
        sums: vec![SumSpec {
            column: "spend".into(),
            lower: 0.0,
            upper: 100.0,
        }],
        epsilon,
        delta,
        mechanism,
        max_rows_per_user: 1,
    }
}

#[test]
fn released_noise_matches_the_reported_scale() {
    // 2,000 releases with different seeds: value − exact total is the noise, and it
    // must follow the mechanism at the scale the release reports.
    let groups: Vec<String> = ["a", "a", "b"].iter().map(|s| s.to_string()).collect();
    let spend = [50.0, 500.0, 20.0]; // 500 is clipped to 100
    let input = ReleaseInput {
        groups: &groups,
        users: None,
        sums: vec![&spend],
        public_groups: None,
    };
    for (mech, eps, delta) in [
        (Mechanism::Laplace, 1.0, 0.0),
        (Mechanism::Gaussian, 1.0, 1e-6),
    ] {
        let s = spec(mech, eps, delta);
        let (exact, clipped, _) = dp::clipped_totals(&s, &input);
        assert_eq!(exact["a"], vec![2.0, 150.0]);
        assert_eq!(clipped, vec![1]);
        let n = 2_000;
        let mut count_noise = Vec::new();
        let mut sum_noise = Vec::new();
        let mut scales = (0.0, 0.0);
        for seed in 0..n {
            let mut rng = ChaCha20Rng::seed_from_u64(seed as u64);
            let r = dp::release(&s, &input, &mut rng).unwrap();
            scales = (r.noise[0].scale, r.noise[1].scale);
            count_noise.push(r.groups[0].values[0] - 2.0);
            sum_noise.push(r.groups[0].values[1] - 150.0);
        }
        // Budget split in two (count, sum), sensitivities 1 and 100.
        match mech {
            Mechanism::Laplace => {
                assert!((scales.0 - 2.0).abs() < 1e-12 && (scales.1 - 200.0).abs() < 1e-9);
                let d1 = ks(count_noise, |x| dp::laplace_cdf(x, scales.0));
                let d2 = ks(sum_noise, |x| dp::laplace_cdf(x, scales.1));
                println!(
                    "release laplace: D = {d1:.4}, {d2:.4} (critical {:.4})",
                    critical(n)
                );
                assert!(d1 < critical(n) && d2 < critical(n));
            }
            Mechanism::Gaussian => {
                let sigma = dp::gaussian_sigma_analytic(1.0, 0.5, 5e-7);
                assert!((scales.0 - sigma).abs() < 1e-9 && (scales.1 - 100.0 * sigma).abs() < 1e-6);
                let d1 = ks(count_noise, |x| dp::normal_cdf(x, scales.0));
                let d2 = ks(sum_noise, |x| dp::normal_cdf(x, scales.1));
                println!("release gaussian σ = {sigma:.3}: D = {d1:.4}, {d2:.4}");
                assert!(d1 < critical(n) && d2 < critical(n));
            }
        }
    }
}

#[test]
fn seeded_releases_repeat_and_the_budget_composes() {
    let groups: Vec<String> = (0..100).map(|i| format!("g{}", i % 3)).collect();
    let spend: Vec<f64> = (0..100).map(|i| i as f64 * 3.0 - 20.0).collect();
    let input = ReleaseInput {
        groups: &groups,
        users: None,
        sums: vec![&spend],
        public_groups: None,
    };
    let s = spec(Mechanism::Gaussian, 0.9, 1e-6);
    let a = dp::release(&s, &input, &mut ChaCha20Rng::seed_from_u64(7)).unwrap();
    let b = dp::release(&s, &input, &mut ChaCha20Rng::seed_from_u64(7)).unwrap();
    let c = dp::release(&s, &input, &mut ChaCha20Rng::seed_from_u64(8)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.groups, c.groups);
    // Sequential composition: the statistics' shares add back to the release's budget.
    let parts: Vec<(f64, f64)> = a.noise.iter().map(|n| (n.epsilon, n.delta)).collect();
    let (e, d) = dp::compose(&parts);
    assert!((e - 0.9).abs() < 1e-12 && (d - 1e-6).abs() < 1e-18);
    // Clipping: negatives clipped to 0 and values above 100 to 100.
    assert_eq!(a.noise[1].clipped, 7 + 59); // i < 7 and i > 40
    // The analytic σ is below the classic one (ε < 1).
    let classic = dp::gaussian_sigma_classic(1.0, 0.45, 5e-7);
    assert!(a.noise[0].scale < classic);
}

#[test]
fn a_user_cap_bounds_contributions_and_scales_sensitivity() {
    let groups: Vec<String> = ["a", "a", "a", "b"].iter().map(|s| s.to_string()).collect();
    let users: Vec<String> = ["u1", "u1", "u1", "u2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let spend = [10.0, 10.0, 10.0, 10.0];
    let input = ReleaseInput {
        groups: &groups,
        users: Some(&users),
        sums: vec![&spend],
        public_groups: Some(vec!["a".into(), "b".into(), "c".into()]),
    };
    let mut s = spec(Mechanism::Laplace, 1.0, 0.0);
    s.max_rows_per_user = 2;
    let (exact, _, dropped) = dp::clipped_totals(&s, &input);
    assert_eq!(dropped, 1);
    assert_eq!(exact["a"], vec![2.0, 20.0]);
    assert_eq!(exact["c"], vec![0.0, 0.0]);
    let r = dp::release(&s, &input, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
    assert_eq!(r.groups.len(), 3);
    assert_eq!(r.noise[0].l1_sensitivity, 2.0);
    assert_eq!(r.noise[1].l1_sensitivity, 200.0);
    // Bad settings are refused.
    let mut bad = spec(Mechanism::Gaussian, 1.0, 0.0);
    assert!(dp::release(&bad, &input, &mut ChaCha20Rng::seed_from_u64(1)).is_err());
    bad.mechanism = Mechanism::Laplace;
    bad.epsilon = 0.0;
    assert!(dp::release(&bad, &input, &mut ChaCha20Rng::seed_from_u64(1)).is_err());
}

#[test]
fn the_ledger_refuses_what_would_exceed_the_budget() {
    let entry = |e: f64, d: f64| Entry {
        time: "2026-11-29T18:00:00Z".into(),
        epsilon: e,
        delta: d,
        mechanism: "gaussian".into(),
        what: "count by channel".into(),
    };
    let mut ledger = Ledger::default();
    let budget = Budget {
        epsilon: 1.0,
        delta: 1e-5,
    };
    let left = ledger
        .spend("shop", Some(budget), entry(0.4, 4e-6))
        .unwrap();
    assert!((left.epsilon - 0.6).abs() < 1e-12);
    ledger.spend("shop", None, entry(0.6, 4e-6)).unwrap();
    let before = ledger.to_json();
    let err = ledger.spend("shop", None, entry(0.01, 0.0)).unwrap_err();
    assert!(err.contains("refused") && err.contains("shop"), "{err}");
    assert_eq!(ledger.to_json(), before);
    // Another dataset has its own budget.
    ledger
        .spend("other", Some(budget), entry(1.0, 0.0))
        .unwrap();
    assert_eq!(ledger.datasets["shop"].releases.len(), 2);
}
