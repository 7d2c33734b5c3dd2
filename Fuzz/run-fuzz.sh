#!/usr/bin/env bash
# Fuzzes the CWire decoders, the CBook kernel and the CNet capture reader with
# libFuzzer + ASan + UBSan, and the Swift session and application layers above them
# (FIX acceptor and venue, SoupBinTCP + OUCH server and venue, MoldUDP64 session and
# books, our FIX and OUCH clients) with libFuzzer + ASan.
#
#   Fuzz/run-fuzz.sh [SECONDS] [HARNESS]   (default 60 all; `make fuzz SECONDS=600`)
#
#   HARNESS: itch | pcap | soup | fix                      the C harnesses (Fuzz/*.c)
#            fix-acceptor | soup-ouch-server | mold-session | fix-client | ouch-client | executions
#                                                           the Swift harnesses (Fuzz/Swift)
#            c | swift | all                                each group, or all ten
#
# Four harnesses: fuzz_itch (Fuzz/fuzz_itch.c: ITCH decode, day-file and MoldUDP64
# framing, CBook), fuzz_pcap (Fuzz/fuzz_pcap.c: pcap / pcapng reader, frame parse
# down to UDP, IEX-TP segments and DEEP / TOPS messages, the pcap writer) and
# fuzz_soup_ouch (Fuzz/fuzz_soup_ouch.c: the SoupBinTCP stream receiver, OUCH 4.2
# decoders and re-encoders; seeded with a few built-in packets) and fuzz_fix
# (Fuzz/fuzz_fix.c: the FIX 4.4 tag=value parser, header-only; seeded with a logon,
# an order and an execution report, alone and back to back).
#
# Six Swift harnesses, in-process (every socket is a loopback one the harness makes;
# nothing leaves the process but the sim's ITCH multicast on 127.0.0.1), described in
# Fuzz/README.md and at the top of each Fuzz/Swift/Sources/fuzz-*/main.swift:
#   fuzz-fix-acceptor      client bytes into a real SimVenue's FIX acceptor: FixSession,
#                          FixVenueApplication, the sim's FIX entry, matching, cancel on
#                          disconnect (or, flag bit 5, a FixAcceptor with an echo venue and
#                          tight maxConnections / maxPendingBytes bounds);
#   fuzz-soup-ouch-server  one or two clients into a real SimVenue's SoupBinTCP server:
#                          logins, OUCH Enter / Replace / Cancel / Modify, matching;
#   fuzz-mold-session      scripted datagrams on lines A / B / retransmission, polls and skips
#                          into MoldSession with MoldITCHConsumer (ITCHReplay, CBook) behind;
#   fuzz-fix-client        venue bytes into our FixInitiator session;
#   fuzz-ouch-client       venue bytes into our OuchClient / SoupClient, login included;
#   fuzz-executions        OUCH 4.2 answers or FIX execution reports / cancel rejects, no socket,
#                          through our order entries' decode (OuchAnswers, FixReports) into an
#                          OrderLedger holding four orders of ours (the check is
#                          Tests/ExecutionCheck, shared with a seeded test in OmniGatewayTests).
# The stream harnesses cut their input into several writes (the first bytes say where) and
# drive the session after each; each checks invariants (bounds, sequence bookkeeping, books
# not crossed, no live order after the clients left) and traps with `==HARNESS== invariant
# broken: ...`. They are built once per run with SwiftPM into .build/fuzz-swift:
#   swift build -c release -j 1 --package-path Fuzz/Swift --scratch-path .build/fuzz-swift \
#       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address
# (the first build takes a few minutes; niced). Seeds are built here (a Logon + orders for
# FIX, a Soup login + OUCH orders for OUCH, MoldUDP64 packets from the ITCH fixtures via
# make_seeds for Mold) into .build/fuzz-corpus/<harness>-seeds, finds kept in
# .build/fuzz-corpus/<harness>-work.
#
# `all` runs each of the ten for SECONDS/10, `c` the four C ones for SECONDS/4, `swift` the
# six Swift ones for SECONDS/6 (at least 1 s each).
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
# Environment: CLANG (default clang), SWIFT (default swift), OMNI_DATA, FUZZ_VERBOSE=1
# (stream libFuzzer's output), FUZZ_FRESH_CORPUS=1 (drop the kept corpora first),
# FUZZ_ARGS (more libFuzzer flags), the harness knobs documented in Fuzz/fuzz_itch.c
# (FUZZ_NO_PREFETCH, FUZZ_FRESH, OMNI_SIMD), FUZZ_SIM_RECYCLE (inputs per sim in the
# SimVenue harnesses, default 2000) and FUZZ_SWIFT_NO_BUILD=1 (use the Swift harnesses
# already in .build/fuzz-swift).
set -euo pipefail

SECS=${1:-60}
TARGET=${2:-all}
HARNESSES='itch|pcap|soup|fix|fix-acceptor|soup-ouch-server|mold-session|fix-client|ouch-client|executions|c|swift|all'
if ! [[ $SECS =~ ^[0-9]+$ ]] || (( SECS < 1 )) || ! [[ $TARGET =~ ^($HARNESSES)$ ]]; then
    echo "usage: $0 [SECONDS >= 1] [${HARNESSES//|/ | }]" >&2
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
SWIFT=${SWIFT:-swift}
SWIFT_SCRATCH=$ROOT/.build/fuzz-swift
SWIFT_BIN=$SWIFT_SCRATCH/release

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
# One known leak of the sim (see the file) would fail the SimVenue harnesses at every recycle.
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

# fixmsg BODY: the message with BeginString, BodyLength and a CheckSum computed here.
fixmsg() {
    local b=$1 h sum
    h=$(printf '8=FIX.4.4\0019=%d\001' "${#b}")
    sum=$(printf '%s%s' "$h" "$b" | od -An -tu1 -v | tr -s ' ' '\n' | awk '{s+=$1} END {printf "%03d", s%256}')
    printf '%s%s10=%s\001' "$h" "$b" "$sum"
}

build_fix() {
    compile_harness fuzz_fix Fuzz/fuzz_fix.c
    local seeds=$1 S=$'\001'
    LC_ALL=C fixmsg "35=A${S}49=CLI${S}56=OMNI${S}34=1${S}52=20261123-14:00:00.000${S}98=0${S}108=30${S}" >"$seeds/logon"
    LC_ALL=C fixmsg "35=D${S}49=CLI${S}56=OMNI${S}34=2${S}52=20261123-14:00:00.001${S}11=o1${S}55=AAPL${S}54=1${S}38=100${S}40=2${S}44=187.25${S}59=0${S}" >"$seeds/nos"
    LC_ALL=C fixmsg "35=8${S}49=OMNI${S}56=CLI${S}34=3${S}43=Y${S}52=20261123-14:00:00.002${S}122=20261123-14:00:00.001${S}37=O1${S}11=o1${S}17=E1${S}150=0${S}39=0${S}151=100${S}14=0${S}6=0${S}" >"$seeds/er"
    cat "$seeds/logon" "$seeds/nos" "$seeds/er" >"$seeds/stream"
    echo "fuzz: 4 built-in FIX seeds" >&2
}

# ---- the Swift harnesses (Fuzz/Swift) ----

# build_swift_harnesses: all six, once per run, with libFuzzer + ASan on the harnesses and on
# every module of the package they use (Swift and C).
SWIFT_BUILT=0
build_swift_harnesses() {
    (( SWIFT_BUILT )) && return 0
    SWIFT_BUILT=1
    [[ ${FUZZ_SWIFT_NO_BUILD:-0} == 1 ]] && return 0
    local log=$BUILD/swift-build.log
    echo "fuzz: building the Swift harnesses into $SWIFT_SCRATCH (log: $log)" >&2
    if ! nice -n 19 "$SWIFT" build -c release -j 1 --package-path Fuzz/Swift --scratch-path "$SWIFT_SCRATCH" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address >"$log" 2>&1; then
        grep -E 'error:' "$log" | head -n 20 >&2 || true
        echo "fuzz: FAILED: the Swift harnesses do not build (see $log)"
        return 1
    fi
}

# swift_seed NAME FLAGS BYTES...: a stream seed, FLAGS (printf escapes: the header byte and cut
# lengths, see Fuzz/Swift/Sources/FuzzSupport/Stream.swift) then the files' bytes.
swift_seed() {
    local out=$1 flags=$2
    shift 2
    { printf "$flags"; cat "$@"; } >"$out"
}

build_fix_acceptor() {
    build_swift_harnesses || return 1
    local seeds=$1 S=$'\001' t=$BUILD/fix-acceptor-parts
    mkdir -p "$t"
    m() { LC_ALL=C fixmsg "$2${S}49=CLI${S}56=OMNI${S}34=$3${S}52=20261123-14:00:00.000${S}$4" >"$t/$1"; }
    m logon 35=A 1 "98=0${S}108=30${S}"
    m buy 35=D 2 "11=b1${S}55=AAPL${S}54=1${S}38=300${S}40=2${S}44=200.00${S}59=0${S}"
    m sell 35=D 3 "11=s1${S}55=AAPL${S}54=2${S}38=100${S}40=2${S}44=199.99${S}59=0${S}"
    m replace 35=G 4 "11=b2${S}41=b1${S}55=AAPL${S}54=1${S}38=500${S}40=2${S}44=199.50${S}"
    m cancel 35=F 5 "11=b3${S}41=b2${S}55=AAPL${S}54=1${S}"
    m market 35=D 6 "11=m1${S}55=MSFT${S}54=5${S}38=10${S}40=1${S}59=3${S}"
    m resend 35=2 7 "7=1${S}16=0${S}"
    m test 35=1 8 "112=T1${S}"
    m gap 35=4 12 "123=Y${S}36=13${S}"
    m logout 35=5 13 ""
    local all=("$t"/{logon,buy,sell,replace,cancel,market,resend,test,gap,logout})
    swift_seed "$seeds/session" '\000' "${all[@]}"
    swift_seed "$seeds/session-cut-7" '\001\007' "${all[@]}"
    swift_seed "$seeds/session-cut-61-3" '\002\075\003' "${all[@]}"
    swift_seed "$seeds/logon-order" '\000' "$t/logon" "$t/buy"
    swift_seed "$seeds/two-clients" '\021\377' "$t/logon" "$t/logon" "$t/buy" "$t/buy"
    swift_seed "$seeds/echo" '\040' "${all[@]}"
    swift_seed "$seeds/echo-slow" '\050' "$t/logon" "$t/buy" "$t/buy" "$t/buy" "$t/buy" "$t/buy" "$t/resend"
    swift_seed "$seeds/echo-two" '\061\377' "$t/logon" "$t/logon" "$t/buy"
    rm -rf "$t"
    echo "fuzz: $(ls "$seeds" | wc -l) built-in FIX acceptor seeds" >&2
}

build_soup_ouch_server() {
    build_swift_harnesses || return 1
    local seeds=$1 t=$BUILD/soup-server-parts
    mkdir -p "$t"
    # Login Request (user, password, session blank: any, sequence 1), OUCH 4.2 Enter Order
    # (token, side, shares, AAPL, price 200.0000, TIF 99999, firm OMNI, ...), Replace, Cancel,
    # Modify, Client Heartbeat, Logout Request.
    printf '\x00\x2fLtraderpassword            1                   ' >"$t/login"
    printf '\x00\x2fLothr  password                               ' >"$t/login2"
    printf '\x00\x32UOORD00000000001B\x00\x00\x01\x2cAAPL    \x00\x1e\x84\x80\x00\x01\x86\x9fOMNIYANN\x00\x00\x00\x00NN' >"$t/buy"
    printf '\x00\x32UOORD00000000002S\x00\x00\x00\x64AAPL    \x00\x1e\x84\x80\x00\x01\x86\x9fOMNIYANN\x00\x00\x00\x00NN' >"$t/sell"
    printf '\x00\x30UUORD00000000001ORD00000000003\x00\x00\x01\x90\x00\x1e\x7c\xb0\x00\x01\x86\x9fYN\x00\x00\x00\x00' >"$t/replace"
    printf '\x00\x14UXORD00000000003\x00\x00\x00\x00' >"$t/cancel"
    printf '\x00\x15UMORD00000000003S\x00\x00\x00\x32' >"$t/modify"
    printf '\x00\x01R' >"$t/heartbeat"
    printf '\x00\x01O' >"$t/logout"
    local all=("$t"/{login,buy,sell,replace,modify,cancel,heartbeat,logout})
    swift_seed "$seeds/session" '\000' "${all[@]}"
    swift_seed "$seeds/session-cut-5" '\001\005' "${all[@]}"
    swift_seed "$seeds/session-cut-49-52" '\002\061\064' "${all[@]}"
    swift_seed "$seeds/two-users" '\021\061' "$t/login" "$t/login2" "$t/buy" "$t/sell"
    swift_seed "$seeds/slow" '\010' "$t/login" "$t/buy" "$t/sell" "$t/buy" "$t/sell" "$t/buy"
    rm -rf "$t"
    echo "fuzz: $(ls "$seeds" | wc -l) built-in SoupBinTCP/OUCH server seeds" >&2
}

build_mold_session() {
    build_swift_harnesses || return 1
    local seeds=$1 t=$BUILD/mold-parts
    rm -rf "$t"
    mkdir -p "$t"
    shopt -s nullglob
    local files=("$FIXTURES"/*.NASDAQ_ITCH50)
    shopt -u nullglob
    if (( ${#files[@]} == 0 )); then
        echo "fuzz: warning: no fixtures in $FIXTURES (set OMNI_DATA); mold-session fuzzes without seeds" >&2
        return 0
    fi
    # make_seeds packs the fixtures' records into MoldUDP64 packets of session OMNIFUZZ01 with
    # one sequence running across them, in file order: f1-1400-00..02, f1-4096-00, f2-1400-00, ...
    "$CLANG" "${CFLAGS[@]}" "${LDFLAGS[@]}" -Wall -fsanitize=address,undefined -fno-sanitize-recover=all \
        Fuzz/make_seeds.c CKernels/CWire/cwire.c -o "$BUILD/make_seeds"
    "$BUILD/make_seeds" "$t" "${files[@]}" >/dev/null
    # op LINE FILE: one receive operation (line 0 A, 1 B, 2 retransmission; 2-byte length; the packet).
    op() { local n; n=$(stat -c %s "$2"); printf "\\x$(printf %02x "$1")\\x$(printf %02x $((n >> 8)))\\x$(printf %02x $((n & 255)))"; cat "$2"; }
    local p0=$t/mold-f1-1400-00 p1=$t/mold-f1-1400-01 p2=$t/mold-f1-1400-02 p3=$t/mold-f1-4096-00
    { printf '\x04'; op 0 "$p0"; op 0 "$p1"; op 0 "$p2"; op 0 "$p3"; } >"$seeds/in-order"
    { printf '\x05'; op 0 "$p0"; op 0 "$p2"; op 1 "$p1"; op 1 "$p2"; op 0 "$p3"; } >"$seeds/ab-gap-filled"
    { printf '\x04'; op 0 "$p0"; op 0 "$p2"; printf '\x07'; printf '\xf7'; op 2 "$p1"; } >"$seeds/retransmitted"
    { printf '\x01'; op 0 "$p0"; op 1 "$p2"; printf '\x07\xf7\xf7\xf7\xf7'; printf '\x03'; op 0 "$p3"; } >"$seeds/lost-skipped"
    { printf '\x06'; op 1 "$p2"; op 1 "$p3"; op 0 "$t/mold-heartbeat"; } >"$seeds/late-join"
    { printf '\x00'; for f in "$t"/mold-f[12]-*; do op 0 "$f"; done; op 0 "$t/mold-heartbeat"; op 1 "$t/mold-end-of-session"; } >"$seeds/whole-day"
    rm -rf "$t"
    echo "fuzz: $(ls "$seeds" | wc -l) MoldUDP64 session seeds from the fixtures in $FIXTURES" >&2
}

build_fix_client() {
    build_swift_harnesses || return 1
    local seeds=$1 S=$'\001' t=$BUILD/fix-client-parts
    mkdir -p "$t"
    m() { LC_ALL=C fixmsg "$2${S}49=OMNI${S}56=CLI${S}34=$3${S}52=20261123-14:00:00.000${S}$4" >"$t/$1"; }
    m logon 35=A 1 "98=0${S}108=30${S}141=Y${S}"
    m er 35=8 2 "37=O1${S}11=c1${S}17=E1${S}150=0${S}39=0${S}55=AAPL${S}54=1${S}38=100${S}44=187.25${S}151=100${S}14=0${S}6=0${S}"
    m fill 35=8 3 "37=O1${S}11=c1${S}17=E2${S}150=F${S}39=2${S}55=AAPL${S}54=1${S}38=100${S}32=100${S}31=187.25${S}151=0${S}14=100${S}6=187.25${S}"
    m cxlrej 35=9 4 "37=NONE${S}11=c2${S}41=c1${S}39=8${S}434=1${S}102=1${S}"
    m resend 35=2 5 "7=1${S}16=0${S}"
    m test 35=1 6 "112=T1${S}"
    m ahead 35=0 9 ""
    m logout 35=5 10 ""
    local all=("$t"/{logon,er,fill,cxlrej,resend,test,ahead,logout})
    swift_seed "$seeds/session" '\000' "${all[@]}"
    swift_seed "$seeds/session-cut-9" '\001\011' "${all[@]}"
    swift_seed "$seeds/orders-and-resend" '\040' "$t/logon" "$t/er" "$t/resend" "$t/test"
    swift_seed "$seeds/slow-venue" '\051\040' "$t/logon" "$t/er" "$t/fill" "$t/er" "$t/fill" "$t/er" "$t/fill" "$t/resend"
    rm -rf "$t"
    echo "fuzz: $(ls "$seeds" | wc -l) built-in FIX client seeds" >&2
}

build_ouch_client() {
    build_swift_harnesses || return 1
    local seeds=$1 t=$BUILD/ouch-client-parts
    mkdir -p "$t"
    # Login Accepted (session, next sequence 1), Sequenced Data: OUCH Accepted, Executed,
    # Canceled; a debug packet, Server Heartbeat, Unsequenced, End of Session.
    printf '\x00\x1fASESSION1                   1' >"$t/accepted"
    printf '\x00\x02JA' >"$t/rejected"
    printf '\x00\x43SA\x00\x00\x1f\x1a\x71\x8f\x30\x00T1            B\x00\x00\x00\x64AAPL    \x00\x1c\x92\x74\x00\x01\x86\x9fOMNIY\x00\x00\x00\x00\x00\x00\x03\xe9AN\x00\x00\x00\x00NL ' >"$t/ack"
    printf '\x00\x29SE\x00\x00\x1f\x1a\x71\x8f\x30\x01T1            \x00\x00\x00\x32\x00\x1c\x92\x74A\x00\x00\x00\x00\x00\x00\x00\x07' >"$t/exec"
    printf '\x00\x1dSC\x00\x00\x1f\x1a\x71\x8f\x30\x02T1            \x00\x00\x00\x32U' >"$t/canceled"
    printf '\x00\x04+dbg' >"$t/debug"
    printf '\x00\x01H' >"$t/heartbeat"
    printf '\x00\x03Uxy' >"$t/unsequenced"
    printf '\x00\x01Z' >"$t/end"
    local rest=("$t"/{ack,exec,canceled,debug,heartbeat,unsequenced,end})
    swift_seed "$seeds/session" '\000' "$t/accepted" "${rest[@]}"
    swift_seed "$seeds/session-cut-33-7" '\002\041\007' "$t/accepted" "${rest[@]}"
    swift_seed "$seeds/rejected" '\000' "$t/rejected"
    swift_seed "$seeds/orders-slow" '\051\041' "$t/accepted" "$t/heartbeat" "$t/ack" "$t/heartbeat" "$t/exec" "$t/heartbeat"
    rm -rf "$t"
    echo "fuzz: $(ls "$seeds" | wc -l) built-in SoupBinTCP/OUCH client seeds" >&2
}

build_executions() {
    build_swift_harnesses || return 1
    local seeds=$1 S=$'\001' ts='\x00\x00\x1f\x1a\x71\x8f\x30\x00'
    # OUCH (byte 0 = 0): length-prefixed payloads for our first order, whose token is its client
    # order id (slot 0, generation 1) in base 36 + replace count: Accepted (66 bytes), Executed
    # (40, match 7), the same Executed again, Canceled (28), and a Cancel Reject (23).
    local acc="\x42A${ts}00000009ZLDS00B\x00\x00\x00\x64AAPL    \x00\x01\x86\xa0\x00\x01\x86\x9fOMNIY\x00\x00\x00\x00\x00\x00\x03\xe9AN\x00\x00\x00\x00NL "
    local exe="\x28E${ts}00000009ZLDS00\x00\x00\x00\x1e\x00\x01\x86\xa0A\x00\x00\x00\x00\x00\x00\x00\x07"
    local cxl="\x1cC${ts}00000009ZLDT00\x00\x00\x00\x0aU"
    local rej="\x17I${ts}00000009ZLDU00"
    printf "\x00$acc$exe$exe$cxl$rej" >"$seeds/ouch"
    printf "\x04$acc$exe$cxl" >"$seeds/ouch-cancel-pending"
    # FIX (byte 0 = 3: FIX, bodies framed by the harness): length-prefixed bodies, our first order's
    # ClOrdID: New, a fill, the same fill again, an OrderCancelReject.
    local cl=00000009ZLDS.0
    fixb() { printf "\\x$(printf %02x "${#1}")"; printf '%s' "$1"; }
    {
        printf '\x03'
        LC_ALL=C fixb "35=8${S}37=O1${S}11=$cl${S}17=N1${S}150=0${S}39=0${S}55=AAPL${S}54=1${S}38=100${S}44=10${S}151=100${S}14=0${S}6=0${S}"
        LC_ALL=C fixb "35=8${S}37=O1${S}11=$cl${S}17=E1${S}150=F${S}39=1${S}55=AAPL${S}54=1${S}32=30${S}31=10${S}151=70${S}14=30${S}6=10${S}851=1${S}"
        LC_ALL=C fixb "35=8${S}37=O1${S}11=$cl${S}17=E1${S}150=F${S}39=1${S}55=AAPL${S}54=1${S}32=30${S}31=10${S}151=70${S}14=30${S}6=10${S}851=1${S}"
        LC_ALL=C fixb "35=9${S}37=O1${S}11=$cl${S}41=$cl${S}39=0${S}434=1${S}102=1${S}"
    } >"$seeds/fix-framed"
    # The same as raw FIX (byte 0 = 1), framing and checksum included.
    {
        printf '\x01'
        LC_ALL=C fixmsg "35=8${S}49=OMNI${S}56=CLI${S}34=2${S}52=20261123-14:00:00.000${S}37=O1${S}11=$cl${S}17=E2${S}150=F${S}39=2${S}55=AAPL${S}54=1${S}32=100${S}31=10${S}151=0${S}14=100${S}6=10${S}"
    } >"$seeds/fix-raw"
    echo "fuzz: $(ls "$seeds" | wc -l) built-in OUCH / FIX execution seeds" >&2
}

# run_harness NAME SECONDS SEED_DIR WORK_DIR MAX_LEN DICT: builds, fuzzes, prints the one-line result.
run_harness() {
    local name=$1 secs=$2 seeds=$3 work=$4 maxlen=$5 dict=$6
    local bin=$BUILD/$name log=$BUILD/$name.log builder=${name#fuzz[_-]}
    [[ $name == fuzz-* ]] && bin=$SWIFT_BIN/$name
    [[ $name == fuzz_itch ]] && log=$BUILD/fuzz.log # the log's long-standing name
    mkdir -p "$work"
    [[ ${FUZZ_FRESH_CORPUS:-0} == 1 ]] && rm -rf "$work" && mkdir -p "$work"
    [[ $name == fuzz_* ]] && echo "fuzz: building $bin with $(command -v "$CLANG")" >&2
    rm -rf "$seeds"
    mkdir -p "$seeds"
    "build_${builder//-/_}" "$seeds" || return 1

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
    # The Swift harnesses' FIX store directories (emptied after each input; the process exits without removing them).
    [[ $name == fuzz-* ]] && rm -rf /dev/shm/omni-fuzz-* "${TMPDIR:-/tmp}"/omni-fuzz-*

    local runs secs_done cov error inputs slow knobs="" v
    runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$log" | tail -n1)
    secs_done=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/p' "$log" | tail -n1)
    cov=$(sed -nE 's/^#[0-9]+[[:space:]].*cov: ([0-9]+).*/\1/p' "$log" | tail -n1)
    [[ -z $runs ]] && runs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log" | tail -n1)
    error=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|==fuzz[_-][a-z_-]+== invariant broken|Fatal error:' "$log" || true)
    # A slow unit (over libFuzzer's -report_slow_units, 10 s) is written too: reported, not a failure.
    inputs=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | grep -v '/slow-unit-' || true)
    slow=$(sed -nE 's/.*Test unit written to (.*\/slow-unit-.*)$/\1/p' "$log" | wc -l)

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
    echo "fuzz: $runs inputs ran clean in $secs_done s (coverage: ${cov:-?} edges), 0 crashes$( (( slow > 0 )) && echo ", $slow slow units kept in $ARTIFACTS") ($name)"
}

EACH=$SECS
case $TARGET in
    all) EACH=$(( SECS / 10 )) ;;
    c) EACH=$(( SECS / 4 )) ;;
    swift) EACH=$(( SECS / 6 )) ;;
esac
(( EACH < 1 )) && EACH=1
# wants GROUP NAME: whether this run includes the harness NAME of GROUP (c or swift).
wants() { [[ $TARGET == "$2" || $TARGET == "$1" || $TARGET == all ]]; }
status=0
if wants c itch; then
    run_harness fuzz_itch "$EACH" "$CORPUS/seeds" "$CORPUS/work" 4096 Fuzz/itch.dict || status=1
fi
if wants c pcap; then
    run_harness fuzz_pcap "$EACH" "$CORPUS/pcap-seeds" "$CORPUS/pcap-work" 16384 Fuzz/pcap.dict || status=1
fi
if wants c soup; then
    run_harness fuzz_soup_ouch "$EACH" "$CORPUS/soup-seeds" "$CORPUS/soup-work" 4096 "" || status=1
fi
if wants c fix; then
    run_harness fuzz_fix "$EACH" "$CORPUS/fix-seeds" "$CORPUS/fix-work" 4096 "" || status=1
fi
for h in fix-acceptor soup-ouch-server mold-session fix-client ouch-client executions; do
    if wants swift "$h"; then
        local_max=4096; [[ $h == mold-session ]] && local_max=16384
        run_harness "fuzz-$h" "$EACH" "$CORPUS/$h-seeds" "$CORPUS/$h-work" "$local_max" "" || status=1
    fi
done
exit $status
