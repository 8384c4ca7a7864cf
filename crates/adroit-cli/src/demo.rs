//! `adroit demo`: writes the bundled example shop's data to a folder and runs every
//! analysis adroit has on it (for now: check and metrics).

use crate::output::{self, Progress};
use adroit_config::Config;
use adroit_data::{Engine, PanelBy, PanelGrain};
use std::path::PathBuf;
use std::process::ExitCode;

const MEDIA_CSV: &str = include_str!("../../../examples/demo/media.csv");
const KPI_CSV: &str = include_str!("../../../examples/demo/kpi.csv");
/// The commented example config; its `demo/` paths point next to it once written.
const CONFIG: &str = include_str!("../../../examples/adroit.toml");

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo data and results (default: a new temporary folder, kept).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: DemoArgs) -> Result<ExitCode, String> {
    let dir = match args.out {
        Some(d) => d,
        None => tempfile::Builder::new()
            .prefix("adroit-demo-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary folder: {e}"))?
            .keep(),
    };
    let config_text = CONFIG.replace("path = \"demo/", "path = \"");
    output::write_atomic(&dir.join("media.csv"), MEDIA_CSV.as_bytes())?;
    output::write_atomic(&dir.join("kpi.csv"), KPI_CSV.as_bytes())?;
    output::write_atomic(&dir.join("adroit.toml"), config_text.as_bytes())?;
    let config = Config::from_toml_str(&config_text, "adroit.toml").map_err(|e| e.to_string())?;
    println!(
        "adroit demo: an online shop's 2024 (daily media by channel and campaign, daily revenue)"
    );
    println!("data and results in {}\n", dir.display());

    // 1. Data quality.
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let progress = Progress::new();
    let today = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid date");
    let loaded = adroit_data::check(&engine, &config, &dir, today, &|s| progress.stage(s));
    progress.finish();
    let report_text = crate::check::render_text(&loaded.report);
    output::write_atomic(
        &dir.join("check.json"),
        crate::check::render_json(&loaded.report)?.as_bytes(),
    )?;
    println!("== 1. adroit check ==\n{report_text}");

    // 2. Channel metrics, monthly, and totals.
    let progress = Progress::new();
    let result = crate::metrics::compute(
        &config,
        &dir,
        PanelBy::Channel,
        PanelGrain::Month,
        &progress,
    )?;
    progress.finish();
    let result = match result {
        Ok(r) => r,
        Err(msg) => {
            eprintln!("error: {msg}");
            return Ok(ExitCode::from(1));
        }
    };
    output::write_atomic(
        &dir.join("metrics.json"),
        crate::metrics::render_json(&result)?.as_bytes(),
    )?;
    output::write_atomic(
        &dir.join("metrics.csv"),
        crate::metrics::render_csv(&result)?.as_bytes(),
    )?;
    let mut totals = output::table();
    totals.set_header([
        "channel", "spend", "revenue", "ROAS", "ROI", "CTR", "CPC", "CPA",
    ]);
    for m in &result.totals {
        totals.add_row([
            m.group.clone(),
            output::num(m.spend, 0),
            output::num(m.revenue, 0),
            output::num(m.roas, 2),
            output::pct(m.roi),
            output::rate(m.ctr),
            output::num(m.cpc, 2),
            output::num(m.cpa, 2),
        ]);
    }
    println!(
        "== 2. adroit metrics (2024 totals by channel; monthly detail in metrics.csv) ==\n{totals}\n"
    );
    println!(
        "Files: {}",
        [
            "adroit.toml",
            "media.csv",
            "kpi.csv",
            "check.json",
            "metrics.json",
            "metrics.csv"
        ]
        .join(", ")
    );
    println!(
        "Try: adroit check --config {0}/adroit.toml   |   adroit metrics --config {0}/adroit.toml --grain month",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
