//! `adroit report --narrative`: a summary written by the local GGUF model
//! (SmolLM2-135M-Instruct, installed by .ci/run) through the real client, of which only
//! paragraphs whose every number is a figure of the run reach the report.

use std::path::{Path, PathBuf};
use std::process::Command;

fn model_path() -> PathBuf {
    let dir = std::env::var_os("ADROIT_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(".cache/adroit-models")
        });
    let p = dir.join("smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        p.is_file(),
        "{} is missing: run .ci/run once (it installs SmolLM2-135M-Instruct), or set ADROIT_MODELS",
        p.display()
    );
    p
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn the_narrative_keeps_only_paragraphs_whose_numbers_are_the_runs() {
    let model = model_path();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../adroit-report/tests/data/run"),
        &run,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(["report"])
        .arg(&run)
        .args([
            "--narrative",
            "--narrative-max-tokens",
            "64",
            "--llm-local-model",
        ])
        .arg(&model)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("narrative: "))
        .unwrap_or_else(|| panic!("no narrative summary line:\n{stderr}"));
    println!("{summary}");
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    // Every paragraph in the report passes the check against the run's figures.
    let data = adroit_report::load(&run).unwrap();
    let facts = adroit_report::narrative::facts(&data);
    assert!(facts.len() > 20, "{facts:?}");
    if let Some(i) = html.find("<div class=\"narrative\">") {
        let block = &html[i..i + html[i..].find("</div>").unwrap()];
        for p in block.split("<p>").skip(1) {
            let text = p.split("</p>").next().unwrap();
            if text.contains("language model") || text.contains("语言模型") {
                continue; // the note under the narrative
            }
            let checked = adroit_report::narrative::check(text, &facts, false);
            assert!(checked.iter().all(|c| c.kept), "{checked:?}");
        }
    } else {
        // Nothing kept: every paragraph was reported as dropped, with its reason.
        assert!(summary.starts_with("narrative: 0 of"), "{summary}");
        assert!(stderr.contains("narrative paragraph dropped ("), "{stderr}");
    }
}
