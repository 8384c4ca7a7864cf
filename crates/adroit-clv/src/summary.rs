//! Per-customer RFM statistics from a transaction log, as lifetimes'
//! `summary_data_from_transaction_data` and `calibration_and_holdout_data` compute them.
//!
//! - Purchases of a customer in the same period (day or week) are merged into one, their
//!   amounts added: the models count purchase occasions, not order lines.
//! - The first period's purchase is the acquisition; **frequency** x counts the later
//!   periods with purchases, **recency** t_x is the time from the first to the last of
//!   them, **T** (`age`) the time from the first to the calibration end, and **monetary
//!   value** the mean amount of the repeat periods (0 when x = 0).
//! - Times are measured between period starts (lifetimes' `to_period().to_timestamp()`)
//!   and divided by `unit_days`: periods of a day with `unit_days = 7` is the BG/NBD
//!   paper's CDNOW summary (days / 7); weekly periods give whole weeks.
//! - Periods, not days, are assigned to calibration and holdout: the calibration holds
//!   every period up to the one containing the calibration end (with weekly periods, the
//!   whole last week, as lifetimes' `summary_data_from_transaction_data(freq="W")`
//!   does), the holdout the periods after it up to the one containing the holdout end.
//!   With daily periods this is lifetimes' `calibration_and_holdout_data` exactly; with
//!   weekly ones lifetimes splits the straddling week by date instead, so the week's
//!   purchases can count in both.
//! - Customers whose first purchase is after the calibration period are not in the
//!   summary (they were not yet customers).
//!
//! Customers are `u64` ids: a door interns its string ids, keeping the mapping.

use crate::ClvError;
use crate::data::Rfm;
use serde::{Deserialize, Serialize};

/// One purchase. `time` is a day number (days since 1970-01-01 for dates).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    pub customer: u64,
    pub time: i32,
    pub amount: f64,
}

/// The period within which a customer's purchases count as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    /// Monday-to-Sunday weeks (pandas' `W`, which lifetimes uses for `freq = "W"`).
    Week,
}

impl Period {
    /// The period of a day, and the day on which that period starts.
    fn of(self, day: i32) -> (i64, i64) {
        match self {
            Period::Day => (day as i64, day as i64),
            // 1970-01-05 (day 4) was a Monday.
            Period::Week => {
                let k = (day as i64 - 4).div_euclid(7);
                (k, 4 + 7 * k)
            }
        }
    }
}

/// What to summarise over.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SummaryOptions {
    /// Last day of the calibration period (inclusive; its whole period counts).
    pub calibration_end: i32,
    /// Last day of the holdout period (inclusive; its whole period counts); `None` for
    /// no holdout.
    pub holdout_end: Option<i32>,
    pub period: Period,
    /// Length of the reported time unit in days (1 = days, 7 = weeks).
    pub unit_days: f64,
}

/// Holdout counts per customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holdout {
    /// Purchase periods in (calibration end, holdout end].
    pub frequency: Vec<f64>,
    /// Mean amount of those periods (0 if none).
    pub monetary: Vec<f64>,
    /// Length of the holdout in the time unit.
    pub duration: f64,
}

/// One row per customer, sorted by customer id; columns as vectors (the models' input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RfmSummary {
    pub customer: Vec<u64>,
    pub frequency: Vec<f64>,
    pub recency: Vec<f64>,
    /// T: time from the first purchase to the calibration end.
    pub age: Vec<f64>,
    /// Mean amount of the repeat purchase periods (0 when frequency is 0).
    pub monetary: Vec<f64>,
    /// Day of the first purchase (acquisition cohorts).
    pub first_purchase: Vec<i32>,
    pub holdout: Option<Holdout>,
    pub unit_days: f64,
    /// Customers left out because their first purchase is after the calibration end.
    pub acquired_after_calibration: usize,
    /// Transactions in periods after the end of observation (the holdout end, or the
    /// calibration end when there is no holdout), ignored.
    pub transactions_after_end: usize,
}

impl RfmSummary {
    /// The calibration statistics as model input.
    pub fn rfm(&self) -> Result<Rfm<'_>, ClvError> {
        Rfm::new(&self.frequency, &self.recency, &self.age)
    }

    pub fn len(&self) -> usize {
        self.customer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }
}

/// Builds the summary. Errors on an empty log, a non-finite or negative amount, or
/// options out of range; never panics.
pub fn summarize(
    transactions: &[Transaction],
    options: &SummaryOptions,
) -> Result<RfmSummary, ClvError> {
    if transactions.is_empty() {
        return Err(ClvError::Empty {
            what: "transactions",
        });
    }
    if !(options.unit_days.is_finite() && options.unit_days > 0.0) {
        return Err(ClvError::InvalidOption {
            name: "unit_days",
            value: options.unit_days,
            expected: "a positive number of days (1 = days, 7 = weeks)",
        });
    }
    if let Some(end) = options.holdout_end
        && end <= options.calibration_end
    {
        return Err(ClvError::InvalidOption {
            name: "holdout_end",
            value: end as f64,
            expected: "a day after the calibration end",
        });
    }
    for (row, t) in transactions.iter().enumerate() {
        if !t.amount.is_finite() {
            return Err(ClvError::NotFinite {
                field: "amount",
                row,
                value: t.amount,
            });
        }
        if t.amount < 0.0 {
            return Err(ClvError::Negative {
                field: "amount",
                row,
                value: t.amount,
            });
        }
    }
    let period = options.period;
    let (end_period, _) = period.of(options.holdout_end.unwrap_or(options.calibration_end));
    // (customer, period, period start, amount, day)
    let mut rows: Vec<(u64, i64, i64, f64, i32)> = Vec::with_capacity(transactions.len());
    let mut after_end = 0;
    for t in transactions {
        let (p, start) = period.of(t.time);
        if p > end_period {
            after_end += 1;
            continue;
        }
        rows.push((t.customer, p, start, t.amount, t.time));
    }
    rows.sort_unstable_by_key(|r| (r.0, r.1));
    let (cal_period, cal_start) = period.of(options.calibration_end);
    let holdout_start = options.holdout_end.map(|h| period.of(h).1);
    let unit = options.unit_days;

    let mut out = RfmSummary {
        customer: Vec::new(),
        frequency: Vec::new(),
        recency: Vec::new(),
        age: Vec::new(),
        monetary: Vec::new(),
        first_purchase: Vec::new(),
        holdout: None,
        unit_days: unit,
        acquired_after_calibration: 0,
        transactions_after_end: after_end,
    };
    let (mut h_freq, mut h_money) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < rows.len() {
        let customer = rows[i].0;
        let mut j = i;
        while j < rows.len() && rows[j].0 == customer {
            j += 1;
        }
        let first_day = rows[i..j]
            .iter()
            .map(|r| r.4)
            .min()
            .unwrap_or(options.calibration_end);
        // Merge purchases per period: (period, start, amount).
        let mut periods: Vec<(i64, i64, f64)> = Vec::new();
        for r in &rows[i..j] {
            match periods.last_mut() {
                Some(last) if last.0 == r.1 => last.2 += r.3,
                _ => periods.push((r.1, r.2, r.3)),
            }
        }
        i = j;
        let first = periods[0];
        if first.0 > cal_period {
            out.acquired_after_calibration += 1;
            continue;
        }
        let calibration: Vec<&(i64, i64, f64)> =
            periods.iter().filter(|p| p.0 <= cal_period).collect();
        let repeats = &calibration[1..];
        let last = calibration[calibration.len() - 1];
        out.customer.push(customer);
        out.frequency.push(repeats.len() as f64);
        out.recency.push((last.1 - first.1) as f64 / unit);
        out.age.push((cal_start - first.1) as f64 / unit);
        out.monetary.push(if repeats.is_empty() {
            0.0
        } else {
            repeats.iter().map(|p| p.2).sum::<f64>() / repeats.len() as f64
        });
        out.first_purchase.push(first_day);
        if options.holdout_end.is_some() {
            let later: Vec<f64> = periods
                .iter()
                .filter(|p| p.0 > cal_period)
                .map(|p| p.2)
                .collect();
            h_freq.push(later.len() as f64);
            h_money.push(if later.is_empty() {
                0.0
            } else {
                later.iter().sum::<f64>() / later.len() as f64
            });
        }
    }
    if let Some(h_start) = holdout_start {
        out.holdout = Some(Holdout {
            frequency: h_freq,
            monetary: h_money,
            duration: (h_start - cal_start) as f64 / unit,
        });
    }
    if out.customer.is_empty() {
        return Err(ClvError::Empty {
            what: "customers acquired by the calibration end",
        });
    }
    Ok(out)
}

/// Day number (days since 1970-01-01) of a civil date, for callers without a date
/// library (H. Hinnant's algorithm).
pub fn day_number(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers() {
        assert_eq!(day_number(1970, 1, 1), 0);
        assert_eq!(day_number(1970, 1, 5), 4);
        assert_eq!(day_number(1997, 9, 30) - day_number(1997, 1, 1), 272);
        assert_eq!(day_number(2000, 3, 1) - day_number(2000, 2, 28), 2);
    }

    #[test]
    fn merges_same_day_and_counts_holdout() {
        let t = |customer, time, amount| Transaction {
            customer,
            time,
            amount,
        };
        let log = [
            t(1, 0, 10.0),
            t(1, 0, 5.0),
            t(1, 7, 20.0),
            t(1, 14, 40.0),
            t(1, 30, 9.0),
            t(2, 10, 3.0),
            t(3, 25, 1.0),
        ];
        let s = summarize(
            &log,
            &SummaryOptions {
                calibration_end: 21,
                holdout_end: Some(35),
                period: Period::Day,
                unit_days: 7.0,
            },
        )
        .unwrap();
        assert_eq!(s.customer, vec![1, 2]);
        assert_eq!(s.frequency, vec![2.0, 0.0]);
        assert_eq!(s.recency, vec![2.0, 0.0]);
        assert_eq!(s.age, vec![3.0, 11.0 / 7.0]);
        assert_eq!(s.monetary, vec![30.0, 0.0]);
        assert_eq!(s.acquired_after_calibration, 1);
        let h = s.holdout.unwrap();
        assert_eq!(h.frequency, vec![1.0, 0.0]);
        assert_eq!(h.duration, 2.0);
    }
}
