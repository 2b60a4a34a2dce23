"""The parse hot spot per line, against JSON readers timed in the same process:
``python -m benchmarks.parse LANDING [--lines N] [--json OUT]``.

Parsing canonical JSON lines was half of the Beam job's time at 1M events until the
common lines were scanned in C (``transforms/_linescan.c``). Its cost per line is
measured here on whole files of the landing folder, about ``--lines`` lines (``sample``:
a file of each source in turn, each source's in name order), three ways, one after the
other in one process:

- ``journeyline``: ``ParseSourceFile.parse_file``, what a parse worker runs (the C
  scanner and orjson for the lines it leaves out, the columnar contract, the row path
  for the rest, line hashes), files in order as one worker takes them;
- ``orjson``: ``orjson.loads`` of every line and nothing else, what a reader that builds
  Python objects costs at the least;
- ``duckdb``: DuckDB's ``read_json`` of the same files into typed columns on one thread
  (malformed lines skipped), what a columnar C++ reader costs.

The ratios (journeyline / orjson, journeyline / DuckDB) move far less with the
machine's speed than the times do, so rounds compare by them.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson

from benchmarks.run import BENCH_HASH_KEY, explained
from journeyline.config import default_config
from journeyline.errors import InputError
from journeyline.inputs import discover
from journeyline.memory import use_memory_pool
from transforms.read import ParseSourceFile
from transforms.records import InputFile
from transforms.scan import TEXT_FIELDS

DEFAULT_LINES = 300_000
# The canonical fields as DuckDB reads them: text, a number, and the two objects as JSON.
_COLUMNS = {
    **dict.fromkeys((*TEXT_FIELDS, "amount"), "VARCHAR"),
    "score": "DOUBLE",
    "identifiers": "JSON",
    "properties": "JSON",
}


def sample(landing: str, lines: int) -> list[InputFile]:
    """Whole files of the landing folder until ``lines`` lines are in: each source's files
    in name order, taken a file of each source in turn (marketing, sales, service)."""
    by_source: dict[str, list[InputFile]] = {}
    for item in sorted(discover(default_config().with_input(landing)), key=lambda f: f.path):
        by_source.setdefault(item.source, []).append(item)
    files, total = [], 0
    for turn in range(max(map(len, by_source.values()), default=0)):
        for items in by_source.values():
            if turn < len(items) and total < lines:
                files.append(items[turn])
                with open(items[turn].path, "rb") as handle:
                    total += sum(1 for _ in handle)
    return files


def time_journeyline(landing: str, files: list[InputFile]) -> tuple[float, int]:
    """Seconds to parse the files as one parse worker does, and the lines read."""
    config = default_config().with_input(landing)
    parse = ParseSourceFile(config, "bench_parse")
    parse.setup()
    lines = 0
    started = time.perf_counter()
    for item in files:
        for out in parse.parse_file(item):
            value = getattr(out, "value", out)
            if isinstance(value, dict) and "source_rows" in value:
                lines += value["input_count"] + value["skipped_rows"]
    return time.perf_counter() - started, lines


def time_orjson(files: list[InputFile]) -> float:
    """Seconds for ``orjson.loads`` of every line (malformed ones caught and skipped)."""
    loads, malformed = orjson.loads, orjson.JSONDecodeError
    started = time.perf_counter()
    for item in files:
        with open(item.path, "rb") as handle:
            for line in handle.read().split(b"\n"):
                try:  # noqa: SIM105 (a with-statement per line would weigh on the floor)
                    loads(line)
                except malformed:
                    pass
    return time.perf_counter() - started


def time_duckdb(files: list[InputFile]) -> float:
    """Seconds for DuckDB's ``read_json`` of the files into typed Arrow columns, one thread."""
    con = duckdb.connect()
    con.execute("set threads = 1")
    started = time.perf_counter()
    for item in files:
        con.sql(
            "select * from read_json(?, format = 'newline_delimited', ignore_errors = true, "
            "columns = ?)",
            params=[item.path, _COLUMNS],
        ).to_arrow_table()
    return time.perf_counter() - started


def measure(landing: str, lines: int = DEFAULT_LINES) -> dict[str, Any]:
    """Per-line microseconds of the three parsers over the same files, and the ratios."""
    os.environ.setdefault("JOURNEYLINE_HASH_KEY", BENCH_HASH_KEY)  # synthetic data only
    pool = use_memory_pool()  # Arrow's allocator as in a parse worker
    files = sample(landing, lines)
    journeyline_s, count = time_journeyline(landing, files)
    if not count:
        raise InputError(
            f"no lines to parse in {landing}",
            "point it at a landing folder with events, e.g. one `journeyline generate` wrote",
        )
    orjson_s = time_orjson(files)
    duckdb_s = time_duckdb(files)
    per_line = {
        name: round(seconds / count * 1e6, 2)
        for name, seconds in (
            ("journeyline", journeyline_s),
            ("orjson", orjson_s),
            ("duckdb", duckdb_s),
        )
    }
    return {
        "files": len(files),
        "lines": count,
        "arrow_memory_pool": pool,
        "us_per_line": per_line,
        "journeyline_per_orjson": round(journeyline_s / orjson_s, 2),
        "journeyline_per_duckdb": round(journeyline_s / duckdb_s, 2),
    }


@explained("python -m benchmarks.parse")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.parse", description=__doc__)
    parser.add_argument("landing", help="a landing folder in `journeyline generate` layout")
    parser.add_argument("--lines", type=int, default=DEFAULT_LINES, help="lines to parse, about")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = measure(args.landing, args.lines)
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
