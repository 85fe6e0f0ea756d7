#!/usr/bin/env bash
# A real Apache Ballista cluster on this machine: 1 scheduler + 2 executors on 127.0.0.1, the bank
# models checked on it, and the same check on the local engine beside it.
#
#   scripts/ballista-cluster.sh            # install (once), start, check, stop
#   scripts/ballista-cluster.sh install    # only install the scheduler and executor binaries
#   TRACES=125000 scripts/ballista-cluster.sh   # a smaller dataset (default 1,250,000 traces ≈ 10M spans)
#
# The binaries are the released crates at version 55 (the one matching datafusion 55), built by
# `cargo install` into $BALLISTA_ROOT/bin. The executors read the dataset from the same path as the
# client, which is what a shared file system gives a real cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

root=${BALLISTA_ROOT:-$PWD/target/ballista}
version=55.0.0
work=${BENCH_DIR:-bench-data}
traces=${TRACES:-1250000}
models=${MODELS:-queries/bank.model}
port=${SCHEDULER_PORT:-50050}
# Task slots per executor (the executor's default: the machine's cores). Ballista 55 fails with
# "Invalid HashJoinExec, partition count mismatch 1!=2" on the bank models at 10M spans when a task
# gets fewer partitions than its stage has (one slot per executor): see ARCHITECTURE.md, "Engines".
vcores=${VCORES:-$(nproc)}

install() {
    for crate in ballista-scheduler ballista-executor; do
        if [ -x "$root/bin/$crate" ] && "$root/bin/$crate" --version 2>/dev/null | grep -q "$version"; then
            continue
        fi
        # One target folder for both crates: their DataFusion dependencies build once.
        CARGO_TARGET_DIR="$root/build" cargo install --locked --quiet --root "$root" "$crate" --version "$version"
    done
    "$root/bin/ballista-scheduler" --version
    "$root/bin/ballista-executor" --version
}

pids=()
stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}

run() {
    cargo build --release -q --features ballista
    bin="${CARGO_TARGET_DIR:-target}/release/tracecheck"
    ds="$work/check-bank-$traces"
    mkdir -p "$work"
    [ -d "$ds" ] || "$bin" gen bank -o "$ds" --traces "$traces" --seed 11
    ds=$(cd "$ds" && pwd) # executors resolve the same absolute path
    spans=$("$bin" sql "SELECT count(*) AS n FROM spans" --data "$ds" --format csv | tail -1)
    echo "dataset: $ds, $traces traces, $spans spans, $(du -sh "$ds" | cut -f1) of Parquet"

    logs="$work/ballista-logs"
    rm -rf "$logs" && mkdir -p "$logs"
    trap stop EXIT
    # Shuffle files of a finished job are deleted after 10 s (default 300 s), so seven jobs' files
    # do not pile up.
    "$root/bin/ballista-scheduler" --bind-host 127.0.0.1 --external-host 127.0.0.1 --bind-port "$port" \
        --finished-job-data-clean-up-interval-seconds 10 \
        >"$logs/scheduler.log" 2>&1 &
    pids+=($!)
    wait_port "$port"
    for i in 1 2; do
        base=$((port + 10 * i))
        mkdir -p "$logs/executor-$i"
        "$root/bin/ballista-executor" --bind-host 127.0.0.1 --external-host 127.0.0.1 \
            --bind-port "$base" --bind-grpc-port $((base + 1)) --bind-health-port $((base + 2)) \
            --scheduler-host 127.0.0.1 --scheduler-port "$port" --work-dir "$logs/executor-$i" \
            --vcores "$vcores" \
            >"$logs/executor-$i.log" 2>&1 &
        pids+=($!)
        wait_port "$base"
    done
    echo "cluster: scheduler 127.0.0.1:$port, executors 127.0.0.1:$((port + 10)) and 127.0.0.1:$((port + 20))"

    for engine in "ballista://127.0.0.1:$port" local; do
        name=${engine%%:*}
        /usr/bin/time -f "%e %M" -o "$work/ballista-time.txt" \
            "$bin" check "$models" --data "$ds" --engine "$engine" --format json -o "$work/report-$name.json" || true
        # GNU time puts "Command exited with non-zero status 1" (violations found) first.
        read -r wall mem < <(tail -1 "$work/ballista-time.txt")
        echo "$name: $wall s wall, client peak $((mem / 1024)) MiB"
        eval "wall_$name=$wall"
    done
    python3 - "$work/report-ballista.json" "$work/report-local.json" <<'EOF'
import json, sys
def verdicts(path):
    report = json.load(open(path))
    return [(m["title"], len(m["violations"]), sorted((v["clause"], v["trace_id"]) for v in m["violations"]))
            for f in report["files"] for m in f["models"]]
a, b = verdicts(sys.argv[1]), verdicts(sys.argv[2])
for title, n, _ in b:
    print(f"  {n:>7} violations  {title}")
print("same violations on both engines" if a == b else "ENGINES DISAGREE")
sys.exit(0 if a == b else 1)
EOF
    python3 -c "import sys; print(f'ballista / local = {float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$wall_ballista" "$wall_local"
}

case "${1:-all}" in
    install) install ;;
    run) run ;;
    all) install && run ;;
    *) echo "usage: $0 [install|run|all]" >&2; exit 2 ;;
esac
