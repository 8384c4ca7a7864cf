//! Decision trees grown on binned features, shared by the single tree, the random
//! forest and gradient boosting, with exact TreeSHAP.
//!
//! Written here rather than taken from smartcore or linfa because every tree model
//! needs the same three things those crates do not expose together: histogram splits
//! (LightGBM's technique: features quantised to at most 255 bins, one pass per node,
//! the larger child's histogram by subtraction), a gradient/hessian interface so
//! boosting reuses the grower, and the node structure with covers that TreeSHAP reads.
//!
//! Every node split is "feature ≤ threshold goes left"; thresholds are bin upper
//! bounds, midway between neighbouring training values (as scikit-learn).

use crate::data::Matrix;
use rand::Rng;
use rand::seq::index::sample;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Features quantised to small integer codes.
#[derive(Debug, Clone)]
pub struct Binned {
    /// Per feature, the code of each row.
    pub codes: Vec<Vec<u8>>,
    /// Per feature, each bin's upper bound; the last is +∞.
    pub upper: Vec<Vec<f64>>,
    offsets: Vec<usize>,
    total_bins: usize,
    /// How histograms are built: features grouped into bundles (see [`Bundle`]).
    bundles: Vec<Bundle>,
    bundle_offsets: Vec<usize>,
    bundle_bins: usize,
    /// Each row's bundle codes side by side (row r's at r·b ..), for histogram building.
    row_codes: Vec<u8>,
}

/// A column of the histogram layout. One-hot dummies of a category never are 1 in the
/// same row, so LightGBM's exclusive feature bundling stores them as one column whose
/// code says which member is 1 (0: none): a node's histogram then costs one update per
/// bundle instead of one per dummy.
#[derive(Debug, Clone)]
enum Bundle {
    Single(usize),
    /// Two-bin features, pairwise exclusive in code 1; code k+1 means member k is 1.
    Exclusive(Vec<usize>),
}

impl Binned {
    /// Quantises each column of `x` into at most `max_bins` (≤ 256) bins holding about
    /// equal numbers of rows; a column with few distinct values gets one bin per value.
    pub fn new(x: &Matrix, max_bins: usize) -> Binned {
        let max_bins = max_bins.clamp(2, 256);
        let (upper, codes): (Vec<Vec<f64>>, Vec<Vec<u8>>) = (0..x.cols())
            .into_par_iter()
            .map(|j| {
                let col = x.col(j);
                let upper = bin_bounds(col, max_bins);
                let codes = col
                    .iter()
                    .map(|v| upper.partition_point(|u| u < v).min(upper.len() - 1) as u8)
                    .collect();
                (upper, codes)
            })
            .unzip();
        let mut offsets = Vec::with_capacity(upper.len());
        let mut total_bins = 0;
        for u in &upper {
            offsets.push(total_bins);
            total_bins += u.len();
        }
        let n = codes.first().map_or(0, Vec::len);
        let bundles = bundle(&codes, &upper);
        let mut bundle_offsets = Vec::with_capacity(bundles.len());
        let mut bundle_bins = 0;
        for b in &bundles {
            bundle_offsets.push(bundle_bins);
            bundle_bins += match b {
                Bundle::Single(f) => upper[*f].len(),
                Bundle::Exclusive(m) => m.len() + 1,
            };
        }
        let nb = bundles.len();
        let mut row_codes = vec![0u8; n * nb];
        for (k, b) in bundles.iter().enumerate() {
            match b {
                Bundle::Single(f) => {
                    for (r, v) in codes[*f].iter().enumerate() {
                        row_codes[r * nb + k] = *v;
                    }
                }
                Bundle::Exclusive(members) => {
                    for (slot, f) in members.iter().enumerate() {
                        for (r, v) in codes[*f].iter().enumerate() {
                            if *v == 1 {
                                row_codes[r * nb + k] = slot as u8 + 1;
                            }
                        }
                    }
                }
            }
        }
        Binned {
            codes,
            upper,
            offsets,
            total_bins,
            bundles,
            bundle_offsets,
            bundle_bins,
            row_codes,
        }
    }

    pub fn rows(&self) -> usize {
        self.codes.first().map_or(0, Vec::len)
    }

    pub fn features(&self) -> usize {
        self.codes.len()
    }
}

/// Greedy exclusive bundling: each two-bin feature joins the first bundle none of
/// whose members is 1 in a row where it is 1; other features stand alone.
fn bundle(codes: &[Vec<u8>], upper: &[Vec<f64>]) -> Vec<Bundle> {
    let n = codes.first().map_or(0, Vec::len);
    let mut out: Vec<Bundle> = Vec::new();
    let mut occupied: Vec<(usize, Vec<bool>)> = Vec::new(); // (bundle index, rows taken)
    for (f, c) in codes.iter().enumerate() {
        if upper[f].len() != 2 {
            out.push(Bundle::Single(f));
            continue;
        }
        let slot = occupied.iter_mut().find(|(k, taken)| {
            matches!(&out[*k], Bundle::Exclusive(m) if m.len() < 254)
                && c.iter().zip(taken.iter()).all(|(v, t)| *v == 0 || !*t)
        });
        match slot {
            Some((k, taken)) => {
                for (t, v) in taken.iter_mut().zip(c) {
                    *t |= *v == 1;
                }
                if let Bundle::Exclusive(m) = &mut out[*k] {
                    m.push(f);
                }
            }
            None => {
                occupied.push((out.len(), c.iter().map(|v| *v == 1).collect()));
                out.push(Bundle::Exclusive(vec![f]));
            }
        }
    }
    debug_assert!(occupied.iter().all(|(_, t)| t.len() == n));
    out
}

/// Bin upper bounds for one column (training rows sampled evenly above 200,000).
fn bin_bounds(col: &[f64], max_bins: usize) -> Vec<f64> {
    let step = (col.len() / 200_000).max(1);
    let mut values: Vec<f64> = col.iter().step_by(step).copied().collect();
    values.sort_by(f64::total_cmp);
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for v in values {
        match distinct.last_mut() {
            Some((last, count)) if *last == v => *count += 1,
            _ => distinct.push((v, 1)),
        }
    }
    let midpoint = |a: f64, b: f64| {
        let m = a + (b - a) / 2.0;
        if m >= b { a } else { m }
    };
    let mut upper = Vec::new();
    if distinct.len() <= max_bins {
        for w in distinct.windows(2) {
            upper.push(midpoint(w[0].0, w[1].0));
        }
    } else {
        let mut remaining: usize = distinct.iter().map(|d| d.1).sum();
        let mut in_bin = 0;
        for (i, (v, count)) in distinct.iter().enumerate() {
            let bins_left = max_bins - upper.len();
            if bins_left <= 1 || i + 1 == distinct.len() {
                break;
            }
            in_bin += count;
            remaining -= count;
            let target = (remaining + in_bin) as f64 / bins_left as f64;
            if in_bin as f64 >= target {
                upper.push(midpoint(*v, distinct[i + 1].0));
                in_bin = 0;
            }
        }
    }
    upper.push(f64::INFINITY);
    upper
}

/// How a split's quality is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Reduction of the squared error, G²/(H+λ) summed over children: variance
    /// reduction for regression, equal to the Gini gain for a 0/1 target (up to a
    /// factor 2), and the second-order gain of gradient boosting.
    SquaredError,
    /// Information gain: reduction of weighted binary entropy (0/1 target).
    Entropy,
}

/// Limits on how a tree grows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrowParams {
    pub criterion: Criterion,
    /// A node at this depth is not split (the root has depth 0).
    pub max_depth: usize,
    /// Stop when the tree has this many leaves; splits are then taken best first.
    pub max_leaves: usize,
    /// Fewest (distinct) training rows in a leaf.
    pub min_samples_leaf: usize,
    /// Fewest summed hessian (boosting) or weight in a leaf.
    pub min_hessian: f64,
    /// L2 penalty on leaf values (boosting).
    pub lambda: f64,
    /// Features considered at each split (random forests); `None` means all.
    pub max_features: Option<usize>,
    /// Node cover for TreeSHAP: the summed hessian (`true`, which is the weight for
    /// plain trees) or the row count (boosting, as LightGBM).
    pub cover_is_hessian: bool,
}

/// A fitted tree as parallel arrays (the layout scikit-learn and the `shap` package use).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Tree {
    /// Split feature of each node; −1 for a leaf.
    pub feature: Vec<i32>,
    pub threshold: Vec<f64>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    /// Leaf output (also kept at inner nodes: the value if the tree stopped there).
    pub value: Vec<f64>,
    /// Training weight that reached the node.
    pub cover: Vec<f64>,
}

impl Tree {
    fn push_leaf(&mut self, value: f64, cover: f64) -> usize {
        self.feature.push(-1);
        self.threshold.push(0.0);
        self.left.push(0);
        self.right.push(0);
        self.value.push(value);
        self.cover.push(cover);
        self.feature.len() - 1
    }

    pub fn len(&self) -> usize {
        self.feature.len()
    }

    pub fn is_empty(&self) -> bool {
        self.feature.is_empty()
    }

    pub fn leaves(&self) -> usize {
        self.feature.iter().filter(|f| **f < 0).count()
    }

    /// The leaf a row (indexed by feature) falls into.
    pub fn leaf(&self, row: &dyn Fn(usize) -> f64) -> usize {
        let mut node = 0;
        while self.feature[node] >= 0 {
            node = if row(self.feature[node] as usize) <= self.threshold[node] {
                self.left[node]
            } else {
                self.right[node]
            } as usize;
        }
        node
    }

    pub fn predict_row(&self, row: &[f64]) -> f64 {
        self.value[self.leaf(&|j| row[j])]
    }

    /// Adds `scale` × this tree's prediction to `out` for every row of `x`.
    pub fn add_predictions(&self, x: &Matrix, scale: f64, out: &mut [f64]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o += scale * self.value[self.leaf(&|j| x.get(i, j))];
        }
    }

    /// The mean prediction over the training data (cover-weighted leaves): the base
    /// value of TreeSHAP.
    pub fn expected_value(&self) -> f64 {
        let root = self.cover[0];
        (0..self.len())
            .filter(|&n| self.feature[n] < 0)
            .map(|n| self.value[n] * self.cover[n] / root)
            .sum()
    }

    /// Gain-free importance: how much training weight each feature's splits route.
    pub fn features_used(&self, features: usize) -> Vec<bool> {
        let mut used = vec![false; features];
        for f in self.feature.iter().filter(|f| **f >= 0) {
            used[*f as usize] = true;
        }
        used
    }

    /// Adds this tree's SHAP values for `row` to `phi` (Lundberg et al. 2018,
    /// Algorithm 2, path-dependent TreeSHAP: exact Shapley values of the tree's
    /// conditional expectations, in polynomial time).
    pub fn shap_row(&self, row: &[f64], scale: f64, phi: &mut [f64]) {
        if self.is_empty() {
            return;
        }
        let d = self.depth() + 3;
        let mut buffer = vec![PathElement::default(); d * (d + 1) / 2 + d + 1];
        self.shap_recurse(row, scale, phi, 0, &mut buffer, 0, 0, 1.0, 1.0, -1);
    }

    pub fn depth(&self) -> usize {
        fn go(t: &Tree, n: usize) -> usize {
            if t.feature[n] < 0 {
                0
            } else {
                1 + go(t, t.left[n] as usize).max(go(t, t.right[n] as usize))
            }
        }
        if self.is_empty() { 0 } else { go(self, 0) }
    }

    /// One step of TreeSHAP, as the reference C++ (`tree_shap_recursive` in the `shap`
    /// package): each call keeps its path in `buffer` right after its parent's.
    #[allow(clippy::too_many_arguments)]
    fn shap_recurse(
        &self,
        row: &[f64],
        scale: f64,
        phi: &mut [f64],
        node: usize,
        buffer: &mut [PathElement],
        parent_offset: usize,
        unique_depth: usize,
        zero_fraction: f64,
        one_fraction: f64,
        feature: i32,
    ) {
        let offset = parent_offset + unique_depth + 1;
        buffer.copy_within(parent_offset..parent_offset + unique_depth + 1, offset);
        let mut unique_depth = unique_depth;
        extend_path(
            &mut buffer[offset..],
            unique_depth,
            zero_fraction,
            one_fraction,
            feature,
        );
        let split = self.feature[node];
        if split < 0 {
            let path = &buffer[offset..];
            for i in 1..=unique_depth {
                let w = unwound_path_sum(path, unique_depth, i);
                let el = path[i];
                phi[el.feature as usize] +=
                    w * (el.one_fraction - el.zero_fraction) * self.value[node] * scale;
            }
            return;
        }
        let (hot, cold) = if row[split as usize] <= self.threshold[node] {
            (self.left[node] as usize, self.right[node] as usize)
        } else {
            (self.right[node] as usize, self.left[node] as usize)
        };
        let w = self.cover[node];
        let hot_zero = if w > 0.0 { self.cover[hot] / w } else { 0.0 };
        let cold_zero = if w > 0.0 { self.cover[cold] / w } else { 0.0 };
        let mut incoming_zero = 1.0;
        let mut incoming_one = 1.0;
        // A feature already on the path: undo its earlier split first.
        let path = &mut buffer[offset..];
        if let Some(k) = (0..=unique_depth).find(|&k| path[k].feature == split) {
            incoming_zero = path[k].zero_fraction;
            incoming_one = path[k].one_fraction;
            unwind_path(path, unique_depth, k);
            unique_depth -= 1;
        }
        self.shap_recurse(
            row,
            scale,
            phi,
            hot,
            buffer,
            offset,
            unique_depth + 1,
            hot_zero * incoming_zero,
            incoming_one,
            split,
        );
        self.shap_recurse(
            row,
            scale,
            phi,
            cold,
            buffer,
            offset,
            unique_depth + 1,
            cold_zero * incoming_zero,
            0.0,
            split,
        );
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: i32,
    zero_fraction: f64,
    one_fraction: f64,
    weight: f64,
}

fn extend_path(path: &mut [PathElement], depth: usize, zero: f64, one: f64, feature: i32) {
    path[depth] = PathElement {
        feature,
        zero_fraction: zero,
        one_fraction: one,
        weight: if depth == 0 { 1.0 } else { 0.0 },
    };
    let d = depth as f64;
    for i in (0..depth).rev() {
        path[i + 1].weight += one * path[i].weight * (i as f64 + 1.0) / (d + 1.0);
        path[i].weight = zero * path[i].weight * (d - i as f64) / (d + 1.0);
    }
}

fn unwind_path(path: &mut [PathElement], depth: usize, index: usize) {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let d = depth as f64;
    let mut next_one = path[depth].weight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = path[i].weight;
            path[i].weight = next_one * (d + 1.0) / ((i as f64 + 1.0) * one);
            next_one = tmp - path[i].weight * zero * (d - i as f64) / (d + 1.0);
        } else {
            path[i].weight = path[i].weight * (d + 1.0) / (zero * (d - i as f64));
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

fn unwound_path_sum(path: &[PathElement], depth: usize, index: usize) -> f64 {
    let one = path[index].one_fraction;
    let zero = path[index].zero_fraction;
    let d = depth as f64;
    let mut next_one = path[depth].weight;
    let mut total = 0.0;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = next_one * (d + 1.0) / ((i as f64 + 1.0) * one);
            total += tmp;
            next_one = path[i].weight - tmp * zero * ((d - i as f64) / (d + 1.0));
        } else if zero != 0.0 {
            total += (path[i].weight / zero) / ((d - i as f64) / (d + 1.0));
        }
    }
    total
}

/// One histogram bin: summed gradient, hessian and row count.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

impl Bin {
    fn add(&mut self, o: &Bin) {
        self.g += o.g;
        self.h += o.h;
        self.n += o.n;
    }
    fn sub(&self, o: &Bin) -> Bin {
        Bin {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n - o.n,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    bin: usize,
    /// Sums of the rows going left, read off the histogram (no second pass over rows).
    left: Bin,
}

/// A leaf that may still be split.
struct Open {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    sums: Bin,
    hist: Option<Vec<Bin>>,
    best: Split,
}

/// The outcome of growing one tree: the tree, and for each leaf the training rows it
/// holds (boosting updates its predictions from these without re-walking the tree).
pub struct Grown {
    pub tree: Tree,
    /// The training rows, grouped so each node's rows are contiguous.
    pub rows: Vec<u32>,
    /// Each node's range in `rows`.
    pub ranges: Vec<(usize, usize)>,
}

impl Grown {
    /// Each leaf and the training rows in it.
    pub fn leaves(&self) -> impl Iterator<Item = (usize, &[u32])> {
        (0..self.tree.len())
            .filter(|&n| self.tree.feature[n] < 0)
            .map(|n| (n, &self.rows[self.ranges[n].0..self.ranges[n].1]))
    }
}

/// Grows one tree on `rows` (indices into `binned`) with per-row gradients `g` and
/// hessians `h` (for plain trees: g = weight × target, h = weight). A leaf's value is
/// G / (H + λ).
pub fn grow(
    binned: &Binned,
    g: &[f64],
    h: &[f64],
    mut rows: Vec<u32>,
    params: &GrowParams,
    rng: &mut impl Rng,
) -> Grown {
    let p = binned.features();
    let mut tree = Tree::default();
    let sums = sum_rows(g, h, &rows);
    let cover = |b: &Bin| {
        if params.cover_is_hessian {
            b.h
        } else {
            b.n as f64
        }
    };
    let leaf_value = |b: &Bin| {
        let d = b.h + params.lambda;
        if d > 0.0 { b.g / d } else { 0.0 }
    };
    tree.push_leaf(leaf_value(&sums), cover(&sums));
    let mut ranges = vec![(0, rows.len())];
    let subtract = params.max_features.is_none_or(|m| m >= p);
    let mut open: Vec<Open> = Vec::new();
    let mut scratch = vec![0u32; rows.len()];
    if let Some(o) = open_leaf(
        binned,
        g,
        h,
        &rows,
        0,
        0,
        rows.len(),
        0,
        sums,
        None,
        params,
        rng,
    ) {
        open.push(o);
    }
    let mut leaves = 1;
    let best_first = params.max_leaves < usize::MAX;
    while leaves < params.max_leaves {
        let pick = if best_first {
            // Highest gain first; ties (to rounding) go to the older node, so growth
            // does not depend on the order rows were summed in.
            let mut best: Option<usize> = None;
            for (i, o) in open.iter().enumerate() {
                best = match best {
                    Some(b) if !prefer(o.best.gain, o.node, &open[b].best, open[b].node) => Some(b),
                    _ => Some(i),
                };
            }
            match best {
                Some(i) => open.swap_remove(i),
                None => break,
            }
        } else {
            match open.pop() {
                Some(o) => o,
                None => break,
            }
        };
        let Open {
            node,
            start,
            end,
            depth,
            sums,
            hist,
            best,
        } = pick;
        // Partition the node's rows, stably, into left (code ≤ bin) and right.
        let codes = &binned.codes[best.feature];
        let slice = &mut rows[start..end];
        let mut nl = 0;
        let mut nr = 0;
        let right_buf = &mut scratch[..slice.len()];
        for k in 0..slice.len() {
            let r = slice[k];
            if codes[r as usize] as usize <= best.bin {
                slice[nl] = r;
                nl += 1;
            } else {
                right_buf[nr] = r;
                nr += 1;
            }
        }
        slice[nl..].copy_from_slice(&right_buf[..nr]);
        let mid = start + nl;
        debug_assert_eq!(best.left.n as usize, nl);
        let left_sums = best.left;
        let right_sums = sums.sub(&left_sums);
        let l = tree.push_leaf(leaf_value(&left_sums), cover(&left_sums));
        let r = tree.push_leaf(leaf_value(&right_sums), cover(&right_sums));
        ranges.push((start, mid));
        ranges.push((mid, end));
        tree.feature[node] = best.feature as i32;
        tree.threshold[node] = binned.upper[best.feature][best.bin];
        tree.left[node] = l as u32;
        tree.right[node] = r as u32;
        leaves += 1;
        // Children's histograms: build the smaller, subtract it from the parent for
        // the larger (LightGBM's trick), when every feature is in play.
        let (small, large) = if mid - start <= end - mid {
            ((l, start, mid, left_sums), (r, mid, end, right_sums))
        } else {
            ((r, mid, end, right_sums), (l, start, mid, left_sums))
        };
        let small_hist = match (subtract, hist) {
            (true, Some(parent)) => {
                let sh = build_hist(binned, g, h, &rows[small.1..small.2], &small.3, None);
                let lh: Vec<Bin> = parent.iter().zip(&sh).map(|(p, s)| p.sub(s)).collect();
                if let Some(o) = open_leaf(
                    binned,
                    g,
                    h,
                    &rows,
                    large.0,
                    large.1,
                    large.2,
                    depth + 1,
                    large.3,
                    Some(lh),
                    params,
                    rng,
                ) {
                    open.push(o);
                }
                Some(sh)
            }
            _ => {
                if let Some(o) = open_leaf(
                    binned,
                    g,
                    h,
                    &rows,
                    large.0,
                    large.1,
                    large.2,
                    depth + 1,
                    large.3,
                    None,
                    params,
                    rng,
                ) {
                    open.push(o);
                }
                None
            }
        };
        if let Some(o) = open_leaf(
            binned,
            g,
            h,
            &rows,
            small.0,
            small.1,
            small.2,
            depth + 1,
            small.3,
            small_hist,
            params,
            rng,
        ) {
            open.push(o);
        }
    }
    Grown { tree, rows, ranges }
}

/// Whether a leaf whose best gain is `gain` should be split before `other`'s: a clearly
/// higher gain, or (to rounding) the same gain and an older node.
fn prefer(gain: f64, node: usize, other: &Split, other_node: usize) -> bool {
    let tie = 1e-9 * gain.abs().max(other.gain.abs());
    gain > other.gain + tie || (gain >= other.gain - tie && node < other_node)
}

fn sum_rows(g: &[f64], h: &[f64], rows: &[u32]) -> Bin {
    let mut b = Bin::default();
    for &r in rows {
        b.g += g[r as usize];
        b.h += h[r as usize];
    }
    b.n = rows.len() as u32;
    b
}

/// Builds a leaf's histogram (unless given) and finds its best split; `None` when the
/// leaf cannot or should not be split.
#[allow(clippy::too_many_arguments)]
fn open_leaf(
    binned: &Binned,
    g: &[f64],
    h: &[f64],
    rows: &[u32],
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    sums: Bin,
    hist: Option<Vec<Bin>>,
    params: &GrowParams,
    rng: &mut impl Rng,
) -> Option<Open> {
    if depth >= params.max_depth
        || (sums.n as usize) < 2 * params.min_samples_leaf.max(1)
        || sums.h < 2.0 * params.min_hessian
    {
        return None;
    }
    let p = binned.features();
    let features: Option<Vec<usize>> = match params.max_features {
        Some(m) if m < p => {
            let mut f = sample(rng, p, m.max(1)).into_vec();
            f.sort_unstable();
            Some(f)
        }
        _ => None,
    };
    let hist = match hist {
        Some(h) => h,
        None => build_hist(binned, g, h, &rows[start..end], &sums, features.as_deref()),
    };
    let best = best_split(binned, &hist, &sums, features.as_deref(), params)?;
    Some(Open {
        node,
        start,
        end,
        depth,
        sums,
        hist: Some(hist),
        best,
    })
}

/// Histograms of `rows` for the given features (all when `None`), in the per-feature
/// layout split finding reads.
///
/// Built row-wise over bundles, as LightGBM's dense multi-value bins: each row's codes
/// sit together, so a node's scattered rows cost one cache line each instead of one per
/// feature. Large nodes are split into chunks summed on separate threads. Bundles are
/// then unpacked: a member's "1" bin is its bundle slot, its "0" bin the node total
/// minus that.
fn build_hist(
    binned: &Binned,
    g: &[f64],
    h: &[f64],
    rows: &[u32],
    total: &Bin,
    features: Option<&[usize]>,
) -> Vec<Bin> {
    let nb = binned.bundles.len();
    let wanted: Vec<usize> = match features {
        None => (0..nb).collect(),
        Some(fs) => {
            let mut need = vec![false; nb];
            for (k, b) in binned.bundles.iter().enumerate() {
                need[k] = match b {
                    Bundle::Single(f) => fs.binary_search(f).is_ok(),
                    Bundle::Exclusive(m) => m.iter().any(|f| fs.binary_search(f).is_ok()),
                };
            }
            (0..nb).filter(|&k| need[k]).collect()
        }
    };
    let all = wanted.len() == nb;
    let fill = |chunk: &[u32]| -> Vec<Bin> {
        let mut hist = vec![Bin::default(); binned.bundle_bins];
        for &r in chunk {
            let r = r as usize;
            let (gi, hi) = (g[r], h[r]);
            let codes = &binned.row_codes[r * nb..(r + 1) * nb];
            let mut add = |at: usize| {
                let b = &mut hist[at];
                b.g += gi;
                b.h += hi;
                b.n += 1;
            };
            if all {
                // Every bundle (boosting, single trees): no index indirection.
                for (&offset, &code) in binned.bundle_offsets.iter().zip(codes) {
                    add(offset + code as usize);
                }
            } else {
                for &k in &wanted {
                    add(binned.bundle_offsets[k] + codes[k] as usize);
                }
            }
        }
        hist
    };
    const CHUNK: usize = 4096;
    let packed = if rows.len() < 2 * CHUNK {
        fill(rows)
    } else {
        rows.par_chunks(CHUNK)
            .map(fill)
            .reduce_with(|mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    x.add(y);
                }
                a
            })
            .unwrap_or_else(|| vec![Bin::default(); binned.bundle_bins])
    };
    let mut hist = vec![Bin::default(); binned.total_bins];
    for &k in &wanted {
        let at = binned.bundle_offsets[k];
        match &binned.bundles[k] {
            Bundle::Single(f) => {
                let o = binned.offsets[*f];
                let len = binned.upper[*f].len();
                hist[o..o + len].copy_from_slice(&packed[at..at + len]);
            }
            Bundle::Exclusive(members) => {
                for (slot, f) in members.iter().enumerate() {
                    let one = packed[at + slot + 1];
                    let o = binned.offsets[*f];
                    hist[o] = total.sub(&one);
                    hist[o + 1] = one;
                }
            }
        }
    }
    hist
}

fn score(c: Criterion, b: &Bin, lambda: f64) -> f64 {
    match c {
        Criterion::SquaredError => {
            let d = b.h + lambda;
            if d > 0.0 { b.g * b.g / d } else { 0.0 }
        }
        // −H·entropy(G/H): higher is purer, so gains add up like the squared error's.
        Criterion::Entropy => {
            if b.h <= 0.0 {
                return 0.0;
            }
            let p = (b.g / b.h).clamp(0.0, 1.0);
            let e = |q: f64| if q > 0.0 { -q * q.log2() } else { 0.0 };
            -b.h * (e(p) + e(1.0 - p))
        }
    }
}

fn best_split(
    binned: &Binned,
    hist: &[Bin],
    sums: &Bin,
    features: Option<&[usize]>,
    params: &GrowParams,
) -> Option<Split> {
    let parent = score(params.criterion, sums, params.lambda);
    let min_gain = 1e-10 * parent.abs().max(1e-300);
    // Gains closer than this are equal: they differ by rounding alone, which depends on
    // the order rows were summed in (and a split's sums come either from its own rows
    // or from the parent's histogram minus the sibling's).
    let tie = 1e-9 * parent.abs();
    let scan = |f: usize| -> Option<Split> {
        let bins = &hist[binned.offsets[f]..binned.offsets[f] + binned.upper[f].len()];
        let mut left = Bin::default();
        let mut best: Option<Split> = None;
        for (b, bin) in bins.iter().enumerate().take(bins.len().saturating_sub(1)) {
            left.add(bin);
            if left.n == 0 {
                continue;
            }
            let right = sums.sub(&left);
            if right.n == 0 {
                break;
            }
            if (left.n as usize) < params.min_samples_leaf
                || (right.n as usize) < params.min_samples_leaf
                || left.h < params.min_hessian
                || right.h < params.min_hessian
            {
                continue;
            }
            let gain = score(params.criterion, &left, params.lambda)
                + score(params.criterion, &right, params.lambda)
                - parent;
            if gain > min_gain && best.is_none_or(|s| gain > s.gain + tie) {
                best = Some(Split {
                    gain,
                    feature: f,
                    bin: b,
                    left,
                });
            }
        }
        best
    };
    let pick = |a: Option<Split>, b: Option<Split>| match (a, b) {
        (Some(x), Some(y)) => {
            // Deterministic: higher gain, then lower feature index.
            if y.gain > x.gain + tie || (y.gain >= x.gain - tie && y.feature < x.feature) {
                Some(y)
            } else {
                Some(x)
            }
        }
        (x, None) => x,
        (None, y) => y,
    };
    match features {
        Some(f) => f.iter().map(|&f| scan(f)).fold(None, pick),
        None => (0..binned.features()).map(scan).fold(None, pick),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn params() -> GrowParams {
        GrowParams {
            criterion: Criterion::SquaredError,
            max_depth: 6,
            max_leaves: usize::MAX,
            min_samples_leaf: 1,
            min_hessian: 0.0,
            lambda: 0.0,
            max_features: None,
            cover_is_hessian: true,
        }
    }

    fn small_world() -> (Matrix, Vec<f64>) {
        let rows: Vec<Vec<f64>> = (0..200)
            .map(|i| {
                let i = i as f64;
                vec![(i * 0.37).sin(), (i * 0.91).cos(), (i * 0.13) % 1.7, 5.0]
            })
            .collect();
        let y = rows
            .iter()
            .map(|r| if r[0] > 0.2 { 3.0 } else { -1.0 } + if r[1] > 0.0 { r[2] } else { 0.0 })
            .collect();
        (Matrix::from_rows(&rows), y)
    }

    fn fit(x: &Matrix, y: &[f64], p: &GrowParams) -> Tree {
        let b = Binned::new(x, 255);
        let h = vec![1.0; y.len()];
        let rows = (0..y.len() as u32).collect();
        grow(&b, y, &h, rows, p, &mut ChaCha8Rng::seed_from_u64(0)).tree
    }

    #[test]
    fn bins_follow_distinct_values_and_quantiles() {
        let x = Matrix::from_rows(&[vec![1.0], vec![2.0], vec![2.0], vec![4.0]]);
        let b = Binned::new(&x, 255);
        assert_eq!(b.upper[0], [1.5, 3.0, f64::INFINITY]);
        assert_eq!(b.codes[0], [0, 1, 1, 2]);
        let many = Matrix::from_rows(&(0..10_000).map(|i| vec![i as f64]).collect::<Vec<_>>());
        let b = Binned::new(&many, 255);
        assert_eq!(b.upper[0].len(), 255);
        let mut counts = [0usize; 256];
        for c in &b.codes[0] {
            counts[*c as usize] += 1;
        }
        assert!(
            counts[..255].iter().all(|c| (38..=41).contains(c)),
            "{counts:?}"
        );
    }

    #[test]
    fn a_deep_tree_fits_a_step_function_exactly_and_ignores_a_constant() {
        let (x, y) = small_world();
        let t = fit(
            &x,
            &y,
            &GrowParams {
                max_depth: 20,
                ..params()
            },
        );
        for (i, want) in y.iter().enumerate() {
            assert!((t.predict_row(&x.row(i)) - want).abs() < 1e-9);
        }
        assert!(
            !t.features_used(4)[3],
            "the constant feature is never split on"
        );
        let stump = fit(
            &x,
            &y,
            &GrowParams {
                max_depth: 1,
                ..params()
            },
        );
        assert_eq!((stump.feature[0], stump.leaves()), (0, 2));
        // No training value of x0 lies between 0.181 and 0.36: the cut is their midpoint.
        assert!((stump.threshold[0] - 0.2711).abs() < 1e-3, "{stump:?}");
    }

    /// SHAP by definition: Shapley values of v(S) = E[f(x) | x_S], the conditional
    /// expectation TreeSHAP uses (follow x on features in S, cover-weighted average on
    /// the others), summed over all subsets.
    fn brute_force_shap(t: &Tree, row: &[f64], m: usize) -> Vec<f64> {
        fn v(t: &Tree, n: usize, row: &[f64], s: u32) -> f64 {
            let f = t.feature[n];
            if f < 0 {
                return t.value[n];
            }
            let (l, r) = (t.left[n] as usize, t.right[n] as usize);
            if s & (1 << f) != 0 {
                v(
                    t,
                    if row[f as usize] <= t.threshold[n] {
                        l
                    } else {
                        r
                    },
                    row,
                    s,
                )
            } else {
                (t.cover[l] * v(t, l, row, s) + t.cover[r] * v(t, r, row, s)) / t.cover[n]
            }
        }
        let fact = |k: usize| (1..=k).product::<usize>() as f64;
        (0..m)
            .map(|j| {
                let mut phi = 0.0;
                for s in 0u32..(1 << m) {
                    if s & (1 << j) != 0 {
                        continue;
                    }
                    let k = s.count_ones() as usize;
                    let w = fact(k) * fact(m - k - 1) / fact(m);
                    phi += w * (v(t, 0, row, s | (1 << j)) - v(t, 0, row, s));
                }
                phi
            })
            .collect()
    }

    #[test]
    fn tree_shap_equals_the_shapley_definition_and_adds_up() {
        let (x, y) = small_world();
        let t = fit(
            &x,
            &y,
            &GrowParams {
                max_depth: 5,
                min_samples_leaf: 5,
                ..params()
            },
        );
        assert!(t.depth() >= 4);
        let base = t.expected_value();
        for i in (0..x.rows()).step_by(7) {
            let row = x.row(i);
            let mut phi = vec![0.0; 4];
            t.shap_row(&row, 1.0, &mut phi);
            let exact = brute_force_shap(&t, &row, 4);
            for (a, b) in phi.iter().zip(&exact) {
                assert!((a - b).abs() < 1e-9, "row {i}: {phi:?} vs {exact:?}");
            }
            let total: f64 = phi.iter().sum();
            assert!((base + total - t.predict_row(&row)).abs() < 1e-9);
            assert_eq!(phi[3], 0.0);
        }
    }

    #[test]
    fn entropy_and_leaf_limits_are_respected() {
        let (x, _) = small_world();
        // Alternating bands of x2: many splits would help, the limit allows four.
        let y: Vec<f64> = (0..x.rows())
            .map(|i| f64::from(x.get(i, 2) % 0.5 > 0.25))
            .collect();
        let p = GrowParams {
            criterion: Criterion::Entropy,
            max_depth: 30,
            max_leaves: 5,
            min_samples_leaf: 10,
            ..params()
        };
        let t = fit(&x, &y, &p);
        assert_eq!(t.leaves(), 5);
        for n in 0..t.len() {
            assert!(t.cover[n] >= 10.0);
            assert!((0.0..=1.0).contains(&t.value[n]));
        }
    }
}
