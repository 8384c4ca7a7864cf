//! The marketing-mix modelling table: one row per period, built from a config's
//! `media`, `kpi` and `experiments` tables.
//!
//! Aggregation is SQL run by DataFusion, so it holds for millions of daily media rows and
//! could run on a distributed engine unchanged: media spend per period and channel comes
//! from [`crate::media_sums`] (the query of [`crate::panel::media_panel_sql`], streamed
//! straight from a clean CSV), and every query over the KPI table is built by
//! [`mmm_panel_sql`]. Only per-period results come back to Rust.
//!
//! # Which periods are modelled
//! The periods are the KPI's periods, which must be consecutive:
//! - **Partial first and last periods are dropped.** When the KPI data is daily (the most
//!   common step between consecutive distinct KPI dates is one day, the rule
//!   `adroit check` uses to detect a table's grain), a period is complete when the
//!   number of distinct KPI dates in it equals its length in days (1, 7, or the days of
//!   its month). An incomplete first or last period (data starting on a Wednesday, ending
//!   on a Tuesday) would read as a low period, so it is dropped with a note. With weekly
//!   or monthly KPI data every period present counts as complete.
//! - **Gaps are errors**: a period missing inside the KPI's range
//!   ([`MmmPanelError::Gap`]), or, for daily data, an inner period missing some of its
//!   days ([`MmmPanelError::MissingDays`]), each naming the first one.
//! - **Media follows the KPI**: a KPI period without media rows gets 0 spend for every
//!   channel, a channel without a row in a period gets 0, and media periods without a
//!   KPI row are left out; each case is noted.

use crate::Stage;
use crate::contract::TableSpec;
use crate::engine::Engine;
use crate::load::{LoadOptions, load_table};
use crate::panel::{PanelBy, PanelError, PanelGrain, media_sums, period_sql};
use crate::report::{Finding, Severity};
use crate::table::{Table, date_to_date32, date32_to_date};
use crate::validate::ident;
use adroit_config::Config;
use adroit_metrics::PeriodSums;
use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{Array, ArrayRef, Date32Array, Float64Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

/// The modelling table of a marketing mix model: one row per period, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MmmPanel {
    pub grain: PanelGrain,
    /// First day of each period (the day, the ISO week's Monday, the month's first),
    /// ascending and consecutive.
    pub periods: Vec<NaiveDate>,
    /// The KPI summed per period over all its rows (all geos: a national model).
    pub kpi: Vec<f64>,
    /// Spend per channel (sorted by name) summed per period; 0 where the channel has no
    /// media row in a period.
    pub spend: Vec<(String, Vec<f64>)>,
    /// The KPI table's controls, in the config's order, per period: the mean of a
    /// number, the share of true rows (days, or geo-days) of a flag.
    pub controls: Vec<(String, Vec<f64>)>,
    /// The experiments table's lift tests, in file order (empty without `[experiments]`).
    pub experiments: Vec<Experiment>,
    /// What was done that the user should know (periods dropped, spend taken as 0, geos
    /// summed, experiments that cannot calibrate); never errors.
    pub notes: Vec<Finding>,
}

/// One lift test from the experiments table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub channel: String,
    /// First and last day of the test (inclusive).
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The incremental KPI the test measured.
    pub lift: f64,
    /// The spend the test's lift came from.
    pub spend: f64,
    /// The interval of the lift, when the table has one.
    pub lift_lower: Option<f64>,
    pub lift_upper: Option<f64>,
    /// The test's 1-based data row in its file (for messages).
    pub row: u64,
}

impl MmmPanel {
    /// Number of periods.
    pub fn len(&self) -> usize {
        self.periods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.periods.is_empty()
    }

    /// Days since 1970-01-01 of each period's first day.
    pub fn days(&self) -> Vec<i32> {
        self.periods.iter().map(|d| date_to_date32(*d)).collect()
    }

    /// The index of the period containing `date`, if a modelled period does.
    pub fn period_of(&self, date: NaiveDate) -> Option<usize> {
        let i = self
            .periods
            .partition_point(|p| *p <= date)
            .checked_sub(1)?;
        (date < next_period(self.grain, self.periods[i])).then_some(i)
    }

    /// The last day of the last period.
    pub fn last_day(&self) -> Option<NaiveDate> {
        let last = *self.periods.last()?;
        next_period(self.grain, last).pred_opt()
    }
}

/// Why a modelling table could not be built. Every message says what to do next.
#[derive(Debug)]
pub enum MmmPanelError {
    /// The config names no `media` or no `kpi` table.
    MissingTable(&'static str),
    /// The tables have errors: the loader's error findings (and experiments that end
    /// before they start).
    Invalid(Vec<Finding>),
    /// A control is neither a number nor a flag.
    TextControl {
        file: String,
        /// The column as named in the user's file.
        column: String,
        example: Option<String>,
    },
    /// Periods missing inside the KPI's date range.
    Gap {
        file: String,
        grain: PanelGrain,
        /// The first missing period's first day.
        first: NaiveDate,
        /// How many periods are missing in all.
        missing: u64,
        /// The smallest step between the KPI's distinct dates, in days.
        step_days: Option<i64>,
    },
    /// Daily KPI data missing days inside a period that is neither first nor last.
    MissingDays {
        file: String,
        grain: PanelGrain,
        /// The first missing day.
        first: NaiveDate,
        /// The period it belongs to.
        period: NaiveDate,
        /// How many inner periods lack days.
        periods: u64,
    },
    /// No complete period is left (the daily KPI data covers less than one period).
    NoPeriods {
        file: String,
        grain: PanelGrain,
        dates: Option<(NaiveDate, NaiveDate)>,
    },
    /// A query failed.
    Query(DataFusionError),
}

impl std::error::Error for MmmPanelError {}

impl fmt::Display for MmmPanelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MmmPanelError::MissingTable(table) => {
                let columns = if *table == "media" {
                    "date, channel, spend"
                } else {
                    "date, the KPI and any controls"
                };
                write!(
                    f,
                    "a marketing mix model needs a {table} table: add [{table}] to the config (path and the columns {columns})"
                )
            }
            MmmPanelError::Invalid(findings) => {
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for finding in findings {
                    *counts.entry(finding.table.as_str()).or_default() += 1;
                }
                let parts: Vec<String> = counts
                    .iter()
                    .map(|(table, n)| format!("the {table} table has {n} error{}", plural(*n)))
                    .collect();
                f.write_str(&parts.join(", "))?;
                if let Some(first) = findings.first() {
                    let mut at = first.where_text();
                    if let Some(column) = &first.column {
                        let sep = if at.is_empty() { "" } else { ", " };
                        at = format!("{at}{sep}column `{column}`");
                    }
                    let at = if at.is_empty() { at } else { format!(" {at}") };
                    write!(f, "; first: {}{at}: {}", first.file, first.message)?;
                }
                f.write_str("; run `adroit check` for every finding and how to fix it")
            }
            MmmPanelError::TextControl {
                file,
                column,
                example,
            } => {
                let example = example
                    .as_ref()
                    .map(|e| format!(" (e.g. {e:?})"))
                    .unwrap_or_default();
                write!(
                    f,
                    "{file}: the control `{column}` is text{example}; a control must be a number or a 0/1 flag: fix its values, declare it in [kpi] as `types = {{ {column} = \"flag\" }}`, or remove it from `controls`"
                )
            }
            MmmPanelError::Gap {
                file,
                grain,
                first,
                missing,
                step_days,
            } => {
                write!(
                    f,
                    "{file}: the kpi table has no rows for {} ({missing} {}{} missing inside its dates); a marketing mix model needs consecutive periods: add the missing rows",
                    period_name(*grain, *first),
                    grain_name(*grain),
                    plural(*missing as usize),
                )?;
                match step_days {
                    Some(step) if *step > typical_days(*grain) => write!(
                        f,
                        ", or choose a coarser grain (its dates are at least {step} days apart)"
                    ),
                    _ => Ok(()),
                }
            }
            MmmPanelError::MissingDays {
                file,
                grain,
                first,
                period,
                periods,
            } => write!(
                f,
                "{file}: the kpi table has no row for {first}, inside {} ({periods} {}{} inside its dates {} days); its sum would read as a low {}: add the missing days (0 where nothing was sold)",
                period_name(*grain, *period),
                grain_name(*grain),
                plural(*periods as usize),
                if *periods == 1 { "lacks" } else { "lack" },
                grain_name(*grain),
            ),
            MmmPanelError::NoPeriods { file, grain, dates } => {
                let dates = dates
                    .map(|(a, b)| format!(" (its daily data runs {a} … {b})"))
                    .unwrap_or_default();
                write!(
                    f,
                    "{file}: the kpi table covers no complete {}{dates}; a marketing mix model needs complete periods: add data or choose a finer grain",
                    grain_name(*grain)
                )
            }
            MmmPanelError::Query(e) => write!(f, "{e}"),
        }
    }
}

/// How a control is aggregated per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlKind {
    /// The mean of its values.
    Number,
    /// The share of true rows.
    Flag,
}

/// The queries over the registered table `kpi` that build the modelling table.
#[derive(Debug, Clone, Copy)]
pub enum MmmQuery<'a> {
    /// Per period, ascending: `period`, the KPI's sum, the distinct dates, the first and
    /// last date, then each control's per-period value (`c0`, `c1`, …).
    KpiPeriods {
        grain: PanelGrain,
        controls: &'a [(String, ControlKind)],
    },
    /// The steps in days between consecutive distinct KPI dates: the most common one
    /// (ties go to the smaller), how often it occurs, and the smallest; no row for fewer
    /// than two dates.
    KpiStep,
    /// How many distinct geos the KPI table has.
    KpiGeos,
    /// The distinct KPI dates in `[from, to)`, ascending.
    KpiDates { from: NaiveDate, to: NaiveDate },
}

/// The SQL of one [`MmmQuery`]; every query over the KPI table is built here (media
/// spend is [`crate::panel::media_panel_sql`] by channel).
pub fn mmm_panel_sql(query: MmmQuery) -> String {
    let date = ident("date");
    match query {
        MmmQuery::KpiPeriods { grain, controls } => {
            let mut columns = vec![
                format!("{} AS period", period_sql(grain, "date")),
                format!("SUM({}) AS kpi", ident("kpi")),
                format!("COUNT(DISTINCT {date}) AS days"),
                format!("MIN({date}) AS first_day"),
                format!("MAX({date}) AS last_day"),
            ];
            for (i, (name, kind)) in controls.iter().enumerate() {
                columns.push(match kind {
                    ControlKind::Number => format!("AVG(CAST({} AS DOUBLE)) AS c{i}", ident(name)),
                    ControlKind::Flag => {
                        format!(
                            "AVG(CASE WHEN {} THEN 1.0 ELSE 0.0 END) AS c{i}",
                            ident(name)
                        )
                    }
                });
            }
            format!(
                "SELECT {} FROM kpi GROUP BY 1 ORDER BY 1",
                columns.join(", ")
            )
        }
        MmmQuery::KpiStep => format!(
            "SELECT step, COUNT(*) AS n, MIN(step) OVER () AS smallest FROM (\
             SELECT CAST(CAST(LEAD(d) OVER (ORDER BY d) AS INT) - CAST(d AS INT) AS BIGINT) AS step \
             FROM (SELECT DISTINCT {date} AS d FROM kpi WHERE {date} IS NOT NULL) dates) steps \
             WHERE step IS NOT NULL GROUP BY step ORDER BY n DESC, step LIMIT 1"
        ),
        MmmQuery::KpiGeos => format!("SELECT COUNT(DISTINCT {}) AS n FROM kpi", ident("geo")),
        MmmQuery::KpiDates { from, to } => format!(
            "SELECT DISTINCT {date} AS d FROM kpi \
             WHERE {date} >= CAST('{from}' AS DATE) AND {date} < CAST('{to}' AS DATE) ORDER BY 1"
        ),
    }
}

/// The modelling table of a config: media spend per channel, the KPI and its controls
/// per period, and the lift tests, with notes on what was dropped or filled (see the
/// [module documentation](self) for the rules). Paths are relative to `base`. Tables
/// with loader errors are refused with those errors.
pub fn mmm_panel(
    engine: &Engine,
    config: &Config,
    base: &Path,
    grain: PanelGrain,
    progress: &dyn Fn(Stage),
) -> Result<MmmPanel, MmmPanelError> {
    let media_source = config
        .media
        .as_ref()
        .ok_or(MmmPanelError::MissingTable("media"))?;
    let kpi_source = config
        .kpi
        .as_ref()
        .ok_or(MmmPanelError::MissingTable("kpi"))?;
    let opts = LoadOptions {
        base,
        validation: &config.validation,
        cleaning: &config.cleaning,
    };
    let total = 2 + usize::from(config.experiments.is_some());
    // Every table is loaded before refusing, so the user sees all their errors at once.
    let mut errors = Vec::new();

    // Media spend per period and channel (streamed from a clean CSV when it can be).
    let media_progress = |stage: Stage| match stage {
        Stage::Loading { table, .. } => progress(Stage::Loading {
            table,
            index: 0,
            total,
        }),
        other => progress(other),
    };
    let media = match media_sums(
        engine,
        config,
        base,
        grain,
        PanelBy::Channel,
        &media_progress,
    ) {
        Ok(rows) => rows,
        Err(PanelError::Invalid(found)) => {
            errors.extend(found);
            Vec::new()
        }
        Err(PanelError::NoMedia) => return Err(MmmPanelError::MissingTable("media")),
        Err(PanelError::Query(e)) => return Err(MmmPanelError::Query(e)),
    };
    progress(Stage::Loading {
        table: "kpi",
        index: 1,
        total,
    });
    let kpi = load_checked(engine, &TableSpec::kpi(kpi_source), opts, &mut errors);
    let experiments = config.experiments.as_ref().and_then(|e| {
        progress(Stage::Loading {
            table: "experiments",
            index: 2,
            total,
        });
        let table = load_checked(engine, &TableSpec::experiments(e), opts, &mut errors)?;
        let (tests, wrong) = read_experiments(&table);
        errors.extend(wrong);
        Some((tests, table.file))
    });
    let kpi = match kpi {
        Some(kpi) if errors.is_empty() => kpi,
        _ => return Err(MmmPanelError::Invalid(errors)),
    };

    // The KPI per period, its partial ends dropped, checked for gaps.
    let controls = control_kinds(&kpi, &kpi_source.controls)?;
    engine
        .register("kpi", kpi.batch.clone())
        .map_err(MmmPanelError::Query)?;
    let run = |q: MmmQuery| engine.sql(&mmm_panel_sql(q)).map_err(MmmPanelError::Query);
    let steps = run(MmmQuery::KpiStep)?;
    let daily = first_i64(&steps, 0)? == Some(1);
    let mut rows = kpi_periods(&run(MmmQuery::KpiPeriods {
        grain,
        controls: &controls,
    })?)?;
    let dates = rows
        .first()
        .zip(rows.last())
        .map(|(a, b)| (a.first_day, b.last_day));
    let dropped = if daily {
        drop_partial_ends(&mut rows, grain)
    } else {
        Vec::new()
    };
    let mut notes: Vec<Finding> = dropped
        .iter()
        .map(|p| partial_note(p, grain, &kpi.file))
        .collect();
    if rows.is_empty() {
        return Err(MmmPanelError::NoPeriods {
            file: kpi.file,
            grain,
            dates,
        });
    }
    check_consecutive(&rows, grain, daily, &kpi.file, first_i64(&steps, 2)?, &run)?;
    if !daily
        && grain == PanelGrain::Week
        && let Some(r) = rows.iter().find(|r| r.first_day != r.start)
    {
        notes.push(week_not_monday_note(r, &kpi.file));
    }
    if kpi.has("geo") {
        let geos = first_i64(&run(MmmQuery::KpiGeos)?, 0)?.unwrap_or(0);
        if geos > 1 {
            notes.push(
                Finding::new(
                    "geos_summed",
                    Severity::Info,
                    "kpi",
                    &kpi.file,
                    format!(
                        "the kpi table has {geos} geos: the KPI is summed over them per period, and controls averaged over geos and days (a national model)"
                    ),
                )
                .column(kpi.source_column("geo", None)),
            );
        }
    }

    let (spend, media_notes) = place_media(&media, &rows, &dropped, grain, &media_source.path);
    notes.extend(media_notes);
    let mut panel = MmmPanel {
        grain,
        periods: rows.iter().map(|r| r.start).collect(),
        kpi: rows.iter().map(|r| r.kpi).collect(),
        spend,
        controls: controls
            .iter()
            .enumerate()
            .map(|(c, (name, _))| (name.clone(), rows.iter().map(|r| r.controls[c]).collect()))
            .collect(),
        experiments: Vec::new(),
        notes,
    };
    if let Some((tests, file)) = experiments {
        let notes = experiment_notes(&panel, &tests, &file);
        panel.experiments = tests;
        panel.notes.extend(notes);
    }
    Ok(panel)
}

/// Removes an incomplete first and last period (of daily data) and returns them.
fn drop_partial_ends(rows: &mut Vec<KpiPeriod>, grain: PanelGrain) -> Vec<KpiPeriod> {
    let mut dropped = Vec::new();
    if rows.first().is_some_and(|r| !r.complete(grain)) {
        dropped.push(rows.remove(0));
    }
    if rows.last().is_some_and(|r| !r.complete(grain)) {
        dropped.extend(rows.pop());
    }
    dropped
}

fn partial_note(p: &KpiPeriod, grain: PanelGrain, file: &str) -> Finding {
    Finding::new(
        "partial_period",
        Severity::Info,
        "kpi",
        file,
        format!(
            "{} has kpi rows for only {} of its {} days ({} … {}); dropped with its media spend, as its sums would read as low",
            capitalise(&period_name(grain, p.start)),
            p.days,
            period_len(grain, p.start),
            p.first_day,
            p.last_day
        ),
    )
    .dates(p.start.to_string(), last_day(grain, p.start).to_string())
    .expected(format!("every day of each {}", grain_name(grain)))
    .suggestion("Nothing to do; export whole periods to keep them.")
}

/// Refuses missing periods and, for daily data, inner periods missing days: whichever
/// comes first is named.
fn check_consecutive(
    rows: &[KpiPeriod],
    grain: PanelGrain,
    daily: bool,
    file: &str,
    smallest_step: Option<i64>,
    run: &dyn Fn(MmmQuery) -> Result<Vec<RecordBatch>, MmmPanelError>,
) -> Result<(), MmmPanelError> {
    let mut gap: Option<(NaiveDate, u64)> = None;
    for w in rows.windows(2) {
        let missing = steps_between(grain, w[0].start, w[1].start) - 1;
        if missing > 0 {
            let first = gap.map_or(next_period(grain, w[0].start), |(d, _)| d);
            gap = Some((first, gap.map_or(0, |(_, n)| n) + missing as u64));
        }
    }
    let short: Vec<&KpiPeriod> = if daily {
        rows.iter().filter(|r| !r.complete(grain)).collect()
    } else {
        Vec::new()
    };
    match (gap, short.first()) {
        (Some((first, missing)), s) if s.is_none_or(|s| first < s.start) => {
            Err(MmmPanelError::Gap {
                file: file.to_string(),
                grain,
                first,
                missing,
                step_days: smallest_step,
            })
        }
        (_, Some(s)) => {
            let from = s.start;
            let present = dates_of(&run(MmmQuery::KpiDates {
                from,
                to: next_period(grain, from),
            })?)?;
            let first = from
                .iter_days()
                .take(period_len(grain, from) as usize)
                .find(|day| !present.contains(day))
                .unwrap_or(from);
            Err(MmmPanelError::MissingDays {
                file: file.to_string(),
                grain,
                first,
                period: from,
                periods: short.len() as u64,
            })
        }
        _ => Ok(()),
    }
}

fn week_not_monday_note(r: &KpiPeriod, file: &str) -> Finding {
    Finding::new(
        "week_not_monday",
        Severity::Warning,
        "kpi",
        file,
        format!(
            "the kpi table's weekly dates fall on {} (e.g. {}); each row is placed in the ISO week (Monday to Sunday) containing its date, labelled {}",
            r.first_day.weekday(),
            r.first_day,
            r.start
        ),
    )
    .expected("weekly rows dated by the Monday their week starts on")
    .suggestion("If a row stands for the week starting on its date, date it by that week's Monday (or give daily data) so media and KPI weeks line up.")
}

/// Media spend per channel on the KPI's periods (0 where a channel has no row), and
/// notes on periods without media and media without KPI.
fn place_media(
    media: &[PeriodSums],
    rows: &[KpiPeriod],
    dropped: &[KpiPeriod],
    grain: PanelGrain,
    file: &str,
) -> (Vec<(String, Vec<f64>)>, Vec<Finding>) {
    let index: BTreeMap<NaiveDate, usize> =
        rows.iter().enumerate().map(|(i, r)| (r.start, i)).collect();
    let dropped: BTreeSet<NaiveDate> = dropped.iter().map(|p| p.start).collect();
    let channels: BTreeSet<&str> = media.iter().map(|r| r.group.as_str()).collect();
    let channel_index: BTreeMap<&str, usize> =
        channels.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let mut spend = vec![vec![0.0; rows.len()]; channels.len()];
    let mut with_media = vec![false; rows.len()];
    let mut without_kpi: BTreeSet<NaiveDate> = BTreeSet::new();
    for r in media {
        match index.get(&r.period) {
            Some(&i) => {
                spend[channel_index[r.group.as_str()]][i] += r.spend.unwrap_or(0.0);
                with_media[i] = true;
            }
            None if dropped.contains(&r.period) => {} // in the partial-period note
            None => {
                without_kpi.insert(r.period);
            }
        }
    }
    let mut notes = Vec::new();
    let empty: Vec<NaiveDate> = (0..rows.len())
        .filter(|&i| !with_media[i])
        .map(|i| rows[i].start)
        .collect();
    if let (Some(first), Some(last)) = (empty.first(), empty.last()) {
        let n = empty.len();
        notes.push(
            Finding::new(
                "no_media_rows",
                Severity::Warning,
                "media",
                file,
                format!(
                    "{n} of the {} {}s {} no media rows (first: {}); spend there is taken as 0 for every channel",
                    rows.len(),
                    grain_name(grain),
                    if n == 1 { "has" } else { "have" },
                    period_name(grain, *first)
                ),
            )
            .dates(first.to_string(), last.to_string())
            .expected("media rows for every period the KPI covers")
            .suggestion("If media ran in those periods, add its rows; if nothing ran, nothing to do."),
        );
    }
    if let (Some(first), Some(last)) = (without_kpi.first(), without_kpi.last()) {
        let n = without_kpi.len();
        notes.push(
            Finding::new(
                "media_without_kpi",
                Severity::Warning,
                "media",
                file,
                format!(
                    "media rows in {n} {}{} have no kpi rows (first: {}); those periods are left out of the model",
                    grain_name(grain),
                    plural(n),
                    period_name(grain, *first)
                ),
            )
            .dates(first.to_string(), last.to_string())
            .expected("kpi rows for every period with media")
            .suggestion("Add the KPI for those periods to model them."),
        );
    }
    let spend: Vec<(String, Vec<f64>)> =
        channels.iter().map(|c| c.to_string()).zip(spend).collect();
    for (channel, values) in &spend {
        if values.iter().all(|v| *v == 0.0) {
            notes.push(
                Finding::new(
                    "channel_without_spend",
                    Severity::Warning,
                    "media",
                    file,
                    format!(
                        "channel `{channel}` has no spend in the modelled periods; a model cannot estimate its effect"
                    ),
                )
                .channel(channel.clone())
                .suggestion("Remove the channel from the model, or add its spend."),
            );
        }
    }
    (spend, notes)
}

/// Loads a table, moving its error findings into `errors`.
fn load_checked(
    engine: &Engine,
    spec: &TableSpec,
    opts: LoadOptions,
    errors: &mut Vec<Finding>,
) -> Option<Table> {
    let loaded = load_table(engine, spec, opts);
    errors.extend(
        loaded
            .findings
            .into_iter()
            .filter(|f| f.severity == Severity::Error),
    );
    loaded.table
}

/// Each control's aggregation from its loaded type; text controls are refused.
fn control_kinds(
    kpi: &Table,
    controls: &[String],
) -> Result<Vec<(String, ControlKind)>, MmmPanelError> {
    controls
        .iter()
        .map(|name| {
            let kind = match kpi.batch.column_by_name(name).map(|c| c.data_type()) {
                Some(DataType::Boolean) => ControlKind::Flag,
                Some(t) if t.is_numeric() => ControlKind::Number,
                _ => {
                    return Err(MmmPanelError::TextControl {
                        file: kpi.file.clone(),
                        column: kpi.source_column(name, None),
                        example: kpi
                            .strs(name)
                            .and_then(|s| s.iter().flatten().next().map(str::to_string)),
                    });
                }
            };
            Ok((name.clone(), kind))
        })
        .collect()
}

/// One row of [`MmmQuery::KpiPeriods`].
#[derive(Debug, Clone)]
struct KpiPeriod {
    start: NaiveDate,
    kpi: f64,
    days: i64,
    first_day: NaiveDate,
    last_day: NaiveDate,
    controls: Vec<f64>,
}

impl KpiPeriod {
    /// Every day of the period has a KPI date (meaningful for daily data).
    fn complete(&self, grain: PanelGrain) -> bool {
        self.days >= period_len(grain, self.start)
    }
}

fn kpi_periods(batches: &[RecordBatch]) -> Result<Vec<KpiPeriod>, MmmPanelError> {
    let mut out = Vec::new();
    for b in batches {
        let period = dates(b.column(0))?;
        let kpi = floats(b.column(1))?;
        let days = ints(b.column(2))?;
        let first = dates(b.column(3))?;
        let last = dates(b.column(4))?;
        let controls: Vec<Float64Array> = (5..b.num_columns())
            .map(|i| floats(b.column(i)))
            .collect::<Result<_, _>>()?;
        // The loader refuses missing dates, KPIs and controls, so no value here is null;
        // a null would read as 0 rather than NaN.
        let day =
            |a: &Date32Array, i: usize| a.is_valid(i).then(|| date32_to_date(a.value(i))).flatten();
        let num = |a: &Float64Array, i: usize| if a.is_valid(i) { a.value(i) } else { 0.0 };
        for i in 0..b.num_rows() {
            let (Some(start), Some(first_day), Some(last_day)) =
                (day(&period, i), day(&first, i), day(&last, i))
            else {
                continue; // rows without a date are refused by the loader
            };
            out.push(KpiPeriod {
                start,
                kpi: num(&kpi, i),
                days: days.value(i),
                first_day,
                last_day,
                controls: controls.iter().map(|c| num(c, i)).collect(),
            });
        }
    }
    Ok(out)
}

/// The lift tests of a loaded experiments table, and error findings for tests that end
/// before they start.
fn read_experiments(table: &Table) -> (Vec<Experiment>, Vec<Finding>) {
    let (Some(channel), Some(start), Some(end), Some(lift), Some(spend)) = (
        table.strs("channel"),
        table.dates("start"),
        table.dates("end"),
        table.f64s("lift"),
        table.f64s("spend"),
    ) else {
        return (Vec::new(), Vec::new());
    };
    let optional =
        |a: Option<&Float64Array>, i: usize| a.filter(|a| a.is_valid(i)).map(|a| a.value(i));
    let mut tests = Vec::new();
    let mut errors = Vec::new();
    for i in 0..table.num_rows() {
        let row = table.source_row(i);
        let day = |a: &Date32Array| a.is_valid(i).then(|| date32_to_date(a.value(i))).flatten();
        let (Some(s), Some(e)) = (day(start), day(end)) else {
            continue; // missing values are loader errors
        };
        if e < s {
            errors.push(
                Finding::new(
                    "experiment_dates",
                    Severity::Error,
                    "experiments",
                    &table.file,
                    format!("the test ends ({e}) before it starts ({s})"),
                )
                .column(table.source_column("end", None))
                .rows(&[row], 1, 1)
                .expected("end on or after start")
                .suggestion("Swap the two dates or correct the typo."),
            );
            continue;
        }
        tests.push(Experiment {
            channel: channel.value(i).to_string(),
            start: s,
            end: e,
            lift: lift.value(i),
            spend: spend.value(i),
            lift_lower: optional(table.f64s("lift_lower"), i),
            lift_upper: optional(table.f64s("lift_upper"), i),
            row,
        });
    }
    (tests, errors)
}

/// Tests that cannot (fully) calibrate the model: unknown channel, outside the periods.
fn experiment_notes(panel: &MmmPanel, tests: &[Experiment], file: &str) -> Vec<Finding> {
    let mut notes = Vec::new();
    let (Some(first), Some(last)) = (panel.periods.first(), panel.last_day()) else {
        return notes;
    };
    for t in tests {
        if !panel.spend.iter().any(|(c, _)| *c == t.channel) {
            notes.push(
                Finding::new(
                    "experiment_channel",
                    Severity::Warning,
                    "experiments",
                    file,
                    format!(
                        "the test of `{}` ({} … {}) names a channel the media table does not have; it cannot calibrate the model",
                        t.channel, t.start, t.end
                    ),
                )
                .channel(t.channel.clone())
                .rows(&[t.row], 1, 1)
                .suggestion("Spell the channel as in the media table."),
            );
        }
        let inside = t.start >= *first && t.end <= last;
        if !inside {
            let outside = t.end < *first || t.start > last;
            notes.push(
                Finding::new(
                    "experiment_outside",
                    Severity::Warning,
                    "experiments",
                    file,
                    format!(
                        "the test of `{}` ({} … {}) lies {} the modelled periods ({first} … {last})",
                        t.channel,
                        t.start,
                        t.end,
                        if outside { "outside" } else { "partly outside" }
                    ),
                )
                .channel(t.channel.clone())
                .rows(&[t.row], 1, 1)
                .dates(t.start.to_string(), t.end.to_string())
                .suggestion(if outside {
                    "It cannot calibrate this model; extend the data to cover it."
                } else {
                    "Only the periods inside can be compared with it."
                }),
            );
        }
    }
    notes
}

/// The first value of column `col` in the first row, as an integer.
fn first_i64(batches: &[RecordBatch], col: usize) -> Result<Option<i64>, MmmPanelError> {
    let Some(b) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let values = ints(b.column(col))?;
    Ok(values.is_valid(0).then(|| values.value(0)))
}

/// The dates of the first column of every batch.
fn dates_of(batches: &[RecordBatch]) -> Result<Vec<NaiveDate>, MmmPanelError> {
    let mut out = Vec::new();
    for b in batches {
        out.extend(
            dates(b.column(0))?
                .iter()
                .flatten()
                .filter_map(date32_to_date),
        );
    }
    Ok(out)
}

fn cast_to(a: &ArrayRef, ty: &DataType) -> Result<ArrayRef, MmmPanelError> {
    cast(a, ty).map_err(|e| MmmPanelError::Query(e.into()))
}

fn floats(a: &ArrayRef) -> Result<Float64Array, MmmPanelError> {
    let a = cast_to(a, &DataType::Float64)?;
    Ok(a.as_any()
        .downcast_ref::<Float64Array>()
        .expect("Float64")
        .clone())
}

fn ints(a: &ArrayRef) -> Result<Int64Array, MmmPanelError> {
    let a = cast_to(a, &DataType::Int64)?;
    Ok(a.as_any()
        .downcast_ref::<Int64Array>()
        .expect("Int64")
        .clone())
}

fn dates(a: &ArrayRef) -> Result<Date32Array, MmmPanelError> {
    let a = cast_to(a, &DataType::Date32)?;
    Ok(a.as_any()
        .downcast_ref::<Date32Array>()
        .expect("Date32")
        .clone())
}

/// The first day of the period after the one starting on `start`.
fn next_period(grain: PanelGrain, start: NaiveDate) -> NaiveDate {
    match grain {
        PanelGrain::Day => start + chrono::Days::new(1),
        PanelGrain::Week => start + chrono::Days::new(7),
        PanelGrain::Month => start
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX),
    }
}

/// The last day of the period starting on `start`.
fn last_day(grain: PanelGrain, start: NaiveDate) -> NaiveDate {
    next_period(grain, start).pred_opt().unwrap_or(start)
}

/// Days in the period starting on `start`.
fn period_len(grain: PanelGrain, start: NaiveDate) -> i64 {
    (next_period(grain, start) - start).num_days()
}

/// How many periods on from `a` period `b` starts.
fn steps_between(grain: PanelGrain, a: NaiveDate, b: NaiveDate) -> i64 {
    match grain {
        PanelGrain::Day => (b - a).num_days(),
        PanelGrain::Week => (b - a).num_days() / 7,
        PanelGrain::Month => {
            (b.year() as i64 * 12 + b.month() as i64) - (a.year() as i64 * 12 + a.month() as i64)
        }
    }
}

/// The longest period of a grain, in days.
fn typical_days(grain: PanelGrain) -> i64 {
    match grain {
        PanelGrain::Day => 1,
        PanelGrain::Week => 7,
        PanelGrain::Month => 31,
    }
}

fn grain_name(grain: PanelGrain) -> &'static str {
    match grain {
        PanelGrain::Day => "day",
        PanelGrain::Week => "week",
        PanelGrain::Month => "month",
    }
}

/// "2024-03-04", "the week of 2024-03-04", "the month of 2024-03".
fn period_name(grain: PanelGrain, start: NaiveDate) -> String {
    match grain {
        PanelGrain::Day => start.to_string(),
        PanelGrain::Week => format!("the week of {start}"),
        PanelGrain::Month => format!("the month of {}", start.format("%Y-%m")),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kpi_sql_sums_the_kpi_and_averages_controls_per_week() {
        let controls = [
            ("price".to_string(), ControlKind::Number),
            ("promo".to_string(), ControlKind::Flag),
        ];
        let sql = mmm_panel_sql(MmmQuery::KpiPeriods {
            grain: PanelGrain::Week,
            controls: &controls,
        });
        assert!(sql.contains("SUM(\"kpi\") AS kpi"), "{sql}");
        assert!(
            sql.contains("AVG(CAST(\"price\" AS DOUBLE)) AS c0"),
            "{sql}"
        );
        assert!(sql.contains("AVG(CASE WHEN \"promo\" THEN 1.0 ELSE 0.0 END) AS c1"));
        assert!(
            sql.contains("% 7"),
            "weeks as the media panel computes them"
        );
    }

    #[test]
    fn periods_step_by_grain() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            next_period(PanelGrain::Month, d("2024-01-01")),
            d("2024-02-01")
        );
        assert_eq!(period_len(PanelGrain::Month, d("2024-02-01")), 29);
        assert_eq!(
            steps_between(PanelGrain::Month, d("2023-11-01"), d("2024-02-01")),
            3
        );
        assert_eq!(
            steps_between(PanelGrain::Week, d("2024-01-01"), d("2024-01-22")),
            3
        );
        assert_eq!(last_day(PanelGrain::Week, d("2024-01-01")), d("2024-01-07"));
    }
}
