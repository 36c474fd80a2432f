"""``shoplake run batch`` (the daily DAG for one business day, through Airflow's REST API) and
``shoplake airflow status|password``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import click

from shoplake.settings import get_settings


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    if value is None:
        return (datetime.now(UTC) - timedelta(days=1)).date()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


@click.group("run")
def run_group() -> None:
    """Run a pipeline through the orchestrator (Airflow)."""


@run_group.command("batch")
@click.option("--date", "day", callback=_day, help="Business day D (default: yesterday, UTC).")
@click.option("--batch-root", default=None,
              help="Folder holding day=YYYY-MM-DD/ batches (default: the DAG's, data/sample).")
@click.option("--timeout", default=1800.0, show_default=True, help="Seconds to wait for the run.")
def run_batch_command(day: date, batch_root: str | None, timeout: float) -> None:
    """Trigger the daily DAG for business day D, print each task's progress, and exit
    non-zero unless the run succeeds."""
    from shoplake.orchestration.client import AirflowError, run_batch

    try:
        run = run_batch(get_settings(), day, batch_root=batch_root, timeout=timeout, echo=click.echo)
    except AirflowError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"run {run['dag_run_id']}: {run['state']}")
    if run["state"] != "success":
        raise click.exceptions.Exit(1)


@click.group("airflow")
def airflow_group() -> None:
    """The local Airflow (started by `shoplake up`)."""


@airflow_group.command("status")
def airflow_status_command() -> None:
    """Health of Airflow's components and the last runs of the shoplake DAGs (JSON)."""
    from shoplake.orchestration.client import airflow_status

    status = airflow_status(get_settings())
    click.echo(json.dumps(status, indent=2, default=str))
    if not status["reachable"]:
        raise click.exceptions.Exit(1)


@airflow_group.command("password")
def airflow_password_command() -> None:
    """Print the local admin's password (user `admin`) for the Airflow UI."""
    from shoplake.orchestration.config import admin_password

    click.echo(admin_password(get_settings()))


COMMANDS = [run_group, airflow_group]
