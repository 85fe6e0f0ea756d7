"""The cost of one Python unit test with tracecheck: capture the spans of the bank's withdrawals
(mock database) and assert that the seven models of ../../queries/bank.model hold.

    TRACECHECK_BIN=../../target/debug/tracecheck python bench_cost.py               # 20 runs, 2 withdrawals
    TRACECHECK_BIN=../../target/release/tracecheck python bench_cost.py --withdrawals 1000

Each run makes a fresh Capture and bank, does the withdrawals (half overdrafts refused, half
covered), then `assert_holds(models, capture)`: the spans are encoded as OTLP and checked by the
binary in a process of its own. Prints the medians of the whole test, of the capture (making the
spans) and of the check (encoding, starting the binary, checking, reading its answer).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bank import Bank, MockDatabase  # noqa: E402
from tracecheck import Capture, assert_holds, find_binary  # noqa: E402

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "queries", "bank.model")


def one_test(withdrawals: int) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    capture = Capture(service_name="bank")
    bank = Bank(MockDatabase({"acct-1": 10**12}), capture.tracer("bank"))
    for i in range(withdrawals):
        # Even: an overdraft of a small account, refused; odd: a covered withdrawal.
        if i % 2 == 0:
            bank.create_account(f"small-{i}", 300)
            assert bank.withdraw_endpoint(f"small-{i}", 500).status == 500
        else:
            assert bank.withdraw_endpoint("acct-1", 100).status == 200
    t1 = time.perf_counter()
    report = assert_holds(MODELS, capture)
    t2 = time.perf_counter()
    assert len(report.models) == 7
    return t1 - t0, t2 - t1, len(capture)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--withdrawals", type=int, default=2, help="traces per test (default 2)")
    args = parser.parse_args()
    one_test(args.withdrawals)  # warm up: imports, the binary's pages in the page cache
    capture, check, total = [], [], []
    spans = 0
    for _ in range(args.runs):
        c, k, spans = one_test(args.withdrawals)
        capture.append(c)
        check.append(k)
        total.append(c + k)
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    print(f"binary: {find_binary()}")
    print(f"{args.runs} runs of {args.withdrawals} withdrawals ({spans} spans), medians:")
    print(f"  test (capture + check of the 7 bank models): {ms(total):8.1f} ms")
    print(f"  capture (the SDK making the spans):          {ms(capture):8.1f} ms")
    print(f"  check (OTLP encoding + tracecheck check):    {ms(check):8.1f} ms")
    print(f"  test min / max: {min(total) * 1000:.1f} / {max(total) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
