#!/usr/bin/env bash
# Create (once) the Python venv used by the ITCH peer scripts in Tests/Peers and install the
# pinned third-party peers into it. Idempotent: when both pins are already installed it only runs
# one `python -c` check and exits.
#
# Usage: Tests/Peers/setup-venv.sh [VENV_DIR]      (default: <repo root>/.venv-peers)
# Prints the venv directory on stdout (one line), so callers can do
#   PY="$(Tests/Peers/setup-venv.sh)/bin/python"
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:-$root/.venv-peers}"
pins=(meatpy==0.5.0 itch-book==0.2.1)

installed() {
    "$venv/bin/python" - "${pins[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    ok = all(version(p.split("==")[0]) == p.split("==")[1] for p in sys.argv[1:])
except PackageNotFoundError:
    ok = False
sys.exit(0 if ok else 1)
PY
}

if [ -x "$venv/bin/python" ] && installed; then
    echo "$venv"
    exit 0
fi

py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup-venv.sh: meatpy 0.5.0 needs Python >= 3.11 ($py is $("$py" -V 2>&1)); set PYTHON=" >&2
    exit 1
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}" >&2
installed || { echo "setup-venv.sh: pins not importable after install in $venv" >&2; exit 1; }
echo "$venv"
