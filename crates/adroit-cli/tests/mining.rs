//! End-to-end tests of `adroit cluster` and `adroit rules`: the real binary on the shared
//! data sets, compared with the scikit-learn and mlxtend runs recorded by
//! `benches/learn_peers.py` in `crates/adroit-learn/tests/support/*_peers.json`.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn adroit(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run adroit")
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> Output {
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    out
}

/// The crate folder at run time (not `env!`: the build cache is shared between checkouts).
fn manifest() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test"))
}

fn shared_data(rel: &str) -> String {
    let p = manifest().join("../../../shared/data").join(rel);
    assert!(p.exists(), "shared data is needed: {}", p.display());
    p.display().to_string()
}

fn peers(name: &str) -> Value {
    let p = manifest().join("../adroit-learn/tests/support").join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("peer JSON")
}

fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn sorted_sizes(result: &Value) -> Vec<u64> {
    let mut sizes: Vec<u64> = result["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| c["size"].as_u64().expect("size"))
        .collect();
    sizes.sort_unstable();
    sizes
}

/// Centers sorted lexicographically, as the peer file records them.
fn sorted_centers(result: &Value) -> Vec<Vec<f64>> {
    let mut centers: Vec<Vec<f64>> = result["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| c["center"].as_array().unwrap().iter().map(f).collect())
        .collect();
    centers.sort_by(|a, b| a.partial_cmp(b).unwrap());
    centers
}

#[test]
fn cluster_advertising_matches_scikit_learn() {
    let data = shared_data("regression/Advertising.csv");
    let peer = peers("advertising_peers.json");
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let args = [
        "cluster",
        "--data",
        &data,
        "--columns",
        "TV,Radio,Newspaper",
        "--no-standardize",
        "--k",
        "2..6",
        "--seed",
        "0",
        "--out",
        out_dir.to_str().unwrap(),
    ];
    let out = ok(adroit(&args, dir.path()));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("best silhouette"), "{stdout}");
    let result = read_json(&out_dir.join("clusters.json"));
    assert_eq!(
        result["columns"],
        serde_json::json!(["TV", "Radio", "Newspaper"])
    );
    assert_eq!(result["standardized"], false);
    assert_eq!(result["seed"], 0);
    assert_eq!(result["restarts"], 10);

    let curve = result["curve"].as_array().expect("curve");
    let want = peer["kmeans"].as_array().expect("kmeans peers");
    assert_eq!(curve.len(), 5, "k = 2..6");
    for (got, want) in curve.iter().zip(want) {
        let k = got["k"].as_u64().unwrap();
        assert_eq!(k, want["k"].as_u64().unwrap());
        let (inertia, peer_inertia) = (f(&got["inertia"]), f(&want["inertia"]));
        let ratio = inertia / peer_inertia;
        // k-means finds a local optimum; 1% allows a different one of nearly equal quality.
        assert!(
            (ratio - 1.0).abs() < 0.01,
            "k={k}: inertia {inertia} vs scikit-learn {peer_inertia}"
        );
        let (sil, peer_sil) = (f(&got["silhouette"]), f(&want["silhouette"]));
        if (ratio - 1.0).abs() < 1e-9 {
            // The same partition (k = 2, 3, 4 here): the silhouette is the same number.
            assert!(
                (sil - peer_sil).abs() < 1e-9,
                "k={k}: silhouette {sil} vs {peer_sil}"
            );
        } else {
            // k = 5 and 6: scikit-learn's greedy k-means++ (several candidates per center)
            // lands in a slightly better local optimum than 10 plain k-means++ starts
            // (inertia +0.1% and +0.5%); a different partition scores a slightly different
            // silhouette (measured: 0.0066 and 0.0030 apart), so allow 0.01.
            assert!(
                (sil - peer_sil).abs() < 0.01,
                "k={k}: silhouette {sil} vs {peer_sil}"
            );
        }
    }
    // scikit-learn's silhouettes also peak at k = 2.
    assert_eq!(result["k"], 2);
    assert!((f(&result["inertia"]) / f(&want[0]["inertia"]) - 1.0).abs() < 1e-9);

    // assignments.csv: every source row once, cluster sizes as in clusters.json.
    let assignments = std::fs::read_to_string(out_dir.join("assignments.csv")).unwrap();
    let mut lines = assignments.lines();
    assert_eq!(lines.next(), Some("row,cluster"));
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    let mut rows = Vec::new();
    for line in lines {
        let (row, cluster) = line.split_once(',').expect("two cells");
        rows.push(row.parse::<u64>().unwrap());
        *counts.entry(cluster.parse().unwrap()).or_default() += 1;
    }
    assert_eq!(rows, (1..=200).collect::<Vec<_>>());
    let sizes: Vec<u64> = result["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.values().copied().collect::<Vec<_>>(), sizes);

    // k = 2..4 reach scikit-learn's partitions: the same sizes and centers.
    // (k = 5, 6 end in another local optimum, see above, so only inertia is compared.)
    for want in &want[..3] {
        let k = want["k"].as_u64().unwrap().to_string();
        let out = ok(adroit(
            &[
                "cluster",
                "--data",
                &data,
                "--columns",
                "TV,Radio,Newspaper",
                "--no-standardize",
                "--k",
                &k,
                "--seed",
                "0",
                "--format",
                "json",
            ],
            dir.path(),
        ));
        let fit: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        let want_sizes: Vec<u64> = want["cluster_sizes_sorted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(sorted_sizes(&fit), want_sizes, "k={k}");
        let want_centers = want["centers_sorted"].as_array().unwrap();
        for (got, want) in sorted_centers(&fit).iter().zip(want_centers) {
            for (g, w) in got.iter().zip(want.as_array().unwrap()) {
                assert!(
                    (g - f(w)).abs() < 1e-9 * f(w).abs().max(1.0),
                    "k={k}: {got:?} vs {want}"
                );
            }
        }
    }

    // Deterministic for a seed: a second run writes the same clusters.json.
    let again = dir.path().join("again");
    let mut args2 = args;
    args2[11] = again.to_str().unwrap();
    ok(adroit(&args2, dir.path()));
    assert_eq!(
        std::fs::read(out_dir.join("clusters.json")).unwrap(),
        std::fs::read(again.join("clusters.json")).unwrap()
    );
}

#[test]
fn standardized_centers_are_in_original_units() {
    let data = shared_data("regression/Advertising.csv");
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = ok(adroit(
        &[
            "cluster",
            "--data",
            &data,
            "--columns",
            "TV,Radio",
            "--k",
            "3",
            "--seed",
            "1",
            "--out",
            out_dir.to_str().unwrap(),
            "--format",
            "json",
        ],
        dir.path(),
    ));
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(result, read_json(&out_dir.join("clusters.json")));
    assert_eq!(result["standardized"], true);
    // Each center is the mean of its rows' raw TV and Radio.
    let text = std::fs::read_to_string(&data).unwrap();
    let raw: Vec<(f64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[1].parse().unwrap(), c[2].parse().unwrap())
        })
        .collect();
    let assignments = std::fs::read_to_string(out_dir.join("assignments.csv")).unwrap();
    let mut sums = vec![(0.0, 0.0, 0usize); 3];
    for line in assignments.lines().skip(1) {
        let (row, cluster) = line.split_once(',').unwrap();
        let (tv, radio) = raw[row.parse::<usize>().unwrap() - 1];
        let s = &mut sums[cluster.parse::<usize>().unwrap()];
        *s = (s.0 + tv, s.1 + radio, s.2 + 1);
    }
    for (c, (tv, radio, n)) in result["clusters"].as_array().unwrap().iter().zip(sums) {
        assert_eq!(c["size"].as_u64().unwrap(), n as u64);
        let center: Vec<f64> = c["center"].as_array().unwrap().iter().map(f).collect();
        assert!((center[0] - tv / n as f64).abs() < 1e-9, "{center:?}");
        assert!((center[1] - radio / n as f64).abs() < 1e-9, "{center:?}");
    }
}

#[test]
fn cluster_rejects_bad_columns_and_missing_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("d.csv"),
        "spend,visits,segment\n1,2,a\n3,,b\n5,6,c\n",
    )
    .unwrap();
    let run = |columns: &str| {
        adroit(
            &[
                "cluster",
                "--data",
                "d.csv",
                "--columns",
                columns,
                "--k",
                "2",
            ],
            dir.path(),
        )
    };

    let out = run("spend,vists");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no column `vists`") && err.contains("did you mean `visits`"),
        "{err}"
    );

    let out = run("spend,segment");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("column `segment`") && err.contains("is text"),
        "{err}"
    );

    // Row 2 misses `visits`: named, not dropped.
    let out = run("spend,visits");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("row 2") && err.contains("`visits`") && err.contains("fill"),
        "{err}"
    );
}

/// Itemsets as {sorted items: count}.
fn itemset_counts(list: &Value) -> BTreeMap<Vec<String>, u64> {
    list.as_array()
        .expect("itemsets")
        .iter()
        .map(|s| {
            let mut items: Vec<String> = s["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_str().unwrap().to_string())
                .collect();
            items.sort();
            (items, s["count"].as_u64().expect("count"))
        })
        .collect()
}

type RuleKey = (BTreeSet<String>, BTreeSet<String>);

fn rule_map(list: &Value) -> BTreeMap<RuleKey, Value> {
    let side = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap().to_string())
            .collect()
    };
    list.as_array()
        .expect("rules")
        .iter()
        .map(|r| ((side(&r["antecedent"]), side(&r["consequent"])), r.clone()))
        .collect()
}

#[test]
fn rules_on_groceries_match_mlxtend() {
    let data = shared_data("mining/groceries.csv");
    let peer = peers("groceries_peers.json");
    let dir = tempfile::tempdir().unwrap();
    for (i, setting) in peer["settings"].as_array().unwrap().iter().enumerate() {
        let (support, confidence) = (f(&setting["min_support"]), f(&setting["min_confidence"]));
        let file = dir.path().join(format!("rules{i}.json"));
        // No --single-consequent: mlxtend makes every split of each itemset.
        ok(adroit(
            &[
                "rules",
                "--baskets",
                &data,
                "--min-support",
                &support.to_string(),
                "--min-confidence",
                &confidence.to_string(),
                "--format",
                "json",
                "--out",
                file.to_str().unwrap(),
            ],
            dir.path(),
        ));
        let got = read_json(&file);
        let what = format!("support {support}, confidence {confidence}");
        assert_eq!(got["counts"]["baskets"], peer["n_transactions"], "{what}");
        assert_eq!(got["counts"]["items"], peer["n_items"], "{what}");
        assert_eq!(
            itemset_counts(&got["itemsets"]),
            itemset_counts(&setting["itemsets"]),
            "{what}"
        );
        let (ours, theirs) = (rule_map(&got["rules"]), rule_map(&setting["rules"]));
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{what}"
        );
        assert_eq!(got["counts"]["rules"].as_u64(), Some(theirs.len() as u64));
        for (key, want) in &theirs {
            let rule = &ours[key];
            for m in ["support", "confidence", "lift", "leverage", "conviction"] {
                if want[m].is_null() {
                    assert!(rule[m].is_null(), "{what} {key:?} {m}: {}", rule[m]);
                } else {
                    assert!(
                        (f(&rule[m]) - f(&want[m])).abs() < 1e-9,
                        "{what} {key:?} {m}: {} vs {}",
                        rule[m],
                        want[m]
                    );
                }
            }
        }
    }
}

#[test]
fn rules_from_baskets_and_transactions_tables() {
    let dir = tempfile::tempdir().unwrap();
    // Blank lines skipped, items trimmed, a repeated item counted once.
    std::fs::write(
        dir.path().join("b.csv"),
        "milk, bread\n\nmilk,milk,butter\n bread ,milk\n",
    )
    .unwrap();
    let out = ok(adroit(
        &[
            "rules",
            "--baskets",
            "b.csv",
            "--min-support",
            "0.5",
            "--format",
            "json",
        ],
        dir.path(),
    ));
    let got: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(got["counts"]["baskets"], 3);
    assert_eq!(got["counts"]["items"], 3);
    let sets = itemset_counts(&got["itemsets"]);
    assert_eq!(sets[&vec!["milk".to_string()]], 3);
    assert_eq!(sets[&vec!["bread".to_string(), "milk".to_string()]], 2);
    // {bread} ⇒ {milk} has confidence 1: conviction is infinite, null in JSON, inf in CSV.
    let rules = rule_map(&got["rules"]);
    let key: RuleKey = (["bread".to_string()].into(), ["milk".to_string()].into());
    assert!(rules[&key]["conviction"].is_null());
    let csv = dir.path().join("r.csv");
    ok(adroit(
        &[
            "rules",
            "--baskets",
            "b.csv",
            "--min-support",
            "0.5",
            "--format",
            "csv",
            "--out",
            csv.to_str().unwrap(),
        ],
        dir.path(),
    ));
    let csv = std::fs::read_to_string(csv).unwrap();
    assert!(
        csv.starts_with("antecedent,consequent,support,confidence,lift,leverage,conviction\n"),
        "{csv}"
    );
    assert!(
        csv.contains("bread,milk,0.6666666666666666,1,1,0,inf"),
        "{csv}"
    );

    // A transactions table: products grouped into baskets by order_id.
    std::fs::write(
        dir.path().join("t.csv"),
        "customer_id,timestamp,amount,order_id,product\n\
         c1,2024-01-01,5,o1,milk\nc1,2024-01-01,3,o1,bread\n\
         c2,2024-01-02,4,o2,milk\nc2,2024-01-02,2,o2,butter\n\
         c1,2024-01-03,1,o3,bread\n",
    )
    .unwrap();
    let out = ok(adroit(
        &[
            "rules",
            "--transactions",
            "t.csv",
            "--min-support",
            "0.3",
            "--format",
            "json",
        ],
        dir.path(),
    ));
    let got: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(got["counts"]["baskets"], 3, "{got}");
    let sets = itemset_counts(&got["itemsets"]);
    assert_eq!(sets[&vec!["bread".to_string(), "milk".to_string()]], 1);
    assert_eq!(sets[&vec!["bread".to_string()]], 2);
}

#[test]
fn rules_reject_bad_settings_and_tables_without_products() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("b.csv"), "a,b\n").unwrap();
    for bad in ["0", "1.5"] {
        let out = adroit(
            &["rules", "--baskets", "b.csv", "--min-support", bad],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--min-support must be a share above 0 and at most 1"),
            "{err}"
        );
    }
    let out = adroit(
        &["rules", "--baskets", "b.csv", "--min-confidence", "0"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--min-confidence"));

    std::fs::write(
        dir.path().join("t.csv"),
        "customer_id,timestamp,amount\nc1,2024-01-01,5\n",
    )
    .unwrap();
    let out = adroit(&["rules", "--transactions", "t.csv"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no product column") && err.contains("product = "),
        "{err}"
    );
}

#[test]
fn rules_per_customer_segment() {
    let dir = tempfile::tempdir().unwrap();
    // Champions c1, c2 buy milk with bread; hibernating c3 buys milk with butter.
    std::fs::write(
        dir.path().join("t.csv"),
        "customer_id,timestamp,amount,order_id,product\n\
         c1,2024-01-01,5,o1,milk\nc1,2024-01-01,3,o1,bread\n\
         c2,2024-01-02,4,o2,milk\nc2,2024-01-02,2,o2,bread\n\
         c3,2024-01-03,4,o3,milk\nc3,2024-01-03,2,o3,butter\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("customers.csv"),
        "customer_id,frequency,segment\nc1,3,champions\nc2,4,champions\nc3,0,hibernating\n",
    )
    .unwrap();
    let run = |segment: &str| {
        adroit(
            &[
                "rules",
                "--transactions",
                "t.csv",
                "--segments",
                "customers.csv",
                "--segment",
                segment,
                "--min-support",
                "0.5",
                "--format",
                "json",
            ],
            dir.path(),
        )
    };
    let got: Value = serde_json::from_slice(&ok(run("champions")).stdout).unwrap();
    assert_eq!(got["counts"]["baskets"], 2, "{got}");
    let sets = itemset_counts(&got["itemsets"]);
    assert_eq!(sets[&vec!["bread".to_string(), "milk".to_string()]], 2);
    assert!(!sets.contains_key(&vec!["butter".to_string()]));
    let bad = run("vip");
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("no customer in segment \"vip\"") && err.contains("champions"),
        "{err}"
    );
}
