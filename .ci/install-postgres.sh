#!/bin/sh
# Installs PostgreSQL from Debian's packages for the integration tests and `npm run bench:vacuum`
# when no server is installed (no /usr/lib/postgresql/<version>/bin/initdb). Nothing else.
# The tests start their own throw-away server on 127.0.0.1 as the unprivileged `postgres` user.
set -eu

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "PostgreSQL already installed: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# The packages' post-install starts a cluster service; CI does not need it running.
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y postgresql postgresql-contrib

ls -d /usr/lib/postgresql/*/bin
