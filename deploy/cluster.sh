#!/usr/bin/env bash
# Three encore instances on PostgreSQL + Redis behind nginx, all on loopback.
#   bash deploy/cluster.sh start   # nginx on http://127.0.0.1:8080, instances on :8081-8083
#   bash deploy/cluster.sh stop
# Settings, all optional:
#   ENCORE_CLUSTER_PORT  nginx's port (default 8080); the instances take the next three ports
#   ENCORE_CLUSTER_DIR   pid files, logs and nginx's files (default /tmp/encore-cluster)
#   ENCORE_BIN           the encore binary to run (default: cargo build --release, then
#                        target/release/encore)
#   ENCORE_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/encore, created if missing
#   ENCORE_REDIS_URL     default redis://127.0.0.1:6379
#   ENCORE_ADMIN_TOKEN   default "change-me"
# Every other ENCORE_* setting (ENCORE_REDIS_PREFIX, ENCORE_HOLD_TTL, …) reaches every instance.
# nginx runs deploy/nginx.conf with its ports replaced, written to $ENCORE_CLUSTER_DIR/nginx.conf.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
run="${ENCORE_CLUSTER_DIR:-/tmp/encore-cluster}"
port="${ENCORE_CLUSTER_PORT:-8080}"
export ENCORE_DATABASE_URL="${ENCORE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/encore}"
export ENCORE_REDIS_URL="${ENCORE_REDIS_URL:-redis://127.0.0.1:6379}"
export ENCORE_ADMIN_TOKEN="${ENCORE_ADMIN_TOKEN:-change-me}"
# nginx on loopback forwards every client: its X-Forwarded-For names the address rate limits count.
export ENCORE_TRUSTED_PROXIES="${ENCORE_TRUSTED_PROXIES:-127.0.0.1/32}"

[[ "$port" =~ ^[0-9]+$ ]] && ((port >= 1 && port + 3 <= 65535)) ||
  { echo "ENCORE_CLUSTER_PORT must be a port from 1 to 65532, not '$port'" >&2; exit 2; }
instances=("$((port + 1))" "$((port + 2))" "$((port + 3))")

# Whether something answers TCP on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop() {
  if [ -f "$run/nginx.pid" ]; then
    kill -TERM "$(cat "$run/nginx.pid")" 2>/dev/null || rm -f "$run/nginx.pid"
    for _ in $(seq 1 50); do [ -f "$run/nginx.pid" ] || break; sleep 0.2; done
  fi
  # Every instance this directory started, whatever ports it was started with. SIGTERM drains
  # requests first; wait for the exits, so that a start right after finds the ports free.
  pids=()
  for pidfile in "$run"/encore-*.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    rm -f "$pidfile"
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  done
}

start() {
  command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx; }
  for p in "$port" "${instances[@]}"; do
    if listening "$p"; then
      echo "port $p is in use; choose others with ENCORE_CLUSTER_PORT" \
        "(nginx on it, the instances on the next three)" >&2
      exit 1
    fi
  done
  mkdir -p "$run"
  # The database must exist; its schema is created by encore at start.
  db="${ENCORE_DATABASE_URL##*/}"
  base="${ENCORE_DATABASE_URL%/*}"
  psql "$base/postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
    psql "$base/postgres" -qc "CREATE DATABASE \"$db\""
  redis-cli -u "$ENCORE_REDIS_URL" ping >/dev/null
  bin="${ENCORE_BIN:-}"
  if [ -z "$bin" ]; then
    (cd "$repo" && cargo build --release --quiet)
    bin="$repo/target/release/encore"
  fi
  for p in "${instances[@]}"; do
    demo=""; [ "$p" = "${instances[0]}" ] && demo="--demo"
    ENCORE_LISTEN="127.0.0.1:$p" nohup "$bin" serve $demo > "$run/encore-$p.log" 2>&1 &
    pid=$!
    echo "$pid" > "$run/encore-$p.pid"
    # One at a time, so the first one migrates and seeds before the others start.
    for _ in $(seq 1 50); do
      curl -sf "http://127.0.0.1:$p/ready" >/dev/null && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    curl -sf "http://127.0.0.1:$p/ready" >/dev/null ||
      { echo "instance :$p did not start; see $run/encore-$p.log" >&2; stop; exit 1; }
  done
  sed -e "s/127\.0\.0\.1:8080;/127.0.0.1:$port;/" \
      -e "s/127\.0\.0\.1:8081 /127.0.0.1:${instances[0]} /" \
      -e "s/127\.0\.0\.1:8082 /127.0.0.1:${instances[1]} /" \
      -e "s/127\.0\.0\.1:8083 /127.0.0.1:${instances[2]} /" \
      "$repo/deploy/nginx.conf" > "$run/nginx.conf"
  for p in "$port;" "${instances[@]/%/ }"; do
    grep -qF "127.0.0.1:$p" "$run/nginx.conf" || {
      echo "deploy/nginx.conf does not name 127.0.0.1:8080-8083 as $0 expects" >&2
      stop; exit 1
    }
  done
  nginx -p "$run" -c "$run/nginx.conf" || { stop; exit 1; }
  echo "encore: 3 instances (:${instances[0]}-${instances[2]}) behind nginx" \
    "on http://127.0.0.1:$port/ (logs in $run)"
}

case "${1:-start}" in
  start) stop; start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
