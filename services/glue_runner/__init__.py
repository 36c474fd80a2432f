"""Local AWS Glue job runner: the Glue job API over HTTP, runs as local processes.

:func:`command` gives the command line that starts it (``shoplake up`` uses it).
"""

from __future__ import annotations

import sys
from pathlib import Path

SERVER = Path(__file__).resolve().parent / "server.py"


def command(
    port: int,
    home: Path | str,
    *,
    host: str = "127.0.0.1",
    emit_events: bool = False,
    python: str | None = None,
    extra: list[str] | None = None,
) -> list[str]:
    """Command line of a runner on ``host:port`` keeping its state in ``<home>/glue_runner``."""
    cmd = [python or sys.executable, str(SERVER), "--host", host, "--port", str(port),
           "--home", str(home)]
    if emit_events:
        cmd.append("--emit-events")
    return cmd + list(extra or [])


def endpoint(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}"
