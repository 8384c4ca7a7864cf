//! Journeys built from touchpoints: conversion cuts, the lookback window, nulls,
//! aggregation, unsorted input and ties, against hand-written expectations and a naive
//! per-user rebuild.

mod support;

use adroit_attribution::touches::time_decay_by_time;
use adroit_attribution::{
    AttributionError, ChannelIndex, Journey, MarkovOptions, PathOptions, Paths, RuleModel,
    ShapleyGame, ShapleyMethod, ShapleyOptions, Touch, build_paths, markov, shapley,
};
use std::collections::BTreeMap;
use std::time::Instant;
use support::close;

const DAY: i64 = 86_400;
const SEARCH: u16 = 0;
const SOCIAL: u16 = 1;
const EMAIL: u16 = 2;

fn channels() -> Vec<String> {
    vec!["search".into(), "social".into(), "email".into()]
}

fn touch(user: u64, day: f64, channel: u16) -> Touch {
    Touch {
        user,
        time: (day * DAY as f64) as i64,
        channel: Some(channel),
        conversion: false,
        value: 0.0,
    }
}

/// A touch that is also the conversion (the simulator's convention).
fn converting_touch(user: u64, day: f64, channel: u16, value: f64) -> Touch {
    Touch {
        conversion: true,
        value,
        ..touch(user, day, channel)
    }
}

/// A conversion with no channel (an order from the shop).
fn conversion(user: u64, day: f64, value: f64) -> Touch {
    Touch {
        channel: None,
        conversion: true,
        value,
        ..touch(user, day, 0)
    }
}

fn example() -> Vec<Touch> {
    vec![
        // User 1 converts on an e-mail touch on day 35, then searches once more.
        touch(1, 0.0, SEARCH),
        touch(1, 10.0, SOCIAL),
        converting_touch(1, 35.0, EMAIL, 100.0),
        touch(1, 40.0, SEARCH),
        // User 2: an order (no channel) after social and e-mail, then an order with no
        // touch at all before it.
        touch(2, 1.0, SOCIAL),
        touch(2, 2.0, EMAIL),
        conversion(2, 5.0, 50.0),
        conversion(2, 6.0, 20.0),
        // User 3 never converts.
        touch(3, 0.0, SOCIAL),
        touch(3, 1.0, SOCIAL),
        // User 4 converts like user 1 within the window.
        touch(4, 0.0, SOCIAL),
        converting_touch(4, 1.0, EMAIL, 30.0),
    ]
}

fn journey(paths: &Paths, path: &[u16]) -> Option<Journey> {
    paths.journeys.iter().find(|j| j.path == path).cloned()
}

fn expect(paths: &Paths, path: &[u16], conversions: f64, value: f64, nulls: f64) {
    let got =
        journey(paths, path).unwrap_or_else(|| panic!("no journey {}", paths.path_text(path)));
    let what = paths.path_text(path);
    close(got.conversions, conversions, 0.0, &what);
    close(got.value, value, 1e-12, &what);
    close(got.nulls, nulls, 0.0, &what);
}

#[test]
fn conversions_cut_journeys_and_the_rest_are_nulls() {
    let paths = build_paths(&example(), channels(), &PathOptions::default()).unwrap();
    expect(&paths, &[SEARCH, SOCIAL, EMAIL], 1.0, 100.0, 0.0);
    expect(&paths, &[SEARCH], 0.0, 0.0, 1.0);
    // User 2's path (converted by a bare order) and user 4's are the same: aggregated.
    expect(&paths, &[SOCIAL, EMAIL], 2.0, 80.0, 0.0);
    expect(&paths, &[SOCIAL, SOCIAL], 0.0, 0.0, 1.0);
    assert_eq!(paths.journeys.len(), 4);
    close(paths.unattributed_conversions, 1.0, 0.0, "unattributed");
    close(paths.unattributed_value, 20.0, 0.0, "unattributed value");
    close(paths.total_conversions(), 3.0, 0.0, "conversions");
    close(paths.total_nulls(), 2.0, 0.0, "nulls");
}

#[test]
fn lookback_drops_touches_older_than_the_window() {
    let options = PathOptions {
        lookback: Some(30 * DAY),
    };
    let paths = build_paths(&example(), channels(), &options).unwrap();
    // User 1's search on day 0 is 35 days before the conversion: dropped. Social on day
    // 10 (25 days before) stays, so user 1 now joins users 2 and 4 on `social > email`.
    assert!(journey(&paths, &[SEARCH, SOCIAL, EMAIL]).is_none());
    expect(&paths, &[SOCIAL, EMAIL], 3.0, 180.0, 0.0);
    expect(&paths, &[SEARCH], 0.0, 0.0, 1.0);

    // Exactly `lookback` before the conversion still counts; one second more does not.
    let edge = |gap: i64| {
        let touches = [
            Touch {
                time: 0,
                ..touch(9, 0.0, SEARCH)
            },
            Touch {
                time: gap,
                ..conversion(9, 0.0, 1.0)
            },
        ];
        build_paths(&touches, channels(), &options).unwrap()
    };
    assert_eq!(edge(30 * DAY).journeys.len(), 1);
    let outside = edge(30 * DAY + 1);
    assert!(outside.journeys.is_empty());
    close(outside.unattributed_conversions, 1.0, 0.0, "outside");

    // A journey that never converts is windowed back from its last touch.
    let touches = [touch(5, 0.0, SEARCH), touch(5, 40.0, SOCIAL)];
    let paths = build_paths(&touches, channels(), &options).unwrap();
    assert_eq!(paths.journeys.len(), 1);
    expect(&paths, &[SOCIAL], 0.0, 0.0, 1.0);
}

#[test]
fn input_order_does_not_matter_and_ties_keep_input_order() {
    let sorted = build_paths(&example(), channels(), &PathOptions::default()).unwrap();
    let mut shuffled = example();
    shuffled.reverse();
    shuffled.swap(0, 7);
    shuffled.swap(3, 10);
    let from_shuffled = build_paths(&shuffled, channels(), &PathOptions::default()).unwrap();
    assert_eq!(sorted, from_shuffled);

    // A touch and an order at the same second: listed before the order, the touch is
    // part of the converting journey; listed after, it starts the next one.
    let before = [touch(7, 1.0, SEARCH), conversion(7, 1.0, 5.0)];
    let paths = build_paths(&before, channels(), &PathOptions::default()).unwrap();
    expect(&paths, &[SEARCH], 1.0, 5.0, 0.0);
    let after = [conversion(7, 1.0, 5.0), touch(7, 1.0, SEARCH)];
    let paths = build_paths(&after, channels(), &PathOptions::default()).unwrap();
    expect(&paths, &[SEARCH], 0.0, 0.0, 1.0);
    close(paths.unattributed_conversions, 1.0, 0.0, "order first");
}

#[test]
fn time_decay_by_time_uses_the_touch_times() {
    // Social one day before the e-mail conversion, half-life one day: weights 1/2 and 1.
    let touches = [touch(1, 0.0, SOCIAL), converting_touch(1, 1.0, EMAIL, 30.0)];
    let credits =
        time_decay_by_time(&touches, &channels(), &PathOptions::default(), DAY as f64).unwrap();
    close(
        credits.get("social").unwrap().conversions,
        1.0 / 3.0,
        1e-12,
        "social",
    );
    close(
        credits.get("email").unwrap().conversions,
        2.0 / 3.0,
        1e-12,
        "email",
    );
    close(
        credits.get("email").unwrap().value,
        20.0,
        1e-12,
        "email value",
    );
    assert!(time_decay_by_time(&touches, &channels(), &PathOptions::default(), 0.0).is_err());
}

#[test]
fn unusable_touches_are_errors_and_empty_input_is_empty() {
    let options = PathOptions::default();
    let unknown = [touch(1, 0.0, SEARCH), touch(1, 1.0, 7)];
    match build_paths(&unknown, channels(), &options) {
        Err(AttributionError::Touch { index: 1, message }) => {
            assert!(message.contains("channel id 7"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let not_finite = [conversion(1, 0.0, f64::NAN)];
    let error = build_paths(&not_finite, channels(), &options).unwrap_err();
    assert_eq!(
        error.to_string(),
        "touch 0: the conversion value NaN is not a finite number"
    );
    let negative = PathOptions { lookback: Some(-1) };
    assert!(matches!(
        build_paths(&example(), channels(), &negative),
        Err(AttributionError::Invalid(_))
    ));
    let empty = build_paths(&[], channels(), &options).unwrap();
    assert!(empty.journeys.is_empty());
    assert_eq!(empty.channels.len(), 3);
}

#[test]
fn channel_index_interns_names_in_order() {
    let mut index = ChannelIndex::new();
    assert_eq!(index.id("search").unwrap(), 0);
    assert_eq!(index.id("social").unwrap(), 1);
    assert_eq!(index.id("search").unwrap(), 0);
    assert_eq!(index.get("social"), Some(1));
    assert_eq!(index.get("tv"), None);
    assert_eq!(index.into_names(), ["search", "social"]);
}

/// A deterministic stream of pseudo-random numbers (SplitMix64) for synthetic touches.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `users` users with up to 12 touches each over 12 channels, some conversions with and
/// some without a channel, emitted in a scrambled order.
fn synthetic(users: u64, seed: u64) -> Vec<Touch> {
    let mut rng = SplitMix(seed);
    let mut touches = Vec::new();
    for user in 0..users {
        let mut time = rng.below(100 * DAY as u64) as i64;
        for _ in 0..1 + rng.below(12) {
            time += rng.below(10 * DAY as u64) as i64;
            let bare = rng.below(10) == 0;
            let conversion = rng.below(6) == 0;
            touches.push(Touch {
                user: user.wrapping_mul(0x2545_f491_4f6c_dd1d),
                time,
                channel: if bare && conversion {
                    None
                } else {
                    Some(rng.below(12) as u16)
                },
                conversion,
                value: if conversion {
                    rng.below(10_000) as f64 / 100.0
                } else {
                    0.0
                },
            });
        }
    }
    // Scramble: a fixed pseudo-random permutation.
    for i in (1..touches.len()).rev() {
        touches.swap(i, rng.below(i as u64 + 1) as usize);
    }
    touches
}

/// The same journeys by the obvious method: group per user, sort each user's touches by
/// (time, input position), walk them.
fn naive(touches: &[Touch], lookback: i64) -> BTreeMap<Vec<u16>, (f64, f64, f64)> {
    let mut users: BTreeMap<u64, Vec<(i64, usize)>> = BTreeMap::new();
    for (i, t) in touches.iter().enumerate() {
        users.entry(t.user).or_default().push((t.time, i));
    }
    let mut out: BTreeMap<Vec<u16>, (f64, f64, f64)> = BTreeMap::new();
    for (_, mut list) in users {
        list.sort();
        let mut current: Vec<(i64, u16)> = Vec::new();
        for (_, i) in list {
            let t = touches[i];
            if let Some(c) = t.channel {
                current.push((t.time, c));
            }
            if t.conversion {
                let path: Vec<u16> = current
                    .iter()
                    .filter(|(time, _)| t.time - time <= lookback)
                    .map(|&(_, c)| c)
                    .collect();
                if !path.is_empty() {
                    let entry = out.entry(path).or_default();
                    entry.0 += 1.0;
                    entry.1 += t.value;
                }
                current.clear();
            }
        }
        if let Some(&(end, _)) = current.last() {
            let path: Vec<u16> = current
                .iter()
                .filter(|(time, _)| end - time <= lookback)
                .map(|&(_, c)| c)
                .collect();
            out.entry(path).or_default().2 += 1.0;
        }
    }
    out
}

#[test]
fn one_pass_builder_agrees_with_a_naive_rebuild() {
    let touches = synthetic(5_000, 11);
    let names: Vec<String> = (0..12).map(|c| format!("c{c}")).collect();
    for lookback in [None, Some(15 * DAY)] {
        let paths = build_paths(&touches, names.clone(), &PathOptions { lookback }).unwrap();
        let want = naive(&touches, lookback.unwrap_or(i64::MAX));
        assert_eq!(paths.journeys.len(), want.len());
        for journey in &paths.journeys {
            let (conversions, value, nulls) = want[&journey.path];
            close(journey.conversions, conversions, 0.0, "conversions");
            close(journey.value, value, 1e-9, "value");
            close(journey.nulls, nulls, 0.0, "nulls");
        }
    }
}

/// Scale: about two million touches (300,000 users) through the builder and the models.
/// `cargo test --release -p adroit-attribution --test touchpoints -- --ignored --nocapture`
#[test]
#[ignore]
fn two_million_touches() {
    let touches = synthetic(300_000, 3);
    let names: Vec<String> = (0..12).map(|c| format!("c{c}")).collect();
    let started = Instant::now();
    let options = PathOptions {
        lookback: Some(30 * DAY),
    };
    let paths = build_paths(&touches, names, &options).unwrap();
    eprintln!(
        "{} touches → {} distinct paths ({} conversions, {} nulls) in {:.3} s",
        touches.len(),
        paths.journeys.len(),
        paths.total_conversions(),
        paths.total_nulls(),
        started.elapsed().as_secs_f64()
    );
    for model in RuleModel::standard() {
        let started = Instant::now();
        model.credit(&paths).unwrap();
        eprintln!("{}: {:.3} s", model.name(), started.elapsed().as_secs_f64());
    }
    for order in 1..=4 {
        let started = Instant::now();
        let result = markov(
            &paths,
            &MarkovOptions {
                order,
                ..MarkovOptions::default()
            },
        )
        .unwrap();
        eprintln!(
            "markov order {order}: {} states, {:.3} s",
            result.states,
            started.elapsed().as_secs_f64()
        );
    }
    for (game, method) in [
        (ShapleyGame::Conversions, ShapleyMethod::Auto),
        (ShapleyGame::ConversionRate, ShapleyMethod::Exact),
        (ShapleyGame::ConversionRate, ShapleyMethod::Sampled),
    ] {
        let started = Instant::now();
        let options = ShapleyOptions {
            game,
            method,
            ..ShapleyOptions::default()
        };
        let result = shapley(&paths, &options).unwrap();
        eprintln!(
            "shapley {game:?} {}: {} coalitions, {:.3} s",
            result.method,
            result.coalitions,
            started.elapsed().as_secs_f64()
        );
    }
}
