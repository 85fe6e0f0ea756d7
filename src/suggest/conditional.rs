//! Templates on numeric tags of two spans of one trace: "A's tag K is always less than B's", and
//! the seed model's shape, "when A's K is below B's K, these spans are always there (or never)".

use std::collections::BTreeMap;

use super::query::{sql_in, sql_str, Good, Merge};
use super::structure::{count, named, tick, NameStats};
use super::values::named_with;
use super::{Fact, Options, Suggestion, Template};
use crate::error::Result;
use crate::model::format::quote;

/// Tag keys considered (the most frequent numeric ones).
const MAX_KEYS: usize = 20;
/// (A, B, K) triples whose conditional rules are mined.
const MAX_PAIRS: usize = 12;
/// Expects in one conditional model.
const MAX_EXPECTS: usize = 5;

/// Per (trace, name, key): the smallest and largest numeric span-scope value. A `when`
/// comparison of two inline selectors holds when *some* choice of spans and values makes it true,
/// so per trace `A.K < B.K` holds exactly when min(A.K) < max(B.K), and `A.K >= B.K` when
/// max(A.K) >= min(B.K).
fn ranges(names: &NameStats, keys: &[String]) -> String {
    format!(
        "v AS (SELECT s.trace_id, s.name, t.key, \
                      min(coalesce(CAST(t.int_value AS DOUBLE), t.double_value)) AS lo, \
                      max(coalesce(CAST(t.int_value AS DOUBLE), t.double_value)) AS hi \
               FROM spans s JOIN tags t ON t.trace_id = s.trace_id AND t.span_id = s.span_id \
               WHERE t.scope = 'span' AND t.type IN ('int', 'double') AND {} AND {} \
               GROUP BY s.trace_id, s.name, t.key)",
        sql_in("s.name", &names.frequent),
        sql_in("t.key", keys)
    )
}

/// Keys whose span-scope values are always numbers (NaN aside: it compares with nothing, while
/// SQL's min and max order it) and that never occur on a resource: there `tag("K")` means exactly
/// the numbers `ranges` reads (a model falls back to the resource's attribute, and compares strings
/// with strings).
async fn numeric_keys(good: &Good<'_>) -> Result<Vec<String>> {
    let rows = good
        .rows(
            "SELECT key, count(*), sum(CASE WHEN scope = 'span' AND type IN ('int', 'double') \
                                       AND NOT (type = 'double' AND isnan(double_value)) THEN 1 ELSE 0 END) \
             FROM tags WHERE scope IN ('span', 'resource') GROUP BY key",
            &[Merge::Key, Merge::Sum, Merge::Sum],
        )
        .await?;
    let (key, n, numeric) = (rows.texts(0)?, rows.counts(1)?, rows.counts(2)?);
    let mut keys: Vec<(u64, String)> = (0..rows.len())
        .filter(|i| numeric[*i] == n[*i])
        .map(|i| (n[i], key[i].clone()))
        .collect();
    // Most frequent first, then by key.
    keys.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    Ok(keys.into_iter().take(MAX_KEYS).map(|(_, k)| k).collect())
}

struct Triple {
    a: String,
    b: String,
    key: String,
    traces: u64,
    lt: u64,
    ge: u64,
}

pub(super) async fn mine(good: &Good<'_>, names: &NameStats, options: &Options) -> Result<Vec<Suggestion>> {
    let keys = numeric_keys(good).await?;
    if keys.is_empty() || names.frequent.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "WITH {} \
         SELECT x.name, y.name, x.key, count(*), \
                sum(CASE WHEN x.hi < y.lo THEN 1 ELSE 0 END), \
                sum(CASE WHEN x.lo < y.hi THEN 1 ELSE 0 END), \
                sum(CASE WHEN x.hi >= y.lo THEN 1 ELSE 0 END) \
         FROM v x JOIN v y ON x.trace_id = y.trace_id AND x.key = y.key AND x.name <> y.name \
         GROUP BY x.name, y.name, x.key",
        ranges(names, &keys)
    );
    use Merge::*;
    let rows = good.rows(&sql, &[Key, Key, Key, Sum, Sum, Sum, Sum]).await?;
    let (a, b, key) = (rows.texts(0)?, rows.texts(1)?, rows.texts(2)?);
    let (traces, always, lt, ge) = (rows.counts(3)?, rows.counts(4)?, rows.counts(5)?, rows.counts(6)?);
    let mut out = Vec::new();
    let mut triples = Vec::new();
    for i in 0..rows.len() {
        if always[i] == traces[i] && traces[i] >= options.min_support {
            out.push(tag_order(&a[i], &b[i], &key[i], traces[i]));
        }
        // Conditions that split the traces: both sides seen often enough. One direction of each
        // unordered pair (the `<` of (B, A) is the `>` of (A, B)).
        let splits = |n: u64| n >= options.min_support && traces[i] - n >= options.min_support;
        if a[i] < b[i] && (splits(lt[i]) || splits(ge[i])) {
            triples.push(Triple {
                a: a[i].clone(),
                b: b[i].clone(),
                key: key[i].clone(),
                traces: traces[i],
                lt: lt[i],
                ge: ge[i],
            });
        }
    }
    triples.sort_by_key(|t| std::cmp::Reverse(t.traces));
    triples.truncate(MAX_PAIRS);
    out.extend(conditionals(good, names, &keys, &triples, options).await?);
    Ok(out)
}

fn tag_order(a: &str, b: &str, key: &str, traces: u64) -> Suggestion {
    let title = format!("{a_}'s {key} is less than {b_}'s", a_ = tick(a), b_ = tick(b));
    Suggestion {
        template: Template::TagOrder,
        block: format!(
            "model {} {{\n    let a = {}\n    let b = {}\n    when a.tag({k}) >= b.tag({k})\n    expect no a\n}}\n",
            quote(&title),
            named(a),
            named(b),
            k = quote(key)
        ),
        title,
        support: traces,
        traces,
        why: format!(
            "in all {} with both, every {} {key} was below every {} {key}",
            count(traces, "trace"),
            tick(a),
            tick(b)
        ),
        caught: None,
        fact: Fact::Alone,
    }
}

/// A span a trace may hold: a name, a name answering a code, a name with status error.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Feature {
    Name(String),
    Code(String, i64),
    Error(String),
}

impl Feature {
    fn selector(&self) -> String {
        match self {
            Feature::Name(n) => named(n),
            Feature::Code(n, c) => named_with(n, &format!("http.status_code = {c}")),
            Feature::Error(n) => named_with(n, "status = error"),
        }
    }

    fn name(&self) -> &str {
        match self {
            Feature::Name(n) | Feature::Code(n, _) | Feature::Error(n) => n,
        }
    }
}

/// Per triple and feature: in how many traces the feature is present where the condition holds and
/// where it does not, for both conditions.
#[derive(Default, Clone, Copy)]
struct Presence {
    lt_with: u64,
    lt_without_cond: u64,
    ge_with: u64,
    ge_without_cond: u64,
}

async fn conditionals(
    good: &Good<'_>,
    names: &NameStats,
    keys: &[String],
    triples: &[Triple],
    options: &Options,
) -> Result<Vec<Suggestion>> {
    if triples.is_empty() {
        return Ok(Vec::new());
    }
    let which: Vec<String> = triples
        .iter()
        .map(|t| {
            format!(
                "(x.name = {} AND y.name = {} AND x.key = {})",
                sql_str(&t.a),
                sql_str(&t.b),
                sql_str(&t.key)
            )
        })
        .collect();
    let names_in = sql_in("name", &names.frequent);
    // The constant columns of `f` are added after each DISTINCT: DataFusion 55 groups far more
    // slowly with a literal among the keys (2.5 s instead of 0.4 s for 1M spans).
    let sql = format!(
        "WITH {}, \
         c AS (SELECT x.trace_id, x.name AS a, y.name AS b, x.key AS k, x.lo < y.hi AS lt, x.hi >= y.lo AS ge \
               FROM v x JOIN v y ON x.trace_id = y.trace_id AND x.key = y.key WHERE {}), \
         f AS (SELECT trace_id, 0 AS kind, name, CAST(NULL AS BIGINT) AS code \
               FROM (SELECT DISTINCT trace_id, name FROM spans WHERE {names_in}) f0 \
               UNION ALL SELECT trace_id, 1 AS kind, name, code \
               FROM (SELECT DISTINCT trace_id, name, http_status_code AS code FROM spans \
                     WHERE http_status_code IS NOT NULL AND {names_in}) f1 \
               UNION ALL SELECT trace_id, 2 AS kind, name, CAST(NULL AS BIGINT) AS code \
               FROM (SELECT DISTINCT trace_id, name FROM spans WHERE status = 'error' AND {names_in}) f2) \
         SELECT c.a, c.b, c.k, f.kind, f.name, f.code, \
                sum(CASE WHEN c.lt THEN 1 ELSE 0 END), sum(CASE WHEN c.lt THEN 0 ELSE 1 END), \
                sum(CASE WHEN c.ge THEN 1 ELSE 0 END), sum(CASE WHEN c.ge THEN 0 ELSE 1 END) \
         FROM c JOIN f ON f.trace_id = c.trace_id \
         GROUP BY c.a, c.b, c.k, f.kind, f.name, f.code",
        ranges(names, keys),
        which.join(" OR ")
    );
    use Merge::*;
    let rows = good
        .rows(&sql, &[Key, Key, Key, Key, Key, Key, Sum, Sum, Sum, Sum])
        .await?;
    let (a, b, k) = (rows.texts(0)?, rows.texts(1)?, rows.texts(2)?);
    let (kind, name, code) = (rows.ints(3)?, rows.texts(4)?, rows.ints(5)?);
    let (lt1, lt0, ge1, ge0) = (rows.counts(6)?, rows.counts(7)?, rows.counts(8)?, rows.counts(9)?);
    let mut found: BTreeMap<(String, String, String), BTreeMap<Feature, Presence>> = BTreeMap::new();
    for i in 0..rows.len() {
        let feature = match (kind[i], code[i]) {
            (Some(1), Some(c)) => Feature::Code(name[i].clone(), c),
            (Some(2), _) => Feature::Error(name[i].clone()),
            _ => Feature::Name(name[i].clone()),
        };
        found
            .entry((a[i].clone(), b[i].clone(), k[i].clone()))
            .or_default()
            .insert(
                feature,
                Presence {
                    lt_with: lt1[i],
                    lt_without_cond: lt0[i],
                    ge_with: ge1[i],
                    ge_without_cond: ge0[i],
                },
            );
    }
    let mut out = Vec::new();
    for t in triples {
        let Some(features) = found.get(&(t.a.clone(), t.b.clone(), t.key.clone())) else {
            continue;
        };
        for lt in [true, false] {
            let holds = if lt { t.lt } else { t.ge };
            let rest = t.traces - holds;
            if holds < options.min_support || rest < options.min_support {
                continue;
            }
            let presence = |p: &Presence| {
                if lt {
                    (p.lt_with, p.lt_without_cond)
                } else {
                    (p.ge_with, p.ge_without_cond)
                }
            };
            // (power, positive, feature): present in every trace where the condition holds and
            // missing from some where it does not, or the other way round.
            let mut expects: Vec<(u64, bool, &Feature)> = Vec::new();
            for (feature, p) in features {
                let (with, elsewhere) = presence(p);
                if with == holds && elsewhere < rest {
                    expects.push((rest - elsewhere, true, feature));
                } else if with == 0 && elsewhere > 0 {
                    expects.push((elsewhere, false, feature));
                }
            }
            let expects = shorten(expects);
            if expects.is_empty() {
                continue;
            }
            out.push(conditional(t, lt, holds, rest, &expects));
        }
    }
    Ok(out)
}

/// The most telling expects, without those another one implies: a span answering a code implies
/// the name is there; no span of a name implies none with a code or an error.
fn shorten(mut expects: Vec<(u64, bool, &Feature)>) -> Vec<(u64, bool, &Feature)> {
    let present: Vec<String> = expects
        .iter()
        .filter(|(_, positive, f)| *positive && !matches!(f, Feature::Name(_)))
        .map(|(_, _, f)| f.name().to_string())
        .collect();
    let absent: Vec<String> = expects
        .iter()
        .filter(|(_, positive, f)| !*positive && matches!(f, Feature::Name(_)))
        .map(|(_, _, f)| f.name().to_string())
        .collect();
    expects.retain(|(_, positive, f)| match f {
        Feature::Name(n) => !(*positive && present.contains(n)),
        Feature::Code(n, _) | Feature::Error(n) => !(!*positive && (absent.contains(n) || present.contains(n))),
    });
    // Names first (the shape people write), then codes, then errors; within, the most telling.
    let rank = |f: &Feature| match f {
        Feature::Name(_) => 0,
        Feature::Code(..) => 1,
        Feature::Error(_) => 2,
    };
    expects.sort_by(|x, y| {
        rank(x.2)
            .cmp(&rank(y.2))
            .then(y.0.cmp(&x.0))
            .then(y.1.cmp(&x.1))
            .then(x.2.cmp(y.2))
    });
    expects.truncate(MAX_EXPECTS);
    expects
}

fn conditional(t: &Triple, lt: bool, holds: u64, rest: u64, expects: &[(u64, bool, &Feature)]) -> Suggestion {
    let op = if lt { "<" } else { ">=" };
    let title = format!("when {}'s {} {op} {}'s", tick(&t.a), t.key, tick(&t.b));
    let mut body = format!(
        "    when {}.tag({k}) {op} {}.tag({k})\n",
        named(&t.a),
        named(&t.b),
        k = quote(&t.key)
    );
    for (_, positive, feature) in expects {
        body.push_str(&format!(
            "    expect {}{}\n",
            if *positive { "" } else { "no " },
            feature.selector()
        ));
    }
    Suggestion {
        template: Template::Conditional,
        block: format!("model {} {{\n{body}}}\n", quote(&title)),
        title,
        support: holds,
        traces: holds,
        why: format!(
            "the condition held in {} and not in {}; each expect held in all of the first and failed in some of the others",
            count(holds, "trace"),
            rest
        ),
        caught: None,
        fact: Fact::Alone,
    }
}
