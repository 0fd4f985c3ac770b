#!/usr/bin/env bash
# Install Debian's Redis server for the fleet tests (the Celery broker). The tests start and
# stop their own redis-server processes on loopback (tests/redis_server.py), so that a test
# can restart the broker; this script only makes sure the binary is there.
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq redis-server >&2
fi
command -v redis-server
