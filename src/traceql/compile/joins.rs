//! The joins a set of field expressions needs around the span row `s`: one `tags` row per
//! attribute mentioned, the per-trace intrinsics, the span's events or links.

use crate::traceql::ast::AttributeScope;

use super::value::str_lit;

/// What the fields compiled so far read, besides the `spans` row `s`.
#[derive(Debug, Default)]
pub(super) struct Joins {
    /// One `tags` join per (scope, key), aliased `a0`, `a1`, ... in this order.
    attributes: Vec<(AttributeScope, String)>,
    /// `tr`: the trace's root name and service and its duration (the `tr` common table).
    pub trace: bool,
    /// `cc`: the number of children of each span (the `cc` common table).
    pub child_count: bool,
    /// `e`: one row per event of the span (`logs`); event attributes join on its position.
    pub events: bool,
    /// `l`: one row per link of the span (`refs` past position 0).
    pub links: bool,
}

impl Joins {
    /// The alias of the `tags` row holding attribute `key` of `scope` (joined once per query part).
    pub fn attribute(&mut self, scope: AttributeScope, key: &str) -> String {
        let at = match self.attributes.iter().position(|(s, k)| *s == scope && k == key) {
            Some(at) => at,
            None => {
                self.attributes.push((scope, key.to_string()));
                self.attributes.len() - 1
            }
        };
        format!("a{at}")
    }

    /// Whether a span may appear on several rows (once per event or link), so that the rows must
    /// be made distinct again.
    pub fn multiplies(&self) -> bool {
        self.events || self.links
    }

    /// The `LEFT JOIN` clauses, to follow `FROM spans s`.
    pub fn sql(&self) -> String {
        self.sql_on("s")
    }

    /// The `LEFT JOIN` clauses, keyed on `{row}.trace_id` and `{row}.span_id` (the spans row `s`,
    /// or a spanset table's row when no other span column is read).
    pub fn sql_on(&self, row: &str) -> String {
        let mut out = String::new();
        if self.trace {
            out.push_str(&format!("\n  LEFT JOIN tr ON tr.trace_id = {row}.trace_id"));
        }
        if self.child_count {
            out.push_str(&format!(
                "\n  LEFT JOIN cc ON cc.trace_id = {row}.trace_id AND cc.span_id = {row}.span_id"
            ));
        }
        // A span without events (links) still gets one row, with absent event (link) fields.
        if self.events {
            out.push_str(&format!(
                "\n  LEFT JOIN logs e ON e.trace_id = {row}.trace_id AND e.span_id = {row}.span_id"
            ));
        }
        if self.links {
            out.push_str(&format!(
                "\n  LEFT JOIN refs l ON l.trace_id = {row}.trace_id AND l.span_id = {row}.span_id AND l.position > 0"
            ));
        }
        for (at, (scope, key)) in self.attributes.iter().enumerate() {
            let (stored, position) = match scope {
                AttributeScope::Span | AttributeScope::Unscoped => ("span", None),
                AttributeScope::Resource => ("resource", None),
                AttributeScope::Instrumentation => ("scope", None),
                AttributeScope::Event => ("event", Some("e.position")),
                AttributeScope::Link => ("link", Some("l.position")),
            };
            let a = format!("a{at}");
            out.push_str(&format!(
                "\n  LEFT JOIN tags {a} ON {a}.trace_id = {row}.trace_id AND {a}.span_id = {row}.span_id AND {a}.key = {} AND {a}.scope = '{stored}'",
                str_lit(key)
            ));
            if let Some(p) = position {
                out.push_str(&format!(" AND {a}.position = {p}"));
            }
        }
        out
    }
}

/// The common tables the joins may name, defined once per query. The root is the parentless span
/// that starts first (then the smallest span id), so that its name and service come from one span
/// when a trace has several.
pub(super) const TRACE_CTE: &str = "tr AS (
  SELECT t.trace_id, rs.name AS root_name, rs.service AS root_service, t.duration
  FROM (
    SELECT trace_id, max(CAST(end_time AS BIGINT)) - min(CAST(start_time AS BIGINT)) AS duration
    FROM spans GROUP BY trace_id
  ) t
  LEFT JOIN (
    SELECT trace_id, name, service,
      row_number() OVER (PARTITION BY trace_id ORDER BY start_time ASC NULLS LAST, span_id) AS n
    FROM spans WHERE parent_span_id IS NULL
  ) rs ON rs.trace_id = t.trace_id AND rs.n = 1
)";

/// Children per span (spans without children have no row; a span is not its own child).
pub(super) const CHILD_COUNT_CTE: &str = "cc AS (
  SELECT trace_id, parent_span_id AS span_id, count(*) AS n
  FROM spans WHERE parent_span_id IS NOT NULL AND parent_span_id <> span_id
  GROUP BY trace_id, parent_span_id
)";
