#!/usr/bin/env bash
# A Redis Cluster of 3 masters and 3 replicas on this machine, for the HA
# tests (e2e/ha) and for trying relay on Cluster.
#
#   scripts/ha/redis-cluster.sh up            start the 6 nodes and create the cluster (idempotent)
#   scripts/ha/redis-cluster.sh down          stop them and remove their data
#   scripts/ha/redis-cluster.sh nodes         print the REDIS_CLUSTER_NODES value
#   scripts/ha/redis-cluster.sh kill-master [slot|key]
#                                             SIGKILL the master serving the slot (or the key's slot;
#                                             default: the default application's slot) and print it
#   scripts/ha/redis-cluster.sh master-of [slot|key]   print host:port of that master
#
# Ports: HA_REDIS_CLUSTER_PORTS (default 7101-7106; cluster bus +10000).
# Data: HA_REDIS_DIR/cluster (default /tmp/relay-ha-redis/cluster). Unpersisted
# (no RDB, no AOF), as in the tests; a node started again rejoins from nodes.conf.
set -euo pipefail
. "$(dirname "$0")/redis-common.sh"

read -r -a PORTS <<<"${HA_REDIS_CLUSTER_PORTS:-7101 7102 7103 7104 7105 7106}"
DIR="${HA_REDIS_DIR:-/tmp/relay-ha-redis}/cluster"
# The key every job script of the default application touches hashes like this one.
DEFAULT_KEY="${HA_REDIS_DEFAULT_KEY:-relay:{app:default}}"

start_node() {
  local port=$1 dir="$DIR/$1"
  if pinged "$port"; then return 0; fi
  mkdir -p "$dir"
  # cluster-node-timeout 1000: a dead master is failed over within seconds,
  # so the failover tests stay short. Full coverage is not required: while
  # one master's slots fail over, the other slots go on being served.
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$dir" --daemonize yes \
    --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
    --cluster-require-full-coverage no --cluster-replica-validity-factor 0 --maxmemory-policy noeviction
  say "started :$port"
}

cluster_ok() {
  for p in "${PORTS[@]}"; do
    redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
  # Every replica in sync with its master.
  local masters replicas
  masters=$(redis-cli -h 127.0.0.1 -p "${PORTS[0]}" cluster nodes | grep -c 'master' || true)
  replicas=$(redis-cli -h 127.0.0.1 -p "${PORTS[0]}" cluster nodes | grep 'slave' | grep -vc 'fail' || true)
  [ "$masters" -ge 3 ] && [ "$replicas" -ge 3 ] || return 1
  # ...and each master's replica linked and done with its first sync, so that
  # WAIT 1 right after `up` has a replica to count.
  local info
  for p in "${PORTS[@]}"; do
    info=$(redis-cli -h 127.0.0.1 -p "$p" info replication 2>/dev/null | tr -d '\r')
    grep -q '^role:master' <<<"$info" || continue
    grep -q '^slave0:.*state=online' <<<"$info" || return 1
  done
}

slot_of() {
  local arg=${1:-$DEFAULT_KEY}
  if [[ $arg =~ ^[0-9]+$ ]]; then echo "$arg"; return; fi
  redis-cli -h 127.0.0.1 -p "$(live_port)" cluster keyslot "$arg" | tr -d '\r'
}

live_port() {
  for p in "${PORTS[@]}"; do if pinged "$p"; then echo "$p"; return; fi; done
  die "no cluster node answers"
}

# host:port of the live master that serves slot $1.
master_of_slot() {
  local slot=$1
  redis-cli -h 127.0.0.1 -p "$(live_port)" cluster nodes | tr -d '\r' | awk -v s="$slot" '
    $3 ~ /master/ && $3 !~ /fail/ {
      for (i = 9; i <= NF; i++) {
        if ($i ~ /^\[/) continue
        n = split($i, r, "-"); lo = r[1]; hi = (n == 2 ? r[2] : r[1])
        if (s + 0 >= lo + 0 && s + 0 <= hi + 0) { split($2, a, "@"); print a[1]; exit }
      }
    }'
}

case "${1:-}" in
  up)
    for p in "${PORTS[@]}"; do start_node "$p"; done
    for p in "${PORTS[@]}"; do wait_for 10 "node :$p" pinged "$p"; done
    known=$(redis-cli -h 127.0.0.1 -p "${PORTS[0]}" cluster info | tr -d '\r' | sed -n 's/^cluster_known_nodes://p')
    if [ "${known:-1}" -le 1 ]; then
      say "creating the cluster (3 masters, 3 replicas)"
      redis-cli --cluster create $(printf '127.0.0.1:%s ' "${PORTS[@]}") --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 ||
        { cat "$DIR/create.log" >&2; die "cluster create failed"; }
    fi
    say "waiting for cluster_state:ok and 3 replicas in sync"
    wait_for 60 "the cluster to be ok" cluster_ok
    say "up: REDIS_CLUSTER_NODES=$("$0" nodes)"
    ;;
  down)
    for p in "${PORTS[@]}"; do stop_port "$p"; done
    rm -rf "$DIR"
    say "down"
    ;;
  nodes)
    (IFS=,; printf '%s\n' "$(printf '127.0.0.1:%s,' "${PORTS[@]}" | sed 's/,$//')")
    ;;
  master-of)
    slot=$(slot_of "${2:-}")
    master_of_slot "$slot"
    ;;
  kill-master)
    slot=$(slot_of "${2:-}")
    addr=$(master_of_slot "$slot")
    [ -n "$addr" ] || die "no live master serves slot $slot"
    pid=$(kill_port "${addr##*:}")
    say "killed master $addr (pid $pid), which served slot $slot"
    echo "$addr"
    ;;
  *)
    sed -n '2,16p' "$0" >&2
    exit 2
    ;;
esac
