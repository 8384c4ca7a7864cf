//! Aggregation of media rows into day/week/month panels, as SQL run by DataFusion.
//!
//! The query text is built here and nowhere else, so the same step can run on a
//! distributed DataFusion (Ballista) cluster unchanged when event data outgrows one
//! machine: only the aggregated panel comes back to the models.

use crate::contract::TableSpec;
use crate::engine::Engine;
use crate::load::LoadOptions;
use crate::table::{Table, date32_to_date};
use crate::validate::ident;
use adroit_metrics::PeriodSums;
use datafusion::arrow::array::{Array, Date32Array, Float64Array, StringArray, UInt64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use serde::{Deserialize, Serialize};

/// Period length of a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelGrain {
    Day,
    /// ISO weeks, starting Monday.
    Week,
    Month,
}

/// What a panel row is grouped by besides the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelBy {
    Channel,
    Campaign,
    Geo,
    /// All media together.
    Total,
}

impl PanelBy {
    pub fn column(self) -> Option<&'static str> {
        match self {
            PanelBy::Channel => Some("channel"),
            PanelBy::Campaign => Some("campaign"),
            PanelBy::Geo => Some("geo"),
            PanelBy::Total => None,
        }
    }
}

/// The panel column counting rows without a date, channel or spend.
const MISSING: &str = "__missing";

/// The measures a media panel sums.
pub const MEASURES: [&str; 5] = ["spend", "impressions", "clicks", "conversions", "revenue"];

/// The SQL expression of the period containing the DATE column `column`: its first
/// day (the date itself, the Monday on or before it, or the first of its month).
pub fn period_sql(grain: PanelGrain, column: &str) -> String {
    let date = ident(column);
    match grain {
        PanelGrain::Day => date,
        // Monday on or before the date, by day arithmetic on Date32 (1970-01-01 was a
        // Thursday): cheaper per row than date_trunc, which goes through timestamps.
        PanelGrain::Week => {
            let days = format!("CAST({date} AS INT)");
            format!("CAST({days} - ((({days} % 7) + 10) % 7) AS DATE)")
        }
        PanelGrain::Month => format!("CAST(date_trunc('month', {date}) AS DATE)"),
    }
}

/// The SQL that aggregates table `media` into a panel. Measures the table lacks come
/// back as NULL, so downstream ratios are empty rather than zero.
pub fn media_panel_sql(media_columns: &[String], grain: PanelGrain, by: PanelBy) -> String {
    let period = period_sql(grain, "date");
    let group = match by.column() {
        // Campaign names repeat across channels; a campaign is identified by both.
        Some("campaign") => format!(
            "{} || ' / ' || COALESCE({}, '(none)')",
            ident("channel"),
            ident("campaign")
        ),
        Some(c) => format!("COALESCE({}, '(none)')", ident(c)),
        None => "'all'".to_string(),
    };
    let mut sums: Vec<String> = MEASURES
        .iter()
        .map(|m| {
            if media_columns.iter().any(|c| c == m) {
                format!("SUM({}) AS {}", ident(m), ident(m))
            } else {
                format!("CAST(NULL AS DOUBLE) AS {}", ident(m))
            }
        })
        .collect();
    // Rows a panel cannot place (no date, channel or spend): callers refuse such panels.
    let required: Vec<String> = ["date", "channel", "spend"]
        .iter()
        .filter(|c| media_columns.iter().any(|m| m == *c))
        .map(|c| format!("{} IS NULL", ident(c)))
        .collect();
    sums.push(format!(
        "SUM(CASE WHEN {} THEN 1 ELSE 0 END) AS {}",
        if required.is_empty() {
            "FALSE".to_string()
        } else {
            required.join(" OR ")
        },
        ident(MISSING)
    ));
    format!(
        "SELECT {group} AS \"group\", {period} AS period, {sums} \
         FROM media GROUP BY 1, 2 ORDER BY 1, 2",
        sums = sums.join(", ")
    )
}

/// Aggregates a loaded media table into per-period sums, the input of
/// [`adroit_metrics::compute`].
pub fn media_panel(
    engine: &Engine,
    media: &Table,
    grain: PanelGrain,
    by: PanelBy,
) -> Result<Vec<PeriodSums>, DataFusionError> {
    if let Some(c) = by.column()
        && !media.has(c)
    {
        return Err(DataFusionError::Plan(format!(
            "the media table has no {c} column to group by; map it in [media] ({c} = \"…\") or choose another --by"
        )));
    }
    engine.register("media", media.batch.clone())?;
    let columns: Vec<String> = media.columns().into_iter().map(|(n, _)| n).collect();
    let batches = engine.sql(&media_panel_sql(&columns, grain, by))?;
    Ok(panel_rows(&batches)?.0)
}

/// Aggregates a long media CSV straight from disk: one streaming SQL pass, no table in
/// memory. `None` when the file needs the full loader instead (see
/// [`crate::load::scan_frame`]), or when a value fails to parse, a row lacks a date,
/// channel or spend, or a sum is not finite: [`crate::load_table`] then reports exactly
/// where.
pub fn media_panel_direct(
    engine: &Engine,
    spec: &TableSpec,
    opts: LoadOptions,
    grain: PanelGrain,
    by: PanelBy,
) -> Option<Vec<PeriodSums>> {
    let frame = crate::load::scan_frame(engine, spec, opts)?;
    let columns: Vec<String> = frame
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    if by.column().is_some_and(|c| !columns.iter().any(|m| m == c)) {
        return None; // the full path explains the missing column
    }
    let ctx = engine.context();
    ctx.deregister_table("media").ok()?;
    ctx.register_table("media", frame.into_view()).ok()?;
    let batches = engine.sql(&media_panel_sql(&columns, grain, by)).ok()?;
    let (rows, missing) = panel_rows(&batches).ok()?;
    let finite = rows.iter().all(|r| {
        [r.spend, r.impressions, r.clicks, r.conversions, r.revenue]
            .iter()
            .all(|v| v.is_none_or(f64::is_finite))
    });
    (missing == 0 && finite).then_some(rows)
}

/// Why a media panel could not be built.
#[derive(Debug)]
pub enum PanelError {
    /// The config names no media table.
    NoMedia,
    /// The media table has errors; these are the loader's error findings.
    Invalid(Vec<crate::Finding>),
    /// The query failed (for example, grouping by a column the table lacks).
    Query(DataFusionError),
}

impl std::fmt::Display for PanelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PanelError::NoMedia => f.write_str(
                "a media panel needs a media table: add [media] to the config or give --media FILE",
            ),
            PanelError::Invalid(findings) => {
                write!(f, "the media table has {} error(s)", findings.len())
            }
            PanelError::Query(e) => write!(f, "{e}"),
        }
    }
}

/// The media panel of a config: streamed straight from a clean long CSV, else built
/// from the fully loaded table; refused with the loader's errors when it has any.
pub fn media_sums(
    engine: &Engine,
    config: &adroit_config::Config,
    base: &std::path::Path,
    grain: PanelGrain,
    by: PanelBy,
    progress: &dyn Fn(crate::Stage),
) -> Result<Vec<PeriodSums>, PanelError> {
    let media = config.media.as_ref().ok_or(PanelError::NoMedia)?;
    let spec = TableSpec::media(media);
    let opts = LoadOptions {
        base,
        validation: &config.validation,
        cleaning: &config.cleaning,
    };
    progress(crate::Stage::Loading {
        table: "media",
        index: 0,
        total: 1,
    });
    if let Some(sums) = media_panel_direct(engine, &spec, opts, grain, by) {
        return Ok(sums);
    }
    let loaded = crate::load_table(engine, &spec, opts);
    let errors: Vec<crate::Finding> = loaded
        .findings
        .into_iter()
        .filter(|f| f.severity == crate::Severity::Error)
        .collect();
    match loaded.table {
        Some(table) if errors.is_empty() => {
            media_panel(engine, &table, grain, by).map_err(PanelError::Query)
        }
        _ => Err(PanelError::Invalid(errors)),
    }
}

/// Panel rows from the query's batches, and how many source rows lacked a date,
/// channel or spend.
fn panel_rows(batches: &[RecordBatch]) -> Result<(Vec<PeriodSums>, u64), DataFusionError> {
    let mut rows = Vec::new();
    let mut missing = 0u64;
    for b in batches {
        let group = cast(b.column(0), &DataType::Utf8)?;
        let group = group.as_any().downcast_ref::<StringArray>().expect("Utf8");
        let period = cast(b.column(1), &DataType::Date32)?;
        let period = period
            .as_any()
            .downcast_ref::<Date32Array>()
            .expect("Date32");
        let measures: Vec<Float64Array> = (2..7)
            .map(|i| {
                cast(b.column(i), &DataType::Float64).map(|a| {
                    a.as_any()
                        .downcast_ref::<Float64Array>()
                        .expect("Float64")
                        .clone()
                })
            })
            .collect::<Result<_, _>>()?;
        let unplaced = cast(b.column(7), &DataType::UInt64)?;
        let unplaced = unplaced
            .as_any()
            .downcast_ref::<UInt64Array>()
            .expect("UInt64");
        missing += unplaced.iter().flatten().sum::<u64>();
        let get = |m: usize, i: usize| measures[m].is_valid(i).then(|| measures[m].value(i));
        for i in 0..b.num_rows() {
            let Some(day) = period
                .is_valid(i)
                .then(|| date32_to_date(period.value(i)))
                .flatten()
            else {
                continue; // rows without a date are reported by the loader, not aggregated
            };
            rows.push(PeriodSums {
                group: group.value(i).to_string(),
                period: day,
                spend: get(0, i),
                impressions: get(1, i),
                clicks: get(2, i),
                conversions: get(3, i),
                revenue: get(4, i),
            });
        }
    }
    Ok((rows, missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_across_the_epoch_and_years() {
        let engine = Engine::new().unwrap();
        let sql = media_panel_sql(&["date".into()], PanelGrain::Week, PanelBy::Total).replace(
            "FROM media GROUP BY 1, 2 ORDER BY 1, 2",
            "FROM (SELECT CAST(d AS DATE) AS date FROM (VALUES ('1969-12-28'), ('1969-12-29'), ('1970-01-01'), ('1970-01-05'), ('2024-01-07'), ('2024-12-31'), ('2025-01-05')) t(d)) media GROUP BY 1, 2 ORDER BY 1, 2",
        );
        let (rows, _) = panel_rows(&engine.sql(&sql).unwrap()).unwrap();
        let weeks: Vec<String> = rows.iter().map(|r| r.period.to_string()).collect();
        assert_eq!(
            weeks,
            [
                "1969-12-22",
                "1969-12-29",
                "1970-01-05",
                "2024-01-01",
                "2024-12-30"
            ]
        );
    }

    #[test]
    fn missing_measures_become_null_columns() {
        let sql = media_panel_sql(
            &["date".into(), "channel".into(), "spend".into()],
            PanelGrain::Week,
            PanelBy::Channel,
        );
        assert!(sql.contains("SUM(\"spend\")"));
        assert!(sql.contains("CAST(NULL AS DOUBLE) AS \"clicks\""));
        assert!(sql.contains("% 7"));
    }
}
