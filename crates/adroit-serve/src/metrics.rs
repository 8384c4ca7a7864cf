//! Prometheus metrics, written by hand: request counts and latency histograms per
//! method, route (the route pattern, not the raw path) and status, and the run reloads.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: [f64; 14] = [
    0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
    pub reloads: AtomicU64,
    pub reload_failures: AtomicU64,
    /// Seconds since the epoch when the current run was loaded.
    pub loaded_at: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let s = series
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let series = self
            .series
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut out = String::new();
        let label = |m: &str, r: &str, s: u16| {
            format!(
                "method=\"{}\",route=\"{}\",status=\"{s}\"",
                escape(m),
                escape(r)
            )
        };
        out.push_str(
            "# HELP adroit_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE adroit_http_requests_total counter\n");
        for ((m, r, s), v) in &series {
            let _ = writeln!(
                out,
                "adroit_http_requests_total{{{}}} {}",
                label(m, r, *s),
                v.count
            );
        }
        out.push_str(
            "# HELP adroit_http_request_duration_seconds Time from request to response headers.\n",
        );
        out.push_str("# TYPE adroit_http_request_duration_seconds histogram\n");
        for ((m, r, s), v) in &series {
            let l = label(m, r, *s);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "adroit_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}",
                    v.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "adroit_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                v.count
            );
            let _ = writeln!(
                out,
                "adroit_http_request_duration_seconds_sum{{{l}}} {}",
                v.sum
            );
            let _ = writeln!(
                out,
                "adroit_http_request_duration_seconds_count{{{l}}} {}",
                v.count
            );
        }
        out.push_str("# HELP adroit_run_reloads_total Runs loaded after the first.\n");
        out.push_str("# TYPE adroit_run_reloads_total counter\n");
        let _ = writeln!(
            out,
            "adroit_run_reloads_total {}",
            self.reloads.load(Ordering::Relaxed)
        );
        out.push_str("# HELP adroit_run_reload_failures_total Reloads that failed (the previous run stayed).\n");
        out.push_str("# TYPE adroit_run_reload_failures_total counter\n");
        let _ = writeln!(
            out,
            "adroit_run_reload_failures_total {}",
            self.reload_failures.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP adroit_run_loaded_timestamp_seconds When the current run was loaded.\n",
        );
        out.push_str("# TYPE adroit_run_loaded_timestamp_seconds gauge\n");
        let _ = writeln!(
            out,
            "adroit_run_loaded_timestamp_seconds {}",
            self.loaded_at.load(Ordering::Relaxed)
        );
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
