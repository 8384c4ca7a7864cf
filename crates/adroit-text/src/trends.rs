//! Trends: what customers write, as time series on the calendar of the media and KPI
//! tables, so text can sit beside spend and sales in one panel (and in the models).
//!
//! [`aggregate`] turns one [`Observation`] per document into one row per period and
//! group: volume, sentiment, positive and negative shares, per-aspect mentions and
//! sentiment, per-topic volume. Every row has the same columns (the aspects and topics
//! are given, not discovered from the data), and periods with no documents between a
//! group's first and last are filled with volume 0 and missing sentiment, so the
//! series is regular and joins on date without gaps. Weeks are ISO weeks (Monday
//! first) and a period is labelled by its first day, as everywhere in adroit.
//!
//! [`shifts`] flags periods whose value departs from the trailing window by a robust
//! z-score, the early warning that "negative delivery mentions tripled this week".

use crate::sentiment::{Label, NEUTRAL_BAND};
use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What the text layer said about one document, with its date and group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub date: NaiveDate,
    /// Channel, product, region … whatever the rows are split by; `None` for one series.
    #[serde(default)]
    pub group: Option<String>,
    /// Document sentiment in [-1, 1].
    pub score: f64,
    pub label: Label,
    /// Aspects mentioned and the sentiment of each mention.
    #[serde(default)]
    pub aspects: Vec<(String, f64)>,
    #[serde(default)]
    pub topic: Option<usize>,
}

/// The calendar grain of the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    pub fn name(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }

    /// The first day of the period containing `date` (Monday for weeks).
    pub fn period(self, date: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => date,
            Grain::Week => date - Days::new(date.weekday().num_days_from_monday() as u64),
            Grain::Month => date.with_day(1).unwrap_or(date),
        }
    }

    /// The first day of the period after the one starting on `period`; `None` past the
    /// end of the calendar.
    pub fn next(self, period: NaiveDate) -> Option<NaiveDate> {
        match self {
            Grain::Day => period.checked_add_days(Days::new(1)),
            Grain::Week => period.checked_add_days(Days::new(7)),
            Grain::Month => period.checked_add_months(Months::new(1)),
        }
    }
}

/// Settings of [`aggregate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendOptions {
    pub grain: Grain,
    /// Aspects to emit columns for, in this order; mentions of other aspects are ignored.
    pub aspects: Vec<String>,
    /// Topics to emit volume columns for (0..topics); other topic numbers are ignored.
    pub topics: usize,
}

impl Default for TrendOptions {
    fn default() -> Self {
        TrendOptions {
            grain: Grain::Week,
            aspects: Vec::new(),
            topics: 0,
        }
    }
}

/// One aspect in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AspectStat {
    pub aspect: String,
    pub mentions: usize,
    /// Share of mentions scored at or below −[`NEUTRAL_BAND`]; `None` without mentions.
    pub negative_share: Option<f64>,
    /// Mean score of the mentions; `None` without mentions.
    pub sentiment: Option<f64>,
}

/// One period of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendRow {
    /// First day of the period.
    pub period: NaiveDate,
    pub group: Option<String>,
    /// Documents in the period.
    pub volume: usize,
    /// Mean document score; `None` when there are no documents.
    pub sentiment_index: Option<f64>,
    /// Standard deviation of the document scores (n − 1); `None` below 2 documents.
    /// Not a table column: [`shifts`] uses it to tell a moved mean from sampling noise.
    pub sentiment_sd: Option<f64>,
    pub positive_share: Option<f64>,
    pub negative_share: Option<f64>,
    /// One per aspect of the options, in their order.
    pub aspects: Vec<AspectStat>,
    /// Documents per topic, one entry per topic of the options.
    pub topics: Vec<usize>,
}

/// The series of a batch of observations, rows sorted by group (`None` first), then
/// period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trends {
    pub grain: Grain,
    /// The aspects every row carries, so the table's columns do not depend on the data.
    pub aspects: Vec<String>,
    /// The number of topic columns.
    pub topics: usize,
    pub rows: Vec<TrendRow>,
}

#[derive(Clone)]
struct Acc {
    volume: usize,
    scored: usize,
    score_sum: f64,
    score_squares: f64,
    positive: usize,
    negative: usize,
    /// Per aspect: mentions, negative mentions, scored mentions, score sum.
    aspects: Vec<(usize, usize, usize, f64)>,
    topics: Vec<usize>,
}

impl Acc {
    fn new(aspects: usize, topics: usize) -> Acc {
        Acc {
            volume: 0,
            scored: 0,
            score_sum: 0.0,
            score_squares: 0.0,
            positive: 0,
            negative: 0,
            aspects: vec![(0, 0, 0, 0.0); aspects],
            topics: vec![0; topics],
        }
    }
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Aggregates observations into one row per group and period, empty periods between a
/// group's first and last filled. Non-finite scores count in volume but not in means.
pub fn aggregate(observations: &[Observation], opts: &TrendOptions) -> Trends {
    let aspect_index: HashMap<&str, usize> = opts
        .aspects
        .iter()
        .enumerate()
        .map(|(i, a)| (a.as_str(), i))
        .collect();
    let empty = Acc::new(opts.aspects.len(), opts.topics);
    let mut cells: BTreeMap<(Option<&str>, NaiveDate), Acc> = BTreeMap::new();
    for o in observations {
        let acc = cells
            .entry((o.group.as_deref(), opts.grain.period(o.date)))
            .or_insert_with(|| empty.clone());
        acc.volume += 1;
        if o.score.is_finite() {
            acc.scored += 1;
            acc.score_sum += o.score;
            acc.score_squares += o.score * o.score;
        }
        match o.label {
            Label::Positive => acc.positive += 1,
            Label::Negative => acc.negative += 1,
            Label::Neutral => {}
        }
        for (name, score) in &o.aspects {
            let Some(&a) = aspect_index.get(name.as_str()) else {
                continue;
            };
            let s = &mut acc.aspects[a];
            s.0 += 1;
            if *score <= -NEUTRAL_BAND {
                s.1 += 1;
            }
            if score.is_finite() {
                s.2 += 1;
                s.3 += score;
            }
        }
        if let Some(t) = o.topic.filter(|&t| t < opts.topics) {
            acc.topics[t] += 1;
        }
    }

    let row = |group: Option<&str>, period: NaiveDate, acc: &Acc| TrendRow {
        period,
        group: group.map(str::to_string),
        volume: acc.volume,
        sentiment_index: (acc.scored > 0).then(|| acc.score_sum / acc.scored as f64),
        sentiment_sd: (acc.scored > 1).then(|| {
            let n = acc.scored as f64;
            ((acc.score_squares - acc.score_sum * acc.score_sum / n) / (n - 1.0))
                .max(0.0)
                .sqrt()
        }),
        positive_share: ratio(acc.positive, acc.volume),
        negative_share: ratio(acc.negative, acc.volume),
        aspects: opts
            .aspects
            .iter()
            .zip(&acc.aspects)
            .map(|(name, &(mentions, negative, scored, sum))| AspectStat {
                aspect: name.clone(),
                mentions,
                negative_share: ratio(negative, mentions),
                sentiment: (scored > 0).then(|| sum / scored as f64),
            })
            .collect(),
        topics: acc.topics.clone(),
    };

    let mut rows = Vec::with_capacity(cells.len());
    let mut cells = cells.into_iter().peekable();
    while let Some(((group, mut period), acc)) = cells.next() {
        rows.push(row(group, period, &acc));
        // Fill up to the group's next observed period.
        if let Some(((next_group, next_period), _)) = cells.peek()
            && *next_group == group
        {
            while let Some(p) = opts.grain.next(period).filter(|p| p < next_period) {
                rows.push(row(group, p, &empty));
                period = p;
            }
        }
    }
    Trends {
        grain: opts.grain,
        aspects: opts.aspects.clone(),
        topics: opts.topics,
        rows,
    }
}

/// An aspect name as it appears in column names: lower case, runs of anything but
/// letters and digits (any script) turned into `_`, so "After Sales" → `after_sales`.
pub fn column_slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// A number for a table cell: at most 6 decimals, trailing zeros dropped; empty when
/// missing or not finite, so CSV readers see a null and never "NaN" or "inf".
fn cell(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => {
            let s = format!("{v:.6}");
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.')
            } else {
                &s
            };
            if s == "-0" { "0".into() } else { s.into() }
        }
        _ => String::new(),
    }
}

impl Trends {
    /// The wide table of the data contract: `date`, the group column (named
    /// `group_column`, e.g. "channel"; left out when `None`, unless a row has a group,
    /// then named `group`), `text_volume`, `text_sentiment`, `text_positive_share`,
    /// `text_negative_share`, per aspect `aspect_<name>_mentions`,
    /// `aspect_<name>_negative_share`, `aspect_<name>_sentiment` (name by
    /// [`column_slug`]), per topic `topic_<k>_volume`. Missing values are empty cells.
    pub fn to_table(&self, group_column: Option<&str>) -> (Vec<String>, Vec<Vec<String>>) {
        let group_column = group_column.or_else(|| {
            self.rows
                .iter()
                .any(|r| r.group.is_some())
                .then_some("group")
        });
        let mut header = vec!["date".to_string()];
        header.extend(group_column.map(str::to_string));
        header.extend(
            [
                "text_volume",
                "text_sentiment",
                "text_positive_share",
                "text_negative_share",
            ]
            .map(String::from),
        );
        for a in &self.aspects {
            let slug = column_slug(a);
            for stat in ["mentions", "negative_share", "sentiment"] {
                header.push(format!("aspect_{slug}_{stat}"));
            }
        }
        header.extend((0..self.topics).map(|k| format!("topic_{k}_volume")));
        let cells = self
            .rows
            .iter()
            .map(|r| {
                let mut c = vec![r.period.to_string()];
                if group_column.is_some() {
                    c.push(r.group.clone().unwrap_or_default());
                }
                c.push(r.volume.to_string());
                c.push(cell(r.sentiment_index));
                c.push(cell(r.positive_share));
                c.push(cell(r.negative_share));
                for a in &r.aspects {
                    c.push(a.mentions.to_string());
                    c.push(cell(a.negative_share));
                    c.push(cell(a.sentiment));
                }
                c.extend(r.topics.iter().map(|v| v.to_string()));
                c
            })
            .collect();
        (header, cells)
    }
}

/// Settings of [`shifts`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShiftOptions {
    /// Trailing periods the baseline is taken from (the current one excluded).
    pub window: usize,
    /// Judge a period only when the window has at least this many usable values.
    pub min_points: usize,
    /// Flag when |robust z| reaches this (3.5 is Iglewicz & Hoaglin's outlier cut-off).
    pub threshold: f64,
    /// Sentiment and shares are only judged, and only used as baseline, in periods
    /// with at least this many documents (for aspects: mentions); below it one
    /// document moves a share by 20 points or more.
    pub min_volume: usize,
}

impl Default for ShiftOptions {
    fn default() -> Self {
        ShiftOptions {
            window: 8,
            min_points: 4,
            threshold: 3.5,
            min_volume: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

/// A period whose value left its trailing baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    pub period: NaiveDate,
    pub group: Option<String>,
    /// The column name of the series in [`Trends::to_table`], e.g. `text_volume` or
    /// `aspect_delivery_negative_share`.
    pub series: String,
    pub value: f64,
    /// Median of the trailing window.
    pub baseline: f64,
    pub robust_z: f64,
    pub direction: Direction,
}

/// What sampling noise a series carries, for the floor of its robust scale.
#[derive(Debug, Clone, Copy)]
enum Noise {
    /// A count (documents, mentions): Poisson, sd √mean.
    Count,
    /// A share of this many documents (mentions): binomial, sd √(p(1 − p)/n).
    Share(usize),
    /// A mean of this many scores with this sd: standard error sd/√n.
    Mean(usize, Option<f64>),
}

/// The floor of the robust scale at point `p` of series `s`. A window of 4–8 values
/// often has a MAD far below the noise of the series (or 0), which would flag ordinary
/// sampling noise; so the scale is never below the sampling sd of the current value
/// around the window's median m: √m for counts (Poisson), √(m(1 − m)/n) for shares
/// (binomial), the window's median score sd / √n for the sentiment mean; nor below
/// 1e-9 + 1% of |m|. With the floor, a series of identical values still flags a jump
/// beyond that noise, and an exact repeat always scores 0.
fn scale_floor(
    m: f64,
    series: &[Vec<(String, Option<f64>, Noise)>],
    p: usize,
    s: usize,
    window: usize,
) -> f64 {
    let sampling = match series[p][s].2 {
        Noise::Count => m.abs().max(1.0).sqrt(),
        Noise::Share(n) => {
            let q = m.clamp(0.0, 1.0);
            (q * (1.0 - q) / n.max(1) as f64).sqrt()
        }
        Noise::Mean(n, _) => {
            let mut sds: Vec<f64> = series[p.saturating_sub(window)..p]
                .iter()
                .filter_map(|r| match r[s] {
                    (_, Some(_), Noise::Mean(_, sd)) => sd,
                    _ => None,
                })
                .collect();
            if sds.is_empty() {
                0.0
            } else {
                median(&mut sds) / (n.max(1) as f64).sqrt()
            }
        }
    };
    sampling.max(1e-9 + 0.01 * m.abs())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The judged series of one row: (name, value if usable, noise). Counts are always
/// usable; means and shares only with enough documents (mentions) behind them.
fn series_of(
    row: &TrendRow,
    aspects: &[String],
    min_volume: usize,
) -> Vec<(String, Option<f64>, Noise)> {
    let enough = |n: usize, v: Option<f64>| v.filter(|_| n >= min_volume);
    let mut out = vec![
        (
            "text_volume".to_string(),
            Some(row.volume as f64),
            Noise::Count,
        ),
        (
            "text_sentiment".to_string(),
            enough(row.volume, row.sentiment_index),
            Noise::Mean(row.volume, row.sentiment_sd),
        ),
        (
            "text_negative_share".to_string(),
            enough(row.volume, row.negative_share),
            Noise::Share(row.volume),
        ),
    ];
    for (name, a) in aspects.iter().zip(&row.aspects) {
        let slug = column_slug(name);
        out.push((
            format!("aspect_{slug}_negative_share"),
            enough(a.mentions, a.negative_share),
            Noise::Share(a.mentions),
        ));
        out.push((
            format!("aspect_{slug}_mentions"),
            Some(a.mentions as f64),
            Noise::Count,
        ));
    }
    out
}

/// Flags, per group and series (text volume, sentiment and negative share; each
/// aspect's negative share and mentions), the periods whose value departs from the
/// median of the trailing `window` periods by |x − median| / (1.4826·MAD) ≥ threshold,
/// the scale floored at the sampling noise of the value (Poisson for counts, binomial
/// for shares, standard error for the mean score) so a window that happens to be tight
/// does not flag noise. Median and
/// MAD, not mean and standard deviation, so one earlier spike in the window does not
/// mask the next. Sorted by period, then group.
pub fn shifts(trends: &Trends, opts: ShiftOptions) -> Vec<Shift> {
    let mut out = Vec::new();
    let rows = &trends.rows;
    let mut start = 0;
    while start < rows.len() {
        let group = &rows[start].group;
        let end = start
            + rows[start..]
                .iter()
                .take_while(|r| &r.group == group)
                .count();
        let series: Vec<Vec<(String, Option<f64>, Noise)>> = rows[start..end]
            .iter()
            .map(|r| series_of(r, &trends.aspects, opts.min_volume))
            .collect();
        let n_series = series.first().map_or(0, Vec::len);
        for s in 0..n_series {
            for p in 0..series.len() {
                let Some(x) = series[p][s].1 else { continue };
                let mut window: Vec<f64> = series[p.saturating_sub(opts.window)..p]
                    .iter()
                    .filter_map(|r| r[s].1)
                    .collect();
                if window.len() < opts.min_points.max(1) {
                    continue;
                }
                let m = median(&mut window);
                let mut dev: Vec<f64> = window.iter().map(|v| (v - m).abs()).collect();
                let floor = scale_floor(m, &series, p, s, opts.window);
                let scale = (1.4826 * median(&mut dev)).max(floor);
                let z = (x - m) / scale;
                if z.abs() >= opts.threshold {
                    out.push(Shift {
                        period: rows[start + p].period,
                        group: group.clone(),
                        series: series[p][s].0.clone(),
                        value: x,
                        baseline: m,
                        robust_z: z,
                        direction: if z > 0.0 {
                            Direction::Up
                        } else {
                            Direction::Down
                        },
                    });
                }
            }
        }
        start = end;
    }
    out.sort_by(|a, b| a.period.cmp(&b.period).then_with(|| a.group.cmp(&b.group)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn obs(
        date: &str,
        group: Option<&str>,
        score: f64,
        aspects: &[(&str, f64)],
        topic: Option<usize>,
    ) -> Observation {
        Observation {
            date: d(date),
            group: group.map(String::from),
            score,
            label: Label::of(score),
            aspects: aspects.iter().map(|(a, s)| (a.to_string(), *s)).collect(),
            topic,
        }
    }

    fn sample() -> Vec<Observation> {
        vec![
            obs(
                "2025-01-01",
                None,
                -0.5,
                &[("delivery", 0.3), ("price", -0.2)],
                Some(1),
            ),
            obs(
                "2024-12-30",
                None,
                0.5,
                &[("delivery", -0.5), ("unknown", -1.0)],
                Some(0),
            ),
            obs("2025-01-15", None, 0.0, &[], Some(7)),
            obs("2025-02-10", Some("app"), 0.8, &[], None),
        ]
    }

    fn opts(grain: Grain) -> TrendOptions {
        TrendOptions {
            grain,
            aspects: vec!["delivery".into(), "price".into()],
            topics: 2,
        }
    }

    #[test]
    fn grains_label_periods_by_their_first_day() {
        // 2025-01-01 is a Wednesday in the ISO week that starts on Monday 2024-12-30.
        assert_eq!(Grain::Week.period(d("2025-01-01")), d("2024-12-30"));
        assert_eq!(Grain::Week.period(d("2024-12-30")), d("2024-12-30"));
        assert_eq!(Grain::Week.period(d("2025-01-05")), d("2024-12-30"));
        assert_eq!(Grain::Month.period(d("2024-02-29")), d("2024-02-01"));
        assert_eq!(Grain::Month.next(d("2024-12-01")), Some(d("2025-01-01")));
        assert_eq!(Grain::Day.period(d("2024-02-29")), d("2024-02-29"));
    }

    #[test]
    fn weekly_aggregation_by_hand_fills_empty_weeks() {
        let t = aggregate(&sample(), &opts(Grain::Week));
        let periods: Vec<(NaiveDate, Option<&str>)> = t
            .rows
            .iter()
            .map(|r| (r.period, r.group.as_deref()))
            .collect();
        assert_eq!(
            periods,
            [
                (d("2024-12-30"), None),
                (d("2025-01-06"), None),
                (d("2025-01-13"), None),
                (d("2025-02-10"), Some("app")),
            ]
        );
        let w = &t.rows[0];
        assert_eq!(w.volume, 2);
        assert_eq!(w.sentiment_index, Some(0.0));
        assert_eq!((w.positive_share, w.negative_share), (Some(0.5), Some(0.5)));
        let delivery = &w.aspects[0];
        assert_eq!(
            (delivery.aspect.as_str(), delivery.mentions),
            ("delivery", 2)
        );
        assert_eq!(delivery.negative_share, Some(0.5));
        assert!((delivery.sentiment.unwrap() + 0.1).abs() < 1e-12);
        // −0.2 is at the edge of the neutral band: negative.
        assert_eq!(w.aspects[1].negative_share, Some(1.0));
        assert_eq!(w.topics, [1, 1]);
        let empty = &t.rows[1];
        assert_eq!(empty.volume, 0);
        assert_eq!((empty.sentiment_index, empty.negative_share), (None, None));
        assert_eq!(
            (empty.aspects[0].mentions, empty.aspects[0].sentiment),
            (0, None)
        );
        assert_eq!(empty.topics, [0, 0]);
        // Topic 7 is beyond the two columns: counted in volume only.
        assert_eq!(
            (t.rows[2].volume, t.rows[2].topics.clone()),
            (1, vec![0, 0])
        );
        assert_eq!(t.rows[2].positive_share, Some(0.0));
    }

    #[test]
    fn daily_and_monthly_aggregation() {
        let t = aggregate(&sample(), &opts(Grain::Day));
        let none: Vec<&TrendRow> = t.rows.iter().filter(|r| r.group.is_none()).collect();
        assert_eq!(none.len(), 17, "2024-12-30 through 2025-01-15");
        assert_eq!((none[0].period, none[0].volume), (d("2024-12-30"), 1));
        assert_eq!((none[1].period, none[1].volume), (d("2024-12-31"), 0));
        assert_eq!((none[2].period, none[2].volume), (d("2025-01-01"), 1));
        assert_eq!(none[2].negative_share, Some(1.0));
        assert_eq!(t.rows.last().unwrap().period, d("2025-02-10"));

        let t = aggregate(&sample(), &opts(Grain::Month));
        let got: Vec<(NaiveDate, usize)> = t.rows.iter().map(|r| (r.period, r.volume)).collect();
        assert_eq!(
            got,
            [
                (d("2024-12-01"), 1),
                (d("2025-01-01"), 2),
                (d("2025-02-01"), 1)
            ]
        );
        assert_eq!(t.rows[1].sentiment_index, Some(-0.25));
    }

    #[test]
    fn table_has_contract_columns_and_empty_missing_cells() {
        let o = vec![
            obs(
                "2025-03-03",
                Some("app"),
                1.0 / 3.0,
                &[("After Sales", -0.5)],
                Some(0),
            ),
            obs("2025-03-05", Some("app"), -0.2, &[], None),
        ];
        let t = aggregate(
            &o,
            &TrendOptions {
                grain: Grain::Day,
                aspects: vec!["After Sales".into()],
                topics: 1,
            },
        );
        let (header, cells) = t.to_table(Some("channel"));
        assert_eq!(
            header,
            [
                "date",
                "channel",
                "text_volume",
                "text_sentiment",
                "text_positive_share",
                "text_negative_share",
                "aspect_after_sales_mentions",
                "aspect_after_sales_negative_share",
                "aspect_after_sales_sentiment",
                "topic_0_volume",
            ]
        );
        assert_eq!(
            cells,
            [
                [
                    "2025-03-03",
                    "app",
                    "1",
                    "0.333333",
                    "1",
                    "0",
                    "1",
                    "1",
                    "-0.5",
                    "1"
                ],
                ["2025-03-04", "app", "0", "", "", "", "0", "", "", "0"],
                ["2025-03-05", "app", "1", "-0.2", "0", "1", "0", "", "", "0"],
            ]
        );
        let (header, cells) = t.to_table(None);
        assert_eq!(header[1], "group");
        assert_eq!(cells[0][1], "app");
        assert_eq!(cell(Some(f64::NAN)), "");
        assert_eq!(cell(Some(f64::INFINITY)), "");
        assert_eq!(cell(Some(-1e-9)), "0");
        assert_eq!(cell(Some(12.0)), "12");
        assert_eq!(column_slug("配送 速度"), "配送_速度");
    }

    /// 30 weeks of ~50 documents with a delivery mention each, 20% negative, then 70%
    /// negative in weeks 20–22.
    fn delivery_weeks(seed: u64) -> Vec<Observation> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let start = d("2024-01-01");
        let mut out = Vec::new();
        for week in 1..=30u64 {
            let p_negative = if (20..=22).contains(&week) { 0.7 } else { 0.2 };
            let n = rng.random_range(45..=55);
            for _ in 0..n {
                let date = start + Days::new((week - 1) * 7 + rng.random_range(0..7));
                let score = if rng.random_bool(p_negative) {
                    -rng.random_range(0.2..0.9)
                } else {
                    rng.random_range(0.2..0.9)
                };
                out.push(obs(
                    &date.to_string(),
                    None,
                    score,
                    &[("delivery", score)],
                    None,
                ));
            }
        }
        out
    }

    #[test]
    fn shifts_flag_a_jump_in_negative_delivery_share() {
        let week20 = d("2024-01-01") + Days::new(19 * 7);
        for seed in 0..10 {
            let trends = aggregate(
                &delivery_weeks(seed),
                &TrendOptions {
                    grain: Grain::Week,
                    aspects: vec!["delivery".into()],
                    topics: 0,
                },
            );
            assert_eq!(trends.rows.len(), 30);
            let found = shifts(&trends, ShiftOptions::default());
            let early: Vec<&Shift> = found.iter().filter(|s| s.period < week20).collect();
            assert!(early.is_empty(), "seed {seed}: false alarms {early:?}");
            let hit = found
                .iter()
                .find(|s| s.period == week20 && s.series == "aspect_delivery_negative_share")
                .unwrap_or_else(|| panic!("seed {seed}: week 20 not flagged: {found:?}"));
            assert_eq!(hit.direction, Direction::Up);
            assert!(
                hit.value > 0.5 && (hit.baseline - 0.2).abs() < 0.1,
                "{hit:?}"
            );
        }
    }

    #[test]
    fn flat_series_flags_jumps_but_not_repeats() {
        let mut o = Vec::new();
        for week in 0..10u64 {
            let n = if week == 9 { 80 } else { 50 };
            for _ in 0..n {
                let date = d("2024-01-01") + Days::new(week * 7);
                o.push(obs(&date.to_string(), None, 0.5, &[], None));
            }
        }
        let t = aggregate(&o, &TrendOptions::default());
        let found = shifts(&t, ShiftOptions::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].series.as_str(), found[0].value),
            ("text_volume", 80.0)
        );
        assert_eq!(found[0].baseline, 50.0);
    }
}
