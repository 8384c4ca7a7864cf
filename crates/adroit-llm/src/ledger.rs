//! Token and cost accounting of a client: what a run asked for and what it cost, shared by
//! every worker thread, printed as one line at the end of a CLI run.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::protocol::Usage;

/// Prices per 1000 tokens, in whatever currency the provider bills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    pub prompt_per_1k: f64,
    pub completion_per_1k: f64,
}

/// Thread-safe counters; read them with [`Ledger::snapshot`] or print the ledger.
#[derive(Debug, Default)]
pub struct Ledger {
    prices: Option<Prices>,
    requests: AtomicU64,
    retries: AtomicU64,
    cache_hits: AtomicU64,
    repairs: AtomicU64,
    failed_documents: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
    cache_errors: AtomicU64,
    first_cache_error: Mutex<Option<String>>,
}

/// The counters of a [`Ledger`] at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerSnapshot {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that were repeats after a 429, a 5xx, a timeout or a broken connection.
    pub retries: u64,
    /// Documents answered from the cache (no request).
    pub cache_hits: u64,
    /// Repair requests sent after an answer failed its schema.
    pub repairs: u64,
    /// Documents that ended in an error.
    pub failed_documents: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Cache entries that could not be written (answers still returned).
    pub cache_errors: u64,
    pub first_cache_error: Option<String>,
    /// The cost of the tokens when prices are configured.
    pub cost: Option<f64>,
}

impl Ledger {
    pub fn new(prices: Option<Prices>) -> Ledger {
        Ledger {
            prices,
            ..Ledger::default()
        }
    }

    pub fn prices(&self) -> Option<Prices> {
        self.prices
    }

    pub fn add_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add_cache_hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add_repair(&self) {
        self.repairs.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add_failed_document(&self) {
        self.failed_documents.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add_usage(&self, usage: &Usage) {
        self.prompt_tokens
            .fetch_add(usage.prompt_tokens, Ordering::Relaxed);
        self.completion_tokens
            .fetch_add(usage.completion_tokens, Ordering::Relaxed);
    }
    pub fn add_cache_error(&self, message: String) {
        self.cache_errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_cache_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        first.get_or_insert(message);
    }

    pub fn snapshot(&self) -> LedgerSnapshot {
        let prompt_tokens = self.prompt_tokens.load(Ordering::Relaxed);
        let completion_tokens = self.completion_tokens.load(Ordering::Relaxed);
        LedgerSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            repairs: self.repairs.load(Ordering::Relaxed),
            failed_documents: self.failed_documents.load(Ordering::Relaxed),
            prompt_tokens,
            completion_tokens,
            cache_errors: self.cache_errors.load(Ordering::Relaxed),
            first_cache_error: self
                .first_cache_error
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
            cost: self.prices.map(|p| {
                prompt_tokens as f64 / 1000.0 * p.prompt_per_1k
                    + completion_tokens as f64 / 1000.0 * p.completion_per_1k
            }),
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for LedgerSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LLM: {} ({}, {}), {}, {} + {}",
            plural(self.requests, "request", "requests"),
            plural(self.retries, "retry", "retries"),
            plural(self.repairs, "repair", "repairs"),
            plural(self.cache_hits, "cache hit", "cache hits"),
            plural(self.prompt_tokens, "prompt token", "prompt tokens"),
            plural(
                self.completion_tokens,
                "completion token",
                "completion tokens"
            ),
        )?;
        match self.cost {
            Some(cost) => write!(f, ", cost {cost:.4}")?,
            None => f.write_str(", cost unknown (no prices configured)")?,
        }
        if self.failed_documents > 0 {
            write!(
                f,
                ", {} failed",
                plural(self.failed_documents, "document", "documents")
            )?;
        }
        if self.cache_errors > 0 {
            write!(
                f,
                ", {} not cached ({})",
                plural(self.cache_errors, "answer", "answers"),
                self.first_cache_error.as_deref().unwrap_or("")
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.snapshot().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_across_threads_and_prints_one_line() {
        let ledger = Ledger::new(Some(Prices {
            prompt_per_1k: 0.002,
            completion_per_1k: 0.008,
        }));
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..250 {
                        ledger.add_request();
                        ledger.add_usage(&Usage {
                            prompt_tokens: 10,
                            completion_tokens: 2,
                            total_tokens: 12,
                        });
                    }
                });
            }
        });
        ledger.add_retry();
        ledger.add_cache_hit();
        ledger.add_cache_hit();
        let snap = ledger.snapshot();
        assert_eq!(snap.requests, 1000);
        assert_eq!(snap.prompt_tokens, 10_000);
        assert_eq!(snap.completion_tokens, 2_000);
        assert!((snap.cost.unwrap() - (0.02 + 0.016)).abs() < 1e-12);
        assert_eq!(
            ledger.to_string(),
            "LLM: 1000 requests (1 retry, 0 repairs), 2 cache hits, 10000 prompt tokens + \
             2000 completion tokens, cost 0.0360"
        );
        ledger.add_failed_document();
        ledger.add_cache_error("disk full".into());
        ledger.add_cache_error("second".into());
        let line = ledger.to_string();
        assert!(
            line.ends_with(", 1 document failed, 2 answers not cached (disk full)"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let free = Ledger::new(None).to_string();
        assert!(
            free.contains("cost unknown (no prices configured)"),
            "{free}"
        );
    }
}
