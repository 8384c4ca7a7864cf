//! GGUF chat models run in-process on the CPU with candle: the llama family (Llama,
//! SmolLM, Mistral, TinyLlama …) and the qwen2 family (Qwen 2 / 2.5). Everything comes
//! from the one `.gguf` file: weights, tokenizer ([`crate::gguf_tokenizer`]) and chat
//! template ([`crate::template`]).

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::quantized::gguf_file::{self, Content};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::{quantized_llama, quantized_qwen2};

use crate::LlmError;
use crate::gguf_tokenizer::{GgufTokenizer, meta_int, meta_str};
use crate::protocol::{ChatMessage, Usage};
use crate::template::ChatTemplate;

/// candle's quantized llama precomputes rotary tables for this many positions.
const LLAMA_MAX_POSITIONS: usize = quantized_llama::MAX_SEQ_LEN;

/// Sets how many threads candle's CPU kernels use, process-wide (the
/// `CANDLE_NUM_THREADS` variable candle reads once, when it first runs a kernel).
///
/// candle splits every matrix product, even a one-token step, across a pool of threads
/// that spin at a barrier. On a small model the split gains little, and when the cores
/// are shared (other processes, parallel tests) the spinning threads wait for each other
/// through whole scheduler slices: SmolLM2-135M on 2 busy cores makes ~60 tokens/s on
/// one thread and ~2 on two. One thread is the robust choice; more pay off only on idle
/// cores and bigger models.
///
/// # Safety
/// It changes the process environment: call it before other threads run (at the start of
/// `main`, or once before any test touches a model), and before candle's first kernel;
/// later calls have no effect on candle.
pub unsafe fn set_cpu_threads(threads: usize) {
    let threads = threads.max(1);
    // SAFETY: the caller guarantees no other thread reads or writes the environment now.
    unsafe { std::env::set_var("CANDLE_NUM_THREADS", threads.to_string()) };
}

/// How to load a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Re-quantize weight blocks that candle has no SIMD kernel for (Q4_1, Q5_0, Q5_1:
    /// scalar dot products) to Q8_0 (AVX2 / NEON kernels) while loading. Several times
    /// faster; Q8_0 keeps each weight within 1/254 of its block's largest magnitude, so
    /// answers stay close to, but are not bit-identical with, the file's own quantization.
    /// On by default.
    pub fast_kernels: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self { fast_kernels: true }
    }
}

/// How to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateParams {
    /// Most tokens to generate (the answer stops with `length` there).
    pub max_tokens: u32,
    /// 0 (the default) is greedy decoding: the same prompt always gives the same answer.
    pub temperature: f64,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches `top_p`.
    pub top_p: Option<f64>,
    /// Seed of the sampler (with `temperature > 0`): the same seed gives the same answer.
    pub seed: u64,
    /// Generation stops before any of these strings; they are not part of the answer.
    pub stop: Vec<String>,
}

impl Default for GenerateParams {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            temperature: 0.0,
            top_p: None,
            seed: 42,
            stop: Vec::new(),
        }
    }
}

impl GenerateParams {
    /// Checks the ranges; the error names the field.
    pub fn validate(&self) -> Result<(), LlmError> {
        if self.max_tokens == 0 {
            return Err(LlmError::InvalidRequest(
                "max_tokens must be at least 1".into(),
            ));
        }
        if !self.temperature.is_finite() || !(0.0..=100.0).contains(&self.temperature) {
            return Err(LlmError::InvalidRequest(format!(
                "temperature must be between 0 and 100, got {}",
                self.temperature
            )));
        }
        if let Some(p) = self.top_p
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(LlmError::InvalidRequest(format!(
                "top_p must be in (0, 1], got {p}"
            )));
        }
        if let Some(i) = self.stop.iter().position(|s| s.is_empty()) {
            return Err(LlmError::InvalidRequest(format!(
                "stop[{i}] is empty; stop strings must have at least one character"
            )));
        }
        Ok(())
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// End of turn (eos / end-of-turn token) or a stop string.
    Stop,
    /// `max_tokens` reached.
    Length,
    /// The caller stopped it (see [`LocalModel::chat_until`]).
    Cancelled,
}

impl FinishReason {
    /// The OpenAI wire name: `stop` or `length` (`cancelled` is adroit's own).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub text: String,
    pub finish_reason: FinishReason,
    /// Prompt tokens (after the chat template) and generated tokens (the end-of-turn
    /// token included when one ended the answer).
    pub usage: Usage,
    /// Seconds spent reading the prompt (prefill).
    pub prompt_seconds: f64,
    /// Seconds spent generating after the prompt.
    pub generation_seconds: f64,
}

impl Generation {
    /// Generated tokens per second (0 when nothing was generated).
    pub fn tokens_per_second(&self) -> f64 {
        if self.generation_seconds > 0.0 {
            self.usage.completion_tokens as f64 / self.generation_seconds
        } else {
            0.0
        }
    }
}

enum Weights {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
}

impl Weights {
    fn forward(&mut self, x: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Self::Llama(m) => m.forward(x, pos),
            Self::Qwen2(m) => m.forward(x, pos),
        }
    }
    fn clear_kv_cache(&mut self) {
        match self {
            Self::Llama(m) => m.clear_kv_cache(),
            Self::Qwen2(m) => m.clear_kv_cache(),
        }
    }
}

/// A chat model loaded from a GGUF file.
pub struct LocalModel {
    path: PathBuf,
    name: String,
    architecture: String,
    weights: Weights,
    tokenizer: GgufTokenizer,
    template: ChatTemplate,
    bos_text: String,
    eos_text: String,
    context_length: usize,
    device: Device,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("path", &self.path)
            .field("architecture", &self.architecture)
            .field("context_length", &self.context_length)
            .field("tokenizer", &self.tokenizer)
            .field("template", &self.template)
            .finish()
    }
}

impl LocalModel {
    /// Loads weights, tokenizer and chat template from the GGUF file at `path`, with the
    /// default [`LoadOptions`].
    pub fn load(path: &Path) -> Result<Self, LlmError> {
        Self::load_with(path, LoadOptions::default())
    }

    /// Loads weights, tokenizer and chat template from the GGUF file at `path`.
    pub fn load_with(path: &Path, options: LoadOptions) -> Result<Self, LlmError> {
        let shown = path.display();
        let model_err = |what: String| LlmError::Model(format!("{shown}: {what}"));
        let meta = std::fs::metadata(path).map_err(|e| LlmError::io(path, e))?;
        if meta.is_dir() {
            return Err(model_err(
                "is a directory; pass the .gguf model file itself".into(),
            ));
        }
        let file = File::open(path).map_err(|e| LlmError::io(path, e))?;
        let mut reader = BufReader::new(file);
        let content = Content::read(&mut reader)
            .map_err(|e| model_err(format!("not a readable GGUF file: {e}")))?;
        let md = &content.metadata;
        let architecture = meta_str(md, "general.architecture")
            .map_err(&model_err)?
            .ok_or_else(|| model_err("metadata `general.architecture` is missing".into()))?;
        let tokenizer = GgufTokenizer::from_metadata(md).map_err(&model_err)?;
        let template = match meta_str(md, "tokenizer.chat_template").map_err(&model_err)? {
            Some(src) if !src.trim().is_empty() => ChatTemplate::jinja(&src).map_err(&model_err)?,
            _ => ChatTemplate::chatml(),
        };
        let ctx_key = format!("{architecture}.context_length");
        let declared_ctx = meta_int(md, &ctx_key)
            .map_err(&model_err)?
            .filter(|&c| c > 0)
            .map(|c| c as usize);
        let token_text = |id: Option<u32>| id.and_then(|i| tokenizer.token(i)).unwrap_or_default();
        let bos_text = token_text(tokenizer.bos_id());
        let eos_text = token_text(tokenizer.eos_id());

        let device = Device::Cpu;
        if !matches!(architecture.as_str(), "llama" | "qwen2") {
            return Err(model_err(format!(
                "architecture `{architecture}` (metadata `general.architecture`) is not \
                 supported; supported: llama, qwen2"
            )));
        }
        let (content, mut reader): (Content, Box<dyn ReadSeek>) = if options.fast_kernels {
            match requantize_slow_blocks(&content, &mut reader, &device)
                .map_err(|e| model_err(format!("reading the weights failed: {e}")))?
            {
                Some((c, r)) => (c, Box::new(r)),
                None => (content, Box::new(reader)),
            }
        } else {
            (content, Box::new(reader))
        };
        let (weights, context_length) = match architecture.as_str() {
            "llama" => {
                let w = quantized_llama::ModelWeights::from_gguf(content, &mut reader, &device)
                    .map_err(|e| model_err(format!("loading llama weights failed: {e}")))?;
                let ctx = declared_ctx
                    .unwrap_or(LLAMA_MAX_POSITIONS)
                    .min(LLAMA_MAX_POSITIONS);
                (Weights::Llama(w), ctx)
            }
            _ => {
                let w = quantized_qwen2::ModelWeights::from_gguf(content, &mut reader, &device)
                    .map_err(|e| model_err(format!("loading qwen2 weights failed: {e}")))?;
                let ctx = declared_ctx
                    .ok_or_else(|| model_err(format!("metadata `{ctx_key}` is missing")))?;
                (Weights::Qwen2(w), ctx)
            }
        };
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "local".into());
        Ok(Self {
            path: path.to_path_buf(),
            name,
            architecture,
            weights,
            tokenizer,
            template,
            bos_text,
            eos_text,
            context_length,
            device,
        })
    }

    /// The model's name: the file name without `.gguf`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `llama` or `qwen2` (metadata `general.architecture`).
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// Most tokens of prompt plus answer.
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    pub fn tokenizer(&self) -> &GgufTokenizer {
        &self.tokenizer
    }

    /// The prompt text the chat template makes of `messages`.
    pub fn render_prompt(&self, messages: &[ChatMessage]) -> Result<String, LlmError> {
        if messages.is_empty() {
            return Err(LlmError::InvalidRequest(
                "messages is empty; give at least one message".into(),
            ));
        }
        self.template
            .render(messages, &self.bos_text, &self.eos_text)
            .map_err(LlmError::InvalidRequest)
    }

    /// The prompt's token ids (bos added when the model asks for it and the template did
    /// not write it).
    pub fn prompt_tokens(&self, messages: &[ChatMessage]) -> Result<Vec<u32>, LlmError> {
        let prompt = self.render_prompt(messages)?;
        let mut ids = self.tokenizer.encode(&prompt)?;
        if self.tokenizer.add_bos()
            && let Some(bos) = self.tokenizer.bos_id()
            && ids.first() != Some(&bos)
        {
            ids.insert(0, bos);
        }
        Ok(ids)
    }

    /// Checks a request without generating: the parameters, the chat template on
    /// `messages`, and that prompt plus `max_tokens` fit the context. Returns the prompt's
    /// token ids.
    pub fn prepare(
        &self,
        messages: &[ChatMessage],
        params: &GenerateParams,
    ) -> Result<Vec<u32>, LlmError> {
        params.validate()?;
        let prompt = self.prompt_tokens(messages)?;
        let max_tokens = params.max_tokens as usize;
        if prompt.len() + max_tokens > self.context_length {
            return Err(LlmError::InvalidRequest(format!(
                "the prompt has {} tokens and max_tokens is {max_tokens}: together more than \
                 the model's context of {} tokens",
                prompt.len(),
                self.context_length
            )));
        }
        Ok(prompt)
    }

    /// Answers `messages`. `on_token` receives the answer's text piece by piece as it is
    /// generated (stop strings held back and never sent); the pieces add up to
    /// [`Generation::text`].
    pub fn chat(
        &mut self,
        messages: &[ChatMessage],
        params: &GenerateParams,
        on_token: &mut dyn FnMut(&str),
    ) -> Result<Generation, LlmError> {
        self.chat_until(messages, params, &mut |piece| {
            on_token(piece);
            ControlFlow::Continue(())
        })
    }

    /// [`LocalModel::chat`] whose `on_token` can stop generation (a client that went
    /// away): `ControlFlow::Break` ends it with [`FinishReason::Cancelled`].
    pub fn chat_until(
        &mut self,
        messages: &[ChatMessage],
        params: &GenerateParams,
        on_token: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Generation, LlmError> {
        let prompt = self.prepare(messages, params)?;
        let max_tokens = params.max_tokens as usize;
        let sampling = if params.temperature < 1e-7 {
            Sampling::ArgMax
        } else {
            match params.top_p {
                Some(p) if p < 1.0 => Sampling::TopP {
                    p,
                    temperature: params.temperature,
                },
                _ => Sampling::All {
                    temperature: params.temperature,
                },
            }
        };
        let mut sampler = LogitsProcessor::from_sampling(params.seed, sampling);
        let step_err = |e: candle_core::Error| {
            LlmError::Model(format!("{}: generation failed: {e}", self.path.display()))
        };

        let started = Instant::now();
        self.weights.clear_kv_cache();
        let input = Tensor::new(prompt.as_slice(), &self.device)
            .and_then(|t| t.unsqueeze(0))
            .map_err(step_err)?;
        let weights = &mut self.weights;
        let mut forward =
            |input: &Tensor, pos: usize| weights.forward(input, pos).and_then(|l| l.squeeze(0));
        let mut logits = forward(&input, 0).map_err(step_err)?;
        let prompt_seconds = started.elapsed().as_secs_f64();
        let gen_started = Instant::now();

        let end_ids = self.tokenizer.end_of_turn_ids().to_vec();
        let mut decoder = self.tokenizer.inner().decode_stream(true);
        let mut text = String::new();
        let mut sent = 0usize;
        let mut generated = 0usize;
        let mut finish = FinishReason::Length;
        let max_stop = params.stop.iter().map(|s| s.len()).max().unwrap_or(0);
        while generated < max_tokens {
            let next = sampler.sample(&logits).map_err(step_err)?;
            generated += 1;
            if end_ids.contains(&next) {
                finish = FinishReason::Stop;
                break;
            }
            let piece = decoder
                .step(next)
                .map_err(|e| LlmError::Model(format!("detokenizing failed: {e}")))?;
            if let Some(piece) = piece {
                let search_from = text.len().saturating_sub(max_stop);
                text.push_str(&piece);
                if let Some(cut) = find_stop(&text, search_from, &params.stop) {
                    text.truncate(cut);
                    finish = FinishReason::Stop;
                    break;
                }
                let safe = text.len() - held_back(&text, &params.stop);
                if safe > sent {
                    let flow = on_token(&text[sent..safe]);
                    sent = safe;
                    if flow.is_break() {
                        finish = FinishReason::Cancelled;
                        break;
                    }
                }
            }
            if generated == max_tokens {
                break;
            }
            let pos = prompt.len() + generated - 1;
            let input = Tensor::new(&[next], &self.device)
                .and_then(|t| t.unsqueeze(0))
                .map_err(step_err)?;
            logits = forward(&input, pos).map_err(step_err)?;
        }
        if text.len() > sent && finish != FinishReason::Cancelled {
            let _ = on_token(&text[sent..]);
        }
        let usage = Usage {
            prompt_tokens: prompt.len() as u64,
            completion_tokens: generated as u64,
            total_tokens: (prompt.len() + generated) as u64,
        };
        Ok(Generation {
            text,
            finish_reason: finish,
            usage,
            prompt_seconds,
            generation_seconds: gen_started.elapsed().as_secs_f64(),
        })
    }
}

trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Block types whose dot products candle computes with scalar code only.
fn slow_blocks(dtype: GgmlDType) -> bool {
    matches!(dtype, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

/// When the file has [`slow_blocks`] tensors: every tensor read, those re-quantized to
/// Q8_0, and the whole written to an in-memory GGUF (model metadata only) that the
/// model loaders read as they would the file. `None` when nothing needs it.
fn requantize_slow_blocks<R: Read + Seek>(
    content: &Content,
    reader: &mut R,
    device: &Device,
) -> candle_core::Result<Option<(Content, Cursor<Vec<u8>>)>> {
    if !content
        .tensor_infos
        .values()
        .any(|t| slow_blocks(t.ggml_dtype))
    {
        return Ok(None);
    }
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors = Vec::with_capacity(names.len());
    for name in names {
        let q = content.tensor(reader, name, device)?;
        let q = if slow_blocks(q.dtype()) {
            QTensor::quantize(&q.dequantize(device)?, GgmlDType::Q8_0)?
        } else {
            q
        };
        tensors.push((name.as_str(), q));
    }
    let metadata: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .filter(|(k, _)| !k.starts_with("tokenizer."))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let mut buffer = Cursor::new(Vec::new());
    gguf_file::write(&mut buffer, &metadata, &refs)?;
    drop(tensors);
    buffer.set_position(0);
    let content = Content::read(&mut buffer)?;
    Ok(Some((content, buffer)))
}

/// Byte offset of the earliest stop string in `text` that ends at or after `from`.
fn find_stop(text: &str, from: usize, stops: &[String]) -> Option<usize> {
    let mut from = from.min(text.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    stops
        .iter()
        .filter_map(|s| text[from..].find(s.as_str()).map(|i| from + i))
        .min()
}

/// Length of the longest suffix of `text` that could still grow into a stop string.
fn held_back(text: &str, stops: &[String]) -> usize {
    let mut keep = 0;
    for s in stops {
        for (i, _) in s.char_indices().skip(1) {
            if i > keep && text.ends_with(&s[..i]) {
                keep = i;
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_strings_are_found_and_prefixes_held_back() {
        let stops = vec!["END".to_string(), "\n\n".to_string()];
        assert_eq!(find_stop("abcEN", 0, &stops), None);
        assert_eq!(held_back("abcEN", &stops), 2);
        assert_eq!(find_stop("abcEND", 3, &stops), Some(3));
        assert_eq!(find_stop("a\n\nbEND", 0, &stops), Some(1));
        assert_eq!(held_back("abc\n", &stops), 1);
        assert_eq!(held_back("abc", &stops), 0);
        assert_eq!(held_back("é", &["éa".to_string()]), 2);
    }

    #[test]
    fn params_are_checked() {
        let ok = GenerateParams::default();
        assert!(ok.validate().is_ok());
        let bad = GenerateParams {
            top_p: Some(0.0),
            ..ok.clone()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("top_p"));
        let bad = GenerateParams {
            max_tokens: 0,
            ..ok
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("max_tokens")
        );
    }
}
