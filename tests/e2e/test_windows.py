"""Run windows: a backfill of three windows, a re-run of the middle one, a corrected file.

Landing files are monthly (``<stream>-YYYY-MM.jsonl``), so a window of a month selects
that month's files. The re-run of a window retracts what its files gave and reads them
again: with the same files the tables are identical; with a corrected file the removed
event is gone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from journeyline.warehouse.publish import DATA_TABLES
from tests.e2e.test_rerun_and_errors import checksums, run_quietly

WINDOWS = (("2025-01-01", "2025-02-01"), ("2025-02-01", "2025-03-01"), ("2025-03-01", "2025-05-01"))


def _data(warehouse: Path) -> dict[str, tuple]:
    every = checksums(warehouse)
    return {table: every[table] for table in DATA_TABLES}


def _manifest(lake: Path, run_line: str) -> dict:
    run_id = run_line.split()[1].rstrip(":")
    paths = sorted((lake / "_manifests").glob(f"{run_id}.*.json"))
    return json.loads(paths[-1].read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    work = tmp_path_factory.mktemp("windows")
    landing = work / "landing"
    code, _ = run_quietly(
        "generate", "--out", str(landing), "--people", "120", "--seed", "5", "--days", "120"
    )
    assert code == 0
    return work, [str(landing)]


def _run(work: Path, *window: str) -> tuple[int, str]:
    args = ["--input", str(work / "landing"), "--warehouse", str(work / "wh.duckdb")]
    return run_quietly("run", *args, "--lake", str(work / "lake"), "--quiet", *window)


def test_a_rerun_of_the_middle_window_recomputes_it_and_gives_identical_tables(
    backfill: tuple[Path, list[str]],
) -> None:
    work, _ = backfill
    runs = []
    for start, end in WINDOWS:
        code, out = _run(work, "--start", start, "--end", end)
        assert code == 0, out
        runs.append(out.strip().splitlines()[0])
    before = _data(work / "wh.duckdb")
    first = _manifest(work / "lake", runs[1])

    code, out = _run(work, "--start", WINDOWS[1][0], "--end", WINDOWS[1][1])
    assert code == 0, out
    rerun = _manifest(work / "lake", out.strip().splitlines()[0])
    assert _data(work / "wh.duckdb") == before
    # The same run (a second attempt), really recomputed: it read the window's files again
    # and accepted their events again after retracting what they gave before.
    assert rerun["run_id"] == first["run_id"] and rerun["attempt"] == 2
    assert rerun["mode"].startswith("window re-run")
    assert [f["path"] for f in rerun["input_files"]] == [f["path"] for f in first["input_files"]]
    assert all("-2025-02." in f["path"] for f in rerun["input_files"])
    assert rerun["counts"] == first["counts"] and rerun["counts"]["accepted_count"] > 0


def test_a_rerun_with_a_corrected_file_replaces_what_the_old_file_gave(
    backfill: tuple[Path, list[str]],
) -> None:
    work, _ = backfill
    source = work / "landing" / "marketing" / "marketing-2025-02.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines()
    removed = next(json.loads(line)["event_id"] for line in lines if line.startswith('{"event_id"'))
    kept = [line for line in lines if removed not in line]
    saved = work / "saved.jsonl"
    shutil.copy2(source, saved)
    source.write_text("\n".join(kept) + "\n", encoding="utf-8")
    try:
        code, out = _run(work, "--date", "2025-02-01")
        assert code == 0, out
    finally:
        shutil.copy2(saved, source)
    con = duckdb.connect(str(work / "wh.duckdb"), read_only=True)
    try:
        found = con.execute(
            "select count(*) from main.customer_timeline where event_id = ?", [removed]
        ).fetchone()[0]
        total = con.execute("select count(*) from main.customer_timeline").fetchone()[0]
    finally:
        con.close()
    assert found == 0
    assert total > 0


def test_a_window_with_no_input_is_nothing_to_do(backfill: tuple[Path, list[str]]) -> None:
    work, _ = backfill
    code, out = _run(work, "--date", "2030-01-01")
    assert (code, out.strip()) == (
        0,
        "nothing to do: no input file lands in window [2030-01-01, 2030-01-02)",
    )


def test_window_arguments_are_checked(backfill: tuple[Path, list[str]]) -> None:
    work, _ = backfill
    assert _run(work, "--start", "2025-02-01")[0] == 2
    assert _run(work, "--start", "2025-02-01", "--end", "2025-01-01")[0] == 2
