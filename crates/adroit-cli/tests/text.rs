//! `adroit text`: analyze, train, topics and trends end to end on small files in both
//! languages, and the errors a user sees for bad input.

use std::path::Path;
use std::process::{Command, Output};

fn adroit(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run adroit")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const REVIEWS: &str = "id,date,channel,review\n\
r1,2024-03-04,app,\"物流很快，包装很好，非常满意\"\n\
r2,2024-03-05,app,\"快递太慢了，等了一个星期，客服态度也很差\"\n\
r3,2024-03-12,web,\"The delivery was fast and the quality is great, love it\"\n\
r4,2024-03-13,web,\"Terrible quality, it broke after two days. Paid $45 for this!\"\n\
r5,2024-03-14,web,\"价格便宜，但是质量很差\"\n";

#[test]
fn analyze_writes_one_json_line_per_text_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reviews.csv"), REVIEWS).unwrap();
    let out = adroit(
        &[
            "text",
            "analyze",
            "--texts",
            "reviews.csv",
            "--text-col",
            "review",
            "--id-col",
            "id",
            "--time-col",
            "date",
            "--tokens",
            "--out",
            "analysis.jsonl",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join("analysis.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let by_id = |id: &str| lines.iter().find(|l| l["id"] == id).unwrap();
    assert_eq!(by_id("r1")["lang"], "zh");
    assert_eq!(by_id("r3")["lang"], "en");
    assert_eq!(by_id("r1")["time"], "2024-03-04");
    assert_eq!(by_id("r1")["sentiment"]["label"], "positive");
    assert_eq!(by_id("r2")["sentiment"]["label"], "negative");
    assert_eq!(by_id("r3")["sentiment"]["label"], "positive");
    assert_eq!(by_id("r4")["sentiment"]["label"], "negative");
    // Aspects with their own sentiment: r2's delivery is bad; r5's quality is bad.
    let aspect = |id: &str, name: &str| {
        by_id(id)["aspects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["aspect"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{id} has no {name}: {}", by_id(id)))
    };
    assert!(
        aspect("r2", "delivery")["sentiment"]["score"]
            .as_f64()
            .unwrap()
            < 0.0
    );
    assert!(
        aspect("r5", "quality")["sentiment"]["score"]
            .as_f64()
            .unwrap()
            < 0.0
    );
    assert!(
        aspect("r3", "quality")["sentiment"]["score"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // Money is an entity with its value; tokens on request; each field signed.
    let money = by_id("r4")["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "money")
        .cloned()
        .unwrap();
    assert_eq!(money["value"], 45.0);
    assert!(by_id("r1")["tokens"].as_array().unwrap().len() > 3);
    assert_eq!(by_id("r1")["backends"]["sentiment"], "builtin");
}

#[test]
fn trends_topics_and_train_run_and_bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reviews.csv"), REVIEWS).unwrap();
    let out = adroit(
        &[
            "text",
            "trends",
            "--texts",
            "reviews.csv",
            "--text-col",
            "review",
            "--time-col",
            "date",
            "--by",
            "channel",
            "--grain",
            "week",
            "--out",
            "trends.csv",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(dir.path().join("trends.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("date,channel,text_volume,text_sentiment"),
        "{header}"
    );
    assert!(
        header.contains("aspect_delivery_negative_share"),
        "{header}"
    );
    // app: week of 2024-03-04 (2 texts); web: week of 2024-03-11 (3 texts).
    assert!(csv.contains("2024-03-04,app,2,"), "{csv}");
    assert!(csv.contains("2024-03-11,web,3,"), "{csv}");

    // Without dates, trends say what to give.
    let out = adroit(
        &[
            "text",
            "trends",
            "--texts",
            "reviews.csv",
            "--text-col",
            "review",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--time-col"), "{}", stderr(&out));

    // A wrong column is named with the columns there are.
    let out = adroit(
        &[
            "text",
            "analyze",
            "--texts",
            "reviews.csv",
            "--text-col",
            "body",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no column `body`") && stderr(&out).contains("review"));

    // Topics: two themes, two topics.
    let mut many = String::from("text\n");
    for i in 0..30 {
        many.push_str(&format!("battery charge lasts hours battery life {i}\n"));
        many.push_str(&format!("screen display bright colors screen {i}\n"));
    }
    std::fs::write(dir.path().join("many.csv"), many).unwrap();
    let out = adroit(
        &[
            "text",
            "topics",
            "--texts",
            "many.csv",
            "--k",
            "2",
            "--out",
            "topics.json",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let topics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("topics.json")).unwrap())
            .unwrap();
    let first_terms: Vec<String> = topics["topics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["terms"][0][0].as_str().unwrap().to_string())
        .collect();
    assert!(
        first_terms.contains(&"battery".to_string()) && first_terms.contains(&"screen".to_string()),
        "{first_terms:?}"
    );

    // Train: a bad label is an error naming the row; a good file writes a model that
    // analyze then uses.
    std::fs::write(
        dir.path().join("labels.csv"),
        "text,label\ngreat,1\nawful,0\nmaybe,unsure\n",
    )
    .unwrap();
    let out = adroit(
        &[
            "text",
            "train",
            "--texts",
            "labels.csv",
            "--lang",
            "en",
            "--out",
            "m.tsv",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("row 3") && stderr(&out).contains("unsure"),
        "{}",
        stderr(&out)
    );
    let mut labelled = String::from("text,label\n");
    for i in 0..5 {
        labelled.push_str(&format!(
            "{i} splendid gadget,1\n{i} splendid service,1\n{i} dreadful gadget,0\n{i} dreadful service,0\n"
        ));
    }
    std::fs::write(dir.path().join("labels.csv"), labelled).unwrap();
    let out = adroit(
        &[
            "text",
            "train",
            "--texts",
            "labels.csv",
            "--lang",
            "en",
            "--cv",
            "2",
            "--out",
            "m.tsv",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cross-validated accuracy"));
    let model = std::fs::read_to_string(dir.path().join("m.tsv")).unwrap();
    assert!(model.starts_with("# adroit-sentiment-model v1") && model.contains("splendid"));
}

#[test]
fn embed_writes_vectors_and_names_a_missing_model() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reviews.csv"), REVIEWS).unwrap();
    let out = adroit(
        &[
            "text",
            "embed",
            "--texts",
            "reviews.csv",
            "--text-col",
            "review",
            "--id-col",
            "id",
            "--keep",
            "channel",
            "--out",
            "embedded.csv",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(dir.path().join("embedded.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..3], ["id", "channel", "e0"]);
    assert_eq!(header.len(), 2 + 384);
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&first[..2], ["r1", "app"]);
    let norm: f64 = first[2..]
        .iter()
        .map(|v| v.parse::<f64>().unwrap().powi(2))
        .sum();
    assert!(
        (norm - 1.0).abs() < 1e-4,
        "MiniLM's vectors are unit length: {norm}"
    );

    let out = adroit(
        &[
            "text",
            "embed",
            "--texts",
            "reviews.csv",
            "--text-col",
            "review",
            "--model",
            "nowhere",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nowhere") && stderr(&out).contains("not a folder"),
        "{}",
        stderr(&out)
    );
}

/// Back ends per field from the config and from flags: encoder sentiment (zero-shot
/// with the installed MiniLM), an encoder head trained by `text train --backend
/// encoder`, embedding topics, the local LLM for sentiment (SmolLM2 served in-process),
/// and the errors for impossible choices.
#[test]
fn back_ends_are_chosen_per_field_in_config_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reviews.csv"), REVIEWS).unwrap();
    std::fs::write(
        dir.path().join("adroit.toml"),
        "[texts]\npath = \"reviews.csv\"\nid = \"id\"\ntimestamp = \"date\"\ntext = \"review\"\n\
         [text.backends]\nsentiment = \"encoder\"\n",
    )
    .unwrap();
    let out = adroit(
        &[
            "text",
            "analyze",
            "--config",
            "adroit.toml",
            "--out",
            "a.jsonl",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("a.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for l in &lines {
        assert_eq!(l["backends"]["sentiment"], "encoder", "{l}");
        assert_eq!(l["backends"]["aspects"], "builtin", "{l}");
    }
    let label =
        |id: &str| lines.iter().find(|l| l["id"] == id).unwrap()["sentiment"]["label"].clone();
    assert_eq!(label("r3"), "positive");
    assert_eq!(label("r4"), "negative");

    // A head trained on labelled texts, then used through the flag.
    let mut labelled = String::from("text,label\n");
    for (t, y) in [
        ("great product, works perfectly", 1),
        ("love it, excellent quality", 1),
        ("fast delivery, very happy", 1),
        ("terrible, broke after a day", 0),
        ("awful quality, waste of money", 0),
        ("slow delivery and rude support", 0),
    ] {
        labelled.push_str(&format!("\"{t}\",{y}\n"));
    }
    std::fs::write(dir.path().join("labelled.csv"), labelled).unwrap();
    let out = adroit(
        &[
            "text",
            "train",
            "--backend",
            "encoder",
            "--texts",
            "labelled.csv",
            "--cv",
            "3",
            "--out",
            "head.json",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("384 dimensions"));
    let out = adroit(
        &[
            "text",
            "analyze",
            "--config",
            "adroit.toml",
            "--encoder-head",
            "head.json",
            "--out",
            "b.jsonl",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // Embedding topics.
    let out = adroit(
        &[
            "text",
            "topics",
            "--config",
            "adroit.toml",
            "--k",
            "2",
            "--method",
            "encoder",
            "--min-df",
            "1",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // Near-duplicates: a repost of r3 with different case and punctuation is grouped.
    let mut reposted = REVIEWS.to_string();
    reposted.push_str(
        "r6,2024-03-15,web,\"the delivery was fast and the quality is great, love it!\"\n",
    );
    std::fs::write(dir.path().join("reposted.csv"), reposted).unwrap();
    let out = adroit(
        &[
            "text",
            "duplicates",
            "--texts",
            "reposted.csv",
            "--text-col",
            "review",
            "--id-col",
            "id",
            "--out",
            "dups.json",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let dups: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("dups.json")).unwrap())
            .unwrap();
    let groups = dups["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{dups}");
    let ids: Vec<&str> = groups[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["r3", "r6"]);

    // The local LLM for sentiment: every text is answered by it or says why not.
    let out = adroit(
        &[
            "text",
            "analyze",
            "--config",
            "adroit.toml",
            "--backend",
            "sentiment=llm",
            "--out",
            "c.jsonl",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("LLM"), "{}", stderr(&out));
    for l in std::fs::read_to_string(dir.path().join("c.jsonl"))
        .unwrap()
        .lines()
    {
        let l: serde_json::Value = serde_json::from_str(l).unwrap();
        let by_llm = l["backends"]["sentiment"] == "llm";
        let failed = l["errors"]["sentiment"]
            .as_str()
            .is_some_and(|e| e.starts_with("llm: "));
        assert!(by_llm != failed, "{l}");
    }

    // Impossible choices are named.
    let out = adroit(
        &[
            "text",
            "analyze",
            "--config",
            "adroit.toml",
            "--backend",
            "aspects=encoder",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("sentiment and topics only"),
        "{}",
        stderr(&out)
    );
    let out = adroit(
        &[
            "text",
            "analyze",
            "--config",
            "adroit.toml",
            "--backend",
            "sentiment=gpt",
        ],
        dir.path(),
    );
    assert!(
        stderr(&out).contains("unknown back end `gpt`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn textrank_keywords_are_chosen_by_flag_and_a_bad_method_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reviews.csv"), REVIEWS).unwrap();
    let run = |method: &str| {
        adroit(
            &[
                "text",
                "analyze",
                "--texts",
                "reviews.csv",
                "--text-col",
                "review",
                "--id-col",
                "id",
                "--keyword-method",
                method,
            ],
            dir.path(),
        )
    };
    let out = run("textrank");
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let r2 = lines.iter().find(|l| l["id"] == "r2").unwrap();
    let terms: Vec<&str> = r2["keywords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["term"].as_str().unwrap())
        .collect();
    // Nouns and verbs of the text; the adverbs 太 and 也 never qualify.
    assert!(
        terms.contains(&"快递") && terms.contains(&"客服"),
        "{terms:?}"
    );
    assert!(!terms.iter().any(|t| ["太", "也", "了"].contains(t)));
    assert_eq!(r2["keywords"][0]["weight"], 1.0);
    let bad = run("lda");
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("use \"tfidf\" or \"textrank\""),
        "{}",
        stderr(&bad)
    );
}
