"""The pytest plugin, run in a pytest of its own (pytester): the fixture, and how a failure reads."""

from __future__ import annotations

import pytest

TEST_FILE = '''
import pytest
from tracecheck import assert_holds

MODEL = 'model "no commit" {\\n    when span(name = "withdrawal")\\n    expect no span(name = "commit")\\n}\\n'

@pytest.mark.tracecheck(service_name="bank")
def test_commit(tracecheck_capture):
    tracer = tracecheck_capture.tracer("bank")
    with tracer.start_as_current_span("withdrawal"):
        with tracer.start_as_current_span("commit"):
            pass
    assert_holds(MODEL, tracecheck_capture)

def test_fresh_capture(tracecheck_capture):
    assert len(tracecheck_capture) == 0
    assert tracecheck_capture.resource.attributes["service.name"] == "test"
'''


def test_failure_shows_the_whole_message_at_the_test_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bank=TEST_FILE)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            ">       assert_holds(MODEL, tracecheck_capture)",
            "E       tracecheck.TracecheckFailure: tracecheck: 1 of 1 rule failed on the captured spans (<text>; 2 spans in 1 trace)",
            'E       FAIL "no commit"  (applied to 1 trace; 1 violation in 1 trace)',
            'E         ✗ 1     expect no span(name = "commit")',
            "E           withdrawal  bank  *",
            "E             commit    bank  *  ◀ witness of clause 1",
            "E           ✗ clause 1 fails: 1 span matched (◀), expected none",
            "test_bank.py:12: TracecheckFailure",
        ]
    )
    # The helpers' own frames are hidden: the traceback ends at the test's line.
    assert "tracecheck/check.py" not in result.stdout.str()
