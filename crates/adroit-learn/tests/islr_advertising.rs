//! Known answer: ISLR (James, Witten, Hastie, Tibshirani), chapter 3, fits
//! `Sales ~ TV + Radio + Newspaper` on the Advertising data and prints (Tables 3.4, 3.6):
//! coefficients 2.939, 0.046, 0.189, −0.001; standard errors 0.3119, 0.0014, 0.0086,
//! 0.0059; t 9.42, 32.81, 21.89, −0.18; newspaper p 0.8599; RSE 1.69; R² 0.897; F 570.
//! Tolerance: half a unit in the last printed digit.

use adroit_learn::ols;

fn column(records: &[csv::StringRecord], i: usize) -> Vec<f64> {
    records.iter().map(|r| r[i].parse().unwrap()).collect()
}

#[test]
fn advertising_matches_the_published_table() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let path = format!("{manifest}/../../../shared/data/regression/Advertising.csv");
    let records: Vec<csv::StringRecord> = csv::Reader::from_path(&path)
        .expect("shared data is needed")
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(records.len(), 200);
    let (tv, radio, newspaper, sales) = (
        column(&records, 1),
        column(&records, 2),
        column(&records, 3),
        column(&records, 4),
    );
    let fit = ols::fit(
        &sales,
        &[("TV", &tv), ("Radio", &radio), ("Newspaper", &newspaper)],
    )
    .unwrap();
    let near = |got: f64, printed: f64, decimals: i32| {
        (got - printed).abs() <= 0.5 * 10f64.powi(-decimals) + 1e-12
    };
    let want = [
        (2.939, 0.3119, 9.42),
        (0.046, 0.0014, 32.81),
        (0.189, 0.0086, 21.89),
        (-0.001, 0.0059, -0.18),
    ];
    for (c, (b, se, t)) in fit.coefficients.iter().zip(want) {
        assert!(near(c.estimate, b, 3), "{} estimate {}", c.name, c.estimate);
        assert!(near(c.std_error, se, 4), "{} se {}", c.name, c.std_error);
        assert!(near(c.t, t, 2), "{} t {}", c.name, c.t);
        assert!(c.ci_low < c.estimate && c.estimate < c.ci_high);
    }
    assert!(
        near(fit.coefficients[3].p_value, 0.8599, 4),
        "newspaper p {}",
        fit.coefficients[3].p_value
    );
    assert!(near(fit.sigma, 1.69, 2), "RSE {}", fit.sigma);
    assert!(near(fit.r_squared, 0.897, 3), "R² {}", fit.r_squared);
    assert!(
        (fit.f_statistic - 570.0).abs() <= 0.5,
        "F {}",
        fit.f_statistic
    );
    assert!(fit.f_p_value < 1e-90);
    assert_eq!(fit.df_residual, 196);
    // The budgets are barely correlated: no collinearity warning.
    assert!(fit.collinearity_warnings().is_empty(), "{:?}", fit.vif);
    assert!(
        fit.vif.iter().all(|(_, v)| *v > 1.0 && *v < 1.2),
        "{:?}",
        fit.vif
    );
}
