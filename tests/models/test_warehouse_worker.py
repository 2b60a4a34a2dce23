"""The warm warehouse child: dbt parses ahead there, and the run's dbt calls and gates run
there with the results they would have in the run's own process."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest

from journeyline.config import default_config
from journeyline.warehouse import PROFILES_DIR, PROJECT_DIR
from journeyline.warehouse.worker import WarehouseWorker, _gates
from tests.models.test_dbt_build import SCHEMA, warehouse_env


def _args(lake: Any, tmp_path: Path) -> dict[str, Any]:
    return {
        "project_dir": PROJECT_DIR,
        "profiles_dir": PROFILES_DIR,
        "target": "duckdb",
        "vars": lake.dbt_vars(),
        "env": warehouse_env(tmp_path / "warehouse.duckdb"),
        "work_dir": tmp_path / "dbt",
    }


def _comparable(results: list[Any]) -> list[tuple]:
    return sorted(
        tuple(v for k, v in dataclasses.asdict(r).items() if k != "checked_at") for r in results
    )


def test_dbt_calls_and_gates_in_the_child_match_the_run_s_own(
    lake_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="journeyline")  # as `journeyline run --verbose`
    args = _args(lake_factory("worker"), tmp_path)
    worker = WarehouseWorker(args)
    try:
        built = worker.dbt(["run", "--exclude", "tag:ops"])
        assert built.success, built.summary()
        assert worker.process is not None  # answered by the child, not made here
        log = (tmp_path / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
        run_call = log.split("Running with dbt")[2]  # the child's parse, then its run
        assert "no changes found, skipping parsing" in run_call
        database = str(tmp_path / "warehouse.duckdb")
        config = default_config()
        in_child = worker.gates(database, SCHEMA, "run-1", config)
        assert worker.process is not None
        said = [r for r in caplog.records if r.name == "journeyline.quality.gates"]
        assert [r.getMessage().split(" in ")[0] for r in said] == [
            f"quality gates: {len(in_child)} checks"
        ]  # logged in the child, logged again here
    finally:
        worker.stop()
    assert worker.process is None
    in_process = _gates(database, SCHEMA, "run-1", config)
    assert len(in_child) == len(in_process) > 10
    assert _comparable(in_child) == _comparable(in_process)


def test_without_a_child_every_call_is_made_in_process(
    lake_factory: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    args = _args(lake_factory("worker_gone"), tmp_path)
    dead = WarehouseWorker(args)
    dead.process.kill()  # a child that died: the call is made here
    assert dead.dbt(["parse"]).success
    assert dead.process is None

    def refuse(*a: Any, **k: Any) -> None:
        raise OSError("no more processes")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    none = WarehouseWorker(args)
    assert none.process is None
    assert none.dbt(["parse"]).success
    none.kill()
