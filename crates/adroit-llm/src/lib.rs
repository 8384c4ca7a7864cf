//! adroit's LLM edge (I/O lives here, never in the model crates).
//!
//! - [`local`]: GGUF chat models (llama / qwen2 families) run in-process with candle.
//! - [`serve`]: an OpenAI-compatible `/v1/chat/completions` server over a local model.
//! - [`client`]: an OpenAI-compatible chat client: structured extraction, retries,
//!   on-disk cache, cost accounting, PII masking before text leaves the machine.

pub mod protocol;
