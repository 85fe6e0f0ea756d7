#!/usr/bin/env bash
# Fuzzing: runs every cargo-fuzz target of fuzz/ (the decoders, the model compiler down to
# DataFusion plans, the OTLP/HTTP intake) for MINUTES minutes each, one after another.
#
#   scripts/fuzz.sh                  # 10 minutes per target
#   scripts/fuzz.sh 1                # a quick pass
#   FUZZ_TARGETS="model_compile otlp_json" scripts/fuzz.sh 30
#   nice -n 19 scripts/fuzz.sh       # on a shared machine (CARGO_BUILD_JOBS=1 to build on one core)
#
# Needs the nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz if missing.
# Corpora are seeded at every run from the repository's fixtures (tests/fixtures, tests/cases,
# queries, docs) into fuzz/corpus/<target>/, which keeps what libFuzzer adds between runs; crashes
# land in fuzz/artifacts/<target>/ and each run's log in fuzz/artifacts/<target>.log. None of these
# is committed. A crash found once is kept, minimised, in fuzz/regressions/.
#
# Prints per target: executions, executions per second, coverage, crashes. Exits 1 if any target
# crashed, naming the reproducer (re-run one with `cargo +nightly fuzz run -O -a TARGET FILE`).
# The targets are built once, then each binary runs for MINUTES minutes.
#
# Dictionaries: fuzz/dicts/. Environment: FUZZ_TARGETS (a subset, space-separated), FUZZ_RSS_MB
# (default 2048), FUZZ_ARGS (extra libFuzzer flags, e.g. "-seed=1"), FUZZ_VALID_JSON_ONLY=1 (the
# decoder targets skip malformed JSON: a way past a known bug, see fuzz/fuzz_targets/common.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-10}"
if ! [[ "$minutes" =~ ^[0-9]+$ ]] || [ "$minutes" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [MINUTES]  (a whole number of minutes per target, default 10)" >&2
    exit 2
fi
seconds=$((minutes * 60))
rss_mb="${FUZZ_RSS_MB:-2048}"
# -O: optimised; -a: debug assertions and overflow checks on (an overflow is a bug found).
build_flags=(-O -a)

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "scripts/fuzz.sh: the nightly toolchain is needed: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

all_targets=$(cargo +nightly fuzz list)
targets="${FUZZ_TARGETS:-$all_targets}"
for t in $targets; do
    if ! grep -qx "$t" <<<"$all_targets"; then
        echo "scripts/fuzz.sh: no fuzz target '$t'; the targets are: $(echo $all_targets)" >&2
        exit 2
    fi
done

# Largest input per target: whole trace files for the decoders, model files are small.
max_len() {
    case "$1" in
        model_compile) echo 16384 ;;
        *) echo 65536 ;;
    esac
}

# Tokens libFuzzer splices into inputs: the model language, or JSON and the formats' keys.
dict() {
    case "$1" in
        model_compile) echo "-dict=fuzz/dicts/model_compile.dict" ;;
        otlp_proto) ;;
        *) echo "-dict=fuzz/dicts/json.dict" ;;
    esac
}

# ---- seeds -------------------------------------------------------------------------------------
corpus=fuzz/corpus
artifacts=fuzz/artifacts
mkdir -p "$corpus" "$artifacts"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT

# Trace files under 1 MB (the Parquet datasets and non-trace files are not seeds).
mapfile -t json_files < <(find tests/fixtures tests/cases -type f \( -name '*.json' -o -name '*.jsonl' \) \
    -size -1024k | sort)
mapfile -t model_files < <(find queries tests/cases -type f -name '*.model' -size -1024k | sort)
mkdir -p "$seeds/json" "$seeds/proto" "$seeds/model"
for f in "${json_files[@]}"; do cp "$f" "$seeds/json/$(tr / _ <<<"$f")"; done
for f in "${model_files[@]}"; do cp "$f" "$seeds/model/$(tr / _ <<<"$f")"; done
# No protobuf fixtures in the repository: the OTLP JSON ones re-encoded, and the models of the docs.
if command -v python3 >/dev/null; then
    python3 fuzz/seeds.py proto "$seeds/proto" "${json_files[@]}"
    python3 fuzz/seeds.py models "$seeds/model" docs/*.md README.md
else
    echo "scripts/fuzz.sh: no python3, so no protobuf seeds and no models from the docs" >&2
fi

seed() { # seed TARGET DIR [PREFIX_BYTE_OCTAL] [gzip]: copies DIR's files into the target's corpus
    local dir="$corpus/$1" src="$2" prefix="${3:-}" gz="${4:-}" f out
    mkdir -p "$dir"
    for f in "$src"/*; do
        [ -f "$f" ] || continue
        out="$dir/seed-${prefix:+$prefix-}${gz:+gz-}$(basename "$f")"
        {
            [ -n "$prefix" ] && printf "\\$prefix"
            if [ -n "$gz" ]; then gzip -c -n "$f"; else cat "$f"; fi
        } >"$out"
    done
}
for t in $targets; do
    case "$t" in
        model_compile) seed "$t" "$seeds/model" ;;
        otlp_proto) seed "$t" "$seeds/proto" ;;
        # First byte: bit 0 JSON, bit 1 gzip (see fuzz/fuzz_targets/otlp_http_intake.rs).
        otlp_http_intake)
            seed "$t" "$seeds/proto" 000
            seed "$t" "$seeds/json" 001
            seed "$t" "$seeds/proto" 002 gzip
            seed "$t" "$seeds/json" 003 gzip
            ;;
        detect_and_decode)
            seed "$t" "$seeds/json"
            seed "$t" "$seeds/proto"
            seed "$t" "$seeds/json" "" gzip
            ;;
        # The other decoder targets keep the inputs detected as their format.
        *) seed "$t" "$seeds/json" ;;
    esac
done

# ---- build -------------------------------------------------------------------------------------
echo "== building the fuzz targets (the first build instruments DataFusion: it takes a while)"
cargo +nightly fuzz build "${build_flags[@]}"
bin_dir="fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

# ---- run ---------------------------------------------------------------------------------------
summary=()
crashed=()
for t in $targets; do
    log="$artifacts/$t.log"
    mkdir -p "$artifacts/$t"
    echo "== $t: $minutes min (log: $log)"
    set +e
    # The binary built above, run directly: `cargo fuzz run` would rebuild when src/ changed since.
    # shellcheck disable=SC2086 # FUZZ_ARGS and dict are lists of flags
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}" "$bin_dir/$t" -artifact_prefix="$artifacts/$t/" \
        -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -max_len="$(max_len "$t")" -timeout=10 \
        -print_final_stats=1 $(dict "$t") ${FUZZ_ARGS:-} "$corpus/$t" >"$log" 2>&1
    status=$?
    set -e
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
    speed=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
    cov=$(grep -oE '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
    artifact=$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -1 | sed 's/Test unit written to //' || true)
    if [ "$status" -ne 0 ] || [ -n "$artifact" ]; then
        crashed+=("$t: ${artifact:-no artifact, exit $status} (see $log)")
        result="CRASH ${artifact:-exit $status}"
    else
        result="0 crashes"
    fi
    line=$(printf '%-18s %12s execs %8s exec/s   %-22s %s' "$t" "${execs:-?}" "${speed:-?}" "${cov:-cov: ?}" "$result")
    echo "$line"
    summary+=("$line")
done

echo
echo "== summary ($minutes min per target)"
printf '%s\n' "${summary[@]}"
if [ ${#crashed[@]} -gt 0 ]; then
    echo
    echo "crashes:"
    printf '  %s\n' "${crashed[@]}"
    echo "minimise one with: cargo +nightly fuzz tmin ${build_flags[*]} TARGET ARTIFACT"
    exit 1
fi
