#!/usr/bin/env bash
# `tracecheck check` against DuckDB running the same printed SQL on the same Parquet files, and (with
# OLD=1) on the same rows stored in the previous layout.
#
#   benches/check.sh                  # 1,250,000 generated bank traces ≈ 10M spans, 3 runs each
#   TRACES=125000 RUNS=1 benches/check.sh
#   OLD=1 benches/check.sh            # also the same rows in the version-1 layout
#
# For each model file (queries/bank.model: per-trace models; benches/slo-bench.model: p99 by service
# and error_rate by name per minute) it prints wall and CPU seconds and peak memory (GNU time) of
# `tracecheck check` and of DuckDB (Python package, see .ci/requirements.txt) running the output of
# `tracecheck explain`, and the ratio of wall times. With OLD=1, benches/relayout_v1.py writes the
# same rows in the schema-version-1 order into a second dataset, and this build's `check` runs on it
# too in each round ("old layout"), comparing the verdicts.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin="${CARGO_TARGET_DIR:-target}/release/tracecheck"
work=${BENCH_DIR:-bench-data}
traces=${TRACES:-1250000}
runs=${RUNS:-3}
ds="$work/check-bank-$traces-v2"
mkdir -p "$work"
[ -d "$ds" ] || "$bin" gen bank -o "$ds" --traces "$traces" --seed 11
old=""
if [ -n "${OLD:-}" ]; then
  # The same rows in the schema-version-1 order (every table by trace), written by pyarrow.
  old="$work/check-bank-$traces-v1"
  [ -d "$old" ] || python3 benches/relayout_v1.py "$ds" "$old"
  echo "old layout: $old, $(du -sh "$old" | cut -f1) of Parquet"
fi
spans=$("$bin" sql "SELECT count(*) AS n FROM spans" --data "$ds" --format csv | tail -1)
echo "dataset: $traces traces, $spans spans, $(du -sh "$ds" | cut -f1) of Parquet"
secs() { python3 -c "import sys; print(f'{float(sys.argv[1]):.2f} s wall {float(sys.argv[2])+float(sys.argv[3]):.2f} s cpu {int(sys.argv[4])/1024:,.0f} MiB')" "$@"; }
for model in queries/bank.model benches/slo-bench.model; do
  sql="$work/$(basename "$model" .model).sql"
  "$bin" explain "$model" > "$sql"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/t1.txt" "$bin" check "$model" --data "$ds" --format json -o "$work/report.json" || true
    /usr/bin/time -f "%e %U %S %M" -o "$work/t2.txt" python3 benches/duckdb_run.py "$ds" "$sql" > "$work/duck.txt"
    read -r w1 u1 s1 m1 < <(tail -1 "$work/t1.txt")
    read -r w2 u2 s2 m2 < <(tail -1 "$work/t2.txt")
    line="$model: tracecheck $(secs "$w1" "$u1" "$s1" "$m1") | duckdb $(secs "$w2" "$u2" "$s2" "$m2") | ratio $(python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$w1" "$w2")"
    if [ -n "$old" ]; then
      /usr/bin/time -f "%e %U %S %M" -o "$work/t3.txt" "$bin" check "$model" --data "$old" --format json -o "$work/report-old.json" || true
      read -r w3 u3 s3 m3 < <(tail -1 "$work/t3.txt")
      python3 -c "
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
strip = lambda r: [[(m['title'], len(m['violations'])) for m in f['models']] for f in r['files']]
sys.exit(0 if strip(a) == strip(b) else 'different verdicts on the two layouts')
" "$work/report.json" "$work/report-old.json"
      line="$line | old layout $(secs "$w3" "$u3" "$s3" "$m3") | new/old $(python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$w1" "$w3")"
    fi
    echo "$line"
  done
done
