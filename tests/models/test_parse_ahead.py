"""dbt parses ahead, in a child process, and the run's own dbt call finds the work done."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from journeyline.warehouse import PROFILES_DIR, PROJECT_DIR, run_dbt
from journeyline.warehouse.parse_ahead import ParseAhead
from tests.models.test_dbt_build import warehouse_env


def _args(lake: Any, tmp_path: Path) -> dict[str, Any]:
    return {
        "project_dir": PROJECT_DIR,
        "profiles_dir": PROFILES_DIR,
        "target": "duckdb",
        "vars": lake.dbt_vars(),
        "env": warehouse_env(tmp_path / "warehouse.duckdb"),
        "work_dir": tmp_path / "dbt",
    }


def test_the_next_dbt_call_with_the_same_arguments_skips_parsing(
    lake_factory: Any, tmp_path: Path
) -> None:
    args = _args(lake_factory("ahead"), tmp_path)
    assert ParseAhead(args).finish()
    assert (tmp_path / "dbt" / "target" / "partial_parse.msgpack").is_file()
    outcome = run_dbt(["parse"], **args)
    assert outcome.success, outcome.summary()
    log = (tmp_path / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    last_call = log.rsplit("Running with dbt", 1)[1]
    assert "no changes found, skipping parsing" in last_call
    assert "Unable to do partial parsing" not in last_call


def test_a_failed_or_stopped_parse_is_reported_not_raised(
    lake_factory: Any, tmp_path: Path
) -> None:
    args = _args(lake_factory("ahead_fails"), tmp_path)
    assert not ParseAhead({**args, "project_dir": tmp_path / "no_project"}).finish()
    running = ParseAhead(args)
    running.stop()
    assert running.process.poll() is not None
    assert not running.finish()


def test_no_child_process_is_no_error(lake_factory: Any, tmp_path: Path, monkeypatch: Any) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("no more processes")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    ahead = ParseAhead(_args(lake_factory("no_child"), tmp_path))
    ahead.stop()
    assert not ahead.finish()
