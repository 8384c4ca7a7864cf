//! The endpoints. Each handler parses its request, calls a library function
//! (`adroit_mmm::file`, `adroit_clv::file`, `adroit_learn`, `adroit_text`) on the
//! current run, and serialises the answer; nothing is computed here.

use crate::error::ApiError;
use crate::{AppState, run::Run};
use adroit_clv::ClvOptions;
use adroit_learn::data::{Column, Frame, Values};
use adroit_learn::encode::FeatureEncoding;
use adroit_learn::model::Task;
use adroit_mmm::file::{FileError, Target, TargetParseError};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The longest plan a what-if or an allocation may cover (ten years of weeks).
pub const MAX_PERIODS: usize = 520;

/// Parses a JSON body: 413 when over the limit, 400 with serde's message and the path of
/// the field at fault when it is not the expected JSON.
pub fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than the server accepts (see --max-body)",
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text())
        }
    })?;
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    let value = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let mut err = ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            e.inner().to_string(),
        );
        if field != "." {
            err = err.with("field", field);
        }
        err
    })?;
    Ok(value)
}

/// A blocking task that panicked: logged, answered with a 500 that says nothing more.
fn task_failed(e: tokio::task::JoinError) -> ApiError {
    eprintln!("adroit serve: a request failed: {e}");
    ApiError::internal("the request failed inside the server; it was logged")
}

fn mmm(run: &Run) -> Result<&adroit_mmm::file::ResultFile, ApiError> {
    run.mmm.as_ref().ok_or_else(|| {
        ApiError::stage_missing(
            "mmm",
            "mmm/result.json",
            "`adroit run` with an [mmm] section, or `adroit mmm fit --out RUN_DIR/mmm`",
        )
    })
}

fn periods(p: usize) -> Result<usize, ApiError> {
    if p == 0 || p > MAX_PERIODS {
        return Err(ApiError::invalid(format!(
            "periods is {p}; it must be between 1 and {MAX_PERIODS}"
        ))
        .with("field", "periods"));
    }
    Ok(p)
}

fn mmm_error(e: FileError) -> ApiError {
    let field = match &e {
        FileError::UnknownChannel { .. } | FileError::BadSpend { .. } => Some("spend"),
        FileError::NoPeriods => Some("periods"),
        _ => None,
    };
    let mut err = ApiError::invalid(e.to_string());
    if let Some(f) = field {
        err = err.with("field", f);
    }
    err
}

fn default_periods() -> usize {
    4
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatIfRequest {
    /// Spend per period by channel; channels left out keep their recent pace.
    #[serde(default)]
    spend: BTreeMap<String, f64>,
    #[serde(default = "default_periods")]
    periods: usize,
}

pub async fn whatif(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: WhatIfRequest = parse_body(body)?;
    let run = state.run();
    let file = mmm(&run)?;
    let w = file
        .whatif(&req.spend, periods(req.periods)?)
        .map_err(mmm_error)?;
    let mut v = serde_json::to_value(&w).map_err(|e| ApiError::internal(e.to_string()))?;
    v["kpi_name"] = json!(file.kpi);
    Ok(Json(v).into_response())
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum ObjectiveField {
    Text(String),
    Object(Target),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizeRequest {
    /// Total budget over the plan (default: what the last `periods` periods spent).
    budget: Option<f64>,
    #[serde(default = "default_periods")]
    periods: usize,
    /// Bounds as multiples of current spend: `{"tv": [0.5, 1.5]}`.
    #[serde(default)]
    bounds: BTreeMap<String, (f64, f64)>,
    /// `max-response`, `target-roas=R`, `target-cpa=C`, or `{"type": "target_roas", "roas": R}`.
    objective: Option<ObjectiveField>,
}

pub async fn optimize(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: OptimizeRequest = parse_body(body)?;
    let target = match req.objective {
        None => Target::MaxResponse,
        Some(ObjectiveField::Object(t)) => t,
        Some(ObjectiveField::Text(s)) => Target::parse(&s).map_err(|e| {
            let msg = match e {
                TargetParseError::NotANumber(_) => format!("objective {s:?}: {e}"),
                TargetParseError::Unknown => format!("objective {s:?}: {e}"),
            };
            ApiError::invalid(msg).with("field", "objective")
        })?,
    };
    let run = state.run();
    let file = mmm(&run)?;
    let periods = periods(req.periods)?;
    let allocation = file
        .allocate(periods, req.budget, &req.bounds, target)
        .map_err(|e| match e {
            FileError::UnknownChannel { .. } => mmm_error(e).with("field", "bounds"),
            other => mmm_error(other),
        })?;
    let mut v = serde_json::to_value(&allocation).map_err(|e| ApiError::internal(e.to_string()))?;
    v["periods"] = json!(periods);
    v["objective"] = json!(target);
    if let Some(p) = file.allocation_posterior(&allocation, periods) {
        v["posterior"] = serde_json::to_value(p).map_err(|e| ApiError::internal(e.to_string()))?;
    }
    Ok(Json(v).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    id: Option<Value>,
    frequency: f64,
    recency: f64,
    #[serde(rename = "T")]
    age: f64,
    #[serde(default)]
    monetary_value: f64,
}

fn default_horizon() -> String {
    "12m".into()
}
fn default_discount() -> f64 {
    0.01
}
fn default_margin() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClvRequest {
    customers: Vec<Customer>,
    #[serde(default = "default_horizon")]
    horizon: String,
    #[serde(default = "default_discount")]
    discount: f64,
    #[serde(default = "default_margin")]
    margin: f64,
}

pub async fn clv_score(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: ClvRequest = parse_body(body)?;
    let run = state.run();
    tokio::task::spawn_blocking(move || clv_blocking(&run, req))
        .await
        .map_err(task_failed)?
}

fn clv_blocking(run: &Run, req: ClvRequest) -> Result<Response, ApiError> {
    let model = run.clv.as_ref().ok_or_else(|| {
        ApiError::stage_missing(
            "customers",
            "clv/clv_model.json",
            "`adroit run` with a [transactions] table, or `adroit clv fit --out RUN_DIR/clv`",
        )
    })?;
    let (steps, length) = model.unit.horizon(&req.horizon).ok_or_else(|| {
        ApiError::invalid(format!(
            "horizon {:?}: write a whole number and a unit: 12m (months), 1y, 52w or 90d",
            req.horizon
        ))
        .with("field", "horizon")
    })?;
    let options = ClvOptions {
        periods: steps,
        period_length: length,
        discount_rate: req.discount,
        margin: req.margin,
    };
    options
        .check()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let n = req.customers.len();
    let (mut f, mut r, mut t, mut m) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for c in &req.customers {
        f.push(c.frequency);
        r.push(c.recency);
        t.push(c.age);
        m.push(c.monetary_value);
    }
    // Row numbers in the library's messages are 1-based positions in `customers`.
    let rfm = adroit_clv::Rfm::new(&f, &r, &t)
        .map_err(|e| ApiError::invalid(format!("customers: {e}")).with("field", "customers"))?;
    let scores = model
        .score(&rfm, &m, &options)
        .map_err(|e| ApiError::invalid(format!("customers: {e}")).with("field", "customers"))?;
    let cell = |v: &Option<Vec<f64>>, i: usize| v.as_ref().map(|v| v[i]);
    let rows: Vec<Value> = req
        .customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "id": c.id,
                "probability_alive": scores.probability_alive[i],
                "expected_purchases": scores.expected_purchases[i],
                "expected_spend": cell(&scores.expected_spend, i),
                "expected_value": cell(&scores.expected_value, i),
                "clv": cell(&scores.clv, i),
            })
        })
        .collect();
    Ok(Json(json!({
        "model": model.purchase.name(),
        "unit": model.unit,
        "horizon": req.horizon,
        "horizon_length": options.horizon(),
        "discount": req.discount,
        "margin": req.margin,
        "customers": rows,
    }))
    .into_response())
}

fn default_keywords() -> usize {
    5
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextRequest {
    texts: Vec<String>,
    /// Force a language (`zh` or `en`) instead of detecting it per text.
    lang: Option<adroit_text::Lang>,
    #[serde(default = "default_keywords")]
    keywords: usize,
    #[serde(default)]
    tokens: bool,
}

/// Most texts in one request.
pub const MAX_TEXTS: usize = 10_000;

pub async fn text_analyze(body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let req: TextRequest = parse_body(body)?;
    if req.texts.len() > MAX_TEXTS {
        return Err(ApiError::invalid(format!(
            "{} texts; at most {MAX_TEXTS} per request",
            req.texts.len()
        ))
        .with("field", "texts"));
    }
    if req.keywords > 100 {
        return Err(ApiError::invalid("keywords must be at most 100").with("field", "keywords"));
    }
    tokio::task::spawn_blocking(move || {
        let opts = adroit_text::Options {
            tokens: req.tokens,
            keywords: req.keywords,
            lang: req.lang,
            ..adroit_text::Options::default()
        };
        let texts: Vec<&str> = req.texts.iter().map(String::as_str).collect();
        let results = adroit_text::analyze(&texts, &opts, adroit_text::Scorer::builtin());
        Json(json!({ "backend": adroit_text::analyze::BUILTIN, "results": results }))
            .into_response()
    })
    .await
    .map_err(task_failed)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictRequest {
    rows: Vec<serde_json::Map<String, Value>>,
}

pub async fn predict(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: PredictRequest = parse_body(body)?;
    let run = state.run();
    if !run.models.contains_key(&name) {
        let known: Vec<&str> = run.models.keys().map(String::as_str).collect();
        return Err(ApiError::not_found(format!(
            "no model {name:?} in this run (models: {}); train one with `adroit model train --out RUN_DIR/models/{name}.json`",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    }
    tokio::task::spawn_blocking(move || {
        let model = &run.models[&name];
        let frame = rows_to_frame(&model.encoder.features, &req.rows)?;
        let predictions = model
            .predict(&frame)
            .map_err(|e| ApiError::invalid(e.to_string()).with("field", "rows"))?;
        let mut out = json!({
            "model": name,
            "task": model.task,
            "target": model.target,
            "predictions": predictions,
        });
        if model.task == Task::Classify {
            out["threshold"] = json!(model.threshold);
            out["positive_label"] = json!(model.positive_label);
            out["positive"] = json!(
                predictions
                    .iter()
                    .map(|p| *p >= model.threshold)
                    .collect::<Vec<_>>()
            );
        }
        Ok(Json(out).into_response())
    })
    .await
    .map_err(task_failed)?
}

/// The model's feature columns from JSON rows: numbers for numeric features (missing
/// or null → missing, filled as in training), text for categorical ones.
fn rows_to_frame(
    features: &[FeatureEncoding],
    rows: &[serde_json::Map<String, Value>],
) -> Result<Frame, ApiError> {
    let mut columns = Vec::with_capacity(features.len());
    for f in features {
        let values = match f {
            FeatureEncoding::Numeric { name, .. } => {
                let mut v = Vec::with_capacity(rows.len());
                for (i, row) in rows.iter().enumerate() {
                    v.push(match row.get(name) {
                        None | Some(Value::Null) => f64::NAN,
                        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
                        Some(Value::Bool(b)) => f64::from(u8::from(*b)),
                        Some(Value::String(s)) => s.trim().parse().map_err(|_| {
                            ApiError::invalid(format!(
                                "rows[{i}].{name}: {s:?} is not a number (the feature is numeric)"
                            ))
                            .with("field", format!("rows[{i}].{name}"))
                        })?,
                        Some(other) => {
                            return Err(ApiError::invalid(format!(
                                "rows[{i}].{name}: {other} is not a number (the feature is numeric)"
                            ))
                            .with("field", format!("rows[{i}].{name}")));
                        }
                    });
                }
                Values::Numeric(v)
            }
            FeatureEncoding::Categorical { name, .. } => Values::Categorical(
                rows.iter()
                    .map(|row| match row.get(name) {
                        None | Some(Value::Null) => None,
                        Some(Value::String(s)) => Some(s.clone()),
                        Some(other) => Some(other.to_string()),
                    })
                    .collect(),
            ),
        };
        columns.push(Column {
            name: f.name().to_string(),
            values,
        });
    }
    Ok(Frame::new(columns))
}

pub async fn runs_latest(State(state): State<AppState>) -> Result<Response, ApiError> {
    let run = state.run();
    match &run.manifest {
        Some(v) => Ok(Json(v.clone()).into_response()),
        None => Err(ApiError::not_found(
            "this run folder has no run.json: write it with `adroit run --out RUN_DIR`",
        )
        .with("stage", "run")),
    }
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    let run = state.run();
    Json(json!({
        "status": "ok",
        "run": run.dir.display().to_string(),
        "loaded_at": run.loaded_at,
        "mmm": run.mmm.is_some(),
        "clv": run.clv.is_some(),
        "models": run.models.keys().collect::<Vec<_>>(),
    }))
    .into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.shared.metrics.render(),
    )
        .into_response()
}

pub async fn index(State(state): State<AppState>) -> Response {
    let run: Arc<Run> = state.run();
    if let Some(html) = &run.report {
        return (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html.clone(),
        )
            .into_response();
    }
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>adroit serve</title></head><body>\
<h1>adroit serve</h1><p>Run folder: <code>{}</code> (no report.html yet: write it with <code>adroit report RUN_DIR</code>).</p>\
<p>OpenAPI document: <a href=\"/openapi.json\">/openapi.json</a>. Endpoints under /v1 and /metrics need <code>Authorization: Bearer TOKEN</code>.</p><ul>\
<li>POST /v1/text/analyze</li><li>POST /v1/predict/{{model}}</li><li>POST /v1/mmm/whatif</li><li>POST /v1/budget/optimize</li>\
<li>POST /v1/clv/score</li><li>GET /v1/runs/latest</li><li>GET /healthz</li><li>GET /metrics</li></ul></body></html>",
        html_escape(&run.dir.display().to_string())
    ))
    .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /openapi.json")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method; see /openapi.json",
    )
}
