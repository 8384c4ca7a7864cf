//! A loaded contract table: canonical, typed Arrow columns in file order.

use crate::contract::TableSpec;
use chrono::NaiveDate;
use datafusion::arrow::array::{
    Array, BooleanArray, Date32Array, Float64Array, StringArray, TimestampMicrosecondArray,
    UInt64Array,
};
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::BTreeMap;

/// The column holding each row's 1-based data row in the source file.
pub const ROW_COLUMN: &str = "__row";

/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01 (Arrow's Date32 day 0).
const UNIX_EPOCH_FROM_CE: i32 = 719_163;

/// Arrow Date32 (days since 1970-01-01) to a calendar date.
pub fn date32_to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_FROM_CE)?)
}

/// A calendar date to Arrow Date32.
pub fn date_to_date32(date: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date) - UNIX_EPOCH_FROM_CE
}

/// A contract table after loading: canonical column names, canonical types, the
/// source row of every row, and where each column came from (for messages).
#[derive(Debug, Clone)]
pub struct Table {
    pub spec: TableSpec,
    /// The file as the user named it.
    pub file: String,
    pub batch: RecordBatch,
    /// Canonical column → the user's column; for wide media a pattern with `{channel}`.
    pub sources: BTreeMap<String, String>,
}

impl Table {
    pub fn name(&self) -> &'static str {
        self.spec.table
    }

    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    pub fn has(&self, column: &str) -> bool {
        self.batch.column_by_name(column).is_some()
    }

    /// The user's name for a canonical column (resolved for a channel of wide media).
    pub fn source_column(&self, column: &str, channel: Option<&str>) -> String {
        let source = self
            .sources
            .get(column)
            .cloned()
            .unwrap_or_else(|| column.to_string());
        match channel {
            Some(ch) if source.contains("{channel}") => source.replace("{channel}", ch),
            _ => source,
        }
    }

    pub fn f64s(&self, column: &str) -> Option<&Float64Array> {
        self.batch.column_by_name(column)?.as_any().downcast_ref()
    }

    pub fn strs(&self, column: &str) -> Option<&StringArray> {
        self.batch.column_by_name(column)?.as_any().downcast_ref()
    }

    pub fn dates(&self, column: &str) -> Option<&Date32Array> {
        self.batch.column_by_name(column)?.as_any().downcast_ref()
    }

    pub fn flags(&self, column: &str) -> Option<&BooleanArray> {
        self.batch.column_by_name(column)?.as_any().downcast_ref()
    }

    /// The source row of row `i` (1-based, header excluded).
    pub fn source_row(&self, i: usize) -> u64 {
        self.batch
            .column_by_name(ROW_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
            .map_or(i as u64 + 1, |rows| rows.value(i))
    }

    /// The canonical data columns (without the row column).
    pub fn columns(&self) -> Vec<(String, String)> {
        self.batch
            .schema()
            .fields()
            .iter()
            .filter(|f| f.name() != ROW_COLUMN)
            .map(|f| (f.name().clone(), f.data_type().to_string()))
            .collect()
    }

    /// First and last date of a date or timestamp column.
    pub fn date_range(&self, column: &str) -> Option<(NaiveDate, NaiveDate)> {
        let Some(dates) = self.dates(column) else {
            let ts = self
                .batch
                .column_by_name(column)?
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()?;
            let day = |micros: i64| {
                chrono::DateTime::from_timestamp_micros(micros).map(|t| t.date_naive())
            };
            return Some((
                day(datafusion::arrow::compute::min(ts)?)?,
                day(datafusion::arrow::compute::max(ts)?)?,
            ));
        };
        let min = datafusion::arrow::compute::min(dates)?;
        let max = datafusion::arrow::compute::max(dates)?;
        Some((date32_to_date(min)?, date32_to_date(max)?))
    }

    /// The distinct values of a text column, sorted.
    pub fn distinct(&self, column: &str) -> Vec<String> {
        let Some(values) = self.strs(column) else {
            return Vec::new();
        };
        let set: std::collections::BTreeSet<&str> = values.iter().flatten().collect();
        set.into_iter().map(str::to_string).collect()
    }

    /// A row-filtered copy (used by explicit cleaning).
    pub fn filter(
        &self,
        keep: &BooleanArray,
    ) -> Result<Table, datafusion::arrow::error::ArrowError> {
        let batch = datafusion::arrow::compute::filter_record_batch(&self.batch, keep)?;
        Ok(Table {
            batch,
            ..self.clone()
        })
    }
}
