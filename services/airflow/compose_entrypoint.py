"""Airflow in one container for the compose profile: the same four processes as the embedded
stack (:func:`shoplake.orchestration.components.airflow_components`: api-server, scheduler,
dag-processor, triggerer, each through ``shoplake.orchestration.launch``), with the api-server
on 0.0.0.0:8080 inside the container (compose publishes it on 127.0.0.1 only).

Stops every child on SIGTERM; exits (so the container stops and compose reports it) as soon
as one child exits. Health: ``GET :8080/api/v2/monitor/health``.
The admin password: ``docker compose exec airflow cat /var/lib/shoplake/airflow/admin-password``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import requests

from shoplake.orchestration.components import API_HEALTH, airflow_components
from shoplake.settings import get_settings

PORT = int(os.environ.get("AIRFLOW_PORT", "8080"))


def main() -> int:
    settings = get_settings()
    components = airflow_components(
        settings, aws_url=settings.aws_endpoint_url, glue_url=settings.glue_endpoint_url, api_port=PORT
    )
    children: list[subprocess.Popen[bytes]] = []

    def stop(signum: int, _frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for comp in components:
        argv = ["0.0.0.0" if a == "127.0.0.1" and comp.name == "airflow-api" else a for a in comp.argv]
        env = {**os.environ, **comp.env, "AIRFLOW__API__HOST": "0.0.0.0"}
        print(f"starting {comp.name}", flush=True)
        children.append(subprocess.Popen(argv, env=env))
        if comp.name == "airflow-api":  # the others need its execution API; it migrates the DB
            deadline = time.monotonic() + comp.ready_timeout
            while time.monotonic() < deadline and children[-1].poll() is None:
                try:
                    if requests.get(f"http://127.0.0.1:{PORT}{API_HEALTH}", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                time.sleep(1)
    while all(c.poll() is None for c in children):
        time.sleep(1)
    stop(signal.SIGTERM, None)
    deadline = time.monotonic() + 20
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return next((c.returncode for c in children if c.returncode), 0)


if __name__ == "__main__":
    sys.exit(main())
