#!/usr/bin/env bash
# Create (once) the Python venv used by the ITCH peer scripts in Tests/Peers and install the
# pinned third-party peers (Tests/Peers/requirements-peers.txt) into it, with setup-pinned-venv.sh.
# Idempotent: when both pins are already installed it only runs one `python -c` check and exits.
#
# Usage: Tests/Peers/setup-venv.sh [VENV_DIR]      (default: <repo root>/.venv-peers)
# Prints the venv directory on stdout (one line), so callers can do
#   PY="$(Tests/Peers/setup-venv.sh)/bin/python"
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup-venv.sh: meatpy 0.5.0 needs Python >= 3.11 ($py is $("$py" -V 2>&1)); set PYTHON=" >&2
    exit 1
fi
exec "$here/setup-pinned-venv.sh" peers "" "${1:-$root/.venv-peers}"
