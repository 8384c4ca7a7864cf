//! Shapley values on games small enough to check by hand: efficiency, symmetry, null
//! players, and the two games' definitions.

mod support;

use adroit_attribution::{
    Journey, Paths, ShapleyGame, ShapleyMethod, ShapleyOptions, ShapleyResult, shapley,
};
use support::close;

fn journey(path: &[u16], conversions: f64, value: f64, nulls: f64) -> Journey {
    Journey {
        path: path.to_vec(),
        conversions,
        value,
        nulls,
    }
}

fn run(paths: &Paths, game: ShapleyGame, method: ShapleyMethod) -> ShapleyResult {
    shapley(
        paths,
        &ShapleyOptions {
            game,
            method,
            permutations: 20_000,
            seed: 1,
            ..ShapleyOptions::default()
        },
    )
    .unwrap()
}

/// Ten journeys each: A alone converts 1 (value 10), B alone 5 (value 50), A and B together
/// 6 (value 60, the path `A > B > A`: order and repeats do not matter). J = 30, C = 12.
fn two_channels() -> Paths {
    Paths::new(
        vec!["A".into(), "B".into()],
        vec![
            journey(&[0], 1.0, 10.0, 9.0),
            journey(&[1], 5.0, 50.0, 5.0),
            journey(&[0, 1, 0], 6.0, 60.0, 4.0),
        ],
    )
    .unwrap()
}

#[test]
fn conversions_game_by_hand() {
    // v(A) = 1, v(B) = 5, v(AB) = 1 + 5 + 6 = 12.
    // φ_A = ½ v(A) + ½ (v(AB) − v(B)) = ½ + 7/2 = 4 = 1 + 6/2;  φ_B = 5/2 + 11/2 = 8.
    let paths = two_channels();
    for method in [ShapleyMethod::Auto, ShapleyMethod::Exact] {
        let result = run(&paths, ShapleyGame::Conversions, method);
        close(result.channel("A").unwrap().conversions, 4.0, 1e-12, "A");
        close(result.channel("B").unwrap().conversions, 8.0, 1e-12, "B");
        close(result.channel("A").unwrap().value, 40.0, 1e-12, "A value");
        close(result.channel("B").unwrap().value, 80.0, 1e-12, "B value");
    }
}

#[test]
fn conversion_rate_game_by_hand() {
    // v(S) = 30 · conversions / journeys over the journeys inside S:
    // v(A) = 30 · 1/10 = 3, v(B) = 30 · 5/10 = 15, v(AB) = 30 · 12/30 = 12.
    // φ_A = ½ · 3 + ½ (12 − 15) = 0: adding A to B lowers the rate as much as A alone
    // adds. φ_B = ½ · 15 + ½ (12 − 3) = 12.
    let paths = two_channels();
    let result = run(&paths, ShapleyGame::ConversionRate, ShapleyMethod::Auto);
    assert_eq!(result.method, "exact");
    close(result.channel("A").unwrap().conversions, 0.0, 1e-12, "A");
    close(result.channel("B").unwrap().conversions, 12.0, 1e-12, "B");
    // The value game is the same with value 10× conversions.
    close(result.channel("B").unwrap().value, 120.0, 1e-10, "B value");
}

/// Three channels: `{A}` 2 conversions, `{A, B}` 3, `{A, B, C}` 6, `{C}` 0 conversions
/// and 4 nulls. Conversions game: A = 2 + 3/2 + 6/3 = 5.5, B = 1.5 + 2 = 3.5, C = 2.
#[test]
fn three_channels_by_hand_and_efficiency() {
    let paths = Paths::new(
        vec!["A".into(), "B".into(), "C".into()],
        vec![
            journey(&[0], 2.0, 2.0, 1.0),
            journey(&[1, 0], 3.0, 3.0, 0.0),
            journey(&[2, 1, 0], 6.0, 6.0, 2.0),
            journey(&[2], 0.0, 0.0, 4.0),
        ],
    )
    .unwrap();
    let result = run(&paths, ShapleyGame::Conversions, ShapleyMethod::Auto);
    for (channel, want) in [("A", 5.5), ("B", 3.5), ("C", 2.0)] {
        close(
            result.channel(channel).unwrap().conversions,
            want,
            1e-12,
            channel,
        );
    }
    for game in [ShapleyGame::Conversions, ShapleyGame::ConversionRate] {
        for method in [
            ShapleyMethod::Auto,
            ShapleyMethod::Exact,
            ShapleyMethod::Sampled,
        ] {
            let result = run(&paths, game, method);
            let what = format!("{game:?} {method:?}");
            close(result.credits().total_conversions(), 11.0, 1e-9, &what);
            close(result.credits().total_value(), 11.0, 1e-9, &what);
        }
    }
}

/// A and B play the same part (each converts alone once, and each with C twice), so they
/// get equal credit in both games, whatever their ids; a channel only in null journeys
/// gets nothing in the conversions game.
#[test]
fn symmetric_channels_get_equal_credit_and_null_players_none() {
    let paths = Paths::new(
        vec!["A".into(), "B".into(), "C".into(), "D".into()],
        vec![
            journey(&[0, 2], 2.0, 5.0, 1.0),
            journey(&[2, 1], 2.0, 5.0, 1.0),
            journey(&[0], 1.0, 1.0, 3.0),
            journey(&[1, 1], 1.0, 1.0, 3.0),
            journey(&[3, 2], 0.0, 0.0, 5.0),
        ],
    )
    .unwrap();
    for game in [ShapleyGame::Conversions, ShapleyGame::ConversionRate] {
        let result = run(&paths, game, ShapleyMethod::Exact);
        let (a, b) = (result.channel("A").unwrap(), result.channel("B").unwrap());
        close(a.conversions, b.conversions, 1e-12, "A = B");
        close(a.value, b.value, 1e-12, "A = B value");
    }
    let conversions = run(&paths, ShapleyGame::Conversions, ShapleyMethod::Exact);
    close(conversions.channel("D").unwrap().conversions, 0.0, 0.0, "D");
    assert_eq!(conversions.players, 3, "D converts nowhere: not a player");
}

#[test]
fn sampled_values_carry_a_standard_error_and_are_reproducible() {
    let paths = two_channels();
    let a = run(&paths, ShapleyGame::ConversionRate, ShapleyMethod::Sampled);
    let b = run(&paths, ShapleyGame::ConversionRate, ShapleyMethod::Sampled);
    assert_eq!(a, b, "same seed, same result");
    assert_eq!(a.permutations, 20_000);
    // Two players: each permutation gives A either v(A) = 3 or v(AB) − v(B) = −3, so
    // the standard error is about 3/√20000 ≈ 0.021.
    let channel = a.channel("A").unwrap();
    close(channel.conversions_standard_error, 0.0212, 0.001, "se");
    close(
        channel.conversions,
        0.0,
        4.0 * channel.conversions_standard_error,
        "A",
    );
}
