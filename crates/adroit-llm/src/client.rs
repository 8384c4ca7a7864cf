//! The OpenAI-compatible chat client: any `/chat/completions` endpoint (OpenAI, DeepSeek,
//! Qwen/DashScope, Ollama, vLLM, llama.cpp's server, [`crate::serve`]).
//!
//! - Settings come from [`ClientConfig`] or the environment ([`ClientConfig::from_env`]).
//! - [`Client::chat`] sends one request: retries with exponential backoff and jitter on 429,
//!   5xx, timeouts and broken connections (honouring `Retry-After`, and pausing every
//!   worker of the client while a server asks to), a timeout per request, errors that name
//!   the status, the server's message and the URL, never the key.
//! - [`Client::chat_stream`] reads a streamed answer (server-sent events up to
//!   `data: [DONE]`), handing each piece of text to a callback; malformed chunks, stalled
//!   streams (no data for [`ClientConfig::stream_idle_timeout`]) and streams cut off before
//!   `[DONE]` are errors. Failures after the stream has started are not retried: the
//!   callback has already seen part of the answer.
//! - Personal data in user messages is masked before it leaves the machine, on by default
//!   ([`ClientConfig::masker`]).
//! - Structured extraction over many documents is [`Client::extract`] (in
//!   [`crate::extract`]); every request is counted in the client's [`Ledger`].

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::LlmError;
use crate::cache::Cache;
use crate::ledger::{Ledger, Prices};
use crate::protocol::{ChatChunk, ChatRequest, ChatResponse, Choice, ErrorBody, Usage};

/// Masks personal data in a text before it is sent.
pub type Masker = fn(&str) -> String;

/// The default masker: [`adroit_text::pii::mask`] (phones, e-mails, ID and bank card
/// numbers, IP addresses, names become `[PHONE]`, `[EMAIL]`…).
pub fn mask_pii(text: &str) -> String {
    adroit_text::pii::mask(text).text
}

/// Where the OpenAI API lives; the default base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Client settings. [`ClientConfig::new`] gives the defaults; fields are public to adjust.
#[derive(Clone)]
pub struct ClientConfig {
    /// The API root, e.g. `https://api.openai.com/v1`, `https://api.deepseek.com/v1`,
    /// `http://localhost:11434/v1` (Ollama); `/chat/completions` is appended unless the URL
    /// already ends with it.
    pub base_url: String,
    /// The model name sent with every request (and part of every cache key).
    pub model: String,
    /// The key, sent as `Authorization: Bearer …`. When `None` the variable named by
    /// `api_key_env` is read; with neither, no header is sent (local servers).
    pub api_key: Option<String>,
    /// The environment variable holding the key when `api_key` is `None`.
    pub api_key_env: Option<String>,
    /// The whole exchange of a non-streamed request; for a stream, the wait for its first
    /// bytes (response headers) and for any one read.
    pub timeout: Duration,
    /// The longest silence inside a started stream before it counts as stalled.
    pub stream_idle_timeout: Duration,
    /// Establishing a connection (TLS included).
    pub connect_timeout: Duration,
    /// Repeats of a request after a 429, a 5xx, a timeout or a broken connection.
    pub max_retries: u32,
    /// The first backoff; each retry doubles it, up to `max_backoff`, with jitter.
    pub backoff_base: Duration,
    /// The longest wait between attempts, `Retry-After` included.
    pub max_backoff: Duration,
    /// Requests in flight at once during extraction.
    pub concurrency: usize,
    /// Price per 1000 prompt tokens; with the completion price, costs are accounted.
    pub price_per_1k_prompt: Option<f64>,
    /// Price per 1000 completion tokens.
    pub price_per_1k_completion: Option<f64>,
    /// Extraction answers are cached here when set.
    pub cache_dir: Option<PathBuf>,
    /// Sampling temperature of extraction requests (0: as repeatable as the server allows).
    pub temperature: Option<f64>,
    /// Applied to every user message (and every document) before sending; `None` sends
    /// text as it is. Default: [`mask_pii`].
    pub masker: Option<Masker>,
}

impl fmt::Debug for ClientConfig {
    /// The key is never printed, only whether one is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("api_key_env", &self.api_key_env)
            .field("timeout", &self.timeout)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("max_backoff", &self.max_backoff)
            .field("concurrency", &self.concurrency)
            .field("price_per_1k_prompt", &self.price_per_1k_prompt)
            .field("price_per_1k_completion", &self.price_per_1k_completion)
            .field("cache_dir", &self.cache_dir)
            .field("temperature", &self.temperature)
            .field("masking", &self.masker.is_some())
            .finish()
    }
}

impl ClientConfig {
    /// Defaults: key from `OPENAI_API_KEY`, 120 s per request, 60 s stream silence, 10 s
    /// to connect, 3 retries from 0.5 s up to 30 s, 4 requests at once, temperature 0, no
    /// prices, no cache, PII masking on.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            api_key_env: Some("OPENAI_API_KEY".into()),
            timeout: Duration::from_secs(120),
            stream_idle_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            backoff_base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            concurrency: 4,
            price_per_1k_prompt: None,
            price_per_1k_completion: None,
            cache_dir: None,
            temperature: Some(0.0),
            masker: Some(mask_pii),
        }
    }

    /// Settings from the environment: `ADROIT_LLM_BASE_URL` (default the OpenAI API),
    /// `ADROIT_LLM_MODEL` (required), the key from `ADROIT_LLM_API_KEY` or else
    /// `OPENAI_API_KEY`.
    pub fn from_env() -> Result<ClientConfig, LlmError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`ClientConfig::from_env`] over any variable lookup (tests, config files).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<ClientConfig, LlmError> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let model = set("ADROIT_LLM_MODEL").ok_or_else(|| {
            LlmError::Config(
                "no model: set ADROIT_LLM_MODEL (e.g. gpt-4o-mini, deepseek-chat, qwen-plus)"
                    .into(),
            )
        })?;
        let base_url = set("ADROIT_LLM_BASE_URL").unwrap_or_else(|| OPENAI_BASE_URL.into());
        let mut config = ClientConfig::new(base_url.trim(), model.trim());
        if let Some(key) = set("ADROIT_LLM_API_KEY") {
            config.api_key = Some(key.trim().to_owned());
        } else if let Some(key) = set("OPENAI_API_KEY") {
            config.api_key = Some(key.trim().to_owned());
        }
        Ok(config)
    }

    /// The chat-completions URL of `base_url`.
    pub fn endpoint(&self) -> String {
        let base = self.base_url.trim_end_matches('/');
        if base.ends_with("/chat/completions") {
            base.to_owned()
        } else {
            format!("{base}/chat/completions")
        }
    }

    fn prices(&self) -> Option<Prices> {
        match (self.price_per_1k_prompt, self.price_per_1k_completion) {
            (None, None) => None,
            (p, c) => Some(Prices {
                prompt_per_1k: p.unwrap_or(0.0),
                completion_per_1k: c.unwrap_or(0.0),
            }),
        }
    }
}

/// The wait before retry number `attempt + 1`: `base · 2^attempt`, capped at `max`, times a
/// jitter factor in [0.5, 1) from `unit` in [0, 1), so that workers rejected together do
/// not come back together.
pub fn backoff_delay(attempt: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let doubled = base.saturating_mul(2u32.saturating_pow(attempt.min(31)));
    doubled.min(max).mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

/// The wait a server asks for: `retry-after-ms` (OpenAI) or `Retry-After` in seconds.
/// (The HTTP-date form is not read; the backoff schedule applies then.)
pub fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let read = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    read("retry-after-ms")
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or_else(|| read("retry-after").map(Duration::from_secs_f64))
}

/// Statuses worth another try: request timeout, conflict, rate limit, server errors.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// One attempt's outcome when it failed.
pub(crate) enum Failure {
    /// Worth another try, after the server's wait if it gave one.
    Retry(LlmError, Option<Duration>),
    /// Final.
    Fatal(LlmError),
}

/// Appends a note (attempt count) to an error's message.
fn with_note(error: LlmError, note: &str) -> LlmError {
    match error {
        LlmError::Http { status, message } => LlmError::Http {
            status,
            message: format!("{message}; {note}"),
        },
        LlmError::Network(m) => LlmError::Network(format!("{m}; {note}")),
        LlmError::Timeout(m) => LlmError::Timeout(format!("{m}; {note}")),
        LlmError::Protocol(m) => LlmError::Protocol(format!("{m}; {note}")),
        other => other,
    }
}

/// At most `limit` characters of `text`, on one line.
pub(crate) fn excerpt(text: &str, limit: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() > limit {
        let cut: String = flat.chars().take(limit).collect();
        format!("{cut}…")
    } else {
        flat.to_owned()
    }
}

/// The server's own words from an error body: `error.message` of the OpenAI error JSON,
/// or the start of the body.
fn server_message(body: &str) -> String {
    if let Ok(parsed) = serde_json::from_str::<ErrorBody>(body) {
        return excerpt(&parsed.error.message, 500);
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(body)
        && let Some(serde_json::Value::String(m)) = map.get("error").or(map.get("message"))
    {
        return excerpt(m, 500);
    }
    if body.trim().is_empty() {
        "(empty body)".into()
    } else {
        excerpt(body, 300)
    }
}

/// Is this `std::io::Error` (from reading a body) ureq's or the socket's timeout?
fn is_timeout(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) || error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        .is_some_and(|e| matches!(e, ureq::Error::Timeout(_)))
}

/// An OpenAI-compatible chat client. Cheap to share between threads (`&Client`).
pub struct Client {
    config: ClientConfig,
    endpoint: String,
    api_key: Option<String>,
    agent: ureq::Agent,
    ledger: Arc<Ledger>,
    pub(crate) cache: Option<Cache>,
    /// No request leaves before this instant (a server's `Retry-After`, for all workers).
    pause_until: Mutex<Option<Instant>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Checks the settings and builds the HTTP agent (no request is sent).
    pub fn new(config: ClientConfig) -> Result<Client, LlmError> {
        let endpoint = config.endpoint();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(LlmError::Config(format!(
                "base URL {:?} must start with http:// or https://",
                config.base_url
            )));
        }
        if config.model.trim().is_empty() {
            return Err(LlmError::Config("the model name is empty".into()));
        }
        if config.concurrency == 0 {
            return Err(LlmError::Config(
                "concurrency must be at least 1 request at a time".into(),
            ));
        }
        for (name, price) in [
            ("price_per_1k_prompt", config.price_per_1k_prompt),
            ("price_per_1k_completion", config.price_per_1k_completion),
        ] {
            if let Some(p) = price
                && !(p.is_finite() && p >= 0.0)
            {
                return Err(LlmError::Config(format!(
                    "{name} must be a non-negative number, got {p}"
                )));
            }
        }
        let api_key = config
            .api_key
            .clone()
            .or_else(|| {
                config
                    .api_key_env
                    .as_deref()
                    .and_then(|name| std::env::var(name).ok())
            })
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .user_agent(concat!("adroit-llm/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Client {
            ledger: Arc::new(Ledger::new(config.prices())),
            cache: config.cache_dir.as_ref().map(Cache::new),
            endpoint,
            api_key,
            agent,
            config,
            pause_until: Mutex::new(None),
        })
    }

    /// [`Client::new`] over [`ClientConfig::from_env`].
    pub fn from_env() -> Result<Client, LlmError> {
        Client::new(ClientConfig::from_env()?)
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The client's accounting; print it for the one-line summary.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// A handle on the ledger that outlives the client.
    pub fn ledger_handle(&self) -> Arc<Ledger> {
        Arc::clone(&self.ledger)
    }

    /// `text` with personal data masked, when masking is on.
    pub fn mask(&self, text: &str) -> String {
        match self.config.masker {
            Some(mask) => mask(text),
            None => text.to_owned(),
        }
    }

    /// `request` as it will be sent: the configured model when none is named, user
    /// messages masked.
    fn prepare(&self, request: &ChatRequest, stream: bool) -> ChatRequest {
        let mut request = request.clone();
        if request.model.trim().is_empty() {
            request.model = self.config.model.clone();
        }
        for message in &mut request.messages {
            if message.role == "user" {
                message.content = self.mask(&message.content);
            }
        }
        request.stream = stream;
        request
    }

    /// Sends one chat request and returns the answer with its token counts (zero when
    /// the server reports none). A request with `stream: true` is read as a stream and
    /// assembled. User messages are masked first when masking is on.
    pub fn chat(&self, request: &ChatRequest) -> Result<(ChatResponse, Usage), LlmError> {
        if request.stream {
            return self.chat_stream(request, &mut |_| {});
        }
        let request = self.prepare(request, false);
        self.send(&request)
    }

    /// Sends `request` as a stream, calling `on_delta` with each piece of text as it
    /// arrives, and returns the assembled answer.
    pub fn chat_stream(
        &self,
        request: &ChatRequest,
        on_delta: &mut dyn FnMut(&str),
    ) -> Result<(ChatResponse, Usage), LlmError> {
        let request = self.prepare(request, true);
        let mut body = serde_json::to_value(&request)
            .map_err(|e| LlmError::InvalidRequest(format!("cannot serialise: {e}")))?;
        // Ask for the token counts in the last chunk (OpenAI, vLLM, DeepSeek, Ollama).
        body["stream_options"] = serde_json::json!({"include_usage": true});
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| LlmError::InvalidRequest(format!("cannot serialise: {e}")))?;
        let response = self.with_retries(|| self.post(&bytes, true))?;
        self.read_stream(response, on_delta)
    }

    /// A non-streamed request as is (no masking: callers mask), with retries.
    pub(crate) fn send(&self, request: &ChatRequest) -> Result<(ChatResponse, Usage), LlmError> {
        let bytes = serde_json::to_vec(request)
            .map_err(|e| LlmError::InvalidRequest(format!("cannot serialise: {e}")))?;
        let (response, usage) = self.with_retries(|| {
            let response = self.post(&bytes, false)?;
            self.read_reply(response)
        })?;
        self.ledger.add_usage(&usage);
        Ok((response, usage))
    }

    /// Runs `attempt` until it succeeds, fails for good, or `max_retries` repeats are
    /// spent; waits between attempts by [`backoff_delay`] or the server's `Retry-After`.
    fn with_retries<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, LlmError> {
        let attempts = self.config.max_retries + 1;
        for n in 0..attempts {
            self.wait_for_pause();
            self.ledger.add_request();
            if n > 0 {
                self.ledger.add_retry();
            }
            match attempt() {
                Ok(value) => return Ok(value),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(e, asked)) => {
                    if n + 1 == attempts {
                        let note = if attempts == 1 {
                            "no retries configured".to_owned()
                        } else {
                            format!("gave up after {attempts} attempts")
                        };
                        return Err(with_note(e, &note));
                    }
                    let delay = match asked {
                        Some(wait) => {
                            let wait = wait.min(self.config.max_backoff);
                            // Everyone waits when the server asks: the other workers
                            // would only be refused too.
                            let until = Instant::now() + wait;
                            let mut pause = self
                                .pause_until
                                .lock()
                                .unwrap_or_else(|poisoned| poisoned.into_inner());
                            if pause.is_none_or(|p| p < until) {
                                *pause = Some(until);
                            }
                            wait
                        }
                        None => backoff_delay(
                            n,
                            self.config.backoff_base,
                            self.config.max_backoff,
                            fastrand::f64(),
                        ),
                    };
                    std::thread::sleep(delay);
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    fn wait_for_pause(&self) {
        let until = *self
            .pause_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(until) = until {
            let now = Instant::now();
            if until > now {
                std::thread::sleep(until - now);
            }
        }
    }

    /// One POST; a non-success status becomes an error with the server's message.
    fn post(&self, body: &[u8], stream: bool) -> Result<ureq::http::Response<ureq::Body>, Failure> {
        let url = &self.endpoint;
        let mut builder = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .header(
                "Accept",
                if stream {
                    "text/event-stream"
                } else {
                    "application/json"
                },
            );
        if let Some(key) = &self.api_key {
            builder = builder.header("Authorization", format!("Bearer {key}"));
        }
        let builder = if stream {
            builder
                .config()
                .timeout_recv_response(Some(self.config.timeout))
                .timeout_per_read(Some(self.config.timeout))
                .build()
        } else {
            builder
                .config()
                .timeout_global(Some(self.config.timeout))
                .build()
        };
        let mut response = builder.send(body).map_err(|e| self.transport_failure(e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let asked = retry_after(response.headers());
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .lossy_utf8(true)
            .read_to_string()
            .unwrap_or_default();
        let error = LlmError::Http {
            status,
            message: format!("{} (POST {url})", server_message(&text)),
        };
        Err(if retryable_status(status) {
            Failure::Retry(error, asked)
        } else {
            Failure::Fatal(error)
        })
    }

    /// Sorts a transport error into worth-retrying or final, with a clear message.
    fn transport_failure(&self, error: ureq::Error) -> Failure {
        let url = &self.endpoint;
        match error {
            ureq::Error::Timeout(which) => Failure::Retry(
                LlmError::Timeout(format!(
                    "POST {url}: no answer within {:.1} s ({which})",
                    self.timeout_of(which).as_secs_f64()
                )),
                None,
            ),
            ureq::Error::Io(e) if is_timeout(&e) => {
                Failure::Retry(LlmError::Timeout(format!("POST {url}: {e}")), None)
            }
            ureq::Error::Io(e) => {
                Failure::Retry(LlmError::Network(format!("POST {url}: {e}")), None)
            }
            ureq::Error::ConnectionFailed => Failure::Retry(
                LlmError::Network(format!("POST {url}: connection failed")),
                None,
            ),
            ureq::Error::Protocol(e) => Failure::Retry(
                LlmError::Network(format!("POST {url}: broken HTTP answer: {e}")),
                None,
            ),
            ureq::Error::HostNotFound => Failure::Fatal(LlmError::Network(format!(
                "POST {url}: host not found (check the base URL)"
            ))),
            ureq::Error::BadUri(m) => {
                Failure::Fatal(LlmError::Config(format!("bad base URL {url}: {m}")))
            }
            other => Failure::Fatal(LlmError::Network(format!("POST {url}: {other}"))),
        }
    }

    fn timeout_of(&self, which: ureq::Timeout) -> Duration {
        match which {
            ureq::Timeout::Connect => self.config.connect_timeout,
            _ => self.config.timeout,
        }
    }

    /// Reads and checks a non-streamed answer.
    fn read_reply(
        &self,
        mut response: ureq::http::Response<ureq::Body>,
    ) -> Result<(ChatResponse, Usage), Failure> {
        let url = &self.endpoint;
        let text = match response
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_string()
        {
            Ok(text) => text,
            Err(ureq::Error::Timeout(which)) => {
                return Err(Failure::Retry(
                    LlmError::Timeout(format!(
                        "POST {url}: answer not complete within {:.1} s ({which})",
                        self.timeout_of(which).as_secs_f64()
                    )),
                    None,
                ));
            }
            Err(ureq::Error::Io(e)) if is_timeout(&e) => {
                return Err(Failure::Retry(
                    LlmError::Timeout(format!("POST {url}: reading the answer: {e}")),
                    None,
                ));
            }
            Err(e) => {
                return Err(Failure::Retry(
                    LlmError::Network(format!("POST {url}: reading the answer: {e}")),
                    None,
                ));
            }
        };
        let reply: ChatResponse = serde_json::from_str(&text).map_err(|e| {
            Failure::Fatal(LlmError::Protocol(format!(
                "malformed reply from {url}: {e}; body: {}",
                excerpt(&text, 200)
            )))
        })?;
        if reply.choices.is_empty() {
            return Err(Failure::Fatal(LlmError::Protocol(format!(
                "reply from {url} has no choices"
            ))));
        }
        let usage = reply.usage.unwrap_or_default();
        Ok((reply, usage))
    }

    /// Reads server-sent events up to `data: [DONE]`, assembling the answer.
    ///
    /// Lines are read on a helper thread and received here with a deadline, so that a
    /// stall is a silence of `stream_idle_timeout` inside the stream, while the wait for
    /// the first bytes is bounded by `timeout` alone (a busy server may queue a request
    /// for a long time before it starts streaming). After a stall the helper ends at the
    /// connection's own read timeout (`timeout`) at the latest.
    fn read_stream(
        &self,
        response: ureq::http::Response<ureq::Body>,
        on_delta: &mut dyn FnMut(&str),
    ) -> Result<(ChatResponse, Usage), LlmError> {
        use std::sync::mpsc::{RecvTimeoutError, sync_channel};
        let url = &self.endpoint;
        let reader = response.into_body().into_reader();
        let (tx, rx) = sync_channel::<std::io::Result<String>>(256);
        std::thread::Builder::new()
            .name("adroit-llm-stream".into())
            .spawn(move || {
                let mut reader = BufReader::new(reader);
                loop {
                    let mut line = String::new();
                    let read = std::io::Read::take(&mut reader, MAX_SSE_LINE).read_line(&mut line);
                    let stop = match &read {
                        Ok(0) | Err(_) => true,
                        Ok(_) => false,
                    };
                    let item = match read {
                        Ok(n) if n as u64 == MAX_SSE_LINE && !line.ends_with('\n') => {
                            Err(std::io::Error::other(format!(
                                "an event line longer than {MAX_SSE_LINE} bytes"
                            )))
                        }
                        Ok(_) => Ok(line),
                        Err(e) => Err(e),
                    };
                    let failed = item.is_err();
                    if tx.send(item).is_err() || stop || failed {
                        break;
                    }
                }
            })
            .map_err(|e| LlmError::Network(format!("cannot start a stream reader: {e}")))?;
        let mut assembly = StreamAssembly::default();
        let mut data = String::new();
        loop {
            let line = match rx.recv_timeout(self.config.stream_idle_timeout) {
                Ok(Ok(line)) => line,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(LlmError::Timeout(format!(
                        "stream from {url} stalled: no data for {:.1} s after {} chunks",
                        self.config.stream_idle_timeout.as_secs_f64(),
                        assembly.chunks
                    )));
                }
                Ok(Err(e)) if is_timeout(&e) => {
                    return Err(LlmError::Timeout(format!(
                        "stream from {url} stalled: no data for {:.1} s after {} chunks",
                        self.config.timeout.as_secs_f64(),
                        assembly.chunks
                    )));
                }
                Ok(Err(e)) => {
                    return Err(LlmError::Network(format!(
                        "stream from {url} broke off after {} chunks: {e}",
                        assembly.chunks
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(LlmError::Network(format!(
                        "stream from {url} broke off after {} chunks",
                        assembly.chunks
                    )));
                }
            };
            if line.is_empty() {
                return Err(LlmError::Protocol(format!(
                    "stream from {url} ended after {} chunks without `data: [DONE]` \
                     (truncated); text so far: {:?}",
                    assembly.chunks,
                    excerpt(&assembly.text, 100)
                )));
            }
            let text = line.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                // The end of an event: dispatch its data.
                if data.is_empty() {
                    continue;
                }
                if data.trim() == "[DONE]" {
                    let (response, usage) = assembly.finish(url)?;
                    self.ledger.add_usage(&usage);
                    return Ok((response, usage));
                }
                assembly.add(&data, url, on_delta)?;
                data.clear();
            } else if let Some(value) = text.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value.strip_prefix(' ').unwrap_or(value));
            }
            // `event:`, `id:`, `retry:` and `:` comments carry nothing we need.
        }
    }
}

/// The longest line of a stream read (a guard against a server that never sends `\n`).
const MAX_SSE_LINE: u64 = 4 * 1024 * 1024;

/// The answer of a stream as it builds up.
#[derive(Default)]
struct StreamAssembly {
    chunks: usize,
    id: String,
    model: String,
    created: u64,
    text: String,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl StreamAssembly {
    fn add(
        &mut self,
        data: &str,
        url: &str,
        on_delta: &mut dyn FnMut(&str),
    ) -> Result<(), LlmError> {
        let chunk: ChatChunk = match serde_json::from_str(data) {
            Ok(chunk) => chunk,
            Err(e) => {
                // Servers report failures inside a started stream as an error object.
                if let Ok(body) = serde_json::from_str::<ErrorBody>(data) {
                    return Err(LlmError::Protocol(format!(
                        "stream from {url} reported an error after {} chunks: {}",
                        self.chunks,
                        excerpt(&body.error.message, 300)
                    )));
                }
                return Err(LlmError::Protocol(format!(
                    "malformed chunk {} in stream from {url}: {e}; data: {}",
                    self.chunks + 1,
                    excerpt(data, 200)
                )));
            }
        };
        self.chunks += 1;
        if self.id.is_empty() {
            self.id = chunk.id;
            self.model = chunk.model;
            self.created = chunk.created;
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(piece) = choice.delta.content
                && !piece.is_empty()
            {
                on_delta(&piece);
                self.text.push_str(&piece);
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        Ok(())
    }

    fn finish(self, url: &str) -> Result<(ChatResponse, Usage), LlmError> {
        if self.chunks == 0 {
            return Err(LlmError::Protocol(format!(
                "stream from {url} ended with `data: [DONE]` before any chunk"
            )));
        }
        let usage = self.usage.unwrap_or_default();
        let response = ChatResponse {
            id: self.id,
            object: "chat.completion".into(),
            created: self.created,
            model: self.model,
            choices: vec![Choice {
                index: 0,
                message: crate::protocol::ChatMessage::assistant(self.text),
                finish_reason: self.finish_reason,
            }],
            usage: self.usage,
        };
        Ok((response, usage))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let base = Duration::from_millis(500);
        let max = Duration::from_secs(30);
        let full: Vec<f64> = (0..8)
            .map(|n| backoff_delay(n, base, max, 1.0).as_secs_f64())
            .collect();
        assert_eq!(full, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
        assert_eq!(backoff_delay(2, base, max, 0.0), Duration::from_secs(1));
        assert_eq!(backoff_delay(100, base, max, 0.0), Duration::from_secs(15));
        for _ in 0..100 {
            let d = backoff_delay(3, base, max, fastrand::f64());
            assert!(
                d >= Duration::from_secs(2) && d < Duration::from_secs(4),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_milliseconds() {
        let mut headers = ureq::http::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        let mut dated = ureq::http::HeaderMap::new();
        dated.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&dated), None);
        assert!(retryable_status(429) && retryable_status(503) && retryable_status(500));
        assert!(!retryable_status(400) && !retryable_status(401) && !retryable_status(404));
    }

    #[test]
    fn settings_come_from_the_environment_and_hide_the_key() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let err = ClientConfig::from_vars(vars(&[])).unwrap_err().to_string();
        assert!(err.contains("ADROIT_LLM_MODEL"), "{err}");
        let c = ClientConfig::from_vars(vars(&[
            ("ADROIT_LLM_MODEL", "deepseek-chat"),
            ("ADROIT_LLM_BASE_URL", "https://api.deepseek.com/v1/"),
            ("OPENAI_API_KEY", "sk-fallback"),
        ]))
        .unwrap();
        assert_eq!(c.endpoint(), "https://api.deepseek.com/v1/chat/completions");
        assert_eq!(c.api_key.as_deref(), Some("sk-fallback"));
        let c = ClientConfig::from_vars(vars(&[
            ("ADROIT_LLM_MODEL", "qwen-plus"),
            ("ADROIT_LLM_API_KEY", "sk-secret-123"),
            ("OPENAI_API_KEY", "sk-fallback"),
        ]))
        .unwrap();
        assert_eq!(c.base_url, OPENAI_BASE_URL);
        assert_eq!(c.api_key.as_deref(), Some("sk-secret-123"));
        assert!(c.masker.is_some(), "masking is on by default");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("sk-secret") && shown.contains("<set>"),
            "{shown}"
        );
        let client = Client::new(c).unwrap();
        assert!(!format!("{client:?}").contains("sk-secret"));

        let full = ClientConfig::new("http://h:1/v1/chat/completions", "m");
        assert_eq!(full.endpoint(), "http://h:1/v1/chat/completions");
        for (bad, what) in [
            (ClientConfig::new("h:1/v1", "m"), "http://"),
            (ClientConfig::new("http://h/v1", " "), "model"),
            (
                ClientConfig {
                    concurrency: 0,
                    ..ClientConfig::new("http://h/v1", "m")
                },
                "concurrency",
            ),
            (
                ClientConfig {
                    price_per_1k_prompt: Some(-1.0),
                    ..ClientConfig::new("http://h/v1", "m")
                },
                "price_per_1k_prompt",
            ),
        ] {
            let err = Client::new(bad).unwrap_err().to_string();
            assert!(err.contains(what), "{err}");
        }
    }

    #[test]
    fn server_messages_are_read_from_error_bodies() {
        assert_eq!(
            server_message(r#"{"error": {"message": "Rate limit reached", "type": "x"}}"#),
            "Rate limit reached"
        );
        assert_eq!(
            server_message(r#"{"error": "model not found"}"#),
            "model not found"
        );
        assert_eq!(server_message(""), "(empty body)");
        assert_eq!(
            server_message("<html>\nBad gateway</html>"),
            "<html> Bad gateway</html>"
        );
        assert_eq!(excerpt(&"é".repeat(10), 3), "ééé…");
    }

    #[test]
    fn pii_is_masked_before_sending_unless_turned_off() {
        let text = "call me at 13812345678 or mail li.lei@example.com";
        let client = Client::new(ClientConfig::new("http://127.0.0.1:9/v1", "m")).unwrap();
        let request = ChatRequest {
            model: String::new(),
            messages: vec![
                crate::protocol::ChatMessage::system("system text 13812345678 stays"),
                crate::protocol::ChatMessage::user(text),
            ],
            temperature: None,
            top_p: None,
            max_tokens: None,
            seed: None,
            stop: None,
            stream: false,
            response_format: None,
        };
        let sent = client.prepare(&request, false);
        assert_eq!(sent.model, "m");
        let user = &sent.messages[1].content;
        assert!(
            user.contains("[PHONE]") && user.contains("[EMAIL]"),
            "{user}"
        );
        assert!(!user.contains("13812345678") && !user.contains("example.com"));
        assert_eq!(sent.messages[0].content, request.messages[0].content);
        let open = Client::new(ClientConfig {
            masker: None,
            ..ClientConfig::new("http://127.0.0.1:9/v1", "m")
        })
        .unwrap();
        assert_eq!(open.prepare(&request, false).messages[1].content, text);
    }
}
