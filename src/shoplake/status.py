"""What ``shoplake status`` prints: components, endpoints, health, queue depths."""

from __future__ import annotations

import contextlib

from rich.console import Console
from rich.table import Table

from shoplake import aws, stack
from shoplake.settings import Settings


def queue_depths(settings: Settings) -> dict[str, dict[str, int]]:
    """Visible / in-flight messages of the platform's queues (empty if unreachable)."""
    sqs = aws.client("sqs", settings)
    out: dict[str, dict[str, int]] = {}
    for name in (settings.ingest_queue, settings.ingest_dlq, settings.alerts_queue):
        with contextlib.suppress(Exception):
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attrs = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            out[name] = {
                "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
                "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
            }
    return out


def print_status(settings: Settings) -> bool:
    console = Console()
    console.print(f"profile [bold]{settings.profile}[/]  home {settings.home}")
    state = stack.running_state(settings) if settings.needs_local_stack else None
    ok = True
    if settings.needs_local_stack:
        table = Table("component", "pid", "endpoint", "health")
        if not state:
            console.print("stack: [red]not running[/] (shoplake up)")
            return False
        health = stack.component_health(state)
        for name, comp in state["components"].items():
            good = health.get(name, False)
            ok &= good
            table.add_row(name, str(comp["pid"]), comp["url"], "[green]healthy[/]" if good else "[red]DOWN[/]")
        console.print(table)
        if not health.get("emulator", False):
            console.print("queues: not checked, the emulator is down ([bold]shoplake up[/] restarts what is down)")
            return False
    if state and "airflow-api" in state.get("components", {}):
        from shoplake.orchestration.client import airflow_status

        af = airflow_status(settings)
        console.print(f"airflow UI/API {af.get('url')}: "
                      + ("reachable" if af.get("reachable") else f"[red]{af.get('error')}[/]"))
        runs = Table("dag", "paused", "run", "state", "logical date")
        for dag_id, info in af.get("dags", {}).items():
            for r in (info.get("last_runs") or [])[:3]:
                runs.add_row(dag_id, str(info.get("is_paused")), str(r.get("dag_run_id", "")),
                             str(r.get("state", "")), str(r.get("logical_date", "")))
        if runs.row_count:
            console.print(runs)
    depths = queue_depths(settings)
    if depths:
        q = Table("queue", "visible", "in flight")
        for name, d in depths.items():
            q.add_row(name, str(d["visible"]), str(d["in_flight"]))
        console.print(q)
        from shoplake.recovery import queue_has_consumer

        try:
            consumed, why = queue_has_consumer(settings)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            consumed, why = False, f"cannot check the event source mapping: {exc}"
        ok &= consumed
        console.print(f"event path: {'[green]' + why + '[/]' if consumed else '[red]' + why + '[/] (shoplake up)'}")
    else:
        console.print("queues: [red]not reachable or not provisioned[/] (shoplake deploy)")
        ok = False
    return ok
