//! Sentiment of documents and clauses: clause-aware features read through negation,
//! intensifiers and contrast, weighed by a linear model trained on public labelled
//! reviews, plus (for English) the VADER lexicon's valence as one more feature.
//!
//! Why a trained linear model and not only a lexicon: no Chinese sentiment lexicon we
//! could find carries a license that lets us ship it, and on reviews a model trained
//! on other reviews beats lexicons by a wide margin. The weights are shipped as text
//! files under `models/` with their provenance in the header (what they were trained
//! on, and how); [`train`] reproduces them, and users can train their own on labelled
//! samples of their domain (`adroit text train`).
//!
//! Features of a document, per clause (clauses end at punctuation; a contrast word
//! such as "but" / 但是 starts a new one):
//! - each word, prefixed `!` while a negator's scope is open (the next three words);
//! - each pair of neighbouring words (`a b`), which catches fixed phrases (不 错);
//! - values multiplied by 1.5 after an intensifier (very, 很, 太 …) and by 0.6 after a
//!   diminisher (a bit, 有点 …), and by the clause weight: 0.5 before a contrast, 1.5
//!   after it (VADER's rule for "but");
//! - then scaled to unit length, so long reviews are not more certain for being long;
//! - English also gets `__lex`: the VADER compound score s/√(s²+15) of its words with
//!   the same negation and intensity rules.

use crate::tokens::{self, Kind, Token};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Format tag of shipped / saved model files.
pub const MODEL_FORMAT: &str = "adroit-sentiment-model v1";

/// Scores within this distance of 0 are labelled neutral.
pub const NEUTRAL_BAND: f64 = 0.1;

/// Sentiment of a document or clause.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    /// In [-1, 1]: 2·P(positive) − 1.
    pub score: f64,
    pub label: Label,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Negative,
    Neutral,
    Positive,
}

impl Label {
    pub fn of(score: f64) -> Label {
        if score >= NEUTRAL_BAND {
            Label::Positive
        } else if score <= -NEUTRAL_BAND {
            Label::Negative
        } else {
            Label::Neutral
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Label::Negative => "negative",
            Label::Neutral => "neutral",
            Label::Positive => "positive",
        }
    }
}

/// Which weights a feature is read from: Han words from the Chinese model, the rest
/// from the English one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Script {
    Han,
    Latin,
}

/// One feature and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    pub name: String,
    pub script: Script,
    pub value: f64,
}

struct Cues {
    negators: &'static [&'static str],
    intensifiers: &'static [&'static str],
    diminishers: &'static [&'static str],
    contrast: &'static [&'static str],
}

const EN: Cues = Cues {
    negators: &[
        "not", "no", "never", "nothing", "none", "nobody", "nor", "neither", "without", "cannot",
        "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent", "wont", "wouldnt",
        "shouldnt", "couldnt", "cant", "havent", "hasnt", "hadnt", "aint", "hardly", "barely",
    ],
    intensifiers: &[
        "very",
        "really",
        "so",
        "extremely",
        "too",
        "incredibly",
        "absolutely",
        "totally",
        "completely",
        "highly",
        "super",
        "most",
        "truly",
        "utterly",
        "especially",
        "exceptionally",
        "seriously",
        "such",
        "awfully",
        "terribly",
    ],
    diminishers: &[
        "slightly", "somewhat", "kinda", "fairly", "bit", "little", "mostly", "rather",
    ],
    contrast: &["but", "however", "though", "although", "yet", "except"],
};

const ZH: Cues = Cues {
    negators: &[
        "不",
        "没",
        "没有",
        "无",
        "非",
        "别",
        "未",
        "不是",
        "不会",
        "不能",
        "毫无",
        "并不",
        "从不",
        "绝不",
        "不要",
        "不用",
        "从未",
        "无法",
        "不够",
        "不太",
        "不怎么",
        "并非",
        "不再",
        "甭",
        "不算",
        "算不上",
        "谈不上",
        "不至于",
    ],
    intensifiers: &[
        "很", "非常", "太", "特别", "超", "超级", "十分", "极", "极其", "最", "真", "真的", "挺",
        "相当", "格外", "尤其", "更", "好", "超赞", "巨", "贼", "蛮", "实在", "如此", "这么",
    ],
    diminishers: &[
        "有点", "有些", "稍微", "略", "稍", "一点", "比较", "还算", "勉强",
    ],
    contrast: &["但", "但是", "不过", "可是", "然而", "却", "只是", "就是"],
};

fn cues(script: Script) -> &'static Cues {
    match script {
        Script::Han => &ZH,
        Script::Latin => &EN,
    }
}

fn script_of(t: &Token) -> Script {
    if t.kind == Kind::Han {
        Script::Han
    } else {
        Script::Latin
    }
}

/// "don't" → "dont": UAX #29 keeps contractions whole; the cue lists hold them bare.
fn bare(word: &str) -> String {
    word.replace(['\'', '’'], "")
}

/// The VADER lexicon (C.J. Hutto, MIT license; see `data/LICENSES.md`): word → mean
/// valence in [-4, 4].
fn vader() -> &'static HashMap<&'static str, f64> {
    static LEX: OnceLock<HashMap<&'static str, f64>> = OnceLock::new();
    LEX.get_or_init(|| {
        include_str!("../data/vader_lexicon.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (w, v) = l.split_once('\t')?;
                Some((w, v.trim().parse().ok()?))
            })
            .collect()
    })
}

/// A token stream cut into clauses, each with its weight.
pub struct Clause<'a> {
    pub tokens: &'a [Token],
    pub weight: f64,
}

/// Cuts tokens into clauses at clause punctuation and before contrast words; a clause
/// right before a contrast gets weight 0.5, the contrast clause 1.5.
pub fn clauses(tokens: &[Token]) -> Vec<Clause<'_>> {
    let mut out: Vec<Clause> = Vec::new();
    let mut start = 0;
    let is_contrast = |t: &Token| {
        let c = cues(script_of(t));
        c.contrast.contains(&t.text.as_str())
    };
    for i in 0..=tokens.len() {
        let boundary = i == tokens.len()
            || tokens::ends_clause(&tokens[i].text)
            || (i > start && is_contrast(&tokens[i]));
        if boundary {
            let end = i;
            if end > start {
                out.push(Clause {
                    tokens: &tokens[start..end],
                    weight: 1.0,
                });
            }
            start = if i < tokens.len() && tokens::ends_clause(&tokens[i].text) {
                i + 1
            } else {
                i
            };
        }
    }
    for k in 0..out.len() {
        if out[k].tokens.first().is_some_and(is_contrast) {
            out[k].weight = 1.5;
            if k > 0 && out[k - 1].weight == 1.0 {
                out[k - 1].weight = 0.5;
            }
        }
    }
    out
}

/// The features of a clause list (a whole document, or one clause for aspects).
pub fn features(clauses: &[Clause]) -> Vec<Feature> {
    let mut acc: HashMap<(String, Script), f64> = HashMap::new();
    let mut lex_sum = 0.0;
    let mut lex_seen = false;
    for clause in clauses {
        let mut neg_scope = 0usize;
        let mut intensity = 1.0;
        let mut prev: Option<&Token> = None;
        for t in clause.tokens {
            if t.kind == Kind::Punct {
                continue;
            }
            let script = script_of(t);
            let c = cues(script);
            let word = if script == Script::Latin {
                bare(&t.text)
            } else {
                t.text.clone()
            };
            let value = clause.weight * intensity;
            *acc.entry((word.clone(), script)).or_default() +=
                if neg_scope > 0 { 0.0 } else { value };
            if neg_scope > 0 {
                *acc.entry((format!("!{word}"), script)).or_default() += value;
            }
            if let Some(p) = prev {
                let pair = format!("{} {}", p.text, t.text);
                *acc.entry((pair, script)).or_default() += clause.weight;
            }
            if script == Script::Latin
                && let Some(v) = vader().get(t.text.as_str())
            {
                let v = v * intensity * if neg_scope > 0 { -0.74 } else { 1.0 };
                lex_sum += v * clause.weight;
                lex_seen = true;
            }
            prev = Some(t);
            if c.negators.contains(&word.as_str()) {
                neg_scope = 3;
                intensity = 1.0;
                continue;
            }
            neg_scope = neg_scope.saturating_sub(1);
            intensity = if c.intensifiers.contains(&word.as_str()) {
                1.5
            } else if c.diminishers.contains(&word.as_str()) {
                0.6
            } else {
                1.0
            };
        }
    }
    acc.retain(|_, v| *v != 0.0);
    let norm = acc.values().map(|v| v * v).sum::<f64>().sqrt();
    let mut out: Vec<Feature> = acc
        .into_iter()
        .map(|((name, script), v)| Feature {
            name,
            script,
            value: v / norm,
        })
        .collect();
    if lex_seen {
        out.push(Feature {
            name: "__lex".into(),
            script: Script::Latin,
            value: lex_sum / (lex_sum * lex_sum + 15.0).sqrt(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A linear sentiment model for one script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// `zh` or `en`: which tokens it weighs (Han words, or everything else).
    pub lang: String,
    /// Provenance: what it was trained on.
    pub trained_on: String,
    pub bias: f64,
    pub weights: HashMap<String, f64>,
    /// Training settings, for the record.
    pub l2: f64,
    pub min_docs: usize,
    pub docs: usize,
}

impl Model {
    /// Writes the model as text: `#` header lines, then `feature<TAB>weight` lines
    /// sorted by feature (diff-friendly, a third the size of JSON).
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "# {MODEL_FORMAT}\n# lang: {}\n# trained_on: {}\n# docs: {}\n# l2: {}\n# min_docs: {}\n# bias: {}\n",
            self.lang,
            self.trained_on.replace('\n', " "),
            self.docs,
            self.l2,
            self.min_docs,
            self.bias
        );
        let mut w: Vec<(&String, &f64)> = self.weights.iter().collect();
        w.sort_by(|a, b| a.0.cmp(b.0));
        for (f, v) in w {
            out.push_str(&format!("{f}\t{v:.5}\n"));
        }
        out
    }

    /// Reads [`Model::to_text`]'s format; `origin` names the source in errors.
    pub fn from_text(text: &str, origin: &str) -> Result<Model, String> {
        let mut header: HashMap<&str, &str> = HashMap::new();
        let mut weights = HashMap::new();
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, l)) if l.trim_start_matches("# ") == MODEL_FORMAT => {}
            _ => {
                return Err(format!(
                    "{origin}: not a sentiment model (the first line must be `# {MODEL_FORMAT}`)"
                ));
            }
        }
        for (i, line) in lines {
            if let Some(h) = line.strip_prefix("# ") {
                if let Some((k, v)) = h.split_once(": ") {
                    header.insert(k, v);
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let (f, w) = line.rsplit_once('\t').ok_or_else(|| {
                format!("{origin}: line {}: expected `feature<TAB>weight`", i + 1)
            })?;
            let w: f64 = w
                .parse()
                .map_err(|_| format!("{origin}: line {}: weight `{w}` is not a number", i + 1))?;
            weights.insert(f.to_string(), w);
        }
        let get = |k: &str| {
            header
                .get(k)
                .copied()
                .ok_or_else(|| format!("{origin}: header line `# {k}: …` is missing"))
        };
        let num = |k: &str| -> Result<f64, String> {
            get(k)?
                .parse()
                .map_err(|_| format!("{origin}: header `{k}` is not a number"))
        };
        Ok(Model {
            lang: get("lang")?.to_string(),
            trained_on: get("trained_on")?.to_string(),
            bias: num("bias")?,
            weights,
            l2: num("l2")?,
            min_docs: num("min_docs")? as usize,
            docs: num("docs")? as usize,
        })
    }
}

/// The Chinese and English models a text is scored with.
#[derive(Debug, Clone)]
pub struct Scorer {
    pub zh: Model,
    pub en: Model,
}

impl Scorer {
    /// The models shipped with adroit (see `models/*.tsv` for their provenance).
    pub fn builtin() -> &'static Scorer {
        static BUILTIN: OnceLock<Scorer> = OnceLock::new();
        BUILTIN.get_or_init(|| Scorer {
            zh: Model::from_text(
                include_str!("../models/sentiment-zh.tsv"),
                "models/sentiment-zh.tsv",
            )
            .expect("the shipped Chinese model parses"),
            en: Model::from_text(
                include_str!("../models/sentiment-en.tsv"),
                "models/sentiment-en.tsv",
            )
            .expect("the shipped English model parses"),
        })
    }

    /// The linear score of features: the dominant script's bias plus each feature's
    /// weight in the model of its script.
    pub fn margin(&self, features: &[Feature]) -> f64 {
        let (mut han, mut latin) = (0.0, 0.0);
        let mut m = 0.0;
        for f in features {
            let model = match f.script {
                Script::Han => {
                    han += f.value.abs();
                    &self.zh
                }
                Script::Latin => {
                    latin += f.value.abs();
                    &self.en
                }
            };
            let w = match model.weights.get(&f.name) {
                Some(w) => *w,
                // A negated word the training data never negated: flip the word's own
                // weight, damped as VADER damps negation (× −0.74).
                None => f
                    .name
                    .strip_prefix('!')
                    .and_then(|word| model.weights.get(word))
                    .map_or(0.0, |w| -0.74 * w),
            };
            m += w * f.value;
        }
        let bias = if han >= latin {
            self.zh.bias
        } else {
            self.en.bias
        };
        m + bias
    }

    /// Sentiment of what clauses say about a subject, for aspects: the subject's own
    /// words (`topic_terms`, alone or in a pair) are left out and so is the prior (the
    /// bias). Trained on reviews, a model learns that naming the courier (快递) or
    /// customer service is itself bad news, because complaints name them more than
    /// praise does; an aspect's sentiment must come from the words said about it.
    pub fn score_opinion(&self, clauses: &[Clause], topic_terms: &[&str]) -> Sentiment {
        // Negators too: "not" alone is a strong negative word in review data, but here
        // its effect is already in the `!word` features it opens.
        let negator = |w: &str| EN.negators.contains(&w) || ZH.negators.contains(&w);
        let is_topic = |name: &str| {
            let name = name.strip_prefix('!').unwrap_or(name);
            name.split(' ').any(|w| topic_terms.contains(&w)) || negator(name)
        };
        let f: Vec<Feature> = features(clauses)
            .into_iter()
            .filter(|f| !is_topic(&f.name))
            .collect();
        if f.is_empty() {
            return Sentiment {
                score: 0.0,
                label: Label::Neutral,
            };
        }
        let bias = if f.iter().any(|f| f.script == Script::Han) {
            self.zh.bias
        } else {
            self.en.bias
        };
        let score = ((self.margin(&f) - bias) / 2.0).tanh();
        Sentiment {
            score,
            label: Label::of(score),
        }
    }

    /// Sentiment of already-cut clauses.
    pub fn score_clauses(&self, clauses: &[Clause]) -> Sentiment {
        let f = features(clauses);
        if f.is_empty() {
            return Sentiment {
                score: 0.0,
                label: Label::Neutral,
            };
        }
        let score = (self.margin(&f) / 2.0).tanh(); // 2σ(m) − 1
        Sentiment {
            score,
            label: Label::of(score),
        }
    }

    /// Sentiment of a text.
    pub fn score(&self, text: &str) -> Sentiment {
        let tokens = tokens::tokenize(text);
        self.score_clauses(&clauses(&tokens))
    }
}

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainParams {
    /// L2 penalty on the mean log-loss.
    pub l2: f64,
    /// Keep features seen in at least this many documents.
    pub min_docs: usize,
    /// Drop weights smaller than this from the saved model.
    pub prune: f64,
    pub max_iter: usize,
}

impl Default for TrainParams {
    fn default() -> Self {
        // Chosen by 5-fold cross-validation with near-duplicates kept together
        // ([`folds`]) on the Chinese training reviews: accuracy 0.807, 0.810, 0.811,
        // 0.807, 0.797, 0.752 at l2 = 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 1e-3.
        TrainParams {
            l2: 1e-5,
            min_docs: 2,
            prune: 1e-3,
            max_iter: 300,
        }
    }
}

/// Trains a model for `lang` (`zh`: Han features; `en`: the others) on labelled texts
/// by L2-regularised logistic regression (L-BFGS on the mean log-loss).
pub fn train(
    texts: &[(&str, bool)],
    lang: &str,
    trained_on: &str,
    p: &TrainParams,
) -> Result<Model, String> {
    let script = match lang {
        "zh" => Script::Han,
        "en" => Script::Latin,
        other => {
            return Err(format!(
                "unknown model language `{other}`: expected zh or en"
            ));
        }
    };
    let positives = texts.iter().filter(|t| t.1).count();
    if positives == 0 || positives == texts.len() {
        return Err(format!(
            "training needs both labels; got {positives} positive of {}",
            texts.len()
        ));
    }
    let docs: Vec<Vec<Feature>> = texts
        .par_iter()
        .map(|(t, _)| {
            let tokens = tokens::tokenize(t);
            features(&clauses(&tokens))
                .into_iter()
                .filter(|f| f.script == script)
                .collect()
        })
        .collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for d in &docs {
        for f in d {
            *df.entry(f.name.as_str()).or_default() += 1;
        }
    }
    let mut names: Vec<&str> = df
        .iter()
        .filter(|(_, n)| **n >= p.min_docs)
        .map(|(f, _)| *f)
        .collect();
    names.sort_unstable();
    let index: HashMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i as u32))
        .collect();
    let rows: Vec<Vec<(u32, f64)>> = docs
        .iter()
        .map(|d| {
            d.iter()
                .filter_map(|f| index.get(f.name.as_str()).map(|&i| (i, f.value)))
                .collect()
        })
        .collect();
    let y: Vec<f64> = texts.iter().map(|t| t.1 as u8 as f64).collect();
    let theta = logistic_lbfgs(&rows, &y, names.len(), p.l2, p.max_iter);
    let bias = theta[names.len()];
    let weights = names
        .iter()
        .zip(&theta)
        .filter(|(_, w)| w.abs() >= p.prune)
        .map(|(f, w)| (f.to_string(), *w))
        .collect();
    Ok(Model {
        lang: lang.to_string(),
        trained_on: trained_on.to_string(),
        bias,
        weights,
        l2: p.l2,
        min_docs: p.min_docs,
        docs: texts.len(),
    })
}

/// Minimises mean log-loss + l2/2·‖w‖² (bias unpenalised) over sparse rows with
/// L-BFGS (memory 10, backtracking Armijo line search). Written here: the objective is
/// sparse with ~10⁵ features, which adroit-learn's dense Newton solver is not for.
fn logistic_lbfgs(
    rows: &[Vec<(u32, f64)>],
    y: &[f64],
    p: usize,
    l2: f64,
    max_iter: usize,
) -> Vec<f64> {
    let n = rows.len() as f64;
    let eval = |theta: &[f64], grad: &mut [f64]| -> f64 {
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut loss = 0.0;
        for (row, &yi) in rows.iter().zip(y) {
            let m = theta[p] + row.iter().map(|&(j, v)| theta[j as usize] * v).sum::<f64>();
            // log(1 + e^m) − y·m, stably.
            loss += if m > 0.0 {
                m + (-m).exp().ln_1p()
            } else {
                m.exp().ln_1p()
            } - yi * m;
            let r = 1.0 / (1.0 + (-m).exp()) - yi;
            for &(j, v) in row {
                grad[j as usize] += r * v;
            }
            grad[p] += r;
        }
        for g in grad.iter_mut() {
            *g /= n;
        }
        let mut pen = 0.0;
        for j in 0..p {
            grad[j] += l2 * theta[j];
            pen += theta[j] * theta[j];
        }
        loss / n + 0.5 * l2 * pen
    };
    let dim = p + 1;
    let mut x = vec![0.0; dim];
    let mut g = vec![0.0; dim];
    let mut f = eval(&x, &mut g);
    let mem = 10;
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut g_new = vec![0.0; dim];
    for _ in 0..max_iter {
        // Two-loop recursion: d = −H·g.
        let mut q = g.clone();
        let mut alpha = vec![0.0; s_hist.len()];
        for k in (0..s_hist.len()).rev() {
            let rho = 1.0 / dot(&y_hist[k], &s_hist[k]);
            alpha[k] = rho * dot(&s_hist[k], &q);
            for (qi, yi) in q.iter_mut().zip(&y_hist[k]) {
                *qi -= alpha[k] * yi;
            }
        }
        if let (Some(s), Some(yv)) = (s_hist.last(), y_hist.last()) {
            let gamma = dot(s, yv) / dot(yv, yv);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for k in 0..s_hist.len() {
            let rho = 1.0 / dot(&y_hist[k], &s_hist[k]);
            let beta = rho * dot(&y_hist[k], &q);
            for (qi, si) in q.iter_mut().zip(&s_hist[k]) {
                *qi += (alpha[k] - beta) * si;
            }
        }
        let d: Vec<f64> = q.iter().map(|v| -v).collect();
        let slope = dot(&g, &d);
        if slope >= 0.0 {
            break;
        }
        let mut step = 1.0;
        let mut x_new = vec![0.0; dim];
        let f_new = loop {
            for i in 0..dim {
                x_new[i] = x[i] + step * d[i];
            }
            let fv = eval(&x_new, &mut g_new);
            if fv <= f + 1e-4 * step * slope || step < 1e-12 {
                break fv;
            }
            step *= 0.5;
        };
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let converged = (f - f_new).abs() <= 1e-10 * f.abs().max(1e-12);
        x.copy_from_slice(&x_new);
        g.copy_from_slice(&g_new);
        f = f_new;
        if dot(&s, &yv) > 1e-12 {
            s_hist.push(s);
            y_hist.push(yv);
            if s_hist.len() > mem {
                s_hist.remove(0);
                y_hist.remove(0);
            }
        }
        if converged || g.iter().map(|v| v.abs()).fold(0.0, f64::max) < 1e-7 {
            break;
        }
    }
    x
}

/// Assigns texts to `k` cross-validation folds, keeping near-duplicates together:
/// texts sharing their first 10 non-space characters form a group, and groups are
/// dealt to folds in a seeded order. Review dumps repeat texts (boilerplate, re-posts);
/// split at random, a copy in the training folds makes the held-out one look easy and
/// cross-validation then favours overfitting.
pub fn folds(texts: &[&str], k: usize, seed: u64) -> Vec<usize> {
    let key = |t: &str| {
        t.chars()
            .filter(|c| !c.is_whitespace())
            .take(10)
            .collect::<String>()
    };
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, t) in texts.iter().enumerate() {
        groups.entry(key(t)).or_default().push(i);
    }
    let mut keys: Vec<&String> = groups.keys().collect();
    keys.sort();
    keys.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut fold = vec![0; texts.len()];
    let mut sizes = vec![0usize; k.max(1)];
    for key in keys {
        // The smallest fold so far takes the next group, so folds stay balanced.
        let f = (0..sizes.len()).min_by_key(|&f| (sizes[f], f)).unwrap_or(0);
        for &i in &groups[key] {
            fold[i] = f;
        }
        sizes[f] += groups[key].len();
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Token> {
        tokens::tokenize(s)
    }

    #[test]
    fn contrast_weights_clauses() {
        let t = toks("价格便宜，但是质量差");
        let c = clauses(&t);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].weight, c[1].weight), (0.5, 1.5));
        let t = toks("The food was great but the service was slow.");
        let c = clauses(&t);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].tokens[0].text, "but");
    }

    #[test]
    fn negation_marks_the_next_words() {
        let t = toks("not good at all");
        let f = features(&clauses(&t));
        assert!(f.iter().any(|f| f.name == "!good"), "{f:?}");
        assert!(!f.iter().any(|f| f.name == "good"), "{f:?}");
        // jieba keeps fixed negations (不好, 不错) as words the model weighs directly;
        // a free negator opens a scope over the words after it.
        let t = toks("没有想象中好");
        let f = features(&clauses(&t));
        assert!(f.iter().any(|f| f.name.starts_with('!')), "{f:?}");
    }

    #[test]
    fn lexicon_feature_reads_negation() {
        let lex = |s: &str| {
            features(&clauses(&toks(s)))
                .into_iter()
                .find(|f| f.name == "__lex")
                .map(|f| f.value)
        };
        assert!(lex("good").unwrap() > 0.0);
        assert!(lex("not good").unwrap() < 0.0);
        assert!(lex("very good").unwrap() > lex("good").unwrap());
        assert_eq!(lex("table chair"), None);
    }

    #[test]
    fn model_text_round_trips_and_errors_name_the_line() {
        let m = Model {
            lang: "en".into(),
            trained_on: "a test".into(),
            bias: 0.25,
            weights: [("good".to_string(), 1.5), ("!good".to_string(), -1.25)].into(),
            l2: 1e-4,
            min_docs: 2,
            docs: 10,
        };
        let back = Model::from_text(&m.to_text(), "m").unwrap();
        assert_eq!(back, m);
        let bad = m.to_text() + "oops\n";
        let e = Model::from_text(&bad, "m.tsv").unwrap_err();
        assert!(e.contains("m.tsv: line"), "{e}");
        assert!(
            Model::from_text("hello", "x")
                .unwrap_err()
                .contains("not a sentiment model")
        );
    }

    #[test]
    fn training_separates_a_toy_corpus() {
        let data = [
            ("great product, love it", true),
            ("love the quality", true),
            ("great value", true),
            ("terrible, broke after a day", false),
            ("not great, broke quickly", false),
            ("terrible quality", false),
        ];
        let m = train(
            &data,
            "en",
            "toy",
            &TrainParams {
                min_docs: 1,
                ..TrainParams::default()
            },
        )
        .unwrap();
        let s = Scorer {
            zh: m.clone(),
            en: m,
        };
        assert!(s.score("love it, great").score > 0.0);
        assert!(s.score("terrible, broke").score < 0.0);
        assert!(train(&data[..3], "en", "toy", &TrainParams::default()).is_err());
    }
}
