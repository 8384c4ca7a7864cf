//! adroit's data layer: the contract tables loaded, validated, cleaned and aggregated.
//!
//! - [`source`]: the I/O edge (file checks, encodings, CSV structure);
//! - [`load`]: DataFusion reads into canonical typed Arrow tables;
//! - [`convert`] and [`parse`]: pure value parsing with row-precise findings;
//! - [`validate`]: the named validation rules;
//! - [`panel`]: day/week/month panels by SQL;
//! - [`mmm_panel`]: the one-row-per-period table of a marketing mix model;
//! - [`report`]: the data-quality report.
//!
//! Entry points: [`load_all`] for every table a config names, and [`check`] for the
//! loaded tables plus every validation rule.

pub mod contract;
pub mod convert;
pub mod engine;
pub mod load;
pub mod mmm_panel;
pub mod panel;
pub mod parse;
pub mod report;
pub mod source;
pub mod table;
pub mod validate;

pub use contract::{FieldType, TableSpec};
/// Arrow, as the loaded tables hold it (doors read columns without depending on DataFusion).
pub use datafusion::arrow;
pub use engine::Engine;
pub use load::{LoadOptions, TableLoad, load_table};
pub use mmm_panel::{Experiment, MmmPanel, MmmPanelError, mmm_panel};
pub use panel::{PanelBy, PanelError, PanelGrain, media_panel, media_panel_direct, media_sums};
pub use report::{Cleaning, Finding, QualityReport, Severity, TableSummary};
pub use table::Table;

use adroit_config::Config;
use chrono::NaiveDate;
use std::path::Path;

/// Progress events for a door to display (the library never prints).
#[derive(Debug, Clone, Copy)]
pub enum Stage<'a> {
    Loading {
        table: &'a str,
        index: usize,
        total: usize,
    },
    Validating {
        table: &'a str,
    },
}

/// Every table a config names, loaded, with what loading found.
pub struct Loaded {
    pub tables: Vec<Table>,
    pub report: QualityReport,
}

impl Loaded {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name() == name)
    }
}

/// Loads every table the config names; paths are relative to `base`.
pub fn load_all(engine: &Engine, config: &Config, base: &Path, progress: &dyn Fn(Stage)) -> Loaded {
    let specs = TableSpec::all(config);
    let opts = LoadOptions {
        base,
        validation: &config.validation,
        cleaning: &config.cleaning,
    };
    let mut tables = Vec::new();
    let mut report = QualityReport::default();
    for (index, spec) in specs.iter().enumerate() {
        progress(Stage::Loading {
            table: spec.table,
            index,
            total: specs.len(),
        });
        let loaded = load_table(engine, spec, opts);
        report.findings.extend(loaded.findings);
        report.cleaning.extend(loaded.cleaning);
        if let Some(t) = loaded.table {
            tables.push(t);
        }
    }
    Loaded { tables, report }
}

/// Loads a table outside the contracts (training data, a customer list): every column
/// under its own name, a number where every value parses as one, else text. Errors
/// (an unreadable file, a malformed line) come back as findings, as for contract tables.
pub fn load_any(engine: &Engine, file: adroit_config::FileOptions) -> TableLoad {
    let spec = TableSpec::any(file);
    let validation = adroit_config::Validation::default();
    let cleaning = adroit_config::Cleaning::default();
    load_table(
        engine,
        &spec,
        LoadOptions {
            base: Path::new(""),
            validation: &validation,
            cleaning: &cleaning,
        },
    )
}

/// Loads and validates every table: the full data-quality report.
pub fn check(
    engine: &Engine,
    config: &Config,
    base: &Path,
    today: NaiveDate,
    progress: &dyn Fn(Stage),
) -> Loaded {
    let mut loaded = load_all(engine, config, base, progress);
    let ctx = validate::RuleContext {
        engine,
        validation: &config.validation,
        today,
    };
    for table in &loaded.tables {
        progress(Stage::Validating {
            table: table.name(),
        });
        if let Err(e) = engine.register(table.name(), table.batch.clone()) {
            loaded.report.findings.push(Finding::new(
                "internal",
                Severity::Error,
                table.name(),
                &table.file,
                format!("cannot register the table for validation: {e}"),
            ));
            continue;
        }
        loaded
            .report
            .findings
            .extend(validate::validate(std::slice::from_ref(table), &ctx));
        loaded.report.tables.push(summarize(table));
    }
    loaded.report.sort();
    loaded
}

/// Rows, columns, dates, grain and channels of a loaded table.
pub fn summarize(table: &Table) -> TableSummary {
    let date_col = ["date", "timestamp", "start"]
        .into_iter()
        .find(|c| table.has(c))
        .unwrap_or("date");
    TableSummary {
        table: table.name().into(),
        file: table.file.clone(),
        rows: table.num_rows() as u64,
        columns: table.columns(),
        dates: table
            .date_range(date_col)
            .map(|(a, b)| (a.to_string(), b.to_string())),
        grain: validate::table_grain(table).map(|g| g.name().to_string()),
        channels: if matches!(table.name(), "media" | "touchpoints") {
            table.distinct("channel")
        } else {
            Vec::new()
        },
    }
}
