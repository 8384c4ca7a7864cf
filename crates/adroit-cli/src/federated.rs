//! `adroit federated`: fit one linear, ridge or logistic model across data owners who
//! do not share rows, over files. Each site runs `adroit federated site` on its own data
//! and sends the small JSON it writes (aggregate statistics, never rows); a coordinator
//! runs `adroit federated combine`. Logistic fits take rounds: `combine` writes the next
//! state, the sites evaluate it, until it says converged. The statistics and their
//! combination live in `adroit_learn::federated`.

use crate::output;
use adroit_data::Engine;
use adroit_learn::data::Matrix;
use adroit_learn::federated::{
    Coefficients, GaussianNoise, GramStats, LogisticState, LogisticStats, combine_logistic,
    combine_ridge, logistic_site,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const SITE_FORMAT: &str = "adroit-federated-site v1";
const MODEL_FORMAT: &str = "adroit-federated-model v1";
const STATE_FORMAT: &str = "adroit-federated-state v1";

#[derive(clap::Args, Debug)]
pub struct FederatedArgs {
    #[command(subcommand)]
    command: FederatedCommand,
}

#[derive(clap::Subcommand, Debug)]
enum FederatedCommand {
    /// At a site: aggregate statistics of the local rows (no row leaves the site).
    Site(SiteArgs),
    /// At the coordinator: the first state of a logistic fit (rounds of Newton steps).
    Start(StartArgs),
    /// At the coordinator: pool the sites' statistics into the model (or the next
    /// logistic state).
    Combine(CombineArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    /// Least squares and ridge: one round of Gram matrices.
    Linear,
    Ridge,
    /// L2-penalised logistic regression: rounds of gradients and Hessians.
    Logistic,
}

#[derive(clap::Args, Debug)]
struct SiteArgs {
    /// The site's rows (CSV, TSV, Parquet, JSON lines).
    #[arg(long)]
    data: PathBuf,
    /// Numeric feature columns, comma-separated, in the same order at every site.
    #[arg(long, value_delimiter = ',', required = true)]
    features: Vec<String>,
    #[arg(long)]
    target: String,
    /// For logistic: the target value that counts as 1 (default: the target is 0/1).
    #[arg(long)]
    positive: Option<String>,
    #[arg(long, value_enum)]
    model: Kind,
    /// For logistic: the coordinator's state file of this round.
    #[arg(long)]
    state: Option<PathBuf>,
    /// A name for this site in the coordinator's output (default: the data file's name).
    #[arg(long)]
    site: Option<String>,
    /// Differential privacy (linear and ridge): ε of the Gaussian mechanism, below 1.
    #[arg(long, requires_all = ["delta", "bound"])]
    epsilon: Option<f64>,
    #[arg(long)]
    delta: Option<f64>,
    /// Rows `[1, features…, target]` are clipped to this L2 norm before the noise.
    #[arg(long)]
    bound: Option<f64>,
    /// Seed of the noise (default: from the operating system).
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write the site's statistics (JSON; atomically).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args, Debug)]
struct StartArgs {
    /// Feature columns, as the sites will give them.
    #[arg(long, value_delimiter = ',', required = true)]
    features: Vec<String>,
    #[arg(long)]
    target: String,
    /// sklearn's C: weight of the log-loss against ½‖w‖².
    #[arg(long, default_value_t = 1.0)]
    c: f64,
    #[arg(long, default_value_t = 100)]
    max_rounds: usize,
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args, Debug)]
struct CombineArgs {
    /// The sites' statistics files, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    sites: Vec<PathBuf>,
    /// Ridge penalty on centred data (linear: 0).
    #[arg(long)]
    alpha: Option<f64>,
    /// For logistic: the state the sites evaluated.
    #[arg(long)]
    state: Option<PathBuf>,
    /// The model (linear, ridge; logistic once converged) or the next state (logistic).
    #[arg(long)]
    out: PathBuf,
}

/// What a site sends.
#[derive(Debug, Serialize, Deserialize)]
struct SiteFile {
    format: String,
    site: String,
    model: Kind,
    features: Vec<String>,
    target: String,
    rows: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gram: Option<GramStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    logistic: Option<LogisticRound>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LogisticRound {
    round: usize,
    /// The coefficients evaluated (must equal the state's trial).
    trial: Vec<f64>,
    stats: LogisticStats,
}

/// The coordinator's logistic state file.
#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    format: String,
    features: Vec<String>,
    target: String,
    state: LogisticState,
    /// Filled when converged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<ModelFile>,
}

/// The pooled model.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModelFile {
    format: String,
    model: Kind,
    features: Vec<String>,
    target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alpha: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<f64>,
    rows: f64,
    sites: Vec<SiteSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rounds: Option<usize>,
    #[serde(flatten)]
    coefficients: Coefficients,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SiteSummary {
    site: String,
    rows: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    noise: Option<GaussianNoise>,
}

pub fn run(args: FederatedArgs) -> Result<ExitCode, String> {
    let result = match args.command {
        FederatedCommand::Site(a) => site(a),
        FederatedCommand::Start(a) => start(a),
        FederatedCommand::Combine(a) => combine(a),
    };
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let raw = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&raw).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let json = serde_json::to_string_pretty(value).map_err(|e| e.to_string())? + "\n";
    output::write_atomic(path, json.as_bytes())
}

fn site(a: SiteArgs) -> Result<(), String> {
    let origin = a.data.display().to_string();
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let frame = crate::frame::load_frame(&engine, &a.data)?;
    let columns: Vec<Vec<f64>> = a
        .features
        .iter()
        .map(|f| crate::frame::complete_numeric(&frame, f, &origin))
        .collect::<Result<_, _>>()?;
    let y: Vec<f64> = match &a.positive {
        Some(positive) => crate::frame::strings(&frame, &a.target, &origin)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Some(v) => Ok(f64::from(u8::from(&v == positive))),
                None => Err(format!(
                    "{origin} row {}, column `{}`: empty",
                    frame.source_row(i),
                    a.target
                )),
            })
            .collect::<Result<_, _>>()?,
        None => crate::frame::complete_numeric(&frame, &a.target, &origin)?,
    };
    let x = Matrix::from_columns(y.len(), columns);
    let name = a.site.clone().unwrap_or_else(|| {
        a.data
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| origin.clone())
    });
    let mut file = SiteFile {
        format: SITE_FORMAT.into(),
        site: name,
        model: a.model,
        features: a.features.clone(),
        target: a.target.clone(),
        rows: y.len(),
        gram: None,
        logistic: None,
    };
    match a.model {
        Kind::Linear | Kind::Ridge => {
            if a.state.is_some() {
                return Err(
                    "--state is for logistic rounds; linear and ridge take one round".into(),
                );
            }
            let stats = match (a.epsilon, a.delta, a.bound) {
                (Some(epsilon), Some(delta), Some(bound)) => {
                    let seed = match a.seed {
                        Some(seed) => seed,
                        None => {
                            use rand::TryRngCore;
                            rand::rngs::OsRng.try_next_u64().map_err(|e| {
                                format!("no operating-system randomness for the noise seed: {e}")
                            })?
                        }
                    };
                    GramStats::private(&x, &y, epsilon, delta, bound, seed)
                }
                _ => GramStats::from_rows(&x, &y),
            }
            .map_err(|e| format!("{origin}: {e}"))?;
            if let Some(n) = &stats.noise {
                eprintln!(
                    "Gaussian noise σ = {:.4} on each Gram entry (ε {}, δ {}, rows clipped to norm {}; {} of {} rows clipped)",
                    n.sigma,
                    n.epsilon,
                    n.delta,
                    n.bound,
                    n.clipped_rows,
                    y.len()
                );
            }
            file.gram = Some(stats);
        }
        Kind::Logistic => {
            if a.epsilon.is_some() {
                return Err(
                    "differential privacy is offered for linear and ridge (one release); logistic rounds would each spend budget, so they are not noised"
                        .into(),
                );
            }
            let path = a
                .state
                .as_ref()
                .ok_or("logistic rounds need --state (from `adroit federated start` or the last `combine`)")?;
            let state: StateFile = read_json(path)?;
            check_state(&state, path)?;
            if state.features != a.features || state.target != a.target {
                return Err(format!(
                    "{}: the state is for features {} and target {}; this site gave {} and {}",
                    path.display(),
                    state.features.join(","),
                    state.target,
                    a.features.join(","),
                    a.target
                ));
            }
            if state.state.converged {
                return Err(format!(
                    "{}: the fit has converged; nothing to evaluate",
                    path.display()
                ));
            }
            let stats =
                logistic_site(&x, &y, &state.state.trial).map_err(|e| format!("{origin}: {e}"))?;
            file.logistic = Some(LogisticRound {
                round: state.state.round,
                trial: state.state.trial.clone(),
                stats,
            });
        }
    }
    write_json(&a.out, &file)?;
    eprintln!(
        "wrote {} ({} rows summarised; send this file to the coordinator)",
        a.out.display(),
        y.len()
    );
    Ok(())
}

fn check_state(state: &StateFile, path: &Path) -> Result<(), String> {
    if state.format != STATE_FORMAT {
        return Err(format!(
            "{}: format {:?}, expected {STATE_FORMAT:?}",
            path.display(),
            state.format
        ));
    }
    Ok(())
}

fn start(a: StartArgs) -> Result<(), String> {
    if !(a.c.is_finite() && a.c > 0.0) {
        return Err(format!("--c must be > 0, got {}", a.c));
    }
    let file = StateFile {
        format: STATE_FORMAT.into(),
        features: a.features.clone(),
        target: a.target.clone(),
        state: LogisticState::start(a.features.len(), a.c, None, a.max_rounds),
        model: None,
    };
    write_json(&a.out, &file)?;
    eprintln!(
        "wrote {}: send it to the sites for round 1 (`adroit federated site --model logistic --state {}`)",
        a.out.display(),
        a.out.display()
    );
    Ok(())
}

fn combine(a: CombineArgs) -> Result<(), String> {
    let sites: Vec<(PathBuf, SiteFile)> = a
        .sites
        .iter()
        .map(|p| Ok((p.clone(), read_json::<SiteFile>(p)?)))
        .collect::<Result<_, String>>()?;
    let (first_path, first) = &sites[0];
    for (path, s) in &sites {
        if s.format != SITE_FORMAT {
            return Err(format!(
                "{}: format {:?}, expected {SITE_FORMAT:?}",
                path.display(),
                s.format
            ));
        }
        if s.features != first.features || s.target != first.target || s.model != first.model {
            return Err(format!(
                "{} and {} disagree on the model, features or target; every site must give the same",
                first_path.display(),
                path.display()
            ));
        }
    }
    let summaries: Vec<SiteSummary> = sites
        .iter()
        .map(|(_, s)| SiteSummary {
            site: s.site.clone(),
            rows: s.rows,
            noise: s.gram.as_ref().and_then(|g| g.noise),
        })
        .collect();
    match first.model {
        Kind::Linear | Kind::Ridge => {
            let alpha = match (first.model, a.alpha) {
                (Kind::Linear, None) => 0.0,
                (Kind::Linear, Some(x)) if x != 0.0 => {
                    return Err(
                        "a linear model has no penalty; use --model ridge at the sites for --alpha"
                            .into(),
                    );
                }
                (_, Some(x)) => x,
                (_, None) => 1.0,
            };
            let stats: Vec<GramStats> = sites
                .iter()
                .map(|(p, s)| {
                    s.gram
                        .clone()
                        .ok_or_else(|| format!("{}: no Gram statistics", p.display()))
                })
                .collect::<Result<_, _>>()?;
            let coefficients = combine_ridge(&stats, alpha).map_err(|e| e.to_string())?;
            let model = ModelFile {
                format: MODEL_FORMAT.into(),
                model: first.model,
                features: first.features.clone(),
                target: first.target.clone(),
                alpha: Some(alpha),
                c: None,
                rows: stats.iter().map(GramStats::rows).sum(),
                sites: summaries,
                rounds: None,
                coefficients,
            };
            write_json(&a.out, &model)?;
            print_model(&model);
        }
        Kind::Logistic => {
            let path = a
                .state
                .as_ref()
                .ok_or("logistic rounds need --state: the state the sites evaluated")?;
            let mut state: StateFile = read_json(path)?;
            check_state(&state, path)?;
            let stats: Vec<LogisticStats> = sites
                .iter()
                .map(|(p, s)| {
                    let r = s
                        .logistic
                        .as_ref()
                        .ok_or_else(|| format!("{}: no logistic statistics", p.display()))?;
                    if r.round != state.state.round || r.trial != state.state.trial {
                        return Err(format!(
                            "{}: evaluated round {}, but the state is at round {}; the site must use this state",
                            p.display(),
                            r.round,
                            state.state.round
                        ));
                    }
                    Ok(r.stats.clone())
                })
                .collect::<Result<_, String>>()?;
            state.state = combine_logistic(&state.state, &stats).map_err(|e| e.to_string())?;
            if state.state.converged {
                let coefficients = state
                    .state
                    .coefficients()
                    .ok_or("the fit ended without an accepted step")?;
                let model = ModelFile {
                    format: MODEL_FORMAT.into(),
                    model: Kind::Logistic,
                    features: state.features.clone(),
                    target: state.target.clone(),
                    alpha: None,
                    c: Some(state.state.c),
                    rows: stats.iter().map(|s| s.rows as f64).sum(),
                    sites: summaries,
                    rounds: Some(state.state.round),
                    coefficients,
                };
                print_model(&model);
                state.model = Some(model);
            } else {
                eprintln!(
                    "round {} combined; send {} to the sites for the next round",
                    state.state.round,
                    a.out.display()
                );
            }
            write_json(&a.out, &state)?;
        }
    }
    Ok(())
}

fn print_model(m: &ModelFile) {
    let mut t = output::table();
    t.set_header(["term", "coefficient"]);
    t.add_row([
        "(intercept)".to_string(),
        format!("{:.6}", m.coefficients.intercept),
    ]);
    for (f, w) in m.features.iter().zip(&m.coefficients.weights) {
        t.add_row([f.clone(), format!("{w:.6}")]);
    }
    println!(
        "{:?} model of {} from {} sites ({} rows{}){}\n{t}",
        m.model,
        m.target,
        m.sites.len(),
        output::num(Some(m.rows), 0),
        if m.sites.iter().any(|s| s.noise.is_some()) {
            ", with differential-privacy noise"
        } else {
            ""
        },
        m.rounds
            .map(|r| format!(", converged after {r} rounds"))
            .unwrap_or_default()
    );
}
