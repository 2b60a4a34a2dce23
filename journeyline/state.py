"""What the published lake state holds: which files it ingested, under which rules.

An incremental run starts from the published attempt: it reads only files that
attempt has not ingested (a changed file counts as new; its events de-duplicate
against what was accepted), and it starts from that attempt's tables. When the
rules that shape results (contract, identity, stages) changed since, the run is
a full refresh instead, because incremental would mix two sets of rules.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from apache_beam.io.filesystems import FileSystems

from journeyline.config import Config
from journeyline.lake import Lake
from journeyline.privacy import key_fingerprint
from pipelines.batch import PreviousState
from transforms.read import InputFile

STATE_FILE = "_state.json"
STATE_TABLES = ("timeline", "identity_map", "identity_edges", "quarantine")


@dataclass(frozen=True)
class Ingested:
    """One file a published run read."""

    source: str
    path: str
    size: int
    mtime: float
    run_id: str

    def same_file(self, f: InputFile) -> bool:
        return (self.source, self.path, self.size, round(self.mtime, 6)) == (
            f.source,
            f.path,
            f.size,
            round(f.mtime, 6),
        )


@dataclass(frozen=True)
class LakeState:
    """The published attempt, the rules it was built with, and every file it ingested."""

    attempt: str
    run_id: str
    rules: str
    ingested: tuple[Ingested, ...] = field(default_factory=tuple)

    def new_files(self, files: list[InputFile]) -> list[InputFile]:
        """Files not ingested (or changed since they were)."""
        seen = {(i.source, i.path): i for i in self.ingested}
        return [
            f for f in files if not ((old := seen.get((f.source, f.path))) and old.same_file(f))
        ]


def rules_fingerprint(config: Config) -> str:
    """A hash of the configuration sections that change what a run produces."""
    sections = {key: config.raw.get(key) for key in ("contract", "identity", "stages", "privacy")}
    # A new hash key changes every hashed identifier: the state must be rebuilt, not extended.
    sections["hash_key"] = key_fingerprint(config.privacy)
    return hashlib.sha256(json.dumps(sections, sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]


def load(lake: Lake) -> LakeState | None:
    """The published state, or None before the first publish (or for a lake without state)."""
    attempt = lake.current()
    if attempt is None:
        return None
    path = lake.attempt(attempt) / STATE_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return LakeState(
        attempt=attempt,
        run_id=data["run_id"],
        rules=data["rules"],
        ingested=tuple(Ingested(**i) for i in data["ingested"]),
    )


def save(lake: Lake, attempt: str, state: LakeState) -> None:
    """Write the state file of an attempt (before it is published)."""
    data = {
        "run_id": state.run_id,
        "rules": state.rules,
        "ingested": [asdict(i) for i in state.ingested],
    }
    (lake.attempt(attempt) / STATE_FILE).write_text(
        json.dumps(data, indent=1, sort_keys=True), encoding="utf-8"
    )


def previous_tables(lake: Lake, attempt: str) -> PreviousState:
    """The Parquet files of the tables an incremental run starts from."""
    files: dict[str, tuple[str, ...]] = {}
    for table in STATE_TABLES:
        root = lake.table(attempt, table)
        pattern = f"{root}/**/*.parquet" if table == "timeline" else f"{root}/*.parquet"
        matches = FileSystems.match([pattern])[0].metadata_list if Path(root).exists() else []
        files[table] = tuple(sorted(m.path for m in matches))
    return PreviousState(
        timeline=files["timeline"],
        identity_map=files["identity_map"],
        identity_edges=files["identity_edges"],
        quarantine=files["quarantine"],
    )
