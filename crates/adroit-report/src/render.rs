//! The pure renderer: [`RunData`] and a language in, one HTML document out.
//!
//! Figures are computed and formatted here into a plain view model; the template
//! (`templates/report.html`, minijinja with HTML autoescaping) only places them, so every
//! string from the data (channel names, quotes, reasons) is escaped by the engine. Charts
//! are SVG strings built by [`crate::svg`], which escapes its own labels; they are the only
//! values the template marks `safe`.

use crate::Lang;
use crate::fmt::{self, NONE};
use crate::i18n::{Labels, labels, segment_label};
use crate::load::{Interval, NumTable, RunData};
use crate::svg::{self, Bar, Line, Marker, XySeries, color};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The template, compiled into the binary (no files needed at run time).
const TEMPLATE: &str = include_str!("../templates/report.html");

/// Render the report. Never fails: a template error (a bug, caught by the tests)
/// yields a minimal page that says so.
pub fn render(data: &RunData, lang: Lang) -> String {
    let t = labels(lang);
    let ctx = Ctx {
        d: data,
        t: &t,
        lang,
        cur: data.run.currency.clone(),
    };
    let view = ctx.view();
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let rendered = env
        .add_template("report.html", TEMPLATE)
        .and_then(|_| env.get_template("report.html"))
        .and_then(|tpl| tpl.render(minijinja::Value::from_serialize(&view)));
    match rendered {
        Ok(html) => html,
        Err(e) => format!(
            "<!DOCTYPE html><html><body><h1>report template error</h1><pre>{}</pre></body></html>",
            svg::esc(&format!("{e:#}"))
        ),
    }
}

struct Ctx<'a> {
    d: &'a RunData,
    t: &'a Labels,
    lang: Lang,
    cur: String,
}

/// A section that is shown, or left out with a note.
fn section(id: &str, title: &str, body: Option<Value>, note: String) -> Value {
    match body {
        Some(b) => json!({"id": id, "title": title, "shown": true, "body": b, "note": ""}),
        None => json!({"id": id, "title": title, "shown": false, "body": null, "note": note}),
    }
}

impl Ctx<'_> {
    fn l(&self, key: &str) -> String {
        self.t.get(key).to_string()
    }
    fn money(&self, x: Option<f64>) -> String {
        fmt::money(x, &self.cur, self.lang)
    }
    fn num(&self, x: Option<f64>) -> String {
        fmt::num(x, self.lang)
    }
    fn money_axis(&self) -> impl Fn(f64) -> String + '_ {
        move |v| fmt::money(Some(v), &self.cur, self.lang)
    }
    fn num_axis(&self) -> impl Fn(f64) -> String + '_ {
        move |v| fmt::compact(v, self.lang)
    }

    /// The one-line note for a section whose files are absent.
    fn absent(&self, title_key: &str, stage: &str) -> String {
        let st = self.d.run.stages.iter().find(|s| s.name == stage);
        let why = match st {
            Some(s) if s.status == "failed" || s.status == "skipped" => {
                let status = self.l(&format!("status_{}", s.status));
                match &s.reason {
                    Some(r) if !r.is_empty() => format!(" ({status}: {r})"),
                    _ => format!(" ({status})"),
                }
            }
            _ => String::new(),
        };
        self.t
            .get("note_absent")
            .replace("{section}", &self.l(title_key))
            .replace("{stage}", stage)
            .replace("{why}", &why)
    }

    fn view(&self) -> Value {
        let run = &self.d.run;
        let project = if run.project.is_empty() {
            self.l("untitled")
        } else {
            run.project.clone()
        };
        let sections = vec![
            section(
                "summary",
                &self.l("summary"),
                Some(self.summary()),
                String::new(),
            ),
            section(
                "quality",
                &self.l("quality"),
                self.quality(),
                self.absent("quality", "check"),
            ),
            section(
                "kpis",
                &self.l("kpis"),
                self.kpis(),
                self.absent("kpis", "metrics"),
            ),
            section("mmm", &self.l("mmm"), self.mmm(), self.absent("mmm", "mmm")),
            section(
                "curves",
                &self.l("curves"),
                self.curves(),
                self.absent("curves", "mmm"),
            ),
            section(
                "budget",
                &self.l("budget"),
                self.budget(),
                self.absent("budget", "allocation"),
            ),
            section(
                "attribution",
                &self.l("attribution"),
                self.attribution(),
                self.absent("attribution", "attribution"),
            ),
            section(
                "customers",
                &self.l("customers"),
                self.customers(),
                self.absent("customers", "customers"),
            ),
            section(
                "uplift",
                &self.l("uplift"),
                self.uplift(),
                self.absent("uplift", "uplift"),
            ),
            section(
                "fairness",
                &self.l("fairness"),
                self.fairness(),
                self.absent("fairness", "fairness"),
            ),
            section(
                "text",
                &self.l("text"),
                self.text(),
                self.absent("text", "text"),
            ),
            section(
                "diagnostics",
                &self.l("diagnostics"),
                self.diagnostics(),
                self.absent("diagnostics", "mmm"),
            ),
        ];
        let stages: Vec<Value> = run
            .stages
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "status": self.t.get_or(&format!("status_{}", s.status), &s.status),
                    "status_class": s.status,
                    "seconds": s.seconds.map_or(NONE.into(), |v| format!("{v:.2} s")),
                    "reason": s.reason.clone().unwrap_or_default(),
                })
            })
            .collect();
        json!({
            "t": self.t.map(),
            "lang": self.lang.code(),
            "project": project,
            "currency": run.currency,
            "version": run.adroit_version,
            "started": run.started,
            "finished": run.finished,
            "config_path": run.config_path,
            "sections": sections,
            "stages": stages,
        })
    }

    // ------------------------------------------------------------ summary

    fn total_spend(&self) -> Option<f64> {
        if let Some(m) = &self.d.metrics
            && !m.totals.is_empty()
        {
            return Some(m.totals.iter().filter_map(|r| r.spend).sum());
        }
        if let Some(m) = &self.d.mmm
            && !m.channels.is_empty()
        {
            return Some(m.channels.iter().filter_map(|c| c.spend).sum());
        }
        None
    }

    fn summary(&self) -> Value {
        let mut cards = Vec::new();
        let spend = self.total_spend();
        if let Some(s) = spend {
            cards.push(json!({"label": self.l("total_spend"), "value": self.money(Some(s)), "sub": fmt::money_full(Some(s), &self.cur)}));
        }
        let revenue = self
            .d
            .metrics
            .as_ref()
            .filter(|m| !m.totals.is_empty())
            .map(|m| m.totals.iter().filter_map(|r| r.revenue).sum::<f64>());
        if let Some(r) = revenue {
            let roas = spend.filter(|s| *s > 0.0).map(|s| r / s);
            cards.push(
                json!({"label": self.l("revenue"), "value": self.money(Some(r)),
                "sub": format!("{} {}", self.l("roas"), fmt::ratio(roas, 2))}),
            );
        } else if let Some(k) = self.d.mmm.as_ref().and_then(|m| m.kpi_total) {
            cards
                .push(json!({"label": self.l("kpi_total"), "value": self.num(Some(k)), "sub": ""}));
        }
        let mut roas_rows = Vec::new();
        if let Some(m) = &self.d.mmm {
            let spend: f64 = m.channels.iter().filter_map(|c| c.spend).sum();
            let contrib: f64 = m.channels.iter().filter_map(|c| c.contribution.value).sum();
            if spend > 0.0 {
                cards.push(json!({"label": self.l("media_roas"), "value": fmt::ratio(Some(contrib / spend), 2),
                    "sub": format!("{} {}", self.l("media_contribution"), self.money(Some(contrib)))}));
            }
            for c in &m.channels {
                let r = c.roas.unwrap_or_default();
                roas_rows.push(json!({"channel": c.name, "roas": fmt::ratio(r.value, 2), "interval": interval(&r, 2)}));
            }
        }
        let mut moves = Vec::new();
        let mut lift_text = String::new();
        if let Some(a) = &self.d.allocation {
            let mut ch: Vec<_> = a
                .channels
                .iter()
                .filter_map(|c| Some((c.name.clone(), c.optimal_spend? - c.current_spend?)))
                .collect();
            // Increases first, then cuts; the largest of each first.
            ch.sort_by(|x, y| {
                (x.1 <= 0.0)
                    .cmp(&(y.1 <= 0.0))
                    .then(y.1.abs().total_cmp(&x.1.abs()))
            });
            for (name, delta) in &ch {
                if delta.abs() > 0.005 * a.total_spend.unwrap_or(0.0) {
                    let key = if *delta > 0.0 { "move_up" } else { "move_down" };
                    moves.push(
                        self.t
                            .get(key)
                            .replace("{channel}", name)
                            .replace("{amount}", &self.money(Some(delta.abs()))),
                    );
                }
            }
            if let (Some(cur), Some(opt)) = (a.current_response, a.total_response) {
                let lift = opt - cur;
                let pct = (cur.abs() > 0.0).then(|| lift / cur);
                lift_text = self
                    .t
                    .get("expected_lift_text")
                    .replace("{amount}", &self.money(Some(lift)))
                    .replace("{pct}", &fmt::pct_change(pct))
                    .replace("{periods}", &fmt::grouped(a.periods.unwrap_or(0.0), 0))
                    .replace("{budget}", &self.money(a.total_spend));
                cards.push(
                    json!({"label": self.l("expected_lift"), "value": fmt::pct_change(pct),
                    "sub": self.money(Some(lift))}),
                );
            }
        }
        let mut facts = Vec::new();
        if let Some(c) = &self.d.check {
            facts.push(
                self.t
                    .get("fact_quality")
                    .replace("{errors}", &c.errors.to_string())
                    .replace("{warnings}", &c.warnings.to_string()),
            );
        }
        if let Some(p) = &self.d.predictions {
            let total: f64 = p.iter().filter_map(|r| r.clv).sum();
            facts.push(
                self.t
                    .get("fact_clv")
                    .replace("{customers}", &fmt::grouped(p.len() as f64, 0))
                    .replace("{clv}", &self.money(Some(total))),
            );
        }
        if let Some(q) = self
            .d
            .uplift
            .as_ref()
            .and_then(|u| u.holdout.qini_coefficient)
        {
            facts.push(
                self.t
                    .get("fact_qini")
                    .replace("{qini}", &fmt::ratio(Some(q), 3)),
            );
        }
        json!({"cards": cards, "roas": roas_rows, "moves": moves, "lift": lift_text, "facts": facts,
            "narrative": self.d.narrative})
    }

    // ------------------------------------------------------------ quality

    fn quality(&self) -> Option<Value> {
        let c = self.d.check.as_ref()?;
        let findings: Vec<Value> = c
            .findings
            .iter()
            .map(|f| {
                json!({
                    "severity": self.t.get_or(&format!("sev_{}", f.severity), &f.severity),
                    "severity_class": f.severity,
                    "table": f.table, "rule": f.rule, "message": f.message,
                    "suggestion": f.suggestion.clone().unwrap_or_default(),
                })
            })
            .collect();
        let tables: Vec<Value> = c
            .tables
            .iter()
            .map(|t| {
                json!({"table": t.table, "file": t.file,
                    "rows": t.rows.map_or(NONE.into(), |r| fmt::grouped(r, 0)),
                    "grain": t.grain.clone().unwrap_or_default(),
                    "dates": t.dates.join(" – ")})
            })
            .collect();
        let headline = self
            .t
            .get("fact_quality")
            .replace("{errors}", &c.errors.to_string())
            .replace("{warnings}", &c.warnings.to_string());
        Some(json!({"headline": headline, "findings": findings, "tables": tables}))
    }

    // ------------------------------------------------------------ KPIs

    fn kpis(&self) -> Option<Value> {
        let m = self.d.metrics.as_ref().filter(|m| !m.totals.is_empty())?;
        let row = |name: &str,
                   spend: Option<f64>,
                   imp: Option<f64>,
                   clicks: Option<f64>,
                   conv: Option<f64>,
                   rev: Option<f64>| {
            let div = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) if b != 0.0 => Some(a / b),
                _ => None,
            };
            json!({
                "group": name,
                "spend": self.money(spend), "impressions": self.num(imp), "clicks": self.num(clicks),
                "conversions": self.num(conv), "revenue": self.money(rev),
                "ctr": fmt::pct(div(clicks, imp)), "cpc": fmt::money(div(spend, clicks), &self.cur, self.lang),
                "cpa": fmt::money(div(spend, conv), &self.cur, self.lang), "roas": fmt::ratio(div(rev, spend), 2),
            })
        };
        let mut rows: Vec<Value> = m
            .totals
            .iter()
            .map(|r| {
                row(
                    &r.group,
                    r.spend,
                    r.impressions,
                    r.clicks,
                    r.conversions,
                    r.revenue,
                )
            })
            .collect();
        let sum = |f: fn(&crate::load::MetricRow) -> Option<f64>| -> Option<f64> {
            let v: Vec<f64> = m.totals.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| v.iter().sum())
        };
        let total = row(
            &self.l("total"),
            sum(|r| r.spend),
            sum(|r| r.impressions),
            sum(|r| r.clicks),
            sum(|r| r.conversions),
            sum(|r| r.revenue),
        );
        // Spend by period and group, from the per-period rows.
        let mut chart = String::new();
        if !m.rows.is_empty() {
            let mut periods: Vec<String> = m.rows.iter().filter_map(|r| r.period.clone()).collect();
            periods.sort();
            periods.dedup();
            let groups: Vec<String> = m.totals.iter().map(|r| r.group.clone()).collect();
            let series: Vec<Line> = groups
                .iter()
                .map(|g| Line {
                    name: g.clone(),
                    values: periods
                        .iter()
                        .map(|p| {
                            m.rows
                                .iter()
                                .find(|r| &r.group == g && r.period.as_ref() == Some(p))
                                .and_then(|r| r.spend)
                        })
                        .collect(),
                    dashed: false,
                })
                .collect();
            if periods.len() > 1 {
                chart = svg::lines(
                    &self.l("spend_by_period"),
                    &periods,
                    &series,
                    &self.money_axis(),
                    true,
                );
            }
        }
        rows.push(total);
        Some(json!({"rows": rows, "chart": chart, "grain": m.grain.clone().unwrap_or_default()}))
    }

    // ------------------------------------------------------------ MMM

    fn mmm(&self) -> Option<Value> {
        if self.d.mmm.is_none() && self.d.decomposition.is_none() {
            return None;
        }
        let channels: Vec<String> = match &self.d.mmm {
            Some(m) => m.channels.iter().map(|c| c.name.clone()).collect(),
            None => Vec::new(),
        };
        let mut charts = Vec::new();
        if let Some(dec) = &self.d.decomposition {
            charts.extend(self.decomposition_charts(dec, &channels));
        }
        let mut table = Vec::new();
        if let Some(m) = &self.d.mmm {
            let names: Vec<String> = m.channels.iter().map(|c| c.name.clone()).collect();
            let shares = vec![
                (
                    self.l("spend_share"),
                    m.channels
                        .iter()
                        .map(|c| {
                            c.spend_share.map(|v| Bar {
                                value: v,
                                interval: None,
                            })
                        })
                        .collect(),
                ),
                (
                    self.l("effect_share"),
                    m.channels.iter().map(|c| bar(&c.effect_share)).collect(),
                ),
            ];
            let pct_axis = |v: f64| fmt::pct(Some(v));
            charts.push(json!({"title": self.l("share_chart"),
                "svg": svg::grouped_bars(&self.l("share_chart"), &names, &shares, &pct_axis)}));
            let roas = vec![(
                self.l("roas"),
                m.channels
                    .iter()
                    .map(|c| c.roas.as_ref().and_then(bar))
                    .collect(),
            )];
            let r_axis = |v: f64| fmt::ratio(Some(v), 2);
            charts.push(json!({"title": self.l("roas_chart"),
                "svg": svg::grouped_bars(&self.l("roas_chart"), &names, &roas, &r_axis)}));
            for c in &m.channels {
                let r = c.roas.unwrap_or_default();
                let mr = c.mroas.unwrap_or_default();
                table.push(json!({
                    "channel": c.name, "spend": self.money(c.spend), "spend_share": fmt::pct(c.spend_share),
                    "effect_share": fmt::pct(c.effect_share.value),
                    "effect_interval": pct_interval(&c.effect_share),
                    "contribution": self.money(c.contribution.value),
                    "roas": fmt::ratio(r.value, 2), "roas_interval": interval(&r, 2),
                    "mroas": fmt::ratio(mr.value, 2), "mroas_interval": interval(&mr, 2),
                }));
            }
        }
        Some(json!({"charts": charts, "table": table}))
    }

    fn decomposition_charts(&self, dec: &NumTable, channels: &[String]) -> Vec<Value> {
        let n = dec.keys.len();
        let col = |name: &str| -> Vec<f64> {
            dec.column(name)
                .map(|c| c.iter().map(|v| v.unwrap_or(0.0)).collect())
                .unwrap_or_else(|| vec![0.0; n])
        };
        let is_channel = |c: &str| channels.iter().any(|k| k == c);
        let media: Vec<&String> = dec.columns.iter().filter(|c| is_channel(c)).collect();
        let fitted = col("fitted");
        let mut base = fitted.clone();
        for m in &media {
            for (b, v) in base.iter_mut().zip(col(m)) {
                *b -= v;
            }
        }
        let mut bands = vec![(self.l("base"), base)];
        bands.extend(media.iter().map(|m| ((*m).clone(), col(m))));
        let kpi = dec.column("kpi").map(|c| c.to_vec());
        let kpi_label = self.l("actual_kpi");
        let area = svg::stacked_areas(
            &self.l("decomp_chart"),
            &dec.keys,
            &bands,
            kpi.as_deref().map(|k| (kpi_label.as_str(), k)),
            &self.num_axis(),
        );
        // Waterfall: intercept (baseline), terms grouped by kind, channels, total.
        let kinds: BTreeMap<&str, &str> = self
            .d
            .mmm
            .iter()
            .flat_map(|m| m.terms.iter().map(|t| (t.name.as_str(), t.kind.as_str())))
            .collect();
        let mut steps: Vec<(String, f64)> = Vec::new();
        let mut grouped: Vec<(String, f64)> = Vec::new();
        for c in &dec.columns {
            if matches!(c.as_str(), "kpi" | "fitted") || is_channel(c) {
                continue;
            }
            let sum: f64 = col(c).iter().sum();
            let label = match c.as_str() {
                "baseline" => self.l("intercept"),
                other => match kinds.get(other) {
                    Some(&"seasonality") => self.l("seasonality"),
                    Some(&"trend") => self.l("trend"),
                    _ => other.to_string(),
                },
            };
            match grouped.iter_mut().find(|(l, _)| *l == label) {
                Some(g) => g.1 += sum,
                None => grouped.push((label, sum)),
            }
        }
        steps.extend(grouped);
        steps.extend(media.iter().map(|m| ((*m).clone(), col(m).iter().sum())));
        let fall = svg::waterfall(
            &self.l("waterfall_chart"),
            &steps,
            &self.l("fitted_total"),
            &self.num_axis(),
        );
        vec![
            json!({"title": self.l("decomp_chart"), "svg": area}),
            json!({"title": self.l("waterfall_chart"), "svg": fall}),
        ]
    }

    // ------------------------------------------------------------ curves

    fn curves(&self) -> Option<Value> {
        let pts: Vec<_> = self
            .d
            .curves
            .iter()
            .filter(|p| p.curve == "response")
            .collect();
        if pts.is_empty() {
            return None;
        }
        let mut names: Vec<String> = Vec::new();
        for p in &pts {
            if !names.contains(&p.channel) {
                names.push(p.channel.clone());
            }
        }
        let periods = self
            .d
            .allocation
            .as_ref()
            .and_then(|a| a.periods)
            .filter(|p| *p > 0.0);
        let mut charts = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let points: Vec<(f64, f64)> = pts
                .iter()
                .filter(|p| &p.channel == name)
                .filter_map(|p| Some((p.x?, p.y?)))
                .collect();
            let mut markers = Vec::new();
            if let (Some(a), Some(periods)) = (&self.d.allocation, periods)
                && let Some(c) = a.channels.iter().find(|c| &c.name == name)
            {
                for (spend, key, col, diamond) in [
                    (c.current_spend, "current_spend", "#333333", false),
                    (c.optimal_spend, "optimal_spend", "#e15759", true),
                ] {
                    if let Some(s) = spend {
                        let x = s / periods;
                        markers.push(Marker {
                            name: self.l(key),
                            x,
                            y: interpolate(&points, x),
                            color: col,
                            diamond,
                        });
                    }
                }
            }
            let title = format!("{} · {}", name, self.l("response"));
            let series = [XySeries {
                name: self.l("response"),
                points,
                color: color(i),
                dashed: false,
                scatter: false,
            }];
            let svg = svg::xy(
                &title,
                &series,
                &markers,
                (&self.money_axis(), &self.l("spend_per_period")),
                &self.num_axis(),
                (380.0, 270.0),
            );
            charts.push(json!({"title": title, "svg": svg}));
        }
        Some(json!({"charts": charts, "has_markers": periods.is_some()}))
    }

    // ------------------------------------------------------------ budget

    fn budget(&self) -> Option<Value> {
        let a = self.d.allocation.as_ref()?;
        let rows: Vec<Value> = a
            .channels
            .iter()
            .map(|c| {
                let change = match (c.current_spend, c.optimal_spend) {
                    (Some(cur), Some(opt)) if cur != 0.0 => Some(opt / cur - 1.0),
                    _ => None,
                };
                json!({
                    "channel": c.name,
                    "current": self.money(c.current_spend), "optimal": self.money(c.optimal_spend),
                    "change": fmt::pct_change(change),
                    "change_class": match change { Some(v) if v > 0.0 => "up", Some(v) if v < 0.0 => "down", _ => "" },
                    "current_roas": fmt::ratio(c.current_roas, 2), "optimal_roas": fmt::ratio(c.optimal_roas, 2),
                    "marginal_roas": fmt::ratio(c.marginal_roas, 2),
                    "reason": c.reason.clone().unwrap_or_default(),
                })
            })
            .collect();
        let lift = match (a.current_response, a.total_response) {
            (Some(c), Some(o)) => Some(o - c),
            _ => None,
        };
        let lift_pct = match (a.current_response, lift) {
            (Some(c), Some(l)) if c != 0.0 => Some(l / c),
            _ => None,
        };
        let objective = a
            .objective
            .get("type")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        Some(json!({
            "rows": rows,
            "periods": fmt::grouped(a.periods.unwrap_or(0.0), 0),
            "objective": self.t.get_or(&format!("obj_{objective}"), &objective),
            "budget": self.money(a.total_spend),
            "current_response": self.money(a.current_response),
            "optimal_response": self.money(a.total_response),
            "lift": self.money(lift), "lift_pct": fmt::pct_change(lift_pct),
        }))
    }

    // ------------------------------------------------------------ attribution

    fn attribution(&self) -> Option<Value> {
        let a = self.d.attribution.as_ref()?;
        let mut models = a.settings.models.clone();
        if models.is_empty() {
            for c in &a.channels {
                for m in c.conversions.keys() {
                    if !models.contains(m) {
                        models.push(m.clone());
                    }
                }
            }
        }
        let names: Vec<String> = a.channels.iter().map(|c| c.channel.clone()).collect();
        let series: Vec<(String, Vec<Option<Bar>>)> = models
            .iter()
            .map(|m| {
                (
                    self.t.get_or(&format!("model_{m}"), m),
                    a.channels
                        .iter()
                        .map(|c| {
                            c.conversions.get(m).copied().flatten().map(|v| Bar {
                                value: v,
                                interval: None,
                            })
                        })
                        .collect(),
                )
            })
            .collect();
        let chart = svg::grouped_bars(
            &self.l("attribution_chart"),
            &names,
            &series,
            &self.num_axis(),
        );
        let header: Vec<String> = models
            .iter()
            .map(|m| self.t.get_or(&format!("model_{m}"), m))
            .collect();
        let rows: Vec<Value> = a
            .channels
            .iter()
            .map(|c| {
                let cells: Vec<String> = models
                    .iter()
                    .map(|m| {
                        fmt::grouped(
                            c.conversions.get(m).copied().flatten().unwrap_or(f64::NAN),
                            1,
                        )
                    })
                    .collect();
                json!({"channel": c.channel, "cells": cells, "removal": fmt::pct(c.removal_effect),
                    "spend": self.money(c.spend)})
            })
            .collect();
        let input = &a.input;
        let headline = self
            .t
            .get("attribution_headline")
            .replace("{journeys}", &self.num(input.journeys))
            .replace("{conversions}", &self.num(input.conversions))
            .replace("{value}", &self.money(input.value));
        Some(json!({"chart": chart, "header": header, "rows": rows, "headline": headline}))
    }

    // ------------------------------------------------------------ customers

    fn customers(&self) -> Option<Value> {
        if self.d.customers.is_none() && self.d.predictions.is_none() {
            return None;
        }
        let clv_by_id: BTreeMap<&str, f64> = self
            .d
            .predictions
            .iter()
            .flatten()
            .filter_map(|p| Some((p.customer_id.as_str(), p.clv?)))
            .collect();
        let mut segments = Vec::new();
        let mut seg_chart = String::new();
        if let Some(cs) = &self.d.customers {
            #[derive(Default)]
            struct Agg {
                n: f64,
                monetary: f64,
                frequency: f64,
                spend: f64,
                clv: f64,
                clv_n: f64,
            }
            let mut by: BTreeMap<&str, Agg> = BTreeMap::new();
            let total_spend: f64 = cs.iter().filter_map(|c| c.spend).sum();
            for c in cs {
                let a = by.entry(c.segment.as_str()).or_default();
                a.n += 1.0;
                a.monetary += c.monetary_value.unwrap_or(0.0);
                a.frequency += c.frequency.unwrap_or(0.0);
                a.spend += c.spend.unwrap_or(0.0);
                if let Some(v) = clv_by_id.get(c.customer_id.as_str()) {
                    a.clv += v;
                    a.clv_n += 1.0;
                }
            }
            let mut list: Vec<(&str, Agg)> = by.into_iter().collect();
            list.sort_by(|a, b| b.1.spend.total_cmp(&a.1.spend));
            let total_n = cs.len() as f64;
            let share = |x: f64, t: f64| (t > 0.0).then(|| x / t);
            let names: Vec<String> = list
                .iter()
                .map(|(s, _)| segment_label(self.lang, s))
                .collect();
            for ((_, a), name) in list.iter().zip(&names) {
                segments.push(json!({
                    "segment": name,
                    "customers": fmt::grouped(a.n, 0),
                    "customer_share": fmt::pct(share(a.n, total_n)),
                    "monetary": fmt::money(share(a.monetary, a.n), &self.cur, self.lang),
                    "frequency": fmt::ratio(share(a.frequency, a.n), 2),
                    "spend_share": fmt::pct(share(a.spend, total_spend)),
                    "clv": fmt::money(share(a.clv, a.clv_n), &self.cur, self.lang),
                }));
            }
            let series = vec![
                (
                    self.l("customer_share"),
                    list.iter()
                        .map(|(_, a)| {
                            share(a.n, total_n).map(|v| Bar {
                                value: v,
                                interval: None,
                            })
                        })
                        .collect(),
                ),
                (
                    self.l("spend_share"),
                    list.iter()
                        .map(|(_, a)| {
                            share(a.spend, total_spend).map(|v| Bar {
                                value: v,
                                interval: None,
                            })
                        })
                        .collect(),
                ),
            ];
            seg_chart = svg::grouped_bars(&self.l("segment_chart"), &names, &series, &|v| {
                fmt::pct(Some(v))
            });
        }
        let mut clv_chart = String::new();
        let mut clv_stats = Vec::new();
        if let Some(p) = &self.d.predictions {
            let mut v: Vec<f64> = p
                .iter()
                .filter_map(|r| r.clv)
                .filter(|v| v.is_finite())
                .collect();
            v.sort_by(f64::total_cmp);
            if !v.is_empty() {
                let q = |f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                clv_stats = vec![
                    json!({"label": self.l("customers_n"), "value": fmt::grouped(v.len() as f64, 0)}),
                    json!({"label": self.l("clv_total"), "value": self.money(Some(v.iter().sum()))}),
                    json!({"label": self.l("clv_mean"), "value": self.money(Some(mean))}),
                    json!({"label": self.l("clv_median"), "value": self.money(Some(q(0.5)))}),
                    json!({"label": self.l("clv_p90"), "value": self.money(Some(q(0.9)))}),
                ];
                if let Some(alive) = mean_of(p.iter().filter_map(|r| r.probability_alive)) {
                    clv_stats
                        .push(json!({"label": self.l("p_alive"), "value": fmt::pct(Some(alive))}));
                }
                // Histogram up to the 99th percentile; the last bin holds the tail.
                let lo = v[0].min(0.0);
                let hi = q(0.99).max(lo + 1e-9);
                let k = 20;
                let width = (hi - lo) / k as f64;
                let mut counts = vec![0.0; k + 1];
                for x in &v {
                    let b = if *x >= hi {
                        k
                    } else {
                        (((x - lo) / width) as usize).min(k - 1)
                    };
                    counts[b] += 1.0;
                }
                let labels: Vec<String> = (0..=k)
                    .map(|b| {
                        if b == k {
                            format!("≥{}", fmt::money(Some(hi), &self.cur, self.lang))
                        } else {
                            fmt::money(Some(lo + width * b as f64), &self.cur, self.lang)
                        }
                    })
                    .collect();
                let series = vec![(
                    self.l("customers_n"),
                    counts
                        .iter()
                        .map(|c| {
                            Some(Bar {
                                value: *c,
                                interval: None,
                            })
                        })
                        .collect(),
                )];
                clv_chart =
                    svg::grouped_bars(&self.l("clv_chart"), &labels, &series, &self.num_axis());
            }
        }
        let model = self.d.clv_model.as_ref().map(|m| {
            let s = |path: &[&str]| -> String {
                let mut v = m;
                for p in path {
                    match v.get(p) {
                        Some(x) => v = x,
                        None => return NONE.into(),
                    }
                }
                match v {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => (if *b { self.l("yes") } else { self.l("no") }).to_string(),
                    Value::Number(n) => fmt::grouped(n.as_f64().unwrap_or(f64::NAN), 1),
                    _ => NONE.into(),
                }
            };
            json!({
                "purchase": s(&["purchase", "model"]),
                "converged": s(&["purchase", "fit", "converged"]),
                "loglik": s(&["purchase", "fit", "log_likelihood"]),
                "spend": s(&["spend", "name"]).replace(NONE, "gamma-gamma"),
            })
        });
        Some(json!({
            "segments": segments, "segment_chart": seg_chart,
            "clv_chart": clv_chart, "clv_stats": clv_stats, "model": model,
        }))
    }

    // ------------------------------------------------------------ uplift

    fn uplift(&self) -> Option<Value> {
        let u = self.d.uplift.as_ref()?;
        let h = &u.holdout;
        let mut charts = Vec::new();
        if let Some(q) = &h.qini_curve {
            let pts = |xy: &crate::load::Xy| -> Vec<(f64, f64)> {
                xy.x.iter().copied().zip(xy.y.iter().copied()).collect()
            };
            let series = [
                XySeries {
                    name: self.l("qini_model"),
                    points: pts(&q.curve),
                    color: color(0),
                    dashed: false,
                    scatter: false,
                },
                XySeries {
                    name: self.l("qini_random"),
                    points: pts(&q.random),
                    color: "#999999",
                    dashed: true,
                    scatter: false,
                },
            ];
            charts.push(json!({"title": self.l("qini_chart"), "svg": svg::xy(
                &self.l("qini_chart"), &series, &[],
                (&self.num_axis(), &self.l("targeted")), &self.num_axis(), (760.0, 320.0))}));
        }
        if !h.deciles.is_empty() {
            let groups: Vec<String> = h.deciles.iter().map(|d| d.percentile.clone()).collect();
            let series = vec![(
                self.l("uplift_rate"),
                h.deciles
                    .iter()
                    .map(|d| {
                        d.uplift.map(|v| Bar {
                            value: v,
                            interval: None,
                        })
                    })
                    .collect(),
            )];
            charts.push(json!({"title": self.l("decile_chart"),
                "svg": svg::grouped_bars(&self.l("decile_chart"), &groups, &series, &|v| fmt::pct(Some(v)))}));
        }
        let mut stats = vec![
            json!({"label": self.l("qini_coefficient"), "value": fmt::ratio(h.qini_coefficient, 3)}),
            json!({"label": self.l("auuc"), "value": fmt::ratio(h.auuc, 3)}),
        ];
        if let Some(e) = &u.average_effect {
            stats.push(json!({"label": self.l("ate"), "value": format!("{} (± {})",
                fmt::pct(e.effect), fmt::pct(e.std_error.map(|s| 1.96 * s)))}));
        }
        if let Some(t) = &u.targeting {
            stats.push(
                json!({"label": self.l("contacted"), "value": format!("{} / {}",
                self.num(t.contacted), self.num(t.customers))}),
            );
            stats.push(
                json!({"label": self.l("expected_profit"), "value": self.money(t.expected_profit)}),
            );
            stats.push(json!({"label": self.l("contact_all_profit"), "value": self.money(t.contact_everyone_profit)}));
        }
        Some(json!({"charts": charts, "stats": stats}))
    }

    // ------------------------------------------------------------ fairness

    fn fairness(&self) -> Option<Value> {
        let f = self.d.fairness.as_ref()?;
        let ratio = |v: Option<f64>| fmt::ratio(v, 3);
        let attributes: Vec<Value> = f
            .attributes
            .iter()
            .map(|a| {
                let groups: Vec<String> = a.groups.iter().map(|g| g.group.clone()).collect();
                let series = vec![(
                    self.l("selection_rate"),
                    a.groups
                        .iter()
                        .map(|g| {
                            g.positive_rate.map(|v| Bar {
                                value: v,
                                interval: None,
                            })
                        })
                        .collect(),
                )];
                let title = self.t.get("selection_by").replace("{column}", &a.column);
                json!({
                    "column": a.column,
                    "rows": a.groups.iter().map(|g| json!({
                        "group": g.group,
                        "rows": self.num(g.rows),
                        "rate": fmt::pct(g.positive_rate),
                        "tpr": fmt::pct(g.tpr),
                        "fpr": fmt::pct(g.fpr),
                    })).collect::<Vec<_>>(),
                    "parity": ratio(a.demographic_parity_difference),
                    "opportunity": ratio(a.equal_opportunity_difference),
                    "impact": ratio(a.disparate_impact_ratio),
                    "failures": a.failures,
                    "chart_title": title,
                    "chart": svg::grouped_bars(&title, &groups, &series, &|v| fmt::pct(Some(v))),
                })
            })
            .collect();
        let verdict = match f.pass {
            Some(true) => self.l("fairness_pass"),
            Some(false) => self.l("fairness_fail"),
            None => String::new(),
        };
        Some(json!({
            "verdict": verdict,
            "pass": f.pass.unwrap_or(true),
            "max_gap": ratio(f.limits.max_gap),
            "min_impact": ratio(f.limits.min_disparate_impact),
            "attributes": attributes,
        }))
    }

    // ------------------------------------------------------------ text

    fn text(&self) -> Option<Value> {
        let tx = self.d.text.as_ref()?;
        let mut charts = Vec::new();
        if let Some(tr) = &tx.trends {
            // The KPI beside the text series, matched by date from the MMM decomposition.
            if let Some(dec) = &self.d.decomposition
                && let Some(kpi) = dec.column("kpi")
            {
                let by_date: BTreeMap<&str, Option<f64>> = dec
                    .keys
                    .iter()
                    .map(String::as_str)
                    .zip(kpi.iter().copied())
                    .collect();
                let values: Vec<Option<f64>> = tr
                    .keys
                    .iter()
                    .map(|k| by_date.get(k.as_str()).copied().flatten())
                    .collect();
                if values.iter().any(Option::is_some) {
                    let series = [Line {
                        name: self.l("actual_kpi"),
                        values,
                        dashed: false,
                    }];
                    charts.push(json!({"title": self.l("kpi_series"),
                        "svg": svg::lines(&self.l("kpi_series"), &tr.keys, &series, &self.num_axis(), false)}));
                }
            }
            let mut series = Vec::new();
            for (col, key) in [
                ("text_sentiment", "sentiment_score"),
                ("text_negative_share", "negative_share"),
                ("text_positive_share", "positive_share"),
            ] {
                if let Some(v) = tr.column(col) {
                    series.push(Line {
                        name: self.l(key),
                        values: rolling(v, 4),
                        dashed: col == "text_negative_share",
                    });
                }
            }
            if !series.is_empty() {
                charts.push(json!({"title": self.l("sentiment_chart"),
                    "svg": svg::lines(&self.l("sentiment_chart"), &tr.keys, &series, &|v| fmt::ratio(Some(v), 2), true)}));
            }
            let mut aspects = Vec::new();
            for c in &tr.columns {
                if let Some(a) = c
                    .strip_prefix("aspect_")
                    .and_then(|c| c.strip_suffix("_negative_share"))
                {
                    let mentions: f64 = tr
                        .column(&format!("aspect_{a}_mentions"))
                        .map(|m| m.iter().flatten().sum())
                        .unwrap_or(1.0);
                    if mentions > 0.0
                        && let Some(v) = tr.column(c)
                    {
                        aspects.push(Line {
                            name: self.t.get_or(&format!("aspect_{a}"), a),
                            values: rolling(v, 4),
                            dashed: false,
                        });
                    }
                }
            }
            if !aspects.is_empty() {
                charts.push(json!({"title": self.l("aspect_chart"),
                    "svg": svg::lines(&self.l("aspect_chart"), &tr.keys, &aspects, &|v| fmt::pct(Some(v)), true)}));
            }
        }
        let total: u64 = tx.sentiment_counts.values().sum();
        let sentiment: Vec<Value> = tx
            .sentiment_counts
            .iter()
            .map(|(label, n)| {
                json!({"label": self.t.get_or(&format!("sent_{label}"), label),
                    "count": fmt::grouped(*n as f64, 0),
                    "share": fmt::pct((total > 0).then(|| *n as f64 / total as f64))})
            })
            .collect();
        let mut topics: Vec<_> = tx.topics.iter().flat_map(|t| t.topics.iter()).collect();
        topics.sort_by(|a, b| b.size.unwrap_or(0.0).total_cmp(&a.size.unwrap_or(0.0)));
        let topics: Vec<Value> = topics
            .iter()
            .take(6)
            .map(|t| {
                let terms: Vec<&str> = t.terms.iter().take(8).map(|(w, _)| w.as_str()).collect();
                let name = t.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| terms.iter().take(3).copied().collect::<Vec<_>>().join(" · "));
                json!({
                    "name": name, "terms": terms.join(", "),
                    "size": t.size.map_or(NONE.into(), |s| fmt::grouped(s, 0)),
                    "share": fmt::pct(t.weight_share),
                    "quotes": t.representative.iter().take(2).map(|q| q.text.clone()).collect::<Vec<_>>(),
                })
            })
            .collect();
        Some(
            json!({"charts": charts, "sentiment": sentiment, "texts": fmt::grouped(total as f64, 0), "topics": topics}),
        )
    }

    // ------------------------------------------------------------ diagnostics

    /// The sampler's diagnostics of a Bayesian fit, a failed check marked high.
    fn bayes_rows(&self, b: &crate::load::Bayes) -> Vec<Value> {
        let mut rows = vec![json!({"name": self.l("sampler"), "value": format!(
            "{}{}",
            b.sampler.clone().unwrap_or_default(),
            b.seconds.map_or(String::new(), |s| format!(", {s:.1} s"))
        )})];
        rows.push(
            json!({"name": "R-hat (max)", "value": fmt::ratio(b.max_rhat, 3),
            "high": b.max_rhat.is_some_and(|r| r > 1.01)}),
        );
        rows.push(json!({"name": self.l("ess"), "value": format!(
            "{} / {}",
            fmt::grouped(b.min_ess_bulk.unwrap_or(f64::NAN), 0),
            fmt::grouped(b.min_ess_tail.unwrap_or(f64::NAN), 0)
        ), "high": b.min_ess_bulk.is_some_and(|e| e < 400.0)}));
        rows.push(json!({"name": self.l("divergences"), "value": fmt::grouped(b.divergences.unwrap_or(f64::NAN), 0),
            "high": b.divergences.is_some_and(|d| d > 0.0)}));
        rows.push(json!({"name": "BFMI", "value": b.bfmi.iter().map(|v| fmt::ratio(*v, 2)).collect::<Vec<_>>().join(", "),
            "high": b.bfmi.iter().any(|v| v.is_some_and(|v| v < 0.3))}));
        if let Some(g) = &b.geo {
            let gap = g
                .curve_error
                .values()
                .filter_map(|v| *v)
                .fold(0.0, f64::max);
            rows.push(json!({"name": self.l("geos"), "value": format!(
                "{} ({} {})",
                g.geos.len(),
                self.l("curve_gap"),
                fmt::pct(Some(gap))
            )}));
        }
        for w in &b.warnings {
            rows.push(json!({"name": self.l("warning"), "value": w, "high": true}));
        }
        rows
    }

    fn diagnostics(&self) -> Option<Value> {
        let m = self.d.mmm.as_ref()?;
        let d = &m.diagnostics;
        let r = |x: Option<f64>| fmt::ratio(x, 3);
        let mut rows = vec![
            json!({"name": self.l("r2"), "value": r(d.train.r2)}),
            json!({"name": self.l("adj_r2"), "value": r(d.adjusted_r2)}),
            json!({"name": "NRMSE", "value": r(d.train.nrmse)}),
            json!({"name": "MAPE", "value": fmt::pct(d.train.mape)}),
            json!({"name": "DECOMP.RSSD", "value": r(d.decomp_rssd)}),
        ];
        match &d.holdout {
            Some(h) => {
                rows.push(json!({"name": format!("{} R²", self.l("holdout")), "value": r(h.r2)}));
                rows.push(
                    json!({"name": format!("{} NRMSE", self.l("holdout")), "value": r(h.nrmse)}),
                );
                rows.push(json!({"name": format!("{} MAPE", self.l("holdout")), "value": fmt::pct(h.mape)}));
            }
            None => rows.push(json!({"name": self.l("holdout"), "value": self.l("no_holdout")})),
        }
        rows.push(json!({"name": "Durbin–Watson", "value": fmt::ratio(d.durbin_watson, 2)}));
        rows.push(json!({"name": self.l("acf1"), "value": fmt::ratio(d.residual_acf1, 2)}));
        match &m.bayes {
            Some(b) => rows.extend(self.bayes_rows(b)),
            None => {
                if let Some(e) = m.search.evaluations {
                    rows.push(json!({"name": self.l("evaluations"), "value": fmt::grouped(e, 0)}));
                }
            }
        }
        let mut vif: Vec<(&String, f64)> =
            d.vif.iter().filter_map(|(k, v)| Some((k, (*v)?))).collect();
        vif.sort_by(|a, b| b.1.total_cmp(&a.1));
        let vif: Vec<Value> = vif
            .iter()
            .map(|(k, v)| json!({"name": k, "value": fmt::ratio(Some(*v), 2), "high": *v > 10.0}))
            .collect();
        let lifts: Vec<Value> = d
            .lift_tests
            .iter()
            .map(|l| {
                json!({"label": l.label, "channel": l.channel, "measured": self.num(l.measured),
                    "predicted": self.num(l.predicted),
                    "error": fmt::pct_change(match (l.measured, l.predicted) { (Some(a), Some(b)) if a != 0.0 => Some(b / a - 1.0), _ => None })})
            })
            .collect();
        let mut charts = Vec::new();
        let front: Vec<(f64, f64)> = m
            .search
            .front
            .iter()
            .filter_map(|p| Some((p.nrmse?, p.decomp_rssd?)))
            .collect();
        if front.len() > 1 {
            let mut sorted = front.clone();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            let markers: Vec<Marker> = m
                .search
                .selected
                .and_then(|i| m.search.front.get(i))
                .and_then(|p| Some((p.nrmse?, p.decomp_rssd?)))
                .map(|(x, y)| Marker {
                    name: self.l("selected_model"),
                    x,
                    y,
                    color: "#e15759",
                    diamond: true,
                })
                .into_iter()
                .collect();
            let series = [XySeries {
                name: self.l("pareto_front"),
                points: sorted,
                color: color(0),
                dashed: false,
                scatter: true,
            }];
            let f3 = |v: f64| fmt::ratio(Some(v), 3);
            charts.push(json!({"title": self.l("pareto_chart"), "svg": svg::xy(
                &self.l("pareto_chart"), &series, &markers, (&f3, "NRMSE"), &f3, (760.0, 300.0))}));
        }
        Some(json!({"rows": rows, "vif": vif, "lifts": lifts,
            "reason": m.search.reason.clone().unwrap_or_default(), "charts": charts}))
    }
}

fn bar(i: &Interval) -> Option<Bar> {
    Some(Bar {
        value: i.value?,
        interval: i.lower.zip(i.upper),
    })
}

fn interval(i: &Interval, decimals: usize) -> String {
    match (i.lower, i.upper) {
        (Some(l), Some(u)) => format!(
            "{} – {}",
            fmt::ratio(Some(l), decimals),
            fmt::ratio(Some(u), decimals)
        ),
        _ => String::new(),
    }
}

fn pct_interval(i: &Interval) -> String {
    match (i.lower, i.upper) {
        (Some(l), Some(u)) => format!("{} – {}", fmt::pct(Some(l)), fmt::pct(Some(u))),
        _ => String::new(),
    }
}

fn mean_of(it: impl Iterator<Item = f64>) -> Option<f64> {
    let (s, n) = it.fold((0.0, 0.0), |(s, n), v| (s + v, n + 1.0));
    (n > 0.0).then(|| s / n)
}

/// Trailing mean over `k` periods, skipping missing values.
fn rolling(v: &[Option<f64>], k: usize) -> Vec<Option<f64>> {
    (0..v.len())
        .map(|i| mean_of(v[i.saturating_sub(k - 1)..=i].iter().flatten().copied()))
        .collect()
}

/// Linear interpolation on a curve sorted by x (clamped at its ends).
fn interpolate(points: &[(f64, f64)], x: f64) -> f64 {
    match points {
        [] => 0.0,
        [only] => only.1,
        _ => {
            for w in points.windows(2) {
                let ((x0, y0), (x1, y1)) = (w[0], w[1]);
                if x >= x0 && x <= x1 {
                    return if x1 > x0 {
                        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
                    } else {
                        y0
                    };
                }
            }
            if x < points[0].0 {
                points[0].1
            } else {
                points[points.len() - 1].1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(interpolate(&[(0.0, 0.0), (10.0, 100.0)], 2.5), 25.0);
        assert_eq!(interpolate(&[(0.0, 0.0), (10.0, 100.0)], 20.0), 100.0);
        let r = rolling(&[Some(1.0), None, Some(3.0), Some(5.0)], 2);
        assert_eq!(r, vec![Some(1.0), Some(1.0), Some(3.0), Some(4.0)]);
    }
}
