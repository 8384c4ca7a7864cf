//! Known answer: PyMC-Marketing's example data was generated with geometric adstock
//! (alpha 0.4 / 0.2, l_max 8, normalised) and logistic saturation (lambda 4 / 3); see
//! ../shared/data/mmm/PROVENANCE.md. Rebuilding y from those components must leave
//! only the stated noise, eps ~ N(0, 0.25).

use adroit_effects::{Adstock, Saturation};

struct Data {
    y: Vec<f64>,
    x1: Vec<f64>,
    x2: Vec<f64>,
    e1: Vec<f64>,
    e2: Vec<f64>,
    dayofyear: Vec<f64>,
}

fn read() -> Data {
    // The manifest folder is read at run time: a shared build cache may reuse this binary
    // from another checkout, whose compile-time path would point there.
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let path = format!("{dir}/../../../shared/data/mmm/pymc_marketing_mmm_example.csv");
    let mut r = csv::Reader::from_path(&path).expect("shared data (../shared/data) is needed");
    let mut d = Data {
        y: vec![],
        x1: vec![],
        x2: vec![],
        e1: vec![],
        e2: vec![],
        dayofyear: vec![],
    };
    for rec in r.records() {
        let rec = rec.unwrap();
        let f = |i: usize| rec[i].parse::<f64>().unwrap();
        d.y.push(f(1));
        d.x1.push(f(2));
        d.x2.push(f(3));
        d.e1.push(f(4));
        d.e2.push(f(5));
        d.dayofyear.push(f(6));
    }
    d
}

/// Mean and standard deviation of y/1000 minus the deterministic part.
fn residuals(d: &Data, alpha1: f64, lambda1: f64) -> (f64, f64) {
    let n = d.y.len();
    let geo = |alpha| Adstock::Geometric {
        alpha,
        l_max: 8,
        normalize: true,
    };
    let sat1: Vec<f64> = geo(alpha1)
        .apply(&d.x1)
        .iter()
        .map(|a| Saturation::Logistic { lambda: lambda1 }.apply(*a))
        .collect();
    let sat2: Vec<f64> = geo(0.2)
        .apply(&d.x2)
        .iter()
        .map(|a| Saturation::Logistic { lambda: 3.0 }.apply(*a))
        .collect();
    let r: Vec<f64> = (0..n)
        .map(|t| {
            let trend = (50.0 * t as f64 / (n - 1) as f64 + 10.0).powf(0.25) - 1.0;
            let w = 2.0 * std::f64::consts::PI * d.dayofyear[t] / 365.5;
            let season = 0.5 * (-(2.0 * w).sin() + w.cos());
            let det = 2.0
                + trend
                + season
                + 1.5 * d.e1[t]
                + 2.5 * d.e2[t]
                + 3.0 * sat1[t]
                + 2.0 * sat2[t];
            d.y[t] / 1000.0 - det
        })
        .collect();
    let mean = r.iter().sum::<f64>() / n as f64;
    let sd = (r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    (mean, sd)
}

#[test]
fn the_true_components_leave_only_the_stated_noise() {
    let d = read();
    assert_eq!(d.y.len(), 179);
    let (mean, sd) = residuals(&d, 0.4, 4.0);
    // 179 draws of N(0, 0.25): the mean is within 3 standard errors (3 × 0.019) of 0 and
    // the sample sd within 3 of its standard errors (3 × 0.013) of 0.25.
    assert!(mean.abs() < 0.057, "mean {mean}");
    assert!((sd - 0.25).abs() < 0.04, "sd {sd}");
    // Wrong components leave a visibly larger residual: the check can fail.
    let (_, sd_wrong_alpha) = residuals(&d, 0.8, 4.0);
    let (_, sd_wrong_lambda) = residuals(&d, 0.4, 1.0);
    assert!(
        sd_wrong_alpha > sd + 0.02 && sd_wrong_lambda > sd + 0.02,
        "{sd_wrong_alpha} {sd_wrong_lambda} vs {sd}"
    );
}
