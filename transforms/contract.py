"""The row contract (SPEC §8.1): a canonical-shaped dict either becomes an event or a rejection.

Every adapter produces canonical-shaped dicts and hands them to ``RowContract``,
so types, required fields, vocabulary, timestamp sanity and identifier formats
are checked in exactly one place. A rejection carries a reason code (stable,
machine-readable) and a reason (human-readable, names the field and the value).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from journeyline.config import Config, SourceConfig
from journeyline.privacy import hasher_for
from journeyline.schema import STREAMS, SURVEY_RANGES, all_event_types
from transforms.identifiers import IdentifierRules

REASON_CODES: dict[str, str] = {
    "malformed_json": "the input is not valid JSON (or not UTF-8)",
    "not_an_object": "the input is valid JSON but not an object",
    "malformed_row": "a source row cannot be read (not UTF-8, wrong number of CSV fields)",
    "unmapped_value": "a source value (e.g. an event name or status) has no entry in its map",
    "oversized_record": "the input is larger than contract.max_raw_bytes",
    "missing_required_field": "a required field is missing or empty",
    "invalid_field_type": "a field has the wrong type or an impossible value",
    "unknown_stream": "the stream is not marketing, sales or service",
    "unknown_event_type": "the event type is not in the vocabulary of its stream",
    "invalid_timestamp": "a timestamp cannot be read as ISO-8601",
    "future_timestamp": "occurred_at is after received_at by more than the tolerance",
    "ancient_timestamp": "occurred_at is before contract.earliest_occurred_at",
    "no_valid_identifier": "no identifier is left after normalisation and blocking",
    "invalid_survey_score": "the survey score is outside the range of its survey type",
    "suppressed": "the person asked to be forgotten; re-ingestion is suppressed",
}

_STRING_FIELDS = ("account_id", "channel", "campaign_id", "message_theme", "currency")
_MAX_TEXT = 1024
_AMOUNT_LIMIT = Decimal("1e16")
_CENT = Decimal("0.01")


class Rejection(Exception):
    """A record that breaks the contract; raised inside checks, caught by ``RowContract``."""

    def __init__(self, code: str, reason: str) -> None:
        assert code in REASON_CODES, code
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Accepted:
    """A record that passed the contract, in canonical shape (timestamps as µs since epoch)."""

    row: dict[str, Any]
    identifiers_dropped: int


def parse_timestamp(value: Any, field: str) -> datetime:
    """An aware UTC datetime from an ISO-8601 string (naive values are read as UTC)."""
    if not isinstance(value, str):
        raise Rejection(
            "invalid_field_type", f"{field} must be an ISO-8601 text, got {_show(value)}"
        )
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Rejection("invalid_timestamp", f"{field} {_show(value)} is not ISO-8601") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_micros(ts: datetime) -> int:
    """Microseconds since the Unix epoch for an aware datetime."""
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(obj: dict[str, Any], field: str, *, required: bool = False) -> str | None:
    value = obj.get(field)
    if value is None or value == "":
        if required:
            raise Rejection("missing_required_field", f"{field} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Rejection("invalid_field_type", f"{field} must be a text, got {_show(value)}")
    text = str(value).strip()
    if len(text) > _MAX_TEXT:
        raise Rejection("invalid_field_type", f"{field} is longer than {_MAX_TEXT} characters")
    if not text and required:
        raise Rejection("missing_required_field", f"{field} is empty")
    return text or None


def _number(obj: dict[str, Any], field: str) -> float | None:
    value = obj.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Rejection("invalid_field_type", f"{field} must be a number, got {_show(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Rejection(
            "invalid_field_type", f"{field} must be a number, got {_show(value)}"
        ) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise Rejection("invalid_field_type", f"{field} must be a finite number")
    return number


def _amount(obj: dict[str, Any]) -> Decimal | None:
    value = obj.get("amount")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Rejection("invalid_field_type", f"amount must be a number, got {_show(value)}")
    try:
        amount = Decimal(str(value)).quantize(_CENT)
    except (InvalidOperation, ValueError):
        raise Rejection(
            "invalid_field_type", f"amount must be a number, got {_show(value)}"
        ) from None
    if not amount.is_finite() or abs(amount) >= _AMOUNT_LIMIT:
        raise Rejection("invalid_field_type", f"amount {_show(value)} is out of range")
    return amount


def properties_bytes(properties: dict[str, Any] | None) -> bytes | None:
    """Properties as UTF-8 JSON with sorted keys (None when there are none), before redaction."""
    return orjson.dumps(properties, option=orjson.OPT_SORT_KEYS) if properties else None


def properties_json(properties: dict[str, Any] | None) -> str | None:
    """``properties_bytes`` as text (what the per-row contract stores)."""
    data = properties_bytes(properties)
    return None if data is None else data.decode()


class RowContract:
    """Checks canonical-shaped dicts from one configured source against the contract."""

    def __init__(self, config: Config, source: SourceConfig) -> None:
        self.source = source
        self.vocab = all_event_types(dict(config.contract.custom_event_types))
        self.tolerance = timedelta(hours=config.contract.future_tolerance_hours)
        self.earliest = config.contract.earliest_occurred_at
        self.hasher = hasher_for(config.privacy)
        self.suppressed = config.privacy.suppressed
        self.identifiers = IdentifierRules(config.identity, self.hasher)

    def properties_text(self, properties: dict[str, Any] | None) -> str | None:
        """Properties as sorted JSON; with privacy on, e-mails and phones in them redacted."""
        text = properties_json(properties)
        if self.hasher is None or text is None:
            return text
        return self.hasher.redact_own_json(text)

    def check(self, obj: Any, received_fallback: datetime) -> Accepted | Rejection:
        """Return the accepted canonical row, or the reason it was rejected."""
        try:
            return self._check(obj, received_fallback)
        except Rejection as rejection:
            return rejection

    def _check(self, obj: Any, received_fallback: datetime) -> Accepted:
        if not isinstance(obj, dict):
            raise Rejection("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
        stream = _text(obj, "stream") or self.source.stream
        if stream is None:
            raise Rejection("missing_required_field", "stream is missing")
        if stream not in STREAMS:
            raise Rejection("unknown_stream", f"stream {_show(stream)} is not one of {STREAMS}")
        event_type = _text(obj, "event_type", required=True)
        if event_type not in self.vocab.get(stream, ()):
            raise Rejection(
                "unknown_event_type", f"event_type {_show(event_type)} is not a {stream} event"
            )
        if obj.get("occurred_at") in (None, ""):
            raise Rejection("missing_required_field", "occurred_at is missing")
        occurred = parse_timestamp(obj["occurred_at"], "occurred_at")
        received_raw = obj.get("received_at")
        received = (
            received_fallback
            if received_raw in (None, "")
            else parse_timestamp(received_raw, "received_at")
        )
        if occurred > received + self.tolerance:
            raise Rejection(
                "future_timestamp",
                f"occurred_at {occurred.isoformat()} is after received_at {received.isoformat()}"
                f" by more than {self.tolerance}",
            )
        if occurred < self.earliest:
            raise Rejection("ancient_timestamp", f"occurred_at {occurred.isoformat()} is too old")

        raw_ids = obj.get("identifiers")
        if raw_ids is None:
            raise Rejection("missing_required_field", "identifiers is missing")
        if not isinstance(raw_ids, dict):
            raise Rejection(
                "invalid_field_type", f"identifiers must be an object, got {_show(raw_ids)}"
            )
        ids = self.identifiers.normalise(raw_ids)
        if not ids.values:
            raise Rejection(
                "no_valid_identifier",
                f"no usable identifier in {_show(raw_ids)} ({ids.invalid} invalid, "
                f"{ids.blocked} blocked)",
            )
        if self.suppressed and self.hasher is not None:
            for id_type, value in ids.values:
                if self.hasher.suppression(id_type, value) in self.suppressed:
                    raise Rejection(
                        "suppressed",
                        f"the person behind this event's {id_type} asked to be forgotten",
                    )

        score = _number(obj, "score")
        survey_type = _text(obj, "survey_type")
        if survey_type is not None:
            survey_type = survey_type.lower()
            if survey_type not in SURVEY_RANGES:
                raise Rejection(
                    "invalid_field_type", f"survey_type {_show(survey_type)} is unknown"
                )
            low, high = SURVEY_RANGES[survey_type]
            if score is None or not low <= score <= high:
                raise Rejection(
                    "invalid_survey_score",
                    f"{survey_type} score {_show(obj.get('score'))} is outside {low:g}–{high:g}",
                )

        properties = obj.get("properties")
        if properties is not None and not isinstance(properties, dict):
            raise Rejection(
                "invalid_field_type", f"properties must be an object, got {_show(properties)}"
            )

        source = _text(obj, "source") or self.source.name
        event_id = _text(obj, "event_id")
        if event_id is None:
            event_id = derived_event_id(source, obj)
        row = {
            "event_id": event_id,
            "source": source,
            "stream": stream,
            "event_type": event_type,
            "occurred_at": to_micros(occurred),
            "received_at": to_micros(received),
            "identifiers": list(ids.values),
            "amount": _amount(obj),
            "score": score,
            "survey_type": survey_type,
            "properties": self.properties_text(properties),
        }
        for field in _STRING_FIELDS:
            row[field] = _text(obj, field)
        return Accepted(row=row, identifiers_dropped=ids.dropped)


def derived_event_id(source: str, obj: dict[str, Any]) -> str:
    """A deterministic event id from the source and the record's content (SPEC §2)."""
    payload = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS, default=str)
    digest = hashlib.blake2b(source.encode() + b"\x1f" + payload, digest_size=12).hexdigest()
    return f"{source}_{digest}"
