"""check / assert_holds / assert_violates through the real binary ($TRACECHECK_BIN)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracecheck
from tracecheck import (
    BinaryNotFound,
    Capture,
    Report,
    TracecheckError,
    TracecheckFailure,
    assert_holds,
    assert_violates,
    check,
)

NO_COMMIT = 'model "no commit" {\n    when span(name = "withdrawal")\n    expect no span(name = "commit")\n}\n'
ROLLS_BACK = 'model "rolls back" {\n    expect span(name = "rollback")\n}\n'


def withdrawal(capture: Capture, end: str) -> None:
    tracer = capture.tracer("bank")
    with tracer.start_as_current_span("withdrawal") as w:
        w.set_attribute("amount", 500)
        with tracer.start_as_current_span(end):
            pass


def test_check_gives_the_report() -> None:
    capture = Capture(service_name="bank")
    withdrawal(capture, "commit")
    withdrawal(capture, "rollback")
    report = check([NO_COMMIT, ROLLS_BACK], capture)
    assert isinstance(report, Report)
    assert not report.holds
    assert report.violations == {"no commit": 1, "rolls back": 1}
    assert report.violation_count == 2
    assert [f.path for f in report.files] == ["<text>", "<text 2>"]
    v = report.model("no commit").violations[0]
    assert (v.clause, v.matched, len(v.trace_id), len(v.witnesses)) == (1, 1, 32, 1)
    assert v.witnesses[0] == format(capture.spans()[0].context.span_id, "016x"), "the commit span"
    assert report.model("no commit").traces == 2
    assert report.model("no commit").violating_traces == 1
    with pytest.raises(KeyError, match="there are"):
        report.model("nope")


def test_files_text_and_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    capture = Capture()
    withdrawal(capture, "rollback")
    model = tmp_path / "rules.model"
    model.write_text(NO_COMMIT)
    for given in (model, str(model), [model], [str(model), ROLLS_BACK]):
        assert_holds(given, capture)
    assert check(str(model), capture).files[0].path == str(model)
    # A relative path is taken from the current folder, and reports name it as given.
    monkeypatch.chdir(tmp_path)
    assert check("rules.model", capture).files[0].path == "rules.model"
    with pytest.raises(TracecheckFailure, match=r"^tracecheck: expected a violation, but the rule holds on the captured spans \(rules.model; 2 spans in 1 trace\)"):
        assert_violates("rules.model", capture)
    with pytest.raises(TypeError):
        check(42, capture)  # type: ignore[arg-type]
    with pytest.raises(TracecheckError, match="no models"):
        check([], capture)


def test_spans_from_any_exporter() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("withdrawal"):
        with provider.get_tracer("t").start_as_current_span("commit"):
            pass
    report = assert_violates(NO_COMMIT, exporter.get_finished_spans())
    assert report.failing == ["no commit"]


def test_failure_carries_the_message_and_the_report() -> None:
    capture = Capture(service_name="bank")
    withdrawal(capture, "commit")
    with pytest.raises(AssertionError) as failed:
        assert_holds(NO_COMMIT, capture)
    failure = failed.value
    assert isinstance(failure, TracecheckFailure)
    lines = str(failure).splitlines()
    assert lines[0] == "tracecheck: 1 of 1 rule failed on the captured spans (<text>; 2 spans in 1 trace)"
    assert '  ✗ 1     expect no span(name = "commit")' in lines
    assert any(line.startswith("      commit    bank") and line.endswith("◀ witness of clause 1") for line in lines), lines
    assert "    ✗ clause 1 fails: 1 span matched (◀), expected none" in lines
    assert not str(failure).endswith("\n")
    assert failure.report is not None and failure.report.failing == ["no commit"]


def test_strict() -> None:
    capture = Capture()
    withdrawal(capture, "rollback")
    vacuous = 'model "audits" {\n    when span(name = "transfer")\n    expect span(name = "audit")\n}\n'
    assert check([NO_COMMIT, vacuous], capture).holds
    assert not check([NO_COMMIT, vacuous], capture, strict=True).holds
    assert_holds([NO_COMMIT, vacuous], capture)
    with pytest.raises(TracecheckFailure, match=r"^tracecheck: 2 of 2 rules raised a warning, a failure in strict mode"):
        assert_holds([NO_COMMIT, vacuous], capture, strict=True)


def test_binary_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = tracecheck.find_binary()
    capture = Capture()
    monkeypatch.setenv("TRACECHECK_BIN", str(tmp_path / "missing"))
    with pytest.raises(BinaryNotFound, match=r"TRACECHECK_BIN=.*missing is not an executable file"):
        check(NO_COMMIT, capture)
    monkeypatch.delenv("TRACECHECK_BIN")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BinaryNotFound) as missing:
        check(NO_COMMIT, capture)
    assert "cargo install --path ." in str(missing.value) and "TRACECHECK_BIN" in str(missing.value)
    # On PATH, under its own name.
    link = tmp_path / "tracecheck"
    link.symlink_to(real)
    assert tracecheck.find_binary() == str(link)
    withdrawal(capture, "rollback")
    assert check(NO_COMMIT, capture).holds


def test_a_binary_that_crashes_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "tracecheck"
    fake.write_text("#!/bin/sh\necho boom >&2\nexit 101\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("TRACECHECK_BIN", str(fake))
    with pytest.raises(TracecheckError, match=r"exited with 101:\nboom"):
        check(NO_COMMIT, Capture())
