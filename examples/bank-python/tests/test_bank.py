"""The seed's unit test in Python: the bank's withdraw logic over a mock database holding 300, a
withdrawal of 500, and the rules of ../../queries/bank.model (the Rust tests' file) checked on the
spans captured in the test. The correct bank passes; with the seed's bug the assertion fails, and
the test pins the message it fails with."""

from __future__ import annotations

import os

import pytest

import tracecheck
from bank import Bank, MockDatabase
from tracecheck import Capture, TracecheckError, TracecheckFailure, assert_holds, assert_violates, check

from conftest import BANK_MODEL, EXAMPLE, SEED_MODEL, redact

RUST_SNAPSHOT = (
    EXAMPLE.parents[1]
    / "tests/it/snapshots/tests__it__seed_unit__seed_unit_buggy_bank_commits_the_overdraft_and_the_model_fails.snap"
)

# The fixture's captures name their service "bank".
pytestmark = pytest.mark.tracecheck(service_name="bank")


def bank(capture: Capture, *, balance_check: bool = True, fail_commit: bool = False) -> Bank:
    """A bank over a mock database where acct-1 holds 300, tracing into `capture`."""
    b = Bank(MockDatabase(fail_commit=fail_commit), capture.tracer("bank"), balance_check=balance_check)
    assert b.create_account("acct-1", 300).status == 201
    return b


def test_correct_bank_refuses_the_overdraft_and_the_rules_hold(tracecheck_capture: Capture) -> None:
    b = bank(tracecheck_capture)
    reply = b.withdraw_endpoint("acct-1", 500)
    assert (reply.status, reply.message) == (500, "insufficient funds")
    assert b.balance("acct-1").body["balance"] == 300

    report = assert_holds(BANK_MODEL, tracecheck_capture)
    assert report.model(SEED_MODEL).traces == 1, "the seed's model applied"
    # As in the Rust seed_unit test: one overdraft leaves three models vacuous.
    assert report.vacuous == [
        "Commits never fail",
        "A withdrawal the balance covers is answered 200",
        "The balance is read before it is written",
    ]


def test_an_overdraft_and_a_covered_withdrawal_apply_every_rule(tracecheck_capture: Capture) -> None:
    b = bank(tracecheck_capture)
    assert b.withdraw_endpoint("acct-1", 500).status == 500
    assert b.withdraw_endpoint("acct-1", 100).status == 200
    assert b.balance("acct-1").body["balance"] == 200
    # --strict: no model vacuous, no name the spans lack.
    report = assert_holds(BANK_MODEL, tracecheck_capture, strict=True)
    assert len(report.models) == 7
    assert report.vacuous == []
    assert all(m.traces >= 1 for m in report.models)


# The first part is the Rust seed_unit test's snapshot, line for line
# (tests/it/snapshots/tests__it__seed_unit__seed_unit_buggy_bank_commits_the_overdraft_and_the_model_fails.snap);
# the Rust test checks one model, this one the whole file, hence the list of the other six.
EXPECTED_BUGGY = """\
tracecheck: 1 of 7 rules failed on the captured spans (../../queries/bank.model; 7 spans in 1 trace)

FAIL "Accounts cannot withdraw more than their balance"  (applied to 1 trace; 3 violations in 1 trace)

      model "Accounts cannot withdraw more than their balance" {
          when span(name = "fetch-balance").tag("amount") < span(name = "withdrawal").tag("amount")
  ✗ 1     expect span(name = "rollback")
  ✗ 2     expect no span(name = "commit")
  ✗ 3     expect span(name = "/:account/withdraw", http.status_code = 500)
      }

  trace <trace id>  (7 spans, <duration>)
    /:account/withdraw  bank <duration>  http.status_code=200
      fetch-balance     bank <duration>  amount=300
        select-balance  bank <duration>
      withdrawal        bank <duration>  amount=500
        begin           bank <duration>
        update-balance  bank <duration>
        commit          bank <duration>  ◀ witness of clause 2
    ✗ clause 1 fails: no span matched, expected at least 1
    ✗ clause 2 fails: 1 span matched (◀), expected none
    ✗ clause 3 fails: no span matched, expected at least 1

  warning: span name "rollback" occurs nowhere in the data

ok      "Commit only after a successful balance check" (applied to 1 trace)
ok      "Every withdrawal ends its transaction exactly once" (applied to 1 trace)
ok      "Withdrawals take less than 250 ms" (applied to 1 trace)
ok      "Commits never fail" (applied to 1 trace)
        warning: span name "rollback" occurs nowhere in the data
vacuous "A withdrawal the balance covers is answered 200": `when` never held in this data, so the model proved nothing
ok      "The balance is read before it is written" (applied to 1 trace)"""


def test_buggy_bank_commits_the_overdraft_and_the_message_shows_it(tracecheck_capture: Capture) -> None:
    b = bank(tracecheck_capture, balance_check=False)
    reply = b.withdraw_endpoint("acct-1", 500)
    assert reply.status == 200, "the seed's bug: the overdraft is committed"
    assert b.balance("acct-1").body["balance"] == -200

    with pytest.raises(TracecheckFailure) as failed:
        assert_holds(BANK_MODEL, tracecheck_capture)
    assert isinstance(failed.value, AssertionError)
    assert redact(str(failed.value)) == EXPECTED_BUGGY
    # The same text as the Rust test's snapshot, from the FAIL line to the model's warning.
    snapshot = (RUST_SNAPSHOT.read_text(encoding="utf-8").split("---\n", 2)[2]).rstrip("\n")
    rust_body = snapshot.split("\n", 1)[1]
    assert rust_body in EXPECTED_BUGGY, rust_body
    report = failed.value.report
    assert report.failing == [SEED_MODEL]
    assert report.model(SEED_MODEL).failing_clauses == [1, 2, 3]

    # A test of the faulty code asserts the violation instead.
    report = assert_violates(BANK_MODEL, tracecheck_capture)
    assert report.violations[SEED_MODEL] == 3
    assert sum(report.violations.values()) == 3


def test_assert_violates_fails_on_the_correct_bank(tracecheck_capture: Capture) -> None:
    bank(tracecheck_capture).withdraw_endpoint("acct-1", 500)
    with pytest.raises(TracecheckFailure) as failed:
        assert_violates(BANK_MODEL, tracecheck_capture)
    message = str(failed.value)
    assert message.startswith(
        "tracecheck: expected a violation, but every rule holds on the captured spans "
        "(../../queries/bank.model; 6 spans in 1 trace)\n"
    ), message
    assert "\ncaptured:\n" in message
    assert "        rollback        bank" in message


def test_a_failing_commit_breaks_the_commit_and_status_rules(tracecheck_capture: Capture) -> None:
    b = bank(tracecheck_capture, fail_commit=True)
    reply = b.withdraw_endpoint("acct-1", 100)
    assert (reply.status, reply.message) == (500, "database is locked")
    report = check(BANK_MODEL, tracecheck_capture)
    assert not report.holds
    # The failed COMMIT is followed by a ROLLBACK: two ends of one transaction.
    assert report.failing == [
        "Every withdrawal ends its transaction exactly once",
        "Commits never fail",
        "A withdrawal the balance covers is answered 200",
    ]
    assert report.model("Commits never fail").failing_clauses == [3]
    with pytest.raises(TracecheckFailure, match=r"✗ clause 3 fails for c = commit: 1 span matched \(◀\), expected exactly 0"):
        assert_holds(BANK_MODEL, tracecheck_capture)


def test_a_model_that_does_not_parse_fails_with_its_position(tracecheck_capture: Capture, tmp_path) -> None:
    bank(tracecheck_capture).withdraw_endpoint("acct-1", 500)
    bad = tmp_path / "typo.model"
    bad.write_text('model "Overdrafts roll back" {\n    expect span(nmae = "rollback")\n}\n')
    for call in (assert_holds, assert_violates, check):
        with pytest.raises(TracecheckError) as failed:
            call(bad, tracecheck_capture)
        message = str(failed.value)
        assert not isinstance(failed.value, AssertionError), "a typo is not a violation"
        assert f"{bad}:2:17" in message, message
        assert "unknown field `nmae`" in message and "did you mean `name`?" in message, message
    # Model text: named <text>, as the Rust helpers name it.
    with pytest.raises(TracecheckError, match="<text>:2:17"):
        assert_holds(bad.read_text(), tracecheck_capture)
    # With the bank's file beside it, nothing runs.
    with pytest.raises(TracecheckError, match="typo.model:2:17"):
        assert_holds([BANK_MODEL, bad], tracecheck_capture)


AUDIT = """
model "Transfers are audited" {
    when span(name = "transfer")
    expect span(name = "audit") child of span(name = "transfer")
}
"""


def test_a_vacuous_model_is_reported_as_such(tracecheck_capture: Capture) -> None:
    bank(tracecheck_capture).withdraw_endpoint("acct-1", 500)
    # Alone, it proves nothing: the assertion fails and says so.
    with pytest.raises(TracecheckFailure) as failed:
        assert_holds(AUDIT, tracecheck_capture)
    message = str(failed.value)
    assert message.startswith(
        "tracecheck: no model applied to the captured spans, so nothing was checked (<text>; 6 spans in 1 trace)\n"
    ), message
    assert '\nvacuous "Transfers are audited": `when` never held in this data, so the model proved nothing\n' in message
    assert '        warning: span name "transfer" occurs nowhere in the data' in message
    assert "\ncaptured:\n" in message and "/:account/withdraw  bank" in message
    report = check(AUDIT, tracecheck_capture)
    assert report.holds and report.vacuous == ["Transfers are audited"]

    # Beside a model that applies it passes, unless strict.
    assert_holds([BANK_MODEL, AUDIT], tracecheck_capture)
    with pytest.raises(TracecheckFailure) as failed:
        assert_holds([BANK_MODEL, AUDIT], tracecheck_capture, strict=True)
    message = str(failed.value)
    assert message.startswith("tracecheck: 6 of 8 rules raised a warning, a failure in strict mode ("), message
    assert f"{os.path.abspath(BANK_MODEL)}, <text>; 6 spans in 1 trace)" in message.splitlines()[0]
    assert '\nvacuous "Transfers are audited": ' in message
    assert '\nvacuous "Commits never fail": ' in message


def test_nothing_captured_is_no_proof(tracecheck_capture: Capture) -> None:
    with pytest.raises(TracecheckFailure) as failed:
        assert_holds(BANK_MODEL, tracecheck_capture)
    message = str(failed.value)
    assert "(../../queries/bank.model; 0 spans in 0 traces)" in message
    assert "\nNo span was captured." in message


def test_captures_stay_apart() -> None:
    correct, buggy = Capture(service_name="bank"), Capture(service_name="bank")
    bank(correct).withdraw_endpoint("acct-1", 500)
    bank(buggy, balance_check=False).withdraw_endpoint("acct-1", 500)
    assert (len(correct), len(buggy)) == (6, 7)
    assert check(BANK_MODEL, correct).holds
    assert check(BANK_MODEL, buggy).failing == [SEED_MODEL]
    assert tracecheck.otlp(correct) != tracecheck.otlp(buggy)
