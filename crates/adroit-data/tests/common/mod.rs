//! Helpers shared by the integration tests: write files into a temporary folder and
//! run the loader and checker on them.

#![allow(dead_code)]

use adroit_config::Config;
use adroit_data::{Engine, Finding, Loaded, Severity};
use std::path::Path;

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> &Self {
        std::fs::write(self.dir.path().join(name), bytes).unwrap();
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `adroit check` logic on a config text; today is 2025-01-01.
    pub fn check(&self, config: &str) -> Loaded {
        let config = Config::from_toml_str(config, "test.toml").unwrap();
        let engine = Engine::new().unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        adroit_data::check(&engine, &config, self.path(), today, &|_| {})
    }

    /// Checks a long media CSV with contract column names.
    pub fn check_media(&self, csv: &str) -> Loaded {
        self.write("media.csv", csv);
        self.check("[media]\npath = \"media.csv\"\n")
    }
}

/// The findings of one rule.
pub fn by_rule<'a>(loaded: &'a Loaded, rule: &str) -> Vec<&'a Finding> {
    loaded
        .report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .collect()
}

/// The one finding of a rule, asserting there is exactly one.
pub fn one<'a>(loaded: &'a Loaded, rule: &str) -> &'a Finding {
    let found = by_rule(loaded, rule);
    assert_eq!(
        found.len(),
        1,
        "expected one {rule} finding, got {:#?}",
        loaded.report.findings
    );
    found[0]
}

pub fn error_rules(loaded: &Loaded) -> Vec<&'static str> {
    loaded
        .report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.rule)
        .collect()
}

/// A clean week of daily media for two channels.
pub fn clean_media() -> String {
    let mut s = String::from("date,channel,spend,impressions,clicks,conversions,revenue\n");
    for day in 1..=14 {
        for (ch, base) in [("search", 100.0), ("social", 50.0)] {
            let spend = base + day as f64;
            s.push_str(&format!(
                "2024-01-{day:02},{ch},{spend},{},{},{},{}\n",
                spend * 100.0,
                spend * 2.0,
                spend / 10.0,
                spend * 3.0
            ));
        }
    }
    s
}
