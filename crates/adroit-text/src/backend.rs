//! Back ends behind one trait, mixable per field.
//!
//! A [`Backend`] computes some of the per-document fields (sentiment, aspects,
//! keywords, entities) for a batch of texts. The built-in engine computes all of them;
//! an encoder back end (adroit-encoder) or an LLM back end (adroit-llm) computes the
//! fields it can. A [`Plan`] says which back end computes which field; [`analyze_with`]
//! runs the built-in engine first (it is cheap and needs no model) and then lets each
//! chosen back end replace its fields. A document a back end fails on keeps the
//! built-in answer, and its `errors` say which back end failed and why, so nothing is
//! silently lost and every field names the back end that produced it.
//!
//! The trait lives here, in the pure core, so the edge crates that run models or call
//! networks implement it without this crate knowing about them.

use crate::analyze::{self, Analysis, BUILTIN, Options};
use crate::aspects::{Mention, Taxonomy};
use crate::entities::{Entity, Gazetteer};
use crate::keywords::Keyword;
use crate::sentiment::{Scorer, Sentiment};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A per-document field a back end may compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Sentiment,
    Aspects,
    Keywords,
    Entities,
}

impl Field {
    pub const ALL: [Field; 4] = [
        Field::Sentiment,
        Field::Aspects,
        Field::Keywords,
        Field::Entities,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Sentiment => "sentiment",
            Field::Aspects => "aspects",
            Field::Keywords => "keywords",
            Field::Entities => "entities",
        }
    }

    pub fn parse(s: &str) -> Result<Field, String> {
        Field::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("unknown text field `{s}`: use sentiment, aspects, keywords or entities")
            })
    }
}

/// One document's answer from a back end, or why it has none.
pub type DocResult<T> = Result<T, String>;

/// Something that computes per-document text fields for a batch.
///
/// Each method answers one result per input text, in order. A back end implements the
/// methods of the fields it lists in [`Backend::fields`]; the others answer an error.
pub trait Backend: Sync {
    /// The name fields are signed with in the output (`builtin`, `encoder`, `llm`, …).
    fn name(&self) -> &str;

    /// The fields this back end computes.
    fn fields(&self) -> &[Field];

    fn sentiment(&self, texts: &[&str]) -> Vec<DocResult<Sentiment>> {
        unsupported(self.name(), Field::Sentiment, texts.len())
    }

    /// Aspect mentions, using only the aspect names of `taxonomy`.
    fn aspects(&self, texts: &[&str], taxonomy: &Taxonomy) -> Vec<DocResult<Vec<Mention>>> {
        let _ = taxonomy;
        unsupported(self.name(), Field::Aspects, texts.len())
    }

    /// Up to `k` keywords per text.
    fn keywords(&self, texts: &[&str], k: usize) -> Vec<DocResult<Vec<Keyword>>> {
        let _ = k;
        unsupported(self.name(), Field::Keywords, texts.len())
    }

    /// Entities; the gazetteer's kinds are the kinds to look for besides the usual ones.
    fn entities(&self, texts: &[&str], gazetteer: &Gazetteer) -> Vec<DocResult<Vec<Entity>>> {
        let _ = gazetteer;
        unsupported(self.name(), Field::Entities, texts.len())
    }
}

fn unsupported<T>(backend: &str, field: Field, n: usize) -> Vec<DocResult<T>> {
    (0..n)
        .map(|_| {
            Err(format!(
                "back end `{backend}` does not compute {}",
                field.name()
            ))
        })
        .collect()
}

/// Which back end computes each field; fields not named stay built-in.
#[derive(Default)]
pub struct Plan<'a> {
    chosen: BTreeMap<Field, &'a dyn Backend>,
}

impl<'a> Plan<'a> {
    /// The built-in engine for every field.
    pub fn builtin() -> Self {
        Plan::default()
    }

    /// Gives `field` to `backend`; an error when the back end cannot compute it.
    pub fn assign(&mut self, field: Field, backend: &'a dyn Backend) -> Result<(), String> {
        if !backend.fields().contains(&field) {
            let can: Vec<&str> = backend.fields().iter().map(|f| f.name()).collect();
            return Err(format!(
                "back end `{}` cannot compute {}; it computes: {}",
                backend.name(),
                field.name(),
                if can.is_empty() {
                    "nothing per document".to_string()
                } else {
                    can.join(", ")
                }
            ));
        }
        self.chosen.insert(field, backend);
        Ok(())
    }

    /// The back end name of each field.
    pub fn describe(&self) -> BTreeMap<Field, String> {
        Field::ALL
            .into_iter()
            .map(|f| {
                let name = self.chosen.get(&f).map_or(BUILTIN, |b| b.name());
                (f, name.to_string())
            })
            .collect()
    }
}

/// [`analyze::analyze`], then each field the plan gives to another back end replaced by
/// that back end's answer. Per-document failures keep the built-in answer and are
/// recorded in [`Analysis::errors`].
pub fn analyze_with(texts: &[&str], opts: &Options, scorer: &Scorer, plan: &Plan) -> Vec<Analysis> {
    let mut out = analyze::analyze(texts, opts, scorer);
    for (&field, backend) in &plan.chosen {
        match field {
            Field::Sentiment => merge(
                &mut out,
                field,
                *backend,
                backend.sentiment(texts),
                |a, v| a.sentiment = v,
            ),
            Field::Aspects => merge(
                &mut out,
                field,
                *backend,
                backend.aspects(texts, &opts.taxonomy),
                |a, v| a.aspects = v,
            ),
            Field::Keywords => merge(
                &mut out,
                field,
                *backend,
                backend.keywords(texts, opts.keywords),
                |a, v| a.keywords = v,
            ),
            Field::Entities => merge(
                &mut out,
                field,
                *backend,
                backend.entities(texts, &opts.gazetteer),
                |a, v| a.entities = v,
            ),
        }
    }
    out
}

fn merge<T>(
    out: &mut [Analysis],
    field: Field,
    backend: &dyn Backend,
    results: Vec<DocResult<T>>,
    set: impl Fn(&mut Analysis, T),
) {
    let mut results = results.into_iter();
    for a in out.iter_mut() {
        match results.next() {
            Some(Ok(v)) => {
                set(a, v);
                a.backends
                    .insert(field.name().to_string(), backend.name().to_string());
            }
            Some(Err(e)) => {
                a.errors
                    .insert(field.name().to_string(), format!("{}: {e}", backend.name()));
            }
            None => {
                a.errors.insert(
                    field.name().to_string(),
                    format!("{}: returned fewer results than texts", backend.name()),
                );
            }
        }
    }
}

/// The built-in engine as a [`Backend`], for callers that hold back ends by trait.
pub struct Builtin<'a> {
    pub scorer: &'a Scorer,
    pub opts: &'a Options,
}

impl Backend for Builtin<'_> {
    fn name(&self) -> &str {
        BUILTIN
    }

    fn fields(&self) -> &[Field] {
        &Field::ALL
    }

    fn sentiment(&self, texts: &[&str]) -> Vec<DocResult<Sentiment>> {
        // Sentiment alone: no aspects, keywords or entities computed and thrown away.
        texts.iter().map(|t| Ok(self.scorer.score(t))).collect()
    }

    fn aspects(&self, texts: &[&str], taxonomy: &Taxonomy) -> Vec<DocResult<Vec<Mention>>> {
        let opts = Options {
            taxonomy: taxonomy.clone(),
            ..self.opts.clone()
        };
        analyze::analyze(texts, &opts, self.scorer)
            .into_iter()
            .map(|a| Ok(a.aspects))
            .collect()
    }

    fn keywords(&self, texts: &[&str], k: usize) -> Vec<DocResult<Vec<Keyword>>> {
        let opts = Options {
            keywords: k,
            ..self.opts.clone()
        };
        analyze::analyze(texts, &opts, self.scorer)
            .into_iter()
            .map(|a| Ok(a.keywords))
            .collect()
    }

    fn entities(&self, texts: &[&str], gazetteer: &Gazetteer) -> Vec<DocResult<Vec<Entity>>> {
        let opts = Options {
            gazetteer: gazetteer.clone(),
            ..self.opts.clone()
        };
        analyze::analyze(texts, &opts, self.scorer)
            .into_iter()
            .map(|a| Ok(a.entities))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentiment::Label;

    /// A back end with a fixed rule, standing in for a model: it says "positive" for
    /// texts containing "好" and fails on empty texts.
    struct Rule;

    impl Backend for Rule {
        fn name(&self) -> &str {
            "rule"
        }
        fn fields(&self) -> &[Field] {
            &[Field::Sentiment]
        }
        fn sentiment(&self, texts: &[&str]) -> Vec<DocResult<Sentiment>> {
            texts
                .iter()
                .map(|t| match (t.is_empty(), t.contains('好')) {
                    (true, _) => Err("empty text".to_string()),
                    (false, true) => Ok(Sentiment {
                        score: 0.9,
                        label: Label::Positive,
                    }),
                    (false, false) => Ok(Sentiment {
                        score: -0.9,
                        label: Label::Negative,
                    }),
                })
                .collect()
        }
    }

    #[test]
    fn a_plan_mixes_back_ends_and_records_failures() {
        let scorer = Scorer::builtin();
        let opts = Options::default();
        let rule = Rule;
        let mut plan = Plan::builtin();
        plan.assign(Field::Sentiment, &rule).unwrap();
        let err = plan.assign(Field::Aspects, &rule).unwrap_err();
        assert!(err.contains("cannot compute aspects"), "{err}");
        let texts = ["质量很差,不好用", "", "物流很快"];
        let out = analyze_with(&texts, &opts, scorer, &plan);
        // The rule's answers replace the built-in sentiment, right or wrong.
        assert_eq!(out[0].sentiment.label, Label::Positive);
        assert_eq!(out[0].backends["sentiment"], "rule");
        assert_eq!(out[2].sentiment.label, Label::Negative);
        // Other fields stay built-in.
        assert_eq!(out[0].backends["aspects"], BUILTIN);
        // A failed document keeps the built-in answer and says why.
        let plain = analyze::analyze(&texts, &opts, scorer);
        assert_eq!(out[1].sentiment, plain[1].sentiment);
        assert_eq!(out[1].backends["sentiment"], BUILTIN);
        assert_eq!(out[1].errors["sentiment"], "rule: empty text");
        assert!(out[0].errors.is_empty());
    }

    #[test]
    fn the_builtin_back_end_equals_the_pipeline() {
        let scorer = Scorer::builtin();
        let opts = Options::default();
        let builtin = Builtin {
            scorer,
            opts: &opts,
        };
        let mut plan = Plan::builtin();
        for f in Field::ALL {
            plan.assign(f, &builtin).unwrap();
        }
        let texts = ["价格便宜,但是快递太慢了", "Great screen, terrible battery."];
        assert_eq!(
            analyze_with(&texts, &opts, scorer, &plan),
            analyze::analyze(&texts, &opts, scorer)
        );
    }
}
