"""The one module that builds AWS clients, from :mod:`shoplake.settings`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from shoplake.settings import Settings, get_settings
from shoplake_contract.ids import split_uri

_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=60)


@lru_cache(maxsize=8)
def _session(region: str, key: str | None, secret: str | None) -> boto3.session.Session:
    return boto3.session.Session(
        region_name=region, aws_access_key_id=key, aws_secret_access_key=secret
    )


def client_kwargs(service: str, settings: Settings | None = None) -> dict[str, Any]:
    """Keyword arguments for ``boto3.client(service, ...)`` in the current profile.

    Raises :class:`shoplake.settings.StackNotRunning` when the profile's local stack is down:
    no endpoint would otherwise mean the real AWS endpoints."""
    s = settings or get_settings()
    s.require_stack()
    endpoint = s.glue_endpoint_url if service == "glue" and s.glue_endpoint_url else s.aws_endpoint_url
    kwargs: dict[str, Any] = {"region_name": s.region, "config": _RETRIES}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    return kwargs


def client(service: str, settings: Settings | None = None) -> Any:
    """A boto3 client for ``service`` pointed at the current profile's endpoint."""
    s = settings or get_settings()
    kwargs = client_kwargs(service, s)  # first: it refuses a stopped local stack
    session = _session(s.region, s.aws_access_key_id, s.aws_secret_access_key)
    return session.client(service, **kwargs)


def s3fs_filesystem(settings: Settings | None = None) -> Any:
    """An ``s3fs.S3FileSystem`` for the current profile (DuckDB, dbt and pandas use it).

    Not checked by :meth:`~shoplake.settings.Settings.require_stack`: the object connects to
    nothing until it is used, and a local warehouse writer registers one even for work that
    never reads S3 (tests, dbt on the file). What reads S3 through it (the loader) builds a
    :func:`client` first, which refuses a stopped stack."""
    import s3fs

    s = settings or get_settings()
    client_kw: dict[str, Any] = {"region_name": s.region}
    if s.aws_endpoint_url:
        client_kw["endpoint_url"] = s.aws_endpoint_url
    return s3fs.S3FileSystem(
        key=s.aws_access_key_id,
        secret=s.aws_secret_access_key,
        client_kwargs=client_kw,
        skip_instance_cache=True,
    )


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    if not uri.startswith(("s3://", "s3a://")):
        raise ValueError(f"not an S3 URI: {uri!r}")
    return split_uri(uri)


def account_id(settings: Settings | None = None) -> str:
    """The account of the current credentials (STS), else the configured ``account_id``."""
    s = settings or get_settings()
    try:
        return str(client("sts", s).get_caller_identity()["Account"])
    except Exception:  # noqa: BLE001 - no STS (or no credentials): the configured id
        return s.account_id
