//! The generate step: a synthetic workload (`gen`) written as a dataset, streamed a part at a time,
//! or as one OTLP export request (protobuf or JSON).

use std::path::Path;

use crate::error::{Error, Result};
use crate::export::{parts_to_request, request_to_json, request_to_proto};
use crate::ingest::RawTables;
use crate::store::{assemble, Dataset, PartStream};
use crate::workload::{generate_bank, BankOptions, GroundTruth};

/// Spans per part of a generated dataset (and per assembled chunk of an OTLP output).
const PART_SPANS: usize = 1_000_000;

/// What [`generate`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenOutput {
    /// A dataset folder, created or appended to; parts are written while the next ones are
    /// generated, so memory stays at a few parts whatever the number of traces.
    Dataset,
    /// One OTLP `ExportTraceServiceRequest` protobuf message in a file.
    OtlpProto,
    /// The same request as canonical OTLP/JSON in a file.
    OtlpJson,
}

/// What [`generate`] wrote.
#[derive(Debug)]
pub struct Generated {
    /// The trace ids of each injected fault.
    pub truth: GroundTruth,
    /// Traces written.
    pub traces: usize,
    /// Spans written.
    pub spans: usize,
}

/// Generates the bank workload of `options` into `output`, as `format` says.
///
/// ```
/// use tracecheck::workload::BankOptions;
/// use tracecheck::pipeline::{generate, GenOutput};
/// let dir = tempfile::tempdir().unwrap();
/// let done = generate(&BankOptions::new(20).with_seed(7), &dir.path().join("bank"), GenOutput::Dataset)?;
/// assert_eq!(done.traces, 20);
/// let file = dir.path().join("bank.json");
/// let again = generate(&BankOptions::new(20).with_seed(7), &file, GenOutput::OtlpJson)?;
/// assert_eq!((again.traces, again.spans), (done.traces, done.spans));
/// assert_eq!(again.truth.to_json(), done.truth.to_json(), "the same seed, the same faults");
/// # Ok::<(), tracecheck::Error>(())
/// ```
pub fn generate(options: &BankOptions, output: &Path, format: GenOutput) -> Result<Generated> {
    match format {
        GenOutput::Dataset => {
            let mut stream = PartStream::new(Dataset::create_or_open(output)?, PART_SPANS);
            let truth = generate_bank(options, &mut stream)?;
            let stats = stream.finish()?;
            Ok(Generated {
                truth,
                traces: stats.assembled.traces,
                spans: stats.assembled.spans,
            })
        }
        GenOutput::OtlpProto | GenOutput::OtlpJson => {
            let mut raw = RawTables::new(false);
            let truth = generate_bank(options, &mut raw)?;
            let (parts, stats) = assemble(raw, PART_SPANS)?;
            let request = parts_to_request(&parts)?;
            let bytes = if format == GenOutput::OtlpProto {
                request_to_proto(&request)
            } else {
                serde_json::to_vec(&request_to_json(&request)).map_err(|e| Error::Bug(e.to_string()))?
            };
            std::fs::write(output, bytes).map_err(|e| Error::io(output, e))?;
            Ok(Generated {
                truth,
                traces: stats.traces,
                spans: stats.spans,
            })
        }
    }
}
