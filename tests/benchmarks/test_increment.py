"""The incremental measurement holds back exactly the last month and links, not copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.increment import link_into, split_last_month
from benchmarks.run import format_increments


def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    names = {
        "marketing": ["marketing-2025-11.jsonl", "marketing-2025-12.jsonl", "notes.txt"],
        "sales": ["part1-sales-2025-12.jsonl", "part2-sales-2025-12.jsonl", "sales-2025-01.jsonl"],
        "_truth": ["events-2025-12.jsonl"],  # not input
    }
    for folder, files in names.items():
        (root / folder).mkdir(parents=True)
        for name in files:
            (root / folder / name).write_text(name + "\n")
    return root


def test_the_last_month_is_held_back_in_every_source(tmp_path: Path) -> None:
    root = landing(tmp_path)
    base, held, month = split_last_month(root)
    assert month == "2025-12"
    assert [p.relative_to(root).as_posix() for p in held] == [
        "marketing/marketing-2025-12.jsonl",
        "sales/part1-sales-2025-12.jsonl",
        "sales/part2-sales-2025-12.jsonl",
    ]
    assert [p.relative_to(root).as_posix() for p in base] == [
        "marketing/marketing-2025-11.jsonl",
        "marketing/notes.txt",
        "sales/sales-2025-01.jsonl",
    ]


def test_links_keep_the_files_identity(tmp_path: Path) -> None:
    root = landing(tmp_path)
    base = split_last_month(root)[0]
    out = tmp_path / "inputs"
    link_into(base, root, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "marketing/marketing-2025-11.jsonl",
        "marketing/notes.txt",
        "sales/sales-2025-01.jsonl",
    ]
    linked = out / "sales" / "sales-2025-01.jsonl"
    original = root / "sales" / "sales-2025-01.jsonl"
    assert linked.stat().st_ino == original.stat().st_ino  # same size and mtime, always


def test_one_month_cannot_be_split(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    (root / "sales").mkdir(parents=True)
    (root / "sales" / "sales-2025-01.jsonl").write_text("{}\n")
    with pytest.raises(ValueError, match="two months"):
        split_last_month(root)


def test_increments_are_tabled_against_the_whole_run() -> None:
    phases = {"beam": 3.0, "dbt": 5.0, "gates": 0.4, "publish": 1.2}
    increment = {"month": "2025-12", "input_lines": 8_000, "first_run_s": 18.0, "whole_s": 11.0}
    increment |= {"phases_s": phases, "peak_rss": 2 * 1024**3}
    rows = [
        {"size": "100k", "journeyline": {"whole_s": 22.0}, "increment": increment},
        {"size": "1M", "journeyline": {"whole_s": 40.0}},  # measured without --increment
    ]
    table = format_increments(rows)
    assert len(table) == 3 and table[0].count("|") == table[1].count("|") == table[2].count("|")
    assert table[2] == (
        "| 100k | 2025-12 | 8,000 | 18.0 | 11.0 | 3.0 | 5.0 | 0.4 | 1.2 | 2.00 | 0.50× |"
    )
    assert format_increments(rows[1:]) == []
