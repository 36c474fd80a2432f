"""Every command answers --help; the group lists them all."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from shoplake.cli import cli


def _commands() -> list[str]:
    return sorted(cli.commands)


def test_group_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    for name in ("up", "down", "status", "deploy", "env"):
        assert name in result.output


@pytest.mark.parametrize("name", _commands())
def test_every_command_has_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3
