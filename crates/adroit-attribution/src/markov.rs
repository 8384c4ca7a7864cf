//! Markov-chain attribution by removal effects, solved exactly.
//!
//! Journeys are walks `(start) → s₁ → … → sₘ → (conversion | null)`. For order `k` a
//! state is the tuple of `k` consecutive channels (a sliding window over the path; a path
//! shorter than `k` is one state of its own length), as ChannelAttribution builds them.
//! Consecutive equal states are merged, as ChannelAttribution does: a self-loop only
//! rescales a state's other exits, so it changes no conversion probability, but dropping
//! it keeps the reported transition matrix comparable with theirs. Transition
//! probabilities are the observed counts out of each state, each journey weighing its
//! conversions + nulls.
//!
//! - `P(conversion)` is the absorption probability into `(conversion)` from `(start)`:
//!   the solution of `h = P h + p_conv` on the transient states. Because the counts
//!   conserve flow, it equals the observed rate `conversions / journeys` exactly.
//! - The **removal effect** of a channel is `1 − P(conversion | channel removed) /
//!   P(conversion)`, where removing a channel redirects every transition into a state that
//!   contains it to `(null)` (its `h` is pinned to 0).
//! - Attributed conversions are `total conversions × removal effect / Σ removal effects`.
//! - Value works the same on the expected conversion value: `g = P g + v`, with `v(s)` the
//!   value of the conversions that left state `s` per journey leaving it (so a channel
//!   leading to large orders earns more value than conversions). Its removal effect
//!   `1 − g_removed / g` shares out the total value.
//!
//! The linear systems are solved by a dense LU with partial pivoting when the chain is
//! small and by Gauss–Seidel sweeps otherwise (states in reverse order of first
//! appearance, which mostly visits a state's successors before it; removal solves start
//! from the full solution), until no value moves by more than 1e-15 (relative) in a
//! sweep; the residual `max |x − P x − b|` is reported.

use crate::paths::{ChannelId, Paths};
use crate::{AttributionError, ChannelCredit, Credits};
use foldhash::{HashMap, HashMapExt};
use serde::{Deserialize, Serialize};

/// The highest order: four 16-bit channel ids pack into one `u64` state key.
pub const MAX_ORDER: usize = 4;

/// Chains up to this many transient states are solved densely under [`Solver::Auto`].
pub const DENSE_AUTO_MAX_STATES: usize = 300;

/// [`Solver::Dense`] refuses more states than this (memory n², time n³ per channel).
pub const DENSE_MAX_STATES: usize = 3000;

/// Gauss–Seidel stops when no value moves by more than this (relative) in a sweep.
const SWEEP_TOLERANCE: f64 = 1e-15;

/// Gauss–Seidel gives up after this many sweeps.
const MAX_SWEEPS: usize = 200_000;

/// How the absorbing chain's linear systems are solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Solver {
    /// Dense LU up to [`DENSE_AUTO_MAX_STATES`] states, Gauss–Seidel above.
    #[default]
    Auto,
    Dense,
    Iterative,
}

/// Settings of [`markov()`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarkovOptions {
    /// 1 to [`MAX_ORDER`]: how many past channels a state remembers.
    pub order: usize,
    pub solver: Solver,
}

impl Default for MarkovOptions {
    fn default() -> MarkovOptions {
        MarkovOptions {
            order: 1,
            solver: Solver::Auto,
        }
    }
}

/// A fitted chain's attribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkovResult {
    pub order: usize,
    /// Transient states, `(start)` included.
    pub states: usize,
    /// Journeys (conversions + nulls) the chain was estimated from.
    pub journeys: f64,
    pub conversions: f64,
    pub value: f64,
    /// `P(conversion)` from `(start)`.
    pub conversion_probability: f64,
    /// Expected conversion value per journey from `(start)`.
    pub value_per_journey: f64,
    /// One entry per channel of the paths, in their order.
    pub channels: Vec<MarkovChannel>,
    /// Every observed transition with its probability, grouped by `from` state. For order
    /// 1 this is the (sparse) transition matrix over channels.
    pub transitions: Vec<Transition>,
    pub solve: SolveReport,
}

/// One channel's removal effects and attribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkovChannel {
    pub channel: String,
    /// `1 − P(conversion | removed) / P(conversion)`, in [0, 1].
    pub removal_effect: f64,
    /// `P(conversion)` with the channel removed.
    pub conversion_probability_without: f64,
    /// `1 − E[value | removed] / E[value]`, in [0, 1].
    pub value_removal_effect: f64,
    /// Attributed conversions: total × removal effect / Σ removal effects.
    pub conversions: f64,
    /// Attributed value: total value × value removal effect / Σ value removal effects.
    pub value: f64,
}

/// An edge of the chain. States are named by their channels joined with ` > `, plus
/// `(start)`, `(conversion)` and `(null)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    /// Journeys (conversions + nulls) that took it.
    pub count: f64,
    pub probability: f64,
}

/// How the solve went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SolveReport {
    /// `dense_lu` or `gauss_seidel`.
    pub method: String,
    /// Gauss–Seidel sweeps over all solves (0 for dense).
    pub sweeps: usize,
    /// The largest `|x − P x − b|` over all solves, relative to the largest `x` of each.
    pub residual: f64,
}

impl MarkovResult {
    /// The entry of the channel named `channel`.
    pub fn channel(&self, channel: &str) -> Option<&MarkovChannel> {
        self.channels.iter().find(|c| c.channel == channel)
    }

    /// The attribution as [`Credits`] (model `markov`).
    pub fn credits(&self) -> Credits {
        Credits {
            model: "markov".into(),
            channels: self
                .channels
                .iter()
                .map(|c| ChannelCredit {
                    channel: c.channel.clone(),
                    conversions: c.conversions,
                    value: c.value,
                })
                .collect(),
            baseline: None,
        }
    }
}

/// The chain's transient states and their exits, in compressed rows.
struct Chain {
    /// Packed channel tuple of each state: lane `i` (16 bits) holds channel id + 1;
    /// `(start)` is 0.
    keys: Vec<u64>,
    /// Row `s`'s edges are `row_start[s] .. row_start[s + 1]` of `targets` / `counts`.
    row_start: Vec<usize>,
    targets: Vec<u32>,
    counts: Vec<f64>,
    to_conversion: Vec<f64>,
    to_null: Vec<f64>,
    /// Conversion value leaving each state.
    value: Vec<f64>,
    /// Journeys leaving each state (edges + conversions + nulls).
    out: Vec<f64>,
}

fn pack(window: &[ChannelId]) -> u64 {
    window
        .iter()
        .enumerate()
        .map(|(i, &c)| (c as u64 + 1) << (16 * i))
        .sum()
}

fn unpack(key: u64) -> impl Iterator<Item = ChannelId> {
    (0..MAX_ORDER)
        .map(move |i| ((key >> (16 * i)) & 0xffff) as u16)
        .take_while(|&lane| lane != 0)
        .map(|lane| lane - 1)
}

impl Chain {
    fn build(paths: &Paths, order: usize) -> Chain {
        let mut index: HashMap<u64, u32> = HashMap::new();
        index.insert(0, 0);
        let mut keys = vec![0u64];
        let (mut to_conversion, mut to_null, mut value) = (vec![0.0], vec![0.0], vec![0.0]);
        let mut edges: HashMap<u64, f64> = HashMap::new();
        for journey in &paths.journeys {
            let weight = journey.conversions + journey.nulls;
            if weight <= 0.0 || journey.path.is_empty() {
                continue;
            }
            let window = order.min(journey.path.len());
            let mut previous = 0u32;
            for start in 0..=journey.path.len() - window {
                let key = pack(&journey.path[start..start + window]);
                let state = *index.entry(key).or_insert_with(|| {
                    keys.push(key);
                    to_conversion.push(0.0);
                    to_null.push(0.0);
                    value.push(0.0);
                    (keys.len() - 1) as u32
                });
                if state != previous {
                    *edges
                        .entry(((previous as u64) << 32) | state as u64)
                        .or_insert(0.0) += weight;
                    previous = state;
                }
            }
            to_conversion[previous as usize] += journey.conversions;
            to_null[previous as usize] += journey.nulls;
            value[previous as usize] += journey.value;
        }
        let mut edges: Vec<(u64, f64)> = edges.into_iter().collect();
        edges.sort_unstable_by_key(|&(key, _)| key);
        let n = keys.len();
        let mut row_start = vec![0usize; n + 1];
        for &(key, _) in &edges {
            row_start[(key >> 32) as usize + 1] += 1;
        }
        for s in 0..n {
            row_start[s + 1] += row_start[s];
        }
        let targets: Vec<u32> = edges.iter().map(|&(key, _)| key as u32).collect();
        let counts: Vec<f64> = edges.iter().map(|&(_, count)| count).collect();
        let out = (0..n)
            .map(|s| {
                counts[row_start[s]..row_start[s + 1]].iter().sum::<f64>()
                    + to_conversion[s]
                    + to_null[s]
            })
            .collect();
        Chain {
            keys,
            row_start,
            targets,
            counts,
            to_conversion,
            to_null,
            value,
            out,
        }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn row(&self, s: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let range = self.row_start[s]..self.row_start[s + 1];
        let out = self.out[s];
        self.targets[range.clone()]
            .iter()
            .zip(&self.counts[range])
            .map(move |(&t, &c)| (t as usize, c / out))
    }

    /// Right-hand sides: the one-step conversion probability and value of each state.
    fn exits(&self) -> (Vec<f64>, Vec<f64>) {
        let per_journey = |x: &[f64]| -> Vec<f64> {
            x.iter()
                .zip(&self.out)
                .map(|(x, out)| if *out > 0.0 { x / out } else { 0.0 })
                .collect()
        };
        (per_journey(&self.to_conversion), per_journey(&self.value))
    }

    /// Every edge with its count and probability, grouped by `from` state, exits last.
    fn transitions(&self, channels: &[String]) -> Vec<Transition> {
        let n = self.len();
        let mut transitions = Vec::with_capacity(self.targets.len() + 2 * n);
        for s in 0..n {
            let from = self.name(s, channels);
            let out = self.out[s];
            if out <= 0.0 {
                continue;
            }
            let range = self.row_start[s]..self.row_start[s + 1];
            for (&t, &count) in self.targets[range.clone()].iter().zip(&self.counts[range]) {
                transitions.push(Transition {
                    from: from.clone(),
                    to: self.name(t as usize, channels),
                    count,
                    probability: count / out,
                });
            }
            for (to, count) in [
                ("(conversion)", self.to_conversion[s]),
                ("(null)", self.to_null[s]),
            ] {
                if count > 0.0 {
                    transitions.push(Transition {
                        from: from.clone(),
                        to: to.into(),
                        count,
                        probability: count / out,
                    });
                }
            }
        }
        transitions
    }

    fn name(&self, state: usize, channels: &[String]) -> String {
        if state == 0 {
            return "(start)".into();
        }
        let names: Vec<&str> = unpack(self.keys[state])
            .map(|c| channels[c as usize].as_str())
            .collect();
        names.join(" > ")
    }
}

/// The solutions `h` (conversion probability) and `g` (expected value) of one system.
struct Solution {
    h: Vec<f64>,
    g: Vec<f64>,
    sweeps: usize,
    residual: f64,
}

/// Largest `|x − P x − b|` relative to the largest `|x|` (1 if that is below 1).
fn residual(chain: &Chain, pinned: &[bool], x: &[f64], b: &[f64]) -> f64 {
    let scale = x.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    (0..chain.len())
        .filter(|&s| !pinned[s])
        .map(|s| {
            let px: f64 = chain.row(s).map(|(t, p)| p * x[t]).sum();
            (x[s] - px - b[s]).abs()
        })
        .fold(0.0, f64::max)
        / scale
}

/// Gauss–Seidel on `x = P x + b` with the pinned states held at 0, from `h`, `g`.
fn gauss_seidel(
    chain: &Chain,
    pinned: &[bool],
    b: (&[f64], &[f64]),
    mut h: Vec<f64>,
    mut g: Vec<f64>,
    order: usize,
) -> Result<Solution, AttributionError> {
    for s in 0..chain.len() {
        if pinned[s] {
            h[s] = 0.0;
            g[s] = 0.0;
        }
    }
    let mut sweeps = 0;
    loop {
        sweeps += 1;
        let (mut change_h, mut change_g, mut scale_g) = (0.0f64, 0.0f64, 0.0f64);
        for s in (0..chain.len()).rev() {
            if pinned[s] {
                continue;
            }
            let (mut next_h, mut next_g) = (b.0[s], b.1[s]);
            for (t, p) in chain.row(s) {
                next_h += p * h[t];
                next_g += p * g[t];
            }
            change_h = change_h.max((next_h - h[s]).abs());
            change_g = change_g.max((next_g - g[s]).abs());
            scale_g = scale_g.max(next_g.abs());
            h[s] = next_h;
            g[s] = next_g;
        }
        let converged =
            change_h <= SWEEP_TOLERANCE && change_g <= SWEEP_TOLERANCE * scale_g.max(1.0);
        if converged || sweeps >= MAX_SWEEPS {
            let residual = residual(chain, pinned, &h, b.0).max(residual(chain, pinned, &g, b.1));
            if !converged {
                return Err(AttributionError::NotConverged {
                    order,
                    sweeps,
                    residual,
                });
            }
            return Ok(Solution {
                h,
                g,
                sweeps,
                residual,
            });
        }
    }
}

/// Dense LU with partial pivoting of `I − P` (pinned rows: the identity, right side 0).
fn dense(chain: &Chain, pinned: &[bool], b: (&[f64], &[f64])) -> Solution {
    let n = chain.len();
    let mut a = vec![0.0; n * n];
    let mut rhs: Vec<[f64; 2]> = (0..n)
        .map(|s| {
            if pinned[s] {
                [0.0, 0.0]
            } else {
                [b.0[s], b.1[s]]
            }
        })
        .collect();
    for s in 0..n {
        a[s * n + s] = 1.0;
        if !pinned[s] {
            for (t, p) in chain.row(s) {
                a[s * n + t] -= p;
            }
        }
    }
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))
            .expect("col < n");
        if pivot != col {
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
            }
            rhs.swap(col, pivot);
        }
        let diagonal = a[col * n + col];
        // I − P of an absorbing chain is non-singular: every state reaches an exit.
        if diagonal == 0.0 {
            continue;
        }
        for row in col + 1..n {
            let factor = a[row * n + col] / diagonal;
            if factor == 0.0 {
                continue;
            }
            for k in col..n {
                a[row * n + k] -= factor * a[col * n + k];
            }
            let pivot_rhs = rhs[col];
            rhs[row][0] -= factor * pivot_rhs[0];
            rhs[row][1] -= factor * pivot_rhs[1];
        }
    }
    let mut x = vec![[0.0; 2]; n];
    for row in (0..n).rev() {
        let mut sum = rhs[row];
        for k in row + 1..n {
            sum[0] -= a[row * n + k] * x[k][0];
            sum[1] -= a[row * n + k] * x[k][1];
        }
        let diagonal = a[row * n + row];
        x[row] = if diagonal == 0.0 {
            [0.0, 0.0]
        } else {
            [sum[0] / diagonal, sum[1] / diagonal]
        };
    }
    let h: Vec<f64> = x.iter().map(|v| v[0]).collect();
    let g: Vec<f64> = x.iter().map(|v| v[1]).collect();
    let residual = residual(chain, pinned, &h, b.0).max(residual(chain, pinned, &g, b.1));
    Solution {
        h,
        g,
        sweeps: 0,
        residual,
    }
}

/// The observed transitions of the order-`order` chain of `paths` (the
/// [`MarkovResult::transitions`] without solving anything): for order 1 the transition
/// matrix over channels, `(start)`, `(conversion)` and `(null)`, self-loops merged.
pub fn transition_matrix(paths: &Paths, order: usize) -> Result<Vec<Transition>, AttributionError> {
    paths.check()?;
    if !(1..=MAX_ORDER).contains(&order) {
        return Err(AttributionError::Invalid(format!(
            "the Markov order must be 1 to {MAX_ORDER}, got {order}"
        )));
    }
    Ok(Chain::build(paths, order).transitions(&paths.channels))
}

/// Markov-chain attribution of `paths` (see the module doc).
pub fn markov(paths: &Paths, options: &MarkovOptions) -> Result<MarkovResult, AttributionError> {
    paths.check()?;
    let order = options.order;
    if !(1..=MAX_ORDER).contains(&order) {
        return Err(AttributionError::Invalid(format!(
            "the Markov order must be 1 to {MAX_ORDER}, got {order}"
        )));
    }
    let chain = Chain::build(paths, order);
    let n = chain.len();
    let use_dense = match options.solver {
        Solver::Auto => n <= DENSE_AUTO_MAX_STATES,
        Solver::Dense if n > DENSE_MAX_STATES => {
            return Err(AttributionError::Invalid(format!(
                "the order-{order} chain has {n} states; the dense solver takes at most {DENSE_MAX_STATES}: use the iterative solver"
            )));
        }
        Solver::Dense => true,
        Solver::Iterative => false,
    };
    let (b_conversion, b_value) = chain.exits();
    let solve = |pinned: &[bool], warm: Option<&Solution>| -> Result<Solution, AttributionError> {
        if use_dense {
            Ok(dense(&chain, pinned, (&b_conversion, &b_value)))
        } else {
            let (h, g) = match warm {
                Some(w) => (w.h.clone(), w.g.clone()),
                None => (vec![0.0; n], vec![0.0; n]),
            };
            gauss_seidel(&chain, pinned, (&b_conversion, &b_value), h, g, order)
        }
    };
    let mut pinned = vec![false; n];
    let full = solve(&pinned, None)?;
    let (mut sweeps, mut worst) = (full.sweeps, full.residual);
    let p = full.h[0];
    let expected_value = full.g[0];

    // States each channel appears in.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); paths.channels.len()];
    for (state, &key) in chain.keys.iter().enumerate().skip(1) {
        let mut seen: Vec<ChannelId> = unpack(key).collect();
        seen.sort_unstable();
        seen.dedup();
        for c in seen {
            members[c as usize].push(state);
        }
    }
    let ratio_effect = |without: f64, with: f64| {
        if with > 0.0 {
            (1.0 - without / with).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    let mut channels = Vec::with_capacity(paths.channels.len());
    for (c, states) in members.iter().enumerate() {
        let (p_without, g_without) = if states.is_empty() {
            (p, expected_value)
        } else {
            states.iter().for_each(|&s| pinned[s] = true);
            let removed = solve(&pinned, Some(&full))?;
            states.iter().for_each(|&s| pinned[s] = false);
            sweeps += removed.sweeps;
            worst = worst.max(removed.residual);
            (removed.h[0], removed.g[0])
        };
        channels.push(MarkovChannel {
            channel: paths.channels[c].clone(),
            removal_effect: ratio_effect(p_without, p),
            conversion_probability_without: p_without,
            value_removal_effect: ratio_effect(g_without, expected_value),
            conversions: 0.0,
            value: 0.0,
        });
    }
    let conversions = paths.total_conversions();
    let value = paths.total_value();
    let effect_sum: f64 = channels.iter().map(|c| c.removal_effect).sum();
    let value_effect_sum: f64 = channels.iter().map(|c| c.value_removal_effect).sum();
    for channel in &mut channels {
        if effect_sum > 0.0 {
            channel.conversions = conversions * channel.removal_effect / effect_sum;
        }
        if value_effect_sum > 0.0 {
            channel.value = value * channel.value_removal_effect / value_effect_sum;
        }
    }

    let transitions = chain.transitions(&paths.channels);

    Ok(MarkovResult {
        order,
        states: n,
        journeys: chain.out[0],
        conversions,
        value,
        conversion_probability: p,
        value_per_journey: expected_value,
        channels,
        transitions,
        solve: SolveReport {
            method: if use_dense {
                "dense_lu"
            } else {
                "gauss_seidel"
            }
            .into(),
            sweeps,
            residual: worst,
        },
    })
}
