//! The report of the trimmed sample run in `tests/data/run` (made from `adroit demo`'s
//! simulated world): every section and chart, both languages, escaping, absent stages,
//! malformed files.

use adroit_report::{Lang, LoadError, RunData, load, render};
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/run")
}

fn sample() -> RunData {
    load(&fixture()).expect("the sample run loads")
}

/// A copy of the fixture in a temporary folder, to break.
fn copy_fixture() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(&fixture(), dir.path());
    dir
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

const SECTIONS: &[&str] = &[
    "summary",
    "quality",
    "kpis",
    "mmm",
    "curves",
    "budget",
    "attribution",
    "customers",
    "uplift",
    "fairness",
    "text",
    "diagnostics",
    "run",
];

#[test]
fn sample_has_every_section_and_chart() {
    let data = sample();
    let html = render(&data, Lang::En);
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "{}",
        &html[..200.min(html.len())]
    );
    assert!(!html.contains("template error"));
    for id in SECTIONS {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    // Every section has content: no "not in this run" note.
    assert!(!html.contains("not in this run"), "a section was left out");
    // Charts by their titles (the SVG <title> of each chart).
    for title in [
        "Spend by channel and period",
        "Decomposition of the KPI over time",
        "Selection rate by region",
        "Selection rate by member",
        "Contributions to the KPI (waterfall)",
        "Share of spend vs share of effect (90% interval)",
        "ROAS by channel with 90% interval",
        "Attributed conversions by model",
        "Segments: share of customers vs share of spend",
        "Distribution of predicted CLV",
        "Qini curve (holdout)",
        "Uplift by decile of predicted uplift",
        "KPI by week",
        "Sentiment over time (4-week mean)",
        "Negative share by aspect (4-week mean)",
        "Pareto front: NRMSE vs DECOMP.RSSD",
    ] {
        assert!(
            html.contains(&format!("<title>{title}</title>")),
            "chart {title}"
        );
    }
    // One response curve per channel, with the current and optimal spend marked.
    for ch in ["display", "search", "social", "tv"] {
        assert!(
            html.contains(&format!("<title>{ch} · Response</title>")),
            "curve {ch}"
        );
    }
    assert_eq!(count(&html, "<title>Current spend: "), 4);
    assert_eq!(count(&html, "<title>Optimal spend: "), 4);
    assert_eq!(count(&html, "<svg class=\"chart\""), 20);
    // Error bars on effect share and ROAS: one per channel each.
    assert!(count(&html, "stroke=\"#333\" stroke-width=\"1.3\"") >= 8);
    // Headline numbers, formatted for humans in the run's currency.
    assert!(html.contains("Total spend"));
    assert!(html.contains("$14.3M"), "total spend of the four channels");
    assert!(html.contains("<li>Increase tv by $219K</li><li>Cut search by $115K</li>"));
    assert!(
        html.contains("(+8.0%)"),
        "expected lift of the reallocation"
    );
    // Diagnostics.
    for d in [
        "R² (training)",
        "NRMSE",
        "DECOMP.RSSD",
        "Holdout",
        "Durbin–Watson",
        "VIF",
    ] {
        assert!(html.contains(d), "diagnostic {d}");
    }
    assert!(html.contains("0.983"), "training R²");
    // Text: topics with quotes; the stage reason of the run.
    assert!(html.contains("Top topics") && html.contains("<blockquote>"));
    assert!(html.contains("no [campaign_responses] table in the config"));
    // Self-contained: no external resources.
    for bad in ["http://", "https://", "<link", "src=\""] {
        let hits: Vec<_> = html
            .match_indices(bad)
            .filter(|(i, _)| !html[*i..].starts_with("http://www.w3.org/2000/svg"))
            .collect();
        assert!(hits.is_empty(), "external reference {bad}");
    }
    assert!(html.contains("document.body.dataset.chartsOk"));
}

#[test]
fn chinese_labels() {
    let html = render(&sample(), Lang::Zh);
    assert!(html.contains("<html lang=\"zh-CN\">"));
    for l in [
        "执行摘要",
        "数据质量",
        "营销组合模型",
        "响应曲线",
        "预算建议",
        "归因模型对比",
        "文本洞察",
        "模型诊断",
    ] {
        assert!(html.contains(l), "{l}");
    }
    assert!(!html.contains("Executive summary"));
    assert!(html.contains("冠军客户"), "segment names translated");
    // Chinese abbreviations: 万 / 亿.
    assert!(html.contains("万"));
    assert_eq!(count(&html, "<svg class=\"chart\""), 20);
}

#[test]
fn every_label_the_renderer_uses_exists() {
    let src = include_str!("../src/render.rs");
    let tpl = include_str!("../templates/report.html");
    let known: std::collections::BTreeSet<&str> =
        adroit_report::LABELS.iter().map(|(k, _, _)| *k).collect();
    let mut used = Vec::new();
    for pat in ["self.l(\"", "t.get(\""] {
        for (i, _) in src.match_indices(pat) {
            let rest = &src[i + pat.len()..];
            used.push(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    for (i, _) in tpl.match_indices("t.") {
        if i > 0 && tpl.as_bytes()[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = &tpl[i + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        used.push(rest[..end].to_string());
    }
    assert!(used.len() > 50);
    for k in &used {
        assert!(known.contains(k.as_str()), "label {k:?} is not in LABELS");
    }
}

#[test]
fn hostile_strings_are_escaped() {
    let mut data = sample();
    let evil = "<script>alert(1)</script>";
    let mmm = data.mmm.as_mut().unwrap();
    mmm.channels[0].name = evil.into();
    data.metrics.as_mut().unwrap().totals[0].group = evil.into();
    data.allocation.as_mut().unwrap().channels[0].name = evil.into();
    data.attribution.as_mut().unwrap().channels[0].channel = evil.into();
    data.run.project = "Shop \"<b>bold</b>\"".into();
    let topics = data.text.as_mut().unwrap().topics.as_mut().unwrap();
    topics.topics[0].representative[0].text = "<img src=x onerror=alert(2)>".into();
    for c in &mut data.curves {
        if c.channel == "display" {
            c.channel = evil.into();
        }
    }
    for lang in [Lang::En, Lang::Zh] {
        let html = render(&data, lang);
        assert!(!html.contains(evil), "raw script tag in the output");
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("<b>bold</b>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // Our own one inline script, nothing more.
        assert_eq!(count(&html, "<script>"), 1);
    }
}

#[test]
fn absent_stages_give_a_note() {
    let dir = copy_fixture();
    for sub in ["mmm", "uplift", "text"] {
        std::fs::remove_dir_all(dir.path().join(sub)).unwrap();
    }
    let data = load(dir.path()).unwrap();
    assert!(data.mmm.is_none() && data.uplift.is_none() && data.text.is_none());
    let html = render(&data, Lang::En);
    assert!(html.contains("Marketing mix model: not in this run — the mmm stage was not run."));
    assert!(html.contains("Response curves: not in this run"));
    assert!(html.contains("Text insights: not in this run — the text stage was not run."));
    // The reason from run.json is quoted.
    assert!(html.contains(
        "Uplift and targeting: not in this run — the uplift stage was not run \
         (skipped: no [campaign_responses] table in the config)."
    ));
    assert!(!html.contains("Decomposition of the KPI over time"));
    // allocation.json lives in mmm/ too.
    assert!(html.contains("Budget recommendation: not in this run — the allocation stage"));
    // The other sections are still there.
    assert!(html.contains("Attributed conversions by model"));
    let zh = render(&data, Lang::Zh);
    assert!(zh.contains("营销组合模型：本次运行未包含——mmm 阶段未运行。"));
}

#[test]
fn a_run_with_only_run_json_renders() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("run.json"),
        r#"{"format": "adroit-run v1", "project": "p", "currency": "CNY", "stages": [], "new_field": 1}"#,
    )
    .unwrap();
    let html = render(&load(dir.path()).unwrap(), Lang::En);
    assert_eq!(count(&html, "not in this run"), 11);
    assert_eq!(count(&html, "<svg class=\"chart\""), 0);
}

#[test]
fn nulls_and_unknown_fields_are_tolerated() {
    let dir = copy_fixture();
    std::fs::write(
        dir.path().join("run.json"),
        r#"{"format": "adroit-run v2", "project": null, "currency": null, "extra": {"a": 1},
            "stages": [{"name": "uplift", "status": "failed", "reason": null, "seconds": null,
                        "fingerprint": null, "outputs": null}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mmm/allocation.json"),
        r#"{"periods": 4, "objective": null, "channels": [{"name": "tv", "current_spend": 10,
            "optimal_spend": null, "reason": null, "binding": null}], "total_spend": null}"#,
    )
    .unwrap();
    std::fs::remove_dir_all(dir.path().join("uplift")).unwrap();
    let data = load(dir.path()).unwrap();
    assert_eq!(data.run.project, "");
    let html = render(&data, Lang::En);
    assert!(html.contains("Untitled project"));
    assert!(html.contains("the uplift stage was not run (failed)."));
    assert!(html.contains("<section id=\"budget\">"));
}

#[test]
fn malformed_json_names_the_file() {
    let dir = copy_fixture();
    std::fs::write(dir.path().join("mmm/result.json"), "{\"channels\": [").unwrap();
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, LoadError::Parse { .. }));
    let msg = e.to_string();
    assert!(msg.contains("mmm/result.json"), "{msg}");
    assert!(msg.contains("expected an MMM result"), "{msg}");

    let dir = copy_fixture();
    std::fs::write(
        dir.path().join("customers/customers.csv"),
        "customer_id,frequency\nC1,abc\n",
    )
    .unwrap();
    let msg = load(dir.path()).unwrap_err().to_string();
    assert!(msg.contains("customers/customers.csv"), "{msg}");

    let dir = copy_fixture();
    std::fs::write(dir.path().join("run.json"), "[1, 2").unwrap();
    assert!(
        load(dir.path())
            .unwrap_err()
            .to_string()
            .contains("run.json")
    );
}

#[test]
fn not_a_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let e = load(dir.path()).unwrap_err();
    assert!(matches!(e, LoadError::NotARun(_)), "{e}");
    assert!(e.to_string().contains("no run.json"));
    let missing = dir.path().join("nope");
    assert!(matches!(load(&missing), Err(LoadError::Missing(_))));
    assert!(matches!(
        load(&dir.path().join("notes.txt")),
        Err(LoadError::NotADir(_))
    ));
}

#[test]
fn write_sample_for_inspection() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(out.join("report-en.html"), render(&sample(), Lang::En)).unwrap();
    std::fs::write(out.join("report-zh.html"), render(&sample(), Lang::Zh)).unwrap();
}

#[test]
fn a_bayesian_fit_shows_its_sampler_diagnostics() {
    let mut data = sample();
    let bayes: adroit_report::load::Bayes = serde_json::from_value(serde_json::json!({
        "sampler": "NUTS (nuts-rs 0.19), low-rank mass matrix",
        "seconds": 12.5,
        "max_rhat": 1.034,
        "min_ess_bulk": 250.0,
        "min_ess_tail": 410.0,
        "divergences": 3,
        "bfmi": [0.9, 0.25],
        "warnings": ["R-hat above 1.01: <tv>.roas"],
        "geo": {"geos": [{"name": "north"}, {"name": "south"}], "curve_error": {"tv": 0.004}}
    }))
    .unwrap();
    data.mmm.as_mut().unwrap().bayes = Some(bayes);
    let html = render(&data, Lang::En);
    assert!(html.contains("NUTS (nuts-rs 0.19), low-rank mass matrix, 12.5 s"));
    // Failed checks are marked, and the warning's text is escaped.
    assert!(
        html.contains("<td>R-hat (max)</td><td class=\"n down\">1.034</td>"),
        "R-hat row"
    );
    assert!(html.contains("<td>Divergent transitions</td><td class=\"n down\">3</td>"));
    assert!(html.contains("0.90, 0.25"));
    assert!(html.contains("R-hat above 1.01: &lt;tv&gt;.roas"));
    assert!(
        html.contains("2 (national curve gap up to 0.40%)"),
        "geo row"
    );
    // The ridge search's evaluation count is not shown for a Bayesian fit.
    assert!(!html.contains("Candidate models evaluated"));
    let zh = render(&data, Lang::Zh);
    assert!(zh.contains("发散转移") && zh.contains("地区（分层）"));
}
