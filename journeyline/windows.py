"""Run windows for schedulers: what `--date` / `--start --end` select, and how a run is planned.

A window is a half-open range of days ``[start, end)`` (Airflow's data interval;
``--date D`` is ``[D, D+1)``). It selects **input files by landing date**: the
date written in the file's path (``dt=2025-03-07``, ``2025-03-07``,
``2025/03/07``, ``20250307``; the last one wins; else a month ``2025-03``
meaning its first day), else the file's modification time (UTC). Records are
never split by window, so every record belongs to exactly one file and one
window, and the lake state records which files it ingested.

Planning against the published lake state:

* none of the window's files ingested yet → an **incremental** run over them
  (a daily run, or a backfill of an older window: late data re-stitches);
* some already ingested → a **window re-run**: everything those files gave
  (timeline rows by their ``input_file``, quarantine rows by location) is
  retracted and the window's files are read again as they are now, identity
  resolved afresh (transforms/retract.py). A corrected or re-delivered file
  therefore replaces its earlier version, and an unchanged one rebuilds
  identical tables;
* no published state, changed rules or ``--full-refresh`` → a **full refresh**
  over every ingested file plus the window.

The run id of a window run is a fingerprint of the window, its files and the
configuration, so a re-run is a new attempt of the same run (pipeline_runs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from journeyline import state
from journeyline.config import Config
from journeyline.errors import InputError
from journeyline.inputs import discover
from journeyline.lake import Lake
from transforms.read import InputFile
from transforms.retract import Retraction

_DAY = re.compile(r"(?<!\d)(\d{4})[-/]?(\d{2})[-/]?(\d{2})(?!\d)")
_MONTH = re.compile(r"(?<!\d)(\d{4})-(\d{2})(?![-\d])")


@dataclass(frozen=True)
class Window:
    """Days ``[start, end)``."""

    start: date
    end: date

    @classmethod
    def from_args(
        cls, day: date | None = None, start: date | None = None, end: date | None = None
    ) -> Window | None:
        """The window of `--date` or `--start/--end` (None: no window); clear errors."""
        if day is not None:
            if start is not None or end is not None:
                raise InputError(
                    "--date cannot be combined with --start/--end", "use one or the other"
                )
            return cls(day, day + timedelta(days=1))
        if start is None and end is None:
            return None
        if start is None or end is None:
            raise InputError(
                "--start and --end go together",
                "give both, e.g. --start 2025-03-01 --end 2025-04-01",
            )
        if end <= start:
            raise InputError(
                f"--end {end} is not after --start {start}",
                "the end day is exclusive: --start D --end D+1 is one day",
            )
        return cls(start, end)

    def __str__(self) -> str:
        return f"[{self.start}, {self.end})"

    def key(self) -> str:
        return f"window:{self.start.isoformat()}/{self.end.isoformat()}"

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def bounds(self) -> tuple[datetime, datetime]:
        """The window as UTC instants (pipeline_runs.window_start / window_end)."""
        return (
            datetime.combine(self.start, datetime.min.time(), UTC),
            datetime.combine(self.end, datetime.min.time(), UTC),
        )


def landing_date(path: str, mtime: float) -> date:
    """The day a file landed: the last full date in its path (the deepest), else the last
    month (its first day), else its modification time (UTC)."""
    tail = "/".join(path.replace("\\", "/").split("/")[-4:])
    for pattern, month in ((_DAY, False), (_MONTH, True)):
        for groups in reversed(pattern.findall(tail)):
            try:
                return date(int(groups[0]), int(groups[1]), 1 if month else int(groups[2]))
            except ValueError:
                continue
    return datetime.fromtimestamp(mtime, UTC).date()


def select(files: list[InputFile], window: Window) -> list[InputFile]:
    """The files that land in ``window``."""
    return [f for f in files if window.contains(landing_date(f.path, f.mtime))]


@dataclass(frozen=True)
class Plan:
    """What a run reads, what state it builds on, and what it takes out of that state."""

    files: list[InputFile]
    base: state.LakeState | None
    mode: str
    fingerprint_key: str
    rebase: Retraction | None = None
    kept_ingested: tuple[state.Ingested, ...] = field(default_factory=tuple)
    window: Window | None = None


def plan_window(config: Config, lake: Lake, window: Window, full_refresh: bool) -> Plan:
    """Plan a run of ``window`` against the published lake state (see the module doc)."""
    available = discover(config)
    files = select(available, window)
    published = state.load(lake)
    rules_changed = published is not None and published.rules != state.rules_fingerprint(config)
    if published is None or rules_changed or full_refresh:
        ingested = {(i.source, i.path) for i in published.ingested} if published else set()
        earlier = [f for f in available if (f.source, f.path) in ingested and f not in files]
        mode = "full refresh" + (" (rules changed)" if rules_changed else "")
        return Plan(earlier + files, None, mode, window.key() + ":full", window=window)
    in_window = [i for i in published.ingested if window.contains(landing_date(i.path, i.mtime))]
    if not in_window:
        key = window.key()
        return Plan(files, published, f"incremental on {published.run_id}", key, window=window)
    retract = frozenset(i.path for i in in_window)
    kept = tuple(i for i in published.ingested if i.path not in retract)
    return Plan(
        files,
        published,
        f"window re-run on {published.run_id}: {len(retract)} ingested file(s) retracted "
        "and read again",
        window.key(),
        rebase=Retraction(files=retract),
        kept_ingested=kept,
        window=window,
    )


def describe_empty(window: Window, config: Config) -> str:
    """The message of a window no input file lands in."""
    where = ", ".join(sorted({str(Path(s.location)) for s in config.sources}))
    return (
        f"no input file lands in window {window} (sources: {where}); a file's landing date is "
        "the date in its path (dt=YYYY-MM-DD, YYYY-MM-DD, YYYY/MM/DD or YYYY-MM), else its "
        "modification time"
    )
