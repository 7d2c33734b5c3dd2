#!/usr/bin/env bash
# The control store's write rate for fill rows, SQLite and PostgreSQL alternating in one session:
# `omni bench control --store-fills N --store-batch B`, one transaction per fill and B fills per
# transaction, ROUNDS rounds of (SQLite, PostgreSQL). SQLite: a new file under $TMPDIR each round
# (WAL, synchronous=NORMAL). PostgreSQL: a throwaway cluster of Debian's postgresql made here as the
# tests make theirs (initdb into a temporary folder, run as the `postgres` user when root; the
# server's defaults: fsync=on, synchronous_commit=on), on 127.0.0.1:PORT over TCP with a password,
# a new database each round; stopped and removed at the end.
#   Benchmarks/control-store.sh
# Environment: OMNI (default .build/release/omni), FILLS (default 20000), BATCH (default 100),
# ROUNDS (default 3), PORT (default 44990), PG_OPTIONS (more server settings, e.g.
# "-c synchronous_commit=off"; default none: the server's defaults), KEEP=1 (keep the server's folder).
set -euo pipefail
cd "$(dirname "$0")/.."
omni=$(realpath "${OMNI:-.build/release/omni}")
fills=${FILLS:-20000}
batch=${BATCH:-100}
rounds=${ROUNDS:-3}
port=${PORT:-44990}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "control-store.sh: no PostgreSQL server under /usr/lib/postgresql/*/bin (make setup installs postgresql)" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); chown postgres "$work"; fi
stop() {
    [ -f "$work/data/postmaster.pid" ] && "${as[@]}" "$bin/pg_ctl" -D "$work/data" -m fast -w stop > /dev/null || true
    [ "${KEEP:-0}" = 1 ] && echo "server folder: $work" || rm -rf "$work"
}
trap stop EXIT
echo "bench-pw" > "$work/pw"
"${as[@]}" "$bin/initdb" -D "$work/data" -U omni --pwfile="$work/pw" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C > "$work/initdb.log"
"${as[@]}" "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $work ${PG_OPTIONS:-}" start > /dev/null
psql=("${as[@]}" "$bin/psql" -X -q -A -t -h "$work" -p "$port" -U omni -d postgres)
echo "PostgreSQL $("${psql[@]}" -c 'SHOW server_version'): $("${psql[@]}" -c "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers')")"
echo "load before: $(uptime)"
for i in $(seq 1 "$rounds"); do
    echo "round $i: SQLite"
    "$omni" bench control --store-fills "$fills" --store-batch "$batch"
    echo "round $i: PostgreSQL"
    "${psql[@]}" -c "CREATE DATABASE bench_$i"
    "$omni" bench control --store-fills "$fills" --store-batch "$batch" --control-store "postgres://omni:bench-pw@127.0.0.1:$port/bench_$i"
done
echo "load after: $(uptime)"
