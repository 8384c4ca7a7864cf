//! End-to-end tests of `adroit privacy`: scan, protect, release, kanon on small
//! hand-made files, with the errors a user meets.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const KEY: &str = "s3cret-pseudonym-key-0123456789abcdef";
const OTHER_KEY: &str = "another-secret-key-fedcba9876543210";

/// Customers: ids, a name, contact details, quasi-identifiers and a free-text note.
const CUSTOMERS: &str = "\
customer_id,name,phone,email,id_number,age,zip,gender,note,spend
C001,张伟,13812345678,zhang.wei@example.com,11010519491231002X,34,100081,M,送货请打13812345678,120.5
C002,李娜,13987654321,lina@example.cn,110105194912310021,29,100082,F,fast delivery thanks a lot,80
C003,Jane Smith,15011112222,jane@example.org,,41,100083,F,please call me at 15011112222 after six,45
C004,John Brown,18600001111,john@example.net,,37,200001,M,nothing special about this one,300
";

/// Orders of the same customers: the join key must survive pseudonymisation.
const ORDERS: &str = "\
order_id,customer_id,timestamp,amount
O1,C001,2024-01-01 10:00:00,120.5
O2,C002,2024-01-02 11:00:00,80
O3,C001,2024-01-03 12:00:00,45
";

fn adroit(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_adroit"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("ADROIT_PSEUDONYM_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run adroit")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8")
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("customers.csv"), CUSTOMERS).unwrap();
    std::fs::write(dir.path().join("orders.csv"), ORDERS).unwrap();
    dir
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    r.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn col(rows: &[Vec<String>], name: &str) -> Vec<String> {
    let i = rows[0].iter().position(|h| h == name).expect(name);
    rows[1..].iter().map(|r| r[i].clone()).collect()
}

#[test]
fn scan_lists_personal_data_without_values() {
    let dir = setup();
    let out = adroit(
        &[
            "privacy",
            "scan",
            "--data",
            "customers.csv",
            "--format",
            "json",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    for secret in [
        "13812345678",
        "zhang.wei@example.com",
        "11010519491231002X",
        "张伟",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into the scan");
    }
    let json: Value = serde_json::from_str(&text).unwrap();
    let columns = json[0]["columns"].as_array().unwrap();
    let find = |name: &str| columns.iter().find(|c| c["column"] == name).unwrap();
    assert_eq!(find("phone")["kinds"][0]["kind"], "phone");
    assert_eq!(find("phone")["kinds"][0]["cells"], 4);
    assert_eq!(find("phone")["role"], "direct");
    // The valid ID (checksum X) is found; the one with a wrong check digit is not.
    assert_eq!(find("id_number")["kinds"][0]["kind"], "id_card");
    assert_eq!(find("id_number")["kinds"][0]["cells"], 1);
    assert_eq!(find("id_number")["kinds"][0]["example_rows"][0], 1);
    assert_eq!(find("email")["kinds"][0]["cells"], 4);
    assert_eq!(find("name")["kinds"][0]["kind"], "name");
    assert_eq!(find("customer_id")["role"], "direct");
    assert_eq!(find("zip")["role"], "quasi");
    assert_eq!(find("note")["free_text"], true);
    assert_eq!(find("note")["kinds"][0]["cells"], 2);
    assert_eq!(json[0]["actions"]["note"], "mask");
    assert_eq!(json[0]["actions"]["customer_id"], "pseudonymize");
    assert_eq!(json[0]["actions"]["spend"], "keep");
    assert_eq!(json[0]["rows_affected"], 4);

    let out = adroit(
        &["privacy", "scan", "--data", "customers.csv"],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.contains("phone: 4 (100.0%) rows 1, 2, 3"), "{text}");
    assert!(!text.contains("13812345678"));

    // One text column of a file.
    let out = adroit(
        &[
            "privacy",
            "scan",
            "--texts",
            "customers.csv",
            "--text-col",
            "note",
            "--format",
            "json",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json[0]["columns"].as_array().unwrap().len(), 1);
    // A missing column is named, with the ones there are.
    let out = adroit(
        &[
            "privacy",
            "scan",
            "--texts",
            "customers.csv",
            "--text-col",
            "review",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("no column `review`") && err.contains("note"),
        "{err}"
    );
    let out = adroit(&["privacy", "scan"], dir.path(), &[]);
    assert_eq!(code(&out), 2);
}

fn every_file(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files.extend(every_file(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[test]
fn protect_pseudonymises_keeps_joins_and_never_writes_the_key() {
    let dir = setup();
    let run = |out: &str, key: &str| {
        adroit(
            &[
                "privacy",
                "protect",
                "--data",
                "customers.csv",
                "--data",
                "orders.csv",
                "--key-env",
                "MY_KEY",
                "--out",
                out,
            ],
            dir.path(),
            &[("MY_KEY", key)],
        )
    };
    let out = run("protected", KEY);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let customers = read_csv(&dir.path().join("protected/customers.csv"));
    let orders = read_csv(&dir.path().join("protected/orders.csv"));
    assert_eq!(
        customers[0],
        CUSTOMERS
            .lines()
            .next()
            .unwrap()
            .split(',')
            .collect::<Vec<_>>()
    );
    let ids = col(&customers, "customer_id");
    assert!(
        ids.iter().all(|p| p.starts_with("p_") && p.len() == 18),
        "{ids:?}"
    );
    // The join survives: C001 and C002 in orders map to the same pseudonyms.
    let order_ids = col(&orders, "customer_id");
    assert_eq!(
        order_ids,
        vec![ids[0].clone(), ids[1].clone(), ids[0].clone()]
    );
    // Contact columns pseudonymised, the note masked, other columns as they were.
    assert!(col(&customers, "phone").iter().all(|p| p.starts_with("p_")));
    assert!(col(&customers, "name").iter().all(|p| p.starts_with("p_")));
    let notes = col(&customers, "note");
    assert_eq!(notes[0], "送货请打[PHONE]");
    assert_eq!(notes[1], "fast delivery thanks a lot");
    assert_eq!(col(&customers, "age"), vec!["34", "29", "41", "37"]);
    assert_eq!(col(&customers, "zip")[0], "100081");
    assert_eq!(col(&orders, "amount"), vec!["120.5", "80", "45"]);
    // No personal value and never the key in any written file.
    for f in every_file(&dir.path().join("protected")) {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains(KEY), "the key is in {}", f.display());
        for secret in [
            "13812345678",
            "zhang.wei@example.com",
            "11010519491231002X",
            "张伟",
            "C001",
        ] {
            assert!(!text.contains(secret), "{secret} in {}", f.display());
        }
    }
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("protected/protect.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["tables"][0]["masked"]["note"]["phone"], 2);
    // Stable across runs with the same key; unlinkable with another key.
    let again = run("again", KEY);
    assert_eq!(code(&again), 0);
    assert_eq!(
        std::fs::read(dir.path().join("protected/customers.csv")).unwrap(),
        std::fs::read(dir.path().join("again/customers.csv")).unwrap()
    );
    let other = run("other", OTHER_KEY);
    assert_eq!(code(&other), 0);
    let other_ids = col(
        &read_csv(&dir.path().join("other/customers.csv")),
        "customer_id",
    );
    assert!(ids.iter().zip(&other_ids).all(|(a, b)| a != b));
    // The same from a key file.
    std::fs::write(dir.path().join("key.txt"), format!("{KEY}\n")).unwrap();
    let out = adroit(
        &[
            "privacy",
            "protect",
            "--data",
            "orders.csv",
            "--key-file",
            "key.txt",
            "--out",
            "fromfile",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        col(
            &read_csv(&dir.path().join("fromfile/orders.csv")),
            "customer_id"
        ),
        order_ids
    );
}

#[test]
fn protect_needs_a_key_and_names_the_variable() {
    let dir = setup();
    let out = adroit(
        &[
            "privacy",
            "protect",
            "--data",
            "customers.csv",
            "--out",
            "p",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("ADROIT_PSEUDONYM_KEY"), "{err}");
    assert!(!dir.path().join("p").exists());
    let out = adroit(
        &[
            "privacy",
            "protect",
            "--data",
            "customers.csv",
            "--key-env",
            "SHOP_KEY",
            "--out",
            "p",
        ],
        dir.path(),
        &[],
    );
    assert!(stderr(&out).contains("SHOP_KEY"));
    let out = adroit(
        &[
            "privacy",
            "protect",
            "--data",
            "customers.csv",
            "--out",
            "p",
        ],
        dir.path(),
        &[("ADROIT_PSEUDONYM_KEY", "short")],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("at least 16"), "{}", stderr(&out));
    // A column to pseudonymise that no table has.
    let out = adroit(
        &[
            "privacy",
            "protect",
            "--data",
            "orders.csv",
            "--columns",
            "shop",
            "--out",
            "p",
        ],
        dir.path(),
        &[("ADROIT_PSEUDONYM_KEY", KEY)],
    );
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("`shop`") && err.contains("order_id"), "{err}");
}

#[test]
fn protect_a_config_uses_the_contract_id_columns() {
    let dir = setup();
    std::fs::write(
        dir.path().join("adroit.toml"),
        "[transactions]\npath = \"orders.csv\"\n\n[privacy]\nidentifiers = [\"order_id\"]\n",
    )
    .unwrap();
    let out = adroit(
        &[
            "privacy",
            "protect",
            "--config",
            "adroit.toml",
            "--no-scan",
            "--out",
            "p",
        ],
        dir.path(),
        &[("ADROIT_PSEUDONYM_KEY", KEY)],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = read_csv(&dir.path().join("p/transactions.csv"));
    assert!(
        col(&rows, "customer_id")
            .iter()
            .all(|p| p.starts_with("p_"))
    );
    assert!(col(&rows, "order_id").iter().all(|p| p.starts_with("p_")));
    assert_eq!(col(&rows, "timestamp")[0], "2024-01-01 10:00:00");
    let out = adroit(
        &["privacy", "scan", "--config", "adroit.toml"],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("transactions"));
}

fn metrics(dir: &Path) {
    let mut text = String::from("channel,user,spend,revenue\n");
    for i in 0..300 {
        let channel = ["search", "social", "video"][i % 3];
        text.push_str(&format!(
            "{channel},u{},{},{}\n",
            i % 100,
            i % 50,
            (i % 7) * 10
        ));
    }
    text.push_str("search,u1,5000,10\n"); // clipped to the bound
    std::fs::write(dir.join("metrics.csv"), text).unwrap();
}

#[test]
fn release_adds_calibrated_noise_and_the_ledger_refuses_overspending() {
    let dir = tempfile::tempdir().unwrap();
    metrics(dir.path());
    let release = |seed: &str, out: &str| {
        adroit(
            &[
                "privacy",
                "release",
                "--data",
                "metrics.csv",
                "--group",
                "channel",
                "--count",
                "--sum",
                "spend",
                "--bound",
                "spend=0..100",
                "--epsilon",
                "1.0",
                "--ledger",
                "ledger.json",
                "--dataset",
                "shop",
                "--budget",
                "3.0",
                "--seed",
                seed,
                "--out",
                out,
            ],
            dir.path(),
            &[],
        )
    };
    let out = release("7", "r1.csv");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("count: sensitivity 1, ε = 0.5000"), "{text}");
    assert!(text.contains("noise b = 200.0000"), "{text}");
    assert!(
        stderr(&out).contains("sum_spend: 1 value(s)"),
        "{}",
        stderr(&out)
    );
    let rows = read_csv(&dir.path().join("r1.csv"));
    assert_eq!(
        rows[0],
        vec![
            "channel",
            "count",
            "count_noise_b",
            "sum_spend",
            "sum_spend_noise_b"
        ]
    );
    assert_eq!(col(&rows, "channel"), vec!["search", "social", "video"]);
    assert!(col(&rows, "count_noise_b").iter().all(|b| b == "2.000000"));
    // Same seed, same numbers.
    let out = release("7", "r2.csv");
    assert_eq!(code(&out), 0);
    assert_eq!(
        std::fs::read(dir.path().join("r1.csv")).unwrap(),
        std::fs::read(dir.path().join("r2.csv")).unwrap()
    );
    let out = release("8", "r3.csv");
    assert_eq!(code(&out), 0);
    let ledger: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("ledger.json")).unwrap())
            .unwrap();
    assert_eq!(
        ledger["datasets"]["shop"]["releases"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(ledger["datasets"]["shop"]["budget"]["epsilon"], 3.0);
    // The fourth would spend ε = 4 > 3: refused, ledger and outputs untouched.
    let before = std::fs::read(dir.path().join("ledger.json")).unwrap();
    let out = release("9", "r4.csv");
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(dir.path().join("ledger.json")).unwrap(),
        before
    );
    assert!(!dir.path().join("r4.csv").exists());

    // Gaussian with a per-user bound, JSON out.
    let out = adroit(
        &[
            "privacy",
            "release",
            "--data",
            "metrics.csv",
            "--group",
            "channel",
            "--count",
            "--epsilon",
            "0.5",
            "--delta",
            "1e-6",
            "--mechanism",
            "gaussian",
            "--user-col",
            "user",
            "--max-rows-per-user",
            "2",
            "--ledger",
            "ledger.json",
            "--dataset",
            "other",
            "--budget",
            "1",
            "--seed",
            "1",
            "--format",
            "json",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["noise"][0]["l2_sensitivity"], 2.0);
    assert!(json["noise"][0]["scale"].as_f64().unwrap() > 0.0);
    assert!(json["groups"][0]["count_noise_scale"].is_number());
}

#[test]
fn release_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    metrics(dir.path());
    let run = |extra: &[&str]| {
        let mut args = vec![
            "privacy",
            "release",
            "--data",
            "metrics.csv",
            "--ledger",
            "l.json",
            "--budget",
            "2",
            "--epsilon",
            "1",
        ];
        args.extend_from_slice(extra);
        adroit(&args, dir.path(), &[])
    };
    let out = run(&["--group", "chanel", "--count"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("no column `chanel`") && err.contains("channel, user, spend"),
        "{err}"
    );
    let out = run(&["--group", "channel", "--sum", "spend"]);
    assert!(
        stderr(&out).contains("--bound spend=LOW..HIGH"),
        "{}",
        stderr(&out)
    );
    let out = run(&["--group", "channel", "--count", "--mechanism", "gaussian"]);
    assert!(stderr(&out).contains("--delta"), "{}", stderr(&out));
    let out = run(&["--group", "channel"]);
    assert!(stderr(&out).contains("nothing to release"));
    assert!(!dir.path().join("l.json").exists());
}

const PEOPLE: &str = "\
age,zip,gender,diagnosis
25,10001,F,flu
25,10001,F,cold
25,10001,F,flu
34,10002,M,flu
34,10002,M,asthma
36,10003,M,cold
41,10011,F,flu
43,10012,F,cold
47,10013,F,flu
52,10021,M,flu
58,10022,M,flu
";

#[test]
fn kanon_reports_classes_and_a_generalization_that_reaches_k() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("people.csv"), PEOPLE).unwrap();
    let out = adroit(
        &[
            "privacy",
            "kanon",
            "--data",
            "people.csv",
            "--quasi",
            "age,zip,gender",
            "--k",
            "2",
            "--out",
            "gen.csv",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("8 classes, smallest 1 rows; 6 rows in 6 classes below k = 2"),
        "{text}"
    );
    assert!(
        text.contains("6 rows (54.5%) would need suppression"),
        "{text}"
    );
    assert!(text.contains("0 rows to suppress"), "{text}");
    let rows = read_csv(&dir.path().join("gen.csv"));
    assert_eq!(rows.len(), 12);
    let mut classes = std::collections::HashMap::new();
    for r in &rows[1..] {
        *classes
            .entry((r[0].clone(), r[1].clone(), r[2].clone()))
            .or_insert(0) += 1;
    }
    assert!(classes.values().all(|n| *n >= 2), "{classes:?}");

    // From the config, with l-diversity, as JSON.
    std::fs::write(
        dir.path().join("adroit.toml"),
        "[privacy]\nquasi_identifiers = [\"age\", \"zip\", \"gender\"]\nsensitive = \"diagnosis\"\nk = 2\nl = 2\n",
    )
    .unwrap();
    let out = adroit(
        &[
            "privacy",
            "kanon",
            "--data",
            "people.csv",
            "--config",
            "adroit.toml",
            "--format",
            "json",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 1);
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["suggestion"]["achieved"], true);
    assert_eq!(json["suggestion"]["initial"]["rows_below_l"], 6);
    assert!(
        json["suggestion"]["result"]["smallest_diversity"]
            .as_u64()
            .unwrap()
            >= 2
    );
    // k = 1 holds as it is: exit 0.
    let out = adroit(
        &[
            "privacy",
            "kanon",
            "--data",
            "people.csv",
            "--quasi",
            "age,zip",
            "--k",
            "1",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    // Errors.
    let out = adroit(
        &[
            "privacy",
            "kanon",
            "--data",
            "people.csv",
            "--quasi",
            "postcode",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("no column `postcode`") && err.contains("age, zip, gender, diagnosis"),
        "{err}"
    );
    let out = adroit(
        &["privacy", "kanon", "--data", "people.csv"],
        dir.path(),
        &[],
    );
    assert!(stderr(&out).contains("quasi_identifiers"));
}
