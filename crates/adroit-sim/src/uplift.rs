//! A randomised campaign whose effect differs by customer: the ground truth for uplift
//! models and targeting.
//!
//! Half the customers, at random, get the campaign. Each customer's chance to buy is
//! `σ(base(x))` without it and `σ(base(x) + effect(x))` with it, so every customer has a
//! true individual uplift `σ(base + effect) − σ(base)`: large for young members, about
//! zero for most, and negative ("sleeping dogs") for long-tenured customers who dislike
//! being contacted.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The coefficients of the campaign's outcome model, recorded in truth.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpliftParams {
    pub treated_share: f64,
    /// Logit of buying without the campaign: intercept and per-feature slopes.
    pub base_intercept: f64,
    pub base_per_past_purchase: f64,
    pub base_member: f64,
    pub base_per_decade_of_age: f64,
    /// Logit shift of the campaign: intercept, for members under 35, per year of tenure.
    pub effect_intercept: f64,
    pub effect_young_member: f64,
    pub effect_per_tenure_year: f64,
}

impl Default for UpliftParams {
    fn default() -> Self {
        Self {
            treated_share: 0.5,
            base_intercept: -2.2,
            base_per_past_purchase: 0.15,
            base_member: 0.4,
            base_per_decade_of_age: 0.05,
            effect_intercept: 0.35,
            effect_young_member: 0.9,
            effect_per_tenure_year: -0.25,
        }
    }
}

/// One customer of the campaign, with the truth beside the observed outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignRow {
    pub customer_id: String,
    pub age: u32,
    pub tenure_years: f64,
    pub past_purchases: u32,
    pub member: bool,
    pub region: &'static str,
    pub treatment: bool,
    pub outcome: bool,
    pub p_control: f64,
    pub p_treated: f64,
}

impl CampaignRow {
    pub fn true_uplift(&self) -> f64 {
        self.p_treated - self.p_control
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

const REGIONS: [&str; 5] = ["north", "south", "east", "west", "华东"];

/// `count` customers, features drawn independently of treatment.
pub fn simulate_campaign(
    params: &UpliftParams,
    count: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<CampaignRow> {
    (0..count)
        .map(|k| {
            let age = rng.random_range(18..76);
            let tenure_years = (rng.random_range(0.0..8.0f64) * 10.0).round() / 10.0;
            let past_purchases = rng.random_range(0..12);
            let member = rng.random_bool(0.35);
            let region = REGIONS[rng.random_range(0..REGIONS.len())];
            let base = params.base_intercept
                + params.base_per_past_purchase * past_purchases as f64
                + if member { params.base_member } else { 0.0 }
                + params.base_per_decade_of_age * age as f64 / 10.0;
            let effect = params.effect_intercept
                + if member && age < 35 {
                    params.effect_young_member
                } else {
                    0.0
                }
                + params.effect_per_tenure_year * tenure_years;
            let p_control = sigmoid(base);
            let p_treated = sigmoid(base + effect);
            let treatment = rng.random_bool(params.treated_share);
            let outcome = rng.random_bool(if treatment { p_treated } else { p_control });
            CampaignRow {
                customer_id: format!("C{:06}", k + 1),
                age,
                tenure_years,
                past_purchases,
                member,
                region,
                treatment,
                outcome,
                p_control,
                p_treated,
            }
        })
        .collect()
}
