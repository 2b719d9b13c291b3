# Shared by redis-cluster.sh and redis-sentinel.sh (sourced, not run).
# Every wait has a deadline; every server binds 127.0.0.1 only.

say() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# wait_for <seconds> <description> <command...>: polls until the command succeeds.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then die "timed out after ${seconds}s waiting for ${what}"; fi
    sleep 0.2
  done
}

pinged() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ${2:+$2} ping 2>/dev/null)" = PONG ]; }

# The pid of the server on port $1, from its own INFO (empty when it is not running).
# `|| true`: with nothing on the port, redis-cli fails, and under pipefail and
# errexit the caller's `pid=$(server_pid ...)` would end the script.
server_pid() { redis-cli -h 127.0.0.1 -p "$1" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p' || true; }

# Stops the server on port $1 (only ours: the port is one of the script's own).
stop_port() {
  local port=$1 pid
  pid=$(server_pid "$port")
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then kill -9 "$pid" 2>/dev/null || true; break; fi
    sleep 0.1
  done
  say "stopped :$port (pid $pid)"
}

# Kills the server on port $1 at once (SIGKILL: no shutdown, no save), as a crash would.
kill_port() {
  local port=$1 pid
  pid=$(server_pid "$port")
  [ -n "$pid" ] || die "nothing runs on :$port"
  kill -9 "$pid"
  echo "$pid"
}
