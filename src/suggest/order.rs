//! The order template: siblings that always run one after the other.

use super::query::{sql_in, Good, Merge};
use super::structure::{count, named, tick, NameStats};
use super::{Fact, Options, Suggestion, Template};
use crate::error::Result;
use crate::model::format::quote;

/// "A ends before its sibling B starts", for every pair of sibling A and B spans. Siblings are
/// grouped per (trace, parent, name) first, so a pair of names costs one row per parent, not one
/// per pair of spans: the rule holds in a group when the last A end is at or before the first B
/// start and no A lacks its end nor any B its start (`before` is false on a missing time).
pub(super) async fn mine(good: &Good<'_>, names: &NameStats, options: &Options) -> Result<Vec<Suggestion>> {
    let sql = format!(
        "WITH g AS ( \
           SELECT trace_id, parent_span_id AS p, name, min(start_time) AS s0, max(end_time) AS e1, \
                  count(*) AS n, count(start_time) AS ns, count(end_time) AS ne \
           FROM spans \
           WHERE parent_span_id IS NOT NULL AND parent_span_id <> span_id AND {} \
           GROUP BY trace_id, parent_span_id, name) \
         SELECT x.name, y.name, sum(x.n * y.n), count(DISTINCT x.trace_id), \
                sum(CASE WHEN x.ne = x.n AND y.ns = y.n AND x.e1 <= y.s0 THEN 0 ELSE 1 END) \
         FROM g x JOIN g y ON x.trace_id = y.trace_id AND x.p = y.p AND x.name <> y.name \
         GROUP BY x.name, y.name",
        sql_in("name", &names.frequent)
    );
    use Merge::*;
    let rows = good.rows(&sql, &[Key, Key, Sum, Sum, Sum]).await?;
    let (first, then) = (rows.texts(0)?, rows.texts(1)?);
    let (pairs, traces, bad) = (rows.counts(2)?, rows.counts(3)?, rows.counts(4)?);
    let mut out = Vec::new();
    for i in 0..rows.len() {
        if bad[i] != 0 || pairs[i] < options.min_support {
            continue;
        }
        let (a, b) = (&first[i], &then[i]);
        let title = format!("{} ends before its sibling {} starts", tick(a), tick(b));
        out.push(Suggestion {
            template: Template::Order,
            block: format!(
                "model {} {{\n    let a = {}\n    let b = {}\n    when a sibling of b\n    expect a before b\n}}\n",
                quote(&title),
                named(a),
                named(b)
            ),
            title,
            support: pairs[i],
            traces: traces[i],
            why: format!(
                "in all {} of sibling {} and {} spans ({}), {} ended first",
                count(pairs[i], "pair"),
                tick(a),
                tick(b),
                count(traces[i], "trace"),
                tick(a)
            ),
            caught: None,
            fact: Fact::Before {
                first: a.clone(),
                then: b.clone(),
            },
        });
    }
    Ok(out)
}
