#!/usr/bin/env bash
# One-shot, idempotent set-up of everything shoplake needs on a laptop, from nothing:
#   .venv            main environment, synced from requirements.lock (the one lock file)
#   .venv-emulator   MiniStack's own environment (it pins botocore exactly)
#   .venv-checkov    checkov, the IaC security scanner make test runs on infra/ (own pins)
#   .cache/jars      the two Spark S3 jars, taken from the sagemaker-pyspark sdist on PyPI
# Re-running it when nothing changed takes about a second (stamp files).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
UV_VERSION=0.13.9
MINISTACK_PINS="ministack==1.5.33 boto3==1.43.106 botocore==1.43.106"
# checkov pins boto3 1.35, networkx 2.x and cachetools<6 (Airflow needs >=6): it cannot share
# the main lock, so it gets a tool venv of its own, like the emulator.
CHECKOV_PINS="checkov==3.3.30"
JARS_SDIST=sagemaker-pyspark==1.4.5
JARS_SDIST_SHA256=05ca2d5081d7138ce29a8fb0a9cba077f28c825288ed07aed46a82e63c0bf1fb
declare -A JAR_SHA256=(
  [hadoop-aws-3.3.1.jar]=6be50ad8a8b445d2802381b085b2a3ede5c29d353450a6a21f16b2fefa962b6e
  [aws-java-sdk-bundle-1.11.901.jar]=b87175b32a16544cc1b37cf40390eb375833e62bed67f8ce6cde4b7ad6429ead
)

die() { echo "shoplake setup: $*" >&2; exit 1; }
step() { echo "==> $*"; }

# --- prerequisites: a clear one-line error naming what to install ----------------------
command -v "$PYTHON" >/dev/null || die "Python 3.11+ not found: install Python 3.11 or newer (or set PYTHON=/path/to/python3.11)"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || die "Python 3.11+ required, found $("$PYTHON" -V 2>&1): install Python 3.11 or newer (or set PYTHON=...)"
command -v java >/dev/null || die "Java not found: install a Java 17 runtime (e.g. apt-get install openjdk-17-jre-headless, brew install openjdk@17)"
jv=$(java -version 2>&1 | awk -F'"' '/version/ {print $2}' | cut -d. -f1)
[[ "$jv" == "17" || "$jv" == "11" || "$jv" == "21" ]] \
  || die "Java 17 required for Spark 3.5, found '$jv': install a Java 17 runtime"

mkdir -p .cache

# --- main venv from the lock ----------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
  step "creating .venv"
  "$PYTHON" -m venv .venv
fi
if [[ ! -x .venv/bin/uv ]] || [[ "$(.venv/bin/uv --version | awk '{print $2}')" != "$UV_VERSION" ]]; then
  step "installing uv $UV_VERSION"
  .venv/bin/python -m pip install -q "uv==$UV_VERSION"
fi
stamp=.venv/.shoplake-lock.sha256
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  step "syncing .venv with requirements.lock"
  # --compile-bytecode: every process (CLI, job runs, Airflow, dbt) then starts without
  # recompiling its imports, even where PYTHONDONTWRITEBYTECODE is set.
  .venv/bin/uv pip sync -q --compile-bytecode --python .venv/bin/python requirements.lock
  .venv/bin/uv pip install -q --python .venv/bin/python uv=="$UV_VERSION"
  .venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
  echo "$want" > "$stamp"
fi

# --- the emulator's own venv ------------------------------------------------------------
estamp=.venv-emulator/.shoplake-pins
if [[ "$(cat "$estamp" 2>/dev/null)" != "$MINISTACK_PINS" ]]; then
  step "creating .venv-emulator ($MINISTACK_PINS)"
  rm -rf .venv-emulator
  "$PYTHON" -m venv .venv-emulator
  # shellcheck disable=SC2086
  .venv/bin/uv pip install -q --python .venv-emulator/bin/python $MINISTACK_PINS
  echo "$MINISTACK_PINS" > "$estamp"
fi

# --- checkov's own venv ----------------------------------------------------------------
cstamp=.venv-checkov/.shoplake-pins
if [[ "$(cat "$cstamp" 2>/dev/null)" != "$CHECKOV_PINS" ]]; then
  step "creating .venv-checkov ($CHECKOV_PINS)"
  rm -rf .venv-checkov
  "$PYTHON" -m venv .venv-checkov
  # shellcheck disable=SC2086
  .venv/bin/uv pip install -q --python .venv-checkov/bin/python $CHECKOV_PINS
  echo "$CHECKOV_PINS" > "$cstamp"
fi

# --- Spark S3 jars (hadoop-aws + AWS SDK bundle), verified by sha256 -------------------
jars_ok=1
for jar in "${!JAR_SHA256[@]}"; do
  [[ -f ".cache/jars/$jar" ]] && echo "${JAR_SHA256[$jar]}  .cache/jars/$jar" | sha256sum -c --quiet - 2>/dev/null || jars_ok=0
done
if (( ! jars_ok )); then
  step "fetching the Spark S3 jars from the $JARS_SDIST sdist (PyPI, ~180 MB, once)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  .venv/bin/python -m pip download -q --no-deps --no-binary :all: -d "$tmp" "$JARS_SDIST"
  sdist=$(ls "$tmp"/*.tar.gz)
  echo "$JARS_SDIST_SHA256  $sdist" | sha256sum -c --quiet - || die "sha256 mismatch for $sdist"
  mkdir -p .cache/jars
  for jar in "${!JAR_SHA256[@]}"; do
    tar -xzf "$sdist" -C "$tmp" --wildcards "*/deps/jars/$jar"
    mv "$tmp"/*/deps/jars/"$jar" .cache/jars/
    echo "${JAR_SHA256[$jar]}  .cache/jars/$jar" | sha256sum -c --quiet - || die "sha256 mismatch for $jar"
  done
fi
step "setup complete"
