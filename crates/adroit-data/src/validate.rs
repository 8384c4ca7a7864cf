//! Validation rules: each a small named type behind [`Rule`], run over loaded tables.
//!
//! Rules about single cells that need the raw text (`missing_values`, `wrong_type`,
//! `mixed_date_formats`) run at load time in [`crate::convert`], where a blank cell and
//! an unreadable one can still be told apart.
//!
//! Row-wise rules scan Arrow arrays; set-wise rules (duplicates, per-channel periods)
//! are SQL over the registered table, so they run in DataFusion like everything else.

use crate::engine::Engine;
use crate::report::{Finding, Severity};
use crate::table::{ROW_COLUMN, Table, date32_to_date};
use adroit_config::Validation;
use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, StringArray, UInt64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use serde::Serialize;
use std::collections::BTreeMap;

/// What every rule may use.
pub struct RuleContext<'a> {
    pub engine: &'a Engine,
    pub validation: &'a Validation,
    /// "Today" for the future-date rule; passed in so results are reproducible.
    pub today: NaiveDate,
}

/// One named validation rule.
pub trait Rule: Sync {
    /// Stable name, shown in reports and usable in scripts.
    fn name(&self) -> &'static str;
    /// One line on what the rule checks.
    fn description(&self) -> &'static str;
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError>;
}

/// Every rule, in report order.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(DuplicateRows),
        Box::new(DuplicateKeys),
        Box::new(NegativeValues),
        Box::new(FutureDates),
        Box::new(ClicksExceedImpressions),
        Box::new(ConversionsExceedClicks),
        Box::new(SpendWithoutImpressions),
        Box::new(DateGaps),
        Box::new(Outliers),
        Box::new(ConstantColumns),
        Box::new(SparseChannels),
        Box::new(ExperimentDates),
    ]
}

/// Runs every rule on every table. Tables must be registered in the engine under
/// their contract names (see [`crate::load_all`]).
pub fn validate(tables: &[Table], ctx: &RuleContext) -> Vec<Finding> {
    let mut findings = Vec::new();
    for table in tables.iter().filter(|t| t.num_rows() > 0) {
        for rule in rules() {
            match rule.check(table, ctx) {
                Ok(mut f) => findings.append(&mut f),
                Err(e) => findings.push(
                    Finding::new(
                        "internal",
                        Severity::Warning,
                        table.name(),
                        &table.file,
                        format!("rule {} could not run: {e}", rule.name()),
                    )
                    .suggestion("Please report this as a bug with the file's header."),
                ),
            }
        }
    }
    findings
}

/// The calendar grain of a date sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    pub fn name(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }
}

/// The grain of sorted distinct dates: the most common step between them.
pub fn detect_grain(dates: &[NaiveDate]) -> Option<Grain> {
    let mut steps: BTreeMap<i64, usize> = BTreeMap::new();
    for w in dates.windows(2) {
        *steps.entry((w[1] - w[0]).num_days()).or_default() += 1;
    }
    let (step, _) = steps.into_iter().max_by_key(|(s, n)| (*n, -s))?;
    match step {
        1 => Some(Grain::Day),
        7 => Some(Grain::Week),
        28..=31 => Some(Grain::Month),
        _ => None,
    }
}

/// Periods missing from sorted distinct dates at a grain: (first missing, last missing, count).
pub fn date_gaps(dates: &[NaiveDate], grain: Grain) -> Vec<(NaiveDate, NaiveDate, u64)> {
    let mut gaps = Vec::new();
    for w in dates.windows(2) {
        let (a, b) = (w[0], w[1]);
        let missing = match grain {
            Grain::Day => (b - a).num_days() - 1,
            Grain::Week => (b - a).num_days() / 7 - 1,
            Grain::Month => {
                (b.year() as i64 * 12 + b.month() as i64)
                    - (a.year() as i64 * 12 + a.month() as i64)
                    - 1
            }
        };
        if missing > 0 {
            let (first, last) = match grain {
                Grain::Day => (a + chrono::Days::new(1), b - chrono::Days::new(1)),
                Grain::Week => (a + chrono::Days::new(7), b - chrono::Days::new(7)),
                Grain::Month => (
                    a.checked_add_months(chrono::Months::new(1)).unwrap_or(a),
                    b.checked_sub_months(chrono::Months::new(1)).unwrap_or(b),
                ),
            };
            gaps.push((first, last, missing as u64));
        }
    }
    gaps
}

/// Robust z-scores |0.6745 (x − median) / MAD|; when MAD is 0, the mean absolute
/// deviation (× 1.2533) stands in, as in Iglewicz & Hoaglin.
pub fn robust_z(values: &[f64]) -> Vec<f64> {
    if values.len() < 3 {
        return vec![0.0; values.len()];
    }
    let med = median(values);
    let deviations: Vec<f64> = values.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&deviations);
    if mad > 0.0 {
        return values
            .iter()
            .map(|v| (0.6745 * (v - med) / mad).abs())
            .collect();
    }
    let mean_ad = deviations.iter().sum::<f64>() / values.len() as f64;
    if mean_ad == 0.0 {
        return vec![0.0; values.len()];
    }
    values
        .iter()
        .map(|v| ((v - med) / (1.253_314 * mean_ad)).abs())
        .collect()
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Quotes an identifier for SQL.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn data_columns(table: &Table) -> Vec<String> {
    table.columns().into_iter().map(|(n, _)| n).collect()
}

/// Results of a query as one batch per column kind, read by name.
struct Rows(Vec<RecordBatch>);

impl Rows {
    fn column(&self, name: &str, dt: &DataType) -> Vec<ArrayRef> {
        self.0
            .iter()
            .filter_map(|b| b.column_by_name(name))
            .filter_map(|c| cast(c, dt).ok())
            .collect()
    }

    fn u64s(&self, name: &str) -> Vec<u64> {
        self.column(name, &DataType::UInt64)
            .iter()
            .flat_map(|a| {
                a.as_any()
                    .downcast_ref::<UInt64Array>()
                    .unwrap()
                    .iter()
                    .map(|v| v.unwrap_or(0))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn f64s(&self, name: &str) -> Vec<f64> {
        self.column(name, &DataType::Float64)
            .iter()
            .flat_map(|a| {
                a.as_any()
                    .downcast_ref::<Float64Array>()
                    .unwrap()
                    .iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn strs(&self, name: &str) -> Vec<String> {
        self.column(name, &DataType::Utf8)
            .iter()
            .flat_map(|a| {
                a.as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap()
                    .iter()
                    .map(|v| v.unwrap_or("").to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn dates(&self, name: &str) -> Vec<Option<NaiveDate>> {
        self.column(name, &DataType::Date32)
            .iter()
            .flat_map(|a| {
                a.as_any()
                    .downcast_ref::<Date32Array>()
                    .unwrap()
                    .iter()
                    .map(|v| v.and_then(date32_to_date))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

fn query(ctx: &RuleContext, sql: &str) -> Result<Rows, DataFusionError> {
    ctx.engine.sql(sql).map(Rows)
}

/// A group of rows that repeat each other exactly: the first and last source row and
/// how many rows it has.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateGroup {
    pub first: u64,
    pub last: u64,
    pub rows: u64,
}

/// Groups of rows that repeat each other exactly (all canonical columns equal), by a
/// hash aggregation (cheap on tens of millions of rows). Registers the table.
pub fn duplicate_row_groups(
    engine: &Engine,
    table: &Table,
) -> Result<Vec<DuplicateGroup>, DataFusionError> {
    let cols: Vec<String> = data_columns(table).iter().map(|c| ident(c)).collect();
    engine.register(table.name(), table.batch.clone())?;
    let sql = format!(
        "SELECT MIN({row}) AS first, MAX({row}) AS last, COUNT(*) AS n FROM {t} GROUP BY {all} \
         HAVING COUNT(*) > 1 ORDER BY first",
        row = ident(ROW_COLUMN),
        all = cols.join(", "),
        t = ident(table.name()),
    );
    let rows = Rows(engine.sql(&sql)?);
    let (first, last, n) = (rows.u64s("first"), rows.u64s("last"), rows.u64s("n"));
    let mut groups: Vec<DuplicateGroup> = (0..first.len())
        .map(|i| DuplicateGroup {
            first: first[i],
            last: last[i],
            rows: n[i],
        })
        .collect();
    // Wide media repeats every source row once per channel: count each source group once.
    groups.dedup_by_key(|g| g.first);
    Ok(groups)
}

/// The source rows to keep when dropping exact duplicates: the first of each group.
pub fn first_of_each_row(engine: &Engine, table: &Table) -> Result<Vec<u64>, DataFusionError> {
    let cols: Vec<String> = data_columns(table).iter().map(|c| ident(c)).collect();
    engine.register(table.name(), table.batch.clone())?;
    let sql = format!(
        "SELECT MIN({row}) AS first FROM {t} GROUP BY {all}",
        row = ident(ROW_COLUMN),
        all = cols.join(", "),
        t = ident(table.name()),
    );
    let mut keep = Rows(engine.sql(&sql)?).u64s("first");
    keep.sort_unstable();
    keep.dedup();
    Ok(keep)
}

fn rows_where(table: &Table, pred: impl Fn(usize) -> bool) -> Vec<u64> {
    let mut rows: Vec<u64> = (0..table.num_rows())
        .filter(|&i| pred(i))
        .map(|i| table.source_row(i))
        .collect();
    rows.sort_unstable();
    rows.dedup();
    rows
}

fn finding(rule: &dyn Rule, severity: Severity, table: &Table, message: String) -> Finding {
    Finding::new(rule.name(), severity, table.name(), &table.file, message)
}

/// Channel names of rows, for messages about wide media.
fn channel_of(table: &Table, i: usize) -> Option<String> {
    table
        .strs("channel")
        .filter(|c| c.is_valid(i))
        .map(|c| c.value(i).to_string())
}

/// Per-column findings for rows matching `pred`, split by channel for wide media
/// (where each channel's values come from its own column).
fn per_column(
    rule: &dyn Rule,
    severity: Severity,
    table: &Table,
    ctx: &RuleContext,
    column: &str,
    pred: impl Fn(usize) -> bool,
    message: impl Fn(u64) -> String,
) -> Vec<Finding> {
    let wide = table.spec.wide.is_some()
        && table
            .sources
            .get(column)
            .is_some_and(|s| s.contains("{channel}"));
    let mut groups: BTreeMap<Option<String>, Vec<usize>> = BTreeMap::new();
    for i in (0..table.num_rows()).filter(|&i| pred(i)) {
        groups
            .entry(if wide { channel_of(table, i) } else { None })
            .or_default()
            .push(i);
    }
    groups
        .into_iter()
        .map(|(channel, idx)| {
            let mut rows: Vec<u64> = idx.iter().map(|&i| table.source_row(i)).collect();
            rows.sort_unstable();
            rows.dedup();
            let mut f = finding(rule, severity, table, message(rows.len() as u64))
                .column(table.source_column(column, channel.as_deref()))
                .rows(&rows, rows.len() as u64, ctx.validation.max_examples);
            if let Some(ch) = channel {
                f = f.channel(ch);
            }
            f
        })
        .collect()
}

fn s(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

struct DuplicateRows;
impl Rule for DuplicateRows {
    fn name(&self) -> &'static str {
        "duplicate_rows"
    }
    fn description(&self) -> &'static str {
        "rows that repeat an earlier row exactly"
    }
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        let groups = duplicate_row_groups(ctx.engine, table)?;
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let n: u64 = groups.iter().map(|g| g.rows - 1).sum();
        let mut examples: Vec<u64> = groups.iter().map(|g| g.last).collect();
        examples.sort_unstable();
        let pairs: Vec<String> = groups
            .iter()
            .take(3)
            .map(|g| format!("row {} repeats row {}", g.last, g.first))
            .collect();
        Ok(vec![
            finding(
                self,
                Severity::Warning,
                table,
                format!(
                    "{n} row{} repeat{} an earlier row exactly ({})",
                    s(n),
                    if n == 1 { "s" } else { "" },
                    pairs.join("; ")
                ),
            )
            .rows(&examples, n, ctx.validation.max_examples)
            .expected("each row once")
            .suggestion(
                "Set [cleaning] drop_duplicate_rows = true to drop them, or fix the export.",
            ),
        ])
    }
}

struct DuplicateKeys;
impl Rule for DuplicateKeys {
    fn name(&self) -> &'static str {
        "duplicate_keys"
    }
    fn description(&self) -> &'static str {
        "different rows for the same key, e.g. two spends for one (date, channel)"
    }
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        let key: Vec<&String> = table.spec.key.iter().filter(|k| table.has(k)).collect();
        if key.is_empty() {
            return Ok(Vec::new());
        }
        let all: Vec<String> = data_columns(table).iter().map(|c| ident(c)).collect();
        let key_sql: Vec<String> = key.iter().map(|k| ident(k)).collect();
        let row = ident(ROW_COLUMN);
        // Distinct rows (exact repeats are the duplicate_rows rule's), then keys that
        // more than one distinct row shares: two hash aggregations.
        let sql = format!(
            "SELECT MIN(r) AS first, MAX(r) AS last, COUNT(*) AS n FROM \
             (SELECT {keys}, MIN({row}) AS r FROM {t} GROUP BY {all}) d \
             GROUP BY {keys} HAVING COUNT(*) > 1 ORDER BY first",
            keys = key_sql.join(", "),
            all = all.join(", "),
            t = ident(table.name()),
        );
        let rows = query(ctx, &sql)?;
        let (first, last, n) = (rows.u64s("first"), rows.u64s("last"), rows.u64s("n"));
        if first.is_empty() {
            return Ok(Vec::new());
        }
        let count: u64 = n.iter().sum();
        let mut conflicting: Vec<u64> = first
            .iter()
            .zip(&last)
            .take(ctx.validation.max_examples)
            .flat_map(|(a, b)| [*a, *b])
            .collect();
        conflicting.sort_unstable();
        conflicting.dedup();
        let names: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        Ok(vec![
            finding(self, Severity::Error, table, format!("{count} rows share a ({}) key with a different row", names.join(", ")))
                .rows(&conflicting, count, ctx.validation.max_examples)
                .expected(format!("one row per ({})", names.join(", ")))
                .suggestion("Aggregate these rows in the export, or map the column that tells them apart (campaign, geo) in the config."),
        ])
    }
}

struct NegativeValues;
impl Rule for NegativeValues {
    fn name(&self) -> &'static str {
        "negative_values"
    }
    fn description(&self) -> &'static str {
        "negative spend, impressions, clicks, conversions, revenue or amounts"
    }
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        let mut out = Vec::new();
        for column in ["spend", "impressions", "clicks", "conversions", "revenue"] {
            let Some(values) = table.f64s(column) else {
                continue;
            };
            let rule_name = if column == "spend" {
                "negative_spend"
            } else {
                "negative_values"
            };
            out.extend(
                per_column(self, Severity::Error, table, ctx, column, |i| values.is_valid(i) && values.value(i) < 0.0, |n| {
                    format!("{n} negative {column} value{}", s(n))
                })
                .into_iter()
                .map(|mut f| {
                    f.rule = rule_name;
                    f.expected(format!("{column} ≥ 0")).suggestion(if column == "spend" {
                        "Refunds or credits belong in their own column; or set [cleaning] negative_spend = \"zero\" or \"drop\"."
                    } else {
                        "Fix the export; these counts cannot be negative."
                    })
                }),
            );
        }
        Ok(out)
    }
}

struct FutureDates;
impl Rule for FutureDates {
    fn name(&self) -> &'static str {
        "future_dates"
    }
    fn description(&self) -> &'static str {
        "dates after today"
    }
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        if table.name() == "experiments" {
            return Ok(Vec::new()); // planned tests may end in the future
        }
        let limit =
            ctx.today + chrono::Days::new(ctx.validation.future_tolerance_days.max(0) as u64);
        let limit_days = crate::table::date_to_date32(limit);
        let mut out = Vec::new();
        if let Some(dates) = table.dates("date") {
            let rows = rows_where(table, |i| dates.is_valid(i) && dates.value(i) > limit_days);
            if !rows.is_empty() {
                let n = rows.len() as u64;
                let max = datafusion::arrow::compute::max(dates).and_then(date32_to_date);
                out.push(
                    finding(
                        self,
                        Severity::Error,
                        table,
                        format!("{n} row{} dated after {limit}", s(n)),
                    )
                    .column(table.source_column("date", None))
                    .rows(&rows, n, ctx.validation.max_examples)
                    .dates(
                        (limit + chrono::Days::new(1)).to_string(),
                        max.map(|d| d.to_string()).unwrap_or_default(),
                    )
                    .expected(format!("dates up to {limit}"))
                    .suggestion(
                        "Check the date format (day/month order) or drop planned future rows.",
                    ),
                );
            }
        }
        if let Some(col) = table.batch.column_by_name("timestamp") {
            let micros = limit
                .and_hms_opt(23, 59, 59)
                .map(|t| t.and_utc().timestamp_micros())
                .unwrap_or(i64::MAX);
            let ts = cast(col, &DataType::Int64)?;
            let ts = ts
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .unwrap();
            let rows = rows_where(table, |i| ts.is_valid(i) && ts.value(i) > micros);
            if !rows.is_empty() {
                let n = rows.len() as u64;
                out.push(
                    finding(
                        self,
                        Severity::Error,
                        table,
                        format!("{n} row{} stamped after {limit}", s(n)),
                    )
                    .column(table.source_column("timestamp", None))
                    .rows(&rows, n, ctx.validation.max_examples)
                    .expected(format!("timestamps up to {limit}"))
                    .suggestion("Check the time zone and date format of the export."),
                );
            }
        }
        Ok(out)
    }
}

/// A rule comparing two measures row by row: `left > right` is a problem.
fn compare(
    rule: &dyn Rule,
    table: &Table,
    ctx: &RuleContext,
    (left, right): (&str, &str),
    severity: Severity,
    (expected, fix): (&str, &str),
) -> Vec<Finding> {
    let (Some(l), Some(r)) = (table.f64s(left), table.f64s(right)) else {
        return Vec::new();
    };
    per_column(
        rule,
        severity,
        table,
        ctx,
        left,
        |i| l.is_valid(i) && r.is_valid(i) && l.value(i) > r.value(i),
        |n| format!("{n} row{} with more {left} than {right}", s(n)),
    )
    .into_iter()
    .map(|f| f.expected(expected).suggestion(fix))
    .collect()
}

struct ClicksExceedImpressions;
impl Rule for ClicksExceedImpressions {
    fn name(&self) -> &'static str {
        "clicks_exceed_impressions"
    }
    fn description(&self) -> &'static str {
        "more clicks than impressions in a row"
    }
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        Ok(compare(
            self,
            table,
            ctx,
            ("clicks", "impressions"),
            Severity::Error,
            (
                "clicks ≤ impressions",
                "Check that the clicks and impressions columns are not swapped or shifted.",
            ),
        ))
    }
}

struct ConversionsExceedClicks;
impl Rule for ConversionsExceedClicks {
    fn name(&self) -> &'static str {
        "conversions_exceed_clicks"
    }
    fn description(&self) -> &'static str {
        "more conversions than clicks in a row (fine for view-through conversions)"
    }
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        Ok(compare(
            self,
            table,
            ctx,
            ("conversions", "clicks"),
            Severity::Warning,
            (
                "conversions ≤ clicks for click-through attribution",
                "If the platform counts view-through conversions this is expected; otherwise check the columns.",
            ),
        ))
    }
}

struct SpendWithoutImpressions;
impl Rule for SpendWithoutImpressions {
    fn name(&self) -> &'static str {
        "spend_without_impressions"
    }
    fn description(&self) -> &'static str {
        "spend > 0 with zero impressions"
    }
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        let (Some(sp), Some(im)) = (table.f64s("spend"), table.f64s("impressions")) else {
            return Ok(Vec::new());
        };
        Ok(per_column(
            self,
            Severity::Warning,
            table,
            ctx,
            "impressions",
            |i| sp.is_valid(i) && im.is_valid(i) && sp.value(i) > 0.0 && im.value(i) == 0.0,
            |n| format!("{n} row{} with spend but zero impressions", s(n)),
        )
        .into_iter()
        .map(|f| {
            f.expected("impressions > 0 wherever spend > 0").suggestion(
                "Check for a delivery-tracking outage, or fees booked without delivery.",
            )
        })
        .collect())
    }
}

/// Sorted distinct dates of the table's date column.
fn distinct_dates(table: &Table) -> Vec<NaiveDate> {
    let Some(dates) = table.dates("date") else {
        return Vec::new();
    };
    let set: std::collections::BTreeSet<i32> = dates.iter().flatten().collect();
    set.into_iter().filter_map(date32_to_date).collect()
}

/// The detected grain and date range of a table with a date column.
pub fn table_grain(table: &Table) -> Option<Grain> {
    detect_grain(&distinct_dates(table))
}

struct DateGaps;
impl Rule for DateGaps {
    fn name(&self) -> &'static str {
        "date_gaps"
    }
    fn description(&self) -> &'static str {
        "periods missing from the date sequence"
    }
    fn check(&self, table: &Table, _ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        let dates = distinct_dates(table);
        let Some(grain) = detect_grain(&dates) else {
            return Ok(Vec::new());
        };
        Ok(date_gaps(&dates, grain)
            .into_iter()
            .map(|(first, last, n)| {
                finding(self, Severity::Warning, table, format!("{n} {}{} missing from the {}ly sequence", grain.name(), s(n), if grain == Grain::Day { "dai".to_string() } else { grain.name().to_string() }))
                    .column(table.source_column("date", None))
                    .dates(first.to_string(), last.to_string())
                    .expected(format!("one row per {} from first to last date", grain.name()))
                    .suggestion("Add the missing periods (with 0 spend if nothing ran); models read a gap as missing data.")
            })
            .collect())
    }
}

struct Outliers;
impl Rule for Outliers {
    fn name(&self) -> &'static str {
        "outliers"
    }
    fn description(&self) -> &'static str {
        "values far from the rest by robust z-score (median / MAD)"
    }
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        let (measure, group) = match table.name() {
            "media" => ("spend", "channel"),
            "kpi" if table.has("geo") => ("kpi", "geo"),
            "kpi" => ("kpi", ""),
            _ => return Ok(Vec::new()),
        };
        if !table.has(measure) || !table.has("date") {
            return Ok(Vec::new());
        }
        let group_sql = if group.is_empty() {
            "''".to_string()
        } else {
            ident(group)
        };
        // Period totals per group; media zeros (flights off) are not "low outliers".
        let sql = format!(
            "SELECT {group_sql} AS g, {date} AS d, SUM({m}) AS v, MIN({row}) AS r FROM {t} \
             WHERE {m} IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
            date = ident("date"),
            m = ident(measure),
            row = ident(ROW_COLUMN),
            t = ident(table.name())
        );
        let rows = query(ctx, &sql)?;
        let (g, d, v, r) = (
            rows.strs("g"),
            rows.dates("d"),
            rows.f64s("v"),
            rows.u64s("r"),
        );
        let mut by_group: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for i in 0..g.len() {
            if table.name() != "media" || v[i] > 0.0 {
                by_group.entry(&g[i]).or_default().push(i);
            }
        }
        let mut out = Vec::new();
        for (group_value, idx) in by_group {
            let values: Vec<f64> = idx.iter().map(|&i| v[i]).collect();
            let z = robust_z(&values);
            let med = median(&values);
            let flagged: Vec<(usize, f64)> = idx
                .iter()
                .zip(&z)
                .filter(|(_, z)| **z > ctx.validation.outlier_z)
                .map(|(&i, &z)| (i, z))
                .collect();
            if flagged.is_empty() {
                continue;
            }
            let n = flagged.len() as u64;
            let examples: Vec<String> = flagged
                .iter()
                .take(ctx.validation.max_examples)
                .map(|(i, z)| {
                    format!(
                        "{} = {:.2} (z {:.1})",
                        d[*i].map(|d| d.to_string()).unwrap_or_default(),
                        v[*i],
                        z
                    )
                })
                .collect();
            let rows: Vec<u64> = flagged.iter().map(|(i, _)| r[*i]).collect();
            let first = flagged.iter().filter_map(|(i, _)| d[*i]).min();
            let last = flagged.iter().filter_map(|(i, _)| d[*i]).max();
            let what = if group.is_empty() {
                String::new()
            } else {
                format!(" for {group} {group_value}")
            };
            let mut f = finding(self, Severity::Warning, table, format!("{n} unusual {measure} total{}{what} (median {med:.2}): {}", s(n), examples.join(", ")))
                .column(table.source_column(measure, (group == "channel").then_some(group_value)))
                .rows(&rows, n, ctx.validation.max_examples)
                .expected(format!("robust z-score ≤ {}", ctx.validation.outlier_z))
                .suggestion("Confirm these are real (a launch, a sale) or a typo (an extra zero); real ones may deserve an event dummy.");
            if let (Some(a), Some(b)) = (first, last) {
                f = f.dates(a.to_string(), b.to_string());
            }
            if group == "channel" {
                f = f.channel(group_value);
            }
            out.push(f);
        }
        Ok(out)
    }
}

struct ConstantColumns;
impl Rule for ConstantColumns {
    fn name(&self) -> &'static str {
        "constant_columns"
    }
    fn description(&self) -> &'static str {
        "numeric columns (or a channel's spend) that never change"
    }
    fn check(&self, table: &Table, _ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        let mut out = Vec::new();
        for (name, dt) in table.columns() {
            if dt != "Float64" || table.num_rows() < 2 {
                continue;
            }
            let values = table.f64s(&name).expect("Float64");
            // Media measures are judged per channel: one channel's constant spend matters.
            let channels = if table.name() == "media" {
                table.distinct("channel")
            } else {
                vec![String::new()]
            };
            let channel_col = table.strs("channel");
            for ch in channels {
                let mut min = f64::INFINITY;
                let mut max = f64::NEG_INFINITY;
                let mut n = 0u64;
                for i in 0..values.len() {
                    if values.is_null(i)
                        || (!ch.is_empty() && channel_col.is_some_and(|c| c.value(i) != ch))
                    {
                        continue;
                    }
                    n += 1;
                    min = min.min(values.value(i));
                    max = max.max(values.value(i));
                }
                // All-zero media columns are the sparse-channel rule's business.
                if n < 3 || min != max || (table.name() == "media" && min == 0.0) {
                    continue;
                }
                let who = if ch.is_empty() {
                    String::new()
                } else {
                    format!(" for channel {ch}")
                };
                let mut f = finding(self, Severity::Warning, table, format!("`{name}` is {min} in all {n} rows{who}"))
                    .column(table.source_column(&name, (!ch.is_empty()).then_some(ch.as_str())))
                    .expected("a column that varies")
                    .suggestion("A constant cannot explain changes in the KPI: drop it from the model or check the export.");
                if !ch.is_empty() {
                    f = f.channel(ch.clone());
                }
                out.push(f);
            }
        }
        Ok(out)
    }
}

struct SparseChannels;
impl Rule for SparseChannels {
    fn name(&self) -> &'static str {
        "sparse_channels"
    }
    fn description(&self) -> &'static str {
        "channels with spend in fewer than [validation] min_active_periods periods"
    }
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        if table.name() != "media" || !table.has("spend") || !table.has("channel") {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {c} AS ch, COUNT(DISTINCT CASE WHEN {s} > 0 THEN {d} END) AS active, COUNT(DISTINCT {d}) AS periods \
             FROM {t} GROUP BY 1 ORDER BY 1",
            c = ident("channel"),
            s = ident("spend"),
            d = ident("date"),
            t = ident(table.name())
        );
        let rows = query(ctx, &sql)?;
        let (ch, active, periods) = (rows.strs("ch"), rows.u64s("active"), rows.u64s("periods"));
        let min = ctx.validation.min_active_periods as u64;
        Ok((0..ch.len())
            .filter(|&i| active[i] < min)
            .map(|i| {
                finding(self, Severity::Warning, table, format!("channel {} has spend in {} of {} periods", ch[i], active[i], periods[i]))
                    .column(table.source_column("spend", Some(&ch[i])))
                    .channel(ch[i].clone())
                    .expected(format!("spend in at least {min} periods"))
                    .suggestion("Too few active periods to estimate an effect: merge the channel with a similar one, or leave it out of the model.")
            })
            .collect())
    }
}

struct ExperimentDates;
impl Rule for ExperimentDates {
    fn name(&self) -> &'static str {
        "experiment_dates"
    }
    fn description(&self) -> &'static str {
        "experiments that end before they start"
    }
    fn check(&self, table: &Table, ctx: &RuleContext) -> Result<Vec<Finding>, DataFusionError> {
        let (Some(start), Some(end)) = (table.dates("start"), table.dates("end")) else {
            return Ok(Vec::new());
        };
        let rows = rows_where(table, |i| {
            start.is_valid(i) && end.is_valid(i) && end.value(i) < start.value(i)
        });
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let n = rows.len() as u64;
        Ok(vec![
            finding(
                self,
                Severity::Error,
                table,
                format!(
                    "{n} experiment{} end{} before {} start{}",
                    s(n),
                    if n == 1 { "s" } else { "" },
                    if n == 1 { "its" } else { "their" },
                    if n == 1 { "" } else { "s" }
                ),
            )
            .column(table.source_column("end", None))
            .rows(&rows, n, ctx.validation.max_examples)
            .expected("end ≥ start")
            .suggestion("Swap the dates or fix the date format."),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn grain_and_gaps() {
        let weekly = [
            d("2024-01-01"),
            d("2024-01-08"),
            d("2024-01-29"),
            d("2024-02-05"),
        ];
        assert_eq!(detect_grain(&weekly), Some(Grain::Week));
        assert_eq!(
            date_gaps(&weekly, Grain::Week),
            vec![(d("2024-01-15"), d("2024-01-22"), 2)]
        );
        let monthly = [d("2024-01-01"), d("2024-02-01"), d("2024-05-01")];
        assert_eq!(detect_grain(&monthly), Some(Grain::Month));
        assert_eq!(
            date_gaps(&monthly, Grain::Month),
            vec![(d("2024-03-01"), d("2024-04-01"), 2)]
        );
        let daily = [d("2024-01-01"), d("2024-01-02"), d("2024-01-05")];
        assert_eq!(
            date_gaps(&daily, Grain::Day),
            vec![(d("2024-01-03"), d("2024-01-04"), 2)]
        );
    }

    #[test]
    fn robust_z_flags_the_spike_only() {
        let v = [10.0, 11.0, 9.0, 10.5, 9.5, 100.0];
        let z = robust_z(&v);
        assert!(z[5] > 3.5, "{z:?}");
        assert!(z[..5].iter().all(|z| *z < 3.5), "{z:?}");
        // MAD of 0 falls back to the mean absolute deviation.
        let flat = [5.0, 5.0, 5.0, 5.0, 50.0];
        assert!(robust_z(&flat)[4] > 3.5);
    }

    #[test]
    fn every_rule_has_a_unique_name_and_description() {
        let names: std::collections::BTreeSet<_> = rules().iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), rules().len());
        assert!(rules().iter().all(|r| !r.description().is_empty()));
    }
}
