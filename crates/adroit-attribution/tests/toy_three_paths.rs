//! The textbook three-journey example (`toy_three_paths.csv`), every number derived on
//! paper:
//!
//! ```text
//! C1 > C2 > C3   converts (value 10)
//! C1             null
//! C2 > C3        null
//! ```
//!
//! First-order chain (counts → probabilities):
//! `(start) → C1` 2/3, `(start) → C2` 1/3; `C1 → C2` 1/2, `C1 → (null)` 1/2;
//! `C2 → C3` 1; `C3 → (conversion)` 1/2, `C3 → (null)` 1/2.
//!
//! `P(conv) = 2/3 · 1/2 · 1 · 1/2 + 1/3 · 1 · 1/2 = 1/6 + 1/6 = 1/3` (= 1 conversion in 3
//! journeys). Removing a channel sends the transitions into it to `(null)`:
//! - without C1 only `(start) → C2 → C3 → (conversion)` is left: `1/3 · 1/2 = 1/6`, so the
//!   removal effect is `1 − (1/6)/(1/3) = 1/2` (not 1: the `C2 > C3` entry still converts);
//! - without C2 or without C3 every route to `(conversion)` is cut: `P = 0`, effect 1.
//!
//! Σ effects = 5/2, so the one conversion goes 0.2 / 0.4 / 0.4 to C1 / C2 / C3, and the
//! value 10 likewise 2 / 4 / 4 (all conversions leave C3, so the value chain is the
//! conversion chain × 10). Order 2 has states `C1 > C2`, `C2 > C3`, `C1`: removing C1
//! again halves `P` (only the `C2 > C3` entry from `(start)` converts), same effects. From
//! order 3 the converting journey is the single state `C1 > C2 > C3`, which every removal
//! deletes: `P` drops to 0 for each channel, all effects are 1 and each channel gets 1/3.

mod support;

use adroit_attribution::{
    MarkovOptions, RuleModel, ShapleyGame, ShapleyMethod, ShapleyOptions, Solver, markov, shapley,
};
use support::{close, shared_paths};

const TOL: f64 = 1e-12;

#[test]
fn markov_removal_effects_match_the_paper_derivation() {
    let paths = shared_paths("toy_three_paths.csv");
    assert_eq!(paths.channels, ["C1", "C2", "C3"]);
    for order in 1..=4 {
        for solver in [Solver::Dense, Solver::Iterative] {
            let result = markov(&paths, &MarkovOptions { order, solver }).unwrap();
            let what = format!("order {order}, {solver:?}");
            close(result.conversion_probability, 1.0 / 3.0, TOL, &what);
            close(result.value_per_journey, 10.0 / 3.0, TOL, &what);
            let expected = if order <= 2 {
                [
                    ("C1", 0.5, 1.0 / 6.0, 0.2),
                    ("C2", 1.0, 0.0, 0.4),
                    ("C3", 1.0, 0.0, 0.4),
                ]
            } else {
                [
                    ("C1", 1.0, 0.0, 1.0 / 3.0),
                    ("C2", 1.0, 0.0, 1.0 / 3.0),
                    ("C3", 1.0, 0.0, 1.0 / 3.0),
                ]
            };
            for (channel, effect, p_without, credit) in expected {
                let c = result.channel(channel).unwrap();
                let what = format!("{what}, {channel}");
                close(c.removal_effect, effect, TOL, &what);
                close(c.value_removal_effect, effect, TOL, &what);
                close(c.conversion_probability_without, p_without, TOL, &what);
                close(c.conversions, credit, TOL, &what);
                close(c.value, 10.0 * credit, TOL, &what);
            }
            assert!(result.solve.residual < 1e-14, "{what}: {:?}", result.solve);
        }
    }
}

#[test]
fn first_order_transition_matrix_is_the_counted_one() {
    let paths = shared_paths("toy_three_paths.csv");
    let result = markov(&paths, &MarkovOptions::default()).unwrap();
    assert_eq!(result.states, 4);
    let probability = |from: &str, to: &str| {
        result
            .transitions
            .iter()
            .find(|t| t.from == from && t.to == to)
            .map(|t| t.probability)
    };
    let expected = [
        ("(start)", "C1", 2.0 / 3.0),
        ("(start)", "C2", 1.0 / 3.0),
        ("C1", "C2", 0.5),
        ("C1", "(null)", 0.5),
        ("C2", "C3", 1.0),
        ("C3", "(conversion)", 0.5),
        ("C3", "(null)", 0.5),
    ];
    assert_eq!(result.transitions.len(), expected.len());
    for (from, to, p) in expected {
        close(
            probability(from, to).unwrap(),
            p,
            TOL,
            &format!("{from} → {to}"),
        );
    }
}

#[test]
fn rule_models_split_the_one_conversion_by_position() {
    let paths = shared_paths("toy_three_paths.csv");
    // Only `C1 > C2 > C3` converts. Time decay with a half-life of one touch weighs the
    // touches 1/4, 1/2, 1 → 1/7, 2/7, 4/7.
    let cases = [
        (RuleModel::First, [1.0, 0.0, 0.0]),
        (RuleModel::Last, [0.0, 0.0, 1.0]),
        (RuleModel::Linear, [1.0 / 3.0; 3]),
        (
            RuleModel::TimeDecay { half_life: 1.0 },
            [1.0 / 7.0, 2.0 / 7.0, 4.0 / 7.0],
        ),
        (RuleModel::POSITION, [0.4, 0.2, 0.4]),
    ];
    for (model, shares) in cases {
        let credits = model.credit(&paths).unwrap();
        assert_eq!(credits.model, model.name());
        for (credit, share) in credits.channels.iter().zip(shares) {
            let what = format!("{} {}", model.name(), credit.channel);
            close(credit.conversions, share, TOL, &what);
            close(credit.value, 10.0 * share, TOL, &what);
        }
        close(credits.total_conversions(), 1.0, TOL, model.name());
    }
}

#[test]
fn shapley_splits_the_grand_coalition_evenly() {
    let paths = shared_paths("toy_three_paths.csv");
    // Conversions game: the one conversion has coalition {C1, C2, C3} → 1/3 each.
    // Conversion-rate game: v(S) = 3 · rate of journeys inside S; only S = all three
    // contains the converting journey, v = 3 · 1/3 = 1, every smaller S is worth 0 → 1/3.
    for game in [ShapleyGame::Conversions, ShapleyGame::ConversionRate] {
        for method in [ShapleyMethod::Auto, ShapleyMethod::Exact] {
            let options = ShapleyOptions {
                game,
                method,
                ..ShapleyOptions::default()
            };
            let result = shapley(&paths, &options).unwrap();
            for c in &result.channels {
                let what = format!("{game:?} {method:?} {}", c.channel);
                close(c.conversions, 1.0 / 3.0, TOL, &what);
                close(c.value, 10.0 / 3.0, TOL, &what);
            }
        }
    }
}
