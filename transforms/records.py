"""What the readers hand to the shared row contract: files to read and records read from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InputFile:
    """One file of one configured source, as listed when the pipeline was built.

    ``table`` names the built-in connector table the file holds ("" for other formats).
    """

    source: str
    path: str
    size: int
    mtime: float
    table: str = ""


@dataclass(frozen=True)
class RawRecord:
    """One input record: its text (for quarantine), where it was, and what it parsed to.

    ``value`` is a canonical-shaped dict or a ``Rejection``. ``rows`` is how many source
    rows this record starts: 1 for the first candidate event of a row, 0 for the further
    events the same row fans out into, so source rows are counted apart from records.
    """

    raw: str
    location: str
    value: Any
    rows: int = 1


class SkippedRow:
    """The value of a record for a source row the configuration filters out (``where``)."""

    def __repr__(self) -> str:
        return "SKIPPED_ROW"


SKIPPED_ROW = SkippedRow()
