//! Journeys as paths: the channel sequence users followed and how many of those journeys
//! converted, with what value, and how many ended without conversion.
//!
//! The text format is ChannelAttribution's (R and Python packages): one aggregated path
//! per line, `path;total_conversions;total_conversion_value;total_null`, the channels of a
//! path joined by ` > `:
//!
//! ```text
//! path;total_conversions;total_conversion_value;total_null
//! eta > iota > alpha > eta;1;0.244;3
//! ```
//!
//! A header is optional; with one, the columns are found by name (`path`,
//! `total_conversions`, `total_conversion_value`, `total_null`, or the short forms
//! `conversions`, `value`, `null`), without one they are positional and the last two may be
//! left out. The separator is `;` (or a tab or `,` when the first line has no `;`).

use crate::AttributionError;
use foldhash::HashMap;
use serde::{Deserialize, Serialize};

/// A channel's index into [`Paths::channels`]. Sixteen bits keep paths compact (millions
/// of journeys) and let a Markov state of up to four channels pack into one `u64`.
pub type ChannelId = u16;

/// The most channels an attribution holds: ids `0 ..= 65534`, so that `id + 1` fits the
/// 16-bit lanes of a packed Markov state (0 marks an empty lane).
pub const MAX_CHANNELS: usize = u16::MAX as usize;

/// Identical journeys, aggregated: the path and how the journeys along it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    /// Channels in time order, repeats kept (`a > a > b`).
    pub path: Vec<ChannelId>,
    /// Journeys along this path that ended in a conversion.
    pub conversions: f64,
    /// Their summed conversion value.
    pub value: f64,
    /// Journeys along this path that ended without a conversion.
    pub nulls: f64,
}

/// Aggregated journeys over named channels: the input of every model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Paths {
    /// Channel names; a [`ChannelId`] indexes this list.
    pub channels: Vec<String>,
    /// Distinct paths, in order of first appearance.
    pub journeys: Vec<Journey>,
    /// Conversions with no channel touch inside the lookback window (touchpoint input
    /// only): no model can credit them to a channel, so they are reported, not spread.
    pub unattributed_conversions: f64,
    pub unattributed_value: f64,
}

/// A line of path text that could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PathError {
    /// 1-based line of the text.
    pub line: usize,
    pub message: String,
}

/// Channel names to dense [`ChannelId`]s in order of first appearance, for callers that
/// turn named touchpoints into [`crate::Touch`]es.
#[derive(Debug, Clone, Default)]
pub struct ChannelIndex {
    names: Vec<String>,
    ids: HashMap<String, ChannelId>,
}

impl ChannelIndex {
    pub fn new() -> ChannelIndex {
        ChannelIndex::default()
    }

    /// The id of `name`, assigning the next one to a new name.
    pub fn id(&mut self, name: &str) -> Result<ChannelId, AttributionError> {
        if let Some(&id) = self.ids.get(name) {
            return Ok(id);
        }
        if self.names.len() >= MAX_CHANNELS {
            return Err(AttributionError::TooManyChannels {
                count: self.names.len() + 1,
                max: MAX_CHANNELS,
            });
        }
        let id = self.names.len() as ChannelId;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        Ok(id)
    }

    /// The id of a known name.
    pub fn get(&self, name: &str) -> Option<ChannelId> {
        self.ids.get(name).copied()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn into_names(self) -> Vec<String> {
        self.names
    }
}

/// Which field a column holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Path,
    Conversions,
    Value,
    Nulls,
}

impl Field {
    fn from_header(name: &str) -> Option<Field> {
        match name.to_ascii_lowercase().as_str() {
            "path" | "paths" => Some(Field::Path),
            "total_conversions" | "conversions" | "total_conv" | "conv" => Some(Field::Conversions),
            "total_conversion_value" | "conversion_value" | "value" | "total_value" => {
                Some(Field::Value)
            }
            "total_null" | "total_nulls" | "null" | "nulls" => Some(Field::Nulls),
            _ => None,
        }
    }

    fn canonical(self) -> &'static str {
        match self {
            Field::Path => "path",
            Field::Conversions => "total_conversions",
            Field::Value => "total_conversion_value",
            Field::Nulls => "total_null",
        }
    }
}

/// Strips one pair of surrounding double quotes (CSV writers quote paths with spaces).
fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
        .trim()
}

impl Paths {
    /// Checked paths over `channels`: every id names a channel, every count and value is
    /// finite, counts are non-negative, and value comes with conversions. Identical paths
    /// are merged.
    pub fn new(channels: Vec<String>, journeys: Vec<Journey>) -> Result<Paths, AttributionError> {
        let mut paths = Paths {
            channels,
            journeys,
            unattributed_conversions: 0.0,
            unattributed_value: 0.0,
        };
        paths.check()?;
        paths.aggregate();
        Ok(paths)
    }

    /// What [`Paths::new`] checks. Every model calls it first, so paths assembled by hand
    /// through the public fields give an error rather than a panic.
    pub fn check(&self) -> Result<(), AttributionError> {
        if self.channels.len() > MAX_CHANNELS {
            return Err(AttributionError::TooManyChannels {
                count: self.channels.len(),
                max: MAX_CHANNELS,
            });
        }
        for (index, journey) in self.journeys.iter().enumerate() {
            let problem = |message: String| AttributionError::Journey { index, message };
            if journey.path.is_empty() {
                return Err(problem("the path is empty".into()));
            }
            if let Some(id) = journey
                .path
                .iter()
                .find(|&&id| id as usize >= self.channels.len())
            {
                return Err(problem(format!(
                    "channel id {id} is not one of the {} channels",
                    self.channels.len()
                )));
            }
            check_counts(journey.conversions, journey.value, journey.nulls).map_err(problem)?;
        }
        Ok(())
    }

    /// Reads ChannelAttribution's aggregated path text (see the module doc). Blank lines
    /// are skipped; identical paths are merged; empty text gives no journeys.
    pub fn parse(text: &str) -> Result<Paths, PathError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
            .filter(|(_, line)| !line.trim().is_empty())
            .peekable();
        let Some(&(first_line, first)) = lines.peek() else {
            return Ok(Paths::default());
        };
        let separator = if first.contains(';') {
            ';'
        } else if first.contains('\t') {
            '\t'
        } else {
            ','
        };
        let error = |line: usize, message: String| PathError { line, message };
        let first_fields: Vec<&str> = first.split(separator).map(unquote).collect();
        let is_header = first_fields
            .get(1)
            .is_none_or(|f| f.parse::<f64>().is_err());
        let (fields, names): (Vec<Field>, Vec<String>) = if is_header {
            lines.next();
            let mut fields = Vec::new();
            for name in &first_fields {
                let field = Field::from_header(name).ok_or_else(|| {
                    error(
                        first_line,
                        format!(
                            "unknown column `{name}`; expected path, total_conversions, total_conversion_value, total_null"
                        ),
                    )
                })?;
                if fields.contains(&field) {
                    return Err(error(first_line, format!("column `{name}` appears twice")));
                }
                fields.push(field);
            }
            for needed in [Field::Path, Field::Conversions] {
                if !fields.contains(&needed) {
                    return Err(error(
                        first_line,
                        format!("the header has no `{}` column", needed.canonical()),
                    ));
                }
            }
            let names = first_fields.iter().map(|s| s.to_string()).collect();
            (fields, names)
        } else {
            let all = [Field::Path, Field::Conversions, Field::Value, Field::Nulls];
            if !(2..=4).contains(&first_fields.len()) {
                return Err(error(
                    first_line,
                    format!(
                        "expected 2 to 4 fields separated by `{separator}` (path, total_conversions, [total_conversion_value], [total_null]), found {}",
                        first_fields.len()
                    ),
                ));
            }
            let fields = all[..first_fields.len()].to_vec();
            let names = fields.iter().map(|f| f.canonical().to_string()).collect();
            (fields, names)
        };

        let mut index = ChannelIndex::new();
        let mut aggregator = Aggregator::default();
        let mut path = Vec::new();
        for (line, text) in lines {
            let values: Vec<&str> = text.split(separator).collect();
            if values.len() != fields.len() {
                return Err(error(
                    line,
                    format!(
                        "expected {} fields separated by `{separator}`, found {}",
                        fields.len(),
                        values.len()
                    ),
                ));
            }
            let (mut conversions, mut value, mut nulls) = (0.0, 0.0, 0.0);
            path.clear();
            for ((field, name), raw) in fields.iter().zip(&names).zip(&values) {
                let raw = unquote(raw);
                let number = || -> Result<f64, PathError> {
                    let x: f64 = raw
                        .parse()
                        .map_err(|_| error(line, format!("{name} is not a number (`{raw}`)")))?;
                    if !x.is_finite() || x < 0.0 {
                        return Err(error(
                            line,
                            format!("{name} must be a finite number ≥ 0, got {raw}"),
                        ));
                    }
                    Ok(x)
                };
                match field {
                    Field::Path => {
                        for channel in raw.split('>') {
                            let channel = channel.trim();
                            if channel.is_empty() {
                                return Err(error(
                                    line,
                                    if raw.is_empty() {
                                        "the path is empty".to_string()
                                    } else {
                                        format!(
                                            "the path `{raw}` has an empty channel (two `>` in a row, or one at an end)"
                                        )
                                    },
                                ));
                            }
                            let id = index.id(channel).map_err(|e| error(line, e.to_string()))?;
                            path.push(id);
                        }
                    }
                    Field::Conversions => conversions = number()?,
                    Field::Value => value = number()?,
                    Field::Nulls => nulls = number()?,
                }
            }
            if conversions == 0.0 && value != 0.0 {
                return Err(error(
                    line,
                    format!("total_conversion_value is {value} but total_conversions is 0"),
                ));
            }
            aggregator.add(&path, conversions, value, nulls);
        }
        Ok(Paths {
            channels: index.into_names(),
            journeys: aggregator.journeys,
            unattributed_conversions: 0.0,
            unattributed_value: 0.0,
        })
    }

    /// The text [`Paths::parse`] reads, with a header (for peers such as ChannelAttribution).
    pub fn to_text(&self) -> String {
        let mut out = String::from("path;total_conversions;total_conversion_value;total_null\n");
        for journey in &self.journeys {
            let names: Vec<&str> = journey
                .path
                .iter()
                .map(|&c| self.channels[c as usize].as_str())
                .collect();
            out.push_str(&format!(
                "{};{};{};{}\n",
                names.join(" > "),
                journey.conversions,
                journey.value,
                journey.nulls
            ));
        }
        out
    }

    /// Merges identical paths, keeping the first appearance's position.
    pub fn aggregate(&mut self) {
        let mut aggregator = Aggregator::default();
        for journey in &self.journeys {
            aggregator.add(
                &journey.path,
                journey.conversions,
                journey.value,
                journey.nulls,
            );
        }
        self.journeys = aggregator.journeys;
    }

    /// Attributable conversions: those of journeys with at least one channel.
    pub fn total_conversions(&self) -> f64 {
        self.journeys.iter().map(|j| j.conversions).sum()
    }

    pub fn total_value(&self) -> f64 {
        self.journeys.iter().map(|j| j.value).sum()
    }

    pub fn total_nulls(&self) -> f64 {
        self.journeys.iter().map(|j| j.nulls).sum()
    }

    /// Journeys, converting or not.
    pub fn total_journeys(&self) -> f64 {
        self.total_conversions() + self.total_nulls()
    }

    /// The id of the channel named `name`.
    pub fn channel_id(&self, name: &str) -> Option<ChannelId> {
        self.channels
            .iter()
            .position(|c| c == name)
            .map(|i| i as ChannelId)
    }

    /// A path written with channel names, ` > ` between them.
    pub fn path_text(&self, path: &[ChannelId]) -> String {
        let names: Vec<&str> = path
            .iter()
            .map(|&c| {
                self.channels
                    .get(c as usize)
                    .map(String::as_str)
                    .unwrap_or("?")
            })
            .collect();
        names.join(" > ")
    }
}

/// One aggregated path and how its journeys ended, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathSummary {
    /// The channels joined by ` > `.
    pub path: String,
    /// Touches on the path.
    pub length: usize,
    /// Journeys along it (conversions + nulls).
    pub journeys: f64,
    pub conversions: f64,
    pub nulls: f64,
    /// conversions / journeys.
    pub conversion_rate: f64,
    pub value: f64,
}

/// The paths a report lists (see [`Paths::top_paths`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopPaths {
    /// The most journeys first.
    pub most_frequent: Vec<PathSummary>,
    /// The highest conversion rate first, among paths with at least `min_journeys`.
    pub highest_converting: Vec<PathSummary>,
    /// The threshold used for `highest_converting`.
    pub min_journeys: f64,
}

impl Paths {
    /// The `n` most frequent paths and the `n` paths with the highest conversion rate
    /// among those with at least `min_journeys` journeys (so that a single lucky journey
    /// does not top the list). Ties: more journeys, then more conversions, then first
    /// appearance. O(p log p) for p distinct paths.
    pub fn top_paths(&self, n: usize, min_journeys: f64) -> TopPaths {
        let summary = |journey: &Journey| {
            let journeys = journey.conversions + journey.nulls;
            PathSummary {
                path: self.path_text(&journey.path),
                length: journey.path.len(),
                journeys,
                conversions: journey.conversions,
                nulls: journey.nulls,
                conversion_rate: if journeys > 0.0 {
                    journey.conversions / journeys
                } else {
                    0.0
                },
                value: journey.value,
            }
        };
        let weight = |j: &Journey| j.conversions + j.nulls;
        let mut order: Vec<usize> = (0..self.journeys.len())
            .filter(|&i| weight(&self.journeys[i]) > 0.0)
            .collect();
        let by_frequency = |a: &usize, b: &usize| {
            let (x, y) = (&self.journeys[*a], &self.journeys[*b]);
            weight(y)
                .total_cmp(&weight(x))
                .then(y.conversions.total_cmp(&x.conversions))
                .then(a.cmp(b))
        };
        order.sort_by(by_frequency);
        let most_frequent = order
            .iter()
            .take(n)
            .map(|&i| summary(&self.journeys[i]))
            .collect();
        let rate = |j: &Journey| j.conversions / weight(j);
        let mut eligible: Vec<usize> = order
            .into_iter()
            .filter(|&i| weight(&self.journeys[i]) >= min_journeys)
            .collect();
        eligible.sort_by(|a, b| {
            rate(&self.journeys[*b])
                .total_cmp(&rate(&self.journeys[*a]))
                .then(by_frequency(a, b))
        });
        let highest_converting = eligible
            .iter()
            .take(n)
            .map(|&i| summary(&self.journeys[i]))
            .collect();
        TopPaths {
            most_frequent,
            highest_converting,
            min_journeys,
        }
    }
}

pub(crate) fn check_counts(conversions: f64, value: f64, nulls: f64) -> Result<(), String> {
    for (name, x) in [("conversions", conversions), ("nulls", nulls)] {
        if !x.is_finite() || x < 0.0 {
            return Err(format!("{name} must be a finite number ≥ 0, got {x}"));
        }
    }
    if !value.is_finite() {
        return Err(format!("value must be finite, got {value}"));
    }
    if conversions == 0.0 && value != 0.0 {
        return Err(format!("value is {value} but conversions is 0"));
    }
    Ok(())
}

/// Identical paths summed, keyed by the channel-id sequence; the key is allocated once per
/// distinct path, not per journey.
#[derive(Default)]
pub(crate) struct Aggregator {
    index: HashMap<Box<[ChannelId]>, usize>,
    pub(crate) journeys: Vec<Journey>,
}

impl Aggregator {
    pub(crate) fn add(&mut self, path: &[ChannelId], conversions: f64, value: f64, nulls: f64) {
        match self.index.get(path) {
            Some(&i) => {
                let journey = &mut self.journeys[i];
                journey.conversions += conversions;
                journey.value += value;
                journey.nulls += nulls;
            }
            None => {
                self.index.insert(path.into(), self.journeys.len());
                self.journeys.push(Journey {
                    path: path.to_vec(),
                    conversions,
                    value,
                    nulls,
                });
            }
        }
    }
}
