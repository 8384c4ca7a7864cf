//! `adroit metrics`: channel performance per group and period.

use crate::output::{self, Progress, Sources};
use adroit_config::Config;
use adroit_data::{Engine, PanelBy, PanelError, PanelGrain};
use adroit_metrics::{METRIC_NAMES, PeriodMetrics};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct MetricsArgs {
    #[command(flatten)]
    pub sources: Sources,
    /// Group rows by channel, campaign (within channel), geo, or total.
    #[arg(long, value_enum, default_value = "channel")]
    pub by: By,
    /// Period length; weeks start on Monday.
    #[arg(long, value_enum, default_value = "week")]
    pub grain: Grain,
    /// `table` for people; `json` or `csv` for programs.
    #[arg(long, value_enum, default_value = "table")]
    pub format: MetricsFormat,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum By {
    Channel,
    Campaign,
    Geo,
    Total,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Grain {
    Day,
    Week,
    Month,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsFormat {
    Table,
    Json,
    Csv,
}

/// The computed metrics of one run.
pub struct MetricsResult {
    pub rows: Vec<PeriodMetrics>,
    pub totals: Vec<PeriodMetrics>,
    pub by: PanelBy,
    pub grain: PanelGrain,
}

/// Builds the media panel and computes metrics; `Ok(Err(message))` when the data has
/// errors (exit code 1), `Err` for everything else (exit code 2).
pub fn compute(
    config: &Config,
    base: &Path,
    by: PanelBy,
    grain: PanelGrain,
    progress: &Progress,
) -> Result<Result<MetricsResult, String>, String> {
    let engine = Engine::new().map_err(|e| e.to_string())?;
    match adroit_data::media_sums(&engine, config, base, grain, by, &|s| progress.stage(s)) {
        Ok(sums) => Ok(Ok(MetricsResult {
            rows: adroit_metrics::compute(&sums),
            totals: adroit_metrics::totals(&sums),
            by,
            grain,
        })),
        Err(PanelError::Invalid(errors)) => Ok(Err(output::describe_errors("media", &errors))),
        Err(e) => Err(e.to_string()),
    }
}

pub fn run(args: MetricsArgs) -> Result<ExitCode, String> {
    let (config, base) = output::resolve_sources(&args.sources)?;
    let progress = Progress::new();
    let by = match args.by {
        By::Channel => PanelBy::Channel,
        By::Campaign => PanelBy::Campaign,
        By::Geo => PanelBy::Geo,
        By::Total => PanelBy::Total,
    };
    let grain = match args.grain {
        Grain::Day => PanelGrain::Day,
        Grain::Week => PanelGrain::Week,
        Grain::Month => PanelGrain::Month,
    };
    let result = compute(&config, &base, by, grain, &progress);
    progress.finish();
    let result = match result? {
        Ok(r) => r,
        Err(msg) => {
            eprintln!("error: {msg}");
            return Ok(ExitCode::from(1));
        }
    };
    let text = match args.format {
        MetricsFormat::Table => render_table(&result, &config.project.currency),
        MetricsFormat::Json => render_json(&result)?,
        MetricsFormat::Csv => render_csv(&result)?,
    };
    output::write_output(args.out.as_deref(), text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

pub fn render_json(r: &MetricsResult) -> Result<String, String> {
    let value = serde_json::json!({
        "by": r.by,
        "grain": r.grain,
        "metrics": METRIC_NAMES,
        "rows": r.rows,
        "totals": r.totals,
    });
    serde_json::to_string_pretty(&value)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

/// CSV: group, period, every metric, then every metric's change; empty cells for
/// ratios without a denominator.
pub fn render_csv(r: &MetricsResult) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["group".to_string(), "period".to_string()];
    header.extend(METRIC_NAMES.iter().map(|m| m.to_string()));
    header.extend(METRIC_NAMES.iter().map(|m| format!("{m}_change")));
    w.write_record(&header).map_err(|e| e.to_string())?;
    let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for row in &r.rows {
        let mut rec = vec![row.group.clone(), row.period.to_string()];
        rec.extend(row.values().into_iter().map(cell));
        rec.extend(row.change.values().into_iter().map(cell));
        w.write_record(&rec).map_err(|e| e.to_string())?;
    }
    String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

pub fn render_table(r: &MetricsResult, currency: &str) -> String {
    let mut t = output::table();
    t.set_header([
        "group".to_string(),
        "period".to_string(),
        format!("spend ({currency})"),
        "revenue".into(),
        "ROAS".into(),
        "ROI".into(),
        "CTR".into(),
        "CPC".into(),
        "CPM".into(),
        "CVR".into(),
        "CPA".into(),
        "Δ spend".into(),
        "Δ revenue".into(),
        "Δ ROAS".into(),
    ]);
    let row_cells = |m: &PeriodMetrics, period: String| {
        vec![
            m.group.clone(),
            period,
            output::num(m.spend, 2),
            output::num(m.revenue, 2),
            output::num(m.roas, 2),
            output::pct(m.roi),
            output::rate(m.ctr),
            output::num(m.cpc, 2),
            output::num(m.cpm, 2),
            output::rate(m.cvr),
            output::num(m.cpa, 2),
            output::pct(m.change.spend),
            output::pct(m.change.revenue),
            output::pct(m.change.roas),
        ]
    };
    for m in &r.rows {
        t.add_row(row_cells(m, m.period.to_string()));
    }
    let mut totals = output::table();
    totals.set_header([
        "group", "from", "spend", "revenue", "ROAS", "ROI", "CTR", "CPC", "CPM", "CVR", "CPA",
    ]);
    for m in &r.totals {
        let mut cells = row_cells(m, m.period.to_string());
        cells.truncate(11);
        totals.add_row(cells);
    }
    format!("{t}\n\nTotals over all periods\n{totals}\n")
}
