//! Reading any data file (CSV, TSV, Parquet, JSON lines) into the learning toolkit's
//! [`Frame`], through the same loader as the contract tables, so encodings, quoting and
//! malformed lines get the same precise errors.

use adroit_data::arrow::array::{Array, BooleanArray, Float64Array, StringArray};
use adroit_data::{Engine, Severity};
use adroit_learn::data::{Column, Frame, Values};
use std::path::Path;

/// Loads `path` with every column under its own name: numbers where every value
/// parses as one, categories otherwise. Errors name the file, line and column.
pub fn load_frame(engine: &Engine, path: &Path) -> Result<Frame, String> {
    let file = adroit_config::FileOptions {
        path: path.display().to_string(),
        ..Default::default()
    };
    let loaded = adroit_data::load_any(engine, file);
    let errors: Vec<String> = loaded
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| {
            let column = f
                .column
                .as_deref()
                .map(|c| format!(", column `{c}`"))
                .unwrap_or_default();
            format!("{}{column}: {} ({})", f.file, f.message, f.suggestion)
        })
        .collect();
    let table = match loaded.table {
        Some(t) if errors.is_empty() => t,
        _ => {
            return Err(if errors.is_empty() {
                format!("cannot read {}", path.display())
            } else {
                errors.join("\n")
            });
        }
    };
    let mut columns = Vec::new();
    for (name, _) in table.columns() {
        let array = table.batch.column_by_name(&name).expect("listed column");
        let values = if let Some(a) = array.as_any().downcast_ref::<Float64Array>() {
            Values::Numeric(
                (0..a.len())
                    .map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) })
                    .collect(),
            )
        } else if let Some(a) = array.as_any().downcast_ref::<BooleanArray>() {
            Values::Numeric(
                (0..a.len())
                    .map(|i| {
                        if a.is_null(i) {
                            f64::NAN
                        } else {
                            f64::from(a.value(i))
                        }
                    })
                    .collect(),
            )
        } else if let Some(a) = array.as_any().downcast_ref::<StringArray>() {
            Values::Categorical(
                (0..a.len())
                    .map(|i| {
                        let v = a.value(i).trim();
                        (!a.is_null(i) && !v.is_empty()).then(|| v.to_string())
                    })
                    .collect(),
            )
        } else {
            let cast = adroit_data::arrow::compute::cast(
                array,
                &adroit_data::arrow::datatypes::DataType::Utf8,
            )
            .map_err(|e| format!("{}: column `{name}`: {e}", path.display()))?;
            let a = cast
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("cast to Utf8");
            Values::Categorical(
                (0..a.len())
                    .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
                    .collect(),
            )
        };
        columns.push(Column { name, values });
    }
    let mut frame = Frame::new(columns);
    frame.source_rows = Some((0..table.num_rows()).map(|i| table.source_row(i)).collect());
    Ok(frame)
}

/// A column of a loaded frame by name; the error lists the columns there are.
pub fn column<'a>(frame: &'a Frame, name: &str, origin: &str) -> Result<&'a Values, String> {
    frame.column(name).map(|c| &c.values).ok_or_else(|| {
        format!(
            "{origin}: no column `{name}` (columns: {})",
            frame.names().join(", ")
        )
    })
}

/// A column as text (numbers written out; empty cells `None`).
pub fn strings(frame: &Frame, name: &str, origin: &str) -> Result<Vec<Option<String>>, String> {
    Ok(match column(frame, name, origin)? {
        Values::Categorical(v) => v.clone(),
        Values::Numeric(v) => v
            .iter()
            .map(|x| x.is_finite().then(|| format!("{x}")))
            .collect(),
    })
}

/// A numeric column (empty cells NaN); a text column names its first non-number.
pub fn numeric(frame: &Frame, name: &str, origin: &str) -> Result<Vec<f64>, String> {
    match column(frame, name, origin)? {
        Values::Numeric(v) => Ok(v.clone()),
        Values::Categorical(v) => {
            let i = v
                .iter()
                .position(|s| s.as_deref().is_some_and(|s| s.parse::<f64>().is_err()))
                .unwrap_or(0);
            Err(format!(
                "{origin} row {}, column `{name}`: {:?} is not a number",
                frame.source_row(i),
                v[i].as_deref().unwrap_or("")
            ))
        }
    }
}

/// A numeric column with a value in every row (the row of the first gap is named).
pub fn complete_numeric(frame: &Frame, name: &str, origin: &str) -> Result<Vec<f64>, String> {
    let v = numeric(frame, name, origin)?;
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(format!(
            "{origin} row {}, column `{name}`: empty or not a number",
            frame.source_row(i)
        ));
    }
    Ok(v)
}
