#!/bin/sh
# Entrypoint of the relay image: fills the settings that docker-compose.yml
# leaves to generated values, then runs the command (node ...) in its place.
#
# With RELAY_SECRETS_DIR set (the volume written by init-secrets.sh), each of
# RELAY_SECRET_KEY, REDIS_URL, RABBITMQ_URL that is unset or empty is read from
# the file of the same role; a value given in the environment is used as it
# is. The `ha` profile's files fill RABBITMQ_URLS and REDIS_SENTINEL_PASSWORD
# the same way (only its volume has them); REDIS_PASSWORD, which a Sentinel or
# Cluster set-up needs beside the host list, is filled only when
# REDIS_SENTINELS or REDIS_CLUSTER_NODES is set, so that a single Redis keeps
# taking its password from REDIS_URL alone. RELAY_SECRETS_ROLE=backend also reads RELAY_MASTER_KEY, and prints it
# once: on the first start that uses the generated key (the marker's removal
# is atomic, so two backends cannot both print it). The worker needs no
# master key and is not given one. The secret key is never printed.
set -eu

dir=${RELAY_SECRETS_DIR:-}
if [ -n "$dir" ] && [ -d "$dir" ]; then
  fill() {
    eval "current=\${$1:-}"
    if [ -z "$current" ] && [ -s "$dir/$2" ]; then
      value=$(head -n 1 "$dir/$2")
      export "$1=$value"
      return 0
    fi
    return 1
  }
  fill RELAY_SECRET_KEY secret-key || true
  fill REDIS_URL redis-url || true
  fill RABBITMQ_URL rabbitmq-url || true
  fill RABBITMQ_URLS rabbitmq-urls || true
  fill REDIS_SENTINEL_PASSWORD sentinel-password || true
  if [ -n "${REDIS_SENTINELS:-}${REDIS_CLUSTER_NODES:-}" ]; then fill REDIS_PASSWORD redis-password || true; fi
  if [ "${RELAY_SECRETS_ROLE:-}" = backend ] && fill RELAY_MASTER_KEY master-key; then
    if rm "$dir/master-key.unannounced" 2>/dev/null; then
      printf '%s\n' \
        '================================================================' \
        'relay: generated master key (shown once, on this first start):' \
        "  $RELAY_MASTER_KEY" \
        "relay: read it again with: docker compose exec backend cat $dir/master-key" \
        '================================================================' >&2
    fi
  fi
  unset current value
fi

exec "$@"
