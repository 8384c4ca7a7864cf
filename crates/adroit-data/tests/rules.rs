//! One deliberately broken file per validation rule, and the explicit cleaning steps.

mod common;

use adroit_data::Severity;
use common::*;

/// The clean media with line `row + 1` (1-based data row) replaced.
fn media_with(row: usize, line: &str) -> String {
    let mut lines: Vec<String> = clean_media().lines().map(str::to_string).collect();
    lines[row] = line.to_string();
    lines.join("\n") + "\n"
}

#[test]
fn every_rule_is_silent_on_clean_data() {
    let f = Fixture::new();
    let loaded = f.check_media(&clean_media());
    assert!(
        loaded.report.findings.is_empty(),
        "{:#?}",
        loaded.report.findings
    );
}

#[test]
fn missing_values() {
    let f = Fixture::new();
    let loaded = f.check_media(&media_with(3, "2024-01-02,search,,10,1,0,1"));
    let finding = one(&loaded, "missing_values");
    assert_eq!(finding.severity, Severity::Error, "spend is required");
    assert_eq!(finding.column.as_deref(), Some("spend"));
    assert_eq!(finding.location.rows, vec![3]);
    // A blank optional measure is a warning.
    let loaded = f.check_media(&media_with(3, "2024-01-02,search,10,NA,1,0,1"));
    assert_eq!(one(&loaded, "missing_values").severity, Severity::Warning);
}

#[test]
fn duplicate_rows_and_keys() {
    let f = Fixture::new();
    let mut csv = clean_media();
    let first_data_line = csv.lines().nth(1).unwrap().to_string();
    csv.push_str(&first_data_line);
    csv.push('\n');
    let loaded = f.check_media(&csv);
    let dup = one(&loaded, "duplicate_rows");
    assert_eq!(dup.location.rows, vec![29]);
    assert!(
        dup.message.contains("row 29 repeats row 1"),
        "{}",
        dup.message
    );
    assert!(
        by_rule(&loaded, "duplicate_keys").is_empty(),
        "an exact repeat is not a key conflict"
    );

    // Same (date, channel), different spend: an error on both rows.
    csv.push_str("2024-01-01,search,999,99900,1998,99.9,2997\n");
    let loaded = f.check_media(&csv);
    let keys = one(&loaded, "duplicate_keys");
    assert_eq!(keys.severity, Severity::Error);
    assert_eq!(keys.location.rows, vec![1, 30]);
}

#[test]
fn drop_duplicate_rows_cleaning_is_recorded() {
    let f = Fixture::new();
    let mut csv = clean_media();
    let line = csv.lines().nth(5).unwrap().to_string();
    csv.push_str(&format!("{line}\n{line}\n"));
    f.write("media.csv", csv);
    let loaded = f.check("[media]\npath = \"media.csv\"\n[cleaning]\ndrop_duplicate_rows = true\n");
    assert_eq!(loaded.table("media").unwrap().num_rows(), 28);
    assert!(by_rule(&loaded, "duplicate_rows").is_empty());
    let c = loaded
        .report
        .cleaning
        .iter()
        .find(|c| c.action.contains("duplicate"))
        .unwrap();
    assert_eq!(c.count, 2);
    assert_eq!(c.rows, vec![29, 30]);
}

#[test]
fn negative_spend_and_its_cleaning_policies() {
    let f = Fixture::new();
    let csv = media_with(4, "2024-01-02,social,-5,100,1,0,0");
    let loaded = f.check_media(&csv);
    let finding = one(&loaded, "negative_spend");
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(finding.location.rows, vec![4]);

    f.write("media.csv", &csv);
    let zeroed = f.check("[media]\npath = \"media.csv\"\n[cleaning]\nnegative_spend = \"zero\"\n");
    assert!(by_rule(&zeroed, "negative_spend").is_empty());
    assert_eq!(
        zeroed
            .table("media")
            .unwrap()
            .f64s("spend")
            .unwrap()
            .value(3),
        0.0
    );
    assert!(
        zeroed
            .report
            .cleaning
            .iter()
            .any(|c| c.action == "set negative spend to 0" && c.rows == vec![4])
    );

    let dropped = f.check("[media]\npath = \"media.csv\"\n[cleaning]\nnegative_spend = \"drop\"\n");
    assert_eq!(dropped.table("media").unwrap().num_rows(), 27);
    assert!(
        dropped
            .report
            .cleaning
            .iter()
            .any(|c| c.action.contains("dropped rows with negative spend"))
    );
}

#[test]
fn negative_counts() {
    let f = Fixture::new();
    let loaded = f.check_media(&media_with(2, "2024-01-01,social,51,-1,0,0,0"));
    let finding = one(&loaded, "negative_values");
    assert_eq!(finding.column.as_deref(), Some("impressions"));
}

#[test]
fn future_dates() {
    let f = Fixture::new();
    let loaded = f.check_media(&media_with(1, "2025-03-01,search,101,10100,202,10.1,303"));
    let finding = one(&loaded, "future_dates");
    assert_eq!(finding.location.rows, vec![1]);
    assert_eq!(
        finding.location.dates,
        Some(("2025-01-02".into(), "2025-03-01".into()))
    );
}

#[test]
fn clicks_exceed_impressions() {
    let f = Fixture::new();
    let loaded = f.check_media(&media_with(6, "2024-01-03,search,103,10,206,10.3,309"));
    let finding = one(&loaded, "clicks_exceed_impressions");
    assert_eq!(
        (finding.severity, finding.location.rows.clone()),
        (Severity::Error, vec![6])
    );
}

#[test]
fn conversions_exceed_clicks() {
    let f = Fixture::new();
    let loaded = f.check_media(&media_with(6, "2024-01-03,search,103,10300,206,500,309"));
    let finding = one(&loaded, "conversions_exceed_clicks");
    assert_eq!(
        (finding.severity, finding.location.rows.clone()),
        (Severity::Warning, vec![6])
    );
}

#[test]
fn spend_without_impressions() {
    let f = Fixture::new();
    let loaded = f.check_media(&media_with(6, "2024-01-03,search,103,0,0,0,309"));
    assert_eq!(
        one(&loaded, "spend_without_impressions").location.rows,
        vec![6]
    );
}

#[test]
fn date_gaps() {
    let f = Fixture::new();
    // Drop 2024-01-05 and 2024-01-06 for both channels.
    let csv: String = clean_media()
        .lines()
        .filter(|l| !l.starts_with("2024-01-05") && !l.starts_with("2024-01-06"))
        .map(|l| format!("{l}\n"))
        .collect();
    let loaded = f.check_media(&csv);
    let finding = one(&loaded, "date_gaps");
    assert_eq!(
        finding.location.dates,
        Some(("2024-01-05".into(), "2024-01-06".into()))
    );
    assert!(
        finding.message.starts_with("2 days missing"),
        "{}",
        finding.message
    );
}

#[test]
fn outliers_by_robust_z() {
    let f = Fixture::new();
    let loaded = f.check_media(&media_with(
        9,
        "2024-01-05,search,10500,1050000,21000,1050,31500",
    ));
    let finding = one(&loaded, "outliers");
    assert_eq!(finding.channel.as_deref(), Some("search"));
    assert_eq!(finding.location.rows, vec![9]);
    assert_eq!(
        finding.location.dates,
        Some(("2024-01-05".into(), "2024-01-05".into()))
    );
}

#[test]
fn constant_columns() {
    let f = Fixture::new();
    let mut kpi = String::from("date,revenue,price\n");
    for day in 1..=10 {
        kpi.push_str(&format!("2024-01-{day:02},{},49.9\n", 1000 + day * 7 % 5));
    }
    f.write("kpi.csv", kpi);
    let loaded = f.check("[kpi]\npath = \"kpi.csv\"\ncontrols = [\"price\"]\n");
    let finding = one(&loaded, "constant_columns");
    assert_eq!(finding.column.as_deref(), Some("price"));
}

#[test]
fn sparse_channels() {
    let f = Fixture::new();
    let mut csv = clean_media();
    for day in 1..=14 {
        let spend = if day <= 2 { 10 } else { 0 };
        csv.push_str(&format!(
            "2024-01-{day:02},radio,{spend},{},0,0,0\n",
            spend * 100
        ));
    }
    let loaded = f.check_media(&csv);
    let finding = one(&loaded, "sparse_channels");
    assert_eq!(finding.channel.as_deref(), Some("radio"));
    assert!(
        finding.message.contains("2 of 14 periods"),
        "{}",
        finding.message
    );
}

#[test]
fn experiment_dates() {
    let f = Fixture::new();
    f.write("experiments.csv", "channel,start,end,lift,spend\ntv,2024-03-01,2024-02-01,1000,500\nsearch,2024-03-01,2024-03-28,200,100\n");
    let loaded = f.check("[experiments]\npath = \"experiments.csv\"\n");
    assert_eq!(one(&loaded, "experiment_dates").location.rows, vec![1]);
}

#[test]
fn wide_media_findings_name_the_channels_own_column() {
    let f = Fixture::new();
    let mut csv = String::from("DATE,revenue,tv_S,search_S\n");
    for w in 0..10 {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(7 * w);
        let search = if w == 4 { -3.0 } else { 50.0 + w as f64 };
        csv.push_str(&format!("{day},{},{},{search}\n", 1000 + w, 100 + w));
    }
    f.write("wide.csv", csv);
    let loaded = f.check("[media]\npath = \"wide.csv\"\nlayout = \"wide\"\ndate = \"DATE\"\n[media.wide]\nspend = \"{channel}_S\"\n");
    let finding = one(&loaded, "negative_spend");
    assert_eq!(finding.column.as_deref(), Some("search_S"));
    assert_eq!(finding.channel.as_deref(), Some("search"));
    assert_eq!(finding.location.rows, vec![5]);
    assert_eq!(loaded.report.tables[0].grain.as_deref(), Some("week"));
}
