//! `adroit fairness`: the bias audit of a selection, by hand-countable groups.

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

#[test]
fn a_targeting_list_is_audited_by_groups_from_another_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 8 people: women w1–w4, men m1–m4. Selected: w1 (1 of 4 women), m1, m2, m3 (3 of 4 men).
    std::fs::write(
        d.join("targeting.csv"),
        "customer_id,score,contact,bought\nw1,0.9,yes,1\nm1,0.8,yes,1\nm2,0.7,yes,0\nm3,0.6,yes,1\nw2,0.5,no,1\nw3,0.4,no,0\nm4,0.3,no,0\nw4,0.2,no,0\n",
    )
    .unwrap();
    std::fs::write(
        d.join("customers.csv"),
        "customer_id,gender,region\nm1,m,北\nm2,m,南\nm3,m,北\nm4,m,南\nw1,f,北\nw2,f,南\nw3,f,北\nw4,f,南\n",
    )
    .unwrap();
    let o = adroit(
        &[
            "fairness",
            "--data",
            "targeting.csv",
            "--selected",
            "contact",
            "--group",
            "gender,region",
            "--groups-from",
            "customers.csv",
            "--on",
            "customer_id",
            "--truth",
            "bought",
            "--max-gap",
            "0.3",
            "--min-disparate-impact",
            "0.8",
            "--out",
            "fairness.json",
        ],
        d,
    );
    // Gender: selection 0.25 vs 0.75 → parity gap 0.5, impact 1/3: fails.
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let audit: Value =
        serde_json::from_slice(&std::fs::read(d.join("fairness.json")).unwrap()).unwrap();
    assert_eq!(audit["pass"], false);
    let gender = &audit["attributes"][0];
    assert_eq!(gender["column"], "gender");
    assert_eq!(gender["groups"][0]["group"], "f");
    assert_eq!(gender["groups"][0]["positive_rate"], 0.25);
    assert_eq!(gender["groups"][1]["positive_rate"], 0.75);
    // Women who bought: w1, w2 → TPR 1/2; men who bought: m1, m3 → TPR 1.
    assert_eq!(gender["groups"][0]["tpr"], 0.5);
    assert_eq!(gender["groups"][1]["tpr"], 1.0);
    assert_eq!(gender["demographic_parity_difference"], 0.5);
    assert!((gender["disparate_impact_ratio"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(gender["failures"].as_array().unwrap().len(), 3, "{gender}");
    // Region: 北 3 of 4 (w1, m1, m3), 南 1 of 4 (m2).
    let region = &audit["attributes"][1];
    assert_eq!(region["groups"][0]["group"], "北");
    assert_eq!(region["groups"][0]["positive_rate"], 0.75);

    // Within the limits: pass and exit 0.
    let o = adroit(
        &[
            "fairness",
            "--data",
            "targeting.csv",
            "--selected",
            "contact",
            "--group",
            "gender",
            "--groups-from",
            "customers.csv",
            "--on",
            "customer_id",
            "--max-gap",
            "0.6",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(show(&o).contains("pass"), "{}", show(&o));
}

#[test]
fn bad_input_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("t.csv"), "id,contact\na,yes\nb,no\n").unwrap();
    std::fs::write(d.join("c.csv"), "id,gender\na,f\n").unwrap();
    let o = adroit(
        &[
            "fairness",
            "--data",
            "t.csv",
            "--selected",
            "contact",
            "--group",
            "gender",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(show(&o).contains("no column `gender`"), "{}", show(&o));
    let o = adroit(
        &[
            "fairness",
            "--data",
            "t.csv",
            "--selected",
            "contact",
            "--group",
            "gender",
            "--groups-from",
            "c.csv",
            "--on",
            "id",
        ],
        d,
    );
    assert!(
        show(&o).contains("row 2: id \"b\" is not in c.csv"),
        "{}",
        show(&o)
    );
    let o = adroit(
        &[
            "fairness",
            "--data",
            "t.csv",
            "--selected",
            "contact",
            "--group",
            "id",
            "--max-gap",
            "2",
        ],
        d,
    );
    assert!(
        show(&o).contains("--max-gap must be between 0 and 1"),
        "{}",
        show(&o)
    );
}
