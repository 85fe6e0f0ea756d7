"""Shared by the bank's tests: they run from examples/bank-python, so the model file is
`../../queries/bank.model` (the repository's, the one the Rust tests check), as messages name it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1]
BANK_MODEL = "../../queries/bank.model"
FLASK_MODEL = "flask_sqlite.model"
SEED_MODEL = "Accounts cannot withdraw more than their balance"


@pytest.fixture(autouse=True)
def _in_the_example_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLE)
    assert os.path.isfile(BANK_MODEL), "run from a checkout of the tracecheck repository"


def redact(message: str) -> str:
    """Trace ids and durations change from run to run."""
    message = re.sub(r"[0-9a-f]{32}", "<trace id>", message)
    return re.sub(r" *\d+\.\d{3}ms", " <duration>", message)
