//! Loading a contract table: file checks, encoding, DataFusion read, canonical types,
//! wide-to-long, and the explicit cleaning the config asks for.
//!
//! CSV takes a fast path first: DataFusion reads ISO dates and plain numbers as typed
//! columns in parallel. When any value does not fit (a `$`, a `03/04/2024`, a stray
//! word), the file is read again as text and every value is parsed by [`crate::convert`],
//! which names each bad row. Good files never pay for the precise path.

// Source errors are cold-path values that carry a full message; their size does not matter.
#![allow(clippy::result_large_err)]

use crate::contract::{FieldSpec, FieldType, TableSpec};
use crate::convert::{self, ColumnContext};
use crate::engine::Engine;
use crate::report::{Cleaning, Finding, Severity};
use crate::source::{self, CheckedFile, DetectedEncoding, SourceError};
use crate::table::{ROW_COLUMN, Table};
use adroit_config::{self as config, FileFormat, NegativeSpend};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, StringArray, UInt64Array,
};
use datafusion::arrow::compute::concat;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::Column;
use datafusion::datasource::file_format::options::JsonReadOptions;
use datafusion::prelude::{CsvReadOptions, DataFrame, Expr, ParquetReadOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Settings the loader needs besides the table's own section.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'a> {
    /// The folder relative paths start from (the config file's folder).
    pub base: &'a Path,
    pub validation: &'a config::Validation,
    pub cleaning: &'a config::Cleaning,
}

/// The outcome of loading one table: the table unless the file could not be read at
/// all, and everything found or changed on the way.
#[derive(Debug, Default)]
pub struct TableLoad {
    pub table: Option<Table>,
    pub findings: Vec<Finding>,
    pub cleaning: Vec<Cleaning>,
}

/// Loads one contract table. Never panics on user input: unreadable files become
/// error findings.
pub fn load_table(engine: &Engine, spec: &TableSpec, opts: LoadOptions) -> TableLoad {
    let mut out = TableLoad::default();
    match load_inner(engine, spec, opts, &mut out) {
        Ok(table) => out.table = Some(table),
        Err(e) => out.findings.push(source_finding(spec.table, e)),
    }
    out
}

/// A source error as a report finding.
pub fn source_finding(table: &str, e: SourceError) -> Finding {
    let rule = if e.message.starts_with("missing required column") {
        "missing_required_column"
    } else if e.line.is_some() {
        "malformed_file"
    } else {
        "unreadable_file"
    };
    let mut f = Finding::new(rule, Severity::Error, table, &e.file, e.message.clone())
        .suggestion(e.suggestion.clone())
        .expected(match rule {
            "missing_required_column" => "the column named in the config",
            _ => "a readable CSV, TSV, Parquet or JSON-lines file",
        });
    if let Some(col) = e.column {
        f = f.column(col);
    }
    if let Some(row) = e.row.or(e.line.map(|l| l.saturating_sub(1))) {
        f = f.rows(&[row], 1, 1);
    }
    if let Some(line) = e.line {
        f.message = format!("line {line}: {}", f.message);
    }
    f
}

/// The file's bytes as the reader will see them.
enum Readable {
    Csv {
        path: PathBuf,
        delimiter: u8,
        quotes: bool,
        /// Keeps a transcoded temporary file alive while it is read.
        _tmp: Option<tempfile::NamedTempFile>,
    },
    Frame(DataFrame),
}

/// A field resolved against the file's header.
#[derive(Debug, Clone)]
struct Resolved {
    field: FieldSpec,
    /// Header name (after de-duplication).
    column: String,
    /// Wide media: the channel this column belongs to.
    channel: Option<String>,
}

fn load_inner(
    engine: &Engine,
    spec: &TableSpec,
    opts: LoadOptions,
    out: &mut TableLoad,
) -> Result<Table, SourceError> {
    let file = source::check_file(&spec.file, opts.base)?;
    let (readable, raw_header) = open(engine, &file, spec, opts, out)?;
    let header = dedupe_header(&raw_header, spec.table, &file.shown, &mut out.findings);
    let resolved = resolve(spec, &header, &file.shown, &mut out.findings)?;
    let batch = read(engine, &file, readable, &header, &resolved, spec)?;
    if batch.num_rows() == 0 {
        out.findings.push(
            Finding::new(
                "empty_table",
                Severity::Error,
                spec.table,
                &file.shown,
                "the file has a header but no data rows",
            )
            .expected("at least one data row")
            .suggestion("Re-export the table with its data."),
        );
    }
    // Canonical types, column by column.
    let mut columns: Vec<(Resolved, ArrayRef)> = Vec::with_capacity(resolved.len());
    for (r, array) in resolved.iter().zip(batch.columns()) {
        let ctx = ColumnContext {
            table: spec.table,
            file: &file.shown,
            column: &r.column,
            date_format: spec.file.date_format.as_deref(),
            max_examples: opts.validation.max_examples,
            required: r.field.required && r.field.ty != FieldType::Infer,
        };
        let converted = convert::convert(array, r.field.ty, &ctx).map_err(|e| {
            let mut err = SourceError::new(&file.shown, format!("cannot convert column: {e}"), "");
            err.column = Some(r.column.clone());
            err
        })?;
        out.findings.extend(converted.findings);
        out.cleaning.extend(converted.cleaning);
        columns.push((r.clone(), converted.array));
    }
    let (batch, sources) = if spec.wide.is_some() {
        melt_wide(&columns, batch.num_rows())
    } else {
        assemble_long(&columns, batch.num_rows())
    }
    .map_err(|e| SourceError::new(&file.shown, format!("cannot assemble table: {e}"), ""))?;
    let mut table = Table {
        spec: spec.clone(),
        file: file.shown.clone(),
        batch,
        sources,
    };
    apply_cleaning(engine, &mut table, opts.cleaning, &mut out.cleaning)
        .map_err(|e| SourceError::new(&file.shown, format!("cleaning failed: {e}"), ""))?;
    Ok(table)
}

/// Opens the file for reading and returns its header.
fn open(
    engine: &Engine,
    file: &CheckedFile,
    spec: &TableSpec,
    opts: LoadOptions,
    out: &mut TableLoad,
) -> Result<(Readable, Vec<String>), SourceError> {
    match file.format {
        FileFormat::Csv | FileFormat::Tsv => {
            let delimiter =
                spec.file
                    .delimiter
                    .map(|c| c as u8)
                    .unwrap_or(if file.format == FileFormat::Tsv {
                        b'\t'
                    } else {
                        b','
                    });
            let scan = source::prescan(file, spec.file.encoding, opts.validation.max_line_bytes)?;
            let (path, tmp) = match scan.encoding {
                DetectedEncoding::Utf8 | DetectedEncoding::Utf8Bom => (file.path.clone(), None),
                other => {
                    let tmp = source::transcode(file, other)?;
                    out.cleaning.push(Cleaning {
                        table: spec.table.into(),
                        file: file.shown.clone(),
                        column: None,
                        action: format!("decoded the file from {} to UTF-8", other.describe()),
                        count: 1,
                        rows: Vec::new(),
                    });
                    (tmp.path().to_path_buf(), Some(tmp))
                }
            };
            if scan.encoding == DetectedEncoding::Utf8Bom {
                out.cleaning.push(Cleaning {
                    table: spec.table.into(),
                    file: file.shown.clone(),
                    column: None,
                    action: "ignored the UTF-8 byte-order mark".into(),
                    count: 1,
                    rows: Vec::new(),
                });
            }
            let header = source::read_header(&path, &file.shown, delimiter)?;
            let quotes = scan.has_quotes || tmp.is_some();
            Ok((
                Readable::Csv {
                    path,
                    delimiter,
                    quotes,
                    _tmp: tmp,
                },
                header,
            ))
        }
        FileFormat::Parquet | FileFormat::Jsonl => {
            let path = path_str(&file.path, &file.shown)?;
            let ext = extension(&file.path);
            let df = engine
                .block_on(async {
                    let ctx = engine.context();
                    if file.format == FileFormat::Parquet {
                        ctx.read_parquet(path, ParquetReadOptions::default().file_extension(&ext)).await
                    } else {
                        let options = JsonReadOptions::default()
                            .file_extension(&ext)
                            .newline_delimited(!source::is_json_array(&file.path));
                        ctx.read_json(path, options).await
                    }
                })
                .map_err(|e| {
                    SourceError::new(
                        &file.shown,
                        format!("cannot read as {}: {}", format_name(file.format), first_line(&e.to_string())),
                        "Check that the file is what its extension says, or set format in the config.",
                    )
                })?;
            let header = df
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            Ok((Readable::Frame(df), header))
        }
    }
}

fn format_name(f: FileFormat) -> &'static str {
    match f {
        FileFormat::Csv => "CSV",
        FileFormat::Tsv => "TSV",
        FileFormat::Parquet => "Parquet",
        FileFormat::Jsonl => "JSON lines",
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

fn path_str<'a>(path: &'a Path, shown: &str) -> Result<&'a str, SourceError> {
    path.to_str().ok_or_else(|| {
        SourceError::new(
            shown,
            "the path is not valid UTF-8",
            "Rename the file or folder.",
        )
    })
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| format!(".{e}"))
        .unwrap_or_default()
}

/// Blank header names become `column_N`, repeated ones `name_2`; both are reported.
fn dedupe_header(
    raw: &[String],
    table: &str,
    file: &str,
    findings: &mut Vec<Finding>,
) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut header = Vec::with_capacity(raw.len());
    for (i, name) in raw.iter().enumerate() {
        let mut name = if name.is_empty() {
            format!("column_{}", i + 1)
        } else {
            name.clone()
        };
        let n = seen.entry(name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            let renamed = format!("{name}_{n}");
            findings.push(
                Finding::new(
                    "duplicate_column_name",
                    Severity::Warning,
                    table,
                    file,
                    format!("column name `{name}` appears more than once; column {} is read as `{renamed}`", i + 1),
                )
                .column(name.clone())
                .expected("unique column names")
                .suggestion("Rename one of the columns in the export."),
            );
            name = renamed;
        }
        header.push(name);
    }
    header
}

/// Matches the spec's fields to header columns; wide media expands per channel.
fn resolve(
    spec: &TableSpec,
    header: &[String],
    file: &str,
    findings: &mut Vec<Finding>,
) -> Result<Vec<Resolved>, SourceError> {
    let has = |name: &str| header.iter().any(|h| h == name);
    let missing = |field: &FieldSpec, source: &str| {
        let refs: Vec<&str> = header.iter().map(String::as_str).collect();
        let hint = match config::closest(source, &refs) {
            Some(c) => format!(
                "Did you mean `{c}`? Set {} = \"{c}\" in [{}].",
                field.name, spec.table
            ),
            None => format!(
                "Columns in the file: {}. Map the right one with {} = \"…\" in [{}].",
                preview(header),
                field.name,
                spec.table
            ),
        };
        let mut e = SourceError::new(
            file,
            format!(
                "missing required column `{source}` (the {} field, {})",
                field.name,
                field.ty.name()
            ),
            hint,
        );
        e.column = Some(source.to_string());
        e
    };
    let mut resolved = Vec::new();
    for field in &spec.fields {
        if has(&field.source) {
            resolved.push(Resolved {
                field: field.clone(),
                column: field.source.clone(),
                channel: None,
            });
        } else if field.required || !field.auto {
            return Err(missing(field, &field.source));
        }
    }
    // Campaign responses without a feature list take every other column as a feature;
    // a generic table takes every column.
    if (spec.table == "campaign_responses" && spec.fields.len() == 3) || spec.table == "data" {
        let used: Vec<String> = resolved.iter().map(|r| r.column.clone()).collect();
        for h in header.iter().filter(|h| !used.contains(h)) {
            resolved.push(Resolved {
                field: FieldSpec {
                    name: h.clone(),
                    source: h.clone(),
                    ty: spec.extra_types.get(h).copied().unwrap_or(FieldType::Infer),
                    required: false,
                    auto: true,
                },
                column: h.clone(),
                channel: None,
            });
        }
    }
    if let Some(wide) = &spec.wide {
        let channels = match &wide.channels {
            Some(list) => list.clone(),
            None => discover_channels(&wide.spend, header),
        };
        if channels.is_empty() {
            return Err(SourceError::new(
                file,
                format!("no column matches the wide spend pattern `{}`", wide.spend),
                format!(
                    "Columns in the file: {}. Set [media.wide] spend to a pattern such as \"{{channel}}_spend\".",
                    preview(header)
                ),
            ));
        }
        let measures = [
            ("spend", Some(&wide.spend), FieldType::Money, true),
            (
                "impressions",
                wide.impressions.as_ref(),
                FieldType::Number,
                false,
            ),
            ("clicks", wide.clicks.as_ref(), FieldType::Number, false),
            (
                "conversions",
                wide.conversions.as_ref(),
                FieldType::Number,
                false,
            ),
            ("revenue", wide.revenue.as_ref(), FieldType::Money, false),
        ];
        for (name, pattern, ty, required) in measures {
            let Some(pattern) = pattern else { continue };
            let mut absent = Vec::new();
            for ch in &channels {
                let column = pattern.replace("{channel}", ch);
                let field = FieldSpec {
                    name: name.into(),
                    source: pattern.clone(),
                    ty,
                    required,
                    auto: false,
                };
                if has(&column) {
                    resolved.push(Resolved {
                        field,
                        column,
                        channel: Some(ch.clone()),
                    });
                } else if required {
                    return Err(missing(&field, &column));
                } else {
                    absent.push(column);
                }
            }
            if !absent.is_empty() {
                findings.push(
                    Finding::new(
                        "missing_optional_column",
                        Severity::Info,
                        spec.table,
                        file,
                        format!(
                            "no {name} columns {} (pattern `{pattern}`); read as missing",
                            absent.join(", ")
                        ),
                    )
                    .expected(format!("a column per channel matching `{pattern}`"))
                    .suggestion("Nothing to do unless these channels should have them."),
                );
            }
        }
    }
    Ok(resolved)
}

/// Channels whose spend column matches `prefix{channel}suffix`.
fn discover_channels(pattern: &str, header: &[String]) -> Vec<String> {
    let Some((prefix, suffix)) = pattern.split_once("{channel}") else {
        return Vec::new();
    };
    header
        .iter()
        .filter(|h| {
            h.len() > prefix.len() + suffix.len() && h.starts_with(prefix) && h.ends_with(suffix)
        })
        .map(|h| h[prefix.len()..h.len() - suffix.len()].to_string())
        .collect()
}

fn preview(header: &[String]) -> String {
    let mut s: Vec<String> = header.iter().take(12).map(|h| format!("`{h}`")).collect();
    if header.len() > 12 {
        s.push(format!("… ({} in all)", header.len()));
    }
    s.join(", ")
}

/// Reads the resolved columns, in file order.
fn read(
    engine: &Engine,
    file: &CheckedFile,
    readable: Readable,
    header: &[String],
    resolved: &[Resolved],
    spec: &TableSpec,
) -> Result<RecordBatch, SourceError> {
    let select: Vec<Expr> = resolved
        .iter()
        .map(|r| Expr::Column(Column::new_unqualified(r.column.clone())))
        .collect();
    match readable {
        Readable::Frame(df) => {
            let df = df
                .select(select)
                .map_err(|e| SourceError::new(&file.shown, e.to_string(), ""))?;
            collect(engine, df).map_err(|e| SourceError::new(&file.shown, first_line(&e), ""))
        }
        Readable::Csv {
            path,
            delimiter,
            quotes,
            _tmp,
        } => {
            let read_with = |typing: Typing| -> Result<RecordBatch, String> {
                let df = csv_frame(
                    engine,
                    &path,
                    (delimiter, quotes),
                    header,
                    resolved,
                    spec,
                    typing,
                )?;
                let df = df.select(select.clone()).map_err(|e| e.to_string())?;
                collect(engine, df)
            };
            let batch = match read_with(Typing::Fast) {
                Ok(batch) => batch,
                Err(_) => read_with(Typing::Text).map_err(|e| {
                    source::locate_csv_error(&path, &file.shown, delimiter, header.len())
                        .unwrap_or_else(|| {
                            SourceError::new(
                                &file.shown,
                                format!("cannot read as CSV: {}", first_line(&e)),
                                "",
                            )
                        })
                })?,
            };
            Ok(batch)
        }
    }
}

/// How a CSV read types the resolved columns.
#[derive(Clone, Copy)]
enum Typing<'a> {
    /// Every column as text, for the precise path.
    Text,
    /// ISO dates and plain numbers typed by DataFusion ([`fast_type`]).
    Fast,
    /// For streaming aggregation: as `Fast`, with these count columns as Int64.
    Stream(&'a [String]),
}

/// A lazy DataFusion frame over a CSV file, typed as `typing` says.
fn csv_frame(
    engine: &Engine,
    path: &Path,
    (delimiter, quotes): (u8, bool),
    header: &[String],
    resolved: &[Resolved],
    spec: &TableSpec,
    typing: Typing,
) -> Result<DataFrame, String> {
    let path_s = path.to_str().ok_or("the path is not valid UTF-8")?;
    let ext = extension(path);
    let fields: Vec<Field> = header
        .iter()
        .map(|h| {
            let field = resolved.iter().find(|r| &r.column == h).map(|r| &r.field);
            let ty = match (typing, field) {
                (Typing::Text, _) | (_, None) => DataType::Utf8,
                (Typing::Stream(ints), Some(_)) if ints.contains(h) => DataType::Int64,
                (_, Some(f)) => fast_type(f, spec),
            };
            Field::new(h, ty, true)
        })
        .collect();
    let schema = Schema::new(fields);
    let options = CsvReadOptions::new()
        .has_header(true)
        .delimiter(delimiter)
        .schema(&schema)
        .file_extension(&ext)
        .newlines_in_values(quotes);
    engine
        .block_on(engine.context().read_csv(path_s, options))
        .map_err(|e| e.to_string())
}

/// A lazy frame over a long CSV table with canonical column names and fast-path types,
/// for aggregations that stream from disk in one SQL pass and hold nothing in memory.
///
/// `None` when the file needs the full loader: another format, wide layout, a
/// transcoded encoding, or any problem opening it. A value that does not parse makes
/// the frame fail when it runs; callers then fall back to [`load_table`], whose report
/// names the row.
pub fn scan_frame(engine: &Engine, spec: &TableSpec, opts: LoadOptions) -> Option<DataFrame> {
    if spec.wide.is_some() {
        return None;
    }
    let file = source::check_file(&spec.file, opts.base).ok()?;
    if !matches!(file.format, FileFormat::Csv | FileFormat::Tsv) {
        return None;
    }
    let mut scratch = TableLoad::default();
    let (readable, raw_header) = open(engine, &file, spec, opts, &mut scratch).ok()?;
    let header = dedupe_header(&raw_header, spec.table, &file.shown, &mut scratch.findings);
    let resolved = resolve(spec, &header, &file.shown, &mut scratch.findings).ok()?;
    let Readable::Csv {
        path,
        delimiter,
        quotes,
        _tmp: None,
    } = readable
    else {
        return None;
    };
    let integers = integral_columns(&path, delimiter, &header, &resolved);
    let df = csv_frame(
        engine,
        &path,
        (delimiter, quotes),
        &header,
        &resolved,
        spec,
        Typing::Stream(&integers),
    )
    .ok()?;
    let select: Vec<Expr> = resolved
        .iter()
        .map(|r| Expr::Column(Column::new_unqualified(r.column.clone())).alias(&r.field.name))
        .collect();
    df.select(select).ok()
}

/// Count columns whose first rows hold only integers: the streaming path reads them as
/// Int64, which parses several times faster than Float64. Should a later value have a
/// fraction, the stream fails and the full loader (plain Float64) takes over.
fn integral_columns(
    path: &Path,
    delimiter: u8,
    header: &[String],
    resolved: &[Resolved],
) -> Vec<String> {
    const SAMPLE_ROWS: usize = 1000;
    let Ok(mut reader) = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(path)
    else {
        return Vec::new();
    };
    let candidates: Vec<(usize, &String)> = resolved
        .iter()
        .filter(|r| r.field.ty == FieldType::Number)
        .filter_map(|r| {
            header
                .iter()
                .position(|h| h == &r.column)
                .map(|i| (i, &r.column))
        })
        .collect();
    let mut integral = vec![true; candidates.len()];
    for record in reader.byte_records().take(SAMPLE_ROWS) {
        let Ok(record) = record else {
            return Vec::new();
        };
        for (k, (i, _)) in candidates.iter().enumerate() {
            let value = record.get(*i).unwrap_or_default();
            // Up to 18 digits always fits an i64.
            let is_int = value.is_empty()
                || (value.len() <= 18
                    && value
                        .strip_prefix(b"-")
                        .unwrap_or(value)
                        .iter()
                        .all(u8::is_ascii_digit)
                    && value != b"-");
            integral[k] &= is_int;
        }
    }
    candidates
        .into_iter()
        .zip(integral)
        .filter(|(_, int)| *int)
        .map(|((_, name), _)| name.clone())
        .collect()
}

/// The type the fast CSV path asks DataFusion for: ISO dates and plain numbers only.
fn fast_type(field: &FieldSpec, spec: &TableSpec) -> DataType {
    match field.ty {
        FieldType::Date
            if spec
                .file
                .date_format
                .as_deref()
                .is_none_or(|f| f == "%Y-%m-%d") =>
        {
            DataType::Date32
        }
        FieldType::Money | FieldType::Number => DataType::Float64,
        _ => DataType::Utf8,
    }
}

fn collect(engine: &Engine, df: DataFrame) -> Result<RecordBatch, String> {
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = engine.collect_ordered(df).map_err(|e| e.to_string())?;
    datafusion::arrow::compute::concat_batches(&schema, &batches).map_err(|e| e.to_string())
}

fn row_numbers(n: usize) -> ArrayRef {
    Arc::new(UInt64Array::from_iter_values(1..=n as u64))
}

/// Canonical column order: contract fields first, then the row column.
fn assemble_long(
    columns: &[(Resolved, ArrayRef)],
    n: usize,
) -> Result<(RecordBatch, BTreeMap<String, String>), String> {
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    let mut sources = BTreeMap::new();
    for (r, a) in columns {
        fields.push(Field::new(&r.field.name, a.data_type().clone(), true));
        arrays.push(a.clone());
        sources.insert(r.field.name.clone(), r.column.clone());
    }
    fields.push(Field::new(ROW_COLUMN, DataType::UInt64, false));
    arrays.push(row_numbers(n));
    let batch =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| e.to_string())?;
    Ok((batch, sources))
}

/// Wide media to long: one block of rows per channel, channels in config order.
fn melt_wide(
    columns: &[(Resolved, ArrayRef)],
    n: usize,
) -> Result<(RecordBatch, BTreeMap<String, String>), String> {
    let mut channels: Vec<String> = Vec::new();
    for (r, _) in columns {
        if let Some(ch) = &r.channel
            && !channels.contains(ch)
        {
            channels.push(ch.clone());
        }
    }
    let shared: Vec<&(Resolved, ArrayRef)> = columns
        .iter()
        .filter(|(r, _)| r.channel.is_none())
        .collect();
    let measures = ["spend", "impressions", "clicks", "conversions", "revenue"];
    let present: Vec<&str> = measures
        .iter()
        .copied()
        .filter(|m| columns.iter().any(|(r, _)| r.field.name == *m))
        .collect();
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    let mut sources = BTreeMap::new();
    let repeat = |a: &ArrayRef| -> Result<ArrayRef, String> {
        let parts: Vec<&dyn Array> = channels.iter().map(|_| a.as_ref()).collect();
        concat(&parts).map_err(|e| e.to_string())
    };
    // Shared columns (date, campaign, geo) in spec order, then channel, then measures.
    let date = shared
        .iter()
        .find(|(r, _)| r.field.name == "date")
        .ok_or("no date column")?;
    fields.push(Field::new("date", date.1.data_type().clone(), true));
    arrays.push(repeat(&date.1)?);
    sources.insert("date".into(), date.0.column.clone());
    let channel_values: StringArray = channels
        .iter()
        .flat_map(|c| std::iter::repeat_n(Some(c.as_str()), n))
        .collect();
    fields.push(Field::new("channel", DataType::Utf8, true));
    arrays.push(Arc::new(channel_values));
    sources.insert("channel".into(), "(wide layout: column name)".into());
    for (r, a) in shared.iter().filter(|(r, _)| r.field.name != "date") {
        fields.push(Field::new(&r.field.name, a.data_type().clone(), true));
        arrays.push(repeat(a)?);
        sources.insert(r.field.name.clone(), r.column.clone());
    }
    for m in present {
        let mut parts: Vec<ArrayRef> = Vec::new();
        for ch in &channels {
            let found = columns
                .iter()
                .find(|(r, _)| r.field.name == m && r.channel.as_deref() == Some(ch));
            parts.push(match found {
                Some((_, a)) => a.clone(),
                None => Arc::new(Float64Array::new_null(n)),
            });
        }
        let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
        fields.push(Field::new(m, DataType::Float64, true));
        arrays.push(concat(&refs).map_err(|e| e.to_string())?);
        let pattern = columns
            .iter()
            .find(|(r, _)| r.field.name == m)
            .map(|(r, _)| r.field.source.clone())
            .unwrap_or_default();
        sources.insert(m.to_string(), pattern);
    }
    fields.push(Field::new(ROW_COLUMN, DataType::UInt64, false));
    let rows: Vec<u64> = channels.iter().flat_map(|_| 1..=n as u64).collect();
    arrays.push(Arc::new(UInt64Array::from(rows)));
    let batch =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| e.to_string())?;
    Ok((batch, sources))
}

/// The lossy cleaning the config asks for, each step recorded.
fn apply_cleaning(
    engine: &Engine,
    table: &mut Table,
    cleaning: &config::Cleaning,
    log: &mut Vec<Cleaning>,
) -> Result<(), String> {
    if table.has("spend") && cleaning.negative_spend != NegativeSpend::Keep {
        let spend = table.f64s("spend").ok_or("spend is not numeric")?.clone();
        let negative: Vec<u64> = (0..spend.len())
            .filter(|&i| spend.is_valid(i) && spend.value(i) < 0.0)
            .map(|i| table.source_row(i))
            .collect();
        if !negative.is_empty() {
            let column = table.source_column("spend", None);
            match cleaning.negative_spend {
                NegativeSpend::Zero => {
                    let fixed: Float64Array = spend.iter().map(|v| v.map(|v| v.max(0.0))).collect();
                    let idx = table
                        .batch
                        .schema()
                        .index_of("spend")
                        .map_err(|e| e.to_string())?;
                    let mut cols = table.batch.columns().to_vec();
                    cols[idx] = Arc::new(fixed);
                    table.batch = RecordBatch::try_new(table.batch.schema(), cols)
                        .map_err(|e| e.to_string())?;
                    log.push(cleaning_entry(
                        table,
                        &column,
                        "set negative spend to 0",
                        &negative,
                    ));
                }
                NegativeSpend::Drop => {
                    let keep: BooleanArray = spend
                        .iter()
                        .map(|v| Some(!v.is_some_and(|v| v < 0.0)))
                        .collect();
                    *table = table.filter(&keep).map_err(|e| e.to_string())?;
                    log.push(cleaning_entry(
                        table,
                        &column,
                        "dropped rows with negative spend",
                        &negative,
                    ));
                }
                NegativeSpend::Keep => {}
            }
        }
    }
    if cleaning.drop_duplicate_rows {
        let before = table.num_rows();
        let keep_rows =
            crate::validate::first_of_each_row(engine, table).map_err(|e| e.to_string())?;
        let row_col = table
            .batch
            .column_by_name(ROW_COLUMN)
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
            .ok_or("row column")?
            .clone();
        let mut drop: Vec<u64> = row_col
            .iter()
            .flatten()
            .filter(|r| keep_rows.binary_search(r).is_err())
            .collect();
        if !drop.is_empty() {
            drop.sort_unstable();
            drop.dedup();
            let keep: BooleanArray = row_col
                .iter()
                .map(|r| Some(r.is_none_or(|r| keep_rows.binary_search(&r).is_ok())))
                .collect();
            // Wide media repeats row numbers per channel: a source row goes only when it
            // is a repeat in every channel's block (it is then no block's first).
            *table = table.filter(&keep).map_err(|e| e.to_string())?;
            let dropped = before - table.num_rows();
            let mut entry = cleaning_entry(
                table,
                "",
                "dropped exact duplicate rows (kept the first)",
                &drop,
            );
            entry.column = None;
            entry.count = dropped as u64;
            log.push(entry);
        }
    }
    Ok(())
}

fn cleaning_entry(table: &Table, column: &str, action: &str, rows: &[u64]) -> Cleaning {
    Cleaning {
        table: table.name().into(),
        file: table.file.clone(),
        column: Some(column.to_string()),
        action: action.into(),
        count: rows.len() as u64,
        rows: rows.iter().take(5).copied().collect(),
    }
}
