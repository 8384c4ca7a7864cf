//! Language detection and tokenisation of mixed Chinese and English text.
//!
//! A text is cut into runs by script: Han runs are segmented by jieba (dictionary plus
//! HMM for unknown words), everything else by Unicode word boundaries (UAX #29) and
//! lower-cased. Punctuation is kept as tokens because clauses end there, and sentiment
//! reads clauses (see [`crate::sentiment`]).

use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use unicode_segmentation::UnicodeSegmentation;

/// A document's language: by the share of Han characters among letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Zh,
    En,
    /// Both scripts in earnest (each at least a fifth of the letters).
    Mixed,
    /// No letters at all (emoji, numbers, punctuation).
    Unknown,
}

impl Lang {
    pub fn name(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
            Lang::Mixed => "mixed",
            Lang::Unknown => "unknown",
        }
    }

    /// Parses `zh`, `en`, `mixed` or `auto` (`None`).
    pub fn parse(s: &str) -> Result<Option<Lang>, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(None),
            "zh" | "cn" | "chinese" => Ok(Some(Lang::Zh)),
            "en" | "english" => Ok(Some(Lang::En)),
            "mixed" => Ok(Some(Lang::Mixed)),
            other => Err(format!(
                "unknown language `{other}`: expected zh, en, mixed or auto"
            )),
        }
    }
}

/// Whether a character is a CJK ideograph (the scripts jieba segments).
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// Detects the language from the letters of `text`.
pub fn detect(text: &str) -> Lang {
    let (mut han, mut latin) = (0usize, 0usize);
    for c in text.chars() {
        if is_han(c) {
            han += 1;
        } else if c.is_alphabetic() {
            latin += 1;
        }
    }
    // A Han character carries about a word; Latin letters come ~5 to a word.
    let latin_words = latin as f64 / 5.0;
    let han = han as f64;
    let total = han + latin_words;
    if total == 0.0 {
        Lang::Unknown
    } else if han / total >= 0.8 {
        Lang::Zh
    } else if latin_words / total >= 0.8 {
        Lang::En
    } else {
        Lang::Mixed
    }
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A Chinese word from jieba.
    Han,
    /// A word in another script, lower-cased.
    Word,
    Number,
    /// Clause-ending or other punctuation.
    Punct,
    Emoji,
}

/// One token: its text (lower-cased for Latin words), kind and byte span in the input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub text: String,
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// The shared jieba instance: loading its dictionary takes ~100 ms, so it is built
/// once per process.
pub fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Tokenises `text`: jieba for Han runs, UAX #29 words for the rest.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut run_start = 0;
    let mut run_han: Option<bool> = None;
    for (i, c) in text.char_indices() {
        let han = is_han(c);
        match run_han {
            Some(h) if h != han => {
                push_run(text, run_start, i, h, &mut out);
                run_start = i;
                run_han = Some(han);
            }
            None => {
                run_start = i;
                run_han = Some(han);
            }
            _ => {}
        }
    }
    if let Some(h) = run_han {
        push_run(text, run_start, text.len(), h, &mut out);
    }
    out
}

fn push_run(text: &str, start: usize, end: usize, han: bool, out: &mut Vec<Token>) {
    let run = &text[start..end];
    if han {
        for t in jieba().cut(run, true) {
            out.push(Token {
                text: t.word.to_string(),
                kind: Kind::Han,
                start: start + t.byte_start,
                end: start + t.byte_end,
            });
        }
        return;
    }
    for (offset, piece) in run.split_word_bound_indices() {
        let Some(first) = piece.chars().next() else {
            continue;
        };
        if piece.chars().all(char::is_whitespace) {
            continue;
        }
        let kind = if piece.chars().any(char::is_alphabetic) {
            Kind::Word
        } else if first.is_ascii_digit() || piece.chars().all(|c| c.is_numeric()) {
            Kind::Number
        } else if is_emoji(first) {
            Kind::Emoji
        } else {
            Kind::Punct
        };
        out.push(Token {
            text: if kind == Kind::Word {
                piece.to_lowercase()
            } else {
                piece.to_string()
            },
            kind,
            start: start + offset,
            end: start + offset + piece.len(),
        });
    }
}

/// Pictographic emoji and symbols (the ranges that carry sentiment in reviews).
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F300..=0x1FAFF | 0x2600..=0x27BF | 0x1F000..=0x1F2FF)
}

/// Punctuation that ends a clause, in both scripts.
pub fn ends_clause(token: &str) -> bool {
    token.chars().all(|c| {
        matches!(
            c,
            '，' | '。'
                | '！'
                | '？'
                | '；'
                | '、'
                | '…'
                | '~'
                | '～'
                | ','
                | '.'
                | '!'
                | '?'
                | ';'
                | ':'
                | '：'
                | '\n'
        )
    }) && !token.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_languages() {
        assert_eq!(detect("质量很好，物流很快"), Lang::Zh);
        assert_eq!(detect("The delivery was late again."), Lang::En);
        assert_eq!(detect("质量很好 but the delivery was slow"), Lang::Mixed);
        assert_eq!(detect("👍👍 100"), Lang::Unknown);
    }

    #[test]
    fn tokenizes_mixed_text() {
        let text = "这家酒店的服务很好，但是房间太小! Not GOOD 👎";
        let t = tokenize(text);
        let words: Vec<&str> = t.iter().map(|t| t.text.as_str()).collect();
        assert!(words.contains(&"酒店"), "{words:?}");
        assert!(words.contains(&"服务"), "{words:?}");
        assert!(words.contains(&"good"), "{words:?}");
        assert!(t.iter().any(|t| t.kind == Kind::Emoji));
        assert!(t.iter().any(|t| t.text == "，" && t.kind == Kind::Punct));
        for tok in &t {
            assert_eq!(text[tok.start..tok.end].to_lowercase(), tok.text);
        }
    }
}
