#!/usr/bin/env bash
# Live checking throughput: N traces of the bank workload (with injected faults) are sent by the
# load generator (examples/otlp_load.rs --bank, a second process) over OTLP/gRPC to
# `tracecheck watch queries/bank.model` (all seven models active). Prints the intake rate, the
# end-to-end rate (spans / time until every trace was checked), the violation latency from trace
# completion to report (p50/p99, from the events' latency_ms), the violations, and peak memory.
#
#   benches/watch.sh                 # 100,000 traces, 4 connections, 50 traces per request
#   TRACES=20000 benches/watch.sh
#   RATE=50000 TRACES=100000 benches/watch.sh   # paced: a sustained 50,000 spans/s, not a burst
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin tracecheck --example otlp_load
target="${CARGO_TARGET_DIR:-target}/release"
bin="$target/tracecheck"
load="$target/examples/otlp_load"
work=${BENCH_DIR:-bench-data}
traces=${TRACES:-100000}
idle=${IDLE:-1s}
mkdir -p "$work"
rm -f "$work/watch-events.jsonl"
/usr/bin/time -f "%e %U %S %M" -o "$work/watch-time.txt" \
  "$bin" watch queries/bank.model --grpc 127.0.0.1:0 --no-http --metrics 127.0.0.1:0 \
  --trace-idle "$idle" --events "$work/watch-events.jsonl" 2> "$work/watch-err.txt" &
pid=$!
while [ "$(grep -c listening "$work/watch-err.txt" || true)" -lt 2 ]; do sleep 0.05; done
grpc=$(grep "otlp/grpc" "$work/watch-err.txt" | awk '{print $4}')
metrics=$(grep "metrics listening" "$work/watch-err.txt" | awk '{print $4}')
start=$(date +%s.%N)
result=$("$load" --grpc "http://$grpc" --bank "$traces" --connections "${CONNECTIONS:-4}" --traces "${TRACES_PER_REQUEST:-50}" ${RATE:+--rate "$RATE"})
# Wait until every trace was checked.
while :; do
  checked=$(curl -s "http://$metrics/metrics" | awk '/^tracecheck_traces_checked_total/ {print $2}')
  [ "${checked:-0}" -ge "$traces" ] && break
  sleep 0.05
done
end=$(date +%s.%N)
curl -s "http://$metrics/metrics" > "$work/watch-metrics.txt"
kill -TERM "$(pgrep -P "$pid")"
wait "$pid" || true
# GNU time puts "Command exited with non-zero status 1" first when watch reported violations.
read -r wall user sys kib < <(tail -1 "$work/watch-time.txt")
python3 - "$result" "$start" "$end" "$kib" "$user" "$sys" "$work/watch-events.jsonl" "$work/watch-metrics.txt" <<'PY'
import json, sys, statistics
r = json.loads(sys.argv[1]); end = float(sys.argv[3])
# From the first send: the generator prepares its requests first (seconds for 100,000 traces).
start = r.get("started_unix", float(sys.argv[2]))
kib, cpu = int(sys.argv[4]), float(sys.argv[5]) + float(sys.argv[6])
events = [json.loads(l) for l in open(sys.argv[7])]
lat = sorted(e["latency_ms"] for e in events if e["event"] == "violation")
metrics = {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1]) for l in open(sys.argv[8]) if l.strip() and not l.startswith("#")}
def q(p): return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
spans = r["spans_acked"]
print(f"intake: {spans:,} spans in {r['seconds']:.2f} s = {spans / r['seconds']:,.0f} spans/s "
      f"({r['refused_retried']} requests refused and retried)")
print(f"end to end: all {int(metrics['tracecheck_traces_checked_total']):,} traces checked {end - start:.2f} s after the first send = "
      f"{spans / (end - start):,.0f} spans/s")
print(f"violations: {len(lat):,}; latency from trace completion to report: p50 {q(0.5):.0f} ms, p99 {q(0.99):.0f} ms, max {lat[-1] if lat else 0:.0f} ms")
print(f"watch process: cpu {cpu:.1f} s, peak {kib / 1024:,.0f} MiB")
PY
