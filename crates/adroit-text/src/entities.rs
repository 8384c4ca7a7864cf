//! Entities: money, percentages and dates by pattern; brands, products and places from a
//! configurable gazetteer; Chinese person, place and organisation names from jieba's
//! part-of-speech tags (nr, ns, nt).

use crate::tokens;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// One entity found in a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub text: String,
    /// money, percent, date, brand, product, place, person, organization, or a
    /// gazetteer's own kind.
    pub kind: String,
    /// Byte span in the text.
    pub start: usize,
    pub end: usize,
    /// For money and percentages: the number (money in the text's unit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// Names to find, by kind (`brand = ["华为", "Apple"]`, …). Matching is exact for
/// Chinese and case-insensitive on word boundaries for Latin script.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gazetteer {
    #[serde(flatten)]
    pub kinds: std::collections::BTreeMap<String, Vec<String>>,
}

struct Patterns {
    money: Regex,
    percent: Regex,
    date: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        money: Regex::new(
            r"(?xi)
            (?:[¥￥$€£]|RMB\s?|USD\s?|CNY\s?)\s?(?P<a>\d[\d,]*(?:\.\d+)?)(?P<ak>\s?[kK万])?
            | (?P<b>\d[\d,]*(?:\.\d+)?)\s?(?P<bk>[万千])?\s?(?:元|块钱|块|美元|rmb|yuan|dollars?|bucks|usd|euros?)",
        )
        .expect("valid money pattern"),
        percent: Regex::new(r"(?P<n>\d+(?:\.\d+)?)\s?(?:%|％|percent)|百分之(?P<z>\d+(?:\.\d+)?)")
            .expect("valid percent pattern"),
        date: Regex::new(
            r"(?xi)
            \b\d{4}-\d{1,2}-\d{1,2}\b
            | \d{4}年\d{1,2}月(?:\d{1,2}[日号])?
            | \d{1,2}月\d{1,2}[日号]
            | \b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?\b
            | \b\d{1,2}/\d{1,2}/\d{2,4}\b
            | 双十一|双11|618|春节|国庆|圣诞节?|black\s+friday|christmas",
        )
        .expect("valid date pattern"),
    })
}

fn number(s: &str) -> Option<f64> {
    s.replace(',', "").parse().ok()
}

impl Gazetteer {
    pub fn is_empty(&self) -> bool {
        self.kinds.values().all(Vec::is_empty)
    }
}

/// Every entity of `text`, sorted by position; overlapping finds keep the longest.
pub fn find(text: &str, gazetteer: &Gazetteer, tag_chinese: bool) -> Vec<Entity> {
    let p = patterns();
    let mut found = Vec::new();
    for c in p.money.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        let (amount, scale) = match (c.name("a"), c.name("b")) {
            (Some(a), _) => (a.as_str(), c.name("ak").map(|k| k.as_str().trim())),
            (None, Some(b)) => (b.as_str(), c.name("bk").map(|k| k.as_str())),
            _ => continue,
        };
        let factor = match scale {
            Some("万") => 1e4,
            Some("千") | Some("k") | Some("K") => 1e3,
            _ => 1.0,
        };
        found.push(Entity {
            text: m.as_str().trim().to_string(),
            kind: "money".into(),
            start: m.start(),
            end: m.end(),
            value: number(amount).map(|v| v * factor),
        });
    }
    for c in p.percent.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        let n = c.name("n").or(c.name("z")).and_then(|x| number(x.as_str()));
        found.push(Entity {
            text: m.as_str().to_string(),
            kind: "percent".into(),
            start: m.start(),
            end: m.end(),
            value: n,
        });
    }
    for m in p.date.find_iter(text) {
        found.push(Entity {
            text: m.as_str().to_string(),
            kind: "date".into(),
            start: m.start(),
            end: m.end(),
            value: None,
        });
    }
    let lower = text.to_lowercase();
    let same_offsets = lower.len() == text.len();
    for (kind, names) in &gazetteer.kinds {
        for name in names {
            if name.is_empty() {
                continue;
            }
            let latin = !name.chars().any(tokens::is_han);
            let (hay, needle) = if latin && same_offsets {
                (lower.as_str(), name.to_lowercase())
            } else {
                (text, name.clone())
            };
            let mut from = 0;
            while let Some(at) = hay[from..].find(&needle) {
                let start = from + at;
                let end = start + needle.len();
                let bounded = !latin
                    || (!hay[..start]
                        .chars()
                        .next_back()
                        .is_some_and(char::is_alphanumeric)
                        && !hay[end..].chars().next().is_some_and(char::is_alphanumeric));
                if bounded {
                    found.push(Entity {
                        text: text[start..end].to_string(),
                        kind: kind.clone(),
                        start,
                        end,
                        value: None,
                    });
                }
                from = end;
            }
        }
    }
    if tag_chinese && text.chars().any(tokens::is_han) {
        let jieba = tokens::jieba();
        for t in jieba.tag(text, true) {
            let kind = match t.tag {
                "nr" => "person",
                "ns" => "place",
                "nt" => "organization",
                _ => continue,
            };
            if t.word.chars().count() < 2 {
                continue;
            }
            found.push(Entity {
                text: t.word.to_string(),
                kind: kind.into(),
                start: t.byte_start,
                end: t.byte_end,
                value: None,
            });
        }
    }
    // Longest first, then drop anything overlapping a kept entity.
    found.sort_by(|a, b| {
        (b.end - b.start)
            .cmp(&(a.end - a.start))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Entity> = Vec::new();
    for e in found {
        if kept.iter().all(|k| e.end <= k.start || e.start >= k.end) {
            kept.push(e);
        }
    }
    kept.sort_by_key(|e| e.start);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_money_percent_dates_and_gazetteer_names() {
        let g = Gazetteer {
            kinds: [
                (
                    "brand".to_string(),
                    vec!["华为".to_string(), "Apple".to_string()],
                ),
                ("place".to_string(), vec!["上海".to_string()]),
            ]
            .into(),
        };
        let e = find("双十一在上海买的华为手机才2999元，便宜了20%", &g, false);
        let kinds: Vec<(&str, &str)> = e
            .iter()
            .map(|e| (e.kind.as_str(), e.text.as_str()))
            .collect();
        assert!(kinds.contains(&("date", "双十一")), "{kinds:?}");
        assert!(kinds.contains(&("brand", "华为")), "{kinds:?}");
        assert!(kinds.contains(&("place", "上海")), "{kinds:?}");
        let money = e.iter().find(|e| e.kind == "money").unwrap();
        assert_eq!(money.value, Some(2999.0));
        assert_eq!(
            e.iter().find(|e| e.kind == "percent").unwrap().value,
            Some(20.0)
        );

        let e = find(
            "Paid $1,299.50 for my apple watch on March 3, 2024",
            &g,
            false,
        );
        let money = e.iter().find(|e| e.kind == "money").unwrap();
        assert_eq!(money.value, Some(1299.5));
        assert!(e.iter().any(|e| e.kind == "brand" && e.text == "apple"));
        assert!(
            e.iter()
                .any(|e| e.kind == "date" && e.text.starts_with("March 3"))
        );
        // Word boundaries: "pineapple" is not the brand.
        assert!(
            !find("pineapple juice", &g, false)
                .iter()
                .any(|e| e.kind == "brand")
        );
    }

    #[test]
    fn jieba_tags_chinese_places() {
        let e = find("我们在北京的酒店住了三晚", &Gazetteer::default(), true);
        assert!(
            e.iter().any(|e| e.kind == "place" && e.text == "北京"),
            "{e:?}"
        );
    }
}
