"""BigQuery tables as batch sources: connector tables already in the warehouse.

A source whose location is ``bigquery://PROJECT.DATASET[.TABLE]`` is read with
Beam's ``ReadFromBigQuery`` through the BigQuery Storage Read API (DIRECT_READ:
no export bucket needed). Its rows are plain dicts (datetimes, numbers, nested
records) and go through exactly the same adapter and row contract as file rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import orjson

from journeyline.config import Config, SourceConfig
from journeyline.config.sources import BIGQUERY_SCHEME, CONNECTORS, bigquery_table, is_bigquery
from transforms.adapters.rows import row_record
from transforms.records import RawRecord


def bigquery_tables(config: Config) -> list[tuple[SourceConfig, str, str]]:
    """(source, connector table or "", `project.dataset.table`) for every BigQuery read."""
    out = []
    for source in config.sources:
        if not is_bigquery(source.location):
            continue
        if source.format in CONNECTORS:
            for table, name in source.tables.items():
                out.append((source, table, bigquery_table(source.location, name)))
        else:
            out.append((source, "", bigquery_table(source.location)))
    return out


def read_table(ref: str) -> beam.PTransform:
    """Beam's reader for one table, over the Storage Read API (no GCS export bucket)."""
    project, dataset, table = ref.split(".")
    return beam.io.ReadFromBigQuery(
        table=f"{project}:{dataset}.{table}",
        method=beam.io.ReadFromBigQuery.Method.DIRECT_READ,
        use_native_datetime=True,
    )


def row_records(
    rows: Iterable[dict[str, Any]], ref: str, max_raw_bytes: int
) -> Iterator[RawRecord]:
    """BigQuery rows → records; a row's location is the table and a hash of its content."""
    for row in rows:
        digest = hashlib.blake2b(
            orjson.dumps(row, default=str, option=orjson.OPT_NON_STR_KEYS), digest_size=8
        ).hexdigest()
        yield row_record(row, f"{BIGQUERY_SCHEME}{ref}#{digest}", max_raw_bytes)


def bigquery_columns(ref: str) -> list[str]:
    """The top-level column names of a table (asks the BigQuery API)."""
    from google.cloud import bigquery

    return [field.name for field in bigquery.Client().get_table(ref).schema]
