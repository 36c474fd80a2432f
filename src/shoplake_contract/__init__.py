"""The lake contract of shoplake: one standard-library-only package that every deployable
imports (docs/contracts.md).

- :mod:`.datasets`: the dataset catalogue (names, raw file names, partition column, keys,
  whether a Glue job cleanses it) and the case-insensitive suffix rules;
- :mod:`.keys`: the key layout (raw, curated, quarantine, manifest, ledger, failure keys);
- :mod:`.ids`: ``source_id``, the S3 URI split, the version of a raw object;
- :mod:`.objects`: S3 event records and the raw key rules (``validate``);
- :mod:`.glue`: the Glue job's name and arguments.

Where it runs: the CLI and the DAGs import it installed (``src/``); ``shoplake deploy``
bundles it into every Lambda zip and into the Glue job library ``shoplake_jobs.zip``
(src/shoplake/deploy/package.py), so it must stay standard library only.
"""

from __future__ import annotations

from shoplake_contract import datasets, glue, ids, keys, objects

__all__ = ["datasets", "glue", "ids", "keys", "objects"]
