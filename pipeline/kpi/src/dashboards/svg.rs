//! Small SVG charts drawn on the server, so the report needs no script and
//! no network to be viewed.

use std::fmt::Write;

/// One line or one stack of bars.
pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub values: Vec<Option<f64>>,
}

/// The shared x axis: one label per day, the last one the report date.
pub struct Axis {
    pub labels: Vec<String>,
    /// The index of a day whose data is incomplete, and the note shown on it.
    pub partial: Option<(usize, String)>,
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

/// `210801` as `210,801`; fractions keep `decimals` places.
pub fn grouped(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text.split_once('.').map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    // A value that rounds to zero prints without a sign.
    if v < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
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

fn frame(out: &mut String, kind: &str, axis: &Axis, y_max: f64, unit: &str) {
    let x_labels = &axis.labels;
    let (first, last) = (x_labels.first().map_or("", String::as_str), x_labels.last().map_or("", String::as_str));
    let _ = write!(
        out,
        r#"<svg class="chart" data-kind="{kind}" data-from="{}" data-to="{}" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img">"#,
        esc(first),
        esc(last)
    );
    let plot_h = H - TOP - BOTTOM;
    let n = x_labels.len().max(1);
    // Drawn first so that the data lies over it.
    if let Some((i, note)) = &axis.partial {
        let slot = (W - LEFT - RIGHT) / n as f64;
        let _ = write!(
            out,
            r##"<g class="partial-day"><rect x="{:.1}" y="{TOP}" width="{slot:.1}" height="{plot_h}" fill="#888" fill-opacity="0.12" stroke="#888" stroke-dasharray="3 3"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{}</text></g>"##,
            x_at(*i, n) - slot / 2.0,
            x_at(*i, n) + slot / 2.0,
            TOP - 4.0,
            esc(note)
        );
    }
    for i in 0..=4 {
        let v = y_max * i as f64 / 4.0;
        let y = TOP + plot_h - plot_h * i as f64 / 4.0;
        let label = if y_max >= 10.0 { grouped(v, 0) } else { grouped(v, 2) };
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{label}{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(unit)
        );
    }
    // The last day (the report date) is always labelled; a regular label
    // too close to it would overlap, so it gives way.
    let every = n.div_ceil(8).max(1);
    for (i, l) in x_labels.iter().enumerate().filter(|(i, _)| *i + 1 == n || (i % every == 0 && i + every / 2 + 1 < n)) {
        // The last label ends at the plot's edge rather than running off it.
        let (x, anchor) = if i + 1 == n && n > 1 { (W - RIGHT, "end") } else { (x_at(i, n), "middle") };
        let _ = write!(
            out,
            r##"<text class="x-label" x="{x:.1}" y="{:.1}" font-size="11" text-anchor="{anchor}" fill="#555">{}</text>"##,
            H - BOTTOM + 18.0,
            esc(l)
        );
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

fn legend(series: &[Series], axis: &Axis) -> String {
    let mut out = String::from(r#"<div class="legend">"#);
    for s in series {
        let _ = write!(out, r#"<span><i style="background:{}"></i>{}</span>"#, s.color, esc(&s.label));
    }
    if let Some((_, note)) = &axis.partial {
        let _ = write!(out, r#"<span class="partial-note"><i style="background:#ddd;border:1px dashed #888"></i>{}</span>"#, esc(note));
    }
    out + "</div>"
}

/// Lines over a shared x axis; gaps where a value is missing. A value on
/// the partial day is drawn as a hollow point, apart from the line.
pub fn line_chart(axis: &Axis, series: &[Series], unit: &str, y_max: Option<f64>) -> String {
    let max = series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |a, b| a.max(*b));
    let y_max = y_max.unwrap_or_else(|| nice_max(max));
    let mut out = String::new();
    frame(&mut out, "line", axis, y_max, unit);
    let n = axis.labels.len();
    let partial = axis.partial.as_ref().map(|(i, _)| *i);
    for s in series {
        let mut d = String::new();
        let mut pen_down = false;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) if Some(i) == partial => {
                    let _ = write!(
                        out,
                        r#"<circle class="partial" cx="{:.1}" cy="{:.1}" r="3.5" fill="white" stroke="{}" stroke-width="2"/>"#,
                        x_at(i, n),
                        y_at(*v, y_max),
                        s.color
                    );
                    pen_down = false;
                }
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
    out + &legend(series, axis)
}

/// Stacked bars over a shared x axis; the partial day's bars are pale and
/// dashed, so a short day does not read as a drop.
pub fn bar_chart(axis: &Axis, series: &[Series], unit: &str) -> String {
    let n = axis.labels.len();
    let partial = axis.partial.as_ref().map(|(i, _)| *i);
    let totals: Vec<f64> = (0..n).map(|i| series.iter().map(|s| s.values.get(i).copied().flatten().unwrap_or(0.0)).sum()).collect();
    let y_max = nice_max(totals.iter().fold(0.0f64, |a, b| a.max(*b)));
    let mut out = String::new();
    frame(&mut out, "bar", axis, y_max, unit);
    let bar_w = ((W - LEFT - RIGHT) / n.max(1) as f64 * 0.8).max(1.0);
    for i in 0..n {
        let mut base = 0.0;
        for s in series {
            let v = s.values.get(i).copied().flatten().unwrap_or(0.0);
            if v <= 0.0 {
                continue;
            }
            let (y0, y1) = (y_at(base, y_max), y_at(base + v, y_max));
            let (class, style) = if Some(i) == partial {
                ("series partial", format!(r#" fill-opacity="0.35" stroke="{}" stroke-dasharray="3 2""#, s.color))
            } else {
                ("series", String::new())
            };
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{:.1}" y="{y1:.1}" width="{bar_w:.1}" height="{:.1}" fill="{}"{style}><title>{} {}: {}</title></rect>"#,
                x_at(i, n) - bar_w / 2.0,
                (y0 - y1).max(0.5),
                s.color,
                esc(&axis.labels[i]),
                esc(&s.label),
                grouped(v, 0)
            );
            base += v;
        }
    }
    out.push_str("</svg>");
    out + &legend(series, axis)
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(210_801.0, 0), "210,801");
        assert_eq!(grouped(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(grouped(999.0, 0), "999");
        assert_eq!(grouped(-4_200.0, 1), "-4,200.0");
        assert_eq!(grouped(-0.01, 1), "0.0");
        assert_eq!(grouped(0.0, 0), "0");
    }
}
