#!/bin/sh
# Generates the deployment's secrets on first start (docker-compose.yml runs it
# as the one-shot `secrets` service before everything else), and derives each
# consumer's files from them on every start. Never replaces a value it made:
# a new RELAY_SECRET_KEY would make every sealed value in Redis unreadable,
# new broker passwords would not match the users the brokers already created.
#
#   RELAY_DIR     values for backend and worker: master-key (only when
#                 RELAY_MASTER_KEY is not given), secret-key (only when
#                 RELAY_SECRET_KEY is not given), redis-password,
#                 rabbitmq-password, and the derived redis-url, rabbitmq-url
#   REDIS_DIR     redis.conf (ACL user `relay`, default user off), password
#   RABBITMQ_DIR  user, password (RabbitMQ's default user, made on its first boot)
#   REDIS_ADDRESS, RABBITMQ_ADDRESS   host:port written into the URLs
#   SECRETS_OWNER user[:group] given the RELAY_DIR files (the image's `node`);
#                 the broker files stay the runner's (root), read by root wrappers
# Only for the `ha` compose profile (unset: none of the files below is made):
#   RABBITMQ_ADDRESSES  comma-separated host:port of a RabbitMQ cluster's nodes:
#                 RELAY_DIR/rabbitmq-urls (one URL per node, comma-separated)
#                 and RABBITMQ_DIR/erlang-cookie (the nodes' shared secret)
#   SENTINEL_MONITOR    "<name> <host> <port> <quorum>" of a Sentinel set-up:
#                 redis.conf also lets a node authenticate to its master
#                 (masteruser/masterauth: any node may be a replica after a
#                 failover); sentinel-password in RELAY_DIR and REDIS_DIR;
#                 REDIS_DIR/sentinel.conf (password required, monitors the
#                 master with user `relay`)
# Given keys (RELAY_MASTER_KEY, RELAY_SECRET_KEY) are never written to disk.
set -eu
umask 077

: "${RELAY_DIR:?}" "${REDIS_DIR:?}" "${RABBITMQ_DIR:?}"
REDIS_ADDRESS=${REDIS_ADDRESS:-redis:6379}
RABBITMQ_ADDRESS=${RABBITMQ_ADDRESS:-rabbitmq:5672}

# 32 random bytes, base64 (RELAY_SECRET_KEY's format).
random_base64() { head -c 32 /dev/urandom | base64 | tr -d '\n'; }
# 32 random bytes, base64url without padding: safe in a URL's user info and a shell.
random_token() { random_base64 | tr '+/' '-_' | tr -d '='; }
# 32 random bytes, hex: an Erlang cookie (an atom: letters and digits are safe).
random_hex() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Writes $2 to $1 through a temporary file and a rename, so that a crash
# never leaves a half-written key behind.
write_file() {
  printf '%s\n' "$2" >"$1.tmp"
  mv -f "$1.tmp" "$1"
}

# Makes $1 once with the generator $2; an existing empty file is an error,
# not a reason to make a new value.
ensure() {
  if [ -e "$1" ]; then
    if [ ! -s "$1" ]; then
      echo "relay-secrets: $1 exists but is empty; restore it from a backup or remove it to generate a new one" >&2
      exit 1
    fi
    return 1
  fi
  write_file "$1" "$($2)"
}

read_value() { head -n 1 "$1"; }

mkdir -p "$RELAY_DIR" "$REDIS_DIR" "$RABBITMQ_DIR"
# A volume is created root-owned and world-readable: close it to its owner.
chmod 700 "$RELAY_DIR" "$REDIS_DIR" "$RABBITMQ_DIR"

if [ -z "${RELAY_MASTER_KEY:-}" ] && ensure "$RELAY_DIR/master-key" random_token; then
  # The backend prints the key once, on the start that removes this marker.
  : >"$RELAY_DIR/master-key.unannounced"
fi
if [ -z "${RELAY_SECRET_KEY:-}" ]; then ensure "$RELAY_DIR/secret-key" random_base64 || true; fi
ensure "$RELAY_DIR/redis-password" random_token || true
ensure "$RELAY_DIR/rabbitmq-password" random_token || true

redis_password=$(read_value "$RELAY_DIR/redis-password")
rabbitmq_password=$(read_value "$RELAY_DIR/rabbitmq-password")

# Derived on every start, so that a changed address takes effect.
write_file "$RELAY_DIR/redis-url" "redis://relay:$redis_password@$REDIS_ADDRESS"
write_file "$RELAY_DIR/rabbitmq-url" "amqp://relay:$rabbitmq_password@$RABBITMQ_ADDRESS"
write_file "$REDIS_DIR/password" "$redis_password"
redis_acl="user default off
user relay on >$redis_password ~* &* +@all"
if [ -n "${SENTINEL_MONITOR:-}" ]; then
  set -- $SENTINEL_MONITOR
  if [ $# -ne 4 ]; then
    echo "relay-secrets: SENTINEL_MONITOR must be '<name> <host> <port> <quorum>'" >&2
    exit 1
  fi
  ensure "$RELAY_DIR/sentinel-password" random_token || true
  sentinel_password=$(read_value "$RELAY_DIR/sentinel-password")
  write_file "$REDIS_DIR/sentinel-password" "$sentinel_password"
  write_file "$REDIS_DIR/redis.conf" "$redis_acl
masteruser relay
masterauth $redis_password"
  # Sentinel rewrites its configuration (what it learns of replicas, epochs):
  # each sentinel copies this file to its own volume on its first start.
  # Host names resolve (compose service names), and are announced as such.
  write_file "$REDIS_DIR/sentinel.conf" "port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
requirepass $sentinel_password
sentinel sentinel-pass $sentinel_password
sentinel monitor $1 $2 $3 $4
sentinel auth-user $1 relay
sentinel auth-pass $1 $redis_password
sentinel down-after-milliseconds $1 5000
sentinel failover-timeout $1 60000"
else
  write_file "$REDIS_DIR/redis.conf" "$redis_acl"
fi
write_file "$RABBITMQ_DIR/user" relay
write_file "$RABBITMQ_DIR/password" "$rabbitmq_password"
if [ -n "${RABBITMQ_ADDRESSES:-}" ]; then
  ensure "$RABBITMQ_DIR/erlang-cookie" random_hex || true
  urls=
  for address in $(printf '%s' "$RABBITMQ_ADDRESSES" | tr ',' ' '); do
    urls="${urls:+$urls,}amqp://relay:$rabbitmq_password@$address"
  done
  write_file "$RELAY_DIR/rabbitmq-urls" "$urls"
fi

if [ -n "${SECRETS_OWNER:-}" ]; then
  chown -R "$SECRETS_OWNER" "$RELAY_DIR"
fi
echo "relay-secrets: ready"
