//! `adroit report RUN_DIR`: one self-contained `report.html` of a run folder. The door
//! reads the folder with `adroit_report::load`, renders with the pure
//! `adroit_report::render`, writes atomically and prints the path.

use crate::output;
use adroit_report::Lang;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The run folder (`adroit run --out RUN_DIR`): run.json and the stages' result files.
    pub run_dir: PathBuf,
    /// Language of the labels: en or zh.
    #[arg(long, default_value = "en", value_parser = parse_lang)]
    pub lang: Lang,
    /// Where to write the report (default RUN_DIR/report.html).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
}

pub fn run(args: ReportArgs) -> Result<ExitCode, String> {
    match write(&args.run_dir, args.lang, args.out) {
        Ok(out) => {
            println!("{}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Loads, renders and writes the report of `run_dir`; returns where it went.
fn write(run_dir: &Path, lang: Lang, out: Option<PathBuf>) -> Result<PathBuf, String> {
    let data = adroit_report::load(run_dir).map_err(|e| e.to_string())?;
    let html = adroit_report::render(&data, lang);
    let out = out.unwrap_or_else(|| run_dir.join("report.html"));
    output::write_atomic(&out, html.as_bytes())?;
    Ok(out)
}

/// The report of a run folder for `adroit run` and `adroit demo` (`lang`: en or zh).
pub fn write_report(run_dir: &Path, lang: &str, out: Option<PathBuf>) -> Result<PathBuf, String> {
    write(run_dir, parse_lang(lang)?, out)
}
