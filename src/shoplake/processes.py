"""What a local process of the stack is, shared by :mod:`shoplake.stack` (which starts and
stops them) and the modules that plan them (:mod:`shoplake.orchestration.components` for
Airflow's). It imports nothing of shoplake, so both sides can import it at the top."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field


@dataclass
class Component:
    """One local process of the stack."""

    name: str
    argv: list[str]
    health_path: str
    port: int
    endpoint_key: str
    env: dict[str, str] = field(default_factory=dict)
    ready_timeout: float = 60.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
