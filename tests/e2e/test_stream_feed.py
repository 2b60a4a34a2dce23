"""The local stream's folder feed: what it reads when, the watermark it sends, how it stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from apache_beam.coders import PickleCoder

from journeyline.config import default_config
from journeyline.stream_feed import FeedStatus, FolderFeed
from transforms.contract import to_micros
from transforms.streaming.advance import CLOSE
from transforms.streaming.sources import CLOSED, EVENT, QUARANTINED


def line(event_id: str, at: str) -> bytes:
    event = {
        "event_id": event_id,
        "event_type": "page_viewed",
        "occurred_at": at,
        "received_at": at,
        "identifiers": {"anonymous_id": "a-1"},
    }
    return orjson.dumps(event)


def poll(events: Iterator[Any]) -> list[Any]:
    """The events of one poll (a poll ends with its processing-time advance)."""
    out = []
    for event in events:
        out.append(event)
        if event.HasField("processing_time_event"):
            return out
    return out


def elements(events: list[Any]) -> list[tuple[str, Any]]:
    coder = PickleCoder()
    return [
        coder.decode(e.encoded_element)
        for event in events
        if event.HasField("element_event")
        for e in event.element_event.elements
    ]


def watermarks(events: list[Any]) -> list[int]:
    return [e.watermark_event.new_watermark for e in events if e.HasField("watermark_event")]


def test_files_are_read_once_complete_and_the_watermark_follows_event_time(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for stream in ("marketing", "sales", "service"):
        (landing / stream).mkdir(parents=True)
    (landing / "marketing" / "a.jsonl").write_bytes(line("e1", "2025-01-01T10:00:00Z") + b"\n")
    (landing / "marketing" / "old.jsonl").write_bytes(b"{}\n")
    config = default_config().with_input(landing)
    config = replace(
        config, streaming=replace(config.streaming, poll_seconds=0.01, watermark_delay_minutes=30)
    )
    old = next(f for f in (landing / "marketing").iterdir() if f.name == "old.jsonl")
    stat = old.stat()
    ingested = {("marketing", str(old), stat.st_size, round(stat.st_mtime, 6))}
    stop = threading.Event()
    status = FeedStatus("stream_t", "now", None)
    feed = FolderFeed(config, "stream_t", ingested, stop, status, tmp_path / "status.json")
    events = feed.read_multiple(None)

    first = poll(events)  # a.jsonl was there at start: read at once; old.jsonl was ingested
    assert [value["event_id"] for kind, value in elements(first) if kind == EVENT] == ["e1"]
    assert sorted(kind for kind, _ in elements(first)) == [EVENT, "stats"]
    ten = to_micros(datetime(2025, 1, 1, 10, tzinfo=UTC))
    assert watermarks(first) == [ten - 30 * 60_000_000]

    (landing / "marketing" / "b.jsonl").write_bytes(
        b"not json\n" + line("e2", "2025-01-01T11:00:00Z")
    )
    assert elements(poll(events)) == []  # seen once: maybe still being written
    second = poll(events)  # unchanged since the last poll: complete, read now
    kinds = sorted(kind for kind, _ in elements(second))
    assert kinds == sorted([EVENT, QUARANTINED, "stats"])
    assert watermarks(second) == [ten + 30 * 60_000_000]

    stop.set()
    rest = list(events)
    assert elements(rest)[-1] == (CLOSED, {CLOSE: ten + 30 * 60_000_000})
    assert status.state == "stopped" and len(status.files) == 2
    assert status.inputs["marketing"]["input_count"] == 3
