#!/usr/bin/env bash
# Five representative TraceQL queries (an attribute filter, a structural `>>`, a `by()` aggregate,
# a metrics query, a regex) with `tracecheck query` against DuckDB running the SQL that
# `tracecheck explain --traceql` prints, on the same Parquet files.
#
#   benches/traceql.sh                 # 1,250,000 generated bank traces ≈ 10M spans, 3 runs each
#   TRACES=125000 RUNS=1 benches/traceql.sh
#
# Prints wall and CPU seconds and peak memory (GNU time) of each, the row counts (which must be
# equal) and the ratio of wall times.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --features ballista
bin="${CARGO_TARGET_DIR:-target}/release/tracecheck"
work=${BENCH_DIR:-bench-data}
traces=${TRACES:-1250000}
runs=${RUNS:-3}
ds="$work/check-bank-$traces-v2"
mkdir -p "$work"
[ -d "$ds" ] || "$bin" gen bank -o "$ds" --traces "$traces" --seed 11
spans=$("$bin" sql "SELECT count(*) AS n FROM spans" --data "$ds" --format csv | tail -1)
echo "dataset: $traces traces, $spans spans, $(du -sh "$ds" | cut -f1) of Parquet"
secs() { python3 -c "import sys; print(f'{float(sys.argv[1]):.2f} s wall {float(sys.argv[2])+float(sys.argv[3]):.2f} s cpu {int(sys.argv[4])/1024:,.0f} MiB')" "$@"; }
queries=(
  'attribute|{ span.amount > 990 }'
  'structural|{ name = "withdrawal" } >> { name = "rollback" }'
  'by-aggregate|{ status = error } | by(resource.service.name) | count() > 1'
  'metrics|{ kind = server } | rate() by (resource.service.name)'
  'regex|{ name =~ "fetch-.*|roll.*" }'
)
for entry in "${queries[@]}"; do
  label=${entry%%|*}
  query=${entry#*|}
  sql="$work/traceql-$label.sql"
  "$bin" explain --traceql "$query" --data "$ds" | grep -v '^--' > "$sql"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/t1.txt" "$bin" query "$query" --data "$ds" --format csv -o "$work/traceql-out.csv"
    /usr/bin/time -f "%e %U %S %M" -o "$work/t2.txt" python3 benches/traceql_duckdb.py "$ds" "$sql" > "$work/duck.txt"
    read -r w1 u1 s1 m1 < <(tail -1 "$work/t1.txt")
    read -r w2 u2 s2 m2 < <(tail -1 "$work/t2.txt")
    ours=$(($(wc -l < "$work/traceql-out.csv") - 1))
    duck=$(cat "$work/duck.txt")
    [ "$ours" = "$duck" ] || { echo "$label: $ours rows here, $duck on DuckDB" >&2; exit 1; }
    echo "$label ($ours rows): tracecheck $(secs "$w1" "$u1" "$s1" "$m1") | duckdb $(secs "$w2" "$u2" "$s2" "$m2") | ratio $(python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$w1" "$w2")"
  done
done
