//! Loads the real MMM files in ../shared/data/mmm through configs and checks row
//! counts, types and totals against an independent plain-CSV reading of the same files.

use adroit_config::Config;
use adroit_data::{Engine, Severity, Table};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    // Read at run time: a shared build cache may reuse this binary from another checkout.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let dir = PathBuf::from(manifest).join("../../../shared/data/mmm");
    assert!(
        dir.is_dir(),
        "shared data not found at {} (CI provides ../shared/data beside the clone)",
        dir.display()
    );
    dir
}

/// Column sums and row count of a CSV, read with the csv crate (no adroit code).
fn plain_sums(file: &str, columns: &[&str]) -> (usize, BTreeMap<String, f64>) {
    let mut reader = csv::Reader::from_path(data_dir().join(file)).unwrap();
    let header = reader.headers().unwrap().clone();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            header
                .iter()
                .position(|h| h == *c)
                .unwrap_or_else(|| panic!("{c} not in {file}"))
        })
        .collect();
    let mut sums: BTreeMap<String, f64> = columns.iter().map(|c| (c.to_string(), 0.0)).collect();
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        rows += 1;
        for (c, i) in columns.iter().zip(&idx) {
            *sums.get_mut(*c).unwrap() += record[*i].parse::<f64>().unwrap();
        }
    }
    (rows, sums)
}

fn load(config_text: &str) -> adroit_data::Loaded {
    let config = Config::from_toml_str(config_text, "test.toml").unwrap();
    let engine = Engine::new().unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    adroit_data::check(&engine, &config, &data_dir(), today, &|_| {})
}

fn channel_spend(table: &Table) -> BTreeMap<String, f64> {
    let channels = table.strs("channel").unwrap();
    let spend = table.f64s("spend").unwrap();
    let mut out = BTreeMap::new();
    for i in 0..table.num_rows() {
        *out.entry(channels.value(i).to_string()).or_insert(0.0) += spend.value(i);
    }
    out
}

fn assert_close(a: f64, b: f64, what: &str) {
    // Both sides sum the same decimal strings as f64 in the same order for each
    // column; allow for a different summation order only.
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: {a} vs {b}"
    );
}

fn errors(loaded: &adroit_data::Loaded) -> Vec<String> {
    loaded
        .report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{} {} {}", f.table, f.rule, f.message))
        .collect()
}

#[test]
fn robyn_wide_weekly_csv() {
    let loaded = load(
        r#"
[media]
path = "robyn_dt_simulated_weekly.csv"
layout = "wide"
date = "DATE"
[media.wide]
spend = "{channel}_S"

[kpi]
path = "robyn_dt_simulated_weekly.csv"
date = "DATE"
kpi = "revenue"
controls = ["competitor_sales_B", "newsletter", "events"]
"#,
    );
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let media = loaded.table("media").unwrap();
    let (rows, sums) = plain_sums(
        "robyn_dt_simulated_weekly.csv",
        &[
            "tv_S",
            "ooh_S",
            "print_S",
            "facebook_S",
            "search_S",
            "revenue",
            "competitor_sales_B",
        ],
    );
    assert_eq!(rows, 208);
    assert_eq!(media.num_rows(), 208 * 5);
    let spend = channel_spend(media);
    assert_eq!(
        spend.keys().cloned().collect::<Vec<_>>(),
        ["facebook", "ooh", "print", "search", "tv"]
    );
    for (ch, total) in &spend {
        assert_close(*total, sums[&format!("{ch}_S")], ch);
    }
    let kpi = loaded.table("kpi").unwrap();
    assert_eq!(kpi.num_rows(), 208);
    let revenue: f64 = kpi.f64s("kpi").unwrap().iter().flatten().sum();
    assert_close(revenue, sums["revenue"], "revenue");
    let competitor: f64 = kpi
        .f64s("competitor_sales_B")
        .unwrap()
        .iter()
        .flatten()
        .sum();
    assert_close(competitor, sums["competitor_sales_B"], "competitor_sales_B");
    // `events` holds "na"/"event1"/"event2": a categorical control stays text.
    assert!(kpi.strs("events").is_some(), "events should be text");
    let summary = loaded
        .report
        .tables
        .iter()
        .find(|t| t.table == "kpi")
        .unwrap();
    assert_eq!(summary.grain.as_deref(), Some("week"));
    assert_eq!(
        summary.dates,
        Some(("2015-11-23".into(), "2019-11-11".into()))
    );
}

#[test]
fn meridian_geo_csv_with_spend_and_impressions_per_channel() {
    let loaded = load(
        r#"
[media]
path = "meridian_geo_media.csv"
layout = "wide"
date = "time"
geo = "geo"
[media.wide]
spend = "{channel}_spend"
impressions = "{channel}_impression"

[kpi]
path = "meridian_geo_media.csv"
date = "time"
geo = "geo"
kpi = "conversions"
kind = "conversions"
controls = ["competitor_activity_score_control", "sentiment_score_control"]
"#,
    );
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let (rows, sums) = plain_sums(
        "meridian_geo_media.csv",
        &[
            "Channel0_spend",
            "Channel1_spend",
            "Channel2_spend",
            "Channel3_spend",
            "Channel0_impression",
            "conversions",
        ],
    );
    assert_eq!(rows, 20 * 156);
    let media = loaded.table("media").unwrap();
    assert_eq!(media.num_rows(), rows * 4);
    assert_eq!(media.distinct("geo").len(), 20);
    for (ch, total) in channel_spend(media) {
        assert_close(total, sums[&format!("{ch}_spend")], &ch);
    }
    let channels = media.strs("channel").unwrap();
    let impressions = media.f64s("impressions").unwrap();
    let ch0: f64 = (0..media.num_rows())
        .filter(|&i| channels.value(i) == "Channel0")
        .map(|i| impressions.value(i))
        .sum();
    assert_close(ch0, sums["Channel0_impression"], "Channel0 impressions");
    let kpi = loaded.table("kpi").unwrap();
    let conversions: f64 = kpi.f64s("kpi").unwrap().iter().flatten().sum();
    assert_close(conversions, sums["conversions"], "conversions");
    // Dates are typed Date32 and the panel is weekly.
    assert_eq!(
        kpi.batch
            .schema()
            .field_with_name("date")
            .unwrap()
            .data_type()
            .to_string(),
        "Date32"
    );
}

#[test]
fn meridian_file_with_an_unnamed_index_column() {
    // geo_all_channels starts with a blank header (a pandas index); it is renamed, not fatal.
    let loaded = load(
        r#"
[media]
path = "meridian_geo_all_channels.csv"
layout = "wide"
date = "time"
geo = "geo"
[media.wide]
spend = "{channel}_spend"
"#,
    );
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let media = loaded.table("media").unwrap();
    assert_eq!(media.num_rows(), 40 * 156 * 5);
}

#[test]
fn pymc_marketing_example_with_named_channels() {
    let loaded = load(
        r#"
[media]
path = "pymc_marketing_mmm_example.csv"
layout = "wide"
date = "date_week"
[media.wide]
spend = "{channel}"
channels = ["x1", "x2"]

[kpi]
path = "pymc_marketing_mmm_example.csv"
date = "date_week"
kpi = "y"
controls = ["event_1", "event_2"]
"#,
    );
    assert!(errors(&loaded).is_empty(), "{:?}", errors(&loaded));
    let (rows, sums) = plain_sums(
        "pymc_marketing_mmm_example.csv",
        &["x1", "x2", "y", "event_1"],
    );
    assert_eq!(rows, 179);
    let media = loaded.table("media").unwrap();
    assert_eq!(media.num_rows(), 358);
    let spend = channel_spend(media);
    assert_close(spend["x1"], sums["x1"], "x1");
    assert_close(spend["x2"], sums["x2"], "x2");
    let kpi = loaded.table("kpi").unwrap();
    assert_close(
        kpi.f64s("kpi").unwrap().iter().flatten().sum(),
        sums["y"],
        "y",
    );
    assert_eq!(
        kpi.f64s("event_1").unwrap().iter().flatten().sum::<f64>(),
        sums["event_1"]
    );
    // x2 has zero spend in most weeks (u > 0.8 only): flagged as data, not an error.
    assert_eq!(loaded.report.tables[0].grain.as_deref(), Some("week"));
}

#[test]
fn weekly_panel_of_robyn_matches_plain_sums() {
    let config = Config::from_toml_str(
        "[media]\npath = \"robyn_dt_simulated_weekly.csv\"\nlayout = \"wide\"\ndate = \"DATE\"\n[media.wide]\nspend = \"{channel}_S\"\n",
        "t",
    )
    .unwrap();
    let engine = Engine::new().unwrap();
    let loaded = adroit_data::load_all(&engine, &config, &data_dir(), &|_| {});
    let media = loaded.table("media").unwrap();
    let monthly = adroit_data::media_panel(
        &engine,
        media,
        adroit_data::PanelGrain::Month,
        adroit_data::PanelBy::Total,
    )
    .unwrap();
    let (_, sums) = plain_sums(
        "robyn_dt_simulated_weekly.csv",
        &["tv_S", "ooh_S", "print_S", "facebook_S", "search_S"],
    );
    let total: f64 = sums.values().sum();
    let panel_total: f64 = monthly.iter().filter_map(|r| r.spend).sum();
    assert_close(panel_total, total, "all spend");
    // 2015-11 … 2019-11 is 49 months.
    assert_eq!(monthly.len(), 49);
    assert!(monthly.windows(2).all(|w| w[0].period < w[1].period));
}
