#!/usr/bin/env bash
# Candidate lookup on 100,000 technicians: geo.Index (H3) vs a brute-force scan
# vs PostGIS KNN (ORDER BY geom <-> point LIMIT k on a GiST index), same data,
# one run; plus the travel-matrix build for 1,000 points. Writes the report to
# docs/benchmarks-geo.md. A report, not a timed test: nothing fails on speed.
#
# Needs PostgreSQL 15 at GEOBENCH_PG (default postgres://postgres@127.0.0.1:5432,
# trust auth); installs postgresql-15-postgis-3 when the extension is missing.
# Uses a scratch database (fieldfix_geobench) and drops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

PG=${GEOBENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=fieldfix_geobench
OUT=${GEOBENCH_OUT:-docs/benchmarks-geo.md}
ARGS=("$@")

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! psql "$PG/postgres" -tAc "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'" | grep -q 1; then
	echo "bench-geo: PostGIS missing; installing postgresql-15-postgis-3" >&2
	sudo_if_needed apt-get update >&2
	sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15-postgis-3 >&2
fi

drop_db() { psql "$PG/postgres" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; }
drop_db
psql "$PG/postgres" -q -c "CREATE DATABASE $DB" >/dev/null
trap drop_db EXIT

report=$(mktemp)
trap 'rm -f "$report"; drop_db' EXIT
go run ./geo/internal/geobench -dsn "$PG/$DB?sslmode=disable" "${ARGS[@]}" >"$report"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
{
	echo "# Geo benchmarks"
	echo
	echo "Measured $(date -u +%Y-%m-%d) with \`scripts/bench-geo.sh${ARGS:+ ${ARGS[*]}}\` (\`make bench-geo\`) on ${cpu:-unknown CPU}, $(nproc) cores."
	echo "Goal (issue 3): p99 under 100 µs in memory and at least 50× faster than the scan."
	echo
	cat "$report"
	cat <<'NOTES'

Reading the figures:
- The index answers in process: one res-7 cell lookup, then grid rings outwards until the
  nearest possible point of the next ring is beyond the 10th-best distance (exact, checked
  against the scan above). Its cost grows with the technicians scanned near the point, not
  with the fleet; PostGIS pays a network round trip and the executor on every query, which is
  why it stays several times slower even on a perfect KNN index plan.
- The ratios are to the H3 index's p99 in the same run, so they carry across machines better
  than the absolute times.
- The matrix figures are for one departure time; the cache pays off with OSRM, where a cold
  1,000-point table is hundreds of HTTP requests (OSRM's default `--max-table-size` is 100).
NOTES
} >"$OUT"
cat "$OUT"
