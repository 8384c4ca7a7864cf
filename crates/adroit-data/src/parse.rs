//! Value parsers for text columns: money, numbers, flags, dates and timestamps.
//!
//! Pure functions over `&str`. Exports from ad platforms and shops write numbers as
//! `$1,234.50`, `¥1,234`, `1.234,50 €` or `(12.00)`; dates as ISO, `03/04/2024`,
//! `2024/3/4` or `2024年3月4日`. These parsers accept the common forms, say when they had to
//! clean a value (so the report can record it), and reject everything else.

use chrono::{NaiveDate, NaiveDateTime};

/// Text that means "no value" in exports (pandas, R, Excel, SQL dumps).
pub fn is_missing(s: &str) -> bool {
    matches!(
        s.trim(),
        "" | "NA"
            | "na"
            | "N/A"
            | "n/a"
            | "NaN"
            | "nan"
            | "NULL"
            | "null"
            | "None"
            | "none"
            | "-"
            | "#N/A"
    )
}

/// A parsed number and whether cleaning (symbols, separators) was needed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed {
    pub value: f64,
    pub cleaned: bool,
}

const CURRENCY_TOKENS: [&str; 16] = [
    "US$", "USD", "CNY", "RMB", "EUR", "GBP", "JPY", "HKD", "元", "$", "€", "£", "¥", "￥", "₹",
    "₩",
];

/// Parses a number, allowing currency symbols when `money` is set.
///
/// Accepts plain numbers (`1234.5`, `1e6`), thousands separators (`1,234.5`,
/// `1 234,5`, `1.234,5`), accounting negatives (`(12.00)`) and, for money, a currency
/// symbol or code before or after the digits. Returns `None` for anything else.
pub fn parse_number(raw: &str, money: bool) -> Option<Parsed> {
    let s = raw.trim();
    if let Ok(value) = s.parse::<f64>()
        && value.is_finite()
    {
        return Some(Parsed {
            value,
            cleaned: s.len() != raw.len(),
        });
    }
    let mut s = s.to_string();
    let mut negative = false;
    if s.starts_with('(') && s.ends_with(')') && s.len() > 2 {
        negative = true;
        s = s[1..s.len() - 1].trim().to_string();
    }
    if s.starts_with('-') {
        negative = !negative;
        s = s[1..].trim_start().to_string();
    }
    if money {
        loop {
            let before = s.len();
            for token in CURRENCY_TOKENS {
                if let Some(rest) = s.strip_prefix(token) {
                    s = rest.trim_start().to_string();
                }
                if let Some(rest) = s.strip_suffix(token) {
                    s = rest.trim_end().to_string();
                }
            }
            if s.starts_with('-') {
                negative = !negative;
                s = s[1..].trim_start().to_string();
            }
            if s.len() == before {
                break;
            }
        }
    }
    let digits = normalise_separators(&s)?;
    let value: f64 = digits.parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    Some(Parsed {
        value: if negative { -value } else { value },
        cleaned: true,
    })
}

/// Rewrites `1,234.5`, `1 234,5`, `1.234,5` and `1'234.5` to `1234.5`; `None` if the
/// grouping is not a valid thousands grouping (so `1,2,3` is not silently read).
fn normalise_separators(s: &str) -> Option<String> {
    if s.is_empty() || !s.chars().next()?.is_ascii_digit() && !s.starts_with('.') {
        return None;
    }
    let s = s.replace(['\u{a0}', '\u{202f}'], " ");
    let last_comma = s.rfind(',');
    let last_dot = s.rfind('.');
    // The decimal mark is the last of ',' and '.', when it is followed by something
    // other than exactly three digits or when both marks appear.
    let (group, decimal) = match (last_comma, last_dot) {
        (Some(c), Some(d)) if c > d => ('.', Some(',')),
        (Some(_), Some(_)) => (',', Some('.')),
        (Some(c), None) => {
            let tail = &s[c + 1..];
            if s.matches(',').count() == 1 && !(tail.len() == 3 && s[..c].len() <= 3) {
                (' ', Some(','))
            } else {
                (',', None)
            }
        }
        _ => (',', Some('.')),
    };
    let (int_part, frac_part) = match decimal.and_then(|d| s.rfind(d).map(|i| (i, d))) {
        Some((i, _)) => (&s[..i], Some(&s[i + 1..])),
        None => (&s[..], None),
    };
    let groups: Vec<&str> = int_part.split([group, ' ', '\'']).collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return None;
    }
    let int_digits: String = groups.concat();
    if !int_digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut out = int_digits;
    if let Some(frac) = frac_part {
        if !frac.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

/// Parses a 0/1 flag: `1/0`, `true/false`, `yes/no`, `y/n`, `是/否`.
pub fn parse_flag(raw: &str) -> Option<bool> {
    match raw.trim().to_lowercase().as_str() {
        "1" | "1.0" | "true" | "t" | "yes" | "y" | "是" => Some(true),
        "0" | "0.0" | "false" | "f" | "no" | "n" | "否" => Some(false),
        _ => None,
    }
}

/// Date formats tried in order of preference. Month-first comes before day-first
/// because ad platforms (Google Ads, Meta) export US dates; when both fit every value
/// the loader says so and asks for `date_format`.
pub const DATE_FORMATS: [&str; 11] = [
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d-%b-%Y",
];

/// Human names of the formats above, for messages.
pub fn format_name(format: &str) -> String {
    format
        .replace("%Y", "YYYY")
        .replace("%m", "MM")
        .replace("%d", "DD")
        .replace("%b", "Mon")
}

/// Parses a date with a given chrono format; a trailing time (`2024-01-05 00:00:00`,
/// `2024-01-05T10:00Z`) is accepted and dropped.
pub fn parse_date_with(raw: &str, format: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, format) {
        return Some(d);
    }
    let cut = s.find(['T', ' '])?;
    NaiveDate::parse_from_str(&s[..cut], format).ok()
}

/// Picks the first format in [`DATE_FORMATS`] that reads every sample value, and
/// whether another format reads them all too (ambiguous day/month order).
pub fn detect_date_format<'a>(samples: impl Iterator<Item = &'a str> + Clone) -> DateDetection {
    let fitting: Vec<&'static str> = DATE_FORMATS
        .iter()
        .copied()
        .filter(|f| samples.clone().all(|s| parse_date_with(s, f).is_some()))
        .collect();
    match fitting.as_slice() {
        [] => DateDetection::None,
        [only] => DateDetection::Unique(only),
        [first, rest @ ..] => DateDetection::Ambiguous(first, rest.to_vec()),
    }
}

/// What [`detect_date_format`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum DateDetection {
    None,
    Unique(&'static str),
    Ambiguous(&'static str, Vec<&'static str>),
}

/// Parses a timestamp: RFC 3339 (offset converted to UTC), `YYYY-MM-DD HH:MM[:SS[.f]]`,
/// `YYYY/MM/DD HH:MM:SS`, or a bare date (midnight).
pub fn parse_timestamp(raw: &str) -> Option<NaiveDateTime> {
    let s = raw.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    DATE_FORMATS
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(s: &str) -> Option<f64> {
        parse_number(s, true).map(|p| p.value)
    }

    #[test]
    fn plain_numbers_need_no_cleaning() {
        assert_eq!(
            parse_number("1234.5", false),
            Some(Parsed {
                value: 1234.5,
                cleaned: false
            })
        );
        assert_eq!(
            parse_number("1.426697e+06", false).unwrap().value,
            1426697.0
        );
        assert_eq!(parse_number("-3", false).unwrap().value, -3.0);
    }

    #[test]
    fn money_symbols_and_separators_are_cleaned() {
        assert_eq!(money("$1,234.50"), Some(1234.5));
        assert_eq!(money("¥1,234"), Some(1234.0));
        assert_eq!(money("￥ 88"), Some(88.0));
        assert_eq!(money("1.234,50 €"), Some(1234.5));
        assert_eq!(money("1 234,50"), Some(1234.5));
        assert_eq!(money("(12.00)"), Some(-12.0));
        assert_eq!(money("-$5"), Some(-5.0));
        assert_eq!(money("USD 1,000,000"), Some(1_000_000.0));
        assert_eq!(money("12元"), Some(12.0));
        assert_eq!(money("0,5"), Some(0.5));
        assert!(parse_number("$1,234.50", true).unwrap().cleaned);
    }

    #[test]
    fn non_numbers_are_rejected() {
        for bad in [
            "abc", "1,2,3", "12..5", "$", "1.2.3", "12abc", "inf", "1,23,456",
        ] {
            assert_eq!(money(bad), None, "{bad}");
        }
        assert_eq!(parse_number("$12", false), None, "symbols only for money");
    }

    #[test]
    fn missing_markers() {
        for m in ["", "  ", "NA", "nan", "NULL", "-", "#N/A"] {
            assert!(is_missing(m), "{m:?}");
        }
        assert!(!is_missing("0"));
    }

    #[test]
    fn flags() {
        assert_eq!(parse_flag("是"), Some(true));
        assert_eq!(parse_flag("FALSE"), Some(false));
        assert_eq!(parse_flag("2"), None);
    }

    #[test]
    fn date_detection_prefers_iso_and_flags_ambiguity() {
        let iso = ["2024-01-05", "2024-12-31"];
        assert_eq!(
            detect_date_format(iso.iter().copied()),
            DateDetection::Unique("%Y-%m-%d")
        );
        let dayfirst = ["13/01/2024", "02/02/2024"];
        assert_eq!(
            detect_date_format(dayfirst.iter().copied()),
            DateDetection::Unique("%d/%m/%Y")
        );
        let ambiguous = ["01/02/2024", "03/04/2024"];
        assert!(matches!(
            detect_date_format(ambiguous.iter().copied()),
            DateDetection::Ambiguous("%m/%d/%Y", _)
        ));
        let chinese = ["2024年3月4日"];
        assert_eq!(
            detect_date_format(chinese.iter().copied()),
            DateDetection::Unique("%Y年%m月%d日")
        );
        let mixed = ["2024-01-05", "05/01/2024"];
        assert_eq!(
            detect_date_format(mixed.iter().copied()),
            DateDetection::None
        );
    }

    #[test]
    fn dates_with_midnight_times() {
        assert_eq!(
            parse_date_with("2024-01-05 00:00:00", "%Y-%m-%d"),
            NaiveDate::from_ymd_opt(2024, 1, 5)
        );
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("2024-01-05T10:30:00+08:00").unwrap();
        assert_eq!(t.to_string(), "2024-01-05 02:30:00");
        assert_eq!(
            parse_timestamp("2024-01-05 10:30").unwrap().to_string(),
            "2024-01-05 10:30:00"
        );
        assert_eq!(
            parse_timestamp("2024-01-05").unwrap().to_string(),
            "2024-01-05 00:00:00"
        );
        assert!(parse_timestamp("yesterday").is_none());
    }
}
