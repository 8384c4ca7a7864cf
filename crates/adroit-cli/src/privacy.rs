//! `adroit privacy`: personal data found and protected before tables leave the machine.
//! `scan` lists the columns holding personal data, `protect` writes copies with keyed
//! pseudonyms and masked text, `release` publishes differentially private counts and
//! sums under a budget ledger, `kanon` checks k-anonymity and l-diversity and suggests
//! generalizations. The analysis lives in `adroit_privacy`; this door reads files,
//! prints and writes.

use crate::output::{self, num};
use adroit_config::{Config, FileOptions};
use adroit_data::Engine;
use adroit_data::arrow::array::{Array, StringArray};
use adroit_data::{FieldType, Severity, TableSpec};
use adroit_privacy::dp::{self, Mechanism, ReleaseInput, ReleaseSpec, SumSpec};
use adroit_privacy::kanon::{self, Quasi};
use adroit_privacy::ledger::{Budget, Entry, Ledger};
use adroit_privacy::pseudonym::Pseudonymizer;
use adroit_privacy::scan::{self, Action, TableScan};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The environment variable the pseudonym key is read from by default.
const DEFAULT_KEY_ENV: &str = "ADROIT_PSEUDONYM_KEY";

#[derive(clap::Args, Debug)]
pub struct PrivacyArgs {
    #[command(subcommand)]
    pub command: PrivacyCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum PrivacyCommand {
    /// List the columns and text fields holding personal data (counts, shares, example
    /// rows; never the values) and the identifier columns.
    Scan(ScanArgs),
    /// Write copies of the tables with identifiers replaced by keyed pseudonyms
    /// (HMAC-SHA256) and personal data in text masked.
    Protect(ProtectArgs),
    /// Differentially private counts and sums per group, under a privacy-budget ledger.
    Release(ReleaseArgs),
    /// k-anonymity and l-diversity of quasi-identifiers, with generalization suggestions.
    Kanon(KanonArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// Which tables: every table of a config, and/or any files.
#[derive(clap::Args, Debug, Clone)]
pub struct TablesArgs {
    /// The adroit.toml: every table it names.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Any table (CSV, TSV, Parquet, JSON lines); repeat for several.
    #[arg(long)]
    pub data: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    #[command(flatten)]
    pub tables: TablesArgs,
    /// A file of texts; with --text-col, only that column is scanned, as free text.
    #[arg(long)]
    pub texts: Option<PathBuf>,
    /// The text column of --texts.
    #[arg(long, requires = "texts")]
    pub text_col: Option<String>,
    /// Example row numbers shown per column and kind.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct ProtectArgs {
    #[command(flatten)]
    pub tables: TablesArgs,
    /// Environment variable holding the pseudonym key (default ADROIT_PSEUDONYM_KEY, or
    /// `[privacy] key_env`). The key is never taken from a flag value.
    #[arg(long)]
    pub key_env: Option<String>,
    /// A file holding the key instead (keep it out of the data folder and of git).
    #[arg(long, conflicts_with = "key_env")]
    pub key_file: Option<PathBuf>,
    /// More columns to pseudonymise, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// More columns whose text is masked, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub mask_columns: Vec<String>,
    /// Only the columns named by the config and flags; no scan of the values.
    #[arg(long)]
    pub no_scan: bool,
    /// Folder for the protected copies (CSV) and protect.json.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MechanismArg {
    Laplace,
    Gaussian,
}

#[derive(clap::Args, Debug)]
pub struct ReleaseArgs {
    /// The table (CSV, TSV, Parquet, JSON lines), one row per person (or see --user-col).
    #[arg(long)]
    pub data: PathBuf,
    /// The column to group by (channel, segment). Its labels are taken as public.
    #[arg(long)]
    pub group: String,
    /// Public group labels to release, comma-separated (absent groups get noise around
    /// 0; labels not listed are left out). Default: the labels in the data.
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<String>,
    /// Columns to sum, comma-separated; each needs a --bound.
    #[arg(long, value_delimiter = ',')]
    pub sum: Vec<String>,
    /// Release the row count per group.
    #[arg(long)]
    pub count: bool,
    /// Contribution bounds, `COLUMN=LOW..HIGH` (values are clipped into them). State
    /// them from domain knowledge, not from the data.
    #[arg(long = "bound", value_name = "COLUMN=LOW..HIGH")]
    pub bounds: Vec<String>,
    /// Privacy loss of this release, split equally across its statistics.
    #[arg(long)]
    pub epsilon: f64,
    /// δ of this release (Gaussian only).
    #[arg(long)]
    pub delta: Option<f64>,
    #[arg(long, value_enum, default_value = "laplace")]
    pub mechanism: MechanismArg,
    /// A user column: each user's rows are capped at --max-rows-per-user, and the
    /// sensitivity grows by that factor. Without it each row is taken as one person.
    #[arg(long)]
    pub user_col: Option<String>,
    #[arg(long, default_value_t = 1, requires = "user_col")]
    pub max_rows_per_user: usize,
    /// The privacy-budget ledger (JSON; created when absent).
    #[arg(long)]
    pub ledger: PathBuf,
    /// The dataset's name in the ledger (default: the data file's name without extension).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Total ε the dataset may spend (needed the first time; fixed afterwards).
    #[arg(long)]
    pub budget: Option<f64>,
    /// Total δ the dataset may spend (default 1e-5 for a new dataset).
    #[arg(long)]
    pub delta_budget: Option<f64>,
    /// Seed for reproducible noise (tests, audits). Without it the noise comes from the
    /// operating system's randomness.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the release as CSV (each number with its noise scale beside it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct KanonArgs {
    /// The customer-level table to check.
    #[arg(long)]
    pub data: PathBuf,
    /// The adroit.toml whose `[privacy]` section names quasi-identifiers, sensitive, k, l.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Quasi-identifier columns, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub quasi: Vec<String>,
    /// The sensitive column (for l-diversity).
    #[arg(long)]
    pub sensitive: Option<String>,
    /// Smallest class size (default 5).
    #[arg(long)]
    pub k: Option<usize>,
    /// Distinct sensitive values per class (default 2 with --sensitive).
    #[arg(long)]
    pub l: Option<usize>,
    /// Share of rows that may be suppressed instead of generalizing further.
    #[arg(long, default_value_t = 0.0)]
    pub max_suppress: f64,
    /// Write the table generalized as suggested, failing rows suppressed (CSV).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

pub fn run(args: PrivacyArgs) -> Result<ExitCode, String> {
    match args.command {
        PrivacyCommand::Scan(a) => run_scan(a),
        PrivacyCommand::Protect(a) => run_protect(a),
        PrivacyCommand::Release(a) => run_release(a),
        PrivacyCommand::Kanon(a) => run_kanon(a),
    }
}

// ---------------------------------------------------------------- reading tables

/// A table as the file holds it: every value as text, exactly as written (no number
/// parsing, so leading zeros and 18-digit IDs survive).
struct RawTable {
    /// The table's name (contract table or file stem).
    name: String,
    /// The file, as shown in messages.
    origin: String,
    columns: Vec<(String, Vec<Option<String>>)>,
    source_rows: Vec<u64>,
}

impl RawTable {
    fn rows(&self) -> usize {
        self.source_rows.len()
    }

    fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// A column by name; the error names the column and lists the ones there are.
    fn column(&self, name: &str) -> Result<&[Option<String>], String> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
            .ok_or_else(|| {
                format!(
                    "{}: no column `{name}` (columns: {})",
                    self.origin,
                    self.names().join(", ")
                )
            })
    }
}

/// Loads a file through the project loader with every column as text.
fn load_raw(
    engine: &Engine,
    file: FileOptions,
    base: &Path,
    name: &str,
) -> Result<RawTable, String> {
    let origin = file.path.clone();
    let validation = adroit_config::Validation::default();
    let cleaning = adroit_config::Cleaning::default();
    let load = |spec: &TableSpec| {
        adroit_data::load_table(
            engine,
            spec,
            adroit_data::LoadOptions {
                base,
                validation: &validation,
                cleaning: &cleaning,
            },
        )
    };
    let mut spec = TableSpec::any(file);
    let mut loaded = load(&spec);
    // Columns the loader typed (numbers) are read again as text, as written.
    if let Some(t) = &loaded.table {
        let typed: Vec<String> = t
            .columns()
            .into_iter()
            .filter(|(_, ty)| ty != "Utf8")
            .map(|(n, _)| n)
            .collect();
        if !typed.is_empty() {
            for c in typed {
                spec.extra_types.insert(c, FieldType::Text);
            }
            loaded = load(&spec);
        }
    }
    let errors: Vec<&adroit_data::Finding> = loaded
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    let table = match loaded.table {
        Some(t) if errors.is_empty() => t,
        _ => return Err(output::describe_errors(name, errors)),
    };
    let mut columns = Vec::new();
    for (col, _) in table.columns() {
        let array = table.batch.column_by_name(&col).expect("listed column");
        let cast = adroit_data::arrow::compute::cast(
            array,
            &adroit_data::arrow::datatypes::DataType::Utf8,
        )
        .map_err(|e| format!("{origin}: column `{col}`: {e}"))?;
        let a = cast
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8");
        let values = (0..a.len())
            .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
            .collect();
        columns.push((col, values));
    }
    Ok(RawTable {
        name: name.to_string(),
        origin,
        source_rows: (0..table.num_rows()).map(|i| table.source_row(i)).collect(),
        columns,
    })
}

fn read_config(path: &Path) -> Result<(Config, PathBuf), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
    let config =
        Config::from_toml_str(&text, &path.display().to_string()).map_err(|e| e.to_string())?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((config, base))
}

/// A config table: its name, file, the source columns the contract calls person
/// identifiers, and its free-text columns.
struct ConfigTable {
    name: &'static str,
    file: FileOptions,
    identifiers: Vec<String>,
    texts: Vec<String>,
}

fn config_tables(config: &Config) -> Vec<ConfigTable> {
    let mut out = Vec::new();
    let mut push = |name, file, identifiers: Vec<&String>, texts: Vec<&String>| {
        out.push(ConfigTable {
            name,
            file,
            identifiers: identifiers.into_iter().cloned().collect(),
            texts: texts.into_iter().cloned().collect(),
        })
    };
    if let Some(s) = &config.media {
        push("media", s.file(), vec![], vec![]);
    }
    if let Some(s) = &config.kpi {
        push("kpi", s.file(), vec![], vec![]);
    }
    if let Some(s) = &config.touchpoints {
        push("touchpoints", s.file(), vec![&s.user_id], vec![]);
    }
    if let Some(s) = &config.transactions {
        push("transactions", s.file(), vec![&s.customer_id], vec![]);
    }
    if let Some(s) = &config.texts {
        push(
            "texts",
            s.file(),
            s.customer_id.iter().collect(),
            vec![&s.text],
        );
    }
    if let Some(s) = &config.experiments {
        push("experiments", s.file(), vec![], vec![]);
    }
    if let Some(s) = &config.campaign_responses {
        push("campaign_responses", s.file(), vec![&s.customer_id], vec![]);
    }
    out
}

fn file_of(path: &Path) -> FileOptions {
    FileOptions {
        path: path.display().to_string(),
        ..Default::default()
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into())
}

/// Every table the flags name, with the identifier and text columns the config adds.
fn gather(
    tables: &TablesArgs,
    engine: &Engine,
) -> Result<(Vec<(RawTable, ConfigTable)>, Config), String> {
    if tables.config.is_none() && tables.data.is_empty() {
        return Err(
            "no tables: give --config adroit.toml (every table it names) or --data FILE".into(),
        );
    }
    let mut out = Vec::new();
    let mut config = Config::default();
    if let Some(path) = &tables.config {
        let (c, base) = read_config(path)?;
        for t in config_tables(&c) {
            let raw = load_raw(engine, t.file.clone(), &base, t.name)?;
            for col in t.identifiers.iter().chain(&t.texts) {
                raw.column(col)?;
            }
            out.push((raw, t));
        }
        if out.is_empty() {
            return Err(format!("{}: the config names no tables", path.display()));
        }
        config = c;
    }
    for path in &tables.data {
        let name = stem(path);
        let raw = load_raw(engine, file_of(path), Path::new(""), &name)?;
        out.push((
            raw,
            ConfigTable {
                name: "data",
                file: file_of(path),
                identifiers: vec![],
                texts: vec![],
            },
        ));
    }
    Ok((out, config))
}

// ---------------------------------------------------------------- scan

fn scan_of(raw: &RawTable, examples: usize) -> TableScan {
    scan::scan_table(&raw.name, &raw.columns, &raw.source_rows, examples)
}

#[derive(Serialize)]
struct ScanJson<'a> {
    file: &'a str,
    #[serde(flatten)]
    scan: &'a TableScan,
    actions: BTreeMap<&'a str, Action>,
}

fn run_scan(args: ScanArgs) -> Result<ExitCode, String> {
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let mut tables: Vec<RawTable> = Vec::new();
    if args.tables.config.is_some() || !args.tables.data.is_empty() {
        let (found, _) = gather(&args.tables, &engine)?;
        tables.extend(found.into_iter().map(|(raw, _)| raw));
    }
    if let Some(path) = &args.texts {
        let mut raw = load_raw(&engine, file_of(path), Path::new(""), &stem(path))?;
        if let Some(col) = &args.text_col {
            let values = raw.column(col)?.to_vec();
            raw.columns = vec![(col.clone(), values)];
        }
        tables.push(raw);
    }
    if tables.is_empty() {
        return Err(
            "nothing to scan: give --config, --data FILE or --texts FILE --text-col C".into(),
        );
    }
    let mut scans: Vec<TableScan> = tables.iter().map(|t| scan_of(t, args.examples)).collect();
    if let (Some(_), Some(col)) = (&args.texts, &args.text_col) {
        // The named text column is free text whatever its cells look like.
        if let Some(c) = scans
            .last_mut()
            .and_then(|s| s.columns.iter_mut().find(|c| &c.column == col))
        {
            c.free_text = true;
        }
    }
    match args.format {
        Format::Json => {
            let json: Vec<ScanJson> = scans
                .iter()
                .zip(&tables)
                .map(|(s, t)| ScanJson {
                    file: &t.origin,
                    scan: s,
                    actions: s
                        .columns
                        .iter()
                        .map(|c| (c.column.as_str(), c.action()))
                        .collect(),
                })
                .collect();
            let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
            output::write_output(None, format!("{text}\n").as_bytes())?;
        }
        Format::Table => {
            let mut text = String::new();
            for (s, t) in scans.iter().zip(&tables) {
                text.push_str(&render_scan(s, &t.origin));
            }
            text.push_str("Values are never shown; rows are the file's data rows (1 = the first row after the header).\n");
            output::write_output(None, text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn render_scan(s: &TableScan, origin: &str) -> String {
    let mut out = format!(
        "{} ({origin}): {} rows, {} ({:.1}%) with personal data found\n",
        s.table,
        s.rows,
        s.rows_affected,
        100.0 * s.share_affected
    );
    let mut t = output::table();
    t.set_header([
        "column",
        "identifier",
        "personal data found (cells, share, example rows)",
        "protect",
    ]);
    let mut shown = 0;
    for c in &s.columns {
        if c.role.is_none() && c.kinds.is_empty() {
            continue;
        }
        shown += 1;
        let kinds = c
            .kinds
            .iter()
            .map(|k| {
                format!(
                    "{}: {} ({:.1}%) rows {}",
                    k.kind,
                    k.cells,
                    100.0 * k.share,
                    k.example_rows
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let role = match (c.role, &c.reason) {
            (Some(r), Some(why)) => format!("{} ({why})", r.name()),
            _ => String::new(),
        };
        let name = if c.free_text {
            format!("{} (free text)", c.column)
        } else {
            c.column.clone()
        };
        t.add_row([name, role, kinds, c.action().name().to_string()]);
    }
    if shown == 0 {
        out.push_str("  no personal data or identifier columns found\n\n");
    } else {
        out.push_str(&format!("{t}\n\n"));
    }
    out
}

// ---------------------------------------------------------------- protect

/// The key from a file or an environment variable; never from a flag value.
fn read_key(args: &ProtectArgs, config: &Config) -> Result<Pseudonymizer, String> {
    if let Some(path) = &args.key_file {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read the key file {}: {e}", path.display()))?;
        return Pseudonymizer::new(&bytes).map_err(|e| format!("{}: {e}", path.display()));
    }
    let var = args
        .key_env
        .clone()
        .or_else(|| config.privacy.key_env.clone())
        .unwrap_or_else(|| DEFAULT_KEY_ENV.to_string());
    match std::env::var_os(&var) {
        Some(v) if !v.is_empty() => Pseudonymizer::new(v.as_encoded_bytes())
            .map_err(|e| format!("environment variable {var}: {e}")),
        _ => Err(format!(
            "no pseudonym key: set the environment variable {var} to a secret of at least 16 bytes (e.g. `export {var}=$(openssl rand -hex 32)`) and keep it to pseudonymise later files the same way, or give --key-file PATH"
        )),
    }
}

#[derive(Serialize)]
struct ProtectedTable {
    table: String,
    source: String,
    written: String,
    rows: usize,
    pseudonymized: Vec<String>,
    masked: BTreeMap<String, BTreeMap<String, usize>>,
    quasi_identifiers_kept: Vec<String>,
}

fn run_protect(args: ProtectArgs) -> Result<ExitCode, String> {
    let engine = Engine::new().map_err(|e| e.to_string())?;
    // The key first: no work (and no files) without it.
    let config_for_key = match &args.tables.config {
        Some(p) => read_config(p)?.0,
        None => Config::default(),
    };
    let pseudo = read_key(&args, &config_for_key)?;
    let (tables, config) = gather(&args.tables, &engine)?;
    let mut written: BTreeSet<String> = BTreeSet::new();
    let mut summary = Vec::new();
    let mut outputs: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (raw, ct) in &tables {
        let scan = (!args.no_scan).then(|| scan_of(raw, 0));
        let mut pseudonymize: BTreeSet<String> = ct.identifiers.iter().cloned().collect();
        let mut mask: BTreeSet<String> = ct.texts.iter().cloned().collect();
        let mut quasi = Vec::new();
        for c in args.columns.iter().chain(&config.privacy.identifiers) {
            // Flags must name a column of some table; the config's list may name columns
            // of one table only.
            if raw.column(c).is_ok() {
                pseudonymize.insert(c.clone());
            }
        }
        for c in &args.mask_columns {
            if raw.column(c).is_ok() {
                mask.insert(c.clone());
            }
        }
        if let Some(scan) = &scan {
            for c in &scan.columns {
                match c.action() {
                    Action::Pseudonymize if !mask.contains(&c.column) => {
                        pseudonymize.insert(c.column.clone());
                    }
                    Action::Mask if !pseudonymize.contains(&c.column) => {
                        mask.insert(c.column.clone());
                    }
                    Action::Review => quasi.push(c.column.clone()),
                    _ => {}
                }
            }
        }
        mask.retain(|c| !pseudonymize.contains(c));
        let mut masked: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(raw.names()).map_err(|e| e.to_string())?;
        for i in 0..raw.rows() {
            let mut record = Vec::with_capacity(raw.columns.len());
            for (name, values) in &raw.columns {
                let v = values[i].as_deref().unwrap_or("");
                let out = if v.trim().is_empty() {
                    v.to_string()
                } else if pseudonymize.contains(name) {
                    pseudo.pseudonym(v)
                } else if mask.contains(name) {
                    let m = adroit_text::pii::mask(v);
                    let counts = masked.entry(name.clone()).or_default();
                    for s in &m.spans {
                        *counts.entry(s.kind.name().to_string()).or_default() += 1;
                    }
                    m.text
                } else {
                    v.to_string()
                };
                record.push(out);
            }
            csv.write_record(&record).map_err(|e| e.to_string())?;
        }
        let bytes = csv.into_inner().map_err(|e| e.to_string())?;
        let mut file = format!("{}.csv", raw.name);
        let mut n = 2;
        while !written.insert(file.clone()) {
            file = format!("{}_{n}.csv", raw.name);
            n += 1;
        }
        let path = args.out.join(&file);
        for c in &pseudonymize {
            raw.column(c)?;
        }
        summary.push(ProtectedTable {
            table: if ct.name == "data" {
                raw.name.clone()
            } else {
                ct.name.to_string()
            },
            source: raw.origin.clone(),
            written: file,
            rows: raw.rows(),
            pseudonymized: pseudonymize.into_iter().collect(),
            masked: mask
                .into_iter()
                .map(|c| {
                    let counts = masked.remove(&c).unwrap_or_default();
                    (c, counts)
                })
                .collect(),
            quasi_identifiers_kept: quasi,
        });
        outputs.push((path, bytes));
    }
    for c in &args.columns {
        if !tables.iter().any(|(raw, _)| raw.column(c).is_ok()) {
            let (raw, _) = &tables[0];
            return Err(format!(
                "--columns: no table has a column `{c}` (columns of {}: {})",
                raw.origin,
                raw.names().join(", ")
            ));
        }
    }
    for (path, bytes) in &outputs {
        output::write_atomic(path, bytes)?;
    }
    let json = serde_json::json!({
        "pseudonyms": "p_ + the first 16 hex characters of HMAC-SHA256(key, value); the key is not stored",
        "tables": summary,
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())? + "\n";
    output::write_atomic(&args.out.join("protect.json"), text.as_bytes())?;
    for t in &summary {
        println!(
            "{} → {}: {} rows; pseudonymised: {}; masked: {}{}",
            t.source,
            args.out.join(&t.written).display(),
            t.rows,
            list_or_none(&t.pseudonymized),
            list_or_none(
                &t.masked
                    .iter()
                    .map(|(c, k)| format!("{c} ({} spans)", k.values().sum::<usize>()))
                    .collect::<Vec<_>>()
            ),
            if t.quasi_identifiers_kept.is_empty() {
                String::new()
            } else {
                format!(
                    "; quasi-identifiers kept as they are: {} (check with `adroit privacy kanon`)",
                    t.quasi_identifiers_kept.join(", ")
                )
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

// ---------------------------------------------------------------- release

fn parse_bound(s: &str) -> Result<(String, f64, f64), String> {
    let err = || format!("--bound {s:?}: write COLUMN=LOW..HIGH, e.g. spend=0..10000");
    let (col, range) = s.split_once('=').ok_or_else(err)?;
    let (lo, hi) = range.split_once("..").ok_or_else(err)?;
    let lo: f64 = lo.trim().parse().map_err(|_| err())?;
    let hi: f64 = hi.trim().parse().map_err(|_| err())?;
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Err(format!("--bound {s:?}: LOW must not exceed HIGH"));
    }
    Ok((col.trim().to_string(), lo, hi))
}

#[derive(Serialize)]
struct ReleaseJson<'a> {
    dataset: &'a str,
    group_column: &'a str,
    mechanism: &'static str,
    epsilon: f64,
    delta: f64,
    randomness: String,
    assumptions: Vec<String>,
    noise: &'a [dp::StatisticNoise],
    groups: Vec<BTreeMap<String, serde_json::Value>>,
    budget_left: Budget,
}

fn run_release(args: ReleaseArgs) -> Result<ExitCode, String> {
    let mechanism = match args.mechanism {
        MechanismArg::Laplace => Mechanism::Laplace,
        MechanismArg::Gaussian => Mechanism::Gaussian,
    };
    let mut bounds: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for b in &args.bounds {
        let (c, lo, hi) = parse_bound(b)?;
        bounds.insert(c, (lo, hi));
    }
    let mut sums = Vec::new();
    for c in &args.sum {
        let Some((lower, upper)) = bounds.get(c) else {
            return Err(format!(
                "--sum {c} needs contribution bounds: give --bound {c}=LOW..HIGH (from what one person can contribute, not from the data)"
            ));
        };
        sums.push(SumSpec {
            column: c.clone(),
            lower: *lower,
            upper: *upper,
        });
    }
    if let Some(extra) = bounds.keys().find(|b| !args.sum.contains(b)) {
        return Err(format!(
            "--bound {extra}=…: `{extra}` is not among --sum ({})",
            args.sum.join(", ")
        ));
    }
    let spec = ReleaseSpec {
        count: args.count,
        sums,
        epsilon: args.epsilon,
        delta: args.delta.unwrap_or(0.0),
        mechanism,
        max_rows_per_user: args.max_rows_per_user,
    };
    spec.check()?;
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let raw = load_raw(
        &engine,
        file_of(&args.data),
        Path::new(""),
        &stem(&args.data),
    )?;
    let groups: Vec<String> = raw
        .column(&args.group)?
        .iter()
        .map(|v| v.clone().unwrap_or_default())
        .collect();
    let users: Option<Vec<String>> = match &args.user_col {
        Some(u) => Some(
            raw.column(u)?
                .iter()
                .map(|v| v.clone().unwrap_or_default())
                .collect(),
        ),
        None => None,
    };
    let mut sum_values: Vec<Vec<f64>> = Vec::new();
    for s in &spec.sums {
        let col = raw.column(&s.column)?;
        let mut values = Vec::with_capacity(col.len());
        for (i, v) in col.iter().enumerate() {
            let v = v.as_deref().unwrap_or("");
            if adroit_data::parse::is_missing(v) {
                values.push(f64::NAN);
                continue;
            }
            let x = adroit_data::parse::parse_number(v, true).ok_or_else(|| {
                format!(
                    "{} row {}, column `{}`: {v:?} is not a number",
                    raw.origin, raw.source_rows[i], s.column
                )
            })?;
            values.push(x.value);
        }
        sum_values.push(values);
    }
    let dataset = args.dataset.clone().unwrap_or_else(|| stem(&args.data));
    // The ledger first: a refused release draws no noise and changes nothing.
    let mut ledger = if args.ledger.exists() {
        let text = std::fs::read_to_string(&args.ledger)
            .map_err(|e| format!("cannot read the ledger {}: {e}", args.ledger.display()))?;
        Ledger::parse(&text, &args.ledger.display().to_string())?
    } else {
        Ledger::default()
    };
    let budget = match (args.budget, args.delta_budget) {
        (None, None) => None,
        (e, d) => {
            let known = ledger.datasets.get(&dataset).map(|d| d.budget);
            Some(Budget {
                epsilon: e
                    .or(known.map(|b| b.epsilon))
                    .ok_or("--delta-budget needs --budget EPSILON")?,
                delta: d.or(known.map(|b| b.delta)).unwrap_or(1e-5),
            })
        }
    };
    let what = format!(
        "{} by {} from {}{}",
        spec.statistics().join(", "),
        args.group,
        args.data.display(),
        match &args.user_col {
            Some(u) => format!(" (≤ {} rows per {u})", args.max_rows_per_user),
            None => String::new(),
        }
    );
    let entry = Entry {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        epsilon: spec.epsilon,
        delta: spec.delta,
        mechanism: mechanism.name().to_string(),
        what,
    };
    let left = match ledger.spend(&dataset, budget, entry) {
        Ok(left) => left,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let input = ReleaseInput {
        groups: &groups,
        users: users.as_deref(),
        sums: sum_values.iter().map(Vec::as_slice).collect(),
        public_groups: (!args.groups.is_empty()).then(|| args.groups.clone()),
    };
    let release = dp::release(&spec, &input, &mut dp::noise_rng(args.seed))?;
    let randomness = match args.seed {
        Some(seed) => {
            format!("seeded ChaCha20 (seed {seed}): reproducible; for tests and audits only")
        }
        None => "the operating system's randomness (no --seed)".to_string(),
    };
    // Recorded before anything is published: a failed write publishes nothing.
    output::write_atomic(&args.ledger, ledger.to_json().as_bytes())?;
    let stats = spec.statistics();
    let mut assumptions = vec![match &args.user_col {
        Some(u) => format!(
            "each person is one `{u}`; each contributes at most {} row(s) (first rows in file order kept, {} dropped)",
            args.max_rows_per_user, release.rows_dropped
        ),
        None => "each row is a different person (give --user-col to bound per-person contributions otherwise)".to_string(),
    }];
    assumptions.push(format!(
        "group labels of `{}` are public{}",
        args.group,
        if args.groups.is_empty() {
            " (the set released is the set in the data; give --groups to fix it in advance)"
        } else {
            ""
        }
    ));
    assumptions.push(format!(
        "budget ε = {}, δ = {} split equally over {} statistic(s) (sequential composition); groups are disjoint (parallel composition)",
        spec.epsilon,
        spec.delta,
        stats.len()
    ));
    if mechanism == Mechanism::Gaussian {
        assumptions.push(
            "Gaussian σ from the analytic Gaussian mechanism (Balle & Wang 2018), smaller than the classic Δ·√(2 ln(1.25/δ))/ε".into(),
        );
    }
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec![args.group.clone()];
    for s in &stats {
        header.push(s.clone());
        header.push(format!(
            "{s}_noise_{}",
            if mechanism == Mechanism::Laplace {
                "b"
            } else {
                "sigma"
            }
        ));
    }
    csv.write_record(&header).map_err(|e| e.to_string())?;
    for g in &release.groups {
        let mut row = vec![g.group.clone()];
        for (v, n) in g.values.iter().zip(&release.noise) {
            row.push(format!("{v:.4}"));
            row.push(format!("{:.6}", n.scale));
        }
        csv.write_record(&row).map_err(|e| e.to_string())?;
    }
    let csv_bytes = csv.into_inner().map_err(|e| e.to_string())?;
    if let Some(out) = &args.out {
        output::write_atomic(out, &csv_bytes)?;
    }
    match args.format {
        Format::Json => {
            let groups = release
                .groups
                .iter()
                .map(|g| {
                    let mut m = BTreeMap::new();
                    m.insert("group".to_string(), serde_json::json!(g.group));
                    for ((s, v), n) in stats.iter().zip(&g.values).zip(&release.noise) {
                        m.insert(s.clone(), serde_json::json!(v));
                        m.insert(format!("{s}_noise_scale"), serde_json::json!(n.scale));
                    }
                    m
                })
                .collect();
            let json = ReleaseJson {
                dataset: &dataset,
                group_column: &args.group,
                mechanism: mechanism.name(),
                epsilon: spec.epsilon,
                delta: spec.delta,
                randomness,
                assumptions,
                noise: &release.noise,
                groups,
                budget_left: left,
            };
            let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
            output::write_output(None, format!("{text}\n").as_bytes())?;
        }
        Format::Table => {
            let mut t = output::table();
            let mut header = vec![args.group.clone()];
            for s in &stats {
                header.push(s.clone());
                header.push(format!(
                    "± {}",
                    if mechanism == Mechanism::Laplace {
                        "b"
                    } else {
                        "σ"
                    }
                ));
            }
            t.set_header(header);
            for g in &release.groups {
                let mut row = vec![g.group.clone()];
                for (v, n) in g.values.iter().zip(&release.noise) {
                    row.push(num(Some(*v), 2));
                    row.push(num(Some(n.scale), 2));
                }
                t.add_row(row);
            }
            let mut text = format!(
                "Differentially private release of {} ({}, ε = {}, δ = {}); noise from {randomness}\n{t}\n",
                dataset,
                mechanism.name(),
                spec.epsilon,
                spec.delta
            );
            for n in &release.noise {
                text.push_str(&format!(
                    "  {}: sensitivity {}, ε = {:.4}, δ = {}, noise {} = {:.4} (sd {:.4})\n",
                    n.statistic,
                    n.l1_sensitivity,
                    n.epsilon,
                    fmt_delta(n.delta),
                    if mechanism == Mechanism::Laplace {
                        "b"
                    } else {
                        "σ"
                    },
                    n.scale,
                    n.std_dev
                ));
            }
            for a in &assumptions {
                text.push_str(&format!("  assumes: {a}\n"));
            }
            text.push_str(&format!(
                "  ledger {}: dataset `{dataset}` has ε = {:.4}, δ = {} left\n",
                args.ledger.display(),
                left.epsilon,
                fmt_delta(left.delta)
            ));
            output::write_output(None, text.as_bytes())?;
        }
    }
    let clipped: Vec<String> = release
        .noise
        .iter()
        .filter(|n| n.clipped > 0)
        .map(|n| format!("{}: {} value(s)", n.statistic, n.clipped))
        .collect();
    if !clipped.is_empty() {
        eprintln!(
            "note: clipped to the bounds: {} (for you only: this count is not differentially private; do not publish it)",
            clipped.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt_delta(d: f64) -> String {
    if d == 0.0 {
        "0".into()
    } else {
        format!("{d:e}")
    }
}

// ---------------------------------------------------------------- kanon

#[derive(Serialize)]
struct KanonJson<'a> {
    file: &'a str,
    quasi_identifiers: &'a [String],
    sensitive: Option<&'a str>,
    k: usize,
    l: Option<usize>,
    ok: bool,
    suggestion: &'a kanon::Suggestion,
}

fn run_kanon(args: KanonArgs) -> Result<ExitCode, String> {
    let config = match &args.config {
        Some(p) => read_config(p)?.0,
        None => Config::default(),
    };
    let settings = &config.privacy;
    let quasi_names = if args.quasi.is_empty() {
        settings.quasi_identifiers.clone()
    } else {
        args.quasi.clone()
    };
    if quasi_names.is_empty() {
        return Err("no quasi-identifiers: give --quasi age,zip,gender or set `[privacy] quasi_identifiers` in the config".into());
    }
    let sensitive_name = args
        .sensitive
        .clone()
        .or_else(|| settings.sensitive.clone());
    let k = args.k.or(settings.k).unwrap_or(5);
    if k < 1 {
        return Err("--k must be at least 1".into());
    }
    let l = sensitive_name
        .as_ref()
        .map(|_| args.l.or(settings.l).unwrap_or(2));
    if !(0.0..1.0).contains(&args.max_suppress) {
        return Err("--max-suppress is a share of rows: 0 or more, below 1".into());
    }
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let raw = load_raw(
        &engine,
        file_of(&args.data),
        Path::new(""),
        &stem(&args.data),
    )?;
    let mut quasi = Vec::new();
    for q in &quasi_names {
        quasi.push(Quasi::new(q, raw.column(q)?.to_vec(), k));
    }
    let sensitive = match &sensitive_name {
        Some(s) => Some(raw.column(s)?),
        None => None,
    };
    let suggestion = kanon::suggest(&quasi, sensitive, k, l.unwrap_or(1), args.max_suppress);
    let ok = suggestion.initial.rows_to_suppress == 0;
    if let Some(out) = &args.out {
        let generalized = kanon::generalized_columns(&quasi, &suggestion.levels);
        let failing = kanon::failing_rows(&quasi, &suggestion.levels, sensitive, k, l.unwrap_or(1));
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(raw.names()).map_err(|e| e.to_string())?;
        for i in (0..raw.rows()).filter(|i| !failing[*i]) {
            let record: Vec<String> = raw
                .columns
                .iter()
                .map(|(name, values)| match generalized.get(name) {
                    Some(g) => g[i].clone(),
                    None => values[i].clone().unwrap_or_default(),
                })
                .collect();
            csv.write_record(&record).map_err(|e| e.to_string())?;
        }
        output::write_atomic(out, &csv.into_inner().map_err(|e| e.to_string())?)?;
    }
    match args.format {
        Format::Json => {
            let json = KanonJson {
                file: &raw.origin,
                quasi_identifiers: &quasi_names,
                sensitive: sensitive_name.as_deref(),
                k,
                l,
                ok,
                suggestion: &suggestion,
            };
            let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
            output::write_output(None, format!("{text}\n").as_bytes())?;
        }
        Format::Table => {
            let a = &suggestion.initial;
            let mut text = format!(
                "{}: {} rows; quasi-identifiers {}{}\n",
                raw.origin,
                a.rows,
                quasi_names.join(", "),
                sensitive_name
                    .as_ref()
                    .map(|s| format!("; sensitive {s}"))
                    .unwrap_or_default()
            );
            text.push_str(&format!(
                "  {} classes, smallest {} rows; {} rows in {} classes below k = {k}\n",
                a.classes, a.smallest_class, a.rows_below_k, a.classes_below_k
            ));
            if let (Some(l), Some(d)) = (l, a.smallest_diversity) {
                text.push_str(&format!(
                    "  fewest distinct sensitive values in a class: {d}; {} rows in {} classes below l = {l}\n",
                    a.rows_below_l, a.classes_below_l
                ));
            }
            if ok {
                text.push_str(&format!(
                    "  k-anonymous{}: nothing to generalize\n",
                    if l.is_some() { " and l-diverse" } else { "" }
                ));
            } else {
                text.push_str(&format!(
                    "  as it is, {} rows ({:.1}%) would need suppression\n",
                    a.rows_to_suppress,
                    100.0 * a.rows_to_suppress as f64 / a.rows.max(1) as f64
                ));
                let mut t = output::table();
                t.set_header([
                    "step",
                    "generalize",
                    "classes",
                    "smallest class",
                    "rows to suppress",
                ]);
                for (i, s) in suggestion.steps.iter().enumerate() {
                    t.add_row([
                        (i + 1).to_string(),
                        format!("{}: {}", s.column, s.description),
                        s.classes.to_string(),
                        s.smallest_class.to_string(),
                        s.rows_to_suppress.to_string(),
                    ]);
                }
                text.push_str(&format!("Greedy generalization:\n{t}\n"));
                let r = &suggestion.result;
                text.push_str("Suggestion:\n");
                for (c, what) in &suggestion.generalization {
                    text.push_str(&format!("  {c}: {what}\n"));
                }
                text.push_str(&format!(
                    "  → {} classes, smallest {}; {} rows to suppress{}\n",
                    r.classes,
                    r.smallest_class,
                    r.rows_to_suppress,
                    if suggestion.achieved {
                        String::new()
                    } else {
                        " (k not reached even with every quasi-identifier removed)".into()
                    }
                ));
                if let Some(out) = &args.out {
                    text.push_str(&format!(
                        "  wrote the generalized table ({} rows) to {}\n",
                        a.rows - r.rows_to_suppress,
                        out.display()
                    ));
                }
            }
            output::write_output(None, text.as_bytes())?;
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
