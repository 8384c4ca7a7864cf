//! Bad input gives errors that name the line (or journey, or setting); empty input gives
//! empty results; nothing panics.

use adroit_attribution::{
    AttributionError, Journey, MarkovOptions, Paths, RuleModel, ShapleyGame, ShapleyMethod,
    ShapleyOptions, markov, shapley,
};

const HEADER: &str = "path;total_conversions;total_conversion_value;total_null\n";

fn parse_error(text: &str) -> String {
    Paths::parse(text).unwrap_err().to_string()
}

#[test]
fn parse_errors_name_the_line() {
    let text = format!("{HEADER}a > b;1;2.5;3\nb;0;0;x\n");
    assert_eq!(
        parse_error(&text),
        "line 3: total_null is not a number (`x`)"
    );
    // Blank lines are skipped but still counted.
    let text = format!("{HEADER}a;1;1;1\n\n\nb;1;1\n");
    assert_eq!(
        parse_error(&text),
        "line 5: expected 4 fields separated by `;`, found 3"
    );
    let text = format!("{HEADER}a >  > b;1;1;1\n");
    assert!(
        parse_error(&text).starts_with("line 2: the path `a >  > b` has an empty channel"),
        "{}",
        parse_error(&text)
    );
    assert_eq!(
        parse_error(&format!("{HEADER};1;1;1\n")),
        "line 2: the path is empty"
    );
    assert_eq!(
        parse_error(&format!("{HEADER}a;-1;0;1\n")),
        "line 2: total_conversions must be a finite number ≥ 0, got -1"
    );
    assert_eq!(
        parse_error(&format!("{HEADER}a;1;inf;1\n")),
        "line 2: total_conversion_value must be a finite number ≥ 0, got inf"
    );
    assert_eq!(
        parse_error(&format!("{HEADER}a;0;5;1\n")),
        "line 2: total_conversion_value is 5 but total_conversions is 0"
    );
    assert_eq!(
        parse_error("path;conversions;revenue\na;1;1\n"),
        "line 1: unknown column `revenue`; expected path, total_conversions, total_conversion_value, total_null"
    );
    assert_eq!(
        parse_error("path;total_null\na;1\n"),
        "line 1: the header has no `total_conversions` column"
    );
    assert_eq!(
        parse_error("a > b;1;2;3;4\n"),
        "line 1: expected 2 to 4 fields separated by `;` (path, total_conversions, [total_conversion_value], [total_null]), found 5"
    );
}

#[test]
fn parse_accepts_the_format_variants() {
    // BOM, CRLF, quotes, columns in another order, repeated paths merged.
    let text = "\u{feff}total_null;path;total_conversions\r\n2;\"a > b\";1\r\n1;a>b;0\r\n";
    let paths = Paths::parse(text).unwrap();
    assert_eq!(paths.channels, ["a", "b"]);
    assert_eq!(
        paths.journeys,
        [Journey {
            path: vec![0, 1],
            conversions: 1.0,
            value: 0.0,
            nulls: 3.0
        }]
    );
    // No header: positional, value and nulls optional; comma separated.
    let paths = Paths::parse("x > y,2\ny,1\n").unwrap();
    assert_eq!(paths.total_conversions(), 3.0);
    assert_eq!(paths.total_nulls(), 0.0);
    // Round trip through the text the parser reads.
    let again = Paths::parse(&paths.to_text()).unwrap();
    assert_eq!(again, paths);
}

#[test]
fn empty_input_gives_empty_results() {
    for text in ["", "\n\n", HEADER] {
        let paths = Paths::parse(text).unwrap();
        assert!(paths.journeys.is_empty(), "{text:?}");
        for model in RuleModel::standard() {
            assert_eq!(model.credit(&paths).unwrap().channels.len(), 0);
        }
        for order in 1..=4 {
            let result = markov(
                &paths,
                &MarkovOptions {
                    order,
                    ..MarkovOptions::default()
                },
            )
            .unwrap();
            assert_eq!(result.conversion_probability, 0.0);
        }
        for game in [ShapleyGame::Conversions, ShapleyGame::ConversionRate] {
            for method in [
                ShapleyMethod::Auto,
                ShapleyMethod::Exact,
                ShapleyMethod::Sampled,
            ] {
                let options = ShapleyOptions {
                    game,
                    method,
                    ..ShapleyOptions::default()
                };
                assert!(shapley(&paths, &options).unwrap().channels.is_empty());
            }
        }
    }
    // Channels but no conversions: zero credit everywhere, no NaN.
    let paths = Paths::parse(&format!("{HEADER}a > b;0;0;5\nb;0;0;1\n")).unwrap();
    let result = markov(&paths, &MarkovOptions::default()).unwrap();
    for c in &result.channels {
        assert_eq!((c.removal_effect, c.conversions, c.value), (0.0, 0.0, 0.0));
    }
    let options = ShapleyOptions {
        game: ShapleyGame::ConversionRate,
        ..ShapleyOptions::default()
    };
    for c in shapley(&paths, &options).unwrap().channels {
        assert_eq!(c.conversions, 0.0);
    }
}

#[test]
fn bad_settings_and_hand_built_paths_are_errors() {
    let paths = Paths::parse(&format!("{HEADER}a > b;1;1;1\n")).unwrap();
    for order in [0, 5] {
        let error = markov(
            &paths,
            &MarkovOptions {
                order,
                ..MarkovOptions::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("the Markov order must be 1 to 4, got {order}")
        );
    }
    assert!(
        RuleModel::TimeDecay { half_life: 0.0 }
            .credit(&paths)
            .is_err()
    );
    assert!(
        RuleModel::Position {
            first: 0.7,
            last: 0.7
        }
        .credit(&paths)
        .is_err()
    );
    let one_permutation = ShapleyOptions {
        method: ShapleyMethod::Sampled,
        permutations: 1,
        ..ShapleyOptions::default()
    };
    assert!(matches!(
        shapley(&paths, &one_permutation),
        Err(AttributionError::Invalid(_))
    ));

    // Paths put together through the public fields are checked by every model.
    let broken = Paths {
        channels: vec!["a".into()],
        journeys: vec![Journey {
            path: vec![0, 3],
            conversions: 1.0,
            value: 0.0,
            nulls: 0.0,
        }],
        ..Paths::default()
    };
    let message = "journey 0: channel id 3 is not one of the 1 channels";
    assert_eq!(
        RuleModel::Linear.credit(&broken).unwrap_err().to_string(),
        message
    );
    assert_eq!(
        markov(&broken, &MarkovOptions::default())
            .unwrap_err()
            .to_string(),
        message
    );
    assert_eq!(
        shapley(&broken, &ShapleyOptions::default())
            .unwrap_err()
            .to_string(),
        message
    );
    let negative = Paths::new(
        vec!["a".into()],
        vec![Journey {
            path: vec![0],
            conversions: 1.0,
            value: 0.0,
            nulls: -2.0,
        }],
    );
    assert!(matches!(
        negative,
        Err(AttributionError::Journey { index: 0, .. })
    ));

    // Exact Shapley values over 25 channels would need 2^25 coalitions.
    let names: Vec<String> = (0..25).map(|c| format!("c{c}")).collect();
    let wide = Paths::new(
        names,
        vec![Journey {
            path: (0..25).collect(),
            conversions: 1.0,
            value: 1.0,
            nulls: 0.0,
        }],
    )
    .unwrap();
    let exact = ShapleyOptions {
        method: ShapleyMethod::Exact,
        ..ShapleyOptions::default()
    };
    assert!(matches!(
        shapley(&wide, &exact),
        Err(AttributionError::Invalid(_))
    ));
    // Auto falls back to sampling for the conversion-rate game, with a standard error.
    let auto = ShapleyOptions {
        game: ShapleyGame::ConversionRate,
        permutations: 100,
        ..ShapleyOptions::default()
    };
    let sampled = shapley(&wide, &auto).unwrap();
    assert_eq!(sampled.method, "sampled");
    assert!((sampled.credits().total_conversions() - 1.0).abs() < 1e-12);
}
