"""De-duplication: one survivor per event_id, chosen deterministically; every copy counted."""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.beam_helpers import event, events_table, local_pipeline
from transforms.dedup import DUPLICATES, DropDuplicateEvents, drop_duplicates


def test_the_earliest_received_copy_survives_and_copies_are_counted_per_source() -> None:
    table = events_table(
        [
            event("a", {"anonymous_id": "x"}, received_minutes=5, input_source="web"),
            event(
                "a",
                {"anonymous_id": "x"},
                received_minutes=1,
                input_source="crm",
                event_type="form_submitted",
            ),
            event("a", {"anonymous_id": "x"}, received_minutes=9, input_source="web"),
            event("b", {"anonymous_id": "y"}),
        ]
    )
    survivors, counts = drop_duplicates(table)
    assert sorted(survivors.column("event_id").to_pylist()) == ["a", "b"]
    kept = survivors.filter(survivors.column("event_id").to_numpy(zero_copy_only=False) == "a")
    assert kept.column("input_source").to_pylist() == ["crm"]
    assert counts == {"web": 2}


def test_ties_on_received_time_are_broken_by_content_hash() -> None:
    rows = [
        event("a", {"anonymous_id": "x"}, record_hash=9, event_type="page_viewed"),
        event("a", {"anonymous_id": "x"}, record_hash=3, event_type="ad_clicked"),
    ]
    one, _ = drop_duplicates(events_table(rows))
    two, _ = drop_duplicates(events_table(rows[::-1]))
    assert (
        one.column("event_type").to_pylist()
        == two.column("event_type").to_pylist()
        == ["ad_clicked"]
    )


def test_byte_identical_copies_in_two_files_keep_the_same_file_in_any_order() -> None:
    """Files are parsed side by side, so copies arrive in any order: the tie is broken by
    input file, and the lineage column is the same on every run."""
    rows = [
        {**event("a", {"anonymous_id": "x"}, record_hash=3), "input_file": name}
        for name in ("landing/m-2.jsonl", "landing/m-1.jsonl", "landing/m-3.jsonl")
    ]
    for order in (rows, rows[::-1], rows[1:] + rows[:1]):
        kept, counts = drop_duplicates(events_table(order))
        assert kept.column("input_file").to_pylist() == ["landing/m-1.jsonl"]
        assert sum(counts.values()) == 2


def test_beam_composite_dedups_across_input_batches() -> None:
    first = events_table([event("a", {"anonymous_id": "x"}), event("b", {"anonymous_id": "y"})])
    second = events_table(
        [event("a", {"anonymous_id": "x"}, received_minutes=3), event("c", {"anonymous_id": "z"})]
    )
    with local_pipeline() as p:
        known = p | "Known" >> beam.Create([])
        events = p | "Events" >> beam.Create([first, second])
        out = {"events": events, "known": known} | DropDuplicateEvents(shards=4)
        ids = out.events | beam.FlatMap(lambda kv: kv[1].column("event_id").to_pylist())
        assert_that(ids, equal_to(["a", "b", "c"]), label="Survivors")
        assert_that(
            out[DUPLICATES],
            equal_to([{"source": "marketing", "duplicate_count": 1}]),
            label="Counted",
        )


def test_events_accepted_by_an_earlier_run_are_duplicates() -> None:
    table = events_table([event("old", {"anonymous_id": "x"}), event("new", {"anonymous_id": "y"})])
    survivors, counts = drop_duplicates(table, known=pa.array(["old"]))
    assert survivors.column("event_id").to_pylist() == ["new"]
    assert counts == {"marketing": 1}
