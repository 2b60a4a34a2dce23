"""A month more on a lake that has run: the run a scheduled deployment makes.

The main measurement is a first run into an empty lake. A deployment mostly runs on a
lake that already holds the earlier months and ingests only the new files. For one size:
the input without its last month (hard links into a folder of its own), a first run,
then that month's files linked into the same folder and a second, incremental run, which
is the one measured (both with increment.yml: the volume gate warns, since one month
against eleven is a drop it would rightly block). Its time is mostly what a run costs
whatever its size (starting Beam and dbt, planning, dbt's Python per node), so it is
shown against the whole run.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

_MONTH = re.compile(r"(\d{4}-\d{2})\.jsonl$")
# The source_volume gate warns instead of blocking: the measured month is a tenth of the
# first run's input (see the file).
CONFIG = Path(__file__).with_name("increment.yml")


def split_last_month(landing: Path) -> tuple[list[Path], list[Path], str]:
    """The landing folder's input files as (all but the last month, the last month, that
    month). Files live in one folder per source; folders starting with ``_`` are not input."""
    files = sorted(
        path
        for folder in landing.iterdir()
        if folder.is_dir() and not folder.name.startswith("_")
        for path in folder.iterdir()
        if path.is_file()
    )
    months = {match.group(1) for path in files if (match := _MONTH.search(path.name))}
    if len(months) < 2:
        raise ValueError(f"{landing}: input files of two months or more are needed")
    last = max(months)
    held = [p for p in files if (m := _MONTH.search(p.name)) and m.group(1) == last]
    return [p for p in files if p not in held], held, last


def link_into(files: list[Path], landing: Path, folder: Path) -> None:
    """Hard-link ``files`` (under ``landing``) into ``folder`` at the same relative paths,
    so that size and modification time, which the lake's state compares, stay the same."""
    for path in files:
        target = folder / path.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


Runner = Callable[..., dict[str, Any]]


def measure_increment(landing: Path, work: Path, run: Runner) -> dict[str, Any]:
    """Run ``landing`` without its last month, then that month incrementally; return the
    second run's figures (``run`` is ``run_journeyline``)."""
    base, held, month = split_last_month(landing)
    folder = work / "increment"
    inputs = folder / "landing"
    link_into(base, landing, inputs)
    first = run(inputs, folder, log="first-run.log", config=CONFIG)
    link_into(held, landing, inputs)
    second = run(inputs, folder, full_refresh=False, log="increment.log", config=CONFIG)
    lines = int(second["counts"]["input_count"])
    beam = float(second["phases"].get("beam") or 0.0)
    return {
        "month": month,
        "files": len(held),
        "input_lines": lines,
        "first_run_s": first["seconds"],
        "whole_s": second["seconds"],
        "phases_s": second["phases"],
        "beam_events_per_s": round(lines / beam) if beam else None,
        "peak_rss": second["peak_rss"],
        "status": second["status"],
        "accepted": int(second["counts"]["accepted_count"]),
        "dbt_parse": second.get("dbt_parse"),
    }
