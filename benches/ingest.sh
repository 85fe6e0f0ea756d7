#!/usr/bin/env bash
# Ingest throughput: a generated bank workload of about 1M spans, as one OTLP protobuf request and as
# canonical OTLP/JSON, ingested into a Parquet dataset. Prints wall and CPU time and peak memory of each
# run (GNU time); spans per CPU-second is the "per core" figure in BENCHMARKS.md.
#
#   benches/ingest.sh            # 125,000 traces ≈ 1.0M spans, 3 runs per format
#   TRACES=12500 RUNS=1 benches/ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin="${CARGO_TARGET_DIR:-target}/release/tracecheck"
work=${BENCH_DIR:-bench-data}
traces=${TRACES:-125000}
runs=${RUNS:-3}
mkdir -p "$work"
for fmt in proto json; do
  input="$work/bank-$traces.$fmt"
  [ -f "$input" ] || "$bin" gen bank -o "$input" --traces "$traces" --seed 1 --format "otlp-$fmt" --truth "$input.truth.json"
done
spans=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['spans'])" "$work/bank-$traces.proto.truth.json")
echo "input: $traces traces, $spans spans; proto $(stat -c %s "$work/bank-$traces.proto") bytes, json $(stat -c %s "$work/bank-$traces.json") bytes"
for fmt in proto json; do
  for _ in $(seq "$runs"); do
    rm -rf "$work/ds-$fmt"
    /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "$bin" ingest "$work/bank-$traces.$fmt" -o "$work/ds-$fmt" -q
    read -r wall user sys kib < <(tail -1 "$work/time.txt")
    python3 -c "
import sys
spans, wall, user, sys_, kib = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
cpu = user + sys_
print(f'$fmt: {wall:.2f} s wall, {cpu:.2f} s cpu, {spans/wall:,.0f} spans/s wall, {spans/cpu:,.0f} spans per cpu-second, peak {kib/1024:,.0f} MiB')
" "$spans" "$wall" "$user" "$sys" "$kib"
  done
done
