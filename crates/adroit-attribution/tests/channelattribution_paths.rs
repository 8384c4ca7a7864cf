//! ChannelAttribution's 10,000-row path example (12 channels) against the independent numpy
//! computation in `tests/support/channelattribution_reference.json`, written by
//! `benches/attribution_reference.py` (a dense first-order system with self-loops kept and
//! removal by zeroing columns, rule models and brute-force Shapley in Python).

mod support;

use adroit_attribution::{
    MarkovOptions, RuleModel, ShapleyGame, ShapleyMethod, ShapleyOptions, Solver, markov, shapley,
};
use serde_json::Value;
use std::time::Instant;
use support::{close, reference, shared_paths};

/// The tolerance for the exact first-order solve (absolute, also on attributed
/// conversions in the thousands; the solve agrees to ~1e-12 relative).
const MARKOV_TOL: f64 = 1e-6;

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

#[test]
fn totals_are_the_documented_ones() {
    let paths = shared_paths("channelattribution_paths.csv");
    let reference = reference();
    // 10,000 rows, but rows repeat paths (`iota > iota > iota > iota` on 311 rows): parsing
    // merges them into 5,408 distinct paths.
    assert_eq!(reference["totals"]["rows"], 10_000);
    assert_eq!(paths.journeys.len(), 5_408);
    assert_eq!(
        reference["totals"]["distinct_paths"].as_u64(),
        Some(paths.journeys.len() as u64)
    );
    assert_eq!(paths.channels.len(), 12);
    close(paths.total_conversions(), 19_785.0, 0.0, "conversions");
    close(paths.total_nulls(), 68_602.0, 0.0, "nulls");
    close(
        paths.total_value(),
        number(&reference["totals"]["value"]),
        1e-8,
        "value",
    );
}

#[test]
fn first_order_markov_matches_the_numpy_reference() {
    let paths = shared_paths("channelattribution_paths.csv");
    let reference = &reference()["markov_order_1"];
    for solver in [Solver::Dense, Solver::Iterative] {
        let result = markov(&paths, &MarkovOptions { order: 1, solver }).unwrap();
        assert_eq!(result.states, 13);
        let mut largest = (0.0f64, 0.0f64);
        close(
            result.conversion_probability,
            number(&reference["conversion_probability"]),
            1e-12,
            "P(conversion)",
        );
        close(
            result.value_per_journey,
            number(&reference["value_per_journey"]),
            1e-12,
            "value per journey",
        );
        for channel in &result.channels {
            let want = &reference["channels"][&channel.channel];
            let what = |field: &str| format!("{solver:?} {} {field}", channel.channel);
            for (field, got) in [
                ("removal_effect", channel.removal_effect),
                ("value_removal_effect", channel.value_removal_effect),
                (
                    "conversion_probability_without",
                    channel.conversion_probability_without,
                ),
                ("conversions", channel.conversions),
                ("value", channel.value),
            ] {
                close(got, number(&want[field]), MARKOV_TOL, &what(field));
                let difference = (got - number(&want[field])).abs();
                largest.0 = largest.0.max(difference);
                largest.1 = largest
                    .1
                    .max(difference / number(&want[field]).abs().max(1e-300));
            }
        }
        eprintln!(
            "{solver:?}: largest difference from numpy {:e} (relative {:e})",
            largest.0, largest.1
        );
        close(
            result.credits().total_conversions(),
            19_785.0,
            1e-8,
            "efficiency",
        );
    }
}

#[test]
fn first_order_transition_matrix_matches_the_reference() {
    let paths = shared_paths("channelattribution_paths.csv");
    let result = markov(&paths, &MarkovOptions::default()).unwrap();
    let matrix = reference()["markov_order_1"]["transition_matrix"]
        .as_object()
        .unwrap()
        .clone();
    let reference_edges: usize = matrix
        .values()
        .map(|row| row.as_object().unwrap().len())
        .sum();
    assert_eq!(result.transitions.len(), reference_edges);
    for t in &result.transitions {
        let want = number(&matrix[&t.from][&t.to]);
        close(
            t.probability,
            want,
            1e-12,
            &format!("{} → {}", t.from, t.to),
        );
    }
    // Repeats are merged, as ChannelAttribution does: no self-loops.
    assert!(result.transitions.iter().all(|t| t.from != t.to));
}

#[test]
fn rule_models_match_the_reference() {
    let paths = shared_paths("channelattribution_paths.csv");
    let reference = &reference()["rules"];
    for model in RuleModel::standard() {
        let credits = model.credit(&paths).unwrap();
        for credit in &credits.channels {
            let want = &reference[model.name()][&credit.channel];
            let what = format!("{} {}", model.name(), credit.channel);
            close(
                credit.conversions,
                number(&want["conversions"]),
                1e-8,
                &what,
            );
            close(credit.value, number(&want["value"]), 1e-8, &what);
        }
        close(credits.total_conversions(), 19_785.0, 1e-8, model.name());
    }
}

/// Every order: `P(conversion)` equals the observed rate (the counts conserve flow), the
/// credits add up, and the dense and iterative solvers agree where both apply. Prints the
/// time of each order (the whole attribution: chain, 13 solves, transitions).
#[test]
fn markov_orders_one_to_four_are_consistent() {
    let paths = shared_paths("channelattribution_paths.csv");
    let rate = paths.total_conversions() / paths.total_journeys();
    let value_rate = paths.total_value() / paths.total_journeys();
    let mut previous_states = 0;
    for order in 1..=4 {
        let started = Instant::now();
        let result = markov(
            &paths,
            &MarkovOptions {
                order,
                solver: Solver::Iterative,
            },
        )
        .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "order {order}: {} states, {} transitions, {} sweeps, residual {:e}, {seconds:.3} s",
            result.states,
            result.transitions.len(),
            result.solve.sweeps,
            result.solve.residual
        );
        assert!(result.states > previous_states);
        previous_states = result.states;
        close(
            result.conversion_probability,
            rate,
            1e-12,
            "P = observed rate",
        );
        close(result.value_per_journey, value_rate, 1e-12, "E[value]");
        assert!(result.solve.residual < 1e-12, "{:?}", result.solve);
        let credits = result.credits();
        close(credits.total_conversions(), 19_785.0, 1e-8, "conversions");
        close(credits.total_value(), paths.total_value(), 1e-8, "value");
        for c in &result.channels {
            assert!((0.0..=1.0).contains(&c.removal_effect), "{c:?}");
        }
        if order <= 2 {
            let dense = markov(
                &paths,
                &MarkovOptions {
                    order,
                    solver: Solver::Dense,
                },
            )
            .unwrap();
            for (a, b) in dense.channels.iter().zip(&result.channels) {
                close(a.removal_effect, b.removal_effect, 1e-12, &a.channel);
                close(
                    a.value_removal_effect,
                    b.value_removal_effect,
                    1e-12,
                    &a.channel,
                );
            }
        }
    }
}

#[test]
fn shapley_matches_the_brute_force_reference() {
    let paths = shared_paths("channelattribution_paths.csv");
    let reference = &reference()["shapley"];
    for (game, key, method) in [
        (ShapleyGame::Conversions, "conversions", "closed_form"),
        (ShapleyGame::ConversionRate, "conversion_rate", "exact"),
    ] {
        let result = shapley(
            &paths,
            &ShapleyOptions {
                game,
                ..ShapleyOptions::default()
            },
        )
        .unwrap();
        assert_eq!(result.method, method);
        assert_eq!(result.players, 12);
        for c in &result.channels {
            let want = &reference[key][&c.channel];
            let what = format!("{key} {}", c.channel);
            close(c.conversions, number(&want["conversions"]), 1e-8, &what);
            close(c.value, number(&want["value"]), 1e-8, &what);
        }
        close(
            result.credits().total_conversions(),
            19_785.0,
            1e-8,
            "efficiency",
        );
    }
}

/// Sampled Shapley values lie within 4 stated standard errors of the exact ones for all
/// 12 channels, in both games; the closed form equals the subset enumeration.
#[test]
fn sampled_shapley_is_within_its_standard_error_of_the_exact_value() {
    let paths = shared_paths("channelattribution_paths.csv");
    for game in [ShapleyGame::Conversions, ShapleyGame::ConversionRate] {
        let run = |method, permutations| {
            shapley(
                &paths,
                &ShapleyOptions {
                    game,
                    method,
                    permutations,
                    seed: 7,
                    ..ShapleyOptions::default()
                },
            )
            .unwrap()
        };
        let exact = run(ShapleyMethod::Exact, 0);
        let started = Instant::now();
        let sampled = run(ShapleyMethod::Sampled, 2_000);
        eprintln!(
            "{game:?}: 2,000 permutations over {} coalitions in {:.3} s",
            sampled.coalitions,
            started.elapsed().as_secs_f64()
        );
        assert_eq!(sampled.method, "sampled");
        close(
            sampled.credits().total_conversions(),
            19_785.0,
            1e-7,
            "sampled efficiency",
        );
        for (e, s) in exact.channels.iter().zip(&sampled.channels) {
            assert!(s.conversions_standard_error > 0.0, "{s:?}");
            let what = format!("{game:?} {}", e.channel);
            close(
                s.conversions,
                e.conversions,
                4.0 * s.conversions_standard_error + 1e-9,
                &what,
            );
            close(s.value, e.value, 4.0 * s.value_standard_error + 1e-9, &what);
        }
        if game == ShapleyGame::Conversions {
            let closed = run(ShapleyMethod::Auto, 0);
            assert_eq!(closed.method, "closed_form");
            for (a, b) in closed.channels.iter().zip(&exact.channels) {
                close(a.conversions, b.conversions, 1e-8, &a.channel);
                close(a.value, b.value, 1e-8, &a.channel);
            }
        }
    }
}
