//! Federated fits on real data split across three sites equal the centralised fits, and
//! differentially private statistics trade accuracy for privacy as they should.

use adroit_learn::data::Matrix;
use adroit_learn::federated::{
    GramStats, LogisticState, combine_logistic, combine_ridge, logistic_site,
};
use adroit_learn::linear::{logistic, ridge};
use rand::{Rng, SeedableRng};

/// Numeric columns and a target of a shared CSV, or None when ../shared is absent.
fn read(
    file: &str,
    features: &[&str],
    target: &str,
    positive: Option<&str>,
) -> Option<(Vec<Vec<f64>>, Vec<f64>)> {
    let path = format!("{}/../../../shared/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut reader = csv::Reader::from_path(&path).ok()?;
    let header = reader.headers().unwrap().clone();
    let index = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let (cols, t): (Vec<usize>, usize) =
        (features.iter().map(|f| index(f)).collect(), index(target));
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for row in reader.records() {
        let row = row.unwrap();
        x.push(
            cols.iter()
                .map(|&c| row[c].parse::<f64>().unwrap())
                .collect(),
        );
        y.push(match positive {
            Some(p) => f64::from(u8::from(&row[t] == p)),
            None => row[t].parse().unwrap(),
        });
    }
    Some((x, y))
}

/// Three sites of unequal size: rows 0..a, a..b, b..n.
fn split(n: usize) -> [std::ops::Range<usize>; 3] {
    let (a, b) = (n / 5, n / 2 + 7);
    [0..a, a..b, b..n]
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: federated {a} vs centralised {b}"
    );
}

#[test]
fn ridge_and_least_squares_on_advertising_equal_the_centralised_fit() {
    let Some((x, y)) = read(
        "regression/Advertising.csv",
        &["TV", "Radio", "Newspaper"],
        "Sales",
        None,
    ) else {
        eprintln!("skipped: ../shared/data is missing");
        return;
    };
    for alpha in [0.0, 1.0, 250.0] {
        let whole = ridge(&Matrix::from_rows(&x), &y, alpha).unwrap();
        let sites: Vec<GramStats> = split(x.len())
            .into_iter()
            .map(|r| GramStats::from_rows(&Matrix::from_rows(&x[r.clone()]), &y[r]).unwrap())
            .collect();
        let pooled = combine_ridge(&sites, alpha).unwrap();
        close(pooled.intercept, whole.intercept, "intercept");
        for (j, (a, b)) in pooled.weights.iter().zip(&whole.weights).enumerate() {
            close(*a, *b, &format!("alpha {alpha} weight {j}"));
        }
        if alpha == 0.0 {
            // The textbook OLS fit of sales on TV, radio and newspaper (ISLR, table 3.4).
            assert!((pooled.intercept - 2.939).abs() < 5e-4);
            assert!((pooled.weights[0] - 0.0458).abs() < 5e-5);
            assert!((pooled.weights[1] - 0.1885).abs() < 5e-5);
            assert!((pooled.weights[2] + 0.0010).abs() < 5e-5);
        }
    }
}

#[test]
fn logistic_on_bank_marketing_equals_the_centralised_fit() {
    let features = [
        "age", "balance", "day", "duration", "campaign", "pdays", "previous",
    ];
    let Some((x, y)) = read("classification/bank-full.csv", &features, "y", Some("yes")) else {
        eprintln!("skipped: ../shared/data is missing");
        return;
    };
    let c = 1.0;
    let whole = logistic(&Matrix::from_rows(&x), &y, c, 100).unwrap();
    let parts: Vec<(Matrix, Vec<f64>)> = split(x.len())
        .into_iter()
        .map(|r| (Matrix::from_rows(&x[r.clone()]), y[r].to_vec()))
        .collect();
    let share = y.iter().sum::<f64>() / y.len() as f64;
    let mut state = LogisticState::start(features.len(), c, Some(share), 100);
    while !state.converged {
        let stats: Vec<_> = parts
            .iter()
            .map(|(x, y)| logistic_site(x, y, &state.trial).unwrap())
            .collect();
        state = combine_logistic(&state, &stats).unwrap();
    }
    println!("logistic converged in {} rounds", state.round);
    let pooled = state.coefficients().unwrap();
    close(pooled.intercept, whole.intercept, "intercept");
    for (j, (a, b)) in pooled.weights.iter().zip(&whole.weights).enumerate() {
        close(*a, *b, features[j]);
    }
}

/// With noise, the error of the pooled coefficients shrinks as ε grows (mean over 20
/// seeds; σ ∝ 1/ε, so the error should fall roughly threefold per step here).
#[test]
fn private_statistics_lose_less_accuracy_as_epsilon_grows() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let n = 60_000;
    let x: Vec<Vec<f64>> = (0..n)
        .map(|_| vec![rng.random_range(0.0..1.0), rng.random_range(0.0..1.0)])
        .collect();
    let y: Vec<f64> = x
        .iter()
        .map(|r| 0.5 + 1.0 * r[0] - 0.5 * r[1] + rng.random_range(-0.2..0.2))
        .collect();
    let truth = combine_ridge(
        &[GramStats::from_rows(&Matrix::from_rows(&x), &y).unwrap()],
        0.0,
    )
    .unwrap();
    let parts: Vec<(Matrix, Vec<f64>)> = split(n)
        .into_iter()
        .map(|r| (Matrix::from_rows(&x[r.clone()]), y[r].to_vec()))
        .collect();
    let mut errors = Vec::new();
    for epsilon in [0.05, 0.15, 0.45] {
        let mut total = 0.0;
        for seed in 0..20u64 {
            let sites: Vec<GramStats> = parts
                .iter()
                .enumerate()
                .map(|(i, (x, y))| {
                    GramStats::private(x, y, epsilon, 1e-6, 2.5, seed * 10 + i as u64).unwrap()
                })
                .collect();
            assert_eq!(
                sites[0].noise.unwrap().clipped_rows,
                0,
                "rows fit the bound"
            );
            let fit = combine_ridge(&sites, 0.0).unwrap();
            total += fit
                .weights
                .iter()
                .zip(&truth.weights)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>();
        }
        errors.push(total / 20.0);
    }
    println!("mean |Δw| at ε = 0.05, 0.15, 0.45: {errors:?}");
    assert!(
        errors[0] > 1.5 * errors[1] && errors[1] > 1.5 * errors[2],
        "{errors:?}"
    );
    // At ε = 0.45 the weights (Σ|w| = 1.5) are off by under a tenth of their size.
    assert!(errors[2] < 0.15, "{errors:?}");
}
