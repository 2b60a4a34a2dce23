"""De-duplication: one survivor per event_id, chosen deterministically; every copy counted."""

from __future__ import annotations

import random
import zlib

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.beam_helpers import event, events_table, local_pipeline
from transforms.batches import events_by_event_id
from transforms.dedup import (
    DUPLICATES,
    DropDuplicateEvents,
    _in_group_zero,
    _located_keys,
    drop_duplicates,
)


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


@pytest.mark.parametrize("broadcast", [False, True], ids=["shuffle", "broadcast"])
def test_beam_composite_dedups_across_input_batches(broadcast: bool) -> None:
    first = events_table([event("a", {"anonymous_id": "x"}), event("b", {"anonymous_id": "y"})])
    second = events_table(
        [event("a", {"anonymous_id": "x"}, received_minutes=3), event("c", {"anonymous_id": "z"})]
    )
    with local_pipeline() as p:
        known = p | "Known" >> beam.Create([])
        events = p | "Events" >> beam.Create([first, second])
        out = {"events": events, "known": known} | DropDuplicateEvents(4, broadcast)
        ids = out.events | beam.FlatMap(lambda kv: kv[1].column("event_id").to_pylist())
        assert_that(ids, equal_to(["a", "b", "c"]), label="Survivors")
        assert_that(
            out[DUPLICATES],
            equal_to([{"source": "marketing", "duplicate_count": 1}]),
            label="Counted",
        )


def _random_copies(seed: int) -> tuple[list[pa.Table], list[str]]:
    """Event tables full of copies (byte-identical ones in one table and across tables,
    ties on every key but the file) and some ids accepted before. As from the readers, the
    content hash is the content's: copies equal on every key are equal rows."""
    rng = random.Random(seed)
    rows = []
    for _ in range(300):
        content = (rng.choice(["page_viewed", "ad_clicked"]), f"a{rng.randrange(3)}")
        copy = event(
            f"e{rng.randrange(120)}",
            {"anonymous_id": content[1]},
            received_minutes=rng.randrange(3),
            input_source=rng.choice(["marketing", "sales"]),
            record_hash=zlib.crc32(repr(content).encode()),
            event_type=content[0],
        )
        rows.append({**copy, "input_file": rng.choice(["f1", "f2", None])})
    rows += rng.sample(rows, 60)  # byte-identical copies
    rng.shuffle(rows)
    cuts = sorted(rng.sample(range(1, len(rows)), 5))
    bounds = zip([0, *cuts], [*cuts, len(rows)], strict=True)
    tables = [events_table(rows[a:b]) for a, b in bounds]
    tables.append(tables[0])  # a whole table twice (a file that repeats itself)
    return tables, [f"e{n}" for n in rng.sample(range(120), 10)]


def _sorted_rows(table: pa.Table) -> list[tuple]:
    return sorted(tuple(map(str, row.values())) for row in table.to_pylist())


def _first_copies_by_hand(rows: list[dict], known: set[str]) -> list[dict]:
    """The rule in plain Python: per event_id not known, the first copy in key order."""
    order = sorted(
        rows,
        key=lambda r: (
            r["event_id"],
            r["received_at"],
            r["input_source"],
            r["record_hash"],
            (r["input_file"] is None, r["input_file"] or ""),  # nulls last, as Arrow sorts
        ),
    )
    kept: dict[str, dict] = {}
    for row in order:
        if row["event_id"] not in known:
            kept.setdefault(row["event_id"], row)
    return list(kept.values())


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_drop_duplicates_keeps_what_the_rule_by_hand_keeps(seed: int) -> None:
    tables, known_ids = _random_copies(seed)
    events = pa.concat_tables(tables)
    survivors, counts = drop_duplicates(events, pa.array(known_ids))
    expected = _first_copies_by_hand(events.to_pylist(), set(known_ids))
    assert _sorted_rows(survivors) == _sorted_rows(pa.Table.from_pylist(expected, events.schema))
    assert sum(counts.values()) == events.num_rows - len(expected)
    assert survivors.num_rows + sum(counts.values()) == events.num_rows


@pytest.mark.parametrize("broadcast", [False, True], ids=["shuffle", "broadcast"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_both_plans_keep_exactly_the_copies_drop_duplicates_keeps(
    broadcast: bool, seed: int
) -> None:
    tables, known_ids = _random_copies(seed)
    survivors, counts = drop_duplicates(pa.concat_tables(tables), pa.array(known_ids))
    expected = [(source, n) for source, n in sorted(counts.items())]
    with local_pipeline() as p:
        known = p | "Known" >> beam.Create(
            list(events_by_event_id(pa.table({"event_id": known_ids}), 4))
        )
        events = p | "Events" >> beam.Create(tables)
        out = {"events": events, "known": known} | DropDuplicateEvents(4, broadcast)
        rows = (
            out.events
            | beam.Values()
            | beam.combiners.ToList()
            | beam.Map(lambda parts: _sorted_rows(pa.concat_tables(parts)))
        )
        assert_that(rows, equal_to([_sorted_rows(survivors)]), label="Survivors")
        per_source = (
            out[DUPLICATES]
            | beam.Map(lambda c: (c["source"], c["duplicate_count"]))
            | beam.CombinePerKey(sum)
        )
        assert_that(per_source, equal_to(expected), label="Counted")


def test_events_accepted_by_an_earlier_run_are_duplicates() -> None:
    table = events_table([event("old", {"anonymous_id": "x"}), event("new", {"anonymous_id": "y"})])
    survivors, counts = drop_duplicates(table, known=pa.array(["old"]))
    assert survivors.column("event_id").to_pylist() == ["new"]
    assert counts == {"marketing": 1}


def test_the_broadcast_plan_groups_every_key_in_one_group_with_where_its_row_is() -> None:
    table = events_table([event(e, {"anonymous_id": e}) for e in ("a", "b", "c")])
    group, keys = _located_keys((7, table))
    assert group == 0
    assert keys.column("event_id").to_pylist() == ["a", "b", "c"]
    assert keys.column("table_id").to_pylist() == [7, 7, 7]
    assert keys.column("row").to_pylist() == [0, 1, 2]
    known = pa.table({"event_id": ["a"]})
    assert _in_group_zero((5, known)) == (0, known)
