"""Re-running gives identical tables; bad configuration, missing input and garbage are handled."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from journeyline.warehouse.publish import DATA_TABLES, OPS_TABLES
from tests.e2e.conftest import Run, journeyline

# Columns that say when and how often something ran, not what the data is.
VOLATILE = {
    "pipeline_runs": ["started_at", "finished_at", "attempt", "lake_attempt"],
    "dq_results": ["checked_at"],
}


def checksums(warehouse: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table in DATA_TABLES + OPS_TABLES:
            exclude = VOLATILE.get(table)
            cols = f"* exclude ({', '.join(exclude)})" if exclude else "*"
            out[table] = con.execute(
                f"select count(*), sum(hash(t)), bit_xor(hash(t)) "
                f"from (select {cols} from main.{table}) as t"
            ).fetchone()
        return out
    finally:
        con.close()


def run_quietly(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = journeyline(*args)
    return code, out.getvalue()


def staging_reads(warehouse: Path) -> set[str]:
    """The lake folders the staging views of the lake's tables read."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select sql from duckdb_views() where view_name like 'stg_lake__%'"
        ).fetchall()
    finally:
        con.close()
    return {
        sql.split("read_parquet('", 1)[1].rsplit("/runs/", 1)[1].split("/")[0] for (sql,) in rows
    }


def test_rerunning_the_same_input_gives_identical_tables(first_run: Run) -> None:
    before = checksums(first_run.warehouse)
    saved_parse = first_run.lake / "_dbt" / "target" / "partial_parse.msgpack"
    parsed_at = saved_parse.stat().st_mtime_ns
    args = ["--input", str(first_run.landing), "--warehouse", str(first_run.warehouse)]
    args += ["--lake", str(first_run.lake), "--quiet"]
    code, out = run_quietly("run", *args)
    assert (code, out.strip()) == (0, "up to date: no new input files since the published run")
    assert checksums(first_run.warehouse) == before
    code, _ = run_quietly("run", *args, "--full-refresh")
    assert code == 0
    after = checksums(first_run.warehouse)
    assert after == before
    # The new attempt is read (its path reaches dbt when it executes), and dbt did not
    # parse the project again: its saved parse is the first run's (dbt rewrites it only
    # when it parsed something).
    current = (first_run.lake / "CURRENT").read_text().strip()
    assert staging_reads(first_run.warehouse) == {current}
    assert saved_parse.stat().st_mtime_ns == parsed_at
    con = duckdb.connect(str(first_run.warehouse), read_only=True)
    try:
        assert con.execute("select count(*), max(attempt) from main.pipeline_runs").fetchone() == (
            1,
            2,
        )
    finally:
        con.close()


def lake_reads(lake: Path) -> set[str]:
    """Every folder the SQL dbt executed in the lake's last run reads Parquet from."""
    return {
        part.split("'", 1)[0].split("/*")[0]
        for path in (lake / "_dbt" / "target" / "run").rglob("*.sql")
        for part in path.read_text(encoding="utf-8").split("read_parquet('")[1:]
    }


def test_a_new_lake_starts_from_the_parse_an_earlier_lake_cached(
    first_run: Run, tmp_path: Path
) -> None:
    """The first run in a new lake and warehouse (another folder, the same file name and
    configuration) does not parse the dbt project again, and reads only its own lake."""
    work = tmp_path / "elsewhere"
    args = ["--input", str(first_run.landing), "--warehouse", str(work / "wh.duckdb")]
    code, _ = run_quietly("run", *args, "--lake", str(work / "lake"), "--quiet")
    assert code == 0
    log = (work / "lake" / "_dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "Starting full parse" not in log
    assert "Partial parsing enabled, no changes found, skipping parsing" in log
    current = (work / "lake" / "CURRENT").read_text().strip()
    lake = str(work / "lake")
    run_tables = ("identity_conflicts", "identity_map", "identity_merges", "quarantine")
    ops_tables = ("dq_results", "pipeline_runs", "source_runs")
    assert lake_reads(work / "lake") == (
        {f"{lake}/runs/{current}/{table}" for table in (*run_tables, "source_stats", "timeline")}
        | {f"{lake}/_ops/{table}" for table in ops_tables}
        | {f"{lake}/stream/alerts"}
    )
    assert checksums(work / "wh.duckdb") == checksums(first_run.warehouse)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "journeyline.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_a_malformed_config_line_names_file_line_and_fix(tmp_path: Path) -> None:
    config = tmp_path / "journeyline.yml"
    config.write_text("identity:\n  limits:\n    email: five\n", encoding="utf-8")
    result = cli("run", "--config", str(config), "--input", str(tmp_path))
    assert result.returncode == 2
    assert f"{config}:3" in result.stderr
    assert "whole number" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_input_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = cli(
        "run", "--input", str(tmp_path / "nowhere"), "--warehouse", str(tmp_path / "w.duckdb")
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "journeyline generate" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_runner_is_a_clear_error_before_anything_is_written(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for stream in ("marketing", "sales", "service"):
        (landing / stream).mkdir(parents=True)
    lake = tmp_path / "lake"
    args = ["--lake", str(lake), "--warehouse", str(tmp_path / "w.duckdb")]
    result = cli("run", "--input", str(landing), *args, "--runner", "Nonsense")
    assert result.returncode == 2
    assert "--runner Nonsense: Apache Beam has no runner" in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
    assert not lake.exists()


def test_a_warehouse_path_under_a_file_is_a_clear_error_before_a_run_starts(
    generated: Path, tmp_path: Path
) -> None:
    (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
    lake = tmp_path / "lake"
    warehouse = tmp_path / "taken" / "w.duckdb"
    result = cli(
        "run", "--input", str(generated), "--lake", str(lake), "--warehouse", str(warehouse)
    )
    assert result.returncode == 2
    assert f"cannot make the warehouse folder {tmp_path / 'taken'}" in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
    # no attempt begun, and none left "running" in the run log
    assert not (lake / "runs").exists()
    assert [p.name for p in (lake / "_ops" / "pipeline_runs").iterdir()] == ["_empty.parquet"]


def test_a_configured_source_folder_that_is_missing_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "journeyline.yml"
    config.write_text(
        "sources:\n  - name: web\n    stream: marketing\n    format: canonical\n"
        "    location: missing/web\n"
        f"lake: {tmp_path / 'lake'}\nwarehouse:\n  path: {tmp_path / 'w.duckdb'}\n",
        encoding="utf-8",
    )
    result = cli("run", "--config", str(config))
    assert result.returncode == 2
    assert "source 'web'" in result.stderr and "does not exist" in result.stderr


def test_garbage_lines_are_quarantined_and_the_run_goes_on(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for stream in ("marketing", "sales", "service"):
        (landing / stream).mkdir(parents=True)
    good = {
        "event_id": "ok-1",
        "stream": "marketing",
        "event_type": "page_viewed",
        "occurred_at": "2025-03-01T10:00:00Z",
        "identifiers": {"anonymous_id": "a-1"},
    }
    (landing / "marketing" / "good.jsonl").write_text(json.dumps(good) + "\n", encoding="utf-8")
    garbage = [
        b"%%%% not json",
        b"\x00\x01\x02",
        b'{"event_id": ',
        b"null",
        b"[]",
        b"\xc3\x28 bad utf8",
    ]
    (landing / "sales" / "garbage.jsonl").write_bytes(b"\n".join(garbage) + b"\n")
    code, out = run_quietly(
        "run",
        "--input",
        str(landing),
        "--warehouse",
        str(tmp_path / "w.duckdb"),
        "--lake",
        str(tmp_path / "lake"),
        "--quiet",
    )
    assert code == 0, out
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        reasons = dict(
            con.execute("select reason_code, count(*) from main.quarantine group by 1").fetchall()
        )
        counts = con.execute(
            "select input_count, accepted_count, quarantined_count from main.source_runs "
            "where source = 'sales'"
        ).fetchone()
    finally:
        con.close()
    assert reasons == {"malformed_json": 4, "not_an_object": 2}
    assert counts == (6, 0, 6)
    shutil.rmtree(tmp_path / "lake")
