//! The per-document pipeline of the built-in back end: language, tokens, sentiment,
//! aspects, keywords and entities of a batch of texts, in parallel.

use crate::aspects::{Mention, Taxonomy};
use crate::entities::{self, Entity, Gazetteer};
use crate::keywords::{self, Idf, Keyword, KeywordMethod};
use crate::sentiment::{self, Scorer, Sentiment};
use crate::tokens::{self, Lang};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The name the built-in engine signs its fields with.
pub const BUILTIN: &str = "builtin";

/// What to compute.
#[derive(Debug, Clone)]
pub struct Options {
    /// Include the tokens in the output.
    pub tokens: bool,
    /// Keywords per document (0: none).
    pub keywords: usize,
    /// How keywords are ranked: TF-IDF over the batch, or TextRank per text.
    pub keyword_method: KeywordMethod,
    pub taxonomy: Taxonomy,
    pub gazetteer: Gazetteer,
    /// Tag Chinese person/place/organisation names with jieba (slower).
    pub tag_chinese: bool,
    /// Force a language instead of detecting it per document.
    pub lang: Option<Lang>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tokens: false,
            keywords: 5,
            keyword_method: KeywordMethod::Tfidf,
            taxonomy: Taxonomy::default(),
            gazetteer: Gazetteer::default(),
            tag_chinese: true,
            lang: None,
        }
    }
}

/// Everything the text layer says about one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub lang: Lang,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Vec<String>>,
    pub sentiment: Sentiment,
    pub aspects: Vec<Mention>,
    pub keywords: Vec<Keyword>,
    pub entities: Vec<Entity>,
    /// Topic number when topics were discovered for the batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<usize>,
    /// Which back end produced each field.
    pub backends: BTreeMap<String, String>,
    /// Fields whose chosen back end failed on this document (the field then holds the
    /// built-in answer): field name → "back end: reason".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

/// Analyses a batch of texts with the built-in back end. Keyword weights use the
/// batch's document frequencies, so a batch of one ranks by term frequency only.
pub fn analyze(texts: &[&str], opts: &Options, scorer: &Scorer) -> Vec<Analysis> {
    let prepared: Vec<(Vec<tokens::Token>, Vec<String>)> = texts
        .par_iter()
        .map(|t| {
            let toks = tokens::tokenize(t);
            let terms = keywords::content_terms(&toks);
            (toks, terms)
        })
        .collect();
    let idf = if opts.keywords > 0 && opts.keyword_method == KeywordMethod::Tfidf {
        Idf::fit(&prepared.iter().map(|p| p.1.clone()).collect::<Vec<_>>())
    } else {
        Idf::default()
    };
    texts
        .par_iter()
        .zip(prepared.par_iter())
        .map(|(text, (toks, terms))| {
            let clauses = sentiment::clauses(toks);
            let lang = opts.lang.unwrap_or_else(|| tokens::detect(text));
            let mut backends = BTreeMap::new();
            for field in ["lang", "sentiment", "aspects", "keywords", "entities"] {
                backends.insert(field.to_string(), BUILTIN.to_string());
            }
            Analysis {
                lang,
                tokens: opts
                    .tokens
                    .then(|| toks.iter().map(|t| t.text.clone()).collect()),
                sentiment: scorer.score_clauses(&clauses),
                aspects: opts.taxonomy.find(text, &clauses, scorer),
                keywords: match opts.keyword_method {
                    KeywordMethod::Tfidf => keywords::top(terms, &idf, opts.keywords),
                    KeywordMethod::Textrank => keywords::textrank(text, opts.keywords),
                },
                entities: entities::find(text, &opts.gazetteer, opts.tag_chinese),
                topic: None,
                backends,
                errors: BTreeMap::new(),
            }
        })
        .collect()
}
