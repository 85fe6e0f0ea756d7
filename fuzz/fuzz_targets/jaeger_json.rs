//! Jaeger JSON decoders, for inputs detected as Jaeger: the query API / UI JSON (`{"data": [...]}`,
//! a bare trace, a span list with embedded processes) and the api_v2 protobuf JSON (`{"batch": ..}`,
//! `Batch`, `SpansResponseChunk` lines), then assembly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracecheck::ingest::Format;

mod common;

fuzz_target!(|data: &[u8]| {
    common::decode_if(data, |f| matches!(f, Format::JaegerJson | Format::JaegerProtoJson));
});
