//! adroit-text: what customers write, turned into numbers the ROI models use.
//!
//! Pure: text in, results out; no files, no network, no printing (the CLI and the
//! service are the doors). Chinese and English are equally first-class: Han runs are
//! segmented by jieba, other scripts by Unicode word boundaries, and every lexicon,
//! cue list and default taxonomy carries both languages.
//!
//! - [`tokens`]: language detection and tokenisation of mixed text;
//! - [`sentiment`]: clause-aware features (negation, intensifiers, contrast) and the
//!   shipped linear models, with [`sentiment::train`] to retrain or adapt them;
//! - [`aspects`]: a zh/en taxonomy of aspects, each mention scored on its clauses;
//! - [`keywords`]: content terms and TF-IDF keywords;
//! - [`duplicates`]: near-duplicate groups from sentence embeddings;
//! - [`entities`]: money, percentages, dates, gazetteer names, Chinese names by POS;
//! - [`pii`]: personal data (phones, e-mails, ID and card numbers, names) found and masked;
//! - [`topics`]: topics of a batch by NMF of TF-IDF, labelled by class-based TF-IDF;
//! - [`trends`]: per-period text series (volume, sentiment, aspects, topics) and shifts;
//! - [`analyze`]: the per-document pipeline of the built-in back end;
//! - [`backend`]: the [`backend::Backend`] trait other back ends (encoder, LLM)
//!   implement, and [`backend::analyze_with`], which mixes them per field.

pub mod analyze;
pub mod aspects;
pub mod backend;
pub mod duplicates;
pub mod entities;
pub mod keywords;
pub mod pii;
pub mod sentiment;
pub mod tokens;
pub mod topics;
pub mod trends;

pub use analyze::{Analysis, Options, analyze};
pub use sentiment::{Label, Scorer, Sentiment};
pub use tokens::Lang;
