//! `adroit customers summary` and `adroit clv fit/predict/validate` end to end: the
//! published CDNOW BG/NBD estimates from the ready summary, the simulated world from its
//! transactions table (summary, fit, predict, validate), and bad input named.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn adroit(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run adroit")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn shared(file: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/clv")
        .join(file);
    p.exists().then(|| p.canonicalize().unwrap())
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// Rows of a CSV as maps from header to cell.
fn read_csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn sig3(a: f64, b: f64) -> bool {
    let scale = 10f64.powf(b.abs().log10().floor() - 2.0);
    (a / scale).round() == (b / scale).round()
}

/// A simulated world with 2,000 customers, once per test.
fn world(dir: &Path) -> PathBuf {
    ok(&adroit(
        &[
            "simulate",
            "--seed",
            "42",
            "--customers",
            "2000",
            "--out",
            "world",
        ],
        dir,
    ));
    dir.join("world/adroit.toml")
}

#[test]
fn cdnow_summary_gives_the_published_bgnbd_estimates() {
    let Some(summary) = shared("cdnow_customers_summary.csv") else {
        eprintln!("skipped: ../shared/data/clv/cdnow_customers_summary.csv is absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&adroit(
        &[
            "clv",
            "fit",
            "--summary",
            summary.to_str().unwrap(),
            "--out",
            "model",
        ],
        dir.path(),
    ));
    assert!(out.contains("BG/NBD"), "{out}");
    assert!(
        out.contains("-9582.4"),
        "log-likelihood of the paper: {out}"
    );
    let model = read_json(dir.path().join("model/clv_model.json"));
    assert_eq!(model["purchase"]["model"], "bgnbd");
    assert_eq!(model["unit"], "weeks");
    assert_eq!(model["customers"], 2357);
    let fit = &model["purchase"]["fit"];
    for (name, published) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        let v = fit["model"][name].as_f64().unwrap();
        assert!(sig3(v, published), "{name} = {v}, published {published}");
        assert!(fit["standard_errors"][name].as_f64().unwrap() > 0.0);
    }
    assert_eq!(fit["converged"], true);
    // No monetary value in this file: no Gamma-Gamma, and predict still gives P(alive).
    assert!(model["spend"].is_null());
    ok(&adroit(
        &[
            "clv",
            "predict",
            "--summary",
            summary.to_str().unwrap(),
            "--model",
            "model",
            "--horizon",
            "39w",
            "--out",
            "p.csv",
        ],
        dir.path(),
    ));
    let rows = read_csv(&dir.path().join("p.csv"));
    assert_eq!(rows.len(), 2357);
    assert_eq!(rows[0]["customer_id"], "1");
    assert_eq!(rows[0]["clv"], "");
}

#[test]
fn simulated_world_summary_fit_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let config = world(dir.path());
    let config = config.to_str().unwrap();

    let out = ok(&adroit(
        &[
            "customers",
            "summary",
            "--config",
            config,
            "--out",
            "summary.csv",
        ],
        dir.path(),
    ));
    assert!(out.contains("2,000 customers"), "{out}");
    assert!(out.contains("7+"), "{out}");
    let summary = read_csv(&dir.path().join("summary.csv"));
    assert_eq!(summary.len(), 2000);
    for row in &summary {
        let f: f64 = row["frequency"].parse().unwrap();
        let r: f64 = row["recency"].parse().unwrap();
        let t: f64 = row["T"].parse().unwrap();
        let m: f64 = row["monetary_value"].parse().unwrap();
        assert!(f >= 0.0 && f.fract() == 0.0 && r >= 0.0 && r <= t && m >= 0.0);
        assert_eq!(f == 0.0, m == 0.0);
        assert_eq!(row["first_purchase"].len(), 10);
        for score in ["r_score", "f_score", "m_score"] {
            let v: u8 = row[score].parse().unwrap();
            assert!((1..=5).contains(&v), "{score} = {v}");
        }
    }
    // Named RFM segments: champions lead the spend table, and the most recent,
    // most frequent, biggest spender of all is one of them.
    assert!(
        out.contains("RFM segment") && out.contains("champions"),
        "{out}"
    );
    // Cohorts by acquisition month and by the channel of the first purchase.
    assert!(out.contains("repurchase rate"), "{out}");
    assert!(out.contains("retention by acquisition channel"), "{out}");
    assert!(out.contains(" search "), "{out}");
    let best = summary
        .iter()
        .max_by(|a, b| {
            let key = |r: &std::collections::HashMap<String, String>| {
                r["spend"].parse::<f64>().unwrap() + 1e6 * r["frequency"].parse::<f64>().unwrap()
            };
            key(a).total_cmp(&key(b))
        })
        .unwrap();
    assert_eq!(best["f_score"], "5");
    assert_eq!(best["m_score"], "5");

    let out = ok(&adroit(
        &["clv", "fit", "--config", config, "--out", "model"],
        dir.path(),
    ));
    assert!(out.contains("Gamma-Gamma"), "{out}");
    let model = read_json(dir.path().join("model/clv_model.json"));
    assert_eq!(model["customers"], 2000);
    assert!(model["calibration_end"].is_string());
    for name in ["r", "alpha", "a", "b"] {
        let v = model["purchase"]["fit"]["model"][name].as_f64().unwrap();
        assert!(v.is_finite() && v > 0.0, "{name} = {v}");
    }
    for name in ["p", "q", "v"] {
        let v = model["spend"]["model"][name].as_f64().unwrap();
        assert!(v.is_finite() && v > 0.0, "{name} = {v}");
    }

    let out = ok(&adroit(
        &[
            "clv",
            "predict",
            "--config",
            config,
            "--model",
            "model",
            "--horizon",
            "12m",
            "--discount",
            "0.01",
            "--out",
            "clv.csv",
        ],
        dir.path(),
    ));
    assert!(out.contains("Top 10 customers by CLV"), "{out}");
    assert!(out.contains("total CLV"), "{out}");
    let rows = read_csv(&dir.path().join("clv.csv"));
    assert_eq!(rows.len(), 2000);
    let ids: std::collections::HashSet<&str> =
        summary.iter().map(|r| r["customer_id"].as_str()).collect();
    for row in &rows {
        assert!(ids.contains(row["customer_id"].as_str()));
        let p: f64 = row["probability_alive"].parse().unwrap();
        let e: f64 = row["expected_purchases"].parse().unwrap();
        let s: f64 = row["expected_spend"].parse().unwrap();
        let clv: f64 = row["clv"].parse().unwrap();
        assert!((0.0..=1.0).contains(&p), "P(alive) = {p}");
        assert!(e >= 0.0 && e.is_finite());
        assert!(s > 0.0 && s.is_finite());
        assert!(clv >= 0.0 && clv.is_finite());
    }
    // Discounting: CLV is below the undiscounted expected value.
    let total = |c: &str| -> f64 { rows.iter().map(|r| r[c].parse::<f64>().unwrap()).sum() };
    assert!(total("clv") < total("expected_value"));

    // The same horizon in weeks and days gives (nearly) the same expected purchases.
    ok(&adroit(
        &[
            "clv",
            "predict",
            "--config",
            config,
            "--model",
            "model",
            "--horizon",
            "52w",
            "--out",
            "w.csv",
        ],
        dir.path(),
    ));
    ok(&adroit(
        &[
            "clv",
            "predict",
            "--config",
            config,
            "--model",
            "model",
            "--horizon",
            "364d",
            "--out",
            "d.csv",
        ],
        dir.path(),
    ));
    let w = read_csv(&dir.path().join("w.csv"));
    let d = read_csv(&dir.path().join("d.csv"));
    for (a, b) in w.iter().zip(&d).take(50) {
        let (a, b): (f64, f64) = (
            a["expected_purchases"].parse().unwrap(),
            b["expected_purchases"].parse().unwrap(),
        );
        assert!((a - b).abs() < 1e-9 * (1.0 + a), "{a} vs {b}");
    }
}

#[test]
fn simulated_world_validate_prints_the_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let config = world(dir.path());
    let config = config.to_str().unwrap();
    let out = ok(&adroit(
        &[
            "clv",
            "validate",
            "--config",
            config,
            "--calibration-end",
            "2024-12-31",
            "--holdout-end",
            "2025-12-28",
            "--out",
            "validate.json",
        ],
        dir.path(),
    ));
    assert!(out.contains("7+"), "{out}");
    assert!(out.contains("total holdout purchases"), "{out}");
    let v = read_json(dir.path().join("validate.json"));
    let rows = v["table"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[7]["bucket"], "7+");
    let customers: f64 = rows.iter().map(|r| r["customers"].as_f64().unwrap()).sum();
    assert_eq!(customers, v["customers"].as_f64().unwrap());
    let (actual, predicted) = (
        v["table"]["actual_total"].as_f64().unwrap(),
        v["table"]["predicted_total"].as_f64().unwrap(),
    );
    assert!(actual > 0.0);
    // The model fits the world it was simulated from: the holdout totals agree within 30%.
    assert!(
        (predicted / actual - 1.0).abs() < 0.3,
        "{predicted} vs {actual}"
    );
    // Without --calibration-end the calibration ends halfway.
    let out = ok(&adroit(
        &[
            "clv",
            "validate",
            "--config",
            config,
            "--holdout-end",
            "2025-06-30",
        ],
        dir.path(),
    ));
    assert!(out.contains("7+"), "{out}");
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tx.csv"),
        "client,when,spent\nA,2024-01-01,10\nA,2024-02-01,12\nB,2024-01-15,5\n",
    )
    .unwrap();
    // A missing column is named.
    let o = adroit(&["customers", "summary", "--transactions", "tx.csv"], d);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("customer_id") && err.contains("tx.csv"),
        "{err}"
    );
    // Mapped columns work.
    let out = ok(&adroit(
        &[
            "customers",
            "summary",
            "--transactions",
            "tx.csv",
            "--customer-col",
            "client",
            "--time-col",
            "when",
            "--amount-col",
            "spent",
            "--unit",
            "days",
            "--out",
            "s.csv",
        ],
        d,
    ));
    assert!(out.contains("2 customers"), "{out}");
    let rows = read_csv(&d.join("s.csv"));
    assert_eq!(rows[0]["customer_id"], "A");
    assert_eq!(rows[0]["frequency"], "1");
    assert_eq!(rows[0]["recency"], "31");
    assert_eq!(rows[0]["monetary_value"], "12");
    // A bad amount is named by row and column.
    std::fs::write(
        d.join("neg.csv"),
        "customer_id,timestamp,amount\nA,2024-01-01,10\nA,2024-02-01,-3\n",
    )
    .unwrap();
    let o = adroit(&["customers", "summary", "--transactions", "neg.csv"], d);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("neg.csv") && err.contains("row 2") && err.contains("amount"),
        "{err}"
    );
    // A calibration end that is not a date.
    let o = adroit(
        &[
            "clv",
            "fit",
            "--transactions",
            "neg.csv",
            "--calibration-end",
            "last tuesday",
            "--out",
            "m",
        ],
        d,
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--calibration-end") && err.contains("YYYY-MM-DD"),
        "{err}"
    );
    // A summary missing T, and a summary row with recency after T.
    std::fs::write(d.join("s1.csv"), "ID,frequency,recency\n1,2,3\n").unwrap();
    let o = adroit(&["clv", "fit", "--summary", "s1.csv", "--out", "m"], d);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("s1.csv") && err.contains("`T`"), "{err}");
    std::fs::write(
        d.join("s2.csv"),
        "ID,frequency,recency,T\n1,2,3,10\n2,1,12,10\n",
    )
    .unwrap();
    let o = adroit(&["clv", "fit", "--summary", "s2.csv", "--out", "m"], d);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("s2.csv") && err.contains("row 2"), "{err}");
    // A bad horizon.
    let o = adroit(
        &[
            "clv",
            "predict",
            "--summary",
            "s2.csv",
            "--model",
            "nowhere",
            "--horizon",
            "12m",
            "--out",
            "p.csv",
        ],
        d,
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("clv_model.json"));
}

#[test]
fn discrete_and_retention_models_give_the_papers_estimates() {
    let (Some(donations), Some(retention)) = (
        shared("donations_bgbb.csv"),
        shared("sbg_retention_fader_hardie_2007.csv"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = donations.display().to_string();
    let out = ok(&adroit(&["clv", "discrete", "--data", &d], dir.path()));
    // Fader, Hardie & Shang (2010): α 1.204, β 0.750, γ 0.657, δ 2.783, LL −33,225.6.
    for (name, v) in [
        ("alpha", "1.20"),
        ("beta", "0.749"),
        ("gamma", "0.656"),
        ("delta", "2.78"),
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_default();
        assert!(line.contains(v), "{name}: {line}\n{out}");
    }
    assert!(out.contains("-33225.58"), "{out}");
    let r = retention.display().to_string();
    let out = ok(&adroit(
        &[
            "clv",
            "retention",
            "--data",
            &r,
            "--alive-col",
            "highend_alive",
            "--calibration-periods",
            "7",
        ],
        dir.path(),
    ));
    // Fader & Hardie (2007), high-end cohort fitted on 7 years: α 0.668, β 3.806.
    assert!(
        out.contains("alpha 0.668") && out.contains("beta 3.806"),
        "{out}"
    );
    let bad = adroit(
        &["clv", "retention", "--data", &r, "--alive-col", "lowend"],
        dir.path(),
    );
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("no column `lowend`"),
        "{:?}",
        bad
    );
}
