//! `adroit mmm fit --method bayes` end to end on PyMC-Marketing's example (known
//! truth): result.json keeps the ridge's contract plus a `bayes` section, draws.csv
//! holds the ROAS draws, the allocator reads the file, and bad flags are named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn adroit(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run adroit")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn example() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/mmm/pymc_marketing_mmm_example.csv");
    p.exists().then(|| p.canonicalize().unwrap())
}

fn fit_args<'a>(data: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "mmm",
        "fit",
        "--method",
        "bayes",
        "--data",
        data,
        "--date",
        "date_week",
        "--kpi",
        "y",
        "--channels",
        "x1,x2",
        "--events",
        "event_1,event_2",
        "--saturation",
        "logistic",
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn bayes_fit_writes_the_contract_and_the_allocator_reads_it() {
    let Some(data) = example() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = data.display().to_string();
    let out = adroit(
        &fit_args(
            &data,
            &[
                "--draws", "500", "--tune", "500", "--seed", "3", "--out", "model",
            ],
        ),
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("90% credible interval"), "{stdout}");
    assert!(stdout.contains("NUTS: 4 chains × 500 draws"), "{stdout}");
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("model/result.json")).unwrap())
            .unwrap();
    assert_eq!(result["format"], "adroit-mmm-result v1");
    let roas = |j: usize, k: &str| result["channels"][j]["roas"][k].as_f64().unwrap();
    for (j, truth) in [(0, 4967.8), (1, 2274.9)] {
        assert!(
            (roas(j, "value") / truth - 1.0).abs() < 0.1,
            "{}",
            roas(j, "value")
        );
        assert!(roas(j, "lower") <= truth && truth <= roas(j, "upper"));
    }
    let b = &result["bayes"];
    assert_eq!(b["divergences"], 0);
    assert!(b["max_rhat"].as_f64().unwrap() < 1.05);
    assert_eq!(b["bfmi"].as_array().unwrap().len(), 4);
    assert!(
        b["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "x1.alpha")
    );
    let draws = std::fs::read_to_string(dir.path().join("model/draws.csv")).unwrap();
    assert_eq!(draws.lines().next().unwrap(), "chain,draw,x1_roas,x2_roas");
    assert_eq!(draws.lines().count(), 1 + 4 * 500);
    // The allocator reads a Bayesian result like a ridge one (posterior-mean curves).
    let out = adroit(
        &["mmm", "allocate", "--model", "model", "--periods", "8"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // A what-if reports the plan's outcome over the posterior draws of the curves: an
    // interval around the mean-curve answer, from 200 draws.
    let out = adroit(
        &[
            "mmm",
            "whatif",
            "--model",
            "model",
            "--periods",
            "8",
            "--spend",
            "x1=5000",
            "--json",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &w["posterior"];
    assert_eq!(p["draws"], 200, "{w}");
    let (lo, mean, hi) = (
        p["media_lower"].as_f64().unwrap(),
        p["media_mean"].as_f64().unwrap(),
        p["media_upper"].as_f64().unwrap(),
    );
    assert!(lo < mean && mean < hi, "{w}");
    let point = w["media"].as_f64().unwrap();
    assert!(
        lo <= point && point <= hi,
        "the mean-curve answer {point} lies in [{lo}, {hi}]"
    );
    assert!(
        (p["kpi_mean"].as_f64().unwrap() - w["baseline"].as_f64().unwrap() - mean).abs() < 1e-6
    );
}

#[test]
fn bad_bayes_flags_are_named() {
    let Some(data) = example() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = data.display().to_string();
    for (extra, wanted) in [
        (vec!["--draws", "0"], "--draws"),
        (vec!["--chains", "0"], "--chains"),
        (vec!["--roi-prior", "x1=abc"], "--roi-prior"),
        (vec!["--roi-prior", "tv=1:0.5"], "\"tv\""),
        (vec!["--coef-prior", "x1=-1"], "sigma"),
    ] {
        let mut extra = extra;
        extra.extend(["--out", "m"]);
        let out = adroit(&fit_args(&data, &extra), dir.path());
        assert!(!out.status.success());
        let e = stderr(&out);
        assert!(e.contains(wanted), "{extra:?}: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
    let mut args = fit_args(&data, &["--out", "m"]);
    args[3] = "mcmc";
    let out = adroit(&args, dir.path());
    assert!(
        stderr(&out).contains("use ridge or bayes"),
        "{}",
        stderr(&out)
    );
}
