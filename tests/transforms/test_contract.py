"""The row contract: a record is accepted in canonical shape or rejected with a code."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from journeyline.config import SourceConfig, default_config
from journeyline.config.model import PrivacyConfig
from transforms.contract import REASON_CODES, Accepted, Rejection, RowContract, to_micros

RECEIVED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def contract(stream: str | None = "sales") -> RowContract:
    source = SourceConfig(name="crm", format="canonical", location="/x", stream=stream)
    # The shape of accepted rows, on clear identifiers; hashing is tested in tests/privacy.
    return RowContract(replace(default_config(), privacy=PrivacyConfig(enabled=False)), source)


def good(**overrides: Any) -> dict[str, Any]:
    record = {
        "event_id": "e1",
        "source": "salesforce",
        "stream": "sales",
        "event_type": "deal_won",
        "occurred_at": "2025-05-01T10:00:00Z",
        "received_at": "2025-05-01T10:00:05Z",
        "identifiers": {"contact_id": "C1", "email": " A@B.co "},
        "account_id": "acc_1",
        "amount": 1200.5,
        "currency": "EUR",
        "properties": {"b": 1, "a": [1, 2]},
    }
    record.update(overrides)
    return record


def test_a_good_record_is_accepted_in_canonical_shape() -> None:
    outcome = contract().check(good(), RECEIVED)
    assert isinstance(outcome, Accepted)
    row = outcome.row
    assert row["event_id"] == "e1"
    assert row["identifiers"] == [("contact_id", "C1"), ("email", "a@b.co")]
    assert row["occurred_at"] == to_micros(datetime(2025, 5, 1, 10, tzinfo=UTC))
    assert row["amount"] == Decimal("1200.50")
    assert row["properties"] == '{"a":[1,2],"b":1}'
    assert row["stream"] == "sales"


def test_missing_received_at_uses_the_file_time_and_missing_source_the_source_name() -> None:
    record = good()
    del record["received_at"], record["source"], record["stream"]
    outcome = contract().check(record, RECEIVED)
    assert isinstance(outcome, Accepted)
    assert outcome.row["received_at"] == to_micros(RECEIVED)
    assert outcome.row["source"] == "crm"
    assert outcome.row["stream"] == "sales"


def test_missing_event_id_is_derived_deterministically() -> None:
    record = good()
    del record["event_id"]
    first = contract().check(dict(record), RECEIVED)
    second = contract().check(dict(record), RECEIVED)
    assert isinstance(first, Accepted) and isinstance(second, Accepted)
    assert first.row["event_id"] == second.row["event_id"]
    assert first.row["event_id"].startswith("salesforce_")


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ([1, 2], "not_an_object"),
        (good(event_type="teleported"), "unknown_event_type"),
        (good(stream="finance"), "unknown_stream"),
        (good(occurred_at=None), "missing_required_field"),
        (good(occurred_at="yesterday"), "invalid_timestamp"),
        (good(occurred_at=20250101), "invalid_field_type"),
        (good(occurred_at="2025-05-10T10:00:00Z"), "future_timestamp"),
        (good(occurred_at="1990-01-01T00:00:00Z"), "ancient_timestamp"),
        (good(identifiers={}), "no_valid_identifier"),
        (good(identifiers={"email": "test@example.com"}), "no_valid_identifier"),
        (good(identifiers="C1"), "invalid_field_type"),
        (
            good(event_type="survey_answered", stream="service", survey_type="nps", score=14),
            "invalid_survey_score",
        ),
        (
            good(event_type="survey_answered", stream="service", survey_type="nps"),
            "invalid_survey_score",
        ),
        (good(score={"x": 1}), "invalid_field_type"),
        (good(amount="lots"), "invalid_field_type"),
        (good(amount=float("inf")), "invalid_field_type"),
        (good(properties=[1]), "invalid_field_type"),
        (good(channel="x" * 5000), "invalid_field_type"),
    ],
)
def test_bad_records_are_rejected_with_a_reason_code(record: Any, code: str) -> None:
    outcome = contract().check(record, RECEIVED)
    assert isinstance(outcome, Rejection), outcome
    assert outcome.code == code
    assert outcome.code in REASON_CODES
    assert outcome.reason


def test_custom_event_types_extend_the_vocabulary() -> None:
    from dataclasses import replace

    config = default_config()
    config = replace(
        config, contract=replace(config.contract, custom_event_types={"sales": ("quote_signed",)})
    )
    source = SourceConfig(name="crm", format="canonical", location="/x", stream="sales")
    outcome = RowContract(config, source).check(good(event_type="quote_signed"), RECEIVED)
    assert isinstance(outcome, Accepted)
