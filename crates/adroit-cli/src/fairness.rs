//! `adroit fairness`: the bias audit of any selection — a targeting list, a propensity
//! model's decisions — across the groups of sensitive columns: selection rate per group,
//! TPR and FPR when the truth is known, the demographic-parity and equal-opportunity
//! differences and the disparate-impact ratio, held to limits (flags or `[fairness]`).
//! The audit itself is `adroit_learn::fairness`.

use crate::output;
use adroit_data::Engine;
use adroit_learn::data::Frame;
use adroit_learn::fairness::{self, FairnessReport, Limits};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct FairnessArgs {
    /// The selection: one row per person (e.g. `uplift/targeting.csv`).
    #[arg(long)]
    pub data: PathBuf,
    /// The column saying who is selected.
    #[arg(long)]
    pub selected: String,
    /// The value of --selected that means selected (default: 1, true or yes).
    #[arg(long)]
    pub selected_value: Option<String>,
    /// Sensitive columns whose groups are compared, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub group: Vec<String>,
    /// A file holding the sensitive columns when --data lacks them (e.g. the campaign's
    /// customer table), joined on --on.
    #[arg(long, requires = "on")]
    pub groups_from: Option<PathBuf>,
    /// The id column shared by --data and --groups-from.
    #[arg(long)]
    pub on: Option<String>,
    /// The true outcome column (for TPR, FPR and equal opportunity), if known.
    #[arg(long)]
    pub truth: Option<String>,
    /// The value of --truth that means positive (default: 1, true or yes).
    #[arg(long)]
    pub truth_value: Option<String>,
    /// Fail (exit 1) when the parity or equal-opportunity difference exceeds this.
    #[arg(long)]
    pub max_gap: Option<f64>,
    /// Fail (exit 1) when the disparate-impact ratio falls below this (0.8: four-fifths).
    #[arg(long)]
    pub min_disparate_impact: Option<f64>,
    /// fairness.json to write (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `fairness.json`.
#[derive(Serialize)]
struct Audit {
    format: &'static str,
    data: String,
    selected: String,
    limits: Limits,
    pass: bool,
    attributes: Vec<Attribute>,
}

#[derive(Serialize)]
struct Attribute {
    column: String,
    #[serde(flatten)]
    report: FairnessReport,
    failures: Vec<String>,
}

pub fn run(args: FairnessArgs) -> Result<ExitCode, String> {
    match audit(&args) {
        Ok(pass) => Ok(if pass {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Is `value` one of the spellings of "yes" (or `wanted`, when given)?
fn is_positive(value: Option<&str>, wanted: Option<&str>) -> bool {
    match (value, wanted) {
        (Some(v), Some(w)) => v == w,
        (Some(v), None) => matches!(
            v.to_ascii_lowercase().as_str(),
            "1" | "1.0" | "true" | "yes" | "y" | "t"
        ),
        (None, _) => false,
    }
}

fn audit(args: &FairnessArgs) -> Result<bool, String> {
    for (name, v) in [
        ("--max-gap", args.max_gap),
        ("--min-disparate-impact", args.min_disparate_impact),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && (0.0..=1.0).contains(&v))
        {
            return Err(format!("{name} must be between 0 and 1, got {v}"));
        }
    }
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let origin = args.data.display().to_string();
    let frame = crate::frame::load_frame(&engine, &args.data)?;
    let selected: Vec<bool> = crate::frame::strings(&frame, &args.selected, &origin)?
        .iter()
        .map(|v| is_positive(v.as_deref(), args.selected_value.as_deref()))
        .collect();
    if selected.is_empty() {
        return Err(format!("{origin}: no rows to audit"));
    }
    let truth: Option<Vec<bool>> = match &args.truth {
        Some(col) => Some(
            crate::frame::strings(&frame, col, &origin)?
                .iter()
                .map(|v| is_positive(v.as_deref(), args.truth_value.as_deref()))
                .collect(),
        ),
        None => None,
    };
    let lookup = match (&args.groups_from, &args.on) {
        (Some(path), Some(on)) => Some(Lookup::new(&engine, path, on, &args.group)?),
        _ => None,
    };
    let ids = match (&lookup, &args.on) {
        (Some(_), Some(on)) => Some(crate::frame::strings(&frame, on, &origin)?),
        _ => None,
    };
    let limits = Limits {
        max_gap: args.max_gap,
        min_disparate_impact: args.min_disparate_impact,
    };
    let mut attributes = Vec::new();
    for column in &args.group {
        let groups: Vec<String> = match (&lookup, &ids) {
            (Some(lookup), Some(ids)) => lookup.groups(column, ids, &origin)?,
            _ => crate::frame::strings(&frame, column, &origin)?
                .into_iter()
                .map(|v| v.unwrap_or_else(|| "(missing)".into()))
                .collect(),
        };
        let report = fairness::audit_selection(truth.as_deref(), &selected, &groups);
        let failures = report.failures(&limits);
        attributes.push(Attribute {
            column: column.clone(),
            report,
            failures,
        });
    }
    let pass = attributes.iter().all(|a| a.failures.is_empty());
    for a in &attributes {
        print_attribute(a);
    }
    let audit = Audit {
        format: "adroit-fairness v1",
        data: origin,
        selected: args.selected.clone(),
        limits,
        pass,
        attributes,
    };
    if let Some(out) = &args.out {
        let json = serde_json::to_string_pretty(&audit).map_err(|e| e.to_string())? + "\n";
        output::write_atomic(out, json.as_bytes())?;
        eprintln!("wrote {}", out.display());
    }
    if limits.max_gap.is_some() || limits.min_disparate_impact.is_some() {
        println!(
            "{}",
            if pass {
                "pass: every audited attribute is within the limits"
            } else {
                "FAIL: see the failures above"
            }
        );
    }
    Ok(pass)
}

fn print_attribute(a: &Attribute) {
    let mut t = output::table();
    t.set_header(["group", "rows", "selection rate", "TPR", "FPR"]);
    for g in &a.report.groups {
        t.add_row([
            g.group.clone(),
            g.rows.to_string(),
            output::num(Some(g.positive_rate), 4),
            output::num(g.tpr, 4),
            output::num(g.fpr, 4),
        ]);
    }
    println!("selection across `{}`\n{t}", a.column);
    println!(
        "demographic parity difference {} · equal opportunity difference {} · disparate impact ratio {}",
        output::num(Some(a.report.demographic_parity_difference), 4),
        output::num(a.report.equal_opportunity_difference, 4),
        output::num(a.report.disparate_impact_ratio, 4)
    );
    for f in &a.failures {
        println!("  FAIL: {f}");
    }
}

/// The sensitive columns of a second file, by id.
struct Lookup {
    origin: String,
    on: String,
    rows: HashMap<String, usize>,
    frame: Frame,
}

impl Lookup {
    fn new(engine: &Engine, path: &Path, on: &str, columns: &[String]) -> Result<Lookup, String> {
        let origin = path.display().to_string();
        let frame = crate::frame::load_frame(engine, path)?;
        for c in columns {
            crate::frame::column(&frame, c, &origin)?;
        }
        let mut rows = HashMap::new();
        for (i, id) in crate::frame::strings(&frame, on, &origin)?
            .into_iter()
            .enumerate()
        {
            if let Some(id) = id {
                rows.entry(id).or_insert(i);
            }
        }
        Ok(Lookup {
            origin,
            on: on.to_string(),
            rows,
            frame,
        })
    }

    /// The group of every id of the selection; an id missing from the file is an error.
    fn groups(
        &self,
        column: &str,
        ids: &[Option<String>],
        selection: &str,
    ) -> Result<Vec<String>, String> {
        let values = crate::frame::strings(&self.frame, column, &self.origin)?;
        ids.iter()
            .enumerate()
            .map(|(i, id)| {
                let row = id
                    .as_ref()
                    .and_then(|id| self.rows.get(id))
                    .ok_or_else(|| {
                        format!(
                            "{selection} row {}: {} {:?} is not in {}",
                            i + 1,
                            self.on,
                            id.as_deref().unwrap_or(""),
                            self.origin
                        )
                    })?;
                Ok(values[*row].clone().unwrap_or_else(|| "(missing)".into()))
            })
            .collect()
    }
}
