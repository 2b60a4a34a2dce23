"""The JSON run manifest: one file per run attempt, for schedulers and people.

``<lake>/_manifests/<attempt>.json`` says what one attempt did: run id, window,
mode, every input file, counts per source, every check, timings (per step, and per phase under
stable names), status, the
published attempt and the exit code. It is written when the run ends, whether
it published, was blocked or failed, so a scheduler (or a person at 3 am) reads
one file instead of a log. It holds no identifier value and no secret.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from journeyline.config import Config
from journeyline.lake import Lake
from journeyline.memory import memory_pool_in_use
from journeyline.ops import RunRecord

if TYPE_CHECKING:
    from journeyline.quality import CheckResult
    from journeyline.windows import Plan

MANIFESTS = "_manifests"
EXIT_CODES = {"published": 0, "blocked": 3, "failed": 4}


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


@dataclass
class Manifest:
    """A manifest being filled in as the run goes."""

    record: RunRecord
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, record: RunRecord, plan: Plan, config: Config) -> Manifest:
        window = plan.window
        return cls(
            record,
            {
                "run_id": record.run_id,
                "lake_attempt": record.lake_attempt,
                "attempt": record.attempt,
                "mode": plan.mode,
                "window": (
                    {"start": window.start.isoformat(), "end": window.end.isoformat()}
                    if window
                    else None
                ),
                "retracted": plan.rebase.describe() if plan.rebase else None,
                "input_files": [
                    {"source": f.source, "path": f.path, "bytes": f.size, "mtime": f.mtime}
                    for f in plan.files
                ],
                "warehouse": {
                    "type": config.warehouse.type,
                    "target": config.warehouse.path
                    if config.warehouse.type == "duckdb"
                    else f"{config.warehouse.project}.{config.warehouse.schema}",
                },
            },
        )

    def finish(
        self,
        lake: Lake,
        *,
        sources: list[dict[str, Any]] | None = None,
        checks: list[CheckResult] | None = None,
        timings: dict[str, float] | None = None,
        phases: dict[str, float] | None = None,
        error: str | None = None,
        exit_code: int | None = None,
    ) -> Path:
        """Complete the manifest and write it atomically; return its path."""
        record = self.record
        status = record.status if record.status != "running" else "failed"
        counts = ("input_count", "accepted_count", "quarantined_count", "duplicate_count")
        self.data.update(
            {
                "status": status,
                "exit_code": exit_code if exit_code is not None else EXIT_CODES.get(status, 1),
                "started_at": _iso(record.started_at),
                "finished_at": _iso(record.finished_at or datetime.now(UTC)),
                "counts": {c: record.counts.get(c) for c in counts},
                "customers": record.customers_count,
                "sources": [
                    {k: (v if not isinstance(v, datetime) else _iso(v)) for k, v in s.items()}
                    for s in (sources or [])
                ],
                "checks": [
                    {
                        "check": c.check_name,
                        "target": c.target,
                        "severity": c.severity,
                        "status": c.status,
                        "observed": c.observed_value,
                        "threshold": c.threshold,
                    }
                    for c in (checks or [])
                ],
                "timings_s": {k: round(v, 3) for k, v in (timings or {}).items()},
                # Stable names (beam, dbt, gates, publish): what benchmarks read.
                "phases_s": {k: round(v, 3) for k, v in (phases or {}).items()},
                "arrow_memory_pool": memory_pool_in_use(),
                "published_attempt": lake.current(),
                "message": error or record.message,
            }
        )
        folder = lake.root / MANIFESTS
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{record.lake_attempt}.json"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.data, indent=1, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path
