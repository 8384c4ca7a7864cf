//! k-anonymity and l-diversity of a table before it is exported, and a greedy
//! generalization that reaches k.
//!
//! Rows with the same quasi-identifier values form an *equivalence class*. A table is
//! k-anonymous when every class has at least k rows, and (distinct) l-diverse when every
//! class holds at least l distinct values of the sensitive column. Rows in classes
//! that fail either would have to be suppressed (removed) to export the table as it is.
//!
//! Each quasi-identifier has a ladder of generalizations:
//! - numbers: ranges of growing width (1, 2, 5, 10, 20, 50, … times a power of ten),
//!   with the tails top- and bottom-coded at the 5th and 95th percentiles (`≥ 80`,
//!   `< 18`), then `*`;
//! - codes (postcodes, zips: digit strings of one length, or a header saying zip /
//!   postcode): the last characters masked one by one (`100081` → `10008*` → …), then `*`;
//! - categories: rare values (fewer than k rows) merged into `(other)`, then `*`.
//!
//! The greedy search raises, one step at a time, the quasi-identifier whose next level
//! leaves the fewest rows in failing classes (ties: the smallest shortfall from k and
//! l, then the most classes kept, then the most of the column's values kept; levels
//! that merge no value are skipped), then undoes raises that turn out not to be needed,
//! until none fail (or at most `max_suppress` of the rows) or every ladder is at `*`.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Missing quasi-identifier values form their own value.
const MISSING: &str = "(missing)";

/// How one quasi-identifier can be generalized.
#[derive(Debug, Clone, PartialEq)]
pub enum Ladder {
    /// Range widths, then `*`; tails coded at `bottom` and `top`.
    Numeric {
        widths: Vec<f64>,
        bottom: f64,
        top: f64,
    },
    /// Characters that can be masked from the end (the code length), then `*`.
    Prefix { len: usize },
    /// `(other)` for rare values, then `*`.
    Categorical { rare: BTreeSet<String> },
}

/// A quasi-identifier column and its ladder.
#[derive(Debug, Clone)]
pub struct Quasi {
    pub column: String,
    pub values: Vec<Option<String>>,
    pub ladder: Ladder,
}

fn nice_widths(range: f64) -> Vec<f64> {
    if !(range.is_finite() && range > 0.0) {
        return vec![];
    }
    let mut w = 10f64.powf((range / 64.0).log10().floor());
    let mut widths = Vec::new();
    while w < range {
        for m in [1.0, 2.0, 5.0] {
            let x = w * m;
            if x >= range / 64.0 && x < range {
                widths.push(x);
            }
        }
        w *= 10.0;
    }
    widths
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

impl Quasi {
    /// Chooses the ladder from the values (and the header, for codes). `k` sets which
    /// categories count as rare.
    pub fn new(column: &str, values: Vec<Option<String>>, k: usize) -> Self {
        let present: Vec<&str> = values
            .iter()
            .flatten()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        let h = column.to_lowercase();
        let code_header = ["zip", "postcode", "postal", "邮编"]
            .iter()
            .any(|w| h.contains(w));
        let first_len = present.first().map_or(0, |s| s.chars().count());
        let same_length_digits = first_len >= 3
            && present
                .iter()
                .all(|s| s.chars().count() == first_len && s.chars().all(|c| c.is_ascii_digit()));
        let leading_zero = present.iter().any(|s| s.starts_with('0'));
        let ladder = if !present.is_empty()
            && (code_header || (same_length_digits && (leading_zero || first_len >= 5)))
        {
            Ladder::Prefix {
                len: present.iter().map(|s| s.chars().count()).max().unwrap_or(1),
            }
        } else if !present.is_empty()
            && present
                .iter()
                .all(|s| s.parse::<f64>().is_ok_and(f64::is_finite))
        {
            let mut xs: Vec<f64> = present
                .iter()
                .map(|s| s.parse().expect("checked"))
                .collect();
            xs.sort_by(f64::total_cmp);
            let (lo, hi) = (xs[0], xs[xs.len() - 1]);
            Ladder::Numeric {
                widths: nice_widths(hi - lo),
                bottom: quantile(&xs, 0.05),
                top: quantile(&xs, 0.95),
            }
        } else {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for s in &present {
                *counts.entry(s).or_default() += 1;
            }
            Ladder::Categorical {
                rare: counts
                    .into_iter()
                    .filter(|(_, n)| *n < k)
                    .map(|(s, _)| s.to_string())
                    .collect(),
            }
        };
        Self {
            column: column.to_string(),
            values,
            ladder,
        }
    }

    /// The highest level (`*`).
    pub fn max_level(&self) -> usize {
        match &self.ladder {
            Ladder::Numeric { widths, .. } => widths.len() + 1,
            Ladder::Prefix { len } => *len,
            Ladder::Categorical { .. } => 2,
        }
    }

    /// What a level does, for people.
    pub fn describe(&self, level: usize) -> String {
        if level == 0 {
            return "as is".into();
        }
        if level >= self.max_level() {
            return "removed (*)".into();
        }
        match &self.ladder {
            Ladder::Numeric {
                widths,
                bottom,
                top,
            } => {
                let w = widths[level - 1];
                let (low, high) = (bucket_low(*bottom, w) + w, bucket_low(*top, w));
                if high > low {
                    format!(
                        "ranges of {}, below {} and from {} up coded together",
                        fmt_num(w),
                        fmt_num(low),
                        fmt_num(high)
                    )
                } else {
                    format!("ranges of {}", fmt_num(w))
                }
            }
            Ladder::Prefix { .. } => format!("last {level} character(s) masked"),
            Ladder::Categorical { rare } => {
                format!("{} rare value(s) merged into (other)", rare.len())
            }
        }
    }

    /// Row `i`'s value at `level`.
    pub fn generalize(&self, i: usize, level: usize) -> String {
        let Some(v) = self.values[i]
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        else {
            return MISSING.to_string();
        };
        if level == 0 {
            return v.to_string();
        }
        if level >= self.max_level() {
            return "*".to_string();
        }
        match &self.ladder {
            Ladder::Numeric {
                widths,
                bottom,
                top,
            } => {
                let w = widths[level - 1];
                let x: f64 = v.parse().unwrap_or(f64::NAN);
                let top_edge = bucket_low(*top, w);
                let bottom_edge = bucket_low(*bottom, w) + w;
                if x >= top_edge && top_edge > bottom_edge {
                    format!("≥{}", fmt_num(top_edge))
                } else if x < bottom_edge && top_edge > bottom_edge {
                    format!("<{}", fmt_num(bottom_edge))
                } else {
                    let lo = bucket_low(x, w);
                    format!("{}-{}", fmt_num(lo), fmt_num(lo + w))
                }
            }
            Ladder::Prefix { .. } => {
                let chars: Vec<char> = v.chars().collect();
                let keep = chars.len().saturating_sub(level);
                let mut s: String = chars[..keep].iter().collect();
                s.extend(std::iter::repeat_n('*', chars.len() - keep));
                s
            }
            Ladder::Categorical { rare } => {
                if rare.contains(v) {
                    "(other)".to_string()
                } else {
                    v.to_string()
                }
            }
        }
    }
}

fn bucket_low(x: f64, w: f64) -> f64 {
    (x / w).floor() * w
}

fn fmt_num(x: f64) -> String {
    let r = (x * 1e6).round() / 1e6;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// Classes and failures of a table at given generalization levels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub rows: usize,
    pub classes: usize,
    pub smallest_class: usize,
    /// Classes with fewer than k rows, and the rows in them.
    pub classes_below_k: usize,
    pub rows_below_k: usize,
    /// Fewest distinct sensitive values in a class (with a sensitive column).
    pub smallest_diversity: Option<usize>,
    pub classes_below_l: usize,
    pub rows_below_l: usize,
    /// Rows in classes failing k or l: what suppression would remove.
    pub rows_to_suppress: usize,
    /// How far the failing classes are from passing: the rows they lack to reach k
    /// plus the distinct sensitive values they lack to reach l (guides the search
    /// across steps that merge classes without yet passing any).
    pub shortfall: usize,
}

/// Distinct values of a column at a level.
fn distinct_at(q: &Quasi, level: usize) -> usize {
    (0..q.values.len())
        .map(|i| q.generalize(i, level))
        .collect::<BTreeSet<_>>()
        .len()
}

/// Rows' class keys at `levels`.
fn keys(quasi: &[Quasi], levels: &[usize], rows: usize) -> Vec<String> {
    (0..rows)
        .map(|i| {
            quasi
                .iter()
                .zip(levels)
                .map(|(q, l)| q.generalize(i, *l))
                .collect::<Vec<_>>()
                .join("\u{1f}")
        })
        .collect()
}

/// Rows in classes that fail k (or l): what suppression removes.
pub fn failing_rows(
    quasi: &[Quasi],
    levels: &[usize],
    sensitive: Option<&[Option<String>]>,
    k: usize,
    l: usize,
) -> Vec<bool> {
    let rows = quasi.first().map_or(0, |q| q.values.len());
    let keys = keys(quasi, levels, rows);
    let mut classes: HashMap<&str, (usize, BTreeSet<&str>)> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        let c = classes.entry(key.as_str()).or_default();
        c.0 += 1;
        if let Some(s) = sensitive {
            c.1.insert(s[i].as_deref().unwrap_or(MISSING));
        }
    }
    keys.iter()
        .map(|key| {
            let (n, s) = &classes[key.as_str()];
            *n < k || (sensitive.is_some() && s.len() < l)
        })
        .collect()
}

/// Assesses k-anonymity (and l-diversity with `sensitive`) at `levels`.
pub fn assess(
    quasi: &[Quasi],
    levels: &[usize],
    sensitive: Option<&[Option<String>]>,
    k: usize,
    l: usize,
) -> Assessment {
    let rows = quasi.first().map_or(0, |q| q.values.len());
    let keys = keys(quasi, levels, rows);
    let mut classes: HashMap<&str, (usize, BTreeSet<&str>)> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        let c = classes.entry(key.as_str()).or_default();
        c.0 += 1;
        if let Some(s) = sensitive {
            c.1.insert(s[i].as_deref().unwrap_or(MISSING));
        }
    }
    let mut a = Assessment {
        rows,
        classes: classes.len(),
        smallest_class: classes.values().map(|c| c.0).min().unwrap_or(0),
        classes_below_k: 0,
        rows_below_k: 0,
        smallest_diversity: sensitive
            .map(|_| classes.values().map(|c| c.1.len()).min().unwrap_or(0)),
        classes_below_l: 0,
        rows_below_l: 0,
        rows_to_suppress: 0,
        shortfall: 0,
    };
    for (n, s) in classes.values() {
        let below_k = *n < k;
        let below_l = sensitive.is_some() && s.len() < l;
        if below_k {
            a.classes_below_k += 1;
            a.rows_below_k += n;
        }
        if below_l {
            a.classes_below_l += 1;
            a.rows_below_l += n;
        }
        if below_k || below_l {
            a.rows_to_suppress += n;
            a.shortfall += k.saturating_sub(*n);
            if sensitive.is_some() {
                a.shortfall += l.saturating_sub(s.len());
            }
        }
    }
    a
}

/// One step of the greedy generalization.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub column: String,
    pub level: usize,
    pub description: String,
    pub classes: usize,
    pub smallest_class: usize,
    pub rows_to_suppress: usize,
}

/// The suggestion: generalization steps in order, the final levels, and what is left.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// Before any generalization.
    pub initial: Assessment,
    pub steps: Vec<Step>,
    /// Level per quasi-identifier, in the order given.
    pub levels: Vec<usize>,
    /// (column, what its final level does).
    pub generalization: Vec<(String, String)>,
    pub result: Assessment,
    /// Whether k (and l) hold after suppressing at most `max_suppress` of the rows.
    pub achieved: bool,
}

/// Greedy generalization until k (and l) hold, allowing `max_suppress` (a share of
/// rows) to be suppressed.
pub fn suggest(
    quasi: &[Quasi],
    sensitive: Option<&[Option<String>]>,
    k: usize,
    l: usize,
    max_suppress: f64,
) -> Suggestion {
    let mut levels = vec![0; quasi.len()];
    let initial = assess(quasi, &levels, sensitive, k, l);
    let allowed = (max_suppress * initial.rows as f64).floor() as usize;
    let mut current = initial.clone();
    let mut steps = Vec::new();
    while current.rows_to_suppress > allowed {
        let mut best: Option<(usize, usize, Assessment, usize)> = None;
        for j in 0..quasi.len() {
            // Levels that merge no value of the column (ranges of 1 on whole numbers)
            // are skipped.
            let before = distinct_at(&quasi[j], levels[j]);
            let mut trial = levels.clone();
            let mut found = None;
            while trial[j] < quasi[j].max_level() {
                trial[j] += 1;
                let after = distinct_at(&quasi[j], trial[j]);
                if after < before {
                    // Share of the column's distinct values kept, in thousandths.
                    let kept = after * 1000 / before.max(1);
                    found = Some((assess(quasi, &trial, sensitive, k, l), kept));
                    break;
                }
            }
            let Some((a, kept)) = found else { continue };
            let rank = |a: &Assessment, kept: usize| {
                (
                    a.rows_to_suppress,
                    a.shortfall,
                    std::cmp::Reverse(a.classes),
                    std::cmp::Reverse(kept),
                )
            };
            if best
                .as_ref()
                .is_none_or(|(_, _, b, bk)| rank(&a, kept) < rank(b, *bk))
            {
                best = Some((j, trial[j], a, kept));
            }
        }
        let Some((j, level, a, _)) = best else { break };
        levels[j] = level;
        steps.push(Step {
            column: quasi[j].column.clone(),
            level: levels[j],
            description: quasi[j].describe(levels[j]),
            classes: a.classes,
            smallest_class: a.smallest_class,
            rows_to_suppress: a.rows_to_suppress,
        });
        current = a;
    }
    // Steps that did not help in the end are undone, last first (a raised ladder that
    // another raise made redundant).
    for j in (0..quasi.len()).rev() {
        while levels[j] > 0 {
            let mut trial = levels.clone();
            trial[j] -= 1;
            let a = assess(quasi, &trial, sensitive, k, l);
            if a.rows_to_suppress <= current.rows_to_suppress {
                levels = trial;
                current = a;
            } else {
                break;
            }
        }
    }
    let generalization = quasi
        .iter()
        .zip(&levels)
        .map(|(q, l)| (q.column.clone(), q.describe(*l)))
        .collect();
    Suggestion {
        achieved: current.rows_to_suppress <= allowed,
        initial,
        steps,
        levels,
        generalization,
        result: current,
    }
}

/// The generalized quasi-identifier values at `levels`, per column (for writing the
/// table out).
pub fn generalized_columns(quasi: &[Quasi], levels: &[usize]) -> BTreeMap<String, Vec<String>> {
    quasi
        .iter()
        .zip(levels)
        .map(|(q, l)| {
            (
                q.column.clone(),
                (0..q.values.len()).map(|i| q.generalize(i, *l)).collect(),
            )
        })
        .collect()
}
