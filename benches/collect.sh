#!/usr/bin/env bash
# Collector throughput: the load generator (examples/otlp_load.rs, a second process) sends export
# requests to `tracecheck collect` on loopback for SECONDS over OTLP/gRPC, then over OTLP/HTTP.
# Prints spans acknowledged per second, spans written (must equal acknowledged: read back with
# `tracecheck sql` after the collector's SIGTERM), requests refused while full, and the collector's
# peak memory (GNU time).
#
#   benches/collect.sh                       # 10 s per protocol, 4 connections, 50 traces per request
#   SECONDS_PER_RUN=5 CONNECTIONS=2 benches/collect.sh
#   TRACECHECK_BIN=/path/to/older/tracecheck benches/collect.sh   # the same load on another build
#   COLLECT_ARGS="--max-buffer-memory 128MB" benches/collect.sh      # extra collector flags
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin tracecheck --example otlp_load
target="${CARGO_TARGET_DIR:-target}/release"
bin="${TRACECHECK_BIN:-$target/tracecheck}"
load="$target/examples/otlp_load"
work=${BENCH_DIR:-bench-data}
secs=${SECONDS_PER_RUN:-10}
conns=${CONNECTIONS:-4}
traces=${TRACES_PER_REQUEST:-50}
mkdir -p "$work"
for proto in grpc http; do
  ds="$work/collect-$proto"
  rm -rf "$ds"
  /usr/bin/time -f "%e %U %S %M" -o "$work/collect-time.txt" \
    "$bin" collect -o "$ds" --grpc 127.0.0.1:0 --http 127.0.0.1:0 --trace-idle 1s ${COLLECT_ARGS:-} > "$work/collect-addr.txt" 2> "$work/collect-err.txt" &
  pid=$!
  while [ "$(wc -l < "$work/collect-addr.txt")" -lt 2 ]; do sleep 0.05; done
  addr=$(grep "otlp/$proto" "$work/collect-addr.txt" | awk '{print $4}')
  if [ "$proto" = grpc ]; then target_url="http://$addr"; flag=--grpc; else target_url="http://$addr/v1/traces"; flag=--http; fi
  result=$("$load" "$flag" "$target_url" --seconds "$secs" --connections "$conns" --traces "$traces")
  # The time's own pid is $pid; SIGTERM goes to the collector, its child.
  kill -TERM "$(pgrep -P "$pid")"
  wait "$pid" || true
  read -r wall user sys kib < <(tail -1 "$work/collect-time.txt")
  written=$("$bin" sql --data "$ds" --format csv "SELECT count(*) FROM spans" | tail -1)
  python3 - "$proto" "$result" "$written" "$kib" "$user" "$sys" <<'PY'
import json, sys
proto, r, written, kib, user, sys_ = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
print(f"{proto}: {r['spans_per_second']:,.0f} spans/s acknowledged ({r['spans_acked']:,} spans in {r['seconds']:.1f} s, "
      f"{r['requests']:,} requests, {r['refused_retried']} refused and retried, {r['failed']} failed); "
      f"written {written:,} ({'== acknowledged' if written == r['spans_acked'] else 'LOST %d' % (r['spans_acked'] - written)}); "
      f"collector cpu {user + sys_:.1f} s, peak {kib / 1024:,.0f} MiB")
PY
  tail -1 "$work/collect-err.txt"
done
