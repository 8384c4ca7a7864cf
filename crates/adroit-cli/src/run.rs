//! `adroit run`: every analysis a config enables, in dependency order, into one run
//! folder, with a cache per stage.
//!
//! A stage is one or more `adroit` commands (the same doors a user runs by hand, so a
//! stage is reproducible from the command lines written to `run.json`). The runner
//! starts them as child processes of this binary: a failing stage cannot take the run
//! down, its output goes to `logs/STAGE.log`, and the stages after it that need it are
//! skipped with the reason.
//!
//! **The cache.** Each stage has a fingerprint: SHA-256 over the adroit version, the
//! stage's command lines, the config sections it reads, the bytes of every file it
//! reads and the fingerprints of the stages it needs. A stage whose fingerprint equals
//! the one in the folder's previous `run.json`, and whose outputs are all still there,
//! is not rerun (`cached`). So changing `[text]` reruns the text stage (and the MMM only
//! if it uses text controls); the rest stays.

use crate::output;
use adroit_config::Config;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The format tag of `run.json`.
pub const FORMAT: &str = "adroit-run v1";

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The adroit.toml naming the tables; every analysis its tables allow runs.
    #[arg(long, short)]
    pub config: PathBuf,
    /// The run folder: results, logs, run.json and report.html (created if needed; a
    /// previous run there is the cache).
    #[arg(long)]
    pub out: PathBuf,
    /// Run only these stages (and nothing else; stages they need must be cached or
    /// present), comma-separated.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub only: Vec<StageName>,
    /// Leave these stages out, comma-separated.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub skip: Vec<StageName>,
    /// Rerun every stage, ignoring the cache.
    #[arg(long)]
    pub force: bool,
    /// "Today" for the data checks (future dates), YYYY-MM-DD; default: the real today.
    #[arg(long)]
    pub today: Option<String>,
    /// Periods the budget recommendation plans for (weeks on a weekly model).
    #[arg(long, default_value_t = 12)]
    pub plan_periods: usize,
    /// Language of report.html.
    #[arg(long, default_value = "en")]
    pub lang: String,
}

/// The stages, in the order they run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StageName {
    Check,
    Text,
    Metrics,
    Attribution,
    Mmm,
    Allocation,
    Customers,
    Uplift,
    Fairness,
}

impl StageName {
    fn key(self) -> &'static str {
        match self {
            StageName::Check => "check",
            StageName::Text => "text",
            StageName::Metrics => "metrics",
            StageName::Attribution => "attribution",
            StageName::Mmm => "mmm",
            StageName::Allocation => "allocation",
            StageName::Customers => "customers",
            StageName::Uplift => "uplift",
            StageName::Fairness => "fairness",
        }
    }
}

/// `run.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunFile {
    pub format: String,
    pub project: String,
    pub currency: String,
    pub config_path: String,
    /// The config as written, so the run says exactly what was asked.
    pub config: String,
    pub adroit_version: String,
    pub started: String,
    pub finished: String,
    pub seconds: f64,
    /// Every table file the config names, with its size and SHA-256.
    pub data: Vec<DataFile>,
    pub stages: Vec<StageRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataFile {
    pub table: String,
    pub path: String,
    pub bytes: u64,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRecord {
    pub name: String,
    /// `ran`, `cached`, `skipped` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub seconds: f64,
    pub fingerprint: Option<String>,
    /// Files the stage wrote, relative to the run folder.
    pub outputs: Vec<String>,
    /// The `adroit` command lines the stage ran (paths as given).
    pub commands: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

/// One stage as planned: what it runs, reads and writes.
struct Stage {
    name: StageName,
    /// Stages whose outputs it reads.
    needs: Vec<StageName>,
    commands: Vec<Vec<String>>,
    /// Config sections it reads (serialised into the fingerprint).
    settings: serde_json::Value,
    /// Files it reads besides the tables' (holidays, spec, text models…).
    files: Vec<PathBuf>,
    /// Contract tables it reads.
    tables: Vec<&'static str>,
    outputs: Vec<String>,
    /// Exit codes that still mean success (`check` exits 1 when the data has errors).
    ok_codes: Vec<i32>,
}

pub fn run(args: RunArgs) -> Result<ExitCode, String> {
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let raw = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("cannot read {}: {e}", args.config.display()))?;
    let config = Config::from_toml_str(&raw, &args.config.display().to_string())
        .map_err(|e| e.to_string())?;
    let config_path = std::fs::canonicalize(&args.config)
        .map_err(|e| format!("{}: {e}", args.config.display()))?;
    let base = config_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    std::fs::create_dir_all(args.out.join("logs"))
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let out =
        std::fs::canonicalize(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    if let Some(today) = &args.today {
        chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d")
            .map_err(|_| format!("--today {today:?}: write YYYY-MM-DD"))?;
    }

    let data = fingerprint_tables(&config, &base)?;
    let stages = plan(&config, &base, &config_path, &out, &args);
    let previous = read_previous(&out);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the adroit binary: {e}"))?;

    let bar = indicatif::ProgressBar::new(stages.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix("adroit run");
    let mut records: Vec<StageRecord> = Vec::new();
    let mut fingerprints: BTreeMap<StageName, String> = BTreeMap::new();
    let mut failed: BTreeMap<StageName, String> = BTreeMap::new();
    for stage in &stages {
        let key = stage.name.key();
        bar.set_message(key.to_string());
        let selected = (args.only.is_empty() || args.only.contains(&stage.name))
            && !args.skip.contains(&stage.name);
        let mut record = StageRecord {
            name: key.into(),
            status: "skipped".into(),
            reason: None,
            seconds: 0.0,
            fingerprint: None,
            outputs: stage.outputs.clone(),
            commands: stage.commands.clone(),
            log: None,
        };
        if let Some(need) = stage.needs.iter().find(|n| failed.contains_key(n)) {
            record.reason = Some(format!("needs {}, which did not run", need.key()));
            failed.insert(stage.name, record.reason.clone().unwrap_or_default());
            records.push(record);
            bar.inc(1);
            continue;
        }
        let fingerprint = stage_fingerprint(stage, &data, &fingerprints)?;
        record.fingerprint = Some(fingerprint.clone());
        fingerprints.insert(stage.name, fingerprint.clone());
        let outputs_exist = stage.outputs.iter().all(|o| out.join(o).exists());
        let same = previous.iter().find(|r| r.name == key).is_some_and(|r| {
            r.fingerprint.as_deref() == Some(fingerprint.as_str())
                && (r.status == "ran" || r.status == "cached")
        });
        if !selected {
            if outputs_exist {
                record.status = "cached".into();
                record.reason = Some("not selected; earlier outputs kept".into());
            } else {
                record.reason = Some("not selected (--only/--skip)".into());
                failed.insert(stage.name, "not selected".into());
            }
        } else if same && outputs_exist && !args.force {
            record.status = "cached".into();
        } else {
            let clock = Instant::now();
            let log_path = out.join("logs").join(format!("{key}.log"));
            record.log = Some(format!("logs/{key}.log"));
            match run_commands(&exe, stage, &log_path) {
                Ok(()) => record.status = "ran".into(),
                Err(reason) => {
                    record.status = "failed".into();
                    record.reason = Some(reason.clone());
                    failed.insert(stage.name, reason);
                    bar.suspend(|| {
                        eprintln!(
                            "stage {key} failed: {} (log: {})",
                            record.reason.as_deref().unwrap_or_default(),
                            log_path.display()
                        )
                    });
                }
            }
            record.seconds = clock.elapsed().as_secs_f64();
        }
        records.push(record);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let file = RunFile {
        format: FORMAT.into(),
        project: config.project.name.clone(),
        currency: config.project.currency.clone(),
        config_path: config_path.display().to_string(),
        config: raw,
        adroit_version: env!("CARGO_PKG_VERSION").into(),
        started: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        finished: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        seconds: clock.elapsed().as_secs_f64(),
        data,
        stages: records,
    };
    let json = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())? + "\n";
    output::write_atomic(&out.join("run.json"), json.as_bytes())?;

    // The report of whatever ran (cheap: rendered every time).
    let report = crate::report::write_report(&out, &args.lang, None);

    let mut t = output::table();
    t.set_header(["stage", "status", "seconds", "outputs / reason"]);
    for r in &file.stages {
        t.add_row([
            r.name.clone(),
            r.status.clone(),
            format!("{:.2}", r.seconds),
            match (&r.reason, r.status.as_str()) {
                (Some(reason), _) => reason.clone(),
                (None, _) => r.outputs.join(", "),
            },
        ]);
    }
    println!("{t}");
    let failures = file.stages.iter().filter(|r| r.status == "failed").count();
    println!(
        "run of {} in {:.1} s: {} ran, {} cached, {} skipped, {} failed; run.json in {}",
        file.project,
        file.seconds,
        file.stages.iter().filter(|r| r.status == "ran").count(),
        file.stages.iter().filter(|r| r.status == "cached").count(),
        file.stages.iter().filter(|r| r.status == "skipped").count(),
        failures,
        out.display()
    );
    match report {
        Ok(path) => println!("report: {}", path.display()),
        Err(e) => eprintln!("report not written: {e}"),
    }
    Ok(if failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The stages the config enables, with their command lines.
fn plan(
    config: &Config,
    base: &Path,
    config_path: &Path,
    out: &Path,
    args: &RunArgs,
) -> Vec<Stage> {
    let cfg = config_path.display().to_string();
    let at = |rel: &str| out.join(rel).display().to_string();
    let file_of = |rel: &Option<String>| rel.as_ref().map(|r| base.join(r));
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or(serde_json::Value::Null);
    let mut stages = Vec::new();

    let mut check = s(&["check", "--config", &cfg, "--format", "json"]);
    check.extend(s(&["--out", &at("check/check.json")]));
    let today = args
        .today
        .clone()
        .unwrap_or_else(|| chrono::Local::now().date_naive().to_string());
    check.extend(s(&["--today", &today]));
    stages.push(Stage {
        name: StageName::Check,
        needs: vec![],
        commands: vec![check],
        settings: json(serde_json::to_value((&config.validation, &config.cleaning))),
        files: vec![],
        tables: config.configured_tables(),
        outputs: vec!["check/check.json".into()],
        ok_codes: vec![0, 1],
    });

    if config.texts.is_some() {
        let t = &config.text;
        stages.push(Stage {
            name: StageName::Text,
            needs: vec![],
            commands: vec![
                s(&[
                    "text",
                    "analyze",
                    "--config",
                    &cfg,
                    "--out",
                    &at("text/analysis.csv"),
                ]),
                s(&[
                    "text",
                    "trends",
                    "--config",
                    &cfg,
                    "--out",
                    &at("text/trends.csv"),
                ]),
                s(&[
                    "text",
                    "topics",
                    "--config",
                    &cfg,
                    "--out",
                    &at("text/topics.json"),
                ]),
            ],
            settings: json(serde_json::to_value((&config.texts, t))),
            files: [&t.aspects, &t.gazetteer, &t.model_zh, &t.model_en]
                .into_iter()
                .filter_map(file_of)
                .collect(),
            tables: vec!["texts"],
            outputs: s(&["text/analysis.csv", "text/trends.csv", "text/topics.json"]),
            ok_codes: vec![0],
        });
    }

    if config.media.is_some() {
        let metrics = |format: &str, file: &str| {
            s(&[
                "metrics", "--config", &cfg, "--by", "channel", "--grain", "month", "--format",
                format, "--out", file,
            ])
        };
        stages.push(Stage {
            name: StageName::Metrics,
            needs: vec![],
            commands: vec![
                metrics("json", &at("metrics/metrics.json")),
                metrics("csv", &at("metrics/metrics.csv")),
            ],
            settings: json(serde_json::to_value(&config.media)),
            files: vec![],
            tables: vec!["media"],
            outputs: s(&["metrics/metrics.json", "metrics/metrics.csv"]),
            ok_codes: vec![0],
        });
    }

    if config.touchpoints.is_some() {
        stages.push(Stage {
            name: StageName::Attribution,
            needs: vec![],
            commands: vec![s(&[
                "attribution",
                "--config",
                &cfg,
                "--out",
                &at("attribution"),
                "--format",
                "json",
            ])],
            settings: json(serde_json::to_value((
                &config.touchpoints,
                &config.media,
                &config.attribution,
            ))),
            files: vec![],
            tables: vec!["touchpoints", "media"],
            outputs: s(&[
                "attribution/attribution.json",
                "attribution/attribution.csv",
                "attribution/transitions.csv",
                "attribution/top_paths.csv",
            ]),
            ok_codes: vec![0],
        });
    }

    if config.media.is_some() && config.kpi.is_some() {
        let m = &config.mmm;
        let mut fit = s(&["mmm", "fit", "--config", &cfg, "--out", &at("mmm")]);
        let mut needs = vec![];
        // Text controls without a trends file of the user's own: this run's text stage.
        if !m.text_controls.is_empty() && m.text_trends.is_none() && config.texts.is_some() {
            fit.extend(s(&["--text-trends", &at("text/trends.csv")]));
            needs.push(StageName::Text);
        }
        stages.push(Stage {
            name: StageName::Mmm,
            needs,
            commands: vec![fit],
            settings: json(serde_json::to_value((
                &config.media,
                &config.kpi,
                &config.experiments,
                m,
            ))),
            files: [&m.spec, &m.holidays, &m.text_trends]
                .into_iter()
                .filter_map(file_of)
                .collect(),
            tables: vec!["media", "kpi", "experiments"],
            outputs: s(&["mmm/result.json", "mmm/decomposition.csv", "mmm/curves.csv"]),
            ok_codes: vec![0],
        });
        stages.push(Stage {
            name: StageName::Allocation,
            needs: vec![StageName::Mmm],
            commands: vec![s(&[
                "mmm",
                "allocate",
                "--model",
                &at("mmm"),
                "--periods",
                &args.plan_periods.to_string(),
                "--out",
                &at("mmm/allocation.json"),
            ])],
            settings: serde_json::json!({ "periods": args.plan_periods }),
            files: vec![],
            tables: vec![],
            outputs: s(&["mmm/allocation.json"]),
            ok_codes: vec![0],
        });
    }

    if config.transactions.is_some() {
        stages.push(Stage {
            name: StageName::Customers,
            needs: vec![],
            commands: vec![
                s(&[
                    "customers",
                    "summary",
                    "--config",
                    &cfg,
                    "--out",
                    &at("customers/customers.csv"),
                ]),
                s(&["clv", "fit", "--config", &cfg, "--out", &at("clv")]),
                s(&[
                    "clv",
                    "predict",
                    "--config",
                    &cfg,
                    "--model",
                    &at("clv"),
                    "--horizon",
                    "12m",
                    "--out",
                    &at("clv/predictions.csv"),
                ]),
            ],
            settings: json(serde_json::to_value(&config.transactions)),
            files: vec![],
            tables: vec!["transactions"],
            outputs: s(&[
                "customers/customers.csv",
                "clv/clv_model.json",
                "clv/predictions.csv",
            ]),
            ok_codes: vec![0],
        });
    }

    if let Some(c) = &config.campaign_responses {
        let mut uplift = s(&[
            "uplift",
            "--data",
            &base.join(&c.path).display().to_string(),
            "--treatment",
            &c.treatment,
            "--outcome",
            &c.outcome,
            "--id",
            &c.customer_id,
            "--out",
            &at("uplift"),
        ]);
        if !c.features.is_empty() {
            uplift.extend(s(&["--features", &c.features.join(",")]));
        }
        stages.push(Stage {
            name: StageName::Uplift,
            needs: vec![],
            commands: vec![uplift],
            settings: json(serde_json::to_value(c)),
            files: vec![],
            tables: vec!["campaign_responses"],
            outputs: s(&["uplift/uplift.json", "uplift/targeting.csv"]),
            ok_codes: vec![0],
        });
        // The bias audit of the targeting list across the sensitive columns.
        let f = &config.fairness;
        if !f.sensitive.is_empty() {
            let mut audit = s(&[
                "fairness",
                "--data",
                &at("uplift/targeting.csv"),
                "--selected",
                "contact",
                "--group",
                &f.sensitive.join(","),
                "--groups-from",
                &base.join(&c.path).display().to_string(),
                "--on",
                &c.customer_id,
                "--out",
                &at("fairness/fairness.json"),
            ]);
            if let Some(g) = f.max_gap {
                audit.extend(s(&["--max-gap", &g.to_string()]));
            }
            if let Some(r) = f.min_disparate_impact {
                audit.extend(s(&["--min-disparate-impact", &r.to_string()]));
            }
            stages.push(Stage {
                name: StageName::Fairness,
                needs: vec![StageName::Uplift],
                commands: vec![audit],
                settings: json(serde_json::to_value(f)),
                files: vec![],
                tables: vec!["campaign_responses"],
                outputs: s(&["fairness/fairness.json"]),
                // 1: the audit ran and found a limit broken (recorded in the file).
                ok_codes: vec![0, 1],
            });
        }
    }
    stages
}

/// Runs a stage's commands one after another, appending their output to the log.
fn run_commands(exe: &Path, stage: &Stage, log_path: &Path) -> Result<(), String> {
    let mut log = std::fs::File::create(log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    for command in &stage.commands {
        use std::io::Write;
        let _ = writeln!(log, "$ adroit {}", command.join(" "));
        let err = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let out = log
            .try_clone()
            .map_err(|e| format!("{}: {e}", log_path.display()))?;
        let status = std::process::Command::new(exe)
            .args(command)
            .stdout(out)
            .stderr(err)
            .status()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let code = status.code().unwrap_or(-1);
        if !stage.ok_codes.contains(&code) {
            return Err(format!(
                "`adroit {}` exited with {code}: {}",
                command.first().cloned().unwrap_or_default()
                    + command
                        .get(1)
                        .filter(|a| !a.starts_with('-'))
                        .map(|a| format!(" {a}"))
                        .unwrap_or_default()
                        .as_str(),
                last_error_line(log_path)
            ));
        }
    }
    Ok(())
}

/// The last line of a log that says `error`, for the stage's reason.
fn last_error_line(log_path: &Path) -> String {
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| l.contains("error"))
        .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("no output")
        .trim()
        .to_string()
}

/// Size and SHA-256 of every table file the config names.
fn fingerprint_tables(config: &Config, base: &Path) -> Result<Vec<DataFile>, String> {
    let mut out = Vec::new();
    for table in config.configured_tables() {
        let Some(rel) = table_path(config, table) else {
            continue;
        };
        let path = base.join(rel);
        let (bytes, fingerprint) = hash_file(&path)?;
        out.push(DataFile {
            table: table.into(),
            path: path.display().to_string(),
            bytes,
            fingerprint,
        });
    }
    Ok(out)
}

fn table_path<'a>(config: &'a Config, table: &str) -> Option<&'a str> {
    match table {
        "media" => config.media.as_ref().map(|s| s.path.as_str()),
        "kpi" => config.kpi.as_ref().map(|s| s.path.as_str()),
        "touchpoints" => config.touchpoints.as_ref().map(|s| s.path.as_str()),
        "transactions" => config.transactions.as_ref().map(|s| s.path.as_str()),
        "texts" => config.texts.as_ref().map(|s| s.path.as_str()),
        "experiments" => config.experiments.as_ref().map(|s| s.path.as_str()),
        "campaign_responses" => config.campaign_responses.as_ref().map(|s| s.path.as_str()),
        _ => None,
    }
}

/// Streams a file through SHA-256.
fn hash_file(path: &Path) -> Result<(u64, String), String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((bytes, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// See the module doc.
fn stage_fingerprint(
    stage: &Stage,
    data: &[DataFile],
    upstream: &BTreeMap<StageName, String>,
) -> Result<String, String> {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(stage.name.key().as_bytes());
    h.update(
        serde_json::to_string(&(&stage.commands, &stage.settings))
            .map_err(|e| e.to_string())?
            .as_bytes(),
    );
    for table in &stage.tables {
        if let Some(d) = data.iter().find(|d| d.table == *table) {
            h.update(d.fingerprint.as_bytes());
        }
    }
    for file in &stage.files {
        let (_, f) = hash_file(file)?;
        h.update(f.as_bytes());
    }
    for need in &stage.needs {
        if let Some(f) = upstream.get(need) {
            h.update(f.as_bytes());
        }
    }
    Ok(hex(&h.finalize()))
}

/// The stages of the folder's previous run (none if there is no readable run.json).
fn read_previous(out: &Path) -> Vec<StageRecord> {
    std::fs::read(out.join("run.json"))
        .ok()
        .and_then(|raw| serde_json::from_slice::<RunFile>(&raw).ok())
        .filter(|f| f.format == FORMAT)
        .map(|f| f.stages)
        .unwrap_or_default()
}
