#!/usr/bin/env bash
# Install (Debian's package) and start a PostgreSQL server on loopback for the history-store
# tests; prints the URL the tests read from POSTURE_TEST_POSTGRES_URL.
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
version=$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $2}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  cluster=main
  pg_createcluster "$version" "$cluster" >&2
fi
port=$(pg_lsclusters --no-header | awk 'NR==1 {print $3}')
pg_ctlcluster "$version" "$cluster" start >&2 || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 1
done
su postgres -c "psql -q -p $port -tc \"SELECT 1 FROM pg_roles WHERE rolname='posture'\" | grep -q 1 || psql -q -p $port -c \"CREATE ROLE posture LOGIN PASSWORD 'posture-ci'\"" >&2
su postgres -c "psql -q -p $port -tc \"SELECT 1 FROM pg_database WHERE datname='posture'\" | grep -q 1 || createdb -p $port -O posture posture" >&2
echo "postgresql://posture:posture-ci@127.0.0.1:$port/posture"
