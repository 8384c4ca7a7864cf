//! PyMC-Marketing's MMM example, whose generating process is known exactly
//! (`../shared/data/mmm/PROVENANCE.md`): geometric adstock (normalised, l_max 8,
//! alpha 0.4 / 0.2), logistic saturation (lambda 4 / 3), coefficients 3000 / 2000 in
//! KPI units, a concave trend, two-term yearly seasonality, two events and N(0, 250)
//! noise. The bar: true ROAS of x1 and x2 inside the reported intervals and
//! point estimates within 15 %.

mod common;

use adroit_effects::{Adstock, Saturation};
use adroit_mmm::{FitSettings, ModelSpec};
use common::pymc::{load, spec, true_roas};

#[test]
fn roas_of_both_channels_is_recovered_with_intervals_covering_the_truth() {
    let Some(data) = load() else { return };
    let truth = [
        true_roas(&data.spend[0], 0.4, 4.0, 3000.0),
        true_roas(&data.spend[1], 0.2, 3.0, 2000.0),
    ];
    // Robyn's budget (2000 candidates × 5 trials) on five seeds: every run must pass,
    // and the seed-to-seed spread of ROAS is printed (reported in the issue notes).
    let mut spread = [(f64::INFINITY, f64::NEG_INFINITY); 2];
    for seed in 0..5 {
        let settings = FitSettings {
            seed,
            ..FitSettings::default()
        };
        let result = adroit_mmm::fit(&data, &spec(), &settings, |_, _| {}).unwrap();
        for (j, (c, t)) in result.channels.iter().zip(truth).enumerate() {
            eprintln!(
                "seed {seed} {}: ROAS {:.1} [{:.1}, {:.1}] truth {:.1}; mROAS {:.1}; params {:?}",
                c.name, c.roas.value, c.roas.lower, c.roas.upper, t, c.mroas.value, c.params
            );
            spread[j] = (spread[j].0.min(c.roas.value), spread[j].1.max(c.roas.value));
        }
        check(&result, truth);
    }
    for (j, (lo, hi)) in spread.iter().enumerate() {
        eprintln!(
            "x{}: ROAS over seeds {lo:.1}–{hi:.1} ({:.1} % of truth)",
            j + 1,
            (hi - lo) / truth[j] * 100.0
        );
        assert!(
            hi - lo <= 0.05 * truth[j],
            "seeds disagree by more than 5 % of the truth"
        );
    }
}

fn check(result: &adroit_mmm::MmmResult, truth: [f64; 2]) {
    for (c, t) in result.channels.iter().zip(truth) {
        assert!(
            (c.roas.value - t).abs() <= 0.15 * t,
            "{}: ROAS {} vs truth {t}",
            c.name,
            c.roas.value
        );
        assert!(
            c.roas.lower <= t && t <= c.roas.upper,
            "{}: truth {t} outside [{}, {}]",
            c.name,
            c.roas.lower,
            c.roas.upper
        );
    }
    assert!(result.diagnostics.train.r2 > 0.9);
}

/// The true incremental KPI of x1's spend in periods `first..=last`, carry-over
/// included: the generating process with and without that spend.
fn true_lift(spend: &[f64], first: usize, last: usize) -> f64 {
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
    let mut without = spend.to_vec();
    without[first..=last].iter_mut().for_each(|v| *v = 0.0);
    effect(spend) - effect(&without)
}

#[test]
fn lift_tests_steer_the_choice_toward_the_measured_effect() {
    let Some(data) = load() else { return };
    let settings = FitSettings {
        trials: 3,
        ..FitSettings::default()
    };
    let plain = adroit_mmm::fit(&data, &spec(), &settings, |_, _| {}).unwrap();
    let lift = |first: usize, scale: f64| adroit_mmm::spec::LiftTest {
        channel: "x1".into(),
        first,
        last: first + 7,
        label: format!("weeks {first}-{}", first + 7),
        lift: scale * true_lift(&data.spend[0], first, first + 7),
        lower: None,
        upper: None,
    };
    // Two honest tests: the chosen model must predict them within 10 % and keep both
    // ROAS within the 15 %.
    let honest = ModelSpec {
        calibration: vec![lift(60, 1.0), lift(140, 1.0)],
        ..spec()
    };
    let r = adroit_mmm::fit(&data, &honest, &settings, |_, _| {}).unwrap();
    for t in &r.diagnostics.lift_tests {
        eprintln!(
            "{}: measured {:.0}, predicted {:.0}",
            t.label, t.measured, t.predicted
        );
        assert!((t.predicted / t.measured - 1.0).abs() < 0.10, "{t:?}");
    }
    let truth = [
        true_roas(&data.spend[0], 0.4, 4.0, 3000.0),
        true_roas(&data.spend[1], 0.2, 3.0, 2000.0),
    ];
    check(&r, truth);
    assert!(
        r.search.reason.contains("lift-test error"),
        "{}",
        r.search.reason
    );
    // Tests that measured 30 % more than the truth pull x1's ROAS up against the
    // uncalibrated fit: the calibration is used, not just reported.
    let high = ModelSpec {
        calibration: vec![lift(60, 1.3), lift(140, 1.3)],
        ..spec()
    };
    let r_high = adroit_mmm::fit(&data, &high, &settings, |_, _| {}).unwrap();
    eprintln!(
        "x1 ROAS: plain {:.0}, honest tests {:.0}, tests 30 % high {:.0}",
        plain.channels[0].roas.value, r.channels[0].roas.value, r_high.channels[0].roas.value
    );
    assert!(r_high.channels[0].roas.value > plain.channels[0].roas.value * 1.05);
}
