//! Shared helpers of the integration tests: locating `../shared/data` and reading CSVs
//! into frames (numbers where every value parses, categories otherwise).

#![allow(dead_code)]

use adroit_learn::data::{Column, Frame, Values};

/// A path under the repository's sibling `shared/data` folder.
pub fn shared(path: &str) -> String {
    // Read at run time: a shared build cache may run this binary from another checkout.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    format!("{manifest}/../../../shared/data/{path}")
}

/// A path under this crate's `tests/support` folder.
pub fn support(path: &str) -> String {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    format!("{manifest}/tests/support/{path}")
}

pub fn read_frame(path: &str) -> Frame {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    for record in reader.records() {
        let record = record.unwrap();
        for (c, v) in cells.iter_mut().zip(record.iter()) {
            c.push(v.to_string());
        }
    }
    let columns = header
        .into_iter()
        .zip(cells)
        .map(|(name, values)| {
            let numbers: Option<Vec<f64>> = values.iter().map(|v| v.parse().ok()).collect();
            Column {
                name,
                values: match numbers {
                    Some(n) => Values::Numeric(n),
                    None => Values::Categorical(values.into_iter().map(Some).collect()),
                },
            }
        })
        .collect();
    Frame::new(columns)
}

/// UCI bank marketing without `duration`, split as `benches/learn_peers.py` does:
/// data row i is a test row when i % 5 == 4.
pub fn bank_split() -> (Frame, Frame) {
    let mut frame = read_frame(&shared("classification/bank-full.csv"));
    frame.columns.retain(|c| c.name != "duration");
    let n = frame.rows();
    let train: Vec<usize> = (0..n).filter(|i| i % 5 != 4).collect();
    let test: Vec<usize> = (0..n).filter(|i| i % 5 == 4).collect();
    (frame.select(&train), frame.select(&test))
}
