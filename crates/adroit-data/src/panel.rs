//! Aggregation of media rows into day/week/month panels, as SQL run by DataFusion.
//!
//! The query text is built here and nowhere else, so the same step can run on a
//! distributed DataFusion (Ballista) cluster unchanged when event data outgrows one
//! machine: only the aggregated panel comes back to the models.

use crate::engine::Engine;
use crate::table::{Table, date32_to_date};
use crate::validate::ident;
use adroit_metrics::PeriodSums;
use datafusion::arrow::array::{Array, Date32Array, Float64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
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

/// The measures a media panel sums.
pub const MEASURES: [&str; 5] = ["spend", "impressions", "clicks", "conversions", "revenue"];

/// The SQL that aggregates table `media` into a panel. Measures the table lacks come
/// back as NULL, so downstream ratios are empty rather than zero.
pub fn media_panel_sql(media_columns: &[String], grain: PanelGrain, by: PanelBy) -> String {
    let date = ident("date");
    let period = match grain {
        PanelGrain::Day => date,
        PanelGrain::Week => format!("CAST(date_trunc('week', {date}) AS DATE)"),
        PanelGrain::Month => format!("CAST(date_trunc('month', {date}) AS DATE)"),
    };
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
    let sums: Vec<String> = MEASURES
        .iter()
        .map(|m| {
            if media_columns.iter().any(|c| c == m) {
                format!("SUM({}) AS {}", ident(m), ident(m))
            } else {
                format!("CAST(NULL AS DOUBLE) AS {}", ident(m))
            }
        })
        .collect();
    format!(
        "SELECT {group} AS \"group\", {period} AS period, {sums} \
         FROM media GROUP BY 1, 2 ORDER BY 1, 2",
        sums = sums.join(", ")
    )
}

/// Aggregates the media table into per-period sums, the input of [`adroit_metrics::compute`].
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
    let mut rows = Vec::new();
    for b in &batches {
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
        let get = |m: usize, i: usize| measures[m].is_valid(i).then(|| measures[m].value(i));
        for i in 0..b.num_rows() {
            let Some(day) = period
                .is_valid(i)
                .then(|| date32_to_date(period.value(i)))
                .flatten()
            else {
                continue; // rows without a date are reported by validation, not aggregated
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
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_measures_become_null_columns() {
        let sql = media_panel_sql(
            &["date".into(), "channel".into(), "spend".into()],
            PanelGrain::Week,
            PanelBy::Channel,
        );
        assert!(sql.contains("SUM(\"spend\")"));
        assert!(sql.contains("CAST(NULL AS DOUBLE) AS \"clicks\""));
        assert!(sql.contains("date_trunc('week'"));
    }
}
