//! Unknown-name warnings: a selector that names a span name, service or tag key occurring nowhere in
//! the data is most likely a typo, and with `expect no` it would pass forever.

use std::collections::BTreeSet;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;

use crate::error::Result;
use crate::model::ast::{CmpOp, Condition, Expr, Field, Literal, Predicate, Selector, SpanTerm};
use crate::model::Model;

/// The span names, services and tag keys present in a dataset.
#[derive(Clone, Debug, Default)]
pub struct DataNames {
    names: BTreeSet<String>,
    services: BTreeSet<String>,
    tag_keys: BTreeSet<String>,
}

async fn distinct(ctx: &SessionContext, sql: &str) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for b in ctx.sql(sql).await?.collect().await? {
        let c = cast(b.column(0), &DataType::Utf8)?;
        let s = c.as_string::<i32>();
        out.extend((0..s.len()).filter(|&i| !s.is_null(i)).map(|i| s.value(i).to_string()));
    }
    Ok(out)
}

impl DataNames {
    /// Reads the distinct names, services and (span and resource) tag keys.
    pub async fn load(ctx: &SessionContext) -> Result<DataNames> {
        Ok(DataNames {
            names: distinct(ctx, "SELECT DISTINCT name FROM spans").await?,
            services: distinct(ctx, "SELECT DISTINCT service FROM spans").await?,
            tag_keys: distinct(ctx, "SELECT DISTINCT key FROM tags WHERE scope IN ('span', 'resource')").await?,
        })
    }

    /// Warnings for the names in `model` that occur nowhere in the data, with the closest ones.
    ///
    /// ```
    /// # async fn f() -> tracecheck::Result<()> {
    /// use tracecheck::model::builder::*;
    /// let ctx = tracecheck::engine::open(&["datasets/bank".into()]).await?;
    /// let names = tracecheck::check::DataNames::load(&ctx).await?;
    /// let w = names.unknown_in(&Model::new("m").not_expect(span().name("/:acount/withdraw")));
    /// assert!(w[0].contains("did you mean \"/:account/withdraw\""));
    /// # Ok(()) }
    /// ```
    pub fn unknown_in(&self, model: &Model) -> Vec<String> {
        let mut used = Used::default();
        for l in &model.lets {
            used.selector(&l.selector);
        }
        if let Some(w) = &model.when {
            for c in &w.conditions {
                match c {
                    Condition::Exists(t) => used.term(t),
                    Condition::Compare { left, right, .. } => {
                        used.expr(left);
                        used.expr(right);
                    }
                }
            }
        }
        for e in &model.expects {
            used.term(&e.term);
        }
        let mut out = Vec::new();
        let mut report = |what: &str, value: &str, known: &BTreeSet<String>| {
            if !known.contains(value) {
                let mut msg = format!("{what} {value:?} occurs nowhere in the data");
                if let Some(close) = closest(value, known) {
                    msg.push_str(&format!("; did you mean {close:?}?"));
                }
                if !out.contains(&msg) {
                    out.push(msg);
                }
            }
        };
        for n in &used.names {
            report("span name", n, &self.names);
        }
        for s in &used.services {
            report("service", s, &self.services);
        }
        for k in &used.tag_keys {
            report("tag key", k, &self.tag_keys);
        }
        out
    }
}

/// The most similar known name, if any is similar enough to be a plausible typo.
fn closest<'a>(value: &str, known: &'a BTreeSet<String>) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(value, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.as_str())
}

#[derive(Default)]
struct Used {
    names: Vec<String>,
    services: Vec<String>,
    tag_keys: Vec<String>,
}

impl Used {
    fn predicate(&mut self, p: &Predicate) {
        match (&p.field.node, p.op.node, &p.value.node) {
            (Field::Name, CmpOp::Eq, Literal::Str(s)) => self.names.push(s.clone()),
            (Field::Service, CmpOp::Eq, Literal::Str(s)) => self.services.push(s.clone()),
            (Field::Tag(k), _, _) => self.tag_keys.push(k.clone()),
            _ => {}
        }
    }

    fn selector(&mut self, s: &Selector) {
        if let Selector::Inline { predicates, .. } = s {
            predicates.iter().for_each(|p| self.predicate(p));
        }
    }

    fn term(&mut self, t: &SpanTerm) {
        self.selector(&t.selector);
        if let Some(r) = &t.relation {
            self.selector(&r.target);
        }
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Literal(_) => {}
            Expr::Field(f) => {
                if let Some(s) = &f.selector {
                    self.selector(s);
                }
                if let Field::Tag(k) = &f.field.node {
                    self.tag_keys.push(k.clone());
                }
            }
            Expr::Neg { expr, .. } => self.expr(expr),
            Expr::Binary { left, right, .. } => {
                self.expr(left);
                self.expr(right);
            }
        }
    }
}
