"""The local stream's input: the sources' landing folders, watched, served as a live TestStream.

Every ``poll_seconds`` the feed lists the configured sources' files (the same listing as
a batch run), reads each new file once it is complete through the shared reader and
row contract (``ParseSourceFile``), and sends to the pipeline one batch of elements: each
accepted event stamped with its occurred_at, the quarantine tables, the file's counts.
Then it advances the watermark to the newest occurred_at read so far minus
``watermark_delay_minutes`` — a bounded-out-of-orderness watermark — so a file with
older events than that is late, as it would be for any streaming source.

A file counts as complete when its size and modification time did not change since the
previous poll (or it was already there when the stream started). Files the published lake state has
ingested are not read again. When asked to stop (``--stop-after``, Ctrl-C) the feed sends
a close marker with the last watermark and ends the stream, so the pipeline fires what
is pending and finishes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from apache_beam.coders import PickleCoder
from apache_beam.portability.api import beam_runner_api_pb2 as runner_api
from apache_beam.utils.timestamp import MIN_TIMESTAMP

from journeyline.config import Config
from journeyline.inputs import discover
from transforms.read import QUARANTINE, STATS, InputFile, ParseSourceFile
from transforms.streaming.advance import CLOSE
from transforms.streaming.events import event_rows
from transforms.streaming.sources import CLOSED, COUNTED, EVENT, FEED, QUARANTINED

_EVENT = runner_api.TestStreamPayload.Event
_CODER = PickleCoder()
_MIN_US = MIN_TIMESTAMP.micros
_CHUNK = 2000  # elements per TestStream event: gRPC refuses messages above 4 MB


def _key(item: InputFile) -> tuple[str, str, int, float]:
    return (item.source, item.path, item.size, round(item.mtime, 6))


@dataclass
class FeedStatus:
    """What the feed did so far: files read, the watermark, input counts per source."""

    run_id: str
    started_at: str
    base_attempt: str | None
    state: str = "running"
    watermark: int | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    inputs: dict[str, dict[str, int]] = field(default_factory=dict)
    error: str | None = None

    def add_stats(self, stats: dict[str, Any]) -> None:
        mine = self.inputs.setdefault(stats["source"], {})
        for key in ("input_count", "quarantined_count", "source_rows", "skipped_rows"):
            mine[key] = mine.get(key, 0) + int(stats[key])


class FolderFeed:
    """A TestStreamService reader that serves the landing folders as they fill."""

    def __init__(
        self,
        config: Config,
        run_id: str,
        ingested: set[tuple[str, str, int, float]],
        stop: threading.Event,
        status: FeedStatus,
        status_path: Path,
    ) -> None:
        self.config = config
        self.stop = stop
        self.status = status
        self.status_path = status_path
        self.seen = set(ingested)
        self.parser = ParseSourceFile(config, run_id)
        self.parser.setup()
        self.started = time.time()
        self._sizes: dict[tuple[str, str], tuple[int, float]] = {}
        self._polls = 0
        self._newest = _MIN_US
        self._clock = time.monotonic()

    def read_multiple(self, _specs: Any) -> Iterator[Any]:
        """The event stream the TestStreamService sends to the pipeline."""
        try:
            while True:
                stopping = self.stop.is_set()
                yield from self._poll(first=self._polls == 0)
                self._polls += 1
                if stopping:
                    break
                self.stop.wait(self.config.streaming.poll_seconds)
            watermark = self.status.watermark if self.status.watermark is not None else 0
            yield self._elements([((CLOSED, {CLOSE: watermark}), watermark)])
            self.status.state = "stopped"
        except Exception as exc:  # surfaced by the driver; the stream ends cleanly
            self.status.state = "failed"
            self.status.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._save()

    def _ready(self, files: list[InputFile], first: bool) -> list[InputFile]:
        """New files whose size and time held still since the last poll (or at start)."""
        ready = []
        for item in files:
            if _key(item) in self.seen:
                continue
            now = (item.size, item.mtime)
            before = self._sizes.get((item.source, item.path))
            self._sizes[(item.source, item.path)] = now
            if first or before == now:
                ready.append(item)
        return ready

    def _poll(self, first: bool) -> Iterator[Any]:
        ready = self._ready(discover(self.config), first)
        stamp = self.status.watermark if self.status.watermark is not None else _MIN_US
        batch: list[tuple[tuple[str, Any], int]] = []
        for item in ready:
            self.seen.add(_key(item))
            events = quarantined = 0
            for out in self.parser.process(item):
                tag = getattr(out, "tag", None)
                value = getattr(out, "value", out)
                if tag == QUARANTINE:
                    quarantined += value.num_rows
                    batch.append(((QUARANTINED, value), stamp))
                elif tag == STATS:
                    self.status.add_stats(value)
                    batch.append(((COUNTED, value), stamp))
                elif isinstance(value, pa.Table):
                    for row in event_rows(value):
                        events += 1
                        self._newest = max(self._newest, row["occurred_at"])
                        batch.append(((EVENT, row), row["occurred_at"]))
            self.status.files.append(
                {
                    "source": item.source,
                    "path": item.path,
                    "read_at": datetime.now(UTC).isoformat(),
                    "events": events,
                    "quarantined": quarantined,
                    "watermark_before": self.status.watermark,
                }
            )
        for start in range(0, len(batch), _CHUNK):  # gRPC messages stay small
            yield self._elements(batch[start : start + _CHUNK])
        if self._newest > _MIN_US:
            watermark = self._newest - self.config.streaming.delay_us
            if self.status.watermark is None or watermark > self.status.watermark:
                self.status.watermark = watermark
                yield _EVENT(
                    watermark_event=_EVENT.AdvanceWatermark(new_watermark=watermark, tag=FEED)
                )
        now = time.monotonic()
        advance = max(1, int((now - self._clock) * 1e6))
        self._clock = now
        yield _EVENT(processing_time_event=_EVENT.AdvanceProcessingTime(advance_duration=advance))
        if ready:
            self._save()

    @staticmethod
    def _elements(batch: list[tuple[tuple[str, Any], int]]) -> Any:
        elements = [
            runner_api.TestStreamPayload.TimestampedElement(
                encoded_element=_CODER.encode(value), timestamp=at
            )
            for value, at in batch
        ]
        return _EVENT(element_event=_EVENT.AddElements(elements=elements, tag=FEED))

    def _save(self) -> None:
        """Write the status file atomically (the stream's progress, for people and tests)."""
        self.status_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.status_path.with_name(f".{self.status_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.status.__dict__, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, self.status_path)
