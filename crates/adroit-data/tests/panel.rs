//! The streaming media panel agrees with the loaded-table panel, and falls back to the
//! full loader whenever the file needs it.

mod common;

use adroit_config::Config;
use adroit_data::{Engine, PanelBy, PanelError, PanelGrain};
use common::*;

fn sums(
    f: &Fixture,
    grain: PanelGrain,
    by: PanelBy,
) -> Result<Vec<adroit_metrics::PeriodSums>, PanelError> {
    let config = Config::from_toml_str("[media]\npath = \"media.csv\"\n", "t").unwrap();
    adroit_data::media_sums(
        &Engine::new().unwrap(),
        &config,
        f.path(),
        grain,
        by,
        &|_| {},
    )
}

fn direct_and_loaded(
    f: &Fixture,
    grain: PanelGrain,
    by: PanelBy,
) -> (
    Option<Vec<adroit_metrics::PeriodSums>>,
    Vec<adroit_metrics::PeriodSums>,
) {
    let config = Config::from_toml_str("[media]\npath = \"media.csv\"\n", "t").unwrap();
    let engine = Engine::new().unwrap();
    let spec = adroit_data::TableSpec::media(config.media.as_ref().unwrap());
    let opts = adroit_data::LoadOptions {
        base: f.path(),
        validation: &config.validation,
        cleaning: &config.cleaning,
    };
    let direct = adroit_data::media_panel_direct(&engine, &spec, opts, grain, by);
    let table = adroit_data::load_table(&engine, &spec, opts).table.unwrap();
    let loaded = adroit_data::media_panel(&engine, &table, grain, by).unwrap();
    (direct, loaded)
}

#[test]
fn streaming_and_loaded_panels_agree() {
    let f = Fixture::new();
    f.write("media.csv", clean_media());
    for grain in [PanelGrain::Day, PanelGrain::Week, PanelGrain::Month] {
        for by in [PanelBy::Channel, PanelBy::Total] {
            let (direct, loaded) = direct_and_loaded(&f, grain, by);
            assert_eq!(
                direct.expect("a clean CSV streams"),
                loaded,
                "{grain:?} {by:?}"
            );
        }
    }
    // 2024-01-01 is a Monday: two full weeks per channel.
    let weekly = sums(&f, PanelGrain::Week, PanelBy::Channel).unwrap();
    assert_eq!(weekly.len(), 4);
    let search_week1: f64 = (1..=7).map(|d| 100.0 + d as f64).sum();
    assert_eq!(weekly[0].spend, Some(search_week1));
}

#[test]
fn a_fraction_after_the_sampled_rows_falls_back_to_the_loader() {
    // The first 1,000 rows have integer clicks, so the stream reads clicks as Int64;
    // row 1,500 has 2.5 clicks, the stream fails, and the full loader gets it right.
    let f = Fixture::new();
    let mut csv = String::from("date,channel,spend,clicks\n");
    for i in 0..2000 {
        let clicks = if i == 1499 {
            "2.5".to_string()
        } else {
            "2".to_string()
        };
        csv.push_str(&format!("2024-01-{:02},search,1,{clicks}\n", 1 + i % 28));
    }
    f.write("media.csv", csv);
    let (direct, loaded) = direct_and_loaded(&f, PanelGrain::Month, PanelBy::Total);
    assert!(direct.is_none());
    assert_eq!(loaded[0].clicks, Some(1999.0 * 2.0 + 2.5));
    assert_eq!(sums(&f, PanelGrain::Month, PanelBy::Total).unwrap(), loaded);
}

#[test]
fn bad_or_missing_values_are_refused_with_the_loaders_findings() {
    let f = Fixture::new();
    f.write(
        "media.csv",
        "date,channel,spend\n2024-01-01,a,1\n2024-01-02,a,\n2024-01-03,a,x\n",
    );
    let Err(PanelError::Invalid(errors)) = sums(&f, PanelGrain::Week, PanelBy::Channel) else {
        panic!("expected the loader's errors");
    };
    let rules: Vec<_> = errors
        .iter()
        .map(|e| (e.rule, e.location.rows.clone()))
        .collect();
    assert_eq!(
        rules,
        vec![("missing_values", vec![2]), ("wrong_type", vec![3])]
    );
}

#[test]
fn money_with_symbols_takes_the_loader_and_still_aggregates() {
    let f = Fixture::new();
    f.write(
        "media.csv",
        "date,channel,spend\n2024-01-01,a,\"$1,000\"\n2024-01-02,a,\"$500.50\"\n",
    );
    let weekly = sums(&f, PanelGrain::Week, PanelBy::Channel).unwrap();
    assert_eq!(weekly[0].spend, Some(1500.5));
}
