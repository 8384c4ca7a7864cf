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
    /// Add an executive summary written by an LLM from the run's figures only; every
    /// number it states is checked against them and paragraphs with any other number
    /// are dropped (listed on stderr).
    #[arg(long)]
    pub narrative: bool,
    /// An OpenAI-compatible endpoint for the narrative (default: the local GGUF model,
    /// in-process).
    #[arg(long, requires = "narrative")]
    pub llm_base_url: Option<String>,
    /// The model name the endpoint serves.
    #[arg(long, requires = "narrative")]
    pub llm_model: Option<String>,
    /// The environment variable holding the endpoint's key.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub llm_api_key_env: String,
    /// Most tokens the model may write for the narrative.
    #[arg(long, default_value_t = 300)]
    pub narrative_max_tokens: u32,
    /// A GGUF chat model run in-process (default: SmolLM2-135M-Instruct under
    /// $ADROIT_MODELS).
    #[arg(long, requires = "narrative")]
    pub llm_local_model: Option<PathBuf>,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
}

pub fn run(args: ReportArgs) -> Result<ExitCode, String> {
    let narrative = if args.narrative {
        match narrative(&args) {
            Ok(n) => Some(n),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(1));
            }
        }
    } else {
        None
    };
    match write_with(&args.run_dir, args.lang, args.out.clone(), narrative) {
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
    write_with(run_dir, lang, out, None)
}

fn write_with(
    run_dir: &Path,
    lang: Lang,
    out: Option<PathBuf>,
    narrative: Option<Vec<String>>,
) -> Result<PathBuf, String> {
    let mut data = adroit_report::load(run_dir).map_err(|e| e.to_string())?;
    data.narrative = narrative.unwrap_or_default();
    let html = adroit_report::render(&data, lang);
    let out = out.unwrap_or_else(|| run_dir.join("report.html"));
    output::write_atomic(&out, html.as_bytes())?;
    Ok(out)
}

/// The report of a run folder for `adroit run` and `adroit demo` (`lang`: en or zh).
pub fn write_report(run_dir: &Path, lang: &str, out: Option<PathBuf>) -> Result<PathBuf, String> {
    write(run_dir, parse_lang(lang)?, out)
}

/// Asks the LLM for the summary and keeps the paragraphs whose numbers check out.
fn narrative(args: &ReportArgs) -> Result<Vec<String>, String> {
    use adroit_llm::protocol::{ChatMessage, ChatRequest};
    use adroit_report::narrative;
    let data = adroit_report::load(&args.run_dir).map_err(|e| e.to_string())?;
    let facts = narrative::facts(&data);
    if facts.is_empty() {
        return Err(format!(
            "{}: no computed figures to write about (run the analyses first)",
            args.run_dir.display()
        ));
    }
    let settings = adroit_config::LlmSettings {
        base_url: args.llm_base_url.clone(),
        model: args.llm_model.clone(),
        api_key_env: args.llm_api_key_env.clone(),
        local_model: args
            .llm_local_model
            .as_ref()
            .map(|p| p.display().to_string()),
        // A small local model on a busy CPU can take minutes for a few paragraphs.
        timeout_secs: if args.llm_base_url.is_some() {
            120
        } else {
            600
        },
        ..Default::default()
    };
    let llm =
        adroit_llm::backend::LlmBackend::from_settings(&settings).map_err(|e| e.to_string())?;
    let (system, user) = narrative::prompt(&facts, args.lang);
    let request = ChatRequest {
        model: llm.client().config().model.clone(),
        messages: vec![ChatMessage::system(system), ChatMessage::user(user)],
        temperature: Some(0.2),
        top_p: None,
        max_tokens: Some(args.narrative_max_tokens),
        seed: Some(0),
        stop: None,
        stream: false,
        response_format: None,
    };
    let (response, _) = llm.client().chat(&request).map_err(|e| e.to_string())?;
    let choice = response.choices.first().ok_or("the model gave no answer")?;
    let truncated = choice.finish_reason.as_deref() == Some("length");
    let checked = narrative::check(&choice.message.content, &facts, truncated);
    let kept: Vec<String> = checked
        .iter()
        .filter(|p| p.kept)
        .map(|p| p.text.clone())
        .collect();
    for p in checked.iter().filter(|p| !p.kept) {
        eprintln!("narrative paragraph dropped ({}): {:?}", p.reason, p.text);
    }
    eprintln!(
        "narrative: {} of {} paragraphs kept ({})",
        kept.len(),
        checked.len(),
        llm.summary()
    );
    Ok(kept)
}
