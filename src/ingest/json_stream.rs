//! Streaming over large JSON inputs: the elements of a top-level array, or of one array-valued field
//! of a top-level object, are handed over one at a time as raw JSON text, so a decoder parses and
//! drops one record before the next is read.
//!
//! Each element is first scanned as a [`RawValue`] and only then deserialized into its typed form:
//! a record with wrong types can then be rejected (and skipped with `--keep-going`) without losing
//! the parser's place in the stream.

use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Result};

/// Called for each element with its index and raw text.
pub(crate) type ElementFn<'a> = dyn FnMut(usize, &RawValue) -> Result<()> + 'a;

/// Where the array is.
#[derive(Clone, Copy)]
pub(crate) enum ArrayAt<'a> {
    /// The input is `[ ... ]`.
    Root,
    /// The input is `{ ..., "field": [ ... ], ... }`; other fields are skipped.
    Field(&'a str),
    /// As `Field`, accepting any of the names in `fields`, the array also being found one level
    /// down, inside an object-valued field named in `wrappers` (`{"trace": {"batches": [...]}}`);
    /// a wrapper without the array holds nothing.
    Within {
        wrappers: &'a [&'a str],
        fields: &'a [&'a str],
    },
}

/// Streams the elements of the array at `at`, returning how many there were. A syntax error anywhere
/// is a decode error with the line and column that serde_json reports.
pub(crate) fn for_each_element<R: Read>(
    input: &str,
    reader: R,
    at: ArrayAt<'_>,
    f: &mut ElementFn<'_>,
) -> Result<usize> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut state = State {
        f,
        count: 0,
        failed: None,
    };
    let res = match at {
        ArrayAt::Root => de::Deserializer::deserialize_seq(&mut de, SeqVisitor { state: &mut state }),
        ArrayAt::Field(field) => de::Deserializer::deserialize_map(&mut de, FieldVisitor::new(&[field], &mut state)),
        ArrayAt::Within { wrappers, fields } => de::Deserializer::deserialize_map(
            &mut de,
            FieldVisitor {
                wrappers,
                ..FieldVisitor::new(fields, &mut state)
            },
        ),
    };
    if let Some(err) = state.failed.take() {
        return Err(err);
    }
    res.and_then(|()| de.end()).map_err(|e| json_error(input, &e))?;
    Ok(state.count)
}

/// A serde_json error as a decode error at its line and column.
pub(crate) fn json_error(input: &str, e: &serde_json::Error) -> Error {
    let msg = e.to_string();
    // serde_json appends " at line L column C"; keep the message, move the position to `at`.
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    if e.line() == 0 {
        Error::decode(input, "end of input", msg)
    } else {
        Error::decode(input, format!("line {}, column {}", e.line(), e.column()), msg)
    }
}

/// A typed parse error inside one element, placed by the element's JSON path.
pub(crate) fn element_error(input: &str, path: &str, e: &serde_json::Error) -> Error {
    Error::decode(input, path.to_string(), message_of(e))
}

/// serde_json's message without its " at line L column C" (positions inside an element's own text
/// mean nothing to the reader; the caller places the error by JSON path).
pub(crate) fn message_of(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

struct State<'f, 'g> {
    f: &'f mut ElementFn<'g>,
    count: usize,
    failed: Option<Error>,
}

struct SeqVisitor<'s, 'f, 'g> {
    state: &'s mut State<'f, 'g>,
}

impl<'de> Visitor<'de> for SeqVisitor<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            let i = self.state.count;
            self.state.count += 1;
            if let Err(e) = (self.state.f)(i, &raw) {
                self.state.failed = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for SeqVisitor<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

struct FieldVisitor<'a, 's, 'f, 'g> {
    fields: &'a [&'a str],
    /// Object-valued fields to look inside for `fields`.
    wrappers: &'a [&'a str],
    state: &'s mut State<'f, 'g>,
    found: bool,
    /// Inside a wrapper the array may be missing (no spans); at the top it must be there.
    required: bool,
}

impl<'a, 's, 'f, 'g> FieldVisitor<'a, 's, 'f, 'g> {
    fn new(fields: &'a [&'a str], state: &'s mut State<'f, 'g>) -> Self {
        FieldVisitor {
            fields,
            wrappers: &[],
            state,
            found: false,
            required: true,
        }
    }
}

impl<'de> DeserializeSeed<'de> for FieldVisitor<'_, '_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldVisitor<'_, '_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a JSON object with a \"{}\" array", self.fields[0])
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if self.fields.contains(&key.as_ref()) && !self.found {
                self.found = true;
                map.next_value_seed(OptionalSeq {
                    inner: SeqVisitor { state: self.state },
                })?;
            } else if self.wrappers.contains(&key.as_ref()) && !self.found {
                self.found = true;
                map.next_value_seed(FieldVisitor {
                    required: false,
                    ..FieldVisitor::new(self.fields, self.state)
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !self.found && self.required {
            return Err(de::Error::custom(format_args!("missing field \"{}\"", self.fields[0])));
        }
        Ok(())
    }
}

/// `null` counts as an empty array (Jaeger writes `"data": null` for no traces).
struct OptionalSeq<'s, 'f, 'g> {
    inner: SeqVisitor<'s, 'f, 'g>,
}

impl<'de> DeserializeSeed<'de> for OptionalSeq<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalSeq<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array or null")
    }
    fn visit_none<E: de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        self.inner.deserialize(d)
    }
}

/// Deserializes a typed element from its raw text.
pub(crate) fn parse_element<T: serde::de::DeserializeOwned>(
    raw: &RawValue,
) -> std::result::Result<T, serde_json::Error> {
    serde_json::from_str(raw.get())
}
