//! `adroit uplift`: who responds to a campaign because of it. Loads a
//! campaign_responses-shaped file (customer_id, treatment, outcome, features…), splits
//! off a holdout, fits an `adroit_learn::uplift` learner on the rest, scores the
//! holdout (Qini, AUUC, uplift by decile, as scikit-uplift defines them) and writes a
//! targeting list ranked by expected incremental profit.

use crate::frame::load_frame;
use crate::output::{self, num};
use adroit_data::Engine;
use adroit_learn::data::{Frame, Values};
use adroit_learn::model::Algo;
use adroit_learn::uplift::{self, AverageEffect, Curve, Learner, PercentileRow};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Points kept of each curve in uplift.json.
const CURVE_POINTS: usize = 100;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearnerArg {
    /// One outcome model per arm.
    T,
    /// One model with the treatment as a feature.
    S,
    /// Imputed individual effects modelled per arm, weighted by the treated share.
    X,
    /// Jaskowski–Jaroszewicz class transformation (0/1 outcome, 50/50 assignment).
    ClassTransformation,
}

#[derive(clap::Args, Debug)]
pub struct UpliftArgs {
    /// The campaign table (CSV, TSV, Parquet, JSON lines): one row per customer.
    #[arg(long)]
    pub data: PathBuf,
    /// Column that says whether the customer got the campaign.
    #[arg(long)]
    pub treatment: String,
    /// Column with the response (0/1, or a number such as spend).
    #[arg(long)]
    pub outcome: String,
    /// Value of the treatment column that means treated (default: 1, yes, true, y).
    #[arg(long)]
    pub treated_value: Option<String>,
    /// Value that means control; rows with any other value are dropped
    /// (default: every row that is not treated is control).
    #[arg(long)]
    pub control_value: Option<String>,
    /// Customer id column, written to targeting.csv (row numbers when absent).
    #[arg(long, default_value = "customer_id")]
    pub id: String,
    /// Feature columns, comma-separated (default: every other column).
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,
    /// Columns to leave out of the default features (e.g. other post-campaign outcomes).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    #[arg(long, value_enum, default_value = "t")]
    pub learner: LearnerArg,
    /// Outcome model: logistic, gbdt, forest, tree (ridge, lasso, … for numeric outcomes).
    #[arg(long, default_value = "logistic")]
    pub algo: String,
    /// Model settings, e.g. `--param n_trees=300`.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Share of rows held out to evaluate the model.
    #[arg(long, default_value_t = 0.3)]
    pub holdout: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Value of one extra conversion (the outcome's unit).
    #[arg(long, default_value_t = 10.0)]
    pub margin: f64,
    /// Cost of contacting one customer.
    #[arg(long, default_value_t = 0.5)]
    pub cost: f64,
    /// Folder for uplift.json and targeting.csv.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Serialize)]
struct Settings<'a> {
    data: String,
    treatment: &'a str,
    treated_value: Option<&'a str>,
    control_value: Option<&'a str>,
    outcome: &'a str,
    features: &'a [String],
    learner: &'static str,
    algo: &'a Algo,
    holdout: f64,
    holdout_rule: &'static str,
    seed: u64,
    margin: f64,
    cost: f64,
}

#[derive(Serialize)]
struct CurveOut {
    /// Customers targeted (x) and cumulative incremental outcome (y), subsampled.
    curve: Curve,
    /// The random-targeting line.
    random: Curve,
    area: f64,
    random_area: f64,
    perfect_area: f64,
}

#[derive(Serialize)]
struct Metrics {
    rows: usize,
    treated: usize,
    control: usize,
    /// scikit-uplift's qini_auc_score (normalised to the perfect curve, negative effects on).
    qini_coefficient: Option<f64>,
    /// scikit-uplift's uplift_auc_score (normalised like the Qini coefficient).
    auuc: Option<f64>,
    qini_curve: CurveOut,
    uplift_curve: CurveOut,
    deciles: Vec<PercentileRow>,
    average_effect: Option<AverageEffect>,
}

#[derive(Serialize)]
struct TargetingSummary {
    customers: usize,
    contacted: usize,
    expected_profit: f64,
    contact_everyone_profit: f64,
}

#[derive(Serialize)]
struct Report<'a> {
    settings: Settings<'a>,
    rows_used: usize,
    rows_dropped: usize,
    training_rows: usize,
    treated_share: f64,
    warnings: Vec<String>,
    average_effect: Option<AverageEffect>,
    holdout: Option<Metrics>,
    targeting: TargetingSummary,
}

/// Text of every cell, for matching `--treated-value` and writing ids.
fn cell_text(values: &Values, i: usize) -> Option<String> {
    match values {
        Values::Numeric(v) => v[i].is_finite().then(|| {
            if v[i].fract() == 0.0 && v[i].abs() < 1e15 {
                format!("{}", v[i] as i64)
            } else {
                v[i].to_string()
            }
        }),
        Values::Categorical(v) => v[i].clone(),
    }
}

fn matches(cell: &str, want: &str) -> bool {
    if cell == want {
        return true;
    }
    match (cell.parse::<f64>(), want.parse::<f64>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn default_treated(cell: &str) -> bool {
    matches!(
        cell.to_lowercase().as_str(),
        "1" | "1.0" | "yes" | "true" | "y" | "treated" | "treatment" | "是"
    )
}

/// A stable pseudo-random draw in [0, 1) per row (splitmix64 of seed and row).
fn draw(seed: u64, i: usize) -> f64 {
    let mut z = seed
        .wrapping_add(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((i as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn curve_out(actual: Curve, perfect: Curve) -> CurveOut {
    let random = actual.baseline();
    CurveOut {
        area: actual.area(),
        random_area: random.area(),
        perfect_area: perfect.area(),
        curve: actual.subsample(CURVE_POINTS),
        random,
    }
}

pub fn run(args: UpliftArgs) -> Result<ExitCode, String> {
    if !(0.0..1.0).contains(&args.holdout) {
        return Err(format!("--holdout must be in [0, 1), got {}", args.holdout));
    }
    if !args.margin.is_finite() || !args.cost.is_finite() {
        return Err("--margin and --cost must be numbers".into());
    }
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let frame = load_frame(&engine, &args.data)?;
    let column = |name: &str| {
        frame.column(name).ok_or_else(|| {
            format!(
                "{}: no column `{name}`; columns are: {}",
                args.data.display(),
                frame.names().join(", ")
            )
        })
    };
    let treatment_col = column(&args.treatment)?;
    let outcome_col = column(&args.outcome)?;

    // Treatment flags; rows that are neither treated nor control are dropped.
    let mut keep = Vec::new();
    let mut treatment = Vec::new();
    for i in 0..frame.rows() {
        let Some(cell) = cell_text(&treatment_col.values, i) else {
            return Err(format!(
                "{}: row {}: treatment `{}` is missing",
                args.data.display(),
                frame.source_row(i),
                args.treatment
            ));
        };
        let treated = match &args.treated_value {
            Some(v) => matches(&cell, v),
            None => default_treated(&cell),
        };
        let control = !treated
            && match &args.control_value {
                Some(v) => matches(&cell, v),
                None => true,
            };
        if treated || control {
            keep.push(i);
            treatment.push(treated);
        }
    }
    let outcome_all: Vec<f64> = match &outcome_col.values {
        Values::Numeric(v) => v.clone(),
        Values::Categorical(v) => v
            .iter()
            .map(|c| match c.as_deref().map(str::to_lowercase).as_deref() {
                Some("1" | "yes" | "true" | "y") => 1.0,
                Some("0" | "no" | "false" | "n") => 0.0,
                _ => f64::NAN,
            })
            .collect(),
    };
    if let Some(&i) = keep.iter().find(|&&i| !outcome_all[i].is_finite()) {
        return Err(format!(
            "{}: row {}: outcome `{}` is missing or not a number",
            args.data.display(),
            frame.source_row(i),
            args.outcome
        ));
    }
    let outcome: Vec<f64> = keep.iter().map(|&i| outcome_all[i]).collect();
    let rows_dropped = frame.rows() - keep.len();
    let data = frame.select(&keep);

    let features: Vec<String> = if args.features.is_empty() {
        data.names()
            .into_iter()
            .filter(|n| {
                *n != args.treatment
                    && *n != args.outcome
                    && *n != args.id
                    && !args.exclude.iter().any(|e| e == n)
            })
            .map(String::from)
            .collect()
    } else {
        for f in &args.features {
            column(f)?;
        }
        args.features.clone()
    };
    if features.is_empty() {
        return Err("no feature columns left; name some with --features".into());
    }

    let mut algo = Algo::from_name(&args.algo).map_err(|e| e.to_string())?;
    for p in &args.params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("--param `{p}`: expected KEY=VALUE"))?;
        algo.set(k.trim(), v.trim()).map_err(|e| e.to_string())?;
    }
    let learner = match args.learner {
        LearnerArg::T => Learner::T,
        LearnerArg::S => Learner::S,
        LearnerArg::X => Learner::X,
        LearnerArg::ClassTransformation => Learner::ClassTransformation,
    };

    let is_test: Vec<bool> = (0..data.rows())
        .map(|i| draw(args.seed, keep[i]) < args.holdout)
        .collect();
    let train_rows: Vec<usize> = (0..data.rows()).filter(|&i| !is_test[i]).collect();
    let test_rows: Vec<usize> = (0..data.rows()).filter(|&i| is_test[i]).collect();
    let pick = |rows: &[usize]| -> (Frame, Vec<bool>, Vec<f64>) {
        (
            data.select(rows),
            rows.iter().map(|&i| treatment[i]).collect(),
            rows.iter().map(|&i| outcome[i]).collect(),
        )
    };
    let (train, t_train, y_train) = pick(&train_rows);
    let model = uplift::fit(
        &train, &features, &t_train, &y_train, learner, &algo, args.seed,
    )
    .map_err(|e| e.to_string())?;

    let mut warnings = Vec::new();
    if learner == Learner::ClassTransformation && (model.treated_share - 0.5).abs() > 0.05 {
        warnings.push(format!(
            "class transformation assumes half the customers were treated; {:.1}% were, so its uplift is biased: prefer the t or s learner",
            100.0 * model.treated_share
        ));
    }
    let binary = uplift::is_binary(&outcome);
    if !binary {
        warnings.push(
            "the outcome is not 0/1: scikit-uplift's perfect curves assume a 0/1 outcome, so the normalised Qini and AUUC are indicative only".into(),
        );
    }

    let holdout = if test_rows.is_empty() {
        None
    } else {
        let (test, t_test, y_test) = pick(&test_rows);
        let u = model.predict(&test).map_err(|e| e.to_string())?;
        let treated = t_test.iter().filter(|t| **t).count();
        Some(Metrics {
            rows: test_rows.len(),
            treated,
            control: test_rows.len() - treated,
            qini_coefficient: uplift::qini_auc_score(&y_test, &u, &t_test, true),
            auuc: uplift::uplift_auc_score(&y_test, &u, &t_test),
            qini_curve: curve_out(
                uplift::qini_curve(&y_test, &u, &t_test),
                uplift::perfect_qini_curve(&y_test, &t_test, true),
            ),
            uplift_curve: curve_out(
                uplift::uplift_curve(&y_test, &u, &t_test),
                uplift::perfect_uplift_curve(&y_test, &t_test),
            ),
            deciles: if test_rows.len() > 10 {
                uplift::uplift_by_percentile(&y_test, &u, &t_test, 10)
            } else {
                Vec::new()
            },
            average_effect: uplift::average_effect(&t_test, &y_test),
        })
    };

    // Every kept customer is scored (training rows in-sample, marked holdout=no) and ranked.
    let scores = model.predict(&data).map_err(|e| e.to_string())?;
    let plan = uplift::targeting(&scores, args.margin, args.cost);
    let id_values = data.column(&args.id).map(|c| &c.values);
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| e.to_string();
    w.write_record([
        args.id.as_str(),
        "predicted_uplift",
        "expected_profit",
        "cumulative_profit",
        "contact",
        "holdout",
    ])
    .map_err(csv_err)?;
    for t in &plan.list {
        let id = match id_values {
            Some(v) => cell_text(v, t.row).unwrap_or_default(),
            None => data.source_row(t.row).to_string(),
        };
        w.write_record([
            id,
            t.uplift.to_string(),
            t.expected_profit.to_string(),
            t.cumulative_profit.to_string(),
            if t.contact { "yes" } else { "no" }.to_string(),
            if is_test[t.row] { "yes" } else { "no" }.to_string(),
        ])
        .map_err(csv_err)?;
    }
    let csv_bytes = w.into_inner().map_err(|e| e.to_string())?;
    let everyone = plan.list.last().map_or(0.0, |t| t.cumulative_profit);

    let report = Report {
        settings: Settings {
            data: args.data.display().to_string(),
            treatment: &args.treatment,
            treated_value: args.treated_value.as_deref(),
            control_value: args.control_value.as_deref(),
            outcome: &args.outcome,
            features: &features,
            learner: learner.name(),
            algo: &algo,
            holdout: args.holdout,
            holdout_rule: "row is held out when splitmix64(seed, source row index) / 2^64 < holdout",
            seed: args.seed,
            margin: args.margin,
            cost: args.cost,
        },
        rows_used: data.rows(),
        rows_dropped,
        training_rows: train_rows.len(),
        treated_share: model.treated_share,
        warnings: warnings.clone(),
        average_effect: uplift::average_effect(&treatment, &outcome),
        holdout,
        targeting: TargetingSummary {
            customers: plan.list.len(),
            contacted: plan.contacted,
            expected_profit: plan.expected_profit,
            contact_everyone_profit: everyone,
        },
    };
    let json = serde_json::to_vec_pretty(&report).map_err(|e| e.to_string())?;
    output::write_atomic(&args.out.join("uplift.json"), &json)?;
    output::write_atomic(&args.out.join("targeting.csv"), &csv_bytes)?;

    // The terminal report.
    println!(
        "{} learner ({}) on {} rows ({} dropped), {} features; treated share {:.1}%",
        learner.name(),
        algo.name(),
        data.rows(),
        rows_dropped,
        features.len(),
        100.0 * model.treated_share
    );
    if let Some(a) = &report.average_effect {
        println!(
            "average effect on {}: treated {} − control {} = {} (± {} s.e.)",
            args.outcome,
            num(Some(a.treated_mean), 4),
            num(Some(a.control_mean), 4),
            num(Some(a.effect), 4),
            num(a.std_error, 4)
        );
    }
    match &report.holdout {
        Some(m) => {
            let mut t = output::table();
            t.set_header([
                "decile",
                "treated",
                "control",
                "rate treated",
                "rate control",
                "uplift",
            ]);
            for r in &m.deciles {
                t.add_row([
                    r.percentile.clone(),
                    r.n_treatment.to_string(),
                    r.n_control.to_string(),
                    num(r.response_rate_treatment, 4),
                    num(r.response_rate_control, 4),
                    num(r.uplift, 4),
                ]);
            }
            println!("holdout: {} rows, by predicted uplift", m.rows);
            println!("{t}");
            println!(
                "Qini coefficient {} (area {} vs random {}, perfect {}); AUUC {} (area {} vs random {}, perfect {})",
                num(m.qini_coefficient, 4),
                num(Some(m.qini_curve.area), 1),
                num(Some(m.qini_curve.random_area), 1),
                num(Some(m.qini_curve.perfect_area), 1),
                num(m.auuc, 4),
                num(Some(m.uplift_curve.area), 1),
                num(Some(m.uplift_curve.random_area), 1),
                num(Some(m.uplift_curve.perfect_area), 1),
            );
            println!(
                "(coefficients: 0 = random targeting, 1 = perfect; scikit-uplift's definitions)"
            );
        }
        None => println!("no holdout (--holdout 0): no Qini or AUUC"),
    }
    println!(
        "targeting at margin {} and cost {}: contact {} of {} customers for expected incremental profit {} (everyone: {})",
        args.margin,
        args.cost,
        plan.contacted,
        plan.list.len(),
        num(Some(plan.expected_profit), 2),
        num(Some(everyone), 2)
    );
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "wrote {} and {}",
        args.out.join("uplift.json").display(),
        args.out.join("targeting.csv").display()
    );
    Ok(ExitCode::SUCCESS)
}
