"""StreamJourneys in event time with TestStream: order, lateness, alert timers, late merges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.test_stream import TestStream as EventStream
from apache_beam.testing.util import assert_that
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from journeyline.config import default_config
from tests.transforms.beam_helpers import T0, event
from transforms.contract import to_micros
from transforms.identifiers import customer_id_for
from transforms.streaming.advance import (
    ALERTS,
    COUNTS,
    LATE,
    MERGES,
    TIMELINE,
    PublishedState,
    StreamJourneys,
)

HOUR = 3_600_000_000
START = to_micros(T0)


def config(lateness_hours: float = 72) -> Any:
    base = default_config()
    streaming = replace(base.streaming, window_minutes=60, allowed_lateness_hours=lateness_hours)
    return replace(base, streaming=streaming)


def at(hours: float) -> Timestamp:
    return Timestamp(micros=START + int(hours * HOUR))


def ev(event_id: str, ids: dict[str, str], hours: float, **kw: Any) -> TimestampedValue:
    row = event(event_id, ids, minutes=int(hours * 60), **kw)
    return TimestampedValue(row, Timestamp(micros=row["occurred_at"]))


def run(stream: EventStream, checks: dict[str, Callable[[list[Any]], None]], lateness: float = 72):
    options = PipelineOptions(["--streaming", "--runner=DirectRunner"])
    with BeamPipeline(options=options, blocking=True) as p:
        out = p | stream | StreamJourneys(config(lateness), "test", PublishedState())
        for tag, check in checks.items():
            assert_that(out[tag], check, label=f"Check[{tag}]")


def current(revisions: list[pa.Table]) -> list[tuple]:
    """The current timeline: per event, its row of the highest revision."""
    latest: dict[str, dict] = {}
    for table in revisions:
        for row in table.to_pylist():
            if (
                row["event_id"] not in latest
                or row["revision"] > latest[row["event_id"]]["revision"]
            ):
                latest[row["event_id"]] = row
    return sorted(
        (r["customer_id"], r["event_seq"], r["event_id"], r["lifecycle_stage"])
        for r in latest.values()
    )


def first_emitted(revisions: list[pa.Table]) -> dict[str, tuple[int, int]]:
    """Per event: (revision, watermark) of the first revision that held it."""
    seen: dict[str, tuple[int, int]] = {}
    for table in sorted(revisions, key=lambda t: t.column("revision")[0].as_py()):
        for row in table.to_pylist():
            stamp = to_micros(row["window_end"])
            seen.setdefault(row["event_id"], (row["revision"], stamp))
    return seen


def expect(check: Callable[[list[Any]], Any]) -> Callable[[list[Any]], None]:
    def matcher(actual: list[Any]) -> None:
        check(list(actual))

    return matcher


def test_out_of_order_events_are_sequenced_by_event_time_once_their_window_closed() -> None:
    a = {"email": "a@x.co"}
    stream = (
        EventStream()
        .advance_watermark_to(at(0))
        .add_elements([ev("e3", a, 3.2), ev("e1", a, 0.3, event_type="form_submitted")])
        .advance_watermark_to(at(1))
        .add_elements([ev("e2", a, 1.5, event_type="mql_reached")])
        .advance_watermark_to(at(4))
        .advance_watermark_to_infinity()
    )
    cus = customer_id_for("email", "a@x.co")

    def timeline(revisions: list[pa.Table]) -> None:
        assert current(revisions) == [
            (cus, 1, "e1", "lead"),
            (cus, 2, "e2", "mql"),
            (cus, 3, "e3", "mql"),
        ]
        first = first_emitted(revisions)
        assert first["e1"][1] == START + 1 * HOUR  # its window [0h, 1h) fired at 1h
        assert first["e2"][0] == first["e3"][0]  # e3 waited: nothing left before 4h
        assert first["e3"][1] >= START + 4 * HOUR

    run(stream, {TIMELINE: expect(timeline)})


def test_late_events_within_the_lateness_refire_and_beyond_it_go_to_the_late_output() -> None:
    a = {"email": "a@x.co"}
    stream = (
        EventStream()
        .advance_watermark_to(at(0))
        .add_elements([ev("e1", a, 0.2)])
        .advance_watermark_to(at(2.5))
        .add_elements([ev("e0", a, 0.1, event_type="form_submitted")])  # 1.5 h late: allowed
        .advance_watermark_to(at(5))
        .add_elements([ev("z", a, 0.5)])  # its window closed 4 h ago: beyond 2 h
        .advance_watermark_to_infinity()
    )
    cus = customer_id_for("email", "a@x.co")

    def timeline(revisions: list[pa.Table]) -> None:
        assert current(revisions) == [(cus, 1, "e0", "lead"), (cus, 2, "e1", "lead")]
        assert len(revisions) == 2  # the on-time pane, then the late one re-sequencing e1

    def late(batches: list[list[dict]]) -> None:
        assert [[r["event_id"] for r in batch] for batch in batches] == [["z"]]

    def counts(snapshots: list[dict]) -> None:
        last = max(snapshots, key=lambda c: (c["watermark"], c.get("late", {}).get("marketing", 0)))
        assert last["accepted"] == {"marketing": 2} and last["late"] == {"marketing": 1}

    run(stream, {TIMELINE: expect(timeline), LATE: expect(late), COUNTS: expect(counts)}, 2)


def test_the_followup_timer_fires_in_event_time_only_without_a_sales_touch() -> None:
    a, b = {"email": "a@x.co"}, {"email": "b@x.co"}
    stream = (
        EventStream()
        .advance_watermark_to(at(0))
        .add_elements(
            [ev("ma", a, 0.5, event_type="mql_reached"), ev("mb", b, 0.5, event_type="mql_reached")]
        )
        .advance_watermark_to(at(10))
        .add_elements([ev("sb", b, 20, event_type="sales_contacted", stream="sales")])
        .advance_watermark_to(at(24))  # both deadlines (24.5 h) still ahead
        .advance_watermark_to(at(26))
        .advance_watermark_to_infinity()
    )

    def alerts(batches: list[list[dict]]) -> None:
        raised = [(r["alert_type"], r["customer_id"], r["raised_at"]) for b in batches for r in b]
        deadline = START + int(24.5 * HOUR)
        assert raised == [("lead_followup_breach", customer_id_for("email", "a@x.co"), deadline)]

    def counts(snapshots: list[dict]) -> None:
        early = [c["alerts"] for c in snapshots if c["watermark"] < START + int(24.5 * HOUR)]
        assert early and set(early) == {0}  # nothing raised before the watermark passed
        assert max(c["alerts"] for c in snapshots) == 1

    run(stream, {ALERTS: expect(alerts), COUNTS: expect(counts)})


def test_an_identity_merge_arriving_after_the_events_it_links_restitches_them() -> None:
    stream = (
        EventStream()
        .advance_watermark_to(at(0))
        .add_elements([ev("x1", {"anonymous_id": "x"}, 0.1), ev("a1", {"email": "a@x.co"}, 0.2)])
        .advance_watermark_to(at(3))
        .add_elements([ev("link", {"anonymous_id": "x", "email": "a@x.co"}, 3.5)])
        .advance_watermark_to(at(6))
        .advance_watermark_to_infinity()
    )
    older = customer_id_for("anonymous_id", "x")
    younger = customer_id_for("email", "a@x.co")

    def timeline(revisions: list[pa.Table]) -> None:
        first = sorted((r["event_id"], r["customer_id"]) for r in revisions[0].to_pylist())
        assert first == [("a1", younger), ("x1", older)]  # apart until the link came
        assert current(revisions) == [
            (older, 1, "x1", "visitor"),
            (older, 2, "a1", "visitor"),
            (older, 3, "link", "visitor"),
        ]

    def merges(found: list[dict]) -> None:
        assert found == [{"merged_customer_id": younger, "into_customer_id": older}]

    run(stream, {TIMELINE: expect(timeline), MERGES: expect(merges)})
