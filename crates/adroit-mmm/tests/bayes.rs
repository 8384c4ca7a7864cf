//! The Bayesian MMM: exact gradients, the convergence diagnostics on chains whose answer
//! is known, clear errors on bad input, and PyMC-Marketing's example, whose generating
//! process is known (`../shared/data/mmm/PROVENANCE.md`).

mod common;

use adroit_effects::{Adstock, Saturation};
use adroit_mmm::bayes::{self, BayesSettings, ChannelPrior, MassMatrix, diagnostics};
use adroit_mmm::spec::LiftTest;
use adroit_mmm::{AdstockKind, ChannelSpec, MmmData, ModelSpec, SaturationKind};
use common::pymc::{load, spec, true_roas};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A small world: three channels, a control, an event.
fn small_world(seed: u64) -> (MmmData, ModelSpec) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = 80;
    let mut spend = vec![vec![0.0; n]; 3];
    for s in &mut spend {
        for v in s.iter_mut() {
            *v = if rng.random::<f64>() < 0.7 {
                rng.random::<f64>() * 100.0
            } else {
                0.0
            };
        }
    }
    let control: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 5.0 - 1.0).collect();
    let event: Vec<f64> = (0..n).map(|t| f64::from(u8::from(t % 17 == 3))).collect();
    let kpi: Vec<f64> = (0..n)
        .map(|t| {
            500.0
                + 3.0 * spend[0][t]
                + 2.0 * spend[1][t]
                + 1.0 * spend[2][t]
                + 20.0 * control[t]
                + 50.0 * event[t]
                + rng.random::<f64>() * 40.0
        })
        .collect();
    let data = MmmData {
        days: (0..n as i32).map(|t| 17000 + 7 * t).collect(),
        kpi,
        spend,
        controls: vec![control],
        events: vec![event],
    };
    let spec = ModelSpec {
        controls: vec!["price".into()],
        events: vec!["promo".into()],
        calibration: vec![
            LiftTest {
                channel: "a".into(),
                first: 30,
                last: 37,
                label: "a test".into(),
                lift: 900.0,
                lower: Some(700.0),
                upper: Some(1100.0),
            },
            LiftTest {
                channel: "c".into(),
                first: 50,
                last: 53,
                label: "c test".into(),
                lift: 200.0,
                lower: None,
                upper: None,
            },
        ],
        ..ModelSpec::new(vec![
            ChannelSpec {
                saturation: SaturationKind::Logistic,
                ..ChannelSpec::new("a")
            },
            ChannelSpec {
                adstock: AdstockKind::RobynGeometric,
                saturation: SaturationKind::Hill,
                ..ChannelSpec::new("b")
            },
            ChannelSpec {
                saturation: SaturationKind::MichaelisMenten,
                l_max: 4,
                ..ChannelSpec::new("c")
            },
        ])
    };
    (data, spec)
}

#[test]
fn gradient_matches_central_differences_at_random_points() {
    let (data, spec) = small_world(1);
    // Channel c with Meridian's ROI prior: its coefficient depends on its transforms.
    let mut settings = BayesSettings::default();
    settings.priors.insert(
        "c".into(),
        ChannelPrior::Roi {
            mu: 0.0,
            sigma: 0.7,
        },
    );
    settings
        .priors
        .insert("b".into(), ChannelPrior::Coefficient { sigma: 1.5 });
    let (_, _, centre) = bayes::log_density(&data, &spec, &settings, None).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut worst: f64 = 0.0;
    for _ in 0..6 {
        let z: Vec<f64> = centre
            .iter()
            .map(|c| c + rng.random::<f64>() * 1.6 - 0.8)
            .collect();
        let (lp, g, _) = bayes::log_density(&data, &spec, &settings, Some(&z)).unwrap();
        assert!(lp.is_finite());
        for i in 0..z.len() {
            // Fourth-order central difference: (−f(+2h) + 8f(+h) − 8f(−h) + f(−2h)) / 12h.
            let h = 1e-3;
            let f = |step: f64| {
                let mut at = z.clone();
                at[i] += step;
                bayes::log_density(&data, &spec, &settings, Some(&at))
                    .unwrap()
                    .0
            };
            let fd = (-f(2.0 * h) + 8.0 * f(h) - 8.0 * f(-h) + f(-2.0 * h)) / (12.0 * h);
            let rel = (fd - g[i]).abs() / g[i].abs().max(1.0);
            worst = worst.max(rel);
            assert!(
                rel < 1e-6,
                "component {i}: analytic {} vs central {fd}",
                g[i]
            );
        }
    }
    eprintln!("largest relative gradient error: {worst:.2e}");
}

fn normals(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    // Box–Muller.
    (0..n)
        .map(|_| {
            let u: f64 = rng.random::<f64>().max(1e-300);
            let v: f64 = rng.random();
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        })
        .collect()
}

#[test]
fn diagnostics_on_chains_with_known_answers() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // Independent normal draws: R-hat ≈ 1, ESS ≈ the number of draws.
    let iid: Vec<Vec<f64>> = (0..4).map(|_| normals(&mut rng, 1000)).collect();
    let (r, bulk, tail) = (
        diagnostics::rhat(&iid),
        diagnostics::ess_bulk(&iid),
        diagnostics::ess_tail(&iid),
    );
    eprintln!("iid: R-hat {r:.4}, bulk ESS {bulk:.0}, tail ESS {tail:.0}");
    assert!(r < 1.01, "{r}");
    assert!((3200.0..4800.0).contains(&bulk), "{bulk}");
    assert!((2800.0..5200.0).contains(&tail), "{tail}");
    // AR(1) with rho 0.9: ESS ≈ N (1 − rho) / (1 + rho) = 4000 / 19 ≈ 211.
    let ar: Vec<Vec<f64>> = (0..4)
        .map(|_| {
            let e = normals(&mut rng, 1000);
            let mut x = 0.0;
            e.iter()
                .map(|e| {
                    x = 0.9 * x + (1.0f64 - 0.81).sqrt() * e;
                    x
                })
                .collect()
        })
        .collect();
    let ess_ar = diagnostics::ess_bulk(&ar);
    eprintln!(
        "AR(1) 0.9: bulk ESS {ess_ar:.0} (theory 211), R-hat {:.4}",
        diagnostics::rhat(&ar)
    );
    assert!((140.0..300.0).contains(&ess_ar), "{ess_ar}");
    // A chain stuck elsewhere: R-hat far above 1.
    let mut stuck = iid.clone();
    stuck[3] = stuck[3].iter().map(|x| 0.1 * x + 3.0).collect();
    let r_stuck = diagnostics::rhat(&stuck);
    eprintln!("one chain stuck at 3: R-hat {r_stuck:.2}");
    assert!(r_stuck > 1.3, "{r_stuck}");
    // Same location, different scale: the folded R-hat catches it.
    let mut wide = iid.clone();
    wide[0] = wide[0].iter().map(|x| 5.0 * x).collect();
    assert!(diagnostics::rhat(&wide) > 1.05);
    // A trend within chains (non-stationary): split R-hat sees it.
    let trend: Vec<Vec<f64>> = iid
        .iter()
        .map(|c| {
            c.iter()
                .enumerate()
                .map(|(i, x)| x + i as f64 / 200.0)
                .collect()
        })
        .collect();
    assert!(diagnostics::rhat(&trend) > 1.1);
    // BFMI: independent energies ≈ 2; a slow random walk ≪ 0.3.
    let e = normals(&mut rng, 2000);
    let b = diagnostics::bfmi(&e);
    assert!((1.8..2.2).contains(&b), "{b}");
    let mut walk = 0.0;
    let slow: Vec<f64> = e
        .iter()
        .map(|x| {
            walk += 0.1 * x;
            walk
        })
        .collect();
    assert!(diagnostics::bfmi(&slow) < 0.3);
}

#[test]
fn bad_input_gives_clear_errors() {
    let (mut data, spec) = small_world(2);
    let quick = BayesSettings {
        chains: 1,
        draws: 20,
        tune: 20,
        ..BayesSettings::default()
    };
    let zero = BayesSettings {
        draws: 0,
        ..quick.clone()
    };
    let e = bayes::fit(&data, &spec, &zero, |_, _| {}).unwrap_err();
    assert!(e.contains("--draws"), "{e}");
    let e = bayes::fit(
        &data,
        &spec,
        &BayesSettings {
            chains: 0,
            ..quick.clone()
        },
        |_, _| {},
    )
    .unwrap_err();
    assert!(e.contains("--chains"), "{e}");
    let mut weibull = spec.clone();
    weibull.channels[0].adstock = AdstockKind::WeibullPdf;
    let e = bayes::fit(&data, &weibull, &quick, |_, _| {}).unwrap_err();
    assert!(e.contains("geometric"), "{e}");
    let mut unknown = quick.clone();
    unknown
        .priors
        .insert("tv".into(), ChannelPrior::Coefficient { sigma: 1.0 });
    let e = bayes::fit(&data, &spec, &unknown, |_, _| {}).unwrap_err();
    assert!(e.contains("tv"), "{e}");
    let mut bad_prior = quick.clone();
    bad_prior.priors.insert(
        "a".into(),
        ChannelPrior::Roi {
            mu: 0.0,
            sigma: -1.0,
        },
    );
    let e = bayes::fit(&data, &spec, &bad_prior, |_, _| {}).unwrap_err();
    assert!(e.contains("ROI prior"), "{e}");
    let mut late = data.clone();
    late.spend[2][30..].iter_mut().for_each(|v| *v = 0.0);
    let windowed = ModelSpec {
        history: 30,
        calibration: vec![],
        ..spec.clone()
    };
    let e = bayes::fit(&late, &windowed, &quick, |_, _| {}).unwrap_err();
    assert!(e.contains("modelling window"), "{e}");
    data.spend[1].iter_mut().for_each(|v| *v = 0.0);
    let e = bayes::fit(&data, &spec, &quick, |_, _| {}).unwrap_err();
    assert!(e.contains("no spend"), "{e}");
}

/// The bar: 4 chains × 1000 draws after 1000 tuning; 90 % credible intervals of
/// x1's and x2's ROAS contain the truth, posterior means within 10 %, R-hat < 1.01 and
/// no divergences.
#[test]
fn pymc_marketing_example_roas_is_recovered_and_the_chains_converge() {
    let Some(data) = load() else { return };
    let truth = [
        true_roas(&data.spend[0], 0.4, 4.0, 3000.0),
        true_roas(&data.spend[1], 0.2, 3.0, 2000.0),
    ];
    let started = std::time::Instant::now();
    let fit = bayes::fit(&data, &spec(), &BayesSettings::default(), |_, _| {}).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let b = &fit.bayes;
    for p in &b.parameters {
        eprintln!(
            "{:>10}: mean {:>10.4} sd {:>9.4} [{:>10.4}, {:>10.4}] R-hat {:.4} ESS bulk {:>5.0} tail {:>5.0}",
            p.name, p.mean, p.sd, p.lower, p.upper, p.rhat, p.ess_bulk, p.ess_tail
        );
    }
    eprintln!(
        "{seconds:.2} s in all, sampling {:.2} s; {} gradients; divergences {}; BFMI {:?}; step sizes {:?}; max R-hat {:.4}; min ESS bulk {:.0}, tail {:.0}; warnings {:?}",
        b.seconds,
        b.gradients,
        b.divergences,
        b.bfmi,
        b.step_size,
        b.max_rhat,
        b.min_ess_bulk,
        b.min_ess_tail,
        b.warnings
    );
    for (c, t) in fit.result.channels.iter().zip(truth) {
        eprintln!(
            "{}: ROAS {:.1} [{:.1}, {:.1}] truth {t:.1} ({:+.1} %); mROAS {:.1}",
            c.name,
            c.roas.value,
            c.roas.lower,
            c.roas.upper,
            (c.roas.value / t - 1.0) * 100.0,
            c.mroas.value
        );
        assert!((c.roas.value - t).abs() <= 0.10 * t, "{}: mean off", c.name);
        assert!(
            c.roas.lower <= t && t <= c.roas.upper,
            "{}: truth outside the interval",
            c.name
        );
    }
    assert!(b.max_rhat < 1.01, "R-hat {}", b.max_rhat);
    assert_eq!(b.divergences, 0);
    assert!(b.bfmi.iter().all(|v| *v > 0.3));
    assert!(fit.result.diagnostics.train.r2 > 0.9);
    assert_eq!(fit.roas_draws[0].len(), 4000);
    // Same seed, same draws: chains are seeded, threads do not matter.
    let again = bayes::fit(
        &data,
        &spec(),
        &BayesSettings {
            threads: 1,
            draws: 100,
            tune: 200,
            ..BayesSettings::default()
        },
        |_, _| {},
    )
    .unwrap();
    let again2 = bayes::fit(
        &data,
        &spec(),
        &BayesSettings {
            threads: 4,
            draws: 100,
            tune: 200,
            ..BayesSettings::default()
        },
        |_, _| {},
    )
    .unwrap();
    assert_eq!(again.roas_draws, again2.roas_draws);
}

/// A lift test that measured 30 % more than the truth pulls x1's ROAS up; an honest
/// one keeps it near the truth and is predicted near its measurement.
#[test]
fn lift_tests_move_the_posterior() {
    let Some(data) = load() else { return };
    let effect = |s: &[f64]| {
        let a = Adstock::Geometric {
            alpha: 0.4,
            l_max: 8,
            normalize: true,
        }
        .apply(s);
        a.iter()
            .map(|v| 3000.0 * Saturation::Logistic { lambda: 4.0 }.apply(*v))
            .sum::<f64>()
    };
    let true_lift = |first: usize, last: usize| {
        let mut without = data.spend[0].clone();
        without[first..=last].iter_mut().for_each(|v| *v = 0.0);
        effect(&data.spend[0]) - effect(&without)
    };
    let test = |first: usize, scale: f64| {
        let lift = scale * true_lift(first, first + 7);
        LiftTest {
            channel: "x1".into(),
            first,
            last: first + 7,
            label: format!("weeks {first}+"),
            lift,
            lower: Some(lift * 0.9),
            upper: Some(lift * 1.1),
        }
    };
    let settings = BayesSettings {
        chains: 2,
        draws: 400,
        tune: 400,
        ..BayesSettings::default()
    };
    let plain = bayes::fit(&data, &spec(), &settings, |_, _| {}).unwrap();
    let high = ModelSpec {
        calibration: vec![test(60, 1.3), test(140, 1.3)],
        ..spec()
    };
    let r_high = bayes::fit(&data, &high, &settings, |_, _| {}).unwrap();
    let honest = ModelSpec {
        calibration: vec![test(60, 1.0), test(140, 1.0)],
        ..spec()
    };
    let r = bayes::fit(&data, &honest, &settings, |_, _| {}).unwrap();
    for t in &r.result.diagnostics.lift_tests {
        eprintln!(
            "{}: measured {:.0}, predicted {:.0}",
            t.label, t.measured, t.predicted
        );
        assert!((t.predicted / t.measured - 1.0).abs() < 0.1);
    }
    eprintln!(
        "x1 ROAS: plain {:.0}, honest tests {:.0}, tests 30 % high {:.0}",
        plain.result.channels[0].roas.value,
        r.result.channels[0].roas.value,
        r_high.result.channels[0].roas.value
    );
    assert!(r_high.result.channels[0].roas.value > plain.result.channels[0].roas.value * 1.05);
}

/// Meridian's ROI prior acts on ROI itself: a tight prior far from the data's answer
/// pulls x1's posterior ROAS to it (log-scale precisions 10,000 against the data's
/// ~280 put the compromise near 6,940), a loose one leaves the data in charge.
#[test]
fn roi_prior_is_a_prior_on_roas() {
    let Some(data) = load() else { return };
    let run = |mu: f64, sigma: f64| {
        // The diagonal mass matrix here, the low-rank default elsewhere.
        let mut settings = BayesSettings {
            chains: 2,
            draws: 300,
            tune: 300,
            mass_matrix: MassMatrix::Diagonal,
            ..BayesSettings::default()
        };
        settings
            .priors
            .insert("x1".into(), ChannelPrior::Roi { mu, sigma });
        let fit = bayes::fit(&data, &spec(), &settings, |_, _| {}).unwrap();
        fit.result.channels[0].roas
    };
    let tight = run(7000f64.ln(), 0.01);
    let loose = run(3000f64.ln(), 2.0);
    eprintln!(
        "x1 ROAS with LogNormal(ln 7000, 0.01): {tight:?}; with LogNormal(ln 3000, 2): {loose:?}"
    );
    assert!((tight.value / 7000.0 - 1.0).abs() < 0.03, "{tight:?}");
    assert!((loose.value / 4967.8 - 1.0).abs() < 0.1, "{loose:?}");
}
