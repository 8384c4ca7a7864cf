//! Shared by the integration tests: the shared data sets and the reference JSON written by
//! `benches/attribution_reference.py`.
#![allow(dead_code)]

use adroit_attribution::Paths;
use serde_json::Value;

/// A file of `../shared/data/attribution/` (the repository's sibling data folder).
pub fn shared(file: &str) -> String {
    let path = format!(
        "{}/../../../shared/data/attribution/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn shared_paths(file: &str) -> Paths {
    Paths::parse(&shared(file)).unwrap()
}

/// `tests/support/channelattribution_reference.json`.
pub fn reference() -> Value {
    let path = format!(
        "{}/tests/support/channelattribution_reference.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Asserts `|got − want| ≤ tolerance`, naming the quantity.
#[track_caller]
pub fn close(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: got {got}, want {want} (difference {:e} > {tolerance:e})",
        (got - want).abs()
    );
}
