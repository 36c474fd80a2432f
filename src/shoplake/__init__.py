"""shoplake: a local-first e-commerce data platform (AWS + Snowflake on one laptop)."""

__version__ = "0.1.0"
