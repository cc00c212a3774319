#!/usr/bin/env bash
# Installs and starts what ops and its tests need on Debian 12: used by .ci/run, the quick start
# and the test helpers. Steps: packages, engine, base-image, registry (default: all); sklearn
# (Debian's python3-sklearn, the forest benchmark's reference) and pandas (the profile benchmark's)
# only when asked for; chromium (Debian's headless browser and fonts, for the report and UI tests),
# sqlite3 (the metrics benchmark's baseline), postgres (Debian's PostgreSQL 15 server binaries:
# the test helpers start their own clusters) and shells (zsh and fish, to check the completion
# scripts) when asked for.
set -euo pipefail

BASE_IMAGE="${OPS_BASE_IMAGE:-ops/busybox:latest}"
REGISTRY_ADDR="${OPS_REGISTRY_ADDR:-127.0.0.1:5000}"
PACKAGES=(git docker.io docker-registry busybox-static ca-certificates curl prometheus prometheus-alertmanager)

log() { printf 'setup: %s\n' "$*" >&2; }

packages() {
  local missing=()
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then log "missing packages ${missing[*]}: run as root or install them"; return 1; fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

engine_answers() { curl -sf --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; }

engine() {
  if [ -n "${DOCKER_HOST:-}" ] || engine_answers; then return 0; fi
  if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null; then log "no Docker engine answers and dockerd cannot be started here"; return 1; fi
  # One starter at a time: parallel test files may all find the engine down.
  exec 9>/tmp/ops-dockerd.lock
  flock 9
  if ! engine_answers; then
    log "starting dockerd (log: /tmp/ops-dockerd.log)"
    setsid dockerd >/tmp/ops-dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 120); do engine_answers && break; sleep 0.5; done
  fi
  flock -u 9
  engine_answers || { log "dockerd did not answer within 60 s; see /tmp/ops-dockerd.log"; tail -5 /tmp/ops-dockerd.log >&2; return 1; }
}

# Nothing can be pulled here: the base image is busybox-static's binary imported as a one-layer rootfs.
base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return 0; fi
  local busybox rootfs
  busybox=$(command -v busybox) || { log "busybox-static is not installed"; return 1; }
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www" "$rootfs/etc"
  cp "$busybox" "$rootfs/bin/busybox"
  for applet in $("$busybox" --list); do [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/false' >> "$rootfs/etc/passwd"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  log "imported $BASE_IMAGE"
}

sklearn() {
  /usr/bin/python3 -c 'import sklearn' 2>/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then log "python3-sklearn is missing: run as root or install it"; return 1; fi
  log "installing python3-sklearn"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-sklearn >/dev/null
}

pandas() {
  /usr/bin/python3 -c 'import pandas' 2>/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then log "python3-pandas is missing: run as root or install it"; return 1; fi
  log "installing python3-pandas"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pandas >/dev/null
}

# Installs what is missing of the named Debian packages (root only).
install_missing() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then log "missing packages ${missing[*]}: run as root or install them"; return 1; fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

registry_answers() { curl -sf --max-time 2 "http://$1/v2/" >/dev/null 2>&1; }

# OPS_REGISTRY_ADDR=auto picks a free port once and shares it (through a state file) with later callers.
registry() {
  local addr="$REGISTRY_ADDR" state=/tmp/ops-registry/addr
  mkdir -p /tmp/ops-registry
  exec 8>/tmp/ops-registry.lock
  flock 8
  if [ "$addr" = auto ]; then
    if [ -s "$state" ] && registry_answers "$(cat "$state")"; then cat "$state"; flock -u 8; return 0; fi
    addr="127.0.0.1:$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
  elif registry_answers "$addr"; then flock -u 8; return 0; fi
  local dir="/tmp/ops-registry/${addr//[:.]/-}"
  mkdir -p "$dir/data"
  cat > "$dir/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $addr
YAML
  log "starting docker-registry on $addr"
  setsid docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 < /dev/null &
  for _ in $(seq 1 40); do registry_answers "$addr" && break; sleep 0.25; done
  flock -u 8
  registry_answers "$addr" || { log "docker-registry did not answer on $addr; see $dir/log"; return 1; }
  [ "$REGISTRY_ADDR" = auto ] && echo "$addr" > "$state" && echo "$addr"
  return 0
}

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(packages engine base-image registry)
for step in "${steps[@]}"; do
  case "$step" in
    packages) packages ;;
    engine) engine ;;
    base-image) base_image ;;
    registry) registry ;;
    sklearn) sklearn ;;
    pandas) pandas ;;
    chromium) install_missing chromium fonts-dejavu-core ;;
    sqlite3) install_missing sqlite3 ;;
    postgres) install_missing postgresql-15 postgresql-client-15 ;;
    shells) install_missing zsh fish ;;
    *) log "unknown step $step (packages, engine, base-image, registry, sklearn, pandas, chromium, sqlite3, postgres, shells)"; exit 2 ;;
  esac
done
