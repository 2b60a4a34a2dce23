"""What the dbt project needs from a journeyline configuration: its vars and profile env."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from journeyline.config import Config
from journeyline.warehouse.dbt_runner import PROFILES_DIR, PROJECT_DIR
from journeyline.warehouse.publish import make_folder

# The lake folders dbt reads: the run attempt (new every run), the run history and the
# stream's output (both in the lake). They reach dbt as environment variables read only
# when it executes (macros/journey/source.sql): as --vars, or read while parsing, they
# would make dbt parse the whole project again for every new run or lake (about 6 s).
LAKE_RUN_PATH_ENV = "JOURNEYLINE_LAKE_RUN_PATH"
OPS_PATH_ENV = "JOURNEYLINE_OPS_PATH"
STREAM_PATH_ENV = "JOURNEYLINE_STREAM_PATH"
LAKE_ENV = (LAKE_RUN_PATH_ENV, OPS_PATH_ENV, STREAM_PATH_ENV)
DUCKDB_PATH_ENV = "JOURNEYLINE_DUCKDB_PATH"


def project_vars(config: Config) -> dict[str, Any]:
    """The dbt vars of a configuration: the journey, checks, SLAs. They name no folder,
    so they stay the same from run to run and from lake to lake (see ``lake_env``)."""
    return {
        "stage_order": list(config.stages.order),
        "outcome_statuses": sorted({o.outcome for o in config.stages.outcomes}),
        "dq_severity": {name: c.severity for name, c in config.quality.items()},
        "sla": config.sla.as_dbt_var(),
    }


def lake_env(attempt_path: Path, ops_path: Path, stream_path: str | None = None) -> dict[str, str]:
    """The environment naming the lake folders the dbt project reads: the run attempt,
    the run history and (when there is one) the stream's output; local folders as
    absolute paths, so that they hold whatever folder dbt runs in."""
    env = {LAKE_RUN_PATH_ENV: _absolute(attempt_path), OPS_PATH_ENV: _absolute(ops_path)}
    if stream_path:
        env[STREAM_PATH_ENV] = _absolute(stream_path)
    return env


def dbt_args(config: Config, attempt_path: Path, ops_path: Path, work_dir: Path) -> dict[str, Any]:
    """``run_dbt``'s keyword arguments for the project over one lake attempt, on the DuckDB
    warehouse. A run's calls and ``journeyline docs`` take them from here, so that they
    parse alike and start from the same saved parse (``parse_cache``). dbt-duckdb creates
    the warehouse file but not its folder, so the folder is made here, before any dbt call
    (a first run's ``--warehouse new/folder/wh.duckdb``)."""
    if config.warehouse.type == "duckdb":
        make_folder(config.warehouse.path)
    return {
        "project_dir": PROJECT_DIR,
        "profiles_dir": PROFILES_DIR,
        "target": "duckdb",
        "vars": project_vars(config),
        "env": {
            **profile_env(config),
            **lake_env(attempt_path, ops_path, config.streaming.output),
        },
        "work_dir": work_dir,
    }


def profile_env(config: Config) -> dict[str, str]:
    """The environment profiles/profiles.yml reads for the DuckDB warehouse's staging schema."""
    return {
        DUCKDB_PATH_ENV: config.warehouse.path,
        "JOURNEYLINE_DBT_SCHEMA": config.warehouse.staging_schema,
    }


def _absolute(path: str | Path) -> str:
    text = str(path)
    return text if "://" in text else os.path.abspath(text)
