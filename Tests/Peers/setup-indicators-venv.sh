#!/usr/bin/env bash
# Create (once) the Python venv for the indicator peers (TA-Lib) and install
# Tests/Peers/requirements-indicators.txt into it. Idempotent: when the pins are importable it only
# runs one `python -c` check.
#
# Usage: Tests/Peers/setup-indicators-venv.sh [VENV_DIR]   (default: <repo root>/.build/venv-indicators,
#        inside the git-ignored build folder)
# Prints the venv directory on stdout, so callers can do
#   PY="$(Tests/Peers/setup-indicators-venv.sh)/bin/python"
# Exits non-zero, saying why on stderr, when Python or PyPI is not there: callers skip, naming it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:-$root/.build/venv-indicators}"
reqs="$here/requirements-indicators.txt"

installed() {
    "$venv/bin/python" - "$reqs" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
pins = [l.split("#")[0].strip() for l in open(sys.argv[1])]
pins = [p for p in pins if p]
try:
    ok = all(version(p.split("==")[0]) == p.split("==")[1] for p in pins)
    import talib  # the wheel's bundled C library loads
except (PackageNotFoundError, ImportError):
    ok = False
sys.exit(0 if ok else 1)
PY
}

if [ -x "$venv/bin/python" ] && installed; then
    echo "$venv"
    exit 0
fi
py="${PYTHON:-python3}"
command -v "$py" >/dev/null || { echo "setup-indicators-venv.sh: no $py on PATH (set PYTHON=)" >&2; exit 1; }
mkdir -p "$(dirname "$venv")"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs" >&2 \
    || { echo "setup-indicators-venv.sh: pip install -r $reqs failed (PyPI unreachable?)" >&2; exit 1; }
installed || { echo "setup-indicators-venv.sh: pins not importable after install in $venv" >&2; exit 1; }
echo "$venv"
