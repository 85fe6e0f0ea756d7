//! JSON inputs as a sequence of documents: one document, JSON lines (one per line, as the
//! collector's file exporter and `jq -c` write), or documents simply written one after another.
//!
//! [`Documents`] hands out a reader per document that stops where the document's closing bracket
//! is, found by a byte scanner that tracks strings and nesting; nothing is read ahead, so a
//! document of any size streams through its decoder and the next document starts where it ended.

use std::io::{self, BufRead, Read};

use super::{Span, SpanSink};
use crate::error::{Error, Result};

/// The documents of one input.
pub(crate) struct Documents<R> {
    inner: R,
    /// Line of the next byte, from 1.
    line: u64,
    /// Byte offset of the next byte.
    offset: u64,
}

impl<R: BufRead> Documents<R> {
    pub(crate) fn new(inner: R) -> Self {
        Documents {
            inner,
            line: 1,
            offset: 0,
        }
    }

    /// Skips whitespace; `false` at the end of the input.
    pub(crate) fn next_start(&mut self) -> io::Result<bool> {
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                return Ok(false);
            }
            let ws = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            self.line += buf[..ws].iter().filter(|&&b| b == b'\n').count() as u64;
            self.offset += ws as u64;
            let more = ws < buf.len();
            self.inner.consume(ws);
            if more {
                return Ok(true);
            }
        }
    }

    /// Line and byte offset where the current document starts (after `next_start`).
    pub(crate) fn position(&self) -> (u64, u64) {
        (self.line, self.offset)
    }

    /// A reader of the document that starts here. It must start with `{` or `[` (detection checked).
    pub(crate) fn document(&mut self) -> Document<'_, R> {
        Document {
            docs: self,
            depth: 0,
            strings: Strings::default(),
            done: false,
        }
    }
}

/// One document's bytes, ending at its closing bracket.
pub(crate) struct Document<'d, R> {
    docs: &'d mut Documents<R>,
    depth: usize,
    strings: Strings,
    done: bool,
}

impl<R: BufRead> Read for Document<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        let buf = self.docs.inner.fill_buf()?;
        let mut n = 0;
        for &b in buf.iter().take(out.len()) {
            n += 1;
            if b == b'\n' {
                self.docs.line += 1;
            }
            if self.strings.step(b) != InText::Outside {
                continue;
            }
            match b {
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    // A stray closer is left for the JSON parser to report.
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.done = true;
                        break;
                    }
                }
                _ => {}
            }
        }
        out[..n].copy_from_slice(&buf[..n]);
        self.docs.inner.consume(n);
        self.docs.offset += n as u64;
        Ok(n)
    }
}

/// Tracks JSON strings byte by byte, so that brackets and quotes inside them are not taken for
/// structure (the document splitter here, the Jaeger shape sniffer).
#[derive(Default)]
pub(crate) struct Strings {
    inside: bool,
    escaped: bool,
}

/// Where a byte stands relative to JSON strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InText {
    /// Structure (or whitespace, or a number or literal).
    Outside,
    /// The quote that opens a string.
    Opening,
    /// A byte inside a string, escapes included.
    Inside,
    /// The quote that closes a string.
    Closing,
}

impl Strings {
    /// Classifies the next byte of the text.
    pub(crate) fn step(&mut self, b: u8) -> InText {
        if !self.inside {
            if b == b'"' {
                self.inside = true;
                return InText::Opening;
            }
            return InText::Outside;
        }
        if self.escaped {
            self.escaped = false;
        } else if b == b'\\' {
            self.escaped = true;
        } else if b == b'"' {
            self.inside = false;
            return InText::Closing;
        }
        InText::Inside
    }
}

/// Places errors of a document after the first: "document N (line L), <where in the document>".
pub(crate) fn place(err: Error, index: usize, line: u64) -> Error {
    match err {
        Error::Decode { input, at, message } if index > 1 => {
            Error::decode(input, format!("document {index} (line {line}), {at}"), message)
        }
        other => other,
    }
}

/// A sink that places the records it is told to reject (see [`place`]).
pub(crate) struct Placed<'s> {
    pub inner: &'s mut dyn SpanSink,
    pub index: usize,
    pub line: u64,
}

impl SpanSink for Placed<'_> {
    fn push(&mut self, span: Span) -> Result<()> {
        self.inner.push(span)
    }
    fn reject(&mut self, err: Error) -> Result<()> {
        self.inner.reject(place(err, self.index, self.line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &str) -> Vec<String> {
        let mut docs = Documents::new(input.as_bytes());
        let mut out = Vec::new();
        while docs.next_start().unwrap() {
            let mut text = String::new();
            docs.document().read_to_string(&mut text).unwrap();
            out.push(text);
        }
        out
    }

    #[test]
    fn splits_lines_and_concatenated_documents() {
        assert_eq!(split(r#"{"a": "}]"}"#), [r#"{"a": "}]"}"#]);
        assert_eq!(
            split("{\"a\": [1, {\"b\": \"\\\"}\"}]}\n\n[2]\n{}{\"c\":\n 3}\n"),
            ["{\"a\": [1, {\"b\": \"\\\"}\"}]}", "[2]", "{}", "{\"c\":\n 3}"]
        );
        assert!(split("  \n ").is_empty());
    }

    #[test]
    fn counts_lines_of_each_start() {
        let mut docs = Documents::new("{}\n\n  {\n}\n[]".as_bytes());
        let mut starts = Vec::new();
        while docs.next_start().unwrap() {
            starts.push(docs.position());
            std::io::copy(&mut docs.document(), &mut std::io::sink()).unwrap();
        }
        assert_eq!(starts, [(1, 0), (3, 6), (5, 10)]);
    }
}
