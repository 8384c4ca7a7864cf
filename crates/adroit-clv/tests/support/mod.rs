//! Shared test helpers: the CLV files of ../shared/data/clv (see PROVENANCE.md there) and
//! the lifetimes reference written by benches/clv_peers.py.
#![allow(dead_code)]

use adroit_clv::Transaction;
use adroit_clv::summary::day_number;
use std::path::PathBuf;

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/clv")
}

fn read(name: &str) -> String {
    let path = data_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A CSV of numbers with a header: the columns by name.
pub fn numeric_csv(name: &str) -> Vec<(String, Vec<f64>)> {
    let text = read(name);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); header.len()];
    for line in lines.filter(|l| !l.trim().is_empty()) {
        for (c, cell) in line.split(',').enumerate() {
            columns[c].push(cell.trim().parse().unwrap());
        }
    }
    header.into_iter().zip(columns).collect()
}

pub fn column(table: &[(String, Vec<f64>)], name: &str) -> Vec<f64> {
    table
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .1
        .clone()
}

/// CDNOW_sample.txt: customer = the second id column, day number of the date, dollars.
pub fn cdnow_sample() -> Vec<Transaction> {
    read("CDNOW_sample.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let date = f[2];
            let (y, m, d) = (
                date[0..4].parse().unwrap(),
                date[4..6].parse().unwrap(),
                date[6..8].parse().unwrap(),
            );
            Transaction {
                customer: f[1].parse().unwrap(),
                time: day_number(y, m, d),
                amount: f[4].parse().unwrap(),
            }
        })
        .collect()
}

pub fn reference() -> serde_json::Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/lifetimes_reference.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub fn num(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub fn nums(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

/// Agreement to three significant digits: |a − b| ≤ 5e-4 · |b| (half a unit in the third
/// digit of a number of the same magnitude), as the brief states it.
pub fn three_digits(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 5e-4 * want.abs(),
        "{what}: {got} vs {want} (rel {:.2e})",
        ((got - want) / want).abs()
    );
}

/// Relative agreement to `tol`.
pub fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1e-300),
        "{what}: {got} vs {want} (rel {:.2e})",
        ((got - want) / want).abs()
    );
}

/// A published estimate reproduced as printed: |got − published| ≤ half a unit in its last
/// printed decimal (so `got` rounds to it).
pub fn as_printed(what: &str, got: f64, published: f64, decimals: i32) {
    let half = 0.5 * 10f64.powi(-decimals);
    assert!(
        (got - published).abs() <= half + 1e-12,
        "{what}: {got} does not round to the published {published}"
    );
}

/// Customers drawn from a BG/NBD process with Gamma-Gamma spend, and their truth.
#[derive(Default)]
pub struct Simulated {
    pub x: Vec<f64>,
    pub t_x: Vec<f64>,
    pub age: Vec<f64>,
    /// Mean value of the repeat purchases (0 when x = 0).
    pub monetary: Vec<f64>,
    pub alive: Vec<bool>,
    /// Each customer's true mean spend p / ν.
    pub mean_spend: Vec<f64>,
}

/// `n` customers, T uniform on 13–52 weeks; BG/NBD (r, α, a, b) and Gamma-Gamma (p, q, v).
/// Chunks of 65,536 customers draw from their own ChaCha8 stream (seed, chunk), so the
/// result does not depend on the thread count.
pub fn simulate(n: usize, bgnbd: [f64; 4], gg: [f64; 3], seed: u64) -> Simulated {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Beta, Distribution, Exp1, Gamma};
    use rayon::prelude::*;
    let [r, alpha, a, b] = bgnbd;
    let [p, q, v] = gg;
    const CHUNK: usize = 65_536;
    let parts: Vec<Simulated> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(c as u64);
            let rate = Gamma::new(r, 1.0 / alpha).unwrap();
            let dropout = Beta::new(a, b).unwrap();
            let nu = Gamma::new(q, 1.0 / v).unwrap();
            let mut s = Simulated::default();
            for _ in c * CHUNK..((c + 1) * CHUNK).min(n) {
                let lambda: f64 = rate.sample(&mut rng);
                let pd: f64 = dropout.sample(&mut rng);
                let age: f64 = rng.random_range(13.0..52.0);
                let (mut t, mut x, mut t_x, mut alive) = (0.0, 0.0, 0.0, true);
                loop {
                    let gap: f64 = Exp1.sample(&mut rng);
                    t += gap / lambda;
                    if t >= age {
                        break;
                    }
                    x += 1.0;
                    t_x = t;
                    if rng.random::<f64>() < pd {
                        alive = false;
                        break;
                    }
                }
                let nu_i: f64 = nu.sample(&mut rng);
                let monetary = if x > 0.0 {
                    let total: f64 = Gamma::new(p * x, 1.0 / nu_i).unwrap().sample(&mut rng);
                    total / x
                } else {
                    0.0
                };
                s.x.push(x);
                s.t_x.push(t_x);
                s.age.push(age);
                s.monetary.push(monetary);
                s.alive.push(alive);
                s.mean_spend.push(p / nu_i);
            }
            s
        })
        .collect();
    let mut s = Simulated::default();
    for part in parts {
        s.x.extend(part.x);
        s.t_x.extend(part.t_x);
        s.age.extend(part.age);
        s.monetary.extend(part.monetary);
        s.alive.extend(part.alive);
        s.mean_spend.extend(part.mean_spend);
    }
    s
}

pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Peak resident memory of this process in MB (Linux), for the benchmark's report.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
