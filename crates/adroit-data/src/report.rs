//! The data-quality report: findings and the cleaning that was done.
//!
//! Every problem the loader or a validation rule finds becomes a [`Finding`] that says
//! where (table, file, rows or dates, column), what was expected and how to fix it.

use serde::Serialize;
use std::fmt;

/// How bad a finding is. Errors make `adroit check` exit 1; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// Where in a table a finding applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Location {
    /// 1-based data rows (the header is not counted; file line = row + 1 when no
    /// value spans lines). At most `max_examples` are listed; `count` has the total.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<u64>,
    /// How many rows (or periods) are affected in all.
    pub count: u64,
    /// First and last ISO date affected, for findings about the date sequence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dates: Option<(String, String)>,
}

/// One problem found in the data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule's stable name, e.g. `negative_spend`.
    pub rule: &'static str,
    pub severity: Severity,
    /// Contract table (`media`, `kpi`, …).
    pub table: String,
    /// The file as given in the config.
    pub file: String,
    /// The column as named in the user's file, when the finding is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The channel, when the finding is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    pub location: Location,
    /// What is wrong, with example values.
    pub message: String,
    /// What the data should look like.
    pub expected: String,
    /// What to do about it.
    pub suggestion: String,
}

impl Finding {
    /// A finding about a whole table (no rows).
    pub fn new(
        rule: &'static str,
        severity: Severity,
        table: &str,
        file: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            rule,
            severity,
            table: table.to_string(),
            file: file.to_string(),
            column: None,
            channel: None,
            location: Location::default(),
            message: message.into(),
            expected: String::new(),
            suggestion: String::new(),
        }
    }

    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }

    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// Affected rows: the first `max` examples are kept, the total is counted.
    pub fn rows(mut self, rows: &[u64], total: u64, max: usize) -> Self {
        self.location.rows = rows.iter().take(max).copied().collect();
        self.location.count = total;
        self
    }

    pub fn dates(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.location.dates = Some((first.into(), last.into()));
        self
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = expected.into();
        self
    }

    pub fn suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = suggestion.into();
        self
    }

    /// "row 3", "rows 3, 9, 12 … (41 in all)" or the date range, for one-line displays.
    pub fn where_text(&self) -> String {
        let loc = &self.location;
        let mut parts = Vec::new();
        if !loc.rows.is_empty() {
            let list: Vec<String> = loc.rows.iter().map(u64::to_string).collect();
            let mut text = if loc.rows.len() == 1 && loc.count <= 1 {
                format!("row {}", list[0])
            } else {
                format!("rows {}", list.join(", "))
            };
            if loc.count > loc.rows.len() as u64 {
                text.push_str(&format!(" … ({} in all)", loc.count));
            }
            parts.push(text);
        }
        if let Some((first, last)) = &loc.dates {
            parts.push(if first == last {
                first.clone()
            } else {
                format!("{first} … {last}")
            });
        }
        parts.join("; ")
    }
}

/// A change the loader made to the data, so nothing happens silently.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cleaning {
    pub table: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What was done, e.g. "removed currency symbols and thousands separators".
    pub action: String,
    /// How many values or rows it touched.
    pub count: u64,
    /// Example rows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<u64>,
}

/// The shape of a loaded table, for the report's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableSummary {
    pub table: String,
    pub file: String,
    pub rows: u64,
    /// Canonical columns and their types.
    pub columns: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dates: Option<(String, String)>,
    /// Detected grain of the date column (`day`, `week`, `month`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grain: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

/// Everything `adroit check` reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QualityReport {
    pub tables: Vec<TableSummary>,
    pub findings: Vec<Finding>,
    pub cleaning: Vec<Cleaning>,
}

impl QualityReport {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.errors() > 0
    }

    /// Orders findings errors first, then by table and rule, for reading.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.table.cmp(&b.table))
                .then_with(|| a.rule.cmp(b.rule))
                .then_with(|| a.location.rows.first().cmp(&b.location.rows.first()))
        });
    }

    pub fn merge(&mut self, other: QualityReport) {
        self.tables.extend(other.tables);
        self.findings.extend(other.findings);
        self.cleaning.extend(other.cleaning);
    }
}
