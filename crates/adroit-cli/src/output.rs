//! Shared pieces of the door: config loading, progress display, atomic writes,
//! number formatting.

use adroit_config::Config;
use adroit_data::Stage;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the tables come from: a config file, single-table flags, or both (flags
/// replace the config's file for that table).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Sources {
    /// The adroit.toml that maps your files onto the contract tables.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// A long media table with the contract's column names (date, channel, spend, …).
    #[arg(long)]
    pub media: Option<PathBuf>,
    /// A KPI table with the contract's column names (date, revenue).
    #[arg(long)]
    pub kpi: Option<PathBuf>,
    /// A touchpoints table (user_id, timestamp, channel, …).
    #[arg(long)]
    pub touchpoints: Option<PathBuf>,
    /// A transactions table (customer_id, timestamp, amount, …).
    #[arg(long)]
    pub transactions: Option<PathBuf>,
    /// A texts table (id, timestamp, text, …).
    #[arg(long)]
    pub texts: Option<PathBuf>,
    /// An experiments table (channel, start, end, lift, spend, …).
    #[arg(long)]
    pub experiments: Option<PathBuf>,
    /// A campaign responses table (customer_id, treatment, outcome, features…).
    #[arg(long)]
    pub campaign_responses: Option<PathBuf>,
}

/// Reads the config (if any), applies single-table flags, and returns it with the
/// folder its relative paths start from.
pub fn resolve_sources(sources: &Sources) -> Result<(Config, PathBuf), String> {
    let (mut config, base) = match &sources.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
            let config = Config::from_toml_str(&text, &path.display().to_string())
                .map_err(|e| e.to_string())?;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (config, base)
        }
        None => (Config::default(), PathBuf::new()),
    };
    let cwd_path = |p: &Path| -> Result<String, String> {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().map_err(|e| e.to_string())?.join(p)
        };
        Ok(abs.display().to_string())
    };
    let flags = [
        ("media", &sources.media),
        ("kpi", &sources.kpi),
        ("touchpoints", &sources.touchpoints),
        ("transactions", &sources.transactions),
        ("texts", &sources.texts),
        ("experiments", &sources.experiments),
        ("campaign_responses", &sources.campaign_responses),
    ];
    for (table, path) in flags {
        if let Some(path) = path {
            config = config
                .with_table_file(table, &cwd_path(path)?)
                .map_err(|e| e.to_string())?;
        }
    }
    if config.configured_tables().is_empty() {
        return Err("no tables to load: give --config adroit.toml (see examples/adroit.toml) or a table such as --media FILE".into());
    }
    Ok((config, base))
}

/// A spinner on stderr when it is a terminal; silent otherwise.
pub struct Progress(ProgressBar);

impl Progress {
    pub fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        if std::io::stderr().is_terminal() {
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("static template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
        } else {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        Self(bar)
    }

    pub fn stage(&self, stage: Stage) {
        self.0.set_message(match stage {
            Stage::Loading {
                table,
                index,
                total,
            } => format!("loading {table} ({}/{total})", index + 1),
            Stage::Validating { table } => format!("validating {table}"),
        });
    }

    /// Shows a free-form step (model training, tuning trials).
    pub fn message(&self, text: impl Into<String>) {
        self.0.set_message(text.into());
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Writes to `path` atomically (a temporary file in the same folder, then a rename),
/// or to stdout when `path` is `None` or `-`.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<(), String> {
    match path {
        None => write_stdout(bytes),
        Some(p) if p == Path::new("-") => write_stdout(bytes),
        Some(p) => write_atomic(p, bytes),
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write to stdout: {e}")),
    }
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut builder = tempfile::Builder::new();
    // Results are ordinary files (rw-r--r--), not private like a temporary file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder
        .tempfile_in(&dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    tmp.write_all(bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

/// A number for tables: thousands separators, sensible decimals; empty when absent.
pub fn num(v: Option<f64>, decimals: usize) -> String {
    let Some(v) = v else { return String::new() };
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A ratio as a percentage with one decimal; empty when absent.
pub fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:+.1}%", v * 100.0)).unwrap_or_default()
}

/// A rate (CTR, CVR) as a plain percentage.
pub fn rate(v: Option<f64>) -> String {
    v.map(|v| format!("{:.2}%", v * 100.0)).unwrap_or_default()
}

/// A table sized for the terminal; unwrapped when output is not one (files, pipes).
pub fn table() -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    use comfy_table::{LineStyle, TableStyle};
    // A rule under the header and around the table; none between rows.
    const STYLE: TableStyle = TableStyle::new()
        .top_border(LineStyle::none().fill('─').junction('─'))
        .header_separator(LineStyle::none().fill('─').junction('─'))
        .bottom_border(LineStyle::none().fill('─').junction('─'));
    t.load_style(STYLE);
    if std::io::stdout().is_terminal() {
        t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    }
    t
}

/// A table's loading errors, at most ten, one line each, for a command that cannot go on.
pub fn describe_errors<'a>(
    table: &str,
    errors: impl IntoIterator<Item = &'a adroit_data::Finding>,
) -> String {
    let errors: Vec<&adroit_data::Finding> = errors.into_iter().collect();
    let mut msg = format!(
        "the {table} table has errors; fix them first (adroit check shows the full report):"
    );
    for f in errors.iter().take(10) {
        let column = f
            .column
            .as_ref()
            .map(|c| format!("column `{c}` "))
            .unwrap_or_default();
        msg.push_str(&format!(
            "\n  {} {column}{}: {}",
            f.file,
            f.where_text(),
            f.message
        ));
    }
    if errors.len() > 10 {
        msg.push_str(&format!("\n  … and {} more", errors.len() - 10));
    }
    msg
}

/// Loads one contract table of a config through the project loader, showing the stage
/// on the spinner. `Err` holds the loader's error findings as one message (the data
/// has errors: the callers exit 1 with it), so every door that reads a single table
/// refuses bad data the same way.
pub fn load_contract_table(
    engine: &adroit_data::Engine,
    config: &Config,
    base: &Path,
    spec: &adroit_data::TableSpec,
    progress: &Progress,
) -> Result<adroit_data::Table, String> {
    progress.stage(Stage::Loading {
        table: spec.table,
        index: 0,
        total: 1,
    });
    let loaded = adroit_data::load_table(
        engine,
        spec,
        adroit_data::LoadOptions {
            base,
            validation: &config.validation,
            cleaning: &config.cleaning,
        },
    );
    let errors: Vec<&adroit_data::Finding> = loaded
        .findings
        .iter()
        .filter(|f| f.severity == adroit_data::Severity::Error)
        .collect();
    match loaded.table {
        Some(t) if errors.is_empty() => Ok(t),
        _ => Err(describe_errors(spec.table, errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(num(Some(1234567.891), 2), "1,234,567.89");
        assert_eq!(num(Some(-1234.0), 0), "-1,234");
        assert_eq!(num(Some(-0.001), 2), "0.00");
        assert_eq!(num(None, 2), "");
        assert_eq!(pct(Some(0.123)), "+12.3%");
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }
}
