//! Topics: what a batch of documents is about, found by non-negative matrix
//! factorisation (NMF) of its TF-IDF matrix and labelled by class-based TF-IDF.
//!
//! Why NMF and not LDA or embeddings: on short reviews NMF of TF-IDF gives topics as
//! coherent as LDA's at a fraction of the cost, it is deterministic for a seed, and it
//! needs no model download. Why c-TF-IDF for the labels (BERTopic's class-based
//! TF-IDF): NMF's own term weights favour terms that are frequent everywhere in the
//! topic's documents; c-TF-IDF ranks terms by how much more a topic's documents use
//! them than the other topics' documents, which reads better as a label.
//!
//! The steps of [`discover`]:
//! 1. vocabulary: content terms in at least `min_df` documents and at most a share
//!    `max_df` of them, the `max_vocab` most frequent kept;
//! 2. TF-IDF rows (idf = ln((1 + N) / (1 + df)) + 1, scikit-learn's), L2-normalised;
//! 3. NMF X ≈ W·H (Frobenius loss) by coordinate descent, started from NNDSVDa (a
//!    seeded randomized SVD made non-negative);
//! 4. each document's topic is the largest entry of its row of W;
//! 5. each topic is labelled by the c-TF-IDF of its documents' terms, and topics are
//!    numbered by size, largest first.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Settings of [`discover`]; the defaults follow scikit-learn's `TfidfVectorizer` and
/// `NMF` where they have one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopicOptions {
    /// Keep at most this many terms, the most frequent by document frequency.
    pub max_vocab: usize,
    /// Drop terms in fewer documents than this (typos, names, one-offs).
    pub min_df: usize,
    /// Drop terms in more than this share of the documents (they separate nothing).
    pub max_df: f64,
    /// Term frequency 1 + ln(count) instead of count, so a repeated word counts less.
    pub sublinear_tf: bool,
    /// Label terms per topic.
    pub top_terms: usize,
    /// Representative documents per topic.
    pub representative: usize,
    /// Coordinate-descent sweeps at most.
    pub max_iter: usize,
    /// Stop when the projected gradient has fallen to this share of the first sweep's
    /// (scikit-learn's criterion for its `cd` solver).
    pub tol: f64,
}

impl Default for TopicOptions {
    fn default() -> Self {
        TopicOptions {
            max_vocab: 5000,
            min_df: 2,
            max_df: 0.5,
            sublinear_tf: false,
            top_terms: 10,
            representative: 3,
            max_iter: 200,
            tol: 1e-4,
        }
    }
}

/// One discovered topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// 0 for the largest topic, 1 for the next, …
    pub id: usize,
    /// Label terms and their c-TF-IDF weights, highest first.
    pub terms: Vec<(String, f64)>,
    /// Documents assigned to the topic.
    pub size: usize,
    /// Indices of the documents that belong to the topic most purely (highest share of
    /// their weight on this topic first).
    pub representative: Vec<usize>,
    /// The topic's share of the batch's reconstructed TF-IDF mass, Σᵢ (W·H)ᵢ restricted
    /// to the topic; unlike `size` it counts the documents that mix topics.
    pub weight_share: f64,
}

/// The topics of a batch and each document's topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topics {
    /// Largest first; always `k` of them (a topic NMF left empty has size 0 and no terms).
    pub topics: Vec<Topic>,
    /// Per document: its topic, or `None` when it has no term of the vocabulary.
    pub assignment: Vec<Option<usize>>,
}

/// Discovers `k` topics in `docs` (each document's content terms, as
/// [`crate::keywords::content_terms`] returns them). Deterministic for a `seed`.
///
/// Errors when `k` is 0, when the vocabulary filters leave no term, or when fewer than
/// `k` documents have a term of the vocabulary.
pub fn discover(
    docs: &[Vec<String>],
    k: usize,
    seed: u64,
    opts: &TopicOptions,
) -> Result<Topics, String> {
    if k == 0 {
        return Err("the number of topics must be at least 1".into());
    }
    let vocab = vocabulary(docs, opts)?;
    let index: HashMap<&str, u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i as u32))
        .collect();
    let counts: Vec<Vec<(u32, f64)>> = docs.par_iter().map(|d| count_terms(d, &index)).collect();
    let non_empty = counts.iter().filter(|c| !c.is_empty()).count();
    if k > non_empty {
        return Err(format!(
            "asked for {k} topics but only {non_empty} of {} documents have a term of the \
             vocabulary; lower the number of topics",
            docs.len()
        ));
    }
    let x = tfidf(&counts, vocab.len(), opts.sublinear_tf);
    let xt = x.transpose();
    let (mut w, mut ht) = nmf(&x, &xt, k, seed, opts.max_iter, opts.tol);
    normalise_topics(&mut w, &mut ht, k);

    let n = docs.len();
    let raw_assignment: Vec<Option<usize>> =
        (0..n).map(|i| argmax(&w[i * k..(i + 1) * k])).collect();
    let mut sizes = vec![0usize; k];
    for t in raw_assignment.iter().flatten() {
        sizes[*t] += 1;
    }
    let shares = weight_shares(&w, &ht, k);
    let labels = c_tf_idf(&counts, &raw_assignment, k, &vocab, opts.top_terms);
    let representative = representatives(&w, &raw_assignment, k, opts.representative);
    Ok(assemble(
        raw_assignment,
        sizes,
        shares,
        labels,
        representative,
    ))
}

/// Topics of documents already grouped by someone else, such as clusters of sentence
/// embeddings: labels by class-based TF-IDF of the groups' content terms (as
/// [`discover`] does), representatives by `closeness` (higher is more typical, e.g.
/// cosine to the cluster centre), weight share by size. Same ordering and numbering as
/// [`discover`]; a document's group is `None` when it has none.
pub fn from_groups(
    docs: &[Vec<String>],
    groups: &[Option<usize>],
    closeness: &[f64],
    k: usize,
    opts: &TopicOptions,
) -> Result<Topics, String> {
    if docs.len() != groups.len() || docs.len() != closeness.len() {
        return Err(format!(
            "{} documents but {} groups and {} closeness values",
            docs.len(),
            groups.len(),
            closeness.len()
        ));
    }
    if let Some(g) = groups.iter().flatten().find(|&&g| g >= k) {
        return Err(format!("group {g} is out of range for {k} topics"));
    }
    let vocab = vocabulary(docs, opts)?;
    let index: HashMap<&str, u32> = vocab
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i as u32))
        .collect();
    let counts: Vec<Vec<(u32, f64)>> = docs.par_iter().map(|d| count_terms(d, &index)).collect();
    let mut sizes = vec![0usize; k];
    for g in groups.iter().flatten() {
        sizes[*g] += 1;
    }
    let grouped: usize = sizes.iter().sum();
    let shares = sizes
        .iter()
        .map(|&s| {
            if grouped > 0 {
                s as f64 / grouped as f64
            } else {
                0.0
            }
        })
        .collect();
    let labels = c_tf_idf(&counts, groups, k, &vocab, opts.top_terms);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, g) in groups.iter().enumerate() {
        if let Some(g) = g {
            members[*g].push(i);
        }
    }
    let representative = members
        .into_iter()
        .map(|mut m| {
            m.sort_by(|&a, &b| closeness[b].total_cmp(&closeness[a]).then(a.cmp(&b)));
            m.truncate(opts.representative);
            m
        })
        .collect();
    Ok(assemble(
        groups.to_vec(),
        sizes,
        shares,
        labels,
        representative,
    ))
}

/// Orders topics largest first (ties by weight share, then by the fit's order) and
/// renumbers the assignment to match.
fn assemble(
    raw_assignment: Vec<Option<usize>>,
    sizes: Vec<usize>,
    shares: Vec<f64>,
    labels: Vec<Vec<(String, f64)>>,
    representative: Vec<Vec<usize>>,
) -> Topics {
    let k = sizes.len();
    // Largest topic first; ties by weight, then by NMF's order (deterministic).
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        sizes[b]
            .cmp(&sizes[a])
            .then(shares[b].total_cmp(&shares[a]))
            .then(a.cmp(&b))
    });
    let mut new_id = vec![0usize; k];
    for (id, &t) in order.iter().enumerate() {
        new_id[t] = id;
    }
    let mut labels = labels.into_iter().map(Some).collect::<Vec<_>>();
    let mut representative = representative.into_iter().map(Some).collect::<Vec<_>>();
    let topics = order
        .iter()
        .enumerate()
        .map(|(id, &t)| Topic {
            id,
            terms: labels[t].take().unwrap_or_default(),
            size: sizes[t],
            representative: representative[t].take().unwrap_or_default(),
            weight_share: shares[t],
        })
        .collect();
    let assignment = raw_assignment
        .iter()
        .map(|a| a.map(|t| new_id[t]))
        .collect();
    Topics { topics, assignment }
}

/// The filtered vocabulary, sorted by term. Errors say which filter emptied it.
fn vocabulary(docs: &[Vec<String>], opts: &TopicOptions) -> Result<Vec<String>, String> {
    let mut df: HashMap<&str, usize> = HashMap::new();
    for d in docs {
        let mut seen: Vec<&str> = d.iter().map(String::as_str).collect();
        seen.sort_unstable();
        seen.dedup();
        for t in seen {
            *df.entry(t).or_default() += 1;
        }
    }
    if df.is_empty() {
        return Err(format!(
            "the {} documents have no content terms, so there is nothing to find topics in",
            docs.len()
        ));
    }
    let min_df = opts.min_df.max(1);
    let max_count = opts.max_df * docs.len() as f64;
    let frequent_enough = df.values().filter(|&&c| c >= min_df).count();
    if frequent_enough == 0 {
        return Err(format!(
            "the vocabulary is empty: none of the {} distinct terms appears in at least \
             min_df = {min_df} documents; lower min_df (e.g. to 1) or give more documents",
            df.len()
        ));
    }
    let mut kept: Vec<(&str, usize)> = df
        .into_iter()
        .filter(|&(_, c)| c >= min_df && c as f64 <= max_count)
        .collect();
    if kept.is_empty() {
        return Err(format!(
            "the vocabulary is empty: all {frequent_enough} terms in at least min_df = {min_df} \
             documents appear in more than max_df = {} of the {} documents; raise max_df \
             (e.g. to 1.0) or lower min_df",
            opts.max_df,
            docs.len()
        ));
    }
    kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    kept.truncate(opts.max_vocab.max(1));
    let mut vocab: Vec<String> = kept.into_iter().map(|(t, _)| t.to_string()).collect();
    vocab.sort_unstable();
    Ok(vocab)
}

/// A document's vocabulary terms as (column, count), sorted by column.
fn count_terms(doc: &[String], index: &HashMap<&str, u32>) -> Vec<(u32, f64)> {
    let mut cols: Vec<u32> = doc
        .iter()
        .filter_map(|t| index.get(t.as_str()).copied())
        .collect();
    cols.sort_unstable();
    let mut out: Vec<(u32, f64)> = Vec::new();
    for c in cols {
        match out.last_mut() {
            Some(last) if last.0 == c => last.1 += 1.0,
            _ => out.push((c, 1.0)),
        }
    }
    out
}

/// A sparse matrix in compressed rows (CSR); its transpose serves as the columns.
#[derive(Debug, Clone)]
struct Sparse {
    cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
}

impl Sparse {
    fn rows(&self) -> usize {
        self.indptr.len() - 1
    }

    fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let r = self.indptr[i]..self.indptr[i + 1];
        (&self.indices[r.clone()], &self.values[r])
    }

    fn transpose(&self) -> Sparse {
        let mut counts = vec![0usize; self.cols + 1];
        for &j in &self.indices {
            counts[j as usize + 1] += 1;
        }
        for j in 0..self.cols {
            counts[j + 1] += counts[j];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.indices.len()];
        let mut values = vec![0.0; self.values.len()];
        for i in 0..self.rows() {
            let (cols, vals) = self.row(i);
            for (&j, &v) in cols.iter().zip(vals) {
                let p = next[j as usize];
                indices[p] = i as u32;
                values[p] = v;
                next[j as usize] += 1;
            }
        }
        Sparse {
            cols: self.rows(),
            indptr,
            indices,
            values,
        }
    }
}

/// L2-normalised TF-IDF rows; idf from the document frequencies of `counts`.
fn tfidf(counts: &[Vec<(u32, f64)>], cols: usize, sublinear: bool) -> Sparse {
    let mut df = vec![0usize; cols];
    for row in counts {
        for &(j, _) in row {
            df[j as usize] += 1;
        }
    }
    let n = counts.len() as f64;
    let idf: Vec<f64> = df
        .iter()
        .map(|&d| ((1.0 + n) / (1.0 + d as f64)).ln() + 1.0)
        .collect();
    let mut indptr = Vec::with_capacity(counts.len() + 1);
    indptr.push(0);
    let mut indices = Vec::new();
    let mut values = Vec::new();
    for row in counts {
        let start = values.len();
        for &(j, c) in row {
            let tf = if sublinear { 1.0 + c.ln() } else { c };
            indices.push(j);
            values.push(tf * idf[j as usize]);
        }
        let norm = values[start..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            values[start..].iter_mut().for_each(|v| *v /= norm);
        }
        indptr.push(values.len());
    }
    Sparse {
        cols,
        indptr,
        indices,
        values,
    }
}

/// A standard normal draw (Box–Muller); rand_distr is not a dependency of this crate.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// NMF of `x` (n × V; `xt` its transpose) into W (n × k) and Hᵀ (V × k), both dense and
/// row-major, minimising ½‖X − W·H‖²_F.
///
/// Written here because no maintained pure-Rust crate does sparse NMF (linfa has none;
/// the NMF crates we found take dense matrices or are unmaintained), and a dense X of
/// 10⁵ documents × 5000 terms would take 4 GB for ~50 non-zeros a row.
///
/// The solver is scikit-learn's `cd`: cyclic coordinate descent (HALS) alternating over
/// W and H, each half-step a closed-form update of one factor given the other, which
/// converges in far fewer sweeps than Lee & Seung's multiplicative updates. The sparse
/// products X·Hᵀ and Xᵀ·W cost one pass over the non-zeros (rows of X for one, rows of
/// Xᵀ for the other), so every step is a parallel map over independent rows with no
/// floating-point reduction whose order could vary between runs.
///
/// Start: [`nndsvda`], scikit-learn's default for this solver.
fn nmf(
    x: &Sparse,
    xt: &Sparse,
    k: usize,
    seed: u64,
    max_iter: usize,
    tol: f64,
) -> (Vec<f64>, Vec<f64>) {
    let (mut w, mut ht) = nndsvda(x, xt, k, seed);
    let mut first = None;
    for _ in 0..max_iter {
        let mut violation = cd_sweep(&mut w, &gram(&ht, k), &cross(x, &ht, k), k);
        violation += cd_sweep(&mut ht, &gram(&w, k), &cross(xt, &w, k), k);
        let first = *first.get_or_insert(violation);
        if first == 0.0 || violation / first <= tol {
            break;
        }
    }
    (w, ht)
}

/// The NNDSVDa start of NMF (Boutsidis & Gallopoulos 2008; scikit-learn's `nndsvda`):
/// each of the top k singular pairs of X split into its positive and negative parts,
/// the larger kept, and zeros filled with mean(X). Why not a random start: from random
/// W and H coordinate descent often settles with two themes merged into one topic and
/// another split in two; the SVD start begins near the dominant directions of X. The
/// SVD is randomized (Halko, Martinsson & Tropp 2011) with sparse products only; the
/// seed draws its test matrix, so the start is deterministic for a seed. Documents
/// without terms start (and stay) at zero.
fn nndsvda(x: &Sparse, xt: &Sparse, k: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let (n, v) = (x.rows(), x.cols);
    let non_empty = (0..n).filter(|&i| x.indptr[i] < x.indptr[i + 1]).count();
    let (u, sigma, vt, l) = randomized_svd(x, xt, k, non_empty.min(v), seed);
    let mut w = vec![0.0; n * k];
    let mut ht = vec![0.0; v * k];
    let col_norms = |m: &[f64], j: usize| {
        let (mut p, mut q) = (0.0, 0.0);
        for row in m.chunks_exact(l) {
            let e = row[j];
            if e > 0.0 { p += e * e } else { q += e * e }
        }
        (p.sqrt(), q.sqrt())
    };
    if l > 0 {
        // The leading pair of a non-negative matrix has one sign throughout: its
        // absolute value.
        let scale = sigma[0].sqrt();
        for (wi, ui) in w.chunks_exact_mut(k).zip(u.chunks_exact(l)) {
            wi[0] = scale * ui[0].abs();
        }
        for (hj, vj) in ht.chunks_exact_mut(k).zip(vt.chunks_exact(l)) {
            hj[0] = scale * vj[0].abs();
        }
    }
    for j in 1..k.min(l) {
        // (u, v) and (−u, −v) are the same singular pair: keep the sign whose positive
        // parts carry more, as a non-negative rank-one term.
        let (up, un) = col_norms(&u, j);
        let (vp, vn) = col_norms(&vt, j);
        let (sign, unorm, vnorm) = if up * vp >= un * vn {
            (1.0, up, vp)
        } else {
            (-1.0, un, vn)
        };
        if unorm == 0.0 || vnorm == 0.0 {
            continue;
        }
        let lambda = (sigma[j] * unorm * vnorm).sqrt();
        for (wi, ui) in w.chunks_exact_mut(k).zip(u.chunks_exact(l)) {
            wi[j] = lambda * (sign * ui[j]).max(0.0) / unorm;
        }
        for (hj, vj) in ht.chunks_exact_mut(k).zip(vt.chunks_exact(l)) {
            hj[j] = lambda * (sign * vj[j]).max(0.0) / vnorm;
        }
    }
    let mean = x.values.iter().sum::<f64>() / (n as f64 * v as f64);
    for e in w.iter_mut().chain(ht.iter_mut()) {
        if *e < 1e-6 {
            *e = mean;
        }
    }
    for i in 0..n {
        if x.indptr[i] == x.indptr[i + 1] {
            w[i * k..(i + 1) * k].iter_mut().for_each(|e| *e = 0.0);
        }
    }
    (w, ht)
}

/// The top singular triplets of X by randomized subspace iteration (Halko et al.,
/// scikit-learn's `randomized_svd`: 10 extra directions, 7 power iterations for few
/// components, else 4). Returns U (n × l), σ (l, descending), V (V × l) and l, the
/// number of directions (≤ k + 10, ≤ `rank_bound`).
fn randomized_svd(
    x: &Sparse,
    xt: &Sparse,
    k: usize,
    rank_bound: usize,
    seed: u64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, usize) {
    let v = x.cols;
    let l = (k + 10).min(rank_bound).max(1);
    let power = if k * 10 < rank_bound { 7 } else { 4 };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let omega: Vec<f64> = (0..v * l).map(|_| normal(&mut rng)).collect();
    let mut y = cross(x, &omega, l);
    orthonormalise(&mut y, l);
    for _ in 0..power {
        let mut z = cross(xt, &y, l);
        orthonormalise(&mut z, l);
        y = cross(x, &z, l);
        orthonormalise(&mut y, l);
    }
    // B = Yᵀ X (l × V), held as Bᵀ; B·Bᵀ = U_B Λ U_Bᵀ gives U = Y·U_B, σ = √λ and
    // V = Bᵀ·U_B / σ.
    let bt = cross(xt, &y, l);
    let (lambda, ub) = symmetric_eigen(gram(&bt, l), l);
    let sigma: Vec<f64> = lambda.iter().map(|e| e.max(0.0).sqrt()).collect();
    let u = times(&y, &ub, l, l);
    let mut vt = times(&bt, &ub, l, l);
    for row in vt.chunks_exact_mut(l) {
        row.iter_mut()
            .zip(&sigma)
            .for_each(|(e, s)| *e = if *s > 0.0 { *e / s } else { 0.0 });
    }
    (u, sigma, vt, l)
}

/// M·C for row-major M (rows × a) and C (a × b).
fn times(m: &[f64], c: &[f64], a: usize, b: usize) -> Vec<f64> {
    let rows = m.len() / a;
    let mut out = vec![0.0; rows * b];
    out.par_chunks_mut(b).enumerate().for_each(|(i, o)| {
        for (p, &e) in m[i * a..(i + 1) * a].iter().enumerate() {
            if e != 0.0 {
                o.iter_mut()
                    .zip(&c[p * b..(p + 1) * b])
                    .for_each(|(x, y)| *x += e * y);
            }
        }
    });
    out
}

/// Makes the columns of row-major M (rows × l) orthonormal, spanning the same space:
/// M ← M·E·Λ^(−1/2) from the eigen-decomposition MᵀM = E Λ Eᵀ, twice (the second pass
/// repairs what rounding left of the first); directions with λ ≤ 1e-12·λ_max (M rank
/// deficient) become zero columns. Gram-based, so it parallelises over rows.
fn orthonormalise(m: &mut Vec<f64>, l: usize) {
    for _ in 0..2 {
        let (lambda, e) = symmetric_eigen(gram(m, l), l);
        let top = lambda.first().copied().unwrap_or(0.0);
        let mut c = e;
        for row in c.chunks_exact_mut(l) {
            for (x, &lam) in row.iter_mut().zip(&lambda) {
                *x = if lam > 1e-12 * top && lam > 0.0 {
                    *x / lam.sqrt()
                } else {
                    0.0
                };
            }
        }
        *m = times(m, &c, l, l);
    }
}

/// Eigenvalues (descending) and eigenvectors (the columns of a row-major l × l) of a
/// symmetric matrix, by cyclic Jacobi rotations; l is small here (k + 10).
fn symmetric_eigen(mut a: Vec<f64>, l: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; l * l];
    for i in 0..l {
        v[i * l + i] = 1.0;
    }
    let total: f64 = a.iter().map(|e| e * e).sum();
    for _ in 0..100 {
        let mut off = 0.0;
        for p in 0..l {
            for q in 0..l {
                if p != q {
                    off += a[p * l + q] * a[p * l + q];
                }
            }
        }
        if off <= 1e-30 * total || total == 0.0 {
            break;
        }
        for p in 0..l {
            for q in p + 1..l {
                let apq = a[p * l + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * l + q] - a[p * l + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..l {
                    let (x, y) = (a[r * l + p], a[r * l + q]);
                    a[r * l + p] = c * x - s * y;
                    a[r * l + q] = s * x + c * y;
                }
                for r in 0..l {
                    let (x, y) = (a[p * l + r], a[q * l + r]);
                    a[p * l + r] = c * x - s * y;
                    a[q * l + r] = s * x + c * y;
                }
                for r in 0..l {
                    let (x, y) = (v[r * l + p], v[r * l + q]);
                    v[r * l + p] = c * x - s * y;
                    v[r * l + q] = s * x + c * y;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&i, &j| a[j * l + j].total_cmp(&a[i * l + i]).then(i.cmp(&j)));
    let values = order.iter().map(|&i| a[i * l + i]).collect();
    let mut vectors = vec![0.0; l * l];
    for r in 0..l {
        for (c, &i) in order.iter().enumerate() {
            vectors[r * l + c] = v[r * l + i];
        }
    }
    (values, vectors)
}

/// FᵀF of a row-major m × k factor, summed over fixed chunks in order (deterministic).
fn gram(f: &[f64], k: usize) -> Vec<f64> {
    let partial: Vec<Vec<f64>> = f
        .par_chunks(k * 2048)
        .map(|chunk| {
            let mut g = vec![0.0; k * k];
            for row in chunk.chunks_exact(k) {
                for a in 0..k {
                    if row[a] == 0.0 {
                        continue;
                    }
                    for b in 0..k {
                        g[a * k + b] += row[a] * row[b];
                    }
                }
            }
            g
        })
        .collect();
    let mut g = vec![0.0; k * k];
    for p in partial {
        g.iter_mut().zip(p).for_each(|(a, b)| *a += b);
    }
    g
}

/// X·F for sparse X (rows × c) and a row-major c × k factor F: rows × k.
fn cross(x: &Sparse, f: &[f64], k: usize) -> Vec<f64> {
    let mut out = vec![0.0; x.rows() * k];
    out.par_chunks_mut(k).enumerate().for_each(|(i, o)| {
        let (cols, vals) = x.row(i);
        for (&j, &v) in cols.iter().zip(vals) {
            let fj = &f[j as usize * k..(j as usize + 1) * k];
            o.iter_mut().zip(fj).for_each(|(a, b)| *a += v * b);
        }
    });
    out
}

/// One coordinate-descent sweep over every entry of `f` (m × k) given the Gram matrix of
/// the other factor and the cross product; returns the ℓ1 norm of the projected
/// gradient (scikit-learn's `_update_cdnmf_fast`). Rows are independent, so parallel.
fn cd_sweep(f: &mut [f64], gram: &[f64], cross: &[f64], k: usize) -> f64 {
    let violations: Vec<f64> = f
        .par_chunks_mut(k)
        .zip(cross.par_chunks(k))
        .map(|(row, c)| {
            let mut violation = 0.0;
            for t in 0..k {
                let g = &gram[t * k..(t + 1) * k];
                let grad = g.iter().zip(row.iter()).map(|(a, b)| a * b).sum::<f64>() - c[t];
                let projected = if row[t] == 0.0 { grad.min(0.0) } else { grad };
                violation += projected.abs();
                let hess = g[t];
                if hess != 0.0 {
                    row[t] = (row[t] - grad / hess).max(0.0);
                }
            }
            violation
        })
        .collect();
    violations.iter().sum()
}

/// Scales each topic's row of H to unit L2 norm (and W's column inversely), so W's
/// entries are comparable across topics and a document's argmax means something.
fn normalise_topics(w: &mut [f64], ht: &mut [f64], k: usize) {
    let mut norms = vec![0.0; k];
    for row in ht.chunks_exact(k) {
        norms.iter_mut().zip(row).for_each(|(n, h)| *n += h * h);
    }
    norms.iter_mut().for_each(|n| *n = n.sqrt());
    for row in ht.chunks_exact_mut(k) {
        row.iter_mut()
            .zip(&norms)
            .for_each(|(h, n)| *h = if *n > 0.0 { *h / n } else { 0.0 });
    }
    for row in w.chunks_exact_mut(k) {
        row.iter_mut().zip(&norms).for_each(|(e, n)| *e *= n);
    }
}

/// Index of the largest entry (the first on ties); `None` when all are zero.
fn argmax(row: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (t, &v) in row.iter().enumerate() {
        if v > 0.0 && best.is_none_or(|(_, b)| v > b) {
            best = Some((t, v));
        }
    }
    best.map(|b| b.0)
}

/// Each topic's share of Σ W·H, which is (Σᵢ Wᵢₜ)(Σⱼ Hₜⱼ) per topic.
fn weight_shares(w: &[f64], ht: &[f64], k: usize) -> Vec<f64> {
    let mut wsum = vec![0.0; k];
    for row in w.chunks_exact(k) {
        wsum.iter_mut().zip(row).for_each(|(s, e)| *s += e);
    }
    let mut hsum = vec![0.0; k];
    for row in ht.chunks_exact(k) {
        hsum.iter_mut().zip(row).for_each(|(s, e)| *s += e);
    }
    let mass: Vec<f64> = wsum.iter().zip(&hsum).map(|(a, b)| a * b).collect();
    let total: f64 = mass.iter().sum();
    mass.iter()
        .map(|m| if total > 0.0 { m / total } else { 0.0 })
        .collect()
}

/// BERTopic's class-based TF-IDF: the documents of each topic form one class document;
/// weight(t, c) = tf(t, c) / |c| · ln(1 + A / f(t)), with |c| the class's term count,
/// A the mean term count of the non-empty classes and f(t) the term's count over all
/// classes. The `top` terms of each class, highest first (ties by term).
fn c_tf_idf(
    counts: &[Vec<(u32, f64)>],
    assignment: &[Option<usize>],
    k: usize,
    vocab: &[String],
    top: usize,
) -> Vec<Vec<(String, f64)>> {
    let mut tf: Vec<HashMap<u32, f64>> = vec![HashMap::new(); k];
    let mut total = vec![0.0; vocab.len()];
    for (row, a) in counts.iter().zip(assignment) {
        let Some(c) = *a else { continue };
        for &(j, n) in row {
            *tf[c].entry(j).or_default() += n;
            total[j as usize] += n;
        }
    }
    let sizes: Vec<f64> = tf.iter().map(|m| m.values().sum()).collect();
    let non_empty = sizes.iter().filter(|&&s| s > 0.0).count().max(1);
    let avg = sizes.iter().sum::<f64>() / non_empty as f64;
    tf.iter()
        .zip(&sizes)
        .map(|(m, &size)| {
            let mut scored: Vec<(u32, f64)> = m
                .iter()
                .map(|(&j, &n)| (j, n / size * (1.0 + avg / total[j as usize]).ln()))
                .collect();
            scored.sort_unstable_by(|a, b| {
                b.1.total_cmp(&a.1)
                    .then_with(|| vocab[a.0 as usize].cmp(&vocab[b.0 as usize]))
            });
            scored
                .into_iter()
                .take(top)
                .map(|(j, s)| (vocab[j as usize].clone(), s))
                .collect()
        })
        .collect()
}

/// Per topic, up to `m` of its documents by their share of weight on it (then by the
/// weight itself, then by index).
fn representatives(w: &[f64], assignment: &[Option<usize>], k: usize, m: usize) -> Vec<Vec<usize>> {
    let mut members: Vec<Vec<(usize, f64, f64)>> = vec![Vec::new(); k];
    for (i, a) in assignment.iter().enumerate() {
        let Some(t) = *a else { continue };
        let row = &w[i * k..(i + 1) * k];
        let sum: f64 = row.iter().sum();
        members[t].push((i, row[t] / sum, row[t]));
    }
    members
        .into_iter()
        .map(|mut docs| {
            docs.sort_unstable_by(|a, b| {
                b.1.total_cmp(&a.1)
                    .then(b.2.total_cmp(&a.2))
                    .then(a.0.cmp(&b.0))
            });
            docs.into_iter().take(m).map(|d| d.0).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::IndexedRandom;

    const THEMES: [&[&str]; 3] = [
        &[
            "delivery", "courier", "shipping", "arrived", "parcel", "物流", "快递", "发货", "送货",
            "到货",
        ],
        &[
            "battery", "charging", "charger", "power", "drains", "电池", "续航", "充电", "电量",
            "耗电",
        ],
        &[
            "flavor",
            "taste",
            "sweet",
            "delicious",
            "spicy",
            "味道",
            "口感",
            "好吃",
            "新鲜",
            "口味",
        ],
    ];
    const NOISE: &[&str] = &[
        "product", "order", "store", "bought", "week", "产品", "商品", "店家", "客服", "下单",
    ];

    /// `per_theme` documents of each theme (interleaved), each 6 theme words and 2 noise
    /// words, shuffled; plus one empty document at the end.
    fn corpus(per_theme: usize, seed: u64) -> (Vec<Vec<String>>, Vec<Option<usize>>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut docs = Vec::new();
        let mut truth = Vec::new();
        for i in 0..3 * per_theme {
            let theme = i % 3;
            let mut d: Vec<String> = (0..6)
                .map(|_| THEMES[theme].choose(&mut rng).unwrap().to_string())
                .collect();
            d.extend((0..2).map(|_| NOISE.choose(&mut rng).unwrap().to_string()));
            docs.push(d);
            truth.push(Some(theme));
        }
        docs.push(Vec::new());
        truth.push(None);
        (docs, truth)
    }

    #[test]
    fn groups_from_elsewhere_get_labels_of_their_own_theme() {
        let (docs, truth) = corpus(90, 3);
        // The true themes as groups (as a perfect clustering of embeddings would give),
        // closeness rising with the index.
        let groups: Vec<Option<usize>> = docs
            .iter()
            .zip(&truth)
            .map(|(d, t)| t.filter(|_| !d.is_empty()))
            .collect();
        let closeness: Vec<f64> = (0..docs.len()).map(|i| i as f64).collect();
        let topics = from_groups(&docs, &groups, &closeness, 3, &TopicOptions::default()).unwrap();
        for t in &topics.topics {
            let theme = THEMES
                .iter()
                .position(|th| th.contains(&t.terms[0].0.as_str()))
                .expect("a theme word");
            for (term, _) in &t.terms[..5] {
                assert!(THEMES[theme].contains(&term.as_str()), "{t:?}");
            }
            // The most typical member first.
            let r = &t.representative;
            assert!(r.windows(2).all(|w| w[0] > w[1]), "{r:?}");
            assert!(r.iter().all(|&i| topics.assignment[i] == Some(t.id)));
        }
        let sizes: usize = topics.topics.iter().map(|t| t.size).sum();
        assert_eq!(sizes, groups.iter().flatten().count());
        assert!(from_groups(&docs, &groups, &closeness, 2, &TopicOptions::default()).is_err());
    }

    #[test]
    fn nmf_recovers_planted_themes_in_both_languages() {
        for seed in [1, 7, 42] {
            let (docs, truth) = corpus(100, seed);
            let topics = discover(&docs, 3, seed, &TopicOptions::default()).unwrap();
            assert_eq!(topics.topics.len(), 3);
            assert_eq!(topics.assignment.len(), docs.len());
            assert_eq!(*topics.assignment.last().unwrap(), None, "empty document");
            // Each topic's top 5 terms come from one theme; the themes differ.
            let mut theme_of = Vec::new();
            for t in &topics.topics {
                let themes: Vec<usize> = t.terms[..5]
                    .iter()
                    .map(|(term, _)| {
                        THEMES
                            .iter()
                            .position(|th| th.contains(&term.as_str()))
                            .unwrap_or_else(|| panic!("`{term}` is not a theme word: {t:?}"))
                    })
                    .collect();
                assert!(themes.iter().all(|&x| x == themes[0]), "mixed topic {t:?}");
                theme_of.push(themes[0]);
                assert!(t.representative.len() == 3 && t.weight_share > 0.2, "{t:?}");
                for &r in &t.representative {
                    assert_eq!(topics.assignment[r], Some(t.id));
                }
            }
            let mut distinct = theme_of.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), 3, "{theme_of:?}");
            let right = topics
                .assignment
                .iter()
                .zip(&truth)
                .filter(|(a, t)| t.is_some() && a.map(|a| theme_of[a]) == **t)
                .count();
            assert!(
                right as f64 >= 0.9 * 300.0,
                "seed {seed}: {right} of 300 right"
            );
            let sizes: Vec<usize> = topics.topics.iter().map(|t| t.size).collect();
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
            assert_eq!(sizes.iter().sum::<usize>(), 300);
        }
    }

    #[test]
    fn tiny_batches_and_more_topics_than_terms_work() {
        let docs: Vec<Vec<String>> = [["a", "b"], ["a", "c"], ["b", "c"], ["a", "b"], ["c", "c"]]
            .iter()
            .map(|d| d.iter().map(|t| t.to_string()).collect())
            .collect();
        let o = TopicOptions {
            max_df: 1.0,
            ..TopicOptions::default()
        };
        for k in 1..=5 {
            let t = discover(&docs, k, 0, &o).unwrap();
            assert_eq!(t.topics.len(), k);
            assert!(t.assignment.iter().all(|a| a.is_some_and(|a| a < k)));
            assert_eq!(t.topics.iter().map(|t| t.size).sum::<usize>(), 5);
            let share: f64 = t.topics.iter().map(|t| t.weight_share).sum();
            assert!((share - 1.0).abs() < 1e-9, "{share}");
        }
    }

    #[test]
    fn same_seed_same_topics() {
        let (docs, _) = corpus(40, 3);
        let a = discover(&docs, 4, 9, &TopicOptions::default()).unwrap();
        let b = discover(&docs, 4, 9, &TopicOptions::default()).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }

    #[test]
    fn errors_say_what_to_change() {
        let (docs, _) = corpus(10, 1);
        let o = TopicOptions::default();
        assert!(
            discover(&docs, 0, 1, &o)
                .unwrap_err()
                .contains("at least 1")
        );
        let unique: Vec<Vec<String>> = (0..5).map(|i| vec![format!("word{i}")]).collect();
        let e = discover(&unique, 2, 1, &o).unwrap_err();
        assert!(e.contains("min_df") && e.contains("lower min_df"), "{e}");
        let same: Vec<Vec<String>> = (0..5).map(|_| vec!["same".to_string()]).collect();
        let e = discover(&same, 1, 1, &o).unwrap_err();
        assert!(e.contains("max_df"), "{e}");
        let e = discover(&[Vec::new(), Vec::new()], 1, 1, &o).unwrap_err();
        assert!(e.contains("no content terms"), "{e}");
        let e = discover(&docs[..4], 5, 1, &TopicOptions { max_df: 1.0, ..o }).unwrap_err();
        assert!(e.contains("lower the number of topics"), "{e}");
    }

    #[test]
    fn tfidf_rows_are_unit_length_with_sklearn_idf() {
        // Term 0 in both documents, term 1 in one: idf 1 and ln(3/2) + 1.
        let counts = vec![vec![(0, 1.0), (1, 2.0)], vec![(0, 1.0)]];
        let x = tfidf(&counts, 2, false);
        let (a, b) = (1.0, 2.0 * (1.5f64.ln() + 1.0));
        let norm = (a * a + b * b).sqrt();
        assert_eq!(x.row(0).0, &[0, 1]);
        assert!((x.row(0).1[0] - a / norm).abs() < 1e-12);
        assert!((x.row(0).1[1] - b / norm).abs() < 1e-12);
        assert_eq!(x.row(1).1, &[1.0]);
        let xt = x.transpose();
        assert_eq!(xt.row(0).0, &[0, 1]);
        assert_eq!(xt.row(1).0, &[0]);
    }

    #[test]
    fn jacobi_eigen_reconstructs_a_symmetric_matrix() {
        let a = vec![4.0, 1.0, 2.0, 1.0, 3.0, 0.5, 2.0, 0.5, 1.0];
        let (lambda, v) = symmetric_eigen(a.clone(), 3);
        assert!(lambda.windows(2).all(|w| w[0] >= w[1]), "{lambda:?}");
        for i in 0..3 {
            for j in 0..3 {
                let back: f64 = (0..3)
                    .map(|c| v[i * 3 + c] * lambda[c] * v[j * 3 + c])
                    .sum();
                assert!((back - a[i * 3 + j]).abs() < 1e-10, "{i} {j}");
                let ortho: f64 = (0..3).map(|r| v[r * 3 + i] * v[r * 3 + j]).sum();
                assert!((ortho - (i == j) as u8 as f64).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn c_tf_idf_prefers_terms_unique_to_a_class() {
        // Vocab: 0 "shared", 1 "alpha", 2 "beta".
        let vocab: Vec<String> = ["shared", "alpha", "beta"].map(String::from).to_vec();
        let counts = vec![vec![(0, 1.0), (1, 1.0)], vec![(0, 1.0), (2, 1.0)]];
        let labels = c_tf_idf(&counts, &[Some(0), Some(1)], 2, &vocab, 2);
        assert_eq!(labels[0][0].0, "alpha");
        assert_eq!(labels[1][0].0, "beta");
        // tf 1/2 · ln(1 + 2/1) for a unique term, 1/2 · ln(1 + 2/2) for the shared one.
        assert!((labels[0][0].1 - 0.5 * 3f64.ln()).abs() < 1e-12);
        assert!((labels[0][1].1 - 0.5 * 2f64.ln()).abs() < 1e-12);
    }
}
