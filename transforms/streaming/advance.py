"""``StreamJourneys``: events in event time → timeline revisions, alerts, late events, counts.

One stateful step holds the journeys (identity graph + timeline rows) under one key,
because identity is global: any new event may merge any two customers. Event time is
windowed with state and event-time timers rather than ``WindowInto`` + ``GroupByKey``,
because a GroupByKey drops data beyond the allowed lateness silently, and here it must go
to the late-data output instead:

- an event waits in ``pending`` until the watermark passes the end of its fixed window;
  then its window fires: the pending events of every closed window are placed with
  ``journey.advance`` and the changed rows leave as one timeline revision;
- an event whose window already fired, but within ``allowed_lateness``, fires a late pane
  right after its bundle (a timer set at the observed watermark);
- an event beyond the allowed lateness goes to the ``late`` output, counted, for the next
  batch run;
- alerts are evaluated for every rebuilt customer and whenever the watermark passes a
  customer's deadline, and each alert leaves once (ids remembered).

The observed watermark is the last window end whose ``tick`` fired. A tick is set at every
window end from the earliest window seen to the newest window plus the allowed lateness
(and up to the last open alert deadline); the ticks the watermark passes fire together
and only remember the watermark, and the work happens once, in the ``flush`` that follows.
So lateness is judged against the real watermark at window granularity — exactly while
the watermark stays within the allowed lateness of the newest window seen (always so for
the folder input, whose watermark trails the newest event); past that, an event newer than
all seen counts as late but allowed, never as dropped.
A ``close`` control element (sent by a local stream
that is asked to stop) marks the last real watermark: everything read is still placed,
but deadlines after it raise no alert (stopping is not a promise that no touch follows).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.utils.timestamp import Timestamp

from journeyline.config import Config
from journeyline.schema import IDENTITY_EDGES_SCHEMA, IDENTITY_MAP_SCHEMA, TIMELINE_SCHEMA
from transforms.alerts import AlertEvent, customer_alerts, next_deadline, relevant_types
from transforms.batches import concat
from transforms.sinks import read_parquet
from transforms.stages import StageMachine
from transforms.streaming.events import Lateness, events_table, lateness, window_end
from transforms.streaming.identity import IdentityGraph
from transforms.streaming.journey import Journeys, advance, stored_rows

TIMELINE = "timeline"
ALERTS = "alerts"
LATE = "late"
COUNTS = "counts"
MERGES = "merges"
CLOSE = "__close__"  # control element: {"__close__": watermark µs}
REVISION_SCHEMA = (
    TIMELINE_SCHEMA.append(pa.field("revision", pa.int64(), False))
    .append(pa.field("window_end", pa.timestamp("us", tz="UTC"), False))
    .append(pa.field("stream_run_id", pa.string(), False))
)


@dataclass(frozen=True)
class PublishedState:
    """Parquet files of the published lake state the stream starts from (may be empty)."""

    timeline: tuple[str, ...] = ()
    identity_map: tuple[str, ...] = ()
    identity_edges: tuple[str, ...] = ()


@dataclass
class Book:
    """The bookkeeping beside the journeys, touched only when windows fire."""

    revision: int = 0
    closed_at: int | None = None
    deadlines: dict[str, int] = field(default_factory=dict)  # customer → next deadline
    alerted: set[str] = field(default_factory=set)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, kind: str, per_source: dict[str, int]) -> None:
        bucket = self.counts.setdefault(kind, {})
        for source, n in per_source.items():
            bucket[source] = bucket.get(source, 0) + n


def _read(paths: Sequence[str], schema: pa.Schema) -> pa.Table:
    tables = []
    for path in paths:
        tables.append(read_parquet(path).select(schema.names).cast(schema))
    return concat(tables, schema)


def load_published(state: PublishedState, config: Config) -> Journeys:
    """The journeys a published lake state holds (empty when there is none)."""
    if not state.identity_map:
        return Journeys.empty()
    graph = IdentityGraph.from_published(
        _read(state.identity_map, IDENTITY_MAP_SCHEMA),
        _read(state.identity_edges, IDENTITY_EDGES_SCHEMA),
        config.identity,
    )
    return Journeys(graph, stored_rows(_read(state.timeline, TIMELINE_SCHEMA)))


def _alert_events(rows: pa.Table, types: frozenset[str]) -> dict[str, list[AlertEvent]]:
    """The events the alert rules look at, per customer, in timeline order."""
    rows = rows.filter(pc.is_in(rows.column("event_type"), value_set=pa.array(sorted(types))))
    rows = rows.sort_by([("customer_id", "ascending"), ("event_seq", "ascending")])
    out: dict[str, list[AlertEvent]] = {}
    columns = [
        rows.column(c).to_pylist()
        for c in ("customer_id", "event_id", "event_type", "survey_type", "score")
    ]
    times = rows.column("occurred_at").cast(pa.int64()).to_pylist()
    for customer, event_id, event_type, survey, score, at in zip(*columns, times, strict=True):
        out.setdefault(customer, []).append(AlertEvent(event_id, at, event_type, survey, score))
    return out


_PENDING_SPEC = BagStateSpec("pending", PickleCoder())
_TOO_LATE_SPEC = BagStateSpec("too_late", PickleCoder())
_JOURNEYS_SPEC = ReadModifyWriteStateSpec("journeys", PickleCoder())
_BOOK_SPEC = ReadModifyWriteStateSpec("book", PickleCoder())
_WATERMARK_SPEC = ReadModifyWriteStateSpec("watermark", PickleCoder())
_TICKED_SPEC = ReadModifyWriteStateSpec("ticked", PickleCoder())
_TICK_SPEC = TimerSpec("tick", TimeDomain.WATERMARK)
_FLUSH_SPEC = TimerSpec("flush", TimeDomain.WATERMARK)
PENDING = beam.DoFn.StateParam(_PENDING_SPEC)
TOO_LATE = beam.DoFn.StateParam(_TOO_LATE_SPEC)
JOURNEYS = beam.DoFn.StateParam(_JOURNEYS_SPEC)
BOOK = beam.DoFn.StateParam(_BOOK_SPEC)
WATERMARK = beam.DoFn.StateParam(_WATERMARK_SPEC)
TICKED = beam.DoFn.StateParam(_TICKED_SPEC)
TICK = beam.DoFn.TimerParam(_TICK_SPEC)
FLUSH = beam.DoFn.TimerParam(_FLUSH_SPEC)


class AdvanceJourneys(beam.DoFn):
    """The stateful heart of the stream (see the module docstring)."""

    def __init__(self, config: Config, run_id: str, published: PublishedState) -> None:
        self.config = config
        self.run_id = run_id
        self.published = published
        self.size = config.streaming.window_us
        self.allowed = config.streaming.lateness_us
        self.counters = {
            name: Metrics.counter("stream", name)
            for name in ("events", "late_events", "too_late_events", "revisions", "alerts")
        }

    def setup(self) -> None:
        self.machine = StageMachine(self.config.stages)
        self.alert_types = relevant_types(self.config.alerts)

    def _cover(self, first: int, until: int, ticked: Any, tick: Any) -> None:
        """Make sure a tick is set at every window end from ``first`` to ``until``: the ticks
        set so far cover one range of window ends, widened here on either side."""
        covered = ticked.read()
        low, high = covered if covered is not None else (first, first - self.size)
        for end in range(first, low, self.size):
            tick.set(Timestamp(micros=end), dynamic_timer_tag=str(end))
        for end in range(high + self.size, until + 1, self.size):
            tick.set(Timestamp(micros=end), dynamic_timer_tag=str(end))
        widened = (min(low, first), max(high, until))
        if widened != covered:
            ticked.write(widened)

    def process(
        self,
        element: tuple[int, dict[str, Any]],
        pending: Any = PENDING,
        too_late: Any = TOO_LATE,
        book_state: Any = BOOK,
        watermark_state: Any = WATERMARK,
        ticked: Any = TICKED,
        tick: Any = TICK,
        flush: Any = FLUSH,
    ) -> None:
        _, row = element
        watermark = watermark_state.read()
        if CLOSE in row:
            book = book_state.read() or Book()
            book.closed_at = row[CLOSE]
            book_state.write(book)
            return
        self.counters["events"].inc()
        status = lateness(row["occurred_at"], watermark, self.size, self.allowed)
        if status is Lateness.TOO_LATE:
            self.counters["too_late_events"].inc()
            too_late.add(row)
            flush.set(Timestamp(micros=watermark))
            return
        pending.add(row)
        if status is Lateness.LATE:
            self.counters["late_events"].inc()
            flush.set(Timestamp(micros=watermark))
        end = window_end(row["occurred_at"], self.size)
        self._cover(end, end + self.allowed, ticked, tick)

    @on_timer(_TICK_SPEC)
    def on_tick(
        self,
        fired: Timestamp = beam.DoFn.TimestampParam,
        watermark_state: Any = WATERMARK,
        flush: Any = FLUSH,
    ) -> None:
        """The watermark passed a window end: remember it; the work is done once per advance."""
        current = watermark_state.read()
        watermark = fired.micros if current is None else max(current, fired.micros)
        watermark_state.write(watermark)
        flush.set(Timestamp(micros=watermark))

    @on_timer(_FLUSH_SPEC)
    def on_flush(
        self,
        pending: Any = PENDING,
        too_late: Any = TOO_LATE,
        journeys: Any = JOURNEYS,
        book_state: Any = BOOK,
        watermark_state: Any = WATERMARK,
        ticked: Any = TICKED,
        tick: Any = TICK,
    ) -> Iterator[Any]:
        watermark = watermark_state.read()
        book = book_state.read() or Book()
        yield from self._fire(watermark, book, pending, too_late, journeys)
        if book.deadlines:
            last = window_end(max(book.deadlines.values()), self.size)
            self._cover(window_end(watermark, self.size), last, ticked, tick)
        book_state.write(book)

    def _fire(
        self, watermark: int, book: Book, pending: Any, too_late: Any, journeys_state: Any
    ) -> Iterator[Any]:
        """Fire every closed window: place its events, raise due alerts, flush late data."""
        waiting = list(pending.read())
        due = [r for r in waiting if window_end(r["occurred_at"], self.size) <= watermark]
        journeys = journeys_state.read()
        if journeys is None:
            journeys = load_published(self.published, self.config)
            journeys_state.write(journeys)
        rebuilt: set[str] = set()
        if due:
            pending.clear()
            for row in waiting:
                if window_end(row["occurred_at"], self.size) > watermark:
                    pending.add(row)
            journeys, step = advance(journeys, events_table(due), self.config, self.machine)
            book.count("accepted", step.accepted)
            book.count("duplicates", step.duplicates)
            book.count("unassigned", {"all": step.unassigned} if step.unassigned else {})
            rebuilt = step.customers
            if step.changed_rows.num_rows:
                book.revision += 1
                self.counters["revisions"].inc()
                yield beam.pvalue.TaggedOutput(
                    TIMELINE, self._revision(step.changed_rows, book.revision, watermark)
                )
            for merged, into in step.merges:
                yield beam.pvalue.TaggedOutput(
                    MERGES, {"merged_customer_id": merged, "into_customer_id": into}
                )
            journeys_state.write(journeys)
        alerts = self._alerts(journeys.rows, rebuilt, book, watermark)
        if alerts:
            self.counters["alerts"].inc(len(alerts))
            yield beam.pvalue.TaggedOutput(ALERTS, alerts)
        late_rows = list(too_late.read())
        if late_rows:
            too_late.clear()
            book.count("late", _per_source(late_rows))
            yield beam.pvalue.TaggedOutput(LATE, late_rows)
        if due or alerts or late_rows:
            pending_now = len(waiting) - len(due)
            yield beam.pvalue.TaggedOutput(COUNTS, self._counts(book, watermark, pending_now))

    def _revision(self, rows: pa.Table, revision: int, watermark: int) -> pa.Table:
        n = rows.num_rows
        extra = {
            "revision": pa.array([revision] * n, pa.int64()),
            "window_end": pa.array([watermark] * n, pa.int64()).cast(
                REVISION_SCHEMA.field("window_end").type
            ),
            "stream_run_id": pa.array([self.run_id] * n, pa.string()),
        }
        return pa.Table.from_arrays(
            [extra[f.name] if f.name in extra else rows.column(f.name) for f in REVISION_SCHEMA],
            schema=REVISION_SCHEMA,
        )

    def _alerts(
        self, rows: pa.Table, rebuilt: set[str], book: Book, watermark: int
    ) -> list[dict[str, Any]]:
        """New alerts of rebuilt customers and of customers whose deadline passed."""
        due = {c for c, d in book.deadlines.items() if d <= watermark}
        customers = rebuilt | due
        if not customers:
            return []
        mine = rows.filter(
            pc.is_in(rows.column("customer_id"), value_set=pa.array(sorted(customers)))
        )
        events = _alert_events(mine, self.alert_types)
        out = []
        for customer in sorted(customers):
            book.deadlines.pop(customer, None)
            history = events.get(customer, [])
            for alert in customer_alerts(
                customer, history, self.config.alerts, watermark, book.closed_at
            ):
                if alert.alert_id not in book.alerted:
                    book.alerted.add(alert.alert_id)
                    out.append(alert.row())
            deadline = next_deadline(history, self.config.alerts, watermark)
            if deadline is not None and (book.closed_at is None or deadline <= book.closed_at):
                book.deadlines[customer] = deadline
        return out

    def _counts(self, book: Book, watermark: int, pending: int) -> dict[str, Any]:
        return {
            "stream_run_id": self.run_id,
            "watermark": watermark,
            "revision": book.revision,
            "pending": pending,
            "alerts": len(book.alerted),
            **{kind: dict(per_source) for kind, per_source in book.counts.items()},
        }


def _per_source(rows: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        out[row["input_source"]] = out.get(row["input_source"], 0) + 1
    return out


class StreamJourneys(beam.PTransform):
    """Event rows stamped with occurred_at (plus optional close elements) → tagged outputs
    ``timeline`` (revision tables), ``alerts`` (lists of alert rows), ``late`` (lists of
    event rows beyond the allowed lateness), ``merges`` and ``counts``."""

    def __init__(self, config: Config, run_id: str, published: PublishedState) -> None:
        super().__init__()
        self.config = config
        self.run_id = run_id
        self.published = published

    def expand(self, events: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        return (
            events
            | "OneKey" >> beam.Map(lambda row: (0, row)).with_output_types(tuple[int, Any])
            | "AdvanceJourneys"
            >> beam.ParDo(AdvanceJourneys(self.config, self.run_id, self.published)).with_outputs(
                TIMELINE, ALERTS, LATE, COUNTS, MERGES
            )
        )
