"""Capturing the spans a test makes: a tracer provider of its own, exporting into memory."""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

#: The service name of a capture's spans unless told otherwise (the Rust `SpanCapture`'s too).
DEFAULT_SERVICE_NAME = "test"

AttributeValue = Union[str, bool, int, float, Sequence[str], Sequence[bool], Sequence[int], Sequence[float]]


class Capture:
    """The spans one test makes, in memory.

    A capture owns a :class:`TracerProvider` whose only span processor is a
    :class:`SimpleSpanProcessor` in front of the SDK's :class:`InMemorySpanExporter`: a span is
    captured, synchronously, when it ends. Nothing global is touched, so tests running side by side
    each see their own spans; hand :meth:`tracer` or :meth:`tracer_provider` to the code under test
    (an auto-instrumentation takes ``tracer_provider=capture.tracer_provider()``).

    >>> capture = Capture(service_name="bank")
    >>> with capture.tracer("bank").start_as_current_span("withdrawal"):
    ...     pass
    >>> [s.name for s in capture.spans()]
    ['withdrawal']
    """

    def __init__(
        self,
        service_name: Optional[str] = None,
        resource: Union[Resource, Mapping[str, AttributeValue], None] = None,
    ) -> None:
        """``service_name`` (default ``"test"``) or a whole ``resource`` (a :class:`Resource` or its
        attributes; ``service.name`` among them wins over ``service_name``)."""
        self._exporter = InMemorySpanExporter()
        self._providers: Dict[Tuple[str, ...], TracerProvider] = {}
        self._resource = _resource(service_name, resource)
        self._provider = self._new_provider(self._resource)

    def _new_provider(self, resource: Resource) -> TracerProvider:
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(SimpleSpanProcessor(self._exporter))
        return provider

    @property
    def resource(self) -> Resource:
        """The resource of the spans of :meth:`tracer_provider`."""
        return self._resource

    def tracer_provider(self, service_name: Optional[str] = None) -> TracerProvider:
        """The capture's provider; with ``service_name``, a second provider (made once per name)
        whose spans carry that service name and land in this same capture: two services of one
        system in one test, one trace across both."""
        if service_name is None or service_name == self._resource.attributes.get("service.name"):
            return self._provider
        key = (service_name,)
        if key not in self._providers:
            attributes = dict(self._resource.attributes)
            attributes["service.name"] = service_name
            self._providers[key] = self._new_provider(Resource(attributes, self._resource.schema_url))
        return self._providers[key]

    def tracer(self, name: str = "test", version: Optional[str] = None, service_name: Optional[str] = None) -> Tracer:
        """A tracer of :meth:`tracer_provider` (the instrumentation scope is ``name``)."""
        return self.tracer_provider(service_name).get_tracer(name, version)

    def spans(self) -> Tuple[ReadableSpan, ...]:
        """The finished spans, in the order they ended. Spans still open are not there."""
        return tuple(self._exporter.get_finished_spans())

    def clear(self) -> None:
        """Forgets every captured span (between two phases of a test)."""
        self._exporter.clear()

    def __len__(self) -> int:
        return len(self._exporter.get_finished_spans())

    def otlp(self) -> bytes:
        """The captured spans as one OTLP protobuf ``ExportTraceServiceRequest``, encoded by the
        OpenTelemetry project's own encoder (what an OTLP exporter sends). No span: no bytes."""
        return encode_spans(self.spans()).SerializeToString()

    def shutdown(self) -> None:
        """Shuts the providers down (spans ending afterwards are not captured)."""
        for provider in [self._provider, *self._providers.values()]:
            provider.shutdown()

    def __repr__(self) -> str:
        name = self._resource.attributes.get("service.name")
        return f"Capture(service_name={name!r}, spans={len(self)})"


def _resource(service_name: Optional[str], resource: Union[Resource, Mapping[str, AttributeValue], None]) -> Resource:
    if isinstance(resource, Resource):
        if "service.name" in resource.attributes:
            return resource
        return resource.merge(Resource({"service.name": service_name or DEFAULT_SERVICE_NAME}))
    # Resource.create adds the SDK's own attributes (telemetry.sdk.*) and OTEL_RESOURCE_ATTRIBUTES;
    # the attributes given here win.
    attributes = dict(resource or {})
    attributes.setdefault("service.name", service_name or DEFAULT_SERVICE_NAME)
    return Resource.create(attributes)
