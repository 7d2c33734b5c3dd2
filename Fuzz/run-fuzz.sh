#!/usr/bin/env bash
# Fuzzes the CWire decoders, the CBook kernel and the CNet capture reader with
# libFuzzer + ASan + UBSan.
#
#   Fuzz/run-fuzz.sh [SECONDS] [itch|pcap|soup|fix|all]   (default 60 all; `make fuzz SECONDS=600`)
#
# Four harnesses: fuzz_itch (Fuzz/fuzz_itch.c: ITCH decode, day-file and MoldUDP64
# framing, CBook), fuzz_pcap (Fuzz/fuzz_pcap.c: pcap / pcapng reader, frame parse
# down to UDP, IEX-TP segments and DEEP / TOPS messages, the pcap writer) and
# fuzz_soup_ouch (Fuzz/fuzz_soup_ouch.c: the SoupBinTCP stream receiver, OUCH 4.2
# decoders and re-encoders; seeded with a few built-in packets) and fuzz_fix
# (Fuzz/fuzz_fix.c: the FIX 4.4 tag=value parser, header-only; seeded with a logon,
# an order and an execution report, alone and back to back). `all` runs each for
# SECONDS/4 (at least 1 s).
#
# fuzz_itch is built from Fuzz/fuzz_itch.c, CKernels/CWire/cwire.c and
# CKernels/CBook/cbook.c with the toolchain's clang; its seed corpus is built into
# .build/fuzz-corpus/seeds from the real ITCH fixtures under $OMNI_DATA (default:
# ../shared/data next to the repository), and the inputs it finds are kept in
# .build/fuzz-corpus/work (they carry over to the next run). fuzz_pcap seeds from
# the heads of the IEX sample captures under $OMNI_DATA/iex-sample-pcaps (and, when
# editcap is installed, their pcapng conversions) into .build/fuzz-corpus/pcap-seeds
# and keeps its finds in .build/fuzz-corpus/pcap-work.
#
# Ends with one line per harness, `fuzz: N inputs ran clean in S s (coverage: X
# edges), 0 crashes (HARNESS)`, or, on any crash, leak, UB report or broken
# invariant, `fuzz: FAILED ...` with the saved input's path, and a non-zero exit.
#
# Environment: CLANG (default clang), OMNI_DATA, FUZZ_VERBOSE=1 (stream libFuzzer's
# output), FUZZ_FRESH_CORPUS=1 (drop the kept corpora first), FUZZ_ARGS (more
# libFuzzer flags), and the harness knobs documented in Fuzz/fuzz_itch.c
# (FUZZ_NO_PREFETCH, FUZZ_FRESH, OMNI_SIMD).
set -euo pipefail

SECS=${1:-60}
TARGET=${2:-all}
if ! [[ $SECS =~ ^[0-9]+$ ]] || (( SECS < 1 )) || ! [[ $TARGET =~ ^(itch|pcap|soup|fix|all)$ ]]; then
    echo "usage: $0 [SECONDS >= 1] [itch|pcap|soup|fix|all]" >&2
    exit 2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CLANG=${CLANG:-clang}
DATA=${OMNI_DATA:-$ROOT/../shared/data}
FIXTURES=$DATA/nasdaq-itch50-12302019-fixtures
IEX=$DATA/iex-sample-pcaps
BUILD=$ROOT/.build/fuzz
CORPUS=$ROOT/.build/fuzz-corpus
ARTIFACTS=$BUILD/artifacts

mkdir -p "$BUILD" "$ARTIFACTS"

INCLUDES=(-I CKernels/CWire/include -I CKernels/CEvent/include -I CKernels/CBook/include -I CKernels/CNet/include)
CFLAGS=(-O1 -g -std=c11 -fno-omit-frame-pointer "${INCLUDES[@]}")

# lld when the toolchain has it: gold prints a warning per ASan symbol it cannot export.
LDFLAGS=()
echo 'int main(void) { return 0; }' | "$CLANG" -fuse-ld=lld -x c - -o "$BUILD/.ld-probe" 2>/dev/null && LDFLAGS=(-fuse-ld=lld)
rm -f "$BUILD/.ld-probe"

SYMBOLIZER=$(command -v llvm-symbolizer || true)
[[ -z $SYMBOLIZER && -x $(dirname "$(command -v "$CLANG")")/llvm-symbolizer ]] &&
    SYMBOLIZER=$(dirname "$(command -v "$CLANG")")/llvm-symbolizer
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[[ -n $SYMBOLIZER ]] && export ASAN_SYMBOLIZER_PATH=$SYMBOLIZER

# compile_harness NAME SOURCES...: a libFuzzer binary with ASan + UBSan, $BUILD/NAME.
compile_harness() {
    local name=$1
    shift
    "$CLANG" "${CFLAGS[@]}" "${LDFLAGS[@]}" -Wall -Wextra -Wno-unused-function -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=all "$@" -o "$BUILD/$name"
}

# build_itch / build_pcap / build_soup_ouch / build_fix: the harness binary and its seed corpus.
build_itch() {
    compile_harness fuzz_itch Fuzz/fuzz_itch.c CKernels/CWire/cwire.c CKernels/CBook/cbook.c
    "$CLANG" "${CFLAGS[@]}" "${LDFLAGS[@]}" -Wall -fsanitize=address,undefined -fno-sanitize-recover=all \
        Fuzz/make_seeds.c CKernels/CWire/cwire.c -o "$BUILD/make_seeds"
    local seeds=$1
    shopt -s nullglob
    local files=("$FIXTURES"/*.NASDAQ_ITCH50)
    shopt -u nullglob
    if (( ${#files[@]} )); then
        n=$("$BUILD/make_seeds" "$seeds" "${files[@]}")
        echo "fuzz: $n seeds from ${#files[@]} fixture files in $FIXTURES" >&2
    else
        echo "fuzz: warning: no fixtures in $FIXTURES (set OMNI_DATA); fuzzing without seeds" >&2
    fi
}

build_pcap() {
    compile_harness fuzz_pcap Fuzz/fuzz_pcap.c CKernels/CWire/cwire.c
    local seeds=$1 n=0 f
    for f in "$IEX"/*.pcap*.gz; do
        [[ -e $f ]] || continue
        local name tmp
        name=$(basename "$f" .gz)
        tmp=$BUILD/$name
        gzip -dc "$f" | head -c 65536 >"$tmp" || true
        head -c 16384 "$tmp" >"$seeds/$name.head"
        # One frame on its own, for the single-frame reading (first byte 0: Ethernet).
        { printf '\x00'; tail -c +41 "$tmp" | head -c 200; } >"$seeds/$name.frame"
        n=$((n + 2))
        if command -v editcap >/dev/null; then
            editcap -F pcapng -r "$tmp" "$BUILD/$name.ng" 1-40 >/dev/null 2>&1 &&
                head -c 16384 "$BUILD/$name.ng" >"$seeds/$name.pcapng" && n=$((n + 1))
        fi
        rm -f "$tmp" "$BUILD/$name.ng"
    done
    if (( n )); then
        echo "fuzz: $n seeds from the IEX sample captures in $IEX" >&2
    else
        echo "fuzz: warning: no captures in $IEX (set OMNI_DATA); fuzzing without seeds" >&2
    fi
}

build_soup_ouch() {
    compile_harness fuzz_soup_ouch Fuzz/fuzz_soup_ouch.c CKernels/CWire/cwire.c
    local seeds=$1
    # A login exchange, an Enter Order as Unsequenced Data, an Accepted as Sequenced Data, heartbeats.
    printf '\x00\x2fLtraderpassword            1                   ' >"$seeds/login"
    printf '\x00\x1fA  SESSION1                   1\x00\x01H\x00\x01Z' >"$seeds/accepted"
    printf '\x00\x32UOORD00000000001B\x00\x00\x01\x2cAAPL    \x00\x12\xd6\x44\x00\x01\x86\x9fOMNIYANN\x00\x00\x00\x00NN\x00\x01R' >"$seeds/enter"
    printf '\x00\x43SA\x00\x00\x1f\x1a\x71\x8f\x30\x00ORD00000000001B\x00\x00\x01\x2cAAPL    \x00\x12\xd6\x44\x00\x01\x86\x9fOMNIY\x00\x00\x00\x00\x00\x00\x03\xe9AN\x00\x00\x00\x00NL ' >"$seeds/ack"
    echo "fuzz: $(ls "$seeds" | wc -l) built-in SoupBinTCP/OUCH seeds" >&2
}

build_fix() {
    compile_harness fuzz_fix Fuzz/fuzz_fix.c
    local seeds=$1 S=$'\001'
    # fixmsg BODY: the message with BeginString, BodyLength and a CheckSum computed here.
    fixmsg() {
        local b=$1 h sum
        h=$(printf '8=FIX.4.4\0019=%d\001' "${#b}")
        sum=$(printf '%s%s' "$h" "$b" | od -An -tu1 -v | tr -s ' ' '\n' | awk '{s+=$1} END {printf "%03d", s%256}')
        printf '%s%s10=%s\001' "$h" "$b" "$sum"
    }
    LC_ALL=C fixmsg "35=A${S}49=CLI${S}56=OMNI${S}34=1${S}52=20261123-14:00:00.000${S}98=0${S}108=30${S}" >"$seeds/logon"
    LC_ALL=C fixmsg "35=D${S}49=CLI${S}56=OMNI${S}34=2${S}52=20261123-14:00:00.001${S}11=o1${S}55=AAPL${S}54=1${S}38=100${S}40=2${S}44=187.25${S}59=0${S}" >"$seeds/nos"
    LC_ALL=C fixmsg "35=8${S}49=OMNI${S}56=CLI${S}34=3${S}43=Y${S}52=20261123-14:00:00.002${S}122=20261123-14:00:00.001${S}37=O1${S}11=o1${S}17=E1${S}150=0${S}39=0${S}151=100${S}14=0${S}6=0${S}" >"$seeds/er"
    cat "$seeds/logon" "$seeds/nos" "$seeds/er" >"$seeds/stream"
    echo "fuzz: 4 built-in FIX seeds" >&2
}

# run_harness NAME SECONDS SEED_DIR WORK_DIR MAX_LEN DICT: builds, fuzzes, prints the one-line result.
run_harness() {
    local name=$1 secs=$2 seeds=$3 work=$4 maxlen=$5 dict=$6
    local bin=$BUILD/$name log=$BUILD/$name.log
    [[ $name == fuzz_itch ]] && log=$BUILD/fuzz.log # the log's long-standing name
    mkdir -p "$work"
    [[ ${FUZZ_FRESH_CORPUS:-0} == 1 ]] && rm -rf "$work" && mkdir -p "$work"
    echo "fuzz: building $bin with $(command -v "$CLANG")" >&2
    rm -rf "$seeds"
    mkdir -p "$seeds"
    "build_${name#fuzz_}" "$seeds"

    local args=(-max_total_time="$secs" -max_len="$maxlen" -rss_limit_mb=4096 -timeout=30
                -artifact_prefix="$ARTIFACTS/" -print_final_stats=1)
    [[ -n $dict ]] && args+=(-dict="$dict")
    # shellcheck disable=SC2206
    [[ -n ${FUZZ_ARGS:-} ]] && args+=(${FUZZ_ARGS})

    echo "fuzz: $bin ${args[*]} $work $seeds (log: $log)" >&2
    local rc
    set +e
    if [[ ${FUZZ_VERBOSE:-0} == 1 ]]; then
        "$bin" "${args[@]}" "$work" "$seeds" 2>&1 | tee "$log" >&2
        rc=${PIPESTATUS[0]}
    else
        "$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
        rc=$?
    fi
    set -e

    local runs secs_done cov error inputs knobs="" v
    runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$log" | tail -n1)
    secs_done=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/p' "$log" | tail -n1)
    cov=$(sed -nE 's/^#[0-9]+[[:space:]].*cov: ([0-9]+).*/\1/p' "$log" | tail -n1)
    [[ -z $runs ]] && runs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log" | tail -n1)
    error=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|==fuzz_[a-z]+== invariant broken' "$log" || true)
    inputs=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log")

    for v in FUZZ_NO_PREFETCH FUZZ_FRESH OMNI_SIMD; do [[ -n ${!v:-} ]] && knobs+="$v=${!v} "; done
    if (( rc != 0 )) || [[ -n $error ]] || [[ -n $inputs ]]; then
        echo "----- last lines of $log -----" >&2
        tail -n 60 "$log" >&2
        echo "-----" >&2
        echo "fuzz: FAILED (exit $rc) after ${runs:-?} inputs: ${error:-see $log} ($name)"
        if [[ -n $inputs ]]; then
            while IFS= read -r f; do
                echo "fuzz: crashing input: $f"
                echo "fuzz: reproduce: ${knobs}$bin $f    (hex: xxd $f)"
            done <<<"$inputs"
        fi
        return 1
    fi
    if [[ -z $runs || -z $secs_done ]]; then
        echo "fuzz: FAILED: no 'Done N runs' line from libFuzzer (see $log) ($name)"
        return 1
    fi
    echo "fuzz: $runs inputs ran clean in $secs_done s (coverage: ${cov:-?} edges), 0 crashes ($name)"
}

EACH=$SECS
if [[ $TARGET == all ]]; then EACH=$(( SECS / 4 )); (( EACH < 1 )) && EACH=1; fi
status=0
if [[ $TARGET == itch || $TARGET == all ]]; then
    run_harness fuzz_itch "$EACH" "$CORPUS/seeds" "$CORPUS/work" 4096 Fuzz/itch.dict || status=1
fi
if [[ $TARGET == pcap || $TARGET == all ]]; then
    run_harness fuzz_pcap "$EACH" "$CORPUS/pcap-seeds" "$CORPUS/pcap-work" 16384 Fuzz/pcap.dict || status=1
fi
if [[ $TARGET == soup || $TARGET == all ]]; then
    run_harness fuzz_soup_ouch "$EACH" "$CORPUS/soup-seeds" "$CORPUS/soup-work" 4096 "" || status=1
fi
if [[ $TARGET == fix || $TARGET == all ]]; then
    run_harness fuzz_fix "$EACH" "$CORPUS/fix-seeds" "$CORPUS/fix-work" 4096 "" || status=1
fi
exit $status
