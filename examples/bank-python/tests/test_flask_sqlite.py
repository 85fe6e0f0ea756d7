"""The bank as a Flask service over SQLite, traced by the official OpenTelemetry instrumentations of
Flask and sqlite3: the models of flask_sqlite.model name the spans and attributes they make
("POST /<account>/withdraw", http.route, http.status_code, "SELECT", db.system, db.statement)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Iterator, Tuple

import pytest
from werkzeug.serving import make_server

from bank.app import create_app
from tracecheck import Capture, TracecheckFailure, assert_holds, assert_violates, check

from conftest import FLASK_MODEL, redact

pytestmark = pytest.mark.tracecheck(service_name="bank")

OVERDRAFT = "An overdraft writes nothing and is answered 500"


def client(capture: Capture, *, balance_check: bool = True):  # type: ignore[no-untyped-def]
    app = create_app(":memory:", capture.tracer_provider(), balance_check=balance_check)
    c = app.test_client()
    assert c.post("/accounts", json={"id": "acct-1", "balance": 300}).status_code == 201
    # The table's creation and the account's are traces of their own: the tests are about withdrawals.
    capture.clear()
    return c


def test_real_span_names_and_attributes(tracecheck_capture: Capture) -> None:
    c = client(tracecheck_capture)
    assert c.post("/acct-1/withdraw", json={"amount": 500}).status_code == 500
    spans = {s.name: s for s in tracecheck_capture.spans()}
    assert set(spans) == {"POST /<account>/withdraw", "fetch-balance", "SELECT", "withdrawal", "BEGIN", "ROLLBACK"}
    server = spans["POST /<account>/withdraw"]
    assert server.attributes["http.route"] == "/<account>/withdraw"
    assert server.attributes["http.status_code"] == 500
    assert spans["SELECT"].attributes["db.system"] == "sqlite"
    assert spans["SELECT"].attributes["db.statement"] == "SELECT balance FROM accounts WHERE id = ?"


def test_correct_service_holds(tracecheck_capture: Capture) -> None:
    c = client(tracecheck_capture)
    assert c.post("/acct-1/withdraw", json={"amount": 500}).status_code == 500
    assert c.post("/acct-1/withdraw", json={"amount": 100}).get_json() == {"id": "acct-1", "balance": 200}
    report = assert_holds(FLASK_MODEL, tracecheck_capture, strict=True)
    assert report.vacuous == []
    assert report.model("A withdrawal request reads the balance from SQLite").traces == 2
    assert report.model(OVERDRAFT).traces == 1


def test_buggy_service_commits_the_overdraft(tracecheck_capture: Capture) -> None:
    c = client(tracecheck_capture, balance_check=False)
    assert c.post("/acct-1/withdraw", json={"amount": 500}).get_json() == {"id": "acct-1", "balance": -200}
    with pytest.raises(TracecheckFailure) as failed:
        assert_holds(FLASK_MODEL, tracecheck_capture)
    assert redact(str(failed.value)) == EXPECTED_BUGGY
    report = assert_violates(FLASK_MODEL, tracecheck_capture)
    assert report.failing == [OVERDRAFT]


EXPECTED_BUGGY = """\
tracecheck: 1 of 3 rules failed on the captured spans (flask_sqlite.model; 7 spans in 1 trace)

FAIL "An overdraft writes nothing and is answered 500"  (applied to 1 trace; 3 violations in 1 trace)

      model "An overdraft writes nothing and is answered 500" {
          when span(name = "fetch-balance").tag("amount") < span(name = "withdrawal").tag("amount")
  ✗ 1     expect no span(db.system = "sqlite", db.statement =~ "^(UPDATE|COMMIT)")
  ✗ 2     expect span(db.system = "sqlite", name = "ROLLBACK")
  ✗ 3     expect span(
              kind = server,
              http.route = "/<account>/withdraw",
              http.status_code = 500,
              status = error,
          )
      }

  trace <trace id>  (7 spans, <duration>)
    POST /<account>/withdraw  bank <duration>  kind=server  http.route="/<account>/withdraw"  http.status_code=200  status=unset
      fetch-balance           bank <duration>  amount=300  kind=internal  status=unset
        SELECT                bank <duration>  db.system="sqlite"  db.statement="SELECT balance FROM accounts WHERE id = ?"  kind=client  status=unset
      withdrawal              bank <duration>  amount=500  kind=internal  status=unset
        BEGIN                 bank <duration>  db.system="sqlite"  db.statement="BEGIN"  kind=client  status=unset
        UPDATE                bank <duration>  db.system="sqlite"  db.statement="UPDATE accounts SET balance = ? WHERE id = ?"  kind=client  status=unset  ◀ witness of clause 1
        COMMIT                bank <duration>  db.system="sqlite"  db.statement="COMMIT"  kind=client  status=unset  ◀ witness of clause 1
    ✗ clause 1 fails: 2 spans matched (◀), expected none
    ✗ clause 2 fails: no span matched, expected at least 1
    ✗ clause 3 fails: no span matched, expected at least 1

  warning: span name "ROLLBACK" occurs nowhere in the data

ok      "A withdrawal request reads the balance from SQLite" (applied to 1 trace)
ok      "Every transaction a withdrawal opens is ended once" (applied to 1 trace)"""


@pytest.fixture
def server(tracecheck_capture: Capture) -> Iterator[Tuple[str, Capture]]:
    """The service on a real socket, 127.0.0.1 and a free port, in a thread."""
    app = create_app(":memory:", tracecheck_capture.tracer_provider())
    srv = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}", tracecheck_capture
    finally:
        srv.shutdown()
        thread.join()


def post(url: str, body: dict) -> int:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_over_a_real_socket(server: Tuple[str, Capture]) -> None:
    base, capture = server
    assert post(f"{base}/accounts", {"id": "acct-1", "balance": 300}) == 201
    assert post(f"{base}/acct-1/withdraw", {"amount": 500}) == 500
    assert post(f"{base}/acct-1/withdraw", {"amount": 100}) == 200
    # The server span ends after the answer is sent: wait for the three requests' server spans.
    deadline = time.monotonic() + 5
    while sum(s.kind.name == "SERVER" for s in capture.spans()) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    report = assert_holds(FLASK_MODEL, capture, strict=True)
    assert report.model("A withdrawal request reads the balance from SQLite").traces == 2
    server_span = next(s for s in capture.spans() if s.name == "POST /<account>/withdraw")
    assert server_span.attributes["net.host.port"] != 80, "a real socket, not the test client"
    assert check(FLASK_MODEL, capture).holds
