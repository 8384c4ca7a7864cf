//! `adroit attribution` end to end: the textbook toy paths (credits derived on paper),
//! ChannelAttribution's 10,000-path example (totals, the four files and their schema),
//! touchpoints cut by the lookback window and decayed by time, the simulated world with
//! spend from its media table, and bad input named by file, line and column.

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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn shared(file: &str) -> Option<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/attribution")
        .join(file);
    p.exists()
        .then(|| p.canonicalize().unwrap().display().to_string())
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[track_caller]
fn close(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: got {got}, want {want}"
    );
}

/// The credit of `channel` by `model` in a report's `channels` rows.
fn credit(report: &Value, channel: &str, model: &str) -> f64 {
    let row = report["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["channel"] == channel)
        .unwrap_or_else(|| panic!("no channel {channel}"));
    f(&row["conversions"][model])
}

#[test]
fn the_toy_paths_get_the_paper_credits() {
    let Some(toy) = shared("toy_three_paths.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let report = json(&adroit(
        &["attribution", "--paths", &toy, "--format", "json"],
        dir.path(),
    ));
    assert_eq!(report["format"], "adroit-attribution v1");
    // First-order Markov: removal effects 1/2, 1, 1, so the conversion goes 0.2/0.4/0.4
    // and the value 10 goes 2/4/4 (see adroit-attribution/tests/toy_three_paths.rs).
    for (channel, effect, share) in [("C1", 0.5, 0.2), ("C2", 1.0, 0.4), ("C3", 1.0, 0.4)] {
        close(credit(&report, channel, "markov"), share, 1e-12, channel);
        let row = report["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["channel"] == channel)
            .unwrap();
        close(f(&row["removal_effect"]), effect, 1e-12, channel);
        close(f(&row["markov_share"]), share, 1e-12, channel);
        close(f(&row["value"]["markov"]), 10.0 * share, 1e-10, channel);
    }
    close(credit(&report, "C1", "first"), 1.0, 0.0, "first");
    close(credit(&report, "C3", "last"), 1.0, 0.0, "last");
    close(credit(&report, "C2", "linear"), 1.0 / 3.0, 1e-12, "linear");
    // Position 40/20/40 and time decay by position (half-life 1 touch: 1/4, 1/2, 1).
    close(credit(&report, "C2", "position"), 0.2, 1e-12, "position");
    close(
        credit(&report, "C3", "time_decay"),
        4.0 / 7.0,
        1e-12,
        "time decay",
    );
    assert_eq!(report["settings"]["half_life_unit"], "touches");
    // Order 3: the converting journey is one state that every removal deletes.
    let order3 = json(&adroit(
        &[
            "attribution",
            "--paths",
            &toy,
            "--format",
            "json",
            "--models",
            "markov",
            "--markov-order",
            "3",
        ],
        dir.path(),
    ));
    for channel in ["C1", "C2", "C3"] {
        close(
            credit(&order3, channel, "markov"),
            1.0 / 3.0,
            1e-12,
            channel,
        );
    }
    assert_eq!(order3["settings"]["models"], serde_json::json!(["markov"]));
    // The table names every model and the removal effect.
    let table = adroit(&["attribution", "--paths", &toy], dir.path());
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    for word in [
        "Conversions credited",
        "Conversion value credited",
        "time decay",
        "removal effect",
        "markov share",
        "shapley",
        "40.00%",
    ] {
        assert!(text.contains(word), "{word} missing from\n{text}");
    }
}

#[test]
fn the_channelattribution_example_adds_up_and_writes_four_files() {
    let Some(data) = shared("channelattribution_paths.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = adroit(
        &[
            "attribution",
            "--paths",
            &data,
            "--out",
            "result",
            "--top",
            "20",
            "--min-journeys",
            "20",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("wrote result/attribution.json"));
    let result = dir.path().join("result");
    let report = read_json(result.join("attribution.json"));
    for key in [
        "format",
        "input",
        "settings",
        "channels",
        "models",
        "markov",
        "shapley",
        "transition_matrix",
        "top_paths",
        "spend",
        "notes",
    ] {
        assert!(report.get(key).is_some(), "attribution.json has no {key}");
    }
    let input = &report["input"];
    assert_eq!(input["kind"], "paths");
    assert_eq!(input["distinct_paths"], 5408);
    assert_eq!(input["channels"].as_array().unwrap().len(), 12);
    close(f(&input["conversions"]), 19_785.0, 0.0, "conversions");
    close(f(&input["nulls"]), 68_602.0, 0.0, "nulls");
    // 74,802.97 in PROVENANCE.md, rounded.
    let value = f(&input["value"]);
    close(value, 74_802.97, 0.005, "value");
    // Every model hands out exactly the conversions and the value (to channels, and
    // for data-driven also to the organic baseline).
    let models = report["models"].as_array().unwrap();
    assert_eq!(models.len(), 8);
    for model in models {
        let sum = |field: &str| -> f64 {
            model["channels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| f(&c[field]))
                .sum::<f64>()
                + model["baseline"].get(field).map_or(0.0, f)
        };
        close(
            sum("conversions"),
            19_785.0,
            1e-6,
            &model["model"].to_string(),
        );
        close(sum("value"), value, 1e-6, &model["model"].to_string());
    }
    let markov = &report["markov"];
    assert_eq!(markov["order"], 1);
    assert_eq!(markov["states"], 13);
    assert_eq!(markov["solve"]["method"], "dense_lu");
    for field in [
        "removal_effect",
        "value_removal_effect",
        "conversions",
        "value",
    ] {
        assert!(markov["channels"][0].get(field).is_some(), "{field}");
    }
    assert_eq!(report["shapley"]["game"], "conversions");
    assert_eq!(report["shapley"]["method"], "closed_form");
    assert!(report["spend"].is_null());
    // The order-1 transition matrix is the Markov result's.
    assert_eq!(report["transition_matrix"], markov["transitions"]);

    // attribution.csv: channel × model.
    let csv = std::fs::read_to_string(result.join("attribution.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "channel,model,conversions,conversion_share,value,spend,roas,removal_effect"
    );
    // 12 channels × 8 models, and the data-driven model's organic baseline.
    assert_eq!(lines.clone().count(), 12 * 8 + 1);
    assert!(csv.contains("\n(baseline),data_driven,"));
    let markov_rows: Vec<&str> = lines.filter(|l| l.contains(",markov,")).collect();
    assert_eq!(markov_rows.len(), 12);
    assert!(
        markov_rows.iter().all(|l| !l.ends_with(',')),
        "{markov_rows:?}"
    );

    // transitions.csv: probabilities out of each state add up to 1.
    let transitions = std::fs::read_to_string(result.join("transitions.csv")).unwrap();
    let mut lines = transitions.lines();
    assert_eq!(lines.next().unwrap(), "from,to,count,probability");
    let mut out_of: std::collections::BTreeMap<String, f64> = Default::default();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        *out_of.entry(cells[0].to_string()).or_default() += cells[3].parse::<f64>().unwrap();
    }
    assert_eq!(out_of.len(), 13);
    for (from, sum) in out_of {
        close(sum, 1.0, 1e-12, &from);
    }

    // top_paths.csv: 20 most frequent, 20 highest converting with at least 20 journeys.
    let top = std::fs::read_to_string(result.join("top_paths.csv")).unwrap();
    let rows: Vec<Vec<&str>> = top
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        top.lines().next().unwrap(),
        "ranking,rank,path,length,journeys,conversions,nulls,conversion_rate,value"
    );
    assert_eq!(rows.iter().filter(|r| r[0] == "most_frequent").count(), 20);
    let converting: Vec<&Vec<&str>> = rows
        .iter()
        .filter(|r| r[0] == "highest_converting")
        .collect();
    assert_eq!(converting.len(), 20);
    assert!(
        converting
            .iter()
            .all(|r| r[4].parse::<f64>().unwrap() >= 20.0)
    );
    assert_eq!(rows[0][2], "alpha > alpha > alpha");
    assert_eq!(rows[0][4], "18610");

    // --format json prints the same report.
    let printed = json(&adroit(
        &["attribution", "--paths", &data, "--format", "json"],
        dir.path(),
    ));
    assert_eq!(printed["channels"], report["channels"]);
}

/// Three users: u1 converts 35 days after a search touch, u2 a week after a social one.
const TOUCHPOINTS: &str = "\
user_id,timestamp,channel,conversion,value
u1,2024-01-01T00:00:00,search,0,
u1,2024-01-11T00:00:00,social,0,
u1,2024-02-05T00:00:00,email,1,100
u1,2024-02-10T00:00:00,search,0,
u2,2024-01-02T00:00:00,social,0,
u2,2024-01-09T00:00:00,email,1,50
u3,2024-01-01T00:00:00,social,0,
u3,2024-01-02T00:00:00,social,0,
";

#[test]
fn touchpoints_are_cut_by_the_lookback_and_decayed_by_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("touchpoints.csv"), TOUCHPOINTS).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "attribution",
            "--touchpoints",
            "touchpoints.csv",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        json(&adroit(&args, dir.path()))
    };
    let all = run(&[]);
    let input = &all["input"];
    assert_eq!(input["kind"], "touchpoints");
    assert_eq!(input["touchpoint_rows"], 8);
    assert_eq!(input["users"], 3);
    assert_eq!(input["from"], "2024-01-01");
    assert_eq!(input["to"], "2024-02-10");
    // Journeys: u1's conversion, u1's search after it (null), u2's, u3's (null).
    close(f(&input["journeys"]), 4.0, 0.0, "journeys");
    close(f(&input["conversions"]), 2.0, 0.0, "conversions");
    close(f(&input["value"]), 150.0, 0.0, "value");
    // Without a window, u1's first touch is the search 35 days before the conversion.
    close(
        credit(&all, "search", "first"),
        1.0,
        0.0,
        "first, no lookback",
    );
    close(
        credit(&all, "social", "first"),
        1.0,
        0.0,
        "first, no lookback",
    );

    let cut = run(&["--lookback", "30d", "--half-life", "7d"]);
    assert_eq!(cut["settings"]["lookback_seconds"], 30 * 86_400);
    // The 30-day window drops that search touch: social is first on both journeys.
    close(credit(&cut, "search", "first"), 0.0, 0.0, "first, 30d");
    close(credit(&cut, "social", "first"), 2.0, 0.0, "first, 30d");
    close(credit(&cut, "email", "last"), 2.0, 0.0, "last");
    assert_eq!(
        cut["top_paths"]["most_frequent"][0]["path"],
        "social > email"
    );
    // Time decay by time, half-life 7 days: u2's social touch a week out weighs 1/2
    // (1/3 of the conversion); u1's social touch 25 days out weighs 2^(-25/7).
    let u1_social = 2f64.powf(-25.0 / 7.0);
    close(
        credit(&cut, "social", "time_decay"),
        1.0 / 3.0 + u1_social / (1.0 + u1_social),
        1e-12,
        "time decay",
    );
    assert_eq!(cut["settings"]["half_life_unit"], "seconds");
    close(f(&cut["settings"]["half_life_value"]), 604_800.0, 0.0, "7d");
    // A plain number decays by position instead.
    let by_touch = run(&["--half-life", "1"]);
    assert_eq!(by_touch["settings"]["half_life_unit"], "touches");
    // u2: social one touch before the conversion weighs 1/2 → 1/3; u1 (no window):
    // search, social, email weigh 1/4, 1/2, 1 → social 2/7.
    close(
        credit(&by_touch, "social", "time_decay"),
        1.0 / 3.0 + 2.0 / 7.0,
        1e-12,
        "time decay by touches",
    );
}

#[test]
fn the_simulated_world_is_attributed_with_its_spend() {
    let dir = tempfile::tempdir().unwrap();
    let sim = adroit(
        &[
            "simulate",
            "--seed",
            "42",
            "--customers",
            "2000",
            "--out",
            "world",
        ],
        dir.path(),
    );
    assert!(sim.status.success(), "{}", stderr(&sim));
    let out = adroit(
        &[
            "attribution",
            "--config",
            "world/adroit.toml",
            "--lookback",
            "30d",
            "--out",
            "result",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("Attributed ROAS"), "{table}");
    let report = read_json(dir.path().join("result/attribution.json"));
    // Every conversion in touchpoints.csv is in a journey (each is a channel touch).
    let csv = std::fs::read_to_string(dir.path().join("world/touchpoints.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let conversion = header.iter().position(|c| *c == "conversion").unwrap();
    let converted = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(conversion) == Some("1"))
        .count();
    assert!(converted > 0);
    close(
        f(&report["input"]["conversions"]),
        converted as f64,
        0.0,
        "conversions",
    );
    close(
        f(&report["input"]["unattributed_conversions"]),
        0.0,
        0.0,
        "unattributed",
    );
    // One journey per touched user (the simulator converts at most once, on the last touch).
    assert_eq!(
        f(&report["input"]["journeys"]) as u64,
        report["input"]["users"].as_u64().unwrap()
    );
    // Spend over the touchpoints' dates, matched by name for all four channels.
    let spend = &report["spend"];
    assert_eq!(spend["from"], report["input"]["from"]);
    assert_eq!(spend["to"], report["input"]["to"]);
    let truth = read_json(dir.path().join("world/truth.json"));
    let channels = truth["spec"]["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 4);
    for channel in channels {
        let name = channel.as_str().unwrap();
        assert!(f(&spend["by_channel"][name]) > 0.0, "{name}");
        let row = report["channels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["channel"] == name)
            .unwrap();
        let roas = f(&row["roas"]["markov"]);
        close(
            roas,
            f(&row["value"]["markov"]) / f(&row["spend"]),
            1e-15,
            name,
        );
    }
    // The only note is the data-driven model's organic baseline.
    let notes = report["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{report}");
    assert!(
        notes[0]
            .as_str()
            .unwrap()
            .starts_with("data-driven: the fitted organic baseline"),
        "{report}"
    );
    assert_eq!(
        report["data_driven"]["channels"].as_array().unwrap().len(),
        4
    );
}

#[test]
fn unmatched_spend_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("touchpoints.csv"), TOUCHPOINTS).unwrap();
    std::fs::write(
        dir.path().join("media.csv"),
        "date,channel,spend\n2024-01-05,search,100\n2024-01-05,Social,50\n2023-12-01,search,1000\n",
    )
    .unwrap();
    let report = json(&adroit(
        &[
            "attribution",
            "--touchpoints",
            "touchpoints.csv",
            "--media",
            "media.csv",
            "--format",
            "json",
        ],
        dir.path(),
    ));
    // December's spend is before the journeys' first day and is left out.
    close(
        f(&report["spend"]["by_channel"]["search"]),
        100.0,
        0.0,
        "spend",
    );
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("no spend in the media table for social, email"),
        "{notes}"
    );
    assert!(
        notes.contains("media channels without journeys: Social"),
        "{notes}"
    );
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("paths.csv"),
        "path;total_conversions;total_conversion_value;total_null\na > b;1;5;0\nb;x;0;3\n",
    )
    .unwrap();
    let o = adroit(&["attribution", "--paths", "paths.csv"], d);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("paths.csv: line 3: total_conversions is not a number (`x`)"),
        "{}",
        stderr(&o)
    );

    std::fs::write(d.join("empty.csv"), "").unwrap();
    let o = adroit(&["attribution", "--paths", "empty.csv"], d);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("empty.csv: no paths"), "{}", stderr(&o));

    let o = adroit(&["attribution", "--paths", "missing.csv"], d);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("cannot read missing.csv"),
        "{}",
        stderr(&o)
    );

    std::fs::write(d.join("good.csv"), "a > b;1;5;0\nb;0;0;3\n").unwrap();
    let o = adroit(
        &["attribution", "--paths", "good.csv", "--format", "json"],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));

    let o = adroit(&["attribution"], d);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("give --paths FILE"), "{}", stderr(&o));

    for (flag, value, expected) in [
        ("--lookback", "30", "give a unit"),
        ("--lookback", "30 parsecs", "expected a number and a unit"),
        ("--half-life", "7d", "aggregated paths carry no times"),
        (
            "--lookback",
            "30d",
            "aggregated paths (--paths) have no times",
        ),
    ] {
        let o = adroit(&["attribution", "--paths", "good.csv", flag, value], d);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}");
        assert!(
            stderr(&o).contains(expected),
            "{flag} {value}: {}",
            stderr(&o)
        );
    }
    for args in [
        ["--markov-order", "5"],
        ["--models", "last,magic"],
        ["--shapley-game", "votes"],
    ] {
        let mut all = vec!["attribution", "--paths", "good.csv"];
        all.extend(args);
        let o = adroit(&all, d);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }

    // Touchpoints: a bad timestamp is named by file, column and row.
    std::fs::write(
        d.join("touchpoints.csv"),
        "user_id,timestamp,channel,conversion\nu1,2024-01-01T00:00:00,search,0\nu1,yesterday,email,1\n",
    )
    .unwrap();
    let o = adroit(&["attribution", "--touchpoints", "touchpoints.csv"], d);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("touchpoints.csv") && e.contains("column `timestamp`") && e.contains("row 2"),
        "{e}"
    );
    // Without a conversion column there is nothing to attribute.
    std::fs::write(
        d.join("no_conversion.csv"),
        "user_id,timestamp,channel\nu1,2024-01-01T00:00:00,search\n",
    )
    .unwrap();
    let o = adroit(&["attribution", "--touchpoints", "no_conversion.csv"], d);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no conversion column"),
        "{}",
        stderr(&o)
    );
    // A missing required column is named.
    std::fs::write(
        d.join("no_channel.csv"),
        "user_id,timestamp,conversion\nu1,2024-01-01T00:00:00,1\n",
    )
    .unwrap();
    let o = adroit(&["attribution", "--touchpoints", "no_channel.csv"], d);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("channel"), "{}", stderr(&o));
    // A config without [touchpoints].
    std::fs::write(d.join("adroit.toml"), "[media]\npath = \"media.csv\"\n").unwrap();
    let o = adroit(&["attribution", "--config", "adroit.toml"], d);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("[touchpoints] section"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_config_section_sets_models_order_and_lookback_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_adroit"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    assert!(
        run(&[
            "simulate",
            "--seed",
            "3",
            "--customers",
            "300",
            "--out",
            "w"
        ])
        .status
        .success()
    );
    let mut toml = std::fs::read_to_string(dir.path().join("w/adroit.toml")).unwrap();
    toml.push_str(
        "\n[attribution]\nmodels = [\"last\", \"markov\"]\nmarkov_order = 2\nlookback = \"30d\"\n",
    );
    std::fs::write(dir.path().join("w/adroit.toml"), toml).unwrap();
    let settings = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["settings"].clone()
    };
    let s = settings(run(&[
        "attribution",
        "--config",
        "w/adroit.toml",
        "--format",
        "json",
    ]));
    assert_eq!(s["models"], serde_json::json!(["last", "markov"]));
    assert_eq!(s["markov_order"], 2);
    assert_eq!(s["lookback"], "30d");
    let s = settings(run(&[
        "attribution",
        "--config",
        "w/adroit.toml",
        "--markov-order",
        "3",
        "--format",
        "json",
    ]));
    assert_eq!(s["markov_order"], 3, "the flag wins");
    let mut toml = std::fs::read_to_string(dir.path().join("w/adroit.toml")).unwrap();
    toml = toml.replace("\"markov\"]", "\"lda\"]");
    std::fs::write(dir.path().join("w/adroit.toml"), toml).unwrap();
    let bad = run(&["attribution", "--config", "w/adroit.toml"]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown model \"lda\""),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
