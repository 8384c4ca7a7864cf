//! `adroit run`: every stage of a simulated world into one folder, run.json, the report,
//! and the cache that reruns only what a config change touches.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn adroit(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("adroit runs")
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run_json(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap()
}

/// Stage name → status of a run.json.
fn statuses(run: &Value) -> Vec<(String, String)> {
    run["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status_of<'a>(s: &'a [(String, String)], stage: &str) -> &'a str {
    &s.iter().find(|(n, _)| n == stage).unwrap().1
}

/// A small simulated world (one year, 2,000 customers) with its adroit.toml.
fn world(dir: &Path) -> std::path::PathBuf {
    let world = dir.join("world");
    let o = adroit(
        &[
            "simulate",
            "--seed",
            "5",
            "--weeks",
            "60",
            "--customers",
            "2000",
            "--out",
            world.to_str().unwrap(),
        ],
        dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    world
}

#[test]
fn runs_every_stage_then_reruns_only_what_a_change_touches() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    let config = world.join("adroit.toml");
    let out = dir.path().join("run");
    let args = [
        "run",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--today",
        "2030-01-01",
    ];
    let o = adroit(&args, dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let run = run_json(&out);
    assert_eq!(run["format"], "adroit-run v1");
    assert_eq!(run["project"], "simulated world");
    assert!(run["config"].as_str().unwrap().contains("[media]"));
    // Every table of the world is fingerprinted.
    let data = run["data"].as_array().unwrap();
    assert_eq!(data.len(), 7, "{data:?}");
    assert!(
        data.iter()
            .all(|d| d["fingerprint"].as_str().unwrap().len() == 64)
    );
    let first = statuses(&run);
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "check",
            "text",
            "metrics",
            "attribution",
            "mmm",
            "allocation",
            "customers",
            "uplift",
            "fairness"
        ]
    );
    assert!(first.iter().all(|(_, s)| s == "ran"), "{first:?}");
    for stage in run["stages"].as_array().unwrap() {
        for output in stage["outputs"].as_array().unwrap() {
            let path = out.join(output.as_str().unwrap());
            assert!(path.is_file(), "{} missing", path.display());
        }
        // The command lines that made the outputs are recorded.
        assert!(!stage["commands"].as_array().unwrap().is_empty());
    }
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("<svg"), "the report has charts");

    // Nothing changed: everything comes from the cache.
    let o = adroit(&args, dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let again = statuses(&run_json(&out));
    assert!(again.iter().all(|(_, s)| s == "cached"), "{again:?}");

    // Only the text settings change: only the text stage reruns.
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str("\n[text]\nkeywords = 3\n");
    std::fs::write(&config, &toml).unwrap();
    let o = adroit(&args, dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let after_text = statuses(&run_json(&out));
    for (name, status) in &after_text {
        let want = if name == "text" { "ran" } else { "cached" };
        assert_eq!(status, want, "{name}: {after_text:?}");
    }

    // The MMM reads this run's text trends as controls: a text change now reruns the
    // text stage, the MMM and the allocation that depends on it, and nothing else.
    toml.push_str("\n[mmm]\ntext_controls = [\"text_sentiment\"]\n");
    std::fs::write(&config, &toml).unwrap();
    let o = adroit(&args, dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let with_controls = run_json(&out);
    let mmm = with_controls["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mmm")
        .unwrap();
    assert!(
        mmm["commands"][0]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--text-trends"),
        "{mmm}"
    );
    let toml = toml.replace("keywords = 3", "keywords = 4");
    std::fs::write(&config, &toml).unwrap();
    let o = adroit(&args, dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let s = statuses(&run_json(&out));
    for (name, status) in &s {
        let want = if ["text", "mmm", "allocation"].contains(&name.as_str()) {
            "ran"
        } else {
            "cached"
        };
        assert_eq!(status, want, "{name}: {s:?}");
    }

    // A changed data file reruns the stages that read it.
    let kpi = world.join("kpi.csv");
    let rows = std::fs::read_to_string(&kpi).unwrap();
    // The last day's revenue gains a leading 1.
    let last = rows.trim_end().rsplit('\n').next().unwrap().to_string();
    let changed = rows.replace(&last, &last.replacen(',', ",1", 1));
    assert_ne!(changed, rows);
    std::fs::write(&kpi, changed).unwrap();
    let o = adroit(&args, dir.path());
    let s = statuses(&run_json(&out));
    assert_eq!(status_of(&s, "metrics"), "cached", "{s:?}");
    assert_eq!(status_of(&s, "customers"), "cached", "{s:?}");
    assert_eq!(status_of(&s, "check"), "ran", "{s:?}");
    assert_eq!(status_of(&s, "mmm"), "ran", "{}", text(&o));
}

#[test]
fn a_failing_stage_skips_what_needs_it_and_the_run_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let world = world(dir.path());
    // The KPI file loses its revenue column: the MMM cannot be fitted.
    let kpi = world.join("kpi.csv");
    let raw = std::fs::read_to_string(&kpi).unwrap();
    std::fs::write(&kpi, raw.replacen("revenue", "turnover", 1)).unwrap();
    let out = dir.path().join("run");
    let o = adroit(
        &[
            "run",
            "--config",
            world.join("adroit.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--today",
            "2030-01-01",
            "--skip",
            "text,customers,uplift",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let run = run_json(&out);
    let s = statuses(&run);
    assert_eq!(status_of(&s, "mmm"), "failed", "{s:?}");
    assert_eq!(status_of(&s, "allocation"), "skipped", "{s:?}");
    assert_eq!(status_of(&s, "text"), "skipped", "{s:?}");
    assert_eq!(status_of(&s, "attribution"), "ran", "{s:?}");
    let mmm = run["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mmm")
        .unwrap();
    let reason = mmm["reason"].as_str().unwrap();
    assert!(reason.contains("adroit mmm fit"), "{reason}");
    assert!(out.join(mmm["log"].as_str().unwrap()).is_file());
    assert!(text(&o).contains("stage mmm failed"), "{}", text(&o));
    // The report still renders what ran.
    assert!(out.join("report.html").is_file());
}
