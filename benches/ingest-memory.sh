#!/usr/bin/env bash
# Ingest under a memory bound (`ingest --memory`, spill files by trace-id range), the figures of
# BENCHMARKS.md "Ingest larger than memory".
#
#   benches/ingest-memory.sh              # the 1M-span protobuf input of benches/ingest.sh at
#                                         # --memory 16GB (held whole), 2GB, 1GB, 512MB, 256MB
#   MEMORY="1GB 256MB" RUNS=1 benches/ingest-memory.sh
#   HUNDRED=1 benches/ingest-memory.sh    # also 100M spans: 100 generated protobuf files (19 GB),
#                                         # ingested with the default 1 GiB, checked, and the
#                                         # verdicts compared with the summed ground truth
#                                         # (needs ~60 GB free; about an hour on 2 cores)
#
# Prints wall and CPU seconds and peak memory (GNU time) of each run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin="$(pwd)/${CARGO_TARGET_DIR:-target}/release/tracecheck"
work=${BENCH_DIR:-bench-data}
runs=${RUNS:-3}
memory=${MEMORY:-16GB 2GB 1GB 512MB 256MB}
mkdir -p "$work"
input="$work/bank-125000.proto"
[ -f "$input" ] || "$bin" gen bank -o "$input" --traces 125000 --seed 1 --format otlp-proto --truth "$input.truth.json"
timed() { # label, command...
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "${@:2}"
  read -r wall user sys kib < <(tail -1 "$work/time.txt")
  python3 -c "import sys; w,u,s,k=map(float,sys.argv[2:]); print(f'{sys.argv[1]}: {w:.2f} s wall, {u+s:.2f} s cpu, peak {k/1024:,.0f} MiB')" "$1" "$wall" "$user" "$sys" "$kib"
}
for m in $memory; do
  for _ in $(seq "$runs"); do
    rm -rf "$work/ds-memory"
    timed "1M spans, --memory $m" "$bin" ingest "$input" -o "$work/ds-memory" -q --memory "$m"
  done
done
rm -rf "$work/ds-memory"
[ -n "${HUNDRED:-}" ] || exit 0

in100="$work/in100m"
mkdir -p "$in100" "$work/in100m-truth"
for i in $(seq 0 99); do
  f="$in100/bank-$i.pb"
  [ -s "$f" ] || "$bin" gen bank --traces 125000 --seed $((1000 + i)) --format otlp-proto -o "$f" \
    --truth "$work/in100m-truth/truth-$i.json" 2>/dev/null
done
rm -rf "$work/ing100m"
timed "100M spans, ingest (--memory 1GiB)" "$bin" ingest "$in100" -o "$work/ing100m" -q
status=0
timed "100M spans, check queries/bank.model" "$bin" check queries/bank.model --data "$work/ing100m" \
  --format json -o "$work/check100m.json" || status=$?
[ "$status" -le 1 ] || exit "$status"
python3 - "$work" <<'PY'
# The bank verdicts against the summed ground truth of the 100 inputs (docs/BANK.md).
import glob, json, sys
work = sys.argv[1]
t = {}
for f in glob.glob(f"{work}/in100m-truth/truth-*.json"):
    for k, v in json.load(open(f))["faults"].items():
        t[k] = t.get(k, 0) + len(v)
got = {m["title"]: len(m["violations"]) for m in json.load(open(f"{work}/check100m.json"))["files"][0]["models"]}
want = {
    "Accounts cannot withdraw more than their balance": 3 * t["overdraft_committed"] + t["missing_rollback"] + t["wrong_status_code"],
    "Commit only after a successful balance check": 0,
    "Every withdrawal ends its transaction exactly once": t["missing_rollback"],
    "Withdrawals take less than 250 ms": t["slow_withdrawal"],
    "Commits never fail": t["error"],
    "A withdrawal the balance covers is answered 200": t["error"],
    "The balance is read before it is written": 0,
}
for k, v in want.items():
    print(f"{got.get(k)!s:>9} found {v:>9} injected  {k}")
sys.exit(0 if all(got.get(k) == v for k, v in want.items()) else "verdicts differ from the ground truth")
PY
