//! `adroit check`: the data-quality report.

use crate::output::{self, Progress, Sources};
use adroit_data::{Engine, QualityReport, Severity};
use chrono::NaiveDate;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub sources: Sources,
    /// `text` for people, `json` for programs.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReportFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The date future-date checks compare with (default: today), for reproducible reports.
    #[arg(long)]
    pub today: Option<NaiveDate>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
}

pub fn run(args: CheckArgs) -> Result<ExitCode, String> {
    let (config, base) = output::resolve_sources(&args.sources)?;
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let today = args
        .today
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let progress = Progress::new();
    let loaded = adroit_data::check(&engine, &config, &base, today, &|s| progress.stage(s));
    progress.finish();
    let report = loaded.report;
    let text = match args.format {
        ReportFormat::Text => render_text(&report),
        ReportFormat::Json => render_json(&report)?,
    };
    output::write_output(args.out.as_deref(), text.as_bytes())?;
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The report as JSON: counts, tables, findings, cleaning.
pub fn render_json(report: &QualityReport) -> Result<String, String> {
    let value = serde_json::json!({
        "errors": report.errors(),
        "warnings": report.warnings(),
        "tables": report.tables,
        "findings": report.findings,
        "cleaning": report.cleaning,
    });
    serde_json::to_string_pretty(&value)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

/// The report for people: tables, then findings errors first, then cleaning done.
pub fn render_text(report: &QualityReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Data quality: {} table{} loaded, {} error{}, {} warning{}",
        report.tables.len(),
        plural(report.tables.len()),
        report.errors(),
        plural(report.errors()),
        report.warnings(),
        plural(report.warnings())
    );
    if !report.tables.is_empty() {
        let mut t = output::table();
        t.set_header(["table", "file", "rows", "dates", "grain", "channels"]);
        for summary in &report.tables {
            t.add_row([
                summary.table.clone(),
                summary.file.clone(),
                output::num(Some(summary.rows as f64), 0),
                summary
                    .dates
                    .as_ref()
                    .map(|(a, b)| format!("{a} … {b}"))
                    .unwrap_or_default(),
                summary.grain.clone().unwrap_or_default(),
                summary.channels.join(", "),
            ]);
        }
        let _ = writeln!(s, "\n{t}");
    }
    if !report.findings.is_empty() {
        let _ = writeln!(s, "\nFindings");
        for f in &report.findings {
            let mut head = format!("{:<7} {} · {}", f.severity.to_string(), f.table, f.rule);
            if let Some(c) = &f.column {
                head.push_str(&format!(" · column `{c}`"));
            }
            let place = f.where_text();
            if !place.is_empty() {
                head.push_str(&format!(" · {place}"));
            }
            let _ = writeln!(s, "{head}");
            let _ = writeln!(s, "        {}", f.message);
            if !f.expected.is_empty() {
                let _ = writeln!(s, "        expected: {}", f.expected);
            }
            if !f.suggestion.is_empty() {
                let _ = writeln!(s, "        fix: {}", f.suggestion);
            }
            if f.severity == Severity::Error || f.severity == Severity::Warning {
                let _ = writeln!(s, "        file: {}", f.file);
            }
        }
    }
    if !report.cleaning.is_empty() {
        let _ = writeln!(s, "\nCleaning done");
        for c in &report.cleaning {
            let column = c
                .column
                .as_ref()
                .filter(|c| !c.is_empty())
                .map(|c| format!(" column `{c}`"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {} ({}){column}: {} ({} value{})",
                c.table,
                c.file,
                c.action,
                c.count,
                plural(c.count as usize)
            );
        }
    }
    if report.findings.is_empty() {
        let _ = writeln!(s, "\nNo problems found.");
    }
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
