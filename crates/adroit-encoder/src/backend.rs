//! The encoder back end of the text layer: sentiment and topics from sentence
//! embeddings, behind [`adroit_text::backend::Backend`].
//!
//! - Sentiment with a trained head ([`SentimentHead`]: logistic regression on
//!   embeddings, from `adroit text train --backend encoder`), or zero-shot without one:
//!   the text's cosine to positive minus negative prototype sentences (zh and en).
//! - Topics ([`EncoderBackend::topics`]): k-means on unit embeddings, labelled by the
//!   clusters' class-based TF-IDF terms ([`adroit_text::topics::from_groups`]), with the
//!   texts nearest each centre as quotes.

use crate::{Encoder, EncoderError};
use adroit_learn::data::Matrix;
use adroit_text::backend::{Backend, DocResult, Field};
use adroit_text::sentiment::{Label, Sentiment};
use adroit_text::topics::{self, TopicOptions, Topics};
use adroit_text::{keywords, tokens};
use serde::{Deserialize, Serialize};

/// The first line of a head file, so a wrong file is named as such.
pub const HEAD_FORMAT: &str = "adroit-encoder-sentiment-head v1";

/// A logistic sentiment head on sentence embeddings: P(positive) = σ(b + w·e).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentHead {
    pub format: String,
    /// The encoder the head was trained on (its folder or file name); a head only
    /// makes sense on the embeddings it was trained with.
    pub encoder: String,
    pub bias: f64,
    pub weights: Vec<f64>,
    /// What the head was trained on, for provenance.
    pub trained_on: String,
    pub examples: usize,
}

impl SentimentHead {
    /// Fits the head on embeddings and labels (true = positive) by L2-regularised
    /// logistic regression (C = `c`, scikit-learn's convention).
    pub fn train(
        embeddings: &[Vec<f32>],
        positive: &[bool],
        c: f64,
        encoder: &str,
        trained_on: &str,
    ) -> Result<SentimentHead, String> {
        if embeddings.len() != positive.len() {
            return Err(format!(
                "{} embeddings but {} labels",
                embeddings.len(),
                positive.len()
            ));
        }
        if !positive.iter().any(|&p| p) || positive.iter().all(|&p| p) {
            return Err("the labels must include both positive and negative texts".into());
        }
        let x = Matrix::from_rows(
            &embeddings
                .iter()
                .map(|e| e.iter().map(|&v| f64::from(v)).collect())
                .collect::<Vec<Vec<f64>>>(),
        );
        let y: Vec<f64> = positive.iter().map(|&p| f64::from(u8::from(p))).collect();
        let model = adroit_learn::linear::logistic(&x, &y, c, 200).map_err(|e| e.to_string())?;
        Ok(SentimentHead {
            format: HEAD_FORMAT.into(),
            encoder: encoder.into(),
            bias: model.intercept,
            weights: model.weights,
            trained_on: trained_on.into(),
            examples: positive.len(),
        })
    }

    /// Reads a head written by [`SentimentHead::to_json`]; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<SentimentHead, String> {
        let head: SentimentHead = serde_json::from_str(text)
            .map_err(|e| format!("{origin}: not a sentiment head file ({e})"))?;
        if head.format != HEAD_FORMAT {
            return Err(format!(
                "{origin}: format {:?}, expected {HEAD_FORMAT:?}",
                head.format
            ));
        }
        Ok(head)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a head serialises")
    }

    /// Score in [-1, 1] (2·P(positive) − 1) of one embedding.
    pub fn score(&self, embedding: &[f32]) -> Result<f64, String> {
        if embedding.len() != self.weights.len() {
            return Err(format!(
                "the head expects {}-dimensional embeddings (trained on {}), the encoder gives {}",
                self.weights.len(),
                self.encoder,
                embedding.len()
            ));
        }
        let eta = self.bias
            + self
                .weights
                .iter()
                .zip(embedding)
                .map(|(w, &e)| w * f64::from(e))
                .sum::<f64>();
        Ok(2.0 / (1.0 + (-eta).exp()) - 1.0)
    }
}

/// Sentences whose embeddings anchor zero-shot sentiment, in both languages.
const POSITIVE: [&str; 8] = [
    "This is great, I love it.",
    "Excellent quality, highly recommended.",
    "Very satisfied, it works perfectly.",
    "Fast delivery and friendly service.",
    "非常好，很满意。",
    "质量很好，强烈推荐。",
    "服务周到，下次还来。",
    "物流很快，包装完好。",
];
const NEGATIVE: [&str; 8] = [
    "This is terrible, I hate it.",
    "Poor quality, do not buy.",
    "Very disappointed, it broke after a day.",
    "Slow delivery and rude service.",
    "非常差，很失望。",
    "质量太差，不推荐。",
    "服务态度恶劣，再也不来了。",
    "物流太慢，包装破损。",
];

/// Zero-shot scores: tanh(SCALE · (cos⁺ − cos⁻)). Cosine gaps between a review and
/// the two prototype means are a few hundredths to a few tenths; the scale maps a gap
/// of 0.1 to a score of about 0.76, so the label's neutral band stays narrow.
const ZERO_SHOT_SCALE: f64 = 10.0;

/// How sentiment is read off embeddings.
pub enum SentimentMethod {
    Head(SentimentHead),
    /// Mean embeddings of the positive and negative prototypes.
    Prototypes {
        positive: Vec<f32>,
        negative: Vec<f32>,
    },
}

/// The encoder back end: computes sentiment (per document) and topics (per batch).
pub struct EncoderBackend {
    pub encoder: Encoder,
    pub method: SentimentMethod,
    /// Texts per forward pass.
    pub batch: usize,
}

fn mean_unit(vectors: &[Vec<f32>]) -> Vec<f32> {
    let dim = vectors.first().map_or(0, Vec::len);
    let mut m = vec![0f32; dim];
    for v in vectors {
        m.iter_mut().zip(v).for_each(|(a, b)| *a += b);
    }
    let norm = m
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    m.iter_mut().for_each(|x| *x /= norm);
    m
}

impl EncoderBackend {
    /// A back end with a trained head, or zero-shot prototypes when `head` is `None`.
    pub fn new(
        encoder: Encoder,
        head: Option<SentimentHead>,
        batch: usize,
    ) -> Result<EncoderBackend, EncoderError> {
        let method = match head {
            Some(h) => SentimentMethod::Head(h),
            None => {
                let pos = encoder.embed(&POSITIVE, batch)?;
                let neg = encoder.embed(&NEGATIVE, batch)?;
                SentimentMethod::Prototypes {
                    positive: mean_unit(&pos),
                    negative: mean_unit(&neg),
                }
            }
        };
        Ok(EncoderBackend {
            encoder,
            method,
            batch: batch.max(1),
        })
    }

    /// Sentiment of embeddings already computed.
    pub fn sentiment_of(&self, vectors: &[Vec<f32>]) -> Vec<DocResult<Sentiment>> {
        vectors
            .iter()
            .map(|v| {
                self.score(v).map(|score| Sentiment {
                    score,
                    label: Label::of(score),
                })
            })
            .collect()
    }

    fn score(&self, embedding: &[f32]) -> Result<f64, String> {
        match &self.method {
            SentimentMethod::Head(h) => h.score(embedding),
            SentimentMethod::Prototypes { positive, negative } => {
                let gap = crate::cosine(embedding, positive) - crate::cosine(embedding, negative);
                Ok((ZERO_SHOT_SCALE * gap).tanh())
            }
        }
    }

    /// Discovers `k` topics: k-means (k-means++ seeding, 4 restarts) on the texts' unit
    /// embeddings, labelled by c-TF-IDF of each cluster's content terms.
    pub fn topics(
        &self,
        texts: &[&str],
        k: usize,
        seed: u64,
        opts: &TopicOptions,
    ) -> Result<Topics, String> {
        if k == 0 {
            return Err("the number of topics must be at least 1".into());
        }
        if k > texts.len() {
            return Err(format!(
                "asked for {k} topics from {} texts; lower the number of topics",
                texts.len()
            ));
        }
        let vectors = self
            .encoder
            .embed(texts, self.batch)
            .map_err(|e| e.to_string())?;
        self.topics_of(texts, &vectors, k, seed, opts)
    }

    /// [`EncoderBackend::topics`] on embeddings already computed (one per text), so a
    /// caller that also scores sentiment embeds each text once.
    pub fn topics_of(
        &self,
        texts: &[&str],
        vectors: &[Vec<f32>],
        k: usize,
        seed: u64,
        opts: &TopicOptions,
    ) -> Result<Topics, String> {
        if k == 0 || k > texts.len() || vectors.len() != texts.len() {
            return Err(format!(
                "asked for {k} topics from {} texts ({} embeddings); the number of topics must be between 1 and the number of texts",
                texts.len(),
                vectors.len()
            ));
        }
        let rows: Vec<Vec<f64>> = vectors
            .iter()
            .map(|v| v.iter().map(|&x| f64::from(x)).collect())
            .collect();
        let clusters = adroit_learn::cluster::kmeans(&rows, k, seed, 4)
            .ok_or("k-means could not run on these embeddings")?;
        let closeness: Vec<f64> = vectors
            .iter()
            .zip(&clusters.labels)
            .map(|(v, &c)| {
                let centre: Vec<f32> = clusters.centers[c].iter().map(|&x| x as f32).collect();
                crate::cosine(v, &centre)
            })
            .collect();
        let docs: Vec<Vec<String>> = texts
            .iter()
            .map(|t| keywords::content_terms(&tokens::tokenize(t)))
            .collect();
        let groups: Vec<Option<usize>> = clusters.labels.iter().map(|&c| Some(c)).collect();
        topics::from_groups(&docs, &groups, &closeness, k, opts)
    }
}

impl Backend for EncoderBackend {
    fn name(&self) -> &str {
        "encoder"
    }

    fn fields(&self) -> &[Field] {
        &[Field::Sentiment]
    }

    fn sentiment(&self, texts: &[&str]) -> Vec<DocResult<Sentiment>> {
        match self.encoder.embed(texts, self.batch) {
            Ok(vectors) => self.sentiment_of(&vectors),
            Err(e) => texts.iter().map(|_| Err(e.to_string())).collect(),
        }
    }
}
