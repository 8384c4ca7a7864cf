//! `adroit serve` over real HTTP on 127.0.0.1 with a real client (ureq): every endpoint
//! checked against the library called directly, auth failures, limits and malformed
//! bodies, concurrent requests during a reload, graceful shutdown.
//!
//! The run folder is `tests/data/run` (run.json, mmm/result.json and clv/clv_model.json
//! of a simulated world, as `adroit run` wrote them), copied per test; a trained model is
//! added to its models/ folder.

use adroit_clv::ClvOptions;
use adroit_clv::file::ModelFile;
use adroit_learn::data::{Column, Frame, Values};
use adroit_learn::model::{Algo, ModelSpec, Task, TrainedModel};
use adroit_mmm::file::{ResultFile, Target};
use adroit_serve::{Config, Server, tokens};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const UNAUTHORIZED: &str =
    r#"{"error":{"code":"unauthorized","message":"a valid bearer token is required"}}"#;

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// A small frame: a numeric and a categorical feature and a target.
fn training_frame() -> Frame {
    let n = 60;
    let x: Vec<f64> = (0..n).map(|i| i as f64 / 3.0).collect();
    let region: Vec<Option<String>> = (0..n)
        .map(|i| Some(["north", "south", "east"][i % 3].to_string()))
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| 2.0 * x[i] + [0.0, 5.0, -3.0][i % 3] + ((i * 7) % 5) as f64 * 0.1)
        .collect();
    Frame::new(vec![
        Column {
            name: "x".into(),
            values: Values::Numeric(x),
        },
        Column {
            name: "region".into(),
            values: Values::Categorical(region),
        },
        Column {
            name: "y".into(),
            values: Values::Numeric(y),
        },
    ])
}

fn train() -> TrainedModel {
    let spec = ModelSpec {
        task: Task::Regress,
        algo: Algo::from_name("ridge").unwrap(),
        target: "y".into(),
        features: vec!["x".into(), "region".into()],
        positive: None,
        threshold: 0.5,
        seed: 7,
    };
    TrainedModel::train(&training_frame(), &spec).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    run: PathBuf,
    tokens: PathBuf,
    token: String,
    server: Option<Server>,
    base: String,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with(|_| {}, |_| {})
    }

    /// `prepare` edits the run folder before the server starts; `configure` the config.
    fn with(prepare: impl FnOnce(&Path), configure: impl FnOnce(&mut Config)) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/run"),
            &run,
        );
        std::fs::create_dir_all(run.join("models")).unwrap();
        std::fs::write(
            run.join("models/sales.json"),
            serde_json::to_vec(&train()).unwrap(),
        )
        .unwrap();
        prepare(&run);
        let tokens_path = dir.path().join("tokens.json");
        let token = tokens::create(&tokens_path, "tests").unwrap();
        let mut config = Config::new(
            &run,
            "127.0.0.1:0".parse().unwrap(),
            Some(tokens_path.clone()),
        );
        config.reload_interval = Duration::from_millis(100);
        configure(&mut config);
        let server = Server::start(config).unwrap();
        let base = format!("http://{}", server.addr());
        Fixture {
            _dir: dir,
            run,
            tokens: tokens_path,
            token,
            server: Some(server),
            base,
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        request(&agent(), "GET", &self.base, path, Some(&self.token), None)
    }

    fn post(&self, path: &str, body: &str) -> (u16, String) {
        request(
            &agent(),
            "POST",
            &self.base,
            path,
            Some(&self.token),
            Some(body),
        )
    }

    fn post_json(&self, path: &str, body: Value) -> Value {
        let (status, text) = self.post(path, &body.to_string());
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).unwrap()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn request(
    agent: &ureq::Agent,
    method: &str,
    base: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let url = format!("{base}{path}");
    let auth = token.map(|t| format!("Bearer {t}"));
    let response = match method {
        "GET" => {
            let mut r = agent.get(&url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        "POST" => {
            let mut r = agent.post(&url).header("Content-Type", "application/json");
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.send(body.unwrap_or(""))
        }
        "DELETE" => {
            let mut r = agent.delete(&url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        _ => unreachable!(),
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .unwrap();
    (status, text)
}

fn error_code(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    v["error"]["code"].as_str().unwrap().to_string()
}

fn read_mmm(run: &Path) -> ResultFile {
    ResultFile::from_json(&std::fs::read(run.join("mmm/result.json")).unwrap()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// JSON equality with numbers equal to 1e-12 relative: serde_json's default float
/// parser (no `float_roundtrip`) may be off by an ulp or two on the client's side.
fn assert_json_close(got: &Value, want: &Value, at: &str) {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300),
                "{at}: {a} != {b}"
            );
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{at}: lengths differ");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_json_close(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            assert_eq!(ka, kb, "{at}: keys differ");
            for (k, x) in a {
                assert_json_close(x, &b[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(got, want, "{at}"),
    }
}

#[test]
fn open_endpoints_need_no_token() {
    let f = Fixture::new();
    let a = agent();
    let (s, body) = request(&a, "GET", &f.base, "/healthz", None, None);
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["mmm"], true);
    assert_eq!(v["clv"], true);
    assert_eq!(v["models"], json!(["sales"]));

    let (s, body) = request(&a, "GET", &f.base, "/openapi.json", None, None);
    assert_eq!(s, 200);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/text/analyze",
        "/v1/predict/{model}",
        "/v1/mmm/whatif",
        "/v1/budget/optimize",
        "/v1/clv/score",
        "/v1/runs/latest",
        "/healthz",
        "/metrics",
        "/",
        "/openapi.json",
    ] {
        assert!(doc["paths"].get(path).is_some(), "openapi lacks {path}");
    }
    // Every $ref points at a schema that exists.
    let text = body.clone();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &part[..part.find('"').unwrap()];
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {name}"
        );
    }

    // No report.html in the fixture: the index lists the endpoints.
    let (s, body) = request(&a, "GET", &f.base, "/", None, None);
    assert_eq!(s, 200);
    assert!(body.contains("/v1/mmm/whatif"), "{body}");
}

#[test]
fn index_serves_the_report_when_present() {
    let f = Fixture::with(
        |run| std::fs::write(run.join("report.html"), "<html><body>REPORT</body></html>").unwrap(),
        |_| {},
    );
    let (s, body) = request(&agent(), "GET", &f.base, "/", None, None);
    assert_eq!(s, 200);
    assert_eq!(body, "<html><body>REPORT</body></html>");
}

#[test]
fn runs_latest_is_run_json() {
    let f = Fixture::new();
    let (s, body) = f.get("/v1/runs/latest");
    assert_eq!(s, 200);
    let served: Value = serde_json::from_str(&body).unwrap();
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(f.run.join("run.json")).unwrap()).unwrap();
    assert_eq!(served, on_disk);
    assert_eq!(served["format"], "adroit-run v1");
}

#[test]
fn whatif_matches_the_library() {
    let f = Fixture::new();
    let file = read_mmm(&f.run);

    // At current spend (no plan): the model's own prediction of the next periods.
    let v = f.post_json("/v1/mmm/whatif", json!({}));
    let lib = file.whatif(&BTreeMap::new(), 4).unwrap();
    assert_eq!(v["periods"], 4);
    assert!(close(v["kpi"].as_f64().unwrap(), lib.kpi));
    assert!(close(v["baseline"].as_f64().unwrap(), lib.baseline));
    assert!(close(v["media"].as_f64().unwrap(), lib.media));
    assert_eq!(v["kpi_name"], file.kpi.as_str());
    // Current spend is each channel's recent pace.
    for (c, lc) in v["channels"].as_array().unwrap().iter().zip(&lib.channels) {
        assert_eq!(c["channel"], lc.channel.as_str());
        let recent = file.recent_spend(&lc.channel, 4);
        assert!(close(c["spend"].as_f64().unwrap(), recent));
        assert!(close(c["effect"].as_f64().unwrap(), lc.effect));
        match c["roas"].as_f64() {
            Some(r) => assert!(close(r, lc.effect / recent)),
            None => assert_eq!(recent, 0.0),
        }
    }
    assert!(close(
        v["kpi"].as_f64().unwrap(),
        v["baseline"].as_f64().unwrap() + v["media"].as_f64().unwrap()
    ));

    // A plan: one channel doubled, another switched off, over 8 periods.
    let ch = file.channels();
    let mut plan = BTreeMap::new();
    plan.insert(ch[0].clone(), 2.0 * file.recent_spend(&ch[0], 8) / 8.0);
    plan.insert(ch[1].clone(), 0.0);
    let v = f.post_json("/v1/mmm/whatif", json!({"spend": plan, "periods": 8}));
    let lib = file.whatif(&plan, 8).unwrap();
    let mut want = serde_json::to_value(&lib).unwrap();
    want["kpi_name"] = json!(file.kpi);
    assert_json_close(&v, &want, "whatif");
    assert_eq!(v["channels"][1]["roas"], Value::Null);
}

#[test]
fn budget_optimize_matches_the_library() {
    let f = Fixture::new();
    let file = read_mmm(&f.run);
    let v = f.post_json("/v1/budget/optimize", json!({"periods": 4}));
    let lib = file
        .allocate(4, None, &BTreeMap::new(), Target::MaxResponse)
        .unwrap();
    assert!(close(
        v["total_response"].as_f64().unwrap(),
        lib.total_response
    ));
    assert!(close(v["total_spend"].as_f64().unwrap(), lib.total_spend));
    for (c, lc) in v["channels"].as_array().unwrap().iter().zip(&lib.channels) {
        assert_eq!(c["name"], lc.name.as_str());
        assert!(close(
            c["optimal_spend"].as_f64().unwrap(),
            lc.optimal_spend
        ));
    }
    // The allocation never does worse than the current split at the same budget.
    assert!(lib.total_response >= lib.current_response * (1.0 - 1e-12));

    // Bounds, a budget and the object form of the objective.
    let ch = file.channels();
    let mut bounds = BTreeMap::new();
    bounds.insert(ch[0].clone(), (0.8, 1.2));
    let budget = lib.current_spend * 1.1;
    let v = f.post_json(
        "/v1/budget/optimize",
        json!({"budget": budget, "periods": 6, "bounds": {&ch[0]: [0.8, 1.2]}, "objective": {"type": "max_response"}}),
    );
    let lib = file
        .allocate(6, Some(budget), &bounds, Target::MaxResponse)
        .unwrap();
    let mut expected = serde_json::to_value(&lib).unwrap();
    expected["periods"] = json!(6);
    expected["objective"] = json!({"type": "max_response"});
    assert_json_close(&v, &expected, "allocation");

    // A target ROAS in the CLI's text form.
    let v = f.post_json(
        "/v1/budget/optimize",
        json!({"objective": "target-roas=0.5"}),
    );
    assert_eq!(v["objective"], json!({"type": "target_roas", "roas": 0.5}));

    // Unknown channel in bounds → 422 naming the field.
    let (s, body) = f.post("/v1/budget/optimize", r#"{"bounds": {"radio": [0, 2]}}"#);
    assert_eq!(s, 422, "{body}");
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["error"]["field"], "bounds");
    assert!(e["error"]["message"].as_str().unwrap().contains("radio"));
    // Inverted bounds on a channel that spends: the allocator's message.
    let spending = ch.iter().find(|c| file.recent_spend(c, 4) > 0.0).unwrap();
    let (s, body) = f.post(
        "/v1/budget/optimize",
        &json!({"bounds": {spending: [2.0, 1.0]}}).to_string(),
    );
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("lower bound"), "{body}");
    let (s, body) = f.post("/v1/budget/optimize", r#"{"objective": "max-profit"}"#);
    assert_eq!(s, 422, "{body}");
    assert_eq!(error_code(&body), "invalid_value");
}

#[test]
fn clv_score_matches_the_library() {
    let f = Fixture::new();
    let model =
        ModelFile::from_json(&std::fs::read_to_string(f.run.join("clv/clv_model.json")).unwrap())
            .unwrap();
    let customers = json!([
        {"id": "C1", "frequency": 0, "recency": 0, "T": 139.28571428571428, "monetary_value": 0},
        {"id": "C2", "frequency": 8, "recency": 94.85714285714286, "T": 108.71428571428571, "monetary_value": 21.255},
        {"id": 3, "frequency": 2, "recency": 30.0, "T": 40.0, "monetary_value": 55.0},
    ]);
    let v = f.post_json(
        "/v1/clv/score",
        json!({"customers": customers, "horizon": "12m", "discount": 0.01}),
    );
    let (fr, rc, t, m) = (
        [0.0, 8.0, 2.0],
        [0.0, 94.85714285714286, 30.0],
        [139.28571428571428, 108.71428571428571, 40.0],
        [0.0, 21.255, 55.0],
    );
    let rfm = adroit_clv::Rfm::new(&fr, &rc, &t).unwrap();
    let options = ClvOptions {
        periods: 12,
        period_length: 4.345,
        discount_rate: 0.01,
        margin: 1.0,
    };
    let lib = model.score(&rfm, &m, &options).unwrap();
    let rows = v["customers"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["id"], "C1");
    assert_eq!(rows[2]["id"], 3);
    for (i, row) in rows.iter().enumerate() {
        let want = json!({
            "id": row["id"],
            "probability_alive": lib.probability_alive[i],
            "expected_purchases": lib.expected_purchases[i],
            "expected_spend": lib.expected_spend.as_ref().unwrap()[i],
            "expected_value": lib.expected_value.as_ref().unwrap()[i],
            "clv": lib.clv.as_ref().unwrap()[i],
        });
        assert_json_close(row, &want, &format!("customers[{i}]"));
    }
    // The same figures `adroit clv predict` wrote for C000001 and C000002 of this model.
    assert!(close(rows[0]["clv"].as_f64().unwrap(), 1.855783194764936));
    assert!(close(
        rows[1]["probability_alive"].as_f64().unwrap(),
        0.8160295592953704
    ));
    assert!(close(rows[1]["clv"].as_f64().unwrap(), 56.44065669976521));
    assert_eq!(v["model"], "BG/NBD");

    // Recency beyond T is the library's error, as 422.
    let (s, body) = f.post(
        "/v1/clv/score",
        r#"{"customers": [{"frequency": 1, "recency": 50, "T": 10}]}"#,
    );
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("recency"), "{body}");
    let (s, body) = f.post(
        "/v1/clv/score",
        r#"{"customers": [], "horizon": "12 parsecs"}"#,
    );
    assert_eq!(s, 422, "{body}");
}

#[test]
fn text_analyze_matches_the_library() {
    let f = Fixture::new();
    let texts = [
        "物流很快，质量不错，就是价格有点贵。",
        "The battery died after two days. Terrible support, I want a refund.",
    ];
    let v = f.post_json("/v1/text/analyze", json!({"texts": texts}));
    let lib = adroit_text::analyze(
        &texts,
        &adroit_text::Options::default(),
        adroit_text::Scorer::builtin(),
    );
    assert_json_close(
        &v["results"],
        &serde_json::to_value(&lib).unwrap(),
        "results",
    );
    assert_eq!(v["results"][0]["lang"], "zh");
    assert_eq!(v["results"][1]["lang"], "en");
}

#[test]
fn predict_matches_the_library() {
    let f = Fixture::new();
    // The model as the server has it: read back from its file.
    let model: TrainedModel =
        serde_json::from_slice(&std::fs::read(f.run.join("models/sales.json")).unwrap()).unwrap();
    let rows = json!([
        {"x": 1.5, "region": "north"},
        {"x": "4", "region": "east", "ignored": true},
        {"region": "south"},
    ]);
    let v = f.post_json("/v1/predict/sales", json!({"rows": rows}));
    let frame = Frame::new(vec![
        Column {
            name: "x".into(),
            values: Values::Numeric(vec![1.5, 4.0, f64::NAN]),
        },
        Column {
            name: "region".into(),
            values: Values::Categorical(vec![
                Some("north".into()),
                Some("east".into()),
                Some("south".into()),
            ]),
        },
    ]);
    let lib = model.predict(&frame).unwrap();
    assert_json_close(&v["predictions"], &json!(lib), "predictions");
    assert_eq!(v["task"], "regress");

    let (s, body) = f.post("/v1/predict/nope", r#"{"rows": []}"#);
    assert_eq!(s, 404, "{body}");
    assert_eq!(error_code(&body), "not_found");
    assert!(body.contains("sales"), "{body}");
    let (s, body) = f.post("/v1/predict/sales", r#"{"rows": [{"x": [1]}]}"#);
    assert_eq!(s, 422, "{body}");
}

#[test]
fn auth_failures_are_401_without_detail() {
    let f = Fixture::new();
    let a = agent();
    let body = r#"{"spend": {}}"#;
    for token in [
        None,
        Some("wrong"),
        Some(""),
        Some(&f.token[..f.token.len() - 1]),
    ] {
        let (s, text) = request(&a, "POST", &f.base, "/v1/mmm/whatif", token, Some(body));
        assert_eq!(s, 401, "{token:?}");
        assert_eq!(text, UNAUTHORIZED);
    }
    let (s, text) = request(&a, "GET", &f.base, "/metrics", None, None);
    assert_eq!((s, text.as_str()), (401, UNAUTHORIZED));
    let (s, text) = request(&a, "GET", &f.base, "/v1/runs/latest", Some("x"), None);
    assert_eq!((s, text.as_str()), (401, UNAUTHORIZED));
    // A wrong scheme.
    let mut r = a
        .get(format!("{}/v1/runs/latest", f.base))
        .header("Authorization", format!("Basic {}", f.token))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.body_mut().read_to_string().unwrap(), UNAUTHORIZED);

    // The valid token works; revoked, it is refused at once (no restart).
    let (s, _) = f.post("/v1/mmm/whatif", body);
    assert_eq!(s, 200);
    tokens::revoke(&f.tokens, "tests").unwrap();
    let (s, text) = f.post("/v1/mmm/whatif", body);
    assert_eq!((s, text.as_str()), (401, UNAUTHORIZED));
    // A new token is accepted without a restart.
    let fresh = tokens::create(&f.tokens, "fresh").unwrap();
    let (s, _) = request(&a, "GET", &f.base, "/v1/runs/latest", Some(&fresh), None);
    assert_eq!(s, 200);
    // Revoking one token leaves the others.
    let (s, text) = f.get("/v1/runs/latest");
    assert_eq!((s, text.as_str()), (401, UNAUTHORIZED));
}

#[test]
fn token_file_stores_hashes_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    let a = tokens::create(&path, "ci").unwrap();
    let b = tokens::create(&path, "dashboard").unwrap();
    assert_ne!(a, b);
    assert!(a.starts_with(tokens::PREFIX) && a.len() == tokens::PREFIX.len() + 64);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&a) && !text.contains(&b));
    assert!(text.contains(&tokens::hash(&a)));
    assert!(matches!(
        tokens::create(&path, "ci"),
        Err(tokens::TokenError::Exists(_))
    ));
    assert!(matches!(
        tokens::create(&path, "bad name"),
        Err(tokens::TokenError::BadName(_))
    ));
    tokens::revoke(&path, "ci").unwrap();
    assert!(matches!(
        tokens::revoke(&path, "ci"),
        Err(tokens::TokenError::NotFound(_))
    ));
    let list = tokens::list(&path).unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].revoked.is_some() && list[1].revoked.is_none());
    let listed = serde_json::to_string(&list).unwrap();
    assert!(!listed.contains(&tokens::hash(&b)));
    let store = tokens::TokenStore::open(&path).unwrap();
    assert!(!store.verify(&a));
    assert!(store.verify(&b));
}

#[test]
fn bad_requests_get_json_errors() {
    let f = Fixture::with(|_| {}, |c| c.max_body = 64 * 1024);
    // Malformed JSON: 400 with serde's message.
    let (s, body) = f.post("/v1/mmm/whatif", r#"{"spend": {"tv": 1"#);
    assert_eq!(s, 400, "{body}");
    assert_eq!(error_code(&body), "malformed_json");
    // A wrong type: 400 naming the field.
    let (s, body) = f.post("/v1/mmm/whatif", r#"{"spend": {"tv": "lots"}}"#);
    assert_eq!(s, 400, "{body}");
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["error"]["field"], "spend.tv");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid type")
    );
    // An unknown field.
    let (s, body) = f.post("/v1/mmm/whatif", r#"{"spnd": {}}"#);
    assert_eq!(s, 400, "{body}");
    // Negative spend and an unknown channel: 422.
    let file = read_mmm(&f.run);
    let ch = &file.channels()[0];
    let (s, body) = f.post("/v1/mmm/whatif", &json!({"spend": {ch: -5.0}}).to_string());
    assert_eq!(s, 422, "{body}");
    assert_eq!(error_code(&body), "invalid_value");
    let (s, body) = f.post("/v1/mmm/whatif", r#"{"spend": {"radio": 5}}"#);
    assert_eq!(s, 422, "{body}");
    assert!(
        body.contains("radio") && body.contains(ch.as_str()),
        "{body}"
    );
    let (s, body) = f.post("/v1/mmm/whatif", r#"{"periods": 0}"#);
    assert_eq!(s, 422, "{body}");
    let (s, body) = f.post("/v1/mmm/whatif", r#"{"periods": 100000000}"#);
    assert_eq!(s, 422, "{body}");
    // Oversized: 413.
    let big = format!(r#"{{"texts": ["{}"]}}"#, "a".repeat(100 * 1024));
    let (s, body) = f.post("/v1/text/analyze", &big);
    assert_eq!(s, 413, "{body}");
    assert_eq!(error_code(&body), "payload_too_large");
    // Unknown route 404, wrong method 405: JSON too.
    let (s, body) = f.get("/v1/nothing");
    assert_eq!((s, error_code(&body).as_str()), (404, "not_found"));
    let (s, body) = f.get("/v1/mmm/whatif");
    assert_eq!((s, error_code(&body).as_str()), (405, "method_not_allowed"));
    let (s, body) = request(
        &agent(),
        "DELETE",
        &f.base,
        "/healthz",
        Some(&f.token),
        None,
    );
    assert_eq!((s, error_code(&body).as_str()), (405, "method_not_allowed"));
}

#[test]
fn slow_requests_time_out_with_503() {
    let f = Fixture::with(|_| {}, |c| c.timeout = Duration::from_millis(1));
    let texts: Vec<String> = (0..2000)
        .map(|i| {
            format!("第{i}个订单：物流很快，质量不错，但是客服态度很差。Order {i} arrived late.")
        })
        .collect();
    let (s, body) = f.post("/v1/text/analyze", &json!({"texts": texts}).to_string());
    assert_eq!(s, 503, "{}", &body[..body.len().min(200)]);
    assert_eq!(error_code(&body), "timeout");
    // The server still answers.
    let (s, _) = request(&agent(), "GET", &f.base, "/healthz", None, None);
    assert_eq!(s, 200);
}

#[test]
fn missing_stages_say_which_to_run() {
    let f = Fixture::with(
        |run| {
            std::fs::remove_dir_all(run.join("mmm")).unwrap();
            std::fs::remove_dir_all(run.join("clv")).unwrap();
            std::fs::remove_file(run.join("run.json")).unwrap();
        },
        |_| {},
    );
    let (s, body) = f.post("/v1/mmm/whatif", "{}");
    assert_eq!(s, 409, "{body}");
    let e: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["error"]["code"], "stage_not_run");
    assert_eq!(e["error"]["stage"], "mmm");
    let (s, body) = f.post("/v1/budget/optimize", "{}");
    assert_eq!(s, 409, "{body}");
    let (s, body) = f.post("/v1/clv/score", r#"{"customers": []}"#);
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("customers"), "{body}");
    let (s, body) = f.get("/v1/runs/latest");
    assert_eq!(s, 404, "{body}");
    // What needs no stage still works.
    let (s, _) = f.post("/v1/text/analyze", r#"{"texts": ["ok"]}"#);
    assert_eq!(s, 200);
}

#[test]
fn no_auth_only_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/run"),
        dir.path(),
    );
    let config = Config::new(dir.path(), "0.0.0.0:0".parse().unwrap(), None);
    assert!(matches!(
        Server::start(config),
        Err(adroit_serve::ServeError::NoAuthOffLoopback(_))
    ));
    let config = Config::new(dir.path(), "127.0.0.1:0".parse().unwrap(), None);
    let server = Server::start(config).unwrap();
    let base = format!("http://{}", server.addr());
    let (s, _) = request(&agent(), "POST", &base, "/v1/mmm/whatif", None, Some("{}"));
    assert_eq!(s, 200);
    server.shutdown().unwrap();
}

#[test]
fn metrics_count_requests_by_route_and_status() {
    let f = Fixture::new();
    for _ in 0..3 {
        f.post("/v1/mmm/whatif", "{}");
    }
    f.post("/v1/mmm/whatif", "{");
    request(&agent(), "GET", &f.base, "/metrics", Some("bad"), None);
    let (s, text) = f.get("/metrics");
    assert_eq!(s, 200);
    assert!(
        text.contains(
            r#"adroit_http_requests_total{method="POST",route="/v1/mmm/whatif",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"adroit_http_requests_total{method="POST",route="/v1/mmm/whatif",status="400"} 1"#
    ));
    assert!(text.contains(r#"route="/metrics",status="401"} 1"#));
    assert!(text.contains(
        r#"adroit_http_request_duration_seconds_bucket{method="POST",route="/v1/mmm/whatif",status="200",le="+Inf"} 3"#
    ));
    assert!(text.contains("# TYPE adroit_http_request_duration_seconds histogram"));
}

/// Rewrites `result.json` (atomically) with the baseline raised by `delta` per period,
/// then `run.json`, as a new `adroit run` would.
fn publish_new_run(run: &Path, delta: f64) {
    let path = run.join("mmm/result.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for b in v["baseline"].as_array_mut().unwrap() {
        *b = json!(b.as_f64().unwrap() + delta);
    }
    let tmp = run.join("mmm/.result.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&v).unwrap()).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let path = run.join("run.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["finished"] = json!(format!("2026-11-29T19:00:{:02}Z", (delta as u64) % 60));
    let tmp = run.join(".run.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
}

fn wait_for(deadline: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ok()
}

#[test]
fn concurrent_requests_during_a_reload_all_succeed() {
    let f = Fixture::new();
    let old = read_mmm(&f.run).whatif(&BTreeMap::new(), 4).unwrap().kpi;
    let delta = 1000.0;
    let new = old + 4.0 * delta;
    let base = f.base.clone();
    let token = f.token.clone();
    let started = std::sync::Arc::new(std::sync::Barrier::new(9));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (base, token, started) = (base.clone(), token.clone(), started.clone());
            std::thread::spawn(move || {
                let a = agent();
                started.wait();
                let mut seen = Vec::new();
                // At least 50 requests each, and on until this thread sees the new run
                // (bounded), so the requests straddle the reload whatever the timing.
                let start = Instant::now();
                while seen.len() < 50
                    || (!seen
                        .iter()
                        .any(|k: &f64| (k - new).abs() < 1e-6 * new.abs())
                        && start.elapsed() < Duration::from_secs(30))
                {
                    let (s, body) = request(
                        &a,
                        "POST",
                        &base,
                        "/v1/mmm/whatif",
                        Some(&token),
                        Some("{}"),
                    );
                    assert_eq!(s, 200, "{body}");
                    let v: Value = serde_json::from_str(&body).unwrap();
                    seen.push(v["kpi"].as_f64().unwrap());
                    std::thread::sleep(Duration::from_millis(2));
                }
                seen
            })
        })
        .collect();
    started.wait();
    std::thread::sleep(Duration::from_millis(100));
    publish_new_run(&f.run, delta);
    let mut all = Vec::new();
    for t in threads {
        all.extend(t.join().unwrap());
    }
    assert!(all.len() >= 400);
    // Every answer is the old run's or the new run's, never a mix or an error; both
    // were served.
    for k in &all {
        assert!(
            (k - old).abs() < 1e-6 * old.abs() || (k - new).abs() < 1e-6 * new.abs(),
            "kpi {k} is neither {old} nor {new}"
        );
    }
    assert!(all.iter().any(|k| (k - old).abs() < 1e-6 * old.abs()));
    assert!(all.iter().any(|k| (k - new).abs() < 1e-6 * new.abs()));
    // The new run is served within generous bounds.
    assert!(wait_for(Duration::from_secs(20), || {
        let (_, body) = f.post("/v1/mmm/whatif", "{}");
        let v: Value = serde_json::from_str(&body).unwrap();
        (v["kpi"].as_f64().unwrap() - new).abs() < 1e-6 * new.abs()
    }));
    let (_, run) = f.get("/v1/runs/latest");
    assert!(run.contains("2026-11-29T19:00:"), "{run}");

    // A run that fails to load leaves the current one in place.
    std::fs::write(f.run.join("mmm/result.json"), b"{ not json").unwrap();
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(f.run.join("run.json")).unwrap()).unwrap();
    v["finished"] = json!("2026-11-29T20:00:00Z");
    std::fs::write(f.run.join("run.json"), serde_json::to_vec(&v).unwrap()).unwrap();
    assert!(wait_for(Duration::from_secs(20), || {
        let (_, m) = f.get("/metrics");
        m.contains("adroit_run_reload_failures_total 1")
    }));
    let (s, body) = f.post("/v1/mmm/whatif", "{}");
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!((v["kpi"].as_f64().unwrap() - new).abs() < 1e-6 * new.abs());
    let (_, run) = f.get("/v1/runs/latest");
    assert!(!run.contains("2026-11-29T20:00:00Z"), "{run}");
}

#[test]
fn shutdown_lets_requests_in_flight_finish() {
    let mut f = Fixture::new();
    let addr = f.server.as_ref().unwrap().addr();
    // A request in flight: its headers and half its body sent by hand.
    let body = r#"{"spend": {}, "periods": 4}"#;
    let (first, rest) = body.split_at(10);
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/mmm/whatif HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        f.token,
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let server = f.server.take().unwrap();
    let stopping = std::thread::spawn(move || server.shutdown());
    std::thread::sleep(Duration::from_millis(300));
    // The server waits for the request instead of dropping it.
    assert!(
        !stopping.is_finished(),
        "the server stopped with a request in flight"
    );
    stream.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"kpi\""), "{response}");
    // Then it stops, within generous bounds.
    let start = Instant::now();
    stopping.join().unwrap().unwrap();
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(std::net::TcpStream::connect(addr).is_err());
}
