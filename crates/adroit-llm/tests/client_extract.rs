//! Structured extraction against a real server (`adroit_llm::serve` over SmolLM2-135M)
//! behind the fault-injecting proxy: the repair request, per-document errors, input
//! order under concurrency, the answer cache and PII masking. The proxy rewrites answers
//! where a test needs a known reply; a 135M model is only checked for protocol and
//! coarse behaviour.

#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/smollm_server.rs"]
mod smollm_server;

use std::time::Duration;

use adroit_llm::cache::{Cache, CacheKey};
use adroit_llm::client::mask_pii;
use adroit_llm::{Client, ClientConfig, DocError, Task};
use fault_proxy::{Fault, FaultProxy};
use serde_json::{Value, json};

fn proxy() -> FaultProxy {
    FaultProxy::start(smollm_server::server().addr)
}

fn config(proxy: &FaultProxy) -> ClientConfig {
    ClientConfig {
        api_key_env: None,
        max_retries: 1,
        backoff_base: Duration::from_millis(20),
        concurrency: 2,
        // Generous: timeouts are tested in client_chat; here a slow shared machine
        // must not turn into retries that consume the proxy's queued faults.
        timeout: Duration::from_secs(600),
        ..ClientConfig::new(proxy.base_url(), "smollm2-135m")
    }
}

fn review_task() -> Task {
    let mut task = Task::new(
        "review_sentiment",
        "v1",
        "You read one customer review and classify its sentiment.",
        "Review:\n{text}",
        &json!({
            "type": "object",
            "required": ["sentiment", "rating"],
            "properties": {
                "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]},
                "rating": {"type": "integer", "minimum": 1, "maximum": 5}
            }
        }),
    )
    .unwrap();
    // The proxy replaces the model's answers in these tests; a few tokens suffice.
    task.max_tokens = 8;
    task
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn body(seen: &fault_proxy::Seen) -> Value {
    serde_json::from_str(&seen.body).unwrap()
}

#[test]
fn an_invalid_answer_gets_one_repair_request_quoting_the_problem() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    proxy.push([
        Fault::Content("Sure! Here it is: {\"sentiment\": \"great\", \"rating\": 9}".into()),
        Fault::Content("```json\n{\"sentiment\": \"positive\", \"rating\": 5}\n```".into()),
    ]);
    let client = Client::new(config(&proxy)).unwrap();
    let results = client.extract(&review_task(), &texts(&["Fast delivery, great phone."]));
    assert_eq!(
        results[0].as_ref().unwrap(),
        &json!({"sentiment": "positive", "rating": 5})
    );
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "one request and one repair");
    let first = body(&seen[0]);
    assert_eq!(first["response_format"]["type"], "json_object");
    assert!(
        first["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("\"enum\":[\"positive\",\"negative\",\"neutral\"]"),
        "the schema is in the system prompt"
    );
    let repair = body(&seen[1]);
    let messages = repair["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[2]["role"], "assistant");
    assert!(
        messages[2]["content"]
            .as_str()
            .unwrap()
            .contains("\"great\"")
    );
    let ask = messages[3]["content"].as_str().unwrap();
    assert!(
        ask.contains("$.sentiment: \"great\" is not one of")
            && ask.contains("$.rating: 9 is greater than the maximum 5"),
        "{ask}"
    );
    let snap = client.ledger().snapshot();
    assert_eq!(
        (snap.requests, snap.repairs, snap.failed_documents),
        (2, 1, 0)
    );
    assert!(snap.prompt_tokens > 0 && snap.completion_tokens > 0);
}

#[test]
fn failures_are_per_document_and_results_keep_the_input_order() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    let valid =
        |s: &str, r: u8| Fault::Content(format!("{{\"sentiment\": \"{s}\", \"rating\": {r}}}"));
    proxy.push([
        valid("positive", 5),
        Fault::Content("I think it is negative.".into()),
        Fault::Content("Still no JSON, sorry.".into()),
        Fault::Status {
            status: 400,
            retry_after: None,
            message: "context length exceeded".into(),
        },
        valid("negative", 1),
    ]);
    // One at a time so that the queued faults meet the documents in order.
    let client = Client::new(ClientConfig {
        concurrency: 1,
        ..config(&proxy)
    })
    .unwrap();
    let results = client.extract(
        &review_task(),
        &texts(&["Love it", "Meh", "Very long text", "Broke after a day"]),
    );
    assert_eq!(results.len(), 4);
    assert_eq!(
        results[0].as_ref().unwrap(),
        &json!({"sentiment": "positive", "rating": 5})
    );
    match &results[1] {
        Err(
            e @ DocError::Invalid {
                index: 1,
                problem,
                reply,
            },
        ) => {
            assert_eq!(problem, "the reply contains no complete JSON object");
            assert_eq!(reply, "Still no JSON, sorry.");
            let text = e.to_string();
            assert!(
                text.starts_with(
                    "document 1: the reply contains no complete JSON object \
                                  (also after one repair request)"
                ),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    match &results[2] {
        Err(e @ DocError::Request { index: 2, .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("document 2: no answer: HTTP 400: context length exceeded"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        results[3].as_ref().unwrap(),
        &json!({"sentiment": "negative", "rating": 1})
    );
    let snap = client.ledger().snapshot();
    assert_eq!(
        (snap.requests, snap.repairs, snap.failed_documents),
        (5, 1, 2)
    );
    assert!(client.ledger().to_string().contains("2 documents failed"));
}

#[test]
fn a_second_run_is_served_from_the_cache() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    let dir = tempfile::tempdir().unwrap();
    let docs = texts(&[
        "Great value, arrived in two days.",
        "屏幕很清楚，物流也快。",
        "The battery died after a week.",
    ]);
    let answer = "{\"sentiment\": \"neutral\", \"rating\": 3}";
    proxy.push(docs.iter().map(|_| Fault::Content(answer.into())));
    let cached = || ClientConfig {
        cache_dir: Some(dir.path().to_owned()),
        price_per_1k_prompt: Some(0.5),
        price_per_1k_completion: Some(1.5),
        ..config(&proxy)
    };
    let task = review_task();
    let first = Client::new(cached()).unwrap();
    let run1: Vec<Value> = first
        .extract(&task, &docs)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(proxy.requests(), docs.len());
    let cost1 = first.ledger().snapshot().cost.unwrap();
    assert!(cost1 > 0.0);

    let second = Client::new(cached()).unwrap();
    let run2: Vec<Value> = second
        .extract(&task, &docs)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(run1, run2);
    assert_eq!(
        proxy.requests(),
        docs.len(),
        "no request reached the server"
    );
    let snap = second.ledger().snapshot();
    assert_eq!((snap.requests, snap.cache_hits), (0, docs.len() as u64));
    assert_eq!(snap.cost, Some(0.0));
    let line = second.ledger().to_string();
    assert!(
        line.starts_with("LLM: 0 requests (0 retries, 0 repairs), 3 cache hits"),
        "{line}"
    );

    // A corrupt entry is a miss: asked again, rewritten, then a hit.
    let cache = Cache::new(dir.path());
    let key = CacheKey::new(
        "smollm2-135m",
        &task.name,
        &task.prompt_version,
        task.schema().source(),
        &mask_pii(&docs[1]),
    );
    std::fs::write(cache.path(&key), b"{\"format\": \"adroit-llm-ca").unwrap();
    proxy.push([Fault::Content(answer.into())]);
    let third = Client::new(cached()).unwrap();
    let run3: Vec<Value> = third
        .extract(&task, &docs)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(run3, run1);
    assert_eq!(proxy.requests(), docs.len() + 1);
    assert_eq!(third.ledger().snapshot().cache_hits, 2);
    assert!(matches!(cache.get(&key), adroit_llm::cache::Lookup::Hit(_)));

    // A new prompt version misses every entry.
    let mut v2 = review_task();
    v2.prompt_version = "v2".into();
    proxy.push(docs.iter().map(|_| Fault::Content(answer.into())));
    let fourth = Client::new(cached()).unwrap();
    assert!(fourth.extract(&v2, &docs).iter().all(Result::is_ok));
    assert_eq!(fourth.ledger().snapshot().cache_hits, 0);
    assert_eq!(proxy.requests(), 2 * docs.len() + 1);
}

#[test]
fn personal_data_never_leaves_the_machine() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    proxy.push([Fault::Content(
        "{\"sentiment\": \"negative\", \"rating\": 1}".into(),
    )]);
    let client = Client::new(config(&proxy)).unwrap();
    let doc = "快递员态度差，我的电话13812345678，邮箱 wang.fang@example.com，请联系我。";
    let results = client.extract(&review_task(), &texts(&[doc]));
    assert!(results[0].is_ok());
    let sent = &proxy.seen()[0].body;
    assert!(!sent.contains("13812345678") && !sent.contains("wang.fang@example.com"));
    assert!(
        sent.contains("[PHONE]") && sent.contains("[EMAIL]"),
        "{sent}"
    );
}

#[test]
fn concurrency_is_bounded() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    let docs: Vec<String> = (0..4).map(|i| format!("Review number {i}: ok.")).collect();
    proxy.push(
        docs.iter()
            .map(|_| Fault::Content("{\"sentiment\": \"neutral\", \"rating\": 3}".into())),
    );
    let client = Client::new(config(&proxy)).unwrap();
    let results = client.extract(&review_task(), &docs);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(proxy.requests(), 4);
    // The server answers one request at a time, so two workers are both in flight.
    assert_eq!(proxy.max_in_flight(), 2);
}

#[test]
fn the_real_model_answers_through_the_whole_path() {
    let _model = smollm_server::exclusive();
    // No rewriting: the 135M model's own replies. Its JSON is unreliable, so only the
    // protocol is checked: every document ends in a schema-valid object or a clear
    // per-document error, after one or two requests each, and never a panic.
    let proxy = proxy();
    let client = Client::new(config(&proxy)).unwrap();
    let mut task = Task::new(
        "summary",
        "v1",
        "Describe the review as JSON with a key \"topic\" whose value is a short string.",
        "Review: {text}",
        &json!({"type": "object"}),
    )
    .unwrap();
    task.max_tokens = 32;
    let docs = texts(&["The phone is great.", "Delivery was slow."]);
    let results = client.extract(&task, &docs);
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(value) => assert!(value.is_object()),
            Err(DocError::Invalid { index, .. }) => assert_eq!(*index, i),
            Err(other) => panic!("a protocol failure: {other}"),
        }
    }
    let snap = client.ledger().snapshot();
    assert!((2..=4).contains(&snap.requests), "{snap:?}");
    assert_eq!(snap.requests, 2 + snap.repairs);
    assert!(snap.prompt_tokens > 20);
}

#[test]
fn topics_are_named_and_a_bad_name_is_a_per_topic_error() {
    use adroit_llm::backend::{LlmBackend, TopicBrief};
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    proxy.push([
        Fault::Content("{\"name\": \"Battery life\"}".into()),
        // The second topic: an empty name, and again after the repair request.
        Fault::Content("{\"name\": \"\"}".into()),
        Fault::Content("{\"name\": \"\"}".into()),
    ]);
    let client = Client::new(ClientConfig {
        // One at a time, so the proxy's answers meet the topics in order.
        concurrency: 1,
        ..config(&proxy)
    })
    .unwrap();
    let backend = LlmBackend::with_client(client);
    let briefs = [
        TopicBrief {
            terms: vec!["battery".into(), "charge".into(), "hours".into()],
            quotes: vec!["Battery dies after two hours.".into()],
        },
        TopicBrief {
            terms: vec!["物流".into(), "快递".into()],
            quotes: vec!["物流太慢了，一个星期才到。".into()],
        },
    ];
    let names = backend.name_topics(&briefs);
    assert_eq!(names[0].as_deref(), Ok("Battery life"));
    assert!(names[1].is_err(), "{names:?}");
    let seen = proxy.seen();
    let first = body(&seen[0]);
    let user = first["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("Top terms: battery, charge, hours")
            && user.contains("- Battery dies after two hours."),
        "{user}"
    );
    let second = body(&seen[1]);
    assert!(
        second["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("物流, 快递")
    );
}
