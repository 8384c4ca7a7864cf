//! Uplift on Hillstrom's e-mail experiment (`../shared/data/uplift/hillstrom.csv`)
//! against scikit-uplift, from `tests/support/uplift_reference.json` written by
//! `benches/uplift_peers.py` (scikit-uplift 0.5.1, scikit-learn LogisticRegression).
//!
//! Split (shared with the script): data row i (0-based, file order, all 64,000 rows) is a
//! test row when i % 10 < 3. Per e-mail only that e-mail's rows (treated) and "No E-Mail"
//! rows (control) are kept; outcome `visit`.
//!
//! Tolerances: average effects exactly equal to the group-mean differences computed here
//! (and to 1e-12 of pandas'); the metrics on a fixed prediction vector within 1e-9 of
//! scikit-uplift's; the Rust T-learner's Qini coefficient within 0.01 of scikit-uplift's
//! on the same split.

mod common;
use adroit_learn::data::{Frame, Values};
use adroit_learn::model::Algo;
use adroit_learn::uplift::{self, Learner};
use serde_json::Value;

const FEATURES: [&str; 7] = [
    "recency", "history", "mens", "womens", "newbie", "zip_code", "channel",
];

fn hillstrom() -> Frame {
    common::read_frame(&common::shared("uplift/hillstrom.csv"))
}

fn reference() -> Value {
    let text = std::fs::read_to_string(common::support("uplift_reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn segment(frame: &Frame) -> Vec<String> {
    match &frame.column("segment").unwrap().values {
        Values::Categorical(v) => v.iter().map(|s| s.clone().unwrap()).collect(),
        _ => panic!("segment is categorical"),
    }
}

fn numbers(frame: &Frame, name: &str) -> Vec<f64> {
    match &frame.column(name).unwrap().values {
        Values::Numeric(v) => v.clone(),
        _ => panic!("{name} is numeric"),
    }
}

/// The rows of one e-mail against no e-mail: (frame, treatment, visit, is_test).
fn arm(frame: &Frame, email: &str) -> (Frame, Vec<bool>, Vec<f64>, Vec<bool>) {
    let seg = segment(frame);
    let keep: Vec<usize> = (0..frame.rows())
        .filter(|&i| seg[i] == email || seg[i] == "No E-Mail")
        .collect();
    let sub = frame.select(&keep);
    let t = keep.iter().map(|&i| seg[i] == email).collect();
    let y = numbers(&sub, "visit");
    let test = keep.iter().map(|&i| i % 10 < 3).collect();
    (sub, t, y, test)
}

fn pick<T: Clone>(v: &[T], mask: &[bool], want: bool) -> Vec<T> {
    v.iter()
        .zip(mask)
        .filter(|(_, m)| **m == want)
        .map(|(x, _)| x.clone())
        .collect()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1.0),
        "{what}: {a} vs {b} (tol {tol})"
    );
}

#[test]
fn average_effects_are_group_mean_differences() {
    let frame = hillstrom();
    let seg = segment(&frame);
    let reference = reference();
    for email in ["Mens E-Mail", "Womens E-Mail"] {
        for outcome in ["visit", "conversion", "spend"] {
            let y = numbers(&frame, outcome);
            let rows: Vec<usize> = (0..frame.rows())
                .filter(|&i| seg[i] == email || seg[i] == "No E-Mail")
                .collect();
            let t: Vec<bool> = rows.iter().map(|&i| seg[i] == email).collect();
            let yy: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
            let ate = uplift::average_effect(&t, &yy).unwrap();
            // Independently: sums over the whole file by group.
            let (mut st, mut nt, mut sc, mut nc) = (0.0, 0usize, 0.0, 0usize);
            for i in 0..frame.rows() {
                if seg[i] == email {
                    st += y[i];
                    nt += 1;
                } else if seg[i] == "No E-Mail" {
                    sc += y[i];
                    nc += 1;
                }
            }
            assert_eq!(ate.treated, nt);
            assert_eq!(ate.control, nc);
            assert_eq!(ate.treated_mean, st / nt as f64);
            assert_eq!(ate.control_mean, sc / nc as f64);
            assert_eq!(ate.effect, st / nt as f64 - sc / nc as f64);
            let r = &reference["average_effects"][email][outcome];
            assert_eq!(r["treated"].as_u64().unwrap() as usize, nt);
            close(ate.effect, r["effect"].as_f64().unwrap(), 1e-12, outcome);
            println!(
                "{email} on {outcome}: treated {:.6} − control {:.6} = {:.6} (se {:.6})",
                ate.treated_mean,
                ate.control_mean,
                ate.effect,
                ate.std_error.unwrap()
            );
        }
    }
    assert_eq!(seg.iter().filter(|s| *s == "Mens E-Mail").count(), 21_307);
}

#[test]
fn metrics_match_scikit_uplift_on_fixed_predictions() {
    let frame = hillstrom();
    let reference = reference();
    for email in ["Mens E-Mail", "Womens E-Mail"] {
        let (_, t, y, test) = arm(&frame, email);
        let (tt, yt) = (pick(&t, &test, true), pick(&y, &test, true));
        let fixed: Vec<f64> = (0..tt.len())
            .map(|k| ((k * 37) % 101) as f64 / 100.0 - 0.5)
            .collect();
        let r = &reference["emails"][email]["fixed_predictions"];
        let f = |k: &str| r[k].as_f64().unwrap();
        close(
            uplift::qini_auc_score(&yt, &fixed, &tt, true).unwrap(),
            f("qini_auc_score"),
            1e-9,
            "qini",
        );
        close(
            uplift::qini_auc_score(&yt, &fixed, &tt, false).unwrap(),
            f("qini_auc_score_no_negative"),
            1e-9,
            "qini without negative effects",
        );
        close(
            uplift::uplift_auc_score(&yt, &fixed, &tt).unwrap(),
            f("uplift_auc_score"),
            1e-9,
            "auuc",
        );
        close(
            uplift::perfect_qini_curve(&yt, &tt, true).area(),
            f("perfect_qini_area"),
            1e-9,
            "perfect qini area",
        );
        close(
            uplift::perfect_uplift_curve(&yt, &tt).area(),
            f("perfect_uplift_area"),
            1e-9,
            "perfect uplift area",
        );
        for (curve, name) in [
            (uplift::qini_curve(&yt, &fixed, &tt), "qini_curve"),
            (uplift::uplift_curve(&yt, &fixed, &tt), "uplift_curve"),
        ] {
            let xs = r[name]["x"].as_array().unwrap();
            let ys = r[name]["y"].as_array().unwrap();
            assert_eq!(curve.x.len(), xs.len(), "{name} points");
            for (k, (x, y)) in xs.iter().zip(ys).enumerate() {
                assert_eq!(curve.x[k], x.as_f64().unwrap(), "{name} x[{k}]");
                close(curve.y[k], y.as_f64().unwrap(), 1e-9, name);
            }
        }
        let table = uplift::uplift_by_percentile(&yt, &fixed, &tt, 10);
        let rows = r["uplift_by_percentile"].as_array().unwrap();
        assert_eq!(table.len(), rows.len());
        for (mine, theirs) in table.iter().zip(rows) {
            assert_eq!(mine.percentile, theirs["percentile"].as_str().unwrap());
            assert_eq!(
                mine.n_treatment as u64,
                theirs["n_treatment"].as_u64().unwrap()
            );
            assert_eq!(mine.n_control as u64, theirs["n_control"].as_u64().unwrap());
            for (a, key) in [
                (mine.response_rate_treatment, "response_rate_treatment"),
                (mine.response_rate_control, "response_rate_control"),
                (mine.uplift, "uplift"),
            ] {
                match (a, theirs[key].as_f64()) {
                    (Some(a), Some(b)) => close(a, b, 1e-12, key),
                    (None, None) => {}
                    other => panic!("{key}: {other:?}"),
                }
            }
        }
    }
}

fn features() -> Vec<String> {
    FEATURES.iter().map(|s| s.to_string()).collect()
}

#[test]
fn t_learner_qini_matches_scikit_uplift() {
    let frame = hillstrom();
    let reference = reference();
    for email in ["Mens E-Mail", "Womens E-Mail"] {
        let (sub, t, y, test) = arm(&frame, email);
        let train_rows: Vec<usize> = (0..sub.rows()).filter(|&i| !test[i]).collect();
        let test_rows: Vec<usize> = (0..sub.rows()).filter(|&i| test[i]).collect();
        let (train, holdout) = (sub.select(&train_rows), sub.select(&test_rows));
        let (t_train, y_train) = (pick(&t, &test, false), pick(&y, &test, false));
        let (t_test, y_test) = (pick(&t, &test, true), pick(&y, &test, true));
        let r = &reference["emails"][email]["t_learner_logistic"];
        let peer_qini = r["qini_auc_score"].as_f64().unwrap();
        let peer_auuc = r["uplift_auc_score"].as_f64().unwrap();
        for (learner, algo) in [
            (Learner::T, "logistic"),
            (Learner::S, "logistic"),
            (Learner::X, "logistic"),
            (Learner::ClassTransformation, "logistic"),
            (Learner::T, "gbdt"),
            (Learner::S, "gbdt"),
            (Learner::X, "gbdt"),
            (Learner::ClassTransformation, "gbdt"),
        ] {
            let algo_v = Algo::from_name(algo).unwrap();
            let model =
                uplift::fit(&train, &features(), &t_train, &y_train, learner, &algo_v, 0).unwrap();
            let u = model.predict(&holdout).unwrap();
            let qini = uplift::qini_auc_score(&y_test, &u, &t_test, true).unwrap();
            let auuc = uplift::uplift_auc_score(&y_test, &u, &t_test).unwrap();
            println!(
                "{email}: {} learner, {algo}: Qini {qini:.6}, AUUC {auuc:.6} (scikit-uplift T-learner, logistic: Qini {peer_qini:.6}, AUUC {peer_auuc:.6})",
                learner.name()
            );
            if learner == Learner::T && algo == "logistic" {
                let first = r["uplift_first"].as_array().unwrap();
                for (k, v) in first.iter().enumerate() {
                    close(u[k], v.as_f64().unwrap(), 1e-4, "T-learner uplift");
                }
                assert!(
                    (qini - peer_qini).abs() <= 0.01,
                    "{email}: Qini {qini} vs scikit-uplift {peer_qini}"
                );
                assert!(
                    (auuc - peer_auuc).abs() <= 0.01,
                    "{email}: AUUC {auuc} vs scikit-uplift {peer_auuc}"
                );
            }
        }
    }
}
