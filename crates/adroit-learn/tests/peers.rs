//! Known answers from peer libraries on the same inputs, recorded by
//! `benches/learn_peers.py` in `tests/support/*.json` (scikit-learn 1.9, LightGBM 4.7).

mod common;
use adroit_learn::model::{Algo, ModelSpec, Task, TrainedModel};
use serde_json::Value;

fn peers(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(common::support(file)).unwrap()).unwrap()
}

/// Bank marketing, same split and encoding: ROC AUC within 0.005 of the peer (the
/// issue's tolerance). Logistic and the tree are deterministic and equal to sklearn's
/// to 1e-4; the forest's seed-to-seed spread is 0.0015, boosting differs in binning.
#[test]
fn bank_classifiers_match_sklearn_and_lightgbm() {
    let reference = peers("bank_peers.json");
    let (train, test) = common::bank_split();
    for (name, tolerance) in [
        ("logistic", 1e-4),
        ("tree", 1e-3),
        ("forest", 0.005),
        ("gbdt", 0.005),
    ] {
        let spec = ModelSpec {
            task: Task::Classify,
            algo: Algo::from_name(name).unwrap(),
            target: "y".into(),
            features: vec![],
            positive: None,
            threshold: 0.5,
            seed: 0,
        };
        let model = TrainedModel::train(&train, &spec).unwrap();
        let got = model.evaluate(&test).unwrap().primary();
        let want = reference["models"][name]["test"]["roc_auc"]
            .as_f64()
            .unwrap();
        assert!(
            (got - want).abs() <= tolerance,
            "{name}: AUC {got} vs peer {want}"
        );
    }
}

/// Advertising: ridge, lasso and elastic net coefficients on standardised features
/// equal sklearn's to 1e-6 (both solve to tight tolerances).
#[test]
fn penalised_regressions_match_sklearn() {
    let reference = peers("advertising_peers.json");
    let frame = common::read_frame(&common::shared("regression/Advertising.csv"));
    for (key, algo) in [
        ("ridge", Algo::Ridge { alpha: 1.0 }),
        ("lasso", Algo::Lasso { alpha: 0.1 }),
        (
            "elastic_net",
            Algo::ElasticNet {
                alpha: 0.1,
                l1_ratio: 0.5,
            },
        ),
    ] {
        let spec = ModelSpec {
            task: Task::Regress,
            algo,
            target: "Sales".into(),
            features: vec!["TV".into(), "Radio".into(), "Newspaper".into()],
            positive: None,
            threshold: 0.5,
            seed: 0,
        };
        let model = TrainedModel::train(&frame, &spec).unwrap();
        let adroit_learn::model::Fitted::Linear(m) = &model.model else {
            panic!("linear")
        };
        let r = &reference["regressions"][key];
        assert!(
            (m.intercept - r["intercept"].as_f64().unwrap()).abs() < 1e-6,
            "{key}"
        );
        for (w, name) in m.weights.iter().zip(["TV", "Radio", "Newspaper"]) {
            let want = r["coefficients"][name].as_f64().unwrap();
            assert!((w - want).abs() < 1e-6, "{key} {name}: {w} vs {want}");
        }
    }
}

/// Property: deterministic models give the same predictions whatever the row order,
/// and a constant feature gets zero importance.
#[test]
fn row_order_does_not_matter_and_constants_are_unimportant() {
    let (train, test) = common::bank_split();
    let small: Vec<usize> = (0..4000).collect();
    let mut train = train.select(&small);
    train.columns.push(adroit_learn::data::Column {
        name: "constant".into(),
        values: adroit_learn::data::Values::Numeric(vec![3.0; train.rows()]),
    });
    let mut test = test.select(&(0..500).collect::<Vec<_>>());
    test.columns.push(adroit_learn::data::Column {
        name: "constant".into(),
        values: adroit_learn::data::Values::Numeric(vec![3.0; test.rows()]),
    });
    let reversed: Vec<usize> = (0..train.rows()).rev().collect();
    let shuffled = train.select(&reversed);
    for name in ["logistic", "tree", "gbdt"] {
        let spec = ModelSpec {
            task: Task::Classify,
            algo: Algo::from_name(name).unwrap(),
            target: "y".into(),
            features: vec![],
            positive: None,
            threshold: 0.5,
            seed: 0,
        };
        let a = TrainedModel::train(&train, &spec).unwrap();
        let b = TrainedModel::train(&shuffled, &spec).unwrap();
        let (pa, pb) = (a.predict(&test).unwrap(), b.predict(&test).unwrap());
        for (x, y) in pa.iter().zip(&pb) {
            assert!((x - y).abs() < 1e-6, "{name}: {x} vs {y}");
        }
        let imp = a.importance(&test, 2, 0).unwrap();
        let c = imp.iter().find(|i| i.feature == "constant").unwrap();
        assert_eq!((c.mean_abs_shap, c.permutation), (0.0, 0.0), "{name}");
        // Local accuracy: base + Σ SHAP = the margin of every row.
        let e = a.explain(&test).unwrap();
        for (row, p) in e.values.iter().zip(&pa) {
            let margin = e.base + row.iter().sum::<f64>();
            let pred = match e.link {
                adroit_learn::linear::Link::Identity => margin,
                adroit_learn::linear::Link::Logit => adroit_learn::linear::sigmoid(margin),
            };
            assert!((pred - p).abs() < 1e-9, "{name}");
        }
    }
}
