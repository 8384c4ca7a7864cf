//! The budget allocator: how to split spend across channels, given each channel's
//! response curve over the plan, for the most response at a fixed budget
//! ([`Objective::MaxResponse`]) or the largest budget that still meets a target ROAS or
//! CPA ([`Objective::TargetRoas`], [`Objective::TargetCpa`], Robyn's "target_efficiency").
//!
//! # Method: equal marginal returns, solved exactly
//! Maximising `Σ r_i(s_i)` subject to `Σ s_i = B` and `lo_i ≤ s_i ≤ hi_i` is separable.
//! For a multiplier λ (the price of a unit of spend) every channel solves its own 1-D
//! problem `max r_i(s) − λ·s` over its bounds, and λ is searched (regula falsi, safeguarded
//! by bisection) until the spends add up to the budget. When they do, the split is the
//! global optimum for any curves (weak duality: no split can beat `Σ max (r_i − λ s_i) +
//! λB`, and this one attains it). For concave curves (exponential, logistic,
//! Michaelis–Menten, Hill with slope ≤ 1) they always do: it is the KKT point, where the
//! channels strictly inside their bounds share the marginal return λ and those at a bound
//! have a worse (lower bound) or better (upper bound) one.
//!
//! The 1-D problem is exact too. An S-shaped curve (Hill with slope > 1) has a marginal
//! return that rises to a peak and falls; `r(s) − λ·s` is convex up to that peak and
//! concave after it, so its maximum is either the lower bound or the point on the falling
//! branch where `r' = λ` (found by root-finding, `r'` falls there), and both are compared.
//!
//! # S-shaped curves: the duality gap
//! With S-shaped curves a channel's spend *jumps* from its lower bound to its falling
//! branch at some λ, so the total can skip over the budget. Then:
//! 1. λ is narrowed until a single channel jumps, and cheap splits around the jump are
//!    compared by total response (the blend of the two sides; the jumping channel absorbing
//!    the excess; or staying off while the rest goes to the highest marginal returns).
//! 2. Branch and bound on the jumping channel: switched off (held at its lower bound) or
//!    switched on (restricted to its falling branch, where it is concave), each branch
//!    solved the same way. A branch is dropped when its dual bound (the value above) cannot
//!    beat the best split so far. This is exact over all splits where no S-shaped channel
//!    sits on the rising part of its curve.
//! 3. At most one channel of an optimum can sit on its rising part (two could trade spend
//!    for a gain). For each S-shaped channel whose rising part could hold the optimum (its
//!    dual bound beats the best split), its spend is searched in one dimension with the
//!    others re-optimised for the rest: a grid with the others solved exactly, refined by
//!    golden-section with the others kept in the on/off state they have at the best grid
//!    point (exact unless their best state flips and flips back between grid points).
//!
//! Without a gap (any concave problem, and S-shaped ones whose budget does not fall in
//! one) a solve takes well under a millisecond; with gaps, tens of milliseconds for ten
//! channels of which five are S-shaped with zero lower bounds, the worst case we measured.
//!
//! No optimisation crate is used: the separable structure makes a 1-D solve per channel
//! plus a search on λ exact and fast, while general NLP crates (argmin and the like) are
//! unconstrained or local, would need penalties for the budget and bounds, and would stop
//! at a local optimum on S-shaped curves.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A channel's response to the spend it gets over the plan: value and slope.
///
/// Curves are increasing and either concave or S-shaped (convex, then concave). The
/// response already includes carryover within the plan; the MMM builds it.
pub trait ResponseCurve {
    fn response(&self, spend: f64) -> f64;
    /// The derivative `d response / d spend`.
    fn marginal(&self, spend: f64) -> f64;
}

/// `beta · s^slope / (s^slope + half^slope)`: saturates at `beta`, half of it at `half`.
/// Concave for `slope ≤ 1` (Michaelis–Menten at 1), S-shaped above.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HillCurve {
    pub beta: f64,
    pub half: f64,
    pub slope: f64,
}

impl ResponseCurve for HillCurve {
    fn response(&self, spend: f64) -> f64 {
        if spend <= 0.0 {
            return 0.0;
        }
        let u = (spend / self.half).powf(self.slope);
        if u.is_infinite() {
            self.beta
        } else {
            self.beta * u / (1.0 + u)
        }
    }

    fn marginal(&self, spend: f64) -> f64 {
        if spend <= 0.0 {
            return if self.slope < 1.0 {
                f64::INFINITY
            } else if self.slope == 1.0 {
                self.beta / self.half
            } else {
                0.0
            };
        }
        let u = (spend / self.half).powf(self.slope);
        if u.is_infinite() {
            return 0.0;
        }
        // u / (1 + u)² written so that neither factor overflows.
        let a = 1.0 / (1.0 + u);
        self.beta * self.slope / spend * (u * a) * a
    }
}

/// `beta · (1 − e^(−lambda·s))`: concave, saturates at `beta`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExpCurve {
    pub beta: f64,
    pub lambda: f64,
}

impl ResponseCurve for ExpCurve {
    fn response(&self, spend: f64) -> f64 {
        -self.beta * (-self.lambda * spend).exp_m1()
    }

    fn marginal(&self, spend: f64) -> f64 {
        self.beta * self.lambda * (-self.lambda * spend).exp()
    }
}

/// One channel of a plan: its curve, what it spends now and the range it may be given
/// (absolute spend over the plan).
#[derive(Clone)]
pub struct ChannelPlan<'a> {
    pub name: String,
    pub curve: &'a dyn ResponseCurve,
    pub current: f64,
    pub lower: f64,
    pub upper: f64,
}

impl std::fmt::Debug for ChannelPlan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelPlan")
            .field("name", &self.name)
            .field("current", &self.current)
            .field("lower", &self.lower)
            .field("upper", &self.upper)
            .finish_non_exhaustive()
    }
}

impl<'a> ChannelPlan<'a> {
    /// Robyn-style bounds as multiples of the current spend: `0.5, 1.5` lets the channel
    /// move by half either way.
    pub fn with_multipliers(
        name: impl Into<String>,
        curve: &'a dyn ResponseCurve,
        current: f64,
        lower: f64,
        upper: f64,
    ) -> Self {
        ChannelPlan {
            name: name.into(),
            curve,
            current,
            lower: current * lower,
            upper: current * upper,
        }
    }
}

/// What the plan optimises.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Objective {
    /// The most total response for exactly `budget` of spend.
    MaxResponse { budget: f64 },
    /// The largest total spend, optimally split, whose response / spend is at least
    /// `roas`. If even the upper bounds stay above it, the plan spends the upper bounds.
    TargetRoas { roas: f64 },
    /// The same with spend / response at most `cpa`, for a KPI that is a count.
    TargetCpa { cpa: f64 },
}

/// Whether a channel's optimum sits at one of its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    None,
    Lower,
    Upper,
}

/// One channel's current and optimal spend, and why it moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelAllocation {
    pub name: String,
    pub current_spend: f64,
    pub optimal_spend: f64,
    pub current_response: f64,
    pub optimal_response: f64,
    /// Response / spend; `None` when the spend is 0.
    pub current_roas: Option<f64>,
    pub optimal_roas: Option<f64>,
    /// The slope of the response at the optimal spend: what one more unit would return.
    pub marginal_roas: f64,
    pub binding: Binding,
    /// One line of plain English, e.g. "tv raised from 1,000 to 1,400 until its marginal
    /// ROAS fell to 1.90, the common level".
    pub reason: String,
}

/// The optimal plan next to the current one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    pub objective: Objective,
    pub channels: Vec<ChannelAllocation>,
    pub total_spend: f64,
    pub total_response: f64,
    pub current_spend: f64,
    pub current_response: f64,
    /// The common marginal return at the optimum (the KKT multiplier of the budget): what
    /// the last unit of spend returns in every channel that is not held by a bound. When
    /// every channel is at a bound, any level between their marginals would do; this is
    /// the solver's (the lowest at an upper bound, or the highest at a lower bound).
    pub lambda: f64,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum AllocateError {
    #[error("no channels to allocate across")]
    NoChannels,
    #[error("{channel}: the {what} must be a finite, non-negative number, got {value}")]
    InvalidChannel {
        channel: String,
        what: &'static str,
        value: f64,
    },
    #[error("the {what} must be a {requirement} number, got {value}")]
    InvalidObjective {
        what: &'static str,
        requirement: &'static str,
        value: f64,
    },
    #[error("{channel}: the lower bound {} is above the upper bound {}", amount(*.lower), amount(*.upper))]
    InvertedBounds {
        channel: String,
        lower: f64,
        upper: f64,
    },
    #[error(
        "the lower bounds sum to {} but the budget is {}: lower it for {channel} ({}) or raise the budget",
        amount(*.sum), amount(*.budget), amount(*.bound)
    )]
    LowerBoundsAboveBudget {
        sum: f64,
        budget: f64,
        /// The channel with the largest lower bound.
        channel: String,
        bound: f64,
    },
    #[error(
        "the upper bounds sum to {} but the budget is {}: raise it for {channel} ({}) or lower the budget",
        amount(*.sum), amount(*.budget), amount(*.bound)
    )]
    UpperBoundsBelowBudget {
        sum: f64,
        budget: f64,
        /// The channel whose marginal return at its upper bound is highest: where more
        /// room would be worth most.
        channel: String,
        bound: f64,
    },
    #[error(
        "no plan within the bounds reaches a ROAS of {}: the best reachable is {}",
        ratio(*.target), ratio(*.best)
    )]
    TargetRoasUnreachable { target: f64, best: f64 },
    #[error(
        "no plan within the bounds reaches a CPA of {}: the best reachable is {}",
        ratio(*.target), ratio(*.best)
    )]
    TargetCpaUnreachable { target: f64, best: f64 },
    #[error(
        "{channel}: the response curve's {what} at spend {spend} is {value}; it must be a number"
    )]
    BadCurve {
        channel: String,
        what: &'static str,
        spend: f64,
        value: f64,
    },
}

/// Nested on/off branches beyond which a gap is only repaired cheaply (each branch has one
/// S-shaped channel fewer, and pruning keeps the tree far smaller than 2^depth).
const MAX_BRANCH_DEPTH: usize = 12;

/// Relative slack when comparing the sums of the bounds with the budget, so that a
/// budget equal to the lower bounds summed in another order is not rejected.
const BOUND_SLACK: f64 = 1e-12;
/// The λ search stops once the two bracketing plans differ by this share of the budget
/// (apart from a jumping channel).
const GAP_TOLERANCE: f64 = 1e-12;
/// A channel's spend that changes by more than this share of the budget between two
/// adjacent multipliers has jumped (an S-shaped channel switching on).
const JUMP_TOLERANCE: f64 = 1e-9;
/// Relative width at which golden-section searches stop: over a channel's own marginal
/// (cheap) and over a channel's spend on its rising part (each step re-solves the other
/// channels; the total is flat at its maximum, so 1e-7 in spend is ~1e-14 in response).
const PEAK_TOLERANCE: f64 = 1e-12;
const RISING_TOLERANCE: f64 = 1e-7;
/// Grid sizes that bracket the maximum before golden-section refines it.
const PEAK_GRID: usize = 32;
const RISING_GRID: usize = 12;
const TARGET_GRID: usize = 8;
const MAX_BISECTIONS: usize = 2000;

/// The plan that optimises `objective` over the channels' curves and bounds.
///
/// ```
/// use adroit_mmm::allocate::{allocate, ChannelPlan, ExpCurve, Objective};
/// let tv = ExpCurve { beta: 100.0, lambda: 0.01 };
/// let search = ExpCurve { beta: 60.0, lambda: 0.03 };
/// let plan = [
///     ChannelPlan::with_multipliers("tv", &tv, 100.0, 0.5, 1.5),
///     ChannelPlan::with_multipliers("search", &search, 100.0, 0.5, 1.5),
/// ];
/// let best = allocate(&plan, Objective::MaxResponse { budget: 200.0 }).unwrap();
/// assert!((best.total_spend - 200.0).abs() < 1e-9);
/// assert!(best.total_response >= best.current_response);
/// ```
pub fn allocate(
    channels: &[ChannelPlan<'_>],
    objective: Objective,
) -> Result<Allocation, AllocateError> {
    check_channels(channels)?;
    let bounded: Vec<Bounded<'_>> = channels
        .iter()
        .map(|c| Bounded::new(c.curve, c.lower, c.upper))
        .collect();
    let (split, voice) = match objective {
        Objective::MaxResponse { budget } => {
            if !(budget.is_finite() && budget >= 0.0) {
                return Err(invalid_objective("budget", "finite, non-negative", budget));
            }
            check_budget_fits(channels, budget)?;
            (best_split(&bounded, budget), Voice::Roas)
        }
        Objective::TargetRoas { roas } => {
            if !(roas.is_finite() && roas > 0.0) {
                return Err(invalid_objective("target ROAS", "finite, positive", roas));
            }
            let split = target_split(&bounded, roas)
                .map_err(|best| AllocateError::TargetRoasUnreachable { target: roas, best })?;
            (split, Voice::Roas)
        }
        Objective::TargetCpa { cpa } => {
            if !(cpa.is_finite() && cpa > 0.0 && (1.0 / cpa).is_finite()) {
                return Err(invalid_objective("target CPA", "finite, positive", cpa));
            }
            let split = target_split(&bounded, 1.0 / cpa).map_err(|best_roas| {
                AllocateError::TargetCpaUnreachable {
                    target: cpa,
                    best: 1.0 / best_roas,
                }
            })?;
            (split, Voice::Cpa)
        }
    };
    assemble(channels, objective, split, voice)
}

fn invalid_objective(what: &'static str, requirement: &'static str, value: f64) -> AllocateError {
    AllocateError::InvalidObjective {
        what,
        requirement,
        value,
    }
}

/// Numbers and bounds must be usable, and each curve must give numbers at the points the
/// plan will certainly evaluate (its bounds and the current spend).
fn check_channels(channels: &[ChannelPlan<'_>]) -> Result<(), AllocateError> {
    if channels.is_empty() {
        return Err(AllocateError::NoChannels);
    }
    for c in channels {
        for (what, value) in [
            ("current spend", c.current),
            ("lower bound", c.lower),
            ("upper bound", c.upper),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(AllocateError::InvalidChannel {
                    channel: c.name.clone(),
                    what,
                    value,
                });
            }
        }
        if c.lower > c.upper {
            return Err(AllocateError::InvertedBounds {
                channel: c.name.clone(),
                lower: c.lower,
                upper: c.upper,
            });
        }
        for spend in [c.lower, c.upper, c.current] {
            let response = c.curve.response(spend);
            if !response.is_finite() {
                return Err(bad_curve(&c.name, "response", spend, response));
            }
            // An infinite slope is fine (a concave Hill curve at zero spend).
            let marginal = c.curve.marginal(spend);
            if marginal.is_nan() || marginal == f64::NEG_INFINITY {
                return Err(bad_curve(&c.name, "marginal", spend, marginal));
            }
        }
    }
    Ok(())
}

fn bad_curve(channel: &str, what: &'static str, spend: f64, value: f64) -> AllocateError {
    AllocateError::BadCurve {
        channel: channel.to_string(),
        what,
        spend,
        value,
    }
}

fn check_budget_fits(channels: &[ChannelPlan<'_>], budget: f64) -> Result<(), AllocateError> {
    let sum_lower: f64 = channels.iter().map(|c| c.lower).sum();
    if sum_lower > budget * (1.0 + BOUND_SLACK)
        && let Some(largest) = channels.iter().max_by(|a, b| a.lower.total_cmp(&b.lower))
    {
        return Err(AllocateError::LowerBoundsAboveBudget {
            sum: sum_lower,
            budget,
            channel: largest.name.clone(),
            bound: largest.lower,
        });
    }
    let sum_upper: f64 = channels.iter().map(|c| c.upper).sum();
    let slope = |c: &ChannelPlan<'_>| not_nan(c.curve.marginal(c.upper));
    if sum_upper < budget * (1.0 - BOUND_SLACK)
        && let Some(most_wanted) = channels.iter().max_by(|a, b| slope(a).total_cmp(&slope(b)))
    {
        return Err(AllocateError::UpperBoundsBelowBudget {
            sum: sum_upper,
            budget,
            channel: most_wanted.name.clone(),
            bound: most_wanted.upper,
        });
    }
    Ok(())
}

/// A channel as the solver sees it: its curve and the range of its spend.
#[derive(Clone, Copy)]
struct Bounded<'c> {
    curve: &'c dyn ResponseCurve,
    lo: f64,
    hi: f64,
    /// Where the marginal return peaks over `[lo, hi]` (`lo` when concave). Since it rises
    /// then falls, over any narrower range it peaks at this point clamped to the range, so
    /// it is searched for once.
    peak: f64,
}

impl<'c> Bounded<'c> {
    fn new(curve: &'c dyn ResponseCurve, lo: f64, hi: f64) -> Self {
        Bounded {
            curve,
            lo,
            hi,
            peak: marginal_peak(curve, lo, hi),
        }
    }

    /// The peak of the marginal return over `[lo, hi]`, a range within the channel's own.
    fn peak_within(&self, lo: f64, hi: f64) -> f64 {
        self.peak.min(hi).max(lo)
    }
}

/// For each channel, the most it can take of `budget` (the rest goes to everyone else's
/// lower bound) and the peak of its marginal return up to there.
fn reachable_ranges(channels: &[Bounded<'_>], budget: f64) -> (Vec<f64>, Vec<f64>) {
    let sum_lo: f64 = channels.iter().map(|c| c.lo).sum();
    let slack = (budget - sum_lo).max(0.0);
    let his: Vec<f64> = channels.iter().map(|c| c.hi.min(c.lo + slack)).collect();
    let peaks = channels
        .iter()
        .zip(&his)
        .map(|(c, &hi)| c.peak_within(c.lo, hi))
        .collect();
    (his, peaks)
}

/// Spend per channel and the multiplier that goes with it.
#[derive(Debug, Clone)]
struct Split {
    spend: Vec<f64>,
    lambda: f64,
    /// Whether the budget fell into a duality gap (an S-shaped channel jumping), where
    /// equal marginal returns alone do not certify the optimum.
    gap: bool,
}

fn response_of(channels: &[Bounded<'_>], spend: &[f64]) -> f64 {
    channels
        .iter()
        .zip(spend)
        .map(|(c, &s)| c.curve.response(s))
        .sum()
}

/// NaN compares as the worst value, so a misbehaving curve cannot win a comparison.
fn not_nan(value: f64) -> f64 {
    if value.is_nan() {
        f64::NEG_INFINITY
    } else {
        value
    }
}

/// The spend in `[lo, hi]` at which the curve's marginal return is highest: `lo` for
/// concave curves, the inflection point of an S-shaped one. A grid brackets the peak
/// (robust where the slope underflows to zero far out), golden-section refines it.
fn marginal_peak(curve: &dyn ResponseCurve, lo: f64, hi: f64) -> f64 {
    if hi <= lo {
        return lo;
    }
    let slope = |s: f64| not_nan(curve.marginal(s));
    let point = |k: usize| {
        if k == PEAK_GRID {
            hi
        } else {
            lo + (hi - lo) * k as f64 / PEAK_GRID as f64
        }
    };
    let at_lo = slope(lo);
    let (mut best, mut best_slope) = (0, at_lo);
    for k in 1..=PEAK_GRID {
        let value = slope(point(k));
        if value > best_slope {
            (best, best_slope) = (k, value);
        }
    }
    let (peak, peak_slope, ()) = golden_max(
        &mut |s| (slope(s), ()),
        point(best.saturating_sub(1)),
        point((best + 1).min(PEAK_GRID)),
        PEAK_TOLERANCE,
    );
    if at_lo >= peak_slope.max(best_slope) {
        lo
    } else if peak_slope >= best_slope {
        peak
    } else {
        point(best)
    }
}

/// The best point found by golden-section search for the maximum of `f` on `[a, b]`,
/// endpoints included: the maximum itself when `f` is unimodal there. `f` returns a value
/// and something worth keeping for the best point (e.g. the solved sub-problem).
fn golden_max<T>(
    f: &mut impl FnMut(f64) -> (f64, T),
    a: f64,
    b: f64,
    tolerance: f64,
) -> (f64, f64, T) {
    const INV_PHI: f64 = 0.618_033_988_749_894_8;
    let (value, payload) = f(a);
    let mut best = (a, not_nan(value), payload);
    let mut probe = |x: f64, best: &mut (f64, f64, T)| {
        let (value, payload) = f(x);
        let value = not_nan(value);
        if value > best.1 {
            *best = (x, value, payload);
        }
        value
    };
    if b <= a {
        return best;
    }
    probe(b, &mut best);
    let (mut lo, mut hi) = (a, b);
    let mut c = hi - INV_PHI * (hi - lo);
    let mut d = lo + INV_PHI * (hi - lo);
    let mut fc = probe(c, &mut best);
    let mut fd = probe(d, &mut best);
    for _ in 0..200 {
        if hi - lo <= tolerance * (lo.abs() + hi.abs()) {
            break;
        }
        if fc >= fd {
            (hi, d, fd) = (d, c, fc);
            c = hi - INV_PHI * (hi - lo);
            fc = probe(c, &mut best);
        } else {
            (lo, c, fc) = (c, d, fd);
            d = lo + INV_PHI * (hi - lo);
            fd = probe(d, &mut best);
        }
    }
    best
}

/// The spend in `[lo, hi]` maximising `r(s) − λ·s` for one channel, where `peak` is where
/// its marginal return is highest. Below the peak the objective is convex (best at `lo`),
/// above it concave (best where `r' = λ`, a root since `r'` falls there), so
/// the answer is whichever of the two is better. Ties go to the larger spend, which keeps
/// the total non-increasing in λ and puts everything at the upper bounds at λ = 0.
fn best_spend(curve: &dyn ResponseCurve, lo: f64, hi: f64, peak: f64, lambda: f64) -> f64 {
    let top = curve.marginal(peak);
    if top.is_nan() || top < lambda {
        // Every unit returns less than it costs.
        return lo;
    }
    let branch = if curve.marginal(hi) >= lambda {
        hi
    } else {
        falling_crossing(curve, lambda, peak, hi)
    };
    if peak > lo && curve.response(lo) - lambda * lo > curve.response(branch) - lambda * branch {
        lo
    } else {
        branch
    }
}

/// The spend in `[a, b]` where a falling marginal return crosses `lambda`, given
/// `r'(a) ≥ λ > r'(b)`.
fn falling_crossing(curve: &dyn ResponseCurve, lambda: f64, a: f64, b: f64) -> f64 {
    let slope = |s: f64| (curve.marginal(s) - lambda, ());
    let (a, _) = crossing(slope, (a, slope(a).0), (b, slope(b).0), 4.0 * f64::EPSILON);
    a
}

/// Narrows `[a, b]`, where `f(a) ≥ 0 > f(b)`, around a zero of `f`: regula falsi with the
/// Illinois fix (a handful of steps on smooth functions), bisecting whenever a step
/// fails to halve the bracket, so it never takes more than about twice bisection's
/// steps. Stops when the bracket is narrower than `tolerance` relative; returns the end
/// where `f ≥ 0` and what `f` returned there (`None` if that end never moved).
fn crossing<T>(
    mut f: impl FnMut(f64) -> (f64, T),
    (mut a, mut fa): (f64, f64),
    (mut b, mut fb): (f64, f64),
    tolerance: f64,
) -> (f64, Option<T>) {
    let mut payload = None;
    let mut kept = 0i8; // +1: `a` moved last, −1: `b` moved last
    let mut bisect = false;
    for _ in 0..400 {
        let width = b - a;
        if width <= tolerance * a.abs().max(b.abs()) || width <= f64::MIN_POSITIVE {
            break;
        }
        let secant = a + fa * width / (fa - fb);
        let x = if !bisect && secant > a && secant < b {
            secant
        } else {
            0.5 * (a + b)
        };
        if x <= a || x >= b {
            break;
        }
        let (fx, at_x) = f(x);
        if fx >= 0.0 {
            (a, fa, payload) = (x, fx, Some(at_x));
            if kept == 1 {
                fb *= 0.5;
            }
            kept = 1;
            if fx == 0.0 {
                break;
            }
        } else {
            (b, fb) = (x, fx);
            if kept == -1 {
                fa *= 0.5;
            }
            kept = -1;
        }
        bisect = b - a > 0.5 * width;
    }
    (a, payload)
}

/// Spends at one multiplier and their total.
struct Bracket {
    lambda: f64,
    spend: Vec<f64>,
    total: f64,
}

/// The split of `budget` with the most total response (see the module docs for the
/// method). The caller has checked that the budget fits the bounds; a budget outside
/// them gets all lower or all upper bounds.
fn max_response(channels: &[Bounded<'_>], budget: f64, depth: usize) -> Split {
    max_response_above(channels, budget, depth, f64::NEG_INFINITY).unwrap_or_else(|| Split {
        spend: channels.iter().map(|c| c.lo).collect(),
        lambda: 0.0,
        gap: true,
    })
}

/// [`max_response`], or `None` once its dual bound shows it cannot beat `floor` (the best
/// split found elsewhere), which prunes the branch and bound.
fn max_response_above(
    channels: &[Bounded<'_>],
    budget: f64,
    depth: usize,
    floor: f64,
) -> Option<Split> {
    let sum_lo: f64 = channels.iter().map(|c| c.lo).sum();
    let sum_hi: f64 = channels.iter().map(|c| c.hi).sum();
    let movable = || channels.iter().filter(|c| c.hi > c.lo);
    if channels.is_empty() {
        return Some(Split {
            spend: Vec::new(),
            lambda: 0.0,
            gap: false,
        });
    }
    if budget <= sum_lo {
        // Any λ above the best marginal at the lower bounds holds; report the lowest.
        let lambda = movable()
            .map(|c| c.curve.marginal(c.lo))
            .filter(|m| m.is_finite())
            .fold(0.0, f64::max);
        return Some(Split {
            spend: channels.iter().map(|c| c.lo).collect(),
            lambda,
            gap: false,
        });
    }
    if budget >= sum_hi {
        let lambda = movable()
            .map(|c| c.curve.marginal(c.hi))
            .filter(|m| m.is_finite())
            .fold(f64::INFINITY, f64::min);
        return Some(Split {
            spend: channels.iter().map(|c| c.hi).collect(),
            lambda: if lambda.is_finite() { lambda } else { 0.0 },
            gap: false,
        });
    }
    // No channel can take more than the budget left after everyone's lower bound.
    let (his, peaks) = reachable_ranges(channels, budget);
    if channels.len() == 1 {
        let spend = budget.max(channels[0].lo).min(his[0]);
        return Some(Split {
            lambda: channels[0].curve.marginal(spend),
            spend: vec![spend],
            gap: false,
        });
    }
    let at = |lambda: f64| {
        let spend: Vec<f64> = channels
            .iter()
            .enumerate()
            .map(|(i, c)| best_spend(c.curve, c.lo, his[i], peaks[i], lambda))
            .collect();
        Bracket {
            lambda,
            total: spend.iter().sum(),
            spend,
        }
    };

    // Bracket the budget: at λ = 0 everyone is at the upper bound; above the highest
    // marginal return anywhere everyone is at the lower bound.
    let mut above = at(0.0);
    let top = channels
        .iter()
        .zip(&peaks)
        .map(|(c, &peak)| not_nan(c.curve.marginal(peak)))
        .fold(0.0, f64::max);
    let mut lambda = if top.is_finite() && top > 0.0 {
        top
    } else if top > 0.0 {
        1.0
    } else {
        f64::MIN_POSITIVE
    };
    let mut below = loop {
        let point = at(lambda);
        if point.total <= budget || lambda >= f64::MAX {
            break point;
        }
        above = point;
        lambda = (lambda * 2.0).min(f64::MAX);
    };
    // A channel jumps between the two plans when it is off in one and on its falling
    // branch in the other; the rest move continuously with λ.
    let jumps = |i: usize, above: &Bracket, below: &Bracket| {
        peaks[i] > channels[i].lo && below.spend[i] <= channels[i].lo && above.spend[i] >= peaks[i]
    };
    // Narrow λ until the continuously moving channels agree: regula falsi on the total
    // with the Illinois fix, bisecting whenever a step fails to halve the bracket (at a
    // jump the total is discontinuous and the secant is no help).
    let (mut excess_above, mut excess_below) = (above.total - budget, below.total - budget);
    let mut kept = 0i8;
    let mut bisect = false;
    for _ in 0..MAX_BISECTIONS {
        let jumping = (0..channels.len())
            .filter(|&i| jumps(i, &above, &below))
            .count();
        let continuous_gap: f64 = (0..channels.len())
            .filter(|&i| !jumps(i, &above, &below))
            .map(|i| above.spend[i] - below.spend[i])
            .sum();
        let isolated = continuous_gap <= GAP_TOLERANCE * budget && jumping <= 1;
        if isolated || excess_above == 0.0 {
            break;
        }
        let width = below.lambda - above.lambda;
        let secant = above.lambda + excess_above * width / (excess_above - excess_below);
        let x = if !bisect && secant > above.lambda && secant < below.lambda {
            secant
        } else {
            0.5 * (above.lambda + below.lambda)
        };
        if x <= above.lambda || x >= below.lambda {
            break;
        }
        let point = at(x);
        let excess = point.total - budget;
        if excess >= 0.0 {
            above = point;
            excess_above = excess;
            if kept == 1 {
                excess_below *= 0.5;
            }
            kept = 1;
        } else {
            below = point;
            excess_below = excess;
            if kept == -1 {
                excess_above *= 0.5;
            }
            kept = -1;
        }
        bisect = below.lambda - above.lambda > 0.5 * width;
    }

    let (blended, lambda) = blend(&above, &below, budget);
    let jumpers: Vec<usize> = (0..channels.len())
        .filter(|&i| {
            jumps(i, &above, &below) && above.spend[i] - below.spend[i] > JUMP_TOLERANCE * budget
        })
        .collect();
    if jumpers.is_empty() {
        // Continuous at λ: every channel is at its optimum for (almost) this λ, and the
        // blend of the two bracketing plans spends the budget exactly.
        return Some(Split {
            spend: blended,
            lambda,
            gap: false,
        });
    }

    // A duality gap. The dual function at either multiplier bounds every split from
    // above (see `dual_bound`): give up if that cannot beat the floor.
    let dual = |b: &Bracket| {
        let own: f64 = channels
            .iter()
            .zip(&b.spend)
            .map(|(c, &s)| c.curve.response(s) - b.lambda * s)
            .sum();
        own + b.lambda * budget
    };
    if !beats(dual(&above).min(dual(&below)), floor) {
        return None;
    }
    // Compare the candidate splits around the jump by total response.
    let mut best = (response_of(channels, &blended), blended, lambda);
    let consider = |best: &mut (f64, Vec<f64>, f64), spend: Vec<f64>, lambda: f64| {
        let value = not_nan(response_of(channels, &spend));
        if value > best.0 {
            *best = (value, spend, lambda);
        }
    };
    for spend in quick_repairs(channels, &his, &above, &below, &jumpers, budget) {
        consider(&mut best, spend, lambda);
    }
    // Branch and bound: each sub-problem gives up once it cannot beat the best split so
    // far.
    if depth < MAX_BRANCH_DEPTH {
        // Branch on the first jumping channel: switched off (held at its lower bound) or
        // switched on (kept on its falling branch, where it is concave). Each branch has
        // one S-shaped channel fewer, so the recursion ends.
        let j = jumpers[0];
        let mut off = channels.to_vec();
        off[j].hi = off[j].lo;
        off[j].peak = off[j].lo;
        let mut on = channels.to_vec();
        on[j].lo = peaks[j];
        on[j].peak = peaks[j];
        for branch in [on, off] {
            let fits = branch.iter().map(|c| c.lo).sum::<f64>() <= budget
                && branch.iter().map(|c| c.hi).sum::<f64>() >= budget;
            if !fits {
                continue;
            }
            if let Some(split) = max_response_above(&branch, budget, depth + 1, best.0) {
                consider(&mut best, split.spend, split.lambda);
            }
        }
    }
    Some(Split {
        spend: best.1,
        lambda: best.2,
        gap: true,
    })
}

/// Whether an upper bound leaves room to beat `floor` (the best total response so far) by
/// more than rounding.
fn beats(bound: f64, floor: f64) -> bool {
    floor == f64::NEG_INFINITY || bound > floor + 1e-12 * floor.abs()
}

/// The mix of the plans on either side of the budget that spends it exactly, and the
/// multiplier mixed the same way. Each channel ends between its spends at the two
/// (nearly equal) multipliers.
fn blend(above: &Bracket, below: &Bracket, budget: f64) -> (Vec<f64>, f64) {
    let gap = above.total - below.total;
    let theta = if gap > 0.0 {
        ((budget - below.total) / gap).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let spend = below
        .spend
        .iter()
        .zip(&above.spend)
        .map(|(&b, &a)| b + theta * (a - b))
        .collect();
    (spend, below.lambda + theta * (above.lambda - below.lambda))
}

/// Cheap feasible splits around a jump: a jumping channel takes its spend from above the
/// jump less the excess; or the jumping channels stay at their lower bounds and the
/// shortfall goes first to the channels whose marginal return is highest.
fn quick_repairs(
    channels: &[Bounded<'_>],
    his: &[f64],
    above: &Bracket,
    below: &Bracket,
    jumpers: &[usize],
    budget: f64,
) -> Vec<Vec<f64>> {
    let mut repairs = Vec::new();
    let excess = above.total - budget;
    for &j in jumpers {
        if above.spend[j] - excess >= channels[j].lo {
            let mut spend = above.spend.clone();
            spend[j] -= excess;
            repairs.push(spend);
        }
    }
    let mut spend = below.spend.clone();
    let mut shortfall = budget - below.total;
    let mut order: Vec<usize> = (0..channels.len())
        .filter(|i| !jumpers.contains(i))
        .collect();
    let slope = |i: usize| not_nan(channels[i].curve.marginal(spend[i]));
    order.sort_by(|&a, &b| slope(b).total_cmp(&slope(a)));
    for i in order {
        let add = (his[i] - spend[i]).max(0.0).min(shortfall);
        spend[i] += add;
        shortfall -= add;
    }
    if shortfall <= 0.0 {
        repairs.push(spend);
    }
    repairs
}

/// The spends channel `j` can take on the rising part of its S-curve (between its lower
/// bound and the peak of its marginal return) with the others within their bounds.
fn rising_part(channels: &[Bounded<'_>], budget: f64, j: usize) -> Option<(f64, f64)> {
    let others = channels.iter().enumerate().filter(|&(i, _)| i != j);
    let others_lo: f64 = others.clone().map(|(_, c)| c.lo).sum();
    let others_hi: f64 = others.map(|(_, c)| c.hi).sum();
    let c = &channels[j];
    let t_min = c.lo.max(budget - others_hi);
    let t_max = c.hi.min(budget - others_lo).min(c.peak);
    (t_min < t_max).then_some((t_min, t_max))
}

/// The best split of `budget`: [`max_response`], then, if the budget fell into a duality
/// gap, a search of each S-shaped channel's rising part, where equal marginal returns
/// never look and at most one channel of an optimum can be.
fn best_split(channels: &[Bounded<'_>], budget: f64) -> Split {
    let mut best = max_response(channels, budget, 0);
    if !best.gap {
        return best;
    }
    let mut best_value = response_of(channels, &best.spend);
    for j in 0..channels.len() {
        if channels[j].peak <= channels[j].lo {
            continue;
        }
        let Some(rising) = rising_part(channels, budget, j) else {
            continue;
        };
        if let Some(split) = best_on_rising_part(channels, rising, budget, j, best_value) {
            let value = not_nan(response_of(channels, &split.spend));
            if value > best_value {
                (best_value, best) = (value, split);
            }
        }
    }
    best
}

/// The channels held in the on/off state they have at `spend`: S-shaped ones that are on
/// stay on their falling branch (where they are concave), the others stay at their lower
/// bound. Solving them for nearby budgets is then one concave solve, with no gap.
fn frozen_at<'c>(channels: &[Bounded<'c>], spend: &[f64]) -> Vec<Bounded<'c>> {
    channels
        .iter()
        .zip(spend)
        .map(|(c, &s)| {
            if c.peak <= c.lo {
                *c
            } else if s >= c.peak {
                Bounded { lo: c.peak, ..*c }
            } else {
                Bounded { hi: c.lo, ..*c }
            }
        })
        .collect()
}

/// The best split with channel `j`'s spend `t` in `rising` (the rising part of its
/// S-curve), if it can beat `floor`: `max_t r_j(t) + V(budget − t)`, `V` the others' best.
///
/// The whole stretch is skipped when its dual bound cannot beat `floor`. Otherwise the
/// others are solved exactly (branch and bound) on a grid of `t`, which also shows their
/// on/off state along the stretch, and golden-section refines `t` between the best grid
/// point's neighbours with the others kept in the state they have there (solved exactly
/// where that state cannot take the budget). This is exact unless the others' best
/// on/off state changes and changes back between two grid points.
fn best_on_rising_part(
    channels: &[Bounded<'_>],
    (t_min, t_max): (f64, f64),
    budget: f64,
    j: usize,
    floor: f64,
) -> Option<Split> {
    let mut restricted = channels.to_vec();
    (restricted[j].lo, restricted[j].hi) = (t_min, t_max);
    if !beats(dual_bound(&restricted, budget), floor) {
        return None;
    }
    let others: Vec<Bounded<'_>> = channels
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != j)
        .map(|(_, c)| *c)
        .collect();
    let curve = channels[j].curve;
    let point = |k: usize| {
        if k == RISING_GRID {
            t_max
        } else {
            t_min + (t_max - t_min) * k as f64 / RISING_GRID as f64
        }
    };
    let grid: Vec<(f64, f64, Split)> = (0..=RISING_GRID)
        .map(|k| {
            let t = point(k);
            let rest = max_response(&others, budget - t, 0);
            let value = not_nan(curve.response(t) + response_of(&others, &rest.spend));
            (t, value, rest)
        })
        .collect();
    let mut best: Option<(f64, f64, Split)> = None;
    let mut keep = |t: f64, value: f64, rest: Split| {
        if best.as_ref().is_none_or(|b| value > b.1) {
            best = Some((t, value, rest));
        }
    };
    // The total can have several local maxima along the rising part (a convex curve plus
    // the others' value): refine around each one the grid shows, by its values or by its
    // slope `r_j'(t) − λ_others` turning from rising to falling between two grid points.
    let slope = |k: usize| curve.marginal(grid[k].0) - grid[k].2.lambda;
    let mut brackets = Vec::new();
    for k in 0..=RISING_GRID {
        let higher_than = |i: usize| grid.get(i).is_none_or(|g| grid[k].1 >= g.1);
        if higher_than(k + 1) && (k == 0 || higher_than(k - 1)) {
            brackets.push((k, k.saturating_sub(1), (k + 1).min(RISING_GRID)));
        }
        if k < RISING_GRID && slope(k) > 0.0 && slope(k + 1) <= 0.0 {
            let anchor = if grid[k].1 >= grid[k + 1].1 { k } else { k + 1 };
            brackets.push((anchor, k, k + 1));
        }
    }
    for (anchor, from, to) in brackets {
        let (t, value, rest) = &grid[anchor];
        keep(*t, *value, rest.clone());
        let frozen = frozen_at(&others, &rest.spend);
        let frozen_lo: f64 = frozen.iter().map(|c| c.lo).sum();
        let frozen_hi: f64 = frozen.iter().map(|c| c.hi).sum();
        let mut evaluate = |t: f64| {
            let left = budget - t;
            // Where the frozen state cannot take the budget (a channel forced off its
            // bound at the grid point), solve the others exactly.
            let rest = if left >= frozen_lo && left <= frozen_hi {
                max_response(&frozen, left, 0)
            } else {
                max_response(&others, left, 0)
            };
            (
                curve.response(t) + response_of(&others, &rest.spend),
                Some(rest),
            )
        };
        if let (t, value, Some(rest)) =
            golden_max(&mut evaluate, point(from), point(to), RISING_TOLERANCE)
        {
            keep(t, value, rest);
        }
        // Where the frozen state starts or stops fitting (a channel reaching its bound)
        // the total has a kink that can be its maximum, possibly beyond the grid
        // neighbours: try it directly.
        for edge in [budget - frozen_hi, budget - frozen_lo] {
            if edge > t_min
                && edge < t_max
                && let (value, Some(rest)) = evaluate(edge)
            {
                keep(edge, not_nan(value), rest);
            }
        }
    }
    let (t, _, rest) = best?;
    let mut spend = rest.spend;
    spend.insert(j, t);
    Some(Split {
        spend,
        lambda: rest.lambda,
        gap: false,
    })
}

/// An upper bound on the best total response of `budget` split over the channels, by
/// weak duality: for any price μ ≥ 0, `V(B) ≤ Σ_i max_s (r_i(s) − μ·s) + μ·B`, each
/// channel maximised on its own. The right side is convex in μ with slope `B − Σ s_i(μ)`,
/// so its minimum, the tightest such bound (the value of the problem with every curve
/// replaced by its concave envelope, and exactly `V(B)` when the curves are concave), is
/// where that slope changes sign: found by bisection, then the lower of the two bracketing
/// values. Any μ gives a valid bound, so imprecision only makes pruning more cautious.
fn dual_bound(channels: &[Bounded<'_>], budget: f64) -> f64 {
    dual_at(channels, budget, true).0
}

/// [`dual_bound`], and the largest total spend at most `budget` that the channels take
/// at the minimising price: a budget where the bound is attained (it is `budget` itself
/// unless `budget` falls into a duality gap, and the gap's lower end if it does).
///
/// With `capped`, each channel's range stops at what the budget leaves it (a tighter
/// bound); without, the bound is the same concave function of the budget everywhere: the
/// concave envelope of the best response.
fn dual_at(channels: &[Bounded<'_>], budget: f64, capped: bool) -> (f64, f64) {
    let (his, peaks) = if capped {
        reachable_ranges(channels, budget)
    } else {
        (
            channels.iter().map(|c| c.hi).collect(),
            channels.iter().map(|c| c.peak).collect(),
        )
    };
    let dual = |mu: f64| {
        let (mut value, mut spend) = (mu * budget, 0.0);
        for (i, c) in channels.iter().enumerate() {
            let s = best_spend(c.curve, c.lo, his[i], peaks[i], mu);
            value += c.curve.response(s) - mu * s;
            spend += s;
        }
        (not_nan(value), spend)
    };
    // At μ = 0 every channel takes its most; above every channel's highest marginal
    // return, its least.
    let top = channels
        .iter()
        .zip(&peaks)
        .map(|(c, &peak)| not_nan(c.curve.marginal(peak)))
        .fold(0.0, f64::max);
    let mut high = if top.is_finite() && top > 0.0 {
        top
    } else {
        1.0
    };
    let mut at_high = dual(high);
    let mut low = 0.0;
    let mut at_low = dual(low);
    while at_high.1 > budget && high < f64::MAX {
        (low, at_low) = (high, at_high);
        high = (2.0 * high).min(f64::MAX);
        at_high = dual(high);
    }
    for _ in 0..MAX_BISECTIONS {
        let mid = 0.5 * (low + high);
        if mid <= low || mid >= high {
            break;
        }
        let at_mid = dual(mid);
        if at_mid.1 >= budget {
            (low, at_low) = (mid, at_mid);
        } else {
            (high, at_high) = (mid, at_mid);
        }
        if at_low.1 - at_high.1 <= GAP_TOLERANCE * budget {
            break;
        }
    }
    (at_low.0.min(at_high.0), at_high.1.min(budget))
}

/// Each channel's own best spend at a price `lambda` per unit, with no budget: the total
/// spend and the surplus `Σ r(s) − λ·Σ s`. The surplus is the most any budget can make
/// of `response − lambda · spend`, so a ROAS of `lambda` is reachable exactly when it is
/// non-negative at a positive spend.
fn unconstrained_at(channels: &[Bounded<'_>], peaks: &[f64], lambda: f64) -> (f64, f64) {
    let mut spend_total = 0.0;
    let mut surplus = 0.0;
    for (c, &peak) in channels.iter().zip(peaks) {
        let s = best_spend(c.curve, c.lo, c.hi, peak, lambda);
        spend_total += s;
        surplus += c.curve.response(s) - lambda * s;
    }
    (spend_total, surplus)
}

/// The largest budget whose optimal split has a ROAS of at least `roas`, and that split;
/// or the best ROAS reachable within the bounds.
///
/// `h(B) = V(B) − roas·B` (V the optimal response at budget B) is at most the same with
/// V's concave envelope (the dual bound), which is concave in B, peaks at the budget where
/// the channels' marginal returns equal `roas` and falls after it: beyond its last zero
/// no budget can be on target. At that zero the envelope is V itself unless the zero falls
/// into a duality gap (S-shaped curves); then the answer lies between the gap's lower end,
/// where they agree again, and the zero: a grid finds the last budget there still on
/// target (V can rise and fall inside a gap), and root-finding the crossing after it.
fn target_split(channels: &[Bounded<'_>], roas: f64) -> Result<Split, f64> {
    let peaks: Vec<f64> = channels.iter().map(|c| c.peak).collect();
    let reachable = |target: f64| {
        let (spend, surplus) = unconstrained_at(channels, &peaks, target);
        spend > 0.0 && surplus >= 0.0
    };
    if !reachable(roas) {
        return Err(best_roas(channels, roas, reachable));
    }
    let (first, _) = unconstrained_at(channels, &peaks, roas);
    let sum_hi: f64 = channels.iter().map(|c| c.hi).sum();
    let envelope_excess = |budget: f64| (dual_at(channels, budget, false).0 - roas * budget, ());
    let at_sum_hi = envelope_excess(sum_hi).0;
    let last = if at_sum_hi >= 0.0 {
        sum_hi
    } else {
        let at_first = envelope_excess(first).0.max(0.0);
        crossing(
            envelope_excess,
            (first, at_first),
            (sum_hi, at_sum_hi),
            1e-14,
        )
        .0
    };
    let excess = |budget: f64| {
        let split = best_split(channels, budget);
        (response_of(channels, &split.spend) - roas * budget, split)
    };
    let (at_last, split) = excess(last);
    if at_last >= 0.0 {
        return Ok(split);
    }
    let start = dual_at(channels, last, false).1.max(first).min(last);
    let (at_start, split) = excess(start);
    let (mut low, mut high) = ((start, at_start), (last, at_last));
    let mut best = Some(split);
    let grid = |k: usize| start + (last - start) * k as f64 / TARGET_GRID as f64;
    for k in (1..TARGET_GRID).rev() {
        let (value, split) = excess(grid(k));
        if value >= 0.0 {
            low = (grid(k), value);
            best = Some(split);
            break;
        }
        high = (grid(k), value);
    }
    let (budget, split) = crossing(excess, low, high, 1e-14);
    Ok(split
        .or(best)
        .unwrap_or_else(|| best_split(channels, budget)))
}

/// The highest ROAS any plan within the bounds reaches (its supremum: with zero lower
/// bounds it is approached as spend goes to zero), by bisection below an unreachable one.
fn best_roas(channels: &[Bounded<'_>], unreachable: f64, reachable: impl Fn(f64) -> bool) -> f64 {
    if channels.iter().map(|c| c.hi).sum::<f64>() <= 0.0 {
        return 0.0;
    }
    let (mut low, mut high) = (0.0, unreachable);
    for _ in 0..MAX_BISECTIONS {
        let mid = 0.5 * (low + high);
        if mid <= low || mid >= high {
            break;
        }
        if reachable(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    low
}

/// Whether reasons speak of return per unit of spend or cost per unit of KPI.
#[derive(Clone, Copy)]
enum Voice {
    Roas,
    Cpa,
}

impl Voice {
    /// "marginal ROAS 1.90" or "marginal CPA 0.53" for a marginal return.
    fn marginal(self, slope: f64) -> String {
        match self {
            Voice::Roas => format!("marginal ROAS {}", ratio(slope)),
            Voice::Cpa => format!("marginal CPA {}", ratio(1.0 / slope)),
        }
    }

    /// The common level as a number in this voice.
    fn level(self, lambda: f64) -> String {
        match self {
            Voice::Roas => ratio(lambda),
            Voice::Cpa => ratio(1.0 / lambda),
        }
    }

    /// The name of the marginal in this voice.
    fn name(self) -> &'static str {
        match self {
            Voice::Roas => "marginal ROAS",
            Voice::Cpa => "marginal CPA",
        }
    }

    /// How a channel's marginal compares with the common level: a higher return is
    /// "above" in ROAS and "below" in CPA.
    fn compare(self, slope: f64, lambda: f64) -> &'static str {
        if (slope - lambda).abs() <= 1e-9 * lambda.abs() {
            return "level with";
        }
        match (self, slope > lambda) {
            (Voice::Roas, true) | (Voice::Cpa, false) => "above",
            _ => "below",
        }
    }

    /// The direction the marginal moves as spend rises (ROAS falls, CPA rises).
    fn as_spend_rises(self) -> (&'static str, &'static str) {
        match self {
            Voice::Roas => ("fell", "rose"),
            Voice::Cpa => ("rose", "fell"),
        }
    }
}

fn assemble(
    channels: &[ChannelPlan<'_>],
    objective: Objective,
    split: Split,
    voice: Voice,
) -> Result<Allocation, AllocateError> {
    let total_spend: f64 = split.spend.iter().sum();
    let common = common_marginal(channels, &split, total_spend);
    // With every channel at a bound any multiplier in a range fits; the solver's is one.
    let lambda = common
        .or(Some(split.lambda))
        .filter(|l| l.is_finite())
        .unwrap_or(0.0);
    let mut out = Vec::with_capacity(channels.len());
    for (c, &spend) in channels.iter().zip(&split.spend) {
        let optimal_response = c.curve.response(spend);
        if !optimal_response.is_finite() {
            return Err(bad_curve(&c.name, "response", spend, optimal_response));
        }
        let marginal = c.curve.marginal(spend);
        if marginal.is_nan() {
            return Err(bad_curve(&c.name, "marginal", spend, marginal));
        }
        let current_response = c.curve.response(c.current);
        let tolerance = bound_tolerance(c, total_spend);
        let binding = if spend <= c.lower + tolerance {
            Binding::Lower
        } else if spend >= c.upper - tolerance {
            Binding::Upper
        } else {
            Binding::None
        };
        let peak = marginal_peak(c.curve, c.lower, c.upper);
        let reason = explain(c, spend, marginal, binding, peak, common, tolerance, voice);
        out.push(ChannelAllocation {
            name: c.name.clone(),
            current_spend: c.current,
            optimal_spend: spend,
            current_response,
            optimal_response,
            current_roas: roas(current_response, c.current),
            optimal_roas: roas(optimal_response, spend),
            marginal_roas: marginal.min(f64::MAX),
            binding,
            reason,
        });
    }
    Ok(Allocation {
        objective,
        total_spend,
        total_response: out.iter().map(|c| c.optimal_response).sum(),
        current_spend: channels.iter().map(|c| c.current).sum(),
        current_response: out.iter().map(|c| c.current_response).sum(),
        channels: out,
        lambda,
    })
}

/// The marginal return shared by the channels inside their bounds (equal at the optimum;
/// averaged against rounding), or `None` when every channel sits at a bound.
fn common_marginal(channels: &[ChannelPlan<'_>], split: &Split, total_spend: f64) -> Option<f64> {
    let inside: Vec<f64> = channels
        .iter()
        .zip(&split.spend)
        .filter(|&(c, &s)| {
            let tolerance = bound_tolerance(c, total_spend);
            s > c.lower + tolerance && s < c.upper - tolerance
        })
        .map(|(c, &s)| c.curve.marginal(s))
        .filter(|m| m.is_finite())
        .collect();
    let lambda = inside.iter().sum::<f64>() / inside.len() as f64;
    lambda.is_finite().then_some(lambda)
}

/// How close to a bound counts as at it.
fn bound_tolerance(c: &ChannelPlan<'_>, total_spend: f64) -> f64 {
    1e-9 * total_spend.max(c.upper).max(f64::MIN_POSITIVE)
}

fn roas(response: f64, spend: f64) -> Option<f64> {
    (spend > 0.0).then(|| response / spend)
}

/// One line on why the channel got its spend.
#[allow(clippy::too_many_arguments)]
fn explain(
    c: &ChannelPlan<'_>,
    spend: f64,
    marginal: f64,
    binding: Binding,
    peak: f64,
    common: Option<f64>,
    tolerance: f64,
    voice: Voice,
) -> String {
    let name = &c.name;
    let moved = if spend < c.current - tolerance {
        "cut to"
    } else if spend > c.current + tolerance {
        "raised to"
    } else {
        "kept at"
    };
    let (falls, rises) = voice.as_spend_rises();
    let here = voice.marginal(marginal);
    // How the channel's marginal compares with the others', when some are free to move.
    let versus = |still: &str| match common {
        Some(lambda) => format!(
            ", {}{} the common {}",
            if voice.compare(marginal, lambda) == still {
                "still "
            } else {
                ""
            },
            voice.compare(marginal, lambda),
            voice.level(lambda)
        ),
        None => "; every channel is at a bound".to_string(),
    };
    if c.upper - c.lower <= tolerance {
        return format!("{name} fixed at {} by its bounds", amount(spend));
    }
    let better = voice.compare(1.0, 0.0);
    match binding {
        Binding::Upper => format!(
            "{name} {moved} its upper bound {}: {here} there{}",
            amount(c.upper),
            versus(better)
        ),
        Binding::Lower if peak > c.lower + tolerance => format!(
            "{name} {moved} its lower bound {}: on the flat start of its S-curve, where the \
             spend needed to reach its steep part would return less than it does elsewhere",
            amount(c.lower)
        ),
        Binding::Lower => format!(
            "{name} {moved} its lower bound {}: {here} even at the bound{}",
            amount(c.lower),
            versus("")
        ),
        Binding::None if spend < peak - tolerance => format!(
            "{name} set to {} on the rising part of its S-curve, where it takes the spend the \
             other channels would return less on",
            amount(spend)
        ),
        Binding::None => {
            let common = voice.level(common.unwrap_or(marginal));
            match moved {
                "raised to" => format!(
                    "{name} raised from {} to {} until its {} {falls} to {common}, the common level",
                    amount(c.current),
                    amount(spend),
                    voice.name()
                ),
                "cut to" => format!(
                    "{name} cut from {} to {} until its {} {rises} to {common}, the common level",
                    amount(c.current),
                    amount(spend),
                    voice.name()
                ),
                _ => format!(
                    "{name} kept at {}: its {here} already matches the common level",
                    amount(spend)
                ),
            }
        }
    }
}

/// A ratio for people: two decimals, more below 1 so that three digits show ("1.90",
/// "0.35", "0.0538").
fn ratio(x: f64) -> String {
    let magnitude = x.abs();
    if !x.is_finite() || magnitude >= 1.0 || magnitude == 0.0 {
        return format!("{x:.2}");
    }
    let decimals = (2 - magnitude.log10().floor() as i32).clamp(2, 12) as usize;
    let text = format!("{x:.decimals$}");
    let trimmed = text.trim_end_matches('0');
    let kept = trimmed.len().max(text.find('.').map_or(0, |dot| dot + 3));
    text[..kept].to_string()
}

/// A spend or response for people: thousands separated, decimals only for small amounts
/// ("1,200", "12.5", "0.35").
fn amount(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs();
    if magnitude >= 100.0 {
        let digits = format!("{magnitude:.0}");
        let mut grouped = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        return if x < 0.0 {
            format!("-{grouped}")
        } else {
            grouped
        };
    }
    if magnitude == 0.0 {
        return "0".to_string();
    }
    // Three significant digits, trailing zeros dropped.
    let decimals = (2 - magnitude.log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn plan<'a>(
        name: &str,
        curve: &'a dyn ResponseCurve,
        lower: f64,
        upper: f64,
    ) -> ChannelPlan<'a> {
        ChannelPlan {
            name: name.to_string(),
            curve,
            current: lower.max(upper.min(100.0)),
            lower,
            upper,
        }
    }

    const fn hill(beta: f64, half: f64, slope: f64) -> HillCurve {
        HillCurve { beta, half, slope }
    }

    const fn expo(beta: f64, lambda: f64) -> ExpCurve {
        ExpCurve { beta, lambda }
    }

    fn max_response_plan(plans: &[ChannelPlan<'_>], budget: f64) -> Allocation {
        allocate(plans, Objective::MaxResponse { budget }).unwrap()
    }

    fn spends(a: &Allocation) -> Vec<f64> {
        a.channels.iter().map(|c| c.optimal_spend).collect()
    }

    /// Equal marginals β_i λ_i e^{−λ_i s_i} = μ with Σ s_i = B.
    fn exp_closed_form(curves: &[ExpCurve], budget: f64) -> (Vec<f64>, f64) {
        let weight: f64 = curves.iter().map(|c| 1.0 / c.lambda).sum();
        let offset: f64 = curves
            .iter()
            .map(|c| (c.beta * c.lambda).ln() / c.lambda)
            .sum();
        let log_mu = (offset - budget) / weight;
        let spend = curves
            .iter()
            .map(|c| ((c.beta * c.lambda).ln() - log_mu) / c.lambda)
            .collect();
        (spend, log_mu.exp())
    }

    #[test]
    fn two_exponential_curves_match_the_closed_form() {
        let curves = [expo(10.0, 0.02), expo(6.0, 0.05)];
        let plans = [
            plan("tv", &curves[0], 0.0, 1e4),
            plan("search", &curves[1], 0.0, 1e4),
        ];
        let best = max_response_plan(&plans, 100.0);
        let (expected, mu) = exp_closed_form(&curves, 100.0);
        assert!(
            expected.iter().all(|&s| s > 1.0),
            "an interior optimum: {expected:?}"
        );
        for (got, want) in spends(&best).iter().zip(&expected) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        assert!((best.lambda - mu).abs() < 1e-9 * mu.max(1.0));
        assert!((best.total_spend - 100.0).abs() <= 1e-9 * 100.0);
        for c in &best.channels {
            assert!((c.marginal_roas - mu).abs() < 1e-8, "equal marginals");
            assert_eq!(c.binding, Binding::None);
        }
    }

    #[test]
    fn three_michaelis_menten_curves_match_the_closed_form() {
        // r = β s / (s + h): r' = β h / (s + h)² = μ ⇒ s = sqrt(β h / μ) − h.
        let curves = [
            hill(100.0, 50.0, 1.0),
            hill(80.0, 30.0, 1.0),
            hill(50.0, 20.0, 1.0),
        ];
        let budget = 200.0;
        let root_mu = curves.iter().map(|c| (c.beta * c.half).sqrt()).sum::<f64>()
            / (budget + curves.iter().map(|c| c.half).sum::<f64>());
        let mu = root_mu * root_mu;
        let plans: Vec<_> = curves
            .iter()
            .zip(["tv", "radio", "search"])
            .map(|(c, name)| plan(name, c, 0.0, 1e4))
            .collect();
        let best = max_response_plan(&plans, budget);
        for (got, c) in spends(&best).iter().zip(&curves) {
            let want = (c.beta * c.half / mu).sqrt() - c.half;
            assert!(want > 1.0);
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        assert!((best.lambda - mu).abs() < 1e-9);
    }

    #[test]
    fn a_binding_upper_bound_leaves_the_reduced_problem_to_the_others() {
        let curves = [expo(30.0, 0.02), expo(10.0, 0.02), expo(8.0, 0.05)];
        let budget = 150.0;
        let (free, _) = exp_closed_form(&curves, budget);
        let cap = 0.5 * free[0];
        let plans = [
            plan("tv", &curves[0], 0.0, cap),
            plan("radio", &curves[1], 0.0, 1e4),
            plan("search", &curves[2], 0.0, 1e4),
        ];
        let best = max_response_plan(&plans, budget);
        let (rest, mu) = exp_closed_form(&curves[1..], budget - cap);
        assert!((best.channels[0].optimal_spend - cap).abs() < 1e-9);
        assert_eq!(best.channels[0].binding, Binding::Upper);
        for (got, want) in spends(&best)[1..].iter().zip(&rest) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        assert!((best.lambda - mu).abs() < 1e-8);
        // KKT: the capped channel would still return more than the common level.
        assert!(best.channels[0].marginal_roas > best.lambda);
        assert!(
            best.channels[0].reason.contains("upper bound"),
            "{}",
            best.channels[0].reason
        );
        assert!(best.channels[0].reason.contains("above the common"));
    }

    #[test]
    fn a_binding_lower_bound_is_explained() {
        let strong = expo(50.0, 0.02);
        let weak = expo(2.0, 0.01);
        let plans = [
            ChannelPlan {
                current: 100.0,
                ..plan("tv", &strong, 0.0, 1e4)
            },
            ChannelPlan {
                current: 100.0,
                ..plan("print", &weak, 30.0, 1e4)
            },
        ];
        let best = max_response_plan(&plans, 200.0);
        let print = &best.channels[1];
        assert_eq!(print.binding, Binding::Lower);
        assert!((print.optimal_spend - 30.0).abs() < 1e-9);
        assert!(print.marginal_roas < best.lambda);
        assert!(
            print.reason.starts_with("print cut to its lower bound 30: marginal ROAS 0.0148 even at the bound, below the common 0.0334"),
            "{}",
            print.reason
        );
        let tv = &best.channels[0];
        assert!(
            tv.reason
                .starts_with("tv raised from 100 to 170 until its marginal ROAS"),
            "{}",
            tv.reason
        );
    }

    /// The best total response over a fine grid of splits between two channels.
    fn grid_best_two(plans: &[ChannelPlan<'_>], budget: f64, steps: usize) -> (f64, f64) {
        let (a, b) = (&plans[0], &plans[1]);
        let from = a.lower.max(budget - b.upper);
        let to = a.upper.min(budget - b.lower);
        let mut best = (f64::NEG_INFINITY, 0.0);
        for k in 0..=steps {
            let s = from + (to - from) * k as f64 / steps as f64;
            let value = a.curve.response(s) + b.curve.response(budget - s);
            if value > best.0 {
                best = (value, s);
            }
        }
        best
    }

    /// The best total response over a grid of splits between three channels.
    fn grid_best_three(plans: &[ChannelPlan<'_>], budget: f64, steps: usize) -> f64 {
        let mut best = f64::NEG_INFINITY;
        let h = budget / steps as f64;
        for i in 0..=steps {
            let s0 = i as f64 * h;
            for k in 0..=(steps - i) {
                let s1 = k as f64 * h;
                let s2 = (budget - s0 - s1).max(0.0);
                let spend = [s0, s1, s2];
                if plans
                    .iter()
                    .zip(spend)
                    .all(|(p, s)| s >= p.lower && s <= p.upper)
                {
                    let value: f64 = plans
                        .iter()
                        .zip(spend)
                        .map(|(p, s)| p.curve.response(s))
                        .sum();
                    best = best.max(value);
                }
            }
        }
        best
    }

    #[test]
    fn s_shaped_curves_with_a_small_budget_go_all_in_on_one_channel() {
        let curves = [hill(100.0, 50.0, 3.0), hill(80.0, 40.0, 3.0)];
        let plans = [
            plan("tv", &curves[0], 0.0, 1000.0),
            plan("video", &curves[1], 0.0, 1000.0),
        ];
        for budget in [10.0, 40.0, 80.0, 150.0, 300.0, 900.0] {
            let best = max_response_plan(&plans, budget);
            let (grid, _) = grid_best_two(&plans, budget, 20_000);
            assert!(
                best.total_response >= grid - 1e-9,
                "budget {budget}: {} < grid {grid}",
                best.total_response
            );
            // The grid is within a step of the optimum; each slope is at most ~2.
            assert!(
                best.total_response - grid < 4.0 * budget / 20_000.0,
                "budget {budget}"
            );
            assert!((best.total_spend - budget).abs() <= 1e-9 * budget);
        }
        // Splitting 40 evenly would leave both below their inflection points.
        let best = max_response_plan(&plans, 40.0);
        let top = spends(&best).into_iter().fold(0.0, f64::max);
        assert!(top >= 40.0 * (1.0 - 1e-9), "{:?}", spends(&best));
        let even = curves[0].response(20.0) + curves[1].response(20.0);
        assert!(best.total_response > 2.0 * even);
    }

    #[test]
    fn an_s_shaped_channel_can_stop_on_the_rising_part_of_its_curve() {
        // Search saturates after ~15; video's marginal return peaks at 100/√3 ≈ 58, beyond
        // the budget. The best split leaves video on the rising part of its curve, a point
        // equal marginal returns never pick (there the spend would rather go all or nothing).
        let video = hill(100.0, 100.0, 2.0);
        let search = expo(20.0, 0.2);
        let plans = [
            plan("video", &video, 0.0, 500.0),
            plan("search", &search, 0.0, 500.0),
        ];
        for budget in [30.0, 50.0, 70.0] {
            let best = max_response_plan(&plans, budget);
            let (grid, at) = grid_best_two(&plans, budget, 20_000);
            assert!(
                best.total_response >= grid - 1e-9,
                "budget {budget}: {} < grid {grid} at {at}",
                best.total_response
            );
            assert!(best.total_response - grid < 1e-6, "budget {budget}");
        }
        let best = max_response_plan(&plans, 50.0);
        let video_spend = best.channels[0].optimal_spend;
        assert!(video_spend > 30.0 && video_spend < 50.0, "{video_spend}");
        assert!(
            best.channels[0].reason.contains("rising part"),
            "{}",
            best.channels[0].reason
        );
        // Both channels end with the same marginal return.
        assert!((best.channels[0].marginal_roas - best.channels[1].marginal_roas).abs() < 1e-4);
    }

    #[test]
    fn mixed_s_shaped_and_concave_channels_match_a_grid_search() {
        let tv = hill(120.0, 80.0, 3.0);
        let video = hill(60.0, 30.0, 2.0);
        let search = expo(40.0, 0.02);
        let social = hill(50.0, 60.0, 2.5);
        let sets: [[&dyn ResponseCurve; 3]; 2] = [[&tv, &video, &search], [&tv, &video, &social]];
        for curves in sets {
            let plans: Vec<_> = curves
                .iter()
                .zip(["a", "b", "c"])
                .map(|(&c, name)| plan(name, c, 0.0, 400.0))
                .collect();
            for budget in [20.0, 60.0, 120.0, 250.0, 500.0] {
                let best = max_response_plan(&plans, budget);
                let grid = grid_best_three(&plans, budget, 400);
                assert!(
                    best.total_response >= grid - 1e-9,
                    "budget {budget}: {} < {grid}",
                    best.total_response
                );
                assert!(
                    best.total_response - grid < 3.0 * budget / 400.0,
                    "budget {budget}"
                );
                assert!((best.total_spend - budget).abs() <= 1e-9 * budget);
            }
        }
    }

    /// Random concave curves: exponential or Hill with slope ≤ 1.
    fn random_concave(rng: &mut ChaCha8Rng) -> Box<dyn ResponseCurve> {
        if rng.random_bool(0.5) {
            Box::new(expo(
                rng.random_range(20.0..200.0),
                rng.random_range(0.002..0.05),
            ))
        } else {
            Box::new(hill(
                rng.random_range(20.0..200.0),
                rng.random_range(20.0..300.0),
                rng.random_range(0.3..=1.0),
            ))
        }
    }

    #[test]
    fn random_concave_problems_match_a_grid_search() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut checked = 0;
        while checked < 12 {
            let curves: Vec<_> = (0..3).map(|_| random_concave(&mut rng)).collect();
            let budget = rng.random_range(100.0..600.0);
            let plans: Vec<_> = curves
                .iter()
                .zip(["tv", "radio", "search"])
                .map(|(c, name)| {
                    let lower = rng.random_range(0.0..budget / 6.0);
                    let upper = lower + rng.random_range(budget / 4.0..budget);
                    plan(name, c.as_ref(), lower, upper)
                })
                .collect();
            let sum_lo: f64 = plans.iter().map(|p| p.lower).sum();
            let sum_hi: f64 = plans.iter().map(|p| p.upper).sum();
            if !(sum_lo < budget && budget < sum_hi) {
                continue;
            }
            checked += 1;
            let best = max_response_plan(&plans, budget);
            let grid = grid_best_three(&plans, budget, 500);
            assert!(
                best.total_response >= grid - 1e-9,
                "{} < {grid}",
                best.total_response
            );
            assert!(
                best.total_response - grid < 1e-3 * best.total_response,
                "grid too far below"
            );
            assert!((best.total_spend - budget).abs() <= 1e-9 * budget);
            for (c, p) in best.channels.iter().zip(&plans) {
                assert!(c.optimal_spend >= p.lower && c.optimal_spend <= p.upper);
                // KKT: free channels share λ, bound ones are on the right side of it.
                match c.binding {
                    Binding::None => {
                        assert!((c.marginal_roas - best.lambda).abs() < 1e-6 * best.lambda.max(1.0))
                    }
                    Binding::Lower => assert!(c.marginal_roas <= best.lambda * (1.0 + 1e-6)),
                    Binding::Upper => assert!(c.marginal_roas >= best.lambda * (1.0 - 1e-6)),
                }
            }
        }
    }

    #[test]
    fn random_s_shaped_problems_match_a_grid_search() {
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        for _ in 0..16 {
            let curves: Vec<Box<dyn ResponseCurve>> = (0..3)
                .map(|_| -> Box<dyn ResponseCurve> {
                    if rng.random_bool(0.6) {
                        Box::new(hill(
                            rng.random_range(10.0..200.0),
                            rng.random_range(10.0..300.0),
                            rng.random_range(1.2..4.0),
                        ))
                    } else {
                        random_concave(&mut rng)
                    }
                })
                .collect();
            let budget = rng.random_range(10.0..600.0);
            let plans: Vec<_> = curves
                .iter()
                .zip(["tv", "video", "search"])
                .map(|(c, name)| {
                    let lower = if rng.random_bool(0.5) {
                        0.0
                    } else {
                        rng.random_range(0.0..budget / 3.0)
                    };
                    plan(
                        name,
                        c.as_ref(),
                        lower,
                        lower + rng.random_range(budget / 3.0..budget),
                    )
                })
                .collect();
            // Lower bounds below a third of the budget each, ranges at least a third wide.
            let best = max_response_plan(&plans, budget);
            let grid = grid_best_three(&plans, budget, 300);
            assert!(
                best.total_response >= grid - 1e-9 * grid.abs(),
                "budget {budget}: {} < grid {grid}",
                best.total_response
            );
            assert!((best.total_spend - budget).abs() <= 1e-9 * budget);
        }
    }

    #[test]
    fn the_optimum_beats_any_feasible_current_plan() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..20 {
            let curves: Vec<_> = (0..4).map(|_| random_concave(&mut rng)).collect();
            let plans: Vec<_> = curves
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let current = rng.random_range(10.0..300.0);
                    ChannelPlan::with_multipliers(format!("c{i}"), c.as_ref(), current, 0.5, 1.5)
                })
                .collect();
            let budget: f64 = plans.iter().map(|p| p.current).sum();
            let best = max_response_plan(&plans, budget);
            assert!(best.total_response >= best.current_response - 1e-9);
            assert!((best.current_spend - budget).abs() < 1e-9 * budget);
        }
    }

    fn mm_plans(curves: &[HillCurve]) -> Vec<ChannelPlan<'_>> {
        curves
            .iter()
            .zip(["tv", "radio", "search"])
            .map(|(c, name)| plan(name, c, 0.0, 300.0))
            .collect()
    }

    const MM: [HillCurve; 3] = [
        hill(100.0, 50.0, 1.0),
        hill(80.0, 30.0, 1.0),
        hill(50.0, 20.0, 1.0),
    ];

    #[test]
    fn target_roas_finds_the_largest_budget_on_target() {
        let plans = mm_plans(&MM);
        let target = 1.2;
        let plan = allocate(&plans, Objective::TargetRoas { roas: target }).unwrap();
        let reached = plan.total_response / plan.total_spend;
        assert!((reached - target).abs() < 1e-6, "{reached}");
        assert!(plan.total_spend < 900.0 - 1.0, "not at the upper bounds");
        // The split is the optimal one for that budget.
        let same = max_response_plan(&plans, plan.total_spend);
        assert!((same.total_response - plan.total_response).abs() < 1e-9);
        let more = max_response_plan(&plans, plan.total_spend * 1.001);
        assert!(more.total_response / more.total_spend < target);
        let less = max_response_plan(&plans, plan.total_spend * 0.999);
        assert!(less.total_response / less.total_spend > target);

        // A low target is met even at the upper bounds.
        let easy = allocate(&plans, Objective::TargetRoas { roas: 0.05 }).unwrap();
        assert!((easy.total_spend - 900.0).abs() < 1e-9);
    }

    #[test]
    fn an_unreachable_target_roas_names_the_best_one() {
        let plans = mm_plans(&MM);
        let err = allocate(&plans, Objective::TargetRoas { roas: 3.0 }).unwrap_err();
        // With zero lower bounds the best ROAS is the steepest start, β/h of "radio".
        let AllocateError::TargetRoasUnreachable { target, best } = err else {
            panic!("{err:?}")
        };
        assert_eq!(target, 3.0);
        assert!((best - 80.0 / 30.0).abs() < 1e-6, "{best}");
        assert_eq!(
            err.to_string(),
            "no plan within the bounds reaches a ROAS of 3.00: the best reachable is 2.67"
        );
    }

    #[test]
    fn target_cpa_finds_the_largest_budget_on_target() {
        // A count KPI: 400 conversions at most, half of them at a spend of 2,000.
        let (tv, search) = (hill(400.0, 2000.0, 1.0), expo(300.0, 1.0 / 1500.0));
        let plans = [
            plan("tv", &tv, 0.0, 20_000.0),
            plan("search", &search, 0.0, 20_000.0),
        ];
        let cpa = 8.0;
        let plan = allocate(&plans, Objective::TargetCpa { cpa }).unwrap();
        let reached = plan.total_spend / plan.total_response;
        assert!((reached - cpa).abs() < 1e-6 * cpa, "{reached}");
        let more = max_response_plan(&plans, plan.total_spend * 1.001);
        assert!(more.total_spend / more.total_response > cpa);
        assert!(
            plan.channels.iter().all(|c| c.reason.contains("CPA")),
            "{:?}",
            plan.channels[0].reason
        );

        // The cheapest result costs 1 / max slope at zero: min(2000/400, 1500/300) = 5.
        let err = allocate(&plans, Objective::TargetCpa { cpa: 4.0 }).unwrap_err();
        let AllocateError::TargetCpaUnreachable { best, .. } = err else {
            panic!("{err:?}")
        };
        assert!((best - 5.0).abs() < 1e-6, "{best}");
    }

    #[test]
    fn target_roas_with_s_shaped_curves_is_on_target() {
        let (tv, search) = (hill(300.0, 80.0, 2.5), expo(100.0, 0.01));
        let plans = [
            plan("tv", &tv, 0.0, 500.0),
            plan("search", &search, 0.0, 500.0),
        ];
        let plan = allocate(&plans, Objective::TargetRoas { roas: 0.5 }).unwrap();
        assert!((plan.total_response / plan.total_spend - 0.5).abs() < 1e-6);
        let more = max_response_plan(&plans, plan.total_spend * 1.001);
        assert!(more.total_response / more.total_spend < 0.5);
    }

    #[test]
    fn infeasible_bounds_are_named() {
        let curve = expo(10.0, 0.01);
        let weak = expo(1.0, 0.01);
        let lower = [
            plan("tv", &curve, 600.0, 2000.0),
            plan("radio", &curve, 400.0, 2000.0),
            plan("search", &curve, 200.0, 2000.0),
        ];
        let err = allocate(&lower, Objective::MaxResponse { budget: 1000.0 }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the lower bounds sum to 1,200 but the budget is 1,000: lower it for tv (600) or raise the budget"
        );
        let upper = [
            plan("tv", &weak, 0.0, 300.0),
            plan("radio", &weak, 0.0, 200.0),
            plan("search", &curve, 0.0, 300.0),
        ];
        let err = allocate(&upper, Objective::MaxResponse { budget: 1000.0 }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the upper bounds sum to 800 but the budget is 1,000: raise it for search (300) or lower the budget"
        );
        let inverted = [
            plan("tv", &curve, 0.0, 300.0),
            ChannelPlan {
                lower: 500.0,
                ..plan("radio", &curve, 0.0, 400.0)
            },
        ];
        let err = allocate(&inverted, Objective::MaxResponse { budget: 500.0 }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "radio: the lower bound 500 is above the upper bound 400"
        );
        // Exactly at the sums is fine.
        assert!(allocate(&lower, Objective::MaxResponse { budget: 1200.0 }).is_ok());
        assert!(allocate(&upper, Objective::MaxResponse { budget: 800.0 }).is_ok());
    }

    #[test]
    fn bad_numbers_are_errors_not_panics() {
        let curve = expo(10.0, 0.01);
        let good = || {
            vec![
                plan("tv", &curve, 0.0, 300.0),
                plan("radio", &curve, 0.0, 300.0),
            ]
        };
        let err = allocate(&good(), Objective::MaxResponse { budget: f64::NAN }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the budget must be a finite, non-negative number, got NaN"
        );
        let err = allocate(&good(), Objective::MaxResponse { budget: -1.0 }).unwrap_err();
        assert!(matches!(err, AllocateError::InvalidObjective { .. }));
        let err = allocate(&good(), Objective::TargetRoas { roas: f64::NAN }).unwrap_err();
        assert!(matches!(err, AllocateError::InvalidObjective { .. }));
        let err = allocate(&good(), Objective::TargetCpa { cpa: 0.0 }).unwrap_err();
        assert!(matches!(err, AllocateError::InvalidObjective { .. }));

        let mut plans = good();
        plans[0].current = f64::NAN;
        let err = allocate(&plans, Objective::MaxResponse { budget: 100.0 }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tv: the current spend must be a finite, non-negative number, got NaN"
        );
        let mut plans = good();
        plans[1].lower = -5.0;
        let err = allocate(&plans, Objective::MaxResponse { budget: 100.0 }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "radio: the lower bound must be a finite, non-negative number, got -5"
        );
        let mut plans = good();
        plans[1].upper = f64::INFINITY;
        assert!(allocate(&plans, Objective::MaxResponse { budget: 100.0 }).is_err());
        assert_eq!(
            allocate(&[], Objective::MaxResponse { budget: 1.0 }).unwrap_err(),
            AllocateError::NoChannels
        );

        let broken = hill(10.0, f64::NAN, 1.0);
        let plans = [
            plan("tv", &curve, 0.0, 300.0),
            plan("radio", &broken, 0.0, 300.0),
        ];
        let err = allocate(&plans, Objective::MaxResponse { budget: 100.0 }).unwrap_err();
        assert!(
            matches!(err, AllocateError::BadCurve { ref channel, .. } if channel == "radio"),
            "{err}"
        );

        // A curve that misbehaves only inside its range must not panic either.
        struct Holey;
        impl ResponseCurve for Holey {
            fn response(&self, s: f64) -> f64 {
                if (10.0..20.0).contains(&s) {
                    f64::NAN
                } else {
                    s.sqrt()
                }
            }
            fn marginal(&self, s: f64) -> f64 {
                if (10.0..20.0).contains(&s) {
                    f64::NAN
                } else {
                    0.5 / s.sqrt()
                }
            }
        }
        let plans = [
            plan("tv", &curve, 0.0, 300.0),
            plan("radio", &Holey, 0.0, 300.0),
        ];
        for objective in [
            Objective::MaxResponse { budget: 100.0 },
            Objective::TargetRoas { roas: 0.2 },
            Objective::TargetCpa { cpa: 3.0 },
        ] {
            let _ = allocate(&plans, objective);
        }
    }

    #[test]
    fn degenerate_budgets_and_fixed_channels() {
        let curve = hill(10.0, 50.0, 0.5);
        let other = expo(10.0, 0.01);
        let plans = [
            plan("tv", &curve, 0.0, 300.0),
            plan("radio", &other, 40.0, 40.0),
        ];
        let zero = allocate(
            &[plan("tv", &curve, 0.0, 300.0)],
            Objective::MaxResponse { budget: 0.0 },
        )
        .unwrap();
        assert_eq!(zero.total_spend, 0.0);
        assert_eq!(zero.channels[0].optimal_roas, None);
        let best = max_response_plan(&plans, 100.0);
        assert!((best.channels[0].optimal_spend - 60.0).abs() < 1e-9);
        assert_eq!(best.channels[1].optimal_spend, 40.0);
        assert_eq!(best.channels[1].reason, "radio fixed at 40 by its bounds");
        let at_upper = max_response_plan(&plans, 340.0);
        assert_eq!(spends(&at_upper), vec![300.0, 40.0]);
    }

    #[test]
    fn allocations_round_trip_through_json() {
        let curves = [expo(10.0, 0.02), expo(6.0, 0.05)];
        let plans = [
            plan("tv", &curves[0], 0.0, 1e4),
            plan("search", &curves[1], 0.0, 1e4),
        ];
        let best = max_response_plan(&plans, 100.0);
        let json = serde_json::to_string(&best).unwrap();
        assert!(
            json.contains(r#""objective":{"type":"max_response","budget":100.0}"#),
            "{json}"
        );
        let back: Allocation = serde_json::from_str(&json).unwrap();
        assert_eq!(back.objective, best.objective);
        for (a, b) in back.channels.iter().zip(&best.channels) {
            assert_eq!(
                (&a.name, &a.reason, a.binding),
                (&b.name, &b.reason, b.binding)
            );
            assert!((a.optimal_spend - b.optimal_spend).abs() < 1e-12 * b.optimal_spend);
        }
    }

    #[test]
    fn amounts_read_like_money() {
        assert_eq!(amount(1200.0), "1,200");
        assert_eq!(amount(1_234_567.4), "1,234,567");
        assert_eq!(amount(600.0), "600");
        assert_eq!(amount(12.5), "12.5");
        assert_eq!(amount(0.35), "0.35");
        assert_eq!(amount(-1500.0), "-1,500");
        assert_eq!(amount(0.0), "0");
        assert_eq!(ratio(1.9), "1.90");
        assert_eq!(ratio(0.35), "0.35");
        assert_eq!(ratio(0.8), "0.80");
        assert_eq!(ratio(0.053817), "0.0538");
        assert_eq!(ratio(12.345), "12.35");
    }
}
