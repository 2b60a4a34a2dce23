"""Landing layout and the canonical JSON of valid lines (SPEC section 2)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from journeyline.generate import GenerateSummary, generate
from journeyline.schema import STREAMS
from tests.generate.generate_helpers import landing_lines, truth, valid_events

FILE = re.compile(r"(marketing|sales|service)/\1-(\d{4}-\d{2})\.jsonl")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
EVENT_ID = re.compile(r"evt_[0-9a-f]{20}")
KEY_ORDER = (
    "event_id",
    "source",
    "stream",
    "event_type",
    "occurred_at",
    "received_at",
    "identifiers",
    "account_id",
    "channel",
    "campaign_id",
    "message_theme",
    "amount",
    "currency",
    "score",
    "survey_type",
    "properties",
)
REQUIRED = {
    "event_id",
    "source",
    "stream",
    "event_type",
    "occurred_at",
    "received_at",
    "identifiers",
    "account_id",
    "properties",
}
SOURCES = {
    "marketing": {"hubspot", "marketo", "web", "segment"},
    "sales": {"salesforce"},
    "service": {"zendesk"},
}


def _ts(text: str) -> datetime:
    """An aware datetime from ISO text."""
    return datetime.fromisoformat(text)


def test_files_are_named_by_stream_and_month(any_run: GenerateSummary) -> None:
    """Files follow <stream>/<stream>-YYYY-MM.jsonl, are UTF-8 and have no blank lines."""
    files = landing_lines(any_run.out)
    assert files
    assert {name.split("/")[0] for name in files} == set(STREAMS)
    for name, lines in files.items():
        assert FILE.fullmatch(name), name
        assert all(line.strip() for line in lines), f"blank line in {name}"
        assert all(b"\r" not in line for line in lines)
        (any_run.out / name).read_bytes().decode("utf-8")


def test_valid_lines_are_canonical_json(any_run: GenerateSummary) -> None:
    """Valid lines have SPEC fields in SPEC order and sit in their received month's file."""
    for row, obj in valid_events(any_run.out):
        assert list(obj) == [k for k in KEY_ORDER if k in obj]
        assert set(obj) >= REQUIRED
        assert EVENT_ID.fullmatch(obj["event_id"])
        assert obj["event_id"] == row["event_id"]
        assert obj["source"] in SOURCES[obj["stream"]]
        assert TIMESTAMP.fullmatch(obj["occurred_at"]) and TIMESTAMP.fullmatch(obj["received_at"])
        assert isinstance(obj["identifiers"], dict) and obj["identifiers"]
        assert all(isinstance(v, str) for v in obj["identifiers"].values())
        assert isinstance(obj["properties"], dict)
        if obj["account_id"] is not None:
            assert obj["account_id"] == row["account_id"]
            assert {"segment", "persona"} <= set(obj["properties"])
        month = obj["received_at"][:7]
        assert row["file"] == f"{obj['stream']}/{obj['stream']}-{month}.jsonl"


def test_event_ids_are_unique(any_run: GenerateSummary) -> None:
    """No two valid events share an event_id."""
    ids = [row["event_id"] for row in truth(any_run.out, "events")]
    assert len(ids) == len(set(ids))


def test_lines_are_shuffled_within_files(default_run: GenerateSummary) -> None:
    """Files are not in arrival order, so readers cannot rely on it."""
    by_file: dict[str, list[tuple[int, str]]] = {}
    for row, obj in valid_events(default_run.out):
        by_file.setdefault(row["file"], []).append((row["line_number"], obj["received_at"]))
    big = {name: rows for name, rows in by_file.items() if len(rows) >= 20}
    assert big
    for name, rows in big.items():
        received = [at for _, at in sorted(rows)]
        assert received != sorted(received), name


def test_timestamps_stay_in_the_window(any_run: GenerateSummary) -> None:
    """Events occur inside the window, arrive after they occur, and a few arrive days late."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=365)
    late = 0
    pairs = valid_events(any_run.out)
    for _, obj in pairs:
        occurred, received = _ts(obj["occurred_at"]), _ts(obj["received_at"])
        assert start <= occurred < end
        assert occurred <= received < end
        late += received - occurred >= timedelta(days=2)
    assert 0.005 < late / len(pairs) < 0.06


def test_short_window_only_writes_its_months(tmp_path: Path) -> None:
    """A 40-day window produces only the files of its months."""
    summary = generate(tmp_path, people=80, seed=5, start=date(2025, 3, 10), days=40)
    months = {FILE.fullmatch(str(p.relative_to(tmp_path))).group(2) for p in summary.files}
    assert months <= {"2025-03", "2025-04"}
    start = datetime(2025, 3, 10, tzinfo=UTC)
    for row in truth(tmp_path, "events"):
        assert start <= row["occurred_at"] < start + timedelta(days=40)
