"""A timeline that goes on: new events numbered and staged from a customer's earlier rows
give the rows of a timeline built whole, and every earlier row either stays in place or
moves (all rows of a changed customer, a customer's rows at or after its first new event)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from apache_beam.testing.util import assert_that, equal_to

from journeyline.config import default_config
from journeyline.schema import TIMELINE_SCHEMA
from tests.transforms.beam_helpers import event, local_pipeline
from tests.transforms.test_timeline import assigned
from transforms.earlier import (
    CARRIED,
    EARLIER,
    OUTPUT_TYPES,
    UNMOVED,
    CarryUnmoved,
    SplitEarlierFiles,
)
from transforms.restitch import first_events
from transforms.sinks import write_parquet
from transforms.stages import StageMachine
from transforms.timeline import EARLIER_SCHEMA, build_timeline, known_identifier_mask

# Every kind of event the default stage and outcome rules look at, and some they do not.
KINDS = [
    ("page_viewed", {}),
    ("form_submitted", {}),
    ("mql_reached", {}),
    ("sal_accepted", {}),
    ("opportunity_created", {}),
    ("deal_lost", {}),
    ("deal_won", {}),
    ("churned", {}),
    ("referral_made", {}),
    ("review_posted", {"score": 5.0}),
    ("review_posted", {"score": 2.0}),
    ("survey_answered", {"survey_type": "nps", "score": 10.0}),
    ("survey_answered", {"survey_type": "nps", "score": 3.0}),
]
COLUMNS = ["event_id", "customer_id", "event_seq", "lifecycle_stage", "stage_changed", "event_date"]


def _history(rng: random.Random, customers: int) -> tuple[list[dict], dict]:
    """Random events of several customers: anonymous or known, stage-moving or not, some at
    the same minute (event_id breaks the tie)."""
    rows, owners = [], {}
    for c in range(customers):
        for k in range(rng.randint(1, 25)):
            kind, fields = rng.choice(KINDS)
            ids = {"anonymous_id": f"a{c}"} if rng.random() < 0.4 else {"email": f"p{c}@x.co"}
            event_id = f"e{c:02d}-{rng.randint(0, 10**6):07d}-{k}"
            minute = rng.randint(0, 60 * 24 * 20) // 7 * 7
            stream = "marketing" if kind in ("page_viewed", "form_submitted") else "sales"
            rows.append(
                event(event_id, ids, minutes=minute, event_type=kind, stream=stream, **fields)
            )
            owners[event_id] = (f"cus_{c:02d}", c)
    return rows, owners


def as_earlier(timeline: pa.Table, keys: dict[str, int]) -> pa.Table:
    """Timeline rows in the narrow form ``SplitEarlierFiles`` sends on."""
    return pa.Table.from_arrays(
        [
            timeline.column("customer_id"),
            pa.array([keys[c] for c in timeline.column("customer_id").to_pylist()], pa.int64()),
            *(timeline.column(n) for n in ("occurred_at", "event_id", "event_type")),
            *(timeline.column(n) for n in ("survey_type", "score")),
            pa.array(known_identifier_mask(timeline.column("identifiers")), pa.bool_()),
        ],
        schema=EARLIER_SCHEMA,
    )


@pytest.mark.parametrize("seed", range(8))
def test_a_timeline_goes_on_from_earlier_rows_as_if_built_whole(seed: int) -> None:
    rng = random.Random(seed)
    machine = StageMachine(default_config().stages)
    rows, owners = _history(rng, customers=12)
    whole = build_timeline(assigned(rows, owners), machine)
    # each customer's timeline cut at a random point: the rows before it are "earlier"
    ordered = whole.sort_by([("customer_id", "ascending"), ("event_seq", "ascending")])
    cut = {
        d["values"]: rng.randint(0, d["counts"])
        for d in pc.value_counts(ordered["customer_id"]).to_pylist()
    }
    before = pa.array(
        [
            s <= cut[c]
            for c, s in zip(
                ordered["customer_id"].to_pylist(), ordered["event_seq"].to_pylist(), strict=True
            )
        ]
    )
    earlier = as_earlier(ordered.filter(before), {c: k for c, k in owners.values()})
    later_ids = set(ordered.filter(pc.invert(before))["event_id"].to_pylist())
    later = assigned([r for r in rows if r["event_id"] in later_ids], owners)

    went_on = build_timeline(later, machine, earlier)

    expected = whole.filter(pc.is_in(whole["event_id"], pa.array(sorted(later_ids), pa.string())))
    assert went_on.schema == TIMELINE_SCHEMA
    assert went_on.select(COLUMNS).to_pylist() == expected.select(COLUMNS).to_pylist()
    assert went_on.to_pylist() == expected.to_pylist()  # every column, in the same order


def _day_file(
    folder: Path, rows: list[tuple[str, str, int]], day: dt.date = dt.date(2025, 3, 2)
) -> str:
    """A timeline day file of (event_id, customer_id, hour) rows, all on ``day``."""
    table = pa.Table.from_pylist(
        [
            {
                "event_id": event_id,
                "customer_id": customer,
                "event_seq": 1,
                "source": "web",
                "stream": "marketing",
                "event_type": "page_viewed",
                "occurred_at": dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC),
                "received_at": dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC),
                "identifiers": [("email", f"{customer}@x.co")],
                "lifecycle_stage": "visitor",
                "stage_changed": True,
                "event_date": day,
            }
            for event_id, customer, hour in rows
        ],
        TIMELINE_SCHEMA,
    )
    return write_parquet(table, str(folder / f"event_date={day.isoformat()}" / "part-0.parquet"))


def _firsts(rows: list[tuple[str, str, int, int]]) -> pa.Table:
    """New events (event_id, customer_id, customer_key, hour on 2025-03-02) as assigned."""
    day = dt.datetime(2025, 3, 2, tzinfo=dt.UTC)
    return pa.table(
        {
            "customer_id": [r[1] for r in rows],
            "customer_key": pa.array([r[2] for r in rows], pa.int64()),
            "occurred_at": pa.array(
                [day + dt.timedelta(hours=r[3]) for r in rows], pa.timestamp("us", tz="UTC")
            ),
            "event_id": [r[0] for r in rows],
        }
    )


def test_first_events_are_each_customers_earliest_by_time_then_event_id() -> None:
    firsts = first_events(
        [
            _firsts([("n5", "c2", 2, 9), ("n2", "c1", 1, 9)]),
            _firsts([("n1", "c1", 1, 9), ("n3", "c2", 2, 8)]),
        ]
    )
    assert firsts.select(["customer_id", "event_id"]).to_pylist() == [
        {"customer_id": "c1", "event_id": "n1"},
        {"customer_id": "c2", "event_id": "n3"},
    ]


def test_every_earlier_row_stays_in_place_or_moves_and_the_stayers_give_the_context(
    tmp_path: Path,
) -> None:
    """One earlier day file, read once: the rows that move are pulled (to be rebuilt), the
    rows that stay are carried into the day's new file, and the rows that stay of customers
    with new events go on to the timeline as its earlier rows."""
    path = _day_file(
        tmp_path,
        [
            ("e1", "c1", 8),  # c1: both before its first new event (10h): stay
            ("e2", "c1", 9),
            ("e3", "c2", 12),  # c2: after its first new event (11h): moves
            ("e8", "c2", 10),  # ... and before it: stays
            ("e4", "c3", 10),  # c3: same time as its first new event, later id: moves
            ("e5", "c4", 10),  # c4: same time, earlier id ("e5" < "n4"): stays
            ("e7", "c5", 7),  # c5: its identity changed: moves, though before its new event
            ("e6", "c9", 23),  # c9: no new event: stays, and is no earlier row of anything
        ],
    )
    firsts = [
        _firsts([("n1", "c1", 11, 10), ("n2", "c2", 12, 11), ("n5", "c5", 15, 12)]),
        _firsts([("e30", "c3", 13, 10), ("n4", "c4", 14, 10)]),
    ]
    with local_pipeline() as p:
        changed = beam.pvalue.AsList(p | "Changed" >> beam.Create([pa.array(["c5"])]))
        first = beam.pvalue.AsList(p | "Firsts" >> beam.Create(firsts))
        split = (
            p
            | "Files" >> beam.Create([[path]])  # one group of one file
            | "Split"
            >> beam.ParDo(SplitEarlierFiles(4), changed, first)
            .with_output_types(tuple[int, pa.Table], **OUTPUT_TYPES)
            .with_outputs(EARLIER, CARRIED, UNMOVED, main="pulled")
        )
        ids = beam.FlatMap(lambda kv: kv[1].column("event_id").to_pylist())
        assert_that(split.pulled | "PulledIds" >> ids, equal_to(["e3", "e4", "e7"]), label="Pulled")
        assert_that(
            split[CARRIED] | "CarriedIds" >> ids,
            equal_to(["e1", "e2", "e8", "e5", "e6"]),
            label="Carried",
        )
        assert_that(split[UNMOVED], equal_to([]), label="Unmoved")  # it had moving rows
        assert_that(
            split[EARLIER]
            | "Rows"
            >> beam.FlatMap(
                lambda kv: [
                    (kv[0], r["customer_id"], r["customer_key"], r["event_id"])
                    for r in kv[1].to_pylist()
                    if r["has_known_identifier"]
                ]
            ),
            # keyed by the shard of the customer key, as BuildTimeline shards new events
            equal_to(
                [(3, "c1", 11, "e1"), (3, "c1", 11, "e2"), (0, "c2", 12, "e8"), (2, "c4", 14, "e5")]
            ),
            label="Earlier",
        )


def test_a_day_without_moving_rows_or_new_rows_is_copied_as_a_file(tmp_path: Path) -> None:
    """Two days in one group: the first day has no moving row (left to the carry, which
    copies it, as its day gets no new row), the second a row after c1's first new event
    (its other rows come back to be rewritten)."""
    first_day = _day_file(tmp_path, [("e1", "c1", 8), ("e2", "c2", 9)], dt.date(2025, 3, 1))
    second_day = _day_file(tmp_path, [("e3", "c1", 12), ("e4", "c2", 9), ("e5", "c3", 1)])
    split = SplitEarlierFiles(4)
    split.setup()
    firsts = [_firsts([("n1", "c1", 11, 10)])]  # c1's first new event: 2025-03-02 10h
    outputs = list(split.process([first_day, second_day], [], firsts))
    tagged = {out.tag: out.value for out in outputs if isinstance(out, beam.pvalue.TaggedOutput)}
    assert tagged[UNMOVED] == [first_day]
    day, rows = tagged[CARRIED]
    assert day == 20149 and rows.column("event_id").to_pylist() == ["e4", "e5"]
    pulled = [out for out in outputs if not isinstance(out, beam.pvalue.TaggedOutput)]
    assert [t.column("event_id").to_pylist() for _, t in pulled] == [["e3"]]

    carry = CarryUnmoved(str(tmp_path / "next"))
    carry.setup()
    assert list(carry.process([first_day], [])) == []
    copied = tmp_path / "next" / "event_date=2025-03-01" / "part-0.parquet"
    assert copied.read_bytes() == Path(first_day).read_bytes()
    # a day that gets new rows is rewritten, though none of its own rows moves
    [(day, rows)] = carry.process([first_day], [20148])
    assert day == 20148 and rows.column("event_id").to_pylist() == ["e1", "e2"]
