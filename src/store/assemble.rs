//! Assembly: `RawTables` (input order) → final tables (sorted by trace, structure computed), cut into
//! parts that each hold whole traces.
//!
//! Per trace, in this order:
//! 1. **Duplicate span ids.** A span identical to an earlier one with the same id (same parent, name,
//!    kind, start and end) is an export retry: it is dropped. A Zipkin client/server pair sharing one
//!    id (the server half marked `shared`, or simply one client and one server) is split as Jaeger's
//!    query service does: the server half gets a fresh id, its parent becomes the client half, and
//!    the spans below it (same id as parent, same service as the server half) are re-parented to it.
//!    Any other repeated id gets a fresh id too. Fresh ids count up from the original id until unused
//!    in the trace, so they are deterministic.
//! 2. **Structure.** Parents are looked up within the trace; a span whose parent is absent or itself
//!    is a root, and so is the first (in start-time order) of the spans on a parent cycle. A depth-first walk, children in start-time order, numbers
//!    each span's entry and exit (`nested_left`, `nested_right`, from 1 per trace) and its `depth`
//!    (children of equal start time in span-id order):
//!    B is a descendant of A exactly when A.nested_left < B.nested_left and B.nested_right < A.nested_right.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int32Array, StringArray, StringBuilder};
use datafusion::arrow::compute::interleave;
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};
use crate::ingest::{span_id_hex, RawTables, SpanKind};
use crate::schema;

/// Whole traces of the four tables, sorted by trace id: the unit written as one file per table.
#[derive(Debug, Clone)]
pub struct Part {
    /// `spans` rows.
    pub spans: RecordBatch,
    /// `tags` rows.
    pub tags: RecordBatch,
    /// `refs` rows.
    pub refs: RecordBatch,
    /// `logs` rows.
    pub logs: RecordBatch,
}

impl Part {
    /// The part's batch for a table name (`spans`, `tags`, `refs`, `logs`).
    ///
    /// ```no_run
    /// # fn f(p: &tracecheck::store::Part) { let b = p.table("spans"); }
    /// ```
    pub fn table(&self, name: &str) -> &RecordBatch {
        match name {
            "spans" => &self.spans,
            "tags" => &self.tags,
            "refs" => &self.refs,
            _ => &self.logs,
        }
    }
}

/// What assembly did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssembleStats {
    /// Spans kept.
    pub spans: usize,
    /// Distinct traces.
    pub traces: usize,
    /// Distinct services.
    pub services: usize,
    /// Exact duplicates dropped.
    pub duplicates_dropped: usize,
    /// Spans given a fresh id because their id repeated within the trace.
    pub ids_renamed: usize,
}

/// Sorts, de-duplicates and structures `raw` and cuts it into parts of about `max_spans` spans
/// (a larger trace gets a part of its own).
///
/// ```
/// use tracecheck::ingest::{RawTables, Span, SpanSink};
/// let mut raw = RawTables::new(false);
/// raw.push(Span { trace_id: 1, span_id: 1, name: "root".into(), ..Default::default() }).unwrap();
/// raw.push(Span { trace_id: 1, span_id: 2, parent_span_id: Some(1), name: "child".into(), ..Default::default() }).unwrap();
/// let (parts, stats) = tracecheck::store::assemble(raw, 1000).unwrap();
/// assert_eq!((parts.len(), stats.spans, stats.traces), (1, 2, 1));
/// ```
pub fn assemble(mut raw: RawTables, max_spans: usize) -> Result<(Vec<Part>, AssembleStats)> {
    raw.flush()?;
    let n = raw.span_ids.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    // Spans of one start time are ordered by span id, not by input order: the same spans give the
    // same structure columns however they arrive (compaction re-reads parts clustered by name).
    order.sort_unstable_by_key(|&i| {
        let i = i as usize;
        (raw.trace_ids[i], raw.starts[i].unwrap_or(i64::MIN), raw.span_ids[i], i)
    });

    let mut st = Structure {
        ids: raw.span_ids.clone(),
        parents: raw.parents.clone(),
        dropped: vec![false; n],
        depth: vec![0; n],
        left: vec![0; n],
        right: vec![0; n],
    };
    let mut stats = AssembleStats::default();
    let mut traces: Vec<(usize, usize)> = Vec::new(); // ranges in `order`
    let mut start = 0;
    while start < n {
        let t = raw.trace_ids[order[start] as usize];
        let mut end = start + 1;
        while end < n && raw.trace_ids[order[end] as usize] == t {
            end += 1;
        }
        dedupe_trace(&raw, &order[start..end], &mut st, &mut stats);
        structure_trace(&order[start..end], &mut st);
        traces.push((start, end));
        start = end;
    }
    let kept: Vec<u32> = order.iter().copied().filter(|&i| !st.dropped[i as usize]).collect();
    let mut rank = vec![u32::MAX; n];
    for (r, &i) in kept.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    stats.spans = kept.len();
    stats.traces = traces.len();
    stats.services = raw.services.iter().collect::<HashSet<_>>().len();

    // Cut into parts at trace boundaries, by rank.
    let mut bounds: Vec<(usize, usize)> = Vec::new();
    let (mut part_start, mut part_len) = (0usize, 0usize);
    for &(s, e) in &traces {
        let dropped_here = order[s..e].iter().filter(|&&i| st.dropped[i as usize]).count();
        let len = e - s - dropped_here;
        if part_len > 0 && part_len + len > max_spans {
            bounds.push((part_start, part_start + part_len));
            part_start += part_len;
            part_len = 0;
        }
        part_len += len;
    }
    if part_len > 0 {
        bounds.push((part_start, part_start + part_len));
    }

    let tags = Children::sorted(&raw.tag_owner, &rank, &raw.tag_chunks);
    let refs = Children::sorted(&raw.ref_owner, &rank, &raw.ref_chunks);
    let logs = Children::sorted(&raw.log_owner, &rank, &raw.log_chunks);
    let mut parts = Vec::with_capacity(bounds.len());
    for (a, b) in bounds {
        parts.push(Part {
            spans: spans_batch(&raw, &st, &kept[a..b])?,
            tags: tags.batch(&raw, &st, &rank, (a, b), schema::tags_schema())?,
            refs: refs_batch(&raw, &st, &rank, &refs, (a, b))?,
            logs: logs.batch(&raw, &st, &rank, (a, b), schema::logs_schema())?,
        });
    }
    Ok((parts, stats))
}

struct Structure {
    ids: Vec<u64>,
    parents: Vec<Option<u64>>,
    dropped: Vec<bool>,
    depth: Vec<i32>,
    left: Vec<i32>,
    right: Vec<i32>,
}

fn span_str(raw: &RawTables, col: usize, i: usize) -> &str {
    let c = RawTables::span_chunk_size();
    let arr = raw.span_chunks[i / c][col]
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("string column");
    arr.value(i % c)
}

fn span_i64(raw: &RawTables, col: usize, i: usize) -> Option<i64> {
    let c = RawTables::span_chunk_size();
    let arr = &raw.span_chunks[i / c][col];
    let arr = arr.as_any().downcast_ref::<datafusion::arrow::array::PrimitiveArray<datafusion::arrow::datatypes::TimestampNanosecondType>>()?;
    arr.is_valid(i % c).then(|| arr.value(i % c))
}

/// What makes two spans with one id exact duplicates: parent, kind, start, end, name.
type SameSpan<'a> = (Option<u64>, SpanKind, Option<i64>, Option<i64>, &'a str);

fn dedupe_trace(raw: &RawTables, members: &[u32], st: &mut Structure, stats: &mut AssembleStats) {
    if members.len() < 2 {
        return;
    }
    let mut by_id: HashMap<u64, Vec<usize>> = HashMap::with_capacity(members.len());
    for &m in members {
        by_id.entry(raw.span_ids[m as usize]).or_default().push(m as usize);
    }
    if by_id.len() == members.len() {
        return;
    }
    let mut used: HashSet<u64> = by_id.keys().copied().collect();
    let mut dup_ids: Vec<u64> = by_id.iter().filter(|(_, v)| v.len() > 1).map(|(k, _)| *k).collect();
    dup_ids.sort_unstable();
    for id in dup_ids {
        let group = &by_id[&id];
        // Exact duplicates of an earlier member: dropped. Hashed, not compared pairwise: N spans
        // sharing one id (a broken tracer) used to take N² comparisons.
        let mut seen: HashSet<SameSpan> = HashSet::new();
        let mut distinct: Vec<usize> = Vec::new();
        for &m in group {
            let key = (
                raw.parents[m],
                raw.kinds[m],
                raw.starts[m],
                span_i64(raw, 4, m),
                span_str(raw, 0, m),
            );
            if seen.insert(key) {
                distinct.push(m);
            } else {
                st.dropped[m] = true;
                stats.duplicates_dropped += 1;
            }
        }
        if distinct.len() < 2 {
            continue;
        }
        // New ids are searched upwards from `id`, continuing where the previous search stopped.
        let mut cursor = id;
        let client = distinct.iter().copied().find(|&m| raw.kinds[m] == SpanKind::Client);
        let server = distinct.iter().copied().find(|&m| raw.kinds[m] == SpanKind::Server);
        let mut keep = distinct[0];
        if let (Some(c), Some(s)) = (client, server) {
            keep = c;
            let fresh = fresh_id(&mut cursor, &mut used);
            st.ids[s] = fresh;
            st.parents[s] = Some(id);
            stats.ids_renamed += 1;
            // Spans below the shared id that run in the server's service belong to the server half.
            let service = &raw.services[s];
            let distinct_set: HashSet<usize> = distinct.iter().copied().collect();
            for &m in members {
                let m = m as usize;
                if m != s
                    && m != c
                    && raw.parents[m] == Some(id)
                    && &raw.services[m] == service
                    && !distinct_set.contains(&m)
                {
                    st.parents[m] = Some(fresh);
                }
            }
        }
        for &m in &distinct {
            if m != keep && st.ids[m] == id {
                st.ids[m] = fresh_id(&mut cursor, &mut used);
                stats.ids_renamed += 1;
            }
        }
    }
}

/// The next id above `cursor` that no span of the trace uses (and not 0); moves `cursor` there.
fn fresh_id(cursor: &mut u64, used: &mut HashSet<u64>) -> u64 {
    loop {
        *cursor = cursor.wrapping_add(1);
        if *cursor != 0 && used.insert(*cursor) {
            return *cursor;
        }
    }
}

fn structure_trace(members: &[u32], st: &mut Structure) {
    let live: Vec<usize> = members
        .iter()
        .map(|&m| m as usize)
        .filter(|&m| !st.dropped[m])
        .collect();
    let mut index: HashMap<u64, usize> = HashMap::with_capacity(live.len());
    for &m in &live {
        index.entry(st.ids[m]).or_insert(m);
    }
    // Children in `live` order, which is start-time order.
    let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for &m in &live {
        match st.parents[m].and_then(|p| index.get(&p).copied()).filter(|&p| p != m) {
            Some(p) => children.entry(p).or_default().push(m),
            None => roots.push(m),
        }
    }
    let mut visited: HashSet<usize> = HashSet::with_capacity(live.len());
    let mut counter = 0i32;
    let mut walk = |root: usize, visited: &mut HashSet<usize>, st: &mut Structure| {
        // Iterative DFS: (node, depth, next child index).
        let mut stack: Vec<(usize, i32, usize)> = Vec::new();
        visited.insert(root);
        counter += 1;
        st.left[root] = counter;
        st.depth[root] = 0;
        stack.push((root, 0, 0));
        while let Some(top) = stack.last_mut() {
            let (node, depth, next) = *top;
            let kids = children.get(&node).map(|v| v.as_slice()).unwrap_or(&[]);
            if next < kids.len() {
                top.2 += 1;
                let child = kids[next];
                if visited.insert(child) {
                    counter += 1;
                    st.left[child] = counter;
                    st.depth[child] = depth + 1;
                    stack.push((child, depth + 1, 0));
                }
            } else {
                counter += 1;
                st.right[node] = counter;
                stack.pop();
            }
        }
    };
    for r in roots {
        walk(r, &mut visited, st);
    }
    // Spans not reached from any root are on a parent cycle or below one. The cycle is found by
    // following parents up from the first such span; its first member in start-time order becomes
    // a root, so the spans below the cycle hang under it at their true depth.
    if visited.len() == live.len() {
        return;
    }
    let parent_of = |x: usize, st: &Structure| st.parents[x].and_then(|p| index.get(&p).copied()).filter(|&p| p != x);
    let order: HashMap<usize, usize> = live.iter().enumerate().map(|(i, &m)| (m, i)).collect();
    for &m in &live {
        if visited.contains(&m) {
            continue;
        }
        let mut seen = HashSet::new();
        let mut x = m;
        while seen.insert(x) {
            match parent_of(x, st) {
                Some(p) => x = p,
                None => break,
            }
        }
        // `x` repeats, so it is on the cycle: collect the cycle and start from its first member.
        let mut root = x;
        let mut y = parent_of(x, st);
        while let Some(c) = y.filter(|&c| c != x) {
            if order[&c] < order[&root] {
                root = c;
            }
            y = parent_of(c, st);
        }
        walk(root, &mut visited, st);
    }
}

/// Ids as lowercase hex strings, left-padded to `digits`, written straight into one buffer: the tag,
/// ref and log tables repeat their owner's ids on every row, and a `format!` per row (an allocation
/// each) was the largest cost of assembly.
fn hex_column<I: ExactSizeIterator<Item = u128>>(ids: I, digits: usize) -> ArrayRef {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = StringBuilder::with_capacity(ids.len(), ids.len() * digits);
    let mut buf = [0u8; 32];
    for id in ids {
        for (i, slot) in buf[..digits].iter_mut().enumerate() {
            *slot = HEX[((id >> (4 * (digits - 1 - i))) & 0xf) as usize];
        }
        // Hex digits are ASCII, so the buffer is valid UTF-8.
        b.append_value(std::str::from_utf8(&buf[..digits]).unwrap_or_default());
    }
    Arc::new(b.finish())
}

fn spans_batch(raw: &RawTables, st: &Structure, rows: &[u32]) -> Result<RecordBatch> {
    let c = RawTables::span_chunk_size();
    let idx: Vec<(usize, usize)> = rows.iter().map(|&i| (i as usize / c, i as usize % c)).collect();
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(29);
    cols.push(hex_column(rows.iter().map(|&i| raw.trace_ids[i as usize]), 32));
    cols.push(hex_column(rows.iter().map(|&i| u128::from(st.ids[i as usize])), 16));
    let mut parent = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
    for &i in rows {
        parent.append_option(st.parents[i as usize].map(span_id_hex));
    }
    cols.push(Arc::new(parent.finish()));
    for col in 0..23 {
        let arrays: Vec<&dyn Array> = raw.span_chunks.iter().map(|ch| ch[col].as_ref()).collect();
        cols.push(interleave(&arrays, &idx)?);
    }
    for v in [&st.depth, &st.left, &st.right] {
        cols.push(Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|&i| v[i as usize]),
        )));
    }
    Ok(RecordBatch::try_new(schema::spans_schema(), cols)?)
}

/// Rows of a child table (tags, refs, logs) in final order: by the rank of their span, then input order.
struct Children<'a> {
    /// Global row indices, sorted.
    rows: Vec<u32>,
    owner: &'a [u32],
    chunks: &'a [RecordBatch],
    offsets: Vec<usize>,
}

impl<'a> Children<'a> {
    fn sorted(owner: &'a [u32], rank: &[u32], chunks: &'a [RecordBatch]) -> Children<'a> {
        let mut rows: Vec<u32> = (0..owner.len() as u32)
            .filter(|&r| rank[owner[r as usize] as usize] != u32::MAX)
            .collect();
        rows.sort_by_key(|&r| (rank[owner[r as usize] as usize], r));
        let mut offsets = Vec::with_capacity(chunks.len() + 1);
        let mut acc = 0;
        for ch in chunks {
            offsets.push(acc);
            acc += ch.num_rows();
        }
        offsets.push(acc);
        Children {
            rows,
            owner,
            chunks,
            offsets,
        }
    }

    /// The slice of `rows` whose owners have rank in `a..b`.
    fn range(&self, rank: &[u32], (a, b): (usize, usize)) -> &[u32] {
        let key = |r: &u32| rank[self.owner[*r as usize] as usize] as usize;
        let lo = self.rows.partition_point(|r| key(r) < a);
        let hi = self.rows.partition_point(|r| key(r) < b);
        &self.rows[lo..hi]
    }

    fn locate(&self, r: u32) -> (usize, usize) {
        let r = r as usize;
        let chunk = self.offsets.partition_point(|&o| o <= r) - 1;
        (chunk, r - self.offsets[chunk])
    }

    /// trace_id, span_id from the owner, then every chunk column.
    fn batch(
        &self,
        raw: &RawTables,
        st: &Structure,
        rank: &[u32],
        bounds: (usize, usize),
        schema: datafusion::arrow::datatypes::SchemaRef,
    ) -> Result<RecordBatch> {
        let rows = self.range(rank, bounds);
        if rows.is_empty() {
            return Ok(RecordBatch::new_empty(schema));
        }
        let mut cols = self.id_columns(raw, st, rows);
        cols.extend(self.gather(rows, 0..schema.fields().len() - 2)?);
        Ok(RecordBatch::try_new(schema, cols)?)
    }

    fn id_columns(&self, raw: &RawTables, st: &Structure, rows: &[u32]) -> Vec<ArrayRef> {
        vec![
            hex_column(rows.iter().map(|&r| raw.trace_ids[self.owner[r as usize] as usize]), 32),
            hex_column(
                rows.iter()
                    .map(|&r| u128::from(st.ids[self.owner[r as usize] as usize])),
                16,
            ),
        ]
    }

    fn gather(&self, rows: &[u32], cols: std::ops::Range<usize>) -> Result<Vec<ArrayRef>> {
        let idx: Vec<(usize, usize)> = rows.iter().map(|&r| self.locate(r)).collect();
        let mut out = Vec::new();
        if self.chunks.is_empty() {
            return Err(Error::Bug("child rows without chunks".into()));
        }
        for col in cols {
            let arrays: Vec<&dyn Array> = self.chunks.iter().map(|ch| ch.column(col).as_ref()).collect();
            out.push(interleave(&arrays, &idx)?);
        }
        Ok(out)
    }
}

fn refs_batch(
    raw: &RawTables,
    st: &Structure,
    rank: &[u32],
    refs: &Children,
    bounds: (usize, usize),
) -> Result<RecordBatch> {
    let rows = refs.range(rank, bounds);
    if rows.is_empty() {
        return Ok(RecordBatch::new_empty(schema::refs_schema()));
    }
    let mut cols = refs.id_columns(raw, st, rows);
    cols.push(Arc::new(Int32Array::from_iter_values(
        rows.iter().map(|&r| raw.ref_positions[r as usize]),
    )));
    let gathered = refs.gather(rows, 0..2)?;
    cols.push(gathered[0].clone());
    cols.push(hex_column(rows.iter().map(|&r| raw.ref_trace_ids[r as usize]), 32));
    // The parent reference (position 0) follows the span's final parent, which duplicate-id
    // handling may have changed.
    cols.push(hex_column(
        rows.iter().map(|&r| {
            let r = r as usize;
            let owner = raw.ref_owner[r] as usize;
            u128::from(match (raw.ref_positions[r], st.parents[owner]) {
                (0, Some(p)) => p,
                _ => raw.ref_span_ids[r],
            })
        }),
        16,
    ));
    cols.push(gathered[1].clone());
    Ok(RecordBatch::try_new(schema::refs_schema(), cols)?)
}
