"""A stopped embedded stack: commands that need it say so in one line and build no AWS client.

Without the check, an embedded profile whose stack.json is gone has no endpoint, which boto3
reads as "the real AWS endpoints" (reached with the emulator's dummy keys).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from shoplake.cli import cli
from shoplake.settings import STACK_NOT_RUNNING, StackNotRunning, load_settings

# Run `shoplake deploy` with every way out to the network refused, and boto3 unable to make a
# client: any attempt is an AssertionError (a traceback, not the one-line message).
_GUARDED_DEPLOY = textwrap.dedent(
    """
    import socket
    import sys

    def refuse(*args, **kwargs):
        raise AssertionError(f"network call {args!r}")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    import boto3.session
    import botocore.session

    def no_client(self, *args, **kwargs):
        raise AssertionError(f"boto3 client built: {args!r} {kwargs!r}")

    boto3.session.Session.client = no_client
    botocore.session.Session.create_client = no_client

    from shoplake.cli import cli

    cli.main(["deploy"], prog_name="shoplake")
    """
)


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPLAKE_", "AWS_"))}
    env.update(SHOPLAKE_HOME=str(home), SHOPLAKE_PROFILE="embedded")
    return env


def test_deploy_on_a_stopped_embedded_stack_makes_no_client_and_no_network_call(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"  # no stack.json: the stack is down
    result = subprocess.run(
        [sys.executable, "-c", _GUARDED_DEPLOY],
        env=_clean_env(home),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "AssertionError" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip() == f"Error: {STACK_NOT_RUNNING}"


@pytest.mark.parametrize(
    "args",
    [
        ["deploy"],
        ["destroy", "--yes"],
        ["wait", "--timeout", "1"],
        ["alerts"],
        ["dlq", "list"],
        ["load"],
        ["fetch-rates"],
    ],
)
def test_commands_that_need_the_stack_fail_fast(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3.session

    def no_client(*a: object, **k: object) -> None:
        raise AssertionError("boto3 client built on a stopped stack")

    monkeypatch.setattr(boto3.session.Session, "client", no_client)
    for key in [k for k in os.environ if k.startswith(("SHOPLAKE_", "AWS_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("SHOPLAKE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert not isinstance(result.exception, AssertionError), result.output
    assert result.output.strip().splitlines()[-1] == f"Error: {STACK_NOT_RUNNING}", result.output


def test_settings_refuse_only_a_local_stack_without_endpoint(tmp_path: Path) -> None:
    with pytest.raises(StackNotRunning, match="run `shoplake up`"):
        load_settings(home=tmp_path).require_stack()
    load_settings(home=tmp_path, aws_endpoint_url="http://127.0.0.1:1").require_stack()
    load_settings(profile="aws", home=tmp_path).require_stack()  # real AWS: nothing to start
