//! The models' inputs, checked once when built so the likelihoods can trust them:
//! [`Rfm`] (continuous time), [`Spend`] (Gamma-Gamma), [`Discrete`] (BG/BB patterns).
//! Views over the caller's slices: tens of millions of customers are not copied.

use crate::ClvError;

/// Per-customer sufficient statistics of the continuous-time models (lifetimes'
/// `frequency`, `recency`, `T`), optionally with a weight per row (a row standing for
/// that many customers with the same history).
#[derive(Debug, Clone, Copy)]
pub struct Rfm<'a> {
    /// x: repeat purchases (purchases after the first), a whole number.
    pub frequency: &'a [f64],
    /// t_x: time from the first to the last purchase (0 when x = 0).
    pub recency: &'a [f64],
    /// T: time from the first purchase to the end of observation.
    pub age: &'a [f64],
    pub weights: Option<&'a [f64]>,
}

pub(crate) fn check_finite(field: &'static str, values: &[f64]) -> Result<(), ClvError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(row) => Err(ClvError::NotFinite {
            field,
            row,
            value: values[row],
        }),
        None => Ok(()),
    }
}

pub(crate) fn check_non_negative(field: &'static str, values: &[f64]) -> Result<(), ClvError> {
    check_finite(field, values)?;
    match values.iter().position(|v| *v < 0.0) {
        Some(row) => Err(ClvError::Negative {
            field,
            row,
            value: values[row],
        }),
        None => Ok(()),
    }
}

pub(crate) fn check_counts(field: &'static str, values: &[f64]) -> Result<(), ClvError> {
    check_non_negative(field, values)?;
    match values.iter().position(|v| v.fract() != 0.0) {
        Some(row) => Err(ClvError::NotInteger {
            field,
            row,
            value: values[row],
        }),
        None => Ok(()),
    }
}

/// The largest count accepted (repeat purchases, opportunities): the likelihoods keep
/// per-count tables, and larger values are data errors (a timestamp in a count column).
pub const MAX_COUNT: f64 = 1_000_000.0;

pub(crate) fn check_max(field: &'static str, values: &[f64]) -> Result<(), ClvError> {
    match values.iter().position(|v| *v > MAX_COUNT) {
        Some(row) => Err(ClvError::InvalidOption {
            name: field,
            value: values[row],
            expected: "at most 1,000,000 (a count of purchases or opportunities)",
        }),
        None => Ok(()),
    }
}

pub(crate) fn check_length(
    field: &'static str,
    values: &[f64],
    expected: usize,
    per: &'static str,
) -> Result<(), ClvError> {
    if values.len() == expected {
        Ok(())
    } else {
        Err(ClvError::LengthMismatch {
            field,
            found: values.len(),
            expected,
            per,
        })
    }
}

pub(crate) fn check_weights(weights: &[f64], rows: usize) -> Result<(), ClvError> {
    check_length("weights", weights, rows, "row")?;
    check_non_negative("weights", weights)?;
    if weights.iter().sum::<f64>() > 0.0 {
        Ok(())
    } else {
        Err(ClvError::ZeroWeight)
    }
}

impl<'a> Rfm<'a> {
    /// Checks the statistics: equal lengths, at least one customer, whole non-negative
    /// frequencies, 0 ≤ recency ≤ T, recency 0 when there is no repeat purchase.
    pub fn new(frequency: &'a [f64], recency: &'a [f64], age: &'a [f64]) -> Result<Self, ClvError> {
        if frequency.is_empty() {
            return Err(ClvError::Empty { what: "customers" });
        }
        let n = frequency.len();
        check_length("recency", recency, n, "customer")?;
        check_length("T", age, n, "customer")?;
        check_counts("frequency", frequency)?;
        check_max("frequency", frequency)?;
        check_non_negative("recency", recency)?;
        check_non_negative("T", age)?;
        for row in 0..n {
            if recency[row] > age[row] {
                return Err(ClvError::RecencyAfterAge {
                    row,
                    recency: recency[row],
                    age: age[row],
                });
            }
            if frequency[row] == 0.0 && recency[row] != 0.0 {
                return Err(ClvError::RecencyWithoutRepeat {
                    row,
                    recency: recency[row],
                });
            }
        }
        Ok(Rfm {
            frequency,
            recency,
            age,
            weights: None,
        })
    }

    /// The same customers, row i standing for `weights[i]` customers.
    pub fn with_weights(self, weights: &'a [f64]) -> Result<Self, ClvError> {
        check_weights(weights, self.len())?;
        Ok(Rfm {
            weights: Some(weights),
            ..self
        })
    }

    pub fn len(&self) -> usize {
        self.frequency.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frequency.is_empty()
    }

    pub fn weight(&self, row: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[row])
    }

    /// Σ weights: the number of customers.
    pub fn total_weight(&self) -> f64 {
        self.weights.map_or(self.len() as f64, |w| w.iter().sum())
    }

    /// Every `step`-th row: the subsample large fits start from.
    pub(crate) fn stride(&self, step: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
        let pick = |v: &[f64]| v.iter().step_by(step).copied().collect::<Vec<f64>>();
        (
            pick(self.frequency),
            pick(self.recency),
            pick(self.age),
            self.weights.map(pick),
        )
    }
}

/// Gamma-Gamma input: per customer the number of repeat purchases x and the mean value
/// of those purchases (lifetimes' `monetary_value`, the papers' z̄ or m_x). Rows with
/// x = 0 carry no spend information and are skipped by the fit.
#[derive(Debug, Clone, Copy)]
pub struct Spend<'a> {
    pub frequency: &'a [f64],
    pub monetary: &'a [f64],
    pub weights: Option<&'a [f64]>,
}

impl<'a> Spend<'a> {
    /// Checks: equal lengths, whole non-negative frequencies, monetary values finite and
    /// not negative, and positive wherever x > 0 (a repeat buyer's mean spend).
    pub fn new(frequency: &'a [f64], monetary: &'a [f64]) -> Result<Self, ClvError> {
        if frequency.is_empty() {
            return Err(ClvError::Empty { what: "customers" });
        }
        check_length("monetary value", monetary, frequency.len(), "customer")?;
        check_counts("frequency", frequency)?;
        check_max("frequency", frequency)?;
        check_non_negative("monetary value", monetary)?;
        if let Some(row) = (0..frequency.len()).find(|&i| frequency[i] > 0.0 && monetary[i] <= 0.0)
        {
            return Err(ClvError::Inconsistent {
                row,
                message: format!(
                    "a repeat buyer (frequency {}) has mean spend {}; Gamma-Gamma needs positive \
                     spend (drop returns or zero-value orders first)",
                    frequency[row], monetary[row]
                ),
            });
        }
        if !frequency.iter().any(|x| *x > 0.0) {
            return Err(ClvError::Empty {
                what: "repeat buyers (frequency > 0)",
            });
        }
        Ok(Spend {
            frequency,
            monetary,
            weights: None,
        })
    }

    pub fn with_weights(self, weights: &'a [f64]) -> Result<Self, ClvError> {
        check_weights(weights, self.frequency.len())?;
        Ok(Spend {
            weights: Some(weights),
            ..self
        })
    }

    pub fn len(&self) -> usize {
        self.frequency.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frequency.is_empty()
    }

    pub fn weight(&self, row: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[row])
    }
}

/// Discrete-time (BG/BB) input: one row per purchase pattern over `periods` transaction
/// opportunities after the first — x transactions, the last in opportunity t_x — with
/// the number of customers showing it (Fader, Hardie & Shang 2010's recency/frequency
/// table; lifetimes' `frequency, recency, n_periods, weights`).
#[derive(Debug, Clone, Copy)]
pub struct Discrete<'a> {
    pub frequency: &'a [f64],
    pub recency: &'a [f64],
    pub periods: &'a [f64],
    pub weights: Option<&'a [f64]>,
}

impl<'a> Discrete<'a> {
    /// Checks: whole numbers with x ≤ t_x ≤ n, t_x = 0 exactly when x = 0.
    pub fn new(
        frequency: &'a [f64],
        recency: &'a [f64],
        periods: &'a [f64],
    ) -> Result<Self, ClvError> {
        if frequency.is_empty() {
            return Err(ClvError::Empty { what: "customers" });
        }
        let n = frequency.len();
        check_length("recency", recency, n, "row")?;
        check_length("periods", periods, n, "row")?;
        check_counts("frequency", frequency)?;
        check_counts("recency", recency)?;
        check_counts("periods", periods)?;
        check_max("periods", periods)?;
        for row in 0..n {
            let (x, tx, p) = (frequency[row], recency[row], periods[row]);
            if tx > p {
                return Err(ClvError::RecencyAfterAge {
                    row,
                    recency: tx,
                    age: p,
                });
            }
            if x == 0.0 && tx != 0.0 {
                return Err(ClvError::RecencyWithoutRepeat { row, recency: tx });
            }
            if x > tx {
                return Err(ClvError::Inconsistent {
                    row,
                    message: format!(
                        "{x} transactions cannot fit in the first {tx} opportunities (frequency \
                         must not exceed recency)"
                    ),
                });
            }
        }
        Ok(Discrete {
            frequency,
            recency,
            periods,
            weights: None,
        })
    }

    pub fn with_weights(self, weights: &'a [f64]) -> Result<Self, ClvError> {
        check_weights(weights, self.frequency.len())?;
        Ok(Discrete {
            weights: Some(weights),
            ..self
        })
    }

    pub fn len(&self) -> usize {
        self.frequency.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frequency.is_empty()
    }

    pub fn weight(&self, row: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[row])
    }

    pub fn total_weight(&self) -> f64 {
        self.weights.map_or(self.len() as f64, |w| w.iter().sum())
    }
}

/// Customers with identical (x, t_x, T) merged into one weighted row: real summaries in
/// whole days repeat the same histories many times over (every one-time buyer of a
/// given day is one row), so a fit on the compressed table is the same fit, faster.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Compressed {
    pub frequency: Vec<f64>,
    pub recency: Vec<f64>,
    pub age: Vec<f64>,
    /// Customers (summed weights) per row.
    pub weights: Vec<f64>,
    /// For every input row, the row of the compressed table that holds it.
    pub row_of: Vec<usize>,
}

impl Compressed {
    /// Merges identical rows of checked data (first occurrence order); existing weights
    /// add up.
    pub fn new(data: &Rfm) -> Compressed {
        let mut index: std::collections::HashMap<(u64, u64, u64), usize> =
            std::collections::HashMap::new();
        let mut out = Compressed {
            row_of: Vec::with_capacity(data.len()),
            ..Compressed::default()
        };
        for i in 0..data.len() {
            let key = (
                data.frequency[i].to_bits(),
                data.recency[i].to_bits(),
                data.age[i].to_bits(),
            );
            let row = *index.entry(key).or_insert_with(|| {
                out.frequency.push(data.frequency[i]);
                out.recency.push(data.recency[i]);
                out.age.push(data.age[i]);
                out.weights.push(0.0);
                out.frequency.len() - 1
            });
            out.weights[row] += data.weight(i);
            out.row_of.push(row);
        }
        out
    }

    /// The compressed table as model input.
    pub fn rfm(&self) -> Rfm<'_> {
        Rfm {
            frequency: &self.frequency,
            recency: &self.recency,
            age: &self.age,
            weights: Some(&self.weights),
        }
    }

    /// Per-row results on the compressed table spread back to the input rows (NaN for
    /// a row `per_row` does not reach).
    pub fn expand(&self, per_row: &[f64]) -> Vec<f64> {
        self.row_of
            .iter()
            .map(|&r| per_row.get(r).copied().unwrap_or(f64::NAN))
            .collect()
    }
}
