"""Privacy end to end: no clear e-mail and no key in a run's logs or outputs; forget a person,
re-run on the same input, and the person is absent everywhere (and counted as suppressed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest

from journeyline.config import default_config
from journeyline.privacy import SUPPRESSED_RAW, hasher_for
from journeyline.warehouse.publish import DATA_TABLES
from tests.conftest import TEST_HASH_KEY
from tests.e2e.test_rerun_and_errors import run_quietly

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("privacy") / "landing"
    code, _ = run_quietly(
        "generate", "--out", str(out), "--people", "100", "--seed", "21", "--days", "110"
    )
    assert code == 0
    return out


def _emails(landing: Path) -> set[str]:
    found: set[str] = set()
    for path in landing.rglob("*.jsonl"):
        found.update(m.lower() for m in EMAIL.findall(path.read_text(encoding="utf-8")))
    return {e for e in found if not e.endswith("@example.com")}  # blocked placeholders


def _all_text(folder: Path) -> str:
    """Every text file and every string cell of every Parquet file below ``folder``."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".parquet":
            table = ds.dataset(path, format="parquet").to_table()
            parts.append(json.dumps(table.to_pylist(), default=str))
        elif path.is_file() and path.suffix in (".json", ".log", ".txt", ""):
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(parts).lower()


def _warehouse_text(warehouse: Path) -> str:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
        return "\n".join(
            json.dumps(con.execute(f'select * from "{s}"."{t}"').fetchall(), default=str)
            for s, t in tables
        ).lower()
    finally:
        con.close()


def _customer_of(warehouse: Path, email: str) -> tuple[str, list[tuple[str, str]]]:
    hasher = hasher_for(default_config().privacy)
    assert hasher is not None
    stored = hasher.value("email", email)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        customer = con.execute(
            "select customer_id from main.identity_map "
            "where identifier_type = 'email' and identifier_value = ?",
            [stored],
        ).fetchone()[0]
        identifiers = con.execute(
            "select identifier_type, identifier_value from main.identity_map where customer_id = ?",
            [customer],
        ).fetchall()
    finally:
        con.close()
    return customer, identifiers


def _verbose_run(landing: Path, paths: list[str]) -> str:
    """`journeyline --verbose run` in its own process: everything it logs, both streams."""
    env = {**os.environ, "JOURNEYLINE_HASH_KEY": TEST_HASH_KEY}
    command = [sys.executable, "-m", "journeyline.cli", "--verbose", "run", "--input"]
    done = subprocess.run(
        [*command, str(landing), *paths], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "quality checks" in done.stdout and len(done.stderr) > 1000  # the verbose log
    return (done.stdout + done.stderr).lower()


def test_a_runs_log_and_outputs_hold_no_raw_email_and_no_key_and_forget_erases_a_person(
    landing: Path, tmp_path: Path
) -> None:
    paths = ["--warehouse", str(tmp_path / "wh.duckdb"), "--lake", str(tmp_path / "lake")]
    logs = _verbose_run(landing, paths)
    emails = _emails(landing)
    assert len(emails) > 20
    outputs = _all_text(tmp_path / "lake") + _warehouse_text(tmp_path / "wh.duckdb")
    for text in (logs, outputs):
        assert TEST_HASH_KEY.lower() not in text
        assert sorted(e for e in emails if e in text) == []
    assert "hmac:" in outputs  # the identifiers are there, hashed

    # Forget the person with the most events, by e-mail.
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        busiest = dict(
            con.execute(
                "select m.identifier_value, count(*) from main.identity_map as m "
                "join main.customer_timeline as t using (customer_id) "
                "where m.identifier_type = 'email' group by 1"
            ).fetchall()
        )
    finally:
        con.close()
    hasher = hasher_for(default_config().privacy)
    assert hasher is not None
    email = max(
        (e for e in _emails(landing) if hasher.value("email", e) in busiest),
        key=lambda e: (busiest[hasher.value("email", e)], e),
    )
    customer, identifiers = _customer_of(tmp_path / "wh.duckdb", email)
    assert len(identifiers) >= 2

    code, out = run_quietly("forget", "--email", email.upper(), *paths, "--quiet")
    assert code == 0, out
    assert email not in out.lower() and "erased 1 customer(s)" in out

    def absent(attempts: int) -> None:
        values = [customer] + [v for _, v in identifiers if len(v) >= 6]
        lake_text = _all_text(tmp_path / "lake" / "runs")
        wh_text = _warehouse_text(tmp_path / "wh.duckdb")
        for value in values:
            assert value.lower() not in lake_text, value
            assert value.lower() not in wh_text, value
        runs = [p for p in (tmp_path / "lake" / "runs").iterdir() if p.is_dir()]
        assert len(runs) == attempts  # no older attempt still holding the person

    absent(1)
    # Re-ingest everything: the person's events are quarantined as suppressed, counted.
    code, out = run_quietly("run", "--input", str(landing), *paths, "--quiet", "--full-refresh")
    assert code == 0, out
    absent(2)
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        suppressed = con.execute(
            "select count(*), count(distinct raw) from main.quarantine "
            "where reason_code = 'suppressed'"
        ).fetchone()
        raw = con.execute(
            "select any_value(raw) from main.quarantine where reason_code = 'suppressed'"
        ).fetchone()[0]
        reconciled = con.execute(
            "select bool_and(input_count = accepted_count + quarantined_count + duplicate_count)"
            " from main.source_runs"
        ).fetchone()[0]
        tables = {
            t: con.execute(f"select count(*) from main.{t}").fetchone()[0] for t in DATA_TABLES
        }
    finally:
        con.close()
    assert suppressed[0] >= 2 and suppressed[1] == 1 and raw == SUPPRESSED_RAW
    assert reconciled is True
    assert tables["customer_timeline"] > 0 and tables["customers"] > 0
