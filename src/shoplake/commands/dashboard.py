"""``shoplake dashboard``."""

from __future__ import annotations

import logging

import click

from shoplake.settings import get_settings

log = logging.getLogger(__name__)


@click.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port on 127.0.0.1 (default: the one saved in <home>/ports.json, else 8050, "
    "else a free one; saved for next time).",
)
def dashboard(port: int | None) -> None:
    """Serve the dashboard (sales, products, customer behaviour, pipeline health) on 127.0.0.1.

    Reads the marts of the current profile's warehouse read-only, in a short session under
    the writer lock, and again only when the warehouse changed: it never keeps the file open,
    so loads and dbt builds run while it is up. Charts work offline (plotly.js is served by
    the dashboard itself). Stop it with Ctrl-C.
    """
    from shoplake.dashboard import DashboardError, choose_port, make_server

    s = get_settings()
    try:
        chosen = choose_port(s, port)
        server = make_server(s, chosen)
    except (DashboardError, OSError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    host = s.bind_host if s.bind_host != "0.0.0.0" else "127.0.0.1"
    click.echo(f"dashboard: http://{host}:{chosen}/  (Ctrl-C to stop)", err=False)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        click.echo("dashboard stopped")
    finally:
        server.server_close()


COMMANDS = [dashboard]
