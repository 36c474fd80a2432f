"""Start one Airflow process for the local stack: ``python -m shoplake.orchestration.launch
--service scheduler --health-port P --api-url URL``.

1. ``airflow db migrate`` once per Airflow version (under a file lock: the first component
   to start does it, the others wait and find it done);
2. start ``airflow <service>`` as a child (the same process group: ``shoplake down`` stops it);
3. for services without an HTTP endpoint of their own (scheduler, dag-processor, triggerer),
   serve ``GET /health`` on ``--health-port``: 200 while the child runs AND the api-server's
   ``/api/v2/monitor/health`` reports that component healthy (its heartbeat), else 503.

The api-server is started with ``--health-port 0``: it answers health itself.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from shoplake import private

log = logging.getLogger("shoplake.orchestration.launch")

POOL = "warehouse"

#: component name in /api/v2/monitor/health for each service
MONITOR_KEY = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}


def airflow_bin() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else "airflow"


def migrate(env: dict[str, str] | None = None, timeout: float = 300) -> bool:
    """``airflow db migrate`` unless already done for this Airflow version; True if it ran."""
    env = dict(env or os.environ)
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    from importlib.metadata import version

    marker = home / f".migrated-{version('apache-airflow')}"
    with open(home / "migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return False
        log.info("airflow db migrate (%s)", env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"))
        # airflow.db holds the connections (and their secrets): created 0600
        subprocess.run([airflow_bin(), "db", "migrate"], env=env, check=True, timeout=timeout,
                       umask=private.UMASK)
        # one slot: DuckDB allows one writer; the DAGs' warehouse tasks queue for it
        subprocess.run([airflow_bin(), "pools", "set", POOL, "1", "warehouse writers (DuckDB: one)"],
                       env=env, check=True, timeout=timeout)
        marker.write_text("ok\n")
        return True


def component_healthy(api_url: str, service: str) -> tuple[bool, dict[str, Any]]:
    key = MONITOR_KEY.get(service)
    try:
        doc = requests.get(f"{api_url}/api/v2/monitor/health", timeout=1).json()
    except (requests.RequestException, ValueError) as exc:
        return False, {"error": str(exc)}
    status = (doc.get(key) or {}).get("status") if key else "healthy"
    return status == "healthy", doc.get(key) or {}


def _serve_health(port: int, child: subprocess.Popen[bytes], api_url: str, service: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:
            alive = child.poll() is None
            healthy, detail = component_healthy(api_url, service) if alive else (False, {})
            body = json.dumps({"service": service, "pid": child.pid, "alive": alive,
                               "healthy": alive and healthy, "detail": detail}).encode()
            self.send_response(200 if alive and healthy else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _die_with_parent() -> None:
    """Linux: SIGTERM this child when its parent (the launcher) dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--service", required=True, choices=["api-server", *MONITOR_KEY])
    p.add_argument("--health-port", type=int, default=0)
    p.add_argument("--api-url", default="")
    p.add_argument("args", nargs="*", help="extra arguments for `airflow <service>`")
    ns = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    migrate()
    # same process group; dies with this launcher, so a restarted component never finds its
    # predecessor's orphan still running
    child = subprocess.Popen([airflow_bin(), ns.service, *ns.args], preexec_fn=_die_with_parent)

    def stop(signum: int, _frame: Any) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = _serve_health(ns.health_port, child, ns.api_url, ns.service) if ns.health_port else None
    try:
        return child.wait()
    finally:
        if server:
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
