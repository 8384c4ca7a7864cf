//! k-means clustering with k-means++ seeding, and the silhouette score to choose k.
//!
//! Lloyd's iterations from `restarts` seeded k-means++ starts; the run with the lowest
//! inertia (within-cluster sum of squares) wins. Deterministic for a seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// A fitted clustering.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KMeans {
    pub centers: Vec<Vec<f64>>,
    /// Cluster of each row.
    pub labels: Vec<usize>,
    /// Within-cluster sum of squared distances (the elbow curve's y).
    pub inertia: f64,
    pub iterations: usize,
}

fn distance2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

/// Clusters `rows` (each a point) into `k` groups. `None` when k is 0 or exceeds the
/// number of rows, or the rows differ in length.
pub fn kmeans(rows: &[Vec<f64>], k: usize, seed: u64, restarts: usize) -> Option<KMeans> {
    let dim = rows.first()?.len();
    if k == 0
        || k > rows.len()
        || rows
            .iter()
            .any(|r| r.len() != dim || r.iter().any(|v| !v.is_finite()))
    {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..restarts.max(1))
        .map(|_| lloyd(rows, k, &mut rng))
        .min_by(|a, b| a.inertia.total_cmp(&b.inertia))
}

/// k-means++: each next center is drawn with probability proportional to the squared
/// distance to the nearest center so far.
fn seed_centers(rows: &[Vec<f64>], k: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f64>> {
    let mut centers = vec![rows[rng.random_range(0..rows.len())].clone()];
    let mut nearest: Vec<f64> = rows.iter().map(|r| distance2(r, &centers[0])).collect();
    while centers.len() < k {
        let total: f64 = nearest.iter().sum();
        let next = if total > 0.0 {
            let mut u = rng.random_range(0.0..total);
            nearest
                .iter()
                .position(|d| {
                    u -= d;
                    u < 0.0
                })
                .unwrap_or(rows.len() - 1)
        } else {
            rng.random_range(0..rows.len())
        };
        centers.push(rows[next].clone());
        for (d, r) in nearest.iter_mut().zip(rows) {
            *d = d.min(distance2(r, centers.last().expect("just pushed")));
        }
    }
    centers
}

fn lloyd(rows: &[Vec<f64>], k: usize, rng: &mut ChaCha8Rng) -> KMeans {
    let dim = rows[0].len();
    let mut centers = seed_centers(rows, k, rng);
    let mut labels = vec![0; rows.len()];
    let mut iterations = 0;
    for iteration in 1..=300 {
        iterations = iteration;
        let mut changed = false;
        for (label, row) in labels.iter_mut().zip(rows) {
            let best = (0..k)
                .min_by(|&a, &b| {
                    distance2(row, &centers[a]).total_cmp(&distance2(row, &centers[b]))
                })
                .expect("k > 0");
            if best != *label || iteration == 1 {
                changed |= best != *label;
                *label = best;
            }
        }
        let mut sums = vec![vec![0.0; dim]; k];
        let mut counts = vec![0usize; k];
        for (label, row) in labels.iter().zip(rows) {
            counts[*label] += 1;
            for (s, v) in sums[*label].iter_mut().zip(row) {
                *s += v;
            }
        }
        for c in 0..k {
            // An emptied cluster keeps its center; the next assignment may refill it.
            if counts[c] > 0 {
                centers[c] = sums[c].iter().map(|s| s / counts[c] as f64).collect();
            }
        }
        if !changed && iteration > 1 {
            break;
        }
    }
    let inertia = labels
        .iter()
        .zip(rows)
        .map(|(l, r)| distance2(r, &centers[*l]))
        .sum();
    KMeans {
        centers,
        labels,
        inertia,
        iterations,
    }
}

/// Mean silhouette coefficient: for each point, (b − a) / max(a, b) with a its mean
/// distance to its own cluster and b to the nearest other cluster; singletons score 0.
/// `None` with fewer than 2 clusters.
pub fn silhouette(rows: &[Vec<f64>], labels: &[usize]) -> Option<f64> {
    let k = labels.iter().max()? + 1;
    if k < 2 || rows.len() != labels.len() {
        return None;
    }
    let sizes: Vec<usize> = (0..k)
        .map(|c| labels.iter().filter(|l| **l == c).count())
        .collect();
    let total: f64 = (0..rows.len())
        .map(|i| {
            if sizes[labels[i]] <= 1 {
                return 0.0;
            }
            let mut sums = vec![0.0; k];
            for j in 0..rows.len() {
                if i != j {
                    sums[labels[j]] += distance2(&rows[i], &rows[j]).sqrt();
                }
            }
            let a = sums[labels[i]] / (sizes[labels[i]] - 1) as f64;
            let b = (0..k)
                .filter(|c| *c != labels[i] && sizes[*c] > 0)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            if a.max(b) > 0.0 {
                (b - a) / a.max(b)
            } else {
                0.0
            }
        })
        .sum();
    Some(total / rows.len() as f64)
}

/// One point of the curves used to choose k.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KScore {
    pub k: usize,
    /// The elbow curve.
    pub inertia: f64,
    pub silhouette: f64,
}

/// Fits k = `from ..= to` (each with `restarts` k-means++ starts, as [`kmeans`]) and
/// scores each; the best k is the one with the highest silhouette.
pub fn choose_k(
    rows: &[Vec<f64>],
    from: usize,
    to: usize,
    seed: u64,
    restarts: usize,
) -> Option<(usize, Vec<KScore>)> {
    let mut curve = Vec::new();
    for k in from.max(2)..=to.min(rows.len()) {
        let fit = kmeans(rows, k, seed, restarts)?;
        curve.push(KScore {
            k,
            inertia: fit.inertia,
            silhouette: silhouette(rows, &fit.labels)?,
        });
    }
    let best = curve
        .iter()
        .max_by(|a, b| a.silhouette.total_cmp(&b.silhouette))?
        .k;
    Some((best, curve))
}

/// Per-column z-scores: mean 0 and population standard deviation 1, so no column
/// dominates the distances by its units. A constant column keeps scale 1 (as
/// scikit-learn's `StandardScaler`), so it becomes all zeros.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standardizer {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// The means and standard deviations of `rows`' columns; `None` without rows.
    pub fn fit(rows: &[Vec<f64>]) -> Option<Standardizer> {
        let dim = rows.first()?.len();
        let n = rows.len() as f64;
        let mean: Vec<f64> = (0..dim)
            .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let scale = (0..dim)
            .map(|j| {
                let sd = (rows.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n).sqrt();
                if sd > 0.0 && sd.is_finite() { sd } else { 1.0 }
            })
            .collect();
        Some(Standardizer { mean, scale })
    }

    /// `rows` in standard units.
    pub fn transform(&self, rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
        rows.iter()
            .map(|r| {
                r.iter()
                    .zip(self.mean.iter().zip(&self.scale))
                    .map(|(x, (m, s))| (x - m) / s)
                    .collect()
            })
            .collect()
    }

    /// A point (a cluster center) back in the original units.
    pub fn inverse(&self, point: &[f64]) -> Vec<f64> {
        point
            .iter()
            .zip(self.mean.iter().zip(&self.scale))
            .map(|(z, (m, s))| z * s + m)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    /// Three Gaussian blobs with known centers.
    fn blobs() -> (Vec<Vec<f64>>, Vec<[f64; 2]>) {
        let truth = vec![[0.0, 0.0], [8.0, 1.0], [3.0, 9.0]];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let noise = Normal::new(0.0, 0.8).unwrap();
        let rows = (0..300).map(|i| {
            let c = truth[i % 3];
            vec![c[0] + noise.sample(&mut rng), c[1] + noise.sample(&mut rng)]
        });
        (rows.collect(), truth)
    }

    #[test]
    fn recovers_known_centers_and_chooses_k_by_silhouette() {
        let (rows, truth) = blobs();
        let fit = kmeans(&rows, 3, 1, 5).unwrap();
        // Each true center has a fitted one within 0.3 (the blob mean's sd is 0.8/√100 = 0.08).
        for t in &truth {
            let nearest = fit
                .centers
                .iter()
                .map(|c| distance2(c, t).sqrt())
                .fold(f64::INFINITY, f64::min);
            assert!(nearest < 0.3, "{t:?} vs {:?}", fit.centers);
        }
        // Rows of one blob share a label.
        for b in 0..3 {
            let first = fit.labels[b];
            assert!((b..300).step_by(3).all(|i| fit.labels[i] == first));
        }
        let (best, curve) = choose_k(&rows, 2, 6, 1, 5).unwrap();
        assert_eq!(best, 3, "{curve:?}");
        assert!(
            curve
                .windows(2)
                .all(|w| w[1].inertia <= w[0].inertia + 1e-9),
            "inertia falls with k: {curve:?}"
        );
        assert_eq!(
            kmeans(&rows, 3, 1, 5),
            kmeans(&rows, 3, 1, 5),
            "deterministic for a seed"
        );
    }

    #[test]
    fn standardizer_uses_the_population_sd_and_inverts() {
        let rows = vec![vec![1.0, 5.0], vec![3.0, 5.0]];
        let z = Standardizer::fit(&rows).unwrap();
        assert_eq!(z.mean, vec![2.0, 5.0]);
        // Population sd of {1, 3} is 1; the constant column keeps scale 1.
        assert_eq!(z.scale, vec![1.0, 1.0]);
        assert_eq!(z.transform(&rows), vec![vec![-1.0, 0.0], vec![1.0, 0.0]]);
        assert_eq!(z.inverse(&[1.0, 0.0]), vec![3.0, 5.0]);
        assert_eq!(Standardizer::fit(&[]), None);
    }

    #[test]
    fn silhouette_of_a_hand_example() {
        // Two points per cluster, 1 apart within, 10 apart between:
        // a = 1, b = mean(10, 11) = 10.5 for the outer points, mean(9, 10) = 9.5 for inner.
        let rows = vec![vec![0.0], vec![1.0], vec![11.0], vec![10.0]];
        let s = silhouette(&rows, &[0, 0, 1, 1]).unwrap();
        let want = ((10.5 - 1.0) / 10.5 + (9.5 - 1.0) / 9.5) / 2.0;
        assert!((s - want).abs() < 1e-12, "{s} vs {want}");
        assert_eq!(kmeans(&rows, 5, 1, 1), None);
    }
}
