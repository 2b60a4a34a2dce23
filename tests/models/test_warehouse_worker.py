"""The warm warehouse child: dbt parses ahead there and the run's dbt calls run there;
Great Expectations is imported in the run's own process while the child works, on a
thread at the lowest priority."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from journeyline.config import default_config
from journeyline.quality import gates
from journeyline.warehouse import PROFILES_DIR, PROJECT_DIR
from journeyline.warehouse.worker import WARM_NICE, WarehouseWorker
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


def test_dbt_calls_run_in_the_child_while_the_gates_warm_up_here(
    lake_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _args(lake_factory("worker"), tmp_path)
    warmed: list[bool] = []
    niceness: list[int] = []

    def warm_up() -> None:  # records whether the child was still at work meanwhile
        warmed.append(worker.unanswered > 0)
        if sys.platform.startswith("linux"):
            niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    monkeypatch.setattr(gates, "warm_up", warm_up)
    run_priority = os.getpriority(os.PRIO_PROCESS, 0)  # (on Linux: this thread's)
    worker = WarehouseWorker(args)
    try:
        built = worker.dbt(["run", "--exclude", "tag:ops"])
        assert built.success, built.summary()
        assert worker.process is not None  # answered by the child, not made here
        assert worker.warming is not None
        worker.warming.join()
        if sys.platform.startswith("linux"):  # the import's thread alone, below the child
            assert niceness == [WARM_NICE]
        assert os.getpriority(os.PRIO_PROCESS, 0) == run_priority
        log = (tmp_path / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
        run_call = log.split("Running with dbt")[2]  # the child's parse, then its run
        assert "no changes found, skipping parsing" in run_call
        assert warmed == [True]  # once, while the child was making the call
        assert worker.dbt(["test", "--exclude", "tag:ops"]).success
        assert warmed == [True]
        checks = worker.gates(str(tmp_path / "warehouse.duckdb"), SCHEMA, "run-1", default_config())
        assert len(checks) > 10
    finally:
        worker.stop()
    assert worker.process is None


def test_a_failed_warm_up_leaves_no_traceback(
    lake_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gates import Great Expectations again and report what fails: the warm-up
    thread raises nothing of its own (no traceback on the terminal)."""
    escaped: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda hook: escaped.append(hook.exc_value))

    def broken() -> None:
        raise ImportError("great_expectations is broken here")

    monkeypatch.setattr(gates, "warm_up", broken)
    worker = WarehouseWorker(_args(lake_factory("worker_broken"), tmp_path))
    try:
        assert worker.dbt(["parse"]).success
        assert worker.warming is not None
        worker.warming.join()
    finally:
        worker.stop()
    assert escaped == []


def test_no_gates_here_no_great_expectations(
    lake_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A BigQuery run checks its staging tables there: nothing to import for the gates."""
    monkeypatch.setattr(gates, "warm_up", lambda: pytest.fail("imported"))
    worker = WarehouseWorker(_args(lake_factory("worker_bq"), tmp_path), gates_here=False)
    try:
        assert worker.dbt(["parse"]).success
    finally:
        worker.stop()


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
