#!/usr/bin/env bash
# Makes a PostgreSQL server available for the PostgreSQL pass of `make test` and prints an admin SQLAlchemy URL
# (the tests create a fresh database per test world on it). With SCF_TEST_PG_URL set, that server is used as it is.
# As root on Debian (CI, fresh machines): installs Debian's postgresql when missing, starts its cluster and makes
# a superuser role for root (peer authentication over the Unix socket: no password anywhere).
set -euo pipefail
# Only the URL goes to stdout (the Makefile reads it); everything the tools print goes to stderr
# (pg_ctlcluster says "Removed stale pid file." on stdout after an unclean stop).
exec 3>&1 1>&2
# Every command below runs with fd 3 closed (the group's `3>&-`): a server that apt-get or pg_ctlcluster starts
# would inherit it, and the Makefile's `$(...)` waits for every writer of that pipe to close, i.e. for ever
# (CI hung there for an hour).

if [ -n "${SCF_TEST_PG_URL:-}" ]; then
  echo "$SCF_TEST_PG_URL" >&3
  exit 0
fi
cd /  # `su postgres` below would complain that it cannot enter the checkout (a mktemp -d folder is 0700)
{
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: the PostgreSQL tests need a server: set SCF_TEST_PG_URL to an admin URL, e.g." >&2
  echo "  SCF_TEST_PG_URL=postgresql+psycopg://USER@/postgres?host=/var/run/postgresql make test" >&2
  echo "(as root on Debian, make test installs and starts Debian's postgresql itself)" >&2
  exit 1
fi
pg_lib="${SCF_PG_LIB:-/usr/lib/postgresql}"  # where Debian puts the server binaries (tests point it elsewhere)
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls "$pg_lib"/*/bin/postgres >/dev/null 2>&1; then
  echo "installing postgresql with apt-get (the PostgreSQL pass of the tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls "$pg_lib" | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 50); do
  su postgres -c "psql -qtAc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
if [ "$(su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='root'\"")" != "1" ]; then
  su postgres -c "createuser -p $port --superuser root"
fi
} 3>&- </dev/null
echo "postgresql+psycopg://root@/postgres?host=/var/run/postgresql&port=$port" >&3
