# Sourced by scripts/python-tests.sh and scripts/node-tests.sh (with `root` set to the repository):
# exports TRACECHECK_BIN, the binary the Python and Node helpers run. Default: the debug binary
# cargo builds — under CARGO_TARGET_DIR when one is shared between checkouts — built with
# `cargo build --features ballista` when it is missing or predates `check --data -` / `--expect`.
if [ -z "${TRACECHECK_BIN:-}" ]; then
    TRACECHECK_BIN=$(realpath -m "${CARGO_TARGET_DIR:-$root/target}")/debug/tracecheck
    if ! "$TRACECHECK_BIN" check --help 2>/dev/null | grep -q -- '--expect'; then
        cargo build --features ballista
    fi
fi
export TRACECHECK_BIN
