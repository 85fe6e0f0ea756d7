#!/usr/bin/env bash
# `tracecheck check` against DuckDB running the same printed SQL on the same Parquet files.
#
#   benches/check.sh                  # 1,250,000 generated bank traces ≈ 10M spans, 3 runs each
#   TRACES=125000 RUNS=1 benches/check.sh
#
# For each model file (queries/bank.model: per-trace models; benches/slo-bench.model: p99 by service
# and error_rate by name per minute) it prints wall and CPU seconds and peak memory (GNU time) of
# `tracecheck check` and of DuckDB (Python package, see .ci/requirements.txt) running the output of
# `tracecheck explain`, and the ratio of wall times.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin="${CARGO_TARGET_DIR:-target}/release/tracecheck"
work=${BENCH_DIR:-bench-data}
traces=${TRACES:-1250000}
runs=${RUNS:-3}
ds="$work/check-bank-$traces"
mkdir -p "$work"
[ -d "$ds" ] || "$bin" gen bank -o "$ds" --traces "$traces" --seed 11
spans=$("$bin" sql "SELECT count(*) AS n FROM spans" --data "$ds" --format csv | tail -1)
echo "dataset: $traces traces, $spans spans, $(du -sh "$ds" | cut -f1) of Parquet"
for model in queries/bank.model benches/slo-bench.model; do
  sql="$work/$(basename "$model" .model).sql"
  "$bin" explain "$model" > "$sql"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/t1.txt" "$bin" check "$model" --data "$ds" --format json -o "$work/report.json" || true
    /usr/bin/time -f "%e %U %S %M" -o "$work/t2.txt" python3 benches/duckdb_run.py "$ds" "$sql" > "$work/duck.txt"
    read -r w1 u1 s1 m1 < "$work/t1.txt"
    read -r w2 u2 s2 m2 < "$work/t2.txt"
    python3 -c "
import sys
w1, c1, m1, w2, c2, m2 = float(sys.argv[1]), float(sys.argv[2]) + float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]) + float(sys.argv[7]), int(sys.argv[8])
print(f'$model: tracecheck {w1:.2f} s wall {c1:.2f} s cpu {m1/1024:,.0f} MiB | duckdb {w2:.2f} s wall {c2:.2f} s cpu {m2/1024:,.0f} MiB | ratio {w1/w2:.2f}')
" "$w1" "$u1" "$s1" "$m1" "$w2" "$u2" "$s2" "$m2"
  done
done
