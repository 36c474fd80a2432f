"""Which code the runner may execute: the job scripts the deploy wrote, nothing else.

A Glue job's ``Command.ScriptLocation`` and its ``--extra-py-files`` are code the runner runs
as the user. They are accepted only when they are

- a deployed artifact: ``s3://<artifacts bucket>/jobs/<sha256 prefix>/<file>``, the key layout
  of ``shoplake.deploy.package.Artifact.key`` (the bucket is ``settings.artifacts_bucket``).
  After the download the runner checks that the object's SHA-256 starts with the digest in its
  key, so an object put over a deployed key (the emulator accepts unsigned PUTs) is not run;
- or under an entry of the allow-list given when the runner starts (``--allow-scripts``,
  ``GLUE_RUNNER_ALLOW_SCRIPTS``): ``s3://bucket/prefix/`` or an absolute local folder (the
  resolved file, symlinks followed, must lie inside the resolved folder).

Anything else -- another bucket or prefix, ``file://`` or plain paths outside the allow-list,
relative paths, ``..``/``.`` segments, other schemes, percent-escapes, control characters --
is refused with :class:`ScriptLocationError` (the API answers ``InvalidInputException``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from shoplake_contract.ids import split_uri

log = logging.getLogger(__name__)

#: The Glue argument that names more code to put on the path.
EXTRA_PY_FILES = "--extra-py-files"
#: ``jobs/<first 32 hex digits of the SHA-256>/<file name>`` (shoplake.deploy.package).
DEPLOYED_KEY = re.compile(r"^jobs/(?P<digest>[0-9a-f]{32})/(?P<name>[A-Za-z0-9_][A-Za-z0-9_.-]{0,254})$")
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\%]")
MAX_LOCATION = 1024


class ScriptLocationError(ValueError):
    """A script or library location the runner refuses to execute."""


def _segments_ok(path: str) -> bool:
    return not any(seg in ("", ".", "..") for seg in path.split("/"))


@dataclass(frozen=True)
class ScriptPolicy:
    deploy_bucket: str
    #: ``(bucket, key prefix)`` pairs
    s3_prefixes: tuple[tuple[str, str], ...] = ()
    #: resolved local folders
    folders: tuple[Path, ...] = ()

    @classmethod
    def build(cls, deploy_bucket: str, allow: str | list[str] | tuple[str, ...] = ()) -> ScriptPolicy:
        """``allow``: comma-separated (or a list of) ``s3://bucket/prefix/`` or absolute folders."""
        entries = allow.split(",") if isinstance(allow, str) else list(allow)
        s3: list[tuple[str, str]] = []
        folders: list[Path] = []
        for raw in (e.strip() for e in entries):
            if not raw:
                continue
            if raw.startswith("s3://"):
                bucket, _, prefix = raw[len("s3://"):].partition("/")
                if not bucket or (prefix and not _segments_ok(prefix.rstrip("/"))):
                    raise ValueError(f"bad allow-list entry {raw!r}: want s3://bucket/prefix/")
                s3.append((bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/"))
            elif os.path.isabs(raw):
                folders.append(Path(os.path.realpath(raw)))
            else:
                raise ValueError(f"bad allow-list entry {raw!r}: want s3://bucket/prefix/ or an absolute folder")
        return cls(deploy_bucket, tuple(s3), tuple(folders))

    def describe(self) -> str:
        allowed = [f"s3://{self.deploy_bucket}/jobs/<sha256>/<file>"]
        allowed += [f"s3://{b}/{p}" for b, p in self.s3_prefixes]
        allowed += [f"{f}/" for f in self.folders]
        return ", ".join(allowed)

    def _refuse(self, location: object, why: str) -> ScriptLocationError:
        return ScriptLocationError(f"script location {location!r} refused: {why} (allowed: {self.describe()})")

    def check(self, location: object) -> str:
        """``location`` unchanged when the runner may execute it; else :class:`ScriptLocationError`."""
        if not isinstance(location, str) or not location:
            raise self._refuse(location, "not a non-empty string")
        if len(location) > MAX_LOCATION or _UNSAFE.search(location):
            raise self._refuse(location, "too long, or has spaces, control characters, '\\' or '%'")
        if location.startswith(("s3://", "s3a://")):
            bucket, key = split_uri(location)
            if not _segments_ok(key):
                raise self._refuse(location, "empty, '.' or '..' path segments")
            if bucket == self.deploy_bucket and DEPLOYED_KEY.match(key):
                return location
            if any(bucket == b and key.startswith(p) for b, p in self.s3_prefixes):
                return location
            raise self._refuse(location, "not a deployed job artifact")
        if location.startswith("file://"):
            parts = urlsplit(location)
            if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
                raise self._refuse(location, "file:// URL with a host, query or fragment")
            path = parts.path
        elif location.startswith("/"):
            path = location
        else:
            raise self._refuse(location, "not s3:// and not an absolute local path")
        if not _segments_ok(path[1:]):
            raise self._refuse(location, "empty, '.' or '..' path segments")
        if not self.folders:
            raise self._refuse(location, "local scripts are not allowed")
        real = Path(os.path.realpath(path))
        if not any(real.is_relative_to(folder) for folder in self.folders):
            raise self._refuse(location, "outside the allowed folders")
        return location

    def check_arguments(self, arguments: object) -> None:
        """Every location in an ``--extra-py-files`` argument of a Glue argument map."""
        if not isinstance(arguments, dict):
            return
        value = arguments.get(EXTRA_PY_FILES)
        if value is None:
            return
        if not isinstance(value, str):
            raise self._refuse(value, f"{EXTRA_PY_FILES} must be a string")
        for location in (v.strip() for v in value.split(",")):
            if location:
                self.check(location)

    def verify(self, location: str, downloaded: Path) -> None:
        """After the download: a deployed artifact's content must match the digest in its key."""
        if not location.startswith(("s3://", "s3a://")):
            return
        bucket, key = split_uri(location)
        if any(bucket == b and key.startswith(p) for b, p in self.s3_prefixes):
            return  # allow-listed explicitly: no content addressing promised there
        match = DEPLOYED_KEY.match(key)
        if bucket != self.deploy_bucket or not match:
            raise self._refuse(location, "not a deployed job artifact")
        digest = hashlib.sha256(downloaded.read_bytes()).hexdigest()
        if not digest.startswith(match["digest"]):
            raise ScriptLocationError(
                f"{location}: content SHA-256 {digest[:32]} does not match its key; "
                "the object was replaced after the deploy (redeploy with `shoplake deploy`)"
            )
