"""The suppression list of forgotten people, kept beside the lake (``<lake>/_privacy``).

Each `journeyline forget` request appends one Parquet file of keyed hashes (one
per identifier the person had) — no clear value, no customer id. Every run loads
all of them, and the row contract quarantines an incoming event that carries any
of them with reason ``suppressed``.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from journeyline.lake import Lake
from journeyline.ops import write_atomic

SUPPRESSIONS = "_privacy/suppressions"
SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("identifier_type", pa.string(), nullable=False),
        pa.field("suppression_hash", pa.string(), nullable=False),
        pa.field("requested_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def load_suppressions(lake: Lake) -> frozenset[str]:
    """Every suppression hash recorded for this lake."""
    folder = lake.root / SUPPRESSIONS
    if not folder.is_dir():
        return frozenset()
    hashes: set[str] = set()
    for path in sorted(folder.glob("*.parquet")):
        hashes.update(pq.read_table(path, columns=["suppression_hash"])[0].to_pylist())
    return frozenset(hashes)


def record_suppressions(
    lake: Lake, request_id: str, hashes: list[tuple[str, str]], requested_at: datetime
) -> int:
    """Append one request's (identifier type, suppression hash) pairs; return how many."""
    rows = sorted(set(hashes))
    table = pa.Table.from_pylist(
        [
            {
                "request_id": request_id,
                "identifier_type": id_type,
                "suppression_hash": digest,
                "requested_at": requested_at,
            }
            for id_type, digest in rows
        ],
        schema=SCHEMA,
    )
    write_atomic(table, lake.root / SUPPRESSIONS / f"{request_id}.parquet")
    return len(rows)
