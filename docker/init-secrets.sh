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
write_file "$REDIS_DIR/redis.conf" "user default off
user relay on >$redis_password ~* &* +@all"
write_file "$RABBITMQ_DIR/user" relay
write_file "$RABBITMQ_DIR/password" "$rabbitmq_password"

if [ -n "${SECRETS_OWNER:-}" ]; then
  chown -R "$SECRETS_OWNER" "$RELAY_DIR"
fi
echo "relay-secrets: ready"
