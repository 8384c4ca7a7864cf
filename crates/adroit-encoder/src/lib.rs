//! Sentence embeddings in-process: any BERT-family sentence-transformer folder
//! (`config.json`, `tokenizer.json`, `model.safetensors`, and sentence-transformers'
//! `modules.json` / `1_Pooling/config.json` / `sentence_bert_config.json`) run with
//! candle on the CPU, pooled and normalised exactly as sentence-transformers does.
//!
//! The text layer's encoder back end builds on these vectors: zero-shot labels by
//! prototype similarity, few-shot heads (logistic regression on embeddings), topic
//! clustering and near-duplicate detection.
//!
//! Loading reads the model folder (the one I/O this crate does, at construction);
//! [`Encoder::embed`] is pure computation.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use std::path::{Path, PathBuf};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

/// What can go wrong loading or running a model; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{0}")]
    Model(String),
}

fn file_error(path: &Path, message: impl ToString) -> EncoderError {
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

/// A loaded sentence encoder.
pub struct Encoder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    /// Word pieces per text, special tokens included; longer texts are truncated.
    pub max_tokens: usize,
    pub dim: usize,
    pub pooling: Pooling,
    /// Whether the pipeline ends with L2 normalisation (a `Normalize` module).
    pub normalize: bool,
    /// The folder it was loaded from.
    pub source: PathBuf,
}

fn read_json(path: &Path) -> Result<serde_json::Value, EncoderError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    serde_json::from_str(&text).map_err(|e| file_error(path, format!("not valid JSON: {e}")))
}

impl Encoder {
    /// Loads a sentence-transformer folder. Missing files are errors naming what a
    /// model folder must hold.
    pub fn load(dir: &Path) -> Result<Encoder, EncoderError> {
        if !dir.is_dir() {
            return Err(file_error(
                dir,
                "not a folder; give a sentence-transformer model folder (config.json, tokenizer.json, model.safetensors)",
            ));
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
        tokenizer.with_padding(Some(PaddingParams::default()));

        let device = Device::Cpu;
        // SAFETY: the file is memory-mapped read-only and not modified while mapped
        // (it is a model file the user points us at).
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| file_error(&weights, e))?;
        let model = BertModel::load(vb, &config).map_err(|e| file_error(&weights, e))?;
        Ok(Encoder {
            model,
            tokenizer,
            device,
            max_tokens,
            dim: config.hidden_size,
            pooling,
            normalize,
            source: dir.to_path_buf(),
        })
    }

    /// Token ids of a text, as the model sees it (special tokens, truncation).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EncoderError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EncoderError::Model(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Embeds texts, `batch` at a time. Texts are sorted by length first so each batch
    /// pads little; the output is in input order.
    pub fn embed(&self, texts: &[&str], batch: usize) -> Result<Vec<Vec<f32>>, EncoderError> {
        let batch = batch.max(1);
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(batch) {
            let inputs: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            let vectors = self.embed_batch(&inputs)?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let model_err = |e: candle_core::Error| EncoderError::Model(e.to_string());
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EncoderError::Model(e.to_string()))?;
        let rows = encodings.len();
        let width = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(rows * width);
        let mut mask = Vec::with_capacity(rows * width);
        let mut types = Vec::with_capacity(rows * width);
        for e in &encodings {
            ids.extend_from_slice(e.get_ids());
            mask.extend_from_slice(e.get_attention_mask());
            types.extend_from_slice(e.get_type_ids());
        }
        let shape = (rows, width);
        let ids = Tensor::from_vec(ids, shape, &self.device).map_err(model_err)?;
        let types = Tensor::from_vec(types, shape, &self.device).map_err(model_err)?;
        let mask = Tensor::from_vec(mask, shape, &self.device).map_err(model_err)?;
        let hidden = self
            .model
            .forward(&ids, &types, Some(&mask))
            .map_err(model_err)?; // (rows, width, dim)
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
/// `~/.cache/adroit-models` (`.ci/run` installs all-MiniLM-L6-v2 there).
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
