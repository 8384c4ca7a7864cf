//! Structured extraction: one JSON answer per document, checked against a schema.
//!
//! For each document: mask personal data, look the answer up in the cache (a hit costs no
//! request), else ask for a JSON object (`response_format: json_object`, the schema in the
//! system prompt), pull the first object out of the reply, validate it, and when it is
//! missing or invalid send ONE repair request quoting the problem. A document whose repaired
//! answer still fails, or whose requests fail, gets its own [`DocError`]; the others go on.
//! Documents run `concurrency` at a time on scoped threads; results keep the input order.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::LlmError;
use crate::cache::{CacheKey, EntryInfo, Lookup};
use crate::client::{Client, excerpt};
use crate::protocol::{ChatMessage, ChatRequest, ResponseFormat};
use crate::schema::{Schema, first_json_object};

/// The placeholder of a [`Task`] template replaced by the (masked) document.
pub const TEXT_SLOT: &str = "{text}";

/// An extraction task: what to ask, in which version, for which answer shape.
#[derive(Debug, Clone)]
pub struct Task {
    /// A short name (`review_aspects`); part of the cache key.
    pub name: String,
    /// Bump it whenever the prompts change, so cached answers of old prompts miss.
    pub prompt_version: String,
    /// The instructions; the schema is appended to it when sent.
    pub system: String,
    /// The user message; [`TEXT_SLOT`] (`{text}`) marks where the document goes.
    pub template: String,
    /// Completion budget of each request.
    pub max_tokens: u32,
    schema: Schema,
}

impl Task {
    /// Checks the template (it must contain `{text}`) and compiles the schema.
    pub fn new(
        name: impl Into<String>,
        prompt_version: impl Into<String>,
        system: impl Into<String>,
        template: impl Into<String>,
        schema: &Value,
    ) -> Result<Task, LlmError> {
        let name = name.into();
        let template = template.into();
        if name.trim().is_empty() {
            return Err(LlmError::Config("an extraction task needs a name".into()));
        }
        if !template.contains(TEXT_SLOT) {
            return Err(LlmError::Config(format!(
                "task {name}: the template must contain {TEXT_SLOT} where the document goes"
            )));
        }
        let schema =
            Schema::compile(schema).map_err(|e| LlmError::Config(format!("task {name}: {e}")))?;
        Ok(Task {
            name,
            prompt_version: prompt_version.into(),
            system: system.into(),
            template,
            max_tokens: 512,
            schema,
        })
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The system message sent: the instructions and the schema.
    pub fn system_message(&self) -> String {
        format!(
            "{}\n\nAnswer with one JSON object and nothing else. It must match this JSON \
             schema:\n{}",
            self.system.trim_end(),
            self.schema.source()
        )
    }

    /// The user message for one (already masked) document.
    pub fn user_message(&self, text: &str) -> String {
        self.template.replace(TEXT_SLOT, text)
    }
}

/// Why one document has no answer.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The request (or the repair request) failed after its retries.
    #[error("document {index}: no answer: {source}")]
    Request {
        index: usize,
        #[source]
        source: LlmError,
    },
    /// The answer was not a JSON object matching the schema, also after the repair request.
    #[error("document {index}: {problem} (also after one repair request); last reply: {reply:?}")]
    Invalid {
        index: usize,
        problem: String,
        /// The start of the last reply.
        reply: String,
    },
}

impl DocError {
    /// The position of the document in the input.
    pub fn index(&self) -> usize {
        match self {
            DocError::Request { index, .. } | DocError::Invalid { index, .. } => *index,
        }
    }
}

/// The answer in a reply, or what is wrong with it (in words the repair request quotes).
fn parse_answer(task: &Task, reply: &str, finish_reason: Option<&str>) -> Result<Value, String> {
    let cut = if finish_reason == Some("length") {
        " (the reply was cut off at the token limit)"
    } else {
        ""
    };
    let Some(value) = first_json_object(reply) else {
        return Err(format!("the reply contains no complete JSON object{cut}"));
    };
    task.schema
        .validate(&value)
        .map(|()| value)
        .map_err(|violations| format!("the JSON does not match the schema: {violations}{cut}"))
}

impl Client {
    /// Extracts one JSON answer per text, `concurrency` documents at a time; results in
    /// input order. Errors are per document: one bad document never stops the others.
    pub fn extract(&self, task: &Task, texts: &[String]) -> Vec<Result<Value, DocError>> {
        let slots: Vec<Mutex<Option<Result<Value, DocError>>>> =
            texts.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = self.config().concurrency.clamp(1, texts.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(text) = texts.get(i) else { break };
                        let result = self.extract_one(task, i, text);
                        *slots[i]
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(result);
                    }
                });
            }
        });
        slots
            .into_iter()
            .enumerate()
            .map(|(index, slot)| {
                slot.into_inner()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .unwrap_or_else(|| {
                        Err(DocError::Request {
                            index,
                            source: LlmError::Protocol("the worker thread stopped early".into()),
                        })
                    })
            })
            .collect()
    }

    /// One document: cache, request, validation, one repair.
    pub fn extract_one(&self, task: &Task, index: usize, text: &str) -> Result<Value, DocError> {
        let result = self.extract_uncounted(task, index, text);
        if result.is_err() {
            self.ledger().add_failed_document();
        }
        result
    }

    fn extract_uncounted(&self, task: &Task, index: usize, text: &str) -> Result<Value, DocError> {
        let masked = self.mask(text);
        let model = &self.config().model;
        let key = CacheKey::new(
            model,
            &task.name,
            &task.prompt_version,
            task.schema.source(),
            &masked,
        );
        if let Some(cache) = &self.cache {
            match cache.get(&key) {
                Lookup::Hit(value) if task.schema.validate(&value).is_ok() => {
                    self.ledger().add_cache_hit();
                    return Ok(value);
                }
                // A corrupt or stale entry is a miss; the fresh answer overwrites it.
                Lookup::Hit(_) | Lookup::Miss | Lookup::Corrupt(_) => {}
            }
        }
        let mut request = ChatRequest {
            model: model.clone(),
            messages: vec![
                ChatMessage::system(task.system_message()),
                ChatMessage::user(task.user_message(&masked)),
            ],
            temperature: self.config().temperature,
            top_p: None,
            max_tokens: Some(task.max_tokens),
            seed: None,
            stop: None,
            stream: false,
            response_format: Some(ResponseFormat {
                kind: "json_object".into(),
            }),
        };
        let ask = |request: &ChatRequest| {
            let (response, _) = self
                .send(request)
                .map_err(|source| DocError::Request { index, source })?;
            // `send` refuses replies without choices.
            let choice = response
                .choices
                .into_iter()
                .next()
                .ok_or_else(|| DocError::Request {
                    index,
                    source: LlmError::Protocol("a reply without choices".into()),
                })?;
            Ok::<_, DocError>((choice.message.content, choice.finish_reason))
        };
        let (reply, finish) = ask(&request)?;
        let value = match parse_answer(task, &reply, finish.as_deref()) {
            Ok(value) => value,
            Err(problem) => {
                self.ledger().add_repair();
                request.messages.push(ChatMessage::assistant(reply));
                request.messages.push(ChatMessage::user(format!(
                    "Your answer could not be used: {problem}. Reply again with only the \
                     corrected JSON object, matching the schema."
                )));
                let (reply, finish) = ask(&request)?;
                parse_answer(task, &reply, finish.as_deref()).map_err(|problem| {
                    DocError::Invalid {
                        index,
                        problem,
                        reply: excerpt(&reply, 200),
                    }
                })?
            }
        };
        if let Some(cache) = &self.cache {
            let info = EntryInfo {
                model,
                task: &task.name,
                prompt_version: &task.prompt_version,
            };
            if let Err(e) = cache.put(&key, info, &value) {
                self.ledger().add_cache_error(e.to_string());
            }
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task() -> Task {
        Task::new(
            "sentiment",
            "1",
            "Classify the review.",
            "Review: {text}",
            &json!({
                "type": "object",
                "required": ["sentiment"],
                "properties": {"sentiment": {"enum": ["positive", "negative"]}}
            }),
        )
        .unwrap()
    }

    #[test]
    fn tasks_check_their_template_and_schema() {
        let t = task();
        assert_eq!(t.user_message("好"), "Review: 好");
        assert!(t.system_message().contains("\"required\":[\"sentiment\"]"));
        let err = Task::new("t", "1", "s", "no slot", &json!({})).unwrap_err();
        assert!(err.to_string().contains("{text}"), "{err}");
        let err = Task::new("t", "1", "s", "{text}", &json!({"format": "email"})).unwrap_err();
        assert!(
            err.to_string().contains("`format` is not supported"),
            "{err}"
        );
    }

    #[test]
    fn answers_are_parsed_and_problems_worded_for_the_repair() {
        let t = task();
        assert_eq!(
            parse_answer(
                &t,
                "Sure: ```json\n{\"sentiment\": \"positive\"}\n```",
                None
            ),
            Ok(json!({"sentiment": "positive"}))
        );
        assert_eq!(
            parse_answer(&t, "I think it is positive", Some("stop")),
            Err("the reply contains no complete JSON object".into())
        );
        assert_eq!(
            parse_answer(&t, "{\"sentiment\": \"pos", Some("length")),
            Err(
                "the reply contains no complete JSON object (the reply was cut off at the \
                 token limit)"
                    .into()
            )
        );
        assert_eq!(
            parse_answer(&t, "{\"sentiment\": \"great\"}", None),
            Err(
                "the JSON does not match the schema: $.sentiment: \"great\" is not one of \
                 [\"positive\", \"negative\"]"
                    .into()
            )
        );
    }
}
