//! Preprocessing that travels with the model: missing-value fills, one-hot encoding and
//! standardisation are fitted on the training frame and stored in the model file, so
//! prediction applies exactly what training did.
//!
//! Policies (documented for users in README):
//! - a missing number is filled with the training median;
//! - a missing category is its own level, `(missing)`;
//! - a category not seen in training is an error ([`Unseen::Error`], the default) or
//!   encodes as all-zero dummies ([`Unseen::Ignore`]);
//! - columns the model does not use are ignored; a feature column that is absent, or
//!   holds text where training had numbers, is an error naming the column and row.

use crate::data::{ColumnKind, Frame, Matrix, Values};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The level a missing category becomes.
pub const MISSING_LEVEL: &str = "(missing)";

/// What to do with a category that training never saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unseen {
    #[default]
    Error,
    /// Encode as all zeros: the row gets no category effect (linear) or follows the
    /// "not this level" branch of every split (trees).
    Ignore,
}

/// Why a frame does not fit a fitted encoder.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    #[error("column `{column}` is missing; the model needs it (columns present: {present})")]
    MissingColumn { column: String, present: String },
    #[error(
        "column `{column}` holds text (row {row}: `{value}`) but the model was trained on numbers; fix or remove that value"
    )]
    NotNumeric {
        column: String,
        row: u64,
        value: String,
    },
    #[error(
        "column `{column}` row {row} has the category `{value}`, which training never saw (known: {known}); pass --unseen ignore to encode it as no category"
    )]
    UnseenCategory {
        column: String,
        row: u64,
        value: String,
        known: String,
    },
    #[error("numeric feature `{0}` has no values at all in the training data")]
    AllMissing(String),
    #[error("the data has no rows")]
    NoRows,
}

/// How one raw feature becomes encoded columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeatureEncoding {
    Numeric {
        name: String,
        /// The training median, used for missing values.
        fill: f64,
    },
    Categorical {
        name: String,
        /// One encoded column per level, in this order.
        levels: Vec<String>,
        /// The reference level left out (OLS with an intercept), if any.
        dropped: Option<String>,
    },
}

impl FeatureEncoding {
    pub fn name(&self) -> &str {
        match self {
            FeatureEncoding::Numeric { name, .. } | FeatureEncoding::Categorical { name, .. } => {
                name
            }
        }
    }

    fn width(&self) -> usize {
        match self {
            FeatureEncoding::Numeric { .. } => 1,
            FeatureEncoding::Categorical { levels, .. } => levels.len(),
        }
    }
}

/// Fitting choices.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EncodeOptions {
    /// Scale every encoded column to mean 0 and (population) standard deviation 1:
    /// penalised linear models need comparable scales.
    pub standardize: bool,
    /// Leave out each category's first level (a model with an intercept and all levels
    /// is collinear).
    pub drop_first: bool,
}

/// A fitted encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoder {
    pub features: Vec<FeatureEncoding>,
    /// Per encoded column (mean, scale) when standardising; a constant column has
    /// scale 1 and so encodes as 0.
    pub scaling: Option<Vec<(f64, f64)>>,
    #[serde(default)]
    pub unseen: Unseen,
}

impl Encoder {
    /// Learns fills, levels and scales from `frame`'s `features`.
    pub fn fit(
        frame: &Frame,
        features: &[String],
        opts: EncodeOptions,
    ) -> Result<Encoder, SchemaError> {
        if frame.rows() == 0 {
            return Err(SchemaError::NoRows);
        }
        let mut encodings = Vec::with_capacity(features.len());
        for name in features {
            let column = find(frame, name)?;
            encodings.push(match &column.values {
                Values::Numeric(v) => {
                    let mut present: Vec<f64> =
                        v.iter().copied().filter(|x| x.is_finite()).collect();
                    if present.is_empty() {
                        return Err(SchemaError::AllMissing(name.clone()));
                    }
                    let m = present.len();
                    let (below, &mut upper, _) =
                        present.select_nth_unstable_by(m / 2, f64::total_cmp);
                    let fill = if m % 2 == 1 {
                        upper
                    } else {
                        let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        (lower + upper) / 2.0
                    };
                    FeatureEncoding::Numeric {
                        name: name.clone(),
                        fill,
                    }
                }
                Values::Categorical(v) => {
                    let mut levels: Vec<String> = v
                        .iter()
                        .map(|x| x.as_deref().unwrap_or(MISSING_LEVEL))
                        .collect::<foldhash::HashSet<&str>>()
                        .into_iter()
                        .map(String::from)
                        .collect();
                    levels.sort_unstable();
                    let dropped = if opts.drop_first && !levels.is_empty() {
                        Some(levels.remove(0))
                    } else {
                        None
                    };
                    FeatureEncoding::Categorical {
                        name: name.clone(),
                        levels,
                        dropped,
                    }
                }
            });
        }
        let mut encoder = Encoder {
            features: encodings,
            scaling: None,
            unseen: Unseen::Error,
        };
        if opts.standardize {
            let x = encoder.transform(frame)?;
            let scaling = (0..x.cols())
                .map(|j| {
                    let c = x.col(j);
                    let n = c.len() as f64;
                    let mean = c.iter().sum::<f64>() / n;
                    let var = c.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                    let sd = var.sqrt();
                    (
                        mean,
                        if sd > 1e-12 * mean.abs().max(1.0) {
                            sd
                        } else {
                            1.0
                        },
                    )
                })
                .collect();
            encoder.scaling = Some(scaling);
        }
        Ok(encoder)
    }

    /// Names of the encoded columns: a number keeps its name, a category level is
    /// `column=level`.
    pub fn column_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for f in &self.features {
            match f {
                FeatureEncoding::Numeric { name, .. } => names.push(name.clone()),
                FeatureEncoding::Categorical { name, levels, .. } => {
                    names.extend(levels.iter().map(|l| format!("{name}={l}")))
                }
            }
        }
        names
    }

    /// Each raw feature and the encoded columns it spans (explanations and permutation
    /// importance work per raw feature).
    pub fn groups(&self) -> Vec<(String, Range<usize>)> {
        let mut start = 0;
        self.features
            .iter()
            .map(|f| {
                let r = start..start + f.width();
                start = r.end;
                (f.name().to_string(), r)
            })
            .collect()
    }

    pub fn feature_names(&self) -> Vec<String> {
        self.features.iter().map(|f| f.name().to_string()).collect()
    }

    /// Encodes `frame` into the model's columns.
    pub fn transform(&self, frame: &Frame) -> Result<Matrix, SchemaError> {
        let n = frame.rows();
        let mut columns: Vec<Vec<f64>> = Vec::new();
        for f in &self.features {
            let column = find(frame, f.name())?;
            match (f, &column.values) {
                (FeatureEncoding::Numeric { fill, .. }, Values::Numeric(v)) => {
                    columns.push(
                        v.iter()
                            .map(|x| if x.is_finite() { *x } else { *fill })
                            .collect(),
                    );
                }
                (FeatureEncoding::Numeric { fill, name }, Values::Categorical(v)) => {
                    // Text where numbers were trained: accept it only if every value parses.
                    let mut out = Vec::with_capacity(n);
                    for (i, s) in v.iter().enumerate() {
                        match s.as_deref().map(str::trim) {
                            None | Some("") => out.push(*fill),
                            Some(s) => match s.parse::<f64>() {
                                Ok(x) if x.is_finite() => out.push(x),
                                _ => {
                                    return Err(SchemaError::NotNumeric {
                                        column: name.clone(),
                                        row: frame.source_row(i),
                                        value: s.to_string(),
                                    });
                                }
                            },
                        }
                    }
                    columns.push(out);
                }
                (
                    FeatureEncoding::Categorical {
                        name,
                        levels,
                        dropped,
                    },
                    values,
                ) => {
                    let formatted: Vec<Option<String>>;
                    let text: &[Option<String>] = match values {
                        Values::Categorical(v) => v,
                        // Numbers where categories were trained (codes that happen to be
                        // all numeric here): compare them as text.
                        Values::Numeric(v) => {
                            formatted = v
                                .iter()
                                .map(|x| x.is_finite().then(|| format!("{x}")))
                                .collect();
                            &formatted
                        }
                    };
                    // A fast (non-cryptographic) hash: one lookup per cell is most of
                    // the encoding time.
                    let index: foldhash::HashMap<&str, usize> = levels
                        .iter()
                        .enumerate()
                        .map(|(k, l)| (l.as_str(), k))
                        .collect();
                    let mut dummies = vec![vec![0.0; n]; levels.len()];
                    for (i, s) in text.iter().enumerate() {
                        let s = s.as_deref().unwrap_or(MISSING_LEVEL);
                        match index.get(s) {
                            Some(&k) => dummies[k][i] = 1.0,
                            None if dropped.as_deref() == Some(s) => {}
                            None if self.unseen == Unseen::Ignore => {}
                            None => {
                                let mut known: Vec<&str> =
                                    levels.iter().map(String::as_str).collect();
                                known.extend(dropped.as_deref());
                                known.sort();
                                return Err(SchemaError::UnseenCategory {
                                    column: name.clone(),
                                    row: frame.source_row(i),
                                    value: s.to_string(),
                                    known: known.join(", "),
                                });
                            }
                        }
                    }
                    columns.extend(dummies);
                }
            }
        }
        if let Some(scaling) = &self.scaling {
            for (c, (mean, scale)) in columns.iter_mut().zip(scaling) {
                for v in c.iter_mut() {
                    *v = (*v - mean) / scale;
                }
            }
        }
        Ok(Matrix::from_columns(n, columns))
    }
}

fn find<'a>(frame: &'a Frame, name: &str) -> Result<&'a crate::data::Column, SchemaError> {
    frame
        .column(name)
        .ok_or_else(|| SchemaError::MissingColumn {
            column: name.to_string(),
            present: frame.names().join(", "),
        })
}

/// The kind each raw feature must have, for `model.json` readers.
pub fn kinds(encoder: &Encoder) -> Vec<(String, ColumnKind)> {
    encoder
        .features
        .iter()
        .map(|f| {
            (
                f.name().to_string(),
                match f {
                    FeatureEncoding::Numeric { .. } => ColumnKind::Numeric,
                    FeatureEncoding::Categorical { .. } => ColumnKind::Categorical,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Column;

    fn frame() -> Frame {
        Frame::new(vec![
            Column {
                name: "x".into(),
                values: Values::Numeric(vec![1.0, f64::NAN, 3.0, 5.0]),
            },
            Column {
                name: "c".into(),
                values: Values::Categorical(vec![
                    Some("b".into()),
                    Some("a".into()),
                    None,
                    Some("b".into()),
                ]),
            },
        ])
    }

    #[test]
    fn fills_one_hot_and_scaling_are_learned_and_replayed() {
        let f = frame();
        let names = vec!["x".to_string(), "c".to_string()];
        let e = Encoder::fit(&f, &names, EncodeOptions::default()).unwrap();
        assert_eq!(e.column_names(), ["x", "c=(missing)", "c=a", "c=b"]);
        let m = e.transform(&f).unwrap();
        assert_eq!(m.col(0), &[1.0, 3.0, 3.0, 5.0]);
        assert_eq!(m.col(3), &[1.0, 0.0, 0.0, 1.0]);
        let s = Encoder::fit(
            &f,
            &names,
            EncodeOptions {
                standardize: true,
                drop_first: true,
            },
        )
        .unwrap();
        let m = s.transform(&f).unwrap();
        assert_eq!(m.cols(), 3);
        for j in 0..m.cols() {
            let mean: f64 = m.col(j).iter().sum::<f64>() / 4.0;
            let var: f64 = m.col(j).iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
            assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn schema_mismatches_are_named() {
        let f = frame();
        let e = Encoder::fit(&f, &["x".into(), "c".into()], EncodeOptions::default()).unwrap();
        let mut other = f.clone();
        other.columns[1].values = Values::Categorical(vec![Some("z".into()), None, None, None]);
        let err = e.transform(&other).unwrap_err();
        assert!(
            err.to_string().contains("row 1 has the category `z`"),
            "{err}"
        );
        let mut lenient = e.clone();
        lenient.unseen = Unseen::Ignore;
        let m = lenient.transform(&other).unwrap();
        assert_eq!(m.row(0), [1.0, 0.0, 0.0, 0.0]);
        other.columns[0].values =
            Values::Categorical(vec![Some("7".into()), Some("n/a".into()), None, None]);
        let err = e.transform(&other).unwrap_err();
        assert!(err.to_string().contains("row 2: `n/a`"), "{err}");
        other.columns.remove(0);
        assert!(matches!(
            e.transform(&other),
            Err(SchemaError::MissingColumn { .. })
        ));
    }
}
