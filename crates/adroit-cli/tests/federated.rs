//! `adroit federated`: three sites and a coordinator over files, against the
//! centralised fit of `adroit model train` (the same library fits).

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

fn show(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Writes `header` + the rows of `lines` in `range` to `dir/name`.
fn part(
    dir: &Path,
    name: &str,
    header: &str,
    lines: &[&str],
    range: std::ops::Range<usize>,
) -> String {
    let mut text = format!("{header}\n");
    for l in &lines[range] {
        text.push_str(l);
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn three_sites_fit_the_advertising_regression_and_a_logistic_model() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/regression/Advertising.csv");
    let Ok(raw) = std::fs::read_to_string(&shared) else {
        eprintln!("skipped: ../shared/data is missing");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lines: Vec<&str> = raw.lines().collect();
    let (header, rows) = (lines[0], &lines[1..]);
    let parts: Vec<String> = [(0..50), (50..120), (120..200)]
        .into_iter()
        .enumerate()
        .map(|(i, r)| part(d, &format!("site{i}.csv"), header, rows, r))
        .collect();

    // Least squares: one round.
    let mut site_files = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let out = d.join(format!("ols{i}.json"));
        let o = adroit(
            &[
                "federated",
                "site",
                "--data",
                p,
                "--features",
                "TV,Radio,Newspaper",
                "--target",
                "Sales",
                "--model",
                "linear",
                "--out",
                out.to_str().unwrap(),
            ],
            d,
        );
        assert!(o.status.success(), "{}", show(&o));
        // Aggregates only: no row of the site is in the file.
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(!text.contains("230.1"), "a raw value leaked: {text}");
        site_files.push(out.display().to_string());
    }
    let model = d.join("ols.json");
    let o = adroit(
        &[
            "federated",
            "combine",
            "--sites",
            &site_files.join(","),
            "--out",
            model.to_str().unwrap(),
        ],
        d,
    );
    assert!(o.status.success(), "{}", show(&o));
    let m = read(&model);
    // ISLR table 3.4: 2.939, 0.046, 0.189, −0.001.
    let w = m["weights"].as_array().unwrap();
    assert!(
        (m["intercept"].as_f64().unwrap() - 2.938889).abs() < 1e-6,
        "{m}"
    );
    assert!((w[0].as_f64().unwrap() - 0.045765).abs() < 1e-6, "{m}");
    assert!((w[1].as_f64().unwrap() - 0.188530).abs() < 1e-6, "{m}");
    assert!((w[2].as_f64().unwrap() + 0.001037).abs() < 1e-6, "{m}");
    assert_eq!(m["rows"], 200.0);

    // Logistic in rounds: is a market's sales above 14?
    let labelled: Vec<String> = rows
        .iter()
        .map(|l| {
            let sales: f64 = l.rsplit(',').next().unwrap().parse().unwrap();
            format!("{l},{}", if sales > 14.0 { "high" } else { "low" })
        })
        .collect();
    let labelled: Vec<&str> = labelled.iter().map(String::as_str).collect();
    let header = format!("{header},level");
    let parts: Vec<String> = [(0..50), (50..120), (120..200)]
        .into_iter()
        .enumerate()
        .map(|(i, r)| part(d, &format!("lsite{i}.csv"), &header, &labelled, r))
        .collect();
    let state = d.join("state.json");
    let s = state.to_str().unwrap();
    let o = adroit(
        &[
            "federated",
            "start",
            "--features",
            "TV,Radio",
            "--target",
            "level",
            "--out",
            s,
        ],
        d,
    );
    assert!(o.status.success(), "{}", show(&o));
    let mut rounds = 0;
    while read(&state).get("model").is_none() {
        rounds += 1;
        assert!(rounds < 60, "no convergence");
        let mut files = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let out = d.join(format!("log{i}.json"));
            let o = adroit(
                &[
                    "federated",
                    "site",
                    "--data",
                    p,
                    "--features",
                    "TV,Radio",
                    "--target",
                    "level",
                    "--positive",
                    "high",
                    "--model",
                    "logistic",
                    "--state",
                    s,
                    "--out",
                    out.to_str().unwrap(),
                ],
                d,
            );
            assert!(o.status.success(), "{}", show(&o));
            files.push(out.display().to_string());
        }
        let o = adroit(
            &[
                "federated",
                "combine",
                "--sites",
                &files.join(","),
                "--state",
                s,
                "--out",
                s,
            ],
            d,
        );
        assert!(o.status.success(), "{}", show(&o));
    }
    // The centralised fit of the same model (the library's logistic on all rows).
    let x: Vec<Vec<f64>> = rows
        .iter()
        .map(|l| {
            l.split(',')
                .skip(1)
                .take(2)
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    let y: Vec<f64> = labelled
        .iter()
        .map(|l| f64::from(u8::from(l.ends_with(",high"))))
        .collect();
    let central =
        adroit_learn::linear::logistic(&adroit_learn::data::Matrix::from_rows(&x), &y, 1.0, 100)
            .unwrap();
    let fed = read(&state)["model"].clone();
    println!("federated logistic after {rounds} rounds: {fed}");
    let close = |a: &Value, b: f64| {
        let a = a.as_f64().unwrap();
        assert!((a - b).abs() <= 1e-8 * b.abs().max(1.0), "{a} vs {b}");
    };
    close(&fed["intercept"], central.intercept);
    for (a, b) in fed["weights"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&central.weights)
    {
        close(a, *b);
    }

    // A site that evaluated an older state is refused.
    let o = adroit(
        &[
            "federated",
            "combine",
            "--sites",
            &parts[0],
            "--state",
            s,
            "--out",
            s,
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.csv"), "x,y\n1,2\n2,oops\n").unwrap();
    let o = adroit(
        &[
            "federated",
            "site",
            "--data",
            "a.csv",
            "--features",
            "x",
            "--target",
            "y",
            "--model",
            "linear",
            "--out",
            "s.json",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(show(&o).contains("column `y`"), "{}", show(&o));
    let o = adroit(
        &[
            "federated",
            "site",
            "--data",
            "a.csv",
            "--features",
            "z",
            "--target",
            "x",
            "--model",
            "linear",
            "--out",
            "s.json",
        ],
        d,
    );
    assert!(show(&o).contains("no column `z`"), "{}", show(&o));
    let o = adroit(
        &[
            "federated",
            "site",
            "--data",
            "a.csv",
            "--features",
            "x",
            "--target",
            "x",
            "--model",
            "logistic",
            "--epsilon",
            "0.5",
            "--delta",
            "1e-6",
            "--bound",
            "10",
            "--out",
            "s.json",
        ],
        d,
    );
    assert!(show(&o).contains("not noised"), "{}", show(&o));
}
