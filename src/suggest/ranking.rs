//! Keeping the file short and useful: implied suggestions out, what the bad data violates first,
//! a cap per template and in all.

use std::collections::{BTreeMap, HashSet};

use datafusion::prelude::SessionContext;

use super::render::candidates_file;
use super::{Caught, Fact, Options, Suggestion, Template};
use crate::check::{check_compiled, compile_file, DataNames};
use crate::error::{Error, Result};
use crate::model::parse_file;
use crate::text::plural;

/// The outcome of [`rank`].
#[derive(Clone, Debug)]
pub struct Ranked {
    /// The suggestions kept, in file order.
    pub kept: Vec<Suggestion>,
    /// Candidates mined (all hold on the good data).
    pub candidates: usize,
    /// Candidates dropped because others imply them.
    pub implied: usize,
    /// Candidates the bad data violates (all kept, up to the maximum).
    pub caught: usize,
}

/// Drops implied candidates, runs the rest on `bad` (when given) and keeps, in order: those `bad`
/// violates (most violating traces first), then per template the best supported, taking the
/// templates in turn until the maximum.
///
/// ```no_run
/// # async fn f() -> tracecheck::Result<()> {
/// use tracecheck::suggest::{mine, rank, Options};
/// let good = tracecheck::engine::open(&["good".into()]).await?;
/// let bad = tracecheck::engine::open(&["bad".into()]).await?;
/// let options = Options::default();
/// let ranked = rank(mine(&good, &options).await?, Some(&bad), &options).await?;
/// println!("{} of {} kept", ranked.kept.len(), ranked.candidates);
/// # Ok(()) }
/// ```
pub async fn rank(candidates: Vec<Suggestion>, bad: Option<&SessionContext>, options: &Options) -> Result<Ranked> {
    let total = candidates.len();
    let mut candidates = candidates;
    candidates.sort_by(|a, b| (a.template, &a.title, &a.block).cmp(&(b.template, &b.title, &b.block)));
    let mut list = unique_titles(candidates);
    let facts: HashSet<Fact> = list.iter().map(|s| s.fact.clone()).collect();
    list.retain(|s| !implied(&s.fact, &facts));
    let implied = total - list.len();
    if let Some(bad) = bad {
        try_on_bad(&mut list, bad).await?;
    }
    let caught_count = |s: &Suggestion| s.caught.as_ref().map_or(0, |c| c.count);
    let (mut caught, rest): (Vec<Suggestion>, Vec<Suggestion>) = list.into_iter().partition(|s| caught_count(s) > 0);
    caught.sort_by(|a, b| caught_count(b).cmp(&caught_count(a)).then(a.title.cmp(&b.title)));
    let n_caught = caught.len();
    caught.truncate(options.max);

    // The rest, per template, best supported first; then the templates in turn.
    let mut per: BTreeMap<usize, Vec<Suggestion>> = BTreeMap::new();
    for s in rest {
        let order = Template::ALL
            .iter()
            .position(|t| *t == s.template)
            .unwrap_or(usize::MAX);
        per.entry(order).or_default().push(s);
    }
    for list in per.values_mut() {
        // Equal support: by title, so the file does not depend on the order rows came in.
        list.sort_by(|a, b| b.support.cmp(&a.support).then(a.title.cmp(&b.title)));
        list.truncate(options.per_template);
    }
    let mut chosen: BTreeMap<usize, Vec<Suggestion>> = BTreeMap::new();
    let mut room = options.max.saturating_sub(caught.len());
    let mut round = 0;
    while room > 0 && per.values().any(|l| l.len() > round) {
        for (order, list) in &per {
            if room > 0 && list.len() > round {
                chosen.entry(*order).or_default().push(list[round].clone());
                room -= 1;
            }
        }
        round += 1;
    }
    let mut kept = caught;
    kept.extend(chosen.into_values().flatten());
    Ok(Ranked {
        kept,
        candidates: total,
        implied,
        caught: n_caught,
    })
}

/// Titles are a file's namespace: a second equal title gets a number.
fn unique_titles(list: Vec<Suggestion>) -> Vec<Suggestion> {
    let mut seen: HashSet<String> = HashSet::new();
    list.into_iter()
        .map(|mut s| {
            let mut n = 1;
            let base = s.title.clone();
            while !seen.insert(s.title.clone()) {
                n += 1;
                let title = format!("{base} ({n})");
                s.block = s.block.replacen(
                    &crate::model::format::quote(&s.title),
                    &crate::model::format::quote(&title),
                    1,
                );
                s.title = title;
            }
            s
        })
        .collect()
}

/// Whether other facts imply `fact`: a child rule implies the descendant rule, and two steps
/// (child or descendant, then child or descendant) imply the descendant rule across them; the
/// same for parents and ancestors, and `before` between siblings is taken as transitive.
fn implied(fact: &Fact, facts: &HashSet<Fact>) -> bool {
    let names = || facts.iter().flat_map(fact_names);
    match fact {
        Fact::HasDescendant { ancestor, descendant } => {
            let down = |a: &str, d: &str| {
                facts.contains(&Fact::HasChild {
                    parent: a.into(),
                    child: d.into(),
                }) || facts.contains(&Fact::HasDescendant {
                    ancestor: a.into(),
                    descendant: d.into(),
                })
            };
            facts.contains(&Fact::HasChild {
                parent: ancestor.clone(),
                child: descendant.clone(),
            }) || names().any(|z| z != ancestor && z != descendant && down(ancestor, z) && down(z, descendant))
        }
        Fact::Under { descendant, ancestor } => {
            let up = |d: &str, a: &str| {
                facts.contains(&Fact::ChildOf {
                    child: d.into(),
                    parent: a.into(),
                }) || facts.contains(&Fact::Under {
                    descendant: d.into(),
                    ancestor: a.into(),
                })
            };
            facts.contains(&Fact::ChildOf {
                child: descendant.clone(),
                parent: ancestor.clone(),
            }) || names().any(|z| z != ancestor && z != descendant && up(descendant, z) && up(z, ancestor))
        }
        Fact::Before { first, then } => names().any(|z| {
            z != first
                && z != then
                && facts.contains(&Fact::Before {
                    first: first.clone(),
                    then: z.to_string(),
                })
                && facts.contains(&Fact::Before {
                    first: z.to_string(),
                    then: then.clone(),
                })
        }),
        _ => false,
    }
}

fn fact_names(fact: &Fact) -> Vec<&str> {
    match fact {
        Fact::HasChild { parent: a, child: b }
        | Fact::ChildOf { child: a, parent: b }
        | Fact::HasDescendant {
            ancestor: a,
            descendant: b,
        }
        | Fact::Under {
            descendant: a,
            ancestor: b,
        }
        | Fact::Before { first: a, then: b } => vec![a.as_str(), b.as_str()],
        Fact::Alone => Vec::new(),
    }
}

/// Runs every candidate on the bad data, as `check` would, and records what failed.
async fn try_on_bad(list: &mut [Suggestion], bad: &SessionContext) -> Result<()> {
    let text = candidates_file(list);
    let file = parse_file(&text).map_err(|e| Error::Bug(format!("a suggestion does not parse: {}", e.message)))?;
    let blocks = compile_file("<suggestions>", &text, &file)?;
    let names = DataNames::load(bad).await?;
    let report = check_compiled("<suggestions>", &blocks, bad, &names, None).await?;
    let mut outcome: BTreeMap<&str, Caught> = BTreeMap::new();
    for m in &report.models {
        let n = m.violating_traces() as u64;
        let text = if n > 0 {
            format!("violated in {} trace{}", n, plural(n as usize))
        } else if m.vacuous() {
            "never applied".to_string()
        } else {
            "holds".to_string()
        };
        outcome.insert(&m.title, Caught { count: n, text });
    }
    for c in &report.checks {
        let failing = c.rules.iter().flat_map(|r| r.failures()).count() as u64;
        let text = if failing > 0 {
            let values: Vec<String> = c
                .rules
                .iter()
                .flat_map(|r| {
                    r.failures().map(move |m| {
                        m.value
                            .map_or("no value".to_string(), |v| crate::check::display_value(v, r.unit))
                    })
                })
                .collect();
            format!("fails (measured {})", values.join(", "))
        } else {
            "holds".to_string()
        };
        outcome.insert(&c.title, Caught { count: failing, text });
    }
    for s in list.iter_mut() {
        s.caught = outcome.get(s.title.as_str()).cloned();
    }
    Ok(())
}
