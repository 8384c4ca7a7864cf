//! Frequent itemsets and association rules (market baskets, cross-sell).
//!
//! Itemsets are mined by pattern growth over projected databases — FP-growth's
//! recursion, with each conditional database kept as weighted item lists rather than a
//! prefix tree: every itemset is grown from its least frequent item, so it is found
//! once, and no candidate is ever generated that does not occur. Rules carry support,
//! confidence, lift, leverage and conviction.

use serde::Serialize;
use std::collections::HashMap;

/// A frequent itemset: item indices (into the caller's item list) and its support count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Itemset {
    pub items: Vec<usize>,
    pub count: u64,
}

/// An association rule `antecedent ⇒ consequent`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub antecedent: Vec<usize>,
    pub consequent: Vec<usize>,
    /// Share of transactions holding both sides.
    pub support: f64,
    /// P(consequent | antecedent).
    pub confidence: f64,
    /// confidence / P(consequent).
    pub lift: f64,
    /// support − P(antecedent)·P(consequent).
    pub leverage: f64,
    /// (1 − P(consequent)) / (1 − confidence); `None` when confidence is 1 (infinite).
    pub conviction: Option<f64>,
}

/// Itemsets whose support (share of transactions) is at least `min_support`, up to
/// `max_len` items. Transactions hold item indices; repeats within one are ignored.
pub fn frequent_itemsets(
    transactions: &[Vec<usize>],
    min_support: f64,
    max_len: usize,
) -> Vec<Itemset> {
    let n = transactions.len() as f64;
    let min_count = (min_support * n).ceil().max(1.0) as u64;
    let db: Vec<(Vec<usize>, u64)> = transactions
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.sort_unstable();
            t.dedup();
            (t, 1)
        })
        .collect();
    let mut out = Vec::new();
    grow(&db, &mut Vec::new(), min_count, max_len, &mut out);
    for set in &mut out {
        set.items.sort_unstable();
    }
    out.sort_by(|a, b| {
        a.items
            .len()
            .cmp(&b.items.len())
            .then(b.count.cmp(&a.count))
            .then(a.items.cmp(&b.items))
    });
    out
}

/// Extends `suffix` by every item frequent in `db` (the transactions holding the suffix).
fn grow(
    db: &[(Vec<usize>, u64)],
    suffix: &mut Vec<usize>,
    min_count: u64,
    max_len: usize,
    out: &mut Vec<Itemset>,
) {
    if suffix.len() >= max_len {
        return;
    }
    let mut counts: HashMap<usize, u64> = HashMap::new();
    for (t, w) in db {
        for item in t {
            *counts.entry(*item).or_default() += w;
        }
    }
    // A total order, most frequent first: an itemset is grown from its last item in this
    // order, and its projection keeps only items that come earlier.
    let mut frequent: Vec<(usize, u64)> = counts
        .into_iter()
        .filter(|(_, c)| *c >= min_count)
        .collect();
    frequent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rank: HashMap<usize, usize> = frequent
        .iter()
        .enumerate()
        .map(|(r, (i, _))| (*i, r))
        .collect();
    for (r, &(item, count)) in frequent.iter().enumerate() {
        suffix.push(item);
        out.push(Itemset {
            items: suffix.clone(),
            count,
        });
        let projected: Vec<(Vec<usize>, u64)> = db
            .iter()
            .filter(|(t, _)| t.binary_search(&item).is_ok())
            .map(|(t, w)| {
                (
                    t.iter()
                        .copied()
                        .filter(|x| rank.get(x).is_some_and(|rx| *rx < r))
                        .collect::<Vec<_>>(),
                    *w,
                )
            })
            .filter(|(t, _)| !t.is_empty())
            .collect();
        if !projected.is_empty() {
            grow(&projected, suffix, min_count, max_len, out);
        }
        suffix.pop();
    }
}

/// Rules from frequent itemsets with confidence ≥ `min_confidence`. With
/// `single_consequent` only one-item consequents are made (arules' convention);
/// otherwise every split of each itemset (mlxtend's).
pub fn association_rules(
    itemsets: &[Itemset],
    transactions: usize,
    min_confidence: f64,
    single_consequent: bool,
) -> Vec<Rule> {
    let n = transactions as f64;
    let support: HashMap<&[usize], u64> = itemsets
        .iter()
        .map(|s| (s.items.as_slice(), s.count))
        .collect();
    let mut rules = Vec::new();
    for set in itemsets.iter().filter(|s| s.items.len() >= 2) {
        let k = set.items.len();
        for mask in 1..(1u64 << k) - 1 {
            let consequent: Vec<usize> = (0..k)
                .filter(|b| mask >> b & 1 == 1)
                .map(|b| set.items[b])
                .collect();
            if single_consequent && consequent.len() != 1 {
                continue;
            }
            let antecedent: Vec<usize> = (0..k)
                .filter(|b| mask >> b & 1 == 0)
                .map(|b| set.items[b])
                .collect();
            // Subsets of frequent itemsets are frequent, so both lookups succeed.
            let (Some(a), Some(c)) = (
                support.get(antecedent.as_slice()),
                support.get(consequent.as_slice()),
            ) else {
                continue;
            };
            let confidence = set.count as f64 / *a as f64;
            if confidence < min_confidence {
                continue;
            }
            let (p_both, p_a, p_c) = (set.count as f64 / n, *a as f64 / n, *c as f64 / n);
            rules.push(Rule {
                antecedent,
                consequent,
                support: p_both,
                confidence,
                lift: confidence / p_c,
                leverage: p_both - p_a * p_c,
                conviction: (confidence < 1.0).then(|| (1.0 - p_c) / (1.0 - confidence)),
            });
        }
    }
    rules.sort_by(|a, b| {
        b.lift
            .total_cmp(&a.lift)
            .then(a.antecedent.cmp(&b.antecedent))
    });
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: every itemset of every transaction, counted.
    fn brute(transactions: &[Vec<usize>], min_count: u64) -> Vec<(Vec<usize>, u64)> {
        let mut counts: HashMap<Vec<usize>, u64> = HashMap::new();
        for t in transactions {
            for mask in 1..(1u64 << t.len()) {
                let set: Vec<usize> = (0..t.len())
                    .filter(|b| mask >> b & 1 == 1)
                    .map(|b| t[b])
                    .collect();
                *counts.entry(set).or_default() += 1;
            }
        }
        let mut v: Vec<_> = counts
            .into_iter()
            .filter(|(_, c)| *c >= min_count)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn pattern_growth_finds_exactly_the_frequent_itemsets() {
        let t = vec![
            vec![0, 1, 2],
            vec![0, 1],
            vec![1, 2, 3],
            vec![0, 2, 3],
            vec![0, 1, 2, 3],
            vec![4],
            vec![0, 1, 4],
        ];
        let mut found: Vec<(Vec<usize>, u64)> = frequent_itemsets(&t, 2.0 / 7.0, 10)
            .into_iter()
            .map(|s| (s.items, s.count))
            .collect();
        found.sort();
        assert_eq!(found, brute(&t, 2));
    }

    #[test]
    fn rule_measures() {
        let t = vec![vec![0, 1], vec![0, 1], vec![0], vec![1], vec![2]];
        let sets = frequent_itemsets(&t, 0.4, 10);
        let rules = association_rules(&sets, t.len(), 0.5, true);
        let r = rules
            .iter()
            .find(|r| r.antecedent == [0] && r.consequent == [1])
            .unwrap();
        assert!((r.support - 0.4).abs() < 1e-12);
        assert!((r.confidence - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.lift - (2.0 / 3.0) / 0.6).abs() < 1e-12);
        assert!((r.leverage - (0.4 - 0.6 * 0.6)).abs() < 1e-12);
        assert!((r.conviction.unwrap() - 0.4 / (1.0 / 3.0)).abs() < 1e-12);
    }
}
