//! `adroit text`: analyse what customers write (sentiment, aspects, keywords, entities),
//! train the built-in sentiment model on a labelled sample, discover topics, and turn
//! it all into time series. The work is adroit-text's; this door reads the file,
//! picks the columns and writes JSON lines or CSV.

use crate::frame::load_frame;
use crate::frame::strings;
use crate::output;
use crate::text_backends::{self, BackendFlags};
use adroit_data::Engine;
use adroit_learn::data::Frame;
use adroit_text::aspects::Taxonomy;
use adroit_text::entities::Gazetteer;
use adroit_text::sentiment::{self, Model, Scorer, TrainParams};
use adroit_text::topics::{self, TopicOptions, Topics};
use adroit_text::trends::{self, Grain, Observation, ShiftOptions, TrendOptions};
use adroit_text::{Lang, Options};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct TextArgs {
    #[command(subcommand)]
    pub command: TextCommand,
}

#[derive(Subcommand)]
pub enum TextCommand {
    /// One JSON line per document: language, sentiment, aspects, keywords, entities.
    Analyze(AnalyzeArgs),
    /// Train a sentiment model (zh or en) on labelled texts; use it with --model-zh/--model-en.
    Train(TrainArgs),
    /// Discover topics (NMF on TF-IDF), label them by c-TF-IDF, show representative quotes.
    Topics(TopicsArgs),
    /// Time series per day/week/month: volume, sentiment, aspect negativity, topic volumes; flags shifts.
    Trends(TrendsArgs),
    /// Sentence embeddings from a local sentence-transformer folder (CSV: id, e0 … e{d-1}).
    Embed(EmbedArgs),
    /// Groups of near-duplicate texts (reposts, templates, bot campaigns) by embedding cosine.
    Duplicates(DuplicatesArgs),
}

#[derive(Args)]
pub struct DuplicatesArgs {
    #[command(flatten)]
    pub source: Source,
    /// Cosine similarity from which two texts count as near-duplicates.
    #[arg(long, default_value_t = 0.95)]
    pub threshold: f64,
    /// Sentence encoder. Default: $ADROIT_MODELS/all-MiniLM-L6-v2 for texts without
    /// Chinese, the multilingual e5 file (multilingual-e5-small-q4/e5-small-q4.bin) when
    /// any text has Chinese (MiniLM knows English only and maps Chinese texts together).
    #[arg(long)]
    pub encoder_model: Option<PathBuf>,
    /// Write the groups as JSON here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub source: Source,
    /// A sentence-transformer folder (config.json, tokenizer.json, model.safetensors), e.g.
    /// all-MiniLM-L6-v2; default: $ADROIT_MODELS/all-MiniLM-L6-v2.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Also copy these columns (e.g. a label) into the output, for `adroit model train`.
    #[arg(long, value_delimiter = ',')]
    pub keep: Vec<String>,
    /// The CSV to write (atomically); default stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct TopicsArgs {
    #[command(flatten)]
    pub source: Source,
    /// Number of topics.
    #[arg(long, default_value_t = 8)]
    pub k: usize,
    /// Terms must appear in at least this many texts.
    #[arg(long, default_value_t = 2)]
    pub min_df: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// builtin (NMF on TF-IDF) or encoder (k-means on sentence embeddings); default:
    /// [text.backends] topics, else builtin.
    #[arg(long)]
    pub method: Option<String>,
    /// Give each topic a short human name written by the LLM back end ([text.llm] or
    /// --llm-*; default: the local GGUF model), from its terms and quotes.
    #[arg(long)]
    pub name_topics: bool,
    /// Write topics and each text's topic as JSON here (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub backends: BackendFlags,
}

#[derive(Args)]
pub struct TrendsArgs {
    #[command(flatten)]
    pub source: Source,
    /// day, week (ISO, from Monday) or month.
    #[arg(long, value_enum, default_value = "week")]
    pub grain: GrainArg,
    /// A column to split the series by (channel, product, …).
    #[arg(long)]
    pub by: Option<String>,
    /// Also discover this many topics and add their volumes.
    #[arg(long, default_value_t = 0)]
    pub topics: usize,
    /// Robust z-score from which a period counts as a shift.
    #[arg(long, default_value_t = ShiftOptions::default().threshold)]
    pub threshold: f64,
    /// Write the series as CSV here (atomically); default stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the flagged shifts as JSON here.
    #[arg(long)]
    pub shifts: Option<PathBuf>,
    #[command(flatten)]
    pub backends: BackendFlags,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum GrainArg {
    Day,
    Week,
    Month,
}

/// Where the texts are and which columns hold what.
#[derive(Args, Clone)]
pub struct Source {
    /// adroit.toml whose [texts] section names the file and its columns.
    #[arg(long, conflicts_with = "texts")]
    pub config: Option<PathBuf>,
    /// A CSV, TSV, Parquet or JSON-lines file of texts.
    #[arg(long)]
    pub texts: Option<PathBuf>,
    /// The column holding the text.
    #[arg(long, default_value = "text")]
    pub text_col: String,
    /// A column identifying each text (default: its row number).
    #[arg(long)]
    pub id_col: Option<String>,
    /// A date or timestamp column, copied to the output (trends need it).
    #[arg(long)]
    pub time_col: Option<String>,
}

#[derive(Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub source: Source,
    /// zh, en, mixed or auto (detect per text); default: [text] lang, else auto.
    #[arg(long)]
    pub lang: Option<String>,
    /// Include each text's tokens.
    #[arg(long)]
    pub tokens: bool,
    /// Keywords per text; default: [text] keywords, else 5.
    #[arg(long)]
    pub keywords: Option<usize>,
    /// How keywords are ranked: tfidf (against the batch) or textrank (within each
    /// text); default: [text] keyword_method, else tfidf.
    #[arg(long)]
    pub keyword_method: Option<String>,
    /// A TOML file of aspects (`[[aspects]] name = "price" zh = [..] en = [..]`) replacing the default taxonomy.
    #[arg(long)]
    pub aspects: Option<PathBuf>,
    /// A TOML file of names to find, by kind (`brand = ["华为", "Apple"]`, `product = [..]`).
    #[arg(long)]
    pub gazetteer: Option<PathBuf>,
    /// A Chinese sentiment model from `adroit text train` instead of the shipped one.
    #[arg(long)]
    pub model_zh: Option<PathBuf>,
    /// An English sentiment model from `adroit text train` instead of the shipped one.
    #[arg(long)]
    pub model_en: Option<PathBuf>,
    #[command(flatten)]
    pub backends: BackendFlags,
    /// Write the JSON lines here (atomically) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct TrainArgs {
    /// A CSV, TSV, Parquet or JSON-lines file of labelled texts.
    #[arg(long)]
    pub texts: PathBuf,
    #[arg(long, default_value = "text")]
    pub text_col: String,
    /// The label column: 1/0, true/false, positive/negative, pos/neg, or see --positive.
    #[arg(long, default_value = "label")]
    pub label_col: String,
    /// The label value meaning positive (default: 1, true, positive, pos, yes).
    #[arg(long)]
    pub positive: Option<String>,
    /// zh (weighs Chinese words) or en (weighs the others); builtin back end only.
    #[arg(long, required_unless_present = "backend")]
    pub lang: Option<String>,
    /// builtin (a linear model on words, the default) or encoder (a logistic head on
    /// sentence embeddings, for `[text.encoder] head` / `--encoder-head`).
    #[arg(long)]
    pub backend: Option<String>,
    /// Sentence encoder for --backend encoder (default: $ADROIT_MODELS/all-MiniLM-L6-v2).
    #[arg(long)]
    pub encoder_model: Option<PathBuf>,
    /// L2 penalty on the mean log-loss.
    #[arg(long, default_value_t = TrainParams::default().l2)]
    pub l2: f64,
    /// Keep words seen in at least this many texts.
    #[arg(long, default_value_t = TrainParams::default().min_docs)]
    pub min_docs: usize,
    /// Also report K-fold cross-validated accuracy.
    #[arg(long)]
    pub cv: Option<usize>,
    /// Provenance written into the model (what the texts are); default: the file name.
    #[arg(long)]
    pub trained_on: Option<String>,
    /// The model file to write.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: TextArgs) -> Result<ExitCode, String> {
    match args.command {
        TextCommand::Analyze(a) => analyze(a),
        TextCommand::Train(a) => train(a),
        TextCommand::Topics(a) => topics(a),
        TextCommand::Trends(a) => trends(a),
        TextCommand::Embed(a) => embed(a),
        TextCommand::Duplicates(a) => duplicates(a),
    }
}

/// The loaded texts with their ids and times.
pub struct Texts {
    pub origin: String,
    pub ids: Vec<String>,
    pub texts: Vec<String>,
    pub times: Option<Vec<Option<String>>>,
    pub frame: Frame,
}

/// The config a [`Source`] names (if any) and the folder its paths are relative to.
pub fn source_config(source: &Source) -> Result<(Option<adroit_config::Config>, PathBuf), String> {
    match &source.config {
        Some(config) => {
            let raw = std::fs::read_to_string(config)
                .map_err(|e| format!("cannot read {}: {e}", config.display()))?;
            let cfg = adroit_config::Config::from_toml_str(&raw, &config.display().to_string())
                .map_err(|e| e.to_string())?;
            let base = config.parent().unwrap_or(Path::new(".")).to_path_buf();
            Ok((Some(cfg), base))
        }
        None => Ok((None, PathBuf::from("."))),
    }
}

/// Reads the texts a [`Source`] names.
pub fn load_texts(source: &Source) -> Result<Texts, String> {
    let (path, text_col, id_col, time_col) = match (&source.config, &source.texts) {
        (Some(config), _) => {
            let (cfg, base) = source_config(source)?;
            let t = cfg.and_then(|c| c.texts).ok_or_else(|| {
                format!(
                    "{}: no [texts] section (give path, text, id, timestamp)",
                    config.display()
                )
            })?;
            (
                base.join(&t.path),
                t.text.clone(),
                Some(t.id.clone()),
                Some(t.timestamp.clone()),
            )
        }
        (None, Some(file)) => (
            file.clone(),
            source.text_col.clone(),
            source.id_col.clone(),
            source.time_col.clone(),
        ),
        (None, None) => {
            return Err("give --texts FILE (with --text-col) or --config adroit.toml".into());
        }
    };
    let origin = path.display().to_string();
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let frame = load_frame(&engine, &path)?;
    let texts: Vec<String> = strings(&frame, &text_col, &origin)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let ids = match &id_col {
        Some(c) => strings(&frame, c, &origin)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.unwrap_or_else(|| (i + 1).to_string()))
            .collect(),
        None => (1..=texts.len()).map(|i| i.to_string()).collect(),
    };
    let times = match &time_col {
        Some(c) => Some(strings(&frame, c, &origin)?),
        None => None,
    };
    Ok(Texts {
        origin,
        ids,
        texts,
        times,
        frame,
    })
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_model(path: &Path) -> Result<Model, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Model::from_text(&text, &path.display().to_string())
}

/// The scorer: shipped models unless replaced.
pub fn scorer(model_zh: Option<&Path>, model_en: Option<&Path>) -> Result<Scorer, String> {
    let builtin = Scorer::builtin();
    Ok(Scorer {
        zh: match model_zh {
            Some(p) => read_model(p)?,
            None => builtin.zh.clone(),
        },
        en: match model_en {
            Some(p) => read_model(p)?,
            None => builtin.en.clone(),
        },
    })
}

#[derive(Serialize)]
struct Line<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<&'a str>,
    #[serde(flatten)]
    analysis: &'a adroit_text::Analysis,
}

fn analyze(args: AnalyzeArgs) -> Result<ExitCode, String> {
    let (config, base) = source_config(&args.source)?;
    let settings = text_backends::resolve(config.as_ref().map(|c| &c.text), &base, &args.backends)?;
    text_backends::prepare_threads(&settings);
    let bar = output::Progress::new();
    bar.message("loading texts");
    let texts = load_texts(&args.source)?;
    let setting_path = |flag: &Option<PathBuf>, set: &Option<String>| {
        flag.clone().or_else(|| set.as_ref().map(PathBuf::from))
    };
    let taxonomy = match setting_path(&args.aspects, &settings.aspects) {
        Some(p) => {
            let t: Taxonomy = read_toml(&p)?;
            t.validate().map_err(|e| format!("{}: {e}", p.display()))?;
            t
        }
        None => Taxonomy::default(),
    };
    let gazetteer = match setting_path(&args.gazetteer, &settings.gazetteer) {
        Some(p) => read_toml::<Gazetteer>(&p)?,
        None => Gazetteer::default(),
    };
    let opts = Options {
        tokens: args.tokens,
        keywords: args.keywords.unwrap_or(settings.keywords),
        keyword_method: adroit_text::keywords::KeywordMethod::parse(
            args.keyword_method
                .as_deref()
                .unwrap_or(&settings.keyword_method),
        )?,
        taxonomy,
        gazetteer,
        tag_chinese: true,
        lang: Lang::parse(args.lang.as_deref().unwrap_or(&settings.lang))?,
    };
    let scorer = scorer(
        setting_path(&args.model_zh, &settings.model_zh).as_deref(),
        setting_path(&args.model_en, &settings.model_en).as_deref(),
    )?;
    let loaded = text_backends::load(&settings, &|m| bar.message(m))?;
    let plan = loaded.plan(&settings)?;
    let described: Vec<String> = plan
        .describe()
        .iter()
        .map(|(f, b)| format!("{}={b}", f.name()))
        .collect();
    bar.message(format!(
        "analysing {} texts ({})",
        texts.texts.len(),
        described.join(", ")
    ));
    let refs: Vec<&str> = texts.texts.iter().map(String::as_str).collect();
    let analyses = adroit_text::backend::analyze_with(&refs, &opts, &scorer, &plan);
    let mut out = Vec::new();
    for (i, a) in analyses.iter().enumerate() {
        let line = Line {
            id: &texts.ids[i],
            time: texts.times.as_ref().and_then(|t| t[i].as_deref()),
            analysis: a,
        };
        serde_json::to_writer(&mut out, &line).map_err(|e| e.to_string())?;
        out.push(b'\n');
    }
    bar.finish();
    output::write_output(args.out.as_deref(), &out)?;
    if let Some(p) = &args.out {
        let negative = analyses
            .iter()
            .filter(|a| a.sentiment.label == adroit_text::Label::Negative)
            .count();
        eprintln!(
            "wrote {} ({} texts from {}; {negative} negative)",
            p.display(),
            analyses.len(),
            texts.origin
        );
    }
    let failed: Vec<usize> = (0..analyses.len())
        .filter(|&i| !analyses[i].errors.is_empty())
        .collect();
    if let Some(&first) = failed.first() {
        let (field, why) = analyses[first].errors.iter().next().expect("non-empty");
        eprintln!(
            "warning: {} texts kept a built-in field because their back end failed (first: id {}, {field}: {why})",
            failed.len(),
            texts.ids[first]
        );
    }
    if let Some(line) = loaded.summary() {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn positive_label(value: &str, positive: Option<&str>) -> Option<bool> {
    let v = value.trim();
    match positive {
        Some(p) => Some(v == p),
        None => match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "positive" | "pos" | "yes" => Some(true),
            "0" | "-1" | "false" | "negative" | "neg" | "no" => Some(false),
            _ => None,
        },
    }
}

fn train(args: TrainArgs) -> Result<ExitCode, String> {
    // Before any thread starts (the query engine's, below).
    let workers = if args.backend.as_deref() == Some("encoder") {
        text_backends::encoder_workers()
    } else {
        1
    };
    let source = Source {
        config: None,
        texts: Some(args.texts.clone()),
        text_col: args.text_col.clone(),
        id_col: None,
        time_col: None,
    };
    let loaded = load_texts(&source)?;
    let labels = strings(&loaded.frame, &args.label_col, &loaded.origin)?;
    let mut data: Vec<(&str, bool)> = Vec::with_capacity(labels.len());
    for (i, (text, label)) in loaded.texts.iter().zip(&labels).enumerate() {
        let Some(label) = label else {
            return Err(format!(
                "{} row {}: column `{}` is empty; every text needs a label",
                loaded.origin,
                loaded.frame.source_row(i),
                args.label_col
            ));
        };
        let Some(positive) = positive_label(label, args.positive.as_deref()) else {
            return Err(format!(
                "{} row {}: label `{label}` in column `{}` is not 1/0, true/false, positive/negative, pos/neg or yes/no; name the positive value with --positive",
                loaded.origin,
                loaded.frame.source_row(i),
                args.label_col
            ));
        };
        if !text.is_empty() {
            data.push((text, positive));
        }
    }
    let trained_on = args.trained_on.clone().unwrap_or_else(|| {
        format!(
            "{} ({} texts)",
            args.texts
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            data.len()
        )
    });
    match args.backend.as_deref() {
        None | Some("builtin") => {}
        Some("encoder") => return train_head(&args, &data, &trained_on, workers),
        Some(other) => {
            return Err(format!(
                "--backend {other}: train the builtin model or an encoder head"
            ));
        }
    }
    let lang = args
        .lang
        .clone()
        .ok_or("--lang zh|en is required for the builtin model")?;
    let params = TrainParams {
        l2: args.l2,
        min_docs: args.min_docs,
        ..TrainParams::default()
    };
    let bar = output::Progress::new();
    bar.message(format!("training on {} texts", data.len()));
    let model = sentiment::train(&data, &lang, &trained_on, &params)?;
    let scorer = Scorer {
        zh: model.clone(),
        en: model.clone(),
    };
    let correct = data
        .iter()
        .filter(|(t, y)| (scorer.score(t).score >= 0.0) == *y)
        .count();
    let mut cv_line = String::new();
    if let Some(k) = args.cv {
        if k < 2 || k > data.len() {
            return Err(format!("--cv must be between 2 and {}", data.len()));
        }
        let texts: Vec<&str> = data.iter().map(|d| d.0).collect();
        let fold = sentiment::folds(&texts, k, 0);
        let mut hits = 0;
        for f in 0..k {
            bar.message(format!("cross-validating: fold {}/{k}", f + 1));
            let train: Vec<(&str, bool)> = (0..data.len())
                .filter(|&i| fold[i] != f)
                .map(|i| data[i])
                .collect();
            let m = sentiment::train(&train, &lang, "cv", &params).map_err(|e| {
                format!("cross-validation fold {}: {e} (near-duplicates stay in one fold; try fewer folds)", f + 1)
            })?;
            let s = Scorer {
                zh: m.clone(),
                en: m,
            };
            hits += (0..data.len())
                .filter(|&i| fold[i] == f)
                .filter(|&i| (s.score(data[i].0).score >= 0.0) == data[i].1)
                .count();
        }
        cv_line = format!(
            "; {k}-fold cross-validated accuracy {:.4} (near-duplicates kept in one fold)",
            hits as f64 / data.len() as f64
        );
    }
    bar.finish();
    output::write_atomic(&args.out, model.to_text().as_bytes())?;
    println!(
        "wrote {} ({} weights, {} texts; training accuracy {:.4}{cv_line})",
        args.out.display(),
        model.weights.len(),
        data.len(),
        correct as f64 / data.len() as f64
    );
    Ok(ExitCode::SUCCESS)
}

/// `text train --backend encoder`: a logistic head on sentence embeddings (C = 1),
/// with grouped K-fold accuracy on request.
fn train_head(
    args: &TrainArgs,
    data: &[(&str, bool)],
    trained_on: &str,
    workers: usize,
) -> Result<ExitCode, String> {
    use adroit_encoder::backend::SentimentHead;
    let path = args
        .encoder_model
        .clone()
        .unwrap_or_else(|| adroit_encoder::models_dir().join("all-MiniLM-L6-v2"));
    let bar = output::Progress::new();
    bar.message(format!("loading {}", path.display()));
    let mut encoder = adroit_encoder::Encoder::load(&path).map_err(|e| e.to_string())?;
    encoder.workers = workers;
    let texts: Vec<&str> = data.iter().map(|d| d.0).collect();
    let labels: Vec<bool> = data.iter().map(|d| d.1).collect();
    let vectors = embed_all(&encoder, &texts, 32, &bar)?;
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let c = 1.0;
    let mut cv_line = String::new();
    if let Some(k) = args.cv {
        if k < 2 || k > data.len() {
            return Err(format!("--cv must be between 2 and {}", data.len()));
        }
        let fold = sentiment::folds(&texts, k, 0);
        let mut hits = 0;
        for f in 0..k {
            bar.message(format!("cross-validating: fold {}/{k}", f + 1));
            let (train, test): (Vec<usize>, Vec<usize>) =
                (0..data.len()).partition(|&i| fold[i] != f);
            let head = SentimentHead::train(
                &train
                    .iter()
                    .map(|&i| vectors[i].clone())
                    .collect::<Vec<_>>(),
                &train.iter().map(|&i| labels[i]).collect::<Vec<_>>(),
                c,
                &name,
                "cv",
            )
            .map_err(|e| format!("cross-validation fold {}: {e}", f + 1))?;
            for i in test {
                hits += usize::from((head.score(&vectors[i])? >= 0.0) == labels[i]);
            }
        }
        cv_line = format!(
            "; {k}-fold cross-validated accuracy {:.4} (near-duplicates kept in one fold)",
            hits as f64 / data.len() as f64
        );
    }
    bar.message("fitting the head");
    let head = SentimentHead::train(&vectors, &labels, c, &name, trained_on)?;
    let correct = vectors
        .iter()
        .zip(&labels)
        .filter(|(v, y)| head.score(v).is_ok_and(|s| (s >= 0.0) == **y))
        .count();
    bar.finish();
    output::write_atomic(&args.out, head.to_json().as_bytes())?;
    println!(
        "wrote {} (sentiment head on {name}, {} dimensions, {} texts; training accuracy {:.4}{cv_line})",
        args.out.display(),
        head.weights.len(),
        data.len(),
        correct as f64 / data.len() as f64
    );
    Ok(ExitCode::SUCCESS)
}

fn discover(texts: &[String], k: usize, min_df: usize, seed: u64) -> Result<Topics, String> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let terms = adroit_text::keywords::batch_terms(&refs);
    let opts = TopicOptions {
        min_df,
        ..TopicOptions::default()
    };
    topics::discover(&terms, k, seed, &opts)
}

/// The first `n` characters of a text on one line, for quotes in tables.
fn quote(text: &str, n: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(n).collect();
    if one_line.chars().count() > n {
        out.push('…');
    }
    out
}

fn topics(args: TopicsArgs) -> Result<ExitCode, String> {
    let (config, base) = source_config(&args.source)?;
    let mut settings =
        text_backends::resolve(config.as_ref().map(|c| &c.text), &base, &args.backends)?;
    match args.method.as_deref() {
        Some("builtin") => settings.backends.topics = adroit_config::TextBackend::Builtin,
        Some("encoder") => settings.backends.topics = adroit_config::TextBackend::Encoder,
        Some(other) => {
            return Err(format!(
                "--method {other}: use builtin (NMF) or encoder (embedding clusters)"
            ));
        }
        None => {}
    }
    let method = settings.backends.topics;
    let workers = if method == adroit_config::TextBackend::Encoder {
        text_backends::encoder_workers()
    } else {
        1
    };
    if args.name_topics {
        text_backends::prepare_llm_threads(&settings);
    }
    let bar = output::Progress::new();
    bar.message("loading texts");
    let texts = load_texts(&args.source)?;
    bar.message(format!(
        "discovering {} topics in {} texts",
        args.k,
        texts.texts.len()
    ));
    let found = if method == adroit_config::TextBackend::Encoder {
        let path = settings.encoder.model.as_ref().map_or_else(
            || adroit_encoder::models_dir().join("all-MiniLM-L6-v2"),
            PathBuf::from,
        );
        bar.message(format!("loading {}", path.display()));
        let mut encoder = adroit_encoder::Encoder::load(&path).map_err(|e| e.to_string())?;
        encoder.workers = workers;
        let backend = adroit_encoder::backend::EncoderBackend::new(encoder, None, 32)
            .map_err(|e| e.to_string())?;
        bar.message(format!(
            "embedding {} texts and clustering them into {} topics",
            texts.texts.len(),
            args.k
        ));
        let refs: Vec<&str> = texts.texts.iter().map(String::as_str).collect();
        let opts = TopicOptions {
            min_df: args.min_df,
            ..TopicOptions::default()
        };
        backend.topics(&refs, args.k, args.seed, &opts)
    } else {
        discover(&texts.texts, args.k, args.min_df, args.seed)
    }
    .map_err(|e| format!("{}: {e}", texts.origin))?;
    let names = if args.name_topics {
        bar.message(format!("naming {} topics with the LLM", found.topics.len()));
        let llm = adroit_llm::backend::LlmBackend::from_settings(&settings.llm)
            .map_err(|e| e.to_string())?;
        let briefs: Vec<adroit_llm::backend::TopicBrief> = found
            .topics
            .iter()
            .map(|t| adroit_llm::backend::TopicBrief {
                terms: t.terms.iter().take(8).map(|(w, _)| w.clone()).collect(),
                quotes: t
                    .representative
                    .iter()
                    .take(3)
                    .map(|&i| texts.texts[i].clone())
                    .collect(),
            })
            .collect();
        let named = llm.name_topics(&briefs);
        bar.finish();
        for (t, r) in found.topics.iter().zip(&named) {
            if let Err(e) = r {
                eprintln!("topic {}: no name ({e}); its terms label it", t.id);
            }
        }
        eprintln!("{}", llm.summary());
        named.into_iter().map(Result::ok).collect()
    } else {
        bar.finish();
        vec![None; found.topics.len()]
    };
    let mut table = output::table();
    if args.name_topics {
        table.set_header([
            "topic",
            "name",
            "texts",
            "top terms",
            "representative quote",
        ]);
    } else {
        table.set_header(["topic", "texts", "top terms", "representative quote"]);
    }
    for (t, name) in found.topics.iter().zip(&names) {
        let terms: Vec<&str> = t.terms.iter().take(6).map(|(w, _)| w.as_str()).collect();
        let quote = t
            .representative
            .first()
            .map(|&i| quote(&texts.texts[i], 60))
            .unwrap_or_default();
        let mut row = vec![t.id.to_string()];
        if args.name_topics {
            row.push(name.clone().unwrap_or_default());
        }
        row.extend([t.size.to_string(), terms.join(", "), quote]);
        table.add_row(row);
    }
    println!("{table}");
    if let Some(path) = &args.out {
        #[derive(Serialize)]
        struct TopicsFile<'a> {
            source: &'a str,
            k: usize,
            seed: u64,
            topics: Vec<serde_json::Value>,
            assignment: Vec<serde_json::Value>,
        }
        let topics = found
            .topics
            .iter()
            .zip(&names)
            .map(|(t, name)| {
                serde_json::json!({
                    "id": t.id,
                    "name": name,
                    "size": t.size,
                    "weight_share": t.weight_share,
                    "terms": t.terms,
                    "representative": t.representative.iter().map(|&i| serde_json::json!({
                        "id": texts.ids[i],
                        "text": texts.texts[i],
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let assignment = found
            .assignment
            .iter()
            .enumerate()
            .map(|(i, t)| serde_json::json!({"id": texts.ids[i], "topic": t}))
            .collect();
        let file = TopicsFile {
            source: &texts.origin,
            k: args.k,
            seed: args.seed,
            topics,
            assignment,
        };
        let json = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string())?;
        output::write_atomic(path, &json)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A date from `2024-03-05`, `2024-03-05 10:00:00`, `2024-03-05T10:00:00Z` or `2024/3/5`.
pub(crate) fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let s = s.trim();
    let head: String = s.chars().take_while(|c| !matches!(c, ' ' | 'T')).collect();
    chrono::NaiveDate::parse_from_str(&head, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(&head, "%Y/%m/%d"))
        .ok()
}

fn trends(args: TrendsArgs) -> Result<ExitCode, String> {
    let (config, base) = source_config(&args.source)?;
    let settings = text_backends::resolve(config.as_ref().map(|c| &c.text), &base, &args.backends)?;
    text_backends::prepare_threads(&settings);
    let bar = output::Progress::new();
    bar.message("loading texts");
    let texts = load_texts(&args.source)?;
    let times = texts.times.as_ref().ok_or_else(|| {
        "trends need dates: give --time-col COLUMN (or a config whose [texts] names `timestamp`)"
            .to_string()
    })?;
    let mut dates = Vec::with_capacity(times.len());
    for (i, t) in times.iter().enumerate() {
        let row = texts.frame.source_row(i);
        let t = t
            .as_deref()
            .ok_or_else(|| format!("{} row {row}: the date is empty", texts.origin))?;
        dates.push(parse_date(t).ok_or_else(|| {
            format!(
                "{} row {row}: `{t}` is not a date (expected YYYY-MM-DD, optionally with a time)",
                texts.origin
            )
        })?);
    }
    let groups = match &args.by {
        Some(c) => Some(strings(&texts.frame, c, &texts.origin)?),
        None => None,
    };
    let scorer = scorer(
        settings.model_zh.as_deref().map(Path::new),
        settings.model_en.as_deref().map(Path::new),
    )?;
    let taxonomy = match &settings.aspects {
        Some(p) => {
            let t: Taxonomy = read_toml(Path::new(p))?;
            t.validate().map_err(|e| format!("{p}: {e}"))?;
            t
        }
        None => Taxonomy::default(),
    };
    let opts = Options {
        keywords: 0,
        tag_chinese: false,
        taxonomy,
        ..Options::default()
    };
    let loaded = text_backends::load(&settings, &|m| bar.message(m))?;
    let plan = loaded.plan(&settings)?;
    bar.message(format!("analysing {} texts", texts.texts.len()));
    let refs: Vec<&str> = texts.texts.iter().map(String::as_str).collect();
    let analyses = adroit_text::backend::analyze_with(&refs, &opts, &scorer, &plan);
    let assignment = if args.topics > 0 {
        bar.message(format!("discovering {} topics", args.topics));
        Some(
            discover(&texts.texts, args.topics, 2, 0)
                .map_err(|e| format!("{}: {e}", texts.origin))?
                .assignment,
        )
    } else {
        None
    };
    let observations: Vec<Observation> = analyses
        .iter()
        .enumerate()
        .map(|(i, a)| Observation {
            date: dates[i],
            group: groups.as_ref().and_then(|g| g[i].clone()),
            score: a.sentiment.score,
            label: a.sentiment.label,
            aspects: a
                .aspects
                .iter()
                .map(|m| (m.aspect.clone(), m.sentiment.score))
                .collect(),
            topic: assignment.as_ref().and_then(|t| t[i]),
        })
        .collect();
    let grain = match args.grain {
        GrainArg::Day => Grain::Day,
        GrainArg::Week => Grain::Week,
        GrainArg::Month => Grain::Month,
    };
    let series = trends::aggregate(
        &observations,
        &TrendOptions {
            grain,
            aspects: opts
                .taxonomy
                .aspects
                .iter()
                .map(|a| a.name.clone())
                .collect(),
            topics: args.topics,
        },
    );
    let shifts = trends::shifts(
        &series,
        ShiftOptions {
            threshold: args.threshold,
            ..ShiftOptions::default()
        },
    );
    bar.finish();
    let (header, rows) = series.to_table(args.by.as_deref());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).map_err(|e| e.to_string())?;
    for r in &rows {
        w.write_record(r).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    output::write_output(args.out.as_deref(), &bytes)?;
    if let Some(path) = &args.shifts {
        let json = serde_json::to_vec_pretty(&shifts).map_err(|e| e.to_string())?;
        output::write_atomic(path, &json)?;
    }
    let mut table = output::table();
    table.set_header(["period", "group", "series", "value", "baseline", "robust z"]);
    for s in shifts.iter().take(20) {
        table.add_row([
            s.period.to_string(),
            s.group.clone().unwrap_or_default(),
            s.series.clone(),
            format!("{:.3}", s.value),
            format!("{:.3}", s.baseline),
            format!("{:+.1}", s.robust_z),
        ]);
    }
    eprintln!(
        "{} periods × {} columns from {} texts; {} shifts flagged{}",
        rows.len(),
        header.len(),
        texts.texts.len(),
        shifts.len(),
        if shifts.len() > 20 {
            " (first 20 below)"
        } else {
            ""
        }
    );
    if !shifts.is_empty() {
        eprintln!("{table}");
    }
    if let Some(line) = loaded.summary() {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn embed(args: EmbedArgs) -> Result<ExitCode, String> {
    let workers = text_backends::encoder_workers();
    let bar = output::Progress::new();
    let dir = args
        .model
        .clone()
        .unwrap_or_else(|| adroit_encoder::models_dir().join("all-MiniLM-L6-v2"));
    bar.message(format!("loading {}", dir.display()));
    let mut encoder = adroit_encoder::Encoder::load(&dir).map_err(|e| e.to_string())?;
    encoder.workers = workers;
    let texts = load_texts(&args.source)?;
    let kept: Vec<Vec<Option<String>>> = args
        .keep
        .iter()
        .map(|c| strings(&texts.frame, c, &texts.origin))
        .collect::<Result<_, _>>()?;
    let refs: Vec<&str> = texts.texts.iter().map(String::as_str).collect();
    let started = std::time::Instant::now();
    let vectors = embed_all(&encoder, &refs, args.batch, &bar)?;
    let seconds = started.elapsed().as_secs_f64();
    bar.finish();
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["id".to_string()];
    header.extend(args.keep.iter().cloned());
    header.extend((0..encoder.dim).map(|j| format!("e{j}")));
    w.write_record(&header).map_err(|e| e.to_string())?;
    for (i, v) in vectors.iter().enumerate() {
        let mut record = vec![texts.ids[i].clone()];
        record.extend(kept.iter().map(|c| c[i].clone().unwrap_or_default()));
        record.extend(v.iter().map(|x| format!("{x}")));
        w.write_record(&record).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    output::write_output(args.out.as_deref(), &bytes)?;
    eprintln!(
        "embedded {} texts with {} ({} dimensions) in {seconds:.1} s ({:.0} texts/s)",
        vectors.len(),
        dir.display(),
        encoder.dim,
        vectors.len() as f64 / seconds.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

fn duplicates(args: DuplicatesArgs) -> Result<ExitCode, String> {
    if !(0.0..=1.0).contains(&args.threshold) {
        return Err(format!(
            "--threshold {} must be between 0 and 1 (a cosine similarity)",
            args.threshold
        ));
    }
    let workers = text_backends::encoder_workers();
    let bar = output::Progress::new();
    bar.message("loading texts");
    let texts = load_texts(&args.source)?;
    let refs: Vec<&str> = texts.texts.iter().map(String::as_str).collect();
    let chinese = refs
        .iter()
        .any(|t| t.chars().any(adroit_text::tokens::is_han));
    let path = args.encoder_model.clone().unwrap_or_else(|| {
        let models = adroit_encoder::models_dir();
        if chinese {
            models
                .join("multilingual-e5-small-q4")
                .join("e5-small-q4.bin")
        } else {
            models.join("all-MiniLM-L6-v2")
        }
    });
    bar.message(format!("loading {}", path.display()));
    let mut encoder = adroit_encoder::Encoder::load(&path).map_err(|e| e.to_string())?;
    encoder.workers = workers;
    let vectors = embed_all(&encoder, &refs, 32, &bar)?;
    bar.message("comparing every pair");
    let groups = adroit_text::duplicates::near_duplicates(&vectors, args.threshold as f32);
    bar.finish();
    let mut table = output::table();
    table.set_header(["group", "texts", "ids", "first text"]);
    for (g, members) in groups.iter().enumerate().take(20) {
        let ids: Vec<&str> = members
            .iter()
            .take(5)
            .map(|&i| texts.ids[i].as_str())
            .collect();
        table.add_row([
            (g + 1).to_string(),
            members.len().to_string(),
            ids.join(", ") + if members.len() > 5 { ", …" } else { "" },
            quote(&texts.texts[members[0]], 60),
        ]);
    }
    let in_groups: usize = groups.iter().map(Vec::len).sum();
    println!(
        "{} groups of near-duplicates (cosine ≥ {}) holding {in_groups} of {} texts{}",
        groups.len(),
        args.threshold,
        texts.texts.len(),
        if groups.len() > 20 {
            "; the first 20:"
        } else {
            ""
        }
    );
    if !groups.is_empty() {
        println!("{table}");
    }
    if let Some(out) = &args.out {
        let json = serde_json::json!({
            "source": texts.origin,
            "threshold": args.threshold,
            "encoder": path.display().to_string(),
            "groups": groups.iter().map(|m| m.iter().map(|&i| serde_json::json!({
                "id": texts.ids[i],
                "text": texts.texts[i],
            })).collect::<Vec<_>>()).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec_pretty(&json).map_err(|e| e.to_string())?;
        output::write_atomic(out, &bytes)?;
        eprintln!("wrote {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Embeds texts in chunks of 1,024 so the progress line moves on large files.
fn embed_all(
    encoder: &adroit_encoder::Encoder,
    texts: &[&str],
    batch: usize,
    bar: &output::Progress,
) -> Result<Vec<Vec<f32>>, String> {
    let mut vectors = Vec::with_capacity(texts.len());
    for (k, chunk) in texts.chunks(1024).enumerate() {
        bar.message(format!("embedding {}/{} texts", k * 1024, texts.len()));
        vectors.extend(encoder.embed(chunk, batch).map_err(|e| e.to_string())?);
    }
    Ok(vectors)
}
