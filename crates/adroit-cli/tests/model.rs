//! `adroit model`: train → predict → explain round trip on ISLR's Advertising data,
//! and the schema-mismatch policy at prediction.

use std::path::Path;
use std::process::{Command, Output};

fn adroit(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run adroit")
}

fn shared(path: &str) -> String {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    format!("{manifest}/../../../shared/data/{path}")
}

#[test]
fn ols_train_predict_explain_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared("regression/Advertising.csv");
    let out = adroit(
        &[
            "model",
            "train",
            "--data",
            &data,
            "--target",
            "Sales",
            "--features",
            "TV,Radio,Newspaper",
            "--task",
            "regress",
            "--algo",
            "ols",
            "--cv",
            "5",
            "--out",
            "m",
        ],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ISLR Table 3.4 / 3.6: TV 0.0458, radio 0.1885, R² 0.897.
    assert!(
        stdout.contains("0.0458") && stdout.contains("0.1885"),
        "{stdout}"
    );
    assert!(stdout.contains("R-squared 0.897"), "{stdout}");
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("m/metrics.json")).unwrap())
            .unwrap();
    assert_eq!(
        metrics["cross_validation"]["folds"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!((metrics["train"]["r_squared"].as_f64().unwrap() - 0.8972).abs() < 1e-4);

    let out = adroit(
        &[
            "model", "predict", "--model", "m", "--data", &data, "--out", "p.csv",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let preds = std::fs::read_to_string(dir.path().join("p.csv")).unwrap();
    assert_eq!(preds.lines().count(), 201);
    assert!(preds.starts_with("row,prediction\n1,"));

    let out = adroit(
        &[
            "model", "explain", "--model", "m", "--data", &data, "--out", "e",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shap = std::fs::read_to_string(dir.path().join("e/shap.csv")).unwrap();
    assert!(shap.starts_with("row,base,margin,TV,Radio,Newspaper\n"));

    // A file without a feature column: a clear error naming it.
    std::fs::write(dir.path().join("bad.csv"), "TV,Radio\n1,2\n").unwrap();
    let out = adroit(
        &["model", "predict", "--model", "m", "--data", "bad.csv"],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("column `Newspaper` is missing"), "{err}");
}

#[test]
fn wrong_algorithm_for_the_task_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let data = shared("regression/Advertising.csv");
    let out = adroit(
        &[
            "model", "train", "--data", &data, "--target", "Sales", "--task", "classify", "--algo",
            "ols", "--out", "m",
        ],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ols cannot classify; choose from logistic, tree, forest, gbdt"),
        "{err}"
    );
}
