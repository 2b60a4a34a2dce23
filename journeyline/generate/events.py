"""The generated event record and its canonical JSON line (SPEC section 2).

One mutable record per event keeps the truth (person, lateness, blocked extras) next to
the fields that are written, so a line and its ground truth can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from journeyline.generate.clock import iso


@dataclass(slots=True)
class Event:
    """One valid event as the generator knows it: canonical fields plus truth."""

    person_id: str
    event_id: str
    source: str
    stream: str
    event_type: str
    occurred: int
    received: int
    identifiers: dict[str, str]
    account_id: str | None = None
    channel: str | None = None
    campaign_id: str | None = None
    message_theme: str | None = None
    amount_cents: int | None = None
    currency: str | None = None
    score: int | None = None
    survey_type: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    blocked_type: str | None = None

    @property
    def amount(self) -> float | None:
        """The deal or order value in currency units (two decimals)."""
        return None if self.amount_cents is None else self.amount_cents / 100

    def to_dict(self, event_id: str | None = None) -> dict[str, Any]:
        """The canonical JSON object, keys in SPEC order; fields that do not apply are left out."""
        obj: dict[str, Any] = {
            "event_id": event_id or self.event_id,
            "source": self.source,
            "stream": self.stream,
            "event_type": self.event_type,
            "occurred_at": iso(self.occurred),
            "received_at": iso(self.received),
            "identifiers": self.identifiers,
            "account_id": self.account_id,
        }
        if self.channel is not None:
            obj["channel"] = self.channel
        if self.campaign_id is not None:
            obj["campaign_id"] = self.campaign_id
        if self.message_theme is not None:
            obj["message_theme"] = self.message_theme
        if self.amount_cents is not None:
            obj["amount"] = self.amount
            obj["currency"] = self.currency
        if self.score is not None:
            obj["score"] = self.score
        if self.survey_type is not None:
            obj["survey_type"] = self.survey_type
        obj["properties"] = self.properties
        return obj


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON text of ``obj`` (no newline), identical for identical input."""
    return orjson.dumps(obj)
