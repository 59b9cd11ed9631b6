#!/usr/bin/env bash
# Makes what `docker compose up` needs on a machine without a container registry:
# Debian's docker-compose (v1) and local stand-ins for the two base images docker-compose.yml
# and the Dockerfile name (redis:7-bookworm, node:20-bookworm-slim), built FROM the
# debian:bookworm-slim that scripts/services.sh provides. Real users pull the real images;
# this script tries that first. Idempotent and quick once the images exist.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REDIS_IMAGE="$(awk '$1=="image:"{print $2; exit}' "$ROOT/docker-compose.yml")"
NODE_IMAGE="$(awk 'toupper($1)=="FROM"{print $2; exit}' "$ROOT/Dockerfile")"
DEBIAN_IMAGE=debian:bookworm-slim
STATE_DIR="${PULLWRIGHT_STATE_DIR:-/tmp/pullwright-services}"
mkdir -p "$STATE_DIR"

log() { printf '[compose-images] %s\n' "$*" >&2; }
die() { printf '[compose-images] error: %s\n' "$*" >&2; exit 1; }

compose_up() {
  command -v docker-compose >/dev/null && return 0
  [ "$(id -u)" = 0 ] || die "docker-compose is missing (install Debian's docker-compose, or run this as root)"
  command -v apt-get >/dev/null || die "docker-compose is missing and there is no apt-get to install it"
  log "installing docker-compose"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
}

# Already there (pulled, or built by us with the same recipe)?
have_image() {
  local image="$1" hash="$2" label
  label="$(docker image inspect -f '{{index .Config.Labels "dev.pullwright.stand-in"}}' "$image" 2>/dev/null)" || return 1
  # A pulled image has no label: keep it. Ours is rebuilt when its recipe changed.
  [ "$label" = "<no value>" ] || [ "$label" = "" ] || [ "$label" = "$hash" ]
}

try_pull() { timeout 20 docker pull -q "$1" >/dev/null 2>&1; }

build() {
  local image="$1" hash="$2" dir="$3"
  log "no registry: building a stand-in for $image"
  docker build -q --label "dev.pullwright.stand-in=$hash" -t "$image" "$dir" >"$STATE_DIR/compose-images.log" 2>&1 \
    || { tail -40 "$STATE_DIR/compose-images.log" >&2; die "building $image failed"; }
}

redis_image_up() {
  local dir hash
  dir="$(mktemp -d /tmp/pullwright-redis-image.XXXXXX)"
  cat >"$dir/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends redis-server redis-tools \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p /data && chown redis:redis /data
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["redis-server"]
EOF
  # Like the official image: protected mode off (the container's port is the boundary) and
  # the server runs as the redis user, owning /data.
  cat >"$dir/entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = redis-server ]; then
  shift
  chown -R redis:redis /data 2>/dev/null || true
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no "$@"
fi
exec "$@"
EOF
  chmod +x "$dir/entrypoint.sh"
  hash="$(cat "$dir"/* | sha256sum | cut -c1-16)"
  if have_image "$REDIS_IMAGE" "$hash" || try_pull "$REDIS_IMAGE"; then rm -rf "$dir"; return 0; fi
  build "$REDIS_IMAGE" "$hash" "$dir"
  rm -rf "$dir"
}

node_image_up() {
  local dir hash node npm_dir cafile
  node="$(command -v node)" || die "node is missing on this machine (the stand-in copies the host's Node 20)"
  case "$("$node" --version)" in v20.*) ;; *) die "the host's node is $("$node" --version), not Node 20" ;; esac
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$npm_dir/package.json" ] || die "cannot find npm next to node ($npm_dir)"
  dir="$(mktemp -d /tmp/pullwright-node-image.XXXXXX)"
  cp "$(readlink -f "$node")" "$dir/node"
  cp -r "$npm_dir" "$dir/npm"
  # A registry mirror with its own CA (this machine's npm `cafile`) must be trusted inside too.
  cafile="$(npm config get cafile 2>/dev/null || true)"
  if [ -n "$cafile" ] && [ "$cafile" != null ] && [ -f "$cafile" ]; then cp "$cafile" "$dir/extra-ca.crt"; else : >"$dir/extra-ca.crt"; fi
  cat >"$dir/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY extra-ca.crt /usr/local/share/pullwright-extra-ca.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd -g 1000 node && useradd -u 1000 -g node -s /bin/bash -m node \\
 && if [ -s /usr/local/share/pullwright-extra-ca.crt ]; then \\
      echo "cafile=/usr/local/share/pullwright-extra-ca.crt" > /usr/local/etc/npmrc; fi
CMD ["node"]
EOF
  hash="$( (cat "$dir/Dockerfile" "$dir/extra-ca.crt"; "$node" --version; cat "$dir/npm/package.json") | sha256sum | cut -c1-16)"
  if have_image "$NODE_IMAGE" "$hash" || try_pull "$NODE_IMAGE"; then rm -rf "$dir"; return 0; fi
  build "$NODE_IMAGE" "$hash" "$dir"
  rm -rf "$dir"
}

compose_up
docker image inspect "$DEBIAN_IMAGE" >/dev/null 2>&1 || bash "$ROOT/scripts/services.sh" up
redis_image_up
node_image_up
log "ready: docker-compose, $REDIS_IMAGE, $NODE_IMAGE"
