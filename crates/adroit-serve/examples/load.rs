//! A fixed-rate HTTP load client for `adroit serve` (used by `benches/serve_load.py`).
//!
//! ```text
//! cargo run --release -p adroit-serve --example load -- \
//!     --url http://127.0.0.1:8080/v1/mmm/whatif --token TOKEN --body '{"periods":4}' \
//!     --rate 1000 --seconds 10 --connections 4
//! ```
//!
//! Open loop: request i is due at start + i / rate, spread round-robin over
//! `connections` keep-alive connections (one thread each). Latency is measured from the
//! moment a request was due, not when it was sent, so a slow server cannot hide its
//! queueing (no coordinated omission); `service_*` is measured from the send. Prints one
//! JSON line: sent, errors, throughput, and latency percentiles in milliseconds.

use std::time::{Duration, Instant};

struct Args {
    url: String,
    token: Option<String>,
    body: String,
    rate: f64,
    seconds: f64,
    connections: usize,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        url: String::new(),
        token: None,
        body: "{}".into(),
        rate: 1000.0,
        seconds: 10.0,
        connections: 4,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = value()?,
            "--token" => a.token = Some(value()?),
            "--body" => a.body = value()?,
            "--body-file" => {
                let p = value()?;
                a.body = std::fs::read_to_string(&p).map_err(|e| format!("{p}: {e}"))?;
            }
            "--rate" => a.rate = value()?.parse().map_err(|_| "--rate: a number")?,
            "--seconds" => a.seconds = value()?.parse().map_err(|_| "--seconds: a number")?,
            "--connections" => {
                a.connections = value()?.parse().map_err(|_| "--connections: a number")?
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.url.is_empty() || a.rate <= 0.0 || a.seconds <= 0.0 || a.connections == 0 {
        return Err("give --url, and --rate, --seconds, --connections above 0".into());
    }
    Ok(a)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    let total = (args.rate * args.seconds).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    // Warm up every connection (keep-alive) before the clock starts.
    let start = Instant::now() + Duration::from_millis(300);
    let threads: Vec<_> = (0..args.connections)
        .map(|k| {
            let (url, token, body) = (args.url.clone(), args.token.clone(), args.body.clone());
            let connections = args.connections;
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(30)))
                    .build()
                    .into();
                let send = || -> Result<u16, String> {
                    let mut r = agent.post(&url).header("Content-Type", "application/json");
                    if let Some(t) = &token {
                        r = r.header("Authorization", &format!("Bearer {t}"));
                    }
                    let mut resp = r.send(body.as_str()).map_err(|e| e.to_string())?;
                    let status = resp.status().as_u16();
                    resp.body_mut().read_to_vec().map_err(|e| e.to_string())?;
                    Ok(status)
                };
                let _ = send();
                let mut latencies = Vec::new();
                let mut service = Vec::new();
                let mut errors = 0usize;
                let mut first_error = None;
                let mut i = k;
                while i < total {
                    let due = start + interval * i as u32;
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    let sent = Instant::now();
                    match send() {
                        Ok(200) => {
                            latencies.push(due.elapsed().as_secs_f64() * 1e3);
                            service.push(sent.elapsed().as_secs_f64() * 1e3);
                        }
                        Ok(s) => {
                            errors += 1;
                            first_error.get_or_insert(format!("HTTP {s}"));
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                    i += connections;
                }
                (latencies, service, errors, first_error)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    let mut service = Vec::with_capacity(total);
    let mut errors = 0;
    let mut first_error = None;
    for t in threads {
        let (l, s, e, f) = t.join().expect("load thread");
        latencies.extend(l);
        service.extend(s);
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    service.sort_by(f64::total_cmp);
    let ok = latencies.len();
    let mean = latencies.iter().sum::<f64>() / ok.max(1) as f64;
    println!(
        "{{\"url\":\"{}\",\"rate\":{},\"seconds\":{:.3},\"sent\":{},\"ok\":{},\"errors\":{},\"first_error\":{},\"throughput\":{:.1},\"mean_ms\":{:.4},\"p50_ms\":{:.4},\"p90_ms\":{:.4},\"p99_ms\":{:.4},\"p999_ms\":{:.4},\"max_ms\":{:.4},\"service_p50_ms\":{:.4},\"service_p99_ms\":{:.4}}}",
        args.url,
        args.rate,
        elapsed,
        ok + errors,
        ok,
        errors,
        first_error.map_or("null".to_string(), |e| format!("{e:?}")),
        ok as f64 / elapsed,
        mean,
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 99.9),
        latencies.last().copied().unwrap_or(f64::NAN),
        percentile(&service, 50.0),
        percentile(&service, 99.0),
    );
}
