#!/usr/bin/env bash
# The Python test suites, against the real tracecheck binary: the package (python/tests) and the
# Python bank (examples/bank-python/tests, which checks ../../queries/bank.model).
#
#   scripts/python-tests.sh                # venv, installs, then pytest on both suites
#   scripts/python-tests.sh -k vacuous     # extra arguments go to both pytest runs
#
# - A virtual environment in target/python-venv (made once, reused; remade if its Python is gone).
# - pip installs the pinned packages of examples/bank-python/requirements.txt (only when that file
#   changed since the last install) and the tracecheck package from python/ (every run: it is what
#   is tested).
# - TRACECHECK_BIN: the binary the helpers run; default target/debug/tracecheck, built with
#   `cargo build --features ballista` when it is missing or predates `check --data -`.
# Exits non-zero when either suite fails (both always run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

venv=$(realpath -m "${CARGO_TARGET_DIR:-$root/target}")/python-venv
requirements=examples/bank-python/requirements.txt
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv"
    # Debian's python3 needs its python3-venv package for this.
    python3 -m venv "$venv"
fi
py=$venv/bin/python
pip=("$py" -m pip --disable-pip-version-check --quiet)
if ! cmp -s "$requirements" "$venv/.installed-requirements"; then
    "${pip[@]}" install -r "$requirements"
    cp "$requirements" "$venv/.installed-requirements"
fi
# From the repository, as a user installs it; the pins above keep its dependencies where they are.
"${pip[@]}" install --force-reinstall --no-deps ./python
"${pip[@]}" check >/dev/null || "${pip[@]}" check

. scripts/tracecheck-bin.sh
# No __pycache__ folders in the work tree.
export PYTHONDONTWRITEBYTECODE=1

status=0
suite() {
    local dir=$1
    shift
    local rc=0
    (cd "$dir" && "$py" -m pytest -p no:cacheprovider "$@") || rc=$?
    # pytest's 5 is "no test collected": a failure, unless arguments (-k ...) selected tests of the
    # other suite only.
    if [ "$rc" -eq 5 ] && [ $# -gt 0 ]; then rc=0; fi
    if [ "$rc" -ne 0 ]; then status=1; fi
}
echo "== python/tests (the tracecheck package)"
suite python "$@"
echo "== examples/bank-python/tests (the Python bank)"
suite examples/bank-python "$@"
exit $status
