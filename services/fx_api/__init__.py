"""Local stand-in for the Frankfurter exchange-rate API (ECB reference rates).

``python services/fx_api/server.py --host 127.0.0.1 --port P`` serves ``/v1/latest``,
``/v1/<date>``, ``/v1/<start>..<end>`` and ``/v1/currencies`` from deterministic rates, plus
``GET /health`` and the fault-injection endpoint ``/_control`` (see ``server.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

SERVER = Path(__file__).resolve().parent / "server.py"


def command(port: int, host: str = "127.0.0.1", python: str | None = None) -> list[str]:
    """The argv that starts the stand-in on ``host:port`` (stdlib only: any Python 3.11 works)."""
    return [python or sys.executable, str(SERVER), "--host", host, "--port", str(port)]
