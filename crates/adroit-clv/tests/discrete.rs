//! Discrete-time models: BG/BB on the donations patterns (Fader, Hardie & Shang 2010)
//! against the paper and lifetimes 0.11.3, and sBG on the renewal table of Fader & Hardie
//! (2007) against the paper's estimates and its held-out years.

mod support;

use adroit_clv::{BgBb, Discrete, Parameters, Sbg};
use support::*;

#[test]
fn bgbb_equals_the_published_estimates_and_lifetimes() {
    let t = numeric_csv("donations_bgbb.csv");
    let (x, t_x, n, w) = (
        column(&t, "frequency"),
        column(&t, "recency"),
        column(&t, "periods"),
        column(&t, "weights"),
    );
    let data = Discrete::new(&x, &t_x, &n)
        .unwrap()
        .with_weights(&w)
        .unwrap();
    assert_eq!(data.total_weight(), 11_104.0);
    let fit = BgBb::fit(&data).unwrap();
    let m = fit.model;
    println!(
        "BG/BB on donations: {m:?}, LL {:.3}, SE {:?}",
        fit.log_likelihood, fit.standard_errors
    );
    assert!(fit.converged);
    // Fader, Hardie & Shang (2010): α = 1.204, β = 0.750, γ = 0.657, δ = 2.783,
    // LL = −33,225.6, each as printed.
    as_printed("alpha", m.alpha, 1.204, 3);
    as_printed("beta", m.beta, 0.750, 3);
    as_printed("gamma", m.gamma, 0.657, 3);
    as_printed("delta", m.delta, 2.783, 3);
    as_printed("LL", fit.log_likelihood, -33_225.6, 1);
    // lifetimes: the same estimates and standard errors to three significant digits.
    let reference = reference();
    let lt = &reference["bgbb"];
    let se = fit.standard_errors.unwrap().values();
    for (k, name) in BgBb::NAMES.iter().enumerate() {
        three_digits(name, m.values()[k], num(&lt["params"][name]));
        three_digits(
            &format!("se({name})"),
            se[k],
            num(&lt["standard_errors"][name]),
        );
    }
    // Predictions per pattern: at lifetimes' parameters to rounding (lifetimes adds 1e-15
    // inside its likelihood), at ours to 1e-3.
    let theirs = BgBb::from_values(
        &BgBb::NAMES
            .iter()
            .map(|n| num(&lt["params"][n]))
            .collect::<Vec<_>>(),
    );
    let alive = nums(&lt["predictions"]["probability_alive_next"]);
    let buys = nums(&lt["predictions"]["expected_purchases_5"]);
    for i in 0..x.len() {
        close(
            "P(alive next)",
            theirs.probability_alive(1.0, x[i], t_x[i], n[i]),
            alive[i],
            1e-9,
        );
        close(
            "E[X(n, n+5)]",
            theirs.expected_purchases(5.0, x[i], t_x[i], n[i]),
            buys[i],
            1e-9,
        );
        close(
            "fitted P(alive next)",
            m.probability_alive(1.0, x[i], t_x[i], n[i]),
            alive[i],
            1e-3,
        );
        close(
            "fitted E[X(n, n+5)]",
            m.expected_purchases(5.0, x[i], t_x[i], n[i]),
            buys[i],
            1e-3,
        );
    }
    // The expected repeat transactions of a new donor over the 6 years, times the cohort,
    // is the observed total (the model fits the aggregate).
    let observed: f64 = (0..x.len()).map(|i| w[i] * x[i]).sum();
    let expected = 11_104.0 * m.expected_purchases_new(6.0);
    assert!(
        (expected - observed).abs() / observed < 0.01,
        "{expected} vs {observed}"
    );
    assert!((m.survival(0.0) - 1.0).abs() < 1e-15 && m.survival(6.0) < m.survival(5.0));
}

#[test]
fn sbg_equals_the_published_estimates_and_projects_the_held_out_years() {
    let t = numeric_csv("sbg_retention_fader_hardie_2007.csv");
    // Fader & Hardie (2007) fit years 0–7 and project 8–12.
    for (cohort, alpha, beta) in [
        ("regular_alive", 0.704, 1.182),
        ("highend_alive", 0.668, 3.806),
    ] {
        let all = column(&t, cohort);
        let fit = Sbg::fit(&all[..8]).unwrap();
        let m = fit.model;
        println!(
            "sBG {cohort}: {m:?}, LL {:.3}, SE {:?}",
            fit.log_likelihood, fit.standard_errors
        );
        assert!(fit.converged);
        as_printed("alpha", m.alpha, alpha, 3);
        as_printed("beta", m.beta, beta, 3);
        let projected = m.project(all[0], 12);
        for year in 8..=12 {
            let err = (projected[year] - all[year]) / all[year];
            println!(
                "  year {year}: actual {}, projected {:.1} ({:+.1}%)",
                all[year],
                projected[year],
                100.0 * err
            );
            // The paper's Figure 3: the projection stays within a few percent.
            assert!(err.abs() < 0.06, "{cohort} year {year}");
        }
        // Retention rises with tenure: the heterogeneity the model exists for.
        assert!(
            m.retention_rate(2) > m.retention_rate(1) && m.retention_rate(12) > m.retention_rate(2)
        );
        let churn: f64 = (1..=2000).map(|t| m.churn_probability(t)).sum();
        assert!((churn + m.survival(2000) - 1.0).abs() < 1e-9);
    }
}
