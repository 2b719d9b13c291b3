#!/usr/bin/env bash
# A Sentinel set-up on this machine: 1 master, 2 replicas, 3 sentinels
# (quorum 2), for the HA tests (e2e/ha) and for trying relay on Sentinel.
#
#   scripts/ha/redis-sentinel.sh up           start what is not running (idempotent)
#   scripts/ha/redis-sentinel.sh down         stop everything and remove the data
#   scripts/ha/redis-sentinel.sh sentinels    print the REDIS_SENTINELS value
#   scripts/ha/redis-sentinel.sh master       print host:port of the current master
#   scripts/ha/redis-sentinel.sh kill-master  SIGKILL the current master and print which it was
#
# Ports: HA_REDIS_SENTINEL_DATA_PORTS (default 7201 7202 7203: the first
# starts as master), HA_REDIS_SENTINEL_PORTS (default 26401 26402 26403).
# Master name: HA_REDIS_SENTINEL_NAME (default relay-ha). Data:
# HA_REDIS_DIR/sentinel (default /tmp/relay-ha-redis/sentinel). Unpersisted.
# down-after-milliseconds 2000 and failover-timeout 5000 keep the failover
# tests quick (1000 made a loaded test machine fail over spuriously);
# production values are longer (docs/operations.md).
set -euo pipefail
. "$(dirname "$0")/redis-common.sh"

read -r -a DATA <<<"${HA_REDIS_SENTINEL_DATA_PORTS:-7201 7202 7203}"
read -r -a SENTINELS <<<"${HA_REDIS_SENTINEL_PORTS:-26401 26402 26403}"
NAME="${HA_REDIS_SENTINEL_NAME:-relay-ha}"
DIR="${HA_REDIS_DIR:-/tmp/relay-ha-redis}/sentinel"

# The master the sentinels name now (host:port), or empty.
current_master() {
  for s in "${SENTINELS[@]}"; do
    local reply
    reply=$(redis-cli -h 127.0.0.1 -p "$s" sentinel get-master-addr-by-name "$NAME" 2>/dev/null | tr -d '\r' | paste -sd: -) || true
    if [ -n "$reply" ]; then echo "$reply"; return; fi
  done
}

start_data() {
  local port=$1 dir="$DIR/$1"; shift
  if pinged "$port"; then return 0; fi
  mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$dir" --daemonize yes \
    --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" --maxmemory-policy noeviction "$@"
  say "started :$port $*"
}

start_sentinel() {
  local port=$1 master=$2 dir="$DIR/s$1"
  if pinged "$port"; then return 0; fi
  mkdir -p "$dir"
  # A sentinel rewrites its own file (what it learned of the set-up): kept
  # across a restart of the sentinel, written fresh only the first time.
  if [ ! -f "$dir/sentinel.conf" ]; then
    cat >"$dir/sentinel.conf" <<CONF
bind 127.0.0.1
port $port
daemonize yes
dir $dir
logfile $dir/sentinel.log
pidfile $dir/sentinel.pid
sentinel resolve-hostnames no
sentinel monitor $NAME ${master%:*} ${master##*:} 2
sentinel down-after-milliseconds $NAME 2000
sentinel failover-timeout $NAME 5000
sentinel parallel-syncs $NAME 2
CONF
  fi
  redis-server "$dir/sentinel.conf" --sentinel
  say "started sentinel :$port"
}

replicas_in_sync() {
  local addr=$1 n
  n=$(redis-cli -h "${addr%:*}" -p "${addr##*:}" info replication | tr -d '\r' | grep -c '^slave[0-9]*:.*state=online' || true)
  [ "$n" -ge 2 ]
}

sentinels_agree() {
  local want=$1
  for s in "${SENTINELS[@]}"; do
    local got
    got=$(redis-cli -h 127.0.0.1 -p "$s" sentinel get-master-addr-by-name "$NAME" 2>/dev/null | tr -d '\r' | paste -sd: -)
    [ "$got" = "$want" ] || return 1
    # Each sentinel knows the other two (quorum needs them).
    local others
    others=$(redis-cli -h 127.0.0.1 -p "$s" sentinel master "$NAME" | tr -d '\r' | awk 'p{print; exit} $0=="num-other-sentinels"{p=1}')
    [ "${others:-0}" -ge 2 ] || return 1
  done
}

case "${1:-}" in
  up)
    master=$(current_master)
    master=${master:-127.0.0.1:${DATA[0]}}
    for p in "${DATA[@]}"; do
      if [ "127.0.0.1:$p" = "$master" ]; then start_data "$p"; else start_data "$p" --replicaof 127.0.0.1 "${master##*:}"; fi
    done
    for p in "${DATA[@]}"; do wait_for 10 "redis :$p" pinged "$p"; done
    for s in "${SENTINELS[@]}"; do start_sentinel "$s" "$master"; done
    for s in "${SENTINELS[@]}"; do wait_for 10 "sentinel :$s" pinged "$s"; done
    say "waiting for 3 sentinels that agree on a master with 2 replicas in sync"
    # The master may move meanwhile (a failover of a slow machine): wait for
    # whichever master the sentinels name, and report it.
    agreed() { master=$(current_master) && [ -n "$master" ] && sentinels_agree "$master" && replicas_in_sync "$master"; }
    wait_for 90 "sentinels to agree on a master with 2 replicas in sync" agreed
    master=$(current_master)
    say "up: master $master; REDIS_SENTINELS=$("$0" sentinels) REDIS_SENTINEL_NAME=$NAME"
    ;;
  down)
    for s in "${SENTINELS[@]}"; do stop_port "$s"; done
    for p in "${DATA[@]}"; do stop_port "$p"; done
    rm -rf "$DIR"
    say "down"
    ;;
  sentinels)
    printf '127.0.0.1:%s,' "${SENTINELS[@]}" | sed 's/,$/\n/'
    ;;
  master)
    current_master
    ;;
  kill-master)
    addr=$(current_master)
    [ -n "$addr" ] || die "no sentinel names a master"
    pid=$(kill_port "${addr##*:}")
    say "killed master $addr (pid $pid)"
    echo "$addr"
    ;;
  *)
    sed -n '2,18p' "$0" >&2
    exit 2
    ;;
esac
