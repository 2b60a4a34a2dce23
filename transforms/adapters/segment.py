"""Segment spec messages (identify, track, page, screen, group) → canonical-shaped dicts.

* ``messageId`` is the event id; ``anonymousId``, ``userId``, ``traits.email`` and
  ``traits.phone`` (also under ``context.traits``) are the identifiers;
  ``groupId``/``context.groupId`` is the account.
* Event time follows Segment's own precedence: ``timestamp`` (already corrected
  for the device's clock skew by Segment); else, when all three are there,
  ``receivedAt − (sentAt − originalTimestamp)`` (the same correction); else
  ``originalTimestamp``; else ``receivedAt``. ``properties.segment_timestamp``
  says which rule gave it. ``sentAt`` alone is never used: it carries the skew.
* A track event's name goes through ``event_map`` (defaults below, extended or
  overridden by `segment.event_map` in journeyline.yml; names compare case- and
  space-insensitively). An unmapped name is rejected with ``unmapped_value``
  unless `segment.unmapped` names a (custom) event type for it.
* ``identify``, ``group`` and ``alias`` calls are not journey events: rejected
  with ``unmapped_value`` unless `segment.calls` maps them to an event type.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from transforms.adapters.values import is_empty, show
from transforms.contract import Rejection, parse_timestamp

DEFAULT_EVENT_MAP: dict[str, str] = {
    "Form Submitted": "form_submitted",
    "Signed Up": "form_submitted",
    "Demo Requested": "form_submitted",
    "Content Downloaded": "content_downloaded",
    "Webinar Registered": "webinar_registered",
    "Webinar Attended": "webinar_attended",
    "Email Delivered": "email_sent",
    "Email Sent": "email_sent",
    "Email Opened": "email_opened",
    "Email Link Clicked": "email_clicked",
    "Page Viewed": "page_viewed",
    "Ad Clicked": "ad_clicked",
    "Order Completed": "deal_won",
}
CALLS = ("identify", "track", "page", "screen", "group", "alias")
DEFAULT_CALLS: dict[str, str] = {"page": "page_viewed", "screen": "page_viewed"}
_MEDIUM_CHANNELS = {
    "email": "email",
    "cpc": "paid_search",
    "ppc": "paid_search",
    "paid_search": "paid_search",
    "paid_social": "paid_social",
    "paidsocial": "paid_social",
    "social": "social",
    "organic": "organic_search",
    "referral": "referral",
}


def event_key(name: str) -> str:
    """How track event names are compared: case-, space- and underscore-insensitive."""
    return re.sub(r"[\s_\-]+", " ", name).strip().casefold()


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _first(*values: Any) -> Any:
    return next((v for v in values if not is_empty(v)), None)


class SegmentMessages:
    """Maps Segment messages of one configured source; options from `segment:` in the config."""

    def __init__(self, options: dict[str, Any], vocab: dict[str, frozenset[str]]) -> None:
        mapping = {**DEFAULT_EVENT_MAP, **options.get("event_map", {})}
        self.event_map = {event_key(k): v for k, v in mapping.items()}
        self.calls = {**DEFAULT_CALLS, "track": "", **options.get("calls", {})}
        self.unmapped = options.get("unmapped", "reject")
        streams = {t: s for s, types in vocab.items() for t in types}
        self.streams = {**streams, **options.get("streams", {})}

    def event(self, message: Any) -> dict[str, Any] | Rejection:
        """The canonical-shaped dict of one message, or why it cannot be one."""
        if not isinstance(message, dict):
            return Rejection(
                "not_an_object", f"a Segment message is an object, got {type(message).__name__}"
            )
        try:
            return self._event(message)
        except Rejection as rejection:
            return rejection

    def _event_type(self, message: dict[str, Any], call: str) -> str:
        if call == "track":
            name = message.get("event")
            if is_empty(name):
                raise Rejection("missing_required_field", "a track call needs an event name")
            if not isinstance(name, str):
                raise Rejection("invalid_field_type", f"event must be a text, got {show(name)}")
            mapped = self.event_map.get(event_key(name))
            if mapped is None and self.unmapped != "reject":
                mapped = self.unmapped
            if mapped is None:
                raise Rejection(
                    "unmapped_value",
                    f"Segment track event {show(name)} is not in segment.event_map",
                )
            return mapped
        mapped = self.calls.get(call, "reject")
        if mapped == "reject":
            raise Rejection(
                "unmapped_value",
                f"a Segment {call} call is not a journey event; map it with segment.calls.{call}",
            )
        return mapped

    def _event(self, message: dict[str, Any]) -> dict[str, Any]:
        call = message.get("type")
        if not isinstance(call, str) or call not in CALLS:
            raise Rejection(
                "invalid_field_type", f"type must be one of {', '.join(CALLS)}, got {show(call)}"
            )
        event_type = self._event_type(message, call)
        occurred, rule = occurred_at(message)
        context = message.get("context") if isinstance(message.get("context"), dict) else {}
        traits = _first(_get(message, "traits"), _get(context, "traits")) or {}
        props = message.get("properties") if isinstance(message.get("properties"), dict) else {}
        medium = _get(context, "campaign", "medium")
        channel = _MEDIUM_CHANNELS.get(str(medium).strip().lower()) if medium else None
        if channel is None and (call == "page" or _get(context, "page") is not None):
            channel = "web"
        obj: dict[str, Any] = {
            "event_id": message.get("messageId"),
            "event_type": event_type,
            "stream": self.streams.get(event_type),
            "occurred_at": occurred,
            "identifiers": {
                "anonymous_id": message.get("anonymousId"),
                "user_id": message.get("userId"),
                "email": _first(_get(traits, "email"), props.get("email")),
                "phone": _first(_get(traits, "phone"), props.get("phone")),
            },
            "account_id": _first(message.get("groupId"), context.get("groupId")),
            "channel": channel,
            "campaign_id": _get(context, "campaign", "name"),
            "amount": _first(props.get("revenue"), props.get("total"), props.get("value")),
            "currency": props.get("currency"),
            "properties": {
                "segment_type": call,
                "segment_timestamp": rule,
                **({"event": message["event"]} if call == "track" else {}),
                **({"name": message["name"]} if not is_empty(message.get("name")) else {}),
                **({"traits": traits} if traits else {}),
                **({"properties": props} if props else {}),
                **({"context": context} if context else {}),
            },
        }
        obj["identifiers"] = {k: v for k, v in obj["identifiers"].items() if not is_empty(v)}
        return {k: v for k, v in obj.items() if v is not None}


def occurred_at(message: dict[str, Any]) -> tuple[str, str]:
    """The event time by Segment's precedence, as ISO text, and the rule that gave it."""
    stamps: dict[str, datetime] = {}
    for key in ("timestamp", "originalTimestamp", "sentAt", "receivedAt"):
        if not is_empty(message.get(key)):
            stamps[key] = parse_timestamp(message[key], key)
    if "timestamp" in stamps:
        return stamps["timestamp"].isoformat(), "timestamp"
    if {"originalTimestamp", "sentAt", "receivedAt"} <= stamps.keys():
        try:
            corrected = stamps["receivedAt"] - (stamps["sentAt"] - stamps["originalTimestamp"])
        except OverflowError:
            raise Rejection("invalid_timestamp", "the clock-skew correction overflows") from None
        return corrected.isoformat(), "receivedAt-(sentAt-originalTimestamp)"
    for key in ("originalTimestamp", "receivedAt"):
        if key in stamps:
            return stamps[key].isoformat(), key
    raise Rejection(
        "missing_required_field",
        "no timestamp, originalTimestamp or receivedAt: the event time is unknown",
    )
