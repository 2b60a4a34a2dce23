"""`journeyline stream`: the streaming job, locally on a watched folder or submitted to a runner.

How the stream relates to the batch lake (README "Streaming"):

- it **starts from the published lake state** (`<lake>/CURRENT`): its identity graph,
  identity map and timeline are the stream's initial state, and files that state has
  ingested are not read again;
- it **never holds the only copy of an event**: locally it reads the landing folders the
  batch sources read; from Pub/Sub or Kafka it archives every raw message under
  ``<output>/archive/<source>/``, which those sources' batch ``location`` points at. So
  the next `journeyline run` ingests every event the stream saw — on time, late or too
  late — and stays the system of record for the published warehouse;
- it **writes its own append-only output** (`streaming.output`, default `<lake>/stream`):
  timeline revisions (the current timeline is the published one overridden, per event,
  by the latest revision of a stream started from it), the `alerts` table and alert sink,
  late events as canonical JSON lines, quarantine, merges and the run's counts.

Locally the run stops cleanly after ``--stop-after`` seconds or on Ctrl-C (a second
Ctrl-C interrupts at once): the feed stops, what is pending fires, sinks flush.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream_service import TestStreamServiceController

from journeyline import state
from journeyline.config import Config
from journeyline.errors import InputError, PipelineError
from journeyline.inputs import discover
from journeyline.lake import Lake
from journeyline.progress import Progress
from journeyline.run import _beam_failure, beam_options
from journeyline.stream_feed import FeedStatus, FolderFeed
from journeyline.summary import _table
from journeyline.suppressions import load_suppressions
from pipelines.streaming import StreamRun, build_stream_pipeline
from transforms.streaming.advance import PublishedState

COUNT_KINDS = {"accepted": "accepted_count", "duplicates": "duplicate_count", "late": "late_count"}


@dataclass
class StreamResult:
    """What a finished local stream did."""

    run_id: str
    output: str
    base_attempt: str | None
    files: int
    watermark: int | None
    sources: list[dict[str, Any]] = field(default_factory=list)
    alerts: int = 0
    revisions: int = 0
    pending: int = 0
    submitted: bool = False  # a cloud runner: the job runs on after this command returns

    @property
    def reconciles(self) -> bool:
        return self.pending == 0 and all(s["reconciles"] for s in self.sources)


def _published(config: Config, lake: Lake, progress: Progress) -> tuple[Any, PublishedState]:
    """The published lake state the stream starts from (None and empty when there is none)."""
    published = state.load(lake)
    if published is None:
        return None, PublishedState()
    if published.rules != state.rules_fingerprint(config):
        progress.say(
            "the contract, identity or stage rules changed since the published run: the "
            "stream starts from an empty state (run `journeyline run --full-refresh` first)"
        )
        return None, PublishedState()
    tables = state.previous_tables(lake, published.attempt)
    return published, PublishedState(tables.timeline, tables.identity_map, tables.identity_edges)


def stream_options(beam_args: list[str]) -> PipelineOptions:
    """Beam options for the streaming job (the local streaming DirectRunner by default)."""
    options = beam_options(beam_args)
    options.view_as(StandardOptions).streaming = True
    return options


@contextmanager
def _stop_on_interrupt(stop: threading.Event, progress: Progress) -> Iterator[None]:
    """First Ctrl-C: stop cleanly (fire what is pending, flush sinks); second: interrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        progress.say("stopping: firing what is pending (Ctrl-C again to interrupt at once)")
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _summary(run_id: str, output: str, status: FeedStatus) -> StreamResult:
    counts_path = Path(output) / "runs" / f"{run_id}.counts.json"
    counts = json.loads(counts_path.read_text()) if counts_path.is_file() else {}
    sources = []
    for name, inputs in sorted(status.inputs.items()):
        row = {"source": name, **inputs}
        for kind, column in COUNT_KINDS.items():
            row[column] = int(counts.get(kind, {}).get(name, 0))
        out = row["accepted_count"] + row["quarantined_count"] + row["duplicate_count"]
        row["reconciles"] = row["input_count"] == out + row["late_count"]
        sources.append(row)
    return StreamResult(
        run_id=run_id,
        output=output,
        base_attempt=status.base_attempt,
        files=len(status.files),
        watermark=status.watermark,
        sources=sources,
        alerts=int(counts.get("alerts", 0)),
        revisions=int(counts.get("revision", 0)),
        pending=int(counts.get("pending", 0)),
    )


def _build(config: Config, run: StreamRun, options: PipelineOptions) -> Any:
    """The pipeline, or a clear error when a cross-language source cannot be expanded."""
    try:
        return build_stream_pipeline(config, run, options)
    except RuntimeError as exc:
        if config.streaming.input != "kafka":
            raise
        first = str(exc).strip().splitlines()[0][:300]
        raise PipelineError(
            f"the Kafka source could not be built: ReadFromKafka is a Java transform and "
            f"its expansion service did not start ({first})",
            "install Java 11+ and let Beam fetch its expansion-service jar, or run one and "
            "set streaming.kafka.expansion_service: host:port",
        ) from None


def run_stream(
    config: Config, beam_args: list[str], progress: Progress, stop_after: float | None = None
) -> StreamResult:
    """Run the streaming job: locally until stopped, or submit it to a cloud runner."""
    lake = Lake.at(config.lake)
    # forgotten people (journeyline forget) never enter the stream either
    config = config.with_suppressions(load_suppressions(lake))
    published, base = _published(config, lake, progress)
    started = datetime.now(UTC)
    run_id = f"stream_{started:%Y%m%dT%H%M%S%fZ}"
    output = config.streaming.output
    options = stream_options(beam_args)
    local = config.streaming.input == "folder"
    if local:
        discover(config)  # a missing landing folder stops here, with its clear message
    status = FeedStatus(run_id, started.isoformat(), published.attempt if published else None)
    status_path = Path(output) / "runs" / f"{run_id}.json"
    stop = threading.Event()
    service = None
    if local:
        ingested = (
            {(i.source, i.path, i.size, round(i.mtime, 6)) for i in published.ingested}
            if published
            else set()
        )
        feed = FolderFeed(config, run_id, ingested, stop, status, status_path)
        service = TestStreamServiceController(feed)
        service.start()
    run = StreamRun(run_id, output, base, service.endpoint if service else None)
    pipeline = _build(config, run, options)
    where = f"on {published.attempt}" if published else "from an empty lake"
    progress.say(f"stream {run_id} · {config.streaming.input} · starts {where} · output {output}")
    timer = threading.Timer(stop_after, stop.set) if stop_after is not None else None
    try:
        with _stop_on_interrupt(stop, progress):
            if timer:
                timer.daemon = True
                timer.start()
            try:
                result = pipeline.run()
                if not local:
                    return StreamResult(
                        run_id, output, status.base_attempt, 0, None, submitted=True
                    )
                result.wait_until_finish()
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a runner failure carries the user's problem in its text
                raise _beam_failure(exc) from None
    finally:
        if timer:
            timer.cancel()
        if service:
            service.stop()
    if status.state == "failed":
        raise PipelineError(f"the folder feed failed: {status.error}")
    if local and status.state != "stopped":
        raise PipelineError(
            "the stream ended before it was asked to stop: the runner lost its connection "
            "to the folder feed",
            "re-run with --verbose to see the runner's log",
        )
    return _summary(run_id, output, status)


def stream_timeline(output: str) -> Any:
    """The stream's current timeline (Arrow): per event, the row of its latest revision.

    (A live view of the whole warehouse is the published customer_timeline with these rows
    laid over it, for streams that started from the published attempt.)
    """
    con = duckdb.connect()
    try:
        return con.sql(
            """
            select * exclude (revision, window_end, stream_run_id)
            from read_parquet(?, union_by_name = true)
            qualify row_number() over (
                partition by event_id order by stream_run_id desc, revision desc
            ) = 1
            order by customer_id, event_seq
            """,
            params=[f"{output}/timeline/*.parquet"],
        ).to_arrow_table()
    finally:
        con.close()


def check_stop_after(value: float | None) -> float | None:
    """--stop-after must be a positive number of seconds."""
    if value is not None and value <= 0:
        raise InputError("--stop-after must be a positive number of seconds, e.g. 60")
    return value


def format_stream(result: StreamResult) -> str:
    """A plain-text summary: reconciliation per source (late included), output, watermark."""
    if result.submitted:
        return f"stream {result.run_id}: submitted; it runs until drained or cancelled"
    columns = ("input_count", "accepted_count", "quarantined_count", "duplicate_count")
    rows = [
        [
            s["source"],
            *(f"{s[c]:,}" for c in (*columns, "late_count")),
            "yes" if s["reconciles"] else "NO",
        ]
        for s in result.sources
    ]
    headers = ["source", "input", "accepted", "quarantined", "duplicates", "late", "reconciles"]
    watermark = (
        datetime.fromtimestamp(result.watermark / 1e6, tz=UTC).isoformat()
        if result.watermark is not None
        else "none (no event read)"
    )
    lines = [f"\nstream {result.run_id}: STOPPED", "", *_table(headers, rows), ""]
    lines += [
        f"files read: {result.files:,} · watermark: {watermark} · timeline revisions: "
        f"{result.revisions:,} · alerts: {result.alerts:,}",
        f"output: {result.output}",
        "late events (beyond the allowed lateness) are in output/late/ and are read by the "
        "next `journeyline run`",
    ]
    return "\n".join(lines)
