//! The LLM back end of the text layer, behind [`adroit_text::backend::Backend`]:
//! sentiment, aspects, keywords and entities by structured extraction from any
//! OpenAI-compatible endpoint, or from the local GGUF model served in-process on
//! loopback when no endpoint is configured (so it works offline by default).
//!
//! Every answer is checked against its task's JSON schema (one repair request, then a
//! per-document error that makes the pipeline keep the built-in answer); personal data
//! is masked before text leaves the machine; answers are cached on disk when a cache
//! folder is set; the ledger counts requests, tokens and cost.

use crate::LlmError;
use crate::client::{Client, ClientConfig};
use crate::extract::Task;
use crate::local::LocalModel;
use crate::serve::{self, ServerHandle};
use adroit_config::LlmSettings;
use adroit_text::aspects::{Mention, Taxonomy};
use adroit_text::backend::{Backend, DocResult, Field};
use adroit_text::entities::{Entity, Gazetteer};
use adroit_text::keywords::Keyword;
use adroit_text::sentiment::{Label, Sentiment};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

/// Bumped whenever a prompt below changes, so cached answers of old prompts miss.
const PROMPT_VERSION: &str = "1";

/// Where `.ci/run` installs the default local model.
pub fn default_local_model() -> PathBuf {
    models_dir()
        .join("smollm2-135m-instruct")
        .join("SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// `$ADROIT_MODELS`, else `~/.cache/adroit-models`.
fn models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ADROIT_MODELS") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("adroit-models")
}

/// The LLM back end: a client, and the local server it talks to when there is one.
pub struct LlmBackend {
    client: Client,
    /// Kept alive while the back end lives; dropped (stopped) with it.
    _server: Option<ServerHandle>,
}

impl LlmBackend {
    /// From `[text.llm]`: the endpoint it names, or the local GGUF model (its
    /// `local_model`, else the installed SmolLM2-135M-Instruct) served on loopback.
    pub fn from_settings(s: &LlmSettings) -> Result<LlmBackend, LlmError> {
        let (mut config, server) = match &s.base_url {
            Some(url) => {
                let model = s.model.clone().ok_or_else(|| {
                    LlmError::Config(format!("[text.llm] base_url {url} needs a model name"))
                })?;
                let mut c = ClientConfig::new(url.clone(), model);
                c.api_key_env = Some(s.api_key_env.clone());
                (c, None)
            }
            None => {
                let path = s
                    .local_model
                    .as_ref()
                    .map_or_else(default_local_model, PathBuf::from);
                let model = LocalModel::load(&path).map_err(|e| {
                    LlmError::Config(format!(
                        "{e}\n(install SmolLM2-135M-Instruct with .ci/run, set ADROIT_MODELS, give [text.llm] local_model, or set base_url to a remote endpoint)"
                    ))
                })?;
                let name = model.name().to_string();
                let server = serve::spawn(model, "127.0.0.1:0")?;
                let mut c = ClientConfig::new(server.base_url(), name);
                c.api_key_env = None; // our own loopback server takes no key
                (c, Some(server))
            }
        };
        config.timeout = Duration::from_secs(s.timeout_secs);
        if server.is_some() {
            // One model generates one answer at a time: parallel requests would only
            // queue (and time out) behind each other, and a retried generation is the
            // same work again, so one attempt more at most.
            config.concurrency = 1;
            config.max_retries = s.max_retries.min(1);
        } else {
            config.concurrency = s.concurrency;
            config.max_retries = s.max_retries;
        }
        config.cache_dir = s.cache_dir.as_ref().map(PathBuf::from);
        config.price_per_1k_prompt = s.price_prompt_per_1k;
        config.price_per_1k_completion = s.price_completion_per_1k;
        if !s.mask_pii {
            config.masker = None;
        }
        Ok(LlmBackend {
            client: Client::new(config)?,
            _server: server,
        })
    }

    /// A back end over a client built elsewhere (tests, other doors).
    pub fn with_client(client: Client) -> LlmBackend {
        LlmBackend {
            client,
            _server: None,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Requests, cache hits, retries, tokens and cost so far, on one line.
    pub fn summary(&self) -> String {
        format!(
            "LLM {} at {}: {}",
            self.client.config().model,
            self.client.endpoint(),
            self.client.ledger()
        )
    }

    /// Runs a task over the texts; answers are JSON values or per-document errors.
    fn run(&self, task: Result<Task, LlmError>, texts: &[&str]) -> Vec<DocResult<Value>> {
        let task = match task {
            Ok(t) => t,
            Err(e) => return texts.iter().map(|_| Err(e.to_string())).collect(),
        };
        let owned: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
        self.client
            .extract(&task, &owned)
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }
}

/// What the LLM is shown of a topic to name it: its label terms and a few of the
/// texts that belong to it most purely.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicBrief {
    pub terms: Vec<String>,
    pub quotes: Vec<String>,
}

impl TopicBrief {
    /// The brief as the document of the naming task. Quotes are cut to 200 characters
    /// so a topic of long texts still fits a small model's context.
    pub fn render(&self) -> String {
        let mut out = format!("Top terms: {}\nExample texts:", self.terms.join(", "));
        for q in &self.quotes {
            let cut: String = q.chars().take(200).collect();
            out.push_str("\n- ");
            out.push_str(cut.trim());
        }
        out
    }
}

/// The topic-naming task: a short human name (2–5 words, or a few Chinese characters)
/// for a topic given its terms and example texts, in the texts' language.
pub fn topic_name_task() -> Result<Task, LlmError> {
    budget(
        Task::new(
            "topic_name",
            PROMPT_VERSION,
            "You name topics found in customer texts (reviews, posts, support tickets). Given \
             a topic's top terms and example texts, answer with a short, specific name of 2 to \
             5 words, in the language of the texts (Chinese texts get a Chinese name of 2 to 8 \
             characters). Example answer for terms \"battery, charge, hours, drains\": \
             {\"name\": \"Battery life\"}; for terms \"物流, 快递, 送货, 几天\": \
             {\"name\": \"物流速度\"}",
            "{text}",
            &json!({
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 60}
                }
            }),
        ),
        48,
    )
}

impl LlmBackend {
    /// A short human name per topic, or a per-topic error (the caller keeps the
    /// c-TF-IDF terms as the label then).
    pub fn name_topics(&self, briefs: &[TopicBrief]) -> Vec<DocResult<String>> {
        let rendered: Vec<String> = briefs.iter().map(TopicBrief::render).collect();
        let refs: Vec<&str> = rendered.iter().map(String::as_str).collect();
        self.run(topic_name_task(), &refs)
            .into_iter()
            .map(|r| {
                r.and_then(|v| {
                    let name = v["name"].as_str().unwrap_or_default().trim().to_string();
                    if name.is_empty() {
                        Err("the model gave an empty name".to_string())
                    } else {
                        Ok(name)
                    }
                })
            })
            .collect()
    }
}

/// Sets a task's completion budget (answers are short JSON objects; a budget stops a
/// rambling model early and bounds the cost of each document).
fn budget(task: Result<Task, LlmError>, max_tokens: u32) -> Result<Task, LlmError> {
    task.map(|mut t| {
        t.max_tokens = max_tokens;
        t
    })
}

/// The sentiment task: a label and a score in [-1, 1].
pub fn sentiment_task() -> Result<Task, LlmError> {
    budget(
        Task::new(
            "sentiment",
            PROMPT_VERSION,
            "You rate the sentiment of customer texts (reviews, posts, support tickets) in any \
         language, Chinese and English included. label is positive, negative or neutral; \
         score runs from -1 (very negative) to 1 (very positive). Example answer for \
         \"Broke after two days, waste of money\": {\"label\": \"negative\", \"score\": -0.8}",
            "Text: {text}",
            &json!({
                "type": "object",
                "required": ["label", "score"],
                "properties": {
                    "label": {"type": "string", "enum": ["positive", "negative", "neutral"]},
                    "score": {"type": "number", "minimum": -1, "maximum": 1}
                }
            }),
        ),
        64,
    )
}

/// The aspect task: which of the taxonomy's aspects the text talks about, each with
/// its own sentiment.
pub fn aspects_task(taxonomy: &Taxonomy) -> Result<Task, LlmError> {
    budget(aspects_task_unbudgeted(taxonomy), 320)
}

fn aspects_task_unbudgeted(taxonomy: &Taxonomy) -> Result<Task, LlmError> {
    let names: Vec<&str> = taxonomy.aspects.iter().map(|a| a.name.as_str()).collect();
    let hints: Vec<String> = taxonomy
        .aspects
        .iter()
        .map(|a| {
            let terms: Vec<&str> =
                a.en.iter()
                    .chain(&a.zh)
                    .take(6)
                    .map(String::as_str)
                    .collect();
            format!("{} ({})", a.name, terms.join(", "))
        })
        .collect();
    Task::new(
        "aspects",
        format!("{PROMPT_VERSION}:{}", names.join(",")),
        format!(
            "You find which aspects a customer text talks about and how it judges each. \
             Aspects (with example terms): {}. Report only aspects the text mentions, each \
             with the words that mention it and a sentiment from -1 (very negative) to 1 \
             (very positive). An empty list when none is mentioned. Example answer for \
             \"Cheap, but delivery took two weeks\": {{\"aspects\": [{{\"aspect\": \"price\", \
             \"terms\": [\"cheap\"], \"sentiment\": 0.6}}, {{\"aspect\": \"delivery\", \
             \"terms\": [\"delivery\"], \"sentiment\": -0.7}}]}}",
            hints.join("; ")
        ),
        "Text: {text}",
        &json!({
            "type": "object",
            "required": ["aspects"],
            "properties": {
                "aspects": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["aspect", "sentiment"],
                        "properties": {
                            "aspect": {"type": "string", "enum": names},
                            "terms": {"type": "array", "items": {"type": "string"}},
                            "sentiment": {"type": "number", "minimum": -1, "maximum": 1}
                        }
                    }
                }
            }
        }),
    )
}

/// The keyword task: up to `k` words or short phrases taken from the text.
pub fn keywords_task(k: usize) -> Result<Task, LlmError> {
    budget(
        Task::new(
            "keywords",
            format!("{PROMPT_VERSION}:{k}"),
            format!(
                "You pick the at most {k} most informative keywords of a customer text: words or \
             short phrases copied exactly from the text, most important first, no stop words. \
             Example answer for \"The battery drains fast but the screen is gorgeous\": \
             {{\"keywords\": [\"battery\", \"screen\", \"drains fast\"]}}"
            ),
            "Text: {text}",
            &json!({
                "type": "object",
                "required": ["keywords"],
                "properties": {
                    "keywords": {"type": "array", "items": {"type": "string"}, "maxItems": k}
                }
            }),
        ),
        32 + 16 * k as u32,
    )
}

/// The entity task: names of brands, products, people, places, organisations, money
/// and dates, copied from the text.
pub fn entities_task(gazetteer: &Gazetteer) -> Result<Task, LlmError> {
    budget(entities_task_unbudgeted(gazetteer), 256)
}

fn entities_task_unbudgeted(gazetteer: &Gazetteer) -> Result<Task, LlmError> {
    let mut kinds: Vec<String> = [
        "brand",
        "product",
        "person",
        "place",
        "organization",
        "money",
        "date",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for k in gazetteer.kinds.keys() {
        if !kinds.contains(k) {
            kinds.push(k.clone());
        }
    }
    Task::new(
        "entities",
        format!("{PROMPT_VERSION}:{}", kinds.join(",")),
        format!(
            "You list the named entities of a customer text, each copied exactly as written \
             in the text, with its kind: one of {}. Example answer for \"Bought a Huawei \
             phone in Shanghai for 2999 yuan\": {{\"entities\": [{{\"text\": \"Huawei\", \"kind\": \
             \"brand\"}}, {{\"text\": \"Shanghai\", \"kind\": \"place\"}}, {{\"text\": \"2999 yuan\", \
             \"kind\": \"money\"}}]}}",
            kinds.join(", ")
        ),
        "Text: {text}",
        &json!({
            "type": "object",
            "required": ["entities"],
            "properties": {
                "entities": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["text", "kind"],
                        "properties": {
                            "text": {"type": "string"},
                            "kind": {"type": "string", "enum": kinds}
                        }
                    }
                }
            }
        }),
    )
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0).clamp(-1.0, 1.0)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Sentiment from a validated answer. The label is the model's; a score whose sign
/// contradicts it is replaced by the label's direction (small models often leave the
/// score at 0).
fn to_sentiment(v: &Value) -> Sentiment {
    let label = match v["label"].as_str() {
        Some("positive") => Label::Positive,
        Some("negative") => Label::Negative,
        _ => Label::Neutral,
    };
    let score = number(&v["score"]);
    let score = match label {
        Label::Positive if score <= 0.0 => 0.5,
        Label::Negative if score >= 0.0 => -0.5,
        _ => score,
    };
    Sentiment { score, label }
}

impl Backend for LlmBackend {
    fn name(&self) -> &str {
        "llm"
    }

    fn fields(&self) -> &[Field] {
        &Field::ALL
    }

    fn sentiment(&self, texts: &[&str]) -> Vec<DocResult<Sentiment>> {
        self.run(sentiment_task(), texts)
            .into_iter()
            .map(|r| r.map(|v| to_sentiment(&v)))
            .collect()
    }

    fn aspects(&self, texts: &[&str], taxonomy: &Taxonomy) -> Vec<DocResult<Vec<Mention>>> {
        self.run(aspects_task(taxonomy), texts)
            .into_iter()
            .map(|r| {
                r.map(|v| {
                    let mut seen = std::collections::HashSet::new();
                    v["aspects"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|m| {
                            seen.insert(m["aspect"].as_str().unwrap_or_default().to_string())
                        })
                        .map(|m| {
                            let score = number(&m["sentiment"]);
                            Mention {
                                aspect: m["aspect"].as_str().unwrap_or_default().to_string(),
                                terms: strings(&m["terms"]),
                                sentiment: Sentiment {
                                    score,
                                    label: Label::of(score),
                                },
                            }
                        })
                        .collect()
                })
            })
            .collect()
    }

    fn keywords(&self, texts: &[&str], k: usize) -> Vec<DocResult<Vec<Keyword>>> {
        if k == 0 {
            return texts.iter().map(|_| Ok(Vec::new())).collect();
        }
        self.run(keywords_task(k), texts)
            .into_iter()
            .zip(texts)
            .map(|(r, text)| {
                r.map(|v| {
                    // Only words that occur in the text (a model may invent some); the
                    // weight is the rank: 1, 1/2, 1/3, …
                    let lower = text.to_lowercase();
                    strings(&v["keywords"])
                        .into_iter()
                        .filter(|w| !w.trim().is_empty() && lower.contains(&w.to_lowercase()))
                        .take(k)
                        .enumerate()
                        .map(|(i, term)| Keyword {
                            term,
                            weight: 1.0 / (i + 1) as f64,
                        })
                        .collect()
                })
            })
            .collect()
    }

    fn entities(&self, texts: &[&str], gazetteer: &Gazetteer) -> Vec<DocResult<Vec<Entity>>> {
        self.run(entities_task(gazetteer), texts)
            .into_iter()
            .zip(texts)
            .map(|(r, text)| r.map(|v| locate_entities(text, &v["entities"])))
            .collect()
    }
}

/// Entities the model named, placed in the original text (the model saw it masked, so
/// a masked name is not found and not reported); names that do not occur are dropped.
fn locate_entities(text: &str, found: &Value) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    for e in found.as_array().into_iter().flatten() {
        let (Some(name), Some(kind)) = (e["text"].as_str(), e["kind"].as_str()) else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || name.starts_with('[') {
            continue;
        }
        let Some(start) = text.find(name) else {
            continue;
        };
        let end = start + name.len();
        if out.iter().any(|o| start < o.end && o.start < end) {
            continue;
        }
        out.push(Entity {
            text: name.to_string(),
            kind: kind.to_string(),
            start,
            end,
            value: None,
        });
    }
    out.sort_by_key(|e| e.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_compile_and_answers_map_onto_the_text_types() {
        assert!(sentiment_task().is_ok());
        assert!(aspects_task(&Taxonomy::default()).is_ok());
        assert!(keywords_task(5).is_ok());
        assert!(entities_task(&Gazetteer::default()).is_ok());
        let s = to_sentiment(&json!({"label": "negative", "score": 0.0}));
        assert_eq!((s.label, s.score), (Label::Negative, -0.5));
        let s = to_sentiment(&json!({"label": "positive", "score": 0.8}));
        assert_eq!((s.label, s.score), (Label::Positive, 0.8));
        let text = "华为手机很好, 客服[NAME]态度差, bought at Apple store";
        let e = locate_entities(
            text,
            &json!([
                {"text": "华为", "kind": "brand"},
                {"text": "[NAME]", "kind": "person"},
                {"text": "Samsung", "kind": "brand"},
                {"text": "Apple", "kind": "brand"}
            ]),
        );
        let names: Vec<&str> = e.iter().map(|x| x.text.as_str()).collect();
        assert_eq!(names, ["华为", "Apple"]);
        assert_eq!(&text[e[1].start..e[1].end], "Apple");
    }
}
