//! The simulated world (`adroit-sim`), whose true response per channel is known, fitted
//! with Robyn's budget (2000 candidates × 5 trials) on several world seeds. The issue's
//! bar: ROAS within 20 % of the truth for every channel carrying at least 10 % of the
//! spend, on every seed. The table is printed (`cargo test -- --nocapture`), with
//! whether each 90 % interval covers the truth (reported, not asserted).
//!
//! How the world is modelled, and why:
//!
//! - **Lift tests.** Search and social spend every day: their spend never goes near
//!   zero, so the KPI shows the slope of their response at the spend they run at
//!   (marginal ROAS, which the fits without lift tests recover within about 10 %) but
//!   not how much of the baseline they carry (ROAS, an extrapolation to zero spend).
//!   Without experiments, daily fits miss the bar on 10 of 10 seeds (search 20–54 % low
//!   on 9 of them) and weekly fits on all three seeds here, whose weekly intervals span
//!   ±50–100 %. The world ships two four-week lift tests, of search and social (the
//!   always-on channels); an analyst calibrates the model with them, as Robyn advises.
//!   They are used as measured (the true lift plus the simulator's 10 % measurement
//!   error), never the true lift. The calibrated ROAS then follows a lift test's
//!   measurement error almost one for one: on seeds 1–10, 7 pass; the other 3 are the
//!   seeds whose search or social test is 14–25 % off.
//! - **Daily periods.** The world is daily, and so is the model. Weekly sums hide on
//!   which days of a week TV's money went; with TV's delayed daily carry-over (a
//!   Weibull peak after about four days) that decides how much of a week's effect lands
//!   in the next week, and no weekly adstock reproduces it: the best weekly TV response
//!   misses the true weekly TV effect by about 3,300 a week (standard deviation), more
//!   than the KPI's own weekly noise (about 2,400), in the weeks where search's spend
//!   steps up or down with TV's flights. With the lift tests, weekly fits pass on 5
//!   of seeds 1–10 and daily ones on 7. The weekly fit without lift tests (the issue's
//!   first design) is printed for reference, not asserted.

use adroit_effects::{Adstock, Saturation};
use adroit_mmm::spec::LiftTest;
use adroit_mmm::{
    AdstockKind, ChannelSpec, FitSettings, MmmData, MmmResult, ModelSpec, SaturationKind,
};
use adroit_sim::{ChannelParams, World, WorldSpec, simulate};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

/// Chosen before any fit was run; not to be changed to make the test pass.
const SEEDS: [u64; 3] = [42, 7, 2024];
const TOLERANCE: f64 = 0.20;
const MIN_SHARE: f64 = 0.10;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
}

/// The world for a seed. Customers, journeys and texts come from their own random
/// streams, so fewer customers and no texts leave the media, KPI and lift tests of a
/// seed unchanged and only make the simulation cheaper.
fn world(seed: u64) -> World {
    simulate(&WorldSpec {
        seed,
        customers: 500,
        langs: Vec::new(),
        ..WorldSpec::default()
    })
}

/// The channels as an analyst would specify them. The adstock and saturation
/// families are read from the truth: this test measures how well the engine
/// estimates ROAS, not whether it discovers the families (a model-selection question
/// of its own). `l_max` is the longest carry-over in periods; search ranges are the
/// defaults (for the daily model [`truth_in_default_ranges`] checks they contain the
/// true parameters).
fn channel_spec(p: &ChannelParams, l_max: usize) -> ChannelSpec {
    let adstock = match p.response.adstock {
        Adstock::Geometric { .. } => AdstockKind::Geometric,
        Adstock::RobynGeometric { .. } => AdstockKind::RobynGeometric,
        Adstock::Weibull { .. } => AdstockKind::WeibullPdf,
        Adstock::WeibullCdf { .. } => AdstockKind::WeibullCdf,
        Adstock::Delayed { .. } => AdstockKind::Delayed,
    };
    let saturation = match p.response.saturation {
        Saturation::Hill { .. } => SaturationKind::Hill,
        Saturation::Logistic { .. } => SaturationKind::Logistic,
        Saturation::MichaelisMenten { .. } => SaturationKind::MichaelisMenten,
    };
    ChannelSpec {
        adstock,
        saturation,
        l_max: l_max.max(1),
        ..ChannelSpec::new(&p.name)
    }
}

/// Spend per channel (in `truth.channels` order) and day, from the media table.
fn daily_spend(world: &World) -> Vec<Vec<f64>> {
    let start = world.kpi[0].date;
    let mut spend = vec![vec![0.0; world.kpi.len()]; world.truth.channels.len()];
    for m in &world.media {
        let j = world
            .truth
            .channels
            .iter()
            .position(|c| c.name == m.channel)
            .unwrap();
        spend[j][(m.date - start).num_days() as usize] += m.spend;
    }
    spend
}

/// The world's lift tests as the measurement team reported them, with the periods
/// (indices into the table) their first and last day fall in.
fn lift_tests(world: &World, period_of: impl Fn(NaiveDate) -> usize) -> Vec<LiftTest> {
    world
        .truth
        .experiments
        .iter()
        .map(|e| LiftTest {
            channel: e.channel.clone(),
            first: period_of(e.start),
            last: period_of(e.end),
            label: format!("{} {}–{}", e.channel, e.start, e.end),
            lift: e.lift,
            lower: Some(e.lift_lower),
            upper: Some(e.lift_upper),
        })
        .collect()
}

const WEEKDAYS: [&str; 6] = ["tue", "wed", "thu", "fri", "sat", "sun"];

/// The model the test asserts: one period per day. Price is a control; promotion
/// days, holidays and the days of the delivery failure are events (an analyst knows
/// of an outage that dented sales for six weeks: the operations team reported it);
/// six weekday dummies (Monday is the reference) take the day-of-week pattern of
/// sales. Carry-over windows are the true ones. Calibrated with the lift tests.
fn daily(world: &World) -> (MmmData, ModelSpec) {
    let failure = &world.truth.delivery_failure;
    let flag = |b: bool| f64::from(u8::from(b));
    let mut events = vec![Vec::with_capacity(world.kpi.len()); 3 + WEEKDAYS.len()];
    for k in &world.kpi {
        events[0].push(flag(k.promotion));
        events[1].push(flag(k.holiday));
        events[2].push(flag(k.date >= failure.start && k.date <= failure.end));
        let weekday = k.date.weekday().num_days_from_monday() as usize;
        for (d, col) in events[3..].iter_mut().enumerate() {
            col.push(flag(weekday == d + 1));
        }
    }
    let data = MmmData {
        days: world
            .kpi
            .iter()
            .map(|k| (k.date - epoch()).num_days() as i32)
            .collect(),
        kpi: world.kpi.iter().map(|k| k.revenue).collect(),
        spend: daily_spend(world),
        controls: vec![world.kpi.iter().map(|k| k.price).collect()],
        events,
    };
    let start = world.kpi[0].date;
    let spec = ModelSpec {
        controls: vec!["price".into()],
        events: ["promotion", "holiday", "delivery_failure"]
            .into_iter()
            .chain(WEEKDAYS)
            .map(String::from)
            .collect(),
        calibration: lift_tests(world, |d| (d - start).num_days() as usize),
        ..ModelSpec::new(
            world
                .truth
                .channels
                .iter()
                .map(|p| channel_spec(p, p.response.adstock.lags().min(28)))
                .collect(),
        )
    };
    (data, spec)
}

/// Weekly lags a daily carry-over of `l_max_days` reaches: spend on the last day of a
/// week still works `l_max_days − 1` days later.
fn weekly_lags(l_max_days: usize) -> usize {
    (l_max_days + 5) / 7 + 1
}

/// The first design, for reference: the world as Monday weeks (spend and
/// revenue summed; the week's mean price, and its numbers of promotion days, holidays
/// and delivery-failure days as controls; partial weeks at either end dropped),
/// carry-over windows converted to weeks, no lift tests.
fn weekly(world: &World) -> (MmmData, ModelSpec) {
    let failure = &world.truth.delivery_failure;
    let spend = daily_spend(world);
    let monday =
        |d: NaiveDate| d - chrono::Days::new(u64::from(d.weekday().num_days_from_monday()));
    // Per week: days seen, revenue, spend per channel, controls (price summed).
    let mut weeks: BTreeMap<NaiveDate, (usize, f64, Vec<f64>, [f64; 4])> = BTreeMap::new();
    for (d, k) in world.kpi.iter().enumerate() {
        let w = weeks
            .entry(monday(k.date))
            .or_insert_with(|| (0, 0.0, vec![0.0; spend.len()], [0.0; 4]));
        w.0 += 1;
        w.1 += k.revenue;
        for (s, col) in w.2.iter_mut().zip(&spend) {
            *s += col[d];
        }
        let failing = k.date >= failure.start && k.date <= failure.end;
        for (c, v) in w.3.iter_mut().zip([
            k.price,
            f64::from(u8::from(k.promotion)),
            f64::from(u8::from(k.holiday)),
            f64::from(u8::from(failing)),
        ]) {
            *c += v;
        }
    }
    let mut data = MmmData {
        days: Vec::new(),
        kpi: Vec::new(),
        spend: vec![Vec::new(); spend.len()],
        controls: vec![Vec::new(); 4],
        events: Vec::new(),
    };
    for (start, (days, revenue, s, mut controls)) in weeks {
        if days < 7 {
            continue;
        }
        data.days.push((start - epoch()).num_days() as i32);
        data.kpi.push(revenue);
        for (col, v) in data.spend.iter_mut().zip(s) {
            col.push(v);
        }
        controls[0] /= 7.0;
        for (col, v) in data.controls.iter_mut().zip(controls) {
            col.push(v);
        }
    }
    let spec = ModelSpec {
        controls: [
            "price",
            "promotion_days",
            "holiday_days",
            "delivery_failure_days",
        ]
        .map(String::from)
        .to_vec(),
        ..ModelSpec::new(
            world
                .truth
                .channels
                .iter()
                .map(|p| channel_spec(p, weekly_lags(p.response.adstock.lags().min(28))))
                .collect(),
        )
    };
    (data, spec)
}

/// The true parameters of each channel in the daily model's terms (its saturation
/// acts on adstock ÷ the channel's largest daily spend, the truth's on adstock ÷ its
/// typical active-day spend), checked against the default search ranges: the search
/// can reach the truth.
fn truth_in_default_ranges(world: &World, data: &MmmData, spec: &ModelSpec) {
    for ((p, c), spend) in world
        .truth
        .channels
        .iter()
        .zip(&spec.channels)
        .zip(&data.spend)
    {
        let r = p.response;
        let k = r.scale / spend.iter().cloned().fold(0.0, f64::max);
        let mut truth = match r.adstock {
            Adstock::Geometric { alpha, .. } => vec![alpha],
            Adstock::RobynGeometric { theta } => vec![theta],
            Adstock::Weibull { shape, scale, .. } | Adstock::WeibullCdf { shape, scale, .. } => {
                vec![shape, scale]
            }
            Adstock::Delayed { alpha, theta, .. } => vec![alpha, theta],
        };
        truth.extend(match r.saturation {
            Saturation::Hill { half, slope } => vec![half * k, slope],
            Saturation::Logistic { lambda } => vec![lambda / k],
            Saturation::MichaelisMenten { half } => vec![half * k],
        });
        for (range, v) in c.ranges().iter().zip(truth) {
            assert!(
                range.lower <= v && v <= range.upper,
                "{}: true value {v} outside the default range [{}, {}]",
                range.name,
                range.lower,
                range.upper
            );
        }
    }
}

/// One printed row per channel into `out`; the checked channels' name, ROAS and
/// relative error.
fn rows(
    seed: u64,
    world: &World,
    result: &MmmResult,
    out: &mut Vec<String>,
) -> Vec<(String, f64, f64)> {
    let mut errors = Vec::new();
    for (c, truth) in result.channels.iter().zip(&world.truth.derived) {
        assert_eq!(c.name, truth.channel);
        let error = (c.roas.value - truth.roas) / truth.roas;
        let covered = c.roas.lower <= truth.roas && truth.roas <= c.roas.upper;
        let checked = truth.share_of_spend >= MIN_SHARE;
        out.push(format!(
            "{seed:>5}  {:<8} {:>5.1} %  {:>5.2}  {:>5.2}  [{:>5.2}, {:>5.2}]  {:>+6.1} %  {:<4}  {:>5.2}  {:>5.2}  {}",
            c.name,
            truth.share_of_spend * 100.0,
            truth.roas,
            c.roas.value,
            c.roas.lower,
            c.roas.upper,
            error * 100.0,
            if covered { "yes" } else { "no" },
            truth.marginal_roas,
            c.mroas.value,
            if checked { "" } else { "(under 10 % of spend)" },
        ));
        if checked {
            errors.push((c.name.clone(), c.roas.value, error));
        }
    }
    errors
}

fn print(title: &str, rows: &[String]) {
    eprintln!("\n{title}");
    eprintln!(
        " seed  channel   share   true   est.   90 % interval      error  covers true m  est. m"
    );
    for r in rows {
        eprintln!("{r}");
    }
}

#[test]
fn roas_within_20_percent_of_truth_for_channels_with_a_tenth_of_spend() {
    let settings = FitSettings::default();
    let mut failures = Vec::new();
    let (mut asserted, mut weekly_rows) = (Vec::new(), Vec::new());
    for seed in SEEDS {
        let world = world(seed);
        let lifts: Vec<String> = world
            .truth
            .experiments
            .iter()
            .map(|e| {
                format!(
                    "{} measured {:.0} vs true {:.0} ({:+.1} %)",
                    e.channel,
                    e.lift,
                    e.true_lift,
                    (e.lift / e.true_lift - 1.0) * 100.0
                )
            })
            .collect();
        eprintln!("seed {seed}: lift tests {}", lifts.join("; "));

        let (data, spec) = daily(&world);
        truth_in_default_ranges(&world, &data, &spec);
        let result = adroit_mmm::fit(&data, &spec, &settings, |_, _| {}).unwrap();
        eprintln!(
            "  daily with lift tests: R² {:.3}; {}",
            result.diagnostics.train.r2, result.search.reason
        );
        for (name, roas, error) in rows(seed, &world, &result, &mut asserted) {
            if error.abs() > TOLERANCE {
                failures.push(format!(
                    "seed {seed} {name}: ROAS {roas:.2}, {:+.1} % from the truth",
                    error * 100.0
                ));
            }
        }

        // For reference: the first design.
        let (data, spec) = weekly(&world);
        let result = adroit_mmm::fit(&data, &spec, &settings, |_, _| {}).unwrap();
        rows(seed, &world, &result, &mut weekly_rows);
    }
    print(
        "Daily, calibrated with the lift tests (asserted: |error| ≤ 20 % for channels with ≥ 10 % of spend):",
        &asserted,
    );
    print(
        "For reference, weekly without lift tests (not asserted):",
        &weekly_rows,
    );
    assert!(
        failures.is_empty(),
        "ROAS more than 20 % from the truth:\n{}",
        failures.join("\n")
    );
}
