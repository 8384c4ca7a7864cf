//! A simulated marketing world with known truth.
//!
//! Real data never tells you what each channel truly returned; a simulated world does.
//! [`simulate`] generates contract tables (daily media by channel and campaign, the
//! daily KPI with its controls, lift experiments) from stated parameters, and a
//! [`Truth`] with every parameter and every answer derived exactly from the generating
//! process: each channel's contribution per day, ROAS, marginal ROAS, response curve,
//! and each experiment's true lift. Everything is deterministic for a seed.
//!
//! Pure: [`World::files`] renders the tables, `adroit.toml` and `truth.json` as bytes;
//! the caller writes them.
//!
//! Customers buy by a BG/NBD process with Gamma-Gamma spend (see [`CustomerParams`]).
//!
//! A randomised campaign has heterogeneous effects with each customer's true uplift
//! (see [`UpliftParams`]).
//!
//! User journeys convert by a noisy-OR of per-touch effects, so each channel's true
//! credit (removal effect and Shapley value) is exact (see [`JourneyTruth`]).
//!
//! Reviews and posts in Chinese and English respond to a delivery failure that also
//! dents the KPI; each text's true sentiment and aspects are in truth_texts.csv.

mod archetype;
mod customers;
mod journeys;
mod texts;
mod uplift;

pub use archetype::{ChannelParams, Schedule, archetype};
pub use customers::{CustomerParams, CustomerTruth, Transaction};
pub use journeys::{JourneyTruth, Slump, Touch, TouchParams, conversion_probability, shapley};
pub use texts::{ASPECTS, DeliveryFailure, Text};
pub use uplift::{CampaignRow, UpliftParams};

use chrono::{Datelike, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use serde::{Deserialize, Serialize};

/// What world to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorldSpec {
    pub seed: u64,
    pub weeks: usize,
    pub channels: Vec<String>,
    /// The first day (a Monday keeps weeks aligned).
    pub start: NaiveDate,
    /// Customers in the transactions table (and users in the journeys and campaign).
    pub customers: usize,
    /// Languages of the texts (`zh`, `en`).
    pub langs: Vec<String>,
}

impl Default for WorldSpec {
    fn default() -> Self {
        Self {
            seed: 42,
            weeks: 156,
            channels: ["tv", "search", "social", "display"]
                .map(String::from)
                .to_vec(),
            start: NaiveDate::from_ymd_opt(2023, 1, 2).expect("valid date"),
            customers: 20_000,
            langs: vec!["zh".into(), "en".into()],
        }
    }
}

/// The KPI's non-media parts, recorded in truth.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineParams {
    /// Revenue per day at the start, before anything else.
    pub intercept: f64,
    /// Relative growth per year.
    pub trend_per_year: f64,
    /// Amplitude of the yearly cycle, relative to the intercept (peak in December).
    pub yearly_amplitude: f64,
    /// Relative effect of each weekday, Monday first.
    pub weekday_effects: [f64; 7],
    /// Extra revenue on holidays, relative to the intercept.
    pub holiday_lift: f64,
    /// Revenue lost per currency unit of price above `reference_price`.
    pub price_effect: f64,
    pub reference_price: f64,
    /// Extra revenue on promotion days.
    pub promotion_lift: f64,
    /// Standard deviation of the daily noise.
    pub noise_sd: f64,
}

/// One media row: a date, channel and campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRow {
    pub date: NaiveDate,
    pub channel: String,
    pub campaign: String,
    pub spend: f64,
    pub impressions: f64,
    pub clicks: f64,
    pub conversions: f64,
    /// Platform-reported (attributed) revenue, not the true effect.
    pub revenue: f64,
}

/// One KPI row.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiRow {
    pub date: NaiveDate,
    pub revenue: f64,
    pub price: f64,
    pub promotion: bool,
    pub holiday: bool,
}

/// A lift test as a measurement team would report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub channel: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Spend of the channel in the test window.
    pub spend: f64,
    /// Measured incremental revenue (true lift plus measurement error).
    pub lift: f64,
    pub lift_lower: f64,
    pub lift_upper: f64,
    /// The true incremental revenue caused by the window's spend, carry-over included.
    pub true_lift: f64,
}

/// Derived truth about one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelTruth {
    pub channel: String,
    pub spend: f64,
    /// Revenue the channel caused over the whole period.
    pub contribution: f64,
    /// contribution / spend.
    pub roas: f64,
    /// d contribution / d spend when all of the channel's spend scales together.
    pub marginal_roas: f64,
    /// Share of all media spend and of all media contribution.
    pub share_of_spend: f64,
    pub share_of_effect: f64,
    /// (spend multiplier, total contribution) when the whole spend series is scaled.
    pub response_curve: Vec<(f64, f64)>,
}

/// Everything true about the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub spec: WorldSpec,
    pub baseline: BaselineParams,
    pub channels: Vec<ChannelParams>,
    pub derived: Vec<ChannelTruth>,
    pub experiments: Vec<Experiment>,
    /// The BG/NBD and Gamma-Gamma parameters customers were drawn from; each
    /// customer's own draws are in truth_customers.csv.
    pub customer_params: CustomerParams,
    /// How often each channel touches a user and what one touch adds to the chance to
    /// convert; the organic chance; and each channel's true credit.
    pub journey_params: Vec<TouchParams>,
    pub journey_baseline: f64,
    /// During the delivery failure, journeys ending then convert less organically.
    pub journey_slump: Slump,
    pub journeys: Vec<JourneyTruth>,
    /// The delivery failure: texts complain about delivery and the KPI dips.
    pub delivery_failure: DeliveryFailure,
    /// The campaign's outcome model; each customer's true uplift is in truth_uplift.csv.
    pub uplift_params: UpliftParams,
    /// Mean true individual uplift of the campaign (the true average treatment effect).
    pub true_average_uplift: f64,
    /// Total KPI and its parts over the whole period.
    pub total_revenue: f64,
    pub total_baseline: f64,
    pub total_media_contribution: f64,
}

/// The generated world.
#[derive(Debug, Clone)]
pub struct World {
    pub media: Vec<MediaRow>,
    pub kpi: Vec<KpiRow>,
    pub truth: Truth,
    /// Per day: each channel's true contribution (columns follow `truth.channels`).
    pub contributions: Vec<Vec<f64>>,
    /// Per day: the KPI's non-media parts (trend+seasonality+holiday, price, promotion,
    /// delivery failure, noise).
    pub decomposition: Vec<[f64; 5]>,
    pub customers: Vec<CustomerTruth>,
    pub transactions: Vec<Transaction>,
    pub campaign: Vec<CampaignRow>,
    pub touches: Vec<Touch>,
    pub texts: Vec<Text>,
}

const HOLIDAYS: [(u32, u32); 6] = [(1, 1), (6, 18), (11, 11), (11, 24), (12, 24), (12, 25)];

/// Generates a world. Deterministic for `spec`.
pub fn simulate(spec: &WorldSpec) -> World {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let days: Vec<NaiveDate> = (0..spec.weeks * 7)
        .map(|d| spec.start + chrono::Days::new(d as u64))
        .collect();
    let n = days.len();
    let mut channels: Vec<ChannelParams> = spec
        .channels
        .iter()
        .enumerate()
        .map(|(i, c)| archetype(c, i))
        .collect();

    // Spend per channel and day.
    let mut spend: Vec<Vec<f64>> = Vec::with_capacity(channels.len());
    for (i, ch) in channels.iter_mut().enumerate() {
        let raw: Vec<f64> = (0..ch.campaigns.len())
            .map(|_| rng.random_range(0.5..1.5))
            .collect();
        let total: f64 = raw.iter().sum();
        ch.campaign_shares = raw.iter().map(|r| r / total).collect();
        let noise: LogNormal<f64> = LogNormal::new(0.0, 0.25).expect("valid");
        let phase = rng.random_range(0..8);
        let series: Vec<f64> = (0..n)
            .map(|d| {
                let week = d / 7;
                let active = match ch.schedule {
                    Schedule::AlwaysOn | Schedule::Follows { .. } => 1.0,
                    Schedule::Flighted {
                        on_weeks,
                        off_weeks,
                    } => f64::from(u8::from((week + phase) % (on_weeks + off_weeks) < on_weeks)),
                    Schedule::Sparse {
                        active_weeks_per_quarter,
                    } => f64::from(u8::from(week % 13 < active_weeks_per_quarter)),
                };
                let leader = match ch.schedule {
                    Schedule::Follows {
                        leader_index,
                        strength,
                    } if leader_index < i => {
                        let l = &spend[leader_index];
                        1.0 + strength * f64::from(u8::from(l[d] > 0.0))
                    }
                    _ => 1.0,
                };
                let season = 1.0
                    + 0.2
                        * (2.0 * std::f64::consts::PI * (days[d].ordinal() as f64 - 330.0)
                            / 365.25)
                            .cos();
                let weekday = if days[d].weekday().num_days_from_monday() >= 5 {
                    0.8
                } else {
                    1.05
                };
                round2(active * leader * ch.daily_spend * season * weekday * noise.sample(&mut rng))
            })
            .collect();
        // The channel's spend is exactly the sum of its campaigns' rounded spends, so
        // the media table and the truth describe the same money.
        let series = series
            .into_iter()
            .map(|v| {
                ch.campaign_shares
                    .iter()
                    .map(|share| round2(v * share))
                    .sum()
            })
            .collect();
        spend.push(series);
    }

    // Calibrate each channel's response: saturation scale at its typical active spend,
    // beta so that the channel returns its target ROAS on the simulated spend.
    for (ch, x) in channels.iter_mut().zip(&spend) {
        let active: Vec<f64> = x.iter().copied().filter(|v| *v > 0.0).collect();
        ch.response.scale = active.iter().sum::<f64>() / active.len().max(1) as f64;
        ch.response.beta = 1.0;
        let unit: f64 = ch.response.effect(x).iter().sum();
        let total_spend: f64 = x.iter().sum();
        ch.response.beta = if unit > 0.0 {
            ch.target_roas * total_spend / unit
        } else {
            0.0
        };
    }
    let contributions_by_channel: Vec<Vec<f64>> = channels
        .iter()
        .zip(&spend)
        .map(|(c, x)| c.response.effect(x))
        .collect();

    // Media rows: platform metrics from spend.
    let mut media = Vec::with_capacity(n * channels.len() * 2);
    let jitter: Normal<f64> = Normal::new(1.0, 0.08).expect("valid");
    for d in 0..n {
        for (ch, x) in channels.iter().zip(&spend) {
            let mut left = x[d];
            for (k, (campaign, share)) in ch.campaigns.iter().zip(&ch.campaign_shares).enumerate() {
                // The last campaign takes the remainder, so campaigns add up to the channel.
                let s = if k + 1 == ch.campaigns.len() {
                    round2(left)
                } else {
                    round2(x[d] * share)
                };
                left -= s;
                let impressions = (s / ch.cpm * 1000.0 * jitter.sample(&mut rng).max(0.5)).round();
                let clicks = (impressions * ch.ctr * jitter.sample(&mut rng).max(0.5)).round();
                let conversions = (clicks * ch.cvr * jitter.sample(&mut rng).max(0.5))
                    .round()
                    .min(clicks);
                let revenue = round2(conversions * ch.aov * jitter.sample(&mut rng).max(0.5));
                media.push(MediaRow {
                    date: days[d],
                    channel: ch.name.clone(),
                    campaign: campaign.clone(),
                    spend: s,
                    impressions,
                    clicks,
                    conversions,
                    revenue,
                });
            }
        }
    }

    // The KPI.
    let baseline = BaselineParams {
        intercept: 20_000.0,
        trend_per_year: 0.08,
        yearly_amplitude: 0.12,
        weekday_effects: [0.0, -0.02, -0.02, 0.0, 0.04, 0.08, 0.05],
        holiday_lift: 0.35,
        price_effect: 600.0,
        reference_price: 49.9,
        promotion_lift: 3_000.0,
        noise_sd: 900.0,
    };
    let noise: Normal<f64> = Normal::new(0.0, baseline.noise_sd).expect("valid");
    // Deliveries fail for six weeks starting 40 % into the world.
    let failure_start = days[n * 2 / 5];
    let delivery_failure = DeliveryFailure {
        start: failure_start,
        end: days[(n * 2 / 5 + 41).min(n - 1)],
        negative_share: 0.75,
        kpi_effect: -0.08,
    };
    let mut price = baseline.reference_price;
    let mut kpi = Vec::with_capacity(n);
    let mut decomposition = Vec::with_capacity(n);
    let mut contributions = Vec::with_capacity(n);
    for d in 0..n {
        let date = days[d];
        price = round2((price + rng.random_range(-0.3..0.3)).clamp(44.9, 54.9));
        let promotion = rng.random_bool(0.08);
        let holiday = HOLIDAYS.contains(&(date.month(), date.day()));
        let years = d as f64 / 365.25;
        let yearly = baseline.yearly_amplitude
            * (2.0 * std::f64::consts::PI * (date.ordinal() as f64 - 350.0) / 365.25).cos();
        let base = baseline.intercept
            * (1.0 + baseline.trend_per_year * years)
            * (1.0
                + yearly
                + baseline.weekday_effects[date.weekday().num_days_from_monday() as usize])
            * (1.0 + if holiday { baseline.holiday_lift } else { 0.0 });
        let price_part = -baseline.price_effect * (price - baseline.reference_price);
        let promo_part = if promotion {
            baseline.promotion_lift
        } else {
            0.0
        };
        let failing = date >= delivery_failure.start && date <= delivery_failure.end;
        let failure_part = if failing {
            delivery_failure.kpi_effect * base
        } else {
            0.0
        };
        let eps = noise.sample(&mut rng);
        let media_part: Vec<f64> = contributions_by_channel.iter().map(|c| c[d]).collect();
        let revenue = round2(
            base + price_part + promo_part + failure_part + eps + media_part.iter().sum::<f64>(),
        );
        kpi.push(KpiRow {
            date,
            revenue,
            price,
            promotion,
            holiday,
        });
        decomposition.push([base, price_part, promo_part, failure_part, eps]);
        contributions.push(media_part);
    }

    let experiments = experiments(&channels, &spend, &days, &mut rng);
    // Customers are drawn from their own stream, so changing their number leaves the
    // media and KPI of a seed unchanged.
    let customer_params = CustomerParams::default();
    let acquisition: Vec<(String, f64)> = channels
        .iter()
        .zip(&spend)
        .map(|(c, x)| (c.name.clone(), x.iter().sum()))
        .collect();
    let mut customer_rng = ChaCha8Rng::seed_from_u64(spec.seed);
    customer_rng.set_stream(1);
    let (customers, transactions) = customers::simulate_customers(
        &customer_params,
        spec.customers,
        spec.start,
        n,
        &acquisition,
        &mut customer_rng,
    );
    let uplift_params = UpliftParams::default();
    let mut campaign_rng = ChaCha8Rng::seed_from_u64(spec.seed);
    campaign_rng.set_stream(2);
    let campaign = uplift::simulate_campaign(&uplift_params, spec.customers, &mut campaign_rng);
    let true_average_uplift =
        campaign.iter().map(CampaignRow::true_uplift).sum::<f64>() / campaign.len().max(1) as f64;
    // Journeys: touches in proportion to spend (2.5 per user in all); a touch of a
    // channel with a higher true ROAS adds more to the chance to convert.
    let total: f64 = acquisition.iter().map(|(_, s)| s).sum();
    let journey_params: Vec<TouchParams> = channels
        .iter()
        .zip(&acquisition)
        .map(|(c, (_, s))| TouchParams {
            channel: c.name.clone(),
            campaigns: c.campaigns.clone(),
            touches_per_user: if total > 0.0 { 2.5 * s / total } else { 0.0 },
            effect_per_touch: 0.004 * c.target_roas,
        })
        .collect();
    let journey_baseline = 0.01;
    let langs: Vec<&'static str> = spec
        .langs
        .iter()
        .filter_map(|l| match l.as_str() {
            "zh" => Some("zh"),
            "en" => Some("en"),
            _ => None,
        })
        .collect();
    let mut text_rng = ChaCha8Rng::seed_from_u64(spec.seed);
    text_rng.set_stream(4);
    let texts = if langs.is_empty() {
        Vec::new()
    } else {
        texts::simulate_texts(&days, &delivery_failure, &langs, &mut text_rng)
    };
    let mut journey_rng = ChaCha8Rng::seed_from_u64(spec.seed);
    journey_rng.set_stream(3);
    let journey_slump = Slump {
        start: delivery_failure.start,
        end: delivery_failure.end,
        factor: 0.5,
    };
    let (touches, journeys) = journeys::simulate_journeys(
        &journey_params,
        journey_baseline,
        spec.customers,
        spec.start,
        n,
        &journey_slump,
        &mut journey_rng,
    );
    let derived = derive(&channels, &spend, &contributions_by_channel);
    let total_revenue = kpi.iter().map(|k| k.revenue).sum();
    let total_media_contribution = derived.iter().map(|d| d.contribution).sum();
    let total_baseline = decomposition.iter().map(|p| p[0]).sum();
    World {
        media,
        kpi,
        truth: Truth {
            spec: spec.clone(),
            baseline,
            channels,
            derived,
            experiments,
            customer_params,
            delivery_failure,
            journey_params,
            journey_baseline,
            journey_slump,
            journeys,
            uplift_params,
            true_average_uplift,
            total_revenue,
            total_baseline,
            total_media_contribution,
        },
        contributions,
        decomposition,
        customers,
        transactions,
        campaign,
        touches,
        texts,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Contribution, ROAS, marginal ROAS and response curve of each channel, from the
/// generating process itself.
fn derive(
    channels: &[ChannelParams],
    spend: &[Vec<f64>],
    contributions: &[Vec<f64>],
) -> Vec<ChannelTruth> {
    let total_spend: f64 = spend.iter().flatten().sum();
    let total_effect: f64 = contributions.iter().flatten().sum();
    channels
        .iter()
        .zip(spend.iter().zip(contributions))
        .map(|(ch, (x, c))| {
            let s: f64 = x.iter().sum();
            let contribution: f64 = c.iter().sum();
            let at = |m: f64| -> f64 {
                let scaled: Vec<f64> = x.iter().map(|v| v * m).collect();
                ch.response.effect(&scaled).iter().sum()
            };
            let eps = 1e-4;
            let marginal_roas = if s > 0.0 {
                (at(1.0 + eps) - at(1.0 - eps)) / (2.0 * eps * s)
            } else {
                0.0
            };
            ChannelTruth {
                channel: ch.name.clone(),
                spend: s,
                contribution,
                roas: if s > 0.0 { contribution / s } else { 0.0 },
                marginal_roas,
                share_of_spend: s / total_spend,
                share_of_effect: contribution / total_effect,
                response_curve: (0..=8)
                    .map(|k| k as f64 * 0.25)
                    .map(|m| (m, at(m)))
                    .collect(),
            }
        })
        .collect()
}

/// Two four-week lift tests on always-on channels (or the first channels), measured
/// with 10 % error; the true lift is the effect of the window's spend, carry-over
/// included: contribution with the spend minus contribution with it removed.
fn experiments(
    channels: &[ChannelParams],
    spend: &[Vec<f64>],
    days: &[NaiveDate],
    rng: &mut ChaCha8Rng,
) -> Vec<Experiment> {
    let mut picks: Vec<usize> = (0..channels.len())
        .filter(|&i| {
            matches!(
                channels[i].schedule,
                Schedule::AlwaysOn | Schedule::Follows { .. }
            )
        })
        .take(2)
        .collect();
    if picks.is_empty() {
        picks = (0..channels.len().min(2)).collect();
    }
    let n = days.len();
    picks
        .into_iter()
        .enumerate()
        .filter(|_| n >= 28 * 3)
        .map(|(k, i)| {
            let start = n / 3 + k * n / 4;
            let end = (start + 28).min(n);
            let x = &spend[i];
            let mut without = x.clone();
            without[start..end].iter_mut().for_each(|v| *v = 0.0);
            let response = channels[i].response;
            let true_lift: f64 = response.effect(x).iter().sum::<f64>()
                - response.effect(&without).iter().sum::<f64>();
            let sd = 0.1 * true_lift.abs();
            let lift =
                round2(true_lift + Normal::new(0.0, sd.max(1e-9)).expect("valid").sample(rng));
            Experiment {
                channel: channels[i].name.clone(),
                start: days[start],
                end: days[end - 1],
                spend: round2(x[start..end].iter().sum()),
                lift,
                lift_lower: round2(lift - 1.96 * sd),
                lift_upper: round2(lift + 1.96 * sd),
                true_lift,
            }
        })
        .collect()
}

impl World {
    /// The world as files: contract tables, `adroit.toml`, `truth.json` and the daily
    /// truth (`truth_daily.csv`: each channel's contribution and the baseline parts).
    pub fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("media.csv", self.media_csv()),
            ("kpi.csv", self.kpi_csv()),
            ("experiments.csv", self.experiments_csv()),
            ("transactions.csv", self.transactions_csv()),
            ("touchpoints.csv", self.touchpoints_csv()),
            ("texts.csv", self.texts_csv(false)),
            ("truth_texts.csv", self.texts_csv(true)),
            ("truth_daily.csv", self.truth_csv()),
            ("truth_customers.csv", self.customers_csv()),
            ("campaign_responses.csv", self.campaign_csv(false)),
            ("truth_uplift.csv", self.campaign_csv(true)),
            (
                "truth.json",
                serde_json::to_vec_pretty(&self.truth).expect("truth serialises"),
            ),
            ("adroit.toml", CONFIG.as_bytes().to_vec()),
        ]
    }

    fn media_csv(&self) -> Vec<u8> {
        let mut w = CsvOut::default();
        w.row([
            "date",
            "channel",
            "campaign",
            "spend",
            "impressions",
            "clicks",
            "conversions",
            "revenue",
        ]);
        for r in &self.media {
            w.row([
                r.date.to_string(),
                r.channel.clone(),
                r.campaign.clone(),
                format!("{:.2}", r.spend),
                r.impressions.to_string(),
                r.clicks.to_string(),
                r.conversions.to_string(),
                format!("{:.2}", r.revenue),
            ]);
        }
        w.bytes()
    }

    fn kpi_csv(&self) -> Vec<u8> {
        let mut w = CsvOut::default();
        w.row(["date", "revenue", "price", "promotion", "holiday"]);
        for k in &self.kpi {
            w.row([
                k.date.to_string(),
                format!("{:.2}", k.revenue),
                format!("{:.2}", k.price),
                u8::from(k.promotion).to_string(),
                u8::from(k.holiday).to_string(),
            ]);
        }
        w.bytes()
    }

    fn experiments_csv(&self) -> Vec<u8> {
        let mut w = CsvOut::default();
        w.row([
            "channel",
            "start",
            "end",
            "lift",
            "spend",
            "lift_lower",
            "lift_upper",
        ]);
        for e in &self.truth.experiments {
            w.row([
                e.channel.clone(),
                e.start.to_string(),
                e.end.to_string(),
                format!("{:.2}", e.lift),
                format!("{:.2}", e.spend),
                format!("{:.2}", e.lift_lower),
                format!("{:.2}", e.lift_upper),
            ]);
        }
        w.bytes()
    }

    fn transactions_csv(&self) -> Vec<u8> {
        let mut w = CsvOut::default();
        w.row(["customer_id", "timestamp", "amount", "order_id", "channel"]);
        for t in &self.transactions {
            w.row([
                t.customer_id.clone(),
                t.timestamp.format("%Y-%m-%dT%H:%M:%S").to_string(),
                format!("{:.2}", t.amount),
                t.order_id.clone(),
                t.channel.clone(),
            ]);
        }
        w.bytes()
    }

    /// The texts table, or (`truth`) each text's true sentiment and aspects.
    fn texts_csv(&self, truth: bool) -> Vec<u8> {
        let mut w = CsvOut::default();
        if truth {
            w.row([
                "id",
                "sentiment",
                "score",
                "aspects",
                "negation",
                "contrast",
                "emoji",
                "typo",
                "mixed_language",
            ]);
        } else {
            w.row([
                "id",
                "timestamp",
                "text",
                "lang",
                "source",
                "product",
                "rating",
            ]);
        }
        for t in &self.texts {
            let record = if truth {
                let aspects: Vec<String> = t
                    .aspects
                    .iter()
                    .map(|(a, p)| format!("{a}:{}", if *p > 0 { "+" } else { "-" }))
                    .collect();
                vec![
                    t.id.clone(),
                    t.label.to_string(),
                    format!("{:.4}", t.score),
                    aspects.join(";"),
                    u8::from(t.negation).to_string(),
                    u8::from(t.contrast).to_string(),
                    u8::from(t.emoji).to_string(),
                    u8::from(t.typo).to_string(),
                    u8::from(t.mixed).to_string(),
                ]
            } else {
                vec![
                    t.id.clone(),
                    t.timestamp.format("%Y-%m-%dT%H:%M:%S").to_string(),
                    t.text.clone(),
                    t.lang.to_string(),
                    t.source.to_string(),
                    t.product.to_string(),
                    t.rating.to_string(),
                ]
            };
            w.row(&record);
        }
        w.bytes()
    }

    fn touchpoints_csv(&self) -> Vec<u8> {
        let mut w = CsvOut::default();
        w.row([
            "user_id",
            "timestamp",
            "channel",
            "campaign",
            "conversion",
            "value",
        ]);
        for t in &self.touches {
            w.row([
                t.user_id.clone(),
                t.timestamp.format("%Y-%m-%dT%H:%M:%S").to_string(),
                t.channel.clone(),
                t.campaign.clone(),
                u8::from(t.conversion).to_string(),
                format!("{:.2}", t.value.unwrap_or(0.0)),
            ]);
        }
        w.bytes()
    }

    fn customers_csv(&self) -> Vec<u8> {
        let mut w = CsvOut::default();
        w.row([
            "customer_id",
            "first_purchase",
            "lambda",
            "dropout",
            "nu",
            "alive_at_end",
            "purchases",
            "acquisition_channel",
        ]);
        for c in &self.customers {
            w.row([
                c.id.clone(),
                c.first_purchase.to_string(),
                c.lambda.to_string(),
                c.dropout.to_string(),
                c.nu.to_string(),
                u8::from(c.alive_at_end).to_string(),
                c.purchases.to_string(),
                c.acquisition_channel.clone(),
            ]);
        }
        w.bytes()
    }

    /// The campaign table, or (`truth`) each customer's true purchase chances and uplift.
    fn campaign_csv(&self, truth: bool) -> Vec<u8> {
        let mut w = CsvOut::default();
        if truth {
            w.row(["customer_id", "p_control", "p_treated", "true_uplift"]);
        } else {
            w.row([
                "customer_id",
                "treatment",
                "outcome",
                "age",
                "tenure_years",
                "past_purchases",
                "member",
                "region",
            ]);
        }
        for c in &self.campaign {
            let record = if truth {
                vec![
                    c.customer_id.clone(),
                    c.p_control.to_string(),
                    c.p_treated.to_string(),
                    c.true_uplift().to_string(),
                ]
            } else {
                vec![
                    c.customer_id.clone(),
                    u8::from(c.treatment).to_string(),
                    u8::from(c.outcome).to_string(),
                    c.age.to_string(),
                    c.tenure_years.to_string(),
                    c.past_purchases.to_string(),
                    u8::from(c.member).to_string(),
                    c.region.to_string(),
                ]
            };
            w.row(&record);
        }
        w.bytes()
    }

    fn truth_csv(&self) -> Vec<u8> {
        let mut w = CsvOut::default();
        let mut header = vec![
            "date".to_string(),
            "baseline".into(),
            "price".into(),
            "promotion".into(),
            "delivery_failure".into(),
            "noise".into(),
        ];
        header.extend(self.truth.channels.iter().map(|c| c.name.clone()));
        w.row(&header);
        for (d, k) in self.kpi.iter().enumerate() {
            let mut rec = vec![k.date.to_string()];
            rec.extend(self.decomposition[d].iter().map(|v| v.to_string()));
            rec.extend(self.contributions[d].iter().map(|v| v.to_string()));
            w.row(&rec);
        }
        w.bytes()
    }
}

/// A CSV table built in memory, where writes cannot fail.
#[derive(Default)]
struct CsvOut(Vec<Vec<String>>);

impl CsvOut {
    fn row<I: IntoIterator<Item = T>, T: ToString>(&mut self, record: I) {
        self.0
            .push(record.into_iter().map(|v| v.to_string()).collect());
    }

    fn bytes(self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        for record in self.0 {
            w.write_record(&record)
                .expect("writing to memory cannot fail");
        }
        w.into_inner().expect("writing to memory cannot fail")
    }
}

/// The config that maps the simulated world's files.
const CONFIG: &str = r#"# adroit.toml written by `adroit simulate`: maps the simulated world's tables.
# truth.json holds every generating parameter and true answer; truth_daily.csv the
# true daily decomposition of the KPI.

[project]
name = "simulated world"
currency = "USD"

[media]
path = "media.csv"
campaign = "campaign"
impressions = "impressions"
clicks = "clicks"
conversions = "conversions"
revenue = "revenue"

[kpi]
path = "kpi.csv"
kpi = "revenue"
controls = ["price", "promotion", "holiday"]
types = { promotion = "flag", holiday = "flag" }

[touchpoints]
path = "touchpoints.csv"
campaign = "campaign"
conversion = "conversion"
value = "value"

[texts]
path = "texts.csv"
lang = "lang"
source = "source"
product = "product"
rating = "rating"

[transactions]
path = "transactions.csv"
order_id = "order_id"
channel = "channel"

[campaign_responses]
path = "campaign_responses.csv"
types = { member = "flag", region = "text" }

[experiments]
path = "experiments.csv"
lift_lower = "lift_lower"
lift_upper = "lift_upper"

# The bias audit of the campaign's targeting list (`adroit run`'s fairness stage).
[fairness]
sensitive = ["region", "member"]
min_disparate_impact = 0.8
"#;
