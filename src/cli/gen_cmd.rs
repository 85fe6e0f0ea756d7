//! `tracecheck gen bank -o OUT --traces N --seed S [--format ...]`

use std::path::PathBuf;

use tracecheck::pipeline::{generate, GenOutput};
use tracecheck::workload::BankOptions;
use tracecheck::{Error, Result};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    /// The seed's bank: withdraw endpoint, balance check, commit / rollback.
    Bank,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OutFormat {
    /// A Parquet dataset folder.
    Dataset,
    /// One OTLP ExportTraceServiceRequest protobuf message.
    OtlpProto,
    /// Canonical OTLP/JSON.
    OtlpJson,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which workload.
    workload: Workload,
    /// Output dataset folder (or file for OTLP formats).
    #[arg(short, long)]
    output: PathBuf,
    /// Number of traces.
    #[arg(long, default_value_t = 1000)]
    traces: usize,
    /// Random seed: the same seed gives the same traces.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fraction of traces with an injected fault.
    #[arg(long, default_value_t = 0.05)]
    fault_rate: f64,
    /// Multiplies withdrawal latencies (e.g. 1.2 for a 20% slower build).
    #[arg(long, default_value_t = 1.0)]
    slow_factor: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutFormat::Dataset)]
    format: OutFormat,
    /// Where to write the ground truth (trace ids per injected fault); default: inside the dataset
    /// folder, or OUTPUT.truth.json next to an OTLP file.
    #[arg(long)]
    truth: Option<PathBuf>,
}

pub async fn run(a: Args) -> Result<u8> {
    if !(0.0..=1.0).contains(&a.fault_rate) {
        return Err(Error::Usage(format!(
            "--fault-rate must be between 0 and 1, got {}",
            a.fault_rate
        )));
    }
    let options = BankOptions::new(a.traces)
        .with_seed(a.seed)
        .with_fault_rate(a.fault_rate)
        .with_slow_factor(a.slow_factor);
    let truth_path = match (&a.truth, a.format) {
        (Some(p), _) => p.clone(),
        (None, OutFormat::Dataset) => a.output.join("ground_truth.json"),
        (None, _) => PathBuf::from(format!("{}.truth.json", a.output.display())),
    };
    let output = match a.format {
        OutFormat::Dataset => GenOutput::Dataset,
        OutFormat::OtlpProto => GenOutput::OtlpProto,
        OutFormat::OtlpJson => GenOutput::OtlpJson,
    };
    let done = generate(&options, &a.output, output)?;
    std::fs::write(&truth_path, done.truth.to_json()).map_err(|e| Error::io(&truth_path, e))?;
    eprintln!(
        "generated {} traces, {} spans into {} (ground truth: {})",
        done.traces,
        done.spans,
        a.output.display(),
        truth_path.display()
    );
    Ok(0)
}
