//! `adroit mmm` end to end on PyMC-Marketing's example (known truth): fit writes its
//! three files, allocate moves budget by the fitted curves and respects bounds,
//! whatif predicts, and bad input is named.

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

#[test]
fn fit_allocate_and_whatif_on_the_pymc_example() {
    let Some(data) = example() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = data.display().to_string();
    let out = adroit(
        &[
            "mmm",
            "fit",
            "--data",
            &data,
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
            "--holdout",
            "12",
            "--out",
            "model",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("model/result.json")).unwrap())
            .unwrap();
    assert_eq!(result["format"], "adroit-mmm-result v1");
    let roas = |j: usize| result["channels"][j]["roas"]["value"].as_f64().unwrap();
    // Truth 4968 and 2275 (see adroit-mmm/tests/pymc_example.rs); 15 % as in the issue.
    assert!((roas(0) / 4967.8 - 1.0).abs() < 0.15, "{}", roas(0));
    assert!((roas(1) / 2274.9 - 1.0).abs() < 0.15, "{}", roas(1));
    assert!(result["diagnostics"]["holdout"]["nrmse"].as_f64().unwrap() < 0.2);
    assert_eq!(result["search"]["evaluations"], 10_000);
    let decomposition =
        std::fs::read_to_string(dir.path().join("model/decomposition.csv")).unwrap();
    let header = decomposition.lines().next().unwrap();
    assert!(
        header.starts_with("date,kpi,fitted,baseline,trend,sin1"),
        "{header}"
    );
    assert!(header.ends_with("event_1,event_2,x1,x2"), "{header}");
    assert_eq!(decomposition.lines().count(), 180);
    let curves = std::fs::read_to_string(dir.path().join("model/curves.csv")).unwrap();
    assert!(curves.lines().any(|l| l.starts_with("x2,adstock,0,")));

    let out = adroit(
        &[
            "mmm",
            "allocate",
            "--model",
            "model",
            "--periods",
            "8",
            "--bounds",
            "x1=0.5..1.5,x2=0.5..1.5",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let alloc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("model/allocation.json")).unwrap())
            .unwrap();
    let total = alloc["total_spend"].as_f64().unwrap();
    let current = alloc["current_spend"].as_f64().unwrap();
    assert!(
        (total - current).abs() < 1e-6 * current,
        "same budget by default"
    );
    assert!(
        alloc["total_response"].as_f64().unwrap() >= alloc["current_response"].as_f64().unwrap()
    );
    for c in alloc["channels"].as_array().unwrap() {
        let (cur, opt) = (
            c["current_spend"].as_f64().unwrap(),
            c["optimal_spend"].as_f64().unwrap(),
        );
        assert!(opt >= 0.5 * cur - 1e-9 && opt <= 1.5 * cur + 1e-9, "{c}");
        assert!(!c["reason"].as_str().unwrap().is_empty());
    }

    let out = adroit(
        &[
            "mmm",
            "whatif",
            "--model",
            "model",
            "--spend",
            "x1=0.5,x2=0.3",
            "--periods",
            "4",
            "--json",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kpi = w["kpi"].as_f64().unwrap();
    assert!((kpi - w["baseline"].as_f64().unwrap() - w["media"].as_f64().unwrap()).abs() < 1e-6);
    assert!((w["spend"].as_f64().unwrap() - 4.0 * 0.8).abs() < 1e-9);

    // Bad input is named.
    let bad = adroit(
        &[
            "mmm",
            "allocate",
            "--model",
            "model",
            "--bounds",
            "tv=0.5..1.5",
        ],
        dir.path(),
    );
    assert!(
        stderr(&bad).contains("no channel \"tv\" in the model"),
        "{}",
        stderr(&bad)
    );
    let bad = adroit(
        &[
            "mmm",
            "allocate",
            "--model",
            "model",
            "--bounds",
            "x1=1.2..1.5,x2=1.2..1.5",
        ],
        dir.path(),
    );
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("x1") || stderr(&bad).contains("x2"),
        "{}",
        stderr(&bad)
    );
    let bad = adroit(
        &["mmm", "whatif", "--model", "nowhere", "--spend", "x1=1"],
        dir.path(),
    );
    assert!(
        stderr(&bad).contains("adroit mmm fit --out nowhere"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn bad_tables_are_named_by_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("week,sales,tv\n");
    for i in 0..20 {
        csv.push_str(&format!(
            "2024-01-{:02},{},{}\n",
            i + 1,
            100 + i,
            if i == 7 {
                "-5".into()
            } else {
                format!("{}", i % 4)
            }
        ));
    }
    std::fs::write(dir.path().join("d.csv"), &csv).unwrap();
    let run = |channels: &str| {
        adroit(
            &[
                "mmm",
                "fit",
                "--data",
                "d.csv",
                "--date",
                "week",
                "--kpi",
                "sales",
                "--channels",
                channels,
                "--out",
                "m",
            ],
            dir.path(),
        )
    };
    let out = run("tv");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("row 8, column `tv`: negative spend -5"),
        "{}",
        stderr(&out)
    );
    let out = run("radio");
    assert!(
        stderr(&out).contains("no column `radio` (columns: week, sales, tv)"),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        dir.path().join("d.csv"),
        csv.replace("2024-01-03", "2024-01-02"),
    )
    .unwrap();
    let out = run("tv");
    assert!(
        stderr(&out).contains("two rows for 2024-01-02"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn robyns_demo_fits_at_least_as_well_as_robyns_published_model() {
    let Some(example) = example() else { return };
    let mmm = example.parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = mmm
        .join("robyn_dt_simulated_weekly.csv")
        .display()
        .to_string();
    let holidays = mmm
        .join("robyn_dt_prophet_holidays.csv")
        .display()
        .to_string();
    // Robyn's demo specification (demo/demo.R): geometric adstock, Hill saturation,
    // German holidays, the events factor, competitor sales and the newsletter as
    // context, window 2016-01-01..2018-12-31, 2000 iterations × 5 trials.
    let out = adroit(
        &[
            "mmm",
            "fit",
            "--data",
            &data,
            "--date",
            "DATE",
            "--kpi",
            "revenue",
            "--channels",
            "tv_S,ooh_S,print_S,facebook_S,search_S",
            "--controls",
            "competitor_sales_B,newsletter",
            "--events",
            "events",
            "--holidays",
            &holidays,
            "--country",
            "DE",
            "--adstock",
            "robyn_geometric",
            "--window",
            "2016-01-01..2018-12-31",
            "--out",
            "robyn",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("robyn/result.json")).unwrap())
            .unwrap();
    // Robyn's published demo model: adjusted R² about 0.90 on the training window.
    let adj = r["diagnostics"]["adjusted_r2"].as_f64().unwrap();
    assert!(adj >= 0.90, "adjusted R² {adj}");
    assert_eq!(r["periods"], 157, "the window's weeks");
    let rssd = r["diagnostics"]["decomp_rssd"].as_f64().unwrap();
    assert!(rssd < 0.1, "DECOMP.RSSD {rssd}");
    let events: Vec<&str> = r["spec"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(events, ["events_event1", "events_event2", "holidays_DE"]);
}

#[test]
fn the_example_spec_sets_families_and_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/mmm.toml");
    let spec = spec.display().to_string();
    let mut csv = String::from("week,revenue,tv,search,social,price\n");
    let monday = chrono::NaiveDate::from_ymd_opt(2022, 10, 3).unwrap();
    let start = |i: u32| (monday + chrono::Duration::weeks(i64::from(i))).to_string();
    for i in 0..60u32 {
        let (tv, search, social) = (
            (i * 37 % 11) as f64,
            (i * 13 % 7) as f64,
            (i * 5 % 3) as f64,
        );
        let revenue = 1000.0 + 30.0 * tv + 20.0 * search + 10.0 * social + (i % 4) as f64;
        csv.push_str(&format!(
            "{},{revenue},{tv},{search},{social},{}\n",
            start(i),
            10 + i % 3
        ));
    }
    std::fs::write(dir.path().join("w.csv"), csv).unwrap();
    let run = |channels: &str| {
        adroit(
            &[
                "mmm",
                "fit",
                "--data",
                "w.csv",
                "--date",
                "week",
                "--kpi",
                "revenue",
                "--channels",
                channels,
                "--controls",
                "price",
                "--spec",
                &spec,
                "--trials",
                "1",
                "--iterations",
                "200",
                "--bootstrap",
                "20",
                "--out",
                "m",
            ],
            dir.path(),
        )
    };
    let out = run("tv,search,social");
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("m/result.json")).unwrap()).unwrap();
    let tv = &r["channels"][0];
    assert_eq!(tv["fit"]["adstock"]["type"], "weibull_pdf");
    let shape = tv["params"]["shape"].as_f64().unwrap();
    assert!(
        (1.0..=4.0).contains(&shape),
        "the spec's range holds: {shape}"
    );
    assert_eq!(r["channels"][2]["fit"]["saturation"]["type"], "logistic");
    let out = run("tv,search");
    assert!(
        stderr(&out).contains("differ from the spec's channels"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_config_builds_the_weekly_table_and_its_lift_tests_calibrate() {
    let dir = tempfile::tempdir().unwrap();
    let out = adroit(
        &[
            "simulate",
            "--seed",
            "42",
            "--customers",
            "300",
            "--out",
            "world",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = adroit(
        &[
            "mmm",
            "fit",
            "--config",
            "world/adroit.toml",
            "--holdout",
            "8",
            "--out",
            "m",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("m/result.json")).unwrap()).unwrap();
    let names: Vec<&str> = r["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["display", "search", "social", "tv"]);
    // The world's two lift tests, mapped to weeks, each predicted beside its measurement.
    let tests = r["diagnostics"]["lift_tests"].as_array().unwrap();
    assert_eq!(tests.len(), 2, "{tests:?}");
    assert!(
        r["search"]["reason"]
            .as_str()
            .unwrap()
            .contains("lift test")
    );
    // Weekly periods from Monday dates, price and the promotion/holiday shares as controls.
    let decomposition = std::fs::read_to_string(dir.path().join("m/decomposition.csv")).unwrap();
    let header = decomposition.lines().next().unwrap().to_string();
    assert!(header.contains(",price,"), "{header}");
    let first = decomposition.lines().nth(1).unwrap();
    let date = chrono::NaiveDate::parse_from_str(&first[..10], "%Y-%m-%d").unwrap();
    assert_eq!(date.format("%a").to_string(), "Mon");
    // What customers write, as controls: the simulated delivery failure dents the KPI
    // while delivery complaints surge, so their share gets a negative coefficient.
    let out = adroit(
        &[
            "text",
            "trends",
            "--config",
            "world/adroit.toml",
            "--grain",
            "week",
            "--out",
            "trends.csv",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = adroit(
        &[
            "mmm",
            "fit",
            "--config",
            "world/adroit.toml",
            "--text-trends",
            "trends.csv",
            "--text-controls",
            "text_sentiment,aspect_delivery_negative_share",
            "--out",
            "mt",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("mt/result.json")).unwrap()).unwrap();
    let delivery = r["terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "aspect_delivery_negative_share")
        .expect("the text series is a term");
    assert_eq!(delivery["kind"], "control");
    assert!(delivery["coef"].as_f64().unwrap() < 0.0, "{delivery}");
    // The config's [mmm] section sets the fit; a flag overrides it.
    let mut toml = std::fs::read_to_string(dir.path().join("world/adroit.toml")).unwrap();
    toml.push_str("\n[mmm]\nholdout = 6\ntrials = 2\niterations = 400\nselect = \"balanced\"\nchannels = [\"search\", \"tv\"]\n");
    std::fs::write(dir.path().join("world/adroit.toml"), toml).unwrap();
    let out = adroit(
        &[
            "mmm",
            "fit",
            "--config",
            "world/adroit.toml",
            "--trials",
            "3",
            "--out",
            "ms",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ms/result.json")).unwrap()).unwrap();
    assert_eq!(r["spec"]["holdout"], 6);
    assert_eq!(r["settings"]["trials"], 3, "the flag wins");
    assert_eq!(r["settings"]["iterations"], 400);
    assert_eq!(r["settings"]["select"]["rule"], "balanced");
    assert_eq!(r["channels"].as_array().unwrap().len(), 2);
    // [mmm] method = "bayes" and [mmm.bayes] set the Bayesian fit; flags win.
    let mut toml = std::fs::read_to_string(dir.path().join("world/adroit.toml")).unwrap();
    toml.push_str("method = \"bayes\"\n[mmm.bayes]\nchains = 2\ndraws = 60\ntune = 100\nroi_priors = { tv = [0.0, 0.5] }\n");
    std::fs::write(dir.path().join("world/adroit.toml"), toml).unwrap();
    let out = adroit(
        &[
            "mmm",
            "fit",
            "--config",
            "world/adroit.toml",
            "--draws",
            "80",
            "--out",
            "mb",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("mb/result.json")).unwrap()).unwrap();
    let b = &r["bayes"]["settings"];
    assert_eq!(b["chains"], 2);
    assert_eq!(b["draws"], 80, "the flag wins");
    assert_eq!(b["priors"]["tv"]["type"], "roi");
    assert_eq!(b["priors"]["tv"]["sigma"], 0.5);
    let mut toml = std::fs::read_to_string(dir.path().join("world/adroit.toml")).unwrap();
    toml.push_str("coef_priors = { tv = 1.0 }\n");
    std::fs::write(dir.path().join("world/adroit.toml"), toml).unwrap();
    let bad = adroit(
        &[
            "mmm",
            "fit",
            "--config",
            "world/adroit.toml",
            "--out",
            "mb2",
        ],
        dir.path(),
    );
    assert!(
        stderr(&bad).contains("channel tv has both an ROI prior and a coefficient prior"),
        "{}",
        stderr(&bad)
    );
    let toml = std::fs::read_to_string(dir.path().join("world/adroit.toml"))
        .unwrap()
        .replace("coef_priors = { tv = 1.0 }\n", "")
        .replace("method = \"bayes\"\n", "");
    std::fs::write(dir.path().join("world/adroit.toml"), toml).unwrap();
    // Flags that only apply to --data are refused with --config.
    let bad = adroit(
        &[
            "mmm",
            "fit",
            "--config",
            "world/adroit.toml",
            "--events",
            "x",
            "--out",
            "m2",
        ],
        dir.path(),
    );
    assert!(
        stderr(&bad).contains("apply to --data only"),
        "{}",
        stderr(&bad)
    );
}
