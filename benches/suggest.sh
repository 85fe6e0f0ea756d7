#!/usr/bin/env bash
# `tracecheck suggest` against `tracecheck check` of the seven bank models on the same dataset: the
# issue's budget is "no more than a few check runs".
#
#   benches/suggest.sh                    # 125,000 and 1,250,000 generated bank traces (≈1M, 10M spans)
#   SIZES=125000 RUNS=1 benches/suggest.sh
#
# Prints wall and CPU seconds and peak memory (GNU time) of `suggest --data GOOD`, of `suggest
# --data GOOD --data-bad BAD` (BAD: 20,000 traces with faults at rate 0.5) and of `check
# queries/bank.model --data GOOD`, and the ratios suggest / check. GOOD has no faults.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin="${CARGO_TARGET_DIR:-target}/release/tracecheck"
work=${BENCH_DIR:-bench-data}
runs=${RUNS:-3}
mkdir -p "$work"
bad="$work/suggest-bad-20000"
[ -d "$bad" ] || "$bin" gen bank -o "$bad" --traces 20000 --seed 12 --fault-rate 0.5 >/dev/null
secs() { python3 -c "import sys; print(f'{float(sys.argv[1]):.2f} s wall {float(sys.argv[2])+float(sys.argv[3]):.2f} s cpu {int(sys.argv[4])/1024:,.0f} MiB')" "$@"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }
for traces in ${SIZES:-125000 1250000}; do
  good="$work/suggest-good-$traces"
  [ -d "$good" ] || "$bin" gen bank -o "$good" --traces "$traces" --seed 11 --fault-rate 0 >/dev/null
  spans=$("$bin" sql "SELECT count(*) AS n FROM spans" --data "$good" --format csv | tail -1)
  echo "good: $traces traces, $spans spans, $(du -sh "$good" | cut -f1) of Parquet"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/t1.txt" "$bin" suggest --data "$good" -o "$work/suggested.model" 2>/dev/null
    /usr/bin/time -f "%e %U %S %M" -o "$work/t2.txt" "$bin" suggest --data "$good" --data-bad "$bad" -o "$work/suggested-bad.model" 2>/dev/null
    /usr/bin/time -f "%e %U %S %M" -o "$work/t3.txt" "$bin" check queries/bank.model --data "$good" --format json -o "$work/report.json" || true
    read -r w1 u1 s1 m1 < <(tail -1 "$work/t1.txt")
    read -r w2 u2 s2 m2 < <(tail -1 "$work/t2.txt")
    read -r w3 u3 s3 m3 < <(tail -1 "$work/t3.txt")
    echo "suggest $(secs "$w1" "$u1" "$s1" "$m1") | with --data-bad $(secs "$w2" "$u2" "$s2" "$m2") | check $(secs "$w3" "$u3" "$s3" "$m3") | suggest/check $(ratio "$w1" "$w3"), with bad $(ratio "$w2" "$w3")"
  done
  echo "rules: $(grep -c '^model\|^check' "$work/suggested.model") (with --data-bad: $(grep -c '^model\|^check' "$work/suggested-bad.model"))"
done
