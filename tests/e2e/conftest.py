"""A generated landing folder with ground truth, run once through `journeyline run`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from journeyline.cli import main

PEOPLE = 600
SEED = 11


@dataclass(frozen=True)
class Run:
    landing: Path
    truth: Path
    warehouse: Path
    lake: Path
    exit_code: int
    stdout: str

    def sql(self, query: str) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()

    def df(self, query: str) -> pd.DataFrame:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(query).df()
        finally:
            con.close()


def journeyline(*args: str) -> int:
    return main([*args])


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("e2e") / "landing"
    assert (
        journeyline("generate", "--out", str(landing), "--people", str(PEOPLE), "--seed", str(SEED))
        == 0
    )
    return landing


@pytest.fixture(scope="session")
def first_run(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("e2e_run")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = journeyline(
            "run",
            "--input",
            str(generated),
            "--warehouse",  # in a folder the run makes (dbt-duckdb makes only the file)
            str(work / "warehouse" / "wh.duckdb"),
            "--lake",
            str(work / "lake"),
            "--quiet",
        )
    return Run(
        generated,
        generated / "_truth",
        work / "warehouse" / "wh.duckdb",
        work / "lake",
        code,
        out.getvalue(),
    )
