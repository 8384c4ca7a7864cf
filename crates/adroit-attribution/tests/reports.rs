//! The report helpers: top paths and the transition matrix without a solve.

mod support;

use adroit_attribution::{MarkovOptions, Paths, markov, transition_matrix};
use support::shared_paths;

#[test]
fn top_paths_rank_by_journeys_and_by_conversion_rate_above_a_minimum() {
    let paths = Paths::parse(
        "path;total_conversions;total_conversion_value;total_null\n\
         a;1;10;9\n\
         a > b;5;50;5\n\
         b;0;0;30\n\
         c;1;5;0\n\
         b > c;2;20;8\n\
         a > c;0;0;0\n",
    )
    .unwrap();
    let top = paths.top_paths(3, 10.0);
    let names = |list: &[adroit_attribution::PathSummary]| -> Vec<String> {
        list.iter().map(|p| p.path.clone()).collect()
    };
    // `a > c` has no journeys at all and is never listed.
    assert_eq!(names(&top.most_frequent), ["b", "a > b", "b > c"]);
    // `c` converts every time but on one journey: below the minimum of 10.
    assert_eq!(names(&top.highest_converting), ["a > b", "b > c", "a"]);
    let ab = &top.most_frequent[1];
    assert_eq!(
        (ab.length, ab.journeys, ab.conversions, ab.nulls, ab.value),
        (2, 10.0, 5.0, 5.0, 50.0)
    );
    assert!((ab.conversion_rate - 0.5).abs() < 1e-15);
    assert_eq!(top.min_journeys, 10.0);
    // Ties on journeys: more conversions first (a: 10 journeys, 1 conversion; a > b: 10, 5).
    assert_eq!(
        names(&paths.top_paths(6, 0.0).most_frequent),
        ["b", "a > b", "b > c", "a", "c"]
    );
    assert!(paths.top_paths(0, 0.0).most_frequent.is_empty());
}

#[test]
fn top_paths_of_the_channelattribution_example_add_up() {
    let paths = shared_paths("channelattribution_paths.csv");
    let top = paths.top_paths(20, 20.0);
    assert_eq!(top.most_frequent.len(), 20);
    assert_eq!(top.highest_converting.len(), 20);
    for w in top.most_frequent.windows(2) {
        assert!(w[0].journeys >= w[1].journeys);
    }
    for w in top.highest_converting.windows(2) {
        assert!(w[0].conversion_rate >= w[1].conversion_rate);
    }
    for p in top.most_frequent.iter().chain(&top.highest_converting) {
        assert_eq!(p.journeys, p.conversions + p.nulls);
        assert_eq!(p.length, p.path.split(" > ").count());
    }
    assert!(top.highest_converting.iter().all(|p| p.journeys >= 20.0));
}

#[test]
fn the_transition_matrix_is_the_markov_results_without_a_solve() {
    let paths = shared_paths("channelattribution_paths.csv");
    for order in 1..=4 {
        let result = markov(
            &paths,
            &MarkovOptions {
                order,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            transition_matrix(&paths, order).unwrap(),
            result.transitions
        );
    }
    let matrix = transition_matrix(&paths, 1).unwrap();
    // Rows sum to 1 per `from` state.
    let mut sums: std::collections::BTreeMap<&str, f64> = Default::default();
    for t in &matrix {
        *sums.entry(t.from.as_str()).or_default() += t.probability;
    }
    assert_eq!(sums.len(), 13);
    for (from, sum) in sums {
        assert!((sum - 1.0).abs() < 1e-12, "{from}: {sum}");
    }
    assert!(transition_matrix(&paths, 0).is_err());
    assert!(transition_matrix(&paths, 5).is_err());
}
