//! End-to-end tests of the `adroit` binary: real files in, exit codes, reports and
//! metrics out. Expected metric values are computed by hand from the inputs below.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HEADER: &str = "date,channel,spend,impressions,clicks,conversions,revenue";

/// Ten clean daily rows, two channels, 2024-01-01 … 2024-01-05.
const CLEAN: &str = "\
date,channel,spend,impressions,clicks,conversions,revenue
2024-01-01,search,100,10000,200,10,400
2024-01-01,social,80,20000,150,4,120
2024-01-02,search,110,11000,210,12,430
2024-01-02,social,85,21000,160,5,130
2024-01-03,search,95,9800,190,9,380
2024-01-03,social,90,20500,155,6,140
2024-01-04,search,105,10500,205,11,420
2024-01-04,social,75,19000,140,3,100
2024-01-05,search,98,10100,198,10,410
2024-01-05,social,82,19800,148,4,125
";

/// Hand-made data for the metrics tests. Weeks start on Monday: 2024-01-01 and
/// 2024-01-08 are Mondays, 2024-01-07 is a Sunday (still week 1), 2024-02-05 a Monday.
///
/// search week 2024-01-01: spend 200, imp 20000, clicks 300, conv 20, rev 750
/// search week 2024-01-08: spend 400, imp 50000, clicks 500, conv 40, rev 1000
/// search week 2024-02-05: spend  10, imp  1000, clicks  10, conv  1, rev   20
/// social week 2024-01-01: spend  80, imp 20000, clicks   0, conv  0, rev  100
/// social week 2024-01-08: spend 120, imp 30000, clicks   0, conv  0, rev   60
const METRICS_DATA: &str = "\
date,channel,spend,impressions,clicks,conversions,revenue
2024-01-01,search,100,10000,200,10,400
2024-01-02,social,80,20000,0,0,100
2024-01-03,search,50,5000,50,5,200
2024-01-07,search,50,5000,50,5,150
2024-01-08,search,300,40000,400,25,600
2024-01-09,social,120,30000,0,0,60
2024-01-10,search,100,10000,100,15,400
2024-02-05,search,10,1000,10,1,20
";

fn adroit(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run adroit")
}

fn code(out: &Output) -> i32 {
    out.status
        .code()
        .expect("exit code (not killed by a signal)")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8 stderr")
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", show(out)))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

/// A parsed metrics CSV: header and rows as maps from column name to cell.
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn parse(text: &str) -> Csv {
        let mut lines = text.lines();
        let header = lines
            .next()
            .expect("header line")
            .split(',')
            .map(String::from)
            .collect::<Vec<_>>();
        let rows = lines
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').map(String::from).collect::<Vec<_>>())
            .collect::<Vec<_>>();
        for r in &rows {
            assert_eq!(r.len(), header.len(), "ragged CSV row {r:?}");
        }
        Csv { header, rows }
    }

    fn row(&self, group: &str, period: &str) -> Row<'_> {
        let cells = self
            .rows
            .iter()
            .find(|r| r[0] == group && r[1] == period)
            .unwrap_or_else(|| panic!("no row ({group}, {period}) in {:?}", self.rows));
        Row { csv: self, cells }
    }

    fn keys(&self) -> Vec<(String, String)> {
        self.rows
            .iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect()
    }
}

struct Row<'a> {
    csv: &'a Csv,
    cells: &'a [String],
}

impl Row<'_> {
    fn cell(&self, column: &str) -> &str {
        let i = self
            .csv
            .header
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("no column {column} in {:?}", self.csv.header));
        &self.cells[i]
    }

    fn num(&self, column: &str) -> f64 {
        let c = self.cell(column);
        c.parse()
            .unwrap_or_else(|_| panic!("{column} = {c:?} is not a number in {:?}", self.cells))
    }

    fn is(&self, column: &str, want: f64) {
        assert_close(
            self.num(column),
            want,
            &format!("{column} of {:?}", &self.cells[..2]),
        );
    }

    fn empty(&self, column: &str) {
        assert_eq!(
            self.cell(column),
            "",
            "{column} of {:?} should be an empty cell",
            &self.cells[..2]
        );
    }
}

// ---------------------------------------------------------------- check

#[test]
fn check_clean_media_passes_with_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let media = write(dir.path(), "media.csv", CLEAN);

    let text = adroit(
        &["check", "--media", s(&media), "--today", "2024-12-31"],
        dir.path(),
    );
    assert_eq!(code(&text), 0, "{}", show(&text));
    assert!(stdout(&text).contains("0 errors"), "{}", show(&text));

    let out = adroit(
        &[
            "check",
            "--media",
            s(&media),
            "--today",
            "2024-12-31",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let report = json(&out);
    assert_eq!(report["errors"], 0, "{report:#}");
    assert_eq!(report["tables"].as_array().unwrap().len(), 1);
    let table = &report["tables"][0];
    assert_eq!(table["table"], "media");
    assert_eq!(table["rows"], 10, "{report:#}");
    assert_eq!(table["grain"], "day");
    assert_eq!(
        table["dates"],
        serde_json::json!(["2024-01-01", "2024-01-05"])
    );
    assert_eq!(table["channels"], serde_json::json!(["search", "social"]));
}

#[test]
fn check_negative_spend_is_an_error_with_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    // Data row 4 (file line 5) has spend -75.
    let data = CLEAN.replace("2024-01-02,social,85,", "2024-01-02,social,-75,");
    assert_ne!(data, CLEAN);
    let media = write(dir.path(), "media.csv", &data);
    let out = adroit(
        &[
            "check",
            "--media",
            s(&media),
            "--today",
            "2024-12-31",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let report = json(&out);
    assert_eq!(report["errors"], 1, "{report:#}");
    let neg = findings(&report, "negative_spend");
    assert_eq!(neg.len(), 1, "{report:#}");
    let f = neg[0];
    assert_eq!(f["severity"], "error");
    assert_eq!(f["column"], "spend");
    assert_eq!(f["location"]["rows"], serde_json::json!([4]), "{f:#}");
    assert_eq!(f["location"]["count"], 1);
    assert!(f["file"].as_str().unwrap().ends_with("media.csv"), "{f:#}");
}

#[test]
fn check_with_config_maps_custom_column_names() {
    let dir = tempfile::tempdir().unwrap();
    let data = CLEAN.replace(HEADER, "Day,Source,Cost,Impr,Clicks,Orders,Sales");
    write(dir.path(), "export.csv", &data);
    let config = write(
        dir.path(),
        "adroit.toml",
        r#"
[project]
name = "custom"

[media]
path = "export.csv"
date = "Day"
channel = "Source"
spend = "Cost"
impressions = "Impr"
clicks = "Clicks"
conversions = "Orders"
revenue = "Sales"
"#,
    );
    // Run from elsewhere: the data path is relative to the config's folder.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = adroit(
        &[
            "check",
            "--config",
            s(&config),
            "--today",
            "2024-12-31",
            "--format",
            "json",
        ],
        elsewhere.path(),
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let report = json(&out);
    assert_eq!(report["errors"], 0, "{report:#}");
    let table = &report["tables"][0];
    assert_eq!(table["rows"], 10);
    assert_eq!(table["channels"], serde_json::json!(["search", "social"]));
    let columns: Vec<&str> = table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[0].as_str().unwrap())
        .collect();
    for c in [
        "date",
        "channel",
        "spend",
        "impressions",
        "clicks",
        "conversions",
        "revenue",
    ] {
        assert!(
            columns.contains(&c),
            "canonical column {c} missing: {columns:?}"
        );
    }

    // The mapping also feeds metrics: search's spend over the five days is 508.
    let out = adroit(
        &[
            "metrics",
            "--config",
            s(&config),
            "--by",
            "channel",
            "--grain",
            "month",
            "--format",
            "csv",
        ],
        elsewhere.path(),
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let csv = Csv::parse(&stdout(&out));
    csv.row("search", "2024-01-01").is("spend", 508.0);
    csv.row("social", "2024-01-01").is("revenue", 615.0);
}

#[test]
fn check_config_with_unknown_key_suggests_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "export.csv", &CLEAN.replace("spend", "Cost"));
    let config = write(
        dir.path(),
        "adroit.toml",
        "[media]\npath = \"export.csv\"\nspnd = \"Cost\"\n",
    );
    let out = adroit(&["check", "--config", s(&config)], dir.path());
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(
        stderr(&out).contains("did you mean `spend`"),
        "{}",
        show(&out)
    );
    assert!(stdout(&out).is_empty(), "{}", show(&out));
}

#[test]
fn check_missing_file_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = adroit(&["check", "--media", "nope.csv"], dir.path());
    assert_eq!(code(&out), 1, "{}", show(&out));
    let text = stdout(&out) + &stderr(&out);
    assert!(text.contains("nope.csv"), "{}", show(&out));
    assert!(text.contains("file not found"), "{}", show(&out));

    let out = adroit(
        &["check", "--media", "nope.csv", "--format", "json"],
        dir.path(),
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let report = json(&out);
    let f = findings(&report, "unreadable_file");
    assert_eq!(f.len(), 1, "{report:#}");
    assert!(f[0]["file"].as_str().unwrap().ends_with("nope.csv"));
}

#[test]
fn check_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let out = adroit(&["check", "--media", "data"], dir.path());
    assert_eq!(code(&out), 1, "{}", show(&out));
    let text = stdout(&out) + &stderr(&out);
    assert!(text.contains("directory"), "{}", show(&out));
}

#[test]
fn check_future_dates_against_today() {
    let dir = tempfile::tempdir().unwrap();
    let data = format!(
        "{HEADER}\n\
         2024-01-01,search,100,10000,200,10,400\n\
         2024-01-02,search,110,11000,210,12,430\n\
         2024-01-03,search,95,9800,190,9,380\n\
         2024-01-04,search,105,10500,205,11,420\n\
         2024-01-10,search,98,10100,198,10,410\n"
    );
    let media = write(dir.path(), "media.csv", &data);
    let out = adroit(
        &[
            "check",
            "--media",
            s(&media),
            "--today",
            "2024-01-05",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let report = json(&out);
    let f = findings(&report, "future_dates");
    assert_eq!(f.len(), 1, "{report:#}");
    assert_eq!(f[0]["severity"], "error");
    assert_eq!(f[0]["column"], "date");
    assert_eq!(
        f[0]["location"]["rows"],
        serde_json::json!([5]),
        "{:#}",
        f[0]
    );
    assert_eq!(
        f[0]["location"]["dates"],
        serde_json::json!(["2024-01-06", "2024-01-10"])
    );

    // The same file is fine when today is later.
    let out = adroit(
        &[
            "check",
            "--media",
            s(&media),
            "--today",
            "2024-01-10",
            "--format",
            "json",
        ],
        dir.path(),
    );
    let report = json(&out);
    assert!(findings(&report, "future_dates").is_empty(), "{report:#}");
}

// ---------------------------------------------------------------- metrics

fn metrics_csv(dir: &Path, media: &Path, by: &str, grain: &str) -> Csv {
    let out = adroit(
        &[
            "metrics",
            "--media",
            s(media),
            "--by",
            by,
            "--grain",
            grain,
            "--format",
            "csv",
        ],
        dir,
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    Csv::parse(&stdout(&out))
}

#[test]
fn metrics_weekly_by_channel_match_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    let media = write(dir.path(), "media.csv", METRICS_DATA);
    let csv = metrics_csv(dir.path(), &media, "channel", "week");

    assert_eq!(&csv.header[..2], ["group", "period"]);
    assert!(csv.header.contains(&"spend_change".to_string()));
    assert_eq!(
        csv.keys(),
        [
            ("search", "2024-01-01"),
            ("search", "2024-01-08"),
            ("search", "2024-02-05"),
            ("social", "2024-01-01"),
            ("social", "2024-01-08"),
        ]
        .map(|(g, p)| (g.to_string(), p.to_string()))
    );

    // search, week of Monday 2024-01-01 (the Sunday 2024-01-07 row included).
    let r = csv.row("search", "2024-01-01");
    r.is("spend", 200.0);
    r.is("impressions", 20000.0);
    r.is("clicks", 300.0);
    r.is("conversions", 20.0);
    r.is("revenue", 750.0);
    r.is("ctr", 300.0 / 20000.0);
    r.is("cpc", 200.0 / 300.0);
    r.is("cpm", 10.0);
    r.is("cvr", 20.0 / 300.0);
    r.is("cpa", 10.0);
    r.is("roas", 3.75);
    r.is("roi", 2.75);
    r.empty("spend_change"); // no previous week

    // search, week of 2024-01-08.
    let r = csv.row("search", "2024-01-08");
    r.is("spend", 400.0);
    r.is("ctr", 0.01);
    r.is("cpc", 0.8);
    r.is("cpm", 8.0);
    r.is("cvr", 0.08);
    r.is("cpa", 10.0);
    r.is("roas", 2.5);
    r.is("roi", 1.5);
    r.is("spend_change", 1.0);
    r.is("roas_change", 2.5 / 3.75 - 1.0);
    r.is("cpa_change", 0.0);

    // search, 2024-02-05: compares with the last week it had (2024-01-08).
    csv.row("search", "2024-02-05")
        .is("spend_change", 10.0 / 400.0 - 1.0);

    // social has no clicks: cpc and cvr (and cpa, no conversions) are empty, not inf/NaN.
    let r = csv.row("social", "2024-01-01");
    r.is("spend", 80.0);
    r.is("clicks", 0.0);
    r.is("ctr", 0.0);
    r.empty("cpc");
    r.empty("cvr");
    r.empty("cpa");
    r.is("cpm", 4.0);
    r.is("roas", 1.25);
    r.is("roi", 0.25);
    let r = csv.row("social", "2024-01-08");
    r.empty("cpc");
    r.empty("cvr");
    r.empty("cpc_change");
    r.empty("ctr_change"); // previous ctr was 0
    r.is("spend_change", 0.5);
    r.is("roas", 0.5);
    r.is("roi", -0.5);
    r.is("roas_change", 0.5 / 1.25 - 1.0);

    let text = stdout(&adroit(
        &["metrics", "--media", s(&media), "--format", "csv"],
        dir.path(),
    ));
    for bad in ["inf", "NaN"] {
        assert!(!text.contains(bad), "{bad} in CSV:\n{text}");
    }
}

#[test]
fn metrics_total_and_month() {
    let dir = tempfile::tempdir().unwrap();
    let media = write(dir.path(), "media.csv", METRICS_DATA);

    let csv = metrics_csv(dir.path(), &media, "total", "week");
    assert_eq!(
        csv.keys(),
        ["2024-01-01", "2024-01-08", "2024-02-05"].map(|p| ("all".to_string(), p.to_string()))
    );
    let r = csv.row("all", "2024-01-01");
    r.is("spend", 280.0);
    r.is("impressions", 40000.0);
    r.is("clicks", 300.0);
    r.is("revenue", 850.0);
    r.is("roas", 850.0 / 280.0);
    r.is("cpc", 280.0 / 300.0);
    r.is("cpm", 7.0);
    let r = csv.row("all", "2024-01-08");
    r.is("spend", 520.0);
    r.is("revenue", 1060.0);
    r.is("spend_change", 520.0 / 280.0 - 1.0);

    let csv = metrics_csv(dir.path(), &media, "channel", "month");
    assert_eq!(
        csv.keys(),
        [
            ("search", "2024-01-01"),
            ("search", "2024-02-01"),
            ("social", "2024-01-01"),
        ]
        .map(|(g, p)| (g.to_string(), p.to_string()))
    );
    let r = csv.row("search", "2024-01-01");
    r.is("spend", 600.0);
    r.is("impressions", 70000.0);
    r.is("clicks", 800.0);
    r.is("conversions", 60.0);
    r.is("revenue", 1750.0);
    r.is("cpa", 10.0);
    r.is("roas", 1750.0 / 600.0);
    r.is("roi", 1150.0 / 600.0);
    let r = csv.row("search", "2024-02-01");
    r.is("spend", 10.0);
    r.is("spend_change", 10.0 / 600.0 - 1.0);
    let r = csv.row("social", "2024-01-01");
    r.is("spend", 200.0);
    r.is("revenue", 160.0);
    r.empty("cpc");
    r.empty("cvr");
}

#[test]
fn metrics_json_has_rows_and_totals() {
    let dir = tempfile::tempdir().unwrap();
    let media = write(dir.path(), "media.csv", METRICS_DATA);
    let out = adroit(
        &[
            "metrics",
            "--media",
            s(&media),
            "--by",
            "channel",
            "--grain",
            "week",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let v = json(&out);
    assert_eq!(v["by"], "channel");
    assert_eq!(v["grain"], "week");
    let rows = v["rows"].as_array().expect("rows array");
    assert_eq!(rows.len(), 5, "{v:#}");
    let row = rows
        .iter()
        .find(|r| r["group"] == "search" && r["period"] == "2024-01-08")
        .expect("search week 2");
    assert_close(row["spend"].as_f64().unwrap(), 400.0, "spend");
    assert_close(row["roas"].as_f64().unwrap(), 2.5, "roas");
    assert_close(
        row["change"]["spend"].as_f64().unwrap(),
        1.0,
        "spend change",
    );
    let social = rows
        .iter()
        .find(|r| r["group"] == "social" && r["period"] == "2024-01-01")
        .expect("social week 1");
    assert!(social["cpc"].is_null(), "{social:#}");
    assert!(social["cvr"].is_null(), "{social:#}");

    let totals = v["totals"].as_array().expect("totals array");
    assert_eq!(totals.len(), 2);
    let search = totals.iter().find(|t| t["group"] == "search").unwrap();
    assert_close(
        search["spend"].as_f64().unwrap(),
        610.0,
        "search total spend",
    );
    assert_close(
        search["roas"].as_f64().unwrap(),
        1770.0 / 610.0,
        "search total roas",
    );
}

#[test]
fn metrics_out_writes_the_file_and_nothing_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let media = write(dir.path(), "media.csv", METRICS_DATA);
    for format in ["csv", "json", "table"] {
        let args = ["metrics", "--media", s(&media), "--format", format];
        let to_stdout = adroit(&args, dir.path());
        assert_eq!(code(&to_stdout), 0, "{}", show(&to_stdout));
        assert!(!to_stdout.stdout.is_empty());

        let path = dir.path().join("out").join(format!("metrics.{format}"));
        let mut with_out = args.to_vec();
        with_out.extend(["--out", s(&path)]);
        let to_file = adroit(&with_out, dir.path());
        assert_eq!(code(&to_file), 0, "{}", show(&to_file));
        assert!(to_file.stdout.is_empty(), "{format}: {}", show(&to_file));
        let written = std::fs::read(&path).expect("--out file written");
        assert_eq!(
            String::from_utf8_lossy(&written),
            stdout(&to_stdout),
            "{format}: file differs from stdout"
        );
    }
    // No temporary files left next to the outputs.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");

    // `check --out` too.
    let report = dir.path().join("check.json");
    let out = adroit(
        &[
            "check",
            "--media",
            s(&media),
            "--today",
            "2024-12-31",
            "--format",
            "json",
            "--out",
            s(&report),
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(out.stdout.is_empty(), "{}", show(&out));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["tables"][0]["rows"], 8);
}

#[test]
fn metrics_reject_non_numeric_spend_naming_file_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    // Data row 3 has spend `abc`.
    let data = METRICS_DATA.replace("2024-01-03,search,50,", "2024-01-03,search,abc,");
    assert_ne!(data, METRICS_DATA);
    let media = write(dir.path(), "bad_media.csv", &data);
    let out = adroit(
        &["metrics", "--media", s(&media), "--format", "csv"],
        dir.path(),
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(out.stdout.is_empty(), "{}", show(&out));
    let err = stderr(&out);
    assert!(err.contains("bad_media.csv"), "{err}");
    assert!(err.contains("`spend`"), "{err}");
    assert!(err.contains("row 3"), "{err}");
    assert!(err.contains("abc"), "{err}");

    // check reports the same cell as a wrong_type error.
    let out = adroit(
        &[
            "check",
            "--media",
            s(&media),
            "--today",
            "2024-12-31",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let report = json(&out);
    let f = findings(&report, "wrong_type");
    assert_eq!(f.len(), 1, "{report:#}");
    assert_eq!(f[0]["column"], "spend");
    assert_eq!(f[0]["location"]["rows"], serde_json::json!([3]));
}

// ---------------------------------------------------------------- demo

#[test]
fn the_shipped_example_config_finds_its_one_planted_outlier() {
    let dir = tempfile::tempdir().unwrap();
    // Read at run time: a shared build cache may reuse this binary from another checkout.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let example = Path::new(&manifest).join("../../examples/adroit.toml");
    let out = adroit(
        &[
            "check",
            "--config",
            s(&example),
            "--today",
            "2025-01-01",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let check = json(&out);
    assert_eq!(check["errors"], 0, "{check:#}");
    let outliers = findings(&check, "outliers");
    assert_eq!(outliers.len(), 1, "only display has an outlier: {check:#}");
    assert_eq!(outliers[0]["channel"], "display");
    assert_eq!(outliers[0]["location"]["dates"][0], "2024-06-12");

    let out = adroit(
        &[
            "metrics",
            "--config",
            s(&example),
            "--grain",
            "month",
            "--format",
            "csv",
        ],
        dir.path(),
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let csv = Csv::parse(&stdout(&out));
    let keys: std::collections::BTreeSet<_> = csv.keys().into_iter().collect();
    assert_eq!(
        (csv.rows.len(), keys.len()),
        (60, 60),
        "5 channels × 12 months, no duplicates"
    );
    let months: std::collections::BTreeSet<_> = keys.iter().map(|(_, p)| p.clone()).collect();
    let want: std::collections::BTreeSet<_> = (1..=12).map(|m| format!("2024-{m:02}-01")).collect();
    assert_eq!(months, want);
}

#[test]
fn demo_simulates_a_world_runs_everything_and_compares_with_truth() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("demo");
    let out = adroit(&["demo", "--out", s(&out_dir)], dir.path());
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(stdout(&out).contains("true ROAS"), "{}", show(&out));
    assert!(stdout(&out).contains("MMM ROAS"), "{}", show(&out));
    for f in [
        "adroit.toml",
        "media.csv",
        "kpi.csv",
        "experiments.csv",
        "truth.json",
        "run/run.json",
        "run/report.html",
        "run/mmm/result.json",
        "run/mmm/decomposition.csv",
        "run/mmm/allocation.json",
        "run/check/check.json",
        "run/metrics/metrics.json",
        "run/metrics/metrics.csv",
        "run/attribution/attribution.json",
        "run/text/trends.csv",
        "run/clv/clv_model.json",
        "run/uplift/uplift.json",
    ] {
        let p = out_dir.join(f);
        assert!(
            p.is_file() && std::fs::metadata(&p).unwrap().len() > 0,
            "{f} missing or empty"
        );
    }
    let check: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("run/check/check.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(check["errors"], 0, "{check:#}");
    // 156 weeks from 2023-01-02: 36 months × 4 channels.
    let csv =
        Csv::parse(&std::fs::read_to_string(out_dir.join("run/metrics/metrics.csv")).unwrap());
    assert_eq!(csv.rows.len(), 36 * 4);
    let metrics: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("run/metrics/metrics.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(metrics["grain"], "month");
}

#[test]
fn simulate_writes_a_reproducible_world_that_checks_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let run = adroit(
            &[
                "simulate",
                "--seed",
                "9",
                "--weeks",
                "20",
                "--channels",
                "tv,search,email",
                "--out",
                s(out),
            ],
            dir.path(),
        );
        assert_eq!(code(&run), 0, "{}", show(&run));
    }
    for name in [
        "media.csv",
        "kpi.csv",
        "experiments.csv",
        "truth.json",
        "truth_daily.csv",
        "adroit.toml",
    ] {
        assert_eq!(
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
            "{name}"
        );
    }
    let truth: Value =
        serde_json::from_slice(&std::fs::read(a.join("truth.json")).unwrap()).unwrap();
    let channels: Vec<&str> = truth["derived"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels, ["tv", "search", "email"]);
    let check = adroit(
        &[
            "check",
            "--config",
            s(&a.join("adroit.toml")),
            "--today",
            "2026-01-01",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&check), 0, "{}", show(&check));
    assert_eq!(json(&check)["errors"], 0);

    let bad = adroit(
        &["simulate", "--channels", "tv,tv", "--out", s(&a)],
        dir.path(),
    );
    assert_eq!(code(&bad), 2, "{}", show(&bad));
    assert!(stderr(&bad).contains("distinct"), "{}", show(&bad));
}

#[test]
fn a_parquet_world_reads_like_its_csv_twin() {
    let dir = tempfile::tempdir().unwrap();
    let (csv_dir, pq_dir) = (dir.path().join("csv"), dir.path().join("pq"));
    for (out, format) in [(&csv_dir, "csv"), (&pq_dir, "parquet")] {
        let run = adroit(
            &[
                "simulate",
                "--weeks",
                "16",
                "--customers",
                "500",
                "--format",
                format,
                "--out",
                s(out),
            ],
            dir.path(),
        );
        assert_eq!(code(&run), 0, "{}", show(&run));
    }
    assert!(pq_dir.join("media.parquet").is_file() && !pq_dir.join("media.csv").exists());
    let check = adroit(
        &[
            "check",
            "--config",
            s(&pq_dir.join("adroit.toml")),
            "--today",
            "2026-01-01",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(code(&check), 0, "{}", show(&check));
    assert_eq!(json(&check)["tables"].as_array().unwrap().len(), 7);
    let metrics = |d: &Path| {
        let out = adroit(
            &[
                "metrics",
                "--config",
                s(&d.join("adroit.toml")),
                "--grain",
                "month",
                "--format",
                "csv",
            ],
            dir.path(),
        );
        assert_eq!(code(&out), 0, "{}", show(&out));
        stdout(&out)
    };
    // Equal up to the last bits of float sums, whose order parallel aggregation may change.
    let (a, b) = (metrics(&csv_dir), metrics(&pq_dir));
    assert_eq!(a.lines().count(), b.lines().count());
    for (la, lb) in a.lines().zip(b.lines()) {
        for (x, y) in la.split(',').zip(lb.split(',')) {
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(x), Ok(y)) => assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{la}\n{lb}"),
                _ => assert_eq!(x, y, "{la}\n{lb}"),
            }
        }
    }
}
