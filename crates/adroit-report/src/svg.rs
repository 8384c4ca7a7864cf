//! Inline SVG charts, hand-written.
//!
//! Why not `plotters`: its SVG backend with default features off has no font engine,
//! so it lays out axis labels and legends by a guessed glyph width (CJK labels collide)
//! or needs the `ttf` feature and system fonts (fontconfig/freetype) at build and run
//! time; it writes a fixed-size `<svg width height>` with no hook for the `class="chart"`
//! the browser test counts, for a responsive `viewBox`, or for `<title>` hover tips on
//! bars and points; and waterfalls, error bars and marked response curves are a handful
//! of rectangles and lines either way. So charts here are small functions that emit
//! SVG text: every label goes through [`esc`], text is left to the browser's fonts
//! (which shape Chinese correctly), and the output is deterministic for tests.

use std::fmt::Write;

/// Colours for series, in order (colour-blind-safe Tableau 10).
pub const PALETTE: &[&str] = &[
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Escape text for SVG/HTML content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Formats an axis or tooltip value.
pub type Fmt<'a> = &'a dyn Fn(f64) -> String;

const W: f64 = 760.0;
const H: f64 = 320.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 42.0;

struct Plot {
    w: f64,
    h: f64,
    top: f64,
    bottom: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Plot {
    fn new(w: f64, h: f64, (x0, x1): (f64, f64), (y0, y1): (f64, f64)) -> Plot {
        let (x0, x1) = if x1 > x0 {
            (x0, x1)
        } else {
            (x0 - 1.0, x0 + 1.0)
        };
        let (y0, y1) = if y1 > y0 {
            (y0, y1)
        } else {
            (y0 - 1.0, y0 + 1.0)
        };
        Plot {
            w,
            h,
            top: TOP,
            bottom: BOTTOM,
            x0,
            x1,
            y0,
            y1,
        }
    }
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x0) / (self.x1 - self.x0) * (self.w - LEFT - RIGHT)
    }
    fn py(&self, y: f64) -> f64 {
        self.h
            - self.bottom
            - (y - self.y0) / (self.y1 - self.y0) * (self.h - self.top - self.bottom)
    }
    fn bottom(&self) -> f64 {
        self.h - self.bottom
    }
    /// Room for a legend of `rows` rows above the plot.
    fn with_legend(mut self, rows: usize) -> Plot {
        self.top = TOP + 18.0 * rows.saturating_sub(1) as f64;
        self
    }
}

/// Round tick values covering `[lo, hi]`, about `n` of them; the range widened to them.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut i = 0.0;
    loop {
        let t = start + i * step;
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        if t >= hi - step * 1e-9 || out.len() >= 50 {
            break;
        }
        i += 1.0;
    }
    out
}

fn open(out: &mut String, title: &str, w: f64, h: f64) {
    let _ = write!(
        out,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
}

fn y_axis(out: &mut String, p: &Plot, ticks: &[f64], fmt: Fmt) {
    for &t in ticks {
        let y = p.py(t);
        let _ = write!(
            out,
            r##"<line x1="{l}" x2="{r:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{c}" stroke-width="1"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="tick">{label}</text>"##,
            l = LEFT,
            r = p.w - RIGHT,
            c = if t == 0.0 { "#888" } else { "#e6e6e6" },
            tx = LEFT - 6.0,
            ty = y + 4.0,
            label = esc(&fmt(t)),
        );
    }
}

/// X labels at index positions (categorical or dates), thinned to about `max` labels.
fn x_labels_index(out: &mut String, p: &Plot, labels: &[String], max: usize) {
    if labels.is_empty() {
        return;
    }
    let step = labels.len().div_ceil(max.max(1)).max(1);
    for (i, l) in labels.iter().enumerate().step_by(step) {
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" class="tick">{l}</text>"#,
            x = p.px(i as f64),
            y = p.bottom() + 16.0,
            l = esc(l)
        );
    }
}

fn x_axis_numeric(out: &mut String, p: &Plot, ticks: &[f64], fmt: Fmt, title: &str) {
    for &t in ticks {
        if t < p.x0 - 1e-9 || t > p.x1 + 1e-9 {
            continue;
        }
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" class="tick">{l}</text>"#,
            x = p.px(t),
            y = p.bottom() + 16.0,
            l = esc(&fmt(t))
        );
    }
    if !title.is_empty() {
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" class="axis">{t}</text>"#,
            x = (LEFT + p.w - RIGHT) / 2.0,
            y = p.bottom() + 34.0,
            t = esc(title)
        );
    }
}

/// Approximate width of a label in pixels at the legend's size (CJK glyphs are wide).
fn text_width(s: &str, px: f64) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 0.6 } else { 1.05 })
        .sum::<f64>()
        * px
}

/// Where each legend item goes, wrapping into rows within the width; and the rows.
fn legend_layout(items: &[(String, &str, bool)], w: f64) -> (Vec<(f64, f64)>, usize) {
    let mut pos = Vec::new();
    let (mut x, mut row) = (LEFT, 0usize);
    for (name, _, _) in items {
        let iw = 30.0 + text_width(name, 12.0);
        if x + iw > w - RIGHT && x > LEFT {
            x = LEFT;
            row += 1;
        }
        pos.push((x, 14.0 + 18.0 * row as f64));
        x += iw;
    }
    (pos, if items.is_empty() { 0 } else { row + 1 })
}

/// The legend along the top, wrapped into rows.
fn legend(out: &mut String, items: &[(String, &str, bool)], w: f64) {
    let (pos, _) = legend_layout(items, w);
    for ((name, col, dashed), (x, y)) in items.iter().zip(pos) {
        let dash = if *dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<line x1="{x}" x2="{x2}" y1="{y}" y2="{y}" stroke="{col}" stroke-width="8"{dash}/><text x="{tx}" y="{ty}" class="legend">{n}</text>"#,
            x2 = x + 16.0,
            tx = x + 20.0,
            ty = y + 4.0,
            n = esc(name)
        );
    }
}

fn range<'a>(vals: impl Iterator<Item = &'a f64>) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for &v in vals {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi { (0.0, 1.0) } else { (lo, hi) }
}

/// A series of a line chart over shared index positions.
pub struct Line {
    pub name: String,
    pub values: Vec<Option<f64>>,
    pub dashed: bool,
}

/// Lines over index positions labelled by `x` (dates); gaps where a value is missing.
pub fn lines(title: &str, x: &[String], series: &[Line], fmt: Fmt, zero: bool) -> String {
    let mut all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .collect();
    if zero {
        all.push(0.0);
    }
    let (lo, hi) = range(all.iter());
    let t = ticks(lo, hi, 5);
    let items: Vec<_> = series
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), color(i), s.dashed))
        .collect();
    let p = Plot::new(
        W,
        H,
        (0.0, x.len().saturating_sub(1).max(1) as f64),
        (t[0], *t.last().unwrap_or(&hi)),
    )
    .with_legend(legend_layout(&items, W).1);
    let mut out = String::new();
    open(&mut out, title, W, H);
    y_axis(&mut out, &p, &t, fmt);
    x_labels_index(&mut out, &p, x, 7);
    for (i, s) in series.iter().enumerate() {
        let mut d = String::new();
        let mut pen = false;
        for (j, v) in s.values.iter().enumerate() {
            match v {
                Some(v) if v.is_finite() => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1} ",
                        if pen { "L" } else { "M" },
                        p.px(j as f64),
                        p.py(*v)
                    );
                    pen = true;
                }
                _ => pen = false,
            }
        }
        let dash = if s.dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="1.8"{dash}><title>{n}</title></path>"#,
            c = color(i),
            n = esc(&s.name)
        );
    }
    legend(&mut out, &items, W);
    out.push_str("</svg>");
    out
}

/// Stacked areas over index positions (positive parts stacked up from zero, negative
/// parts down), with an optional overlay line (the actual KPI).
pub fn stacked_areas(
    title: &str,
    x: &[String],
    bands: &[(String, Vec<f64>)],
    overlay: Option<(&str, &[Option<f64>])>,
    fmt: Fmt,
) -> String {
    let n = x.len();
    let mut pos = vec![0.0; n];
    let mut neg = vec![0.0; n];
    let mut shapes = Vec::new();
    for (name, vals) in bands {
        let mut lower = Vec::with_capacity(n);
        let mut upper = Vec::with_capacity(n);
        for j in 0..n {
            let v = vals
                .get(j)
                .copied()
                .filter(|v| v.is_finite())
                .unwrap_or(0.0);
            if v >= 0.0 {
                lower.push(pos[j]);
                pos[j] += v;
                upper.push(pos[j]);
            } else {
                upper.push(neg[j]);
                neg[j] += v;
                lower.push(neg[j]);
            }
        }
        shapes.push((name, lower, upper));
    }
    let mut all: Vec<f64> = pos.iter().chain(neg.iter()).copied().collect();
    if let Some((_, o)) = overlay {
        all.extend(o.iter().flatten());
    }
    all.push(0.0);
    let (lo, hi) = range(all.iter());
    let t = ticks(lo, hi, 5);
    let mut items: Vec<(String, &str, bool)> = bands
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.clone(), color(i), false))
        .collect();
    if let Some((name, _)) = overlay {
        items.push((name.to_string(), "#222", false));
    }
    let p = Plot::new(
        W,
        H,
        (0.0, n.saturating_sub(1).max(1) as f64),
        (t[0], *t.last().unwrap_or(&hi)),
    )
    .with_legend(legend_layout(&items, W).1);
    let mut out = String::new();
    open(&mut out, title, W, H);
    y_axis(&mut out, &p, &t, fmt);
    x_labels_index(&mut out, &p, x, 7);
    for (i, (name, lower, upper)) in shapes.iter().enumerate() {
        let mut d = String::new();
        for (j, u) in upper.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1} ",
                if j == 0 { "M" } else { "L" },
                p.px(j as f64),
                p.py(*u)
            );
        }
        for (j, l) in lower.iter().enumerate().rev() {
            let _ = write!(d, "L{:.1},{:.1} ", p.px(j as f64), p.py(*l));
        }
        d.push('Z');
        let _ = write!(
            out,
            r#"<path d="{d}" fill="{c}" fill-opacity="0.85" stroke="none"><title>{t}</title></path>"#,
            c = color(i),
            t = esc(name)
        );
    }
    if let Some((name, o)) = overlay {
        let mut d = String::new();
        let mut pen = false;
        for (j, v) in o.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1} ",
                    if pen { "L" } else { "M" },
                    p.px(j as f64),
                    p.py(*v)
                );
                pen = true;
            } else {
                pen = false;
            }
        }
        let _ = write!(
            out,
            r##"<path d="{d}" fill="none" stroke="#222" stroke-width="1.2"><title>{t}</title></path>"##,
            t = esc(name)
        );
    }
    legend(&mut out, &items, W);
    out.push_str("</svg>");
    out
}

/// A waterfall: each step adds to the running total from the left; the last bar is the
/// total.
pub fn waterfall(title: &str, steps: &[(String, f64)], total_label: &str, fmt: Fmt) -> String {
    let mut run = 0.0;
    let mut bars = Vec::new();
    for (name, v) in steps {
        let start = run;
        run += v;
        bars.push((name.clone(), start, run, *v));
    }
    bars.push((total_label.to_string(), 0.0, run, run));
    let all: Vec<f64> = bars
        .iter()
        .flat_map(|b| [b.1, b.2])
        .chain(std::iter::once(0.0))
        .collect();
    let (lo, hi) = range(all.iter());
    let t = ticks(lo, hi, 5);
    let n = bars.len();
    let widest = bars
        .iter()
        .map(|b| text_width(&b.0, 11.0))
        .fold(0.0, f64::max)
        .min(120.0);
    let mut p = Plot::new(
        W,
        H + 30.0,
        (-0.5, n as f64 - 0.5),
        (t[0], *t.last().unwrap_or(&hi)),
    );
    p.bottom = 16.0 + widest * 0.6;
    let mut out = String::new();
    open(&mut out, title, W, H + 30.0);
    y_axis(&mut out, &p, &t, fmt);
    let bw = (p.px(1.0) - p.px(0.0)) * 0.7;
    for (i, (name, a, b, v)) in bars.iter().enumerate() {
        let last = i + 1 == n;
        let col = if last {
            "#4e79a7"
        } else if *v >= 0.0 {
            "#59a14f"
        } else {
            "#e15759"
        };
        let (y0, y1) = (p.py(a.max(*b)), p.py(a.min(*b)));
        let x = p.px(i as f64);
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{col}"><title>{}: {}</title></rect>"#,
            x - bw / 2.0,
            y0,
            bw,
            (y1 - y0).max(1.0),
            esc(name),
            esc(&fmt(*v))
        );
        let _ = write!(
            out,
            r#"<text transform="translate({:.1},{:.1}) rotate(-35)" text-anchor="end" class="tick">{}</text>"#,
            x + 4.0,
            p.bottom() + 14.0,
            esc(name)
        );
    }
    out.push_str("</svg>");
    out
}

/// One bar: its value and an optional interval drawn as an error bar.
#[derive(Clone, Copy, Debug)]
pub struct Bar {
    pub value: f64,
    pub interval: Option<(f64, f64)>,
}

/// Grouped vertical bars: one group per category, one bar per series.
pub fn grouped_bars(
    title: &str,
    groups: &[String],
    series: &[(String, Vec<Option<Bar>>)],
    fmt: Fmt,
) -> String {
    let mut all = vec![0.0];
    for (_, bars) in series {
        for b in bars.iter().flatten() {
            all.push(b.value);
            if let Some((l, u)) = b.interval {
                all.extend([l, u]);
            }
        }
    }
    let (lo, hi) = range(all.iter());
    let t = ticks(lo, hi, 5);
    let n = groups.len().max(1);
    let items: Vec<_> = series
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.clone(), color(i), false))
        .collect();
    let rows = if series.len() > 1 {
        legend_layout(&items, W).1
    } else {
        0
    };
    // Long category names are drawn slanted, with room below.
    let slot = (W - LEFT - RIGHT) / n as f64;
    let widest = groups
        .iter()
        .map(|g| text_width(g, 11.0))
        .fold(0.0, f64::max);
    let slant = widest > slot * 0.95;
    let h = if slant {
        H + widest.min(120.0) * 0.6
    } else {
        H
    };
    let mut p = Plot::new(
        W,
        h,
        (-0.5, n as f64 - 0.5),
        (t[0], *t.last().unwrap_or(&hi)),
    )
    .with_legend(rows);
    if slant {
        p.bottom = 16.0 + widest.min(120.0) * 0.6;
    }
    let mut out = String::new();
    open(&mut out, title, W, h);
    y_axis(&mut out, &p, &t, fmt);
    let gw = (p.px(1.0) - p.px(0.0)) * 0.8;
    let k = series.len().max(1) as f64;
    let bw = gw / k;
    for (s, (name, bars)) in series.iter().enumerate() {
        for (g, b) in bars.iter().enumerate() {
            let Some(b) = b else { continue };
            if !b.value.is_finite() {
                continue;
            }
            let x = p.px(g as f64) - gw / 2.0 + bw * s as f64;
            let (y0, y1) = (p.py(b.value.max(0.0)), p.py(b.value.min(0.0)));
            let label = groups.get(g).map(String::as_str).unwrap_or("");
            let _ = write!(
                out,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} · {}: {}</title></rect>"#,
                x + 1.0,
                y0,
                (bw - 2.0).max(1.0),
                (y1 - y0).max(0.5),
                color(s),
                esc(label),
                esc(name),
                esc(&fmt(b.value))
            );
            if let Some((l, u)) = b.interval {
                let cx = x + bw / 2.0;
                let (yl, yu) = (p.py(l), p.py(u));
                let _ = write!(
                    out,
                    r##"<path d="M{cx:.1},{yl:.1}V{yu:.1}M{a:.1},{yl:.1}H{b2:.1}M{a:.1},{yu:.1}H{b2:.1}" stroke="#333" stroke-width="1.3" fill="none"><title>{lab}: {lo} – {hi}</title></path>"##,
                    a = cx - 5.0,
                    b2 = cx + 5.0,
                    lab = esc(name),
                    lo = esc(&fmt(l)),
                    hi = esc(&fmt(u)),
                );
            }
        }
    }
    if slant {
        for (i, g) in groups.iter().enumerate() {
            let _ = write!(
                out,
                r#"<text transform="translate({:.1},{:.1}) rotate(-35)" text-anchor="end" class="tick">{}</text>"#,
                p.px(i as f64) + 4.0,
                p.bottom() + 14.0,
                esc(g)
            );
        }
    } else {
        x_labels_index(&mut out, &p, groups, 24);
    }
    if series.len() > 1 {
        legend(&mut out, &items, W);
    }
    out.push_str("</svg>");
    out
}

/// A point series on a numeric x axis.
pub struct XySeries {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: &'static str,
    pub dashed: bool,
    /// Drawn as separate points, not a line.
    pub scatter: bool,
}

/// A labelled marker on an [`xy`] chart.
pub struct Marker {
    pub name: String,
    pub x: f64,
    pub y: f64,
    pub color: &'static str,
    /// Drawn as a diamond instead of a circle.
    pub diamond: bool,
}

/// Curves on numeric axes with markers (response curves, Qini curves).
pub fn xy(
    title: &str,
    series: &[XySeries],
    markers: &[Marker],
    (xfmt, x_title): (Fmt, &str),
    yfmt: Fmt,
    size: (f64, f64),
) -> String {
    let (w, h) = size;
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(markers.iter().map(|m| m.x))
        .collect();
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(markers.iter().map(|m| m.y))
        .chain(std::iter::once(0.0))
        .collect();
    let (xl, xh) = range(xs.iter());
    let (yl, yh) = range(ys.iter());
    let ty = ticks(yl, yh, 4);
    let tx = ticks(xl, xh, 4);
    let mut items: Vec<(String, &str, bool)> = series
        .iter()
        .map(|s| (s.name.clone(), s.color, s.dashed))
        .collect();
    items.extend(markers.iter().map(|m| (m.name.clone(), m.color, false)));
    let p = Plot::new(w, h, (xl, xh), (ty[0], *ty.last().unwrap_or(&yh)))
        .with_legend(legend_layout(&items, w).1);
    let mut out = String::new();
    open(&mut out, title, w, h);
    y_axis(&mut out, &p, &ty, yfmt);
    x_axis_numeric(&mut out, &p, &tx, xfmt, x_title);
    for s in series {
        if s.scatter {
            for (x, y) in s
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
            {
                let _ = write!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{}" fill-opacity="0.6"/>"#,
                    p.px(*x),
                    p.py(*y),
                    s.color
                );
            }
            continue;
        }
        let mut d = String::new();
        for (j, (x, y)) in s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .enumerate()
        {
            let _ = write!(
                d,
                "{}{:.1},{:.1} ",
                if j == 0 { "M" } else { "L" },
                p.px(*x),
                p.py(*y)
            );
        }
        let dash = if s.dashed {
            r#" stroke-dasharray="5 3""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="2"{dash}><title>{n}</title></path>"#,
            c = s.color,
            n = esc(&s.name)
        );
    }
    for m in markers {
        let (cx, cy) = (p.px(m.x), p.py(m.y));
        let tip = format!("{}: {}, {}", m.name, xfmt(m.x), yfmt(m.y));
        if m.diamond {
            let _ = write!(
                out,
                r##"<path d="M{:.1},{:.1}l7,7l-7,7l-7,-7z" fill="{}" stroke="#fff"><title>{}</title></path>"##,
                cx,
                cy - 7.0,
                m.color,
                esc(&tip)
            );
        } else {
            let _ = write!(
                out,
                r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="6" fill="{}" stroke="#fff"><title>{}</title></circle>"##,
                m.color,
                esc(&tip)
            );
        }
    }
    legend(&mut out, &items, w);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover() {
        assert_eq!(
            ticks(0.0, 97.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        let t = ticks(-41.0, 57.0, 5);
        assert!(t[0] <= -41.0 && *t.last().unwrap() >= 57.0);
        assert_eq!(ticks(3.0, 3.0, 5), vec![3.0]);
    }

    #[test]
    fn escapes_labels() {
        let s = grouped_bars(
            "<t>",
            &["<script>".into()],
            &[(
                "a&b".into(),
                vec![Some(Bar {
                    value: 1.0,
                    interval: Some((0.5, 1.5)),
                })],
            )],
            &|v| format!("{v}"),
        );
        assert!(!s.contains("<script>") && s.contains("&lt;script&gt;"));
        assert!(s.contains("a&amp;b") && s.starts_with(r#"<svg class="chart""#));
    }
}
