"""Incremental timeline, the common case: a customer's timeline goes on from its earlier rows.

A scheduled run brings each customer's latest events. A customer's earlier rows
before its first new event (in the timeline's order: occurred_at, then event_id)
keep their ``event_seq`` and stage when its identity did not change: they stay in
their files, and the new rows (with any earlier ones at or after the first new
event, ``transforms/restitch.py``) are numbered and staged on from them.
``narrow_rows`` keeps what ordering, numbering and staging need of those rows: a few
columns, not the whole rows (``transforms/earlier.py`` reads them).
"""

from __future__ import annotations

import pyarrow as pa

from transforms.timeline import EARLIER_SCHEMA, known_identifier_mask

# What an earlier row that stays gives the rows after it (with its identifiers, for
# whether it has a known one).
EARLIER_READ = ["customer_id", "occurred_at", "event_id", "event_type", "survey_type", "score"]


def narrow_rows(rows: pa.Table, first: pa.Table) -> pa.Table:
    """Earlier rows that stay (``EARLIER_READ`` and ``identifiers`` at least) in the narrow
    form ``BuildTimeline`` goes on from (``EARLIER_SCHEMA``); ``first`` is each row's
    customer's first new event (``FIRSTS_SCHEMA``), which carries the customer key."""
    return pa.Table.from_arrays(
        [
            rows.column("customer_id"),
            first.column("customer_key"),
            *(rows.column(name) for name in EARLIER_READ[1:]),
            pa.array(known_identifier_mask(rows.column("identifiers")), pa.bool_()),
        ],
        schema=EARLIER_SCHEMA,
    )
