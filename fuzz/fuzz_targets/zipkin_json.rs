//! The Zipkin v2 JSON decoder, for inputs detected as a Zipkin span list, then assembly (Zipkin's
//! shared client/server span ids exercise de-duplication and id repair).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracecheck::ingest::Format;

mod common;

fuzz_target!(|data: &[u8]| {
    common::decode_if(data, |f| f == Format::ZipkinJson);
});
