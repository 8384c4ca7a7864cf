//! Turns a column as read (text, or already typed by Parquet/JSON/fast CSV) into its
//! canonical type, reporting every value that does not fit and every value cleaned.
//!
//! Pure: arrays in, arrays and findings out.

use crate::contract::FieldType;
use crate::parse::{self, DateDetection};
use crate::report::{Cleaning, Finding, Severity};
use crate::table::date_to_date32;
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Date32Builder, Float64Array, Float64Builder,
    StringArray, TimestampMicrosecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use std::sync::Arc;

/// Where a column came from, for messages.
pub struct ColumnContext<'a> {
    pub table: &'a str,
    pub file: &'a str,
    /// The user's column name.
    pub column: &'a str,
    pub date_format: Option<&'a str>,
    pub max_examples: usize,
    /// Whether every row needs a value: missing ones are then errors, else warnings.
    pub required: bool,
}

/// A converted column with what conversion found and did.
pub struct Converted {
    pub array: ArrayRef,
    pub findings: Vec<Finding>,
    pub cleaning: Vec<Cleaning>,
}

impl Converted {
    fn clean(array: ArrayRef) -> Self {
        Self {
            array,
            findings: Vec::new(),
            cleaning: Vec::new(),
        }
    }
}

/// The Arrow type a canonical field ends up as (Infer resolves to Float64 or Utf8).
pub fn arrow_type(ty: FieldType) -> DataType {
    match ty {
        FieldType::Date => DataType::Date32,
        FieldType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        FieldType::Text | FieldType::Infer => DataType::Utf8,
        FieldType::Money | FieldType::Number => DataType::Float64,
        FieldType::Flag => DataType::Boolean,
    }
}

fn is_text(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// Converts `array` to the canonical type of `ty`, reporting cells without a value
/// (`missing_values`) and cells whose value does not fit (`wrong_type`, …) separately,
/// so one bad cell is one finding.
pub fn convert(array: &ArrayRef, ty: FieldType, ctx: &ColumnContext) -> Result<Converted, String> {
    let mut converted = convert_values(array, ty, ctx)?;
    if let Some(missing) = missing_values(array, ty, ctx)? {
        converted.findings.insert(0, missing);
    }
    Ok(converted)
}

/// Cells that hold nothing: null, blank, or a missing marker (`NA`, `NULL`, …; for
/// text columns only blank counts, since `NA` can be a name).
fn missing_values(
    array: &ArrayRef,
    ty: FieldType,
    ctx: &ColumnContext,
) -> Result<Option<Finding>, String> {
    let mut rows = Vec::new();
    let mut count = 0u64;
    let mut add = |i: usize| {
        count += 1;
        if rows.len() < ctx.max_examples {
            rows.push(i as u64 + 1);
        }
    };
    if is_text(array.data_type()) {
        let strings = to_utf8(array)?;
        let strings = strings
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or("Utf8")?;
        for (i, v) in strings.iter().enumerate() {
            let missing = match v {
                None => true,
                Some(s) if ty == FieldType::Text => s.trim().is_empty(),
                Some(s) => parse::is_missing(s),
            };
            if missing {
                add(i);
            }
        }
    } else if array.null_count() > 0 {
        (0..array.len())
            .filter(|&i| array.is_null(i))
            .for_each(&mut add);
    }
    if count == 0 {
        return Ok(None);
    }
    let severity = if ctx.required {
        Severity::Error
    } else {
        Severity::Warning
    };
    Ok(Some(
        Finding::new(
            "missing_values",
            severity,
            ctx.table,
            ctx.file,
            format!(
                "{count} row{} with no {} value (blank or NA)",
                if count == 1 { "" } else { "s" },
                ty.name()
            ),
        )
        .column(ctx.column)
        .rows(&rows, count, ctx.max_examples)
        .expected(format!("a {} value in every row", ty.name()))
        .suggestion(if ctx.required {
            "Fill these cells (use 0 for no spend) or remove the rows."
        } else {
            "Fill these cells if the values are known; they are treated as missing."
        }),
    ))
}

fn convert_values(
    array: &ArrayRef,
    ty: FieldType,
    ctx: &ColumnContext,
) -> Result<Converted, String> {
    let dt = array.data_type().clone();
    if ty == FieldType::Text {
        return Ok(Converted::clean(to_utf8(array)?));
    }
    if is_text(&dt) || dt == DataType::Null {
        let strings = to_utf8(array)?;
        let strings = strings
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or("text column is not Utf8 after cast")?;
        return Ok(match ty {
            FieldType::Money | FieldType::Number => numbers_from_text(strings, ty, ctx),
            FieldType::Infer => {
                let all_numeric = strings
                    .iter()
                    .flatten()
                    .filter(|s| !parse::is_missing(s))
                    .all(|s| parse::parse_number(s, false).is_some());
                if all_numeric {
                    numbers_from_text(strings, FieldType::Number, ctx)
                } else {
                    Converted::clean(Arc::new(strings.clone()))
                }
            }
            FieldType::Date => dates_from_text(strings, ctx),
            FieldType::Timestamp => timestamps_from_text(strings, ctx),
            FieldType::Flag => flags_from_text(strings, ctx),
            FieldType::Text => unreachable!("handled above"),
        });
    }
    // Already typed (Parquet, JSON, or the typed CSV fast path).
    let target = match (ty, &dt) {
        (FieldType::Infer, d) if d.is_numeric() => DataType::Float64,
        (FieldType::Infer, DataType::Boolean) => DataType::Float64,
        (FieldType::Infer, _) => DataType::Utf8,
        (FieldType::Flag, d) if d.is_numeric() => return flags_from_numbers(array, ctx),
        _ => arrow_type(ty),
    };
    let compatible = match ty {
        FieldType::Money | FieldType::Number => dt.is_numeric(),
        FieldType::Date | FieldType::Timestamp => {
            matches!(
                dt,
                DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
            )
        }
        FieldType::Flag => dt == DataType::Boolean,
        FieldType::Infer | FieldType::Text => true,
    };
    if !compatible {
        let finding = Finding::new(
            "wrong_type",
            Severity::Error,
            ctx.table,
            ctx.file,
            format!("column holds {dt} values, expected {}", ty.name()),
        )
        .column(ctx.column)
        .expected(format!("a {} column", ty.name()))
        .suggestion("Map this field to another column, or fix the column's type in the export.");
        return Ok(Converted {
            array: datafusion::arrow::array::new_null_array(&arrow_type(ty), array.len()),
            findings: vec![finding],
            cleaning: Vec::new(),
        });
    }
    let converted = cast(array, &target).map_err(|e| e.to_string())?;
    if target == DataType::Float64 {
        return Ok(nan_to_null(converted, ctx));
    }
    Ok(Converted::clean(converted))
}

fn to_utf8(array: &ArrayRef) -> Result<ArrayRef, String> {
    if array.data_type() == &DataType::Utf8 {
        return Ok(array.clone());
    }
    cast(array, &DataType::Utf8).map_err(|e| e.to_string())
}

/// NaN and ±inf read by a typed reader become missing values, and are reported.
fn nan_to_null(array: ArrayRef, ctx: &ColumnContext) -> Converted {
    let floats = array
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("Float64");
    let bad: Vec<u64> = floats
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_some_and(|v| !v.is_finite()))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    if bad.is_empty() {
        return Converted::clean(array);
    }
    let cleaned: Float64Array = floats.iter().map(|v| v.filter(|v| v.is_finite())).collect();
    Converted {
        array: Arc::new(cleaned),
        findings: Vec::new(),
        cleaning: vec![Cleaning {
            table: ctx.table.into(),
            file: ctx.file.into(),
            column: Some(ctx.column.into()),
            action: "read NaN/infinite values as missing".into(),
            count: bad.len() as u64,
            rows: bad.into_iter().take(ctx.max_examples).collect(),
        }],
    }
}

/// Collects failing rows and their values for one finding.
struct Failures {
    rows: Vec<u64>,
    examples: Vec<String>,
    count: u64,
    max: usize,
}

impl Failures {
    fn new(max: usize) -> Self {
        Self {
            rows: Vec::new(),
            examples: Vec::new(),
            count: 0,
            max,
        }
    }

    fn add(&mut self, row: usize, value: &str) {
        self.count += 1;
        if self.rows.len() < self.max {
            self.rows.push(row as u64 + 1);
            let mut v: String = value.chars().take(40).collect();
            if value.chars().count() > 40 {
                v.push('…');
            }
            self.examples.push(format!("`{v}` (row {})", row + 1));
        }
    }

    fn finding(
        &self,
        rule: &'static str,
        ctx: &ColumnContext,
        what: &str,
        expected: &str,
        fix: &str,
    ) -> Option<Finding> {
        (self.count > 0).then(|| {
            Finding::new(
                rule,
                Severity::Error,
                ctx.table,
                ctx.file,
                format!(
                    "{} value{} {what}: {}",
                    self.count,
                    if self.count == 1 { " is" } else { "s are" },
                    self.examples.join(", ")
                ),
            )
            .column(ctx.column)
            .rows(&self.rows, self.count, self.max)
            .expected(expected)
            .suggestion(fix)
        })
    }
}

fn numbers_from_text(strings: &StringArray, ty: FieldType, ctx: &ColumnContext) -> Converted {
    let money = ty == FieldType::Money;
    let mut out = Float64Builder::with_capacity(strings.len());
    let mut failures = Failures::new(ctx.max_examples);
    let mut cleaned_rows = Vec::new();
    let mut cleaned = 0u64;
    for (i, value) in strings.iter().enumerate() {
        match value {
            None => out.append_null(),
            Some(s) if parse::is_missing(s) => out.append_null(),
            Some(s) => match parse::parse_number(s, money) {
                Some(p) => {
                    if p.cleaned {
                        cleaned += 1;
                        if cleaned_rows.len() < ctx.max_examples {
                            cleaned_rows.push(i as u64 + 1);
                        }
                    }
                    out.append_value(p.value);
                }
                None => {
                    failures.add(i, s);
                    out.append_null();
                }
            },
        }
    }
    let (what, expected) = if money {
        (
            "not money",
            "a number such as 1234.5, 1,234.50, $1,234.50 or ¥1,234",
        )
    } else {
        ("not numbers", "a number such as 1234, 1,234 or 1.5e6")
    };
    let findings = failures
        .finding(
            "wrong_type",
            ctx,
            what,
            expected,
            "Fix or blank these cells; blank cells are read as missing values.",
        )
        .into_iter()
        .collect();
    let cleaning = if cleaned > 0 {
        vec![Cleaning {
            table: ctx.table.into(),
            file: ctx.file.into(),
            column: Some(ctx.column.into()),
            action: if money {
                "removed currency symbols, thousands separators or spaces from money values".into()
            } else {
                "removed thousands separators or spaces from numbers".into()
            },
            count: cleaned,
            rows: cleaned_rows,
        }]
    } else {
        Vec::new()
    };
    Converted {
        array: Arc::new(out.finish()),
        findings,
        cleaning,
    }
}

fn dates_from_text(strings: &StringArray, ctx: &ColumnContext) -> Converted {
    let present = || strings.iter().flatten().filter(|s| !parse::is_missing(s));
    let mut findings = Vec::new();
    let format: &str = match ctx.date_format {
        Some(f) => f,
        None => {
            let sample: Vec<&str> = present().take(2000).collect();
            match parse::detect_date_format(sample.iter().copied()) {
                DateDetection::Unique(f) => f,
                DateDetection::Ambiguous(f, others) => {
                    findings.push(
                        Finding::new(
                            "ambiguous_date_format",
                            Severity::Warning,
                            ctx.table,
                            ctx.file,
                            format!(
                                "every date fits {} and also {}; read as {}",
                                parse::format_name(f),
                                others
                                    .iter()
                                    .map(|o| parse::format_name(o))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                parse::format_name(f)
                            ),
                        )
                        .column(ctx.column)
                        .expected("dates whose day/month order is unambiguous")
                        .suggestion(format!(
                            "Set date_format = \"{}\" (or another) in this table's config section.",
                            others[0]
                        )),
                    );
                    f
                }
                // No one format fits the whole sample: take the one that fits most, and
                // report the rest as mixed or unreadable below.
                DateDetection::None => parse::DATE_FORMATS
                    .iter()
                    .copied()
                    .max_by_key(|f| {
                        sample
                            .iter()
                            .filter(|s| parse::parse_date_with(s, f).is_some())
                            .count()
                    })
                    .unwrap_or("%Y-%m-%d"),
            }
        }
    };
    let mut out = Date32Builder::with_capacity(strings.len());
    let mut mixed = Failures::new(ctx.max_examples);
    let mut bad = Failures::new(ctx.max_examples);
    let mut timed = 0u64;
    for (i, value) in strings.iter().enumerate() {
        match value {
            None => out.append_null(),
            Some(s) if parse::is_missing(s) => out.append_null(),
            Some(s) => match parse::parse_date_with(s, format) {
                Some(d) => {
                    if s.trim().len() > 12 && !s.contains('年') {
                        timed += 1;
                    }
                    out.append_value(date_to_date32(d));
                }
                None => {
                    if parse::DATE_FORMATS
                        .iter()
                        .any(|f| parse::parse_date_with(s, f).is_some())
                    {
                        mixed.add(i, s);
                    } else {
                        bad.add(i, s);
                    }
                    out.append_null();
                }
            },
        }
    }
    let name = parse::format_name(format);
    findings.extend(mixed.finding(
        "mixed_date_formats",
        ctx,
        &format!("in another date format than the column's {name}"),
        &format!("one date format in the whole column ({name})"),
        "Re-export with one date format, or set date_format in the config and fix the odd rows.",
    ));
    findings.extend(bad.finding(
        "wrong_type",
        ctx,
        "not dates",
        &format!("dates such as 2024-01-31 ({name})"),
        "Fix these cells; set date_format in the config if the column uses an unusual format.",
    ));
    let cleaning = if timed > 0 {
        vec![Cleaning {
            table: ctx.table.into(),
            file: ctx.file.into(),
            column: Some(ctx.column.into()),
            action: "dropped the time of day from date values".into(),
            count: timed,
            rows: Vec::new(),
        }]
    } else {
        Vec::new()
    };
    Converted {
        array: Arc::new(out.finish()),
        findings,
        cleaning,
    }
}

fn timestamps_from_text(strings: &StringArray, ctx: &ColumnContext) -> Converted {
    let mut out = TimestampMicrosecondBuilder::with_capacity(strings.len());
    let mut bad = Failures::new(ctx.max_examples);
    for (i, value) in strings.iter().enumerate() {
        match value {
            None => out.append_null(),
            Some(s) if parse::is_missing(s) => out.append_null(),
            Some(s) => match parse::parse_timestamp(s) {
                Some(t) => out.append_value(t.and_utc().timestamp_micros()),
                None => {
                    bad.add(i, s);
                    out.append_null();
                }
            },
        }
    }
    Converted {
        array: Arc::new(out.finish()),
        findings: bad
            .finding(
                "wrong_type",
                ctx,
                "not timestamps",
                "timestamps such as 2024-01-31T14:05:00Z or 2024-01-31 14:05:00",
                "Fix these cells.",
            )
            .into_iter()
            .collect(),
        cleaning: Vec::new(),
    }
}

fn flags_from_text(strings: &StringArray, ctx: &ColumnContext) -> Converted {
    let mut out = BooleanBuilder::with_capacity(strings.len());
    let mut bad = Failures::new(ctx.max_examples);
    for (i, value) in strings.iter().enumerate() {
        match value {
            None => out.append_null(),
            Some(s) if parse::is_missing(s) => out.append_null(),
            Some(s) => match parse::parse_flag(s) {
                Some(b) => out.append_value(b),
                None => {
                    bad.add(i, s);
                    out.append_null();
                }
            },
        }
    }
    Converted {
        array: Arc::new(out.finish()),
        findings: bad
            .finding(
                "wrong_type",
                ctx,
                "not 0/1 flags",
                "0 or 1 (or true/false, yes/no)",
                "Fix these cells.",
            )
            .into_iter()
            .collect(),
        cleaning: Vec::new(),
    }
}

fn flags_from_numbers(array: &ArrayRef, ctx: &ColumnContext) -> Result<Converted, String> {
    let floats = cast(array, &DataType::Float64).map_err(|e| e.to_string())?;
    let floats = floats
        .as_any()
        .downcast_ref::<Float64Array>()
        .ok_or("Float64")?;
    let mut bad = Failures::new(ctx.max_examples);
    let out: BooleanArray = floats
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            Some(v) => {
                bad.add(i, &v.to_string());
                None
            }
            None => None,
        })
        .collect();
    Ok(Converted {
        array: Arc::new(out),
        findings: bad
            .finding(
                "wrong_type",
                ctx,
                "not 0/1 flags",
                "0 or 1",
                "Fix these cells.",
            )
            .into_iter()
            .collect(),
        cleaning: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ColumnContext<'static> {
        ColumnContext {
            table: "media",
            file: "m.csv",
            column: "Spend",
            date_format: None,
            max_examples: 5,
            required: true,
        }
    }

    fn text(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    #[test]
    fn money_column_reports_bad_values_with_rows_and_records_cleaning() {
        let a = text(&[Some("$1,000.00"), Some("12"), Some("abc"), None, Some("NA")]);
        let c = convert(&a, FieldType::Money, &ctx()).unwrap();
        let f = c.array.as_any().downcast_ref::<Float64Array>().unwrap();
        assert_eq!(f.value(0), 1000.0);
        assert_eq!(f.value(1), 12.0);
        assert!(f.is_null(2) && f.is_null(3) && f.is_null(4));
        let rules: Vec<_> = c.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, vec!["missing_values", "wrong_type"]);
        assert_eq!(
            c.findings[0].location.rows,
            vec![4, 5],
            "blank and NA, not the bad value"
        );
        assert_eq!(c.findings[1].location.rows, vec![3]);
        assert!(
            c.findings[1].message.contains("`abc` (row 3)"),
            "{}",
            c.findings[1].message
        );
        assert_eq!(c.cleaning.len(), 1);
        assert_eq!(c.cleaning[0].count, 1);
    }

    #[test]
    fn mixed_date_formats_are_found_by_row() {
        let a = text(&[
            Some("2024-01-01"),
            Some("2024-01-02"),
            Some("03/01/2024"),
            Some("2024-01-04"),
        ]);
        let c = convert(&a, FieldType::Date, &ctx()).unwrap();
        let rules: Vec<_> = c.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, vec!["mixed_date_formats"]);
        assert_eq!(c.findings[0].location.rows, vec![3]);
        assert_eq!(c.array.null_count(), 1);
    }

    #[test]
    fn typed_numbers_pass_and_nan_becomes_missing() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), Some(f64::NAN), None]));
        let c = convert(&a, FieldType::Number, &ctx()).unwrap();
        assert_eq!(c.array.null_count(), 2);
        assert_eq!(c.cleaning[0].rows, vec![2]);
    }

    #[test]
    fn infer_keeps_text_when_any_value_is_not_a_number() {
        let a = text(&[Some("1"), Some("event1")]);
        let c = convert(&a, FieldType::Infer, &ctx()).unwrap();
        assert_eq!(c.array.data_type(), &DataType::Utf8);
        let b = text(&[Some("1"), Some("2,000")]);
        let c = convert(&b, FieldType::Infer, &ctx()).unwrap();
        assert_eq!(c.array.data_type(), &DataType::Float64);
    }

    #[test]
    fn wrong_arrow_type_is_an_error_not_a_panic() {
        let a: ArrayRef = Arc::new(BooleanArray::from(vec![true, false]));
        let c = convert(&a, FieldType::Date, &ctx()).unwrap();
        assert_eq!(c.findings[0].rule, "wrong_type");
        assert_eq!(c.array.null_count(), 2);
    }
}
