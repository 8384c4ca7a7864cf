//! An optional narrative for the executive summary, written by an LLM and held to the
//! run's numbers.
//!
//! The model is given only computed figures ([`facts`]): names and values, never rows or
//! texts. Its answer is split into paragraphs and each is [`check`]ed: every number a
//! paragraph states must be one of the facts at the precision it is written (2.6 for
//! 2.58, 14.3M for 14,316,354, 8 % for 0.0803), or the paragraph is dropped. A model
//! that invents a figure loses the paragraph, not the reader's trust. Pure: the door
//! calls the model.

use crate::Lang;
use crate::load::RunData;
use regex::Regex;
use serde::Serialize;
use std::sync::OnceLock;

/// One computed figure the narrative may cite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    pub name: String,
    pub value: f64,
    /// Shares and rates are fractions (0.08 for 8 %).
    pub percent: bool,
}

/// A paragraph of the model's answer and the verdict on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paragraph {
    pub text: String,
    pub kept: bool,
    /// The numbers of the paragraph that match no fact.
    pub unverified: Vec<String>,
    /// Why it was dropped, in words (empty when kept).
    pub reason: String,
}

/// The figures of a run a narrative may cite.
pub fn facts(d: &RunData) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut add = |name: String, value: Option<f64>, percent: bool| {
        if let Some(value) = value.filter(|v| v.is_finite()) {
            out.push(Fact {
                name,
                value,
                percent,
            });
        }
    };
    if let Some(m) = &d.metrics {
        let spend: f64 = m.totals.iter().filter_map(|r| r.spend).sum();
        let revenue: f64 = m.totals.iter().filter_map(|r| r.revenue).sum();
        add("total spend".into(), Some(spend), false);
        add("total revenue".into(), Some(revenue), false);
        add(
            "platform-reported ROAS".into(),
            (spend > 0.0).then(|| revenue / spend),
            false,
        );
        add("channels".into(), Some(m.totals.len() as f64), false);
        for r in &m.totals {
            add(format!("{} spend", r.group), r.spend, false);
            add(format!("{} platform ROAS", r.group), r.roas, false);
        }
    }
    if let Some(c) = &d.check {
        add("data errors".into(), Some(c.errors as f64), false);
        add("data warnings".into(), Some(c.warnings as f64), false);
        add("tables checked".into(), Some(c.tables.len() as f64), false);
    }
    if let Some(m) = &d.mmm {
        let spend: f64 = m.channels.iter().filter_map(|c| c.spend).sum();
        let contribution: f64 = m.channels.iter().filter_map(|c| c.contribution.value).sum();
        add("media contribution".into(), Some(contribution), false);
        add(
            "media ROAS".into(),
            (spend > 0.0).then(|| contribution / spend),
            false,
        );
        add("MMM R²".into(), m.diagnostics.train.r2, false);
        add("MMM periods".into(), m.periods, false);
        for c in &m.channels {
            add(format!("{} share of spend", c.name), c.spend_share, true);
            add(
                format!("{} share of effect", c.name),
                c.effect_share.value,
                true,
            );
            if let Some(r) = &c.roas {
                add(format!("{} MMM ROAS", c.name), r.value, false);
                add(format!("{} MMM ROAS 90% lower", c.name), r.lower, false);
                add(format!("{} MMM ROAS 90% upper", c.name), r.upper, false);
            }
            if let Some(r) = &c.mroas {
                add(format!("{} marginal ROAS", c.name), r.value, false);
            }
        }
    }
    if let Some(a) = &d.allocation {
        add("plan periods".into(), a.periods, false);
        add("plan budget".into(), a.total_spend, false);
        add("current response".into(), a.current_response, false);
        add("optimal response".into(), a.total_response, false);
        if let (Some(cur), Some(opt)) = (a.current_response, a.total_response) {
            add("expected gain".into(), Some(opt - cur), false);
            add(
                "expected lift".into(),
                (cur > 0.0).then(|| opt / cur - 1.0),
                true,
            );
        }
        for c in &a.channels {
            add(format!("{} current spend", c.name), c.current_spend, false);
            add(format!("{} optimal spend", c.name), c.optimal_spend, false);
            if let (Some(cur), Some(opt)) = (c.current_spend, c.optimal_spend) {
                add(format!("{} spend change", c.name), Some(opt - cur), false);
                add(
                    format!("{} spend change (relative)", c.name),
                    (cur > 0.0).then(|| opt / cur - 1.0),
                    true,
                );
            }
        }
    }
    if let Some(customers) = &d.customers {
        add("customers".into(), Some(customers.len() as f64), false);
    }
    if let Some(p) = &d.predictions {
        add(
            "total predicted CLV".into(),
            Some(p.iter().filter_map(|r| r.clv).sum()),
            false,
        );
    }
    if let Some(u) = &d.uplift {
        add("Qini coefficient".into(), u.holdout.qini_coefficient, false);
        if let Some(t) = &u.targeting {
            add("customers to contact".into(), t.contacted, false);
            add("targeting profit".into(), t.expected_profit, false);
        }
    }
    out
}

/// The messages for the model: a system instruction and the facts, one per line.
pub fn prompt(facts: &[Fact], lang: Lang) -> (String, String) {
    let language = match lang {
        Lang::En => "English",
        Lang::Zh => "Simplified Chinese",
    };
    let system = format!(
        "You write the executive summary of a marketing ROI report for a marketing manager, in {language}. \
         Write 2 or 3 short paragraphs separated by blank lines: what the channels returned, where the budget \
         should move and what that is expected to bring, and anything in the data to watch. Use only the \
         figures listed; do not compute new numbers, do not invent any, and write no dates or years. Round \
         figures as you like (2.6 for 2.58, 14.3M for 14,316,354, 8% for a share of 0.0803)."
    );
    let user = facts
        .iter()
        .map(|f| {
            if f.percent {
                format!("{}: {:.1}%", f.name, 100.0 * f.value)
            } else {
                format!("{}: {}", f.name, plain(f.value))
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    (system, user)
}

/// A figure as the model should see it: integers whole, others to 4 significant digits.
fn plain(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
        format!("{v:.digits$}")
    }
}

/// One number as written: its value and the rounding its precision allows.
#[derive(Debug, Clone, PartialEq)]
struct Written {
    raw: String,
    value: f64,
    /// Half a unit of the last written digit, in the value's units.
    slack: f64,
    percent: bool,
}

fn number_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)
            (?P<sign>[-−])?
            [$¥€£]?\s?
            (?P<int>\d{1,3}(?:,\d{3})+|\d+)
            (?:\.(?P<frac>\d+))?
            \s?
            (?P<suffix>%|％|[KkMB](?:\b|$)|bn\b|million\b|billion\b|thousand\b|万|亿)?",
        )
        .expect("valid pattern")
    })
}

/// The numbers of a text (list markers such as `1.` at a line start are numbers too:
/// a narrative has no lists).
fn numbers_in(text: &str) -> Vec<Written> {
    number_pattern()
        .captures_iter(text)
        .map(|c| {
            let int: String = c["int"].chars().filter(|ch| *ch != ',').collect();
            let frac = c.name("frac").map_or("", |m| m.as_str());
            let mut value: f64 = format!("{int}.{frac}0").parse().unwrap_or(0.0);
            if c.name("sign").is_some() {
                value = -value;
            }
            let mut slack = 0.5 * 10f64.powi(-(frac.len() as i32));
            let (scale, percent) = match c.name("suffix").map(|m| m.as_str()) {
                Some("%") | Some("％") => (0.01, true),
                Some("K") | Some("k") | Some("thousand") => (1e3, false),
                Some("M") | Some("million") => (1e6, false),
                Some("B") | Some("bn") | Some("billion") => (1e9, false),
                Some("万") => (1e4, false),
                Some("亿") => (1e8, false),
                _ => (1.0, false),
            };
            value *= scale;
            slack *= scale;
            Written {
                raw: c[0].trim().to_string(),
                value,
                slack,
                percent,
            }
        })
        .collect()
}

/// Does a written number stand for this fact (at its written precision; a percent only
/// for a share, a plain number for anything, signs ignored for changes)?
fn matches(w: &Written, f: &Fact) -> bool {
    let tolerance = w.slack + 1e-9 * f.value.abs();
    if w.percent && !f.percent {
        return false;
    }
    (w.value.abs() - f.value.abs()).abs() <= tolerance
        || (f.percent && !w.percent && (w.value.abs() - 100.0 * f.value.abs()).abs() <= w.slack)
}

/// Splits `answer` into paragraphs and keeps those whose every number is a fact. A
/// paragraph is also dropped when it repeats itself (under half of its word triples
/// distinct: a small model looping) or, if `truncated` (the model hit its token
/// limit), when it is the last one, unfinished.
pub fn check(answer: &str, facts: &[Fact], truncated: bool) -> Vec<Paragraph> {
    let parts: Vec<&str> = answer
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let last = parts.len().saturating_sub(1);
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let unverified: Vec<String> = numbers_in(p)
                .into_iter()
                .filter(|w| !facts.iter().any(|f| matches(w, f)))
                .map(|w| w.raw)
                .collect();
            let reason = if !unverified.is_empty() {
                format!("{} not among the run's figures", unverified.join(", "))
            } else if repetitive(p) {
                "it repeats itself".to_string()
            } else if truncated && i == last {
                "cut off at the model's token limit".to_string()
            } else {
                String::new()
            };
            Paragraph {
                text: p.to_string(),
                kept: reason.is_empty(),
                unverified,
                reason,
            }
        })
        .collect()
}

/// Under half of the paragraph's word triples are distinct.
fn repetitive(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < 12 {
        return false;
    }
    let triples: Vec<&[&str]> = words.windows(3).collect();
    let distinct: std::collections::HashSet<&[&str]> = triples.iter().copied().collect();
    2 * distinct.len() < triples.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(name: &str, value: f64, percent: bool) -> Fact {
        Fact {
            name: name.into(),
            value,
            percent,
        }
    }

    #[test]
    fn numbers_are_read_with_their_precision_and_scale() {
        let n =
            numbers_in("Spend was $14.3M, ROAS 2.58, up 8%, 1,286,642 in all, 3.2万 and 12 weeks.");
        let values: Vec<f64> = n.iter().map(|w| w.value).collect();
        assert_eq!(values.len(), 6, "{n:?}");
        assert!((values[0] - 14.3e6).abs() < 1e-6);
        assert!((n[0].slack - 0.05e6).abs() < 1e-6);
        assert_eq!(values[1], 2.58);
        assert!((values[2] - 0.08).abs() < 1e-12 && n[2].percent);
        assert_eq!(values[3], 1_286_642.0);
        assert!((values[4] - 32_000.0).abs() < 1e-9);
        assert_eq!(values[5], 12.0);
    }

    #[test]
    fn a_paragraph_with_an_invented_figure_is_dropped() {
        let facts = [
            fact("total spend", 14_316_354.0, false),
            fact("tv MMM ROAS", 1.6412, false),
            fact("expected lift", 0.0803, true),
            fact("plan periods", 12.0, false),
            fact("display spend change", -20_172.0, false),
        ];
        let answer = "We spent $14.3M; TV returned 1.64 per dollar.\n\n\
                      Moving budget over the next 12 weeks should add 8.0% (cut display by 20.2K).\n\n\
                      Search returned 4.1 per dollar.\n\n\
                      TV is at 1.6, between 1.5 and 1.7.";
        let p = check(answer, &facts, false);
        assert_eq!(p.len(), 4);
        assert!(p[0].kept, "{:?}", p[0]);
        assert!(p[1].kept, "{:?}", p[1]);
        assert!(!p[2].kept);
        assert_eq!(p[2].unverified, ["4.1"]);
        // 1.6 rounds the ROAS; 1.5 and 1.7 are not facts.
        assert_eq!(p[3].unverified, ["1.5", "1.7"]);
        // A share written as a plain number of percent points counts; a plain number
        // written as a percent does not.
        assert!(check("a lift of 8.03 points", &facts, false)[0].kept);
        assert!(!check("1.64% of it", &facts, false)[0].kept);
        // A looping paragraph, and an unfinished last one.
        let looping = "the budget should move and the budget should move and ".repeat(5);
        assert_eq!(
            check(&looping, &facts, false)[0].reason,
            "it repeats itself"
        );
        let cut = check("TV returned 1.64.\n\nThen the budget", &facts, true);
        assert!(cut[0].kept && !cut[1].kept, "{cut:?}");
    }

    #[test]
    fn the_prompt_lists_every_fact() {
        let facts = [
            fact("total spend", 14_316_354.0, false),
            fact("expected lift", 0.0803, true),
            fact("tv MMM ROAS", 1.641_234, false),
        ];
        let (system, user) = prompt(&facts, Lang::Zh);
        assert!(system.contains("Simplified Chinese"));
        assert_eq!(
            user,
            "total spend: 14316354\nexpected lift: 8.0%\ntv MMM ROAS: 1.641"
        );
    }
}
