#!/usr/bin/env bash
# Fuzzes the CWire decoders and the CBook kernel with libFuzzer + ASan + UBSan.
#
#   Fuzz/run-fuzz.sh [SECONDS]        (default 60; `make fuzz SECONDS=600`)
#   FUZZ_HARNESS=fix Fuzz/run-fuzz.sh [SECONDS]   fuzzes the FIX codec instead (Fuzz/fuzz_fix.c,
#                                     header-only, no seeds; corpus in .build/fuzz-corpus/fix)
#
# Builds .build/fuzz/fuzz_itch from Fuzz/fuzz_itch.c, CKernels/CWire/cwire.c and
# CKernels/CBook/cbook.c with the toolchain's clang; builds the seed corpus into
# .build/fuzz-corpus/seeds from the real ITCH fixtures under $OMNI_DATA (default:
# ../shared/data next to the repository); fuzzes for SECONDS with the inputs it
# finds kept in .build/fuzz-corpus/work (they carry over to the next run). Ends
# with one line, `fuzz: N inputs ran clean in S s (coverage: X edges), 0 crashes`,
# or, on any crash, leak, UB report or broken invariant, `fuzz: FAILED ...` with
# the saved input's path, and a non-zero exit.
#
# Environment: CLANG (default clang), OMNI_DATA, FUZZ_VERBOSE=1 (stream libFuzzer's
# output), FUZZ_FRESH_CORPUS=1 (drop the kept corpus first), FUZZ_ARGS (more
# libFuzzer flags), and the harness knobs documented in Fuzz/fuzz_itch.c
# (FUZZ_NO_PREFETCH, FUZZ_FRESH, OMNI_SIMD).
set -euo pipefail

SECS=${1:-60}
if ! [[ $SECS =~ ^[0-9]+$ ]] || (( SECS < 1 )); then
    echo "usage: $0 [SECONDS >= 1]" >&2
    exit 2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CLANG=${CLANG:-clang}
DATA=${OMNI_DATA:-$ROOT/../shared/data}
FIXTURES=$DATA/nasdaq-itch50-12302019-fixtures
BUILD=$ROOT/.build/fuzz
CORPUS=$ROOT/.build/fuzz-corpus
SEEDS=$CORPUS/seeds
WORK=$CORPUS/work
ARTIFACTS=$BUILD/artifacts
LOG=$BUILD/fuzz.log
BIN=$BUILD/fuzz_itch

if [[ ${FUZZ_HARNESS:-itch} == fix ]]; then
    WORK=$CORPUS/fix; BIN=$BUILD/fuzz_fix; LOG=$BUILD/fuzz_fix.log
fi
mkdir -p "$BUILD" "$ARTIFACTS" "$WORK"
[[ ${FUZZ_FRESH_CORPUS:-0} == 1 ]] && rm -rf "$WORK" && mkdir -p "$WORK"

INCLUDES=(-I CKernels/CWire/include -I CKernels/CBook/include)
CFLAGS=(-O1 -g -std=c11 -fno-omit-frame-pointer "${INCLUDES[@]}")

# lld when the toolchain has it: gold prints a warning per ASan symbol it cannot export.
LDFLAGS=()
echo 'int main(void) { return 0; }' | "$CLANG" -fuse-ld=lld -x c - -o "$BUILD/.ld-probe" 2>/dev/null && LDFLAGS=(-fuse-ld=lld)
rm -f "$BUILD/.ld-probe"

echo "fuzz: building $BIN with $(command -v "$CLANG")" >&2
if [[ ${FUZZ_HARNESS:-itch} == fix ]]; then
    # seeds: a few valid order-entry messages (checksums computed here), alone and back to back
    fixmsg() {
        local b h sum
        b=$1
        h=$(printf '8=FIX.4.4\0019=%d\001' "${#b}")
        sum=$(printf '%s%s' "$h" "$b" | od -An -tu1 -v | tr -s ' ' '\n' | awk '{s+=$1} END {printf "%03d", s%256}')
        printf '%s%s10=%s\001' "$h" "$b" "$sum"
    }
    S=$'\001'
    LC_ALL=C fixmsg "35=A${S}49=CLI${S}56=OMNI${S}34=1${S}52=20261123-14:00:00.000${S}98=0${S}108=30${S}" >"$WORK/seed-logon"
    LC_ALL=C fixmsg "35=D${S}49=CLI${S}56=OMNI${S}34=2${S}52=20261123-14:00:00.001${S}11=o1${S}55=AAPL${S}54=1${S}38=100${S}40=2${S}44=187.25${S}59=0${S}" >"$WORK/seed-nos"
    LC_ALL=C fixmsg "35=8${S}49=OMNI${S}56=CLI${S}34=3${S}43=Y${S}52=20261123-14:00:00.002${S}122=20261123-14:00:00.001${S}37=O1${S}11=o1${S}17=E1${S}150=0${S}39=0${S}151=100${S}14=0${S}6=0${S}" >"$WORK/seed-er"
    cat "$WORK/seed-logon" "$WORK/seed-nos" "$WORK/seed-er" >"$WORK/seed-stream"
    "$CLANG" "${CFLAGS[@]}" "${LDFLAGS[@]}" -Wall -Wextra -Wno-unused-function -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
        Fuzz/fuzz_fix.c -o "$BIN"
    "$BIN" -max_total_time="$SECS" -max_len=4096 -rss_limit_mb=4096 -timeout=30 -artifact_prefix="$ARTIFACTS/fix-" \
        -print_final_stats=1 "$WORK" >"$LOG" 2>&1 && rc=0 || rc=$?
    runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$LOG" | tail -n1)
    secs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/p' "$LOG" | tail -n1)
    cov=$(sed -nE 's/^#[0-9]+[[:space:]].*cov: ([0-9]+).*/\1/p' "$LOG" | tail -n1)
    if (( rc != 0 )) || [[ -z $runs ]] || grep -qE 'ERROR: |runtime error:' "$LOG"; then
        tail -n 40 "$LOG" >&2
        echo "fuzz: FAILED (exit $rc) fix harness: see $LOG"
        exit 1
    fi
    echo "fuzz: fix: $runs inputs ran clean in $secs s (coverage: ${cov:-?} edges), 0 crashes"
    exit 0
fi
"$CLANG" "${CFLAGS[@]}" "${LDFLAGS[@]}" -Wall -Wextra -Wno-unused-function -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    Fuzz/fuzz_itch.c CKernels/CWire/cwire.c CKernels/CBook/cbook.c -o "$BIN"
"$CLANG" "${CFLAGS[@]}" "${LDFLAGS[@]}" -Wall -fsanitize=address,undefined -fno-sanitize-recover=all \
    Fuzz/make_seeds.c CKernels/CWire/cwire.c -o "$BUILD/make_seeds"

rm -rf "$SEEDS"
mkdir -p "$SEEDS"
shopt -s nullglob
FIXTURE_FILES=("$FIXTURES"/*.NASDAQ_ITCH50)
shopt -u nullglob
if (( ${#FIXTURE_FILES[@]} )); then
    n=$("$BUILD/make_seeds" "$SEEDS" "${FIXTURE_FILES[@]}")
    echo "fuzz: $n seeds from ${#FIXTURE_FILES[@]} fixture files in $FIXTURES" >&2
else
    echo "fuzz: warning: no fixtures in $FIXTURES (set OMNI_DATA); fuzzing without seeds" >&2
fi

SYMBOLIZER=$(command -v llvm-symbolizer || true)
[[ -z $SYMBOLIZER && -x $(dirname "$(command -v "$CLANG")")/llvm-symbolizer ]] &&
    SYMBOLIZER=$(dirname "$(command -v "$CLANG")")/llvm-symbolizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[[ -n $SYMBOLIZER ]] && export ASAN_SYMBOLIZER_PATH=$SYMBOLIZER

ARGS=(-max_total_time="$SECS" -max_len=4096 -rss_limit_mb=4096 -timeout=30
      -dict=Fuzz/itch.dict -artifact_prefix="$ARTIFACTS/" -print_final_stats=1)
# shellcheck disable=SC2206
[[ -n ${FUZZ_ARGS:-} ]] && ARGS+=(${FUZZ_ARGS})

echo "fuzz: $BIN ${ARGS[*]} $WORK $SEEDS (log: $LOG)" >&2
set +e
if [[ ${FUZZ_VERBOSE:-0} == 1 ]]; then
    "$BIN" "${ARGS[@]}" "$WORK" "$SEEDS" 2>&1 | tee "$LOG" >&2
    rc=${PIPESTATUS[0]}
else
    "$BIN" "${ARGS[@]}" "$WORK" "$SEEDS" >"$LOG" 2>&1
    rc=$?
fi
set -e

runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$LOG" | tail -n1)
secs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/p' "$LOG" | tail -n1)
cov=$(sed -nE 's/^#[0-9]+[[:space:]].*cov: ([0-9]+).*/\1/p' "$LOG" | tail -n1)
[[ -z $runs ]] && runs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$LOG" | tail -n1)
error=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|==fuzz_itch== invariant broken' "$LOG" || true)
inputs=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$LOG")

knobs=""
for v in FUZZ_NO_PREFETCH FUZZ_FRESH OMNI_SIMD; do [[ -n ${!v:-} ]] && knobs+="$v=${!v} "; done
if (( rc != 0 )) || [[ -n $error ]] || [[ -n $inputs ]]; then
    echo "----- last lines of $LOG -----" >&2
    tail -n 60 "$LOG" >&2
    echo "-----" >&2
    echo "fuzz: FAILED (exit $rc) after ${runs:-?} inputs: ${error:-see $LOG}"
    if [[ -n $inputs ]]; then
        while IFS= read -r f; do
            echo "fuzz: crashing input: $f"
            echo "fuzz: reproduce: ${knobs}$BIN $f    (hex: xxd $f)"
        done <<<"$inputs"
    fi
    exit 1
fi
if [[ -z $runs || -z $secs ]]; then
    echo "fuzz: FAILED: no 'Done N runs' line from libFuzzer (see $LOG)"
    exit 1
fi
echo "fuzz: $runs inputs ran clean in $secs s (coverage: ${cov:-?} edges), 0 crashes"
