"""The report of ``tracecheck check --format json``, as Python objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple


@dataclass(frozen=True)
class Violation:
    """One failing (trace, clause, assignment of the model's lets)."""

    model: str
    #: 1-based index of the failing ``expect`` in the model.
    clause: int
    #: 32 lowercase hex digits.
    trace_id: str
    #: The span id assigned to each ``let``, in let order.
    assignment: Tuple[Tuple[str, str], ...]
    #: How many spans matched the clause.
    matched: int
    #: The span ids that matched the clause.
    witnesses: Tuple[str, ...]

    @classmethod
    def from_json(cls, v: Dict[str, Any]) -> "Violation":
        return cls(
            model=v["model"],
            clause=v["clause"],
            trace_id=v["trace_id"],
            assignment=tuple((name, span) for name, span in v["assignment"]),
            matched=v["matched"],
            witnesses=tuple(v["witnesses"]),
        )


@dataclass(frozen=True)
class ModelReport:
    """The outcome of one model."""

    title: str
    #: The ``expect`` clauses in canonical form, clause 1 first.
    clauses: Tuple[str, ...]
    #: How many let tuples (or traces, without lets) satisfied ``when``.
    assignments: int
    #: In how many traces ``when`` held.
    traces: int
    violations: Tuple[Violation, ...]
    #: Vacuity and unknown-name warnings.
    warnings: Tuple[str, ...]

    @classmethod
    def from_json(cls, m: Dict[str, Any]) -> "ModelReport":
        return cls(
            title=m["title"],
            clauses=tuple(m["clauses"]),
            assignments=m["assignments"],
            traces=m["traces"],
            violations=tuple(Violation.from_json(v) for v in m["violations"]),
            warnings=tuple(m["warnings"]),
        )

    @property
    def holds(self) -> bool:
        """No violation (warnings aside)."""
        return not self.violations

    @property
    def vacuous(self) -> bool:
        """``when`` never held: the model proved nothing on these spans."""
        return self.assignments == 0

    @property
    def violating_traces(self) -> int:
        """The number of distinct traces with a violation."""
        return len({v.trace_id for v in self.violations})

    @property
    def failing_clauses(self) -> List[int]:
        """The failing clauses, ascending, each once."""
        return sorted({v.clause for v in self.violations})


@dataclass(frozen=True)
class CheckReport:
    """The outcome of a ``check`` block (aggregates); ``raw`` is its JSON."""

    title: str
    raw: Dict[str, Any] = field(repr=False)

    @property
    def holds(self) -> bool:
        """Every rule holds for every group and window."""
        return all(m["holds"] for r in self.raw["rules"] for m in r["measurements"])

    @property
    def warnings(self) -> List[str]:
        return [w for r in self.raw["rules"] for w in r["warnings"]]


@dataclass(frozen=True)
class FileReport:
    """The outcome of the models of one file; ``path`` is the file as given."""

    path: str
    models: Tuple[ModelReport, ...]
    checks: Tuple[CheckReport, ...]


@dataclass(frozen=True)
class Report:
    """What ``tracecheck check`` found: the same report as ``--format json`` (kept in ``raw``)."""

    files: Tuple[FileReport, ...]
    strict: bool
    raw: Dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, doc: Dict[str, Any]) -> "Report":
        files = tuple(
            FileReport(
                path=f["path"],
                models=tuple(ModelReport.from_json(m) for m in f["models"]),
                checks=tuple(CheckReport(title=c["title"], raw=c) for c in f["checks"]),
            )
            for f in doc["files"]
        )
        return cls(files=files, strict=doc["strict"], raw=doc)

    @property
    def models(self) -> List[ModelReport]:
        """Every model report, file by file."""
        return [m for f in self.files for m in f.models]

    @property
    def checks(self) -> List[CheckReport]:
        return [c for f in self.files for c in f.checks]

    def model(self, title: str) -> ModelReport:
        """The report of the model titled ``title``; ``KeyError`` listing the titles otherwise."""
        for m in self.models:
            if m.title == title:
                return m
        raise KeyError(f"no model titled {title!r}; there are {[m.title for m in self.models]}")

    @property
    def holds(self) -> bool:
        """Every model and check holds (and, when strict, none raised a warning): exit code 0."""
        return all(m.holds and not (self.strict and m.warnings) for m in self.models) and all(
            c.holds and not (self.strict and c.warnings) for c in self.checks
        )

    @property
    def violation_count(self) -> int:
        return sum(len(m.violations) for m in self.models)

    @property
    def violations(self) -> Dict[str, int]:
        """Violations per model title, every model listed (0 for a model that holds)."""
        return {m.title: len(m.violations) for m in self.models}

    @property
    def failing(self) -> List[str]:
        """The titles of the models with violations."""
        return [m.title for m in self.models if not m.holds]

    @property
    def vacuous(self) -> List[str]:
        """The titles of the models that applied to no trace."""
        return [m.title for m in self.models if m.vacuous]

    def find(self, title: str) -> Optional[ModelReport]:
        """Like :meth:`model`, ``None`` when there is none."""
        return next((m for m in self.models if m.title == title), None)
