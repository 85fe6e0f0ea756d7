#!/usr/bin/env python3
"""Extra fuzz seeds that the repository has no files for (used by scripts/fuzz.sh).

  python3 fuzz/seeds.py proto OUT_DIR FILE.json...   OTLP JSON requests (also Tempo and Jaeger
      api_v3 wrappers, JSON lines) re-encoded as protobuf ExportTraceServiceRequest: one message
      per request (NAME.pb) and, per file, a length-delimited stream of them (NAME.delimited.pb).
      Files that are not OTLP JSON are skipped.
  python3 fuzz/seeds.py models OUT_DIR FILE.md...    the ```model blocks of Markdown files.

A minimal protobuf writer (no dependencies): field numbers from opentelemetry-proto's trace.proto,
common.proto and resource.proto; the legacy instrumentationLibrarySpans become field 1000.
"""
import base64
import json
import os
import re
import struct
import sys


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field, wire):
    return varint(field << 3 | wire)


def ld(field, payload):
    return tag(field, 2) + varint(len(payload)) + payload


def uint(field, n):
    return tag(field, 0) + varint(int(n)) if int(n) else b""


def fixed64(field, n):
    return tag(field, 1) + struct.pack("<Q", int(n) & ((1 << 64) - 1)) if int(n) else b""


def fixed32(field, n):
    return tag(field, 5) + struct.pack("<I", int(n) & 0xFFFFFFFF) if int(n) else b""


def string(field, s):
    return ld(field, s.encode()) if s else b""


def get(d, *keys, default=None):
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return default


def ident(s):
    if not s:
        return b""
    try:
        return bytes.fromhex(s)
    except ValueError:
        return base64.b64decode(s)


ENUMS = {
    "SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5,
    "STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2,
}


def enum(v):
    return ENUMS.get(v, 0) if isinstance(v, str) and not v.isdigit() else int(v or 0)


def any_value(v):
    if "stringValue" in v or "string_value" in v:
        return string(1, get(v, "stringValue", "string_value")) or ld(1, b"")
    if "boolValue" in v or "bool_value" in v:
        return tag(2, 0) + varint(1 if get(v, "boolValue", "bool_value") else 0)
    if "intValue" in v or "int_value" in v:
        return tag(3, 0) + varint(int(get(v, "intValue", "int_value")))
    if "doubleValue" in v or "double_value" in v:
        return tag(4, 1) + struct.pack("<d", float(get(v, "doubleValue", "double_value")))
    if "arrayValue" in v or "array_value" in v:
        a = get(v, "arrayValue", "array_value")
        return ld(5, b"".join(ld(1, any_value(x)) for x in a.get("values", [])))
    if "kvlistValue" in v or "kvlist_value" in v:
        a = get(v, "kvlistValue", "kvlist_value")
        return ld(6, b"".join(ld(1, key_value(x)) for x in a.get("values", [])))
    if "bytesValue" in v or "bytes_value" in v:
        return ld(7, base64.b64decode(get(v, "bytesValue", "bytes_value")))
    return b""


def key_value(kv):
    return string(1, kv.get("key", "")) + ld(2, any_value(kv.get("value") or {}))


def attributes(field, d):
    return b"".join(ld(field, key_value(kv)) for kv in d.get("attributes") or [])


def span(s):
    out = ld(1, ident(get(s, "traceId", "trace_id", default="")))
    out += ld(2, ident(get(s, "spanId", "span_id", default="")))
    out += string(3, get(s, "traceState", "trace_state", default=""))
    parent = get(s, "parentSpanId", "parent_span_id", default="")
    out += ld(4, ident(parent)) if parent else b""
    out += string(5, s.get("name", ""))
    out += uint(6, enum(s.get("kind")))
    out += fixed64(7, get(s, "startTimeUnixNano", "start_time_unix_nano", default=0))
    out += fixed64(8, get(s, "endTimeUnixNano", "end_time_unix_nano", default=0))
    out += attributes(9, s)
    out += uint(10, get(s, "droppedAttributesCount", "dropped_attributes_count", default=0))
    for e in s.get("events") or []:
        ev = fixed64(1, get(e, "timeUnixNano", "time_unix_nano", default=0)) + string(2, e.get("name", ""))
        out += ld(11, ev + attributes(3, e))
    out += uint(12, get(s, "droppedEventsCount", "dropped_events_count", default=0))
    for link in s.get("links") or []:
        ln = ld(1, ident(get(link, "traceId", "trace_id", default="")))
        ln += ld(2, ident(get(link, "spanId", "span_id", default="")))
        ln += string(3, get(link, "traceState", "trace_state", default="")) + attributes(4, link)
        out += ld(13, ln)
    out += uint(14, get(s, "droppedLinksCount", "dropped_links_count", default=0))
    st = s.get("status")
    if st:
        out += ld(15, string(2, st.get("message", "")) + uint(3, enum(st.get("code"))))
    out += fixed32(16, s.get("flags", 0))
    return out


def scope_spans(field, ss):
    scope = get(ss, "scope", "instrumentationLibrary", "instrumentation_library", default={})
    sc = string(1, scope.get("name", "")) + string(2, scope.get("version", "")) + attributes(3, scope)
    out = ld(1, sc) if scope else b""
    out += b"".join(ld(2, span(s)) for s in ss.get("spans") or [])
    out += string(3, get(ss, "schemaUrl", "schema_url", default=""))
    return ld(field, out)


def resource_spans(rs):
    res = rs.get("resource")
    out = ld(1, attributes(1, res)) if res else b""
    for ss in get(rs, "scopeSpans", "scope_spans", default=[]):
        out += scope_spans(2, ss)
    for ss in get(rs, "instrumentationLibrarySpans", "instrumentation_library_spans", default=[]):
        out += scope_spans(1000, ss)
    out += string(3, get(rs, "schemaUrl", "schema_url", default=""))
    return ld(1, out)


def request(doc):
    """The ExportTraceServiceRequest of one OTLP JSON document (or its Tempo / api_v3 wrapper)."""
    for wrapper in ("trace", "result"):
        if isinstance(doc.get(wrapper), dict):
            doc = doc[wrapper]
    rss = get(doc, "resourceSpans", "resource_spans", "batches")
    if not isinstance(rss, list):
        return None
    return b"".join(resource_spans(rs) for rs in rss)


def documents(text):
    try:
        return [json.loads(text)]
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def proto(out_dir, files):
    for path in files:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", path)
        try:
            with open(path, encoding="utf-8") as f:
                docs = documents(f.read())
            messages = [m for m in (request(d) for d in docs if isinstance(d, dict)) if m]
        except Exception:  # not OTLP JSON, or a spelling this writer does not know: no seed
            continue
        for i, m in enumerate(messages):
            with open(os.path.join(out_dir, f"{name}.{i}.pb"), "wb") as f:
                f.write(m)
        if messages:
            with open(os.path.join(out_dir, f"{name}.delimited.pb"), "wb") as f:
                f.write(b"".join(varint(len(m)) + m for m in messages * 2))


def models(out_dir, files):
    for path in files:
        with open(path, encoding="utf-8") as f:
            blocks = re.findall(r"^```model\n(.*?)^```", f.read(), re.S | re.M)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", path)
        for i, block in enumerate(blocks):
            with open(os.path.join(out_dir, f"{name}.{i}.model"), "w", encoding="utf-8") as f:
                f.write(block)


if __name__ == "__main__":
    command, out_dir, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    {"proto": proto, "models": models}[command](out_dir, files)
