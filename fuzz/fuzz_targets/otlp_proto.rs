//! OTLP protobuf: the collector's protobuf body decoder (`Accepted::from_proto`: prost decoding,
//! legacy `instrumentation_library_spans`, conversion and validation) with the accepted spans
//! assembled, and the file path for inputs detected as one message or a length-delimited stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracecheck::collect::Accepted;
use tracecheck::ingest::Format;

mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(accepted) = Accepted::from_proto(data) {
        common::assemble_spans(accepted.spans);
    }
    common::decode_if(data, |f| matches!(f, Format::OtlpProto | Format::OtlpProtoDelimited));
});
