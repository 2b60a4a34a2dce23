"""Timestamps as integer milliseconds since the epoch, and their ISO-8601 text.

Integers keep the journey arithmetic fast and exact; text is produced only when a line
is written, always in UTC with a ``Z`` suffix and millisecond precision.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def date_to_ms(day: date) -> int:
    """Midnight UTC of ``day`` in milliseconds since the epoch."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * SECOND


_DAY_TEXT: dict[int, tuple[str, str]] = {}  # day number -> ("YYYY-MM-DDT", "YYYY-MM")


def _day(day: int) -> tuple[str, str]:
    """The cached (date prefix, month) texts of a day number; days repeat ~10^5 times."""
    text = _DAY_TEXT.get(day)
    if text is None:
        t = time.gmtime(day * 86400)
        month = f"{t.tm_year:04d}-{t.tm_mon:02d}"
        text = _DAY_TEXT[day] = (f"{month}-{t.tm_mday:02d}T", month)
    return text


def iso(ms: int) -> str:
    """ISO-8601 UTC text such as ``2025-03-04T10:11:12.123Z``."""
    day, rest = divmod(ms, DAY)
    seconds, milli = divmod(rest, SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{_day(day)[0]}{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}Z"


def month_key(ms: int) -> str:
    """The ``YYYY-MM`` month (UTC) an instant falls in; it names the landing file."""
    return _day(ms // DAY)[1]


def months_between(start_ms: int, end_ms: int) -> tuple[str, ...]:
    """Every ``YYYY-MM`` month touched by the half-open interval [start_ms, end_ms)."""
    first = time.gmtime(start_ms // SECOND)
    last = time.gmtime((end_ms - 1) // SECOND)
    year, month = first.tm_year, first.tm_mon
    months: list[str] = []
    while (year, month) <= (last.tm_year, last.tm_mon):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)
