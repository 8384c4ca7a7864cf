//! The doors `adroit customers summary` and `adroit clv fit/predict/validate`: read the
//! transactions contract table (or a ready RFM summary), intern the customer ids, and hand
//! the columns to `adroit_clv`; print the results and write them atomically.

use crate::output::{self, Progress};
use adroit_clv::file::{MODEL_FILE, MODEL_FORMAT, ModelFile, PurchaseFit};
use adroit_clv::{
    BgNbd, ClvError, ClvOptions, Fitted, GammaGamma, ModifiedBgNbd, Parameters, ParetoNbd, Period,
    Rfm, RfmSummary, Spend, SummaryOptions, Transaction,
};
use adroit_config::Config;
use adroit_data::Engine;
use adroit_data::arrow::array::{Array, StringArray, TimestampMicrosecondArray};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A line of the report (written to stdout at the end, where a closed pipe is no error).
macro_rules! outln {
    ($out:expr, $($arg:tt)*) => {
        let _ = writeln!($out, $($arg)*);
    };
}

/// Customer RFM summaries.
#[derive(clap::Args, Debug)]
pub struct CustomersArgs {
    #[command(subcommand)]
    command: CustomersCommand,
}

#[derive(clap::Subcommand, Debug)]
enum CustomersCommand {
    /// Per customer: frequency, recency, T, monetary value and first purchase date.
    Summary(SummaryArgs),
}

#[derive(clap::Args, Debug)]
pub struct SummaryArgs {
    #[command(flatten)]
    input: TransactionInput,
    /// Write the per-customer table to this CSV file (atomically).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Customer lifetime value.
#[derive(clap::Args, Debug)]
pub struct ClvArgs {
    #[command(subcommand)]
    command: ClvCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ClvCommand {
    /// Fit a purchase model (BG/NBD, Pareto/NBD, modified BG/NBD) and Gamma-Gamma spend.
    Fit(FitArgs),
    /// Probability alive, expected purchases and spend, and discounted CLV per customer.
    Predict(PredictArgs),
    /// Calibration/holdout check: predicted vs actual purchases per frequency bucket.
    Validate(ValidateArgs),
    /// BG/BB for discrete opportunities (yearly donations, event attendance): a table of
    /// frequency, recency and opportunities, with optional pattern counts.
    Discrete(DiscreteArgs),
    /// sBG retention of a subscription cohort: customers still active after each period.
    Retention(RetentionArgs),
}

#[derive(clap::Args, Debug)]
struct DiscreteArgs {
    /// A table with frequency (opportunities with a transaction after the first),
    /// recency (the last such opportunity) and periods (opportunities observed), and
    /// optionally weights (customers sharing the pattern).
    #[arg(long)]
    data: PathBuf,
    /// Opportunities ahead to project expected transactions and survival over.
    #[arg(long, default_value_t = 5)]
    horizon: usize,
}

#[derive(clap::Args, Debug)]
struct RetentionArgs {
    /// A table with one row per period, in order: the first row is the cohort's size.
    #[arg(long)]
    data: PathBuf,
    /// The column of customers still active (one per cohort: fit each on its own).
    #[arg(long)]
    alive_col: String,
    /// Periods ahead to project.
    #[arg(long, default_value_t = 5)]
    horizon: usize,
    /// Fit on the first N periods only and project the rest (Fader & Hardie fit 7 of
    /// the 12 years); default: every period.
    #[arg(long)]
    calibration_periods: Option<usize>,
}

fn run_discrete(args: DiscreteArgs) -> Result<ExitCode, String> {
    let origin = args.data.display().to_string();
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let frame = crate::frame::load_frame(&engine, &args.data)?;
    let x = crate::frame::complete_numeric(&frame, "frequency", &origin)?;
    let tx = crate::frame::complete_numeric(&frame, "recency", &origin)?;
    let n = crate::frame::complete_numeric(&frame, "periods", &origin)?;
    let w = match frame.column("weights") {
        Some(_) => Some(crate::frame::complete_numeric(&frame, "weights", &origin)?),
        None => None,
    };
    let mut data = adroit_clv::Discrete::new(&x, &tx, &n).map_err(|e| format!("{origin}: {e}"))?;
    if let Some(w) = &w {
        data = data.with_weights(w).map_err(|e| format!("{origin}: {e}"))?;
    }
    let fit = adroit_clv::BgBb::fit(&data).map_err(|e| format!("{origin}: {e}"))?;
    let m = &fit.model;
    let se = fit.standard_errors.as_ref();
    let mut out = String::new();
    outln!(
        out,
        "BG/BB on {origin}: {} customers, log-likelihood {:.2}{}",
        output::num(Some(fit.observations), 0),
        fit.log_likelihood,
        if fit.converged {
            ""
        } else {
            " (did not converge: check the estimates)"
        }
    );
    let mut t = output::table();
    t.set_header(["parameter", "estimate", "standard error"]);
    for (name, v, e) in [
        ("alpha", m.alpha, se.map(|s| s.alpha)),
        ("beta", m.beta, se.map(|s| s.beta)),
        ("gamma", m.gamma, se.map(|s| s.gamma)),
        ("delta", m.delta, se.map(|s| s.delta)),
    ] {
        t.add_row([
            name.to_string(),
            format!("{v:.4}"),
            e.map_or(String::new(), |e| format!("{e:.4}")),
        ]);
    }
    outln!(out, "{t}");
    let mut t = output::table();
    t.set_header([
        "opportunities ahead",
        "expected transactions (new customer)",
        "still alive",
    ]);
    for k in 1..=args.horizon {
        t.add_row([
            k.to_string(),
            format!("{:.3}", m.expected_purchases_new(k as f64)),
            output::rate(Some(m.survival(k as f64))),
        ]);
    }
    outln!(out, "{t}");
    output::write_output(None, out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn run_retention(args: RetentionArgs) -> Result<ExitCode, String> {
    let origin = args.data.display().to_string();
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let frame = crate::frame::load_frame(&engine, &args.data)?;
    let alive = crate::frame::complete_numeric(&frame, &args.alive_col, &origin)?;
    let used = args
        .calibration_periods
        .map_or(alive.len(), |n| (n + 1).min(alive.len()));
    let fit = adroit_clv::Sbg::fit(&alive[..used]).map_err(|e| format!("{origin}: {e}"))?;
    let m = &fit.model;
    let se = fit.standard_errors.as_ref();
    let mut out = String::new();
    outln!(
        out,
        "sBG on {origin}, column `{}`: cohort of {}, fitted on {} of {} periods, log-likelihood {:.2}",
        args.alive_col,
        output::num(alive.first().copied(), 0),
        used.saturating_sub(1),
        alive.len() - 1,
        fit.log_likelihood
    );
    outln!(
        out,
        "alpha {:.4}{} · beta {:.4}{}",
        m.alpha,
        se.map_or(String::new(), |s| format!(" (± {:.4})", s.alpha)),
        m.beta,
        se.map_or(String::new(), |s| format!(" (± {:.4})", s.beta))
    );
    let size = alive[0];
    let projected = m.project(size, alive.len() - 1 + args.horizon);
    let mut t = output::table();
    t.set_header(["period", "actual", "projected", "retention rate"]);
    for (k, p) in projected.iter().enumerate() {
        t.add_row([
            k.to_string(),
            alive
                .get(k)
                .map_or(String::new(), |a| output::num(Some(*a), 0)),
            output::num(Some(*p), 1),
            if k == 0 {
                String::new()
            } else {
                output::rate(Some(m.retention_rate(k)))
            },
        ]);
    }
    outln!(out, "{t}");
    output::write_output(None, out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Where the transactions come from, and how they are summarised.
#[derive(clap::Args, Debug, Clone)]
struct TransactionInput {
    /// The adroit.toml whose [transactions] table holds the purchases.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// A transactions file (CSV, TSV, Parquet, JSON lines) instead of a config.
    #[arg(long, conflicts_with = "config")]
    transactions: Option<PathBuf>,
    /// Customer id column of --transactions.
    #[arg(long, default_value = "customer_id")]
    customer_col: String,
    /// Purchase date or timestamp column of --transactions.
    #[arg(long, default_value = "timestamp")]
    time_col: String,
    /// Purchase amount column of --transactions.
    #[arg(long, default_value = "amount")]
    amount_col: String,
    /// Last day of the calibration period, YYYY-MM-DD (default: the day after the last
    /// transaction).
    #[arg(long, value_parser = parse_date, value_name = "DATE")]
    calibration_end: Option<NaiveDate>,
    /// Time unit of recency, T and the model's rates (default weeks; predict uses the model's).
    #[arg(long, value_enum)]
    unit: Option<Unit>,
    /// Purchases of a customer within one period count as one occasion.
    #[arg(long, value_enum, default_value = "day")]
    period: PeriodArg,
}

/// Transactions or a ready summary table.
#[derive(clap::Args, Debug, Clone)]
struct ModelInput {
    #[command(flatten)]
    transactions: TransactionInput,
    /// A ready RFM summary (columns frequency, recency, T, optional monetary_value and an
    /// id column: customer_id or ID; the papers' x, t_x, T, zbar too) instead of transactions.
    #[arg(long, conflicts_with_all = ["config", "transactions"])]
    summary: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct FitArgs {
    #[command(flatten)]
    input: ModelInput,
    /// The purchase model.
    #[arg(long, value_enum, default_value = "bgnbd")]
    model: ModelKind,
    /// Folder to write clv_model.json into.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    #[command(flatten)]
    input: ModelInput,
    /// Folder holding clv_model.json (from `adroit clv fit`).
    #[arg(long = "model", value_name = "DIR")]
    model_dir: PathBuf,
    /// Horizon: months (12m), years (1y), weeks (52w) or days (90d); CLV is discounted
    /// once per month, week or day of it.
    #[arg(long, default_value = "12m")]
    horizon: String,
    /// Discount rate per step of the horizon (0.01 = 1% a month for 12m).
    #[arg(long, default_value_t = 0.01)]
    discount: f64,
    /// Share of revenue that is profit (1 = CLV in revenue).
    #[arg(long, default_value_t = 1.0)]
    margin: f64,
    /// Customers to show, highest CLV first.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Write the per-customer predictions to this CSV file (atomically).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten)]
    input: TransactionInput,
    /// Last day of the holdout period, YYYY-MM-DD. Without --calibration-end the
    /// calibration ends halfway between the first transaction and this day.
    #[arg(long, value_parser = parse_date, value_name = "DATE")]
    holdout_end: NaiveDate,
    /// The purchase model.
    #[arg(long, value_enum, default_value = "bgnbd")]
    model: ModelKind,
    /// Write the comparison as JSON to this file (atomically).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Unit {
    Days,
    Weeks,
}

impl Unit {
    fn days(self) -> f64 {
        match self {
            Unit::Days => 1.0,
            Unit::Weeks => 7.0,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Unit::Days => "days",
            Unit::Weeks => "weeks",
        }
    }
}

impl From<Unit> for adroit_clv::file::Unit {
    fn from(u: Unit) -> Self {
        match u {
            Unit::Days => adroit_clv::file::Unit::Days,
            Unit::Weeks => adroit_clv::file::Unit::Weeks,
        }
    }
}

impl From<adroit_clv::file::Unit> for Unit {
    fn from(u: adroit_clv::file::Unit) -> Self {
        match u {
            adroit_clv::file::Unit::Days => Unit::Days,
            adroit_clv::file::Unit::Weeks => Unit::Weeks,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum PeriodArg {
    Day,
    Week,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ModelKind {
    Bgnbd,
    Pareto,
    ModifiedBgnbd,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date; write it as YYYY-MM-DD, e.g. 2025-06-30"))
}

const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");

fn day_of(date: NaiveDate) -> i32 {
    (date - EPOCH).num_days() as i32
}

fn date_of(day: i32) -> String {
    EPOCH
        .checked_add_signed(chrono::Duration::days(day as i64))
        .map(|d| d.to_string())
        .unwrap_or_else(|| day.to_string())
}

// ---------------------------------------------------------------- reading transactions

/// The purchases of a transactions table, customer ids interned (sorted).
struct Log {
    file: String,
    ids: Vec<String>,
    transactions: Vec<Transaction>,
    /// Each transaction's channel, when the table maps one.
    channels: Option<Vec<String>>,
    revenue: f64,
    first_day: i32,
    last_day: i32,
}

fn load_log(input: &TransactionInput, progress: &Progress) -> Result<Log, String> {
    let (config, base) = match (&input.config, &input.transactions) {
        (Some(_), _) => {
            let sources = output::Sources {
                config: input.config.clone(),
                ..Default::default()
            };
            output::resolve_sources(&sources)?
        }
        (None, Some(path)) => {
            let abs = if path.is_absolute() {
                path.clone()
            } else {
                std::env::current_dir()
                    .map_err(|e| e.to_string())?
                    .join(path)
            };
            let q = |s: &str| toml::Value::String(s.to_string()).to_string();
            let text = format!(
                "[transactions]\npath = {}\ncustomer_id = {}\ntimestamp = {}\namount = {}\n",
                q(&abs.display().to_string()),
                q(&input.customer_col),
                q(&input.time_col),
                q(&input.amount_col)
            );
            let config =
                Config::from_toml_str(&text, "--transactions").map_err(|e| e.to_string())?;
            (config, PathBuf::new())
        }
        (None, None) => {
            return Err(
                "no transactions: give --config adroit.toml with a [transactions] section, --transactions FILE, or (clv fit/predict) --summary FILE"
                    .into(),
            );
        }
    };
    let Some(section) = &config.transactions else {
        return Err(format!(
            "{} has no [transactions] section; add one mapping customer_id, timestamp and amount (see examples/adroit.toml)",
            input
                .config
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ));
    };
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let spec = adroit_data::TableSpec::transactions(section);
    let table = output::load_contract_table(&engine, &config, &base, &spec, progress)?;
    let file = table.file.clone();
    let col = |c: &str| table.source_column(c, None);
    let ids_array = table
        .batch
        .column_by_name("customer_id")
        .ok_or_else(|| format!("{file}: no customer_id column"))?;
    let cast;
    let ids_col: &StringArray = match ids_array.as_any().downcast_ref::<StringArray>() {
        Some(a) => a,
        None => {
            cast = adroit_data::arrow::compute::cast(
                ids_array,
                &adroit_data::arrow::datatypes::DataType::Utf8,
            )
            .map_err(|e| format!("{file}: column `{}`: {e}", col("customer_id")))?;
            cast.as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| format!("{file}: column `{}` is not text", col("customer_id")))?
        }
    };
    let times = table
        .batch
        .column_by_name("timestamp")
        .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
        .ok_or_else(|| format!("{file}: column `{}` is not a timestamp", col("timestamp")))?;
    let amounts = table
        .f64s("amount")
        .ok_or_else(|| format!("{file}: column `{}` is not a number", col("amount")))?;
    progress.message("interning customers");
    let n = table.num_rows();
    let mut names: Vec<&str> = Vec::with_capacity(n);
    for i in 0..n {
        let id = if ids_col.is_null(i) {
            ""
        } else {
            ids_col.value(i).trim()
        };
        if id.is_empty() {
            return Err(format!(
                "{file}: row {}: column `{}` is empty; every purchase needs its customer",
                table.source_row(i),
                col("customer_id")
            ));
        }
        names.push(id);
    }
    let mut ids: Vec<&str> = names.clone();
    ids.sort_unstable();
    ids.dedup();
    let index: HashMap<&str, u64> = ids
        .iter()
        .enumerate()
        .map(|(k, s)| (*s, k as u64))
        .collect();
    let mut transactions = Vec::with_capacity(n);
    let (mut revenue, mut first_day, mut last_day) = (0.0, i32::MAX, i32::MIN);
    for (i, name) in names.iter().enumerate() {
        if times.is_null(i) {
            return Err(format!(
                "{file}: row {}: column `{}` is empty; every purchase needs its date",
                table.source_row(i),
                col("timestamp")
            ));
        }
        let amount = if amounts.is_null(i) {
            f64::NAN
        } else {
            amounts.value(i)
        };
        if !amount.is_finite() || amount < 0.0 {
            return Err(format!(
                "{file}: row {}: column `{}` is {}; amounts must be numbers ≥ 0 (leave refunds out, or net them into their orders)",
                table.source_row(i),
                col("amount"),
                if amounts.is_null(i) {
                    "empty".to_string()
                } else {
                    amount.to_string()
                }
            ));
        }
        let day = times.value(i).div_euclid(86_400_000_000);
        let day = i32::try_from(day).map_err(|_| {
            format!(
                "{file}: row {}: column `{}` is out of range",
                table.source_row(i),
                col("timestamp")
            )
        })?;
        first_day = first_day.min(day);
        last_day = last_day.max(day);
        revenue += amount;
        transactions.push(Transaction {
            customer: index[name],
            time: day,
            amount,
        });
    }
    if transactions.is_empty() {
        return Err(format!("{file}: the transactions table has no rows"));
    }
    let channels = table
        .batch
        .column_by_name("channel")
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .map(|a| {
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        "(none)".to_string()
                    } else {
                        a.value(i).to_string()
                    }
                })
                .collect()
        });
    Ok(Log {
        file,
        ids: ids.into_iter().map(String::from).collect(),
        transactions,
        channels,
        revenue,
        first_day,
        last_day,
    })
}

/// The summarised customers of one input.
struct Customers {
    source: String,
    ids: Vec<String>,
    summary: RfmSummary,
    /// Last calibration day (transactions input only).
    calibration_end: Option<i32>,
    log: Option<Log>,
}

impl Customers {
    fn rfm(&self) -> Result<Rfm<'_>, String> {
        self.summary
            .rfm()
            .map_err(|e| format!("{}: {e}", self.source))
    }
}

fn summarize_log(
    log: Log,
    input: &TransactionInput,
    unit: Unit,
    holdout_end: Option<i32>,
    calibration_end: i32,
) -> Result<Customers, String> {
    let options = SummaryOptions {
        calibration_end,
        holdout_end,
        period: match input.period {
            PeriodArg::Day => Period::Day,
            PeriodArg::Week => Period::Week,
        },
        unit_days: unit.days(),
    };
    let summary = adroit_clv::summarize(&log.transactions, &options)
        .map_err(|e| format!("{}: {e}", log.file))?;
    if summary.is_empty() {
        return Err(format!(
            "{}: no customer made a first purchase by the calibration end {}",
            log.file,
            date_of(calibration_end)
        ));
    }
    let ids = summary
        .customer
        .iter()
        .map(|&c| log.ids[c as usize].clone())
        .collect();
    Ok(Customers {
        source: log.file.clone(),
        ids,
        summary,
        calibration_end: Some(calibration_end),
        log: Some(log),
    })
}

fn from_transactions(
    input: &TransactionInput,
    unit: Unit,
    progress: &Progress,
) -> Result<Customers, String> {
    let log = load_log(input, progress)?;
    progress.message("summarising customers");
    let end = input
        .calibration_end
        .map(day_of)
        .unwrap_or(log.last_day + 1);
    summarize_log(log, input, unit, None, end)
}

/// Reads a ready summary table (frequency, recency, T; optional monetary_value, id).
fn from_summary_file(path: &Path, unit: Unit, progress: &Progress) -> Result<Customers, String> {
    progress.message(format!("loading {}", path.display()));
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let frame = crate::frame::load_frame(&engine, path)?;
    let file = path.display().to_string();
    let find = |names: &[&str]| {
        frame
            .columns
            .iter()
            .find(|c| names.iter().any(|n| c.name.trim().eq_ignore_ascii_case(n)))
    };
    let source_row = |i: usize| {
        frame
            .source_rows
            .as_ref()
            .map_or(i as u64 + 1, |rows| rows[i])
    };
    let numeric = |names: &[&str], required: bool| -> Result<Option<Vec<f64>>, String> {
        let Some(column) = find(names) else {
            return if required {
                Err(format!(
                    "{file}: missing column `{}`; a summary needs frequency, recency and T (monetary_value optional); found: {}",
                    names[0],
                    frame.names().join(", ")
                ))
            } else {
                Ok(None)
            };
        };
        match &column.values {
            adroit_learn::data::Values::Numeric(v) => {
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    return Err(format!(
                        "{file}: row {}: column `{}` is empty or not a number",
                        source_row(i),
                        column.name
                    ));
                }
                Ok(Some(v.clone()))
            }
            adroit_learn::data::Values::Categorical(v) => {
                let i = v
                    .iter()
                    .position(|s| s.as_deref().is_none_or(|s| s.parse::<f64>().is_err()))
                    .unwrap_or(0);
                Err(format!(
                    "{file}: row {}: column `{}` is not a number ({:?})",
                    source_row(i),
                    column.name,
                    v.get(i).cloned().flatten().unwrap_or_default()
                ))
            }
        }
    };
    let frequency = numeric(&["frequency", "x"], true)?.unwrap_or_default();
    let recency = numeric(&["recency", "t_x"], true)?.unwrap_or_default();
    let age = numeric(&["T", "age"], true)?.unwrap_or_default();
    let monetary = numeric(&["monetary_value", "monetary", "zbar", "m_x"], false)?
        .unwrap_or(vec![0.0; frequency.len()]);
    let n = frequency.len();
    let ids: Vec<String> = match find(&["customer_id", "id", "customer"]) {
        Some(c) => match &c.values {
            adroit_learn::data::Values::Numeric(v) => v.iter().map(|x| x.to_string()).collect(),
            adroit_learn::data::Values::Categorical(v) => {
                v.iter().map(|s| s.clone().unwrap_or_default()).collect()
            }
        },
        None => (1..=n).map(|i| i.to_string()).collect(),
    };
    let summary = RfmSummary {
        customer: (0..n as u64).collect(),
        frequency,
        recency,
        age,
        monetary,
        first_purchase: Vec::new(),
        holdout: None,
        unit_days: unit.days(),
        acquired_after_calibration: 0,
        transactions_after_end: 0,
    };
    // Check here, so errors name the file's rows.
    summary
        .rfm()
        .map_err(|e| format!("{file}: {}", at_source_rows(e, &source_row)))?;
    if let Some(i) = summary.monetary.iter().position(|m| *m < 0.0) {
        return Err(format!(
            "{file}: row {}: monetary_value is {}, but it cannot be negative",
            source_row(i),
            summary.monetary[i]
        ));
    }
    Ok(Customers {
        source: file,
        ids,
        summary,
        calibration_end: None,
        log: None,
    })
}

/// The error with its 0-based index replaced by the file's row.
fn at_source_rows(e: ClvError, source_row: &dyn Fn(usize) -> u64) -> ClvError {
    let r = |row: usize| source_row(row) as usize;
    match e {
        ClvError::NotFinite { field, row, value } => ClvError::NotFinite {
            field,
            row: r(row),
            value,
        },
        ClvError::Negative { field, row, value } => ClvError::Negative {
            field,
            row: r(row),
            value,
        },
        ClvError::NotInteger { field, row, value } => ClvError::NotInteger {
            field,
            row: r(row),
            value,
        },
        ClvError::RecencyAfterAge { row, recency, age } => ClvError::RecencyAfterAge {
            row: r(row),
            recency,
            age,
        },
        ClvError::RecencyWithoutRepeat { row, recency } => ClvError::RecencyWithoutRepeat {
            row: r(row),
            recency,
        },
        ClvError::Inconsistent { row, message } => ClvError::Inconsistent {
            row: r(row),
            message,
        },
        other => other,
    }
}

fn load_customers(
    input: &ModelInput,
    unit: Unit,
    progress: &Progress,
) -> Result<Customers, String> {
    match &input.summary {
        Some(path) => from_summary_file(path, unit, progress),
        None => from_transactions(&input.transactions, unit, progress),
    }
}

// ---------------------------------------------------------------- customers summary

pub fn run_customers(args: CustomersArgs) -> Result<ExitCode, String> {
    match args.command {
        CustomersCommand::Summary(args) => run_summary(args),
    }
}

fn run_summary(args: SummaryArgs) -> Result<ExitCode, String> {
    let mut out = String::new();
    let unit = args.input.unit.unwrap_or(Unit::Weeks);
    let progress = Progress::new();
    let customers = from_transactions(&args.input, unit, &progress);
    progress.finish();
    let customers = customers?;
    let s = &customers.summary;
    let log = customers.log.as_ref().expect("transactions input");
    outln!(
        out,
        "Customers of {}: {} transactions from {} to {}, revenue {}",
        customers.source,
        output::num(Some(log.transactions.len() as f64), 0),
        date_of(log.first_day),
        date_of(log.last_day),
        output::num(Some(log.revenue), 2)
    );
    let end = customers.calibration_end.expect("transactions input");
    let repeat = s.frequency.iter().filter(|&&f| f > 0.0).count();
    outln!(
        out,
        "calibration end {} · {} customers · {} repeat buyers ({}) · time in {}",
        date_of(end),
        output::num(Some(s.len() as f64), 0),
        output::num(Some(repeat as f64), 0),
        output::rate(Some(repeat as f64 / s.len() as f64)),
        unit.name()
    );
    if s.acquired_after_calibration > 0 || s.transactions_after_end > 0 {
        outln!(
            out,
            "left out: {} customers first seen after the calibration end, {} transactions after it",
            s.acquired_after_calibration,
            s.transactions_after_end
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let repeat_monetary: Vec<f64> = s
        .frequency
        .iter()
        .zip(&s.monetary)
        .filter(|(f, _)| **f > 0.0)
        .map(|(_, m)| *m)
        .collect();
    outln!(
        out,
        "mean frequency {:.3} · mean recency {:.2} · mean T {:.2} · mean repeat-purchase value {}",
        mean(&s.frequency),
        mean(&s.recency),
        mean(&s.age),
        output::num(Some(mean(&repeat_monetary)), 2)
    );
    outln!(out, "\n{}", frequency_table(&s.frequency));
    // RFM scores and named segments: recency = time since the last purchase, frequency =
    // purchases, monetary = spend up to the calibration end.
    let mut spend: std::collections::HashMap<u64, f64> = std::collections::HashMap::new();
    for t in &log.transactions {
        if t.time <= end {
            *spend.entry(t.customer).or_default() += t.amount;
        }
    }
    let since_last: Vec<f64> = s.age.iter().zip(&s.recency).map(|(a, r)| a - r).collect();
    let purchases: Vec<f64> = s.frequency.iter().map(|f| f + 1.0).collect();
    let totals: Vec<f64> = s
        .customer
        .iter()
        .map(|c| spend.get(c).copied().unwrap_or(0.0))
        .collect();
    let scores = adroit_clv::segments::rfm_scores(&since_last, &purchases, &totals)
        .map_err(|e| format!("{}: {e}", customers.source))?;
    outln!(out, "\n{}", segment_table(&scores, &totals));
    let cohorts = adroit_clv::cohorts::cohorts(&log.transactions, log.channels.as_deref())
        .map_err(|e| format!("{}: {e}", customers.source))?;
    outln!(
        out,
        "\nrepurchase rate {} (customers who bought on more than one day)\n{}",
        output::rate(Some(cohorts.repurchase_rate)),
        cohort_table(&cohorts)
    );
    if let Some(path) = &args.out {
        let mut w = csv::Writer::from_writer(Vec::new());
        let err = |e: csv::Error| e.to_string();
        w.write_record([
            "customer_id",
            "frequency",
            "recency",
            "T",
            "monetary_value",
            "first_purchase",
            "spend",
            "r_score",
            "f_score",
            "m_score",
            "segment",
        ])
        .map_err(err)?;
        #[allow(clippy::needless_range_loop)] // eight columns indexed by customer
        for i in 0..s.len() {
            w.write_record([
                customers.ids[i].clone(),
                s.frequency[i].to_string(),
                s.recency[i].to_string(),
                s.age[i].to_string(),
                s.monetary[i].to_string(),
                date_of(s.first_purchase[i]),
                totals[i].to_string(),
                scores.recency[i].to_string(),
                scores.frequency[i].to_string(),
                scores.monetary[i].to_string(),
                scores.segment[i].name().to_string(),
            ])
            .map_err(err)?;
        }
        let bytes = w.into_inner().map_err(|e| e.to_string())?;
        output::write_atomic(path, &bytes)?;
        outln!(out, "wrote {} ({} customers)", path.display(), s.len());
    }
    output::write_output(None, out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The retention matrix (last 12 acquisition months, months 0–12 after acquisition)
/// and, when there are channels, retention by acquisition channel.
fn cohort_table(c: &adroit_clv::cohorts::Cohorts) -> String {
    let months = 13;
    let mut t = output::table();
    let mut header = vec!["cohort".to_string(), "customers".into()];
    header.extend((1..months).map(|k| format!("+{k}")));
    t.set_header(header.clone());
    for row in c.cohorts.iter().rev().take(12).rev() {
        let mut cells = vec![row.month.clone(), row.customers.to_string()];
        cells.extend((1..months).map(|k| {
            row.retention
                .get(k)
                .map_or(String::new(), |v| output::rate(Some(*v)))
        }));
        t.add_row(cells);
    }
    let mut out =
        format!("retention by acquisition month (share buying again k months later)\n{t}");
    if !c.by_channel.is_empty() {
        let mut t = output::table();
        header[0] = "first channel".into();
        header.insert(2, "repurchase".into());
        t.set_header(header);
        for (name, r) in &c.by_channel {
            let mut cells = vec![
                name.clone(),
                r.customers.to_string(),
                output::rate(Some(r.repurchase_rate)),
            ];
            cells.extend((1..months).map(|k| {
                r.retention
                    .get(k)
                    .map_or(String::new(), |v| output::rate(Some(*v)))
            }));
            t.add_row(cells);
        }
        out.push_str(&format!("\nretention by acquisition channel\n{t}"));
    }
    out
}

/// Customers and spend per RFM segment, largest first.
fn segment_table(scores: &adroit_clv::segments::RfmScores, spend: &[f64]) -> String {
    let mut by: std::collections::BTreeMap<adroit_clv::segments::Segment, (usize, f64)> =
        std::collections::BTreeMap::new();
    for (seg, v) in scores.segment.iter().zip(spend) {
        let e = by.entry(*seg).or_default();
        e.0 += 1;
        e.1 += v;
    }
    let total_customers = scores.segment.len().max(1) as f64;
    let total_spend: f64 = spend.iter().sum();
    let mut rows: Vec<_> = by.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1.0));
    let mut t = output::table();
    t.set_header([
        "RFM segment",
        "customers",
        "share",
        "spend",
        "share of spend",
    ]);
    for (seg, (n, v)) in rows {
        t.add_row([
            seg.name().to_string(),
            output::num(Some(n as f64), 0),
            output::rate(Some(n as f64 / total_customers)),
            output::num(Some(v), 2),
            output::rate(Some(v / total_spend.max(f64::MIN_POSITIVE))),
        ]);
    }
    t.to_string()
}

/// Customers per repeat-purchase count 0 … 6 and 7+.
fn frequency_table(frequency: &[f64]) -> comfy_table::Table {
    let mut counts = [0usize; 8];
    for &f in frequency {
        counts[(f as usize).min(7)] += 1;
    }
    let mut t = output::table();
    t.set_header(["repeat purchases", "customers", "share"]);
    for (k, c) in counts.iter().enumerate() {
        let label = if k == 7 { "7+".into() } else { k.to_string() };
        t.add_row([
            label,
            output::num(Some(*c as f64), 0),
            output::rate(Some(*c as f64 / frequency.len().max(1) as f64)),
        ]);
    }
    t
}

// ---------------------------------------------------------------- models

/// A fitted purchase model, tagged by name in clv_model.json.
/// What a fit reports, whatever the model.
struct FitReport {
    names: Vec<&'static str>,
    values: Vec<f64>,
    standard_errors: Option<Vec<f64>>,
    log_likelihood: f64,
    observations: f64,
    converged: bool,
    max_gradient: f64,
}

fn report<M: Parameters>(f: &Fitted<M>) -> FitReport {
    FitReport {
        names: M::NAMES.to_vec(),
        values: f.model.values(),
        standard_errors: f.standard_errors.map(|s| s.values()),
        log_likelihood: f.log_likelihood,
        observations: f.observations,
        converged: f.converged,
        max_gradient: f.max_gradient,
    }
}

fn fit_purchase(kind: ModelKind, data: &Rfm) -> Result<PurchaseFit, ClvError> {
    Ok(match kind {
        ModelKind::Bgnbd => PurchaseFit::Bgnbd(BgNbd::fit(data)?),
        ModelKind::Pareto => PurchaseFit::Pareto(ParetoNbd::fit(data)?),
        ModelKind::ModifiedBgnbd => PurchaseFit::ModifiedBgnbd(ModifiedBgNbd::fit(data)?),
    })
}

fn purchase_report(fit: &PurchaseFit) -> FitReport {
    match fit {
        PurchaseFit::Bgnbd(f) => report(f),
        PurchaseFit::Pareto(f) => report(f),
        PurchaseFit::ModifiedBgnbd(f) => report(f),
    }
}

fn print_fit(out: &mut String, name: &str, r: &FitReport, unit: Unit) {
    outln!(
        out,
        "\n{name} ({} observations, time in {}): log-likelihood {:.4}",
        output::num(Some(r.observations), 0),
        unit.name(),
        r.log_likelihood
    );
    let mut t = output::table();
    t.set_header(["parameter", "estimate", "std. error"]);
    for (k, name) in r.names.iter().enumerate() {
        t.add_row([
            name.to_string(),
            format!("{:.4}", r.values[k]),
            r.standard_errors
                .as_ref()
                .map(|s| format!("{:.4}", s[k]))
                .unwrap_or_else(|| "—".into()),
        ]);
    }
    outln!(out, "{t}");
    if !r.converged {
        eprintln!(
            "warning: {name} did not converge (largest gradient {:.1e}); an estimate may run off to 0 or infinity, check the parameters before using them",
            r.max_gradient
        );
    }
    if r.standard_errors.is_none() {
        eprintln!("warning: {name}: no standard errors (the data do not identify every parameter)");
    }
}

/// Gamma-Gamma on the customers with a repeat purchase of positive value.
fn fit_spend(s: &RfmSummary) -> Result<Option<Fitted<GammaGamma>>, String> {
    let (x, m): (Vec<f64>, Vec<f64>) = s
        .frequency
        .iter()
        .zip(&s.monetary)
        .filter(|(f, m)| **f > 0.0 && **m > 0.0)
        .map(|(f, m)| (*f, *m))
        .unzip();
    if x.is_empty() {
        return Ok(None);
    }
    let data = Spend::new(&x, &m).map_err(|e| e.to_string())?;
    match GammaGamma::fit(&data) {
        Ok(f) => Ok(Some(f)),
        Err(e) => {
            eprintln!("warning: Gamma-Gamma could not be fitted: {e}");
            Ok(None)
        }
    }
}

pub fn run_clv(args: ClvArgs) -> Result<ExitCode, String> {
    match args.command {
        ClvCommand::Fit(args) => run_fit(args),
        ClvCommand::Predict(args) => run_predict(args),
        ClvCommand::Validate(args) => run_validate(args),
        ClvCommand::Discrete(args) => run_discrete(args),
        ClvCommand::Retention(args) => run_retention(args),
    }
}

fn run_fit(args: FitArgs) -> Result<ExitCode, String> {
    let mut out = String::new();
    let unit = args.input.transactions.unit.unwrap_or(Unit::Weeks);
    let progress = Progress::new();
    let fitted = (|| {
        let customers = load_customers(&args.input, unit, &progress)?;
        progress.message(format!("fitting {:?}", args.model).to_lowercase());
        let purchase = fit_purchase(args.model, &customers.rfm()?)
            .map_err(|e| format!("{}: {e}", customers.source))?;
        progress.message("fitting gamma-gamma");
        let spend = fit_spend(&customers.summary)?;
        Ok::<_, String>((customers, purchase, spend))
    })();
    progress.finish();
    let (customers, purchase, spend) = fitted?;
    outln!(
        out,
        "{} customers from {}{}",
        output::num(Some(customers.summary.len() as f64), 0),
        customers.source,
        customers
            .calibration_end
            .map(|d| format!(", calibration end {}", date_of(d)))
            .unwrap_or_default()
    );
    print_fit(&mut out, purchase.name(), &purchase_report(&purchase), unit);
    match &spend {
        Some(s) => print_fit(&mut out, "Gamma-Gamma", &report(s), unit),
        None => eprintln!(
            "warning: no Gamma-Gamma fit: no customer has a repeat purchase with a positive value (a summary needs monetary_value); predictions will have no spend or CLV"
        ),
    }
    let file = ModelFile {
        format: MODEL_FORMAT.into(),
        purchase,
        spend,
        unit: unit.into(),
        calibration_end: customers
            .calibration_end
            .and_then(|d| EPOCH.checked_add_signed(chrono::Duration::days(d as i64))),
        source: customers.source.clone(),
        customers: customers.summary.len(),
    };
    let json = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())? + "\n";
    let path = args.out.join(MODEL_FILE);
    output::write_atomic(&path, json.as_bytes())?;
    outln!(out, "\nwrote {}", path.display());
    output::write_output(None, out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn read_model(dir: &Path) -> Result<ModelFile, String> {
    let path = if dir.is_file() {
        dir.to_path_buf()
    } else {
        dir.join(MODEL_FILE)
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {}: {e} (write it with `adroit clv fit --out DIR`)",
            path.display()
        )
    })?;
    ModelFile::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `12m`, `1y`, `52w`, `90d` as discounting steps and their length in the model's unit.
fn parse_horizon(text: &str, unit: Unit) -> Result<(usize, f64), String> {
    adroit_clv::file::Unit::from(unit)
        .horizon(text)
        .ok_or_else(|| {
            format!(
                "--horizon `{text}`: write a whole number and a unit: 12m (months), 1y, 52w or 90d"
            )
        })
}

fn run_predict(args: PredictArgs) -> Result<ExitCode, String> {
    let mut out = String::new();
    let model = read_model(&args.model_dir)?;
    let unit = Unit::from(model.unit);
    if let Some(u) = args.input.transactions.unit
        && u != unit
    {
        return Err(format!(
            "--unit {} differs from the model's unit ({}); leave it out, predictions use the model's",
            u.name(),
            unit.name()
        ));
    }
    let (periods, period_length) = parse_horizon(&args.horizon, unit)?;
    let options = ClvOptions {
        periods,
        period_length,
        discount_rate: args.discount,
        margin: args.margin,
    };
    options.check().map_err(|e| e.to_string())?;
    let progress = Progress::new();
    let customers = load_customers(&args.input, unit, &progress);
    let customers = match customers {
        Ok(c) => c,
        Err(e) => {
            progress.finish();
            return Err(e);
        }
    };
    progress.message("predicting");
    let rfm = customers.rfm();
    let rfm = match rfm {
        Ok(r) => r,
        Err(e) => {
            progress.finish();
            return Err(e);
        }
    };
    let s = &customers.summary;
    let scores = match model.score(&rfm, &s.monetary, &options) {
        Ok(p) => p,
        Err(e) => {
            progress.finish();
            return Err(e.to_string());
        }
    };
    let (alive, purchases, spend, value, clv) = (
        scores.probability_alive,
        scores.expected_purchases,
        scores.expected_spend,
        scores.expected_value,
        scores.clv,
    );
    progress.finish();
    let n = s.len();
    let cell = |v: &Option<Vec<f64>>, i: usize| v.as_ref().map(|v| v[i].to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| e.to_string();
    w.write_record([
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "probability_alive",
        "expected_purchases",
        "expected_spend",
        "expected_value",
        "clv",
    ])
    .map_err(err)?;
    for i in 0..n {
        w.write_record([
            customers.ids[i].clone(),
            s.frequency[i].to_string(),
            s.recency[i].to_string(),
            s.age[i].to_string(),
            s.monetary[i].to_string(),
            alive[i].to_string(),
            purchases[i].to_string(),
            cell(&spend, i).unwrap_or_default(),
            cell(&value, i).unwrap_or_default(),
            cell(&clv, i).unwrap_or_default(),
        ])
        .map_err(err)?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    output::write_atomic(&args.out, &bytes)?;

    let sum = |v: &[f64]| v.iter().sum::<f64>();
    outln!(
        out,
        "{} predictions for {} customers of {} over {} ({} {}), discount {} per step, margin {}",
        purchase_name(&model),
        output::num(Some(n as f64), 0),
        customers.source,
        args.horizon,
        format_args!("{:.2}", options.horizon()),
        unit.name(),
        args.discount,
        args.margin
    );
    outln!(
        out,
        "expected alive {} ({}) · expected purchases {}{}",
        output::num(Some(sum(&alive)), 1),
        output::rate(Some(sum(&alive) / n as f64)),
        output::num(Some(sum(&purchases)), 1),
        match (&value, &clv) {
            (Some(v), Some(c)) => format!(
                " · expected value {} · total CLV {} · mean CLV {}",
                output::num(Some(sum(v)), 2),
                output::num(Some(sum(c)), 2),
                output::num(Some(sum(c) / n as f64), 2)
            ),
            _ => String::new(),
        }
    );
    if args.top > 0 {
        let rank: &[f64] = clv.as_deref().unwrap_or(&purchases);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| rank[b].total_cmp(&rank[a]));
        let mut t = output::table();
        t.set_header([
            "customer",
            "frequency",
            "recency",
            "T",
            "P(alive)",
            "exp. purchases",
            "exp. spend",
            "CLV",
        ]);
        for &i in order.iter().take(args.top) {
            t.add_row([
                customers.ids[i].clone(),
                format!("{}", s.frequency[i]),
                format!("{:.2}", s.recency[i]),
                format!("{:.2}", s.age[i]),
                format!("{:.3}", alive[i]),
                format!("{:.2}", purchases[i]),
                output::num(spend.as_ref().map(|v| v[i]), 2),
                output::num(clv.as_ref().map(|v| v[i]), 2),
            ]);
        }
        outln!(
            out,
            "\nTop {} customers by {}\n{t}",
            args.top.min(n),
            if clv.is_some() {
                "CLV"
            } else {
                "expected purchases"
            }
        );
    }
    outln!(out, "\nwrote {} ({n} customers)", args.out.display());
    output::write_output(None, out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn purchase_name(model: &ModelFile) -> &'static str {
    model.purchase.name()
}

// ---------------------------------------------------------------- validate

#[derive(Serialize)]
struct ValidationFile<'a> {
    source: &'a str,
    unit: Unit,
    calibration_end: String,
    holdout_end: NaiveDate,
    customers: usize,
    purchase: &'a PurchaseFit,
    table: &'a adroit_clv::HoldoutTable,
}

fn run_validate(args: ValidateArgs) -> Result<ExitCode, String> {
    let mut out = String::new();
    let unit = args.input.unit.unwrap_or(Unit::Weeks);
    let holdout_end = day_of(args.holdout_end);
    let progress = Progress::new();
    let result = (|| {
        let log = load_log(&args.input, &progress)?;
        if holdout_end <= log.first_day {
            return Err(format!(
                "{}: the holdout end {} is not after the first transaction ({})",
                log.file,
                args.holdout_end,
                date_of(log.first_day)
            ));
        }
        let calibration_end = match args.input.calibration_end {
            Some(d) => day_of(d),
            None => log.first_day + (holdout_end - log.first_day) / 2,
        };
        if calibration_end >= holdout_end {
            return Err(format!(
                "the calibration end {} must be before the holdout end {}",
                date_of(calibration_end),
                args.holdout_end
            ));
        }
        if calibration_end < log.first_day {
            return Err(format!(
                "{}: the calibration end {} is before the first transaction ({})",
                log.file,
                date_of(calibration_end),
                date_of(log.first_day)
            ));
        }
        progress.message("summarising customers");
        let customers = summarize_log(log, &args.input, unit, Some(holdout_end), calibration_end)?;
        progress.message("fitting on the calibration period");
        let purchase = fit_purchase(args.model, &customers.rfm()?)
            .map_err(|e| format!("{}: {e}", customers.source))?;
        let holdout = customers
            .summary
            .holdout
            .as_ref()
            .ok_or("the summary has no holdout")?;
        let table = adroit_clv::holdout_table(
            purchase.model(),
            &customers.rfm()?,
            &holdout.frequency,
            holdout.duration,
            7,
        )
        .map_err(|e| e.to_string())?;
        Ok((customers, purchase, table, calibration_end))
    })();
    progress.finish();
    let (customers, purchase, table, calibration_end) = result?;
    outln!(
        out,
        "{} customers of {} · calibration to {} · holdout {} to {} ({:.2} {})",
        output::num(Some(customers.summary.len() as f64), 0),
        customers.source,
        date_of(calibration_end),
        date_of(calibration_end + 1),
        args.holdout_end,
        table.duration,
        unit.name()
    );
    print_fit(&mut out, purchase.name(), &purchase_report(&purchase), unit);
    let mut t = output::table();
    t.set_header([
        "calibration purchases",
        "customers",
        "actual / customer",
        "predicted / customer",
        "difference",
    ]);
    for row in &table.rows {
        t.add_row([
            row.bucket.clone(),
            output::num(Some(row.customers), 0),
            format!("{:.3}", row.actual),
            format!("{:.3}", row.predicted),
            format!("{:+.3}", row.predicted - row.actual),
        ]);
    }
    outln!(
        out,
        "\nHoldout purchases per customer by calibration frequency\n{t}"
    );
    let gap = if table.actual_total > 0.0 {
        output::pct(Some(table.predicted_total / table.actual_total - 1.0))
    } else {
        String::new()
    };
    outln!(
        out,
        "total holdout purchases: actual {} · predicted {} {gap}",
        output::num(Some(table.actual_total), 0),
        output::num(Some(table.predicted_total), 1)
    );
    if let Some(path) = &args.out {
        let file = ValidationFile {
            source: &customers.source,
            unit,
            calibration_end: date_of(calibration_end),
            holdout_end: args.holdout_end,
            customers: customers.summary.len(),
            purchase: &purchase,
            table: &table,
        };
        let json = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())? + "\n";
        output::write_atomic(path, json.as_bytes())?;
        outln!(out, "wrote {}", path.display());
    }
    output::write_output(None, out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
