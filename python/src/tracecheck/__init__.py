"""tracecheck for Python unit tests: capture the spans the code under test makes, check tracecheck
models (``.model`` files) against them, and fail with the message the Rust ``assert_holds!`` gives.

>>> from tracecheck import Capture, assert_holds
>>> capture = Capture(service_name="bank")
>>> tracer = capture.tracer("bank")
>>> # ... run the code under test with `tracer` (or `capture.tracer_provider()`) ...
>>> # assert_holds("queries/bank.model", capture)

The checking is done by the ``tracecheck`` binary (``$TRACECHECK_BIN``, else ``PATH``): the spans go
to ``tracecheck check MODELS --data -`` as OTLP protobuf on its standard input.
"""

from .capture import DEFAULT_SERVICE_NAME, Capture
from .check import (
    BinaryNotFound,
    TracecheckError,
    TracecheckFailure,
    assert_holds,
    assert_violates,
    check,
    find_binary,
    otlp,
)
from .report import CheckReport, FileReport, ModelReport, Report, Violation

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "BinaryNotFound",
    "Capture",
    "CheckReport",
    "FileReport",
    "ModelReport",
    "Report",
    "TracecheckError",
    "TracecheckFailure",
    "Violation",
    "assert_holds",
    "assert_violates",
    "check",
    "find_binary",
    "otlp",
]
