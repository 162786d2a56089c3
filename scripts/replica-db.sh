#!/usr/bin/env bash
# Prints "PRIMARY_URL READ_URL": a private PostgreSQL primary and a streaming standby of it made
# with pg_basebackup, for the read-replica tests (make test) and for trying FIELDFIX_READ_DATABASE_URL.
# The pair lives in $FIELDFIX_REPLICA_DIR (default /tmp/fieldfix-replica), on ports 55432 and 55433,
# owned by an unprivileged user when we are root; it is reused while it answers.
set -euo pipefail
dir=${FIELDFIX_REPLICA_DIR:-/tmp/fieldfix-replica}
pport=${FIELDFIX_REPLICA_PRIMARY_PORT:-55432}
sport=${FIELDFIX_REPLICA_STANDBY_PORT:-55433}
purl="postgres://postgres@127.0.0.1:$pport/fieldfix_test?sslmode=disable"
surl="postgres://postgres@127.0.0.1:$sport/fieldfix_test?sslmode=disable"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if answers "$pport" && answers "$sport"; then echo "$purl $surl"; exit 0; fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then bindir=$(dirname "$(command -v initdb)"); fi
if [ -z "$bindir" ]; then
  echo "replica-db: no PostgreSQL server binaries (Debian: apt-get install postgresql)" >&2
  exit 1
fi

run_as=()
mkdir -p "$dir"
if [ "$(id -u)" = 0 ]; then
  user=postgres; id "$user" >/dev/null 2>&1 || user=nobody
  run_as=(runuser -u "$user" --)
  chown "$user" "$dir"
fi
as() { "${run_as[@]}" "$@"; }

start() { # datadir port
  as "$bindir/pg_ctl" -D "$1" -l "$1.log" -w -t 60 -o "-p $2 -k $dir -c listen_addresses=127.0.0.1" start >&2
}

if ! answers "$pport"; then
  if [ ! -f "$dir/primary/PG_VERSION" ]; then
    rm -rf "$dir/primary" "$dir/standby"
    # initdb's trust default allows replication connections from 127.0.0.1, which pg_basebackup needs.
    as "$bindir/initdb" -D "$dir/primary" -U postgres -A trust --no-sync >&2
    cat >>"$dir/primary/postgresql.conf" <<CONF
wal_level = replica
max_wal_senders = 4
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
CONF
  fi
  start "$dir/primary" "$pport"
fi

if ! answers "$sport"; then
  if [ ! -f "$dir/standby/PG_VERSION" ]; then
    rm -rf "$dir/standby"
    # -R writes standby.signal and primary_conninfo: the copy starts as a hot standby following the primary.
    as "$bindir/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$dir/standby" -R -X stream -c fast >&2
  fi
  start "$dir/standby" "$sport"
fi

for _ in $(seq 1 40); do
  answers "$pport" && answers "$sport" && { echo "$purl $surl"; exit 0; }
  sleep 0.25
done
echo "replica-db: the pair did not come up; see $dir/*.log" >&2
exit 1
