#!/usr/bin/env bash
# Builds the QuickFIX test peer: Tests/Peers/quickfix/build.sh OUTPUT_BINARY
# Needs g++ and libquickfix-dev (Debian 12: 1.15.1; `make setup` installs it).
# QuickFIX 1.15's headers use dynamic exception specifications, removed in C++17: -std=gnu++14.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: build.sh OUTPUT}
exec g++ -std=gnu++14 -O1 -w -pthread -o "$out" "$here/fixpeer.cpp" -lquickfix
