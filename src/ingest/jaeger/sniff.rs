//! Which of its three shapes a Jaeger query/UI JSON document has, from its top-level keys: the
//! `{"data": [...]}` envelope, one bare trace, or a list of spans (see the parent module's rules).

use std::io::Read;

use crate::error::{Error, Result};
use crate::ingest::documents::{InText, Strings};

#[derive(Debug, PartialEq)]
pub(super) enum Shape {
    Envelope,
    Trace,
    Spans,
}

/// Reads just enough of the input to tell its shape from the top-level keys; returns the bytes read,
/// which the caller replays in front of the rest of the stream.
pub(super) fn sniff<R: Read>(name: &str, reader: &mut R) -> Result<(Shape, Vec<u8>)> {
    let mut head = Vec::new();
    let mut scan = KeyScan::default();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(name, e)),
        };
        head.extend_from_slice(&chunk[..n]);
        if let Some(shape) = scan.feed(&head, n == 0) {
            return Ok((shape, head));
        }
    }
}

/// An incremental scanner over the top level of a JSON object.
#[derive(Default)]
struct KeyScan {
    pos: usize,
    started: bool,
    depth: usize,
    strings: Strings,
    expect_key: bool,
    key_start: Option<usize>,
    envelope_keys: bool,
}

impl KeyScan {
    fn feed(&mut self, buf: &[u8], eof: bool) -> Option<Shape> {
        while self.pos < buf.len() {
            let (i, b) = (self.pos, buf[self.pos]);
            self.pos += 1;
            if !self.started {
                match b {
                    b' ' | b'\t' | b'\r' | b'\n' => continue,
                    b'{' => (self.started, self.depth, self.expect_key) = (true, 1, true),
                    // '[' is the span list; anything else is left to the parser to report.
                    _ => return Some(Shape::Spans),
                }
                continue;
            }
            match self.strings.step(b) {
                InText::Inside => continue,
                InText::Closing => {
                    match self.key_start.take().map(|s| &buf[s..i]) {
                        Some(b"data") => return Some(Shape::Envelope),
                        Some(b"traceID" | b"spans" | b"processes") => return Some(Shape::Trace),
                        Some(b"total" | b"limit" | b"offset" | b"errors") => self.envelope_keys = true,
                        _ => {}
                    }
                    continue;
                }
                InText::Opening => {
                    if self.depth == 1 && self.expect_key {
                        self.key_start = Some(i + 1);
                        self.expect_key = false;
                    }
                    continue;
                }
                InText::Outside => {}
            }
            match b {
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Some(self.undecided());
                    }
                }
                b',' if self.depth == 1 => self.expect_key = true,
                _ => {}
            }
        }
        eof.then(|| if self.started { self.undecided() } else { Shape::Spans })
    }

    fn undecided(&self) -> Shape {
        if self.envelope_keys {
            Shape::Envelope
        } else {
            Shape::Trace
        }
    }
}
