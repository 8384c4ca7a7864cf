//! `adroit simulate`: a marketing world with known truth, written as files.

use crate::output;
use adroit_sim::WorldSpec;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Seed of the world; the same seed writes byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Folder to write into (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// Length of the world in weeks (daily rows).
    #[arg(long, default_value_t = 156, value_parser = clap::value_parser!(u64).range(4..=1040))]
    pub weeks: u64,
    /// Channels, comma-separated; tv, search, social, display, video, email, ooh and
    /// radio have their own behaviour, other names cycle through those.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "tv,search,social,display"
    )]
    pub channels: Vec<String>,
    /// Customers in the transactions table (BG/NBD purchases, Gamma-Gamma spend); also
    /// the users of the journeys and of the uplift campaign.
    #[arg(long, default_value_t = 20_000)]
    pub customers: usize,
    /// File format of the contract tables (truth files stay CSV and JSON).
    #[arg(long, value_enum, default_value = "csv")]
    pub format: TableFormat,
    /// Languages of the reviews and posts: zh, en or both.
    #[arg(long, value_delimiter = ',', default_value = "zh,en")]
    pub lang: Vec<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Parquet,
}

pub fn run(args: SimulateArgs) -> Result<ExitCode, String> {
    let mut channels: Vec<String> = Vec::new();
    for c in args.channels.iter().map(|c| c.trim()) {
        if c.is_empty() || channels.iter().any(|k| k == c) {
            return Err(format!(
                "--channels needs distinct, non-empty names; got {:?}",
                args.channels.join(",")
            ));
        }
        channels.push(c.to_string());
    }
    for l in &args.lang {
        if l != "zh" && l != "en" {
            return Err(format!("--lang takes zh and/or en, got {l:?}"));
        }
    }
    let spec = WorldSpec {
        seed: args.seed,
        weeks: args.weeks as usize,
        channels,
        customers: args.customers,
        langs: args.lang.clone(),
        ..WorldSpec::default()
    };
    let world = adroit_sim::simulate(&spec);
    write_world(&world, &args.out, args.format)?;
    println!(
        "simulated {} weeks from {} (seed {}) into {}",
        spec.weeks,
        spec.start,
        spec.seed,
        args.out.display()
    );
    let mut t = output::table();
    t.set_header([
        "channel",
        "spend",
        "true contribution",
        "true ROAS",
        "true marginal ROAS",
        "share of spend",
        "share of effect",
    ]);
    for d in &world.truth.derived {
        t.add_row([
            d.channel.clone(),
            output::num(Some(d.spend), 0),
            output::num(Some(d.contribution), 0),
            output::num(Some(d.roas), 2),
            output::num(Some(d.marginal_roas), 2),
            format!("{:.1}%", d.share_of_spend * 100.0),
            format!("{:.1}%", d.share_of_effect * 100.0),
        ]);
    }
    println!("{t}");
    println!(
        "Files: {}. Next: adroit check --config {}",
        world
            .files()
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", "),
        args.out.join("adroit.toml").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes a world's files; for Parquet, the contract tables are converted and the
/// config points at them.
pub fn write_world(
    world: &adroit_sim::World,
    dir: &std::path::Path,
    format: TableFormat,
) -> Result<(), String> {
    let mut config = String::new();
    let mut renamed: Vec<(&str, String)> = Vec::new();
    let engine = match format {
        TableFormat::Parquet => Some(adroit_data::Engine::new().map_err(|e| e.to_string())?),
        TableFormat::Csv => None,
    };
    for (name, bytes) in world.files() {
        if name == "adroit.toml" {
            config = String::from_utf8(bytes).map_err(|e| e.to_string())?;
            continue;
        }
        output::write_atomic(&dir.join(name), &bytes)?;
        // Contract tables (not the truth files) become Parquet when asked.
        if let Some(engine) = &engine
            && !name.starts_with("truth")
            && name.ends_with(".csv")
        {
            let parquet = name.replace(".csv", ".parquet");
            engine
                .csv_to_parquet(&dir.join(name), &dir.join(&parquet))
                .map_err(|e| format!("cannot write {parquet}: {e}"))?;
            std::fs::remove_file(dir.join(name))
                .map_err(|e| format!("cannot remove {name}: {e}"))?;
            renamed.push((name, parquet));
        }
    }
    for (csv, parquet) in renamed {
        config = config.replace(
            &format!("path = \"{csv}\""),
            &format!("path = \"{parquet}\""),
        );
    }
    output::write_atomic(&dir.join("adroit.toml"), config.as_bytes())
}
