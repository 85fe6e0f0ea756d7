//! `tracecheck check MODELS... --data X`: run models, report, exit 0 (hold) / 1 (violations) / 2 (error).
//!
//! `--data -` reads one trace input from standard input (any format `--data FILE` takes); with
//! `--expect holds|violates` the run is the assertion of `tracecheck::testing` (for the Python and
//! Node test helpers): nothing on stdout when the verdict is the one expected, else the assertion's
//! failure message, exit 1.

use std::io::Read;
use std::path::{Path, PathBuf};

use tracecheck::check::{check_compiled_in_passes, compile_files, Compiled, DataNames, Report};
use tracecheck::engine::Engine;
use tracecheck::ingest::{decode_bytes, decode_file, Span};
use tracecheck::pipeline::expand_inputs;
use tracecheck::store::is_dataset;
use tracecheck::{engine, report, Error, Result};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// For people: each rule, its failing clauses and first traces.
    Text,
    /// Every violation and count, as one JSON document.
    Json,
    /// JUnit XML: one testsuite per model file, one testcase per model.
    Junit,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `.model` files.
    #[arg(required = true)]
    models: Vec<PathBuf>,
    /// A dataset folder, or trace files / folders (decoded in memory). Repeatable. `-` (at most
    /// once) is standard input: one trace input in any format a file may hold (OTLP protobuf
    /// `ExportTraceServiceRequest` or OTLP/JSON, ...); no bytes at all are an empty OTLP request.
    #[arg(short, long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// The verdict wanted, for test helpers: print nothing and exit 0 when it is met; else print
    /// on stdout the message `tracecheck::testing`'s assert_holds / assert_violates fails with for
    /// the same spans and models, and exit 1. `holds` also fails when no model applied, and with
    /// --strict when a rule has a warning (a vacuous model, a name the spans do not have). The
    /// report is written only with --output. The data is decoded in memory (trace files or -).
    #[arg(long, value_enum, value_name = "VERDICT", conflicts_with_all = ["baseline", "report"])]
    expect: Option<ExpectArg>,
    /// Report format.
    #[arg(short, long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,
    /// Write the report to this file instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Vacuous models and names that occur nowhere in the data fail the run.
    #[arg(long)]
    strict: bool,
    /// Baseline data (a dataset or trace files): `baseline` in a check's threshold is this data's
    /// value of the same rule and group.
    #[arg(long, num_args = 1..)]
    baseline: Vec<PathBuf>,
    /// Traces listed per failing clause in the text report.
    #[arg(long, default_value_t = 5)]
    max_traces: usize,
    /// Also write an HTML page (self-contained): a summary, violating traces drawn as waterfalls,
    /// and charts of the failing checks.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Violating traces drawn per failing model in the --report page.
    #[arg(long, default_value_t = 10, value_name = "N")]
    report_traces: usize,
    /// Models run over a dataset in passes of about this many spans, each over one range of
    /// trace ids (the verdicts are the same; memory holds one pass's traces). Checks run over all
    /// the data at once.
    #[arg(long, default_value_t = DEFAULT_PASS_SPANS, value_name = "N")]
    pass_spans: u64,
    #[command(flatten)]
    engine: super::engine_arg::EngineArg,
}

/// `--expect`: the verdict a test wants.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectArg {
    /// Every rule holds and at least one model applied.
    Holds,
    /// Some rule fails.
    Violates,
}

/// 100M spans of the bank in one pass peaked at 9.2 GiB, in passes of 20M at 4.6 GiB, of 10M at
/// 3.1 GiB (BENCHMARKS.md); 10M spans or fewer run in one pass as before.
const DEFAULT_PASS_SPANS: u64 = 10_000_000;

/// The name standard input goes by in `--data` (and in errors: `<stdin>`).
const STDIN: &str = "-";

fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == STDIN
}

pub async fn run(a: Args) -> Result<u8> {
    let stdin = a.data.iter().filter(|p| is_stdin(p)).count();
    if stdin > 1 {
        return Err(Error::Usage(
            "--data -: standard input can be read once; give `-` once".into(),
        ));
    }
    if let Some(expect) = a.expect {
        return run_expect(&a, expect).await;
    }
    // Every file is parsed and compiled before any data is read: a typo fails in milliseconds.
    let compiled = compile_files(&a.models)?;
    let ctx = if stdin == 1 {
        let spans = decode_in_memory(&a.engine.engine, &a.data, "--data -")?;
        engine::open_spans(spans).await?
    } else {
        a.engine.open(&a.data).await?
    };
    // The names in the data are only needed for the unknown-name warnings of models; reading the
    // distinct tag keys costs a scan of `tags`, which a file of aggregate checks does not need.
    let has_models = compiled
        .iter()
        .any(|(_, blocks)| blocks.iter().any(|b| matches!(b, Compiled::Model(..))));
    let names = if has_models {
        DataNames::load(&ctx).await?
    } else {
        DataNames::default()
    };
    let baseline = if a.baseline.is_empty() {
        None
    } else {
        Some(a.engine.open(&a.baseline).await?)
    };
    // A distributed engine reads the files itself, and raw files are in memory already: one pass.
    let passes = if has_models && !a.engine.engine.is_distributed() && stdin == 0 {
        engine::pass_sessions(&ctx, &a.data, a.pass_spans).await?
    } else {
        Vec::new()
    };
    let mut report = Report {
        strict: a.strict,
        ..Report::default()
    };
    for (name, models) in &compiled {
        report
            .files
            .push(check_compiled_in_passes(name, models, &ctx, &passes, &names, baseline.as_ref()).await?);
    }
    write_report(&report, &a, a.output.as_deref())?;
    if let Some(path) = &a.report {
        let ids = report::html::traces_to_load(&report, a.report_traces);
        let traces = tracecheck::check::traces::load(&ctx, &ids).await?;
        let page = report::html::page(&report, &traces, a.report_traces);
        // A browser reloading the page never sees half of it.
        super::atomic::write_bytes(path, page.as_bytes())?;
    }
    Ok(report.exit_code())
}

/// Writes the report in `--format` to `output`, or to stdout.
fn write_report(report: &Report, a: &Args, output: Option<&Path>) -> Result<()> {
    let text = match a.format {
        ReportFormat::Text => Some(report::text(report, a.max_traces)),
        // JSON is written as it is serialised: at 100M spans the whole tree and its text took
        // gigabytes.
        ReportFormat::Json => None,
        ReportFormat::Junit => Some(report::junit(report)),
    };
    let write = |out: &mut dyn std::io::Write| -> std::io::Result<()> {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(out);
        match &text {
            Some(text) => out.write_all(text.as_bytes())?,
            None => report::write_json(report, &mut out)?,
        }
        out.flush()
    };
    match output {
        Some(p) => {
            let mut file = std::fs::File::create(p).map_err(|e| Error::io(p, e))?;
            write(&mut file).map_err(|e| Error::io(p, e))
        }
        None => write(&mut std::io::stdout().lock()).map_err(|e| Error::io("<stdout>", e)),
    }
}

/// `--expect`: the assertion of `tracecheck::testing` on the spans of `--data`, its failure message
/// on stdout (exit 1) or nothing (exit 0); the report only to `--output`.
#[cfg(feature = "testing")]
async fn run_expect(a: &Args, expect: ExpectArg) -> Result<u8> {
    use tracecheck::testing::{verdict_on_spans, Expect, Models};
    // Read here rather than through `Models::load`, which resolves a relative path from
    // CARGO_MANIFEST_DIR: the binary takes paths from its working directory.
    let mut models = Vec::with_capacity(a.models.len());
    for path in &a.models {
        let source = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        models.push(Models::from_source(&path.display().to_string(), &source)?);
    }
    let spans = decode_in_memory(&a.engine.engine, &a.data, "--expect")?;
    let expect = match expect {
        ExpectArg::Holds => Expect::Holds,
        ExpectArg::Violates => Expect::Violates,
    };
    let verdict = verdict_on_spans(&models, spans, expect, a.strict).await?;
    let report = match &verdict {
        Ok(report) => report,
        Err(failure) => failure.report().expect("a verdict on a finished check has its report"),
    };
    if let Some(output) = &a.output {
        write_report(report, a, Some(output))?;
    }
    match verdict {
        Ok(_) => Ok(0),
        Err(failure) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(failure.message().as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Error::io("<stdout>", e))?;
            Ok(1)
        }
    }
}

#[cfg(not(feature = "testing"))]
async fn run_expect(_: &Args, _: ExpectArg) -> Result<u8> {
    Err(Error::Usage(
        "--expect needs the assertion messages of tracecheck::testing: build tracecheck with the \
         `testing` feature (on by default)"
            .into(),
    ))
}

/// The spans of `--data` decoded in this process: trace files and folders, and standard input for
/// `-` (named `<stdin>` in errors). `why` names the option that needs them in memory.
fn decode_in_memory(engine: &Engine, data: &[PathBuf], why: &str) -> Result<Vec<Span>> {
    if engine.is_distributed() {
        return Err(Error::Usage(format!(
            "{why} decodes the data in this process, which --engine {engine} cannot read: leave \
             --engine out"
        )));
    }
    let files: Vec<PathBuf> = data.iter().filter(|p| !is_stdin(p)).cloned().collect();
    if let Some(d) = files.iter().find(|p| is_dataset(p)) {
        return Err(Error::Usage(format!(
            "{why} takes trace files or standard input, and {} is a dataset: pass its trace files, \
             or leave {why} out",
            d.display()
        )));
    }
    let mut spans: Vec<Span> = Vec::new();
    for f in expand_inputs(&files)? {
        decode_file(&f, &mut spans)?;
    }
    if files.len() < data.len() {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("<stdin>", e))?;
        // An OTLP ExportTraceServiceRequest without spans encodes to no bytes at all (what a test
        // helper sends when nothing was captured).
        if !bytes.is_empty() {
            decode_bytes("<stdin>", &bytes, &mut spans)?;
        }
    }
    Ok(spans)
}
