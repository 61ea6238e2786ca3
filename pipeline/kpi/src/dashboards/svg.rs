//! Small SVG charts drawn on the server, so the report needs no script and
//! no network to be viewed.

use std::fmt::Write;

/// One line or one stack of bars.
pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub values: Vec<Option<f64>>,
}

/// Colours, in order of use.
pub const PALETTE: &[&str] = &["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

const W: f64 = 920.0;
const H: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 48.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * mag >= max {
            return step * mag;
        }
    }
    10.0 * mag
}

fn frame(out: &mut String, kind: &str, x_labels: &[String], y_max: f64, unit: &str) {
    let _ = write!(out, r#"<svg class="chart" data-kind="{kind}" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">"#);
    let plot_h = H - TOP - BOTTOM;
    for i in 0..=4 {
        let v = y_max * i as f64 / 4.0;
        let y = TOP + plot_h - plot_h * i as f64 / 4.0;
        let label = if y_max >= 10.0 { format!("{v:.0}") } else { format!("{v:.2}") };
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{label}{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(unit)
        );
    }
    let n = x_labels.len().max(1);
    let every = n.div_ceil(8).max(1);
    for (i, l) in x_labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let x = x_at(i, n);
        let _ = write!(out, r##"<text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#555">{}</text>"##, H - BOTTOM + 18.0, esc(l));
    }
}

fn x_at(i: usize, n: usize) -> f64 {
    let plot_w = W - LEFT - RIGHT;
    if n <= 1 {
        LEFT + plot_w / 2.0
    } else {
        LEFT + plot_w * (i as f64 + 0.5) / n as f64
    }
}

fn y_at(v: f64, y_max: f64) -> f64 {
    let plot_h = H - TOP - BOTTOM;
    TOP + plot_h - plot_h * (v / y_max).clamp(0.0, 1.0)
}

fn legend(series: &[Series]) -> String {
    let mut out = String::from(r#"<div class="legend">"#);
    for s in series {
        let _ = write!(out, r#"<span><i style="background:{}"></i>{}</span>"#, s.color, esc(&s.label));
    }
    out + "</div>"
}

/// Lines over a shared x axis; gaps where a value is missing.
pub fn line_chart(x_labels: &[String], series: &[Series], unit: &str, y_max: Option<f64>) -> String {
    let max = series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |a, b| a.max(*b));
    let y_max = y_max.unwrap_or_else(|| nice_max(max));
    let mut out = String::new();
    frame(&mut out, "line", x_labels, y_max, unit);
    let n = x_labels.len();
    for s in series {
        let mut d = String::new();
        let mut pen_down = false;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(d, "{}{:.1},{:.1} ", if pen_down { "L" } else { "M" }, x_at(i, n), y_at(*v, y_max));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(out, r#"<path class="series" d="{}" fill="none" stroke="{}" stroke-width="2.5"/>"#, d.trim_end(), s.color);
    }
    out.push_str("</svg>");
    out + &legend(series)
}

/// Stacked bars over a shared x axis.
pub fn bar_chart(x_labels: &[String], series: &[Series], unit: &str) -> String {
    let n = x_labels.len();
    let totals: Vec<f64> = (0..n).map(|i| series.iter().map(|s| s.values.get(i).copied().flatten().unwrap_or(0.0)).sum()).collect();
    let y_max = nice_max(totals.iter().fold(0.0f64, |a, b| a.max(*b)));
    let mut out = String::new();
    frame(&mut out, "bar", x_labels, y_max, unit);
    let bar_w = ((W - LEFT - RIGHT) / n.max(1) as f64 * 0.8).max(1.0);
    for i in 0..n {
        let mut base = 0.0;
        for s in series {
            let v = s.values.get(i).copied().flatten().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let (y0, y1) = (y_at(base, y_max), y_at(base + v, y_max));
            let _ = write!(
                out,
                r#"<rect class="series" x="{:.1}" y="{y1:.1}" width="{bar_w:.1}" height="{:.1}" fill="{}"><title>{}: {v}</title></rect>"#,
                x_at(i, n) - bar_w / 2.0,
                (y0 - y1).max(0.5),
                s.color,
                esc(&s.label)
            );
            base += v;
        }
    }
    out.push_str("</svg>");
    out + &legend(series)
}
