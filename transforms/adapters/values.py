"""Reading one value out of a source row: columns, constants, templates, value maps, timestamps.

Plain functions over a validated value spec (see `journeyline/config/mapping.py`)
and a row dict. A problem with the row raises ``Rejection`` with a reason code;
``SKIP`` tells the caller that the configuration says this event does not exist.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from journeyline.config.mapping import TEMPLATE_FIELD
from transforms.contract import Rejection


class _Skip:
    """The configuration says: this value means no event (a value map's `otherwise: skip`)."""

    def __repr__(self) -> str:
        return "SKIP"


SKIP = _Skip()
_FALLBACK_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SHOWN = 60


def show(value: Any) -> str:
    """A short repr of a value for a rejection reason."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def lookup(row: dict[str, Any], column: str) -> Any:
    """A column's value: the exact key, else a dotted path into nested objects."""
    if column in row:
        return row[column]
    if "." not in column:
        return None
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def is_empty(value: Any) -> bool:
    """None, an empty or blank text: a value that is not there."""
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: Any) -> str:
    """Text for templates, maps and conditions (true/false for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    return str(value)


def resolve(spec: dict[str, Any], row: dict[str, Any], field: str) -> Any:
    """The value a spec gives for ``row`` (None when empty), or SKIP."""
    if "column" in spec:
        value = lookup(row, spec["column"])
    elif "value" in spec:
        value = spec["value"]
    elif "template" in spec:
        value = _template(spec["template"], row)
    else:
        value = None
        for part in spec["first_of"]:
            value = resolve(part, row, field)
            if value is SKIP or not is_empty(value):
                break
    if value is SKIP:
        return SKIP
    if is_empty(value):
        value = spec.get("default")
        if value is None:
            return None
    if "map" in spec:
        value = _mapped(spec, value, field)
        if value is SKIP or value is None:
            return value
    if spec.get("lower") and isinstance(value, str):
        value = value.lower()
    if field == "occurred_at" or "format" in spec:
        value = to_timestamp(value, spec.get("format"), spec.get("timezone") or "UTC", field)
    return value


def _template(template: str, row: dict[str, Any]) -> str | None:
    parts: dict[str, str] = {}
    for name in TEMPLATE_FIELD.findall(template):
        value = lookup(row, name)
        if is_empty(value) or isinstance(value, dict | list):
            return None
        parts[name] = as_text(value)
    return TEMPLATE_FIELD.sub(lambda m: parts[m.group(1)], template)


def _mapped(spec: dict[str, Any], value: Any, field: str) -> Any:
    table: dict[str, str] = spec["map"]
    if isinstance(value, dict | list):
        raise Rejection("invalid_field_type", f"{field} must be a text, got {show(value)}")
    key = as_text(value)
    if key in table:
        return table[key]
    folded = _folded(tuple(table.items())).get(key.casefold())
    if folded is not None:
        return folded
    otherwise = spec.get("otherwise", "reject")
    if otherwise == "keep":
        return key
    if otherwise == "skip":
        return SKIP
    if otherwise != "reject":
        return otherwise
    where = f"column {spec['column']!r}" if "column" in spec else "the value"
    raise Rejection(
        "unmapped_value",
        f"{field}: {where} is {show(key)}, which has no entry in the map "
        f"(known: {', '.join(sorted(table))[:200]})",
    )


@lru_cache(maxsize=256)
def _folded(items: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {k.casefold(): v for k, v in items}


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def to_timestamp(value: Any, fmt: str | None, zone: str, field: str) -> str:
    """An ISO-8601 UTC text from a datetime, a text (ISO or ``fmt``) or an epoch number."""
    try:
        parsed = _parse_time(value, fmt, field)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_zone(zone))
        return parsed.astimezone(UTC).isoformat()
    except (OverflowError, OSError) as exc:
        raise Rejection(
            "invalid_timestamp", f"{field} {show(value)} is out of range ({exc})"
        ) from None


def _parse_time(value: Any, fmt: str | None, field: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if fmt in ("epoch_s", "epoch_ms"):
        try:
            number = float(Decimal(as_text(value)))
        except (ArithmeticError, ValueError):
            raise Rejection(
                "invalid_timestamp", f"{field} {show(value)} is not a number of {fmt}"
            ) from None
        if number != number or abs(number) > 1e15:
            raise Rejection("invalid_timestamp", f"{field} {show(value)} is out of range")
        seconds = number / 1000 if fmt == "epoch_ms" else number
        return _EPOCH + timedelta(seconds=seconds)
    if isinstance(value, bool) or not isinstance(value, str):
        raise Rejection(
            "invalid_field_type", f"{field} must be a date and time text, got {show(value)}"
        )
    text = value.strip()
    if fmt:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            raise Rejection(
                "invalid_timestamp", f"{field} {show(value)} does not match the format {fmt!r}"
            ) from None
    try:
        return datetime.fromisoformat(re.sub(r"Z$", "+00:00", text))
    except ValueError:
        pass
    for candidate in _FALLBACK_FORMATS:
        try:
            return datetime.strptime(text, candidate)
        except ValueError:
            continue
    raise Rejection(
        "invalid_timestamp", f"{field} {show(value)} is not ISO-8601; set a format in the mapping"
    )
