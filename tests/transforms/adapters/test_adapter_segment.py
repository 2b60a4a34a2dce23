"""Segment spec messages: fixtures, timestamp precedence, event-name map, calls."""

from __future__ import annotations

from datetime import datetime

import orjson
import pytest

from journeyline.schema import all_event_types
from tests.transforms.adapters.adapter_helpers import (
    FIXTURES,
    run_file,
    source_config,
    with_source,
)
from transforms.adapters.segment import SegmentMessages, occurred_at
from transforms.contract import Rejection, to_micros

FOLDER = FIXTURES / "segment_spec"
# Every fixture message and what it becomes (an event type, or the quarantine code).
EXPECTED = {
    "b2b-saas_example1.json": "missing_required_field",  # Signed Up, but no time at all
    "b2b-saas_example2.json": "unmapped_value",  # Signed In
    "common_example1.json": "unmapped_value",  # Report Submitted
    "group_example1.json": "unmapped_value",  # group calls are not journey events
    "identify_example1.json": "unmapped_value",
    "identify_example2.json": "unmapped_value",
    "page_example1.json": "missing_required_field",  # no time
    "page_example2.json": "page_viewed",
    "track_example1.json": "unmapped_value",
    "track_example2.json": "unmapped_value",
}


def outcome(file: str, **segment: object) -> tuple[list[dict], list[tuple[str, str, str]]]:
    source = source_config("segment", FOLDER, segment=dict(segment))
    out = run_file(with_source(source), source, FOLDER / file)
    assert out.rows == 1 and out.records == 1
    return out.accepted, out.rejected


@pytest.mark.parametrize(("file", "expected"), sorted(EXPECTED.items()))
def test_every_fixture_message_is_an_event_or_quarantined(file: str, expected: str) -> None:
    accepted, rejected = outcome(file)
    got = accepted[0]["event_type"] if accepted else rejected[0][0]
    assert got == expected
    assert all(reason for _, reason, _ in rejected)


def test_a_page_call_maps_field_by_field() -> None:
    [row], _ = outcome("page_example2.json")
    assert row["event_id"] == "022bb90c-bbac-11e4-8dfc-aa07a5b093db"
    assert row["stream"] == "marketing"
    assert row["source"] == "segment"
    assert row["occurred_at"] == to_micros(datetime.fromisoformat("2015-02-23T22:28:55.111+00:00"))
    assert row["identifiers"] == [
        ("anonymous_id", "507f191e810c19729de860ea"),
        ("user_id", "97980cfea0067"),
    ]
    assert row["channel"] == "web"
    props = orjson.loads(row["properties"])
    assert props["name"] == "Home"
    assert props["properties"]["url"] == "http://www.example.com"
    assert props["segment_timestamp"] == "timestamp"


def test_configured_names_and_calls_map_what_the_defaults_reject() -> None:
    [row], _ = outcome("track_example2.json", event_map={"Course Clicked": "content_downloaded"})
    assert row["event_type"] == "content_downloaded"
    assert row["event_id"] == "ajs-f8ca1e4de5024d9430b3928bd8ac6b96"
    [row], _ = outcome("identify_example2.json", calls={"identify": "form_submitted"})
    assert row["identifiers"] == [
        ("anonymous_id", "507f191e810c19729de860ea"),
        ("email", "peter@example.com"),
        ("user_id", "97980cfea0067"),
    ]
    [row], _ = outcome("common_example1.json", unmapped="page_viewed")
    assert row["account_id"] == "12345"  # context.groupId
    assert row["channel"] == "email"  # context.campaign.medium
    assert row["campaign_id"] == "TPS Innovation Newsletter"


def test_timestamp_precedence_follows_segment() -> None:
    both = {
        "timestamp": "2024-01-01T00:00:10Z",
        "originalTimestamp": "2024-01-01T00:00:00Z",
        "sentAt": "2024-01-01T00:00:05Z",
        "receivedAt": "2024-01-01T00:01:00Z",
    }
    assert occurred_at(both) == ("2024-01-01T00:00:10+00:00", "timestamp")
    no_ts = {k: v for k, v in both.items() if k != "timestamp"}
    # the device clock is 55 s behind: receivedAt − (sentAt − originalTimestamp)
    assert occurred_at(no_ts) == (
        "2024-01-01T00:00:55+00:00",
        "receivedAt-(sentAt-originalTimestamp)",
    )
    only_original = {"originalTimestamp": both["originalTimestamp"], "sentAt": both["sentAt"]}
    assert occurred_at(only_original)[1] == "originalTimestamp"
    assert occurred_at({"receivedAt": both["receivedAt"], "sentAt": both["sentAt"]})[1] == (
        "receivedAt"
    )
    with pytest.raises(Rejection):
        occurred_at({"sentAt": both["sentAt"]})  # sentAt alone carries the skew: never used


def test_event_names_compare_without_case_or_spacing() -> None:
    segment = SegmentMessages({}, all_event_types())
    message = {
        "type": "track",
        "event": "form_submitted",
        "userId": "u1",
        "timestamp": "2024-01-01T00:00:00Z",
    }
    assert segment.event(message)["event_type"] == "form_submitted"
    assert (
        segment.event({**message, "event": "  FORM   Submitted "})["event_type"] == "form_submitted"
    )
    assert (
        segment.event({**message, "event": "Order Completed", "properties": {"revenue": 99}})[
            "amount"
        ]
        == 99
    )
