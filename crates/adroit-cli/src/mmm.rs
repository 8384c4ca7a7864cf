//! `adroit mmm`: fit a marketing mix model, allocate a budget over its response
//! curves, and predict the KPI of a spend plan. The door only reads the table, maps
//! columns, and writes `result.json`, `decomposition.csv`, `curves.csv` and
//! `allocation.json`; the model lives in `adroit-mmm`.

use crate::frame::{column, load_frame, numeric, strings};
use crate::output;
use crate::text::parse_date;
use adroit_data::Engine;
use adroit_learn::data::{Frame, Values};
use adroit_mmm::allocate::Allocation;
use adroit_mmm::fit::{FitSettings, Select};
use adroit_mmm::{AdstockKind, ChannelSpec, MmmData, ModelSpec, SaturationKind};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct MmmArgs {
    #[command(subcommand)]
    pub command: MmmCommand,
}

#[derive(Subcommand)]
pub enum MmmCommand {
    /// Fit the model: result.json, decomposition.csv and curves.csv in --out.
    Fit(Box<FitArgs>),
    /// The budget split that maximises response (or meets a target ROAS/CPA).
    Allocate(AllocateArgs),
    /// Predicted KPI of a spend plan.
    Whatif(WhatifArgs),
}

#[derive(Args)]
pub struct FitArgs {
    /// adroit.toml: the modelling table is built from its media and kpi tables (spend
    /// per channel and the KPI summed per period, controls averaged), its experiments
    /// become lift tests, and its [mmm] section gives the settings below (flags win).
    #[arg(long, conflicts_with = "data")]
    pub config: Option<PathBuf>,
    /// Period of the table built from --config: day, week (Monday, the default) or month.
    #[arg(long)]
    pub grain: Option<String>,
    /// The modelling table: one row per period (CSV, Parquet, JSON lines).
    #[arg(long, required_unless_present = "config", requires_all = ["date", "kpi"])]
    pub data: Option<PathBuf>,
    /// Period start date column (with --data).
    #[arg(long)]
    pub date: Option<String>,
    /// The KPI column (with --data: revenue, sales or conversions).
    #[arg(long)]
    pub kpi: Option<String>,
    /// Spend columns, one per paid channel (with --config: a subset of the media
    /// table's channels; default all).
    #[arg(long, value_delimiter = ',', required_unless_present = "config")]
    pub channels: Vec<String>,
    /// Context columns (price, competitor sales, text sentiment, …; with --config: a
    /// subset of the kpi table's controls, default all).
    #[arg(long, value_delimiter = ',')]
    pub controls: Vec<String>,
    /// Event columns: 0/1 numbers, or labels (one dummy per label; `na`, `none` and
    /// empty mean no event).
    #[arg(long, value_delimiter = ',')]
    pub events: Vec<String>,
    /// A holiday calendar (Prophet's layout: ds, holiday, country) to count holidays
    /// per period as one term; needs --country.
    #[arg(long)]
    pub holidays: Option<PathBuf>,
    /// ISO country code of the holidays to use (e.g. DE, CN, US).
    #[arg(long)]
    pub country: Option<String>,
    /// Adstock of every channel: geometric (default), robyn_geometric, weibull_cdf,
    /// weibull_pdf, delayed.
    #[arg(long)]
    pub adstock: Option<String>,
    /// Saturation of every channel: hill (default), logistic, michaelis_menten.
    #[arg(long)]
    pub saturation: Option<String>,
    /// Longest carry-over in periods (default 8).
    #[arg(long)]
    pub l_max: Option<usize>,
    /// A TOML model spec (per-channel families and search ranges, the penalty range;
    /// see examples/mmm.toml) replacing --adstock/--saturation/--l-max.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Pairs of yearly Fourier terms (default 2; 0: no seasonality).
    #[arg(long)]
    pub fourier: Option<usize>,
    /// No linear trend.
    #[arg(long)]
    pub no_trend: bool,
    /// The modelling window, e.g. 2016-01-01..2018-12-31 (Robyn's window_start/end):
    /// periods before it only carry their spend over into it; periods after it are
    /// dropped.
    #[arg(long)]
    pub window: Option<String>,
    /// Series from `adroit text trends` (same grain) to use as controls: what customers
    /// write, beside the media (see --text-controls).
    #[arg(long)]
    pub text_trends: Option<PathBuf>,
    /// Columns of --text-trends to use (default: text_sentiment).
    #[arg(long, value_delimiter = ',')]
    pub text_controls: Vec<String>,
    /// Lift tests to calibrate against (the experiments contract: channel, start, end,
    /// lift, optionally lift_lower and lift_upper; channel names as in --channels).
    #[arg(long)]
    pub experiments: Option<PathBuf>,
    /// Last periods held out of the search for the out-of-sample error (default 0).
    #[arg(long)]
    pub holdout: Option<usize>,
    /// The KPI counts conversions (CPA reported) rather than revenue (with --config:
    /// implied by [kpi] kind = "conversions").
    #[arg(long)]
    pub conversions: bool,
    /// Independent searches pooled into one Pareto front (default 5).
    #[arg(long)]
    pub trials: Option<usize>,
    /// Candidates per trial (default 2000).
    #[arg(long)]
    pub iterations: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Bootstrap refits for the intervals (default 500).
    #[arg(long)]
    pub bootstrap: Option<usize>,
    /// Model choice on the Pareto front: fit (default: lowest DECOMP.RSSD among the
    /// models the data cannot tell from the best fit) or balanced (Robyn's closest to
    /// the origin).
    #[arg(long)]
    pub select: Option<String>,
    /// With --data: the geo column of a long table (one row per geo and period): fits
    /// the Bayesian geo hierarchy (needs --method bayes); results are national, with each
    /// geo's ROAS in result.json's bayes.geo.
    #[arg(long, requires = "data")]
    pub geo: Option<String>,
    /// With --geo: the population column (one value per geo); KPI and spend are then
    /// modelled per capita, as in Meridian. Default: every geo counts 1.
    #[arg(long, requires = "geo")]
    pub population: Option<String>,
    /// ridge (default: the search above) or bayes (NUTS posterior; flags below; with
    /// --config, [mmm] method and [mmm.bayes]).
    #[arg(long)]
    pub method: Option<String>,
    #[command(flatten)]
    pub bayes: crate::mmm_bayes::BayesArgs,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

/// The settings of a fit: the config's [mmm] section (paths made relative to the
/// config's folder) with the flags given on top.
fn settings(
    args: &FitArgs,
    config: Option<(&adroit_config::Config, &Path)>,
) -> adroit_config::MmmSettings {
    let mut m = config.map(|(c, _)| c.mmm.clone()).unwrap_or_default();
    if let Some((_, base)) = config {
        let rel = |p: &Option<String>| p.as_ref().map(|p| base.join(p).display().to_string());
        m.spec = rel(&m.spec);
        m.holidays = rel(&m.holidays);
        m.text_trends = rel(&m.text_trends);
    }
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    macro_rules! flag {
        ($field:ident) => {
            if let Some(v) = &args.$field {
                m.$field = v.clone();
            }
        };
        ($field:ident, path) => {
            if args.$field.is_some() {
                m.$field = path(&args.$field);
            }
        };
        ($field:ident, list) => {
            if !args.$field.is_empty() {
                m.$field = args.$field.clone();
            }
        };
    }
    flag!(grain);
    flag!(adstock);
    flag!(saturation);
    flag!(l_max);
    flag!(fourier);
    flag!(holdout);
    flag!(trials);
    flag!(iterations);
    flag!(seed);
    flag!(bootstrap);
    flag!(select);
    flag!(method);
    flag!(spec, path);
    flag!(holidays, path);
    flag!(text_trends, path);
    flag!(channels, list);
    flag!(controls, list);
    flag!(text_controls, list);
    if args.window.is_some() {
        m.window = args.window.clone();
    }
    if args.country.is_some() {
        m.country = args.country.clone();
    }
    if args.no_trend {
        m.trend = false;
    }
    m
}

#[derive(Args)]
pub struct AllocateArgs {
    /// A folder written by `adroit mmm fit`.
    #[arg(long)]
    pub model: PathBuf,
    /// Total budget over the plan (default: what the last --periods periods spent).
    #[arg(long)]
    pub budget: Option<f64>,
    /// Periods the plan covers; current spend is the last this many periods' spend.
    #[arg(long, default_value_t = 4)]
    pub periods: usize,
    /// Spend bounds as multiples of current spend, e.g. tv=0.5..1.5,search=0..2
    /// (default 0.5..1.5 for every channel).
    #[arg(long, value_delimiter = ',')]
    pub bounds: Vec<String>,
    /// max-response, target-roas=R or target-cpa=C.
    #[arg(long, default_value = "max-response")]
    pub objective: String,
    /// Where to write allocation.json (default: MODEL/allocation.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct WhatifArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Spend per period by channel, e.g. tv=1200,search=800 (channels left out keep
    /// their recent spend).
    #[arg(long, value_delimiter = ',')]
    pub spend: Vec<String>,
    /// Periods the plan runs.
    #[arg(long, default_value_t = 4)]
    pub periods: usize,
    /// Print the prediction as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: MmmArgs) -> Result<ExitCode, String> {
    match args.command {
        MmmCommand::Fit(a) => fit(*a),
        MmmCommand::Allocate(a) => allocate_cmd(a),
        MmmCommand::Whatif(a) => whatif(a),
    }
}

/// `result.json` lives in `adroit_mmm::file`, where the server reads it too.
pub use adroit_mmm::file::ResultFile;
use adroit_mmm::file::{FORMAT, Target, TargetParseError};

/// The modelling table, whichever door it came through: one row per period in date
/// order, before the window is applied.
struct Table {
    origin: String,
    kpi_name: String,
    dates: Vec<chrono::NaiveDate>,
    kpi: Vec<f64>,
    spend: Vec<(String, Vec<f64>)>,
    controls: Vec<(String, Vec<f64>)>,
    events: Vec<(String, Vec<f64>)>,
    lift_tests: Vec<adroit_mmm::spec::LiftTest>,
}

impl Table {
    /// The model's table: days since 1970-01-01 and the columns without their names.
    fn data(&self) -> MmmData {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        let values = |c: &Columns| c.iter().map(|(_, v)| v.clone()).collect();
        MmmData {
            days: self
                .dates
                .iter()
                .map(|d| (*d - epoch).num_days() as i32)
                .collect(),
            kpi: self.kpi.clone(),
            spend: values(&self.spend),
            controls: values(&self.controls),
            events: values(&self.events),
        }
    }

    /// Keeps the periods up to the window's end; returns how many lie before its start.
    fn window(&mut self, w: &str) -> Result<usize, String> {
        let (a, b) = w
            .split_once("..")
            .and_then(|(a, b)| Some((parse_date(a)?, parse_date(b)?)))
            .filter(|(a, b)| a <= b)
            .ok_or_else(|| {
                format!(
                    "--window {w:?}: write START..END with ISO dates, e.g. 2016-01-01..2018-12-31"
                )
            })?;
        let keep = self.dates.iter().take_while(|d| **d <= b).count();
        let history = self.dates[..keep].iter().take_while(|d| **d < a).count();
        if history == keep {
            return Err(format!(
                "--window {w}: no period of {} falls in it",
                self.origin
            ));
        }
        self.dates.truncate(keep);
        self.kpi.truncate(keep);
        for (_, c) in self
            .spend
            .iter_mut()
            .chain(&mut self.controls)
            .chain(&mut self.events)
        {
            c.truncate(keep);
        }
        if let Some(t) = self.lift_tests.iter().find(|t| t.last >= keep) {
            return Err(format!(
                "lift test {} of {} ends after the window {w}: widen the window or drop the test",
                t.label, t.channel
            ));
        }
        Ok(history)
    }
}

fn fit(args: FitArgs) -> Result<ExitCode, String> {
    let out = args.out.clone();
    let (file, seconds, bayes) = fit_to_dir(args)?;
    if !bayes {
        print_fit(&file, seconds);
    }
    eprintln!(
        "wrote {}/result.json, decomposition.csv and curves.csv",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Fits and writes `result.json`, `decomposition.csv` and `curves.csv` into `args.out`;
/// returns the result, the seconds it took, and whether the fit was Bayesian (which
/// prints its own summary).
pub fn fit_to_dir(args: FitArgs) -> Result<(ResultFile, f64, bool), String> {
    let started = std::time::Instant::now();
    let config = match &args.config {
        Some(path) => {
            let raw = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let cfg = adroit_config::Config::from_toml_str(&raw, &path.display().to_string())
                .map_err(|e| e.to_string())?;
            Some((cfg, path.parent().unwrap_or(Path::new(".")).to_path_buf()))
        }
        None => None,
    };
    let m = settings(&args, config.as_ref().map(|(c, b)| (c, b.as_path())));
    if !m.text_controls.is_empty() && m.text_trends.is_none() {
        return Err("--text-controls names columns of --text-trends: give the file too".into());
    }
    m.check()
        .map_err(|e| e.replace("[mmm] ", "[mmm] or its flag: "))?;
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let mut geo_tables = None;
    let mut table = match (&config, &args.geo) {
        (Some(_), Some(_)) => {
            return Err("--geo reads a long table given with --data (one row per geo and period); the config's tables are national".into());
        }
        (Some((cfg, base)), None) => table_from_config(&engine, cfg, base, &args, &m)?,
        (None, Some(col)) => {
            if m.method != "bayes" {
                return Err(
                    "--geo fits the Bayesian geo hierarchy: add --method bayes (the ridge MMM is national)"
                        .into(),
                );
            }
            let geos = geo_tables_from_file(&engine, &args, &m, col)?;
            let origin = args
                .data
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string());
            let mut national = geos.national(&origin, args.kpi.as_deref().unwrap_or("kpi"));
            if let Some(path) = &args.experiments {
                national.lift_tests = lift_tests(&engine, path, &national.dates)?;
            }
            geo_tables = Some(geos);
            national
        }
        (None, None) => table_from_file(&engine, &args, &m)?,
    };
    // Holidays and text series are national: every geo gets them too.
    if let (Some(path), Some(country)) = (&m.holidays, &m.country) {
        let col = holiday_counts(&engine, Path::new(path), country, &table.dates)?;
        each_table(&mut table, &mut geo_tables, &mut |t| {
            t.events.push((format!("holidays_{country}"), col.clone()));
            Ok(())
        })?;
    }
    if let Some(path) = &m.text_trends {
        let wanted = if m.text_controls.is_empty() {
            vec!["text_sentiment".to_string()]
        } else {
            m.text_controls.clone()
        };
        let series = text_series(&engine, Path::new(path), &wanted, &table.dates)?;
        each_table(&mut table, &mut geo_tables, &mut |t| {
            t.controls.extend(series.iter().cloned());
            Ok(())
        })?;
    }
    let mut history = 0;
    if let Some(w) = &m.window {
        each_table(&mut table, &mut geo_tables, &mut |t| {
            history = t.window(w)?;
            Ok(())
        })?;
    }
    let origin = table.origin.clone();
    let channels: Vec<String> = table.spend.iter().map(|(n, _)| n.clone()).collect();
    let mut spec = match &m.spec {
        Some(p) => {
            let raw = std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"))?;
            let spec: ModelSpec = toml::from_str(&raw).map_err(|e| format!("{p}: {e}"))?;
            let named: Vec<&String> = spec.channels.iter().map(|c| &c.name).collect();
            if named != channels.iter().collect::<Vec<_>>() {
                return Err(format!(
                    "the channels {} differ from the spec's channels {}",
                    channels.join(","),
                    named
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ));
            }
            spec
        }
        None => {
            let adstock: AdstockKind = parse_kind(&m.adstock, "--adstock")?;
            let saturation: SaturationKind = parse_kind(&m.saturation, "--saturation")?;
            ModelSpec::new(
                channels
                    .iter()
                    .map(|c| ChannelSpec {
                        adstock,
                        saturation,
                        l_max: m.l_max,
                        ..ChannelSpec::new(c.clone())
                    })
                    .collect(),
            )
        }
    };
    // A spec file contributes channels and the penalty range; columns come from the table.
    spec.controls = table.controls.iter().map(|(n, _)| n.clone()).collect();
    spec.events = table.events.iter().map(|(n, _)| n.clone()).collect();
    spec.trend = m.trend;
    spec.fourier = m.fourier;
    spec.holdout = m.holdout;
    spec.history = history;
    spec.kpi_is_count = args.conversions
        || config.as_ref().is_some_and(|(c, _)| {
            c.kpi
                .as_ref()
                .is_some_and(|k| k.kind == adroit_config::KpiKind::Conversions)
        });
    spec.calibration = std::mem::take(&mut table.lift_tests);
    let data = table.data();
    let settings = FitSettings {
        trials: m.trials,
        iterations: m.iterations,
        seed: m.seed,
        bootstrap: m.bootstrap,
        select: match m.select.as_str() {
            "fit" => Select::default(),
            "balanced" => Select::Balanced,
            other => return Err(format!("--select {other}: use fit or balanced")),
        },
        ..FitSettings::default()
    };
    let bayes = match &geo_tables {
        Some(g) => Some(
            crate::mmm_bayes::fit_geo(&args, &m, &g.panel(), &spec)
                .map_err(|e| format!("{origin}: {e}"))?,
        ),
        None => {
            crate::mmm_bayes::fit(&args, &m, &data, &spec).map_err(|e| format!("{origin}: {e}"))?
        }
    };
    let bar = progress_bar();
    let result = match &bayes {
        Some(b) => b.result.clone(),
        None => adroit_mmm::fit(&data, &spec, &settings, |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .map_err(|e| format!("{origin}: {e}"))?,
    };
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();

    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let dates: Vec<String> = table.dates.iter().map(|d| d.to_string()).collect();
    // A geo model's decomposition is the geos' sum; the national curves cannot give it.
    let (names, cols) = match bayes.as_ref().and_then(|b| b.decomposition.clone()) {
        Some(d) => d,
        None => result.decomposition(&data),
    };
    let media_from = names.len() - data.spend.len();
    let baseline: Vec<f64> = (0..data.periods() - history)
        .map(|t| cols[..media_from].iter().map(|c| c[t]).sum())
        .collect();
    let file = ResultFile {
        format: FORMAT.into(),
        data: origin.clone(),
        kpi: table.kpi_name.clone(),
        dates: dates.clone(),
        spend: table.spend.iter().cloned().collect(),
        baseline,
        curve_draws: bayes
            .as_ref()
            .map(|b| b.curve_draws.clone())
            .unwrap_or_default(),
        result,
    };
    let json = crate::mmm_bayes::result_json(&file, bayes.as_ref())?;
    output::write_atomic(&args.out.join("result.json"), &json)?;
    write_decomposition(
        &args.out.join("decomposition.csv"),
        &dates[history..],
        &data.kpi[history..],
        &names,
        &cols,
    )?;
    write_curves(&args.out.join("curves.csv"), &file)?;
    crate::mmm_bayes::write_draws(&args.out, bayes.as_ref())?;
    Ok((file, seconds, m.method == "bayes"))
}

/// `f` on the national table and on every geo's.
fn each_table(
    table: &mut Table,
    geos: &mut Option<GeoTables>,
    f: &mut dyn FnMut(&mut Table) -> Result<(), String>,
) -> Result<(), String> {
    f(table)?;
    for t in geos.iter_mut().flat_map(|g| &mut g.tables) {
        f(t)?;
    }
    Ok(())
}

/// The table from `--data`: rows sorted by date, one per period, numbers checked with
/// the file's row numbers.
fn table_from_file(
    engine: &Engine,
    args: &FitArgs,
    m: &adroit_config::MmmSettings,
) -> Result<Table, String> {
    let (Some(path), Some(_), Some(_)) = (&args.data, &args.date, &args.kpi) else {
        return Err("give --data FILE --date COLUMN --kpi COLUMN, or --config adroit.toml".into());
    };
    let origin = path.display().to_string();
    let frame = load_frame(engine, path)?;
    let all: Vec<usize> = (0..frame.rows()).collect();
    let mut table = rows_table(&frame, &all, &origin, "", args, m)?;
    if let Some(path) = &args.experiments {
        table.lift_tests = lift_tests(engine, path, &table.dates)?;
    }
    Ok(table)
}

/// A geo panel from `--data --geo COL [--population COL]`: one table per geo (rows in
/// order of the geos' first appearance), the same periods in every geo, and each
/// geo's population (constant within the geo; 1 without `--population`).
struct GeoTables {
    names: Vec<String>,
    population: Vec<f64>,
    tables: Vec<Table>,
}

fn geo_tables_from_file(
    engine: &Engine,
    args: &FitArgs,
    m: &adroit_config::MmmSettings,
    geo_col: &str,
) -> Result<GeoTables, String> {
    let Some(path) = &args.data else {
        return Err(
            "--geo reads a long table: give --data FILE --date COLUMN --kpi COLUMN --geo COLUMN"
                .into(),
        );
    };
    let origin = path.display().to_string();
    let frame = load_frame(engine, path)?;
    let geos = strings(&frame, geo_col, &origin)?;
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, g) in geos.iter().enumerate() {
        let g = g.as_deref().ok_or_else(|| {
            format!(
                "{origin} row {}, column `{geo_col}`: the geo is empty",
                frame.source_row(i)
            )
        })?;
        match groups.iter_mut().find(|(name, _)| name == g) {
            Some((_, rows)) => rows.push(i),
            None => groups.push((g.to_string(), vec![i])),
        }
    }
    let population = match &args.population {
        Some(col) => {
            let values = numeric(&frame, col, &origin)?;
            groups
                .iter()
                .map(|(name, rows)| {
                    let first = values[rows[0]];
                    for &i in rows {
                        let v = values[i];
                        if !(v > 0.0 && v.is_finite()) {
                            return Err(format!(
                                "{origin} row {}, column `{col}`: population {v} of geo {name} is not a positive number",
                                frame.source_row(i)
                            ));
                        }
                        if (v - first).abs() > 1e-9 * first {
                            return Err(format!(
                                "{origin} row {}, column `{col}`: geo {name} has population {v} here and {first} in row {}; give one population per geo",
                                frame.source_row(i),
                                frame.source_row(rows[0])
                            ));
                        }
                    }
                    Ok(first)
                })
                .collect::<Result<Vec<f64>, String>>()?
        }
        None => vec![1.0; groups.len()],
    };
    let mut tables = Vec::with_capacity(groups.len());
    for (name, rows) in &groups {
        let table = rows_table(&frame, rows, &origin, &format!(" (geo {name})"), args, m)?;
        if let Some(first) = tables.first().map(|t: &Table| &t.dates)
            && *first != table.dates
        {
            return Err(format!(
                "{origin}: geo {name} has {} periods from {} to {}, geo {} has {} from {} to {}; every geo needs the same periods",
                table.dates.len(),
                table.dates.first().map_or(String::new(), |d| d.to_string()),
                table.dates.last().map_or(String::new(), |d| d.to_string()),
                groups[0].0,
                first.len(),
                first.first().map_or(String::new(), |d| d.to_string()),
                first.last().map_or(String::new(), |d| d.to_string()),
            ));
        }
        tables.push(table);
    }
    Ok(GeoTables {
        names: groups.into_iter().map(|(name, _)| name).collect(),
        population,
        tables,
    })
}

/// Named columns of a table (spend per channel, controls, events).
type Columns = Vec<(String, Vec<f64>)>;

impl GeoTables {
    /// The panel the geo model reads.
    fn panel(&self) -> adroit_mmm::bayes::GeoPanel {
        adroit_mmm::bayes::GeoPanel {
            names: self.names.clone(),
            population: self.population.clone(),
            tables: self.tables.iter().map(Table::data).collect(),
        }
    }

    /// The national table, by the model's own rule ([`GeoPanel::national`]): KPI and
    /// spend summed over geos, controls averaged weighted by population, events as
    /// they are.
    ///
    /// [`GeoPanel::national`]: adroit_mmm::bayes::GeoPanel::national
    fn national(&self, origin: &str, kpi_name: &str) -> Table {
        let first = &self.tables[0];
        let national = self.panel().national();
        let named = |columns: &Columns, values: Vec<Vec<f64>>| -> Columns {
            columns.iter().map(|(n, _)| n.clone()).zip(values).collect()
        };
        Table {
            origin: origin.to_string(),
            kpi_name: kpi_name.to_string(),
            dates: first.dates.clone(),
            kpi: national.kpi,
            spend: named(&first.spend, national.spend),
            controls: named(&first.controls, national.controls),
            events: first.events.clone(),
            lift_tests: Vec::new(),
        }
    }
}

/// The table of `rows` of `frame` (all of them, or one geo's, named by `what` in
/// errors): sorted by date, one row per period.
fn rows_table(
    frame: &Frame,
    rows_of: &[usize],
    origin: &str,
    what: &str,
    args: &FitArgs,
    m: &adroit_config::MmmSettings,
) -> Result<Table, String> {
    let (Some(date_col), Some(kpi_col)) = (&args.date, &args.kpi) else {
        return Err("give --data FILE --date COLUMN --kpi COLUMN, or --config adroit.toml".into());
    };
    let raw_dates = strings(frame, date_col, origin)?;
    let mut rows: Vec<(chrono::NaiveDate, usize)> = Vec::with_capacity(rows_of.len());
    for &i in rows_of {
        let row = frame.source_row(i);
        let d = raw_dates[i]
            .as_deref()
            .ok_or_else(|| format!("{origin} row {row}, column `{date_col}`: the date is empty"))?;
        let date = parse_date(d).ok_or_else(|| {
            format!(
                "{origin} row {row}, column `{date_col}`: {d:?} is not a date (expected YYYY-MM-DD)"
            )
        })?;
        rows.push((date, i));
    }
    rows.sort();
    if let Some(w) = rows.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!(
            "{origin}{what}: two rows for {} (rows {} and {}): the table needs one row per period; aggregate it first, give --geo COLUMN for a geo panel, or give --config so adroit builds the periods from the media and kpi tables",
            w[0].0,
            frame.source_row(w[0].1),
            frame.source_row(w[1].1)
        ));
    }
    let order: Vec<usize> = rows.iter().map(|r| r.1).collect();
    // Name the row of a bad value in the file's own numbering.
    let column = |name: &str, hint: &str| -> Result<Vec<f64>, String> {
        let v = numeric(frame, name, origin)?;
        let v: Vec<f64> = order.iter().map(|&i| v[i]).collect();
        if let Some(t) = v.iter().position(|x| !x.is_finite()) {
            return Err(format!(
                "{origin} row {}, column `{name}`: empty or not a number; {hint}",
                frame.source_row(order[t])
            ));
        }
        Ok(v)
    };
    let kpi = column(kpi_col, "the KPI is needed in every period")?;
    let mut spend = Vec::new();
    for c in &m.channels {
        let v = column(c, "fill it (0 for no spend) or drop the row")?;
        if let Some(t) = v.iter().position(|x| *x < 0.0) {
            return Err(format!(
                "{origin} row {}, column `{c}`: negative spend {}",
                frame.source_row(order[t]),
                v[t]
            ));
        }
        spend.push((c.clone(), v));
    }
    let controls = m
        .controls
        .iter()
        .map(|c| Ok((c.clone(), column(c, "fill it or drop the control")?)))
        .collect::<Result<_, String>>()?;
    let mut events = Vec::new();
    for name in &args.events {
        for (label, col) in event_dummies(frame, name, origin)? {
            events.push((label, order.iter().map(|&i| col[i]).collect()));
        }
    }
    Ok(Table {
        origin: origin.to_string(),
        kpi_name: kpi_col.clone(),
        dates: rows.iter().map(|r| r.0).collect(),
        kpi,
        spend,
        controls,
        events,
        lift_tests: Vec::new(),
    })
}

/// The table from a config's contract tables (see `adroit_data::mmm_panel`): notes on
/// what was dropped or filled go to stderr.
fn table_from_config(
    engine: &Engine,
    cfg: &adroit_config::Config,
    base: &Path,
    args: &FitArgs,
    m: &adroit_config::MmmSettings,
) -> Result<Table, String> {
    use adroit_data::panel::PanelGrain;
    if !args.events.is_empty() || args.experiments.is_some() {
        return Err("with --config the table and lift tests come from the config's media, kpi and experiments tables; --events and --experiments apply to --data only".into());
    }
    let grain = match m.grain.as_str() {
        "day" => PanelGrain::Day,
        "month" => PanelGrain::Month,
        _ => PanelGrain::Week,
    };
    let origin = args
        .config
        .as_ref()
        .map_or_else(String::new, |p| p.display().to_string());
    let progress = output::Progress::new();
    let panel = adroit_data::mmm_panel(engine, cfg, base, grain, &|s| progress.stage(s))
        .map_err(|e| e.to_string())?;
    progress.finish();
    for note in &panel.notes {
        eprintln!("note: {}", note.message);
    }
    let pick = |all: &[(String, Vec<f64>)], wanted: &[String], what: &str| {
        if wanted.is_empty() {
            return Ok(all.to_vec());
        }
        wanted
            .iter()
            .map(|w| {
                all.iter().find(|(n, _)| n == w).cloned().ok_or_else(|| {
                    format!(
                        "{}: no {what} {w:?} (the config has {})",
                        origin,
                        all.iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            })
            .collect::<Result<Vec<_>, String>>()
    };
    let spend = pick(&panel.spend, &m.channels, "channel")?;
    let controls = pick(&panel.controls, &m.controls, "control")?;
    let mut lift_tests = Vec::new();
    for e in &panel.experiments {
        let (Some(first), Some(last)) = (panel.period_of(e.start), panel.period_of(e.end)) else {
            eprintln!(
                "note: the lift test of {} from {} to {} is outside the modelled periods; not used",
                e.channel, e.start, e.end
            );
            continue;
        };
        if !spend.iter().any(|(n, _)| *n == e.channel) {
            eprintln!(
                "note: the lift test of {} from {} to {} is for a channel not in the model; not used",
                e.channel, e.start, e.end
            );
            continue;
        }
        lift_tests.push(adroit_mmm::spec::LiftTest {
            channel: e.channel.clone(),
            first,
            last,
            label: format!("{}..{}", e.start, e.end),
            lift: e.lift,
            lower: e.lift_lower,
            upper: e.lift_upper,
        });
    }
    Ok(Table {
        origin: origin.clone(),
        kpi_name: "kpi".into(),
        dates: panel.periods.clone(),
        kpi: panel.kpi.clone(),
        spend,
        controls,
        events: Vec::new(),
        lift_tests,
    })
}

fn progress_bar() -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let bar = indicatif::ProgressBar::new(0);
    if std::io::stderr().is_terminal() {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} candidate models ({per_sec}, {eta} left)",
            )
            .expect("static template"),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

fn parse_kind<T: for<'de> Deserialize<'de>>(name: &str, flag: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(name.replace('-', "_")))
        .map_err(|_| format!("{flag} {name}: unknown; see `adroit mmm fit --help` for the names"))
}

/// One 0/1 column per event: a numeric column as it is, a label column as one dummy
/// per label.
fn event_dummies(
    frame: &Frame,
    name: &str,
    origin: &str,
) -> Result<Vec<(String, Vec<f64>)>, String> {
    Ok(match column(frame, name, origin)? {
        Values::Numeric(v) => vec![(
            name.to_string(),
            v.iter()
                .map(|x| if x.is_finite() { *x } else { 0.0 })
                .collect(),
        )],
        Values::Categorical(v) => {
            let none =
                |s: &str| ["na", "none", "no", ""].contains(&s.trim().to_lowercase().as_str());
            let labels: std::collections::BTreeSet<&str> = v
                .iter()
                .flatten()
                .map(String::as_str)
                .filter(|s| !none(s))
                .collect();
            labels
                .into_iter()
                .map(|l| {
                    (
                        format!("{name}_{l}"),
                        v.iter()
                            .map(|s| f64::from(s.as_deref() == Some(l)))
                            .collect(),
                    )
                })
                .collect()
        }
    })
}

/// Lift tests from an experiments table, their dates mapped to periods: a test covers
/// the periods from the one containing its start to the one containing its end.
fn lift_tests(
    engine: &Engine,
    path: &Path,
    dates: &[chrono::NaiveDate],
) -> Result<Vec<adroit_mmm::spec::LiftTest>, String> {
    let origin = path.display().to_string();
    let frame = load_frame(engine, path)?;
    let channels = strings(&frame, "channel", &origin)?;
    let starts = strings(&frame, "start", &origin)?;
    let ends = strings(&frame, "end", &origin)?;
    let lifts = numeric(&frame, "lift", &origin)?;
    let optional = |name: &str| -> Result<Option<Vec<f64>>, String> {
        if frame.column(name).is_some() {
            numeric(&frame, name, &origin).map(Some)
        } else {
            Ok(None)
        }
    };
    let (lowers, uppers) = (optional("lift_lower")?, optional("lift_upper")?);
    let period_of = |d: chrono::NaiveDate| dates.iter().rposition(|p| *p <= d);
    let mut out = Vec::new();
    for i in 0..frame.rows() {
        let row = frame.source_row(i);
        let date = |v: &Option<String>, col: &str| {
            v.as_deref().and_then(parse_date).ok_or_else(|| {
                format!("{origin} row {row}, column `{col}`: expected a date (YYYY-MM-DD)")
            })
        };
        let (start, end) = (date(&starts[i], "start")?, date(&ends[i], "end")?);
        let channel = channels[i]
            .clone()
            .ok_or_else(|| format!("{origin} row {row}, column `channel`: empty"))?;
        let (Some(first), Some(last)) = (period_of(start), period_of(end)) else {
            return Err(format!(
                "{origin} row {row}: the test {start}..{end} starts before the data's first period"
            ));
        };
        if !lifts[i].is_finite() {
            return Err(format!(
                "{origin} row {row}, column `lift`: expected a number"
            ));
        }
        out.push(adroit_mmm::spec::LiftTest {
            channel,
            first,
            last,
            label: format!("{start}..{end}"),
            lift: lifts[i],
            lower: lowers.as_ref().map(|v| v[i]).filter(|v| v.is_finite()),
            upper: uppers.as_ref().map(|v| v[i]).filter(|v| v.is_finite()),
        });
    }
    Ok(out)
}

/// Columns of an `adroit text trends` table lined up with the model's periods. A
/// period where a share is undefined (no mention of the aspect) gets the column's mean
/// over the periods that have one, with a note; a period missing from the table is an
/// error, since its text volume would otherwise read as zero.
fn text_series(
    engine: &Engine,
    path: &Path,
    wanted: &[String],
    dates: &[chrono::NaiveDate],
) -> Result<Vec<(String, Vec<f64>)>, String> {
    let origin = path.display().to_string();
    let frame = load_frame(engine, path)?;
    let rows: std::collections::HashMap<chrono::NaiveDate, usize> =
        strings(&frame, "date", &origin)?
            .iter()
            .enumerate()
            .filter_map(|(i, d)| Some((d.as_deref().and_then(parse_date)?, i)))
            .collect();
    let index: Vec<usize> = dates
        .iter()
        .map(|d| {
            rows.get(d).copied().ok_or_else(|| {
                format!(
                    "{origin}: no row for the period starting {d}; run `adroit text trends` with the model's grain over the same dates"
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for name in wanted {
        let values = numeric(&frame, name, &origin)?;
        let mut col: Vec<f64> = index.iter().map(|&i| values[i]).collect();
        let known: Vec<f64> = col.iter().copied().filter(|v| v.is_finite()).collect();
        if known.is_empty() {
            return Err(format!(
                "{origin}, column `{name}`: empty in every modelled period"
            ));
        }
        let missing = col.len() - known.len();
        if missing > 0 {
            let mean = known.iter().sum::<f64>() / known.len() as f64;
            col.iter_mut()
                .filter(|v| !v.is_finite())
                .for_each(|v| *v = mean);
            eprintln!(
                "note: {name} is empty in {missing} of {} periods (no mentions); filled with its mean {mean:.4}",
                col.len()
            );
        }
        out.push((name.clone(), col));
    }
    Ok(out)
}

/// Holidays of `country` falling in each period (period = from its date to the next).
fn holiday_counts(
    engine: &Engine,
    path: &Path,
    country: &str,
    dates: &[chrono::NaiveDate],
) -> Result<Vec<f64>, String> {
    let origin = path.display().to_string();
    let frame = load_frame(engine, path)?;
    let ds = strings(&frame, "ds", &origin)?;
    let countries = strings(&frame, "country", &origin)?;
    let mut days: Vec<chrono::NaiveDate> = Vec::new();
    for (i, (d, c)) in ds.iter().zip(&countries).enumerate() {
        if c.as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(country))
        {
            let d = d.as_deref().unwrap_or("");
            days.push(parse_date(d).ok_or_else(|| {
                format!(
                    "{origin} row {}, column `ds`: {d:?} is not a date",
                    frame.source_row(i)
                )
            })?);
        }
    }
    if days.is_empty() {
        return Err(format!("{origin}: no holidays for country {country:?}"));
    }
    let gap = dates
        .windows(2)
        .map(|w| (w[1] - w[0]).num_days())
        .min()
        .unwrap_or(7);
    Ok(dates
        .iter()
        .enumerate()
        .map(|(t, &d)| {
            let end = dates
                .get(t + 1)
                .copied()
                .unwrap_or(d + chrono::Duration::days(gap));
            days.iter().filter(|h| **h >= d && **h < end).count() as f64
        })
        .collect())
}

fn write_decomposition(
    path: &Path,
    dates: &[String],
    kpi: &[f64],
    names: &[String],
    cols: &[Vec<f64>],
) -> Result<(), String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["date".to_string(), "kpi".into(), "fitted".into()];
    header.extend(names.iter().cloned());
    w.write_record(&header).map_err(|e| e.to_string())?;
    for t in 0..kpi.len() {
        let fitted: f64 = cols.iter().map(|c| c[t]).sum();
        let mut row = vec![dates[t].clone(), kpi[t].to_string(), fitted.to_string()];
        row.extend(cols.iter().map(|c| c[t].to_string()));
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    output::write_atomic(path, &w.into_inner().map_err(|e| e.to_string())?)
}

/// Response curves (steady-state effect per period against spend per period, from 0
/// to twice the largest spend) and adstock weights per lag.
fn write_curves(path: &Path, file: &ResultFile) -> Result<(), String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["channel", "curve", "x", "y", "marginal"])
        .map_err(|e| e.to_string())?;
    for c in &file.result.channels {
        let r = c.fit.response();
        let spend = &file.spend[&c.name];
        let top = 2.0 * spend.iter().cloned().fold(0.0, f64::max);
        for i in 0..=100 {
            let x = top * i as f64 / 100.0;
            w.write_record([
                c.name.clone(),
                "response".into(),
                x.to_string(),
                r.steady_state(x).to_string(),
                r.steady_state_derivative(x).to_string(),
            ])
            .map_err(|e| e.to_string())?;
        }
        let mut weights = Vec::new();
        c.fit.adstock.weights_into(spend.len().max(1), &mut weights);
        for (lag, wt) in weights.iter().enumerate().take(52) {
            w.write_record([
                c.name.clone(),
                "adstock".into(),
                lag.to_string(),
                wt.to_string(),
                String::new(),
            ])
            .map_err(|e| e.to_string())?;
        }
    }
    output::write_atomic(path, &w.into_inner().map_err(|e| e.to_string())?)
}

fn print_fit(file: &ResultFile, seconds: f64) {
    let r = &file.result;
    let mut t = output::table();
    let unit = if r.spec.kpi_is_count { "CPA" } else { "ROAS" };
    t.set_header([
        "channel",
        "spend",
        "share of spend",
        "share of effect",
        unit,
        "90% interval",
        "marginal ROAS",
    ]);
    for c in &r.channels {
        let (v, lo, hi) = match &c.cpa {
            Some(cpa) => (cpa.value, cpa.lower, cpa.upper),
            None => (c.roas.value, c.roas.lower, c.roas.upper),
        };
        t.add_row([
            c.name.clone(),
            output::num(Some(c.spend), 0),
            output::rate(Some(c.spend_share)),
            output::rate(Some(c.effect_share.value)),
            output::num(Some(v), 2),
            format!(
                "{} – {}",
                output::num(Some(lo), 2),
                output::num(Some(hi), 2)
            ),
            output::num(Some(c.mroas.value), 2),
        ]);
    }
    println!("{t}");
    let d = &r.diagnostics;
    println!(
        "R² {:.3} (adjusted {:.3}), NRMSE {:.4}, MAPE {:.1} %, DECOMP.RSSD {:.4}, Durbin–Watson {:.2}{}",
        d.train.r2,
        d.adjusted_r2,
        d.train.nrmse,
        d.train.mape * 100.0,
        d.decomp_rssd,
        d.durbin_watson,
        d.holdout.map_or(String::new(), |h| format!(
            "; holdout NRMSE {:.4}, MAPE {:.1} %",
            h.nrmse,
            h.mape * 100.0
        ))
    );
    let collinear: Vec<String> = d
        .vif
        .iter()
        .filter(|(_, v)| **v > 10.0)
        .map(|(k, v)| format!("{k} ({v:.0})"))
        .collect();
    if !collinear.is_empty() {
        println!("collinear terms (VIF > 10): {}", collinear.join(", "));
    }
    println!(
        "{} candidate models in {:.2} s ({:.0} per second) over {} trials; chosen: {}",
        r.search.evaluations,
        seconds,
        r.search.evaluations as f64 / seconds.max(1e-9),
        r.search.trials,
        r.search.reason
    );
}

fn read_model(dir: &Path) -> Result<ResultFile, String> {
    let path = dir.join("result.json");
    let raw = std::fs::read(&path).map_err(|e| {
        format!(
            "cannot read {}: {e} (write it with `adroit mmm fit --out {}`)",
            path.display(),
            dir.display()
        )
    })?;
    ResultFile::from_json(&raw).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn allocate_cmd(args: AllocateArgs) -> Result<ExitCode, String> {
    if args.periods == 0 {
        return Err("--periods must be at least 1".into());
    }
    let file = read_model(&args.model)?;
    let mut bounds: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for b in &args.bounds {
        let (name, range) = b
            .split_once('=')
            .ok_or_else(|| format!("--bounds {b:?}: write channel=low..high, e.g. tv=0.5..1.5"))?;
        let (lo, hi) = range
            .split_once("..")
            .and_then(|(l, h)| Some((l.trim().parse::<f64>().ok()?, h.trim().parse::<f64>().ok()?)))
            .ok_or_else(|| {
                format!("--bounds {b:?}: write channel=low..high with numbers, e.g. tv=0.5..1.5")
            })?;
        if !file.spend.contains_key(name.trim()) {
            return Err(format!(
                "--bounds {b:?}: no channel {:?} in the model (channels: {})",
                name.trim(),
                file.spend.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        bounds.insert(name.trim().to_string(), (lo, hi));
    }
    let target = Target::parse(&args.objective).map_err(|e| match e {
        TargetParseError::NotANumber(v) => {
            format!("--objective {}: {v:?} is not a number", args.objective)
        }
        TargetParseError::Unknown => format!(
            "--objective {}: use max-response, target-roas=R or target-cpa=C",
            args.objective
        ),
    })?;
    let result: Allocation = file
        .allocate(args.periods, args.budget, &bounds, target)
        .map_err(|e| e.to_string())?;
    let out = args
        .out
        .unwrap_or_else(|| args.model.join("allocation.json"));
    let posterior = file.allocation_posterior(&result, args.periods);
    #[derive(Serialize)]
    struct AllocationFile<'a> {
        model: String,
        periods: usize,
        #[serde(flatten)]
        allocation: &'a Allocation,
        /// Bayesian models: the outcome over posterior draws of the curves.
        #[serde(skip_serializing_if = "Option::is_none")]
        posterior: Option<adroit_mmm::file::AllocationPosterior>,
    }
    let json = serde_json::to_vec_pretty(&AllocationFile {
        model: args.model.display().to_string(),
        periods: args.periods,
        allocation: &result,
        posterior: posterior.clone(),
    })
    .map_err(|e| e.to_string())?;
    output::write_atomic(&out, &json)?;
    let mut t = output::table();
    t.set_header([
        "channel",
        "current spend",
        "optimal spend",
        "change",
        "current ROAS",
        "optimal ROAS",
        "marginal ROAS",
        "why",
    ]);
    for c in &result.channels {
        t.add_row([
            c.name.clone(),
            output::num(Some(c.current_spend), 0),
            output::num(Some(c.optimal_spend), 0),
            output::pct(Some(if c.current_spend > 0.0 {
                c.optimal_spend / c.current_spend - 1.0
            } else {
                0.0
            })),
            output::num(c.current_roas, 2),
            output::num(c.optimal_roas, 2),
            output::num(Some(c.marginal_roas), 2),
            c.reason.clone(),
        ]);
    }
    println!("{t}");
    println!(
        "over {} periods: spend {} → {}, response {} → {} ({})",
        args.periods,
        output::num(Some(result.current_spend), 0),
        output::num(Some(result.total_spend), 0),
        output::num(Some(result.current_response), 0),
        output::num(Some(result.total_response), 0),
        output::pct(Some(
            result.total_response / result.current_response.max(f64::MIN_POSITIVE) - 1.0
        )),
    );
    if let Some(p) = &posterior {
        println!(
            "over the posterior ({} draws of the response curves): response {} ({} – {}) → {} ({} – {}); gain {} (90 % interval {} – {}), the new split earns more in {:.0} % of draws",
            p.gain.draws,
            output::num(Some(p.current.mean), 0),
            output::num(Some(p.current.lower), 0),
            output::num(Some(p.current.upper), 0),
            output::num(Some(p.optimal.mean), 0),
            output::num(Some(p.optimal.lower), 0),
            output::num(Some(p.optimal.upper), 0),
            output::num(Some(p.gain.mean), 0),
            output::num(Some(p.gain.lower), 0),
            output::num(Some(p.gain.upper), 0),
            p.probability_of_gain * 100.0
        );
    }
    eprintln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn whatif(args: WhatifArgs) -> Result<ExitCode, String> {
    if args.periods == 0 {
        return Err("--periods must be at least 1".into());
    }
    let file = read_model(&args.model)?;
    let mut plan: BTreeMap<String, f64> = BTreeMap::new();
    for s in &args.spend {
        let (name, v) = s.split_once('=').ok_or_else(|| {
            format!("--spend {s:?}: write channel=spend_per_period, e.g. tv=1200")
        })?;
        let v: f64 = v
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("--spend {s:?}: {v:?} is not a spend (a number ≥ 0)"))?;
        if !file.spend.contains_key(name.trim()) {
            return Err(format!(
                "--spend {s:?}: no channel {:?} in the model (channels: {})",
                name.trim(),
                file.spend.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        plan.insert(name.trim().to_string(), v);
    }
    let w = file
        .whatif(&plan, args.periods)
        .map_err(|e| e.to_string())?;
    let take = w.baseline_periods;
    let (baseline, media, spend_total) = (w.baseline, w.media, w.spend);
    let mut t = output::table();
    t.set_header([
        "channel",
        "spend per period",
        "total spend",
        "effect",
        "ROAS",
    ]);
    let mut rows = Vec::new();
    for c in &w.channels {
        let (per, effect) = (c.spend_per_period, c.effect);
        rows.push(serde_json::json!({"channel": c.channel, "spend_per_period": per, "spend": c.spend, "effect": effect}));
        t.add_row([
            c.channel.clone(),
            output::num(Some(per), 0),
            output::num(Some(c.spend), 0),
            output::num(Some(effect), 0),
            output::num(c.roas, 2),
        ]);
    }
    if args.json {
        let mut json = serde_json::json!({"periods": args.periods, "kpi": baseline + media, "baseline": baseline, "media": media, "spend": spend_total, "channels": rows});
        if let Some(p) = &w.posterior {
            json["posterior"] = serde_json::to_value(p).map_err(|e| e.to_string())?;
        }
        println!("{json}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{t}");
    println!(
        "over {} periods: {} {} predicted = baseline {} (mean of the last {take} periods) + media {}; spend {}",
        args.periods,
        file.kpi,
        output::num(Some(baseline + media), 0),
        output::num(Some(baseline), 0),
        output::num(Some(media), 0),
        output::num(Some(spend_total), 0),
    );
    if let Some(p) = &w.posterior {
        println!(
            "over the posterior ({} draws of the response curves): media {} (90 % interval {} – {}), {} {} – {}",
            p.draws,
            output::num(Some(p.media_mean), 0),
            output::num(Some(p.media_lower), 0),
            output::num(Some(p.media_upper), 0),
            file.kpi,
            output::num(Some(p.kpi_lower), 0),
            output::num(Some(p.kpi_upper), 0),
        );
    }
    Ok(ExitCode::SUCCESS)
}
