#!/usr/bin/env python3
"""Exports a fixed, rich set of spans with the official OpenTelemetry Python SDK and its OTLP
exporters, and prints (stdout, JSON) exactly what it sent, so a test can compare a collector's
dataset with it field by field.

    python3 tests/python/otlp_export.py --protocol grpc --endpoint http://127.0.0.1:4317
    python3 tests/python/otlp_export.py --protocol http --endpoint http://127.0.0.1:4318 \
        [--header authorization=secret] [--compression gzip] [--timeout 10]

For `http`, an endpoint without a path gets `/v1/traces` (the OTLP/HTTP default path); any other
path is used as given. Exit status: 0 when every export succeeded, 1 when one failed (the JSON is
then not printed), 2 for bad arguments.

The spans (ids are random, times are fixed offsets from the start of the run):

    trace 1                                     trace 2
    GET /orders/{id}        server  status ok   consume order-created  consumer  link -> publish
    ├─ load-order           internal            └─ send-email          internal  status error,
    │  │                    every attribute        link -> GET /orders/{id}
    │  │                    type, 2 events
    │  ├─ SELECT orders     client  status error + exception event
    │  └─ publish order-created  producer
    └─ render               internal  event with no attributes

The JSON (`"spans"` sorted by trace id, then start time):

    {"resource": {"attributes": [ATTR...]},
     "scope": {"name", "version", "attributes": [ATTR...]},
     "spans": [{"trace_id", "span_id", "parent_span_id" (null for a root), "name",
                "kind" ("internal" | "server" | "client" | "producer" | "consumer"),
                "start_time_unix_nano", "end_time_unix_nano", "attributes": [ATTR...],
                "events": [{"name", "time_unix_nano", "attributes": [ATTR...]}],
                "links": [{"trace_id", "span_id", "attributes": [ATTR...]}],
                "status": {"code": "unset" | "ok" | "error", "message": str | null}}]}

with ATTR = {"key", "type": "string" | "bool" | "int" | "double" | "array", "value"} and, for an
array, "element_type" ("string" | "bool" | "int" | "double"); ids are lowercase hex (32 digits for
a trace, 16 for a span).
"""

import argparse
import json
import sys
import time
from urllib.parse import urlparse

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

MS = 1_000_000  # nanoseconds

RESOURCE = {
    "service.name": "py-client",
    "service.version": "0.9.1",
    "service.namespace": "shop",
    "deployment.environment": "test",
    "deployment.environment.name": "test",
    "host.name": "py-host-1",
    "process.pid": 4242,
    "process.runtime.name": "cpython",
}
SCOPE_NAME = "tracecheck.tests.otlp_export"
SCOPE_VERSION = "1.2.3"
SCOPE_ATTRIBUTES = {"scope.team": "tracecheck", "scope.sampled": True}

# One attribute of every type the SDK accepts: scalars and homogeneous arrays of each.
ALL_TYPES = {
    "str": "héllo, wörld \"quoted\"",
    "str.empty": "",
    "bool.true": True,
    "bool.false": False,
    "int": 42,
    "int.negative": -7,
    "int.large": 2**62 + 1,
    "double": 3.25,
    "double.negative": -0.5,
    "double.whole": 2.0,
    "array.str": ("a", "b", "c"),
    "array.bool": (True, False, True),
    "array.int": (1, -2, 3),
    "array.double": (1.5, -2.25, 0.0),
}


class CheckedExporter(SpanExporter):
    """Wraps the real exporter: remembers every span it was handed and whether any export failed."""

    def __init__(self, inner):
        self.inner = inner
        self.sent = []
        self.failures = 0

    def export(self, spans):
        result = self.inner.export(spans)
        if result == SpanExportResult.SUCCESS:
            self.sent.extend(spans)
        else:
            self.failures += 1
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30_000):
        return self.inner.force_flush(timeout_millis)


def make_exporter(args):
    headers = dict(parse_header(h) for h in args.header)
    if args.protocol == "grpc":
        from grpc import Compression
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        compression = Compression.Gzip if args.compression == "gzip" else Compression.NoCompression
        insecure = urlparse(args.endpoint).scheme != "https"
        return OTLPSpanExporter(
            endpoint=args.endpoint,
            insecure=insecure,
            headers=headers or None,
            timeout=args.timeout,
            compression=compression,
        )
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = args.endpoint
    if urlparse(endpoint).path in ("", "/"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    compression = Compression.Gzip if args.compression == "gzip" else Compression.NoCompression
    return OTLPSpanExporter(endpoint=endpoint, headers=headers or None, timeout=args.timeout, compression=compression)


def parse_header(text):
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--header wants KEY=VALUE, got {text!r}")
    return key, value


def make_spans(tracer, t0):
    """Makes the two traces (every time is t0 plus a fixed offset); returns the spans."""
    root = tracer.start_span(
        "GET /orders/{id}",
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "GET",
            "http.route": "/orders/{id}",
            "url.path": "/orders/17",
            "http.response.status_code": 200,
        },
        start_time=t0,
    )
    root_cx = trace.set_span_in_context(root)

    load = tracer.start_span("load-order", context=root_cx, attributes=ALL_TYPES, start_time=t0 + 1 * MS)
    load.add_event("cache.miss", {"cache.key": "order:17", "cache.hit": False, "cache.size": 128}, t0 + 2 * MS)
    load.add_event("retry", {"retry.delays": (0.5, 1.5), "retry.count": 2}, t0 + 3 * MS)
    load_cx = trace.set_span_in_context(load)

    select = tracer.start_span(
        "SELECT orders",
        context=load_cx,
        kind=SpanKind.CLIENT,
        attributes={
            "db.system.name": "postgresql",
            "db.namespace": "shop",
            "db.operation.name": "SELECT",
            "db.query.text": "SELECT * FROM orders WHERE id = $1",
        },
        start_time=t0 + 4 * MS,
    )
    select.add_event(
        "exception",
        {"exception.type": "ConnectionResetError", "exception.message": "connection reset by peer"},
        t0 + 9 * MS,
    )
    select.set_status(Status(StatusCode.ERROR, "connection reset by peer"))
    select.end(end_time=t0 + 10 * MS)

    publish = tracer.start_span(
        "publish order-created",
        context=load_cx,
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": "orders"},
        start_time=t0 + 11 * MS,
    )
    publish.end(end_time=t0 + 13 * MS)
    load.end(end_time=t0 + 14 * MS)

    render = tracer.start_span("render", context=root_cx, start_time=t0 + 15 * MS)
    render.add_event("flushed", timestamp=t0 + 16 * MS)
    render.end(end_time=t0 + 17 * MS)
    root.set_status(Status(StatusCode.OK))
    root.end(end_time=t0 + 20 * MS)

    # Trace 2: a consumer of the message, linked to its producer; a new root (empty context).
    consume = tracer.start_span(
        "consume order-created",
        context=trace.set_span_in_context(trace.INVALID_SPAN),
        kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.operation.type": "process"},
        links=[Link(publish.get_span_context(), {"link.reason": "message", "link.offset": 5})],
        start_time=t0 + 30 * MS,
    )
    email = tracer.start_span(
        "send-email",
        context=trace.set_span_in_context(consume),
        links=[Link(root.get_span_context(), {"link.reason": "order", "link.ids": (17, 18)})],
        start_time=t0 + 31 * MS,
    )
    email.set_status(Status(StatusCode.ERROR, "mailbox full"))
    email.end(end_time=t0 + 35 * MS)
    consume.end(end_time=t0 + 36 * MS)
    return [root, load, select, publish, render, consume, email]


def describe_attributes(attributes):
    out = []
    for key, value in (attributes or {}).items():
        if isinstance(value, (tuple, list)):
            types = {type_name(v) for v in value}
            element = types.pop() if len(types) == 1 else "string"
            out.append({"key": key, "type": "array", "element_type": element, "value": list(value)})
        else:
            out.append({"key": key, "type": type_name(value), "value": value})
    return out


def type_name(value):
    # bool before int: a Python bool is an int.
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    return "string"


def describe_span(span):
    cx = span.get_span_context()
    return {
        "trace_id": f"{cx.trace_id:032x}",
        "span_id": f"{cx.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "name": span.name,
        "kind": span.kind.name.lower(),
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "attributes": describe_attributes(span.attributes),
        "events": [
            {"name": e.name, "time_unix_nano": e.timestamp, "attributes": describe_attributes(e.attributes)}
            for e in span.events
        ],
        "links": [
            {
                "trace_id": f"{link.context.trace_id:032x}",
                "span_id": f"{link.context.span_id:016x}",
                "attributes": describe_attributes(link.attributes),
            }
            for link in span.links
        ],
        "status": {"code": span.status.status_code.name.lower(), "message": span.status.description},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", choices=["grpc", "http"], required=True)
    parser.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:4317")
    parser.add_argument("--header", action="append", default=[], type=str, help="KEY=VALUE, repeatable")
    parser.add_argument("--compression", choices=["none", "gzip"], default="none")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per export")
    args = parser.parse_args()
    try:
        exporter = CheckedExporter(make_exporter(args))
    except argparse.ArgumentTypeError as e:
        parser.error(str(e))

    resource = Resource.create(RESOURCE)
    provider = TracerProvider(resource=resource)
    processor = BatchSpanProcessor(exporter)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer(SCOPE_NAME, SCOPE_VERSION, attributes=SCOPE_ATTRIBUTES)

    made = len(make_spans(tracer, time.time_ns()))
    flushed = provider.force_flush(timeout_millis=int(args.timeout * 1000) + 5000)
    provider.shutdown()
    if not flushed or exporter.failures or len(exporter.sent) != made:
        print(
            f"otlp_export: export to {args.endpoint} ({args.protocol}) failed: flushed={flushed}, "
            f"failed exports={exporter.failures}, spans sent={len(exporter.sent)} of {made}",
            file=sys.stderr,
        )
        return 1

    spans = sorted(exporter.sent, key=lambda s: (f"{s.get_span_context().trace_id:032x}", s.start_time))
    scope = spans[0].instrumentation_scope
    description = {
        "resource": {"attributes": describe_attributes(resource.attributes)},
        "scope": {
            "name": scope.name,
            "version": scope.version,
            "attributes": describe_attributes(scope.attributes),
        },
        "spans": [describe_span(s) for s in spans],
    }
    json.dump(description, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
