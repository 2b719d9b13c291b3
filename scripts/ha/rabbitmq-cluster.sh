#!/usr/bin/env bash
# A 3-node RabbitMQ cluster on this machine, for the HA tests and for trying
# relay on a cluster: nodes relay-ha-1..3@localhost, AMQP on 127.0.0.1:5681-5683,
# Erlang distribution on 25681-25683, no plugins (no management), data and logs
# under $RELAY_HA_RABBIT_DIR (default /tmp/relay-ha-rabbit). The machine's own
# RabbitMQ (5672, /etc/rabbitmq) is never read, joined or touched: every node
# gets its own config, env file, cookie (HOME) and directories.
#
#   rabbitmq-cluster.sh up            start the nodes (those not running) and cluster them
#   rabbitmq-cluster.sh down          stop every node and remove the data
#   rabbitmq-cluster.sh stop-node N   stop node N (1-3); the others go on
#   rabbitmq-cluster.sh start-node N  start node N again; it rejoins by itself
#   rabbitmq-cluster.sh leader QUEUE  print the node leading quorum queue QUEUE
#   rabbitmq-cluster.sh urls          print RABBITMQ_URLS for the three nodes
#
# Each step is idempotent, and every wait has a timeout (RELAY_HA_WAIT_S, 90 s).
set -euo pipefail

BASE=${RELAY_HA_RABBIT_DIR:-/tmp/relay-ha-rabbit}
WAIT_S=${RELAY_HA_WAIT_S:-90}
NODES=(1 2 3)
BIN=/usr/lib/rabbitmq/bin
# The Debian wrappers in /usr/sbin switch to the rabbitmq user and its HOME
# (the shared node's cookie); the scripts under lib/ run as the caller.
[[ -x $BIN/rabbitmq-server ]] || BIN=$(dirname "$(command -v rabbitmq-server)")

amqp_port() { echo $((5680 + $1)); }
dist_port() { echo $((25680 + $1)); }
node_name() { echo "relay-ha-$1@localhost"; }
log() { printf '[rabbitmq-cluster] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

check_node() { [[ ${1:-} =~ ^[123]$ ]] || die "node must be 1, 2 or 3 (got '${1:-}')"; }

# Environment of node $1 (or of the CLI, which needs only HOME for the cookie).
node_env() {
  local n=$1 dir="$BASE/node-$1"
  echo "HOME=$BASE/home"
  echo "RABBITMQ_NODENAME=$(node_name "$n")"
  echo "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
  echo "RABBITMQ_NODE_PORT=$(amqp_port "$n")"
  echo "RABBITMQ_DIST_PORT=$(dist_port "$n")"
  echo "RABBITMQ_MNESIA_BASE=$dir/mnesia"
  echo "RABBITMQ_LOG_BASE=$dir/log"
  echo "RABBITMQ_PID_FILE=$dir/pid"
  echo "RABBITMQ_CONFIG_FILE=$dir/rabbitmq.conf"
  echo "RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config"
  echo "RABBITMQ_CONF_ENV_FILE=$BASE/rabbitmq-env.conf"
  echo "RABBITMQ_ENABLED_PLUGINS_FILE=$BASE/enabled_plugins"
  echo "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
}

ctl() { env HOME="$BASE/home" "$BIN/rabbitmqctl" "$@"; }

running() { ctl -n "$(node_name "$1")" -q status >/dev/null 2>&1; }

prepare() {
  mkdir -p "$BASE/home"
  chmod 700 "$BASE/home"
  if [[ ! -s $BASE/home/.erlang.cookie ]]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F' >"$BASE/home/.erlang.cookie"
    chmod 400 "$BASE/home/.erlang.cookie"
  fi
  echo '[].' >"$BASE/enabled_plugins"
  : >"$BASE/rabbitmq-env.conf"
  for n in "${NODES[@]}"; do
    local dir="$BASE/node-$n"
    mkdir -p "$dir/mnesia" "$dir/log"
    cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$(amqp_port "$n")
loopback_users.guest = true
log.file.level = info
log.console = false
CONF
    echo '[].' >"$dir/advanced.config"
  done
}

start_node() {
  local n=$1 node
  node=$(node_name "$n")
  if running "$n"; then
    log "$node already running"
    return
  fi
  log "starting $node (AMQP 127.0.0.1:$(amqp_port "$n"), dist $(dist_port "$n"))"
  (
    cd "$BASE"
    while IFS= read -r kv; do export "${kv?}"; done < <(node_env "$n")
    nohup "$BIN/rabbitmq-server" >"$BASE/node-$n/log/stdout.log" 2>&1 &
  )
  # await_startup fails at once while the node is not yet reachable at all:
  # ask again until the deadline.
  local deadline=$((SECONDS + WAIT_S)) up=0
  while ((SECONDS < deadline)); do
    if timeout "$WAIT_S" env HOME="$BASE/home" "$BIN/rabbitmqctl" -n "$node" -q await_startup --timeout $((deadline - SECONDS + 1)) >/dev/null 2>&1; then
      up=1
      break
    fi
    sleep 1
  done
  if ((up == 0)); then
    tail -20 "$BASE/node-$n/log/stdout.log" >&2 || true
    die "$node did not start within ${WAIT_S} s (logs: $BASE/node-$n/log)"
  fi
  log "$node is up"
}

in_cluster() {
  # Whether node $1 already counts node 1 among the cluster's disc nodes.
  ctl -n "$(node_name "$1")" -q cluster_status --formatter json 2>/dev/null | grep -q "\"$(node_name 1)\""
}

join_node() {
  local n=$1 node
  node=$(node_name "$n")
  if in_cluster "$n"; then
    log "$node already in the cluster"
    return
  fi
  log "joining $node to $(node_name 1)"
  timeout "$WAIT_S" env HOME="$BASE/home" "$BIN/rabbitmqctl" -n "$node" -q stop_app >>"$BASE/node-$n/log/cli.log" 2>&1 ||
    die "$node: stop_app failed (see $BASE/node-$n/log/cli.log)"
  timeout "$WAIT_S" env HOME="$BASE/home" "$BIN/rabbitmqctl" -n "$node" -q reset >>"$BASE/node-$n/log/cli.log" 2>&1 ||
    die "$node: reset failed (see $BASE/node-$n/log/cli.log)"
  timeout "$WAIT_S" env HOME="$BASE/home" "$BIN/rabbitmqctl" -n "$node" -q join_cluster "$(node_name 1)" >>"$BASE/node-$n/log/cli.log" 2>&1 ||
    die "$node: join_cluster failed (see $BASE/node-$n/log/cli.log)"
  timeout "$WAIT_S" env HOME="$BASE/home" "$BIN/rabbitmqctl" -n "$node" -q start_app >>"$BASE/node-$n/log/cli.log" 2>&1 ||
    die "$node: start_app failed (see $BASE/node-$n/log/cli.log)"
  log "$node joined"
}

stop_node() {
  local n=$1 node
  node=$(node_name "$n")
  if ! running "$n"; then
    log "$node not running"
    return
  fi
  log "stopping $node"
  timeout "$WAIT_S" env HOME="$BASE/home" "$BIN/rabbitmqctl" -n "$node" -q stop "$BASE/node-$n/pid" >/dev/null 2>&1 ||
    die "$node did not stop within ${WAIT_S} s"
  log "$node stopped"
}

any_running() {
  for n in "${NODES[@]}"; do
    if running "$n"; then
      echo "$n"
      return
    fi
  done
  return 1
}

cmd=${1:-}
case $cmd in
  up)
    prepare
    for n in "${NODES[@]}"; do start_node "$n"; done
    for n in 2 3; do join_node "$n"; done
    log "cluster up: $(ctl -n "$(node_name 1)" -q cluster_status --formatter json | grep -o '"running_nodes":\[[^]]*\]')"
    ;;
  down)
    if [[ -d $BASE ]]; then
      for n in "${NODES[@]}"; do stop_node "$n" || true; done
      rm -rf "$BASE"
    fi
    log "cluster down"
    ;;
  stop-node)
    check_node "${2:-}"
    stop_node "$2"
    ;;
  start-node)
    check_node "${2:-}"
    [[ -d $BASE/node-$2 ]] || die "no data for node $2: run 'up' first"
    start_node "$2"
    ;;
  leader)
    [[ -n ${2:-} ]] || die "usage: $0 leader QUEUE"
    n=$(any_running) || die "no node is running"
    leader=$(ctl -n "$(node_name "$n")" -q list_queues name leader --no-table-headers 2>/dev/null | awk -v q="$2" '$1 == q { print $2 }')
    [[ -n $leader ]] || die "no quorum queue named '$2' (or it has no leader)"
    echo "$leader"
    ;;
  urls)
    echo "amqp://guest:guest@127.0.0.1:$(amqp_port 1),amqp://guest:guest@127.0.0.1:$(amqp_port 2),amqp://guest:guest@127.0.0.1:$(amqp_port 3)"
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    [[ -z $cmd ]] || exit 2
    ;;
esac
