//! Known answer: Lantz, *Machine Learning with R* (ch. 8), runs arules' Apriori on the
//! Groceries transactions with support 0.006, confidence 0.25, minlen 2, and gets a set
//! of 463 rules; the rule with the highest lift is {herbs} ⇒ {root vegetables} with
//! support 0.007015760, confidence 0.4312500, lift 3.956477. arules makes one-item
//! consequents, as `single_consequent = true` does.

use adroit_learn::rules;
use std::collections::HashMap;

#[test]
fn groceries_rules_match_the_published_apriori_run() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let text = std::fs::read_to_string(format!(
        "{manifest}/../../../shared/data/mining/groceries.csv"
    ))
    .expect("shared data is needed");
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    let transactions: Vec<Vec<usize>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|item| {
                    let item = item.trim().to_string();
                    *index.entry(item.clone()).or_insert_with(|| {
                        names.push(item);
                        names.len() - 1
                    })
                })
                .collect()
        })
        .collect();
    assert_eq!((transactions.len(), names.len()), (9835, 169));
    let sets = rules::frequent_itemsets(&transactions, 0.006, 10);
    let found = rules::association_rules(&sets, transactions.len(), 0.25, true);
    assert_eq!(found.len(), 463);
    let top = &found[0];
    let name = |ids: &[usize]| ids.iter().map(|i| names[*i].as_str()).collect::<Vec<_>>();
    assert_eq!(
        (name(&top.antecedent), name(&top.consequent)),
        (vec!["herbs"], vec!["root vegetables"])
    );
    assert!((top.support - 0.007015760).abs() < 5e-10, "{}", top.support);
    assert!(
        (top.confidence - 0.4312500).abs() < 5e-8,
        "{}",
        top.confidence
    );
    assert!((top.lift - 3.956477).abs() < 5e-7, "{}", top.lift);
}
