"""Where things live in the Parquet lake.

Layout (one folder per run attempt, a pointer to the published one)::

    <lake>/runs/<attempt>/timeline/event_date=YYYY-MM-DD/part-<n>.parquet
    <lake>/runs/<attempt>/identity_map/part-<n>.parquet
    <lake>/runs/<attempt>/identity_merges/part-<n>.parquet
    <lake>/runs/<attempt>/quarantine/part-<n>.parquet
    <lake>/runs/<attempt>/source_stats/part-<n>.parquet
    <lake>/_ops/pipeline_runs/<run_id>.parquet     one row per run (history)
    <lake>/_ops/source_runs/<run_id>.parquet       one row per run and source
    <lake>/_ops/dq_results/<run_id>.parquet        one row per check and run
    <lake>/CURRENT                                 the published attempt's folder name

An attempt folder is written once and never modified; publishing moves the
CURRENT pointer (an atomic rename), so readers never see a half-written state.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

RUN_TABLES = ("timeline", "identity_map", "identity_merges", "quarantine", "source_stats")
OPS_TABLES = ("pipeline_runs", "source_runs", "dq_results")


@dataclass(frozen=True)
class Lake:
    """A local lake rooted at ``root``."""

    root: Path

    @classmethod
    def at(cls, path: str | os.PathLike[str]) -> Lake:
        return cls(Path(path).resolve())

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def ops(self) -> Path:
        return self.root / "_ops"

    def attempt(self, name: str) -> Path:
        return self.runs / name

    def table(self, attempt: str, table: str) -> Path:
        return self.attempt(attempt) / table

    def ops_table(self, table: str) -> Path:
        return self.ops / table

    def ops_file(self, table: str, run_id: str) -> Path:
        return self.ops / table / f"{run_id}.parquet"

    def current(self) -> str | None:
        """The published attempt, or None before the first publish."""
        pointer = self.root / "CURRENT"
        if not pointer.is_file():
            return None
        name = pointer.read_text(encoding="utf-8").strip()
        return name if name and self.attempt(name).is_dir() else None

    def publish(self, attempt: str) -> None:
        """Point CURRENT at ``attempt`` atomically (write a temp file, then rename)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".CURRENT.{os.getpid()}"
        tmp.write_text(attempt + "\n", encoding="utf-8")
        os.replace(tmp, self.root / "CURRENT")

    def prune(self, keep: int = 3) -> list[str]:
        """Delete old attempt folders, never the published one; return what was removed."""
        if not self.runs.is_dir():
            return []
        current = self.current()
        attempts = sorted(p for p in self.runs.iterdir() if p.is_dir())
        removable = [p for p in attempts if p.name != current]
        doomed = removable[: max(0, len(removable) - keep)]
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)
        return [p.name for p in doomed]

    def ensure_ops(self) -> None:
        for table in OPS_TABLES:
            self.ops_table(table).mkdir(parents=True, exist_ok=True)
