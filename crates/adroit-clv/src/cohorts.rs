//! Acquisition cohorts: of the customers who first bought in a month, the share who
//! bought again in each later month (the retention matrix marketers read row by row),
//! overall and by the channel of the first purchase; and the repurchase rate.

use crate::ClvError;
use crate::summary::Transaction;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One acquisition month's row of the retention matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    /// The acquisition month, `YYYY-MM`.
    pub month: String,
    pub customers: usize,
    /// `retention[k]`: share of the cohort with a purchase in month k after acquisition
    /// (k = 0 is the acquisition month itself, always 1). Months after the data's last
    /// month are absent, so later cohorts have shorter rows.
    pub retention: Vec<f64>,
}

/// Cohorts, the repurchase rate and, when the transactions carry one, retention by
/// acquisition channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cohorts {
    pub cohorts: Vec<Cohort>,
    /// Share of customers who bought on more than one day.
    pub repurchase_rate: f64,
    /// Per acquisition channel: customers, and the customer-weighted mean retention k
    /// months after acquisition over the cohorts that have reached month k.
    pub by_channel: BTreeMap<String, ChannelRetention>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRetention {
    pub customers: usize,
    pub repurchase_rate: f64,
    pub retention: Vec<f64>,
}

fn month_index(day: i32) -> Result<(i32, NaiveDate), ClvError> {
    // Day 0 is 1970-01-01, which is day 719,163 counted from 0001-01-01.
    let date =
        NaiveDate::from_num_days_from_ce_opt(day + 719_163).ok_or(ClvError::InvalidOption {
            name: "transaction day",
            value: f64::from(day),
            expected: "a day number of a calendar date",
        })?;
    let first = NaiveDate::from_ymd_opt(date.year(), date.month(), 1).expect("valid month");
    Ok((date.year() * 12 + date.month0() as i32, first))
}

/// The retention matrix of `transactions` (`time` = days since 1970-01-01, as
/// [`crate::summary::day_number`] gives). `channels[i]`, when given, is the channel of
/// transaction i; a customer's acquisition channel is that of their first transaction.
pub fn cohorts(
    transactions: &[Transaction],
    channels: Option<&[String]>,
) -> Result<Cohorts, ClvError> {
    if transactions.is_empty() {
        return Err(ClvError::Empty {
            what: "transactions",
        });
    }
    if let Some(c) = channels
        && c.len() != transactions.len()
    {
        return Err(ClvError::LengthMismatch {
            field: "channels",
            found: c.len(),
            expected: transactions.len(),
            per: "transaction",
        });
    }
    // Per customer: first day (and its transaction), months with a purchase, days.
    struct Seen {
        first_day: i32,
        first_tx: usize,
        months: Vec<i32>,
        days: Vec<i32>,
    }
    let mut seen: HashMap<u64, Seen> = HashMap::new();
    let mut last_month = i32::MIN;
    let mut firsts: HashMap<i32, NaiveDate> = HashMap::new();
    for (i, t) in transactions.iter().enumerate() {
        let (m, first) = month_index(t.time)?;
        firsts.insert(m, first);
        last_month = last_month.max(m);
        let e = seen.entry(t.customer).or_insert(Seen {
            first_day: t.time,
            first_tx: i,
            months: Vec::new(),
            days: Vec::new(),
        });
        if t.time < e.first_day {
            e.first_day = t.time;
            e.first_tx = i;
        }
        e.months.push(m);
        e.days.push(t.time);
    }
    // Cohort month → customers' month sets; channel → the same.
    let mut by_month: BTreeMap<i32, Vec<Vec<i32>>> = BTreeMap::new();
    let mut by_channel: BTreeMap<String, Vec<(i32, Vec<i32>, bool)>> = BTreeMap::new();
    let mut repeaters = 0usize;
    for s in seen.values_mut() {
        let (start, _) = month_index(s.first_day)?;
        s.months.sort_unstable();
        s.months.dedup();
        s.days.sort_unstable();
        s.days.dedup();
        let repeat = s.days.len() > 1;
        repeaters += usize::from(repeat);
        let offsets: Vec<i32> = s.months.iter().map(|m| m - start).collect();
        if let Some(c) = channels {
            by_channel.entry(c[s.first_tx].clone()).or_default().push((
                start,
                offsets.clone(),
                repeat,
            ));
        }
        by_month.entry(start).or_default().push(offsets);
    }
    let cohorts = by_month
        .iter()
        .map(|(&m, members)| {
            let horizon = (last_month - m) as usize + 1;
            let mut counts = vec![0usize; horizon];
            for offsets in members {
                for &k in offsets {
                    counts[k as usize] += 1;
                }
            }
            Cohort {
                month: firsts[&m].format("%Y-%m").to_string(),
                customers: members.len(),
                retention: counts
                    .iter()
                    .map(|&c| c as f64 / members.len() as f64)
                    .collect(),
            }
        })
        .collect();
    let by_channel = by_channel
        .into_iter()
        .map(|(channel, members)| {
            let longest = members
                .iter()
                .map(|(start, ..)| (last_month - start) as usize + 1)
                .max()
                .unwrap_or(1);
            let mut hits = vec![0usize; longest];
            let mut eligible = vec![0usize; longest];
            for (start, offsets, _) in &members {
                let reach = (last_month - start) as usize + 1;
                for e in eligible.iter_mut().take(reach) {
                    *e += 1;
                }
                for &k in offsets {
                    hits[k as usize] += 1;
                }
            }
            let retention = hits
                .iter()
                .zip(&eligible)
                .map(|(&h, &e)| h as f64 / e.max(1) as f64)
                .collect();
            let repeat = members.iter().filter(|m| m.2).count();
            (
                channel,
                ChannelRetention {
                    customers: members.len(),
                    repurchase_rate: repeat as f64 / members.len() as f64,
                    retention,
                },
            )
        })
        .collect();
    Ok(Cohorts {
        cohorts,
        repurchase_rate: repeaters as f64 / seen.len() as f64,
        by_channel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::day_number;

    fn tx(customer: u64, y: i32, m: u32, d: u32) -> Transaction {
        Transaction {
            customer,
            time: day_number(y, m, d),
            amount: 10.0,
        }
    }

    #[test]
    fn a_hand_counted_matrix() {
        // January cohort: customers 1, 2 (1 comes back in February and April, 2 twice
        // on one January day only). February cohort: customer 3, back in March.
        let t = vec![
            tx(1, 2024, 1, 5),
            tx(2, 2024, 1, 9),
            tx(2, 2024, 1, 9),
            tx(1, 2024, 2, 1),
            tx(3, 2024, 2, 20),
            tx(3, 2024, 3, 2),
            tx(1, 2024, 4, 30),
        ];
        let channels: Vec<String> = ["tv", "search", "search", "tv", "search", "tv", "tv"]
            .map(String::from)
            .to_vec();
        let c = cohorts(&t, Some(&channels)).unwrap();
        assert_eq!(c.cohorts.len(), 2);
        let jan = &c.cohorts[0];
        assert_eq!(jan.month, "2024-01");
        assert_eq!(jan.customers, 2);
        assert_eq!(jan.retention, vec![1.0, 0.5, 0.0, 0.5]);
        assert_eq!(c.cohorts[1].retention, vec![1.0, 1.0, 0.0]);
        // Customers 1 and 3 bought on two or more days; 2 on one day only.
        assert!((c.repurchase_rate - 2.0 / 3.0).abs() < 1e-12);
        // Acquired by tv: customer 1; by search: 2 and 3 (3's return came through tv).
        assert_eq!(c.by_channel["tv"].customers, 1);
        assert_eq!(c.by_channel["search"].customers, 2);
        assert_eq!(c.by_channel["search"].retention[..3], [1.0, 0.5, 0.0]);
        assert_eq!(c.by_channel["search"].repurchase_rate, 0.5);
        assert!(cohorts(&[], None).is_err());
        assert!(cohorts(&t, Some(&channels[..2])).is_err());
    }
}
