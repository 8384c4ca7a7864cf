//! `adroit attribution`: multi-touch attribution on journeys. The door reads aggregated
//! paths (`--paths`) or the touchpoints contract table (`--touchpoints`, or a config's
//! `[touchpoints]`), hands them to `adroit_attribution`, sums the media table's spend
//! per channel over the same dates for attributed ROAS, and prints or writes the result.

use crate::output::{self, Progress};
use adroit_attribution::{
    ChannelIndex, Credits, DataDrivenOptions, DataDrivenResult, MarkovOptions, MarkovResult,
    PathOptions, Paths, RuleModel, ShapleyGame, ShapleyOptions, ShapleyResult, Solver, TopPaths,
    Touch, Transition, build_paths, data_driven, markov, shapley, time_decay_by_time,
    transition_matrix,
};
use adroit_config::Config;
use adroit_data::arrow::array::{Array, TimestampMicrosecondArray};
use adroit_data::{Engine, PanelBy, PanelError, PanelGrain};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The format tag of `attribution.json`.
pub const FORMAT: &str = "adroit-attribution v1";

#[derive(clap::Args, Debug)]
pub struct AttributionArgs {
    /// The adroit.toml whose [touchpoints] table holds the journeys; its [media] table,
    /// if any, gives the spend for attributed ROAS.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Aggregated journeys in ChannelAttribution's format, one path per line:
    /// `path;total_conversions;total_conversion_value;total_null`, channels joined by ` > `.
    #[arg(long, conflicts_with = "touchpoints")]
    pub paths: Option<PathBuf>,
    /// A touchpoints table (user_id, timestamp, channel, conversion, [value]) with the
    /// contract's column names; replaces the config's [touchpoints] file.
    #[arg(long)]
    pub touchpoints: Option<PathBuf>,
    /// A media table (date, channel, spend) for attributed ROAS; replaces the config's.
    #[arg(long)]
    pub media: Option<PathBuf>,
    /// Models to run, comma-separated (default: [attribution] models, else all of
    /// first,last,linear,time-decay,position,markov,shapley,data-driven). data-driven
    /// fits a conversion model (an organic baseline and a noisy-OR effect per touch of
    /// each channel) on converting and null journeys and credits each conversion by the
    /// model's exact Shapley values; the conversions the baseline explains go to no
    /// channel.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub models: Vec<ModelName>,
    /// How many past channels a Markov state remembers, 1 to 4 (default: [attribution]
    /// markov_order, else 1).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub markov_order: Option<u8>,
    /// Touchpoints only: only touches at most this long before a journey's end count
    /// (30d, 12h, 90m, 45s, 2w). Default: every touch since the user's previous conversion.
    #[arg(long)]
    pub lookback: Option<String>,
    /// Time-decay half-life. A duration (7d, 12h) decays by the touches' times
    /// (touchpoints only); a plain number decays by position, in touches before the
    /// conversion (the only choice for --paths, which carry no times). Default: 7d for
    /// touchpoints, 1 touch for paths.
    #[arg(long)]
    pub half_life: Option<String>,
    /// The Shapley game: conversions (each conversion split evenly over the distinct
    /// channels of its path, the "simplified Shapley value"; closed form, any number of
    /// channels) or conversion-rate (a coalition is worth the conversion rate of the
    /// journeys that touched only its channels, so non-converting journeys count; exact
    /// up to 20 channels, sampled above with a standard error; rare channels make it
    /// erratic: on ChannelAttribution's example `mi`, with 4 conversions in 15 journeys,
    /// takes 2,203 of 19,785 conversions, and credits can be negative).
    #[arg(long, value_enum, default_value = "conversions")]
    pub shapley_game: GameName,
    /// Permutations drawn when Shapley values are sampled.
    #[arg(long, default_value_t = 10_000)]
    pub shapley_permutations: usize,
    /// Seed of the Shapley sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Paths listed in each ranking of top_paths.csv (most frequent, highest converting).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Journeys a path needs to enter the highest-converting ranking.
    #[arg(long, default_value_t = 20.0)]
    pub min_journeys: f64,
    /// Folder to write attribution.json, attribution.csv, transitions.csv and
    /// top_paths.csv into (atomically; created if needed).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What stdout shows: `table` for people, `json` (attribution.json) for programs.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Set when the models are the default "all" rather than asked for: a model that
    /// cannot run on these journeys (data-driven without nulls) is then left out with a
    /// note instead of failing the run.
    #[arg(skip)]
    pub all_models: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelName {
    First,
    Last,
    Linear,
    #[value(name = "time-decay", alias = "time_decay")]
    TimeDecay,
    Position,
    Markov,
    Shapley,
    #[value(name = "data-driven", alias = "data_driven")]
    DataDriven,
}

impl ModelName {
    /// The model's name in the output (the crate's lookup names).
    fn key(self) -> &'static str {
        match self {
            ModelName::First => "first",
            ModelName::Last => "last",
            ModelName::Linear => "linear",
            ModelName::TimeDecay => "time_decay",
            ModelName::Position => "position",
            ModelName::Markov => "markov",
            ModelName::Shapley => "shapley",
            ModelName::DataDriven => "data_driven",
        }
    }

    fn header(self) -> &'static str {
        match self {
            ModelName::TimeDecay => "time decay",
            ModelName::DataDriven => "data-driven",
            other => other.key(),
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GameName {
    Conversions,
    ConversionRate,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// A length of time or a count of touches, as `--lookback` and `--half-life` take them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Span {
    Seconds(f64),
    Touches(f64),
}

/// Reads `30d`, `12h`, `90m`, `45s`, `2w`, `1.5d` as seconds and a plain number as touches.
pub fn parse_span(flag: &str, text: &str) -> Result<Span, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = (t[..split].trim(), t[split..].trim());
    let usage = || {
        format!("{flag} {text:?}: expected a number and a unit, such as 30d, 12h, 90m, 45s or 2w")
    };
    let x: f64 = number.parse().map_err(|_| usage())?;
    if !(x.is_finite() && x > 0.0) {
        return Err(format!("{flag} {text:?}: must be greater than 0"));
    }
    let seconds = match unit.to_ascii_lowercase().as_str() {
        "" => return Ok(Span::Touches(x)),
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3_600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        _ => return Err(usage()),
    };
    Ok(Span::Seconds(x * seconds))
}

/// The journeys and where they came from.
struct Input {
    kind: &'static str,
    file: String,
    paths: Paths,
    /// The touches (touchpoints input only), for time decay by time.
    touches: Vec<Touch>,
    touch_rows: usize,
    users: usize,
    /// First and last day of the touchpoints.
    dates: Option<(NaiveDate, NaiveDate)>,
    notes: Vec<String>,
}

/// What a problem with the data stops: exit 1 with the message.
type DataResult<T> = Result<Result<T, String>, String>;

/// The aggregated path file: parse errors name the file and line.
fn read_paths(path: &Path) -> Result<Input, String> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {file}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        format!("{file}: line {line}: not UTF-8 text (save the file as UTF-8)")
    })?;
    let paths = Paths::parse(&text).map_err(|e| format!("{file}: {e}"))?;
    if paths.journeys.is_empty() {
        return Err(format!("{file}: no paths (the file has no data lines)"));
    }
    Ok(Input {
        kind: "paths",
        file,
        paths,
        touches: Vec::new(),
        touch_rows: 0,
        users: 0,
        dates: None,
        notes: Vec::new(),
    })
}

/// The config (if any) with the flags' files in place, and the folder its paths start from.
fn resolve_config(args: &AttributionArgs) -> Result<(Config, PathBuf), String> {
    let sources = output::Sources {
        config: args.config.clone(),
        touchpoints: args.touchpoints.clone(),
        media: args.media.clone(),
        ..Default::default()
    };
    if sources.config.is_none() && sources.touchpoints.is_none() && sources.media.is_none() {
        return Ok((Config::default(), PathBuf::new()));
    }
    output::resolve_sources(&sources)
}

/// Loads the touchpoints contract table and turns its rows into touches.
fn read_touchpoints(
    engine: &Engine,
    config: &Config,
    base: &Path,
    lookback: Option<i64>,
    progress: &Progress,
) -> DataResult<Input> {
    let Some(section) = &config.touchpoints else {
        return Err(
            "no journeys to attribute: give --paths FILE, --touchpoints FILE, or --config adroit.toml with a [touchpoints] section"
                .into(),
        );
    };
    let spec = adroit_data::TableSpec::touchpoints(section);
    let table = match output::load_contract_table(engine, config, base, &spec, progress) {
        Ok(t) => t,
        Err(msg) => return Ok(Err(msg)),
    };
    let file = table.file.clone();
    if !table.has("conversion") {
        return Ok(Err(format!(
            "the touchpoints table ({file}) has no conversion column, so no journey ends in a conversion; map it in the config's [touchpoints] section: conversion = \"your 0/1 column\" (or name the column `conversion`)"
        )));
    }
    progress.message("building journeys");
    let users_col = table.strs("user_id").ok_or("user_id is not text")?;
    let channels_col = table.strs("channel").ok_or("channel is not text")?;
    let times = table
        .batch
        .column_by_name("timestamp")
        .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
        .ok_or("timestamp is not a timestamp")?;
    let conversions = table
        .flags("conversion")
        .ok_or("conversion is not a flag")?;
    let values = table.f64s("value");
    let mut index = ChannelIndex::new();
    let mut users: HashMap<&str, u64> = HashMap::new();
    let mut touches = Vec::with_capacity(table.num_rows());
    // Rows that cannot join a journey: (count, first source row) per reason.
    let mut skipped: BTreeMap<&'static str, (usize, u64)> = BTreeMap::new();
    let mut skip = |reason: &'static str, row: u64| {
        skipped.entry(reason).or_insert((0, row)).0 += 1;
    };
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for i in 0..table.num_rows() {
        let user = (!users_col.is_null(i))
            .then(|| users_col.value(i).trim())
            .filter(|u| !u.is_empty());
        let Some(user) = user else {
            skip("without a user_id", table.source_row(i));
            continue;
        };
        if times.is_null(i) {
            skip("without a timestamp", table.source_row(i));
            continue;
        }
        let micros = times.value(i);
        let converted = !conversions.is_null(i) && conversions.value(i);
        let channel = (!channels_col.is_null(i))
            .then(|| channels_col.value(i).trim())
            .filter(|c| !c.is_empty());
        let channel = match channel {
            Some(name) => Some(index.id(name).map_err(|e| format!("{file}: {e}"))?),
            // A conversion without a channel is an order, not a touch.
            None if converted => None,
            None => {
                skip(
                    "without a channel (and not a conversion)",
                    table.source_row(i),
                );
                continue;
            }
        };
        let value = match values {
            Some(v) if converted && !v.is_null(i) => v.value(i),
            _ => 0.0,
        };
        if converted && !value.is_finite() {
            return Ok(Err(format!(
                "{file}: row {}: column `{}`: the conversion value is not a finite number",
                table.source_row(i),
                table.source_column("value", None)
            )));
        }
        let next = users.len() as u64;
        let user = *users.entry(user).or_insert(next);
        first = first.min(micros);
        last = last.max(micros);
        touches.push(Touch {
            user,
            time: micros.div_euclid(1_000_000),
            channel,
            conversion: converted,
            value,
        });
    }
    let mut notes: Vec<String> = skipped
        .into_iter()
        .map(|(reason, (count, row))| {
            format!("{count} touchpoint row(s) {reason} were left out (first: {file} row {row})")
        })
        .collect();
    if touches.is_empty() {
        return Ok(Err(format!("{file}: no usable touchpoint rows")));
    }
    let day = |micros: i64| chrono::DateTime::from_timestamp_micros(micros).map(|t| t.date_naive());
    let dates = day(first).zip(day(last));
    let paths = build_paths(&touches, index.into_names(), &PathOptions { lookback })
        .map_err(|e| format!("{file}: {e}"))?;
    if paths.unattributed_conversions > 0.0 {
        notes.push(format!(
            "{} conversion(s) (value {}) had no touch{}: counted, not credited to any channel",
            paths.unattributed_conversions,
            output::num(Some(paths.unattributed_value), 2),
            if lookback.is_some() {
                " inside the lookback window"
            } else {
                ""
            }
        ));
    }
    Ok(Ok(Input {
        kind: "touchpoints",
        file,
        touch_rows: table.num_rows(),
        users: users.len(),
        paths,
        touches,
        dates,
        notes,
    }))
}

/// Spend per channel from the media table over `dates` (all dates when `None`).
#[derive(Debug, Clone, Serialize)]
struct Spend {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    by_channel: BTreeMap<String, f64>,
}

fn media_spend(
    engine: &Engine,
    config: &Config,
    base: &Path,
    dates: Option<(NaiveDate, NaiveDate)>,
    progress: &Progress,
) -> Result<Result<Option<Spend>, String>, String> {
    if config.media.is_none() {
        return Ok(Ok(None));
    }
    let sums = match adroit_data::media_sums(
        engine,
        config,
        base,
        PanelGrain::Day,
        PanelBy::Channel,
        &|s| progress.stage(s),
    ) {
        Ok(sums) => sums,
        Err(PanelError::Invalid(errors)) => {
            return Ok(Err(output::describe_errors("media", &errors)));
        }
        Err(e) => return Err(e.to_string()),
    };
    let mut by_channel: BTreeMap<String, f64> = BTreeMap::new();
    let (mut from, mut to) = (None::<NaiveDate>, None::<NaiveDate>);
    for row in sums {
        if let Some((a, b)) = dates
            && (row.period < a || row.period > b)
        {
            continue;
        }
        from = Some(from.map_or(row.period, |d| d.min(row.period)));
        to = Some(to.map_or(row.period, |d| d.max(row.period)));
        *by_channel.entry(row.group).or_default() += row.spend.unwrap_or(0.0);
    }
    Ok(Ok(Some(Spend {
        from: dates.map(|d| d.0).or(from),
        to: dates.map(|d| d.1).or(to),
        by_channel,
    })))
}

/// Everything one run found: `attribution.json`.
#[derive(Debug, Serialize)]
pub struct Report {
    pub format: &'static str,
    input: InputSummary,
    settings: Settings,
    /// One row per channel: each model's credit side by side.
    channels: Vec<ChannelRow>,
    /// Each model's credit, in the order asked.
    models: Vec<Credits>,
    markov: Option<MarkovResult>,
    shapley: Option<ShapleyResult>,
    /// The fitted conversion model of the data-driven attribution.
    data_driven: Option<DataDrivenResult>,
    /// The order-1 transition matrix (also written as transitions.csv).
    transition_matrix: Vec<Transition>,
    top_paths: TopPaths,
    spend: Option<Spend>,
    notes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct InputSummary {
    /// `paths` or `touchpoints`.
    kind: &'static str,
    file: String,
    channels: Vec<String>,
    distinct_paths: usize,
    journeys: f64,
    conversions: f64,
    nulls: f64,
    value: f64,
    /// Conversions with no touch (in the lookback window): reported, never credited.
    unattributed_conversions: f64,
    unattributed_value: f64,
    touchpoint_rows: Option<usize>,
    users: Option<usize>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
struct Settings {
    models: Vec<&'static str>,
    markov_order: usize,
    lookback: Option<String>,
    lookback_seconds: Option<i64>,
    half_life: String,
    /// `seconds` (time decay by touch time) or `touches` (by position).
    half_life_unit: &'static str,
    half_life_value: f64,
    shapley_game: ShapleyGame,
    shapley_permutations: usize,
    seed: u64,
    top: usize,
    min_journeys: f64,
}

#[derive(Debug, Serialize)]
struct ChannelRow {
    channel: String,
    /// Credited conversions per model.
    conversions: BTreeMap<&'static str, f64>,
    /// Credited conversion value per model.
    value: BTreeMap<&'static str, f64>,
    removal_effect: Option<f64>,
    value_removal_effect: Option<f64>,
    /// The channel's share of the Markov credit.
    markov_share: Option<f64>,
    spend: Option<f64>,
    /// Credited value / spend per model (absent without spend).
    roas: BTreeMap<&'static str, f64>,
}

/// Fills the settings the flags leave open from the config's [attribution] section,
/// then the defaults: every model, Markov order 1.
fn with_config_settings(args: &mut AttributionArgs) -> Result<(), String> {
    if let Some(path) = &args.config {
        let raw = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let cfg = adroit_config::Config::from_toml_str(&raw, &path.display().to_string())
            .map_err(|e| e.to_string())?;
        let a = cfg.attribution;
        if args.models.is_empty() {
            args.models = a
                .models
                .iter()
                .map(|m| {
                    <ModelName as clap::ValueEnum>::from_str(m, true)
                        .map_err(|e| format!("[attribution] models: {e}"))
                })
                .collect::<Result<_, _>>()?;
        }
        args.markov_order = args.markov_order.or(a.markov_order);
        args.lookback = args.lookback.take().or(a.lookback);
        args.half_life = args.half_life.take().or(a.half_life);
    }
    if args.models.is_empty() {
        args.models = <ModelName as clap::ValueEnum>::value_variants().to_vec();
        args.all_models = true;
    }
    args.markov_order.get_or_insert(1);
    Ok(())
}

pub fn run(mut args: AttributionArgs) -> Result<ExitCode, String> {
    with_config_settings(&mut args)?;
    match compute(&args)? {
        Ok(report) => {
            let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n";
            if let Some(dir) = &args.out {
                write_files(dir, &report, &json)?;
            }
            let text = match args.format {
                Format::Table => render_table(&report),
                Format::Json => json,
            };
            output::write_output(None, text.as_bytes())?;
            if let Some(dir) = &args.out {
                eprintln!(
                    "wrote {}/attribution.json, attribution.csv, transitions.csv and top_paths.csv",
                    dir.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("error: {message}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Reads the journeys, runs the models and sums the spend.
pub fn compute(args: &AttributionArgs) -> DataResult<Report> {
    let lookback = args
        .lookback
        .as_deref()
        .map(|t| parse_span("--lookback", t))
        .transpose()?;
    let half_life = args
        .half_life
        .as_deref()
        .map(|t| parse_span("--half-life", t))
        .transpose()?;
    if !(args.min_journeys.is_finite() && args.min_journeys >= 0.0) {
        return Err(format!(
            "--min-journeys must be a number ≥ 0, got {}",
            args.min_journeys
        ));
    }
    let mut models: Vec<ModelName> = Vec::new();
    for &m in &args.models {
        if !models.contains(&m) {
            models.push(m);
        }
    }
    let lookback_seconds = match lookback {
        None => None,
        Some(Span::Touches(_)) => {
            return Err(format!(
                "--lookback {:?}: give a unit, such as 30d, 12h or 90m",
                args.lookback.as_deref().unwrap_or_default()
            ));
        }
        Some(_) if args.paths.is_some() => {
            return Err(
                "--lookback cuts journeys by time, and aggregated paths (--paths) have no times; cut them before aggregating, or give --touchpoints"
                    .into(),
            );
        }
        Some(Span::Seconds(s)) => Some(s.round() as i64),
    };
    let half_life = match (half_life, args.paths.is_some()) {
        (Some(Span::Seconds(_)), true) => {
            return Err(format!(
                "--half-life {:?} is a time, but aggregated paths carry no times: give a number of touches (e.g. --half-life 2)",
                args.half_life.as_deref().unwrap_or_default()
            ));
        }
        (Some(span), _) => span,
        (None, true) => Span::Touches(1.0),
        (None, false) => Span::Seconds(7.0 * 86_400.0),
    };
    if args.paths.is_none() && args.config.is_none() && args.touchpoints.is_none() {
        return Err(
            "no journeys to attribute: give --paths FILE (aggregated paths), --touchpoints FILE, or --config adroit.toml with a [touchpoints] section"
                .into(),
        );
    }
    let (config, base) = resolve_config(args)?;
    let progress = Progress::new();
    let result = attribute(
        args,
        &models,
        lookback_seconds,
        half_life,
        (&config, &base),
        &progress,
    );
    progress.finish();
    result
}

/// The run after the flags are checked: journeys, models, spend.
fn attribute(
    args: &AttributionArgs,
    models: &[ModelName],
    lookback_seconds: Option<i64>,
    half_life: Span,
    (config, base): (&Config, &Path),
    progress: &Progress,
) -> DataResult<Report> {
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let input = match &args.paths {
        Some(path) => {
            progress.message(format!("reading {}", path.display()));
            match read_paths(path) {
                Ok(input) => input,
                Err(message) => return Ok(Err(message)),
            }
        }
        None => match read_touchpoints(&engine, config, base, lookback_seconds, progress)? {
            Ok(input) => input,
            Err(message) => return Ok(Err(message)),
        },
    };
    let paths = &input.paths;
    let mut notes = input.notes.clone();
    if paths.total_conversions() == 0.0 {
        notes.push(
            "no journey converts: every model credits nothing (is the conversion column mapped?)"
                .into(),
        );
    }

    let mut credits = Vec::new();
    let (mut markov_result, mut shapley_result, mut data_driven_result) = (None, None, None);
    let mut ran: Vec<ModelName> = Vec::new();
    for &model in models {
        progress.message(format!("{} attribution", model.header()));
        let rule = |rule: RuleModel| rule.credit(paths).map_err(|e| e.to_string());
        let c = match model {
            ModelName::First => rule(RuleModel::First)?,
            ModelName::Last => rule(RuleModel::Last)?,
            ModelName::Linear => rule(RuleModel::Linear)?,
            ModelName::Position => rule(RuleModel::POSITION)?,
            ModelName::TimeDecay => match half_life {
                Span::Touches(half_life) => rule(RuleModel::TimeDecay { half_life })?,
                Span::Seconds(seconds) => time_decay_by_time(
                    &input.touches,
                    &paths.channels,
                    &PathOptions {
                        lookback: lookback_seconds,
                    },
                    seconds,
                )
                .map_err(|e| e.to_string())?,
            },
            ModelName::Markov => {
                let result = markov(
                    paths,
                    &MarkovOptions {
                        order: args.markov_order.unwrap_or(1) as usize,
                        solver: Solver::Auto,
                    },
                )
                .map_err(|e| e.to_string())?;
                let c = result.credits();
                markov_result = Some(result);
                c
            }
            ModelName::Shapley => {
                let result = shapley(
                    paths,
                    &ShapleyOptions {
                        game: match args.shapley_game {
                            GameName::ConversionRate => ShapleyGame::ConversionRate,
                            GameName::Conversions => ShapleyGame::Conversions,
                        },
                        permutations: args.shapley_permutations,
                        seed: args.seed,
                        ..Default::default()
                    },
                )
                .map_err(|e| e.to_string())?;
                if result.method == "sampled" {
                    notes.push(format!(
                        "Shapley values sampled from {} permutations ({} channels is more than the 20 computed exactly); shapley.channels[].conversions_standard_error gives each error",
                        result.permutations, result.players
                    ));
                }
                let c = result.credits();
                shapley_result = Some(result);
                c
            }
            ModelName::DataDriven => match data_driven(paths, &DataDrivenOptions::default()) {
                Ok(result) => {
                    notes.push(format!(
                        "data-driven: the fitted organic baseline ({:.3} % of journeys convert without any touch) explains {} of the {} conversions; they are credited to no channel",
                        100.0 * result.baseline_rate,
                        output::num(Some(result.baseline_conversions), 1),
                        output::num(Some(result.conversions), 0)
                    ));
                    if result.baseline_conversions > 0.5 * result.conversions {
                        notes.push(
                            "data-driven: journeys with more touches convert at nearly the rate of those with fewer, so the model finds that touches add little; the other models assume every conversion was caused by its path"
                                .into(),
                        );
                    }
                    let c = result.credits();
                    data_driven_result = Some(result);
                    c
                }
                Err(e) if args.all_models => {
                    notes.push(format!("data-driven attribution left out: {e}"));
                    continue;
                }
                Err(e) => return Err(e.to_string()),
            },
        };
        ran.push(model);
        credits.push(c);
    }
    let models = &ran[..];
    progress.message("transition matrix and top paths");
    let transitions = match &markov_result {
        Some(m) if m.order == 1 => m.transitions.clone(),
        _ => transition_matrix(paths, 1).map_err(|e| e.to_string())?,
    };
    let top_paths = paths.top_paths(args.top, args.min_journeys);

    let spend = match media_spend(&engine, config, base, input.dates, progress)? {
        Ok(spend) => spend,
        Err(message) => {
            notes.push(format!("attributed ROAS left out: {message}"));
            None
        }
    };
    if let Some(spend) = &spend {
        let missing: Vec<&str> = paths
            .channels
            .iter()
            .filter(|c| !spend.by_channel.contains_key(c.as_str()))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            notes.push(format!(
                "no spend in the media table for {} (channel names must match exactly): no ROAS for them",
                missing.join(", ")
            ));
        }
        let unused: Vec<&str> = spend
            .by_channel
            .keys()
            .filter(|c| paths.channel_id(c).is_none())
            .map(String::as_str)
            .collect();
        if !unused.is_empty() {
            notes.push(format!(
                "media channels without journeys: {} (their spend is not in any ROAS)",
                unused.join(", ")
            ));
        }
        if input.dates.is_none() {
            notes.push(
                "aggregated paths carry no dates: ROAS divides by the spend of every date in the media table"
                    .into(),
            );
        }
    }

    let rows = channel_rows(paths, models, &credits, markov_result.as_ref(), &spend);
    let (half_life_unit, half_life_value) = match half_life {
        Span::Seconds(s) => ("seconds", s),
        Span::Touches(t) => ("touches", t),
    };
    Ok(Ok(Report {
        format: FORMAT,
        input: InputSummary {
            kind: input.kind,
            file: input.file.clone(),
            channels: paths.channels.clone(),
            distinct_paths: paths.journeys.len(),
            journeys: paths.total_journeys(),
            conversions: paths.total_conversions(),
            nulls: paths.total_nulls(),
            value: paths.total_value(),
            unattributed_conversions: paths.unattributed_conversions,
            unattributed_value: paths.unattributed_value,
            touchpoint_rows: (input.kind == "touchpoints").then_some(input.touch_rows),
            users: (input.kind == "touchpoints").then_some(input.users),
            from: input.dates.map(|d| d.0),
            to: input.dates.map(|d| d.1),
        },
        settings: Settings {
            models: models.iter().map(|m| m.key()).collect(),
            markov_order: args.markov_order.unwrap_or(1) as usize,
            lookback: args.lookback.clone(),
            lookback_seconds,
            half_life: match (&args.half_life, half_life) {
                (Some(text), _) => text.clone(),
                (None, Span::Seconds(_)) => "7d".into(),
                (None, Span::Touches(_)) => "1".into(),
            },
            half_life_unit,
            half_life_value,
            shapley_game: match args.shapley_game {
                GameName::ConversionRate => ShapleyGame::ConversionRate,
                GameName::Conversions => ShapleyGame::Conversions,
            },
            shapley_permutations: args.shapley_permutations,
            seed: args.seed,
            top: args.top,
            min_journeys: args.min_journeys,
        },
        channels: rows,
        models: credits,
        markov: markov_result,
        shapley: shapley_result,
        data_driven: data_driven_result,
        transition_matrix: transitions,
        top_paths,
        spend,
        notes,
    }))
}

fn channel_rows(
    paths: &Paths,
    models: &[ModelName],
    credits: &[Credits],
    markov: Option<&MarkovResult>,
    spend: &Option<Spend>,
) -> Vec<ChannelRow> {
    paths
        .channels
        .iter()
        .enumerate()
        .map(|(i, channel)| {
            let spend = spend
                .as_ref()
                .and_then(|s| s.by_channel.get(channel).copied());
            let mut row = ChannelRow {
                channel: channel.clone(),
                conversions: BTreeMap::new(),
                value: BTreeMap::new(),
                removal_effect: markov.map(|m| m.channels[i].removal_effect),
                value_removal_effect: markov.map(|m| m.channels[i].value_removal_effect),
                markov_share: markov.and_then(|m| {
                    (m.conversions > 0.0).then(|| m.channels[i].conversions / m.conversions)
                }),
                spend,
                roas: BTreeMap::new(),
            };
            for (model, c) in models.iter().zip(credits) {
                let credit = &c.channels[i];
                row.conversions.insert(model.key(), credit.conversions);
                row.value.insert(model.key(), credit.value);
                if let Some(spend) = spend.filter(|s| *s > 0.0) {
                    row.roas.insert(model.key(), credit.value / spend);
                }
            }
            row
        })
        .collect()
}

/// A ROAS for the table: two decimals from 1 up, three significant digits below (a
/// few sampled journeys against a whole media budget give ROAS in the thousandths).
fn roas_text(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() < 1.0 && v != 0.0 => {
            let decimals = (2.0 - v.abs().log10().floor()).clamp(2.0, 12.0) as usize;
            format!("{v:.decimals$}")
        }
        other => output::num(other, 2),
    }
}

/// The models of a report in the order they ran.
fn model_names(report: &Report) -> Vec<&'static str> {
    report.settings.models.clone()
}

fn header_of(key: &str) -> &str {
    match key {
        "time_decay" => "time decay",
        "data_driven" => "data-driven",
        other => other,
    }
}

/// The table row of the conversions no channel caused (data-driven only), padded to
/// the table's columns.
fn baseline_row(
    report: &Report,
    models: &[&'static str],
    field: fn(&adroit_attribution::Baseline) -> f64,
    decimals: usize,
) -> Option<Vec<String>> {
    let baselines: Vec<Option<f64>> = models
        .iter()
        .map(|m| {
            report
                .models
                .iter()
                .zip(&report.settings.models)
                .find(|(_, key)| *key == m)
                .and_then(|(c, _)| c.baseline.as_ref().map(field))
        })
        .collect();
    if baselines.iter().all(Option::is_none) {
        return None;
    }
    let mut cells = vec!["(organic: no channel)".to_string()];
    cells.extend(baselines.into_iter().map(|b| match b {
        Some(v) => output::num(Some(v), decimals),
        None => String::new(),
    }));
    if report.markov.is_some() && decimals == 1 {
        cells.extend([String::new(), String::new()]);
    }
    Some(cells)
}

pub fn render_table(report: &Report) -> String {
    let input = &report.input;
    let models = model_names(report);
    let mut s = format!(
        "Attribution of {} journeys ({} converting, {} not) over {} channels and {} distinct paths; conversion value {}\n",
        output::num(Some(input.journeys), 0),
        output::num(Some(input.conversions), 0),
        output::num(Some(input.nulls), 0),
        input.channels.len(),
        output::num(Some(input.distinct_paths as f64), 0),
        output::num(Some(input.value), 2),
    );
    let settings = &report.settings;
    let mut how = vec![format!("Markov order {}", settings.markov_order)];
    if models.contains(&"time_decay") {
        how.push(match settings.half_life_unit {
            "seconds" => format!("time decay half-life {}", settings.half_life),
            _ => format!(
                "time decay half-life {} touch(es)",
                settings.half_life_value
            ),
        });
    }
    if let Some(l) = &settings.lookback {
        how.push(format!("lookback {l}"));
    }
    if let Some(sh) = &report.shapley {
        how.push(format!(
            "Shapley: {} game, {}",
            match sh.game {
                ShapleyGame::ConversionRate => "conversion-rate",
                ShapleyGame::Conversions => "conversions",
            },
            sh.method.replace('_', " ")
        ));
    }
    s.push_str(&how.join(" · "));
    s.push('\n');

    let mut t = output::table();
    let mut header: Vec<String> = vec!["channel".into()];
    header.extend(models.iter().map(|m| header_of(m).to_string()));
    if report.markov.is_some() {
        header.push("removal effect".into());
        header.push("markov share".into());
    }
    t.set_header(header);
    for row in &report.channels {
        let mut cells = vec![row.channel.clone()];
        cells.extend(
            models
                .iter()
                .map(|m| output::num(row.conversions.get(m).copied(), 1)),
        );
        if report.markov.is_some() {
            cells.push(output::num(row.removal_effect, 3));
            cells.push(output::rate(row.markov_share));
        }
        t.add_row(cells);
    }
    if let Some(row) = baseline_row(report, &models, |b| b.conversions, 1) {
        t.add_row(row);
    }
    s.push_str(&format!("\nConversions credited\n{t}\n"));

    let mut t = output::table();
    let mut header: Vec<String> = vec!["channel".into()];
    header.extend(models.iter().map(|m| header_of(m).to_string()));
    t.set_header(header);
    for row in &report.channels {
        let mut cells = vec![row.channel.clone()];
        cells.extend(
            models
                .iter()
                .map(|m| output::num(row.value.get(m).copied(), 2)),
        );
        t.add_row(cells);
    }
    if let Some(row) = baseline_row(report, &models, |b| b.value, 2) {
        t.add_row(row);
    }
    s.push_str(&format!("\nConversion value credited\n{t}\n"));

    if let Some(spend) = &report.spend {
        let mut t = output::table();
        let mut header: Vec<String> = vec!["channel".into(), "spend".into()];
        header.extend(models.iter().map(|m| header_of(m).to_string()));
        t.set_header(header);
        for row in &report.channels {
            let mut cells = vec![row.channel.clone(), output::num(row.spend, 2)];
            cells.extend(models.iter().map(|m| roas_text(row.roas.get(m).copied())));
            t.add_row(cells);
        }
        let when = match (spend.from, spend.to) {
            (Some(a), Some(b)) => format!(", spend {a} … {b}"),
            _ => String::new(),
        };
        s.push_str(&format!(
            "\nAttributed ROAS (credited value / spend{when})\n{t}\n"
        ));
    }
    if !report.notes.is_empty() {
        s.push_str("\nNotes\n");
        for note in &report.notes {
            s.push_str(&format!("  {note}\n"));
        }
    }
    s
}

/// attribution.csv: one row per channel and model.
fn attribution_csv(report: &Report) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let e = |e: csv::Error| e.to_string();
    w.write_record([
        "channel",
        "model",
        "conversions",
        "conversion_share",
        "value",
        "spend",
        "roas",
        "removal_effect",
    ])
    .map_err(e)?;
    let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for model in &report.models {
        let total = model.total_conversions();
        for (credit, row) in model.channels.iter().zip(&report.channels) {
            let removal = if model.model == "markov" {
                row.removal_effect
            } else {
                None
            };
            w.write_record([
                credit.channel.clone(),
                model.model.clone(),
                credit.conversions.to_string(),
                cell((total != 0.0).then(|| credit.conversions / total)),
                credit.value.to_string(),
                cell(row.spend),
                cell(row.spend.filter(|s| *s > 0.0).map(|s| credit.value / s)),
                cell(removal),
            ])
            .map_err(e)?;
        }
        // The conversions the data-driven model leaves to no channel, so that each
        // model's rows add up to every attributable conversion.
        if let Some(b) = &model.baseline {
            w.write_record([
                "(baseline)".to_string(),
                model.model.clone(),
                b.conversions.to_string(),
                String::new(),
                b.value.to_string(),
                String::new(),
                String::new(),
                String::new(),
            ])
            .map_err(e)?;
        }
    }
    String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

fn transitions_csv(report: &Report) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["from", "to", "count", "probability"])
        .map_err(|e| e.to_string())?;
    for t in &report.transition_matrix {
        w.write_record([
            t.from.clone(),
            t.to.clone(),
            t.count.to_string(),
            t.probability.to_string(),
        ])
        .map_err(|e| e.to_string())?;
    }
    String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

fn top_paths_csv(report: &Report) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "ranking",
        "rank",
        "path",
        "length",
        "journeys",
        "conversions",
        "nulls",
        "conversion_rate",
        "value",
    ])
    .map_err(|e| e.to_string())?;
    let top = &report.top_paths;
    for (ranking, list) in [
        ("most_frequent", &top.most_frequent),
        ("highest_converting", &top.highest_converting),
    ] {
        for (rank, p) in list.iter().enumerate() {
            w.write_record([
                ranking.to_string(),
                (rank + 1).to_string(),
                p.path.clone(),
                p.length.to_string(),
                p.journeys.to_string(),
                p.conversions.to_string(),
                p.nulls.to_string(),
                p.conversion_rate.to_string(),
                p.value.to_string(),
            ])
            .map_err(|e| e.to_string())?;
        }
    }
    String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

fn write_files(dir: &Path, report: &Report, json: &str) -> Result<(), String> {
    output::write_atomic(&dir.join("attribution.json"), json.as_bytes())?;
    output::write_atomic(
        &dir.join("attribution.csv"),
        attribution_csv(report)?.as_bytes(),
    )?;
    output::write_atomic(
        &dir.join("transitions.csv"),
        transitions_csv(report)?.as_bytes(),
    )?;
    output::write_atomic(
        &dir.join("top_paths.csv"),
        top_paths_csv(report)?.as_bytes(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roas_keeps_three_significant_digits_below_one() {
        assert_eq!(roas_text(Some(0.000379132)), "0.000379");
        assert_eq!(roas_text(Some(0.5)), "0.500");
        assert_eq!(roas_text(Some(0.05)), "0.0500");
        assert_eq!(roas_text(Some(2.345)), "2.35");
        assert_eq!(roas_text(Some(0.0)), "0.00");
        assert_eq!(roas_text(None), "");
    }

    #[test]
    fn spans_read_units_and_plain_numbers() {
        assert_eq!(
            parse_span("--lookback", "30d"),
            Ok(Span::Seconds(2_592_000.0))
        );
        assert_eq!(parse_span("--lookback", "12h"), Ok(Span::Seconds(43_200.0)));
        assert_eq!(parse_span("--lookback", "90m"), Ok(Span::Seconds(5_400.0)));
        assert_eq!(parse_span("--lookback", "45s"), Ok(Span::Seconds(45.0)));
        assert_eq!(
            parse_span("--lookback", "2w"),
            Ok(Span::Seconds(1_209_600.0))
        );
        assert_eq!(
            parse_span("--half-life", "1.5 days"),
            Ok(Span::Seconds(129_600.0))
        );
        assert_eq!(parse_span("--half-life", "2"), Ok(Span::Touches(2.0)));
        for bad in ["", "d", "30x", "-3d", "0d", "nan", "3 fortnights"] {
            let e = parse_span("--lookback", bad).unwrap_err();
            assert!(e.starts_with("--lookback"), "{bad}: {e}");
        }
    }
}
