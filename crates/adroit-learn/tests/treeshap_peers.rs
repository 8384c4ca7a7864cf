//! TreeSHAP against the `shap` package on the same trees.
//!
//! `benches/shap_peers.py` fits small scikit-learn trees, writes them as the parallel
//! arrays `tree::Tree` holds and records `shap.TreeExplainer`'s path-dependent values.
//! Both sides compute the same finite sums in double precision, so the tolerance is
//! 1e-9 relative to the largest |SHAP| of the model (summation order differs only).

mod common;
use adroit_learn::data::Matrix;
use adroit_learn::ensemble::TreeEnsemble;
use adroit_learn::linear::Link;
use adroit_learn::model::{Explain, Predict};
use adroit_learn::tree::Tree;
use serde_json::Value;

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn tree(v: &Value) -> Tree {
    let ints = |key: &str| numbers(&v[key]).into_iter().map(|x| x as i64);
    Tree {
        feature: ints("feature").map(|f| f as i32).collect(),
        threshold: numbers(&v["threshold"]),
        left: ints("left").map(|c| c as u32).collect(),
        right: ints("right").map(|c| c as u32).collect(),
        value: numbers(&v["value"]),
        cover: numbers(&v["cover"]),
    }
}

fn check(name: &str) {
    let text = std::fs::read_to_string(common::support("shap_peers.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let m = &doc["models"][name];
    let model = TreeEnsemble {
        base: 0.0,
        scale: m["scale"].as_f64().unwrap(),
        link: Link::Identity,
        trees: m["trees"].as_array().unwrap().iter().map(tree).collect(),
    };
    let rows: Vec<Vec<f64>> = m["rows"].as_array().unwrap().iter().map(numbers).collect();
    let x = Matrix::from_rows(&rows);
    let expected: Vec<Vec<f64>> = m["shap_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(numbers)
        .collect();

    // The trees were rebuilt faithfully: same predictions as scikit-learn.
    for (i, (ours, theirs)) in model
        .predict(&x)
        .iter()
        .zip(numbers(&m["prediction"]))
        .enumerate()
    {
        assert!(
            (ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0),
            "{name} row {i}: prediction {ours} vs scikit-learn {theirs}"
        );
    }

    let shap = model.shap(&x);
    let scale = expected
        .iter()
        .flatten()
        .fold(0.0_f64, |a, v| a.max(v.abs()))
        .max(1e-12);
    let base = m["expected_value"].as_f64().unwrap();
    assert!(
        (shap.base - base).abs() <= 1e-9 * scale.max(base.abs()),
        "{name}: expected value {} vs shap {base}",
        shap.base
    );
    let mut worst = 0.0_f64;
    for (i, (ours, theirs)) in shap.values.iter().zip(&expected).enumerate() {
        for (j, (a, b)) in ours.iter().zip(theirs).enumerate() {
            let diff = (a - b).abs();
            assert!(
                diff <= 1e-9 * scale,
                "{name} row {i} feature {j}: {a} vs shap {b}"
            );
            worst = worst.max(diff);
        }
    }
    println!(
        "{name}: {} rows × {} features, max |diff| {worst:.2e} (max |phi| {scale:.3})",
        rows.len(),
        x.cols()
    );
}

#[test]
fn single_regression_tree_matches_shap() {
    check("advertising_tree");
}

#[test]
fn forest_with_bootstrap_covers_matches_shap() {
    check("advertising_forest");
}

#[test]
fn classification_tree_on_one_hot_features_matches_shap() {
    check("bank_tree");
}
