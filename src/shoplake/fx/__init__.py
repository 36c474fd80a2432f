"""FX rates ingestion: Frankfurter (ECB reference rates) -> raw JSON on S3.

- :func:`fetch_rates` (CLI ``shoplake fetch-rates``, Airflow) fetches missing dates;
- :func:`flatten` turns one raw document into ``raw.fx_rates`` rows for the warehouse;
- :class:`FrankfurterClient` is the HTTP client (timeouts, retries, validation).
"""

from shoplake.fx.client import FrankfurterClient, RetryPolicy
from shoplake.fx.errors import (
    FxError,
    FxHTTPError,
    FxResponseError,
    FxRetriesExhausted,
    RawConflictError,
)
from shoplake.fx.ingest import ChunkResult, FetchResult, fetch_rates
from shoplake.fx.raw import flatten, raw_key

__all__ = [
    "ChunkResult",
    "FetchResult",
    "FrankfurterClient",
    "FxError",
    "FxHTTPError",
    "FxResponseError",
    "FxRetriesExhausted",
    "RawConflictError",
    "RetryPolicy",
    "fetch_rates",
    "flatten",
    "raw_key",
]
