//! The BG/NBD model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way")
//! and its modification by Batislam, Denizel & Filiztekin (2007).
//!
//! While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α) (shape,
//! rate; α in the data's time unit); after each repeat purchase they drop out with
//! probability p ~ Beta(a, b). The modified BG/NBD lets them drop out right after the
//! first purchase too, so a customer with no repeat purchase is no longer certainly alive
//! (the original's P(alive | x = 0) = 1 overstates the silent ones).
//!
//! Per customer (x, t_x, T), the original's likelihood (FHL 2005, eq. 6):
//!
//! ```text
//! L = B(a, b+x)/B(a, b) · Γ(r+x) αʳ / (Γ(r) (α+T)^{r+x})
//!   + 1{x>0} · B(a+1, b+x−1)/B(a, b) · Γ(r+x) αʳ / (Γ(r) (α+t_x)^{r+x})
//! ```
//!
//! The modified one has B(a, b+x+1) and B(a+1, b+x) and no 1{x>0}. Both are written as
//! lifetimes writes them (`_negative_log_likelihood`), so the estimates coincide.
//!
//! The fit has an analytic gradient and Hessian, and the gamma-function terms depend only
//! on x, so they are tabulated once per pass: a pass over ten million customers costs two
//! logarithms, an exponential and a log1p each, and Newton's method needs a handful.

use crate::ClvError;
use crate::clv::PurchaseModel;
use crate::data::Rfm;
use crate::optim::{Fitted, Gradient, Parameters, maximize};
use crate::par::chunked_sum;
use crate::special::{ln_beta, ln_gamma, ln_hyp2f1, ln_hyp2f1_given};
use serde::{Deserialize, Serialize};

/// BG/NBD parameters (time in the data's unit).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// Modified BG/NBD parameters (Batislam et al. 2007): as [`BgNbd`], with a possible
/// dropout right after the first purchase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModifiedBgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl Parameters for BgNbd {
    const NAMES: &'static [&'static str] = &["r", "alpha", "a", "b"];
    fn values(&self) -> Vec<f64> {
        vec![self.r, self.alpha, self.a, self.b]
    }
    fn from_values(v: &[f64]) -> Self {
        BgNbd {
            r: v[0],
            alpha: v[1],
            a: v[2],
            b: v[3],
        }
    }
}

impl Parameters for ModifiedBgNbd {
    const NAMES: &'static [&'static str] = &["r", "alpha", "a", "b"];
    fn values(&self) -> Vec<f64> {
        vec![self.r, self.alpha, self.a, self.b]
    }
    fn from_values(v: &[f64]) -> Self {
        ModifiedBgNbd {
            r: v[0],
            alpha: v[1],
            a: v[2],
            b: v[3],
        }
    }
}

/// The two models differ only in an offset of b's counts and in the x = 0 dropout term.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Variant {
    Original,
    Modified,
}

impl Variant {
    fn offset(self) -> f64 {
        match self {
            Variant::Original => 0.0,
            Variant::Modified => 1.0,
        }
    }
    /// Does the likelihood have the "dropped out after the last purchase" term?
    fn dropout_term(self, x: f64) -> bool {
        self == Variant::Modified || x > 0.0
    }
}

#[derive(Debug, Clone, Copy)]
struct P {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
}

fn customer_ll(v: Variant, p: P, x: f64, t_x: f64, age: f64) -> f64 {
    let o = v.offset();
    let a1 = ln_gamma(p.r + x) - ln_gamma(p.r) + p.r * p.alpha.ln();
    let a2 =
        ln_gamma(p.a + p.b) + ln_gamma(p.b + x + o) - ln_gamma(p.b) - ln_gamma(p.a + p.b + x + o);
    let a3 = -(p.r + x) * (p.alpha + age).ln();
    if v.dropout_term(x) {
        let a4 = p.a.ln() - (p.b + x - 1.0 + o).ln() - (p.r + x) * (p.alpha + t_x).ln();
        a1 + a2 + log_add_exp(a3, a4)
    } else {
        a1 + a2 + a3
    }
}

pub(crate) fn log_add_exp(u: f64, v: f64) -> f64 {
    let top = u.max(v);
    if top == f64::NEG_INFINITY {
        top
    } else {
        top + ((u - top).exp() + (v - top).exp()).ln()
    }
}

/// Weighted customers per whole frequency: the gamma-function terms are summed per x.
struct Counts {
    by_x: Vec<f64>,
    total: f64,
}

impl Counts {
    fn new(data: &Rfm) -> Counts {
        let max_x = data.frequency.iter().fold(0.0f64, |m, x| m.max(*x)) as usize;
        let mut by_x = vec![0.0; max_x + 1];
        for (i, x) in data.frequency.iter().enumerate() {
            by_x[*x as usize] += data.weight(i);
        }
        Counts {
            total: by_x.iter().sum(),
            by_x,
        }
    }
}

/// ln Γ(s + k) − ln Γ(s), ψ(s + k) − ψ(s) and ψ'(s + k) − ψ'(s) for k = 0 … len−1, by
/// recurrence.
fn gamma_table(s: f64, len: usize) -> [Vec<f64>; 3] {
    let (mut lg, mut dg, mut tg) = (
        Vec::with_capacity(len),
        Vec::with_capacity(len),
        Vec::with_capacity(len),
    );
    let (mut l, mut d, mut t) = (0.0, 0.0, 0.0);
    for k in 0..len {
        lg.push(l);
        dg.push(d);
        tg.push(t);
        let u = s + k as f64;
        l += u.ln();
        d += 1.0 / u;
        t -= 1.0 / (u * u);
    }
    [lg, dg, tg]
}

/// Index of the pair (i, j), i ≤ j, in a packed upper triangle of a 4 × 4 matrix.
const fn pair(i: usize, j: usize) -> usize {
    [[0, 1, 2, 3], [1, 4, 5, 6], [2, 5, 7, 8], [3, 6, 8, 9]][i][j]
}

/// The mean negative log-likelihood over θ = ln(r, α, a, b), its gradient and Hessian
/// in θ (row-major 4 × 4), in one pass. Per customer the dropout term is
/// ℓ = logaddexp(A₃, A₄) with weight w = σ(A₄ − A₃) on A₄, so
/// ∇ℓ = (1−w)∇A₃ + w∇A₄ and ∇²ℓ = (1−w)∇²A₃ + w∇²A₄ + w(1−w)(∇A₄−∇A₃)(∇A₄−∇A₃)ᵀ.
fn second_order(
    v: Variant,
    data: &Rfm,
    counts: &Counts,
    theta: &[f64],
) -> (f64, [f64; 4], [f64; 16]) {
    let (r, alpha, a, b) = (
        theta[0].exp(),
        theta[1].exp(),
        theta[2].exp(),
        theta[3].exp(),
    );
    if ![r, alpha, a, b].iter().all(|v| v.is_finite() && *v > 0.0) {
        return (f64::INFINITY, [0.0; 4], [0.0; 16]);
    }
    let o = v.offset() as usize;
    let kx = counts.by_x.len();
    let [lg_r, dg_r, tg_r] = gamma_table(r, kx);
    let [lg_b, dg_b, tg_b] = gamma_table(b, kx + 1);
    let [lg_ab, dg_ab, tg_ab] = gamma_table(a + b, kx + 1);
    // b + x − 1 + o, the dropout term's b-part, and its logarithm.
    let bx: Vec<f64> = (0..kx).map(|x| b + x as f64 - 1.0 + o as f64).collect();
    let ln_bx: Vec<f64> = bx.iter().map(|v| v.ln()).collect();
    let (ln_alpha, ln_a) = (alpha.ln(), a.ln());
    // Sums in natural parameters: [ℓ, ∂r, ∂α, ∂a, ∂b, packed upper-triangular ∂²].
    let mut acc = [0.0; 15];
    for (x, w) in counts.by_x.iter().enumerate() {
        if *w == 0.0 {
            continue;
        }
        let k = x + o;
        acc[0] += w * (lg_r[x] + r * ln_alpha + lg_b[k] - lg_ab[k]);
        acc[1] += w * (dg_r[x] + ln_alpha);
        acc[2] += w * r / alpha;
        acc[3] -= w * dg_ab[k];
        acc[4] += w * (dg_b[k] - dg_ab[k]);
        acc[5 + pair(0, 0)] += w * tg_r[x];
        acc[5 + pair(0, 1)] += w / alpha;
        acc[5 + pair(1, 1)] -= w * r / (alpha * alpha);
        acc[5 + pair(2, 2)] -= w * tg_ab[k];
        acc[5 + pair(2, 3)] -= w * tg_ab[k];
        acc[5 + pair(3, 3)] += w * (tg_b[k] - tg_ab[k]);
    }
    let per_customer = chunked_sum::<15, _>(data.len(), |rows| {
        let mut s = [0.0; 15];
        for i in rows {
            let (x, t_x, age) = (data.frequency[i], data.recency[i], data.age[i]);
            let w = data.weight(i);
            let rx = r + x;
            let at = alpha + age;
            let lt = at.ln();
            if v.dropout_term(x) {
                let xi = x as usize;
                let atx = alpha + t_x;
                let ltx = atx.ln();
                let a3 = -rx * lt;
                let a4 = ln_a - ln_bx[xi] - rx * ltx;
                let d = a4 - a3;
                let (value, share) = if d > 0.0 {
                    let e = (-d).exp();
                    (a4 + e.ln_1p(), 1.0 / (1.0 + e))
                } else {
                    let e = d.exp();
                    (a3 + e.ln_1p(), e / (1.0 + e))
                };
                let keep = 1.0 - share;
                let inv_b = 1.0 / bx[xi];
                s[0] += w * value;
                s[1] -= w * (keep * lt + share * ltx);
                s[2] -= w * rx * (keep / at + share / atx);
                s[3] += w * share / a;
                s[4] -= w * share * inv_b;
                // Second derivatives of A₃ and A₄ (only r–α, α–α, a–a, b–b are non-zero).
                s[5 + pair(0, 1)] -= w * (keep / at + share / atx);
                s[5 + pair(1, 1)] += w * rx * (keep / (at * at) + share / (atx * atx));
                s[5 + pair(2, 2)] -= w * share / (a * a);
                s[5 + pair(3, 3)] += w * share * inv_b * inv_b;
                // w(1−w) ddᵀ with d = ∇A₄ − ∇A₃.
                let dd = [lt - ltx, rx * (1.0 / at - 1.0 / atx), 1.0 / a, -inv_b];
                let c = w * share * keep;
                for p in 0..4 {
                    for q in p..4 {
                        s[5 + pair(p, q)] += c * dd[p] * dd[q];
                    }
                }
            } else {
                s[0] -= w * r * lt;
                s[1] -= w * lt;
                s[2] -= w * r / at;
                s[5 + pair(0, 1)] -= w / at;
                s[5 + pair(1, 1)] += w * r / (at * at);
            }
        }
        s
    });
    for k in 0..15 {
        acc[k] += per_customer[k];
    }
    // To θ = ln p and the mean negative log-likelihood:
    // ∂/∂θᵢ = pᵢ ∂/∂pᵢ, ∂²/∂θᵢ∂θⱼ = pᵢ pⱼ ∂²/∂pᵢ∂pⱼ + δᵢⱼ pᵢ ∂/∂pᵢ.
    let p = [r, alpha, a, b];
    let scale = -1.0 / counts.total;
    let mut g = [0.0; 4];
    let mut h = [0.0; 16];
    for i in 0..4 {
        g[i] = scale * p[i] * acc[1 + i];
        for j in 0..4 {
            let (lo, hi) = (i.min(j), i.max(j));
            h[i * 4 + j] = scale * p[i] * p[j] * acc[5 + pair(lo, hi)];
        }
        h[i * 4 + i] += g[i];
    }
    (scale * acc[0], g, h)
}

fn objective(
    v: Variant,
    data: &Rfm,
    counts: &Counts,
    theta: &[f64],
    grad: Option<&mut [f64]>,
) -> f64 {
    let (f, g, _) = second_order(v, data, counts, theta);
    if let Some(out) = grad {
        out.copy_from_slice(&g);
    }
    f
}

/// Customers beyond which the fit first runs on a strided subsample of about
/// [`WARM_SAMPLE`] of them, then polishes on all (a handful of full passes instead of
/// dozens).
pub const WARM_ABOVE: usize = 400_000;
pub const WARM_SAMPLE: usize = 100_000;

/// Starting values: rate r/α = the observed repeat-purchase rate, a = b = 1.
fn start(data: &Rfm) -> Vec<f64> {
    let (mut xs, mut ts) = (0.0, 0.0);
    for i in 0..data.len() {
        xs += data.weight(i) * data.frequency[i];
        ts += data.weight(i) * data.age[i];
    }
    let alpha = if xs > 0.0 && ts > 0.0 { ts / xs } else { 1.0 };
    vec![1.0, alpha.clamp(1e-3, 1e6), 1.0, 1.0]
}

fn fit_variant<M: Parameters>(
    v: Variant,
    model: &'static str,
    data: &Rfm,
) -> Result<Fitted<M>, ClvError> {
    let counts = Counts::new(data);
    let f = |theta: &[f64], g: Option<&mut [f64]>| objective(v, data, &counts, theta, g);
    let sample = (data.len() > WARM_ABOVE).then(|| data.stride(data.len() / WARM_SAMPLE));
    let warm_data = sample.as_ref().map(|(x, t, a, w)| Rfm {
        frequency: x,
        recency: t,
        age: a,
        weights: w.as_deref(),
    });
    let warm_counts = warm_data.as_ref().map(Counts::new);
    let warm = warm_data
        .as_ref()
        .zip(warm_counts.as_ref())
        .map(|(d, c)| move |theta: &[f64], g: Option<&mut [f64]>| objective(v, d, c, theta, g));
    let exact = |theta: &[f64]| {
        let (f, g, h) = second_order(v, data, &counts, theta);
        (f, g.to_vec(), h.to_vec())
    };
    maximize::<M>(
        model,
        &f,
        warm.as_ref().map(|w| w as &crate::optim::Objective),
        &start(data),
        counts.total,
        Gradient::Exact(&exact),
    )
}

fn p_of(r: f64, alpha: f64, a: f64, b: f64) -> P {
    P { r, alpha, a, b }
}

/// E[purchases in (T, T+t] | x, t_x, T] (FHL 2005 eq. 10; Batislam et al.'s analogue),
/// with 1 − e^u computed as −expm1(u) so short horizons keep their digits.
fn conditional_expectation(v: Variant, p: P, t: f64, x: f64, t_x: f64, age: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    if (p.a - 1.0).abs() < 1e-7 {
        // (a+b+x−1)/(a−1) · (1 − …) is 0/0 at a = 1: average the two sides (smooth in a).
        let lo = conditional_expectation(v, P { a: 1.0 - 1e-6, ..p }, t, x, t_x, age);
        let hi = conditional_expectation(v, P { a: 1.0 + 1e-6, ..p }, t, x, t_x, age);
        return 0.5 * (lo + hi);
    }
    let o = v.offset();
    let at = p.alpha + age;
    // z = t/(α+T+t) and ln(1 − z) = ln((α+T)/(α+T+t)), shared by ₂F₁ and the power.
    let z = t / (at + t);
    let ln_1mz = (at / (at + t)).ln();
    let Some(ln_f) = ln_hyp2f1_given(p.r + x, p.b + x + o, p.a + p.b + x - 1.0 + o, z, ln_1mz)
    else {
        return f64::NAN;
    };
    let u = ln_f + (p.r + x) * ln_1mz;
    let numerator = (p.a + p.b + x - 1.0 + o) / (p.a - 1.0) * -u.exp_m1();
    let denominator = if v.dropout_term(x) {
        1.0 + ((p.a / (p.b + x - 1.0 + o)).ln() + (p.r + x) * (at / (p.alpha + t_x)).ln()).exp()
    } else {
        1.0
    };
    numerator / denominator
}

fn alive(v: Variant, p: P, x: f64, t_x: f64, age: f64) -> f64 {
    if !v.dropout_term(x) {
        return 1.0;
    }
    let ln_odds_dead = p.a.ln() - (p.b + x - 1.0 + v.offset()).ln()
        + (p.r + x) * ((p.alpha + age) / (p.alpha + t_x)).ln();
    1.0 / (1.0 + ln_odds_dead.exp())
}

/// P(X(t) = n) for a new customer (FHL 2005 eq. 8; lifetimes'
/// `probability_of_n_purchases_up_to_time`).
fn purchases_pmf(v: Variant, p: P, t: f64, n: u32) -> f64 {
    let o = v.offset();
    let nf = n as f64;
    let q = t / (p.alpha + t);
    let ln_p0 = p.r * (p.alpha / (p.alpha + t)).ln();
    let ln_nbd_n = ln_gamma(p.r + nf) - ln_gamma(p.r) - ln_gamma(nf + 1.0) + ln_p0 + nf * q.ln();
    let stay = (ln_beta(p.a, p.b + nf + o) - ln_beta(p.a, p.b)
        + if n == 0 { ln_p0 } else { ln_nbd_n })
    .exp();
    if v == Variant::Original && n == 0 {
        return stay;
    }
    // P(the NBD count reaches n) = 1 − Σ_{j<n} pmf(j).
    let (mut pmf, mut cdf) = (ln_p0.exp(), 0.0);
    for j in 0..n {
        cdf += pmf;
        pmf *= (p.r + j as f64) / (j as f64 + 1.0) * q;
    }
    let drop =
        (ln_beta(p.a + 1.0, p.b + nf - 1.0 + o) - ln_beta(p.a, p.b)).exp() * (1.0 - cdf).max(0.0);
    stay + drop
}

macro_rules! bgnbd_api {
    ($ty:ident, $variant:expr, $name:literal) => {
        impl $ty {
            fn p(&self) -> P {
                p_of(self.r, self.alpha, self.a, self.b)
            }

            #[doc = concat!("Maximum-likelihood ", $name, " fit (weighted if the data carry weights).")]
            pub fn fit(data: &Rfm) -> Result<Fitted<$ty>, ClvError> {
                fit_variant::<$ty>($variant, $name, data)
            }

            /// Σ wᵢ ln Lᵢ.
            pub fn log_likelihood(&self, data: &Rfm) -> f64 {
                let p = self.p();
                chunked_sum::<1, _>(data.len(), |rows| {
                    [rows
                        .map(|i| {
                            data.weight(i)
                                * customer_ll($variant, p, data.frequency[i], data.recency[i], data.age[i])
                        })
                        .sum()]
                })[0]
            }

            /// ln L of one customer.
            pub fn customer_log_likelihood(&self, frequency: f64, recency: f64, age: f64) -> f64 {
                customer_ll($variant, self.p(), frequency, recency, age)
            }

            /// P(n repeat purchases in (0, t]) for a new customer.
            pub fn probability_of_purchases(&self, t: f64, n: u32) -> f64 {
                purchases_pmf($variant, self.p(), t, n)
            }
        }

        impl PurchaseModel for $ty {
            fn probability_alive(&self, frequency: f64, recency: f64, age: f64) -> f64 {
                alive($variant, self.p(), frequency, recency, age)
            }

            fn expected_purchases(&self, t: f64, frequency: f64, recency: f64, age: f64) -> f64 {
                conditional_expectation($variant, self.p(), t, frequency, recency, age)
            }

            fn expected_purchases_new(&self, t: f64) -> f64 {
                new_customer($variant, self.p(), t)
            }
        }
    };
}

/// E[X(t)] for a new customer: (a+b−1)/(a−1) [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))]
/// (FHL 2005 eq. 9); modified: b/(a−1) [1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))].
fn new_customer(v: Variant, p: P, t: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    if (p.a - 1.0).abs() < 1e-7 {
        let lo = new_customer(v, P { a: 1.0 - 1e-6, ..p }, t);
        let hi = new_customer(v, P { a: 1.0 + 1e-6, ..p }, t);
        return 0.5 * (lo + hi);
    }
    let o = v.offset();
    let Some(ln_f) = ln_hyp2f1(p.r, p.b + o, p.a + p.b - 1.0 + o, t / (p.alpha + t)) else {
        return f64::NAN;
    };
    let u = ln_f + p.r * (p.alpha / (p.alpha + t)).ln();
    let lead = match v {
        Variant::Original => (p.a + p.b - 1.0) / (p.a - 1.0),
        Variant::Modified => p.b / (p.a - 1.0),
    };
    lead * -u.exp_m1()
}

bgnbd_api!(BgNbd, Variant::Original, "BG/NBD");
bgnbd_api!(ModifiedBgNbd, Variant::Modified, "modified BG/NBD");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytic_gradient_matches_differences() {
        let x = [0.0, 1.0, 2.0, 5.0, 0.0, 3.0];
        let t_x = [0.0, 3.0, 10.5, 30.0, 0.0, 12.0];
        let age = [20.0, 30.0, 38.0, 38.5, 5.0, 12.0];
        let w = [1.0, 2.0, 1.0, 3.0, 1.0, 0.5];
        let data = Rfm::new(&x, &t_x, &age).unwrap().with_weights(&w).unwrap();
        let counts = Counts::new(&data);
        for v in [Variant::Original, Variant::Modified] {
            let theta = [(-0.7f64), 1.2, -0.3, 0.8];
            let mut g = [0.0; 4];
            let f0 = objective(v, &data, &counts, &theta, Some(&mut g));
            let direct: f64 = (0..x.len())
                .map(|i| {
                    w[i] * customer_ll(
                        v,
                        p_of(
                            theta[0].exp(),
                            theta[1].exp(),
                            theta[2].exp(),
                            theta[3].exp(),
                        ),
                        x[i],
                        t_x[i],
                        age[i],
                    )
                })
                .sum::<f64>();
            assert!(
                (f0 + direct / 8.5).abs() < 1e-12,
                "{f0} vs {}",
                -direct / 8.5
            );
            for k in 0..4 {
                let (mut up, mut down) = (theta, theta);
                up[k] += 1e-6;
                down[k] -= 1e-6;
                let num = (objective(v, &data, &counts, &up, None)
                    - objective(v, &data, &counts, &down, None))
                    / 2e-6;
                assert!(
                    (num - g[k]).abs() < 1e-7,
                    "{v:?} param {k}: {num} vs {}",
                    g[k]
                );
            }
        }
    }

    #[test]
    fn analytic_hessian_matches_differences_of_the_gradient() {
        let x = [0.0, 1.0, 2.0, 5.0, 0.0, 3.0, 1.0];
        let t_x = [0.0, 3.0, 10.5, 30.0, 0.0, 12.0, 0.5];
        let age = [20.0, 30.0, 38.0, 38.5, 5.0, 12.0, 39.0];
        let data = Rfm::new(&x, &t_x, &age).unwrap();
        let counts = Counts::new(&data);
        for v in [Variant::Original, Variant::Modified] {
            let theta = [-1.1f64, 1.4, -0.2, 0.9];
            let (_, _, h) = second_order(v, &data, &counts, &theta);
            for i in 0..4 {
                let (mut up, mut down) = (theta, theta);
                up[i] += 1e-6;
                down[i] -= 1e-6;
                let (gu, gd) = (
                    second_order(v, &data, &counts, &up).1,
                    second_order(v, &data, &counts, &down).1,
                );
                for j in 0..4 {
                    let num = (gu[j] - gd[j]) / 2e-6;
                    assert!(
                        (num - h[i * 4 + j]).abs() < 1e-7,
                        "{v:?} H[{i}][{j}]: {num} vs {}",
                        h[i * 4 + j]
                    );
                }
            }
        }
    }

    #[test]
    fn pmf_sums_to_one() {
        let m = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let total: f64 = (0..400).map(|n| m.probability_of_purchases(39.0, n)).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        let mm = ModifiedBgNbd {
            r: 0.525,
            alpha: 6.183,
            a: 0.891,
            b: 1.614,
        };
        let total: f64 = (0..400).map(|n| mm.probability_of_purchases(39.0, n)).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        // The mean of the distribution is the expected number of purchases.
        let mean: f64 = (0..400)
            .map(|n| n as f64 * m.probability_of_purchases(39.0, n))
            .sum();
        assert!((mean - m.expected_purchases_new(39.0)).abs() < 1e-8);
    }
}
