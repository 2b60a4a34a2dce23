"""Injected noise: blocked placeholder identifiers, exact duplicate lines, malformed lines.

Each malformed line breaks exactly one rule of the row contract, so its expected
quarantine reason code is unambiguous; duplicates repeat a valid line byte for byte,
sometimes in a later month's file (a redelivery).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from journeyline.generate import catalog as cat
from journeyline.generate.clock import DAY, iso, month_key
from journeyline.generate.events import Event, dumps
from journeyline.schema import EVENT_TYPES

DUPLICATE = "duplicate"
QUARANTINED = "quarantined"

# Expected reason code -> the kinds of broken line that produce it.
MALFORMED_KINDS: dict[str, tuple[str, ...]] = {
    "malformed_json": ("truncated_json", "garbage_text", "concatenated_objects"),
    "not_an_object": ("json_array", "json_number", "json_string"),
    "missing_required_field": ("missing_occurred_at", "missing_event_type", "missing_identifiers"),
    "invalid_field_type": ("score_as_object", "amount_as_list", "identifiers_as_list"),
    "unknown_event_type": ("unknown_event_type", "event_type_of_other_stream"),
    "invalid_timestamp": ("unparseable_occurred_at",),
    "future_timestamp": ("occurred_after_received",),
    "no_valid_identifier": ("empty_identifiers", "blocked_identifiers_only"),
    "invalid_survey_score": ("survey_score_out_of_range",),
}
REASON_CODES: tuple[str, ...] = tuple(MALFORMED_KINDS)

_GARBAGE: tuple[str, ...] = (
    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "ERROR upstream timed out while reading response header",
    "event_id={id};type=page_viewed;ts=2025-01-01T00:00:00Z",
    "{id},web,marketing,page_viewed,2025-02-30 10:00:00",
    "Traceback (most recent call last): KeyError: 'occurred_at'",
)
_UNKNOWN_TYPES: dict[str, tuple[str, ...]] = {
    "marketing": ("page_view", "email_bounced", "Form Submitted", "ad_impression"),
    "sales": ("deal_closed", "call_logged", "opportunity_updated"),
    "service": ("ticket_closed", "chat_started", "csat_received"),
}
_BAD_TIMESTAMPS: tuple[str, ...] = (
    "yesterday",
    "31/02/2025 10:00",
    "2025-13-01T00:00:00Z",
    "not a date",
    "1699999999999x",
)
_BAD_SURVEYS: tuple[tuple[str, int], ...] = (("nps", 14), ("nps", -1), ("csat", 0), ("ces", 9))


@dataclass(frozen=True)
class NoiseLine:
    """One injected line: where it goes (stream, month file), its text and what must happen."""

    stream: str
    month: str
    text: bytes
    kind: str
    expected_outcome: str
    expected_reason_code: str | None
    event_id: str | None


def add_blocked_extras(events: list[Event], rng: random.Random, rate: float) -> int:
    """Put a placeholder value (``test@example.com``, ``user_id: "0"`` ...) on ~``rate`` events.

    The value goes under an identifier type the event does not carry yet, so the event
    keeps its real identifiers and stays valid; the placeholder must never link anyone.
    """
    added = 0
    for event in events:
        if rng.random() >= rate:
            continue
        options = [pair for pair in cat.BLOCKED_EXTRAS if pair[0] not in event.identifiers]
        if not options:  # pragma: no cover - no event carries every identifier type
            continue
        id_type, value = rng.choice(options)
        event.identifiers = {**event.identifiers, id_type: value}
        event.blocked_type = id_type
        added += 1
    return added


def duplicates(
    events: list[Event],
    lines: list[bytes],
    rng: random.Random,
    rate: float,
    months: tuple[str, ...],
) -> list[NoiseLine]:
    """Exact copies of ~``rate`` of the valid lines; a third land in a later month's file."""
    count = round(rate * len(events))
    out = []
    for index in sorted(rng.sample(range(len(events)), count)):
        event = events[index]
        month = month_key(event.received)
        later = months[months.index(month) + 1 : months.index(month) + 3]
        redelivered = bool(later) and rng.random() < 0.35
        if redelivered:
            month = rng.choice(later)
        out.append(
            NoiseLine(
                stream=event.stream,
                month=month,
                text=lines[index],
                kind="redelivered_later" if redelivered else "exact_duplicate",
                expected_outcome=DUPLICATE,
                expected_reason_code=None,
                event_id=event.event_id,
            )
        )
    return out


def _broken(
    kind: str, base: Event, event_id: str, rng: random.Random
) -> tuple[bytes, str | None, str]:
    """The text of one broken line derived from ``base``, the event id a reader can still see,
    and the stream whose file it belongs in."""
    obj: dict[str, Any] = base.to_dict(event_id=event_id)
    stream = base.stream
    if kind == "truncated_json":
        text = dumps(obj).decode()
        return text[: rng.randint(10, len(text) - 2)].encode(), None, stream
    if kind == "garbage_text":
        return rng.choice(_GARBAGE).format(id=event_id).encode(), None, stream
    if kind == "concatenated_objects":
        return dumps(obj) + dumps({"event_id": event_id}), None, stream
    if kind == "json_array":
        return dumps([obj]), None, stream
    if kind == "json_number":
        return rng.choice((b"42", b"-1", b"3.14")), None, stream
    if kind == "json_string":
        return dumps(base.event_type), None, stream
    if kind == "missing_occurred_at":
        del obj["occurred_at"]
    elif kind == "missing_event_type":
        del obj["event_type"]
    elif kind == "missing_identifiers":
        del obj["identifiers"]
    elif kind == "score_as_object":
        obj["score"] = {"value": rng.randint(0, 10)}
    elif kind == "amount_as_list":
        obj["amount"] = [rng.randint(1, 99) * 1000]
        obj["currency"] = obj.get("currency") or "USD"
    elif kind == "identifiers_as_list":
        obj["identifiers"] = [[k, v] for k, v in obj["identifiers"].items()]
    elif kind == "unknown_event_type":
        obj["event_type"] = rng.choice(_UNKNOWN_TYPES[stream])
    elif kind == "event_type_of_other_stream":
        other = rng.choice([s for s in EVENT_TYPES if s != stream])
        obj["event_type"] = rng.choice(EVENT_TYPES[other])
    elif kind == "unparseable_occurred_at":
        obj["occurred_at"] = rng.choice(_BAD_TIMESTAMPS)
    elif kind == "occurred_after_received":
        obj["occurred_at"] = iso(base.received + rng.randint(2, 40) * DAY)
    elif kind == "empty_identifiers":
        obj["identifiers"] = {}
    elif kind == "blocked_identifiers_only":
        obj["identifiers"] = dict(rng.choice(cat.BLOCKED_ONLY[1:]))
    elif kind == "survey_score_out_of_range":
        survey_type, score = rng.choice(_BAD_SURVEYS)
        stream = "service"
        obj.update(stream=stream, source="zendesk", event_type="survey_answered")
        obj.pop("amount", None)
        obj.pop("currency", None)
        obj["score"], obj["survey_type"] = score, survey_type
        # keep SPEC key order: move properties last again
        obj["properties"] = obj.pop("properties")
    else:  # pragma: no cover - MALFORMED_KINDS and this function are kept in step
        raise ValueError(kind)
    return dumps(obj), event_id, stream


def malformed(
    events: list[Event],
    rng: random.Random,
    rate: float,
    new_event_id: Any,
) -> list[NoiseLine]:
    """~``rate`` broken lines: one per reason code first, the rest spread like the traffic.

    Each is derived from a random valid event (so it looks real and lands in that event's
    stream and month file) under a fresh event id, and breaks exactly one contract rule.
    Survey scores only break on service events, so every stream's quarantine rate stays
    near ``rate``.
    """
    count = round(rate * len(events))
    service = [e for e in events if e.stream == "service"] or events
    general = tuple(code for code in REASON_CODES if code != "invalid_survey_score")
    out = []
    for n in range(count):
        if n < len(REASON_CODES):
            reason = REASON_CODES[n]
            base = rng.choice(service if reason == "invalid_survey_score" else events)
        else:
            base = rng.choice(events)
            reason = rng.choice(REASON_CODES if base.stream == "service" else general)
        kind = rng.choice(MALFORMED_KINDS[reason])
        text, event_id, stream = _broken(kind, base, new_event_id(), rng)
        out.append(
            NoiseLine(
                stream=stream,
                month=month_key(base.received),
                text=text,
                kind=kind,
                expected_outcome=QUARANTINED,
                expected_reason_code=reason,
                event_id=event_id,
            )
        )
    return out
