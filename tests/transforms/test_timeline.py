"""BuildTimeline: per customer ordered by (occurred_at, event_id), numbered 1..n, staged."""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
from apache_beam.testing.util import assert_that, equal_to

from journeyline.config import default_config
from journeyline.schema import EVENT_SCHEMA
from tests.transforms.beam_helpers import event, events_table, local_pipeline
from transforms.identity import ASSIGNED_EVENT_SCHEMA
from transforms.stages import StageMachine
from transforms.timeline import (
    ACCEPTED,
    BuildTimeline,
    build_timeline,
    known_identifier_mask,
    sequence_numbers,
)


def assigned(rows: list[dict], customers: dict[str, tuple[str, int]]) -> pa.Table:
    """Events with customer ids (event_id → (customer_id, customer_key))."""
    table = events_table(rows)
    ids = table.column("event_id").to_pylist()
    table = table.append_column("customer_id", pa.array([customers[i][0] for i in ids]))
    table = table.append_column(
        "customer_key", pa.array([customers[i][1] for i in ids], pa.int64())
    )
    return table.cast(ASSIGNED_EVENT_SCHEMA)


ROWS = [
    event("b2", {"email": "b@x.co"}, minutes=10, event_type="form_submitted"),
    event("a1", {"anonymous_id": "x"}, minutes=0),
    event("b1", {"anonymous_id": "y"}, minutes=5),
    event("a3", {"email": "a@x.co"}, minutes=30, event_type="form_submitted", input_source="web"),
    event("a2", {"anonymous_id": "x"}, minutes=30),  # same time as a3: event_id breaks the tie
]
CUSTOMERS = {
    "a1": ("cus_a", 1),
    "a2": ("cus_a", 1),
    "a3": ("cus_a", 1),
    "b1": ("cus_b", 2),
    "b2": ("cus_b", 2),
}
EXPECTED = [
    ("cus_a", 1, "a1", "visitor", True),
    ("cus_a", 2, "a2", "visitor", False),
    ("cus_a", 3, "a3", "lead", True),
    ("cus_b", 1, "b1", "visitor", True),
    ("cus_b", 2, "b2", "lead", True),
]


def rows_of(table: pa.Table) -> list[tuple]:
    cols = ["customer_id", "event_seq", "event_id", "lifecycle_stage", "stage_changed"]
    return list(zip(*(table.column(c).to_pylist() for c in cols), strict=True))


def test_sequence_numbers_restart_per_run() -> None:
    import numpy as np

    assert sequence_numbers(np.array([True, False, False, True, False])).tolist() == [1, 2, 3, 1, 2]


def test_build_timeline_orders_numbers_and_stages() -> None:
    table = build_timeline(assigned(ROWS, CUSTOMERS), StageMachine(default_config().stages))
    assert rows_of(table) == EXPECTED
    assert table.column("event_date").to_pylist()[0].isoformat() == "2025-01-01"


def test_build_timeline_numbers_by_time_and_returns_rows_by_day() -> None:
    """Numbering and stages follow each customer's time across days; the rows come out by
    day, then customer and time (what the day files slice, without a copy)."""
    day = 24 * 60
    rows = [
        event("b2", {"email": "b@x.co"}, minutes=day + 10, event_type="form_submitted"),
        event("a1", {"anonymous_id": "x"}, minutes=2 * day),
        event("b1", {"anonymous_id": "y"}, minutes=5),
        event("a0", {"email": "a@x.co"}, minutes=day, event_type="form_submitted"),
        event("b3", {"anonymous_id": "y"}, minutes=2 * day + 1),
    ]
    customers = {i: ("cus_a", 1) if i.startswith("a") else ("cus_b", 2) for i in CUSTOMERS}
    customers |= {"a0": ("cus_a", 1), "b3": ("cus_b", 2)}
    table = build_timeline(assigned(rows, customers), StageMachine(default_config().stages))
    assert [(r[0], r[1], r[2]) for r in rows_of(table)] == [
        ("cus_b", 1, "b1"),  # day 1
        ("cus_a", 1, "a0"),  # day 2
        ("cus_b", 2, "b2"),
        ("cus_a", 2, "a1"),  # day 3
        ("cus_b", 3, "b3"),
    ]
    assert [r[3] for r in rows_of(table)] == ["visitor", "lead", "lead", "lead", "lead"]
    days = table.column("event_date").to_pylist()
    assert days == sorted(days)


def test_beam_composite_builds_the_timeline_and_counts_accepted_per_source() -> None:
    table = assigned(ROWS, CUSTOMERS)
    with local_pipeline() as p:
        out = (
            p
            | beam.Create([table.slice(0, 2), table.slice(2)])
            | BuildTimeline(default_config().stages, shards=4)
        )
        assert_that(out.timeline | beam.FlatMap(rows_of), equal_to(EXPECTED), label="Timeline")
        assert_that(
            out[ACCEPTED]
            | beam.Map(lambda r: (r["source"], r["accepted_count"]))
            | beam.CombinePerKey(sum),
            equal_to([("marketing", 4), ("web", 1)]),
            label="Accepted",
        )


def test_event_schema_is_the_base_of_assigned_events() -> None:
    assert ASSIGNED_EVENT_SCHEMA.names[: len(EVENT_SCHEMA)] == EVENT_SCHEMA.names


def test_known_identifier_mask_on_sliced_and_chunked_maps() -> None:
    """Anonymous-only and empty identifier maps are not known; offsets of slices respected."""
    maps = pa.array(
        [
            [("anonymous_id", "a")],
            [("anonymous_id", "b"), ("email", "x")],
            [],
            [("user_id", "u")],
            [("anonymous_id", "c")],
        ],
        pa.map_(pa.string(), pa.string()),
    )
    assert known_identifier_mask(maps).tolist() == [False, True, False, True, False]
    assert known_identifier_mask(maps.slice(1, 3)).tolist() == [True, False, True]
    chunked = pa.chunked_array([maps.slice(0, 2), maps.slice(2)])
    assert known_identifier_mask(chunked).tolist() == [False, True, False, True, False]
