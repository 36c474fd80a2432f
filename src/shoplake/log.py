"""Standard logging with structured context: ``log.info("msg", extra={"ctx": {...}})``
renders as ``msg key=value ...``."""

from __future__ import annotations

import logging


class ContextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ctx = getattr(record, "ctx", None)
        if ctx:
            text += " " + " ".join(f"{k}={v}" for k, v in ctx.items())
        return text


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "aiobotocore", "fsspec", "s3fs"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
