//! Shared by the decoder targets: the `tracecheck ingest` path for bytes held in memory.
// Each target uses part of it.
#![allow(dead_code)]

use std::io::Read;
use std::sync::OnceLock;

use tracecheck::ingest::{decode_bytes, detect_format, Format, RawTables, Span, SpanSink};
use tracecheck::store::assemble;

/// Spans per part when assembling: small, so that fuzz inputs get cut into several parts.
const PART_SPANS: usize = 64;

/// Decodes `data` as `tracecheck ingest` decodes a file (gzip, detection, the decoder; rejected
/// spans counted as with `--keep-going`) and assembles what was decoded into parts, when the
/// format detected from the start of `data` is one that `family` accepts. Errors are fine; a panic
/// is a bug.
pub fn decode_if(data: &[u8], family: impl Fn(Format) -> bool) {
    if !wanted(data) {
        return;
    }
    match detect_format(data) {
        Ok(format) if family(format) => {}
        _ => return,
    }
    decode_and_assemble(data);
}

/// [`decode_if`] for any input.
pub fn decode_and_assemble(data: &[u8]) {
    if !wanted(data) {
        return;
    }
    let mut raw = RawTables::new(true);
    let _ = decode_bytes("fuzz-input", data, &mut raw);
    // `ingest` stops on a decode error; the spans pushed before it are valid all the same, and
    // assembling them covers more.
    let _ = assemble(raw, PART_SPANS);
}

/// What the collector does with the spans of an accepted request: into the tables, then assembled.
pub fn assemble_spans(spans: Vec<Span>) {
    let mut raw = RawTables::new(true);
    for span in spans {
        if raw.push(span).is_err() {
            return;
        }
    }
    let _ = assemble(raw, PART_SPANS);
}

/// With `FUZZ_VALID_JSON_ONLY=1`, inputs that start like JSON (after gzip) are fuzzed only when they
/// are a sequence of valid JSON objects or arrays, the last possibly cut short. This gets the
/// fuzzer past two known bugs to the decoders behind them, at the price of not fuzzing detection
/// and decoders on malformed JSON: JSON format detection never returns on `[0}`
/// (fuzz/regressions/detect_and_decode-skim-array-close-brace), and a scalar after a document
/// (`[]1\n`) panics (fuzz/regressions/*-scalar-after-document). Leave it unset once they are fixed.
fn wanted(data: &[u8]) -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    if !*ON.get_or_init(|| std::env::var_os("FUZZ_VALID_JSON_ONLY").is_some_and(|v| v != "0")) {
        return true;
    }
    if data.starts_with(&[0x1f, 0x8b]) {
        // What the decoder would read: the inflated bytes, up to a corrupt or truncated end.
        let mut inflated = Vec::new();
        let _ = flate2::read::MultiGzDecoder::new(data).take(8 << 20).read_to_end(&mut inflated);
        return inflated.len() < 8 << 20 && json_syntax_ok(&inflated);
    }
    json_syntax_ok(data)
}

/// Not JSON at all (protobuf), or JSON documents that are valid up to where the input ends.
fn json_syntax_ok(data: &[u8]) -> bool {
    match data.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{' | b'[') => {}
        _ => return true,
    }
    let mut docs = serde_json::Deserializer::from_slice(data).into_iter::<serde::de::IgnoredAny>();
    loop {
        let start = data[docs.byte_offset()..].iter().find(|b| !b.is_ascii_whitespace());
        if !matches!(start, None | Some(b'{' | b'[')) {
            return false;
        }
        match docs.next() {
            None => return true,
            Some(Ok(_)) => {}
            Some(Err(e)) => return e.is_eof(),
        }
    }
}
