//! The in-memory shapes models consume: a [`Frame`] of named raw columns (numbers or
//! categories, as loaded) and the dense [`Matrix`] an [`crate::encode::Encoder`] turns
//! it into.

use serde::{Deserialize, Serialize};

/// A dense matrix stored column by column: models scan one feature at a time
/// (coordinate descent, histogram building), so columns are contiguous.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// A matrix from its columns. Panics if they differ in length (a programming error:
    /// encoders always produce equal columns).
    pub fn from_columns(rows: usize, columns: Vec<Vec<f64>>) -> Matrix {
        let cols = columns.len();
        let mut data = Vec::with_capacity(rows * cols);
        for c in columns {
            assert_eq!(c.len(), rows, "every column has one value per row");
            data.extend(c);
        }
        Matrix { rows, cols, data }
    }

    /// A matrix from rows (tests and small inputs).
    pub fn from_rows(rows: &[Vec<f64>]) -> Matrix {
        let cols = rows.first().map_or(0, Vec::len);
        let columns = (0..cols)
            .map(|j| rows.iter().map(|r| r[j]).collect())
            .collect();
        Matrix::from_columns(rows.len(), columns)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    pub fn col_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[j * self.rows..(j + 1) * self.rows]
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[j * self.rows + i]
    }

    /// Row `i` copied out (explanations walk one row at a time).
    pub fn row(&self, i: usize) -> Vec<f64> {
        (0..self.cols).map(|j| self.get(i, j)).collect()
    }

    /// The rows at `index`, in that order (folds, bootstrap samples, permutations).
    pub fn select_rows(&self, index: &[usize]) -> Matrix {
        let columns = (0..self.cols)
            .map(|j| {
                let c = self.col(j);
                index.iter().map(|&i| c[i]).collect()
            })
            .collect();
        Matrix::from_columns(index.len(), columns)
    }
}

/// One raw column as loaded: numbers (NaN marks a missing value) or categories.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Numeric(Vec<f64>),
    Categorical(Vec<Option<String>>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Numeric(v) => v.len(),
            Values::Categorical(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn kind(&self) -> ColumnKind {
        match self {
            Values::Numeric(_) => ColumnKind::Numeric,
            Values::Categorical(_) => ColumnKind::Categorical,
        }
    }

    /// The rows at `index`, in that order.
    pub fn select(&self, index: &[usize]) -> Values {
        match self {
            Values::Numeric(v) => Values::Numeric(index.iter().map(|&i| v[i]).collect()),
            Values::Categorical(v) => {
                Values::Categorical(index.iter().map(|&i| v[i].clone()).collect())
            }
        }
    }
}

/// Whether a column holds numbers or categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Numeric,
    Categorical,
}

impl ColumnKind {
    pub fn name(self) -> &'static str {
        match self {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Categorical => "categorical",
        }
    }
}

/// A named raw column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Values,
}

/// Named raw columns of equal length, plus each row's number in its source file so
/// errors can point at it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    pub columns: Vec<Column>,
    /// Source row of each row (1-based data row in the file); `None` means row i is i+1.
    pub source_rows: Option<Vec<u64>>,
}

impl Frame {
    pub fn new(columns: Vec<Column>) -> Frame {
        Frame {
            columns,
            source_rows: None,
        }
    }

    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.values.len())
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The source row of row `i`, for messages.
    pub fn source_row(&self, i: usize) -> u64 {
        self.source_rows
            .as_ref()
            .and_then(|r| r.get(i).copied())
            .unwrap_or(i as u64 + 1)
    }

    /// The rows at `index`, in that order.
    pub fn select(&self, index: &[usize]) -> Frame {
        Frame {
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    values: c.values.select(index),
                })
                .collect(),
            source_rows: Some(index.iter().map(|&i| self.source_row(i)).collect()),
        }
    }
}
