#!/bin/sh
# Installs PostgreSQL from Debian's packages for the integration tests and `npm run bench:vacuum`:
# the server and contrib (pgstattuple, pg_stat_statements) and HypoPG (hypothetical indexes for
# the index advisor), `postgresql-<major>-hypopg` for the installed major version. Nothing else.
# The tests start their own throw-away server on 127.0.0.1 as the unprivileged `postgres` user;
# the index tests need HypoPG and never skip, so it is installed here as the server is.
set -eu

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  # The packages' post-install starts a cluster service; CI does not need it running.
  $SUDO apt-get update
  $SUDO apt-get install -y postgresql postgresql-contrib
fi

# The newest installed major version is the one the tests start (shared/postgres/local-server.ts).
MAJOR="$(ls /usr/lib/postgresql | sort -n | tail -1)"
SHARE="/usr/share/postgresql/$MAJOR/extension"
if [ ! -f "$SHARE/hypopg.control" ] || [ ! -f "$SHARE/pgstattuple.control" ]; then
  $SUDO apt-get update
  $SUDO apt-get install -y "postgresql-$MAJOR-hypopg" postgresql-contrib
fi

for ext in hypopg pgstattuple pg_stat_statements; do
  if [ ! -f "$SHARE/$ext.control" ]; then
    echo "missing the $ext extension in $SHARE after installing" >&2
    exit 1
  fi
done
echo "PostgreSQL $MAJOR with hypopg, pgstattuple and pg_stat_statements: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
