//! Numbers for humans: thousands separators, K/M/B (English) or 万/亿 (Chinese)
//! abbreviations, percentages, currency symbols. Missing values print as "–".

use crate::Lang;

pub const NONE: &str = "–";

/// `1234567.8` → `1,234,568` (`decimals` after the point).
pub fn grouped(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return NONE.to_string();
    }
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s, None),
    };
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(&f);
    }
    let zero = out.chars().all(|c| c == '0' || c == '.' || c == ',');
    if x < 0.0 && !zero {
        format!("-{out}")
    } else {
        out
    }
}

/// A count or amount, abbreviated when large: `1.29M`, `12.5K`, `129万`, `1.3亿`.
pub fn compact(x: f64, lang: Lang) -> String {
    if !x.is_finite() {
        return NONE.to_string();
    }
    let a = x.abs();
    let sign = if x < 0.0 { "-" } else { "" };
    let units: &[(f64, &str)] = match lang {
        Lang::En => &[(1e9, "B"), (1e6, "M"), (1e3, "K")],
        Lang::Zh => &[(1e8, "亿"), (1e4, "万")],
    };
    for &(u, name) in units {
        if a >= u {
            let v = a / u;
            let d = if v >= 100.0 {
                0
            } else if v >= 10.0 {
                1
            } else {
                2
            };
            return format!("{sign}{}{name}", trim_zeros(&format!("{v:.d$}")));
        }
    }
    if a >= 100.0 || a == a.round() {
        format!("{sign}{}", grouped(a, 0))
    } else {
        format!("{sign}{}", trim_zeros(&format!("{a:.2}")))
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// The symbol of an ISO currency code, or the code and a space.
pub fn currency_prefix(code: &str) -> String {
    match code.trim().to_ascii_uppercase().as_str() {
        "USD" => "$".into(),
        "EUR" => "€".into(),
        "GBP" => "£".into(),
        "CNY" | "RMB" | "JPY" => "¥".into(),
        "" => String::new(),
        c => format!("{c} "),
    }
}

/// Money, abbreviated: `$1.29M`; cents below 100: `$0.56`, `$1.00`.
pub fn money(x: Option<f64>, currency: &str, lang: Lang) -> String {
    match x {
        Some(v) if v.is_finite() => {
            let c = if v.abs() < 100.0 {
                grouped(v, 2)
            } else {
                compact(v, lang)
            };
            match c.strip_prefix('-') {
                Some(rest) => format!("-{}{rest}", currency_prefix(currency)),
                None => format!("{}{c}", currency_prefix(currency)),
            }
        }
        _ => NONE.into(),
    }
}

/// Money with its full digits: `$1,286,642`.
pub fn money_full(x: Option<f64>, currency: &str) -> String {
    match x {
        Some(v) if v.is_finite() => {
            let g = grouped(v, 0);
            match g.strip_prefix('-') {
                Some(rest) => format!("-{}{rest}", currency_prefix(currency)),
                None => format!("{}{g}", currency_prefix(currency)),
            }
        }
        _ => NONE.into(),
    }
}

pub fn num(x: Option<f64>, lang: Lang) -> String {
    x.map_or_else(|| NONE.into(), |v| compact(v, lang))
}

/// A share or rate: `0.1234` → `12.3%` (`12.34%` below 1%).
pub fn pct(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => {
            let p = v * 100.0;
            if p.abs() < 1.0 && p != 0.0 {
                format!("{p:.2}%")
            } else {
                format!("{p:.1}%")
            }
        }
        _ => NONE.into(),
    }
}

/// A signed change in percent: `+7.9%`.
pub fn pct_change(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() && v > 0.0 => format!("+{}", pct(Some(v))),
        other => pct(other),
    }
}

/// A ratio such as ROAS or R²: `0.74`, `12.3`.
pub fn ratio(x: Option<f64>, decimals: usize) -> String {
    match x {
        Some(v) if v.is_finite() => grouped(v, decimals),
        _ => NONE.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(grouped(1234567.89, 0), "1,234,568");
        assert_eq!(grouped(-1234.5, 1), "-1,234.5");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(compact(1_286_641.63, Lang::En), "1.29M");
        assert_eq!(compact(12_500.0, Lang::En), "12.5K");
        assert_eq!(compact(1_286_641.63, Lang::Zh), "129万");
        assert_eq!(compact(130_000_000.0, Lang::Zh), "1.3亿");
        assert_eq!(compact(0.5, Lang::En), "0.5");
        assert_eq!(money(Some(-2500.0), "USD", Lang::En), "-$2.5K");
        assert_eq!(money(Some(1.0), "USD", Lang::En), "$1.00");
        assert_eq!(money(Some(0.0), "USD", Lang::En), "$0.00");
        assert_eq!(money(Some(2500.0), "SEK", Lang::En), "SEK 2.5K");
        assert_eq!(money_full(Some(1286641.6), "CNY"), "¥1,286,642");
        assert_eq!(pct(Some(0.1234)), "12.3%");
        assert_eq!(pct(Some(0.001234)), "0.12%");
        assert_eq!(pct_change(Some(0.079)), "+7.9%");
        assert_eq!(pct(None), NONE);
        assert_eq!(ratio(Some(f64::NAN), 2), NONE);
    }
}
