//! `adroit demo`: simulates a marketing world with known truth into a folder, runs every
//! analysis on it (`adroit run`: check, text, metrics, attribution, the marketing mix
//! model, the budget allocation, customers, uplift) with its report, and compares what
//! the ad platforms report and what the model estimates with what the world's truth says.

use crate::output;
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
    println!(
        "adroit demo: a simulated shop, {} weeks from {} with channels {} (seed {})",
        spec.weeks,
        spec.start,
        spec.channels.join(", "),
        spec.seed
    );
    println!("world and truth in {}\n", dir.display());

    // Every analysis the world's config enables, into one run folder with its report.
    // "Today" is the day after the world ends, so reruns agree.
    let today = world.kpi.last().map_or(spec.start, |k| k.date) + chrono::Days::new(1);
    let run_dir = dir.join("run");
    println!("== adroit run --config adroit.toml --out run ==");
    let code = crate::run::run(crate::run::RunArgs {
        config: dir.join("adroit.toml"),
        out: run_dir.clone(),
        only: Vec::new(),
        skip: Vec::new(),
        force: false,
        today: Some(today.to_string()),
        plan_periods: 12,
        lang: "en".into(),
    })?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    let read = |rel: &str| -> Result<serde_json::Value, String> {
        let path = run_dir.join(rel);
        let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_slice(&raw).map_err(|e| format!("{}: {e}", path.display()))
    };
    let f = |v: &serde_json::Value| v.as_f64();

    // What the platforms report, what the model estimates, and the truth.
    let metrics = read("metrics/metrics.json")?;
    let result = read("mmm/result.json")?;
    let empty = Vec::new();
    let totals = metrics["totals"].as_array().unwrap_or(&empty);
    let mut t = output::table();
    t.set_header([
        "channel",
        "share of spend",
        "platform ROAS",
        "MMM ROAS",
        "90% interval",
        "true ROAS",
        "true marginal ROAS",
    ]);
    for c in result["channels"].as_array().unwrap_or(&empty) {
        let name = c["name"].as_str().unwrap_or_default();
        let truth = world.truth.derived.iter().find(|d| d.channel == name);
        let platform = totals.iter().find(|m| m["group"] == name);
        t.add_row([
            name.to_string(),
            output::rate(f(&c["spend_share"])),
            output::num(platform.and_then(|m| f(&m["roas"])), 2),
            output::num(f(&c["roas"]["value"]), 2),
            format!(
                "{} – {}",
                output::num(f(&c["roas"]["lower"]), 2),
                output::num(f(&c["roas"]["upper"]), 2)
            ),
            output::num(truth.map(|d| d.roas), 2),
            output::num(truth.map(|d| d.marginal_roas), 2),
        ]);
    }
    println!(
        "\n== What each channel returned: platforms, the marketing mix model ({} candidate models, calibrated with {} lift tests), the truth ==\n{t}",
        result["search"]["evaluations"],
        result["spec"]["calibration"].as_array().map_or(0, Vec::len)
    );
    println!(
        "Platform ROAS counts attributed clicks; the model sees only weekly spend, revenue, price,\npromotions, holidays and the lift tests; the true ROAS is the revenue each channel caused\n(truth.json)."
    );

    // Where the next 12 weeks' budget should go.
    let allocation = read("mmm/allocation.json")?;
    let mut t = output::table();
    t.set_header(["channel", "current spend", "optimal spend", "change", "why"]);
    for c in allocation["channels"].as_array().unwrap_or(&empty) {
        let (current, optimal) = (f(&c["current_spend"]), f(&c["optimal_spend"]));
        t.add_row([
            c["name"].as_str().unwrap_or_default().to_string(),
            output::num(current, 0),
            output::num(optimal, 0),
            output::pct(
                current
                    .zip(optimal)
                    .filter(|(c, _)| *c > 0.0)
                    .map(|(c, o)| o / c - 1.0),
            ),
            c["reason"].as_str().unwrap_or_default().to_string(),
        ]);
    }
    let (now, best) = (
        f(&allocation["current_response"]),
        f(&allocation["total_response"]),
    );
    println!(
        "\n== The same budget over the next 12 weeks: response {} → {} ({}) ==\n{t}",
        output::num(now, 0),
        output::num(best, 0),
        output::pct(
            now.zip(best)
                .filter(|(n, _)| *n > 0.0)
                .map(|(n, b)| b / n - 1.0)
        ),
    );
    println!(
        "\nOpen {} for the whole picture (data quality, decomposition, response curves,\nattribution, customers, uplift, text). Serve it with `adroit serve --run {}`.",
        run_dir.join("report.html").display(),
        run_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
