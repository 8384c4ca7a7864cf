//! Aspects: what a text talks about (price, quality, delivery, …), found by terms of a
//! taxonomy in both languages, each with the sentiment of the clauses that mention it.
//!
//! The default taxonomy covers the aspects reviews of goods and services mention most;
//! users replace or extend it in config (`[text.aspects]`, one list of terms per aspect
//! and language).

use crate::sentiment::{Clause, Scorer, Sentiment};
use crate::tokens::Kind;
use serde::{Deserialize, Serialize};

/// One aspect and its terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aspect {
    pub name: String,
    /// Chinese terms, matched as substrings of a clause (jieba may cut a term apart).
    #[serde(default)]
    pub zh: Vec<String>,
    /// English terms, matched as whole lower-cased words or word sequences.
    #[serde(default)]
    pub en: Vec<String>,
}

/// A set of aspects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Taxonomy {
    pub aspects: Vec<Aspect>,
}

fn aspect(name: &str, zh: &[&str], en: &[&str]) -> Aspect {
    Aspect {
        name: name.into(),
        zh: zh.iter().map(|s| s.to_string()).collect(),
        en: en.iter().map(|s| s.to_string()).collect(),
    }
}

impl Default for Taxonomy {
    fn default() -> Self {
        Taxonomy {
            aspects: vec![
                aspect(
                    "price",
                    &[
                        "价格",
                        "价钱",
                        "便宜",
                        "贵",
                        "性价比",
                        "划算",
                        "实惠",
                        "价位",
                        "优惠",
                        "折扣",
                        "房价",
                    ],
                    &[
                        "price",
                        "prices",
                        "priced",
                        "cost",
                        "costs",
                        "expensive",
                        "cheap",
                        "value",
                        "money",
                        "pricey",
                        "overpriced",
                        "affordable",
                        "discount",
                    ],
                ),
                aspect(
                    "quality",
                    &[
                        "质量", "品质", "做工", "材质", "质感", "正品", "假货", "耐用", "好用",
                        "效果",
                    ],
                    &[
                        "quality",
                        "build",
                        "material",
                        "durable",
                        "sturdy",
                        "flimsy",
                        "broke",
                        "broken",
                        "defective",
                        "works",
                        "worked",
                        "working",
                    ],
                ),
                aspect(
                    "delivery",
                    &[
                        "物流",
                        "快递",
                        "送货",
                        "发货",
                        "配送",
                        "送餐",
                        "到货",
                        "送达",
                        "派送",
                        "外卖小哥",
                        "骑手",
                        "送的",
                        "送到",
                    ],
                    &[
                        "delivery",
                        "delivered",
                        "shipping",
                        "shipped",
                        "arrived",
                        "arrival",
                        "courier",
                        "late",
                        "package arrived",
                    ],
                ),
                aspect(
                    "service",
                    &[
                        "服务",
                        "客服",
                        "态度",
                        "售后",
                        "服务员",
                        "前台",
                        "老板",
                        "商家",
                        "退货",
                        "退款",
                    ],
                    &[
                        "service",
                        "staff",
                        "waiter",
                        "waitress",
                        "support",
                        "customer service",
                        "rude",
                        "friendly",
                        "manager",
                        "refund",
                        "return",
                    ],
                ),
                aspect(
                    "packaging",
                    &["包装", "盒子", "封口", "漏了", "撒了", "洒了", "包裹"],
                    &[
                        "packaging",
                        "package",
                        "packaged",
                        "box",
                        "wrapped",
                        "wrapping",
                        "sealed",
                    ],
                ),
                aspect(
                    "taste",
                    &[
                        "味道", "口味", "好吃", "难吃", "口感", "咸", "淡", "辣", "分量", "份量",
                        "新鲜",
                    ],
                    &[
                        "taste",
                        "tasty",
                        "flavor",
                        "flavour",
                        "delicious",
                        "bland",
                        "salty",
                        "fresh",
                        "portion",
                        "portions",
                        "food",
                    ],
                ),
                aspect(
                    "environment",
                    &[
                        "环境", "卫生", "干净", "房间", "设施", "装修", "隔音", "位置", "早餐",
                    ],
                    &[
                        "room",
                        "rooms",
                        "clean",
                        "dirty",
                        "location",
                        "ambiance",
                        "atmosphere",
                        "decor",
                        "noisy",
                        "place",
                    ],
                ),
                aspect(
                    "battery",
                    &["电池", "续航", "充电", "电量"],
                    &["battery", "charge", "charging", "charger"],
                ),
                aspect("screen", &["屏幕", "显示", "屏"], &["screen", "display"]),
                aspect(
                    "sound",
                    &["音质", "声音", "音量", "噪音"],
                    &[
                        "sound", "volume", "audio", "headset", "earpiece", "speaker", "noise",
                    ],
                ),
            ],
        }
    }
}

/// An aspect a text mentions and how it speaks of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    pub aspect: String,
    /// The terms that matched, in order of appearance.
    pub terms: Vec<String>,
    /// Sentiment of the clauses that mention the aspect.
    pub sentiment: Sentiment,
}

impl Taxonomy {
    /// Checks that the taxonomy is usable: named, non-empty, unique aspects.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for a in &self.aspects {
            if a.name.trim().is_empty() {
                return Err("an aspect has an empty name".into());
            }
            if !seen.insert(a.name.as_str()) {
                return Err(format!("aspect `{}` is defined twice", a.name));
            }
            if a.zh.is_empty() && a.en.is_empty() {
                return Err(format!(
                    "aspect `{}` has no terms (give zh or en terms)",
                    a.name
                ));
            }
        }
        Ok(())
    }

    /// The aspects `clauses` of `text` mention, each scored on its own clauses.
    pub fn find(&self, text: &str, clauses: &[Clause], scorer: &Scorer) -> Vec<Mention> {
        let mut out = Vec::new();
        // Nouns naming any aspect are subjects, not opinions (see `score_opinion`);
        // opinion-bearing terms of the taxonomy (cheap, 便宜, delicious) stay in.
        let subject_words: Vec<&str> = self
            .aspects
            .iter()
            .flat_map(|a| a.zh.iter().chain(&a.en))
            .map(String::as_str)
            .filter(|t| is_subject(t))
            .collect();
        for a in &self.aspects {
            let mut terms: Vec<String> = Vec::new();
            let mut hit: Vec<usize> = Vec::new();
            for (k, c) in clauses.iter().enumerate() {
                let (Some(first), Some(last)) = (c.tokens.first(), c.tokens.last()) else {
                    continue;
                };
                let span = &text[first.start..last.end];
                let words: Vec<&str> = c
                    .tokens
                    .iter()
                    .filter(|t| t.kind == Kind::Word)
                    .map(|t| t.text.as_str())
                    .collect();
                let mut matched = false;
                for term in &a.zh {
                    if span.contains(term.as_str()) {
                        matched = true;
                        if !terms.contains(term) {
                            terms.push(term.clone());
                        }
                    }
                }
                for term in &a.en {
                    let parts: Vec<&str> = term.split_whitespace().collect();
                    if !parts.is_empty()
                        && words
                            .windows(parts.len())
                            .any(|w| w.iter().zip(&parts).all(|(a, b)| a.eq_ignore_ascii_case(b)))
                    {
                        matched = true;
                        if !terms.contains(term) {
                            terms.push(term.clone());
                        }
                    }
                }
                if matched {
                    hit.push(k);
                }
            }
            if hit.is_empty() {
                continue;
            }
            let chosen: Vec<Clause> = hit
                .iter()
                .map(|&k| Clause {
                    tokens: clauses[k].tokens,
                    weight: 1.0,
                })
                .collect();
            out.push(Mention {
                aspect: a.name.clone(),
                terms,
                sentiment: scorer.score_opinion(&chosen, &subject_words),
            });
        }
        out
    }
}

/// Whether a taxonomy term names a subject rather than judging it: judging words
/// (cheap, 便宜, 好吃, rude …) carry the sentiment we want to read.
fn is_subject(term: &str) -> bool {
    const JUDGING: &[&str] = &[
        "便宜",
        "贵",
        "划算",
        "实惠",
        "优惠",
        "正品",
        "假货",
        "耐用",
        "好用",
        "好吃",
        "难吃",
        "咸",
        "淡",
        "辣",
        "新鲜",
        "干净",
        "漏了",
        "撒了",
        "洒了",
        "expensive",
        "cheap",
        "pricey",
        "overpriced",
        "affordable",
        "durable",
        "sturdy",
        "flimsy",
        "broke",
        "broken",
        "defective",
        "works",
        "worked",
        "working",
        "late",
        "rude",
        "friendly",
        "tasty",
        "delicious",
        "bland",
        "salty",
        "fresh",
        "clean",
        "dirty",
        "noisy",
        "value",
    ];
    !JUDGING.contains(&term)
}
