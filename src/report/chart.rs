//! Charts of check rules as inline SVG: one bar per group (or, with `per`, one point per window and
//! a line per group), the threshold as a dashed horizontal line (short marks per group when a
//! baseline gives each group its own), values in the rule's unit.

use std::fmt::Write;

use super::escape::escape;
use super::measurement_label;
use crate::check::{display_value, Measurement, RuleReport};

const WIDTH: f64 = 860.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 120.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 96.0;
/// Groups drawn per rule; the rest are counted below the chart (the JSON report has all).
const MAX_ITEMS: usize = 400;
/// X labels written; with more groups every k-th is written.
const MAX_LABELS: usize = 40;
/// Widest bar, so a rule with one group does not fill the chart with one block.
const MAX_BAR: f64 = 56.0;
/// Line colours in the stylesheet (`.l0` ...).
const SERIES_COLOURS: usize = 6;

/// The chart of one rule, or a note when no group has a value.
pub(super) fn rule_chart(rule: &RuleReport) -> String {
    let items: Vec<&Measurement> = rule.measurements.iter().take(MAX_ITEMS).collect();
    let values: Vec<f64> = items
        .iter()
        .flat_map(|m| m.value.into_iter().chain(m.threshold))
        .filter(|v| v.is_finite())
        .collect();
    if !items.iter().any(|m| m.value.is_some_and(f64::is_finite)) {
        return "<p class=\"note\">No group has a value to draw.</p>\n".into();
    }
    let high = values.iter().copied().fold(f64::MIN, f64::max).max(0.0);
    let low = values.iter().copied().fold(f64::MAX, f64::min).min(0.0);
    let high = if high > low {
        high + (high - low) * 0.1
    } else {
        low + 1.0
    };
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y = |v: f64| TOP + (high - v) / (high - low) * plot_h;
    let windowed = items.iter().any(|m| m.window_start.is_some());
    // Slots along x: windows (sorted, as RFC 3339 text sorts by time) or the groups in report order.
    let mut slots: Vec<String> = if windowed {
        items.iter().filter_map(|m| m.window_start.clone()).collect()
    } else {
        items.iter().map(|m| group_label(m)).collect()
    };
    if windowed {
        slots.sort();
        slots.dedup();
    }
    let slot_w = (WIDTH - LEFT - RIGHT) / slots.len().max(1) as f64;
    let slot_of = |m: &Measurement, i: usize| {
        if windowed {
            m.window_start
                .as_ref()
                .and_then(|w| slots.binary_search(w).ok())
                .unwrap_or(0)
        } else {
            i
        }
    };
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\"><title>{}</title>",
        escape(&rule.text)
    );
    for q in 0..=4 {
        let v = low + (high - low) * f64::from(q) / 4.0;
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0,
            escape(&display_value(v, rule.unit)),
            y = y(v)
        );
    }
    if windowed {
        lines(&mut out, rule, &items, &slot_of, slot_w, &y);
    } else {
        for (i, m) in items.iter().enumerate() {
            let Some(v) = m.value.filter(|v| v.is_finite()) else {
                continue;
            };
            let (top, bottom) = (y(v.max(0.0)), y(v.min(0.0)));
            let bar_w = (slot_w * 0.7).min(MAX_BAR);
            let _ = write!(
                out,
                "<rect class=\"{}\" x=\"{:.1}\" y=\"{top:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\"><title>{}</title></rect>",
                if m.holds { "ok" } else { "bad" },
                LEFT + slot_w * (i as f64 + 0.5) - bar_w / 2.0,
                (bottom - top).max(0.5),
                escape(&tooltip(rule, m))
            );
        }
    }
    threshold(&mut out, rule, &items, &slot_of, slot_w, &y);
    let every = slots.len().div_ceil(MAX_LABELS).max(1);
    for (i, label) in slots.iter().enumerate().step_by(every) {
        let x = LEFT + slot_w * (i as f64 + 0.5);
        // Rotated labels run down and to the left: 20 characters fit in the margins.
        let short: String = if label.chars().count() > 20 {
            label.chars().take(19).chain(['…']).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"end\" transform=\"rotate(-35 {x:.1} {:.1})\">{}</text>",
            HEIGHT - BOTTOM + 14.0,
            HEIGHT - BOTTOM + 14.0,
            escape(&short)
        );
    }
    out.push_str("</svg>\n");
    if rule.measurements.len() > MAX_ITEMS {
        let _ = writeln!(
            out,
            "<p class=\"note\">First {MAX_ITEMS} of {} groups drawn.</p>",
            rule.measurements.len()
        );
    }
    out
}

/// `by` values joined, or `all` without `by`.
fn group_label(m: &Measurement) -> String {
    if m.group.is_empty() {
        "all".into()
    } else {
        m.group.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(", ")
    }
}

fn tooltip(rule: &RuleReport, m: &Measurement) -> String {
    format!("{} over {}", measurement_label(rule, m, false), m.n)
}

/// With windows: one polyline per group through its windows, a point per measurement.
fn lines(
    out: &mut String,
    rule: &RuleReport,
    items: &[&Measurement],
    slot_of: &dyn Fn(&Measurement, usize) -> usize,
    slot_w: f64,
    y: &dyn Fn(f64) -> f64,
) {
    let mut series: Vec<(String, Vec<&Measurement>)> = Vec::new();
    for m in items {
        let key = group_label(m);
        match series.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ms)) => ms.push(m),
            None => series.push((key, vec![m])),
        }
    }
    for (si, (_, ms)) in series.iter().enumerate() {
        let points: Vec<String> = ms
            .iter()
            .filter_map(|m| {
                let v = m.value.filter(|v| v.is_finite())?;
                Some(format!(
                    "{:.1},{:.1}",
                    LEFT + slot_w * (slot_of(m, 0) as f64 + 0.5),
                    y(v)
                ))
            })
            .collect();
        let _ = write!(
            out,
            "<polyline class=\"l{}\" points=\"{}\"/>",
            si % SERIES_COLOURS,
            points.join(" ")
        );
        for m in ms {
            let Some(v) = m.value.filter(|v| v.is_finite()) else {
                continue;
            };
            let _ = write!(
                out,
                "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{}</title></circle>",
                if m.holds { "ok" } else { "bad" },
                LEFT + slot_w * (slot_of(m, 0) as f64 + 0.5),
                y(v),
                escape(&tooltip(rule, m))
            );
        }
    }
}

/// One dashed line when every group has the same threshold; else a short mark per group.
fn threshold(
    out: &mut String,
    rule: &RuleReport,
    items: &[&Measurement],
    slot_of: &dyn Fn(&Measurement, usize) -> usize,
    slot_w: f64,
    y: &dyn Fn(f64) -> f64,
) {
    let thresholds: Vec<f64> = items
        .iter()
        .filter_map(|m| m.threshold)
        .filter(|t| t.is_finite())
        .collect();
    let Some(&first) = thresholds.first() else { return };
    if thresholds.iter().all(|&t| t == first) {
        let _ = write!(
            out,
            "<line class=\"th\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"thl\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">threshold {} {}</text>",
            WIDTH - RIGHT,
            WIDTH - RIGHT,
            y(first) - 4.0,
            escape(&rule.op),
            escape(&display_value(first, rule.unit)),
            y = y(first)
        );
        return;
    }
    for (i, m) in items.iter().enumerate() {
        let Some(t) = m.threshold.filter(|t| t.is_finite()) else {
            continue;
        };
        let x = LEFT + slot_w * slot_of(m, i) as f64;
        let _ = write!(
            out,
            "<line class=\"th\" x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"><title>threshold {} {}</title></line>",
            x + slot_w,
            escape(&rule.op),
            escape(&display_value(t, rule.unit)),
            y = y(t)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Unit;

    fn measurement(group: &str, window: Option<&str>, value: f64, threshold: f64) -> Measurement {
        Measurement {
            group: vec![("service".into(), group.into())],
            window_start: window.map(Into::into),
            value: Some(value),
            n: 3,
            threshold: Some(threshold),
            baseline: None,
            holds: value < threshold,
        }
    }

    fn rule(measurements: Vec<Measurement>) -> RuleReport {
        RuleReport {
            index: 1,
            text: "max(span().duration) by service < 250ms".into(),
            unit: Unit::Duration,
            op: "<".into(),
            measurements,
            aggregated: 3,
            warnings: vec![],
        }
    }

    #[test]
    fn bars_per_group_and_one_threshold_line() {
        let svg = rule_chart(&rule(vec![
            measurement("<b>bank</b>", None, 826e6, 250e6),
            measurement("auth", None, 20e6, 250e6),
        ]));
        assert_eq!(svg.matches("<rect class=\"bad\"").count(), 1);
        assert_eq!(svg.matches("<rect class=\"ok\"").count(), 1);
        assert_eq!(svg.matches("<line class=\"th\"").count(), 1);
        assert!(svg.contains("threshold &lt; 250.000ms"), "{svg}");
        assert!(svg.contains("&lt;b&gt;bank&lt;/b&gt;: 826.000ms"), "{svg}");
        assert!(!svg.contains("<b>"));
    }

    #[test]
    fn windows_become_points_on_a_line_per_group_and_baselines_marks_per_group() {
        let svg = rule_chart(&rule(vec![
            measurement("a", Some("2026-01-01T00:01:00Z"), 1e6, 2e6),
            measurement("a", Some("2026-01-01T00:00:00Z"), 3e6, 2e6),
            measurement("b", Some("2026-01-01T00:00:00Z"), 1e6, 5e6),
        ]));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(
            svg.matches("<line class=\"th\"").count(),
            3,
            "thresholds differ: one mark each"
        );
        assert!(svg.find("00:00:00Z").unwrap() < svg.rfind("00:01:00Z").unwrap());
    }

    #[test]
    fn rules_without_values_get_a_note() {
        let mut m = measurement("a", None, 0.0, 1.0);
        m.value = None;
        assert!(rule_chart(&rule(vec![m])).contains("No group has a value"));
    }
}
