#!/usr/bin/env bash
# Makes sure the real services Pullwright's tests and demo need are running:
# Redis on loopback, a Docker engine, the base image, the sandbox image and Chromium (browser tests).
# Idempotent and quick when everything is already up. `down` stops what it started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REDIS_PORT="${PULLWRIGHT_REDIS_PORT:-6379}"
SANDBOX_IMAGE="${SANDBOX_IMAGE:-pullwright-sandbox:latest}"
BASE_IMAGE="$(awk 'toupper($1)=="FROM"{print $2; exit}' "$ROOT/sandbox-image/Dockerfile")"
STATE_DIR="${PULLWRIGHT_STATE_DIR:-/tmp/pullwright-services}"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

# The Redis password lives here, and /tmp is shared with every local user: the folder must be
# ours, not a symlink, and private (another user's folder could hand us their Redis URL).
mkdir -p -m 700 "$STATE_DIR"
{ [ -O "$STATE_DIR" ] && [ ! -L "$STATE_DIR" ]; } \
  || die "$STATE_DIR is a symlink or not owned by $(id -un); set PULLWRIGHT_STATE_DIR to a folder of yours"
chmod 700 "$STATE_DIR"

is_root() { [ "$(id -u)" = 0 ]; }
APT_UPDATED=0
apt_install() {
  # Installs Debian packages, or explains what is missing when we cannot.
  if ! is_root; then
    die "missing: $* (not root, cannot install; install them or run this script as root)"
  fi
  command -v apt-get >/dev/null || die "missing: $* (no apt-get on this machine; install them by hand)"
  if [ "$APT_UPDATED" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Redis always gets a password (issue 14, item 1): a job written into Redis runs with the app's
# credentials, and a sandbox or any local process can reach a loopback port. The password is
# generated once into the state dir (0600) and kept off command lines (config file, REDISCLI_AUTH).
# Local consumers (tests, demo, bench) read the URL from $STATE_DIR/redis-url through
# scripts/local-redis-url.ts, so nobody has to export REDIS_URL.
PASSWORD_FILE="$STATE_DIR/redis-password"
URL_FILE="$STATE_DIR/redis-url"

redis_password() {
  if [ ! -s "$PASSWORD_FILE" ]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PASSWORD_FILE.tmp")
    mv "$PASSWORD_FILE.tmp" "$PASSWORD_FILE"
  fi
  chmod 600 "$PASSWORD_FILE"
  cat "$PASSWORD_FILE"
}

# What an unauthenticated PING gets: PONG (no password), NOAUTH (a password) or nothing (no Redis).
redis_answer() {
  command -v redis-cli >/dev/null || return 0
  env -u REDISCLI_AUTH redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>&1 || true
}

authed_ping() {
  REDISCLI_AUTH="$1" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG
}

write_url() {
  (umask 077 && printf '%s\n' "$1" >"$URL_FILE.tmp")
  mv "$URL_FILE.tmp" "$URL_FILE"
}

redis_up() {
  local answer password
  password="$(redis_password)"
  answer="$(redis_answer)"
  case "$answer" in
    *PONG*)
      # Started before services.sh set passwords (or by hand). Restarting it would pull the queue
      # from under whoever uses it, so leave it and say so.
      log "warning: redis on 127.0.0.1:$REDIS_PORT answers without a password; left as it is."
      log "         To give it one: bash scripts/services.sh down && bash scripts/services.sh up"
      write_url "redis://127.0.0.1:$REDIS_PORT"
      return 0
      ;;
    *NOAUTH*)
      authed_ping "$password" \
        || die "redis on 127.0.0.1:$REDIS_PORT wants a password that is not the one in $PASSWORD_FILE; stop it or set PULLWRIGHT_REDIS_PORT"
      write_url "redis://:$password@127.0.0.1:$REDIS_PORT"
      return 0
      ;;
  esac
  command -v redis-server >/dev/null || apt_install redis-server
  log "starting redis on 127.0.0.1:$REDIS_PORT (password in $PASSWORD_FILE)"
  (umask 077 && printf 'requirepass %s\n' "$password" >"$STATE_DIR/redis.conf")
  # No persistence for the test/demo server; production uses docker-compose (AOF, noeviction).
  redis-server "$STATE_DIR/redis.conf" --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' \
    --appendonly no --maxmemory-policy noeviction --logfile "$STATE_DIR/redis.log" --dir "$STATE_DIR" \
    --pidfile "$STATE_DIR/redis-$REDIS_PORT.pid"
  for _ in $(seq 1 50); do
    if authed_ping "$password"; then
      write_url "redis://:$password@127.0.0.1:$REDIS_PORT"
      return 0
    fi
    sleep 0.1
  done
  die "redis did not start; see $STATE_DIR/redis.log"
}

# The Redis HA test (tests/ha/) runs its own sentinels; only the binary is needed here.
sentinel_tools_up() {
  command -v redis-sentinel >/dev/null || apt_install redis-sentinel
}

redis_down() {
  local password=""
  [ -s "$PASSWORD_FILE" ] && password="$(cat "$PASSWORD_FILE")"
  case "$(redis_answer)" in
    *NOAUTH*) REDISCLI_AUTH="$password" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true ;;
    *PONG*) env -u REDISCLI_AUTH redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true ;;
  esac
  rm -f "$URL_FILE"
}

docker_up() {
  if docker info >/dev/null 2>&1; then return 0; fi
  command -v dockerd >/dev/null || apt_install docker.io
  is_root || die "no Docker engine is running and starting dockerd needs root"
  log "starting dockerd"
  nohup dockerd >"$STATE_DIR/dockerd.log" 2>&1 &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "dockerd did not start; see $STATE_DIR/dockerd.log"
}

base_image_up() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return 0; fi
  # Real users pull the base from a registry; try that first, quietly.
  if timeout 20 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then return 0; fi
  case "$BASE_IMAGE" in
    debian:bookworm-slim) ;;
    *) die "base image $BASE_IMAGE is missing and cannot be pulled" ;;
  esac
  command -v debootstrap >/dev/null || apt_install debootstrap
  log "no registry: bootstrapping $BASE_IMAGE with debootstrap"
  local dir
  dir="$(mktemp -d /tmp/pullwright-rootfs.XXXXXX)"
  debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$STATE_DIR/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $STATE_DIR/debootstrap.log"
  # Make it look like the registry's slim image: apt lists are fetched by the Dockerfile.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb
  tar -C "$dir" -c . | docker import - "$BASE_IMAGE" >/dev/null
  rm -rf "$dir"
}

sandbox_image_up() {
  local hash
  hash="$(cat "$ROOT"/sandbox-image/* | sha256sum | cut -c1-16)"
  if [ "$(docker image inspect -f '{{index .Config.Labels "dev.pullwright.context-hash"}}' "$SANDBOX_IMAGE" 2>/dev/null)" = "$hash" ]; then
    return 0
  fi
  log "building $SANDBOX_IMAGE"
  docker build -q --label "dev.pullwright.context-hash=$hash" -t "$SANDBOX_IMAGE" "$ROOT/sandbox-image" >"$STATE_DIR/build.log" 2>&1 \
    || { tail -40 "$STATE_DIR/build.log" >&2; die "sandbox image build failed"; }
}

git_up() {
  command -v git >/dev/null || apt_install git
  # git http-backend serves the GitHub twin's repositories.
  [ -x "$(git --exec-path)/git-http-backend" ] || apt_install git
}

# Browser tests (tests/browser/) drive Debian's Chromium through puppeteer-core, which never downloads
# a browser: the binary must come from the distribution, so CI on a fresh machine installs it here.
CHROMIUM_BIN="${PULLWRIGHT_CHROMIUM:-/usr/bin/chromium}"
chromium_up() {
  if [ -x "$CHROMIUM_BIN" ]; then return 0; fi
  apt_install chromium
  [ -x "$CHROMIUM_BIN" ] || die "chromium was installed but $CHROMIUM_BIN is missing; set PULLWRIGHT_CHROMIUM"
}

case "${1:-up}" in
  up)
    git_up
    chromium_up
    redis_up
    sentinel_tools_up
    docker_up
    base_image_up
    sandbox_image_up
    log "ready: redis 127.0.0.1:$REDIS_PORT (URL in $URL_FILE), docker, $SANDBOX_IMAGE, $CHROMIUM_BIN"
    ;;
  redis) redis_up ;;
  chromium) chromium_up ;;
  down) redis_down ;;
  *) die "usage: services.sh [up|redis|chromium|down]" ;;
esac
