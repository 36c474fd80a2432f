"""Code artifacts of the stack: deterministic Lambda zips and Glue job files under
content-addressed keys in the artifacts bucket.

A key names its content's SHA-256, so the template parameter that carries it changes exactly
when the code does: a change set then modifies that function or job and nothing else, and a
deploy of unchanged code has nothing to upload and nothing to change.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from shoplake.settings import ROOT

_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
SHARED_LAMBDA_MODULES = ("lambdas/shared/shoplake_events.py", "lambdas/shared/shoplake_ledger.py")
#: the lake contract (standard library only), bundled as a package into every zip
CONTRACT_PACKAGE = "src/shoplake_contract"


@dataclass(frozen=True)
class Artifact:
    """One file to upload; ``parameter`` is the template parameter that takes its key."""

    parameter: str
    folder: str  # "lambdas" or "jobs" (the Glue role may read jobs/ only)
    name: str  # the file name at the end of the key (Glue downloads the script under it)
    body: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def key(self) -> str:
        return f"{self.folder}/{self.digest[:32]}/{self.name}"


def deterministic_zip(files: dict[str, Path]) -> bytes:
    """A zip whose bytes depend only on the names and contents of ``files``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[arcname].read_bytes())
    return buf.getvalue()


def python_files(src: Path, prefix: str = "") -> dict[str, Path]:
    return {
        f"{prefix}{p.relative_to(src).as_posix()}": p
        for p in sorted(src.rglob("*.py"))
        if "__pycache__" not in p.parts and not p.name.startswith("test_")
    }


def contract_files(root: Path = ROOT) -> dict[str, Path]:
    """``shoplake_contract/*.py``, to sit at a zip's root (importable as ``shoplake_contract``)."""
    return python_files(root / CONTRACT_PACKAGE, "shoplake_contract/")


def lambda_zip(function_dir: str, root: Path = ROOT) -> bytes:
    """``lambdas/<function>/*.py`` plus the shared modules and the contract, at the zip's root."""
    files = python_files(root / function_dir)
    for shared in SHARED_LAMBDA_MODULES:
        files[Path(shared).name] = root / shared
    files.update(contract_files(root))
    return deterministic_zip(files)


def jobs_zip(root: Path = ROOT) -> bytes:
    """``shoplake_jobs/`` plus ``shoplake_contract/`` (the lake's datasets, keys and suffix
    rules, shared with the Lambdas) at the zip's root."""
    files = python_files(root / "jobs" / "shoplake_jobs", "shoplake_jobs/")
    files.update(contract_files(root))
    return deterministic_zip(files)


def build(root: Path = ROOT) -> list[Artifact]:
    """Every artifact of the stack, built from the working tree."""
    return [
        Artifact("TriggerCodeKey", "lambdas", "s3_trigger.zip", lambda_zip("lambdas/s3_trigger", root)),
        Artifact("JobEventsCodeKey", "lambdas", "job_events.zip", lambda_zip("lambdas/job_events", root)),
        Artifact("SweeperCodeKey", "lambdas", "sweeper.zip", lambda_zip("lambdas/sweeper", root)),
        Artifact("CleanseScriptKey", "jobs", "cleanse.py", (root / "jobs" / "cleanse.py").read_bytes()),
        Artifact("JobsLibraryKey", "jobs", "shoplake_jobs.zip", jobs_zip(root)),
    ]


def keys(artifacts: list[Artifact]) -> dict[str, str]:
    """``{template parameter: key}``."""
    return {a.parameter: a.key for a in artifacts}


def upload(s3: Any, bucket: str, artifacts: list[Artifact], echo: Callable[[str], None]) -> int:
    """Put the artifacts whose key is not in ``bucket`` yet; returns how many were put."""
    put = 0
    for a in artifacts:
        try:
            s3.head_object(Bucket=bucket, Key=a.key)
            continue
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        s3.put_object(Bucket=bucket, Key=a.key, Body=a.body,
                      ChecksumAlgorithm="SHA256")
        echo(f"  uploaded s3://{bucket}/{a.key} ({len(a.body):,} bytes)")
        put += 1
    return put
