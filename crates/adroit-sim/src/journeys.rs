//! User journeys with a defined true answer for attribution.
//!
//! Each user is touched by channels over a 30-day window; the chance to convert is a
//! noisy-OR of an organic baseline and an incremental effect per touch:
//! `P(convert) = 1 − (1 − p0) · Π_c (1 − e_c)^{n_c}`. The true credit of a channel is
//! then exact and recorded two ways, summed over users: the expected conversions lost
//! if its touches were removed (what Markov removal effects estimate), and its exact
//! Shapley value over the channels that touched the user (which add up to the
//! conversions above the organic baseline).

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, Poisson};
use serde::{Deserialize, Serialize};

/// Journey parameters of one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TouchParams {
    pub channel: String,
    pub campaigns: Vec<String>,
    /// Mean touches per user in the window.
    pub touches_per_user: f64,
    /// Incremental conversion probability of one touch (noisy-OR).
    pub effect_per_touch: f64,
}

/// The true credit of a channel over all users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyTruth {
    pub channel: String,
    pub touches: u64,
    /// Σ_users P(convert) − P(convert without this channel's touches).
    pub removal_conversions: f64,
    /// Σ_users the channel's exact Shapley value of P(convert).
    pub shapley_conversions: f64,
}

/// A period when journeys convert less: the organic chance is multiplied by `factor`
/// for journeys whose last touch falls in it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Slump {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub factor: f64,
}

impl Slump {
    /// The organic conversion chance of a journey ending on `day`.
    pub fn organic(&self, p0: f64, day: NaiveDate) -> f64 {
        if day >= self.start && day <= self.end {
            p0 * self.factor
        } else {
            p0
        }
    }
}

/// One touchpoint row.
#[derive(Debug, Clone, PartialEq)]
pub struct Touch {
    pub user_id: String,
    pub timestamp: chrono::NaiveDateTime,
    pub channel: String,
    pub campaign: String,
    /// Set on the last touch of a converting journey.
    pub conversion: bool,
    pub value: Option<f64>,
}

/// P(convert) for touch counts `n` (per channel) under the noisy-OR model.
pub fn conversion_probability(p0: f64, effects: &[f64], n: &[u32]) -> f64 {
    let stay: f64 = effects
        .iter()
        .zip(n)
        .map(|(e, k)| (1.0 - e).powi(*k as i32))
        .product();
    1.0 - (1.0 - p0) * stay
}

/// Exact Shapley values of P(convert) among the channels with touches (others get 0).
pub fn shapley(p0: f64, effects: &[f64], n: &[u32]) -> Vec<f64> {
    let players: Vec<usize> = (0..n.len()).filter(|&c| n[c] > 0).collect();
    let m = players.len();
    let mut values = vec![0.0; n.len()];
    let value_of = |mask: usize| -> f64 {
        let counts: Vec<u32> = (0..n.len())
            .map(|c| {
                players
                    .iter()
                    .position(|p| *p == c)
                    .map_or(0, |k| if mask >> k & 1 == 1 { n[c] } else { 0 })
            })
            .collect();
        conversion_probability(p0, effects, &counts)
    };
    let factorial = |k: usize| -> f64 { (1..=k).map(|v| v as f64).product() };
    for (k, &c) in players.iter().enumerate() {
        for mask in 0..(1usize << m) {
            if mask >> k & 1 == 1 {
                continue;
            }
            let size = mask.count_ones() as usize;
            let weight = factorial(size) * factorial(m - size - 1) / factorial(m);
            values[c] += weight * (value_of(mask | 1 << k) - value_of(mask));
        }
    }
    values
}

/// Simulates `users` journeys inside the world's dates.
pub fn simulate_journeys(
    params: &[TouchParams],
    p0: f64,
    users: usize,
    start: NaiveDate,
    days: usize,
    slump: &Slump,
    rng: &mut ChaCha8Rng,
) -> (Vec<Touch>, Vec<JourneyTruth>) {
    let effects: Vec<f64> = params.iter().map(|p| p.effect_per_touch).collect();
    let value_dist = Gamma::new(4.0, 15.0).expect("valid");
    let window_days = 30.min(days);
    let mut truth: Vec<JourneyTruth> = params
        .iter()
        .map(|p| JourneyTruth {
            channel: p.channel.clone(),
            touches: 0,
            removal_conversions: 0.0,
            shapley_conversions: 0.0,
        })
        .collect();
    let mut touches = Vec::new();
    for u in 0..users {
        let user_id = format!("U{:06}", u + 1);
        let first_day = rng.random_range(0..=(days - window_days));
        let n: Vec<u32> = params
            .iter()
            .map(|p| {
                if p.touches_per_user > 0.0 {
                    Poisson::new(p.touches_per_user)
                        .expect("positive")
                        .sample(rng) as u32
                } else {
                    0
                }
            })
            .collect();
        if n.iter().all(|k| *k == 0) {
            continue; // never touched: not in the touchpoints table
        }
        let mut journey: Vec<Touch> = Vec::new();
        for (c, p) in params.iter().enumerate() {
            for _ in 0..n[c] {
                let seconds = rng.random_range(0..window_days as i64 * 86_400);
                journey.push(Touch {
                    user_id: user_id.clone(),
                    timestamp: (start + chrono::Days::new(first_day as u64))
                        .and_hms_opt(0, 0, 0)
                        .expect("midnight")
                        + chrono::Duration::seconds(seconds),
                    channel: p.channel.clone(),
                    campaign: p.campaigns[rng.random_range(0..p.campaigns.len())].clone(),
                    conversion: false,
                    value: None,
                });
            }
        }
        journey.sort_by(|a, b| {
            a.timestamp
                .cmp(&b.timestamp)
                .then(a.channel.cmp(&b.channel))
        });
        // Journeys that end during a slump (the delivery failure) convert less organically.
        let last_day = journey.last().expect("at least one touch").timestamp.date();
        let p0_user = slump.organic(p0, last_day);
        let p_all = conversion_probability(p0_user, &effects, &n);
        for (c, t) in truth.iter_mut().enumerate() {
            t.touches += u64::from(n[c]);
            if n[c] > 0 {
                let mut without = n.clone();
                without[c] = 0;
                t.removal_conversions +=
                    p_all - conversion_probability(p0_user, &effects, &without);
            }
        }
        for (t, v) in truth.iter_mut().zip(shapley(p0_user, &effects, &n)) {
            t.shapley_conversions += v;
        }
        if rng.random_bool(p_all) {
            let last = journey.last_mut().expect("at least one touch");
            last.conversion = true;
            last.value = Some((value_dist.sample(rng) * 100.0_f64).round() / 100.0);
        }
        touches.extend(journey);
    }
    touches.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then(a.user_id.cmp(&b.user_id))
    });
    (touches, truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapley_values_add_up_to_the_lift_over_baseline() {
        let effects = [0.05, 0.02, 0.1];
        let n = [2, 0, 1];
        let v = shapley(0.01, &effects, &n);
        let total = conversion_probability(0.01, &effects, &n) - 0.01;
        assert!((v.iter().sum::<f64>() - total).abs() < 1e-15);
        assert_eq!(v[1], 0.0);
        // Symmetric players get equal credit.
        let v = shapley(0.0, &[0.1, 0.1], &[1, 1]);
        assert!((v[0] - v[1]).abs() < 1e-15);
    }
}
