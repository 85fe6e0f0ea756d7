"""Running ``tracecheck check`` on captured spans: the report, and the assertions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

from .capture import Capture
from .report import Report

#: A model file (``str`` or path), model text (a ``str`` holding ``{``), or a list of them.
Models = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]
#: A :class:`Capture`, or finished spans from anywhere (e.g. an ``InMemorySpanExporter``).
Spans = Union[Capture, Iterable[ReadableSpan]]

INSTALL_HINT = (
    "set TRACECHECK_BIN to the path of a tracecheck binary, or put `tracecheck` on PATH: in a "
    "checkout of the tracecheck repository, `cargo install --path .` installs it in ~/.cargo/bin "
    "(or `cargo build` builds target/debug/tracecheck for TRACECHECK_BIN)"
)


class TracecheckError(Exception):
    """The check could not run: no binary, a model that does not parse (the message gives its file,
    line and column), spans the binary could not read. Not an ``AssertionError``: a test of faulty
    code that expects a violation does not pass on a typo."""


class BinaryNotFound(TracecheckError):
    """Neither ``TRACECHECK_BIN`` nor ``PATH`` gives a tracecheck binary."""


class TracecheckFailure(AssertionError):
    """An assertion that failed: ``str()`` is the whole message (the failing models with their
    failing clauses marked, each violating trace drawn as a tree, witness spans marked), the text
    the Rust ``assert_holds!`` prints; ``report`` is the :class:`Report`."""

    def __init__(self, message: str, report: Optional[Report]) -> None:
        super().__init__(message)
        self.message = message
        self.report = report

    def __str__(self) -> str:
        return self.message


# Named as imported: pytest's failure line reads `tracecheck.TracecheckFailure: tracecheck: ...`.
for _cls in (TracecheckError, BinaryNotFound, TracecheckFailure):
    _cls.__module__ = "tracecheck"


def find_binary() -> str:
    """The tracecheck binary: ``$TRACECHECK_BIN``, else ``tracecheck`` on ``PATH``."""
    given = os.environ.get("TRACECHECK_BIN")
    if given:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            raise BinaryNotFound(f"TRACECHECK_BIN={given} is not an executable file; {INSTALL_HINT}")
        return given
    found = shutil.which("tracecheck")
    if found is None:
        raise BinaryNotFound(f"the tracecheck binary was not found: {INSTALL_HINT}")
    return found


def otlp(spans: Spans) -> bytes:
    """The spans as one OTLP protobuf ``ExportTraceServiceRequest``."""
    if isinstance(spans, Capture):
        return spans.otlp()
    return encode_spans(list(spans)).SerializeToString()


def check(models: Models, spans: Spans, *, strict: bool = False) -> Report:
    """Checks ``models`` against the spans ``spans`` holds now: the report ``tracecheck check
    MODELS --data - --format json`` gives (it runs that, the spans encoded as OTLP on its standard
    input). Never raises for a failing rule: look at ``report.holds``, ``report.violations``...
    With ``strict``, ``report.holds`` is also false when a model is vacuous or names something the
    spans do not have."""
    extra = ["--strict"] if strict else []
    with _Run(models, spans) as run:
        out = run.binary(["--format", "json", *extra])
        if out.returncode not in (0, 1):
            raise run.error(out)
        return Report.from_json(json.loads(out.stdout))


def assert_holds(models: Models, spans: Spans, *, strict: bool = False) -> Report:
    """Raises :class:`TracecheckFailure` unless every rule of ``models`` holds on the spans and at
    least one model applied to them (a test where nothing applied proved nothing). With ``strict``,
    also when any model is vacuous or names something the spans do not have. Gives the report."""
    __tracebackhide__ = True  # pytest: the failure points at the test's line
    return _expect("holds", models, spans, strict)


def assert_violates(models: Models, spans: Spans) -> Report:
    """Raises :class:`TracecheckFailure` unless some rule of ``models`` fails on the spans (a test of
    faulty code). Gives the report, whose violations the test can look at further."""
    __tracebackhide__ = True
    return _expect("violates", models, spans, False)


def _expect(verdict: str, models: Models, spans: Spans, strict: bool) -> Report:
    __tracebackhide__ = True
    with _Run(models, spans) as run:
        report_file = os.path.join(run.tmp, "report.json")
        args = ["--expect", verdict, "--format", "json", "--output", report_file]
        out = run.binary(args + (["--strict"] if strict else []))
        if out.returncode not in (0, 1):
            raise run.error(out)
        with open(report_file, encoding="utf-8") as f:
            report = Report.from_json(json.load(f))
    if out.returncode == 1:
        raise TracecheckFailure(out.stdout.decode("utf-8").rstrip("\n"), report)
    return report


class _Run:
    """One run of the binary: model arguments (text written to files named ``<text>``, as the Rust
    helpers call it), the spans as OTLP, a scratch folder."""

    def __init__(self, models: Models, spans: Spans) -> None:
        self.exe = find_binary()
        self.models = _models(models)
        self.payload = otlp(spans)
        self._tmp: Optional[tempfile.TemporaryDirectory] = None
        self.tmp = ""
        self.cwd: Optional[str] = None
        self.paths: List[str] = []

    def __enter__(self) -> "_Run":
        self._tmp = tempfile.TemporaryDirectory(prefix="tracecheck-")
        self.tmp = self._tmp.name
        texts = [m for kind, m in self.models if kind == "text"]
        if texts:
            # Run from the scratch folder so that text models are named `<text>` in messages; model
            # files are then given by absolute path.
            self.cwd = self.tmp
        n = 0
        for kind, m in self.models:
            if kind == "text":
                n += 1
                name = "<text>" if n == 1 else f"<text {n}>"
                with open(os.path.join(self.tmp, name), "w", encoding="utf-8") as f:
                    f.write(m)
                self.paths.append(name)
            else:
                self.paths.append(os.path.abspath(m) if self.cwd else m)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def binary(self, args: List[str]) -> "subprocess.CompletedProcess[bytes]":
        cmd = [self.exe, "check", *self.paths, "--data", "-", *args]
        env = dict(os.environ, NO_COLOR="1")
        return subprocess.run(cmd, input=self.payload, capture_output=True, cwd=self.cwd, env=env, check=False)

    def error(self, out: "subprocess.CompletedProcess[bytes]") -> TracecheckError:
        stderr = out.stderr.decode("utf-8", "replace").rstrip()
        if out.returncode == 2:
            return TracecheckError(f"tracecheck: the captured spans could not be checked\n{stderr}")
        return TracecheckError(f"tracecheck ({self.exe}) exited with {out.returncode}:\n{stderr}")


def _models(models: Models) -> List[Tuple[str, str]]:
    """(``"file"`` or ``"text"``, path or text) for each model argument."""
    items: Sequence[Union[str, "os.PathLike[str]"]]
    if isinstance(models, (str, os.PathLike)):
        items = [models]
    else:
        items = list(models)
    if not items:
        raise TracecheckError("tracecheck: no models given")
    out: List[Tuple[str, str]] = []
    for m in items:
        if isinstance(m, os.PathLike):
            out.append(("file", os.fspath(m)))
        elif isinstance(m, str):
            # Model text always has a `{`; a file name hardly ever.
            out.append(("text", m) if "{" in m else ("file", m))
        else:
            raise TypeError(f"models: expected a path, model text or a list of them, got {type(m).__name__}")
    return out

