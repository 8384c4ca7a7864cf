//! `adroit llm`: chat with and serve a local GGUF model (SmolLM2-135M-Instruct, installed
//! by .ci/run into `$ADROIT_MODELS/smollm2-135m-instruct/`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

fn model_path() -> PathBuf {
    let dir = match std::env::var_os("ADROIT_MODELS") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".cache")
            .join("adroit-models"),
    };
    let p = dir
        .join("smollm2-135m-instruct")
        .join("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        p.is_file(),
        "{} is missing: run .ci/run once (it installs SmolLM2-135M-Instruct), or set ADROIT_MODELS",
        p.display()
    );
    p
}

#[test]
fn chat_prints_the_answer_and_serve_prints_its_address() {
    let model = model_path();
    let out = Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(["llm", "chat", "--model"])
        .arg(&model)
        .args(["--max-tokens", "6", "Say hello."])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
    assert!(stderr.contains("tokens/s"), "{stderr}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(["llm", "serve", "--bind", "127.0.0.1:0", "--model"])
        .arg(&model)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");
}

#[test]
fn a_missing_model_file_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_adroit"))
        .args(["llm", "chat", "--model", "no/such/model.gguf", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no/such/model.gguf"), "{stderr}");
}
