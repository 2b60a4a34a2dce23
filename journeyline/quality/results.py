"""The outcome of one quality check, and the ``dq_results`` row format (SPEC §6, §8).

A ``CheckResult`` is what the gate hands to the orchestrator: enough to decide
whether to publish (``blocks_publish``), to print one clear line per failure
(``message()``) and to append a row to ``dq_results`` (``to_arrow``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from journeyline.schema import DQ_RESULTS_SCHEMA

SEVERITIES: tuple[str, ...] = ("error", "warn")
STATUSES: tuple[str, ...] = ("pass", "fail", "error")
MAX_SAMPLES = 10

_MARKS = {"pass": "✓", "fail": "✗", "error": "⚠"}


@dataclass(frozen=True)
class CheckResult:
    """One check on one table in one run.

    ``status`` is ``pass`` or ``fail`` when the check ran, ``error`` when it could
    not run at all (missing table, failed query); an error counts as a failure
    for publishing, so a broken check never lets bad data through silently.
    """

    run_id: str
    check_name: str
    target: str
    severity: str
    status: str
    observed_value: float | None
    threshold: str
    details: str
    samples: tuple[dict[str, Any], ...] = field(default=(), hash=False)
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")
        if self.checked_at.tzinfo is None:
            raise ValueError("checked_at must be timezone-aware (UTC)")

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def blocks_publish(self) -> bool:
        """True when this result must stop the publish step (SPEC §8: severity error)."""
        return self.severity == "error" and self.status != "pass"

    def message(self) -> str:
        """One line: mark, check, target, what was found, observed vs threshold, severity."""
        observed = "n/a" if self.observed_value is None else format_number(self.observed_value)
        return (
            f"{_MARKS[self.status]} {self.check_name} on {self.target}: {self.details} "
            f"(observed {observed}, threshold {self.threshold}) [{self.severity}]"
        )


def format_number(value: float) -> str:
    """Integers without decimals, fractions with up to four significant digits."""
    if math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


def to_arrow(results: Iterable[CheckResult]) -> pa.Table:
    """The ``dq_results`` rows for ``results`` (the orchestrator writes them to Parquet)."""
    rows = list(results)
    columns: dict[str, list[Any]] = {name: [] for name in DQ_RESULTS_SCHEMA.names}
    for r in rows:
        columns["run_id"].append(r.run_id)
        columns["check_name"].append(r.check_name)
        columns["target"].append(r.target)
        columns["severity"].append(r.severity)
        columns["status"].append(r.status)
        columns["observed_value"].append(r.observed_value)
        columns["threshold"].append(r.threshold)
        columns["details"].append(r.details)
        columns["samples"].append(
            orjson.dumps(list(r.samples), default=str).decode() if r.samples else None
        )
        columns["checked_at"].append(r.checked_at.astimezone(UTC))
    return pa.Table.from_pydict(columns, schema=DQ_RESULTS_SCHEMA)
