//! The OTLP-inside-a-wrapper JSON formats, for inputs detected as such: Tempo's trace by id
//! (`{"batches": [...]}`, `{"trace": {...}}`) and Jaeger's api_v3 (`{"result": {"resourceSpans"}}`),
//! then assembly. Format detection of arbitrary JSON is covered by `detect_and_decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracecheck::ingest::Format;

mod common;

fuzz_target!(|data: &[u8]| {
    common::decode_if(data, |f| matches!(f, Format::TempoJson | Format::JaegerV3Json));
});
