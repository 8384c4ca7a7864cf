//! The OpenAPI 3.1 document at `/openapi.json`, written by hand with `serde_json`: the
//! request and response types are few and stable, and a derive crate (utoipa) would add
//! a proc-macro build and annotations on library types for a single document.

use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn json_body(schema: &str) -> Value {
    json!({
        "required": true,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
    })
}

fn ok(schema: &str) -> Value {
    json!({
        "description": "OK",
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
    })
}

/// Responses every authenticated POST can give besides 200.
fn post_errors(mut responses: Value, with_stage: bool) -> Value {
    let r = responses.as_object_mut().expect("object");
    r.insert(
        "400".into(),
        error_response("Malformed JSON or a wrong type; `field` names the place"),
    );
    r.insert(
        "401".into(),
        error_response("Missing, wrong or revoked token"),
    );
    r.insert("413".into(), error_response("Body larger than --max-body"));
    r.insert(
        "422".into(),
        error_response("Valid JSON with a value the model cannot take"),
    );
    r.insert(
        "503".into(),
        error_response("The request took longer than --timeout"),
    );
    if with_stage {
        r.insert(
            "409".into(),
            error_response(
                "The run has no output of the stage this endpoint needs; `stage` names it",
            ),
        );
    }
    responses
}

/// The document.
pub fn document() -> Value {
    let number = json!({"type": "number"});
    let nullable_number = json!({"type": ["number", "null"]});
    let secured = json!([{"bearer": []}]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "adroit serve",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Real-time scoring over an adroit run folder: budget what-ifs and allocation from the marketing mix model, customer value, text analysis and trained models. Endpoints under /v1 and /metrics need `Authorization: Bearer TOKEN` (`adroit token create`)."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string", "enum": ["unauthorized", "malformed_json", "bad_request", "payload_too_large", "invalid_value", "not_found", "method_not_allowed", "stage_not_run", "timeout", "internal"]},
                            "message": {"type": "string"},
                            "field": {"type": "string", "description": "The request field at fault"},
                            "stage": {"type": "string", "description": "The stage to run first"}
                        }
                    }}
                },
                "WhatIfRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "spend": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}, "description": "Spend per period by channel; channels left out keep their recent pace"},
                        "periods": {"type": "integer", "minimum": 1, "maximum": crate::api::MAX_PERIODS, "default": 4}
                    },
                    "examples": [{"spend": {"tv": 1200, "search": 800}, "periods": 4}]
                },
                "WhatIfResponse": {
                    "type": "object",
                    "required": ["periods", "baseline_periods", "kpi", "baseline", "media", "spend", "channels"],
                    "properties": {
                        "periods": {"type": "integer"},
                        "baseline_periods": {"type": "integer", "description": "Last modelled periods the baseline is the mean of"},
                        "kpi": {"type": "number", "description": "baseline + media over the plan"},
                        "kpi_name": {"type": "string"},
                        "baseline": number,
                        "media": number,
                        "spend": number,
                        "roas": nullable_number,
                        "channels": {"type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "channel": {"type": "string"},
                                "spend_per_period": number,
                                "spend": number,
                                "effect": number,
                                "roas": nullable_number
                            }
                        }}
                    }
                },
                "OptimizeRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "budget": {"type": "number", "minimum": 0, "description": "Total over the plan; default what the last `periods` periods spent"},
                        "periods": {"type": "integer", "minimum": 1, "maximum": crate::api::MAX_PERIODS, "default": 4},
                        "bounds": {"type": "object", "additionalProperties": {"type": "array", "prefixItems": [number, number], "minItems": 2, "maxItems": 2}, "description": "Per channel [low, high] as multiples of current spend (default [0.5, 1.5])"},
                        "objective": {"oneOf": [
                            {"type": "string", "description": "max-response, target-roas=R or target-cpa=C"},
                            {"type": "object", "properties": {"type": {"enum": ["max_response", "target_roas", "target_cpa"]}, "roas": number, "cpa": number}, "required": ["type"]}
                        ]}
                    },
                    "examples": [{"budget": 100000, "periods": 4, "bounds": {"tv": [0.5, 2.0]}, "objective": "max-response"}]
                },
                "Allocation": {
                    "type": "object",
                    "properties": {
                        "periods": {"type": "integer"},
                        "objective": {"type": "object"},
                        "current_spend": number, "total_spend": number,
                        "current_response": number, "total_response": number,
                        "channels": {"type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "current_spend": number, "optimal_spend": number,
                                "current_response": number, "optimal_response": number,
                                "current_roas": nullable_number, "optimal_roas": nullable_number,
                                "marginal_roas": number,
                                "binding": {"enum": ["none", "lower", "upper"]},
                                "reason": {"type": "string"}
                            }
                        }}
                    }
                },
                "ClvRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["customers"],
                    "properties": {
                        "customers": {"type": "array", "items": {
                            "type": "object",
                            "required": ["frequency", "recency", "T"],
                            "properties": {
                                "id": {"description": "Echoed back"},
                                "frequency": {"type": "number", "minimum": 0, "description": "Repeat purchases"},
                                "recency": {"type": "number", "minimum": 0, "description": "First to last purchase, in the model's unit"},
                                "T": {"type": "number", "minimum": 0, "description": "First purchase to now, in the model's unit"},
                                "monetary_value": {"type": "number", "default": 0, "description": "Mean value of the repeat purchases"}
                            }
                        }},
                        "horizon": {"type": "string", "default": "12m", "description": "12m, 1y, 52w or 90d"},
                        "discount": {"type": "number", "default": 0.01, "description": "Discount rate per step of the horizon"},
                        "margin": {"type": "number", "default": 1.0}
                    }
                },
                "ClvResponse": {
                    "type": "object",
                    "properties": {
                        "model": {"type": "string"}, "unit": {"enum": ["days", "weeks"]},
                        "horizon": {"type": "string"}, "horizon_length": number,
                        "discount": number, "margin": number,
                        "customers": {"type": "array", "items": {
                            "type": "object",
                            "properties": {
                                "id": {}, "probability_alive": number, "expected_purchases": number,
                                "expected_spend": nullable_number, "expected_value": nullable_number, "clv": nullable_number
                            }
                        }}
                    }
                },
                "TextRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["texts"],
                    "properties": {
                        "texts": {"type": "array", "items": {"type": "string"}, "maxItems": crate::api::MAX_TEXTS},
                        "lang": {"enum": ["zh", "en"], "description": "Force a language instead of detecting it"},
                        "keywords": {"type": "integer", "minimum": 0, "maximum": 100, "default": 5},
                        "tokens": {"type": "boolean", "default": false}
                    },
                    "examples": [{"texts": ["物流很快，质量不错", "Terrible battery, refund please"]}]
                },
                "TextResponse": {
                    "type": "object",
                    "properties": {
                        "backend": {"type": "string"},
                        "results": {"type": "array", "items": {
                            "type": "object",
                            "description": "adroit_text::Analysis",
                            "properties": {
                                "lang": {"enum": ["zh", "en", "mixed", "unknown"]},
                                "sentiment": {"type": "object"},
                                "aspects": {"type": "array"},
                                "keywords": {"type": "array"},
                                "entities": {"type": "array"},
                                "backends": {"type": "object"}
                            }
                        }}
                    }
                },
                "PredictRequest": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["rows"],
                    "properties": {"rows": {"type": "array", "items": {"type": "object", "description": "Feature name → value (numbers for numeric features, strings for categorical ones; missing or null is a missing value)"}}}
                },
                "PredictResponse": {
                    "type": "object",
                    "properties": {
                        "model": {"type": "string"},
                        "task": {"enum": ["regress", "classify"]},
                        "target": {"type": "string"},
                        "predictions": {"type": "array", "items": number, "description": "Values, or P(positive) when classifying"},
                        "threshold": number,
                        "positive_label": {"type": ["string", "null"]},
                        "positive": {"type": "array", "items": {"type": "boolean"}}
                    }
                },
                "Health": {
                    "type": "object",
                    "properties": {
                        "status": {"const": "ok"}, "run": {"type": "string"}, "loaded_at": {"type": "string"},
                        "mmm": {"type": "boolean"}, "clv": {"type": "boolean"}, "models": {"type": "array", "items": {"type": "string"}}
                    }
                },
                "Run": {"type": "object", "description": "run.json as `adroit run` wrote it (format \"adroit-run v1\")"}
            }
        },
        "paths": {
            "/v1/mmm/whatif": {"post": {
                "summary": "Predicted KPI, ROAS and per-channel effect of a spend plan",
                "security": secured,
                "requestBody": json_body("WhatIfRequest"),
                "responses": post_errors(json!({"200": ok("WhatIfResponse")}), true)
            }},
            "/v1/budget/optimize": {"post": {
                "summary": "The budget split that maximises response, or meets a target ROAS/CPA",
                "security": secured,
                "requestBody": json_body("OptimizeRequest"),
                "responses": post_errors(json!({"200": ok("Allocation")}), true)
            }},
            "/v1/clv/score": {"post": {
                "summary": "Expected purchases, P(alive), expected spend and CLV per customer",
                "security": secured,
                "requestBody": json_body("ClvRequest"),
                "responses": post_errors(json!({"200": ok("ClvResponse")}), true)
            }},
            "/v1/text/analyze": {"post": {
                "summary": "Language, sentiment, aspects, keywords and entities of texts (zh and en; built-in back end)",
                "security": secured,
                "requestBody": json_body("TextRequest"),
                "responses": post_errors(json!({"200": ok("TextResponse")}), false)
            }},
            "/v1/predict/{model}": {"post": {
                "summary": "Predictions of a trained model (RUN_DIR/models/{model}.json)",
                "security": secured,
                "parameters": [{"name": "model", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": json_body("PredictRequest"),
                "responses": post_errors(json!({"200": ok("PredictResponse"), "404": error_response("No such model in the run")}), false)
            }},
            "/v1/runs/latest": {"get": {
                "summary": "The run being served (run.json)",
                "security": secured,
                "responses": {"200": ok("Run"), "401": error_response("Missing, wrong or revoked token"), "404": error_response("The folder has no run.json")}
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics: requests and latency per route and status, run reloads",
                "security": secured,
                "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}, "401": error_response("Missing, wrong or revoked token")}
            }},
            "/healthz": {"get": {
                "summary": "Liveness and what the loaded run holds (no token needed)",
                "responses": {"200": ok("Health")}
            }},
            "/": {"get": {
                "summary": "The run's report.html, or a page listing the endpoints (no token needed)",
                "responses": {"200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}}}
            }},
            "/openapi.json": {"get": {
                "summary": "This document (no token needed)",
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }}
        }
    })
}
