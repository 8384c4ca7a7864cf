//! Keywords: each document's terms ranked by TF-IDF against the batch it came in, or by
//! TextRank within the document alone, and the content terms topics and keywords are
//! built from (stop words, punctuation, numbers and one-letter words dropped).

use crate::tokens::{Kind, Token};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Function words that carry no topic, in both languages.
const STOP_EN: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "both", "by", "can", "could", "did", "do",
    "does", "doing", "down", "during", "each", "even", "ever", "every", "few", "for", "from",
    "get", "got", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how",
    "i", "if", "in", "into", "is", "it", "its", "it's", "i'm", "i've", "just", "me", "more", "my",
    "myself", "of", "off", "on", "once", "one", "only", "or", "other", "our", "ours", "out",
    "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
    "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too",
    "under", "until", "up", "us", "very", "was", "we", "were", "what", "when", "where", "which",
    "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
    "really", "much", "many", "well", "still", "way", "thing", "things", "make", "made", "go",
    "went", "going", "would", "will", "been", "said", "say", "lot", "bit", "im", "ive", "dont",
    "didnt",
];

const STOP_ZH: &[&str] = &[
    "的",
    "了",
    "是",
    "我",
    "你",
    "他",
    "她",
    "它",
    "我们",
    "你们",
    "他们",
    "这",
    "那",
    "这个",
    "那个",
    "就",
    "也",
    "都",
    "还",
    "在",
    "有",
    "和",
    "与",
    "及",
    "或",
    "而",
    "又",
    "很",
    "太",
    "非常",
    "比较",
    "吧",
    "吗",
    "呢",
    "啊",
    "呀",
    "哦",
    "嗯",
    "哈",
    "哈哈",
    "哈哈哈",
    "么",
    "着",
    "过",
    "给",
    "让",
    "被",
    "把",
    "对",
    "从",
    "到",
    "为",
    "以",
    "于",
    "上",
    "下",
    "中",
    "里",
    "一个",
    "一下",
    "一些",
    "一点",
    "一样",
    "一直",
    "没有",
    "不",
    "没",
    "会",
    "能",
    "要",
    "可以",
    "可能",
    "因为",
    "所以",
    "但是",
    "不过",
    "可是",
    "如果",
    "虽然",
    "而且",
    "然后",
    "就是",
    "还是",
    "自己",
    "什么",
    "怎么",
    "这样",
    "那样",
    "这么",
    "那么",
    "感觉",
    "觉得",
    "真的",
    "已经",
    "时候",
    "这次",
    "一次",
    "东西",
    "还有",
    "个",
    "次",
    "说",
    "去",
    "来",
    "看",
    "买",
    "用",
    "人",
    "等",
    "后",
    "挺",
    "蛮",
    "更",
    "最",
    "再",
    "才",
    "只",
    "好像",
    "应该",
];

pub fn is_stop_word(term: &str) -> bool {
    STOP_EN.contains(&term) || STOP_ZH.contains(&term)
}

/// The content terms of a token stream, in order.
pub fn content_terms(tokens: &[Token]) -> Vec<String> {
    tokens
        .iter()
        .filter(|t| match t.kind {
            Kind::Han => t.text.chars().count() >= 2 && !is_stop_word(&t.text),
            Kind::Word => t.text.chars().count() >= 2 && !is_stop_word(&t.text),
            Kind::Emoji => true,
            Kind::Number | Kind::Punct => false,
        })
        .map(|t| t.text.clone())
        .collect()
}

/// The content terms of each text, tokenised in parallel (the input of topics).
pub fn batch_terms(texts: &[&str]) -> Vec<Vec<String>> {
    use rayon::prelude::*;
    texts
        .par_iter()
        .map(|t| content_terms(&crate::tokens::tokenize(t)))
        .collect()
}

/// Document frequencies of a batch.
#[derive(Debug, Clone, Default)]
pub struct Idf {
    df: HashMap<String, usize>,
    docs: usize,
}

impl Idf {
    pub fn fit(docs: &[Vec<String>]) -> Idf {
        let mut df: HashMap<String, usize> = HashMap::new();
        for d in docs {
            let mut seen: Vec<&String> = d.iter().collect();
            seen.sort();
            seen.dedup();
            for t in seen {
                *df.entry(t.clone()).or_default() += 1;
            }
        }
        Idf {
            df,
            docs: docs.len(),
        }
    }

    /// Smoothed inverse document frequency, ln((1 + N) / (1 + df)) + 1 (scikit-learn's).
    pub fn idf(&self, term: &str) -> f64 {
        let df = self.df.get(term).copied().unwrap_or(0) as f64;
        ((1.0 + self.docs as f64) / (1.0 + df)).ln() + 1.0
    }
}

/// How keywords are ranked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeywordMethod {
    /// Term frequency × inverse document frequency over the batch: terms that are
    /// frequent in this text and rare in the others. Needs a batch to mean much.
    #[default]
    Tfidf,
    /// TextRank (Mihalcea & Tarau 2004) as jieba implements it: PageRank over the
    /// co-occurrence graph of nouns, verbs, names and English words within a
    /// five-token window. Uses the text alone and jieba's part-of-speech tags, so it
    /// prefers content words in Chinese where TF-IDF also ranks adverbs and particles.
    Textrank,
}

impl KeywordMethod {
    pub fn parse(name: &str) -> Result<KeywordMethod, String> {
        match name {
            "tfidf" | "tf-idf" => Ok(KeywordMethod::Tfidf),
            "textrank" => Ok(KeywordMethod::Textrank),
            other => Err(format!(
                "unknown keyword method {other:?}: use \"tfidf\" or \"textrank\""
            )),
        }
    }
}

/// Parts of speech TextRank keeps (jieba's tag set): nouns, place, person and other
/// proper names, verbs, verbal nouns, and English words (jieba tags them `eng`).
const TEXTRANK_POS: &[&str] = &["n", "ns", "nr", "nz", "nt", "vn", "v", "eng"];

/// The `k` best keywords of one text by TextRank, weights scaled so the best is 1
/// (jieba's raw scores depend on the graph size, so they do not compare across texts).
/// English is lower-cased first so "Battery" and "battery" are one vertex.
pub fn textrank(text: &str, k: usize) -> Vec<Keyword> {
    use jieba_rs::{KeywordExtract, KeywordExtractConfig, TextRank};
    use std::sync::OnceLock;
    static EXTRACTOR: OnceLock<TextRank> = OnceLock::new();
    if k == 0 {
        return Vec::new();
    }
    let extractor = EXTRACTOR.get_or_init(|| {
        let mut config = KeywordExtractConfig::builder();
        for w in STOP_EN.iter().chain(STOP_ZH) {
            config = config.add_stop_word(w.to_string());
        }
        TextRank::new(5, config.build())
    });
    let lowered = text.to_lowercase();
    let pos: Vec<String> = TEXTRANK_POS.iter().map(|p| p.to_string()).collect();
    let found = extractor.extract_keywords(crate::tokens::jieba(), &lowered, k, pos);
    let best = found.first().map_or(1.0, |kw| kw.weight).max(1e-300);
    found
        .into_iter()
        .filter(|kw| kw.keyword.chars().any(char::is_alphanumeric))
        .map(|kw| Keyword {
            term: kw.keyword,
            weight: kw.weight / best,
        })
        .collect()
}

/// A keyword and its weight (TF-IDF, or TextRank scaled to the best term).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyword {
    pub term: String,
    pub weight: f64,
}

/// The `k` terms of `terms` with the highest TF-IDF (ties: first seen).
pub fn top(terms: &[String], idf: &Idf, k: usize) -> Vec<Keyword> {
    let mut tf: Vec<(&String, usize, usize)> = Vec::new(); // term, count, first position
    for (i, t) in terms.iter().enumerate() {
        match tf.iter_mut().find(|e| e.0 == t) {
            Some(e) => e.1 += 1,
            None => tf.push((t, 1, i)),
        }
    }
    let mut scored: Vec<(f64, usize, &String)> = tf
        .into_iter()
        .map(|(t, c, first)| (c as f64 * idf.idf(t), first, t))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let norm = scored
        .iter()
        .map(|s| s.0 * s.0)
        .sum::<f64>()
        .sqrt()
        .max(1e-300);
    scored
        .into_iter()
        .take(k)
        .map(|(w, _, t)| Keyword {
            term: t.clone(),
            weight: w / norm,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::tokenize;

    #[test]
    fn rare_terms_outrank_common_ones() {
        let docs: Vec<Vec<String>> = [
            "The battery died fast, battery is weak",
            "The screen is great",
            "Great screen and great price",
        ]
        .iter()
        .map(|d| content_terms(&tokenize(d)))
        .collect();
        assert!(!docs[0].contains(&"the".to_string()));
        let idf = Idf::fit(&docs);
        let k = top(&docs[0], &idf, 2);
        assert_eq!(k[0].term, "battery");
        let zh = content_terms(&tokenize("这个手机的电池很不错，电池续航久"));
        assert!(
            zh.contains(&"电池".to_string()) && !zh.contains(&"的".to_string()),
            "{zh:?}"
        );
    }

    #[test]
    fn textrank_ranks_the_connected_nouns_first() {
        // 电池 co-occurs with most other content words; adverbs, particles and
        // stop words never enter the graph.
        let k = textrank(
            "这款手机的电池续航很差，电池充电也慢，客服说电池没有问题，屏幕倒是清楚。",
            4,
        );
        assert_eq!(k[0].term, "电池", "{k:?}");
        assert_eq!(k[0].weight, 1.0);
        assert!(k.iter().all(|kw| kw.weight <= 1.0 && kw.weight > 0.0));
        assert!(
            !k.iter()
                .any(|kw| ["很", "也", "的", "没有", "倒是"].contains(&kw.term.as_str())),
            "{k:?}"
        );
        let en = textrank(
            "The Battery died after an hour. Battery life is awful and the battery charger broke.",
            3,
        );
        assert_eq!(en[0].term, "battery", "{en:?}");
        assert!(!en.iter().any(|kw| kw.term == "the"), "{en:?}");
        assert!(textrank("好", 3).is_empty());
        assert_eq!(
            KeywordMethod::parse("textrank"),
            Ok(KeywordMethod::Textrank)
        );
        assert!(KeywordMethod::parse("lda").is_err());
    }
}
