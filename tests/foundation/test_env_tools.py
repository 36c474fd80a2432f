"""`eval "$(shoplake env)"` points the stock aws CLI and awslocal at the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shoplake import aws
from shoplake.settings import Settings

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def test_shoplake_env_drives_aws_cli_and_awslocal(emulator: Settings) -> None:
    aws.client("s3", emulator).create_bucket(Bucket="env-tools-check")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SHOPLAKE_"))}
    env["SHOPLAKE_HOME"] = str(emulator.home)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    script = f'eval "$({BIN}/shoplake env)" && aws s3 ls && awslocal s3 ls'
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("env-tools-check") == 2
