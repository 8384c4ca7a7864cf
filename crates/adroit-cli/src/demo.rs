//! `adroit demo`: simulates a marketing world with known truth into a folder and runs
//! the analyses adroit has on it (check, metrics, the marketing mix model and the
//! budget allocator), comparing what the ad platforms report and what the model
//! estimates with what the world's truth says.

use crate::output::{self, Progress};
use adroit_config::Config;
use adroit_data::{Engine, PanelBy, PanelGrain};
use adroit_sim::WorldSpec;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Folder for the world and the results (default: a new temporary folder, kept).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of the simulated world.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
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
    let spec = WorldSpec {
        seed: args.seed,
        ..WorldSpec::default()
    };
    let world = adroit_sim::simulate(&spec);
    crate::simulate::write_world(&world, &dir, crate::simulate::TableFormat::Csv)?;
    let config_text =
        std::fs::read_to_string(dir.join("adroit.toml")).map_err(|e| e.to_string())?;
    let config = Config::from_toml_str(&config_text, "adroit.toml").map_err(|e| e.to_string())?;
    println!(
        "adroit demo: a simulated shop, {} weeks from {} with channels {} (seed {})",
        spec.weeks,
        spec.start,
        spec.channels.join(", "),
        spec.seed
    );
    println!("world, truth and results in {}\n", dir.display());

    // 1. Data quality. "Today" is the day after the world ends, so reruns agree.
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let progress = Progress::new();
    let today = world.kpi.last().map_or(spec.start, |k| k.date) + chrono::Days::new(1);
    let loaded = adroit_data::check(&engine, &config, &dir, today, &|s| progress.stage(s));
    progress.finish();
    output::write_atomic(
        &dir.join("check.json"),
        crate::check::render_json(&loaded.report)?.as_bytes(),
    )?;
    println!(
        "== 1. adroit check: {} tables, {} errors, {} warnings (details in check.json) ==\n",
        loaded.report.tables.len(),
        loaded.report.errors(),
        loaded.report.warnings()
    );

    // 2. Channel metrics, against the truth.
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
    let mut t = output::table();
    t.set_header([
        "channel",
        "spend",
        "CTR",
        "CPC",
        "platform ROAS",
        "true ROAS",
        "true marginal ROAS",
    ]);
    for m in &result.totals {
        let truth = world.truth.derived.iter().find(|d| d.channel == m.group);
        t.add_row([
            m.group.clone(),
            output::num(m.spend, 0),
            output::rate(m.ctr),
            output::num(m.cpc, 2),
            output::num(m.roas, 2),
            output::num(truth.map(|d| d.roas), 2),
            output::num(truth.map(|d| d.marginal_roas), 2),
        ]);
    }
    println!(
        "== 2. adroit metrics: what the platforms report, and what the world's truth says ==\n{t}"
    );
    println!(
        "Platform ROAS counts attributed clicks; the true ROAS is the revenue each channel caused\n(truth.json).\n"
    );

    // 3. The marketing mix model of the weekly table, calibrated with the world's lift tests.
    let (fitted, seconds) = crate::mmm::fit_to_dir(crate::mmm::FitArgs::for_config(
        dir.join("adroit.toml"),
        dir.join("mmm"),
    ))?;
    let mut t = output::table();
    t.set_header([
        "channel",
        "share of spend",
        "MMM ROAS",
        "90% interval",
        "true ROAS",
        "platform ROAS",
    ]);
    for c in &fitted.result.channels {
        let truth = world.truth.derived.iter().find(|d| d.channel == c.name);
        let platform = result.totals.iter().find(|m| m.group == c.name);
        t.add_row([
            c.name.clone(),
            output::rate(Some(c.spend_share)),
            output::num(Some(c.roas.value), 2),
            format!(
                "{} – {}",
                output::num(Some(c.roas.lower), 2),
                output::num(Some(c.roas.upper), 2)
            ),
            output::num(truth.map(|d| d.roas), 2),
            output::num(platform.and_then(|m| m.roas), 2),
        ]);
    }
    println!(
        "== 3. adroit mmm fit: {} candidate models in {seconds:.1} s, calibrated with {} lift tests ==\n{t}",
        fitted.result.search.evaluations,
        fitted.result.spec.calibration.len()
    );
    println!(
        "The model sees only weekly spend, revenue, price, promotions, holidays and the lift tests.\n"
    );

    // 4. Where the next 12 weeks' budget should go.
    println!("== 4. adroit mmm allocate: the same budget over the next 12 weeks ==");
    crate::mmm::allocate_cmd(crate::mmm::AllocateArgs {
        model: dir.join("mmm"),
        budget: None,
        periods: 12,
        bounds: Vec::new(),
        objective: "max-response".into(),
        out: None,
    })?;
    println!();
    println!(
        "Files in {}: {}, check.json, metrics.json, metrics.csv, mmm/ (result.json, decomposition.csv, curves.csv, allocation.json)",
        dir.display(),
        world
            .files()
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
