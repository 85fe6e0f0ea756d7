//! `tracecheck gen bank -o OUT --traces N --seed S [--format ...]`

use std::path::PathBuf;

use tracecheck::export::{parts_to_request, request_to_json, request_to_proto};
use tracecheck::gen::{generate_bank, BankOptions};
use tracecheck::ingest::RawTables;
use tracecheck::store::{assemble, Dataset, PartStream};
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
    let (truth, traces, spans) = match a.format {
        OutFormat::Dataset => {
            // Parts are written while the next ones are generated: memory stays at a few parts
            // whatever --traces is.
            let mut stream = PartStream::new(Dataset::create_or_open(&a.output)?, 1_000_000);
            let truth = generate_bank(&options, &mut stream)?;
            let stats = stream.finish()?;
            (truth, stats.assembled.traces, stats.assembled.spans)
        }
        OutFormat::OtlpProto | OutFormat::OtlpJson => {
            let mut raw = RawTables::new(false);
            let truth = generate_bank(&options, &mut raw)?;
            let (parts, stats) = assemble(raw, 1_000_000)?;
            let req = parts_to_request(&parts)?;
            let bytes = if a.format == OutFormat::OtlpProto {
                request_to_proto(&req)
            } else {
                serde_json::to_vec(&request_to_json(&req)).map_err(|e| Error::Bug(e.to_string()))?
            };
            std::fs::write(&a.output, bytes).map_err(|e| Error::io(&a.output, e))?;
            (truth, stats.traces, stats.spans)
        }
    };
    std::fs::write(&truth_path, truth.to_json()).map_err(|e| Error::io(&truth_path, e))?;
    eprintln!(
        "generated {} traces, {} spans into {} (ground truth: {})",
        traces,
        spans,
        a.output.display(),
        truth_path.display()
    );
    Ok(0)
}
