//! Channel archetypes: how a channel's spend is scheduled and how it works.
//!
//! Known names get the behaviour marketers expect of them (TV flighted with a delayed,
//! S-shaped response; search always on and pulled up by TV; display dark for long
//! stretches); other names cycle through the archetypes.

use adroit_effects::{Adstock, Response, Saturation};
use serde::{Deserialize, Serialize};

/// When a channel spends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    /// Every day.
    AlwaysOn,
    /// Bursts: on for `on_weeks`, off for `off_weeks`, repeating.
    Flighted { on_weeks: usize, off_weeks: usize },
    /// Long dark stretches: on only in the given fraction of 13-week quarters' first weeks.
    Sparse { active_weeks_per_quarter: usize },
    /// Always on, and spend rises with the named channel's (correlated budgets).
    Follows { leader_index: usize, strength: f64 },
}

/// Everything the simulator needs to know about one channel, all recorded in truth.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelParams {
    pub name: String,
    pub campaigns: Vec<String>,
    /// Share of the channel's daily spend per campaign (sums to 1).
    pub campaign_shares: Vec<f64>,
    pub schedule: Schedule,
    /// Mean daily spend on active days, before seasonality and noise.
    pub daily_spend: f64,
    /// Cost per thousand impressions.
    pub cpm: f64,
    /// Click-through rate (0 for channels without clicks, like TV).
    pub ctr: f64,
    /// Platform-reported conversion rate of clicks.
    pub cvr: f64,
    /// Platform-reported average order value.
    pub aov: f64,
    /// The true response of the KPI to this channel's spend.
    pub response: Response,
    /// The ROAS the response's `beta` was calibrated to over the simulated spend.
    pub target_roas: f64,
}

/// The archetype of a channel by name (or by position for unknown names).
pub fn archetype(name: &str, index: usize) -> ChannelParams {
    let known = [
        "tv", "search", "social", "display", "video", "email", "ooh", "radio",
    ];
    let kind = known
        .iter()
        .position(|k| *k == name)
        .unwrap_or(index % known.len());
    let geometric = |alpha, l_max| Adstock::Geometric {
        alpha,
        l_max,
        normalize: true,
    };
    let (schedule, daily_spend, cpm, ctr, cvr, aov, adstock, saturation, roas, campaigns) =
        match kind {
            0 => (
                Schedule::Flighted {
                    on_weeks: 4,
                    off_weeks: 4,
                },
                9000.0,
                12.0,
                0.0,
                0.0,
                0.0,
                Adstock::Weibull {
                    shape: 2.0,
                    scale: 6.0,
                    l_max: 28,
                },
                Saturation::Hill {
                    half: 1.1,
                    slope: 2.0,
                },
                1.6,
                vec!["brand_tv", "promo_tv"],
            ),
            1 => (
                Schedule::Follows {
                    leader_index: 0,
                    strength: 0.5,
                },
                4000.0,
                25.0,
                0.045,
                0.06,
                70.0,
                geometric(0.2, 7),
                Saturation::Hill {
                    half: 0.9,
                    slope: 1.0,
                },
                3.2,
                vec!["brand", "generic"],
            ),
            2 => (
                Schedule::AlwaysOn,
                3000.0,
                7.0,
                0.012,
                0.03,
                55.0,
                geometric(0.5, 14),
                Saturation::Logistic { lambda: 1.5 },
                2.1,
                vec!["prospecting", "retargeting"],
            ),
            3 => (
                Schedule::Sparse {
                    active_weeks_per_quarter: 3,
                },
                2500.0,
                3.0,
                0.003,
                0.02,
                60.0,
                geometric(0.3, 10),
                Saturation::Hill {
                    half: 1.0,
                    slope: 1.0,
                },
                0.8,
                vec!["awareness"],
            ),
            4 => (
                Schedule::Flighted {
                    on_weeks: 6,
                    off_weeks: 2,
                },
                2000.0,
                9.0,
                0.008,
                0.02,
                60.0,
                Adstock::Weibull {
                    shape: 1.5,
                    scale: 4.0,
                    l_max: 21,
                },
                Saturation::Hill {
                    half: 1.2,
                    slope: 1.5,
                },
                1.4,
                vec!["preroll"],
            ),
            5 => (
                Schedule::AlwaysOn,
                300.0,
                1.0,
                0.03,
                0.05,
                50.0,
                geometric(0.1, 5),
                Saturation::Hill {
                    half: 0.8,
                    slope: 1.0,
                },
                6.0,
                vec!["newsletter"],
            ),
            6 => (
                Schedule::Flighted {
                    on_weeks: 3,
                    off_weeks: 10,
                },
                5000.0,
                5.0,
                0.0,
                0.0,
                0.0,
                geometric(0.6, 21),
                Saturation::Hill {
                    half: 1.0,
                    slope: 1.8,
                },
                1.1,
                vec!["billboards"],
            ),
            _ => (
                Schedule::AlwaysOn,
                1200.0,
                4.0,
                0.0,
                0.0,
                0.0,
                geometric(0.4, 10),
                Saturation::Logistic { lambda: 1.0 },
                1.3,
                vec!["spots"],
            ),
        };
    ChannelParams {
        name: name.to_string(),
        campaign_shares: even_shares(campaigns.len()),
        campaigns: campaigns.iter().map(|c| c.to_string()).collect(),
        schedule,
        daily_spend,
        cpm,
        ctr,
        cvr,
        aov,
        // scale and beta are set once the spend exists (see `calibrate`).
        response: Response {
            adstock,
            saturation,
            scale: daily_spend,
            beta: 0.0,
        },
        target_roas: roas,
    }
}

fn even_shares(n: usize) -> Vec<f64> {
    vec![1.0 / n as f64; n]
}
