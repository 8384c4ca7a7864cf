//! Simulated customers with known truth: the fits recover the parameters that generated
//! them, and the predictions rank customers by what they really are. The ten-million
//! customer benchmark is `#[ignore]`d (run it in release, see below).

mod support;

use adroit_clv::{BgNbd, ClvOptions, GammaGamma, Parameters, PurchaseModel, Rfm, Spend, predict};
use std::time::Instant;
use support::*;

/// The CDNOW estimates (Fader, Hardie & Lee 2005) and the Gamma-Gamma ones (FHL 2005b).
const TRUTH: [f64; 4] = [0.243, 4.414, 0.793, 2.426];
const SPEND: [f64; 3] = [6.25, 3.74, 15.44];

#[test]
fn fits_recover_the_simulated_parameters() {
    let s = simulate(200_000, TRUTH, SPEND, 7);
    let data = Rfm::new(&s.x, &s.t_x, &s.age).unwrap();
    let fit = BgNbd::fit(&data).unwrap();
    assert!(fit.converged);
    let se = fit.standard_errors.unwrap().values();
    println!("BG/NBD on 200,000 simulated customers (truth {TRUTH:?}):");
    for (k, name) in BgNbd::NAMES.iter().enumerate() {
        let (est, truth) = (fit.model.values()[k], TRUTH[k]);
        println!(
            "  {name:>5} {est:.4} ± {:.4}  (truth {truth}, z = {:+.2})",
            se[k],
            (est - truth) / se[k]
        );
        // Within four standard errors: the estimate is consistent and the standard errors
        // are not too small.
        assert!((est - truth).abs() < 4.0 * se[k], "{name}");
    }

    let spend_data = Spend::new(&s.x, &s.monetary).unwrap();
    let gg = GammaGamma::fit(&spend_data).unwrap();
    let se = gg.standard_errors.unwrap().values();
    println!(
        "Gamma-Gamma on the {} repeat buyers (truth {SPEND:?}):",
        gg.observations
    );
    for (k, name) in GammaGamma::NAMES.iter().enumerate() {
        let (est, truth) = (gg.model.values()[k], SPEND[k]);
        println!(
            "  {name:>5} {est:.3} ± {:.3}  (truth {truth}, z = {:+.2})",
            se[k],
            (est - truth) / se[k]
        );
        assert!((est - truth).abs() < 4.0 * se[k], "{name}");
    }

    // Individual recovery: P(alive) separates the alive from the dead, and the expected
    // spend tracks each buyer's true mean spend.
    let alive = fit.model.probability_alive_all(&data);
    let (mut on, mut off, mut n_on, mut n_off) = (0.0, 0.0, 0.0, 0.0);
    for (p, a) in alive.iter().zip(&s.alive) {
        if *a {
            on += p;
            n_on += 1.0;
        } else {
            off += p;
            n_off += 1.0;
        }
    }
    let (mean_alive, mean_dead) = (on / n_on, off / n_off);
    let buyers: Vec<usize> = (0..s.x.len()).filter(|&i| s.x[i] >= 2.0).collect();
    let predicted: Vec<f64> = buyers
        .iter()
        .map(|&i| gg.model.conditional_expected_spend(s.x[i], s.monetary[i]))
        .collect();
    let truth: Vec<f64> = buyers.iter().map(|&i| s.mean_spend[i]).collect();
    let r = correlation(&predicted, &truth);
    println!(
        "mean P(alive): truly alive {mean_alive:.3}, truly dead {mean_dead:.3}; corr(expected spend, true mean \
         spend) over {} customers with x ≥ 2: {r:.3}",
        buyers.len()
    );
    assert!(mean_alive > mean_dead + 0.25);
    assert!(r > 0.6);
}

/// The benchmark of issue 8: BG/NBD fit and predictions on ten million simulated
/// customers. Run with
/// `cargo test --release -p adroit-clv --test simulated -- --ignored --nocapture`;
/// benches/clv_peers.py times lifetimes on the same kind of data.
#[test]
#[ignore]
fn ten_million_customers() {
    let n = 10_000_000;
    let started = Instant::now();
    let s = simulate(n, TRUTH, SPEND, 11);
    println!(
        "simulated {n} customers in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let data = Rfm::new(&s.x, &s.t_x, &s.age).unwrap();

    let t0 = Instant::now();
    let fit = BgNbd::fit(&data).unwrap();
    let fit_s = t0.elapsed().as_secs_f64();
    println!(
        "BG/NBD fit: {:.2} s, {} iterations, {:?} ± {:?}",
        fit_s, fit.iterations, fit.model, fit.standard_errors
    );
    assert!(fit.converged);

    let t1 = Instant::now();
    let alive = fit.model.probability_alive_all(&data);
    let buys = fit.model.expected_purchases_all(39.0, &data);
    let predict_s = t1.elapsed().as_secs_f64();
    println!("P(alive) + E[purchases in 39 weeks]: {predict_s:.2} s");
    let peak_fit = peak_rss_mb().unwrap_or(f64::NAN);

    let t2 = Instant::now();
    let gg = GammaGamma::fit(&Spend::new(&s.x, &s.monetary).unwrap()).unwrap();
    let options = ClvOptions {
        periods: 12,
        period_length: 4.345,
        discount_rate: 0.01,
        margin: 1.0,
    };
    let all = predict(&fit.model, &gg.model, &data, &s.monetary, &options).unwrap();
    let clv_s = t2.elapsed().as_secs_f64();
    println!(
        "Gamma-Gamma fit + 12-month CLV (12 horizons each): {clv_s:.2} s; peak memory now {:.0} MB",
        peak_rss_mb().unwrap_or(f64::NAN)
    );

    let total = fit_s + predict_s;
    println!(
        "fit + P(alive) + E[purchases]: {total:.2} s = {:.3} µs per customer; peak memory {peak_fit:.0} MB \
         (the simulated columns included)",
        total * 1e6 / n as f64,
    );
    let se = fit.standard_errors.unwrap().values();
    for k in 0..4 {
        assert!((fit.model.values()[k] - TRUTH[k]).abs() < 5.0 * se[k]);
    }
    assert!(
        alive
            .iter()
            .chain(&buys)
            .chain(&all.clv)
            .all(|v| v.is_finite())
    );
}
