"""Readers for generated output shared by the generate tests (a unique module name, so it
cannot be confused with another test folder's helpers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


def landing_lines(out: Path) -> dict[str, list[bytes]]:
    """Relative file path -> its lines (without the newline), for every landing file."""
    files = {}
    for path in sorted(out.glob("*/*.jsonl")):
        data = path.read_bytes()
        assert data.endswith(b"\n"), path
        files[f"{path.parent.name}/{path.name}"] = data[:-1].split(b"\n")
    return files


def truth(out: Path, name: str) -> list[dict[str, Any]]:
    """Rows of ``OUT/_truth/<name>.parquet`` as dicts."""
    return pq.read_table(out / "_truth" / f"{name}.parquet").to_pylist()


def valid_events(out: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(truth row, parsed landing line) for every distinct valid event."""
    files = landing_lines(out)
    pairs = []
    for row in truth(out, "events"):
        line = files[row["file"]][row["line_number"] - 1]
        pairs.append((row, json.loads(line)))
    return pairs
