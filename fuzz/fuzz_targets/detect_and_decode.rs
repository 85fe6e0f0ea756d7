//! Arbitrary bytes through the path `tracecheck ingest` takes for a file: gzip unwrapping, format
//! detection (protobuf framing, the JSON shapes, JSON lines), whichever decoder that picks, then
//! assembly into parts (de-duplication, id repair, structure columns).
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    common::decode_and_assemble(data);
});
