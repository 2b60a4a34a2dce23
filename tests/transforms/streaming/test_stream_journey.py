"""The stream's steps as plain functions: any arrival order gives the batch result."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.compute as pc

from journeyline.config import default_config
from tests.transforms.beam_helpers import event, events_table
from transforms.identifiers import customer_id_for
from transforms.stages import StageMachine
from transforms.streaming.events import Lateness, event_rows, lateness, window_end
from transforms.streaming.events import events_table as rows_table
from transforms.streaming.identity import component_labels
from transforms.streaming.journey import STORED_SCHEMA, Journeys, advance, stored_rows

CONFIG = default_config()
MACHINE = StageMachine(CONFIG.stages)

# Two people, one of them met first anonymously and under two e-mails; a duplicate copy.
EVENTS = [
    event("a1", {"anonymous_id": "anon-a"}, minutes=0),
    event("a2", {"email": "a@x.co"}, minutes=50, event_type="form_submitted"),
    event("a3", {"email": "a@x.co", "anonymous_id": "anon-a"}, minutes=70),
    event("a4", {"email": "a2@x.co", "user_id": "u-a"}, minutes=90, event_type="mql_reached"),
    event("a5", {"email": "a@x.co", "user_id": "u-a"}, minutes=95),
    event("b1", {"email": "b@x.co"}, minutes=10),
    event("b2", {"email": "b@x.co"}, minutes=200, event_type="lead_created", stream="sales"),
    event(
        "b2",
        {"email": "b@x.co"},
        minutes=200,
        event_type="lead_created",
        stream="sales",
        received_minutes=260,
        record_hash=7,
    ),
]


def current(journeys: Journeys) -> list[tuple]:
    cols = ["event_id", "customer_id", "event_seq", "lifecycle_stage", "stage_changed"]
    rows = journeys.rows.sort_by("event_id")
    return list(zip(*(rows.column(c).to_pylist() for c in cols), strict=True))


def in_chunks(rows: list[dict], sizes: list[int]) -> tuple[Journeys, dict[str, int]]:
    journeys, duplicates, start = Journeys.empty(), {}, 0
    for size in sizes:
        journeys, step = advance(
            journeys, events_table(rows[start : start + size]), CONFIG, MACHINE
        )
        for source, n in step.duplicates.items():
            duplicates[source] = duplicates.get(source, 0) + n
        start += size
    return journeys, duplicates


def test_any_order_and_grouping_gives_the_one_shot_result() -> None:
    once, dups = in_chunks(EVENTS, [len(EVENTS)])
    assert dups == {"marketing": 1}
    assert len({c for _, c, *_ in current(once)}) == 2
    rng = random.Random(7)
    for _ in range(6):
        shuffled = EVENTS[:]
        rng.shuffle(shuffled)
        cuts = sorted(rng.sample(range(1, len(EVENTS)), 3))
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, len(EVENTS)], strict=True)]
        journeys, dups = in_chunks(shuffled, sizes)
        assert current(journeys) == current(once)
        assert dups == {"marketing": 1}


def test_a_merge_found_later_moves_earlier_rows_to_the_surviving_id() -> None:
    before, _ = in_chunks(EVENTS[:2], [2])
    assert len({c for _, c, *_ in current(before)}) == 2  # anon-a and a@x.co apart
    after, step = advance(before, events_table([EVENTS[2]]), CONFIG, MACHINE)
    survivor = customer_id_for("anonymous_id", "anon-a")  # received first: the older id
    assert {c for _, c, *_ in current(after)} == {survivor}
    assert [(e, s) for e, _, s, *_ in current(after)] == [("a1", 1), ("a2", 2), ("a3", 3)]
    assert step.merges == [(customer_id_for("email", "a@x.co"), survivor)]
    # a1 kept its customer, number and stage: only the moved row and the new one leave
    assert sorted(step.changed_rows.column("event_id").to_pylist()) == ["a2", "a3"]


def test_only_changed_rows_leave_a_step() -> None:
    journeys, _ = in_chunks(EVENTS[:5], [5])
    journeys, step = advance(journeys, events_table([EVENTS[5]]), CONFIG, MACHINE)
    assert step.changed_rows.column("event_id").to_pylist() == ["b1"]


def test_an_earlier_received_copy_replaces_the_stored_one_like_batch_dedup() -> None:
    late_copy, first_copy = EVENTS[7], EVENTS[6]
    journeys, _ = in_chunks([late_copy], [1])
    journeys, step = advance(journeys, events_table([first_copy]), CONFIG, MACHINE)
    assert step.accepted == {"marketing": 0} and step.duplicates == {"marketing": 1}
    row = journeys.rows.filter(pc.equal(journeys.rows.column("event_id"), "b2"))
    assert row.column("record_hash").to_pylist() == [0]  # the batch survivor


def test_published_rows_continue_and_always_win_de_duplication() -> None:
    published, _ = in_chunks(EVENTS[:5], [5])
    timeline = published.rows.drop_columns(["customer_key", "input_source", "record_hash"])
    base = Journeys(published.graph, stored_rows(timeline))
    assert base.rows.schema == STORED_SCHEMA
    again = event(
        "a2",
        {"email": "a@x.co"},
        minutes=50,
        event_type="form_submitted",
        received_minutes=1,
        input_source="sales",
    )
    journeys, step = advance(base, events_table([again, EVENTS[5]]), CONFIG, MACHINE)
    assert step.duplicates == {"sales": 1}
    assert current(journeys) == current(in_chunks(EVENTS[:6], [6])[0])


def test_components_are_labelled_by_their_smallest_node() -> None:
    edges = pa.table(
        {"u": pa.array([5, 7, 1, 20], pa.int64()), "v": pa.array([3, 5, 9, 30], pa.int64())}
    )
    labels = component_labels(edges, max_rounds=10).to_pylist()
    assert sorted((r["node"], r["root"]) for r in labels) == [(5, 3), (7, 3), (9, 1), (30, 20)]


def test_events_round_trip_and_windows_classify_lateness() -> None:
    table = events_table(EVENTS[:3])
    assert rows_table(event_rows(table)).equals(table)
    hour = 3_600_000_000
    assert window_end(hour + 5, hour) == 2 * hour
    assert lateness(hour + 5, None, hour, 3 * hour) is Lateness.ON_TIME
    assert lateness(hour + 5, hour, hour, 3 * hour) is Lateness.ON_TIME
    assert lateness(hour + 5, 2 * hour, hour, 3 * hour) is Lateness.LATE
    assert lateness(hour + 5, 5 * hour, hour, 3 * hour) is Lateness.TOO_LATE
