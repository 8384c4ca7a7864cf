//! The only I/O of the report: read a run folder's files into [`RunData`].
//!
//! Every stage folder may be absent (the stage was not enabled, or failed); a missing
//! optional file is `None`, never an error. A file that exists but cannot be read or
//! parsed is an error naming the file (relative to the run folder) and what was
//! expected. Structs are local and lenient (`#[serde(default)]`, `Option`), so new
//! fields in the producers' files do not break the report.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a run folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("run folder {0} does not exist")]
    Missing(PathBuf),
    #[error("{0} is not a folder (give the RUN_DIR that `adroit run --out` wrote)")]
    NotADir(PathBuf),
    #[error(
        "{0} is not a run folder: it has no run.json and none of the files a run writes ({known})",
        known = KNOWN_FILES.join(", ")
    )]
    NotARun(PathBuf),
    #[error("cannot read {file}: {message}")]
    Read { file: String, message: String },
    #[error("cannot parse {file}: expected {expected}: {message}")]
    Parse {
        file: String,
        expected: &'static str,
        message: String,
    },
}

/// The result files the report reads, relative to the run folder.
pub const KNOWN_FILES: &[&str] = &[
    "check/check.json",
    "metrics/metrics.json",
    "text/analysis.csv",
    "text/trends.csv",
    "text/topics.json",
    "attribution/attribution.json",
    "mmm/result.json",
    "mmm/decomposition.csv",
    "mmm/curves.csv",
    "mmm/allocation.json",
    "customers/customers.csv",
    "clv/clv_model.json",
    "clv/predictions.csv",
    "uplift/uplift.json",
    "fairness/fairness.json",
];

/// Everything the report shows, read from one run folder.
#[derive(Debug, Clone, Default)]
pub struct RunData {
    /// `run.json`; a default (empty) one when the folder has none.
    pub run: RunInfo,
    pub check: Option<Check>,
    pub metrics: Option<Metrics>,
    pub text: Option<TextData>,
    pub attribution: Option<Attribution>,
    pub mmm: Option<MmmResult>,
    pub decomposition: Option<NumTable>,
    pub curves: Vec<CurvePoint>,
    pub allocation: Option<Allocation>,
    pub customers: Option<Vec<Customer>>,
    pub clv_model: Option<serde_json::Value>,
    pub predictions: Option<Vec<Prediction>>,
    pub uplift: Option<Uplift>,
    pub fairness: Option<Fairness>,
    /// Paragraphs of an LLM-written summary that passed [`crate::narrative::check`]
    /// (set by the door; never read from the folder).
    pub narrative: Vec<String>,
}

/// A field's value, or its default when it is `null` (as well as when it is absent).
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

// ---------------------------------------------------------------- run.json

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunInfo {
    #[serde(deserialize_with = "null_default")]
    pub format: String,
    #[serde(deserialize_with = "null_default")]
    pub project: String,
    #[serde(deserialize_with = "null_default")]
    pub currency: String,
    #[serde(deserialize_with = "null_default")]
    pub config_path: String,
    #[serde(deserialize_with = "null_default")]
    pub adroit_version: String,
    #[serde(deserialize_with = "null_default")]
    pub started: String,
    #[serde(deserialize_with = "null_default")]
    pub finished: String,
    #[serde(deserialize_with = "null_default")]
    pub data: Vec<DataFile>,
    #[serde(deserialize_with = "null_default")]
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DataFile {
    #[serde(deserialize_with = "null_default")]
    pub table: String,
    #[serde(deserialize_with = "null_default")]
    pub path: String,
    pub bytes: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Stage {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// ran | cached | skipped | failed
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    pub reason: Option<String>,
    pub seconds: Option<f64>,
    #[serde(deserialize_with = "null_default")]
    pub outputs: Vec<String>,
}

// ---------------------------------------------------------------- check

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Check {
    #[serde(deserialize_with = "null_default")]
    pub errors: u64,
    #[serde(deserialize_with = "null_default")]
    pub warnings: u64,
    #[serde(deserialize_with = "null_default")]
    pub findings: Vec<Finding>,
    #[serde(deserialize_with = "null_default")]
    pub tables: Vec<TableSummary>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Finding {
    #[serde(deserialize_with = "null_default")]
    pub severity: String,
    #[serde(deserialize_with = "null_default")]
    pub rule: String,
    #[serde(deserialize_with = "null_default")]
    pub table: String,
    #[serde(deserialize_with = "null_default")]
    pub file: String,
    pub column: Option<String>,
    pub channel: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub message: String,
    pub suggestion: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TableSummary {
    #[serde(deserialize_with = "null_default")]
    pub table: String,
    #[serde(deserialize_with = "null_default")]
    pub file: String,
    pub rows: Option<f64>,
    pub grain: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub dates: Vec<String>,
}

// ---------------------------------------------------------------- metrics

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Metrics {
    pub by: Option<String>,
    pub grain: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub rows: Vec<MetricRow>,
    #[serde(deserialize_with = "null_default")]
    pub totals: Vec<MetricRow>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MetricRow {
    #[serde(deserialize_with = "null_default")]
    pub group: String,
    pub period: Option<String>,
    pub spend: Option<f64>,
    pub impressions: Option<f64>,
    pub clicks: Option<f64>,
    pub conversions: Option<f64>,
    pub revenue: Option<f64>,
    pub ctr: Option<f64>,
    pub cpc: Option<f64>,
    pub cpm: Option<f64>,
    pub cvr: Option<f64>,
    pub cpa: Option<f64>,
    pub roas: Option<f64>,
    pub roi: Option<f64>,
}

// ---------------------------------------------------------------- text

#[derive(Debug, Clone, Default)]
pub struct TextData {
    /// Sentiment label counts over `text/analysis.csv` (label → texts).
    pub sentiment_counts: BTreeMap<String, u64>,
    /// `text/trends.csv`: weekly series by column.
    pub trends: Option<NumTable>,
    pub topics: Option<Topics>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Topics {
    #[serde(deserialize_with = "null_default")]
    pub topics: Vec<Topic>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Topic {
    pub id: Option<f64>,
    pub name: Option<String>,
    pub size: Option<f64>,
    pub weight_share: Option<f64>,
    /// `[term, weight]` pairs.
    #[serde(deserialize_with = "null_default")]
    pub terms: Vec<(String, f64)>,
    #[serde(deserialize_with = "null_default")]
    pub representative: Vec<Quote>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Quote {
    pub id: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub text: String,
}

// ---------------------------------------------------------------- attribution

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Attribution {
    #[serde(deserialize_with = "null_default")]
    pub input: AttributionInput,
    #[serde(deserialize_with = "null_default")]
    pub settings: AttributionSettings,
    #[serde(deserialize_with = "null_default")]
    pub channels: Vec<AttributionChannel>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttributionInput {
    pub journeys: Option<f64>,
    pub conversions: Option<f64>,
    pub value: Option<f64>,
    pub unattributed_conversions: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttributionSettings {
    #[serde(deserialize_with = "null_default")]
    pub models: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttributionChannel {
    #[serde(deserialize_with = "null_default")]
    pub channel: String,
    #[serde(deserialize_with = "null_default")]
    pub conversions: BTreeMap<String, Option<f64>>,
    #[serde(deserialize_with = "null_default")]
    pub value: BTreeMap<String, Option<f64>>,
    pub removal_effect: Option<f64>,
    pub spend: Option<f64>,
}

// ---------------------------------------------------------------- mmm

/// A figure with its interval.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct Interval {
    pub value: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MmmResult {
    #[serde(deserialize_with = "null_default")]
    pub format: String,
    pub kpi: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub dates: Vec<String>,
    pub periods: Option<f64>,
    pub kpi_total: Option<f64>,
    pub intercept: Option<f64>,
    #[serde(deserialize_with = "null_default")]
    pub channels: Vec<MmmChannel>,
    #[serde(deserialize_with = "null_default")]
    pub terms: Vec<Term>,
    #[serde(deserialize_with = "null_default")]
    pub diagnostics: Diagnostics,
    #[serde(deserialize_with = "null_default")]
    pub search: Search,
    /// Bayesian fits only: the sampler's run and diagnostics.
    pub bayes: Option<Bayes>,
}

/// The `bayes` section of a Bayesian `result.json` (what the report shows of it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Bayes {
    pub sampler: Option<String>,
    pub seconds: Option<f64>,
    pub max_rhat: Option<f64>,
    pub min_ess_bulk: Option<f64>,
    pub min_ess_tail: Option<f64>,
    pub divergences: Option<f64>,
    #[serde(deserialize_with = "null_default")]
    pub bfmi: Vec<Option<f64>>,
    #[serde(deserialize_with = "null_default")]
    pub warnings: Vec<String>,
    pub geo: Option<BayesGeo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BayesGeo {
    #[serde(deserialize_with = "null_default")]
    pub geos: Vec<serde_json::Value>,
    #[serde(deserialize_with = "null_default")]
    pub curve_error: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MmmChannel {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    pub spend: Option<f64>,
    pub spend_share: Option<f64>,
    #[serde(deserialize_with = "null_default")]
    pub contribution: Interval,
    #[serde(deserialize_with = "null_default")]
    pub effect_share: Interval,
    pub roas: Option<Interval>,
    pub mroas: Option<Interval>,
    pub cpa: Option<Interval>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Term {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub kind: String,
    pub contribution: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Errors {
    pub nrmse: Option<f64>,
    pub mape: Option<f64>,
    pub r2: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Diagnostics {
    #[serde(deserialize_with = "null_default")]
    pub train: Errors,
    pub adjusted_r2: Option<f64>,
    pub decomp_rssd: Option<f64>,
    pub holdout: Option<Errors>,
    pub residual_acf1: Option<f64>,
    pub durbin_watson: Option<f64>,
    #[serde(deserialize_with = "null_default")]
    pub lift_tests: Vec<LiftTest>,
    #[serde(deserialize_with = "null_default")]
    pub vif: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LiftTest {
    #[serde(deserialize_with = "null_default")]
    pub label: String,
    #[serde(deserialize_with = "null_default")]
    pub channel: String,
    pub measured: Option<f64>,
    pub predicted: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Search {
    pub trials: Option<f64>,
    pub evaluations: Option<f64>,
    pub reason: Option<String>,
    #[serde(deserialize_with = "null_default")]
    pub front: Vec<FrontPoint>,
    pub selected: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FrontPoint {
    pub nrmse: Option<f64>,
    pub decomp_rssd: Option<f64>,
}

/// One row of `mmm/curves.csv` with `curve = response`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CurvePoint {
    #[serde(deserialize_with = "null_default")]
    pub channel: String,
    #[serde(deserialize_with = "null_default")]
    pub curve: String,
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub marginal: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Allocation {
    pub periods: Option<f64>,
    #[serde(deserialize_with = "null_default")]
    pub objective: serde_json::Value,
    #[serde(deserialize_with = "null_default")]
    pub channels: Vec<AllocationChannel>,
    pub total_spend: Option<f64>,
    pub total_response: Option<f64>,
    pub current_spend: Option<f64>,
    pub current_response: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AllocationChannel {
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    pub current_spend: Option<f64>,
    pub optimal_spend: Option<f64>,
    pub current_response: Option<f64>,
    pub optimal_response: Option<f64>,
    pub current_roas: Option<f64>,
    pub optimal_roas: Option<f64>,
    pub marginal_roas: Option<f64>,
    pub binding: Option<String>,
    pub reason: Option<String>,
}

// ---------------------------------------------------------------- customers, clv

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Customer {
    #[serde(deserialize_with = "null_default")]
    pub customer_id: String,
    pub frequency: Option<f64>,
    pub recency: Option<f64>,
    pub monetary_value: Option<f64>,
    pub spend: Option<f64>,
    #[serde(deserialize_with = "null_default")]
    pub segment: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Prediction {
    #[serde(deserialize_with = "null_default")]
    pub customer_id: String,
    pub probability_alive: Option<f64>,
    pub expected_purchases: Option<f64>,
    pub clv: Option<f64>,
}

// ---------------------------------------------------------------- fairness

/// `fairness/fairness.json` ("adroit-fairness v1"): the bias audit of the targeting.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Fairness {
    pub pass: Option<bool>,
    #[serde(deserialize_with = "null_default")]
    pub limits: FairnessLimits,
    #[serde(deserialize_with = "null_default")]
    pub attributes: Vec<FairnessAttribute>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FairnessLimits {
    pub max_gap: Option<f64>,
    pub min_disparate_impact: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FairnessAttribute {
    #[serde(deserialize_with = "null_default")]
    pub column: String,
    #[serde(deserialize_with = "null_default")]
    pub groups: Vec<FairnessGroup>,
    pub demographic_parity_difference: Option<f64>,
    pub equal_opportunity_difference: Option<f64>,
    pub disparate_impact_ratio: Option<f64>,
    #[serde(deserialize_with = "null_default")]
    pub failures: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FairnessGroup {
    #[serde(deserialize_with = "null_default")]
    pub group: String,
    pub rows: Option<f64>,
    pub positive_rate: Option<f64>,
    pub tpr: Option<f64>,
    pub fpr: Option<f64>,
}

// ---------------------------------------------------------------- uplift

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Uplift {
    pub rows_used: Option<f64>,
    pub average_effect: Option<Effect>,
    #[serde(deserialize_with = "null_default")]
    pub holdout: UpliftHoldout,
    pub targeting: Option<Targeting>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Effect {
    pub treated_mean: Option<f64>,
    pub control_mean: Option<f64>,
    pub effect: Option<f64>,
    pub std_error: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UpliftHoldout {
    pub rows: Option<f64>,
    pub qini_coefficient: Option<f64>,
    pub auuc: Option<f64>,
    pub qini_curve: Option<GainCurve>,
    #[serde(deserialize_with = "null_default")]
    pub deciles: Vec<Decile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GainCurve {
    #[serde(deserialize_with = "null_default")]
    pub curve: Xy,
    #[serde(deserialize_with = "null_default")]
    pub random: Xy,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Xy {
    #[serde(deserialize_with = "null_default")]
    pub x: Vec<f64>,
    #[serde(deserialize_with = "null_default")]
    pub y: Vec<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Decile {
    #[serde(deserialize_with = "null_default")]
    pub percentile: String,
    pub n_treatment: Option<f64>,
    pub n_control: Option<f64>,
    pub response_rate_treatment: Option<f64>,
    pub response_rate_control: Option<f64>,
    pub uplift: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Targeting {
    pub customers: Option<f64>,
    pub contacted: Option<f64>,
    pub expected_profit: Option<f64>,
    pub contact_everyone_profit: Option<f64>,
}

// ---------------------------------------------------------------- generic CSV

/// A CSV whose first column is a key (a date) and whose other columns are numbers.
#[derive(Debug, Clone, Default)]
pub struct NumTable {
    pub key: String,
    pub keys: Vec<String>,
    pub columns: Vec<String>,
    /// `values[c][r]`: column `c`, row `r`; empty or unparsable cells are `None`.
    pub values: Vec<Vec<Option<f64>>>,
}

impl NumTable {
    pub fn column(&self, name: &str) -> Option<&[Option<f64>]> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(&self.values[i])
    }
}

// ---------------------------------------------------------------- loading

/// Read a run folder. Fails on a missing folder, on a folder that is not a run (no
/// `run.json` and no known result file), and on a file that exists but is malformed.
pub fn load(dir: &Path) -> Result<RunData, LoadError> {
    if !dir.exists() {
        return Err(LoadError::Missing(dir.to_path_buf()));
    }
    if !dir.is_dir() {
        return Err(LoadError::NotADir(dir.to_path_buf()));
    }
    let has_run = dir.join("run.json").is_file();
    if !has_run && !KNOWN_FILES.iter().any(|f| dir.join(f).is_file()) {
        return Err(LoadError::NotARun(dir.to_path_buf()));
    }
    let r = Reader { dir };
    let run: RunInfo = r
        .json("run.json", "a run description (format \"adroit-run v1\")")?
        .unwrap_or_default();

    let text = {
        let sentiment_counts = r.sentiment_counts("text/analysis.csv")?;
        let trends = r.num_table("text/trends.csv")?;
        let topics: Option<Topics> = r.json(
            "text/topics.json",
            "text topics ({\"topics\": [{terms, size, representative}]})",
        )?;
        if sentiment_counts.is_none() && trends.is_none() && topics.is_none() {
            None
        } else {
            Some(TextData {
                sentiment_counts: sentiment_counts.unwrap_or_default(),
                trends,
                topics,
            })
        }
    };

    Ok(RunData {
        run,
        check: r.json(
            "check/check.json",
            "a data-quality report ({findings, tables})",
        )?,
        metrics: r.json("metrics/metrics.json", "channel metrics ({rows, totals})")?,
        text,
        attribution: r.json(
            "attribution/attribution.json",
            "an attribution result ({channels: [{channel, conversions: {model: n}}]})",
        )?,
        mmm: r.json(
            "mmm/result.json",
            "an MMM result (\"adroit-mmm-result v1\")",
        )?,
        decomposition: r.num_table("mmm/decomposition.csv")?,
        curves: r
            .csv_rows::<CurvePoint>("mmm/curves.csv", "columns channel,curve,x,y,marginal")?
            .unwrap_or_default(),
        allocation: r.json(
            "mmm/allocation.json",
            "a budget allocation ({channels: [{name, current_spend, optimal_spend}]})",
        )?,
        customers: r.csv_rows(
            "customers/customers.csv",
            "columns customer_id,frequency,monetary_value,spend,segment",
        )?,
        clv_model: r.json("clv/clv_model.json", "a CLV model (JSON)")?,
        predictions: r.csv_rows("clv/predictions.csv", "columns customer_id,clv,…")?,
        uplift: r.json(
            "uplift/uplift.json",
            "an uplift result ({holdout: {qini_curve}})",
        )?,
        fairness: r.json(
            "fairness/fairness.json",
            "a bias audit ({pass, attributes: [{column, groups}]})",
        )?,
        narrative: Vec::new(),
    })
}

struct Reader<'a> {
    dir: &'a Path,
}

impl Reader<'_> {
    /// The file's bytes, `None` when it does not exist.
    fn bytes(&self, rel: &str) -> Result<Option<Vec<u8>>, LoadError> {
        let path = self.dir.join(rel);
        if !path.exists() {
            return Ok(None);
        }
        std::fs::read(&path).map(Some).map_err(|e| LoadError::Read {
            file: rel.to_string(),
            message: e.to_string(),
        })
    }

    fn json<T: DeserializeOwned>(
        &self,
        rel: &str,
        expected: &'static str,
    ) -> Result<Option<T>, LoadError> {
        let Some(bytes) = self.bytes(rel)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| LoadError::Parse {
                file: rel.to_string(),
                expected,
                message: e.to_string(),
            })
    }

    fn csv_rows<T: DeserializeOwned>(
        &self,
        rel: &str,
        expected: &'static str,
    ) -> Result<Option<Vec<T>>, LoadError> {
        let Some(bytes) = self.bytes(rel)? else {
            return Ok(None);
        };
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(bytes.as_slice());
        let mut out = Vec::new();
        for row in rdr.deserialize::<T>() {
            out.push(row.map_err(|e| LoadError::Parse {
                file: rel.to_string(),
                expected,
                message: e.to_string(),
            })?);
        }
        Ok(Some(out))
    }

    fn num_table(&self, rel: &str) -> Result<Option<NumTable>, LoadError> {
        let Some(bytes) = self.bytes(rel)? else {
            return Ok(None);
        };
        let err = |message: String| LoadError::Parse {
            file: rel.to_string(),
            expected: "a CSV with a date column then numeric columns",
            message,
        };
        let mut rdr = csv::Reader::from_reader(bytes.as_slice());
        let headers = rdr.headers().map_err(|e| err(e.to_string()))?.clone();
        if headers.len() < 2 {
            return Err(err(format!("{} column(s) in the header", headers.len())));
        }
        let mut t = NumTable {
            key: headers[0].to_string(),
            columns: headers.iter().skip(1).map(str::to_string).collect(),
            values: vec![Vec::new(); headers.len() - 1],
            keys: Vec::new(),
        };
        for rec in rdr.records() {
            let rec = rec.map_err(|e| err(e.to_string()))?;
            t.keys.push(rec.get(0).unwrap_or_default().to_string());
            for (c, col) in t.values.iter_mut().enumerate() {
                let v = rec
                    .get(c + 1)
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .filter(|v| v.is_finite());
                col.push(v);
            }
        }
        Ok(Some(t))
    }

    /// Sentiment labels of `text/analysis.csv`, which is JSON lines (one analysis per
    /// line) or a CSV with a `sentiment` or `sentiment_label` column.
    fn sentiment_counts(&self, rel: &str) -> Result<Option<BTreeMap<String, u64>>, LoadError> {
        let Some(bytes) = self.bytes(rel)? else {
            return Ok(None);
        };
        let mut counts = BTreeMap::new();
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if first == Some(b'{') {
            #[derive(Deserialize, Default)]
            #[serde(default)]
            struct Line {
                sentiment: Option<Label>,
            }
            #[derive(Deserialize, Default)]
            #[serde(default)]
            struct Label {
                label: Option<String>,
            }
            for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let l: Line = serde_json::from_slice(line).map_err(|e| LoadError::Parse {
                    file: rel.to_string(),
                    expected: "one JSON analysis per line",
                    message: format!("line {}: {e}", i + 1),
                })?;
                if let Some(label) = l.sentiment.and_then(|s| s.label) {
                    *counts.entry(label).or_insert(0) += 1;
                }
            }
        } else {
            let mut rdr = csv::Reader::from_reader(bytes.as_slice());
            let headers = rdr
                .headers()
                .map_err(|e| LoadError::Parse {
                    file: rel.to_string(),
                    expected: "a CSV with a sentiment label column",
                    message: e.to_string(),
                })?
                .clone();
            let col = headers
                .iter()
                .position(|h| h == "sentiment_label")
                .or_else(|| headers.iter().position(|h| h == "sentiment"));
            if let Some(col) = col {
                for rec in rdr.records() {
                    let rec = rec.map_err(|e| LoadError::Parse {
                        file: rel.to_string(),
                        expected: "a CSV with a sentiment label column",
                        message: e.to_string(),
                    })?;
                    if let Some(label) = rec.get(col).filter(|s| !s.is_empty()) {
                        *counts.entry(label.to_string()).or_insert(0) += 1;
                    }
                }
            }
        }
        Ok(Some(counts))
    }
}
