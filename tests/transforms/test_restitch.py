"""Pulling and carrying earlier timeline rows: which customers are rebuilt, the affected
customers' set built once per side-input value, and every file still sees the set of its
own side input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
from apache_beam.testing.util import assert_that, equal_to

from journeyline.schema import IDENTITY_MAP_SCHEMA, TIMELINE_SCHEMA
from tests.transforms.beam_helpers import local_pipeline
from transforms import restitch
from transforms.earlier import SplitEarlierFiles
from transforms.restitch import AffectedIds, changed_customers, file_groups
from transforms.sinks import write_parquet


def test_the_affected_set_is_built_once_per_side_input_value(monkeypatch) -> None:
    calls: list[int] = []
    real = restitch.affected_set
    monkeypatch.setattr(restitch, "affected_set", lambda parts: calls.append(1) or real(parts))
    ids = AffectedIds()
    side = [pa.array(["c2", "c1"]), pa.array(["c1", "c3"])]
    assert sorted(ids(side).to_pylist()) == ["c1", "c2", "c3"]
    assert ids(side) is ids(side) and len(calls) == 1
    # another list, even an equal one, is another side-input value: built again
    assert ids([pa.array(["c9"])]).to_pylist() == ["c9"] and len(calls) == 2
    assert sorted(ids(list(side)).to_pylist()) == ["c1", "c2", "c3"] and len(calls) == 3


def _day_file(folder: Path, day: dt.date, customers: list[str]) -> str:
    at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    rows = [
        {
            "event_id": f"{customer}-{day.isoformat()}",
            "customer_id": customer,
            "event_seq": 1,
            "source": "web",
            "stream": "marketing",
            "event_type": "page_viewed",
            "occurred_at": at,
            "received_at": at,
            "identifiers": [("anonymous_id", f"a-{customer}")],
            "lifecycle_stage": "visitor",
            "stage_changed": True,
            "event_date": day,
        }
        for customer in customers
    ]
    path = folder / f"event_date={day.isoformat()}" / "part-0.parquet"
    return write_parquet(pa.Table.from_pylist(rows, TIMELINE_SCHEMA), str(path))


def test_every_file_gives_the_rows_of_the_affected_customers(tmp_path: Path) -> None:
    days = [dt.date(2025, 3, d) for d in (1, 2, 3)]
    files = [
        _day_file(tmp_path, days[0], ["c1", "c2"]),
        _day_file(tmp_path, days[1], ["c2", "c3"]),
        _day_file(tmp_path, days[2], ["c4"]),
    ]
    with local_pipeline() as p:
        affected = p | "Affected" >> beam.Create([pa.array(["c2"]), pa.array(["c3", "c2"])])
        pulled = (
            p
            | "Files" >> beam.Create(file_groups(files, 2))  # groups of two files and one
            | "Pull" >> beam.ParDo(SplitEarlierFiles(4), beam.pvalue.AsList(affected), [])
            | "Ids" >> beam.FlatMap(lambda kv: kv[1].column("event_id").to_pylist())
        )
        assert_that(pulled, equal_to(["c2-2025-03-01", "c2-2025-03-02", "c3-2025-03-02"]))


def _identity(rows: list[tuple[int, str]]) -> pa.Table:
    """Identity rows of (node, customer_id)."""
    at = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    return pa.Table.from_pylist(
        [
            {
                "identifier_type": "email",
                "identifier_value": f"v{node}",
                "customer_id": customer,
                "first_seen_at": at,
                "last_seen_at": at,
                "first_received_at": at,
                "node": node,
                "customer_key": node,
                "degree": 0,
            }
            for node, customer in rows
        ],
        IDENTITY_MAP_SCHEMA,
    )


def test_changed_customers_are_those_of_moved_identifiers_and_optionally_new_ones() -> None:
    previous = _identity([(1, "c1"), (2, "c2"), (3, "c3")])
    # node 2 moved from c2 to c1 (a merge); node 4 is new, of c3; node 5 is new, of c5
    resolved = _identity([(1, "c1"), (2, "c1"), (3, "c3"), (4, "c3"), (5, "c5")])
    assert changed_customers(previous, resolved) == {"c1", "c2", "c3", "c5"}
    # a new identifier changes no earlier event's customer: the batch re-stitch skips it
    assert changed_customers(previous, resolved, new=False) == {"c1", "c2"}
