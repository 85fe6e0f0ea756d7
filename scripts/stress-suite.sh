#!/usr/bin/env bash
# The flakiness check: the whole suite (scripts/test.sh, as CI runs it) N times in a row while two
# builds run beside it, stopping at the first failure.
#
#   scripts/stress-suite.sh [N]     # N defaults to 10
#
# The load: two loops, each building tracecheck (`cargo build --features ballista`, no incremental
# cache) from a copy of the committed tree into its own target folder under $STRESS_DIR (default
# /tmp/tracecheck-stress): the first build of each compiles DataFusion and everything else from
# scratch, the later ones recompile the crate after touching it. They run for as long as the suite
# does. The test binaries are built once before the load starts, so every run times the tests.
#
# The differential test (tests/it/differential.rs) draws new random cases every run; it runs 1,000
# of them here (TRACECHECK_DIFFERENTIAL_CASES; set it to change that), not the 10,000 of a plain
# `scripts/test.sh`, which were most of each 27-43-minute run under this load. Ten runs still draw
# 10,000.
#
# Output: one line per run on stdout (passed or failed, and how long it took), each run's whole
# output in $STRESS_DIR/run-K.log; exit 0 when all N passed, 1 at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-10}
root=${STRESS_DIR:-/tmp/tracecheck-stress}
mkdir -p "$root"
root=$(cd "$root" && pwd)

export TRACECHECK_DIFFERENTIAL_CASES=${TRACECHECK_DIFFERENTIAL_CASES:-1000}
echo "$runs runs of scripts/test.sh, differential cases per run: $TRACECHECK_DIFFERENTIAL_CASES"
cargo test --features ballista --no-run --quiet

load() {
    local dir="$root/load-$1"
    rm -rf "$dir/src"
    mkdir -p "$dir"
    git archive HEAD | tar -x -C "$dir"
    while true; do
        (cd "$dir" && CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$dir/target" \
            cargo build --features ballista --quiet >"$dir/build.log" 2>&1) || true
        touch "$dir/src/lib.rs"
    done
}
# Each loop is a session of its own (setsid), so stopping it stops the cargo and rustc it started.
loads=()
for i in 1 2; do
    setsid bash -c "$(declare -f load); root='$root'; load $i" &
    loads+=($!)
done
stop_load() {
    for pid in "${loads[@]}"; do
        kill -- "-$pid" 2>/dev/null || true
    done
}
trap stop_load EXIT

for k in $(seq 1 "$runs"); do
    log="$root/run-$k.log"
    start=$(date +%s)
    if scripts/test.sh >"$log" 2>&1; then
        echo "run $k/$runs: passed in $(($(date +%s) - start)) s ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1 /proc/loadavg))"
    else
        echo "run $k/$runs: FAILED after $(($(date +%s) - start)) s; the output is in $log"
        grep -E "^test .* FAILED|panicked at|^failures:" "$log" | head -20 || true
        exit 1
    fi
done
echo "all $runs runs passed"
