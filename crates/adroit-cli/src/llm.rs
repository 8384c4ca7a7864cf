//! `adroit llm`: run a local GGUF chat model (llama / qwen2 families) in-process.
//! `serve` puts it behind an OpenAI-compatible HTTP server; `chat` answers one prompt.
//! The work is adroit-llm's; this door parses arguments and prints.

use adroit_llm::protocol::ChatMessage;
use adroit_llm::{GenerateParams, LocalModel, serve};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct LlmArgs {
    /// Threads of the model's CPU kernels. One is fastest on small models and shared
    /// cores; more help bigger models on idle cores.
    #[arg(long, global = true, default_value_t = 1)]
    pub threads: usize,
    #[command(subcommand)]
    pub command: LlmCommand,
}

#[derive(Subcommand)]
pub enum LlmCommand {
    /// Serve a GGUF model over HTTP: POST /v1/chat/completions (OpenAI-compatible,
    /// streaming too), GET /v1/models, GET /healthz. Runs until Ctrl-C.
    Serve(ServeArgs),
    /// Answer one prompt with a GGUF model; the answer streams to stdout.
    Chat(ChatArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// The GGUF model file (llama or qwen2 architecture), e.g. SmolLM2-135M-Instruct.Q4_1.gguf.
    #[arg(long)]
    pub model: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,
}

#[derive(Args)]
pub struct ChatArgs {
    /// The GGUF model file (llama or qwen2 architecture).
    #[arg(long)]
    pub model: PathBuf,
    /// The user's message.
    pub prompt: String,
    /// An optional system message.
    #[arg(long)]
    pub system: Option<String>,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// 0 is greedy (deterministic); above 0 samples with --seed.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Nucleus sampling threshold (with --temperature above 0).
    #[arg(long)]
    pub top_p: Option<f64>,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop before this string (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
}

pub fn run(args: LlmArgs) -> Result<ExitCode, String> {
    if args.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    // SAFETY: `adroit` has started no other thread yet (this runs right after argument
    // parsing), and no candle kernel has run.
    unsafe { adroit_llm::local::set_cpu_threads(args.threads) };
    match args.command {
        LlmCommand::Serve(a) => run_serve(a),
        LlmCommand::Chat(a) => run_chat(a),
    }
}

fn run_serve(a: ServeArgs) -> Result<ExitCode, String> {
    let model = LocalModel::load(&a.model).map_err(|e| e.to_string())?;
    let name = model.name().to_string();
    let server = serve::spawn(model, &a.bind).map_err(|e| e.to_string())?;
    println!(
        "serving {name} on http://{} (OpenAI base URL {}); Ctrl-C stops",
        server.addr,
        server.base_url()
    );
    let _ = std::io::stdout().flush();
    server.wait_for_ctrl_c().map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn run_chat(a: ChatArgs) -> Result<ExitCode, String> {
    let mut model = LocalModel::load(&a.model).map_err(|e| e.to_string())?;
    let mut messages = Vec::new();
    if let Some(s) = a.system {
        messages.push(ChatMessage::system(s));
    }
    messages.push(ChatMessage::user(a.prompt));
    let params = GenerateParams {
        max_tokens: a.max_tokens,
        temperature: a.temperature,
        top_p: a.top_p,
        seed: a.seed,
        stop: a.stop,
    };
    let mut out = std::io::stdout().lock();
    let generation = model
        .chat(&messages, &params, &mut |piece| {
            let _ = out.write_all(piece.as_bytes());
            let _ = out.flush();
        })
        .map_err(|e| e.to_string())?;
    let _ = writeln!(out);
    eprintln!(
        "{} prompt + {} generated tokens, finish: {}, {:.1} tokens/s",
        generation.usage.prompt_tokens,
        generation.usage.completion_tokens,
        generation.finish_reason.as_str(),
        generation.tokens_per_second()
    );
    Ok(ExitCode::SUCCESS)
}
