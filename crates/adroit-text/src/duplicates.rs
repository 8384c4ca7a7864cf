//! Near-duplicate texts from their sentence embeddings: reposted reviews, copy-pasted
//! templates and bot campaigns inflate volumes and skew sentiment series, so they are
//! found and grouped before counting.
//!
//! Every pair whose cosine similarity reaches the threshold is linked, and linked texts
//! form one group (union–find, so similarity is taken transitively). The comparison is
//! exhaustive — n²/2 dot products, spread over the cores — which is exact and fast up to
//! some tens of thousands of texts; beyond that an approximate index would be needed.

use rayon::prelude::*;

/// Groups of near-duplicate texts (indices into `vectors`, ascending; groups ordered by
/// their first member). Texts without a near-duplicate are in no group. Vectors are
/// compared by cosine, so they need not be normalised; zero vectors match nothing.
pub fn near_duplicates(vectors: &[Vec<f32>], threshold: f32) -> Vec<Vec<usize>> {
    let unit: Vec<Vec<f32>> = vectors
        .iter()
        .map(|v| {
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                v.iter().map(|x| x / norm).collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let links: Vec<(usize, usize)> = (0..unit.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            let a = &unit[i];
            let unit = &unit;
            (i + 1..unit.len()).filter_map(move |j| {
                let b = &unit[j];
                let similar = !a.is_empty()
                    && a.len() == b.len()
                    && a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() >= threshold;
                similar.then_some((i, j))
            })
        })
        .collect();
    let mut parent: Vec<usize> = (0..unit.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, j) in links {
        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
        if a != b {
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..unit.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_transitive_and_singletons_are_left_out() {
        let v = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.99, 0.14, 0.0], // near 0
            vec![0.0, 0.0, 2.0],
            vec![0.95, 0.31, 0.0], // near 2, not near 0
            vec![0.0, 0.0, 0.0],
            vec![0.0, 0.0, 0.0],
        ];
        assert_eq!(near_duplicates(&v, 0.98), vec![vec![0, 2, 4]]);
        assert_eq!(near_duplicates(&v, 0.999), Vec::<Vec<usize>>::new());
        assert!(near_duplicates(&[], 0.9).is_empty());
    }
}
