//! Bar charts drawn on the server as inline SVG (no script, no library):
//! a bar per value, a value axis from zero with a few round ticks, a label
//! under every few bars, a `<title>` and `role="img"` with `aria-label`
//! for readers, and a `<title>` per bar (its label and value) for a
//! pointer. Every text is escaped here: the page inserts the SVG as it is.

use std::fmt::Write;

/// The drawing, in SVG units; the page scales it to its width.
const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 260.0;
const FONT: f64 = 12.0;
/// Room left of the plot for the value axis, below it for the labels.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 44.0;

/// One bar: its label (under the axis when shown) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    /// The text of its own `<title>` (label and value, in words).
    pub title: String,
    pub value: u64,
}

/// What a chart says of itself.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// Its caption: the `<title>` and `aria-label`.
    pub caption: &'a str,
    /// The value axis's name (`个`).
    pub unit: &'a str,
    /// A label under every `label_every`-th bar (the last always).
    pub label_every: usize,
    /// The bars' colour.
    pub fill: &'a str,
}

/// The chart as an `<svg>` element.
pub fn bars(chart: &Chart<'_>, bars: &[Bar]) -> String {
    let caption = escape(chart.caption);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         role=\"img\" aria-label=\"{caption}\" font-size=\"{FONT}\" \
         font-family=\"&quot;Noto Sans CJK SC&quot;, &quot;Source Han Sans SC&quot;, \
         &quot;Microsoft YaHei&quot;, &quot;PingFang SC&quot;, sans-serif\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{caption}</title>"
    );
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let (step, top) = ticks(max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let bottom = TOP + plot_h;
    // The value axis: round ticks from zero, with grid lines.
    let mut tick = 0;
    while tick <= top {
        let y = bottom - plot_h * tick as f64 / top as f64;
        let stroke = if tick == 0 { "#646a73" } else { "#dee0e3" };
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{x2:.1}\" y2=\"{y:.1}\" stroke=\"{stroke}\" stroke-width=\"1\"/>\
             <text x=\"{tx:.1}\" y=\"{y:.1}\" text-anchor=\"end\" dominant-baseline=\"central\" fill=\"#646a73\">{tick}</text>",
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
        );
        tick += step;
    }
    let _ = write!(
        svg,
        "<text x=\"{x}\" y=\"{y}\" fill=\"#646a73\">{unit}</text>",
        x = 4.0,
        y = TOP - 6.0,
        unit = escape(chart.unit),
    );
    if !bars.is_empty() {
        let slot = plot_w / bars.len() as f64;
        let width = (slot * 0.72).max(1.0);
        let every = chart.label_every.max(1);
        for (i, bar) in bars.iter().enumerate() {
            let h = plot_h * bar.value as f64 / top as f64;
            let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
            let _ = write!(
                svg,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{h:.1}\" fill=\"{fill}\"><title>{title}</title></rect>",
                y = bottom - h,
                fill = escape(chart.fill),
                title = escape(&bar.title),
            );
            let last = i + 1 == bars.len();
            // The last label always; another only when it does not crowd it.
            if last || (i % every == 0 && bars.len() - 1 - i > every / 2) {
                let _ = write!(
                    svg,
                    "<text x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\" fill=\"#1f2329\">{label}</text>",
                    cx = x + width / 2.0,
                    ly = bottom + 18.0,
                    label = escape(&bar.label),
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A round step for the value axis and the axis's top (a multiple of it,
/// at least the largest value, never zero).
fn ticks(max: u64) -> (u64, u64) {
    let max = max.max(1);
    // About four steps of 1, 2 or 5 times a power of ten.
    let rough = max.div_ceil(4).max(1);
    let mut power = 1u64;
    while power.saturating_mul(10) <= rough {
        power = power.saturating_mul(10);
    }
    let step = [1, 2, 5, 10]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10 * power);
    (step, max.div_ceil(step) * step)
}

/// Escapes text for XML content and attribute values, as the
/// circular's chart does.
pub fn escape(s: &str) -> String {
    crate::report::render::xml_escape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: u64) -> Bar {
        Bar {
            label: label.to_string(),
            title: format!("{label}：{value}"),
            value,
        }
    }

    #[test]
    fn a_bar_per_value_every_text_escaped() {
        let chart = Chart {
            caption: "问题 <每日>",
            unit: "个",
            label_every: 2,
            fill: "#1456f0",
        };
        let drawn = bars(&chart, &[bar("a&b", 0), bar("<c>", 7), bar("d", 3)]);
        assert!(drawn.starts_with("<svg"));
        assert!(
            drawn.contains("role=\"img\"") && drawn.contains("aria-label=\"问题 &lt;每日&gt;\"")
        );
        assert_eq!(drawn.matches("class=\"bar\"").count(), 3);
        assert!(drawn.contains("a&amp;b") && !drawn.contains("<c>"));
        // The axis reaches past the largest value, in round steps.
        assert!(drawn.contains(">8</text>"), "{drawn}");
        assert!(drawn.ends_with("</svg>"));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0), (1, 1));
        assert_eq!(ticks(7), (2, 8));
        assert_eq!(ticks(100), (50, 100));
        assert_eq!(ticks(4_999), (2_000, 6_000));
    }
}
