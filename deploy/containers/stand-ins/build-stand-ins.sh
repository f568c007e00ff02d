#!/usr/bin/env bash
# Builds local stand-ins for the registry base images the Dockerfiles and docker-compose.yml name, which cannot
# be pulled on these machines: node:20-bookworm-slim (Debian bookworm minbase + this machine's Node.js 20 and
# npm), redis:7-alpine (Debian's redis-server) and nginx:1.27-alpine (Debian's nginx). Test use only: a real
# deployment pulls the real images. Idempotent: an image that already exists is kept (FORCE=1 rebuilds).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="${STAND_IN_WORK:-/var/tmp/cohort-stand-ins}"
base=localhost/cohort-test/debian-minbase:bookworm
podman_() { podman --runtime /usr/sbin/runc --cgroup-manager cgroupfs "$@"; }
have() { [ "${FORCE:-0}" != 1 ] && podman_ image exists "$1"; }

if ! have "$base"; then
  rm -rf "$work/root" && mkdir -p "$work"
  debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
  tar -C "$work/root" -cf "$work/base.tar" .
  podman_ import --change 'CMD ["bash"]' "$work/base.tar" "$base" >/dev/null
  rm -rf "$work/root" "$work/base.tar"
fi

if ! have docker.io/library/node:20-bookworm-slim; then
  ctx="$work/node-ctx" && rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$(readlink -f "$(command -v node)")" "$ctx/node"
  cp -a /usr/lib/node_modules/npm "$ctx/npm"
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
  podman_ build --format docker --network host -t docker.io/library/node:20-bookworm-slim \
    -f "$here/node.Containerfile" "$ctx" >/dev/null
  rm -rf "$ctx"
fi

if ! have docker.io/library/redis:7-alpine; then
  podman_ build --format docker --network host -t docker.io/library/redis:7-alpine \
    -f "$here/redis.Containerfile" "$here" >/dev/null
fi

if ! have docker.io/library/nginx:1.27-alpine; then
  podman_ build --format docker --network host -t docker.io/library/nginx:1.27-alpine \
    -f "$here/nginx.Containerfile" "$here" >/dev/null
fi
podman_ images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'cohort-test/debian|library/(node|redis|nginx)'
