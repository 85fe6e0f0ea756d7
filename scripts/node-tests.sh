#!/usr/bin/env bash
# The Node test suites, against the real tracecheck binary: the npm package (js/: node:test, in
# CommonJS and as an ES module, and its TypeScript typings with tsc) and the Node bank
# (examples/bank-node: node:test, including Express and pg under the official auto-instrumentations,
# then Vitest and Jest), which check ../../queries/bank.model.
#
#   scripts/node-tests.sh                       # npm ci in both folders, then every suite
#   scripts/node-tests.sh --test-name-pattern=vacuous   # extra arguments go to the node:test runs
#
# - `npm ci` from the committed package-lock.json files (exact versions). examples/bank-node installs
#   the package from ../../js as a copy (its .npmrc: install-links=true), as a user gets it.
# - TRACECHECK_BIN: the binary the helpers run; default target/debug/tracecheck, built with
#   `cargo build --features ballista` when it is missing or predates `check --data -`.
# Exits non-zero when any suite fails (all always run). Takes about 45 s (npm ci: 15 s).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "scripts/node-tests.sh: node and npm are needed (Node.js 20.19 or later)" >&2
    exit 2
fi
# The OpenTelemetry SDK 2.x wants Node >= 20.6, Vitest 4 (through Vite) >= 20.19.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    echo "scripts/node-tests.sh: Node.js $(node --version) is too old; 20.19 or later is needed" >&2
    exit 2
fi

. scripts/tracecheck-bin.sh
# The failure messages in the tests are compared without colours.
export NO_COLOR=1

npm_ci() {
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
}
echo "== npm ci (js, examples/bank-node)"
npm_ci js
npm_ci examples/bank-node

status=0
# node:test's summary comes last, so the run closes with a test runner's totals.
echo "== js: the typings (tsc)"
(cd js && npx --no-install tsc -p test/types) || status=1
echo "== examples/bank-node: Vitest"
(cd examples/bank-node && npx --no-install vitest run) || status=1
echo "== examples/bank-node: Jest"
(cd examples/bank-node && npx --no-install jest) || status=1
echo "== js: node:test (CommonJS and ES module)"
(cd js && node --test "$@" test/*.test.js test/*.test.mjs) || status=1
echo "== examples/bank-node: node:test"
(cd examples/bank-node && node --test "$@" test/*.test.js) || status=1
exit $status
