//! Typed access to the columns of a [`Part`](crate::store::Part)'s tables, and the grouping of child
//! rows (tags, refs, logs) by their span.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, Float64Array, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::arrow::record_batch::RecordBatch;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue, KeyValueList};

use crate::error::{Error, Result};
use crate::ingest::parse_hex_id;

fn column(b: &RecordBatch, table: &str, name: &str, ty: &DataType) -> Result<Arc<dyn Array>> {
    let col = b
        .column_by_name(name)
        .ok_or_else(|| Error::Bug(format!("export: table {table} has no column {name}")))?;
    // Tables read back through DataFusion may hold other string or integer encodings: normalise.
    if col.data_type() == ty {
        Ok(col.clone())
    } else {
        Ok(cast(col, ty)?)
    }
}

fn strs(b: &RecordBatch, table: &str, name: &str) -> Result<StringArray> {
    Ok(column(b, table, name, &DataType::Utf8)?.as_string::<i32>().clone())
}

fn ints(b: &RecordBatch, table: &str, name: &str) -> Result<Int64Array> {
    Ok(column(b, table, name, &DataType::Int64)?
        .as_primitive::<Int64Type>()
        .clone())
}

pub(super) fn opt_str(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

pub(super) fn opt_int(a: &Int64Array, i: usize) -> Option<i64> {
    a.is_valid(i).then(|| a.value(i))
}

pub(super) fn count(a: &Int64Array, i: usize) -> u32 {
    opt_int(a, i).and_then(|v| u32::try_from(v).ok()).unwrap_or(0)
}

pub(super) fn nanos(a: &Int64Array, i: usize) -> u64 {
    opt_int(a, i).and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

/// Hex id → big-endian bytes of `len` bytes; empty for none.
pub(super) fn id_bytes(hex: Option<&str>, len: usize) -> Result<Vec<u8>> {
    let Some(hex) = hex.filter(|h| !h.is_empty()) else {
        return Ok(Vec::new());
    };
    let v = parse_hex_id(hex, len * 2)
        .ok_or_else(|| Error::Bug(format!("export: {hex:?} is not a {}-digit hex id", len * 2)))?;
    Ok(v.to_be_bytes()[16 - len..].to_vec())
}

pub(super) struct SpanCols {
    pub(super) trace_id: StringArray,
    pub(super) span_id: StringArray,
    pub(super) parent: StringArray,
    pub(super) name: StringArray,
    pub(super) service: StringArray,
    pub(super) kind: StringArray,
    pub(super) start: Int64Array,
    pub(super) end: Int64Array,
    pub(super) status: StringArray,
    pub(super) status_message: StringArray,
    pub(super) scope_name: StringArray,
    pub(super) scope_version: StringArray,
    pub(super) trace_state: StringArray,
    pub(super) flags: Int64Array,
    pub(super) dropped_attributes: Int64Array,
    pub(super) dropped_events: Int64Array,
    pub(super) dropped_links: Int64Array,
}

impl SpanCols {
    pub(super) fn new(b: &RecordBatch) -> Result<SpanCols> {
        let t = "spans";
        Ok(SpanCols {
            trace_id: strs(b, t, "trace_id")?,
            span_id: strs(b, t, "span_id")?,
            parent: strs(b, t, "parent_span_id")?,
            name: strs(b, t, "name")?,
            service: strs(b, t, "service")?,
            kind: strs(b, t, "kind")?,
            start: ints(b, t, "start_time")?,
            end: ints(b, t, "end_time")?,
            status: strs(b, t, "status")?,
            status_message: strs(b, t, "status_message")?,
            scope_name: strs(b, t, "scope_name")?,
            scope_version: strs(b, t, "scope_version")?,
            trace_state: strs(b, t, "trace_state")?,
            flags: ints(b, t, "flags")?,
            dropped_attributes: ints(b, t, "dropped_attributes_count")?,
            dropped_events: ints(b, t, "dropped_events_count")?,
            dropped_links: ints(b, t, "dropped_links_count")?,
        })
    }
}

pub(super) struct TagCols {
    pub(super) scope: StringArray,
    pub(super) position: Int64Array,
    pub(super) key: StringArray,
    pub(super) ty: StringArray,
    pub(super) str_value: StringArray,
    pub(super) int_value: Int64Array,
    pub(super) double_value: Float64Array,
    pub(super) bool_value: BooleanArray,
    pub(super) value: StringArray,
}

impl TagCols {
    pub(super) fn new(b: &RecordBatch) -> Result<TagCols> {
        let t = "tags";
        Ok(TagCols {
            scope: strs(b, t, "scope")?,
            position: ints(b, t, "position")?,
            key: strs(b, t, "key")?,
            ty: strs(b, t, "type")?,
            str_value: strs(b, t, "str_value")?,
            int_value: ints(b, t, "int_value")?,
            double_value: column(b, t, "double_value", &DataType::Float64)?
                .as_primitive::<Float64Type>()
                .clone(),
            bool_value: column(b, t, "bool_value", &DataType::Boolean)?.as_boolean().clone(),
            value: strs(b, t, "value")?,
        })
    }

    pub(super) fn key_value(&self, r: usize) -> KeyValue {
        KeyValue {
            key: self.key.value(r).to_string(),
            value: Some(self.any_value(r)),
            ..Default::default()
        }
    }

    /// The typed value of tag row `r`: the typed column, or the `value` text for bytes, arrays, maps.
    fn any_value(&self, r: usize) -> AnyValue {
        use any_value::Value as V;
        let text = || self.value.value(r).to_string();
        let value = match self.ty.value(r) {
            "string" => V::StringValue(opt_str(&self.str_value, r).map(str::to_string).unwrap_or_else(text)),
            "int" => match opt_int(&self.int_value, r).or_else(|| self.value.value(r).parse().ok()) {
                Some(i) => V::IntValue(i),
                None => V::StringValue(text()),
            },
            "double" => match (self.double_value.is_valid(r).then(|| self.double_value.value(r)))
                .or_else(|| self.value.value(r).parse().ok())
            {
                Some(d) => V::DoubleValue(d),
                None => V::StringValue(text()),
            },
            "bool" => match (self.bool_value.is_valid(r).then(|| self.bool_value.value(r)))
                .or_else(|| self.value.value(r).parse().ok())
            {
                Some(b) => V::BoolValue(b),
                None => V::StringValue(text()),
            },
            "bytes" => match base64::engine::general_purpose::STANDARD.decode(self.value.value(r)) {
                Ok(b) => V::BytesValue(b),
                Err(_) => V::StringValue(text()),
            },
            "array" | "map" => match serde_json::from_str::<serde_json::Value>(self.value.value(r)) {
                Ok(j) => return json_to_any(j),
                Err(_) => V::StringValue(text()),
            },
            "empty" => return AnyValue { value: None },
            _ => V::StringValue(text()),
        };
        AnyValue { value: Some(value) }
    }
}

/// An `AnyValue` from the JSON rendering of an array or map (`ingest::render_value`).
fn json_to_any(j: serde_json::Value) -> AnyValue {
    use any_value::Value as V;
    use serde_json::Value as J;
    let value = match j {
        J::Null => None,
        J::Bool(b) => Some(V::BoolValue(b)),
        J::Number(n) => Some(match n.as_i64() {
            Some(i) => V::IntValue(i),
            None => V::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        }),
        J::String(s) => Some(V::StringValue(s)),
        J::Array(items) => Some(V::ArrayValue(ArrayValue {
            values: items.into_iter().map(json_to_any).collect(),
        })),
        J::Object(map) => Some(V::KvlistValue(KeyValueList {
            values: map
                .into_iter()
                .map(|(key, v)| KeyValue {
                    key,
                    value: Some(json_to_any(v)),
                    ..Default::default()
                })
                .collect(),
        })),
    };
    AnyValue { value }
}

pub(super) struct RefCols {
    pub(super) position: Int64Array,
    pub(super) ref_type: StringArray,
    pub(super) ref_trace_id: StringArray,
    pub(super) ref_span_id: StringArray,
    pub(super) trace_state: StringArray,
}

impl RefCols {
    pub(super) fn new(b: &RecordBatch) -> Result<RefCols> {
        let t = "refs";
        Ok(RefCols {
            position: ints(b, t, "position")?,
            ref_type: strs(b, t, "ref_type")?,
            ref_trace_id: strs(b, t, "ref_trace_id")?,
            ref_span_id: strs(b, t, "ref_span_id")?,
            trace_state: strs(b, t, "trace_state")?,
        })
    }
}

pub(super) struct LogCols {
    pub(super) position: Int64Array,
    pub(super) time: Int64Array,
    pub(super) name: StringArray,
}

impl LogCols {
    pub(super) fn new(b: &RecordBatch) -> Result<LogCols> {
        Ok(LogCols {
            position: ints(b, "logs", "position")?,
            time: ints(b, "logs", "time")?,
            name: strs(b, "logs", "name")?,
        })
    }
}

/// Rows of a child table grouped by owning span (index into the spans batch), in table order.
pub(super) struct Groups {
    pub(super) offsets: Vec<usize>,
    pub(super) rows: Vec<u32>,
}

impl Groups {
    /// Counting sort of the rows by owner; rows whose span is not in the part are left out.
    pub(super) fn new(
        b: &RecordBatch,
        table: &str,
        index: &HashMap<(&str, &str), u32>,
        n_spans: usize,
    ) -> Result<Groups> {
        let (tid, sid) = (strs(b, table, "trace_id")?, strs(b, table, "span_id")?);
        let owners: Vec<u32> = (0..b.num_rows())
            .map(|r| index.get(&(tid.value(r), sid.value(r))).copied().unwrap_or(u32::MAX))
            .collect();
        let mut offsets = vec![0usize; n_spans + 1];
        for &o in owners.iter().filter(|&&o| o != u32::MAX) {
            offsets[o as usize + 1] += 1;
        }
        for i in 0..n_spans {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut rows = vec![0u32; offsets[n_spans]];
        for (r, &o) in owners.iter().enumerate() {
            if o != u32::MAX {
                rows[next[o as usize]] = r as u32;
                next[o as usize] += 1;
            }
        }
        Ok(Groups { offsets, rows })
    }

    pub(super) fn of(&self, span: usize) -> &[u32] {
        &self.rows[self.offsets[span]..self.offsets[span + 1]]
    }
}
