//! OTLP/JSON: the collector's JSON body decoder (`Accepted::from_json`, no detection: every input
//! goes to the OTLP JSON decoder) with the accepted spans assembled, and the file path for inputs
//! detected as OTLP JSON (hex or base64 ids, enum names or numbers, legacy keys, JSON lines).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracecheck::collect::Accepted;
use tracecheck::ingest::Format;

mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(accepted) = Accepted::from_json(data) {
        common::assemble_spans(accepted.spans);
    }
    common::decode_if(data, |f| f == Format::OtlpJson);
});
