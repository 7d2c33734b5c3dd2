#!/usr/bin/env bash
# Create (once) a Python venv for one set of peers and install Tests/Peers/requirements-NAME.txt
# into it. Idempotent: when the pins are installed (and MODULE, if named, imports) it only runs
# one `python -c` check.
#
# Usage: Tests/Peers/setup-pinned-venv.sh NAME [MODULE] [VENV_DIR]
#        (default VENV_DIR: <repo root>/.build/venv-NAME, inside the git-ignored build folder)
# Prints the venv directory on stdout, so callers can do
#   PY="$(Tests/Peers/setup-pinned-venv.sh schemathesis)/bin/python"
# Exits non-zero, saying why on stderr, when Python or PyPI is not there: callers skip, naming it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
name="${1:?usage: setup-pinned-venv.sh NAME [MODULE] [VENV_DIR]}"
module="${2:-}"
venv="${3:-$root/.build/venv-$name}"
reqs="$here/requirements-$name.txt"
me="setup-pinned-venv.sh $name"
[ -f "$reqs" ] || { echo "$me: no $reqs" >&2; exit 1; }

installed() {
    "$venv/bin/python" - "$reqs" "$module" <<'PY' 2>/dev/null
import importlib, sys
from importlib.metadata import version, PackageNotFoundError
pins = [l.split("#")[0].strip() for l in open(sys.argv[1])]
pins = [p for p in pins if p]
try:
    ok = all(version(p.split("==")[0]) == p.split("==")[1] for p in pins)
    if sys.argv[2]:
        importlib.import_module(sys.argv[2])  # e.g. a wheel's bundled C library loads
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
command -v "$py" >/dev/null || { echo "$me: no $py on PATH (set PYTHON=)" >&2; exit 1; }
mkdir -p "$(dirname "$venv")"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$reqs" >&2 \
    || { echo "$me: pip install -r $reqs failed (PyPI unreachable?)" >&2; exit 1; }
installed || { echo "$me: pins not importable after install in $venv" >&2; exit 1; }
echo "$venv"
