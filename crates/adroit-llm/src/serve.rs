//! An OpenAI-compatible HTTP server over one [`LocalModel`]:
//!
//! - `POST /v1/chat/completions`: JSON answers, or server-sent events with `stream: true`
//!   (a role chunk, text chunks, a last chunk with `finish_reason` and `usage`, then
//!   `data: [DONE]`);
//! - `GET /v1/models`: the one model;
//! - `GET /healthz`: `ok`.
//!
//! Errors are OpenAI error bodies (`{"error": {"message", "type"}}`): 400 naming the bad
//! field, 404 for unknown routes, 405 for a wrong method, 500 when generation fails.
//! The model runs on a blocking thread behind a mutex, one generation at a time; later
//! requests wait their turn.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use crate::LlmError;
use crate::local::{FinishReason, GenerateParams, LocalModel};
use crate::protocol::{
    ChatChunk, ChatMessage, ChatRequest, ChatResponse, Choice, ChunkChoice, Delta, ErrorBody,
    ErrorDetail,
};

/// Largest request body accepted (bytes).
const MAX_BODY: usize = 4 * 1024 * 1024;

struct AppState {
    model: Mutex<LocalModel>,
    name: String,
    created: u64,
    next_id: AtomicU64,
}

/// A running server; [`ServerHandle::shutdown`] or dropping it stops it.
pub struct ServerHandle {
    /// The address the server listens on (the real port when bound to port 0).
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), LlmError>>>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ServerHandle {
    /// `http://ADDR/v1`, the base URL OpenAI clients want.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Stops accepting connections, lets running requests finish, and waits for the
    /// server thread.
    pub fn shutdown(mut self) -> Result<(), LlmError> {
        self.stop()
    }

    /// Serves until Ctrl-C (SIGINT), then shuts down.
    pub fn wait_for_ctrl_c(self) -> Result<(), LlmError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| LlmError::Server(format!("starting a signal runtime failed: {e}")))?;
        rt.block_on(tokio::signal::ctrl_c())
            .map_err(|e| LlmError::Server(format!("waiting for Ctrl-C failed: {e}")))?;
        self.shutdown()
    }

    fn stop(&mut self) -> Result<(), LlmError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| LlmError::Server("the server thread panicked".into()))?,
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Starts serving `model` on `bind` (`127.0.0.1:0` picks a free port) on a background
/// thread with its own tokio runtime. Returns once the port is bound.
pub fn spawn(model: LocalModel, bind: &str) -> Result<ServerHandle, LlmError> {
    let listener = std::net::TcpListener::bind(bind)
        .map_err(|e| LlmError::Server(format!("cannot listen on {bind}: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| LlmError::Server(format!("cannot listen on {bind}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| LlmError::Server(format!("cannot listen on {bind}: {e}")))?;
    let app = router(model);
    let (tx, rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("adroit-llm-serve".into())
        .spawn(move || -> Result<(), LlmError> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("adroit-llm-http")
                .enable_all()
                .build()
                .map_err(|e| LlmError::Server(format!("starting the runtime failed: {e}")))?;
            let result = rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .map_err(|e| LlmError::Server(format!("listening on {addr} failed: {e}")))?;
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await
                    .map_err(|e| LlmError::Server(format!("serving on {addr} failed: {e}")))
            });
            // A generation still running on a blocking thread gets a moment to finish.
            rt.shutdown_timeout(Duration::from_secs(10));
            result
        })
        .map_err(|e| LlmError::Server(format!("starting the server thread failed: {e}")))?;
    Ok(ServerHandle {
        addr,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

/// Serves `model` on `bind` until Ctrl-C.
pub fn run_blocking(model: LocalModel, bind: &str) -> Result<(), LlmError> {
    spawn(model, bind)?.wait_for_ctrl_c()
}

/// The routes over `model`, for embedding in another server.
pub fn router(model: LocalModel) -> Router {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let state = Arc::new(AppState {
        name: model.name().to_string(),
        model: Mutex::new(model),
        created,
        next_id: AtomicU64::new(1),
    });
    Router::new()
        .route(
            "/v1/chat/completions",
            post(chat_completions).fallback(method_not_allowed),
        )
        .route("/v1/models", get(models).fallback(method_not_allowed))
        .route("/healthz", get(healthz).fallback(method_not_allowed))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn error_response(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            message: message.into(),
            kind: kind.into(),
        },
    };
    (status, Json(body)).into_response()
}

fn llm_error_response(err: LlmError) -> Response {
    match err {
        LlmError::InvalidRequest(m) => {
            error_response(StatusCode::BAD_REQUEST, "invalid_request_error", m)
        }
        other => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            other.to_string(),
        ),
    }
}

async fn not_found(uri: axum::http::Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "not_found_error",
        format!(
            "no route {}; this server has POST /v1/chat/completions, GET /v1/models, GET /healthz",
            uri.path()
        ),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        format!("{} is not allowed on {}", method, uri.path()),
    )
}

async fn healthz() -> &'static str {
    "ok"
}

async fn models(State(state): State<Arc<AppState>>) -> Response {
    Json(json!({
        "object": "list",
        "data": [{
            "id": state.name,
            "object": "model",
            "created": state.created,
            "owned_by": "adroit",
        }]
    }))
    .into_response()
}

/// Parses and checks a request body; the error names the field.
pub fn parse_request(body: &[u8]) -> Result<(ChatRequest, GenerateParams), LlmError> {
    if body.is_empty() {
        return Err(LlmError::InvalidRequest(
            "the request body is empty; send a JSON chat request".into(),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        LlmError::InvalidRequest(format!("the request body is not valid JSON: {e}"))
    })?;
    if !value.is_object() {
        return Err(LlmError::InvalidRequest(
            "the request body must be a JSON object (a chat request with `model` and `messages`)"
                .into(),
        ));
    }
    let req: ChatRequest = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." || path == "?" {
            LlmError::InvalidRequest(format!("the request is not a valid chat request: {inner}"))
        } else {
            LlmError::InvalidRequest(format!("field `{path}`: {inner}"))
        }
    })?;
    if req.messages.is_empty() {
        return Err(LlmError::InvalidRequest(
            "field `messages` is empty; give at least one message".into(),
        ));
    }
    for (i, m) in req.messages.iter().enumerate() {
        if !matches!(m.role.as_str(), "system" | "user" | "assistant") {
            return Err(LlmError::InvalidRequest(format!(
                "field `messages[{i}].role` is {:?}; expected system, user or assistant",
                m.role
            )));
        }
    }
    let defaults = GenerateParams::default();
    let params = GenerateParams {
        max_tokens: req.max_tokens.unwrap_or(defaults.max_tokens),
        temperature: req.temperature.unwrap_or(defaults.temperature),
        top_p: req.top_p,
        seed: req.seed.unwrap_or(defaults.seed),
        stop: req.stop.clone().unwrap_or_default(),
    };
    params.validate().map_err(|e| match e {
        LlmError::InvalidRequest(m) => LlmError::InvalidRequest(format!("field {m}")),
        other => other,
    })?;
    if let Some(rf) = &req.response_format
        && !matches!(rf.kind.as_str(), "text" | "json_object")
    {
        return Err(LlmError::InvalidRequest(format!(
            "field `response_format.type` is {:?}; expected text or json_object",
            rf.kind
        )));
    }
    Ok((req, params))
}

async fn chat_completions(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let (req, params) = match parse_request(&body) {
        Ok(x) => x,
        Err(e) => return llm_error_response(e),
    };
    let id = format!(
        "chatcmpl-{}-{}",
        state.created,
        state.next_id.fetch_add(1, Ordering::Relaxed)
    );
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if req.stream {
        stream_completion(state, req.messages, params, id, created).await
    } else {
        let st = state.clone();
        let messages = req.messages;
        let joined = tokio::task::spawn_blocking(move || {
            let mut model = st.model.lock().unwrap_or_else(|e| e.into_inner());
            model.chat(&messages, &params, &mut |_| {})
        })
        .await;
        let generation = match joined {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => return llm_error_response(e),
            Err(e) => {
                return llm_error_response(LlmError::Server(format!("generation crashed: {e}")));
            }
        };
        Json(ChatResponse {
            id,
            object: "chat.completion".into(),
            created,
            model: state.name.clone(),
            choices: vec![Choice {
                index: 0,
                message: ChatMessage::assistant(generation.text),
                finish_reason: Some(generation.finish_reason.as_str().into()),
            }],
            usage: Some(generation.usage),
        })
        .into_response()
    }
}

async fn stream_completion(
    state: Arc<AppState>,
    messages: Vec<ChatMessage>,
    params: GenerateParams,
    id: String,
    created: u64,
) -> Response {
    let (tx, rx) = mpsc::channel::<Result<Event, std::convert::Infallible>>(64);
    let name = state.name.clone();
    let chunk = move |delta: Delta, finish: Option<String>, usage| ChatChunk {
        id: id.clone(),
        object: "chat.completion.chunk".into(),
        created,
        model: name.clone(),
        choices: vec![ChunkChoice {
            index: 0,
            delta,
            finish_reason: finish,
        }],
        usage,
    };
    let event = |c: &ChatChunk| {
        Ok(Event::default().data(serde_json::to_string(c).unwrap_or_else(|e| {
            json!({"error": {"message": format!("encoding a chunk failed: {e}"), "type": "server_error"}}).to_string()
        })))
    };
    // The request is checked (template, context) before the event stream starts, so a
    // bad request still gets a 400 rather than an error event.
    let (checked_tx, checked_rx) = oneshot::channel::<Result<(), LlmError>>();
    tokio::task::spawn_blocking(move || {
        // A generation that panicked left the lock poisoned, not the model broken: each
        // generation starts from an empty cache.
        let mut model = state.model.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = model.prepare(&messages, &params) {
            let _ = checked_tx.send(Err(e));
            return;
        }
        if checked_tx.send(Ok(())).is_err() {
            return;
        }
        let first = chunk(
            Delta {
                role: Some("assistant".into()),
                content: Some(String::new()),
            },
            None,
            None,
        );
        if tx.blocking_send(event(&first)).is_err() {
            return;
        }
        let result = {
            let mut on_token = |piece: &str| {
                let c = chunk(
                    Delta {
                        role: None,
                        content: Some(piece.to_string()),
                    },
                    None,
                    None,
                );
                // A client that went away stops the generation.
                match tx.blocking_send(event(&c)) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            };
            model.chat_until(&messages, &params, &mut on_token)
        };
        match result {
            Ok(g) if g.finish_reason == FinishReason::Cancelled => return,
            Ok(g) => {
                let last = chunk(
                    Delta::default(),
                    Some(g.finish_reason.as_str().into()),
                    Some(g.usage),
                );
                let _ = tx.blocking_send(event(&last));
            }
            Err(e) => {
                let kind = match e {
                    LlmError::InvalidRequest(_) => "invalid_request_error",
                    _ => "server_error",
                };
                let body = ErrorBody {
                    error: ErrorDetail {
                        message: e.to_string(),
                        kind: kind.into(),
                    },
                };
                let data = serde_json::to_string(&body).unwrap_or_default();
                let _ = tx.blocking_send(Ok(Event::default().data(data)));
            }
        }
        let _ = tx.blocking_send(Ok(Event::default().data("[DONE]")));
    });
    match checked_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return llm_error_response(e),
        Err(_) => {
            return llm_error_response(LlmError::Server("generation crashed".into()));
        }
    }
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}
