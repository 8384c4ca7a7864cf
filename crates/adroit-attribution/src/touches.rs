//! From touchpoints to journeys: the `touchpoints` contract table (user, timestamp,
//! channel, conversion flag and value) cut into paths.
//!
//! Per user, in time order:
//! - a touch with a channel joins the user's current journey;
//! - a conversion ends the journey. The conversion row may be a channel touch itself
//!   (the touch joins the journey, then it ends: the simulator's and most exports'
//!   convention) or a bare conversion event with no channel (`channel: None`, e.g. an
//!   order from the shop table);
//! - only touches at most `lookback` seconds before the journey's end count; older ones
//!   are dropped (not made into a journey of their own). A converting journey ends at its
//!   conversion, a journey that never converts at its last touch;
//! - what is left of a user's touches after the last conversion is a null journey;
//! - a conversion with no touch left in the window is unattributed
//!   ([`Paths::unattributed_conversions`]): counted, never credited to a channel.
//!
//! Ties in time keep input order, so a conversion listed after a touch with the same
//! timestamp includes that touch. One sort and one pass: O(n log n) for n touches, and
//! already sorted input skips the sort.

use crate::paths::{Aggregator, ChannelId, MAX_CHANNELS, Paths};
use crate::{AttributionError, ChannelCredit, Credits};
use serde::{Deserialize, Serialize};

/// One touchpoint row. User ids and channel names are interned by the caller (a
/// `HashMap<String, u64>` and [`crate::ChannelIndex`]) so that millions of rows stay small.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Touch {
    pub user: u64,
    /// Seconds (any epoch; only differences matter).
    pub time: i64,
    /// `None` for a conversion recorded without a channel touch.
    pub channel: Option<ChannelId>,
    /// This row is a conversion: the journey ends here.
    pub conversion: bool,
    /// The conversion's value; ignored on rows that are not conversions.
    pub value: f64,
}

/// How touchpoints become journeys.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PathOptions {
    /// Seconds before the end of a journey within which touches count; `None` keeps all.
    pub lookback: Option<i64>,
}

/// One journey while the touchpoints are walked: its touches inside the lookback window
/// and how it ended. Lets callers use the touch times that aggregated [`Paths`] drop
/// (time-decay by time, path-length statistics).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JourneyView<'a> {
    pub user: u64,
    pub channels: &'a [ChannelId],
    /// Time of each touch in `channels`.
    pub times: &'a [i64],
    /// The conversion's time, or the last touch's for a null journey.
    pub end: i64,
    pub converted: bool,
    /// The conversion's value (0 for a null journey).
    pub value: f64,
}

/// Calls `visit` for every journey of `touches` (any order) under `options`, including
/// converting journeys left with no touch (empty `channels`). Returns the error of the
/// first unusable touch: a channel id not below `channel_count`, a non-finite value on a
/// conversion, a negative lookback.
pub fn for_each_journey(
    touches: &[Touch],
    channel_count: usize,
    options: &PathOptions,
    mut visit: impl FnMut(JourneyView<'_>),
) -> Result<(), AttributionError> {
    if channel_count > MAX_CHANNELS {
        return Err(AttributionError::TooManyChannels {
            count: channel_count,
            max: MAX_CHANNELS,
        });
    }
    if let Some(lookback) = options.lookback
        && lookback < 0
    {
        return Err(AttributionError::Invalid(format!(
            "the lookback window must be ≥ 0 seconds, got {lookback}"
        )));
    }
    if touches.len() > u32::MAX as usize {
        return Err(AttributionError::Invalid(format!(
            "{} touches are more than one call takes ({}); split them by user",
            touches.len(),
            u32::MAX
        )));
    }
    for (index, touch) in touches.iter().enumerate() {
        if let Some(channel) = touch.channel
            && channel as usize >= channel_count
        {
            return Err(AttributionError::Touch {
                index,
                message: format!("channel id {channel} is not one of the {channel_count} channels"),
            });
        }
        if touch.conversion && !touch.value.is_finite() {
            return Err(AttributionError::Touch {
                index,
                message: format!(
                    "the conversion value {} is not a finite number",
                    touch.value
                ),
            });
        }
    }

    let sorted = touches
        .windows(2)
        .all(|w| (w[0].user, w[0].time) <= (w[1].user, w[1].time));
    let order: Vec<u32> = if sorted {
        Vec::new()
    } else {
        let mut keys: Vec<(u64, i64, u32)> = touches
            .iter()
            .enumerate()
            .map(|(i, t)| (t.user, t.time, i as u32))
            .collect();
        // The index makes every key distinct, so the unstable sort keeps input order on ties.
        keys.sort_unstable();
        keys.into_iter().map(|(_, _, i)| i).collect()
    };
    let touch_at = |k: usize| -> &Touch {
        if sorted {
            &touches[k]
        } else {
            &touches[order[k] as usize]
        }
    };

    let mut channels: Vec<ChannelId> = Vec::new();
    let mut times: Vec<i64> = Vec::new();
    let mut emit = |user: u64,
                    channels: &mut Vec<ChannelId>,
                    times: &mut Vec<i64>,
                    end: i64,
                    converted: bool,
                    value: f64| {
        let start = match options.lookback {
            // Times are sorted, so the kept touches are a suffix.
            Some(lookback) => times.partition_point(|&t| end.saturating_sub(t) > lookback),
            None => 0,
        };
        visit(JourneyView {
            user,
            channels: &channels[start..],
            times: &times[start..],
            end,
            converted,
            value,
        });
        channels.clear();
        times.clear();
    };
    for k in 0..touches.len() {
        let touch = touch_at(k);
        if k > 0 {
            let previous = touch_at(k - 1);
            if previous.user != touch.user && !channels.is_empty() {
                let end = *times.last().expect("non-empty");
                emit(previous.user, &mut channels, &mut times, end, false, 0.0);
            }
        }
        if let Some(channel) = touch.channel {
            channels.push(channel);
            times.push(touch.time);
        }
        if touch.conversion {
            emit(
                touch.user,
                &mut channels,
                &mut times,
                touch.time,
                true,
                touch.value,
            );
        }
    }
    if let Some(last) = touches.len().checked_sub(1).map(touch_at)
        && !channels.is_empty()
    {
        let end = *times.last().expect("non-empty");
        emit(last.user, &mut channels, &mut times, end, false, 0.0);
    }
    Ok(())
}

/// Aggregated journeys of `touches` over `channels` (the names of the ids the touches
/// use), cut as the module doc describes; identical paths are merged.
pub fn build_paths(
    touches: &[Touch],
    channels: Vec<String>,
    options: &PathOptions,
) -> Result<Paths, AttributionError> {
    let mut aggregator = Aggregator::default();
    let (mut unattributed_conversions, mut unattributed_value) = (0.0, 0.0);
    for_each_journey(touches, channels.len(), options, |journey| {
        if journey.channels.is_empty() {
            if journey.converted {
                unattributed_conversions += 1.0;
                unattributed_value += journey.value;
            }
        } else if journey.converted {
            aggregator.add(journey.channels, 1.0, journey.value, 0.0);
        } else {
            aggregator.add(journey.channels, 0.0, 0.0, 1.0);
        }
    })?;
    Ok(Paths {
        channels,
        journeys: aggregator.journeys,
        unattributed_conversions,
        unattributed_value,
    })
}

/// Time-decay credit with the half-life in seconds, from the touch times themselves: a
/// touch `d` seconds before the conversion weighs `2^(−d / half_life)`, weights normalised
/// per journey. (On aggregated [`Paths`], which have no times,
/// [`crate::RuleModel::TimeDecay`] decays by position instead.)
pub fn time_decay_by_time(
    touches: &[Touch],
    channels: &[String],
    options: &PathOptions,
    half_life_seconds: f64,
) -> Result<Credits, AttributionError> {
    if !(half_life_seconds.is_finite() && half_life_seconds > 0.0) {
        return Err(AttributionError::Invalid(format!(
            "time decay: the half-life must be > 0 seconds, got {half_life_seconds}"
        )));
    }
    let mut credits = Credits::zero("time_decay", channels);
    let mut weights = Vec::new();
    for_each_journey(touches, channels.len(), options, |journey| {
        if !journey.converted || journey.channels.is_empty() {
            return;
        }
        weights.clear();
        weights.extend(
            journey
                .times
                .iter()
                .map(|&t| (-((journey.end - t) as f64) / half_life_seconds).exp2()),
        );
        let total: f64 = weights.iter().sum();
        for (&channel, w) in journey.channels.iter().zip(&weights) {
            let ChannelCredit {
                conversions, value, ..
            } = &mut credits.channels[channel as usize];
            // Weights under 2^-1074 underflow to 0; the nearest touch always weighs most,
            // so a zero total can only mean all are that far: split evenly then.
            let share = if total > 0.0 {
                w / total
            } else {
                1.0 / weights.len() as f64
            };
            *conversions += share;
            *value += share * journey.value;
        }
    })?;
    Ok(credits)
}
