#!/usr/bin/env bash
# Create (once) the Python venv for the indicator peers (TA-Lib) and install
# Tests/Peers/requirements-indicators.txt into it (see setup-pinned-venv.sh): the pins, and
# `import talib` (the wheel's bundled C library loads).
#
# Usage: Tests/Peers/setup-indicators-venv.sh [VENV_DIR]   (default: <repo root>/.build/venv-indicators)
# Prints the venv directory on stdout, so callers can do
#   PY="$(Tests/Peers/setup-indicators-venv.sh)/bin/python"
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup-pinned-venv.sh" indicators talib "$@"
