//! The modelling table of `adroit mmm fit`: weekly and monthly sums equal the simulated
//! world's daily rows, partial periods are dropped, gaps are errors naming the period,
//! and every fill or drop is noted.

mod common;

use adroit_config::Config;
use adroit_data::{Engine, MmmPanel, MmmPanelError, PanelGrain, mmm_panel};
use adroit_sim::{World, WorldSpec};
use chrono::{Datelike, NaiveDate};
use common::Fixture;
use std::collections::BTreeMap;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A simulated world's media, kpi and experiments files and config, written to a folder.
fn world(spec: WorldSpec) -> (World, Fixture, Config) {
    let world = adroit_sim::simulate(&spec);
    let f = Fixture::new();
    let mut config = String::new();
    for (name, bytes) in world.files() {
        match name {
            "media.csv" | "kpi.csv" | "experiments.csv" => {
                f.write(name, &bytes);
            }
            "adroit.toml" => config = String::from_utf8(bytes).unwrap(),
            _ => {}
        }
    }
    let config = Config::from_toml_str(&config, "adroit.toml").unwrap();
    (world, f, config)
}

fn panel_of(f: &Fixture, config: &Config, grain: PanelGrain) -> Result<MmmPanel, MmmPanelError> {
    mmm_panel(&Engine::new().unwrap(), config, f.path(), grain, &|_| {})
}

fn panel(f: &Fixture, config: &str, grain: PanelGrain) -> Result<MmmPanel, MmmPanelError> {
    let config = Config::from_toml_str(config, "test.toml").unwrap();
    panel_of(f, &config, grain)
}

/// A value as the simulator writes it to CSV (two decimals).
fn written(v: f64) -> f64 {
    format!("{v:.2}").parse().unwrap()
}

fn period_start(grain: PanelGrain, d: NaiveDate) -> NaiveDate {
    match grain {
        PanelGrain::Day => d,
        PanelGrain::Week => d - chrono::Days::new(d.weekday().num_days_from_monday() as u64),
        PanelGrain::Month => d.with_day(1).unwrap(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The panel agrees with sums and means of the world's daily rows, period by period.
fn assert_matches_world(panel: &MmmPanel, world: &World) {
    let grain = panel.grain;
    let mut kpi: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    let mut price: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
    let mut promo: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
    let mut holiday: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
    for k in &world.kpi {
        let p = period_start(grain, k.date);
        *kpi.entry(p).or_default() += written(k.revenue);
        price.entry(p).or_default().push(written(k.price));
        promo
            .entry(p)
            .or_default()
            .push(f64::from(u8::from(k.promotion)));
        holiday
            .entry(p)
            .or_default()
            .push(f64::from(u8::from(k.holiday)));
    }
    let mut spend: BTreeMap<(String, NaiveDate), f64> = BTreeMap::new();
    for m in &world.media {
        *spend
            .entry((m.channel.clone(), period_start(grain, m.date)))
            .or_default() += written(m.spend);
    }
    let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let controls: BTreeMap<&str, &Vec<f64>> = panel
        .controls
        .iter()
        .map(|(n, v)| (n.as_str(), v))
        .collect();
    assert_eq!(
        panel
            .controls
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["price", "promotion", "holiday"]
    );
    let mut channels: Vec<String> = world.truth.spec.channels.clone();
    channels.sort();
    assert_eq!(
        panel
            .spend
            .iter()
            .map(|(c, _)| c.clone())
            .collect::<Vec<_>>(),
        channels
    );
    for (i, p) in panel.periods.iter().enumerate() {
        assert!(
            close(panel.kpi[i], kpi[p]),
            "kpi of {p}: {} vs {}",
            panel.kpi[i],
            kpi[p]
        );
        assert!(close(controls["price"][i], mean(&price[p])), "price of {p}");
        assert!(
            close(controls["promotion"][i], mean(&promo[p])),
            "promotion of {p}"
        );
        assert!(
            close(controls["holiday"][i], mean(&holiday[p])),
            "holiday of {p}"
        );
        for (channel, values) in &panel.spend {
            let want = spend.get(&(channel.clone(), *p)).copied().unwrap_or(0.0);
            assert!(
                close(values[i], want),
                "{channel} in {p}: {} vs {want}",
                values[i]
            );
        }
    }
}

#[test]
fn mmm_weekly_sums_equal_the_simulated_daily_rows() {
    let (world, f, config) = world(WorldSpec {
        seed: 7,
        weeks: 40,
        customers: 500,
        ..Default::default()
    });
    let panel = panel_of(&f, &config, PanelGrain::Week).unwrap();
    // 2023-01-02 is a Monday: 40 whole weeks, consecutive, nothing dropped.
    assert_eq!(panel.len(), 40);
    assert_eq!(panel.periods[0], date("2023-01-02"));
    assert!(
        panel
            .periods
            .windows(2)
            .all(|w| (w[1] - w[0]).num_days() == 7),
        "consecutive weeks"
    );
    assert!(panel.notes.is_empty(), "{:#?}", panel.notes);
    assert_matches_world(&panel, &world);
    // Whole weeks of promotions: some weeks have every day, some none, some a share.
    let promo = &panel.controls[1].1;
    assert!(promo.iter().all(|s| (0.0..=1.0).contains(s)));
    assert_eq!(panel.days()[0], 19359); // 2023-01-02 as days since 1970-01-01

    // The experiments, as the world wrote them.
    assert_eq!(panel.experiments.len(), world.truth.experiments.len());
    assert!(!panel.experiments.is_empty());
    for (got, want) in panel.experiments.iter().zip(&world.truth.experiments) {
        assert_eq!(got.channel, want.channel);
        assert_eq!((got.start, got.end), (want.start, want.end));
        assert!(close(got.lift, written(want.lift)));
        assert!(close(got.spend, written(want.spend)));
        assert_eq!(got.lift_lower, Some(written(want.lift_lower)));
        assert_eq!(got.lift_upper, Some(written(want.lift_upper)));
        let (first, last) = (panel.period_of(got.start), panel.period_of(got.end));
        assert_eq!(
            first,
            Some((got.start - panel.periods[0]).num_days() as usize / 7)
        );
        assert!(last >= first);
    }
}

#[test]
fn mmm_partial_first_and_last_weeks_are_dropped_with_a_note() {
    // Wednesday 2023-01-04 to Tuesday 2023-05-23: the first week has 5 days, the last 2.
    let (world, f, config) = world(WorldSpec {
        seed: 11,
        weeks: 20,
        start: date("2023-01-04"),
        customers: 500,
        ..Default::default()
    });
    let panel = panel_of(&f, &config, PanelGrain::Week).unwrap();
    assert_eq!(panel.periods.first(), Some(&date("2023-01-09")));
    assert_eq!(panel.periods.last(), Some(&date("2023-05-15")));
    assert_eq!(panel.len(), 19);
    assert_matches_world(&panel, &world);
    let partial: Vec<_> = panel
        .notes
        .iter()
        .filter(|n| n.rule == "partial_period")
        .collect();
    assert_eq!(partial.len(), 2, "{:#?}", panel.notes);
    assert!(
        partial[0].message.contains("The week of 2023-01-02")
            && partial[0].message.contains("only 5 of its 7 days"),
        "{}",
        partial[0].message
    );
    assert!(partial[1].message.contains("only 2 of its 7 days"));
    assert_eq!(
        partial[0].location.dates,
        Some(("2023-01-02".into(), "2023-01-08".into()))
    );
    // Media in the dropped weeks is not reported again as media without a KPI.
    assert!(
        panel
            .notes
            .iter()
            .all(|n| n.rule == "partial_period" || n.rule == "experiment_outside")
    );

    // Months: January starts on the 4th and May ends on the 23rd.
    let months = panel_of(&f, &config, PanelGrain::Month).unwrap();
    assert_eq!(
        months.periods,
        [date("2023-02-01"), date("2023-03-01"), date("2023-04-01")]
    );
    assert_matches_world(&months, &world);
    assert_eq!(
        months
            .notes
            .iter()
            .filter(|n| n.rule == "partial_period")
            .count(),
        2
    );

    // Days: every day is whole.
    let days = panel_of(&f, &config, PanelGrain::Day).unwrap();
    assert_eq!(days.len(), 140);
    assert_matches_world(&days, &world);
}

const CONFIG: &str =
    "[media]\npath = \"media.csv\"\n\n[kpi]\npath = \"kpi.csv\"\nkpi = \"sales\"\n";

fn weekly_kpi(mondays: &[&str]) -> String {
    let mut csv = String::from("date,sales\n");
    for (i, d) in mondays.iter().enumerate() {
        csv.push_str(&format!("{d},{}\n", 100 + i));
    }
    csv
}

#[test]
fn mmm_a_missing_week_is_an_error_naming_it() {
    let f = Fixture::new();
    f.write(
        "kpi.csv",
        weekly_kpi(&["2024-01-01", "2024-01-08", "2024-01-22", "2024-02-05"]),
    );
    f.write("media.csv", "date,channel,spend\n2024-01-01,tv,10\n");
    let err = panel(&f, CONFIG, PanelGrain::Week).unwrap_err();
    match &err {
        MmmPanelError::Gap { first, missing, .. } => {
            assert_eq!((*first, *missing), (date("2024-01-15"), 2));
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("no rows for the week of 2024-01-15"),
        "{text}"
    );
    assert!(text.contains("2 weeks missing"), "{text}");
    assert!(text.starts_with("kpi.csv:"), "{text}");
    assert!(
        !text.contains("coarser grain"),
        "weekly data with gaps is still weekly: {text}"
    );

    // Weekly data read by day: the hint says why.
    f.write(
        "kpi.csv",
        weekly_kpi(&["2024-01-01", "2024-01-08", "2024-01-15"]),
    );
    let text = panel(&f, CONFIG, PanelGrain::Day).unwrap_err().to_string();
    assert!(text.contains("no rows for 2024-01-02"), "{text}");
    assert!(text.contains("at least 7 days apart"), "{text}");
}

#[test]
fn mmm_a_missing_day_inside_a_week_is_an_error_naming_it() {
    let f = Fixture::new();
    let mut csv = String::from("date,sales\n");
    for d in date("2024-01-01").iter_days().take(28) {
        if d != date("2024-01-10") {
            csv.push_str(&format!("{d},5\n"));
        }
    }
    f.write("kpi.csv", csv);
    f.write("media.csv", "date,channel,spend\n2024-01-01,tv,10\n");
    let err = panel(&f, CONFIG, PanelGrain::Week).unwrap_err();
    assert!(
        matches!(err, MmmPanelError::MissingDays { first, period, periods: 1, .. }
            if first == date("2024-01-10") && period == date("2024-01-08")),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("no row for 2024-01-10, inside the week of 2024-01-08 (1 week inside its dates lacks days)"),
        "{err}"
    );
    // By month, January lacks days and is the only month: nothing complete is left.
    let err = panel(&f, CONFIG, PanelGrain::Month).unwrap_err();
    assert!(matches!(err, MmmPanelError::NoPeriods { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("covers no complete month (its daily data runs 2024-01-01 … 2024-01-28)"),
        "{err}"
    );
}

#[test]
fn mmm_media_follows_the_kpi_periods_with_notes() {
    let f = Fixture::new();
    f.write(
        "kpi.csv",
        weekly_kpi(&["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]),
    );
    // Daily media from the second week to one week past the KPI; `radio` skips a week.
    let mut media = String::from("date,channel,spend\n");
    for d in date("2024-01-08").iter_days().take(28) {
        media.push_str(&format!("{d},tv,1.5\n"));
        if period_start(PanelGrain::Week, d) != date("2024-01-15") {
            media.push_str(&format!("{d},radio,2\n"));
        }
    }
    f.write("media.csv", media);
    let panel = panel(&f, CONFIG, PanelGrain::Week).unwrap();
    assert_eq!(panel.kpi, [100.0, 101.0, 102.0, 103.0]);
    assert_eq!(
        panel.spend,
        [
            ("radio".to_string(), vec![0.0, 14.0, 0.0, 14.0]),
            ("tv".to_string(), vec![0.0, 10.5, 10.5, 10.5]),
        ]
    );
    let rules: Vec<&str> = panel.notes.iter().map(|n| n.rule).collect();
    assert_eq!(
        rules,
        ["no_media_rows", "media_without_kpi"],
        "{:#?}",
        panel.notes
    );
    assert!(
        panel.notes[0]
            .message
            .starts_with("1 of the 4 weeks has no media rows (first: the week of 2024-01-01)"),
        "{}",
        panel.notes[0].message
    );
    assert!(
        panel.notes[1]
            .message
            .starts_with("media rows in 1 week have no kpi rows (first: the week of 2024-01-29)"),
        "{}",
        panel.notes[1].message
    );
    assert!(panel.controls.is_empty() && panel.experiments.is_empty());
}

#[test]
fn mmm_geos_are_summed_and_flags_are_shares() {
    let f = Fixture::new();
    let mut kpi = String::from("date,region,sales,price,promo\n");
    for (i, d) in date("2024-01-01").iter_days().take(14).enumerate() {
        let promo = u8::from(i % 7 < 2); // Monday and Tuesday
        kpi.push_str(&format!("{d},north,10,{},{promo}\n", 2 + i % 2));
        kpi.push_str(&format!("{d},south,1,4,0\n"));
    }
    f.write("kpi.csv", kpi);
    f.write(
        "media.csv",
        "date,channel,spend\n2024-01-01,tv,10\n2024-01-08,tv,20\n",
    );
    let config = "[media]\npath = \"media.csv\"\n\n[kpi]\npath = \"kpi.csv\"\nkpi = \"sales\"\ngeo = \"region\"\ncontrols = [\"price\", \"promo\"]\ntypes = { promo = \"flag\" }\n";
    let panel = panel(&f, config, PanelGrain::Week).unwrap();
    assert_eq!(panel.kpi, [77.0, 77.0]);
    let price = &panel.controls[0].1;
    // North alternates 2, 3 starting with 2 on Monday; south is 4.
    assert!(close(price[0], (4.0 * 2.0 + 3.0 * 3.0 + 7.0 * 4.0) / 14.0));
    assert!(close(panel.controls[1].1[0], 2.0 / 14.0));
    assert_eq!(panel.spend, [("tv".to_string(), vec![10.0, 20.0])]);
    assert_eq!(panel.notes.len(), 1, "{:#?}", panel.notes);
    assert_eq!(panel.notes[0].rule, "geos_summed");
    assert!(panel.notes[0].message.contains("2 geos"));
}

#[test]
fn mmm_refuses_tables_with_loader_errors_and_text_controls() {
    let f = Fixture::new();
    f.write("kpi.csv", "date,sales\n2024-01-01,100\n2024-01-08,abc\n");
    f.write(
        "media.csv",
        "date,channel,spend\n2024-01-01,tv,10\n2024-01-08,,5\n",
    );
    let err = panel(&f, CONFIG, PanelGrain::Week).unwrap_err();
    let MmmPanelError::Invalid(findings) = &err else {
        panic!("{err:?}");
    };
    let tables: Vec<&str> = findings.iter().map(|f| f.table.as_str()).collect();
    assert!(
        tables.contains(&"kpi") && tables.contains(&"media"),
        "{findings:#?}"
    );
    let kpi = findings.iter().find(|f| f.table == "kpi").unwrap();
    assert_eq!(kpi.location.rows, [2]);
    let text = err.to_string();
    assert!(text.contains("the kpi table has 1 error"), "{text}");
    assert!(text.contains("adroit check"), "{text}");
    assert!(text.contains("media.csv row 2, column `channel`"), "{text}");

    f.write(
        "kpi.csv",
        "date,sales,weather\n2024-01-01,100,sunny\n2024-01-08,90,rain\n",
    );
    f.write("media.csv", "date,channel,spend\n2024-01-01,tv,10\n");
    let config = format!("{CONFIG}controls = [\"weather\"]\n");
    let err = panel(&f, &config, PanelGrain::Week).unwrap_err();
    assert!(matches!(&err, MmmPanelError::TextControl { column, .. } if column == "weather"));
    let text = err.to_string();
    assert!(
        text.contains("`weather` is text (e.g. \"sunny\")"),
        "{text}"
    );
    assert!(text.contains("types = { weather = \"flag\" }"), "{text}");

    let err = panel(&f, "[media]\npath = \"media.csv\"\n", PanelGrain::Week).unwrap_err();
    assert!(matches!(err, MmmPanelError::MissingTable("kpi")));
    assert!(err.to_string().contains("add [kpi] to the config"));
}

#[test]
fn mmm_experiments_are_checked_against_channels_and_periods() {
    let f = Fixture::new();
    f.write(
        "kpi.csv",
        weekly_kpi(&["2024-01-01", "2024-01-08", "2024-01-15"]),
    );
    f.write(
        "media.csv",
        "date,channel,spend\n2024-01-01,tv,10\n2024-01-08,tv,20\n2024-01-15,tv,5\n",
    );
    let with = |experiments: &str| {
        f.write("experiments.csv", experiments);
        panel(
            &f,
            &format!("{CONFIG}\n[experiments]\npath = \"experiments.csv\"\n"),
            PanelGrain::Week,
        )
    };
    let panel = with(
        "channel,start,end,lift,spend\n\
         tv,2024-01-08,2024-01-14,30,20\n\
         radio,2024-01-08,2024-01-14,5,3\n\
         tv,2024-01-15,2024-01-28,8,4\n",
    )
    .unwrap();
    assert_eq!(panel.experiments.len(), 3);
    let tv = &panel.experiments[0];
    assert_eq!(
        (tv.lift, tv.spend, tv.lift_lower, tv.row),
        (30.0, 20.0, None, 1)
    );
    assert_eq!(panel.period_of(tv.start), Some(1));
    assert_eq!(panel.period_of(date("2024-01-22")), None);
    let notes: Vec<(&str, &[u64])> = panel
        .notes
        .iter()
        .map(|n| (n.rule, n.location.rows.as_slice()))
        .collect();
    assert_eq!(
        notes,
        [
            ("experiment_channel", &[2][..]),
            ("experiment_outside", &[3][..])
        ]
    );
    assert!(panel.notes[1].message.contains("partly outside"));

    let err = with("channel,start,end,lift,spend\ntv,2024-01-14,2024-01-08,30,20\n").unwrap_err();
    let MmmPanelError::Invalid(findings) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(findings[0].rule, "experiment_dates");
    assert!(
        err.to_string()
            .contains("ends (2024-01-08) before it starts"),
        "{err}"
    );
}

#[test]
fn mmm_weekly_dates_on_sundays_are_noted() {
    let f = Fixture::new();
    f.write(
        "kpi.csv",
        weekly_kpi(&["2024-01-07", "2024-01-14", "2024-01-21"]),
    );
    f.write(
        "media.csv",
        "date,channel,spend\n2024-01-01,tv,10\n2024-01-08,tv,20\n2024-01-15,tv,5\n",
    );
    let panel = panel(&f, CONFIG, PanelGrain::Week).unwrap();
    assert_eq!(panel.periods[0], date("2024-01-01"));
    assert_eq!(panel.notes.len(), 1, "{:#?}", panel.notes);
    assert_eq!(panel.notes[0].rule, "week_not_monday");
    assert!(
        panel.notes[0].message.contains("fall on Sun"),
        "{}",
        panel.notes[0].message
    );
}
