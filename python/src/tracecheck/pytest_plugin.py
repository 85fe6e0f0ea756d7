"""The pytest plugin (entry point ``pytest11``, loaded when the package is installed).

- ``tracecheck_capture``: a fresh :class:`tracecheck.Capture` per test (service name ``test``, or the
  test's ``@pytest.mark.tracecheck(service_name=...)``), shut down after it.
- A failed ``assert_holds`` / ``assert_violates`` raises :class:`tracecheck.TracecheckFailure`, an
  ``AssertionError`` whose ``str()`` is the whole message the Rust ``assert_holds!`` prints: pytest
  shows it in full, each line after ``E``, under the test's own line (the helpers hide their frames
  with ``__tracebackhide__``).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .capture import Capture


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tracecheck(service_name=None, resource=None): arguments of the tracecheck_capture fixture's Capture",
    )


@pytest.fixture
def tracecheck_capture(request: pytest.FixtureRequest) -> Iterator[Capture]:
    """A :class:`tracecheck.Capture` of this test's own: hand ``tracecheck_capture.tracer("name")``
    or ``tracecheck_capture.tracer_provider()`` to the code under test, then
    ``tracecheck.assert_holds("rules.model", tracecheck_capture)``."""
    marker = request.node.get_closest_marker("tracecheck")
    kwargs = dict(marker.kwargs) if marker else {}
    capture = Capture(**kwargs)
    yield capture
    capture.shutdown()

