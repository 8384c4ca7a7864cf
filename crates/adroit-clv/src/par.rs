//! Data-parallel helpers: fixed chunks, partial results collected in order and added
//! sequentially, so a sum is bit-for-bit the same whatever the thread count.

use rayon::prelude::*;
use std::ops::Range;

/// Rows per chunk: big enough to amortise scheduling, small enough to balance 2–64 cores.
pub(crate) const CHUNK: usize = 16_384;

/// Σ over rows 0..n of `body(chunk)`, each chunk returning K partial sums.
pub(crate) fn chunked_sum<const K: usize, F>(n: usize, body: F) -> [f64; K]
where
    F: Fn(Range<usize>) -> [f64; K] + Sync,
{
    if n <= CHUNK {
        return body(0..n);
    }
    let chunks = n.div_ceil(CHUNK);
    let partials: Vec<[f64; K]> = (0..chunks)
        .into_par_iter()
        .map(|c| body(c * CHUNK..((c + 1) * CHUNK).min(n)))
        .collect();
    let mut total = [0.0; K];
    for p in partials {
        for k in 0..K {
            total[k] += p[k];
        }
    }
    total
}

/// `f(i)` for every row, in parallel for large inputs.
pub(crate) fn map_rows<F>(n: usize, f: F) -> Vec<f64>
where
    F: Fn(usize) -> f64 + Sync,
{
    if n <= CHUNK {
        (0..n).map(f).collect()
    } else {
        (0..n)
            .into_par_iter()
            .with_min_len(CHUNK / 4)
            .map(&f)
            .collect()
    }
}
