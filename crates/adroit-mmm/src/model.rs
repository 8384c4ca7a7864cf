//! One candidate model: transform each channel's spend with its adstock and
//! saturation, regress the KPI on those and the base terms by ridge with
//! non-negative media effects, and decompose the KPI into what each term contributed.

use crate::ridge;
use crate::spec::ModelSpec;
use adroit_effects::{Adstock, Saturation};
use serde::{Deserialize, Serialize};

/// The modelling table: one row per period, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct MmmData {
    /// Days since 1970-01-01 of each period's start (for seasonality and reports).
    pub days: Vec<i32>,
    pub kpi: Vec<f64>,
    /// Spend per channel, in [`ModelSpec::channels`] order.
    pub spend: Vec<Vec<f64>>,
    /// Controls, in [`ModelSpec::controls`] order.
    pub controls: Vec<Vec<f64>>,
    /// Event dummies, in [`ModelSpec::events`] order.
    pub events: Vec<Vec<f64>>,
}

impl MmmData {
    pub fn periods(&self) -> usize {
        self.kpi.len()
    }

    /// Shapes and values the model cannot use, named.
    pub fn check(&self, spec: &ModelSpec) -> Result<(), String> {
        let n = self.kpi.len();
        if n < 10 {
            return Err(format!(
                "{n} periods: a marketing mix model needs at least 10 (two years of weeks is typical)"
            ));
        }
        let groups = [
            (
                "channel",
                &self.spend,
                spec.channels
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>(),
            ),
            (
                "control",
                &self.controls,
                spec.controls.iter().map(String::as_str).collect(),
            ),
            (
                "event",
                &self.events,
                spec.events.iter().map(String::as_str).collect(),
            ),
        ];
        if self.days.len() != n {
            return Err(format!("{} dates for {n} KPI values", self.days.len()));
        }
        if self.days.windows(2).any(|w| w[1] <= w[0]) {
            return Err("periods must be in increasing date order without repeats".into());
        }
        if let Some(i) = self.kpi.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "the KPI is missing or not a number in period {}",
                i + 1
            ));
        }
        for (kind, cols, names) in groups {
            if cols.len() != names.len() {
                return Err(format!(
                    "{} {kind} columns for {} {kind}s",
                    cols.len(),
                    names.len()
                ));
            }
            for (col, name) in cols.iter().zip(&names) {
                if col.len() != n {
                    return Err(format!(
                        "{kind} {name}: {} values for {n} periods",
                        col.len()
                    ));
                }
                if let Some(i) = col.iter().position(|v| !v.is_finite()) {
                    return Err(format!(
                        "{kind} {name}: missing or not a number in period {}",
                        i + 1
                    ));
                }
            }
        }
        for (col, c) in self.spend.iter().zip(&spec.channels) {
            if let Some(i) = col.iter().position(|v| *v < 0.0) {
                return Err(format!(
                    "channel {}: negative spend {} in period {}",
                    c.name,
                    col[i],
                    i + 1
                ));
            }
            if col.iter().all(|v| *v == 0.0) {
                return Err(format!(
                    "channel {}: no spend in any period, so its effect cannot be estimated; drop it from the model",
                    c.name
                ));
            }
        }
        Ok(())
    }
}

/// What a term of the model is, for the decomposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermKind {
    Trend,
    Seasonality,
    Event,
    Control,
    Media,
}

/// The non-media columns of the design, built once per data set.
#[derive(Debug, Clone)]
pub struct Base {
    pub names: Vec<String>,
    pub kinds: Vec<TermKind>,
    pub columns: Vec<Vec<f64>>,
}

impl Base {
    pub fn new(data: &MmmData, spec: &ModelSpec) -> Base {
        let n = data.periods();
        let mut b = Base {
            names: Vec::new(),
            kinds: Vec::new(),
            columns: Vec::new(),
        };
        if spec.trend {
            b.push(
                "trend",
                TermKind::Trend,
                (0..n).map(|t| t as f64 / (n - 1).max(1) as f64).collect(),
            );
        }
        for k in 1..=spec.fourier {
            let w = 2.0 * std::f64::consts::PI * k as f64 / 365.25;
            b.push(
                &format!("sin{k}"),
                TermKind::Seasonality,
                data.days.iter().map(|&d| (w * d as f64).sin()).collect(),
            );
            b.push(
                &format!("cos{k}"),
                TermKind::Seasonality,
                data.days.iter().map(|&d| (w * d as f64).cos()).collect(),
            );
        }
        for (name, col) in spec.events.iter().zip(&data.events) {
            b.push(name, TermKind::Event, col.clone());
        }
        for (name, col) in spec.controls.iter().zip(&data.controls) {
            b.push(name, TermKind::Control, col.clone());
        }
        b
    }

    fn push(&mut self, name: &str, kind: TermKind, col: Vec<f64>) {
        self.names.push(name.to_string());
        self.kinds.push(kind);
        self.columns.push(col);
    }
}

/// A channel's fitted transformation: `effect_t = coef · saturation(adstock(spend)_t / scale)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelFit {
    pub adstock: Adstock,
    pub saturation: Saturation,
    /// The channel's largest spend in the data: saturation acts on adstock / scale.
    pub scale: f64,
    /// KPI units per unit of saturated spend (≥ 0).
    pub coef: f64,
}

impl ChannelFit {
    /// The saturated series the coefficient multiplies.
    pub fn feature(&self, spend: &[f64]) -> Vec<f64> {
        self.adstock
            .apply(spend)
            .into_iter()
            .map(|a| self.saturation.apply(a / self.scale))
            .collect()
    }

    /// The channel's effect per period.
    pub fn effect(&self, spend: &[f64]) -> Vec<f64> {
        self.feature(spend)
            .into_iter()
            .map(|f| self.coef * f)
            .collect()
    }

    /// As an [`adroit_effects::Response`] (for steady-state curves).
    pub fn response(&self) -> adroit_effects::Response {
        adroit_effects::Response {
            adstock: self.adstock,
            saturation: self.saturation,
            scale: self.scale,
            beta: self.coef,
        }
    }
}

/// A fitted candidate on the periods `start..end`.
#[derive(Debug, Clone)]
pub struct Fit {
    pub channels: Vec<ChannelFit>,
    pub intercept: f64,
    /// Coefficients of the base columns (original units).
    pub base_coefs: Vec<f64>,
    /// Fitted KPI on every period of the data (also the holdout).
    pub fitted: Vec<f64>,
    /// Periods the coefficients were estimated on: `start..end`.
    pub start: usize,
    pub end: usize,
}

/// Everything needed to fit candidates fast: the base columns and the KPI.
pub struct Problem<'a> {
    pub data: &'a MmmData,
    pub spec: &'a ModelSpec,
    pub base: Base,
    /// Each channel's largest spend (the saturation scale).
    pub scales: Vec<f64>,
}

impl<'a> Problem<'a> {
    pub fn new(data: &'a MmmData, spec: &'a ModelSpec) -> Result<Problem<'a>, String> {
        spec.check()?;
        data.check(spec)?;
        if spec.history + spec.holdout + 10 > data.periods() {
            return Err(format!(
                "{} periods of carry-over history and a holdout of {} leave fewer than 10 of the {} to fit on",
                spec.history,
                spec.holdout,
                data.periods()
            ));
        }
        if let Some(t) = spec.calibration.iter().find(|t| t.last >= data.periods()) {
            return Err(format!(
                "lift test {} of {}: period {} is past the data's {} periods",
                t.label,
                t.channel,
                t.last + 1,
                data.periods()
            ));
        }
        let scales = data
            .spend
            .iter()
            .map(|s| s.iter().cloned().fold(0.0, f64::max))
            .collect();
        Ok(Problem {
            data,
            spec,
            base: Base::new(data, spec),
            scales,
        })
    }

    /// The channels' transformations for a parameter vector, with coefficient 0.
    pub fn transforms(&self, params: &[f64]) -> Result<(Vec<ChannelFit>, f64), String> {
        let (per_channel, penalty) = self.spec.split(params);
        let mut out = Vec::with_capacity(per_channel.len());
        for ((c, p), &scale) in self.spec.channels.iter().zip(per_channel).zip(&self.scales) {
            let (adstock, saturation) = c.components(p);
            adstock.check().map_err(|e| format!("{}: {e}", c.name))?;
            saturation.check().map_err(|e| format!("{}: {e}", c.name))?;
            out.push(ChannelFit {
                adstock,
                saturation,
                scale,
                coef: 0.0,
            });
        }
        Ok((out, penalty))
    }

    /// Fits the coefficients of a candidate on periods `history..end` (adstock runs over
    /// all periods, so the window starts with the carry-over of the history before it
    /// and the holdout with the carry-over of the window).
    pub fn fit(&self, params: &[f64], end: usize) -> Result<Fit, String> {
        self.fit_kpi(params, end, &self.data.kpi)
    }

    /// [`Problem::fit`] against another KPI series (bootstrap replicates).
    pub fn fit_kpi(&self, params: &[f64], end: usize, kpi: &[f64]) -> Result<Fit, String> {
        let (mut channels, penalty) = self.transforms(params)?;
        let features: Vec<Vec<f64>> = channels
            .iter()
            .zip(&self.data.spend)
            .map(|(c, s)| c.feature(s))
            .collect();
        let columns: Vec<&[f64]> = features
            .iter()
            .map(Vec::as_slice)
            .chain(self.base.columns.iter().map(Vec::as_slice))
            .collect();
        let start = self.spec.history;
        let window: Vec<&[f64]> = columns.iter().map(|c| &c[start..end]).collect();
        let nonneg: Vec<bool> = (0..columns.len()).map(|j| j < channels.len()).collect();
        let solved = ridge::fit(&window, &kpi[start..end], penalty, &nonneg)?;
        for (c, &b) in channels.iter_mut().zip(&solved.coefs) {
            c.coef = b;
        }
        let n = self.data.periods();
        let fitted = (0..n)
            .map(|t| {
                solved.intercept
                    + columns
                        .iter()
                        .zip(&solved.coefs)
                        .map(|(c, b)| b * c[t])
                        .sum::<f64>()
            })
            .collect();
        Ok(Fit {
            channels,
            intercept: solved.intercept,
            base_coefs: solved.coefs[features.len()..].to_vec(),
            fitted,
            start,
            end,
        })
    }
}

/// Error measures of a fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Errors {
    /// Root mean squared error over the KPI's range (Robyn's NRMSE).
    pub nrmse: f64,
    /// Mean absolute percentage error (periods with a zero KPI skipped).
    pub mape: f64,
    pub r2: f64,
}

/// Errors of `fitted` against `actual`.
pub fn errors(actual: &[f64], fitted: &[f64]) -> Errors {
    let n = actual.len().max(1) as f64;
    let sse: f64 = actual
        .iter()
        .zip(fitted)
        .map(|(a, f)| (a - f).powi(2))
        .sum();
    let mean = actual.iter().sum::<f64>() / n;
    let sst: f64 = actual.iter().map(|a| (a - mean).powi(2)).sum();
    let (lo, hi) = actual
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &a| {
            (l.min(a), h.max(a))
        });
    let pct: Vec<f64> = actual
        .iter()
        .zip(fitted)
        .filter(|(a, _)| **a != 0.0)
        .map(|(a, f)| ((a - f) / a).abs())
        .collect();
    Errors {
        nrmse: (sse / n).sqrt() / (hi - lo).max(f64::MIN_POSITIVE),
        mape: pct.iter().sum::<f64>() / pct.len().max(1) as f64,
        r2: if sst > 0.0 { 1.0 - sse / sst } else { 0.0 },
    }
}

/// Robyn's DECOMP.RSSD: the distance between each channel's share of effect and its
/// share of spend, `sqrt(Σ (effect share − spend share)²)`. Low values mean the model
/// does not credit channels far out of line with what was spent on them.
pub fn decomp_rssd(effects: &[f64], spends: &[f64]) -> f64 {
    let te: f64 = effects.iter().sum();
    let ts: f64 = spends.iter().sum();
    if te <= 0.0 || ts <= 0.0 {
        // No media effect at all: every channel's share is 0 against its spend share.
        return spends
            .iter()
            .map(|s| (s / ts.max(f64::MIN_POSITIVE)).powi(2))
            .sum::<f64>()
            .sqrt();
    }
    effects
        .iter()
        .zip(spends)
        .map(|(e, s)| (e / te - s / ts).powi(2))
        .sum::<f64>()
        .sqrt()
}

impl Fit {
    /// Total effect of each channel over periods `from..to`.
    pub fn channel_totals(&self, data: &MmmData, from: usize, to: usize) -> Vec<f64> {
        self.channels
            .iter()
            .zip(&data.spend)
            .map(|(c, s)| c.effect(s)[from..to].iter().sum())
            .collect()
    }

    /// The search objectives on the fitting window: NRMSE and DECOMP.RSSD.
    pub fn objectives(&self, data: &MmmData) -> [f64; 2] {
        let (a, b) = (self.start, self.end);
        let e = errors(&data.kpi[a..b], &self.fitted[a..b]);
        let spends: Vec<f64> = data.spend.iter().map(|s| s[a..b].iter().sum()).collect();
        [
            e.nrmse,
            decomp_rssd(&self.channel_totals(data, a, b), &spends),
        ]
    }

    /// What the model says each lift test should have measured: the channel's effect
    /// with its spend minus its effect with the test periods' spend removed, over all
    /// periods (so carry-over after the test counts, as a holdout experiment sees it).
    pub fn predicted_lifts(&self, data: &MmmData, spec: &ModelSpec) -> Vec<f64> {
        spec.calibration
            .iter()
            .map(|t| {
                let Some(j) = spec.channels.iter().position(|c| c.name == t.channel) else {
                    return f64::NAN;
                };
                let spend = &data.spend[j];
                let mut without = spend.clone();
                let last = t.last.min(spend.len() - 1);
                for v in &mut without[t.first.min(last)..=last] {
                    *v = 0.0;
                }
                let c = &self.channels[j];
                c.effect(spend).iter().sum::<f64>() - c.effect(&without).iter().sum::<f64>()
            })
            .collect()
    }

    /// Mean absolute percentage error of the predicted lifts (Robyn's MAPE.LIFT).
    pub fn calibration_error(&self, data: &MmmData, spec: &ModelSpec) -> f64 {
        let predicted = self.predicted_lifts(data, spec);
        predicted
            .iter()
            .zip(&spec.calibration)
            .map(|(p, t)| ((p - t.lift) / t.lift).abs())
            .sum::<f64>()
            / predicted.len().max(1) as f64
    }
}
