#!/usr/bin/env bash
# Three encore instances on PostgreSQL + Redis behind nginx, all on loopback.
#   bash deploy/cluster.sh start   # nginx on http://127.0.0.1:8080, instances on :8081-8083
#   bash deploy/cluster.sh stop
# Settings: ENCORE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/encore),
# ENCORE_REDIS_URL (default redis://127.0.0.1:6379), ENCORE_ADMIN_TOKEN (default "change-me").
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
run="${ENCORE_CLUSTER_DIR:-/tmp/encore-cluster}"
export ENCORE_DATABASE_URL="${ENCORE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/encore}"
export ENCORE_REDIS_URL="${ENCORE_REDIS_URL:-redis://127.0.0.1:6379}"
export ENCORE_ADMIN_TOKEN="${ENCORE_ADMIN_TOKEN:-change-me}"

stop() {
  [ -f "$run/nginx.pid" ] && nginx -p "$run" -c "$repo/deploy/nginx.conf" -s stop 2>/dev/null || true
  for port in 8081 8082 8083; do
    [ -f "$run/encore-$port.pid" ] && kill -TERM "$(cat "$run/encore-$port.pid")" 2>/dev/null || true
    rm -f "$run/encore-$port.pid"
  done
}

start() {
  command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light; }
  mkdir -p "$run"
  # The database must exist; its schema is created by encore at start.
  db="${ENCORE_DATABASE_URL##*/}"
  base="${ENCORE_DATABASE_URL%/*}"
  psql "$base/postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
    psql "$base/postgres" -qc "CREATE DATABASE \"$db\""
  redis-cli -u "$ENCORE_REDIS_URL" ping >/dev/null
  (cd "$repo" && cargo build --release --quiet)
  for port in 8081 8082 8083; do
    demo=""; [ "$port" = 8081 ] && demo="--demo"
    ENCORE_LISTEN="127.0.0.1:$port" nohup "$repo/target/release/encore" serve $demo \
      > "$run/encore-$port.log" 2>&1 &
    echo $! > "$run/encore-$port.pid"
    # One at a time, so the first one migrates and seeds before the others start.
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
    curl -sf "http://127.0.0.1:$port/ready" >/dev/null || { echo "instance :$port did not start; see $run/encore-$port.log" >&2; exit 1; }
  done
  nginx -p "$run" -c "$repo/deploy/nginx.conf"
  echo "encore: 3 instances behind nginx on http://127.0.0.1:8080 (logs in $run)"
}

case "${1:-start}" in
  start) stop; start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
