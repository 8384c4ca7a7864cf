//! RFM scores and named segments: the marketer's first cut of a customer base.
//!
//! Each customer gets a recency, frequency and monetary score from 1 to 5 by
//! quintile of the customer base (recency reversed: the most recent buyers score 5),
//! and a named segment from the score ranges below, in the style of the `rfm` R
//! package's segment table: rows are applied in order and a later row refines an
//! earlier one (the last match wins: a recent one-time buyer is "new", not "potential
//! loyalist"):
//!
//! | segment | R | F | M |
//! |---|---|---|---|
//! | loyal | 2–5 | 3–5 | 3–5 |
//! | champions | 4–5 | 4–5 | 4–5 |
//! | potential loyalist | 3–5 | 1–3 | 1–3 |
//! | about to sleep | 2–3 | 1–2 | 1–2 |
//! | promising | 3–4 | 1 | 1 |
//! | new | 4–5 | 1 | 1 |
//! | at risk | 1–2 | 2–5 | 2–5 |
//! | need attention | 2–3 | 2–3 | 2–3 |
//! | cannot lose them | 1 | 4–5 | 4–5 |
//! | hibernating | 1 | 1–2 | 1–2 |
//! | lost | 1 | 1 | 1 |
//!
//! Customers no row covers are `others` (e.g. R 5, F 2, M 5).

use crate::ClvError;
use serde::{Deserialize, Serialize};

/// A named RFM segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Champions,
    Loyal,
    PotentialLoyalist,
    New,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CannotLoseThem,
    Hibernating,
    Lost,
    Others,
}

impl Segment {
    pub fn name(self) -> &'static str {
        match self {
            Segment::Champions => "champions",
            Segment::Loyal => "loyal",
            Segment::PotentialLoyalist => "potential loyalist",
            Segment::New => "new",
            Segment::Promising => "promising",
            Segment::NeedAttention => "need attention",
            Segment::AboutToSleep => "about to sleep",
            Segment::AtRisk => "at risk",
            Segment::CannotLoseThem => "cannot lose them",
            Segment::Hibernating => "hibernating",
            Segment::Lost => "lost",
            Segment::Others => "others",
        }
    }
}

/// A segment and its R, F and M score ranges (inclusive).
type Row = (Segment, [u8; 2], [u8; 2], [u8; 2]);

/// The segment table; the last matching row wins.
const TABLE: [Row; 11] = [
    (Segment::Loyal, [2, 5], [3, 5], [3, 5]),
    (Segment::Champions, [4, 5], [4, 5], [4, 5]),
    (Segment::PotentialLoyalist, [3, 5], [1, 3], [1, 3]),
    (Segment::AboutToSleep, [2, 3], [1, 2], [1, 2]),
    (Segment::Promising, [3, 4], [1, 1], [1, 1]),
    (Segment::New, [4, 5], [1, 1], [1, 1]),
    (Segment::AtRisk, [1, 2], [2, 5], [2, 5]),
    (Segment::NeedAttention, [2, 3], [2, 3], [2, 3]),
    (Segment::CannotLoseThem, [1, 1], [4, 5], [4, 5]),
    (Segment::Hibernating, [1, 1], [1, 2], [1, 2]),
    (Segment::Lost, [1, 1], [1, 1], [1, 1]),
];

/// The segment of one customer's scores.
pub fn segment_of(r: u8, f: u8, m: u8) -> Segment {
    let within = |v: u8, [lo, hi]: [u8; 2]| (lo..=hi).contains(&v);
    TABLE
        .iter()
        .rev()
        .find(|(_, rr, fr, mr)| within(r, *rr) && within(f, *fr) && within(m, *mr))
        .map_or(Segment::Others, |(s, ..)| *s)
}

/// Scores and segment per customer, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RfmScores {
    pub recency: Vec<u8>,
    pub frequency: Vec<u8>,
    pub monetary: Vec<u8>,
    pub segment: Vec<Segment>,
}

/// Scores customers by quintile. `since_last`: time since the last purchase (lower is
/// better); `purchases`: number of purchases; `monetary`: spend (mean or total). Ties
/// share a score (each value gets the quintile of its average rank), so a base where
/// most customers bought once puts them all in one frequency score.
pub fn rfm_scores(
    since_last: &[f64],
    purchases: &[f64],
    monetary: &[f64],
) -> Result<RfmScores, ClvError> {
    let n = since_last.len();
    if n == 0 {
        return Err(ClvError::Empty { what: "customers" });
    }
    for (name, col) in [("purchases", purchases), ("monetary", monetary)] {
        if col.len() != n {
            return Err(ClvError::LengthMismatch {
                field: name,
                found: col.len(),
                expected: n,
                per: "customer",
            });
        }
    }
    for (name, col) in [
        ("time since the last purchase", since_last),
        ("purchases", purchases),
        ("monetary", monetary),
    ] {
        if let Some(row) = col.iter().position(|v| !v.is_finite()) {
            return Err(ClvError::NotFinite {
                field: name,
                row,
                value: col[row],
            });
        }
    }
    let recency: Vec<u8> = quintiles(since_last).into_iter().map(|q| 6 - q).collect();
    let frequency = quintiles(purchases);
    let monetary = quintiles(monetary);
    let segment = (0..n)
        .map(|i| segment_of(recency[i], frequency[i], monetary[i]))
        .collect();
    Ok(RfmScores {
        recency,
        frequency,
        monetary,
        segment,
    })
}

/// 1..=5 by the average rank of each value (ties share it): `ceil(5 · rank / n)`.
fn quintiles(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0u8; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let rank = (i + j + 2) as f64 / 2.0;
        let q = ((5.0 * rank / n as f64).ceil() as u8).clamp(1, 5);
        for &k in &order[i..=j] {
            out[k] = q;
        }
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_values_fill_each_quintile_equally() {
        let v: Vec<f64> = (0..100).map(|i| ((i * 37) % 100) as f64).collect();
        let q = quintiles(&v);
        for s in 1..=5 {
            assert_eq!(q.iter().filter(|&&x| x == s).count(), 20);
        }
        // The smallest value scores 1, the largest 5.
        let min = v.iter().position(|&x| x == 0.0).unwrap();
        let max = v.iter().position(|&x| x == 99.0).unwrap();
        assert_eq!((q[min], q[max]), (1, 5));
    }

    #[test]
    fn ties_share_a_score() {
        let q = quintiles(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(q[..6].iter().all(|&x| x == q[0]));
        assert_eq!(q[0], 2, "average rank 3.5 of 10 is in the second fifth");
        assert_eq!(q[9], 5);
    }

    #[test]
    fn later_rows_refine_earlier_ones() {
        assert_eq!(segment_of(5, 5, 5), Segment::Champions);
        assert_eq!(segment_of(3, 4, 4), Segment::Loyal);
        assert_eq!(segment_of(5, 2, 2), Segment::PotentialLoyalist);
        // Each of these refines an earlier row that also matches.
        assert_eq!(segment_of(5, 1, 1), Segment::New);
        assert_eq!(segment_of(3, 1, 1), Segment::Promising);
        assert_eq!(segment_of(2, 3, 3), Segment::NeedAttention);
        assert_eq!(segment_of(1, 5, 5), Segment::CannotLoseThem);
        assert_eq!(segment_of(1, 1, 1), Segment::Lost);
        assert_eq!(segment_of(2, 1, 2), Segment::AboutToSleep);
        assert_eq!(segment_of(1, 2, 1), Segment::Hibernating);
        assert_eq!(segment_of(2, 2, 2), Segment::NeedAttention);
        assert_eq!(segment_of(2, 4, 4), Segment::AtRisk);
        assert_eq!(segment_of(5, 2, 5), Segment::Others);
    }

    #[test]
    fn recent_frequent_big_spenders_are_champions_and_bad_input_is_named() {
        // Customer 0 bought yesterday, often and much; customer 9 long ago, once, little.
        let since: Vec<f64> = (0..10).map(|i| i as f64 * 10.0).collect();
        let purchases: Vec<f64> = (0..10).map(|i| 10.0 - i as f64).collect();
        let money: Vec<f64> = (0..10).map(|i| 100.0 - 9.0 * i as f64).collect();
        let s = rfm_scores(&since, &purchases, &money).unwrap();
        assert_eq!((s.recency[0], s.frequency[0], s.monetary[0]), (5, 5, 5));
        assert_eq!(s.segment[0], Segment::Champions);
        assert_eq!((s.recency[9], s.frequency[9], s.monetary[9]), (1, 1, 1));
        assert_eq!(s.segment[9], Segment::Lost);
        assert!(matches!(
            rfm_scores(&since, &purchases[..3], &money),
            Err(ClvError::LengthMismatch { .. })
        ));
        let mut bad = money.clone();
        bad[4] = f64::NAN;
        assert!(matches!(
            rfm_scores(&since, &purchases, &bad),
            Err(ClvError::NotFinite { row: 4, .. })
        ));
    }
}
