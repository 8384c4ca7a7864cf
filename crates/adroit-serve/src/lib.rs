//! `adroit serve`: an HTTP service over a run folder (`adroit run --out RUN_DIR`) for
//! real-time scoring. One pipeline, many doors: the handlers parse a request, call the
//! same library functions the CLI calls (`adroit_mmm::file`, `adroit_clv::file`,
//! `adroit_learn`, `adroit_text`) and serialise the answer.
//!
//! | route | answers from |
//! |---|---|
//! | `POST /v1/mmm/whatif` | `mmm/result.json` → [`adroit_mmm::file::ResultFile::whatif`] |
//! | `POST /v1/budget/optimize` | `mmm/result.json` → [`adroit_mmm::file::ResultFile::allocate`] |
//! | `POST /v1/clv/score` | `clv/clv_model.json` → [`adroit_clv::file::ModelFile::score`] |
//! | `POST /v1/text/analyze` | the built-in text back end ([`adroit_text::analyze`]) |
//! | `POST /v1/predict/{model}` | `models/{model}.json` → [`adroit_learn::model::TrainedModel::predict`] |
//! | `GET /v1/runs/latest` | `run.json` |
//! | `GET /metrics` | Prometheus text: requests and latency per route and status |
//! | `GET /healthz`, `GET /`, `GET /openapi.json` | no token needed |
//!
//! Around every route: bearer-token auth on `/v1/*` and `/metrics` ([`tokens`]), a body
//! limit (413), a per-request timeout (503), panics caught as 500, JSON errors for
//! 400/404/405/409/413/422, and metrics. The run is hot-reloaded when `run.json` changes
//! (polled) or on SIGHUP: the new run is loaded fully and then swapped in; requests in
//! flight finish on the run they started with; a run that fails to load leaves the old
//! one in place.

pub mod api;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod run;
pub mod tokens;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::run::Run;
use crate::tokens::TokenStore;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use futures_util::FutureExt;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Default largest request body (bytes).
pub const DEFAULT_MAX_BODY: usize = 2 * 1024 * 1024;
/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How a server is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The run folder.
    pub run: PathBuf,
    pub bind: SocketAddr,
    /// The tokens file; `None` serves without auth (only allowed on loopback binds).
    pub tokens: Option<PathBuf>,
    pub max_body: usize,
    pub timeout: Duration,
    /// How often `run.json` is checked for a change.
    pub reload_interval: Duration,
}

impl Config {
    pub fn new(run: impl Into<PathBuf>, bind: SocketAddr, tokens: Option<PathBuf>) -> Config {
        Config {
            run: run.into(),
            bind,
            tokens,
            max_body: DEFAULT_MAX_BODY,
            timeout: DEFAULT_TIMEOUT,
            reload_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Run(String),
    #[error(transparent)]
    Tokens(#[from] tokens::TokenError),
    #[error(
        "--no-auth is only allowed on a loopback address (127.0.0.1, ::1), not {0}; create a token with `adroit token create --name NAME` and serve with it"
    )]
    NoAuthOffLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What every handler shares.
pub struct Shared {
    run: RwLock<Arc<Run>>,
    tokens: Option<TokenStore>,
    pub metrics: Metrics,
    run_dir: PathBuf,
    timeout: Duration,
    max_body: usize,
}

/// The server's state: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub shared: Arc<Shared>,
}

fn epoch_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl AppState {
    /// Loads the run and opens the tokens file.
    pub fn new(config: &Config) -> Result<AppState, ServeError> {
        let tokens = match &config.tokens {
            Some(p) => Some(TokenStore::open(p)?),
            None => {
                if !config.bind.ip().is_loopback() {
                    return Err(ServeError::NoAuthOffLoopback(config.bind));
                }
                None
            }
        };
        let run = Run::load(&config.run).map_err(ServeError::Run)?;
        let metrics = Metrics::default();
        metrics.loaded_at.store(epoch_seconds(), Ordering::Relaxed);
        Ok(AppState {
            shared: Arc::new(Shared {
                run: RwLock::new(Arc::new(run)),
                tokens,
                metrics,
                run_dir: config.run.clone(),
                timeout: config.timeout,
                max_body: config.max_body,
            }),
        })
    }

    /// The current run; a request keeps the `Arc` it took, so a reload never changes
    /// the run under it.
    pub fn run(&self) -> Arc<Run> {
        self.shared
            .run
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads the run folder again and swaps it in; on failure the current run stays.
    pub fn reload(&self) -> Result<(), String> {
        match Run::load(&self.shared.run_dir) {
            Ok(run) => {
                *self.shared.run.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(run);
                self.shared.metrics.reloads.fetch_add(1, Ordering::Relaxed);
                self.shared
                    .metrics
                    .loaded_at
                    .store(epoch_seconds(), Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.shared
                    .metrics
                    .reload_failures
                    .fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }
}

/// Requires a valid bearer token.
async fn auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(store) = &state.shared.tokens else {
        return next.run(req).await;
    };
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    match token {
        Some(t) if !t.is_empty() && store.verify(t) => next.run(req).await,
        _ => ApiError::unauthorized().into_response(),
    }
}

/// Times out slow requests (503) and turns panics into 500s.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let run = AssertUnwindSafe(next.run(req)).catch_unwind();
    match tokio::time::timeout(state.shared.timeout, run).await {
        Ok(Ok(response)) => response,
        Ok(Err(_panic)) => {
            ApiError::internal("the request failed inside the server; it was logged")
                .into_response()
        }
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than {} s (see --timeout)",
                state.shared.timeout.as_secs_f64()
            ),
        )
        .into_response(),
    }
}

/// Counts the request and its latency by route pattern and status.
async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let response = next.run(req).await;
    state.shared.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// The service's routes and layers over `state`.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/v1/mmm/whatif", post(api::whatif))
        .route("/v1/budget/optimize", post(api::optimize))
        .route("/v1/clv/score", post(api::clv_score))
        .route("/v1/text/analyze", post(api::text_analyze))
        .route("/v1/predict/{model}", post(api::predict))
        .route("/v1/runs/latest", get(api::runs_latest))
        .route("/metrics", get(api::metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    let open = Router::new()
        .route("/healthz", get(api::healthz))
        .route("/", get(api::index))
        .route("/openapi.json", get(api::openapi));
    protected
        .merge(open)
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(state.shared.max_body))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// Polls `run.json` and reloads on a change; with `hangup`, SIGHUP reloads too.
async fn watch(state: AppState, interval: Duration) {
    let mut seen = run::stamp(&state.shared.run_dir);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let forced = match hup.as_mut() {
            Some(h) => tokio::select! {
                _ = tick.tick() => false,
                _ = h.recv() => true,
            },
            None => {
                tick.tick().await;
                false
            }
        };
        #[cfg(not(unix))]
        let forced = {
            tick.tick().await;
            false
        };
        let now = run::stamp(&state.shared.run_dir);
        if !forced && now == seen {
            continue;
        }
        seen = now;
        let s = state.clone();
        let dir = state.shared.run_dir.display().to_string();
        match tokio::task::spawn_blocking(move || s.reload()).await {
            Ok(Ok(())) => eprintln!("adroit serve: loaded the run in {dir}"),
            Ok(Err(e)) => {
                eprintln!("adroit serve: keeping the previous run; the new one failed to load: {e}")
            }
            Err(e) => eprintln!("adroit serve: keeping the previous run; loading failed: {e}"),
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// A running server on its own thread.
pub struct Server {
    addr: SocketAddr,
    state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServeError>>>,
}

impl Server {
    /// Loads the run, binds `config.bind` (port 0 picks a free port) and serves on a
    /// background thread until [`Server::shutdown`].
    pub fn start(config: Config) -> Result<Server, ServeError> {
        let state = AppState::new(&config)?;
        let listener =
            std::net::TcpListener::bind(config.bind).map_err(|source| ServeError::Bind {
                addr: config.bind,
                source,
            })?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(state.clone());
        let watcher = state.clone();
        let interval = config.reload_interval;
        let thread = std::thread::Builder::new()
            .name("adroit-serve".into())
            .spawn(move || -> Result<(), ServeError> {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    // Small JSON answers: send them at once (no Nagle delay).
                    let listener = tokio::net::TcpListener::from_std(listener)?.tap_io(|tcp| {
                        let _ = tcp.set_nodelay(true);
                    });
                    let watch = tokio::spawn(watch(watcher, interval));
                    let result = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                    watch.abort();
                    result.map_err(ServeError::Io)
                })
            })?;
        Ok(Server {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address served (the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting connections, lets requests in flight finish, and waits.
    pub fn shutdown(mut self) -> Result<(), ServeError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), ServeError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(ServeError::Run("the server thread panicked".into()))),
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

/// Serves `config` until Ctrl-C or SIGTERM, then shuts down gracefully. `ready` is
/// called with the bound address once the server listens.
pub fn serve(config: Config, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let server = Server::start(config)?;
    ready(server.addr());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(shutdown_signal());
    eprintln!("adroit serve: shutting down; finishing requests in flight");
    server.shutdown()
}
