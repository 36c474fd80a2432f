"""A small client of Airflow's REST API (v2): trigger the daily DAG for a business day, follow
it task by task, and report Airflow's health and last runs (``shoplake run batch``,
``shoplake airflow status``).

Where Airflow is: ``settings.airflow_url`` (``SHOPLAKE_AIRFLOW_URL``; on the embedded profile
the ``airflow`` endpoint the running stack recorded). Credentials: ``settings.airflow_user`` /
``airflow_password``, else the local admin (``<home>/airflow/admin-password``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import requests

from shoplake.orchestration import DAILY_DAG_ID, NRT_DAG_ID
from shoplake.orchestration.config import ADMIN_USER, admin_password
from shoplake.settings import Settings

log = logging.getLogger(__name__)

TERMINAL_RUN_STATES = {"success", "failed"}


class AirflowError(RuntimeError):
    pass


def airflow_url(settings: Settings) -> str | None:
    url = settings.airflow_url
    return url.rstrip("/") if url else None


@dataclass
class AirflowClient:
    base_url: str
    username: str
    password: str
    timeout: float = 15.0
    _token: str | None = field(default=None, repr=False)
    _session: requests.Session = field(default_factory=requests.Session, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> AirflowClient:
        url = airflow_url(settings)
        if not url:
            raise AirflowError("Airflow is not running (no `airflow` endpoint in the stack file; "
                               "start it with `shoplake up`, or set SHOPLAKE_AIRFLOW_URL)")
        if settings.airflow_user:
            password = settings.airflow_password
            return cls(url, settings.airflow_user, password.get_secret_value() if password else "")
        return cls(url, ADMIN_USER, admin_password(settings))

    # --- plumbing -----------------------------------------------------------------------
    def token(self) -> str:
        if self._token is None:
            r = self._session.post(f"{self.base_url}/auth/token", timeout=self.timeout,
                                   json={"username": self.username, "password": self.password})
            if r.status_code >= 400:
                raise AirflowError(f"login as {self.username} failed: {r.status_code} {r.text[:200]}")
            self._token = str(r.json()["access_token"])
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token()}"}
        r = self._session.request(method, f"{self.base_url}{path}", headers=headers,
                                  timeout=self.timeout, **kwargs)
        if r.status_code == 401:  # token expired: log in again once
            self._token = None
            headers = {"Authorization": f"Bearer {self.token()}"}
            r = self._session.request(method, f"{self.base_url}{path}", headers=headers,
                                      timeout=self.timeout, **kwargs)
        if r.status_code >= 400:
            raise AirflowError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def health(self) -> dict[str, Any]:
        r = self._session.get(f"{self.base_url}/api/v2/monitor/health", timeout=self.timeout)
        r.raise_for_status()
        return dict(r.json())

    # --- DAG runs -----------------------------------------------------------------------
    def trigger(self, dag_id: str, day: date, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        """A manual run keyed on business day ``day``: data interval [day, day+1)."""
        start = datetime.combine(day, dtime(), tzinfo=UTC)
        end = start + timedelta(days=1)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        body = {
            "dag_run_id": f"batch__{day.isoformat()}__{stamp}",
            "logical_date": start.isoformat(),
            "data_interval_start": start.isoformat(),
            "data_interval_end": end.isoformat(),
            "conf": conf or {},
            "note": "shoplake run batch",
        }
        return dict(self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body))

    def run_for_day(self, dag_id: str, day: date) -> dict[str, Any] | None:
        """The run whose logical date is ``day`` (Airflow allows one per date), if any."""
        start = datetime.combine(day, dtime(), tzinfo=UTC).isoformat()
        doc = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns",
                           params={"logical_date_gte": start, "logical_date_lte": start, "limit": 1})
        runs = doc.get("dag_runs", [])
        return dict(runs[0]) if runs else None

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        doc = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                           params={"limit": 1000})
        return list(doc.get("task_instances", []))

    def wait(self, dag_id: str, run_id: str, *, timeout: float = 1800, poll: float = 2.0,
             echo: Callable[[str], None] = print) -> dict[str, Any]:
        """Poll the run until it ends (or ``timeout``), echoing each task state change."""
        deadline = time.monotonic() + timeout
        seen: dict[str, str] = {}
        while True:
            run = self.dag_run(dag_id, run_id)
            for ti in self.task_instances(dag_id, run_id):
                name = ti["task_id"] if ti.get("map_index", -1) < 0 else (
                    f"{ti['task_id']}[{ti.get('rendered_map_index') or ti['map_index']}]")
                state = str(ti.get("state"))
                if seen.get(name) != state:
                    seen[name] = state
                    tries = f" (try {ti.get('try_number')})" if (ti.get("try_number") or 0) > 1 else ""
                    echo(f"  {name}: {state}{tries}")
            if run["state"] in TERMINAL_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                raise AirflowError(f"run {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(poll)

    def active_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Runs of ``dag_id`` that are queued or running."""
        doc = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns",
                           params=[("state", "queued"), ("state", "running"), ("limit", 100)])
        return list(doc.get("dag_runs", []))

    def last_runs(self, dag_id: str, limit: int = 5) -> list[dict[str, Any]]:
        doc = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns",
                           params={"limit": limit, "order_by": "-run_after"})
        return [
            {k: r.get(k) for k in ("dag_run_id", "state", "run_type", "logical_date",
                                   "data_interval_start", "start_date", "end_date")}
            for r in doc.get("dag_runs", [])
        ]


def run_batch(settings: Settings, day: date, *, batch_root: str | None = None,
              timeout: float = 1800, echo: Callable[[str], None] = print,
              dag_id: str = DAILY_DAG_ID) -> dict[str, Any]:
    """Trigger the daily DAG for ``day`` and wait for it; returns the final run."""
    client = AirflowClient.from_settings(settings)
    conf = {"batch_root": batch_root} if batch_root else {}
    existing = client.run_for_day(dag_id, day)
    if existing:
        # Airflow keeps one run per logical date: re-running a day means clearing its run
        # (every task is idempotent, keyed on the data interval).
        client.request("POST", f"/api/v2/dags/{dag_id}/dagRuns/{existing['dag_run_id']}/clear",
                       json={"dry_run": False})
        echo(f"cleared {dag_id} run {existing['dag_run_id']} for business day {day}: running it again")
        return client.wait(dag_id, existing["dag_run_id"], timeout=timeout, echo=echo)
    run = client.trigger(dag_id, day, conf)
    echo(f"triggered {dag_id} run {run['dag_run_id']} for business day {day}")
    return client.wait(dag_id, run["dag_run_id"], timeout=timeout, echo=echo)


def active_dag_runs(settings: Settings) -> list[dict[str, Any]]:
    """Queued or running runs of the shoplake DAGs; [] when this stack has no Airflow."""
    if not airflow_url(settings):
        return []
    client = AirflowClient.from_settings(settings)
    return [r for dag_id in (DAILY_DAG_ID, NRT_DAG_ID) for r in client.active_runs(dag_id)]


def airflow_status(settings: Settings, dag_ids: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Health of the Airflow components and the last runs of each shoplake DAG (for
    ``shoplake status``). Never raises: an unreachable Airflow is reported as such."""
    url = airflow_url(settings)
    out: dict[str, Any] = {"url": url, "reachable": False, "health": {}, "dags": {}}
    if not url:
        out["error"] = "not running"
        return out
    try:
        client = AirflowClient.from_settings(settings)
        out["health"] = client.health()
        out["reachable"] = True
        for dag_id in dag_ids or (DAILY_DAG_ID, NRT_DAG_ID):
            try:
                dag = client.request("GET", f"/api/v2/dags/{dag_id}")
                out["dags"][dag_id] = {"is_paused": dag.get("is_paused"),
                                       "last_runs": client.last_runs(dag_id)}
            except AirflowError as exc:
                out["dags"][dag_id] = {"error": str(exc)}
    except (requests.RequestException, AirflowError) as exc:
        out["error"] = str(exc)
    return out
