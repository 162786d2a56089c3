#!/usr/bin/env bash
# Prints a PostgreSQL URL that answers, for `make run` and `make test`.
# 1. DATABASE_URL (default: the local server on 127.0.0.1:5432) when it answers;
# 2. otherwise, when PostgreSQL's server binaries are installed, a private cluster under .data/
#    (run as an unprivileged user when we are root), started on the URL's port;
# 3. otherwise it says what to do and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/fieldfix?sslmode=disable}

# host and port from the URL (postgres://user@host:port/db?...)
hostport=$(sed -E 's#^[a-z]+://([^@/]*@)?([^/?]*).*#\2#' <<<"$url")
host=${hostport%%:*}; port=${hostport##*:}
[ "$port" = "$hostport" ] && port=5432
[ -n "$host" ] || host=127.0.0.1

answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if answers; then echo "$url"; exit 0; fi

# The machine's own cluster may just be stopped.
if command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ "$host" = 127.0.0.1 -o "$host" = localhost ]; then
  # pg_lsclusters -h: version cluster port status owner datadir logfile
  pg_lsclusters -h 2>/dev/null | while read -r v c p _; do
    [ "$p" = "$port" ] && pg_ctlcluster --skip-systemctl-redirect "$v" "$c" start >&2 || true
  done
  for _ in $(seq 1 20); do answers && { echo "$url"; exit 0; }; sleep 0.5; done
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1; then bindir=$(dirname "$(command -v initdb)"); fi
if [ -z "$bindir" ]; then
  cat >&2 <<MSG
No PostgreSQL answers at $host:$port and no PostgreSQL server is installed.
Either start one and set DATABASE_URL, e.g.
  DATABASE_URL=postgres://user:pass@host:5432/fieldfix make run
or install the server (Debian/Ubuntu: sudo apt-get install postgresql) and run make again.
MSG
  exit 1
fi

data=$PWD/.data/pg
mkdir -p "$PWD/.data"
run_as=()
if [ "$(id -u)" = 0 ]; then
  user=postgres; id "$user" >/dev/null 2>&1 || user=nobody
  run_as=(runuser -u "$user" --)
  chown "$user" "$PWD/.data"
fi
if [ ! -f "$data/PG_VERSION" ]; then
  echo "starting a private PostgreSQL under .data/pg on port $port" >&2
  "${run_as[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust >"$PWD/.data/initdb.log" 2>&1 ||
    { cat "$PWD/.data/initdb.log" >&2; exit 1; }
fi
"${run_as[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
  -o "-p $port -c listen_addresses=127.0.0.1 -k $data" start >&2 || { tail -20 "$data/server.log" >&2; exit 1; }
echo "postgres://postgres@127.0.0.1:$port/${url##*/}"
