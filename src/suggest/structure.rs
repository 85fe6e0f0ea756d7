//! Structure templates: children, parents, descendants, ancestors, names that exclude each other.

use std::collections::{BTreeMap, BTreeSet};

use super::query::{sql_in, Good, Merge, Rows};
use super::{Fact, Options, Suggestion, Template};
use crate::error::Result;
use crate::model::format::quote;
use crate::text::plural;

/// Names considered at all: the most frequent ones, so pair queries stay small on data with
/// thousands of rare names (URLs with ids in them).
const MAX_NAMES: usize = 200;

/// One span name's counts over the whole data.
#[derive(Clone, Debug)]
pub(super) struct NameStat {
    pub spans: u64,
    pub traces: u64,
    pub errors: u64,
    pub max_duration: Option<i64>,
    pub with_duration: u64,
}

/// Every name's counts, and the names frequent enough to mine rules about.
pub(super) struct NameStats {
    pub all: BTreeMap<String, NameStat>,
    pub frequent: Vec<String>,
}

impl NameStats {
    pub async fn load(good: &Good<'_>, options: &Options) -> Result<NameStats> {
        use Merge::*;
        let rows = good
            .rows(
                "SELECT name, count(*), count(DISTINCT trace_id), \
                        sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END), max(duration), count(duration) \
                 FROM spans GROUP BY name",
                &[Key, Sum, Sum, Sum, Max, Sum],
            )
            .await?;
        let (names, spans, traces) = (rows.texts(0)?, rows.counts(1)?, rows.counts(2)?);
        let (errors, max, with) = (rows.counts(3)?, rows.ints(4)?, rows.counts(5)?);
        let mut all = BTreeMap::new();
        for i in 0..rows.len() {
            all.insert(
                names[i].clone(),
                NameStat {
                    spans: spans[i],
                    traces: traces[i],
                    errors: errors[i],
                    max_duration: max[i],
                    with_duration: with[i],
                },
            );
        }
        let mut frequent: Vec<(&String, &NameStat)> =
            all.iter().filter(|(_, s)| s.spans >= options.min_support).collect();
        frequent.sort_by(|a, b| b.1.spans.cmp(&a.1.spans).then(a.0.cmp(b.0)));
        let mut frequent: Vec<String> = frequent.into_iter().take(MAX_NAMES).map(|(n, _)| n.clone()).collect();
        frequent.sort();
        Ok(NameStats { all, frequent })
    }

    pub fn get(&self, name: &str) -> Option<&NameStat> {
        self.all.get(name)
    }

    pub fn spans(&self, name: &str) -> u64 {
        self.get(name).map_or(0, |s| s.spans)
    }

    pub fn traces(&self, name: &str) -> u64 {
        self.get(name).map_or(0, |s| s.traces)
    }
}

/// `span(name = "x")`.
pub(super) fn named(name: &str) -> String {
    format!("span(name = {})", quote(name))
}

/// A name inside a title: backquoted.
pub(super) fn tick(name: &str) -> String {
    format!("`{name}`")
}

/// "7 traces": a count and its noun.
pub(super) fn count(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", plural(n as usize))
}

/// "the 7 `withdrawal` spans in 5 traces".
pub(super) fn applied(n: u64, name: &str, traces: u64) -> String {
    format!(
        "{} {} in {}",
        if n == 1 { "the" } else { "all" },
        count(n, &format!("{} span", tick(name))),
        count(traces, "trace")
    )
}

pub(super) async fn mine(good: &Good<'_>, names: &NameStats, options: &Options) -> Result<Vec<Suggestion>> {
    let mut out = children(good, names, options).await?;
    out.extend(descendants(good, names, options).await?);
    out.extend(exclusive(good, names, options).await?);
    Ok(out)
}

/// "Every A has (exactly N) child B" and "every A is a child of a B", from one parent/child join.
async fn children(good: &Good<'_>, names: &NameStats, options: &Options) -> Result<Vec<Suggestion>> {
    let sql = format!(
        "SELECT pn, cn, count(*), min(n), max(n), sum(n), count(DISTINCT trace_id) FROM ( \
           SELECT p.name AS pn, c.name AS cn, p.trace_id, p.span_id, count(*) AS n \
           FROM spans p JOIN spans c ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id \
           WHERE c.span_id <> p.span_id AND {} AND {} \
           GROUP BY p.name, c.name, p.trace_id, p.span_id) k \
         GROUP BY pn, cn",
        sql_in("p.name", &names.frequent),
        sql_in("c.name", &names.frequent)
    );
    use Merge::*;
    let rows = good.rows(&sql, &[Key, Key, Sum, Min, Max, Sum, Sum]).await?;
    let (pn, cn) = (rows.texts(0)?, rows.texts(1)?);
    let (parents, lo, hi) = (rows.counts(2)?, rows.counts(3)?, rows.counts(4)?);
    let (children, traces) = (rows.counts(5)?, rows.counts(6)?);
    let mut out = Vec::new();
    for i in 0..rows.len() {
        let (p, c) = (&pn[i], &cn[i]);
        if parents[i] == names.spans(p) && parents[i] >= options.min_support {
            let (count, title) = if lo[i] == hi[i] {
                (
                    format!("{} ", lo[i]),
                    format!("{} has exactly {} child {}", tick(p), lo[i], tick(c)),
                )
            } else {
                (String::new(), format!("{} has a child {}", tick(p), tick(c)))
            };
            out.push(Suggestion {
                template: Template::Child,
                block: format!(
                    "model {} {{\n    let a = {}\n    expect {count}{} child of a\n}}\n",
                    quote(&title),
                    named(p),
                    named(c)
                ),
                title,
                support: parents[i],
                traces: traces[i],
                why: format!(
                    "{} have {} {} {}",
                    applied(parents[i], p, traces[i]),
                    if lo[i] == hi[i] {
                        format!("exactly {}", lo[i])
                    } else {
                        format!("{} to {}", lo[i], hi[i])
                    },
                    tick(c),
                    if hi[i] == 1 { "child" } else { "children" }
                ),
                caught: None,
                fact: Fact::HasChild {
                    parent: p.clone(),
                    child: c.clone(),
                },
            });
        }
        if children[i] == names.spans(c) && children[i] >= options.min_support {
            let title = format!("{} is a child of {}", tick(c), tick(p));
            out.push(Suggestion {
                template: Template::Parent,
                block: format!(
                    "model {} {{\n    let a = {}\n    expect {} parent of a\n}}\n",
                    quote(&title),
                    named(c),
                    named(p)
                ),
                title,
                support: children[i],
                traces: traces[i],
                why: format!("{} have a {} parent", applied(children[i], c, traces[i]), tick(p)),
                caught: None,
                fact: Fact::ChildOf {
                    child: c.clone(),
                    parent: p.clone(),
                },
            });
        }
    }
    Ok(out)
}

/// Per (ancestor name, descendant name): how many spans of one side have a span of the other
/// related, and in how many traces. `side` is `a` (ancestors with such a descendant) or `d`. A
/// span is its trace and its `nested_left` (unique in a trace, and an integer: grouping on it
/// costs less than on the span id).
async fn nested_pairs(good: &Good<'_>, names: &NameStats, side: &str) -> Result<Rows> {
    let sql = format!(
        "SELECT an, dn, count(*), count(DISTINCT t) FROM ( \
           SELECT DISTINCT a.name AS an, d.name AS dn, {side}.trace_id AS t, {side}.nested_left AS x \
           FROM spans a JOIN spans d ON d.trace_id = a.trace_id \
                AND a.nested_left < d.nested_left AND d.nested_right < a.nested_right \
           WHERE {} AND {}) k \
         GROUP BY an, dn",
        sql_in("a.name", &names.frequent),
        sql_in("d.name", &names.frequent)
    );
    good.rows(&sql, &[Merge::Key, Merge::Key, Merge::Sum, Merge::Sum]).await
}

/// "Every A has a descendant B" and "every A is under a B", from the nested-set intervals.
async fn descendants(good: &Good<'_>, names: &NameStats, options: &Options) -> Result<Vec<Suggestion>> {
    let mut out = Vec::new();
    let rows = nested_pairs(good, names, "a").await?;
    let (an, dn, ancestors, traces) = (rows.texts(0)?, rows.texts(1)?, rows.counts(2)?, rows.counts(3)?);
    for i in 0..rows.len() {
        let (a, d) = (&an[i], &dn[i]);
        if ancestors[i] == names.spans(a) && ancestors[i] >= options.min_support {
            let title = format!("{} has a descendant {}", tick(a), tick(d));
            out.push(Suggestion {
                template: Template::Descendant,
                block: format!(
                    "model {} {{\n    let a = {}\n    expect {} descendant of a\n}}\n",
                    quote(&title),
                    named(a),
                    named(d)
                ),
                title,
                support: ancestors[i],
                traces: traces[i],
                why: format!("{} have a {} below them", applied(ancestors[i], a, traces[i]), tick(d)),
                caught: None,
                fact: Fact::HasDescendant {
                    ancestor: a.clone(),
                    descendant: d.clone(),
                },
            });
        }
    }
    let rows = nested_pairs(good, names, "d").await?;
    let (an, dn, descendants, traces) = (rows.texts(0)?, rows.texts(1)?, rows.counts(2)?, rows.counts(3)?);
    for i in 0..rows.len() {
        let (a, d) = (&an[i], &dn[i]);
        if descendants[i] == names.spans(d) && descendants[i] >= options.min_support {
            let title = format!("{} is under {}", tick(d), tick(a));
            out.push(Suggestion {
                template: Template::Under,
                block: format!(
                    "model {} {{\n    let a = {}\n    expect {} ancestor of a\n}}\n",
                    quote(&title),
                    named(d),
                    named(a)
                ),
                title,
                support: descendants[i],
                traces: traces[i],
                why: format!(
                    "{} have a {} above them",
                    applied(descendants[i], d, traces[i]),
                    tick(a)
                ),
                caught: None,
                fact: Fact::Under {
                    descendant: d.clone(),
                    ancestor: a.clone(),
                },
            });
        }
    }
    Ok(out)
}

/// "No A in a trace that has a B": two frequent names that never share a trace.
async fn exclusive(good: &Good<'_>, names: &NameStats, options: &Options) -> Result<Vec<Suggestion>> {
    let common: Vec<String> = names
        .frequent
        .iter()
        .filter(|n| names.traces(n) >= options.min_support)
        .cloned()
        .collect();
    let sql = format!(
        "WITH tn AS (SELECT DISTINCT trace_id, name FROM spans WHERE {}) \
         SELECT x.name, y.name FROM tn x JOIN tn y ON x.trace_id = y.trace_id AND x.name < y.name \
         GROUP BY x.name, y.name",
        sql_in("name", &common)
    );
    let rows = good.rows(&sql, &[Merge::Key, Merge::Key]).await?;
    let together: BTreeSet<(String, String)> = rows.texts(0)?.into_iter().zip(rows.texts(1)?).collect();
    let mut out = Vec::new();
    for (i, x) in common.iter().enumerate() {
        for y in &common[i + 1..] {
            if together.contains(&(x.clone(), y.clone())) {
                continue;
            }
            // `when` on the more frequent name: the rule is tested on more traces.
            let (when, never) = if names.traces(y) > names.traces(x) {
                (y, x)
            } else {
                (x, y)
            };
            let title = format!("no {} in a trace with {}", tick(never), tick(when));
            out.push(Suggestion {
                template: Template::Exclusive,
                block: format!(
                    "model {} {{\n    when {}\n    expect no {}\n}}\n",
                    quote(&title),
                    named(when),
                    named(never)
                ),
                title,
                support: names.traces(when),
                traces: names.traces(when),
                why: format!(
                    "{} ({}) and {} ({}) never occur in one trace",
                    tick(when),
                    count(names.traces(when), "trace"),
                    tick(never),
                    count(names.traces(never), "trace")
                ),
                caught: None,
                fact: Fact::Alone,
            });
        }
    }
    Ok(out)
}
