//! Spans held as bytes, not as objects. A decoded [`Span`] with ten attributes is some thirty heap
//! allocations; a hundred thousand of them waiting for their trace to complete cost about 3.7 KB each
//! in resident memory once the allocator's fragmentation is counted (measured: 320,000 spans held
//! 1.2 GB), four times their estimated size. Packed, a span is one stretch of a byte buffer, so what
//! the buffer holds is what it counts, and memory is returned in large blocks.
//!
//! Two users: the collector's buffer of incomplete traces (one buffer per trace, [`pack`] and
//! [`unpack`]) and the spill files of an ingest larger than its memory (spans of many traces in one
//! file, each preceded by its trace id: [`pack_traced`] and [`Unpacker`]).
//!
//! Resource and scope attributes are shared by many spans: they are kept once per distinct set in
//! [`AttrSets`] and a span stores the set's number.
//!
//! The encoding is private to one process: what is packed is read back only by the same process
//! (spill files are temporary and removed when the ingest ends; the collector's log holds request
//! bodies, not packed spans), so it has no version; a round-trip property test holds [`pack`] and
//! the readers together.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ingest::{Attr, Event, Ref, RefType, Span, SpanKind, StatusCode, Value};

/// Distinct attribute sets (resources, scopes) referenced by packed spans, counted by use.
#[derive(Default)]
pub(crate) struct AttrSets {
    /// Packed form of a set → its number.
    ids: HashMap<Vec<u8>, u32>,
    /// By number: the set, its packed form and how many packed spans refer to it.
    sets: Vec<Option<SetEntry>>,
    free: Vec<u32>,
    bytes: usize,
    /// The last sets interned, by identity: the spans of one request share their resource's and
    /// scope's `Arc`, so most lookups end here without packing the set again.
    recent: [Option<(Arc<Vec<Attr>>, u32)>; 2],
}

struct SetEntry {
    attrs: Arc<Vec<Attr>>,
    key: Vec<u8>,
    uses: u64,
}

/// Number 0 is the empty set, which is never stored.
const EMPTY: u32 = 0;

impl AttrSets {
    /// The number of `attrs`, adding one use.
    fn intern(&mut self, attrs: &Arc<Vec<Attr>>) -> u32 {
        if attrs.is_empty() {
            return EMPTY;
        }
        if let Some(id) = self
            .recent
            .iter()
            .flatten()
            .find(|(a, _)| Arc::ptr_eq(a, attrs))
            .map(|r| r.1)
        {
            self.sets[id as usize - 1].as_mut().expect("listed set").uses += 1;
            return id;
        }
        let mut key = Vec::new();
        put_attrs(&mut key, attrs);
        if let Some(&id) = self.ids.get(&key) {
            self.sets[id as usize - 1].as_mut().expect("listed set").uses += 1;
            self.remember(attrs, id);
            return id;
        }
        // Twice the packed size: once as the map's key, once (about) as the decoded set.
        self.bytes += 2 * key.len() + std::mem::size_of::<SetEntry>();
        let entry = SetEntry {
            attrs: attrs.clone(),
            key: key.clone(),
            uses: 1,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.sets[id as usize - 1] = Some(entry);
                id
            }
            None => {
                self.sets.push(Some(entry));
                self.sets.len() as u32
            }
        };
        self.ids.insert(key, id);
        self.remember(attrs, id);
        id
    }

    fn remember(&mut self, attrs: &Arc<Vec<Attr>>, id: u32) {
        self.recent.swap(0, 1);
        self.recent[0] = Some((attrs.clone(), id));
    }

    /// The set numbered `id`, dropping one use.
    fn take(&mut self, id: u32) -> Arc<Vec<Attr>> {
        if id == EMPTY {
            return Arc::default();
        }
        let slot = &mut self.sets[id as usize - 1];
        let entry = slot.as_mut().expect("a packed span refers to a listed set");
        entry.uses -= 1;
        if entry.uses > 0 {
            return entry.attrs.clone();
        }
        let entry = slot.take().expect("checked above");
        self.ids.remove(&entry.key);
        for r in &mut self.recent {
            if r.as_ref().is_some_and(|(_, i)| *i == id) {
                *r = None;
            }
        }
        self.free.push(id);
        self.bytes -= 2 * entry.key.len() + std::mem::size_of::<SetEntry>();
        entry.attrs
    }

    /// Bytes held for the sets (an estimate from their packed size).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Appends `span` to `out` (its trace id is not stored: a buffer is per trace).
pub(crate) fn pack(out: &mut Vec<u8>, span: &Span, sets: &mut AttrSets) {
    let flags = u8::from(span.parent_span_id.is_some())
        | u8::from(span.start_ns.is_some()) << 1
        | u8::from(span.end_ns.is_some()) << 2
        | u8::from(span.status_message.is_some()) << 3
        | u8::from(span.scope_name.is_some()) << 4
        | u8::from(span.scope_version.is_some()) << 5
        | u8::from(span.trace_state.is_some()) << 6
        | u8::from(span.flags.is_some()) << 7;
    out.push(flags);
    out.push(span.kind.otlp_code() as u8);
    out.push(span.status.otlp_code() as u8);
    out.extend_from_slice(&span.span_id.to_le_bytes());
    if let Some(p) = span.parent_span_id {
        out.extend_from_slice(&p.to_le_bytes());
    }
    for t in [span.start_ns, span.end_ns].into_iter().flatten() {
        out.extend_from_slice(&t.to_le_bytes());
    }
    put_str(out, &span.name);
    put_str(out, &span.service);
    for s in [
        &span.status_message,
        &span.scope_name,
        &span.scope_version,
        &span.trace_state,
    ]
    .into_iter()
    .flatten()
    {
        put_str(out, s);
    }
    if let Some(f) = span.flags {
        put_uint(out, u64::from(f));
    }
    put_uint(out, u64::from(sets.intern(&span.resource)));
    put_uint(out, u64::from(sets.intern(&span.scope_attributes)));
    for n in [
        span.dropped_attributes_count,
        span.dropped_events_count,
        span.dropped_links_count,
    ] {
        put_uint(out, u64::from(n));
    }
    put_attrs(out, &span.attributes);
    put_uint(out, span.events.len() as u64);
    for e in &span.events {
        out.push(u8::from(e.time_ns.is_some()));
        if let Some(t) = e.time_ns {
            out.extend_from_slice(&t.to_le_bytes());
        }
        put_str(out, &e.name);
        put_attrs(out, &e.attributes);
        put_uint(out, u64::from(e.dropped_attributes_count));
    }
    put_uint(out, span.refs.len() as u64);
    for r in &span.refs {
        out.push(match r.ref_type {
            RefType::ChildOf => 0,
            RefType::FollowsFrom => 1,
            RefType::Link => 2,
        });
        out.extend_from_slice(&r.trace_id.to_le_bytes());
        out.extend_from_slice(&r.span_id.to_le_bytes());
        out.push(u8::from(r.trace_state.is_some()));
        if let Some(s) = &r.trace_state {
            put_str(out, s);
        }
        put_attrs(out, &r.attributes);
        put_uint(out, u64::from(r.dropped_attributes_count));
    }
}

/// The `count` spans packed in `bytes`, each given `trace_id`; their set uses are dropped.
pub(crate) fn unpack(bytes: &[u8], count: usize, trace_id: u128, sets: &mut AttrSets) -> Vec<Span> {
    let mut r = Reader { bytes, at: 0 };
    let spans = (0..count).map(|_| r.span(trace_id, sets)).collect();
    debug_assert_eq!(r.at, bytes.len(), "every packed byte is read");
    spans
}

/// Appends `span` preceded by its trace id, for buffers that hold spans of many traces.
pub(crate) fn pack_traced(out: &mut Vec<u8>, span: &Span, sets: &mut AttrSets) {
    out.extend_from_slice(&span.trace_id.to_le_bytes());
    pack(out, span, sets);
}

/// Reads the spans that [`pack_traced`] wrote into `bytes`, one at a time, dropping their set uses.
pub(crate) struct Unpacker<'a> {
    reader: Reader<'a>,
}

impl<'a> Unpacker<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Unpacker<'a> {
        Unpacker {
            reader: Reader { bytes, at: 0 },
        }
    }

    /// The next span, or `None` at the end of the bytes.
    pub(crate) fn next(&mut self, sets: &mut AttrSets) -> Option<Span> {
        if self.reader.at == self.reader.bytes.len() {
            return None;
        }
        let trace_id = u128::from_le_bytes(self.reader.fixed());
        Some(self.reader.span(trace_id, sets))
    }
}

fn put_uint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_attrs(out: &mut Vec<u8>, attrs: &[Attr]) {
    put_uint(out, attrs.len() as u64);
    for a in attrs {
        put_str(out, &a.key);
        put_value(out, &a.value);
    }
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Str(s) => {
            out.push(0);
            put_str(out, s);
        }
        Value::Int(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Double(d) => {
            out.push(2);
            out.extend_from_slice(&d.to_bits().to_le_bytes());
        }
        Value::Bool(b) => out.push(3 + u8::from(*b)),
        Value::Bytes(b) => {
            out.push(5);
            put_bytes(out, b);
        }
        Value::Array(items) => {
            out.push(6);
            put_uint(out, items.len() as u64);
            for i in items {
                put_value(out, i);
            }
        }
        Value::Map(attrs) => {
            out.push(7);
            put_attrs(out, attrs);
        }
        Value::Empty => out.push(8),
    }
}

/// Reads what `pack` wrote. The bytes never come from outside this process, so a short or
/// malformed buffer is a bug in `pack` (or a spill file damaged on disk while the ingest ran), not
/// bad input: it panics with that said.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

const BUG: &str = "packed span buffer is shorter than pack wrote (a bug in ingest/packed.rs)";

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let s = self.bytes.get(self.at..self.at + n).expect(BUG);
        self.at += n;
        s
    }

    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }

    fn fixed<const N: usize>(&mut self) -> [u8; N] {
        self.take(N).try_into().expect(BUG)
    }

    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.fixed())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.fixed())
    }

    fn uint(&mut self) -> u64 {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.u8();
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    fn u32(&mut self) -> u32 {
        self.uint() as u32
    }

    fn bytes(&mut self) -> Vec<u8> {
        let n = self.uint() as usize;
        self.take(n).to_vec()
    }

    fn string(&mut self) -> String {
        String::from_utf8(self.bytes()).expect(BUG)
    }

    fn attrs(&mut self) -> Vec<Attr> {
        let n = self.uint() as usize;
        (0..n)
            .map(|_| {
                let key = self.string();
                Attr {
                    key,
                    value: self.value(),
                }
            })
            .collect()
    }

    fn value(&mut self) -> Value {
        match self.u8() {
            0 => Value::Str(self.string()),
            1 => Value::Int(self.i64()),
            2 => Value::Double(f64::from_bits(self.u64())),
            3 => Value::Bool(false),
            4 => Value::Bool(true),
            5 => Value::Bytes(self.bytes()),
            6 => {
                let n = self.uint() as usize;
                Value::Array((0..n).map(|_| self.value()).collect())
            }
            7 => Value::Map(self.attrs()),
            _ => Value::Empty,
        }
    }

    fn span(&mut self, trace_id: u128, sets: &mut AttrSets) -> Span {
        let flags = self.u8();
        let has = |bit: u8| flags & (1 << bit) != 0;
        let kind = SpanKind::from_otlp_code(i64::from(self.u8())).expect(BUG);
        let status = StatusCode::from_otlp_code(i64::from(self.u8())).expect(BUG);
        let span_id = self.u64();
        let parent_span_id = has(0).then(|| self.u64());
        let start_ns = has(1).then(|| self.i64());
        let end_ns = has(2).then(|| self.i64());
        let name = self.string();
        let service = self.string();
        let status_message = has(3).then(|| self.string());
        let scope_name = has(4).then(|| self.string());
        let scope_version = has(5).then(|| self.string());
        let trace_state = has(6).then(|| self.string());
        let flags = has(7).then(|| self.u32());
        let resource = sets.take(self.u32());
        let scope_attributes = sets.take(self.u32());
        let dropped_attributes_count = self.u32();
        let dropped_events_count = self.u32();
        let dropped_links_count = self.u32();
        let attributes = self.attrs();
        let events = (0..self.uint())
            .map(|_| {
                let time_ns = (self.u8() == 1).then(|| self.i64());
                let name = self.string();
                let attributes = self.attrs();
                Event {
                    time_ns,
                    name,
                    attributes,
                    dropped_attributes_count: self.u32(),
                }
            })
            .collect();
        let refs = (0..self.uint())
            .map(|_| {
                let ref_type = match self.u8() {
                    0 => RefType::ChildOf,
                    1 => RefType::FollowsFrom,
                    _ => RefType::Link,
                };
                let trace_id = u128::from_le_bytes(self.fixed());
                let span_id = self.u64();
                let trace_state = (self.u8() == 1).then(|| self.string());
                let attributes = self.attrs();
                Ref {
                    ref_type,
                    trace_id,
                    span_id,
                    trace_state,
                    attributes,
                    dropped_attributes_count: self.u32(),
                }
            })
            .collect();
        Span {
            trace_id,
            span_id,
            parent_span_id,
            name,
            service,
            kind,
            start_ns,
            end_ns,
            status,
            status_message,
            scope_name,
            scope_version,
            trace_state,
            flags,
            attributes,
            resource,
            scope_attributes,
            events,
            refs,
            dropped_attributes_count,
            dropped_events_count,
            dropped_links_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            ".{0,12}".prop_map(Value::Str),
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_map(Value::Double),
            any::<bool>().prop_map(Value::Bool),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::Bytes),
            Just(Value::Empty),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec((".{0,6}", inner), 0..3)
                    .prop_map(|kv| Value::Map(kv.into_iter().map(|(k, v)| Attr::new(k, v)).collect())),
            ]
        })
    }

    fn attrs() -> impl Strategy<Value = Vec<Attr>> {
        proptest::collection::vec(("[a-z.]{0,8}", value()), 0..4)
            .prop_map(|kv| kv.into_iter().map(|(k, v)| Attr::new(k, v)).collect())
    }

    fn opt_str() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(".{0,10}")
    }

    fn span() -> impl Strategy<Value = Span> {
        (
            (any::<u64>(), proptest::option::of(any::<u64>()), 0i64..6, 0i64..3),
            (proptest::option::of(any::<i64>()), proptest::option::of(any::<i64>())),
            (".{0,10}", ".{0,10}", opt_str(), opt_str(), opt_str(), opt_str()),
            (proptest::option::of(any::<u32>()), attrs(), attrs(), attrs()),
            (
                proptest::collection::vec(
                    (proptest::option::of(any::<i64>()), ".{0,6}", attrs(), any::<u32>()),
                    0..3,
                ),
                proptest::collection::vec(
                    (0u8..3, any::<u128>(), any::<u64>(), opt_str(), attrs(), any::<u32>()),
                    0..3,
                ),
                any::<(u32, u32, u32)>(),
            ),
        )
            .prop_map(|(ids, times, texts, more, lists)| {
                let (span_id, parent_span_id, kind, status) = ids;
                let (name, service, status_message, scope_name, scope_version, trace_state) = texts;
                let (flags, attributes, resource, scope_attributes) = more;
                let (events, refs, dropped) = lists;
                Span {
                    trace_id: 7,
                    span_id,
                    parent_span_id,
                    name,
                    service,
                    kind: SpanKind::from_otlp_code(kind).unwrap(),
                    start_ns: times.0,
                    end_ns: times.1,
                    status: StatusCode::from_otlp_code(status).unwrap(),
                    status_message,
                    scope_name,
                    scope_version,
                    trace_state,
                    flags,
                    attributes,
                    resource: Arc::new(resource),
                    scope_attributes: Arc::new(scope_attributes),
                    events: events
                        .into_iter()
                        .map(|(time_ns, name, attributes, dropped_attributes_count)| Event {
                            time_ns,
                            name,
                            attributes,
                            dropped_attributes_count,
                        })
                        .collect(),
                    refs: refs
                        .into_iter()
                        .map(|(t, trace_id, span_id, trace_state, attributes, d)| Ref {
                            ref_type: [RefType::ChildOf, RefType::FollowsFrom, RefType::Link][t as usize],
                            trace_id,
                            span_id,
                            trace_state,
                            attributes,
                            dropped_attributes_count: d,
                        })
                        .collect(),
                    dropped_attributes_count: dropped.0,
                    dropped_events_count: dropped.1,
                    dropped_links_count: dropped.2,
                }
            })
    }

    proptest! {
        /// Whatever is packed comes back as it was (compared through Debug, which also tells NaN
        /// payloads and -0.0 apart by their printed form), and the shared sets are released.
        #[test]
        fn unpack_returns_what_pack_took(spans in proptest::collection::vec(span(), 0..6)) {
            let mut sets = AttrSets::default();
            let mut bytes = Vec::new();
            for s in &spans {
                pack(&mut bytes, s, &mut sets);
            }
            let back = unpack(&bytes, spans.len(), 7, &mut sets);
            prop_assert_eq!(format!("{spans:?}"), format!("{back:?}"));
            prop_assert_eq!(sets.bytes(), 0);
            prop_assert!(sets.ids.is_empty());
        }

        /// Spans of several traces packed with their trace ids come back in order, ids included.
        #[test]
        fn traced_spans_come_back_with_their_trace(
            spans in proptest::collection::vec((any::<u128>(), span()), 0..6)
        ) {
            let spans: Vec<Span> = spans.into_iter().map(|(t, s)| Span { trace_id: t, ..s }).collect();
            let mut sets = AttrSets::default();
            let mut bytes = Vec::new();
            for s in &spans {
                pack_traced(&mut bytes, s, &mut sets);
            }
            let mut reader = Unpacker::new(&bytes);
            let back: Vec<Span> = std::iter::from_fn(|| reader.next(&mut sets)).collect();
            prop_assert_eq!(format!("{spans:?}"), format!("{back:?}"));
            prop_assert_eq!(sets.bytes(), 0);
        }
    }

    #[test]
    fn a_resource_shared_by_many_spans_is_kept_once() {
        let resource = Arc::new(vec![Attr::new("service.name", Value::Str("bank".into()))]);
        let mut sets = AttrSets::default();
        let mut bytes = Vec::new();
        for i in 0..100 {
            // A new Arc each time, as separate requests make: equal content is still one set.
            let span = Span {
                span_id: i,
                resource: Arc::new((*resource).clone()),
                ..Default::default()
            };
            pack(&mut bytes, &span, &mut sets);
        }
        assert_eq!(sets.ids.len(), 1);
        let one = sets.bytes();
        let back = unpack(&bytes, 100, 1, &mut sets);
        assert!(back.iter().all(|s| *s.resource == *resource));
        assert!(one > 0 && sets.bytes() == 0);
    }
}
