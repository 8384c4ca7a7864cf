//! adroit's LLM edge (I/O lives here, never in the model crates).
//!
//! - [`local`]: GGUF chat models (llama / qwen2 families) run in-process with candle:
//!   greedy or seeded sampling, stop strings, streaming, token usage.
//! - [`gguf_tokenizer`]: the tokenizer rebuilt from the GGUF's own vocabulary (byte-level
//!   BPE or SentencePiece), special tokens as single tokens.
//! - [`template`]: the GGUF's Jinja chat template (minijinja), ChatML when it has none.
//! - [`serve`]: an OpenAI-compatible `/v1/chat/completions` server over a local model
//!   (JSON and server-sent events), `/v1/models`, `/healthz`.
//! - [`error`]: [`LlmError`], shared by every module.
//! - [`client`]: an OpenAI-compatible chat client: structured extraction, retries,
//!   on-disk cache, cost accounting, PII masking before text leaves the machine.
//! - [`extract`]: structured extraction over many documents (schema, one repair, per-document errors).
//! - [`schema`]: the JSON-schema subset answers are validated against; JSON pulled out of prose.
//! - [`cache`]: the on-disk answer cache keyed by (model, task, prompt version, schema, text).
//! - [`ledger`]: request, retry, cache-hit, token and cost accounting of a client.
//! - [`backend`]: the text layer's LLM back end (sentiment, aspects, keywords, entities)
//!   over a remote endpoint or the local model served on loopback.

pub mod backend;
pub mod cache;
pub mod client;
pub mod error;
pub mod extract;
pub mod gguf_tokenizer;
pub mod ledger;
pub mod local;
pub mod protocol;
pub mod schema;
pub mod serve;
pub mod template;

pub use client::{Client, ClientConfig};
pub use error::LlmError;
pub use extract::{DocError, Task};
pub use ledger::Ledger;
pub use local::{FinishReason, GenerateParams, Generation, LoadOptions, LocalModel};
