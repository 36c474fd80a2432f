"""The per-deployment secret that keys the PII hashes of the marts (issue 12, finding 10).

``email_hash`` is HMAC-SHA256(key, email) (RFC 2104), not a bare SHA-256: without the key
nobody can re-identify a customer by hashing candidate addresses. The key:

- ``SHOPLAKE_PII_KEY`` when set (the orchestration sets it, e.g. from Secrets Manager);
- on the aws profile (Snowflake warehouse): the Secrets Manager secret
  ``<project>/pii-hmac-key`` that infra/shoplake.yaml generates (``PiiHmacKeySecret``);
- otherwise ``pii-key`` next to the warehouse file (``<home>/pii-key`` by default): generated
  once, 0600, in a 0700 folder. Next to the warehouse because the hashes in it were made with
  it: they live and go together, and in the compose profile every container that runs dbt
  shares that volume (and so the key).

Neither DuckDB 2.0 (no ``hmac`` function; the ``crypto`` community extension is not
installable offline) nor Snowflake (SHA2 only) has an HMAC function, but both hash
binaries, so dbt/macros/pii.sql computes the HMAC itself from its two padded keys:
``H((K ^ opad) || H((K ^ ipad) || m))``. Jinja cannot XOR bytes, so :func:`dbt_env` passes
the two padded keys (hex) to dbt; the key itself never reaches dbt.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from shoplake import private
from shoplake.settings import Settings
from shoplake.warehouse.backends import backend

log = logging.getLogger(__name__)

KEY_ENV = "SHOPLAKE_PII_KEY"
KEY_FILE = private.PII_KEY_FILE
#: the variables dbt/macros/pii.sql reads
INNER_ENV = "SHOPLAKE_PII_HMAC_INNER"
OUTER_ENV = "SHOPLAKE_PII_HMAC_OUTER"
_BLOCK = 64  # SHA-256 block size in bytes


class PiiKeyError(RuntimeError):
    """The PII key cannot be read."""


def secret_name(settings: Settings) -> str:
    """Secrets Manager name of the key (infra/shoplake.yaml, PiiHmacKeySecret)."""
    return f"{settings.project}/pii-hmac-key"


def key(settings: Settings) -> bytes:
    """This deployment's PII key (see the module docstring for where it comes from)."""
    value = os.environ.get(KEY_ENV)
    if not value and backend(settings).pii_key_in_secrets_manager:
        value = _from_secrets_manager(settings)
    if not value:
        value = _local_key(private.pii_key_file(settings))
    if len(value) < 32:
        raise PiiKeyError("the PII key must have at least 32 characters")
    return value.encode()


def digest(key_bytes: bytes, value: str) -> str:
    """Hex HMAC-SHA256 of ``value``: what dbt writes as ``email_hash``."""
    return hmac.new(key_bytes, value.encode(), hashlib.sha256).hexdigest()


def dbt_env(key_bytes: bytes) -> dict[str, str]:
    """The HMAC's inner and outer padded keys (RFC 2104, section 2) for dbt, as hex."""
    k = hashlib.sha256(key_bytes).digest() if len(key_bytes) > _BLOCK else key_bytes
    k = k.ljust(_BLOCK, b"\0")
    return {
        INNER_ENV: bytes(b ^ 0x36 for b in k).hex(),
        OUTER_ENV: bytes(b ^ 0x5C for b in k).hex(),
    }


def _local_key(path: Path) -> str:
    """Read the key file, or create it once, 0600 from the start (O_EXCL: no race)."""
    private.private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, private.FILE_MODE)
    except FileExistsError:
        return path.read_text().strip()
    value = secrets.token_hex(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    log.info("generated the PII hashing key %s", path)
    return value


def _from_secrets_manager(settings: Settings) -> str:
    from shoplake.aws import client

    name = secret_name(settings)
    try:
        return client("secretsmanager", settings).get_secret_value(SecretId=name)["SecretString"]
    except Exception as exc:  # botocore's errors: say which secret, once
        raise PiiKeyError(f"cannot read the PII key {name} from Secrets Manager: {exc}") from exc
