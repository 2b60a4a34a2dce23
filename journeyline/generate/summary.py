"""What ``generate`` produced: paths and counts per stream, as data and as a short report.

Counts satisfy the reconciliation the pipeline must reproduce: per stream, lines written
= valid events + duplicates injected + malformed lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StreamSummary:
    """Counts for one stream (marketing, sales or service)."""

    stream: str
    files: tuple[str, ...]
    lines: int
    valid_events: int
    duplicates: int
    malformed: dict[str, int] = field(default_factory=dict)
    late_events: int = 0
    blocked_extras: int = 0

    @property
    def malformed_total(self) -> int:
        """Lines the pipeline must quarantine."""
        return sum(self.malformed.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts (file paths relative to the output folder)."""
        return {
            "files": list(self.files),
            "lines": self.lines,
            "valid_events": self.valid_events,
            "duplicates": self.duplicates,
            "malformed": dict(self.malformed),
            "malformed_total": self.malformed_total,
            "late_events": self.late_events,
            "blocked_extras": self.blocked_extras,
        }


@dataclass(frozen=True)
class GenerateSummary:
    """The result of one ``generate`` call: where files are and what they hold."""

    out: Path
    profile: str
    seed: int
    start: date
    days: int
    people: int
    accounts: int
    identified_people: int
    customers: int
    advocates: int
    streams: tuple[StreamSummary, ...]
    truth: dict[str, Path] = field(default_factory=dict)

    @property
    def files(self) -> tuple[Path, ...]:
        """Every landing file (absolute), stream by stream, month by month."""
        return tuple(self.out / f for s in self.streams for f in s.files)

    @property
    def lines(self) -> int:
        """All lines written to landing files."""
        return sum(s.lines for s in self.streams)

    @property
    def valid_events(self) -> int:
        """Distinct valid events the pipeline should accept."""
        return sum(s.valid_events for s in self.streams)

    @property
    def duplicates(self) -> int:
        """Exact duplicate lines the pipeline should drop and count."""
        return sum(s.duplicates for s in self.streams)

    @property
    def malformed(self) -> int:
        """Lines the pipeline should quarantine."""
        return sum(s.malformed_total for s in self.streams)

    def stream(self, name: str) -> StreamSummary:
        """The counts of one stream."""
        return next(s for s in self.streams if s.stream == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary; paths are relative to ``out`` so reruns elsewhere compare equal."""
        return {
            "profile": self.profile,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "days": self.days,
            "people": self.people,
            "accounts": self.accounts,
            "identified_people": self.identified_people,
            "customers": self.customers,
            "advocates": self.advocates,
            "lines": self.lines,
            "valid_events": self.valid_events,
            "duplicates": self.duplicates,
            "malformed": self.malformed,
            "streams": {s.stream: s.to_dict() for s in self.streams},
            "truth": {name: str(path.relative_to(self.out)) for name, path in self.truth.items()},
        }

    def format(self) -> str:
        """A short human-readable summary, one line per stream."""
        width = max(len(s.stream) for s in self.streams)
        out = [
            f"Generated {self.people:,} people in {self.accounts:,} accounts "
            f"(profile {self.profile}, seed {self.seed}, {self.start.isoformat()} + {self.days} "
            f"days) into {self.out}",
            f"  {self.identified_people:,} identified, {self.customers:,} customers, "
            f"{self.advocates:,} advocates",
        ]
        for s in self.streams:
            out.append(
                f"  {s.stream:<{width}}  {s.lines:>9,} lines = {s.valid_events:,} valid"
                f" + {s.duplicates:,} duplicates + {s.malformed_total:,} malformed"
                f"  ({len(s.files)} files, {s.late_events:,} late)"
            )
        out.append(
            f"  {'total':<{width}}  {self.lines:>9,} lines = {self.valid_events:,} valid"
            f" + {self.duplicates:,} duplicates + {self.malformed:,} malformed"
        )
        out.append(f"  ground truth: {self.out / '_truth'}")
        return "\n".join(out)
