//! `adroit model train|predict|explain|fairness`: the data-mining toolkit's door.
//! Loads files, calls `adroit_learn`, prints tables and writes the model directory.

use crate::frame::load_frame;
use crate::output::{self, num};
use adroit_data::Engine;
use adroit_learn::data::Frame;
use adroit_learn::encode::Unseen;
use adroit_learn::fairness;
use adroit_learn::model::{
    self, Algo, Evaluation, Importance, ModelSpec, Search, Task, TrainedModel,
};
use adroit_learn::ols::OlsFit;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Work allowed for SHAP values when computing importance (about a few seconds).
const SHAP_BUDGET: f64 = 2e9;

#[derive(clap::Args, Debug)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum ModelCommand {
    /// Train (and cross-validate, tune) a model; write model.json, metrics.json, importance.json.
    Train(TrainArgs),
    /// Score new rows with a trained model.
    Predict(PredictArgs),
    /// Per-row SHAP values and global importance (mean |SHAP|, permutation).
    Explain(ExplainArgs),
    /// Fairness of a classifier across the groups of a sensitive column.
    Fairness(FairnessArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskArg {
    Regress,
    Classify,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TuneArg {
    Grid,
    Random,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnseenArg {
    /// A category training never saw is an error naming the row.
    Error,
    /// Encode it as no category (all one-hot columns 0).
    Ignore,
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Training data: CSV, TSV, Parquet or JSON lines with a header.
    #[arg(long)]
    pub data: PathBuf,
    /// The column to predict.
    #[arg(long)]
    pub target: String,
    /// Feature columns (comma-separated); default: every column but the target.
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
    /// Columns to leave out (ids, leaks such as a call's duration).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    #[arg(long, value_enum)]
    pub task: TaskArg,
    /// ols, ridge, lasso, elasticnet (regression); logistic (classification); tree, forest, gbdt (both).
    #[arg(long)]
    pub algo: String,
    /// A setting, e.g. `--param alpha=0.5 --param max_depth=8` (see the printed settings).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// k-fold cross-validation (stratified when classifying).
    #[arg(long)]
    pub cv: Option<usize>,
    /// Tune settings by cross-validation (5 folds unless --cv): every grid point, or --trials random ones.
    #[arg(long, value_enum)]
    pub tune: Option<TuneArg>,
    /// Settings tried by `--tune random`.
    #[arg(long, default_value_t = 10)]
    pub trials: usize,
    /// Labelled rows kept out of training, scored after it.
    #[arg(long)]
    pub holdout: Option<PathBuf>,
    /// Target value that counts as positive (default: 1, yes, true, y or 是).
    #[arg(long)]
    pub positive: Option<String>,
    /// Probability at or above which a row is classified positive.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// What prediction does with categories training never saw (stored in the model).
    #[arg(long, value_enum, default_value = "error")]
    pub unseen: UnseenArg,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Permutation repeats for importance.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// The model directory to write.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// A directory written by `adroit model train`.
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub data: PathBuf,
    /// A column to copy beside each prediction (a customer id).
    #[arg(long)]
    pub id: Option<String>,
    /// Override the model's policy for categories training never saw.
    #[arg(long, value_enum)]
    pub unseen: Option<UnseenArg>,
    /// Predictions CSV to write (stdout when absent or `-`).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub data: PathBuf,
    /// Rows to explain, spread evenly over the file; default: as many as take a few seconds.
    #[arg(long)]
    pub max_rows: Option<usize>,
    #[arg(long, value_enum)]
    pub unseen: Option<UnseenArg>,
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Directory for shap.csv and importance.json.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct FairnessArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled rows holding the sensitive column.
    #[arg(long)]
    pub data: PathBuf,
    /// The column whose groups are compared (it need not be a model feature).
    #[arg(long)]
    pub sensitive: String,
    /// Fail (exit 1) when the parity or equal-opportunity gap exceeds this.
    #[arg(long)]
    pub max_gap: Option<f64>,
    /// Fail (exit 1) when the disparate-impact ratio falls below this (0.8: four-fifths).
    #[arg(long)]
    pub min_disparate_impact: Option<f64>,
    #[arg(long, value_enum)]
    pub unseen: Option<UnseenArg>,
    /// fairness.json to write.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: ModelArgs) -> Result<ExitCode, String> {
    match args.command {
        ModelCommand::Train(a) => train(a),
        ModelCommand::Predict(a) => predict(a),
        ModelCommand::Explain(a) => explain(a),
        ModelCommand::Fairness(a) => fairness_report(a),
    }
}

fn load(engine: &Engine, path: &Path) -> Result<Frame, String> {
    load_frame(engine, path)
}

fn unseen(u: UnseenArg) -> Unseen {
    match u {
        UnseenArg::Error => Unseen::Error,
        UnseenArg::Ignore => Unseen::Ignore,
    }
}

/// metrics.json.
#[derive(Serialize)]
struct MetricsFile<'a> {
    task: Task,
    algo: &'a str,
    params: Vec<(&'static str, String)>,
    target: &'a str,
    positive_label: Option<&'a str>,
    features: Vec<String>,
    encoded_columns: usize,
    data: String,
    rows: usize,
    seed: u64,
    train_seconds: f64,
    train: Evaluation,
    #[serde(skip_serializing_if = "Option::is_none")]
    cross_validation: Option<model::CrossValidation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holdout: Option<Evaluation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tuning: Option<model::Tuning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ols: Option<&'a OlsFit>,
    warnings: Vec<String>,
}

/// importance.json.
#[derive(Serialize)]
struct ImportanceFile {
    computed_on: String,
    rows: usize,
    /// What `permutation` measures.
    permutation_metric: &'static str,
    features: Vec<Importance>,
}

fn train(args: TrainArgs) -> Result<ExitCode, String> {
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let frame = load(&engine, &args.data)?;
    if let Some(bad) = args
        .features
        .iter()
        .chain(&args.exclude)
        .find(|c| frame.column(c).is_none())
    {
        return Err(format!(
            "{}: no column `{bad}` (columns: {})",
            args.data.display(),
            frame.names().join(", ")
        ));
    }
    let features: Vec<String> = if args.features.is_empty() {
        frame
            .names()
            .into_iter()
            .filter(|n| *n != args.target && !args.exclude.iter().any(|e| e == n))
            .map(String::from)
            .collect()
    } else {
        args.features
            .iter()
            .filter(|f| !args.exclude.contains(f))
            .cloned()
            .collect()
    };
    let mut algo = Algo::from_name(&args.algo).map_err(|e| e.to_string())?;
    for p in &args.params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("--param `{p}`: write KEY=VALUE, e.g. alpha=0.5"))?;
        algo.set(k.trim(), v.trim()).map_err(|e| e.to_string())?;
    }
    let task = match args.task {
        TaskArg::Regress => Task::Regress,
        TaskArg::Classify => Task::Classify,
    };
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(format!(
            "--threshold must be in [0, 1], got {}",
            args.threshold
        ));
    }
    let mut spec = ModelSpec {
        task,
        algo,
        target: args.target.clone(),
        features,
        positive: args.positive.clone(),
        threshold: args.threshold,
        seed: args.seed,
    };
    if !spec.algo.supports(task) {
        return Err(format!(
            "{} cannot {}; choose from {}",
            spec.algo.name(),
            if task == Task::Regress {
                "regress"
            } else {
                "classify"
            },
            model::ALGO_NAMES
                .iter()
                .filter(|n| Algo::from_name(n).is_ok_and(|a| a.supports(task)))
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let bar = output::Progress::new();
    let folds = args.cv.or(args.tune.map(|_| 5));
    let tuning = match args.tune {
        Some(how) => {
            let search = match how {
                TuneArg::Grid => Search::Grid,
                TuneArg::Random => Search::Random(args.trials),
            };
            let t = model::tune(&frame, &spec, folds.unwrap_or(5), search, &|done, total| {
                bar.message(format!(
                    "tuning {}: {done}/{total} settings",
                    spec.algo.name()
                ))
            })
            .map_err(|e| e.to_string())?;
            spec.algo = t.best.clone();
            Some(t)
        }
        None => None,
    };
    let cross_validation = match folds {
        Some(k) => {
            bar.message(format!("cross-validating ({k} folds)"));
            Some(model::cross_validate(&frame, &spec, k).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    bar.message(format!("training {}", spec.algo.name()));
    let started = Instant::now();
    let mut trained = TrainedModel::train(&frame, &spec).map_err(|e| e.to_string())?;
    let train_seconds = started.elapsed().as_secs_f64();
    trained.encoder.unseen = unseen(args.unseen);
    let train_eval = trained.evaluate(&frame).map_err(|e| e.to_string())?;
    let holdout_frame = match &args.holdout {
        Some(path) => Some(load(&engine, path)?),
        None => None,
    };
    let holdout = match &holdout_frame {
        Some(h) => Some(
            trained
                .evaluate(h)
                .map_err(|e| format!("{}: {e}", args.holdout.as_ref().unwrap().display()))?,
        ),
        None => None,
    };
    bar.message("importance");
    let (imp_frame, computed_on) = match &holdout_frame {
        Some(h) => (h, "holdout"),
        None => (&frame, "training data"),
    };
    let importance = importance_file(
        &trained,
        imp_frame,
        computed_on,
        args.repeats,
        args.seed,
        None,
    )?;
    bar.finish();

    let mut warnings = Vec::new();
    if let Some(ols) = &trained.ols {
        warnings.extend(ols.collinearity_warnings());
    }
    let metrics = MetricsFile {
        task,
        algo: trained.algo.name(),
        params: trained.algo.params(),
        target: &trained.target,
        positive_label: trained.positive_label.as_deref(),
        features: trained.encoder.feature_names(),
        encoded_columns: trained.encoder.column_names().len(),
        data: args.data.display().to_string(),
        rows: frame.rows(),
        seed: args.seed,
        train_seconds,
        train: train_eval.clone(),
        cross_validation: cross_validation.clone(),
        holdout: holdout.clone(),
        tuning: tuning.clone(),
        ols: trained.ols.as_ref(),
        warnings: warnings.clone(),
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    write_json(&args.out.join("model.json"), &trained)?;
    write_json(&args.out.join("metrics.json"), &metrics)?;
    write_json(&args.out.join("importance.json"), &importance)?;

    // The human view.
    println!(
        "{} {} on {} rows, {} features ({} encoded columns), trained in {:.2} s",
        trained.algo.name(),
        if task == Task::Regress {
            "regression"
        } else {
            "classifier"
        },
        frame.rows(),
        metrics.features.len(),
        metrics.encoded_columns,
        train_seconds
    );
    let settings = trained.algo.params();
    if !settings.is_empty() {
        println!(
            "settings: {}",
            settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if let Some(t) = &tuning {
        println!(
            "tuned over {} settings by {}-fold {} (best first):",
            t.trials.len(),
            folds.unwrap_or(5),
            t.metric
        );
        let mut trials = t.trials.clone();
        trials.sort_by(|a, b| b.score.total_cmp(&a.score));
        for trial in trials.iter().take(5) {
            let p: Vec<String> = trial
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!("  {:.4}  {}", trial.score, p.join(" "));
        }
    }
    if let Some(ols) = &trained.ols {
        print!("{}", ols_table(ols));
    }
    print!(
        "{}",
        evaluation_table(&train_eval, cross_validation.as_ref(), holdout.as_ref())
    );
    print!("{}", importance_table(&importance, 10));
    for w in &warnings {
        println!("warning: {w}");
    }
    println!(
        "wrote {}/model.json, metrics.json, importance.json",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn importance_file(
    trained: &TrainedModel,
    frame: &Frame,
    computed_on: &str,
    repeats: usize,
    seed: u64,
    max_rows: Option<usize>,
) -> Result<ImportanceFile, String> {
    let budget_rows = model::rows_within_budget(&trained.model, frame.rows(), SHAP_BUDGET);
    let m = max_rows.unwrap_or(budget_rows).min(frame.rows());
    let sample = frame.select(&model::spread_rows(frame.rows(), m));
    let features = trained
        .importance(&sample, repeats, seed)
        .map_err(|e| e.to_string())?;
    Ok(ImportanceFile {
        computed_on: if m < frame.rows() {
            format!("{computed_on}: {m} of {} rows, spread evenly", frame.rows())
        } else {
            computed_on.to_string()
        },
        rows: m,
        permutation_metric: match trained.task {
            Task::Regress => "drop in R² when the feature is shuffled",
            Task::Classify => "drop in ROC AUC when the feature is shuffled",
        },
        features,
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    output::write_atomic(path, text.as_bytes())
}

fn read_model(dir: &Path, override_unseen: Option<UnseenArg>) -> Result<TrainedModel, String> {
    let path = if dir.is_dir() {
        dir.join("model.json")
    } else {
        dir.to_path_buf()
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {}: {e} (give the directory `adroit model train --out` wrote)",
            path.display()
        )
    })?;
    let head: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a model file: {e}", path.display()))?;
    if head.get("format").and_then(|v| v.as_str()) != Some("adroit-model") {
        return Err(format!("{}: not an adroit model file", path.display()));
    }
    let version = head
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if version != u64::from(model::MODEL_FORMAT_VERSION) {
        return Err(format!(
            "{}: model format version {version}, this adroit reads version {}; retrain the model with this version",
            path.display(),
            model::MODEL_FORMAT_VERSION
        ));
    }
    let mut m: TrainedModel = serde_json::from_value(head)
        .map_err(|e| format!("{}: damaged model file: {e}", path.display()))?;
    if let Some(u) = override_unseen {
        m.encoder.unseen = unseen(u);
    }
    Ok(m)
}

fn predict(args: PredictArgs) -> Result<ExitCode, String> {
    let trained = read_model(&args.model, args.unseen)?;
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let frame = load(&engine, &args.data)?;
    let shown = args.data.display().to_string();
    let predictions = trained
        .predict(&frame)
        .map_err(|e| format!("{shown}: {e}"))?;
    let ids: Option<Vec<String>> = match &args.id {
        Some(col) => {
            let c = frame
                .column(col)
                .ok_or_else(|| format!("{shown}: no column `{col}` for --id"))?;
            Some(
                (0..frame.rows())
                    .map(|i| match &c.values {
                        adroit_learn::data::Values::Numeric(v) => format!("{}", v[i]),
                        adroit_learn::data::Values::Categorical(v) => {
                            v[i].clone().unwrap_or_default()
                        }
                    })
                    .collect(),
            )
        }
        None => None,
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["row".to_string()];
    if let Some(col) = &args.id {
        header.push(col.clone());
    }
    match trained.task {
        Task::Regress => header.push("prediction".into()),
        Task::Classify => {
            header.push("probability".into());
            header.push("predicted".into());
        }
    }
    w.write_record(&header).map_err(|e| e.to_string())?;
    for (i, p) in predictions.iter().enumerate() {
        let mut rec = vec![frame.source_row(i).to_string()];
        if let Some(ids) = &ids {
            rec.push(ids[i].clone());
        }
        rec.push(format!("{p}"));
        if trained.task == Task::Classify {
            rec.push(u8::from(*p >= trained.threshold).to_string());
        }
        w.write_record(&rec).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    output::write_output(args.out.as_deref(), &bytes)?;
    // Labelled rows: say how well the model did on them.
    if frame.column(&trained.target).is_some() {
        let e = trained
            .evaluate(&frame)
            .map_err(|e| format!("{shown}: {e}"))?;
        eprint!(
            "{}",
            evaluation_table(&e, None, None).replace("train", "these rows")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(args: ExplainArgs) -> Result<ExitCode, String> {
    let trained = read_model(&args.model, args.unseen)?;
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let frame = load(&engine, &args.data)?;
    let shown = args.data.display().to_string();
    let budget_rows = model::rows_within_budget(&trained.model, frame.rows(), SHAP_BUDGET);
    let m = args.max_rows.unwrap_or(budget_rows).min(frame.rows());
    let index = model::spread_rows(frame.rows(), m);
    let sample = frame.select(&index);
    let explanation = trained
        .explain(&sample)
        .map_err(|e| format!("{shown}: {e}"))?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["row".to_string(), "base".to_string(), "margin".to_string()];
    header.extend(explanation.features.iter().cloned());
    w.write_record(&header).map_err(|e| e.to_string())?;
    for (k, values) in explanation.values.iter().enumerate() {
        let margin = explanation.base + values.iter().sum::<f64>();
        let mut rec = vec![
            sample.source_row(k).to_string(),
            format!("{}", explanation.base),
            format!("{margin}"),
        ];
        rec.extend(values.iter().map(|v| format!("{v}")));
        w.write_record(&rec).map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    output::write_atomic(
        &args.out.join("shap.csv"),
        &w.into_inner().map_err(|e| e.to_string())?,
    )?;
    let labelled = sample.column(&trained.target).is_some();
    let importance = if labelled {
        importance_file(
            &trained,
            &sample,
            "the explained rows",
            args.repeats,
            args.seed,
            None,
        )?
    } else {
        // Without the target only SHAP importance can be computed.
        let n = explanation.values.len().max(1) as f64;
        let mut features: Vec<Importance> = explanation
            .features
            .iter()
            .enumerate()
            .map(|(j, f)| Importance {
                feature: f.clone(),
                mean_abs_shap: explanation.values.iter().map(|r| r[j].abs()).sum::<f64>() / n,
                permutation: f64::NAN,
                permutation_std: f64::NAN,
            })
            .collect();
        features.sort_by(|a, b| b.mean_abs_shap.total_cmp(&a.mean_abs_shap));
        ImportanceFile {
            computed_on: "the explained rows (no target column: no permutation importance)".into(),
            rows: m,
            permutation_metric: "not computed",
            features,
        }
    };
    write_json(&args.out.join("importance.json"), &importance)?;
    println!(
        "SHAP values of {m} of {} rows ({} scale; base {:.4} + the row's values = its {}) → {}/shap.csv",
        frame.rows(),
        match explanation.link {
            adroit_learn::linear::Link::Identity => "prediction",
            adroit_learn::linear::Link::Logit => "log-odds",
        },
        explanation.base,
        match explanation.link {
            adroit_learn::linear::Link::Identity => "prediction",
            adroit_learn::linear::Link::Logit => "log-odds",
        },
        args.out.display()
    );
    if m < frame.rows() {
        println!("(rows spread evenly over the file; pass --max-rows to explain more)");
    }
    print!("{}", importance_table(&importance, 15));
    Ok(ExitCode::SUCCESS)
}

fn fairness_report(args: FairnessArgs) -> Result<ExitCode, String> {
    let trained = read_model(&args.model, args.unseen)?;
    if trained.task != Task::Classify {
        return Err(
            "fairness compares a classifier's decisions across groups; this model is a regression"
                .into(),
        );
    }
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let frame = load(&engine, &args.data)?;
    let shown = args.data.display().to_string();
    let col = frame.column(&args.sensitive).ok_or_else(|| {
        format!(
            "{shown}: no column `{}` (columns: {})",
            args.sensitive,
            frame.names().join(", ")
        )
    })?;
    let groups: Vec<String> = match &col.values {
        adroit_learn::data::Values::Numeric(v) => v.iter().map(|x| format!("{x}")).collect(),
        adroit_learn::data::Values::Categorical(v) => v
            .iter()
            .map(|s| s.clone().unwrap_or_else(|| "(missing)".into()))
            .collect(),
    };
    let y = trained
        .target(&frame)
        .map_err(|e| format!("{shown}: {e}"))?;
    let p = trained
        .predict(&frame)
        .map_err(|e| format!("{shown}: {e}"))?;
    let truth: Vec<bool> = y.iter().map(|v| *v == 1.0).collect();
    let selected: Vec<bool> = p.iter().map(|v| *v >= trained.threshold).collect();
    let report = fairness::audit(&truth, &selected, &groups);
    let mut t = output::table();
    t.set_header(vec!["group", "rows", "selection rate", "TPR", "FPR"]);
    for g in &report.groups {
        t.add_row(vec![
            g.group.clone(),
            g.rows.to_string(),
            num(Some(g.positive_rate), 4),
            num(g.tpr, 4),
            num(g.fpr, 4),
        ]);
    }
    println!(
        "fairness of {} across `{}` at threshold {}",
        trained.algo.name(),
        args.sensitive,
        trained.threshold
    );
    println!("{t}");
    println!(
        "demographic parity difference: {}",
        num(Some(report.demographic_parity_difference), 4)
    );
    println!(
        "equal opportunity difference:  {}",
        num(report.equal_opportunity_difference, 4)
    );
    println!(
        "false positive rate difference: {}",
        num(report.fpr_difference, 4)
    );
    println!(
        "disparate impact ratio:        {}",
        num(report.disparate_impact_ratio, 4)
    );
    if let Some(out) = &args.out {
        write_json(out, &report)?;
    }
    let limits = fairness::Limits {
        max_gap: args.max_gap,
        min_disparate_impact: args.min_disparate_impact,
    };
    if limits.max_gap.is_some() || limits.min_disparate_impact.is_some() {
        let failures = report.failures(&limits);
        if !failures.is_empty() {
            for f in &failures {
                println!("FAIL: {f}");
            }
            return Ok(ExitCode::from(1));
        }
        println!("pass: every gap and ratio is within the limits");
    }
    Ok(ExitCode::SUCCESS)
}

/// statsmodels' coefficient table.
fn ols_table(ols: &OlsFit) -> String {
    let mut t = output::table();
    t.set_header(vec![
        "", "coef", "std err", "t", "P>|t|", "[0.025", "0.975]",
    ]);
    for c in &ols.coefficients {
        t.add_row(vec![
            c.name.clone(),
            format!("{:.4}", c.estimate),
            format!("{:.4}", c.std_error),
            format!("{:.3}", c.t),
            format!("{:.3}", c.p_value),
            format!("{:.3}", c.ci_low),
            format!("{:.3}", c.ci_high),
        ]);
    }
    format!(
        "OLS regression: R-squared {:.3}, adj. R-squared {:.3}, F-statistic {:.1} (p = {:.3e}), residual std error {:.4} on {} df, {} observations\n{t}\nVIF: {}\n",
        ols.r_squared,
        ols.adj_r_squared,
        ols.f_statistic,
        ols.f_p_value,
        ols.sigma,
        ols.df_residual,
        ols.rows,
        ols.vif
            .iter()
            .map(|(n, v)| format!("{n} {v:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn evaluation_table(
    train: &Evaluation,
    cv: Option<&model::CrossValidation>,
    holdout: Option<&Evaluation>,
) -> String {
    let mut t = output::table();
    let mut header = vec!["metric".to_string(), "train".to_string()];
    if let Some(cv) = cv {
        header.push(format!("cv mean ± sd ({} folds)", cv.folds.len()));
    }
    if holdout.is_some() {
        header.push("holdout".into());
    }
    t.set_header(header);
    let hold: Vec<(&str, f64)> = holdout.map(Evaluation::figures).unwrap_or_default();
    for (name, value) in train.figures() {
        let mut row = vec![name.to_string(), format!("{value:.4}")];
        if let Some(cv) = cv {
            row.push(match (cv.mean.get(name), cv.std.get(name)) {
                (Some(m), Some(s)) => format!("{m:.4} ± {s:.4}"),
                _ => String::new(),
            });
        }
        if holdout.is_some() {
            row.push(
                hold.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| format!("{v:.4}"))
                    .unwrap_or_default(),
            );
        }
        t.add_row(row);
    }
    let confusion = match holdout.unwrap_or(train) {
        Evaluation::Classification {
            confusion: c,
            threshold,
            ..
        } => format!(
            "confusion at {threshold}: TP {} FP {} TN {} FN {}\n",
            c.true_positive, c.false_positive, c.true_negative, c.false_negative
        ),
        _ => String::new(),
    };
    format!("{t}\n{confusion}")
}

fn importance_table(file: &ImportanceFile, top: usize) -> String {
    let mut t = output::table();
    t.set_header(vec!["feature", "mean |SHAP|", "permutation", "± sd"]);
    for f in file.features.iter().take(top) {
        let finite = |v: f64| {
            if v.is_finite() {
                format!("{v:.4}")
            } else {
                String::new()
            }
        };
        t.add_row(vec![
            f.feature.clone(),
            format!("{:.4}", f.mean_abs_shap),
            finite(f.permutation),
            finite(f.permutation_std),
        ]);
    }
    format!(
        "importance on {} ({}):\n{t}\n",
        file.computed_on, file.permutation_metric
    )
}
