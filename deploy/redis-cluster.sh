#!/usr/bin/env bash
# A three-node Redis Cluster on loopback (primaries only, no persistence), for the queue of
# several encore instances when one Redis core is not enough, and for CI's cluster run.
#   bash deploy/redis-cluster.sh start   # prints the ENCORE_REDIS_URL that names it
#   bash deploy/redis-cluster.sh stop
# Settings, all optional:
#   ENCORE_REDIS_CLUSTER_PORT  the first node's port (default 7000); the others take the next two
#   ENCORE_REDIS_CLUSTER_DIR   the nodes' config files and logs (default /tmp/encore-redis-cluster)
# Needs redis-server and redis-cli (Debian: apt-get install redis-server).
set -euo pipefail
run="${ENCORE_REDIS_CLUSTER_DIR:-/tmp/encore-redis-cluster}"
port="${ENCORE_REDIS_CLUSTER_PORT:-7000}"
[[ "$port" =~ ^[0-9]+$ ]] && ((port >= 1 && port + 2 <= 55535)) ||
  { echo "ENCORE_REDIS_CLUSTER_PORT must be a port from 1 to 55533, not '$port'" >&2; exit 2; }
ports=("$port" "$((port + 1))" "$((port + 2))")

url() {
  local IFS=,
  local urls=()
  for p in "${ports[@]}"; do urls+=("redis://127.0.0.1:$p"); done
  echo "${urls[*]}"
}

cluster_ok() { redis-cli -p "${ports[0]}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

start() {
  if cluster_ok; then url; return; fi
  mkdir -p "$run"
  for p in "${ports[@]}"; do
    if ! redis-cli -p "$p" ping >/dev/null 2>&1; then
      # A fresh node: forget whatever cluster an earlier run of this directory made.
      rm -f "$run/nodes-$p.conf"
      # cluster-port is the node's port + 10000, the Redis default.
      redis-server --daemonize yes --bind 127.0.0.1 --port "$p" --cluster-enabled yes \
        --cluster-config-file "$run/nodes-$p.conf" --cluster-node-timeout 5000 \
        --save "" --appendonly no --maxmemory-policy noeviction \
        --dir "$run" --pidfile "$run/redis-$p.pid" --logfile "$run/redis-$p.log"
    fi
  done
  for p in "${ports[@]}"; do
    for _ in $(seq 1 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  local nodes=()
  for p in "${ports[@]}"; do nodes+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$run/create.log" ||
    { cat "$run/create.log" >&2; exit 1; }
  for _ in $(seq 1 100); do cluster_ok && break; sleep 0.1; done
  cluster_ok || { echo "the Redis Cluster on ports ${ports[*]} did not become ready" >&2; exit 1; }
  url
}

stop() {
  for p in "${ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  for p in "${ports[@]}"; do rm -f "$run/nodes-$p.conf"; done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
