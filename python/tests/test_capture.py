"""Capture: a provider of its own per capture, spans in memory, OTLP as the OTel encoder makes it."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource

from tracecheck import DEFAULT_SERVICE_NAME, Capture


def test_spans_are_captured_when_they_end() -> None:
    capture = Capture()
    tracer = capture.tracer("bank")
    with tracer.start_as_current_span("withdrawal"):
        with tracer.start_as_current_span("commit"):
            pass
        assert [s.name for s in capture.spans()] == ["commit"], "withdrawal is still open"
    assert [s.name for s in capture.spans()] == ["commit", "withdrawal"]
    assert len(capture) == 2
    commit, withdrawal = capture.spans()
    assert commit.parent.span_id == withdrawal.context.span_id
    assert withdrawal.resource.attributes["service.name"] == DEFAULT_SERVICE_NAME == "test"
    capture.clear()
    assert len(capture) == 0 and capture.otlp() == b""


def test_captures_are_apart_and_nothing_global_changes() -> None:
    before = trace.get_tracer_provider()
    a, b = Capture(service_name="a"), Capture(service_name="b")
    with a.tracer().start_as_current_span("in-a"):
        with b.tracer().start_as_current_span("in-b"):
            pass
    assert [s.name for s in a.spans()] == ["in-a"]
    assert [s.name for s in b.spans()] == ["in-b"]
    # The span of b started inside a's span: one context, so one trace, but separate captures.
    assert a.spans()[0].context.trace_id == b.spans()[0].context.trace_id
    assert trace.get_tracer_provider() is before


def test_a_second_service_lands_in_the_same_capture() -> None:
    capture = Capture(service_name="bank", resource={"deployment.environment": "test"})
    with capture.tracer("gw", service_name="gateway").start_as_current_span("POST /withdraw"):
        with capture.tracer("bank").start_as_current_span("withdrawal"):
            pass
    services = {s.name: s.resource.attributes["service.name"] for s in capture.spans()}
    assert services == {"POST /withdraw": "gateway", "withdrawal": "bank"}
    assert all(s.resource.attributes["deployment.environment"] == "test" for s in capture.spans())
    assert capture.tracer_provider("gateway") is capture.tracer_provider("gateway")
    assert capture.tracer_provider("bank") is capture.tracer_provider()


def test_resource_given_whole() -> None:
    capture = Capture(resource=Resource({"service.name": "ledger", "service.version": "1.2"}))
    with capture.tracer().start_as_current_span("x"):
        pass
    assert dict(capture.spans()[0].resource.attributes) == {"service.name": "ledger", "service.version": "1.2"}
    assert Capture(service_name="x", resource=Resource({"k": "v"})).resource.attributes["service.name"] == "x"


def test_otlp_is_an_export_request_of_every_span() -> None:
    capture = Capture(service_name="bank")
    tracer = capture.tracer("bank", "0.1.0")
    with tracer.start_as_current_span("withdrawal", attributes={"amount": 500}) as span:
        span.add_event("checked", {"balance": 300})
    request = ExportTraceServiceRequest.FromString(capture.otlp())
    (rs,) = request.resource_spans
    assert {a.key: a.value.string_value for a in rs.resource.attributes}["service.name"] == "bank"
    (ss,) = rs.scope_spans
    assert (ss.scope.name, ss.scope.version) == ("bank", "0.1.0")
    (s,) = ss.spans
    assert s.name == "withdrawal" and s.attributes[0].value.int_value == 500
    assert s.events[0].name == "checked"
    assert s.trace_id == capture.spans()[0].context.trace_id.to_bytes(16, "big")
