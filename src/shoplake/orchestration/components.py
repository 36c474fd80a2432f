"""Airflow's processes for the local stack (:func:`shoplake.stack.plan_components`).

Four processes, each started through :mod:`shoplake.orchestration.launch` (which runs
``airflow db migrate`` once, under a lock, before the first of them starts):

- ``airflow-api`` : ``airflow api-server`` on 127.0.0.1:<free port>, 1 worker; health
  ``/api/v2/monitor/health``;
- ``airflow-scheduler``, ``airflow-dag-processor``, ``airflow-triggerer``: health on a
  loopback port of the launcher, healthy once the api-server reports their heartbeat.

Log servers are not started (``--skip-serve-logs``: they would bind every interface); the
api-server reads the task logs from ``<home>/airflow/logs`` directly.

``stack.plan_components`` adds them once ``aws_url``/``glue_url`` are known. The process type
lives in :mod:`shoplake.processes`, below both modules (no import cycle).
"""

from __future__ import annotations

import sys

from shoplake.orchestration.config import airflow_env, api_url
from shoplake.processes import Component, free_port
from shoplake.settings import Settings

API_HEALTH = "/api/v2/monitor/health"
SERVICES = ("scheduler", "dag-processor", "triggerer")


def airflow_components(
    settings: Settings,
    *,
    aws_url: str | None = None,
    glue_url: str | None = None,
    api_port: int | None = None,
    ports: dict[str, int] | None = None,
) -> list[Component]:
    """The Airflow components, api-server first; ``ports`` by component name (default: free
    ports)."""
    host = settings.bind_host
    ports = ports or {}
    api_port = api_port or ports.get("airflow-api") or free_port(host)
    env = airflow_env(settings, api_port=api_port, aws_url=aws_url, glue_url=glue_url)
    url = api_url(api_port)
    launch = [sys.executable, "-m", "shoplake.orchestration.launch"]
    components = [
        Component(
            name="airflow-api",
            argv=[*launch, "--service", "api-server", "--",
                  "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1"],
            health_path=API_HEALTH,
            port=api_port,
            endpoint_key="airflow",
            env=env,
            ready_timeout=180.0,  # includes `airflow db migrate` on the first start
        )
    ]
    for service in SERVICES:
        port = ports.get(f"airflow-{service}") or free_port(host)
        extra = ["--", "--skip-serve-logs"] if service in ("scheduler", "triggerer") else []
        components.append(
            Component(
                name=f"airflow-{service}",
                argv=[*launch, "--service", service, "--health-port", str(port), "--api-url", url,
                      *extra],
                health_path="/health",
                port=port,
                endpoint_key=f"airflow_{service.replace('-', '_')}",
                env=env,
                ready_timeout=120.0,
            )
        )
    return components
