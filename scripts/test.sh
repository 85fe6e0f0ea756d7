#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every test.
#
#   scripts/test.sh                  # install (only what is missing), then cargo test --features ballista,
#                                    # then the Python and Node helpers' suites (scripts/python-tests.sh,
#                                    # scripts/node-tests.sh)
#   scripts/test.sh --test it fetch  # extra arguments go to cargo test (and skip the Python/Node suites)
#
# Needs: a Rust toolchain, Python 3 with pip, and the system package manager (apt) for Chromium.
# Installed when missing: the Python packages of .ci/requirements.txt (pyarrow and DuckDB read our
# Parquet files and run the printed SQL; the official OpenTelemetry SDK sends spans to `collect`),
# and Chromium (headless, it opens the HTML reports in tests/it/html.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

# Python packages: pip installs them for this user. Debian's system Python refuses a plain
# `pip install` (PEP 668, "externally managed"); the tests need the packages importable by the
# `python3` on PATH, so that case retries with --break-system-packages (user site only).
if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "scripts/test.sh: python3 has no pip; install it (Debian: apt-get install python3-pip)" >&2
    exit 2
fi
pip_install() {
    python3 -m pip install --quiet --disable-pip-version-check "$@" -r .ci/requirements.txt
}
if ! python3 - <<'PY' 2>/dev/null
import importlib.metadata as m, re, sys
for line in open(".ci/requirements.txt"):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, version = re.split("==", line)
    if m.version(name) != version:
        sys.exit(1)
PY
then
    pip_install 2>/dev/null || pip_install --user 2>/dev/null || pip_install --user --break-system-packages
fi

# Chromium: apt only runs when it is missing.
if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# Python's venv (the Python helpers' suites run in one): Debian splits ensurepip into python3-venv.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi

# The `ballista` feature: the tests compare Apache Ballista with the local engine.
cargo test --features ballista "$@"

# With arguments, only the cargo tests they select; without, also the Python and Node helpers'
# suites (issue: unit tests with traces for Python and Node services), against the binary the
# cargo tests built.
if [ $# -eq 0 ]; then
    scripts/python-tests.sh
    if [ -x scripts/node-tests.sh ]; then
        scripts/node-tests.sh
    fi
fi
