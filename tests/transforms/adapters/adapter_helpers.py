"""Shared helpers for adapter tests: the shipped fixtures, and a source run through the contract."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from journeyline.config import Config, SourceConfig, default_config
from journeyline.config.model import PrivacyConfig
from transforms.adapters import file_records
from transforms.contract import Accepted, Rejection, RowContract
from transforms.records import SKIPPED_ROW, InputFile

ROOT = Path(__file__).resolve().parents[3]
# shared/ sits beside the clone (CI) or beside the folder of worktrees.
_CANDIDATES = [ROOT.parent / "shared" / "fixtures", ROOT.parent.parent / "shared" / "fixtures"]
FIXTURES = next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0])
RECEIVED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Outcome:
    """What one file gave: rows read, rows skipped, accepted rows and rejections, in order."""

    rows: int = 0
    skipped: int = 0
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # code, reason, location

    @property
    def records(self) -> int:
        return len(self.accepted) + len(self.rejected)

    def counts(self) -> dict[str, int]:
        out: Counter[str] = Counter(r["event_type"] for r in self.accepted)
        out.update(f"quarantined:{code}" for code, _, _ in self.rejected)
        if self.skipped:
            out["skipped_rows"] = self.skipped
        return dict(out)


def source_config(fmt: str, location: Path, **kwargs: Any) -> SourceConfig:
    return SourceConfig(name=kwargs.pop("name", fmt), format=fmt, location=str(location), **kwargs)


def with_source(source: SourceConfig, config: Config | None = None) -> Config:
    # Adapters are checked on clear identifiers; hashing has its own tests (tests/privacy).
    clear = PrivacyConfig(enabled=False)
    return replace(config or default_config(), sources=(source,), privacy=clear)


def run_file(config: Config, source: SourceConfig, path: Path, table: str = "") -> Outcome:
    """Every record of one file through the source's adapter and the shared row contract."""
    assert path.is_file(), f"fixture missing: {path}"
    contract = RowContract(config, source)
    out = Outcome()
    item = InputFile(source.name, str(path), path.stat().st_size, 0.0, table)
    for record in file_records(config, source, item, config.contract.max_raw_bytes):
        out.rows += record.rows
        if record.value is SKIPPED_ROW:
            out.skipped += 1
            continue
        outcome = (
            record.value
            if isinstance(record.value, Rejection)
            else contract.check(record.value, RECEIVED)
        )
        if isinstance(outcome, Accepted):
            out.accepted.append(outcome.row)
        else:
            out.rejected.append((outcome.code, outcome.reason, record.location))
    return out


def connector(fmt: str, table: str, file: str, config: Config | None = None) -> Outcome:
    """One fixture table of a connector through its built-in mapping."""
    folder = FIXTURES / "fivetran" / fmt
    source = source_config(fmt, folder, tables={table: file})
    return run_file(with_source(source, config), source, folder / file, table)
