//! The chat client against a real server (`adroit_llm::serve` over SmolLM2-135M) behind a
//! fault-injecting proxy: protocol, retries, timeouts and broken replies.

#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/smollm_server.rs"]
mod smollm_server;

use std::time::{Duration, Instant};

use adroit_llm::protocol::{ChatMessage, ChatRequest};
use adroit_llm::{Client, ClientConfig, LlmError};
use fault_proxy::{Fault, FaultProxy};

const KEY: &str = "sk-test-do-not-print-4242";

fn proxy() -> FaultProxy {
    FaultProxy::start(smollm_server::server().addr)
}

/// Fast retries, short timeouts, a key, no environment.
fn config(proxy: &FaultProxy) -> ClientConfig {
    ClientConfig {
        api_key: Some(KEY.into()),
        api_key_env: None,
        max_retries: 2,
        backoff_base: Duration::from_millis(20),
        max_backoff: Duration::from_secs(2),
        timeout: Duration::from_secs(60),
        ..ClientConfig::new(proxy.base_url(), "smollm2-135m")
    }
}

fn hello(max_tokens: u32) -> ChatRequest {
    ChatRequest {
        model: String::new(),
        messages: vec![
            ChatMessage::system("You are a helpful assistant."),
            ChatMessage::user("Say hello in one word."),
        ],
        temperature: Some(0.0),
        top_p: None,
        max_tokens: Some(max_tokens),
        seed: Some(7),
        stop: None,
        stream: false,
        response_format: None,
    }
}

fn no_key(error: &LlmError) -> String {
    let text = error.to_string();
    assert!(!text.contains(KEY), "the key leaked into {text}");
    assert!(
        !format!("{error:?}").contains(KEY),
        "the key leaked into {error:?}"
    );
    text
}

#[test]
fn a_plain_chat_passes_the_protocol_with_auth_and_token_counts() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    let client = Client::new(config(&proxy)).unwrap();
    let (response, usage) = client.chat(&hello(8)).unwrap();
    assert_eq!(response.choices.len(), 1);
    assert_eq!(response.choices[0].message.role, "assistant");
    assert!(!response.choices[0].message.content.trim().is_empty());
    assert!(matches!(
        response.choices[0].finish_reason.as_deref(),
        Some("stop" | "length")
    ));
    assert!(usage.prompt_tokens > 5, "{usage:?}");
    assert!((1..=8).contains(&usage.completion_tokens), "{usage:?}");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(
        body["model"], "smollm2-135m",
        "the configured model fills an empty name"
    );
    let snap = client.ledger().snapshot();
    assert_eq!((snap.requests, snap.retries), (1, 0));
    assert_eq!(snap.prompt_tokens, usage.prompt_tokens);
    assert_eq!(snap.completion_tokens, usage.completion_tokens);
    // Without a key no Authorization header is sent (local servers).
    let open = Client::new(ClientConfig {
        api_key: None,
        ..config(&proxy)
    })
    .unwrap();
    open.chat(&hello(2)).unwrap();
    assert_eq!(proxy.seen()[1].header("authorization"), None);
}

#[test]
fn a_stream_is_assembled_from_its_chunks() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    let client = Client::new(config(&proxy)).unwrap();
    let mut pieces = Vec::new();
    let (response, usage) = client
        .chat_stream(&hello(12), &mut |piece| pieces.push(piece.to_owned()))
        .unwrap();
    assert!(!pieces.is_empty());
    assert_eq!(pieces.concat(), response.choices[0].message.content);
    assert!(response.choices[0].finish_reason.is_some());
    assert!(
        usage.prompt_tokens > 5 && usage.completion_tokens >= 1,
        "{usage:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&proxy.seen()[0].body).unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    // The same request without streaming gives the same text (greedy decoding).
    let (plain, _) = client.chat(&hello(12)).unwrap();
    assert_eq!(
        plain.choices[0].message.content,
        response.choices[0].message.content
    );
    // `chat` reads a request marked `stream: true` as a stream.
    let (via_chat, _) = client
        .chat(&ChatRequest {
            stream: true,
            ..hello(12)
        })
        .unwrap();
    assert_eq!(
        via_chat.choices[0].message.content,
        plain.choices[0].message.content
    );
}

#[test]
fn a_rate_limit_is_waited_out_as_the_server_asks() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    proxy.push([Fault::Status {
        status: 429,
        retry_after: Some("1".into()),
        message: "Rate limit reached, slow down".into(),
    }]);
    let client = Client::new(config(&proxy)).unwrap();
    let start = Instant::now();
    client.chat(&hello(2)).unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After ignored: {:?}",
        start.elapsed()
    );
    assert_eq!((proxy.requests(), proxy.forwarded()), (2, 1));
    let snap = client.ledger().snapshot();
    assert_eq!((snap.requests, snap.retries), (2, 1));
}

#[test]
fn server_errors_are_retried_then_given_up_with_a_clear_error() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    let boom = Fault::Status {
        status: 500,
        retry_after: None,
        message: "upstream exploded".into(),
    };
    // Two failures, then success: max_retries 2 is enough.
    proxy.push([boom.clone(), boom.clone()]);
    let client = Client::new(config(&proxy)).unwrap();
    client.chat(&hello(2)).unwrap();
    assert_eq!((proxy.requests(), proxy.forwarded()), (3, 1));
    assert_eq!(client.ledger().snapshot().retries, 2);

    // Three failures exhaust 1 try + 2 retries.
    proxy.push([boom.clone(), boom.clone(), boom, Fault::Pass]);
    let err = client.chat(&hello(2)).unwrap_err();
    let text = no_key(&err);
    assert!(matches!(err, LlmError::Http { status: 500, .. }), "{err:?}");
    for part in [
        "HTTP 500",
        "upstream exploded",
        &format!("POST {}/chat/completions", proxy.base_url()),
        "gave up after 3 attempts",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }
    assert_eq!(proxy.requests(), 6);
    assert_eq!(proxy.forwarded(), 1, "the queued Pass was not reached");
}

#[test]
fn client_errors_are_not_retried() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    proxy.push([Fault::Status {
        status: 401,
        retry_after: None,
        message: "Incorrect API key provided".into(),
    }]);
    let client = Client::new(config(&proxy)).unwrap();
    let err = client.chat(&hello(2)).unwrap_err();
    let text = no_key(&err);
    assert!(
        text.contains("HTTP 401") && text.contains("Incorrect API key"),
        "{text}"
    );
    assert_eq!(proxy.requests(), 1);
}

#[test]
fn a_hanging_server_times_out_and_a_dropped_connection_is_retried() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    proxy.push([
        Fault::Hang(Duration::from_secs(30)),
        Fault::Hang(Duration::from_secs(30)),
    ]);
    let client = Client::new(ClientConfig {
        timeout: Duration::from_secs(1),
        max_retries: 1,
        ..config(&proxy)
    })
    .unwrap();
    let start = Instant::now();
    let err = client.chat(&hello(2)).unwrap_err();
    let elapsed = start.elapsed();
    let text = no_key(&err);
    assert!(matches!(err, LlmError::Timeout(_)), "{err:?}");
    assert!(
        text.contains("no answer within 1.0 s") && text.contains("gave up after 2 attempts"),
        "{text}"
    );
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );

    // A connection closed without an answer is a network failure worth a retry.
    proxy.push([Fault::Drop]);
    let client = Client::new(config(&proxy)).unwrap();
    client.chat(&hello(2)).unwrap();
    assert_eq!(client.ledger().snapshot().retries, 1);
}

#[test]
fn malformed_replies_are_reported_not_retried() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    proxy.push([Fault::Body("{\"id\": \"x\", \"choices\": [oops".into())]);
    let client = Client::new(config(&proxy)).unwrap();
    let err = client.chat(&hello(2)).unwrap_err();
    let text = no_key(&err);
    assert!(matches!(err, LlmError::Protocol(_)), "{err:?}");
    assert!(
        text.contains("malformed reply from http://") && text.contains("choices\": [oops"),
        "{text}"
    );
    assert_eq!(proxy.requests(), 1);

    proxy.push([Fault::Body(
        "{\"id\": \"x\", \"model\": \"m\", \"choices\": []}".into(),
    )]);
    let err = client.chat(&hello(2)).unwrap_err().to_string();
    assert!(err.contains("has no choices"), "{err}");
}

#[test]
fn broken_streams_are_reported() {
    let _model = smollm_server::exclusive();
    let proxy = proxy();
    let client = Client::new(ClientConfig {
        stream_idle_timeout: Duration::from_secs(1),
        ..config(&proxy)
    })
    .unwrap();

    proxy.push([Fault::StreamStall {
        after: 2,
        pause: Duration::from_secs(30),
    }]);
    let mut shown = String::new();
    let start = Instant::now();
    let err = client
        .chat_stream(&hello(12), &mut |p| shown.push_str(p))
        .unwrap_err();
    let text = no_key(&err);
    assert!(matches!(err, LlmError::Timeout(_)), "{err:?}");
    assert!(
        text.contains("stalled: no data for 1.0 s after 2 chunks"),
        "{text}"
    );
    assert!(start.elapsed() < Duration::from_secs(15));
    assert_eq!(proxy.requests(), 1, "a started stream is not retried");

    proxy.push([Fault::StreamTruncate { after: 2 }]);
    let err = client.chat_stream(&hello(12), &mut |_| {}).unwrap_err();
    let text = no_key(&err);
    assert!(
        text.contains("ended after 2 chunks without `data: [DONE]` (truncated)"),
        "{text}"
    );

    proxy.push([Fault::StreamMalformed { at: 1 }]);
    let err = client.chat_stream(&hello(12), &mut |_| {}).unwrap_err();
    let text = no_key(&err);
    assert!(matches!(err, LlmError::Protocol(_)), "{err:?}");
    assert!(
        text.contains("malformed chunk 2 in stream from http://") && text.contains("[tru"),
        "{text}"
    );
    assert_eq!(proxy.requests(), 3);

    // A 5xx before the stream starts is retried like any other request.
    proxy.push([Fault::Status {
        status: 503,
        retry_after: Some("0".into()),
        message: "overloaded".into(),
    }]);
    // (Default stream silence: the live stream may wait for the shared model.)
    let patient = Client::new(config(&proxy)).unwrap();
    let (response, _) = patient.chat_stream(&hello(4), &mut |_| {}).unwrap();
    assert!(!response.choices[0].message.content.is_empty());
    assert_eq!(proxy.requests(), 5);
}

#[test]
fn an_unreachable_server_is_a_network_error_naming_the_url() {
    let _model = smollm_server::exclusive();
    // A port nobody listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(ClientConfig {
        api_key: Some(KEY.into()),
        api_key_env: None,
        max_retries: 1,
        backoff_base: Duration::from_millis(10),
        ..ClientConfig::new(format!("http://127.0.0.1:{port}/v1"), "m")
    })
    .unwrap();
    let err = client.chat(&hello(2)).unwrap_err();
    let text = no_key(&err);
    assert!(matches!(err, LlmError::Network(_)), "{err:?}");
    assert!(
        text.contains(&format!("POST http://127.0.0.1:{port}/v1/chat/completions"))
            && text.contains("gave up after 2 attempts"),
        "{text}"
    );
}
