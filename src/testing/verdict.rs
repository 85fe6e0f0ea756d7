//! [`check`] and the assertions: models against the spans a test captured, with the same [`Report`]
//! as `tracecheck check`, and a failure message drawn from the captured spans.

use std::fmt;

use super::capture::SpanCapture;
use super::message::{holds_failure, violates_failure, Traces};
use super::models::{IntoModels, Models};
use super::style::{colour_wanted, Styled};
use crate::check::{check_compiled, Compiled, DataNames, Report};
use crate::error::Result;
use crate::ingest::Span;

/// Checks `models` against the spans `capture` holds now: the same [`Report`] as
/// `tracecheck check MODELS --data ...` gives for the same spans.
///
/// ```
/// # async fn f() -> tracecheck::Result<()> {
/// use opentelemetry::trace::{Tracer, TracerProvider as _};
/// use tracecheck::testing::{check, Models, SpanCapture};
///
/// let capture = SpanCapture::new();
/// capture.tracer_provider().tracer("t").in_span("withdrawal", |_| {});
/// let report = check(Models::parse(r#"model "m" { expect no span(name = "commit") }"#)?, &capture).await?;
/// assert!(report.holds());
/// assert_eq!(report.files[0].models[0].traces, 1);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
/// ```
pub async fn check(models: impl IntoModels, capture: &SpanCapture) -> Result<Report> {
    let models = models.into_models()?;
    run(std::slice::from_ref(&models), capture.spans()?, false).await
}

/// One file report per [`Models`], in order.
async fn run(models: &[Models], spans: Vec<Span>, strict: bool) -> Result<Report> {
    let ctx = crate::engine::open_spans(spans).await?;
    // As in `tracecheck check`: the names are only read for the unknown-name warnings of models.
    let has_models = models
        .iter()
        .any(|m| m.blocks().iter().any(|b| matches!(b, Compiled::Model(..))));
    let names = if has_models {
        DataNames::load(&ctx).await?
    } else {
        DataNames::default()
    };
    let mut files = Vec::with_capacity(models.len());
    for m in models {
        files.push(check_compiled(m.label(), m.blocks(), &ctx, &names, None).await?);
    }
    Ok(Report { files, strict })
}

/// Why an assertion failed: a message for people and, when the check ran, its [`Report`].
///
/// The message names the failing rules; shows each failing model's text with its failing clauses
/// marked; draws each violating trace as an indented tree of spans (name, service, duration, the tags
/// the model mentions) with the witness spans and the spans bound to `let` names marked `◀`; and
/// says for each failing clause how many spans matched and how many were expected.
///
/// ```
/// # async fn f() {
/// use opentelemetry::trace::{Tracer, TracerProvider as _};
/// use tracecheck::testing::{try_assert_holds, Models, SpanCapture};
///
/// let capture = SpanCapture::new().with_service_name("bank");
/// let tracer = capture.tracer_provider().tracer("bank");
/// tracer.in_span("withdrawal", |_| tracer.in_span("commit", |_| {}));
///
/// let rule = Models::parse(r#"model "no commit" { expect no span(name = "commit") }"#);
/// let failure = try_assert_holds(rule, &capture).await.unwrap_err();
/// assert_eq!(failure.report().unwrap().violation_count(), 1);
/// let message = failure.message();
/// assert!(message.starts_with("tracecheck: 1 of 1 rule failed on the captured spans (<text>; 2 spans in 1 trace)"));
/// assert!(message.contains("  ✗ 1     expect no span(name = \"commit\")"));
/// assert!(message.contains("    withdrawal  bank"));
/// assert!(message.contains("      commit    bank"));
/// assert!(message.contains("◀ witness of clause 1"));
/// assert!(message.contains("✗ clause 1 fails: 1 span matched (◀), expected none"));
///
/// // A test of faulty code asserts the violation instead.
/// let report = tracecheck::assert_violates!(
///     Models::parse(r#"model "no commit" { expect no span(name = "commit") }"#),
///     &capture
/// );
/// assert_eq!(report.files[0].models[0].violations[0].clause, 1);
/// # }
/// # tokio::runtime::Runtime::new().unwrap().block_on(f());
/// ```
#[derive(Debug)]
pub struct Failure {
    message: Styled,
    report: Option<Report>,
}

impl Failure {
    /// The message, without colours.
    pub fn message(&self) -> String {
        self.message.plain()
    }

    /// The report, unless the models could not even be loaded or run.
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }

    /// Panics with the message, coloured when stderr is a terminal (and `NO_COLOR` is not set).
    #[track_caller]
    pub fn panic(self) -> ! {
        let text = if colour_wanted() {
            self.message.ansi()
        } else {
            self.message.plain()
        };
        panic!("{text}")
    }

    fn error(e: crate::Error) -> Failure {
        let mut message = Styled::default();
        message.text(format!(
            "tracecheck: the captured spans could not be checked\n{}",
            e.render()
        ));
        Failure { message, report: None }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message.plain())
    }
}

impl std::error::Error for Failure {}

/// Checks `models` and returns the report if every rule holds and at least one model applied to
/// (or a `check` block ran on) the captured spans; else the [`Failure`] that
/// [`assert_holds!`](crate::assert_holds) panics with.
pub async fn try_assert_holds(models: impl IntoModels, capture: &SpanCapture) -> Result<Report, Failure> {
    verdict(models, capture, Expect::Holds).await
}

/// Checks `models` and returns the report if some rule fails (a test of faulty code); else the
/// [`Failure`] that [`assert_violates!`](crate::assert_violates) panics with.
pub async fn try_assert_violates(models: impl IntoModels, capture: &SpanCapture) -> Result<Report, Failure> {
    verdict(models, capture, Expect::Violates).await
}

/// The verdict a test wants: [`try_assert_holds`] or [`try_assert_violates`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Every rule holds, and at least one model applied (or a `check` block ran).
    Holds,
    /// Some rule fails.
    Violates,
}

async fn verdict(models: impl IntoModels, capture: &SpanCapture, expect: Expect) -> Result<Report, Failure> {
    let models = models.into_models().map_err(Failure::error)?;
    let spans = capture.spans().map_err(Failure::error)?;
    verdict_on_spans(std::slice::from_ref(&models), spans, expect, false)
        .await
        .map_err(Failure::error)?
}

/// The assertions on spans from anywhere (`tracecheck check --data - --expect`, which decodes
/// them from OTLP): `Ok(Ok(report))` when the verdict is `expect`, `Ok(Err(failure))` with the
/// message [`try_assert_holds`] / [`try_assert_violates`] give for the same spans and models (one
/// file report per [`Models`], the labels joined in the message), `Err` when the check could not
/// run. With `strict` (`--strict`), [`Expect::Holds`] also fails on a rule with a warning: a
/// vacuous model, or a name that occurs nowhere in the spans; warnings never count as the
/// violation [`Expect::Violates`] wants.
///
/// ```
/// # async fn f() -> tracecheck::Result<()> {
/// use tracecheck::ingest::Span;
/// use tracecheck::testing::{verdict_on_spans, Expect, Models};
/// let spans = vec![Span { trace_id: 1, span_id: 2, name: "withdrawal".into(), ..Span::default() }];
/// let models = [Models::parse(r#"model "m" { when span(name = "commit") expect span(name = "x") }"#)?];
/// // Vacuous: the plain assertion fails because no model applied.
/// let failure = verdict_on_spans(&models, spans.clone(), Expect::Holds, false).await?.unwrap_err();
/// assert!(failure.message().contains("no model applied"));
/// let models = [
///     Models::parse(r#"model "m" { when span(name = "commit") expect span(name = "x") }"#)?,
///     Models::parse(r#"model "n" { expect span(name = "withdrawal") }"#)?,
/// ];
/// // One model applied: it passes, unless strict.
/// assert!(verdict_on_spans(&models, spans.clone(), Expect::Holds, false).await?.is_ok());
/// let failure = verdict_on_spans(&models, spans, Expect::Holds, true).await?.unwrap_err();
/// assert!(failure.message().starts_with("tracecheck: 1 of 2 rules raised a warning, a failure in strict mode (<text>, <text>;"));
/// assert!(failure.message().contains("vacuous \"m\": `when` never held"));
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(f()).unwrap();
/// ```
pub async fn verdict_on_spans(
    models: &[Models],
    spans: Vec<Span>,
    expect: Expect,
    strict: bool,
) -> Result<Result<Report, Failure>> {
    // The tables are built from a copy, so the message draws exactly the spans that were checked.
    let report = run(models, spans.clone(), strict).await?;
    let traces = Traces::new(&spans);
    let message = match expect {
        Expect::Holds => holds_failure(&report, models, &traces, strict),
        Expect::Violates => violates_failure(&report, models, &traces),
    };
    Ok(match message {
        None => Ok(report),
        Some(message) => Err(Failure {
            message,
            report: Some(report),
        }),
    })
}

impl SpanCapture {
    /// Panics unless every rule of `models` holds on the captured spans and at least one applied;
    /// see [`try_assert_holds`]. The [`assert_holds!`](crate::assert_holds) macro does the same
    /// and reports the caller's line.
    ///
    /// ```
    /// # async fn f() {
    /// use opentelemetry::trace::{Tracer, TracerProvider as _};
    /// use tracecheck::model::builder::*;
    /// use tracecheck::testing::SpanCapture;
    ///
    /// let no_commit = Model::new("no commit").not_expect(span().name("commit"));
    /// let capture = SpanCapture::new();
    /// let tracer = capture.tracer_provider().tracer("bank");
    /// tracer.in_span("withdrawal", |_| tracer.in_span("rollback", |_| {}));
    /// assert_eq!(capture.len(), 2);
    /// capture.assert_holds(&no_commit).await;
    ///
    /// capture.clear();
    /// assert!(capture.is_empty());
    /// tracer.in_span("withdrawal", |_| tracer.in_span("commit", |_| {}));
    /// capture.assert_violates(&no_commit).await;
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(f());
    /// ```
    pub async fn assert_holds(&self, models: impl IntoModels) -> Report {
        try_assert_holds(models, self).await.unwrap_or_else(|f| f.panic())
    }

    /// Panics unless some rule of `models` fails on the captured spans; see [`try_assert_violates`].
    pub async fn assert_violates(&self, models: impl IntoModels) -> Report {
        try_assert_violates(models, self).await.unwrap_or_else(|f| f.panic())
    }
}

/// Asserts that models hold on the spans a [`SpanCapture`] holds: `assert_holds!(models, &capture)`
/// inside an async test. `models` is anything [`IntoModels`] takes (a `.model` path relative to the
/// crate, [`Models`], a built model). Evaluates to the [`Report`]; panics at the caller's line with
/// the [`Failure`] message when a rule fails or no model applied.
///
/// ```
/// # async fn f() {
/// use opentelemetry::trace::{Tracer, TracerProvider as _};
/// use tracecheck::testing::{Models, SpanCapture};
/// let capture = SpanCapture::new();
/// capture.tracer_provider().tracer("t").in_span("withdrawal", |_| {});
/// tracecheck::assert_holds!(Models::parse(r#"model "m" { when span(name = "withdrawal") expect no span(name = "commit") }"#).unwrap(), &capture);
/// # }
/// # tokio::runtime::Runtime::new().unwrap().block_on(f());
/// ```
#[macro_export]
macro_rules! assert_holds {
    ($models:expr, $capture:expr $(,)?) => {
        match $crate::testing::try_assert_holds($models, $capture).await {
            ::std::result::Result::Ok(report) => report,
            ::std::result::Result::Err(failure) => failure.panic(),
        }
    };
}

/// Asserts that some rule fails on the spans a [`SpanCapture`] holds (for tests of faulty code):
/// `assert_violates!(models, &capture)`. Evaluates to the [`Report`], whose violations the test can
/// look at further.
#[macro_export]
macro_rules! assert_violates {
    ($models:expr, $capture:expr $(,)?) => {
        match $crate::testing::try_assert_violates($models, $capture).await {
            ::std::result::Result::Ok(report) => report,
            ::std::result::Result::Err(failure) => failure.panic(),
        }
    };
}
