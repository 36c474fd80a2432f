"""Explicit schemas of the three datasets (docs/contracts.md "Raw data" and "Curated data").

Every raw value is read as a string; :mod:`shoplake_jobs.transforms` types it by ``kind``:

- ``string``: trimmed, empty -> NULL
- ``lower`` / ``upper``: trimmed and case-folded
- ``int``: ``[+-]?digits`` -> int (``bad_type`` otherwise)
- ``decimal``: ``[+-]?digits[.digits]`` -> decimal(18,2) (``bad_type`` otherwise)
- ``bool``: true/false/t/f/1/0/yes/no/y/n -> boolean (``bad_type`` otherwise)
- ``timestamp``: ISO-8601, ``Z`` / ``+hh:mm`` / no offset (= UTC) -> UTC timestamp
  (``bad_timestamp`` otherwise). Accepted range (:data:`TIMESTAMP_YEARS`, :data:`MAX_OFFSET`):
  hours 00-23, minutes and seconds 00-59, a real calendar date, an offset of at most
  ±14:00 (the widest in use, UTC+14 Kiribati) and a UTC year 1970..2100. Anything else would
  end up as a partition like ``order_date=0001-12-31 (BC)`` that no loader accepts.
- ``currency``: upper, ``[A-Z]{3}`` and an ISO-4217 code (``bad_currency`` otherwise)

A string-kind column with a ``domain`` (:data:`DOMAINS`) only takes those values after
trimming and case folding (``bad_domain`` otherwise, and when it is empty and ``required``).
No text value may contain a control character other than TAB/LF/CR (``bad_domain``).
JSON Lines values must be JSON strings or null: an object, array, number or boolean is
``bad_type`` (never loaded as its text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from shoplake_contract import datasets as catalogue
from shoplake_contract import keys as lake_keys

Kind = Literal["string", "lower", "upper", "int", "decimal", "bool", "timestamp", "currency"]
Format = Literal["csv", "jsonl"]

#: Reason codes in precedence order (the first that applies wins).
REASONS: tuple[str, ...] = (
    "malformed_row",
    "encoding_error",
    "missing_key",
    "bad_type",
    "bad_timestamp",
    "bad_currency",
    "bad_domain",
    "non_positive_quantity",
    "non_positive_price",
)

#: Active ISO-4217 codes (plus XAU/XAG/XDR-style funds are not accepted).
ISO_CURRENCIES: frozenset[str] = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()  # noqa: SIM905
)


#: Accepted UTC years of every timestamp column (docs/contracts.md "Bad-input catalogue").
TIMESTAMP_YEARS: tuple[int, int] = (1970, 2100)
#: Largest accepted UTC offset (``+14:00`` / ``-14:00``).
MAX_OFFSET = "14:00"

#: Value domains of enumerated columns: THE definition. The job enforces them
#: (``bad_domain``); the dbt tests read the same lists as vars of dbt/dbt_project.yml, and
#: tests/jobs/test_domains.py fails when those differ from these (the Glue job ships as a zip
#: of these modules without the dbt folder, and dbt runs without this package, so neither
#: can read the other's file at run time).
DOMAINS: dict[str, tuple[str, ...]] = {
    "order_statuses": ("placed", "paid", "shipped", "delivered", "cancelled", "returned"),
    "loyalty_tiers": ("bronze", "silver", "gold", "platinum"),
}


#: Partition column of the datasets partitioned by the raw object's ingest date.
INGEST_DATE = lake_keys.INGEST_DATE
#: The ingest date of a raw object whose key names none (neither an ``ingest_date=`` segment
#: nor a date in the file name): fixed, so a re-run of the same object writes the same keys.
FALLBACK_INGEST_DATE = "1970-01-01"
_INGEST_SEGMENT = re.compile(r"^ingest_date=([0-9]{4}-[0-9]{2}-[0-9]{2})$")
_NAME_DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})")


def _calendar_date(text: str) -> str | None:
    """``text`` when it is a real calendar date within :data:`TIMESTAMP_YEARS`, else None."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return text if TIMESTAMP_YEARS[0] <= day.year <= TIMESTAMP_YEARS[1] else None


def ingest_date_of(source_uri: str) -> str:
    """The ingest date ``YYYY-MM-DD`` of a raw object, from its key alone (deterministic: a
    re-run of the same object always gives the same date, on either engine).

    The ``ingest_date=YYYY-MM-DD`` segment of ``raw/<dataset>/ingest_date=D/<file>`` (the
    contract layout, docs/contracts.md); else the first date in the file name (the date
    ``shoplake ingest`` puts in that segment); else :data:`FALLBACK_INGEST_DATE`. A segment or
    name date that is not a calendar date within :data:`TIMESTAMP_YEARS` does not count.
    """
    parts = source_uri.replace("\\", "/").split("/")
    for part in reversed(parts[:-1]):
        m = _INGEST_SEGMENT.match(part)
        if m and (day := _calendar_date(m.group(1))):
            return day
    for m in _NAME_DATE.finditer(parts[-1]):
        if day := _calendar_date(m.group(1)):
            return day
    return FALLBACK_INGEST_DATE


@dataclass(frozen=True)
class Col:
    name: str
    kind: Kind = "string"
    #: A NULL/empty value is rejected: ``missing_key`` for identifiers (string kinds),
    #: ``bad_domain`` for a column with a domain, else the reason of the kind. Business-key
    #: columns are always required. Every dbt ``not_null`` staging column needs it
    #: (tests/jobs/test_domains.py).
    required: bool = False
    #: ``> 0`` is required: the reason code used otherwise.
    positive: str | None = None
    #: Name of the value domain in :data:`DOMAINS` (string kinds only).
    domain: str | None = None


@dataclass(frozen=True)
class Dataset:
    name: str
    format: Format
    columns: tuple[Col, ...]
    #: Timestamp column whose UTC date is the partition value; None: the raw object's ingest
    #: date (:func:`ingest_date_of`), so one raw object is one partition (a handful of files a
    #: day, whatever the spread of its timestamps).
    partition_from: str | None
    derived: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[str, ...]:
        """The business key (the contract's catalogue)."""
        return catalogue.dataset(self.name).keys

    @property
    def partition(self) -> str:
        """The hive partition column of the curated path (the contract's catalogue)."""
        return str(catalogue.dataset(self.name).partition)

    @property
    def legacy_partitions(self) -> tuple[str, ...]:
        """Partition columns of earlier curated layouts (the contract's catalogue)."""
        return catalogue.dataset(self.name).legacy_partitions

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)

    @property
    def output_columns(self) -> list[str]:
        """Curated column order (the partition column is added last, for the path only)."""
        return [*self.names, *self.derived, "source_object"]


ORDERS = Dataset(
    name=catalogue.ORDERS,
    format="csv",
    columns=(
        Col("order_id"),
        Col("line_number", "int"),
        Col("customer_id", required=True),
        Col("product_id", required=True),
        Col("quantity", "int", required=True, positive="non_positive_quantity"),
        Col("unit_price", "decimal", required=True, positive="non_positive_price"),
        Col("currency", "currency", required=True),
        Col("status", "lower", required=True, domain="order_statuses"),
        Col("order_ts", "timestamp", required=True),
        Col("updated_at", "timestamp", required=True),
    ),
    partition_from=None,
    derived=("line_amount",),
)

CUSTOMERS = Dataset(
    name=catalogue.CUSTOMERS,
    format="jsonl",
    columns=(
        Col("customer_id"),
        Col("first_name"),
        Col("last_name"),
        Col("email", "lower"),
        Col("phone"),
        Col("city"),
        Col("country", "upper"),
        Col("loyalty_tier", "lower", domain="loyalty_tiers"),
        Col("signup_at", "timestamp"),
        Col("updated_at", "timestamp", required=True),
    ),
    # by updated_at's date, 10,200 customers with a long history were 689 files (issue 11)
    partition_from=None,
)

PRODUCTS = Dataset(
    name=catalogue.PRODUCTS,
    format="csv",
    columns=(
        Col("product_id"),
        Col("sku"),
        Col("name"),
        Col("category"),
        Col("unit_cost", "decimal"),
        Col("list_price", "decimal", required=True, positive="non_positive_price"),
        Col("currency", "currency", required=True),
        Col("is_active", "bool"),
        Col("updated_at", "timestamp", required=True),
    ),
    partition_from=None,
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (ORDERS, CUSTOMERS, PRODUCTS)}
# the schemas are the job's; which datasets have a job is the contract's
if tuple(DATASETS) != catalogue.JOB_DATASETS:
    raise ImportError(
        f"job schemas {sorted(DATASETS)} != contract catalogue {catalogue.JOB_DATASETS}"
    )


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r} (known: {sorted(DATASETS)})") from None
