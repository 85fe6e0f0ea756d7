//! Value templates on single spans: status never error, the status codes a name answers with, a
//! duration ceiling.

use std::collections::BTreeMap;

use super::query::{sql_in, Good, Merge};
use super::structure::{count, named, tick, NameStats};
use super::{alone, human_duration, round_up, Options, Suggestion, Template};
use crate::error::Result;
use crate::model::format::duration_text;

/// At most this many distinct codes make a "status code is one of" rule.
const MAX_CODES: usize = 4;

pub(super) async fn mine(good: &Good<'_>, names: &NameStats, options: &Options) -> Result<Vec<Suggestion>> {
    let mut out = never_error(names, options);
    out.extend(status_codes(good, names, options).await?);
    out.extend(durations(names, options));
    Ok(out)
}

/// "A's status is never error" per frequent name without an error; one rule for all spans when
/// nothing in the data failed.
fn never_error(names: &NameStats, options: &Options) -> Vec<Suggestion> {
    let spans: u64 = names.all.values().map(|s| s.spans).sum();
    if names.all.values().all(|s| s.errors == 0) && spans >= options.min_support {
        return vec![alone(
            Template::NeverError,
            "model",
            "no span has status error".into(),
            "    expect no span(status = error)\n".into(),
            spans,
            0,
            format!("none of the {} has status error", count(spans, "span")),
        )];
    }
    names
        .frequent
        .iter()
        .filter_map(|name| {
            let stat = names.get(name)?;
            (stat.errors == 0).then(|| {
                alone(
                    Template::NeverError,
                    "model",
                    format!("{} never fails", tick(name)),
                    format!("    expect no {}\n", named_with(name, "status = error")),
                    stat.spans,
                    stat.traces,
                    format!(
                        "none of the {} ({}) has status error",
                        count(stat.spans, &format!("{} span", tick(name))),
                        count(stat.traces, "trace")
                    ),
                )
            })
        })
        .collect()
}

/// `span(name = "x", PREDICATE)`.
pub(super) fn named_with(name: &str, predicate: &str) -> String {
    let plain = named(name);
    format!("{}, {predicate})", &plain[..plain.len() - 1])
}

/// "A's http.status_code is always one of {…}" (spans without a code are not constrained: a
/// missing value never compares).
async fn status_codes(good: &Good<'_>, names: &NameStats, options: &Options) -> Result<Vec<Suggestion>> {
    let sql = format!(
        "SELECT name, http_status_code, count(*) FROM spans \
         WHERE http_status_code IS NOT NULL AND {} GROUP BY name, http_status_code",
        sql_in("name", &names.frequent)
    );
    let rows = good.rows(&sql, &[Merge::Key, Merge::Key, Merge::Sum]).await?;
    let mut codes: BTreeMap<String, (Vec<i64>, u64)> = BTreeMap::new();
    let (name, code, n) = (rows.texts(0)?, rows.ints(1)?, rows.counts(2)?);
    for i in 0..rows.len() {
        let entry = codes.entry(name[i].clone()).or_default();
        entry.0.extend(code[i]);
        entry.1 += n[i];
    }
    let mut out = Vec::new();
    for (name, (mut list, spans)) in codes {
        if list.len() > MAX_CODES || spans < options.min_support {
            continue;
        }
        list.sort_unstable();
        let predicates: Vec<String> = list.iter().map(|c| format!("http.status_code != {c}")).collect();
        let shown: Vec<String> = list.iter().map(i64::to_string).collect();
        let traces = names.traces(&name);
        out.push(alone(
            Template::StatusCodes,
            "model",
            format!("{} answers {}", tick(&name), shown.join(" or ")),
            format!("    expect no {}\n", named_with(&name, &predicates.join(", "))),
            spans,
            traces,
            format!(
                "the {} with a status code ({}) answered {}",
                count(spans, &format!("{} span", tick(&name))),
                count(traces, "trace"),
                shown.join(", ")
            ),
        ));
    }
    Ok(out)
}

/// "A never takes X or longer", X the longest A times the margin, rounded up.
fn durations(names: &NameStats, options: &Options) -> Vec<Suggestion> {
    let mut out = Vec::new();
    for name in &names.frequent {
        let Some(stat) = names.get(name) else { continue };
        let Some(max) = stat.max_duration.filter(|m| *m > 0) else {
            continue;
        };
        if stat.with_duration < options.min_support {
            continue;
        }
        let ceiling = round_up(max as f64 * options.margin).max(max + 1);
        out.push(alone(
            Template::Duration,
            "model",
            format!("{} takes less than {}", tick(name), duration_text(ceiling)),
            format!(
                "    expect no {}\n",
                named_with(name, &format!("duration >= {}", duration_text(ceiling)))
            ),
            stat.with_duration,
            stat.traces,
            format!(
                "the longest of the {} ({}) took {}; the margin is {}x",
                count(stat.with_duration, &format!("{} span", tick(name))),
                count(stat.traces, "trace"),
                human_duration(max),
                options.margin
            ),
        ));
    }
    out
}
