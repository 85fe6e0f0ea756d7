//! The JSON report written as it is serialised, with the keys in the order `serde_json::Value`
//! gives them (sorted), so the bytes are those of [`super::json`] printed pretty.
//!
//! Why not print [`super::json`]: the tree holds every violation as a map of small strings (about a
//! kilobyte each) and its text is then built in memory once more; 100M bank spans have 1.3M
//! violations. Here only one violation at a time is a tree.

use std::io::Write;

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use crate::check::{FileReport, ModelReport, Report};

/// Writes `report` as pretty JSON followed by a newline: the same bytes as
/// `format!("{:#}\n", tracecheck::report::json(report))`, without the whole tree in memory.
///
/// ```
/// let report = tracecheck::check::Report::default();
/// let mut out = Vec::new();
/// tracecheck::report::write_json(&report, &mut out).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(), format!("{:#}\n", tracecheck::report::json(&report)));
/// ```
pub fn write_json(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::pretty(&mut *out);
    Sorted(report).serialize(&mut ser).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// A report part serialised with its keys in sorted order (the order of `serde_json::Map`).
struct Sorted<'a, T>(&'a T);

impl Serialize for Sorted<'_, Report> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("files", &Seq(&r.files))?;
        map.serialize_entry("strict", &r.strict)?;
        map.end()
    }
}

impl Serialize for Sorted<'_, FileReport> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut map = s.serialize_map(Some(3))?;
        // Checks are small: their own tree is fine.
        map.serialize_entry("checks", &to_value(&f.checks)?)?;
        map.serialize_entry("models", &Seq(&f.models))?;
        map.serialize_entry("path", &f.path)?;
        map.end()
    }
}

impl Serialize for Sorted<'_, ModelReport> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut map = s.serialize_map(Some(6))?;
        map.serialize_entry("assignments", &m.assignments)?;
        map.serialize_entry("clauses", &m.clauses)?;
        map.serialize_entry("title", &m.title)?;
        map.serialize_entry("traces", &m.traces)?;
        map.serialize_entry("violations", &Violations(&m.violations))?;
        map.serialize_entry("warnings", &m.warnings)?;
        map.end()
    }
}

/// A list whose items are serialised sorted.
struct Seq<'a, T>(&'a [T]);

impl<'a, T> Serialize for Seq<'a, T>
where
    for<'b> Sorted<'b, T>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&Sorted(item))?;
        }
        seq.end()
    }
}

/// Violations, one small tree at a time.
struct Violations<'a>(&'a [crate::check::Violation]);

impl Serialize for Violations<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(&to_value(v)?)?;
        }
        seq.end()
    }
}

fn to_value<T: Serialize, E: serde::ser::Error>(value: &T) -> Result<serde_json::Value, E> {
    serde_json::to_value(value).map_err(E::custom)
}
