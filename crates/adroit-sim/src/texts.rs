//! Reviews and social posts in Chinese and English whose sentiment and aspects respond
//! to the world: during the delivery failure, delivery is mentioned more and mostly
//! badly. Sentences are composed, not templated: aspect nouns, evaluative phrases of
//! both polarities, intensifiers, negated opposites ("not bad at all", "一点也不贵"),
//! contrast ("价格便宜但是质量差"), emoji, typos and mixed language. Every text carries
//! its true sentiment and aspects.

use chrono::{NaiveDate, NaiveDateTime};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};
use serde::{Deserialize, Serialize};

/// The aspects texts talk about.
pub const ASPECTS: [&str; 5] = ["price", "quality", "delivery", "service", "packaging"];

/// A period when deliveries failed: more, and more negative, delivery mentions, and a
/// lower KPI (recorded in the KPI's decomposition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryFailure {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Share of delivery mentions that are negative during the failure (0.2 otherwise).
    pub negative_share: f64,
    /// Relative change of the KPI's baseline during the failure.
    pub kpi_effect: f64,
}

/// One text with its truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub id: String,
    pub timestamp: NaiveDateTime,
    pub text: String,
    pub lang: &'static str,
    pub source: &'static str,
    pub product: &'static str,
    pub rating: u8,
    /// True sentiment in [-1, 1] and its label (negative / neutral / positive).
    pub score: f64,
    pub label: &'static str,
    /// (aspect, polarity ±1) for each aspect mentioned.
    pub aspects: Vec<(&'static str, i8)>,
    pub negation: bool,
    pub contrast: bool,
    pub emoji: bool,
    pub typo: bool,
    pub mixed: bool,
}

struct Lexicon {
    nouns: [&'static [&'static str]; 5],
    positive: [&'static [&'static str]; 5],
    negative: [&'static [&'static str]; 5],
    /// Negated opposites: read as mildly positive / mildly negative.
    not_negative: [&'static [&'static str]; 5],
    not_positive: [&'static [&'static str]; 5],
    intensifiers: &'static [&'static str],
}

const EN: Lexicon = Lexicon {
    nouns: [
        &["the price", "the cost", "value for money"],
        &["the quality", "the material", "build quality"],
        &["delivery", "shipping", "the courier"],
        &["customer service", "the seller", "after-sales support"],
        &["the packaging", "the box", "the wrapping"],
    ],
    positive: [
        &["is reasonable", "is a bargain", "is fair"],
        &["is excellent", "feels solid", "exceeded my expectations"],
        &["was fast", "arrived early", "was on time"],
        &["was helpful", "answered quickly", "was friendly"],
        &["was neat", "was well protected", "looked premium"],
    ],
    negative: [
        &["is too high", "is a rip-off", "is not worth it"],
        &["is terrible", "broke after a week", "feels cheap"],
        &["was slow", "took forever", "arrived late and damaged"],
        &["was rude", "never replied", "was useless"],
        &["was crushed", "was flimsy", "was torn"],
    ],
    not_negative: [
        &["is not expensive at all", "is not bad"],
        &["is not bad at all", "is not flimsy"],
        &["was not slow", "was not late at all"],
        &["was not unhelpful", "was not bad"],
        &["was not damaged", "was not bad at all"],
    ],
    not_positive: [
        &["is not cheap", "is not that fair"],
        &["is not very good", "is not great"],
        &["was not fast", "was not on time"],
        &["was not very helpful", "was not friendly"],
        &["was not great", "was not well protected"],
    ],
    intensifiers: &["really", "extremely", "so", "super"],
};

const ZH: Lexicon = Lexicon {
    nouns: [
        &["价格", "价钱", "性价比"],
        &["质量", "做工", "材质"],
        &["物流", "快递", "送货"],
        &["客服", "服务", "售后"],
        &["包装", "盒子", "外包装"],
    ],
    positive: [
        &["很实惠", "便宜", "很划算"],
        &["很好", "做工精细", "超出预期"],
        &["很快", "第二天就到了", "准时送达"],
        &["很耐心", "回复很及时", "态度很好"],
        &["很精美", "很结实", "很严实"],
    ],
    negative: [
        &["太贵了", "不值这个价", "贵得离谱"],
        &["很差", "用了一周就坏了", "做工粗糙"],
        &["太慢了", "等了一个多星期", "送到时已经破损"],
        &["态度很差", "一直不回复", "完全不管"],
        &["被压坏了", "太简陋", "破了"],
    ],
    not_negative: [
        &["一点也不贵", "不算贵"],
        &["不算差", "一点也不差"],
        &["一点也不慢", "不算慢"],
        &["不算差", "还不错"],
        &["没有压坏", "不算简陋"],
    ],
    not_positive: [
        &["不便宜", "不太划算"],
        &["不是很好", "不怎么样"],
        &["不是很快", "不太准时"],
        &["不太耐心", "不是很及时"],
        &["不太结实", "不怎么样"],
    ],
    intensifiers: &["非常", "特别", "超级", "真的"],
};

const PRODUCTS: [&str; 4] = ["earbuds", "backpack", "coffee maker", "running shoes"];

/// One clause: aspect, polarity, weight in the sentence's sentiment, and its text.
struct Clause {
    aspect: usize,
    polarity: i8,
    strength: f64,
    text: String,
    negated: bool,
}

fn clause(lex: &Lexicon, zh: bool, aspect: usize, polarity: i8, rng: &mut ChaCha8Rng) -> Clause {
    let noun = lex.nouns[aspect].choose(rng).expect("non-empty");
    let form = rng.random_range(0..10);
    let (phrase, strength, negated) = match (polarity, form) {
        (1, 0..=1) => (
            lex.not_negative[aspect]
                .choose(rng)
                .expect("non-empty")
                .to_string(),
            0.5,
            true,
        ),
        (-1, 0..=1) => (
            lex.not_positive[aspect]
                .choose(rng)
                .expect("non-empty")
                .to_string(),
            0.5,
            true,
        ),
        (_, 2..=4) => {
            // Intensify only adjective phrases: "很X" in Chinese, "is/was X" in English.
            let words = if polarity > 0 {
                lex.positive[aspect]
            } else {
                lex.negative[aspect]
            };
            let base = words.choose(rng).expect("non-empty").to_string();
            let intensifier = lex.intensifiers.choose(rng).expect("non-empty");
            let intensified = if zh {
                base.strip_prefix('很')
                    .map(|adj| format!("{intensifier}{adj}"))
            } else {
                match base.split_once(' ') {
                    Some((verb, adj)) if (verb == "is" || verb == "was") && !adj.contains(' ') => {
                        Some(format!("{verb} {intensifier} {adj}"))
                    }
                    _ => None,
                }
            };
            match intensified {
                Some(phrase) => (phrase, 1.0, false),
                None => (base, 0.75, false),
            }
        }
        _ => {
            let words = if polarity > 0 {
                lex.positive[aspect]
            } else {
                lex.negative[aspect]
            };
            (
                words.choose(rng).expect("non-empty").to_string(),
                0.75,
                false,
            )
        }
    };
    let text = if zh {
        format!("{noun}{phrase}")
    } else {
        format!("{noun} {phrase}")
    };
    Clause {
        aspect,
        polarity,
        strength,
        text,
        negated,
    }
}

/// Swaps two adjacent letters of one word (English) or drops a character (Chinese).
fn typo(text: &str, rng: &mut ChaCha8Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let candidates: Vec<usize> = (0..chars.len().saturating_sub(1))
        .filter(|&i| chars[i].is_ascii_alphabetic() && chars[i + 1].is_ascii_alphabetic())
        .collect();
    let mut out = chars.clone();
    if let Some(&i) = candidates.choose(rng) {
        out.swap(i, i + 1);
    } else if chars.len() > 4 {
        out.remove(rng.random_range(1..chars.len() - 1));
    }
    out.into_iter().collect()
}

/// Texts for every day of the world, about 15 a day.
pub fn simulate_texts(
    days: &[NaiveDate],
    failure: &DeliveryFailure,
    langs: &[&'static str],
    rng: &mut ChaCha8Rng,
) -> Vec<Text> {
    let per_day = Poisson::new(15.0).expect("positive");
    let mut texts = Vec::new();
    for day in days {
        let failing = *day >= failure.start && *day <= failure.end;
        let count: f64 = per_day.sample(rng);
        for _ in 0..count as usize {
            let lang = *langs.choose(rng).expect("at least one language");
            let zh = lang == "zh";
            let lex = if zh { &ZH } else { &EN };
            // Which aspects, and how each is judged.
            let n_clauses = match rng.random_range(0..10) {
                0..=4 => 1,
                5..=8 => 2,
                _ => 3,
            };
            let mut aspects: Vec<usize> = Vec::new();
            while aspects.len() < n_clauses {
                let a = if failing && rng.random_bool(0.5) {
                    2
                } else {
                    rng.random_range(0..ASPECTS.len())
                };
                if !aspects.contains(&a) {
                    aspects.push(a);
                }
            }
            let clauses: Vec<Clause> = aspects
                .iter()
                .map(|&a| {
                    let negative_share = if a == 2 && failing {
                        failure.negative_share
                    } else {
                        [0.35, 0.25, 0.2, 0.3, 0.15][a]
                    };
                    let polarity = if rng.random_bool(negative_share) {
                        -1
                    } else {
                        1
                    };
                    clause(lex, zh, a, polarity, rng)
                })
                .collect();
            // Contrast between two clauses of opposite polarity puts weight on the second.
            let contrast = clauses.len() >= 2
                && clauses[0].polarity != clauses[1].polarity
                && rng.random_bool(0.7);
            let mut text = String::new();
            let mut weights = Vec::new();
            for (k, c) in clauses.iter().enumerate() {
                let joiner = match (k, zh, contrast && k == 1) {
                    (0, true, true) => "虽然",
                    (0, _, _) => "",
                    (_, true, true) => "，但是",
                    (_, false, true) => ", but ",
                    (_, true, false) => "，",
                    (_, false, false) => ", and ",
                };
                text.push_str(joiner);
                text.push_str(&c.text);
                weights.push(if contrast && k == 1 { 2.0 } else { 1.0 });
            }
            let total: f64 = weights.iter().sum();
            let score: f64 = clauses
                .iter()
                .zip(&weights)
                .map(|(c, w)| w * c.strength * f64::from(c.polarity))
                .sum::<f64>()
                / total;
            // Decorations that do not change the truth.
            let mixed = zh && rng.random_bool(0.1);
            if mixed {
                text.push_str(if score >= 0.0 {
                    "，overall good"
                } else {
                    "，not recommended"
                });
            }
            let emoji = rng.random_bool(0.25);
            if emoji {
                text.push_str(if score >= 0.0 {
                    [" 👍", " 😊", "😄"][rng.random_range(0..3)]
                } else {
                    [" 👎", " 😡", "😞"][rng.random_range(0..3)]
                });
            }
            let has_typo = !zh && rng.random_bool(0.15);
            if has_typo {
                text = typo(&text, rng);
            }
            if !zh {
                let mut chars = text.chars();
                text = chars
                    .next()
                    .map(|f| f.to_uppercase().collect::<String>() + chars.as_str())
                    .unwrap_or_default();
                text.push('.');
            } else {
                text.push('。');
            }
            let label = if score > 0.2 {
                "positive"
            } else if score < -0.2 {
                "negative"
            } else {
                "neutral"
            };
            let rating = (3.0 + 2.0 * score + rng.random_range(-0.7..0.7))
                .round()
                .clamp(1.0, 5.0) as u8;
            let seconds = rng.random_range(0..86_400);
            texts.push(Text {
                id: format!("T{:07}", texts.len() + 1),
                timestamp: day.and_hms_opt(0, 0, 0).expect("midnight")
                    + chrono::Duration::seconds(seconds),
                text,
                lang,
                source: if rng.random_bool(0.7) {
                    "review"
                } else {
                    "social"
                },
                product: PRODUCTS.choose(rng).expect("non-empty"),
                rating,
                score,
                label,
                aspects: clauses
                    .iter()
                    .map(|c| (ASPECTS[c.aspect], c.polarity))
                    .collect(),
                negation: clauses.iter().any(|c| c.negated),
                contrast,
                emoji,
                typo: has_typo,
                mixed,
            });
        }
    }
    texts
}
